"""Networks: specs in the database, weights in files, built networks in memory.

The database says which network is training (it has an active run) and which
version of its weights is current; the cache of built networks follows the
version, so a network trained or edited through another server is read
afresh. While a run trains a network on this server, readers see a copy of
its weights that the run publishes a few times a second, so feature maps and
predictions are consistent while training goes on.
"""

from __future__ import annotations

import copy
import threading
import time
import unicodedata
from collections import OrderedDict
from contextlib import contextmanager

import engine
from engine.io import to_bytes

from .. import access
from ..db import Database
from ..errors import Conflict, Invalid, NotFound, TooLarge
from ..files import FileStore, new_id
from ..runs.store import RunStore
from ..settings import Settings

NAME_MAX = 100
# Characters a name shown in lists, file names and logs must not hold: they are invisible, break
# the line, or reorder the text around them ("report\u202etxt.exe" reads "reportexe.txt").
REFUSED = {
    "Cc": "a control character",
    "Cf": "an invisible formatting character",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
    "Cs": "half of a UTF-16 surrogate pair, not a character",
}
JOINERS = "\u200c\u200d"  # zero-width (non-)joiners: Persian, Indic scripts and emoji need them


def spec_errors(e: engine.SpecErrors) -> list[dict]:
    return [err.to_dict() for err in e.errors]


def check_network_name(name: str, field: str = "name") -> str:
    """A network's name as stored: free text in any script (letters, digits, spaces, punctuation,
    symbols), at most NAME_MAX characters, without surrounding whitespace. Raises ValueError saying
    which character of `field` is refused and why."""
    if len(name) > NAME_MAX:
        raise ValueError(f"the {field} has {len(name)} characters; at most {NAME_MAX} are allowed")
    stripped = name.strip()  # a tab or newline pasted at either end is only whitespace
    if not stripped:
        raise ValueError(f"the {field} is empty or only spaces; give a name such as 'my net (v2)'")
    start = len(name) - len(name.lstrip())
    for i, ch in enumerate(stripped, start + 1):
        why = REFUSED.get(unicodedata.category(ch))
        if why and ch not in JOINERS:
            label = unicodedata.name(ch, "")
            raise ValueError(
                f"the {field} holds U+{ord(ch):04X}{' ' + label if label else ''} at "
                f"position {i}, {why}; a name may hold letters, digits, spaces, "
                "punctuation and symbols in any script: remove it"
            )
    return stripped


def _checked_name(name: str, field: str) -> str:
    try:
        return check_network_name(name, field)
    except ValueError as e:
        raise Invalid(str(e)) from None


class NetworkEntry:
    """One built network: the weights of one version, and those of a run training it here."""

    def __init__(self, net: engine.Network, version: int):
        self.net = net
        self.version = version
        self.lock = threading.RLock()
        self.training: engine.Network | None = None  # weights a run here published, while it trains

    @contextmanager
    def reading(self):
        """The network to read: the training weights while a run here trains it, else its own."""
        with self.lock:
            yield self.training or self.net


class NetworkService:
    def __init__(self, settings: Settings, db: Database, files: FileStore, runs: RunStore, cache_size: int = 32):
        self.settings, self.db, self.files, self.runs = settings, db, files, runs
        self.policy = access.OpenPolicy()  # the classroom's locks, once it is wired in
        self._cache: OrderedDict[str, NetworkEntry] = OrderedDict()  # built networks, least recent first
        self.cache_size = cache_size
        self._lock = threading.Lock()

    # ---- checks ---------------------------------------------------------------
    def check_spec(self, spec) -> dict:
        """Validate a spec and the server's limits on building it; returns the summary."""
        if (
            isinstance(spec, dict)
            and isinstance(spec.get("layers"), list)
            and len(spec["layers"]) > self.settings.max_layers
        ):
            raise Invalid(
                [
                    {
                        "path": "layers",
                        "field": None,
                        "message": f"has {len(spec['layers'])} layers; this server allows {self.settings.max_layers}",
                    }
                ]
            )
        try:
            summary = engine.summarize(spec)
        except engine.SpecErrors as e:
            raise Invalid(spec_errors(e)) from None
        if summary["totals"]["layers"] > self.settings.max_layers:
            raise Invalid(
                [
                    {
                        "path": "layers",
                        "field": None,
                        "message": f"has {summary['totals']['layers']} layers in all; this server allows {self.settings.max_layers}",
                    }
                ]
            )
        return summary

    def check_buildable(self, summary: dict) -> None:
        t = summary["totals"]
        if t["params"] > self.settings.max_params:
            raise TooLarge(
                f"the network has {t['params']:,} parameters; this server builds at most "
                f"{self.settings.max_params:,} (the summary still works for any size)"
            )
        per_example = t["activation_bytes"]
        if per_example > self.settings.max_request_activation_bytes:
            raise TooLarge(
                f"one example needs {per_example / 2**20:,.0f} MiB of activations; the limit is "
                f"{self.settings.max_request_activation_bytes / 2**20:,.0f} MiB"
            )

    # ---- records ----------------------------------------------------------------
    def get(self, id: str) -> dict:
        """The network's row; NotFound also when it is another student's (app/access.py)."""
        row = self.db.network(id)
        if row is None or not access.visible(row["student_id"]):
            raise NotFound(f"no network with id {id!r}")
        return row

    def public(self, row: dict, training: dict[str, str] | None = None) -> dict:
        """The network as the API shows it; `training` (network id -> run id) saves a query per row."""
        run = training.get(row["id"]) if training is not None else self.runs.active_run_of(row["id"])
        return {
            "id": row["id"],
            "name": row["name"],
            "spec": row["spec"],
            "seed": row["seed"],
            "params": row["params"],
            "version": row["version"],
            "created": row["created"],
            "updated": row["updated"],
            "training_run": run,
        }

    def public_all(self) -> list[dict]:
        training = self.runs.active_by_network()
        return [self.public(r, training) for r in self.db.networks(access.mine())]

    def create(self, spec: dict, name: str | None, seed: int | None = None) -> dict:
        """A new network from spec; without a name it takes the spec's own, else 'network'; without
        a seed, the spec's own, else 0."""
        self.policy.spec_change(spec, "build a network of other layers")
        summary = self.check_spec(spec)
        if name is not None:
            name = _checked_name(name, "name")
        elif (spec.get("name") or "").strip():  # a blank name in the spec is no name
            name = _checked_name(spec["name"], "spec's name")
        self.check_buildable(summary)
        net = engine.build_network(spec, seed=seed)
        id = new_id()
        self.files.write("networks", id, to_bytes(net))
        self.db.insert_network(id, name or "network", net.spec, net.seed, summary["totals"]["params"], access.mine())
        with self._lock:
            self._remember(id, NetworkEntry(net, 1))
        return self.get(id)

    def create_from(self, net: engine.Network, name: str) -> dict:
        """A new network holding net's spec and weights."""
        name = _checked_name(name, "name")
        self.policy.spec_change(None, "import a network")
        summary = self.check_spec(net.spec)
        self.check_buildable(summary)
        id = new_id()
        self.files.write("networks", id, to_bytes(net))
        self.db.insert_network(
            id, name, net.spec, net.seed, summary["totals"]["params"], access.mine(), drawn_here=False
        )  # trained who knows how long, elsewhere
        with self._lock:
            self._remember(id, NetworkEntry(net, 1))
        return self.get(id)

    def entry(self, id: str) -> NetworkEntry:
        """The built network of the current version (NotFound if there is none)."""
        row = self.get(id)
        with self._lock:
            entry = self._cache.get(id)
            if entry is not None and entry.version == row["version"]:
                self._cache.move_to_end(id)
                return entry
        try:
            net = engine.load_checkpoint(self.files.read("networks", id))[0]
        except (OSError, engine.CheckpointError) as e:
            raise Conflict(f"the weights of network {id} cannot be read ({e}); reinitialize it") from None
        if net.spec != row["spec"] or net.seed != row["seed"]:
            # the server stopped between writing new weights and their row (a spec change or a reinit
            # that was never confirmed): the row is what the client saw, so the weights follow it
            net = engine.build_network(row["spec"], seed=row["seed"])
            self.files.write("networks", id, to_bytes(net))
        with self._lock:
            old = self._cache.get(id)
            if old is not None and old.version >= row["version"]:
                return old  # another request loaded it meanwhile
            entry = NetworkEntry(net, row["version"])
            if old is not None:
                entry.training = old.training
            return self._remember(id, entry)

    def _remember(self, id: str, entry: NetworkEntry) -> NetworkEntry:
        self._cache[id] = entry
        self._cache.move_to_end(id)
        while len(self._cache) > self.cache_size:
            old_id, old = next(iter(self._cache.items()))
            if old.training is not None:  # a run here publishes into it: keep it, trim later
                self._cache.move_to_end(old_id)
                break
            self._cache.popitem(last=False)
        return entry

    # ---- training: called by the run service ---------------------------------------------
    def show_training(self, id: str, net: engine.Network) -> None:
        """Readers see these weights (a copy the caller made) while a run here trains the network."""
        entry = self.entry(id)
        with entry.lock:
            entry.training = net

    def write_weights(self, c, id: str, data: bytes) -> None:
        """Inside the caller's transaction `c`: the network's weights become `data` (a network file)."""
        self.files.write("networks", id, data)
        c.execute("UPDATE networks SET version = version + 1, updated = ? WHERE id = ?", (time.time(), id))

    def training_ended(self, id: str) -> None:
        """The run here is over: readers see the network's own weights (a new version, if it changed)."""
        with self._lock:
            entry = self._cache.get(id)
        if entry is not None:
            with entry.lock:
                entry.training = None

    def _replace(self, id: str, net: engine.Network, **fields) -> None:
        """New weights (and fields) for a network no run is training: file and row in one transaction."""
        with self.db.tx() as c:
            run = self.runs.active_run_of(id, c)
            if run:
                raise Conflict(f"network {id} is training in run {run}; stop the run first")
            self.files.write("networks", id, to_bytes(net))
            self.db.update_network(id, initialized=time.time(), **fields)  # weights drawn anew
        with self._lock:
            self._cache.pop(id, None)  # the next reader builds the new version

    def update(self, id: str, name: str | None = None, spec: dict | None = None) -> dict:
        row = self.get(id)
        fields = {}
        if name is not None:
            fields["name"] = _checked_name(name, "name")
        if spec is not None and spec != row["spec"]:
            self.policy.spec_change(spec, "change a network's layers")
            summary = self.check_spec(spec)
            self.check_buildable(summary)
            net = engine.build_network(spec, seed=row["seed"])  # its seed stays (reinit changes it)
            fields.update(spec=net.spec, params=summary["totals"]["params"])
            self._replace(id, net, **fields)
        elif fields:
            self.db.update_network(id, **fields)
        return self.get(id)

    def reinit(self, id: str, seed: int | None = None, init: str | None = None) -> dict:
        row = self.get(id)
        spec = copy.deepcopy(row["spec"])
        if init is not None:
            _set_init(spec["layers"], init)
        seed = row["seed"] if seed is None else seed
        try:
            net = engine.build_network(spec, seed=seed)
        except engine.SpecErrors as e:
            raise Invalid(spec_errors(e)) from None
        self._replace(id, net, spec=spec, seed=seed)
        return self.get(id)

    def delete(self, id: str) -> None:
        """The network, its runs and their events (cascaded), its weights and its runs' checkpoints."""
        self.get(id)
        with self.db.tx() as c:
            run = self.runs.active_run_of(id, c)
            if run:
                raise Conflict(f"network {id} is training in run {run}; stop the run first")
            checkpoints = [
                r["checkpoint"]
                for r in c.execute("SELECT checkpoint FROM runs WHERE network_id = ? AND checkpoint IS NOT NULL", (id,))
            ]
            self.db.delete_network(id)
        self.files.delete("networks", id)
        for file_id in checkpoints:
            self.files.delete("checkpoints", file_id)
        with self._lock:
            self._cache.pop(id, None)


def _set_init(layers: list, init: str) -> None:
    """Every layer that has an init field (convolutions, transposed ones, linear) gets `init`."""
    for _, layer in engine.walk_specs(layers):
        cls = engine.REGISTRY.get(layer.get("type"))
        if cls is not None and any(f.name == "init" for f in cls.fields):
            layer["init"] = init
