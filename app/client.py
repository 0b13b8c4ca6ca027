"""A Python client for a running playground: build, train, follow and inspect networks from a
notebook or a script, without writing HTTP or WebSocket code.

    from app.client import Playground

    pg = Playground("http://127.0.0.1:8000")          # token="..." for a server off loopback
    net = pg.create_network(preset="lenet5", name="digits")
    run = pg.train(net["id"], dataset="strokes", epochs=2, optimizer="adam", lr=1e-3)
    for event in run.events():                         # the run's WebSocket stream
        if event["type"] == "epoch":
            print(event["epoch"], event["val_accuracy"])
    metrics = run.wait()                               # blocks until the run ends
    rows = run.metrics()                               # pandas.DataFrame(rows) as they are

Every error the server answers raises PlaygroundError with its status and detail.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx

ENDED = ("completed", "stopped", "diverged", "failed", "interrupted")


class PlaygroundError(Exception):
    """An error answer: `status` (the HTTP code), `detail` (what was wrong, how to fix it) and
    `errors` (each problem with its path, field and message; the server's problem details)."""

    def __init__(self, status: int, detail: Any, errors: list[dict] | None = None):
        self.status, self.detail, self.errors = status, detail, errors or []
        super().__init__(f"{status}: {_text(detail)}")

    @classmethod
    def from_response(cls, r: httpx.Response) -> PlaygroundError:
        return cls.from_body(r.status_code, r.content)

    @classmethod
    def from_body(cls, status: int, body: bytes) -> PlaygroundError:
        text = body.decode("utf-8", "replace")
        try:
            problem = json.loads(text)
        except ValueError:
            return cls(status, text)
        if not isinstance(problem, dict):
            return cls(status, text)
        return cls(status, problem.get("detail", text), problem.get("errors"))


def _text(detail: Any) -> str:
    if isinstance(detail, list):
        return "; ".join(_text(d) for d in detail)
    if isinstance(detail, dict):
        where = detail.get("path") or ".".join(str(p) for p in detail.get("loc", [])[1:])
        message = detail.get("message") or detail.get("msg") or json.dumps(detail)
        return f"{where}: {message}" if where else message
    return str(detail)


class Run:
    """A training run on the server: follow its events, wait for its end, read its metrics."""

    def __init__(self, playground: Playground, info: dict):
        self.playground = playground
        self.info = info
        self.id: str = info["id"]

    def __repr__(self) -> str:
        return f"Run({self.id!r}, status={self.info.get('status')!r})"

    def refresh(self) -> dict:
        """The run as the server has it now (its status, metrics and evaluation)."""
        self.info = self.playground._request("GET", f"/api/runs/{self.id}")
        return self.info

    def events(self, after: int = 0) -> Iterator[dict]:
        """The run's events, oldest first (those with seq > after), live until the run ends."""
        from websockets.exceptions import ConnectionClosedOK, InvalidStatus
        from websockets.sync.client import connect

        url = self.playground._ws_url(f"/api/runs/{self.id}/events", after=after)
        try:
            ws = connect(url, additional_headers=self.playground._headers, max_size=1 << 24)
        except InvalidStatus as e:  # refused before it opened: the server's problem details
            raise PlaygroundError.from_body(e.response.status_code, e.response.body) from None
        with ws:
            try:
                for message in ws:
                    yield json.loads(message)
            except ConnectionClosedOK:
                return

    def wait(self, timeout: float | None = None) -> dict:
        """Block until the run ends; its final metrics (PlaygroundError if it failed)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for _ in self.events():
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"run {self.id} is still going after {timeout} s")
        info = self.refresh()
        while info["status"] not in ENDED:  # the stream closed early (the server restarted)
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"run {self.id} is still going after {timeout} s")
            time.sleep(0.5)
            info = self.refresh()
        if info["status"] == "failed":
            raise PlaygroundError(500, f"run {self.id} failed: {info.get('message')}")
        return info.get("metrics") or {}

    def metrics(self, kind: str = "epoch") -> list[dict]:
        """One row per epoch (or per batch): pandas.DataFrame(run.metrics()) takes them as they are."""
        return self.playground._request("GET", f"/api/runs/{self.id}/metrics", params={"kind": kind})

    def pause(self) -> dict:
        """Pause between batches; the run, paused."""
        return self._control("pause")

    def resume(self) -> dict:
        """Go on after a pause, or from the last checkpoint after an interruption."""
        return self._control("resume")

    def stop(self) -> dict:
        """Stop between batches, keeping the weights so far; the run, stopped."""
        return self._control("stop")

    def _control(self, what: str) -> dict:
        self.info = self.playground._request("POST", f"/api/runs/{self.id}/{what}")
        return self.info

    def delete(self) -> None:
        """Delete the run (it must have ended), with its events and checkpoint."""
        self.playground._request("DELETE", f"/api/runs/{self.id}")

    def checkpoint(self, path: str | Path | None = None) -> bytes:
        """The run's last checkpoint (a network .npz), written to `path` if given."""
        return self.playground._download(f"/api/runs/{self.id}/checkpoint", path)


class Playground:
    """A playground server at `url`; `token` when it asks for one (a server off loopback)."""

    def __init__(self, url: str = "http://127.0.0.1:8000", token: str | None = None, timeout: float = 120.0):
        self.url = url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.url, headers=self._headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self):  # -> Self (typing.Self needs Python 3.11)
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- plumbing -------------------------------------------------------------------------
    def _request(self, method: str, path: str, **kwargs) -> Any:
        if "json" in kwargs:  # said here, in words, rather than as the JSON encoder's ValueError
            body = kwargs.pop("json")
            try:
                kwargs["content"] = json.dumps(body, allow_nan=False).encode()
            except ValueError:
                where = ", ".join(_non_finite(body)[:3])
                raise ValueError(
                    f"NaN or infinity in the request to {path} (at {where}): JSON cannot carry them; "
                    "replace them with numbers"
                ) from None
            kwargs["headers"] = {"Content-Type": "application/json"}
        r = self._http.request(method, path, **kwargs)
        if r.status_code >= 400:
            raise PlaygroundError.from_response(r)
        return None if r.status_code == 204 else r.json()

    def _download(self, path: str, to: str | Path | None, **params) -> bytes:
        r = self._http.get(path, params=params)
        if r.status_code >= 400:
            raise PlaygroundError.from_response(r)
        if to is not None:
            Path(to).write_bytes(r.content)
        return r.content

    def _ws_url(self, path: str, **params) -> str:
        parts = urlsplit(self.url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        return urlunsplit((scheme, parts.netloc, parts.path + path, urlencode(params), ""))

    # ---- networks ------------------------------------------------------------------------
    def create_network(
        self,
        spec: dict | None = None,
        *,
        preset: str | None = None,
        name: str | None = None,
        seed: int = 0,
        num_classes: int | None = None,
        input: list[int] | None = None,
    ) -> dict:
        """A new network from a spec or a preset (e.g. "lenet5"), its weights drawn from `seed`."""
        body = {"spec": spec, "preset": preset, "name": name, "seed": seed, "num_classes": num_classes, "input": input}
        return self._request("POST", "/api/networks", json={k: v for k, v in body.items() if v is not None})

    def networks(self, limit: int | None = None, offset: int = 0) -> list[dict]:
        """The networks, oldest first (`limit` of them from `offset`; all by default)."""
        return self._request("GET", "/api/networks", params=_page(limit, offset))

    def rename_network(self, network_id: str, name: str) -> dict:
        return self._request("PATCH", f"/api/networks/{network_id}", json={"name": name})

    def delete_network(self, network_id: str) -> None:
        """Delete a network with its runs (none may be training)."""
        self._request("DELETE", f"/api/networks/{network_id}")

    def network(self, network_id: str) -> dict:
        return self._request("GET", f"/api/networks/{network_id}")

    def validate(self, spec: dict) -> dict:
        """The spec's summary (shapes, parameters); PlaygroundError naming each bad layer path."""
        return self._request("POST", "/api/networks/validate", json=spec)

    def export(self, network_id: str, format: str = "npz", path: str | Path | None = None) -> bytes:
        """The network as npz, json, pytorch (a zip) or onnx; written to `path` if given."""
        return self._download(f"/api/networks/{network_id}/export", path, format=format)

    def import_network(self, path: str | Path, name: str | None = None) -> dict:
        """A network from an .npz (or a spec .json) file."""
        path = Path(path)
        params = {"name": name} if name else None
        return self._request(
            "POST", "/api/networks/import", params=params, files={"file": (path.name, path.read_bytes())}
        )

    # ---- training -------------------------------------------------------------------------
    def train(self, network_id: str, dataset: str = "strokes", **options: Any) -> Run:
        """Start training; `options` as GET /api/train/options lists them (epochs, lr, optimizer...)."""
        return Run(
            self, self._request("POST", f"/api/networks/{network_id}/runs", json={"dataset": dataset, **options})
        )

    def run(self, run_id: str) -> Run:
        return Run(self, self._request("GET", f"/api/runs/{run_id}"))

    def runs(self, network_id: str | None = None, limit: int | None = None, offset: int = 0) -> list[Run]:
        """The runs (of one network, if given), oldest first; `limit` and `offset` as for networks."""
        path = f"/api/networks/{network_id}/runs" if network_id else "/api/runs"
        return [Run(self, info) for info in self._request("GET", path, params=_page(limit, offset))]

    # ---- looking inside ---------------------------------------------------------------------
    def predict(
        self,
        network_id: str,
        *,
        pixels: Any = None,
        dataset: str | None = None,
        index: int | None = None,
        split: str = "test",
    ) -> dict:
        """Class probabilities for a dataset sample (dataset, index) or pixels ((H, W) or (C, H, W), 0-255)."""
        return self._request("POST", f"/api/networks/{network_id}/predict", json=_input(pixels, dataset, index, split))

    def predict_batch(self, network_id: str, inputs: list[dict]) -> list[dict]:
        """predict for many inputs (each a dict as predict takes it) in one request."""
        return self._request("POST", f"/api/networks/{network_id}/predict/batch", json={"inputs": inputs})[
            "predictions"
        ]

    def activations(
        self,
        network_id: str,
        *,
        pixels: Any = None,
        dataset: str | None = None,
        index: int | None = None,
        split: str = "test",
        layers: list[str] | None = None,
        encoding: str = "float16",
    ) -> dict:
        """Every layer's feature maps for one input (base64 arrays with their shapes and ranges)."""
        body = _input(pixels, dataset, index, split)
        if layers is not None:
            body["layers"] = layers
        return self._request(
            "POST", f"/api/networks/{network_id}/activations", json=body, params={"encoding": encoding}
        )

    # ---- datasets --------------------------------------------------------------------------
    def datasets(self, limit: int | None = None, offset: int = 0) -> list[dict]:
        return self._request("GET", "/api/datasets", params=_page(limit, offset))

    def delete_dataset(self, name: str) -> None:
        """Delete an uploaded dataset (built-in ones stay)."""
        self._request("DELETE", f"/api/datasets/{name}")

    def upload_dataset(self, *paths: str | Path, name: str | None = None) -> dict:
        """Upload a dataset: an .npz, a .zip of class folders, or IDX files (images and labels)."""
        files = [("file", (Path(p).name, Path(p).read_bytes())) for p in paths]
        return self._request("POST", "/api/datasets", files=files, data={"name": name} if name else None)


def _page(limit: int | None, offset: int) -> dict:
    return {k: v for k, v in (("limit", limit), ("offset", offset)) if v}


def _non_finite(value: Any, path: str = "") -> list[str]:
    """Where NaN or infinity sits in a JSON body: lr, pixels[3][4]."""
    if isinstance(value, float):
        return [] if value == value and abs(value) != float("inf") else [path or "the body"]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _non_finite(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, (list, tuple)):
        return [p for i, v in enumerate(value) for p in _non_finite(v, f"{path}[{i}]")]
    return []


def _input(pixels: Any, dataset: str | None, index: int | None, split: str) -> dict:
    body: dict[str, Any] = {"split": split}
    if pixels is not None:
        body["pixels"] = pixels.tolist() if hasattr(pixels, "tolist") else pixels
    if dataset is not None:
        body["dataset"] = dataset
    if index is not None:
        body["index"] = index
    return body
