"""The `cnn-playground` command: serve, train, summary, datasets, evaluate, predict, export, bench.

Heavy imports happen inside each command, so `--help` is instant and
`bench --threads` can set thread counts before NumPy loads.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from contextlib import contextmanager
from pathlib import Path

from .cli_checks import UsageError, output_file, port, positive, read_spec, write_file
from .cli_model import add_commands

# Where the command line starts from another value than the engine's own default
CLI_DEFAULTS = {"epochs": 3}


def training_options(parser: argparse.ArgumentParser) -> None:
    """The engine's training options as flags, from their one declaration (TrainConfig and Augment):
    --batch-size for batch_size, augmentation's without a prefix (--shift)."""
    from engine.data import Augment
    from engine.options import described
    from engine.train import TrainConfig

    for option, group in [(o, "") for o in described(TrainConfig)] + [(o, "augment: ") for o in described(Augment)]:
        flag = "--" + option.name.replace("_", "-")
        default = CLI_DEFAULTS.get(option.name, option.default)
        text = group + option.help
        if option.kind == "bool":
            parser.add_argument(flag, action="store_true", help=text)
            continue
        limits = _limits(option)
        if default is not None:
            limits.append(f"default {default}")
        if limits:
            text += f" ({'; '.join(limits)})"
        if option.kind == "choice":
            parser.add_argument(flag, default=default, choices=option.choices, help=text)
        else:
            kind = int if option.kind == "int" else float
            parser.add_argument(flag, type=kind, default=default, metavar=option.name.upper(), help=text)


def _limits(option) -> list[str]:
    """An option's range in words: "1 to 10000", "0 to below 1", "above 0, at most 1e+06"."""
    show = lambda v: f"{v:g}" if isinstance(v, float) else str(v)
    low, high = option.min, option.max
    if low is None and high is None:
        return []
    if high is None:
        return [f"{'above' if option.exclusive_min else 'at least'} {show(low)}"]
    top = f"{'below ' if option.exclusive_max else ''}{show(high)}"
    if low is None:
        return [f"{'below' if option.exclusive_max else 'at most'} {show(high)}"]
    if option.exclusive_min:
        return [f"above {show(low)}, {'below' if option.exclusive_max else 'at most'} {show(high)}"]
    return [f"{show(low)} to {top}"]


def _spec_from(args) -> tuple[dict, str]:
    import engine

    if args.spec:
        return read_spec(args.spec), Path(args.spec).stem
    if args.preset not in engine.PRESETS:
        raise UsageError(f"unknown preset {args.preset!r}; presets: {', '.join(engine.PRESETS)}")
    return engine.PRESETS[args.preset], args.preset


def cmd_summary(args) -> int:
    import engine

    spec, _ = _spec_from(args)
    try:
        summary = engine.summarize(spec)
    except engine.SpecErrors as e:
        for err in e.errors:
            print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(summary))
        return 0
    print(engine.format_table(summary))
    note = None if args.spec else engine.PRESET_INFO.get(args.preset, {}).get("note")
    if note:  # how a famous preset differs from its paper and the lecture's slides
        print(f"note: {note}")
    return 0


def cmd_datasets(args) -> int:
    from engine.data import list_datasets

    rows = list_datasets()
    if args.json:
        print(json.dumps(rows))
        return 0
    for r in rows:
        state = "built in" if r["source"] == "generated" else ("cached" if r["cached"] else "downloads on first use")
        shape = "x".join(map(str, r["shape"]))
        print(
            f"{r['name']:<14} {shape:<8} {r['num_classes']:>3} classes  {r['train_size']:>6,} train "
            f"{r['test_size']:>6,} test  {state}"
        )
    return 0


def cmd_train(args) -> int:
    import engine
    from engine.data import Augment, DatasetError, ProgressBar, load_dataset
    from engine.io import to_bytes
    from engine.options import described
    from engine.train import TrainConfig, Trainer

    from .progress import EpochBar
    from .threads import use_threads

    use_threads(args.threads)
    spec, label = _spec_from(args)
    # checked before training, so that a trained model is never lost to a bad path at the end
    out = None if args.out is None else output_file(args.out, "--out", "model.npz", reads=(args.dataset, args.spec))
    try:
        config = TrainConfig(
            **{o.name: getattr(args, o.name) for o in described(TrainConfig)},
            augment={o.name: getattr(args, o.name) for o in described(Augment) if getattr(args, o.name) != o.default},
        )
        dataset = load_dataset(args.dataset, seed=args.seed, progress=None if args.json else ProgressBar())
        net = engine.build_network(spec, seed=args.seed)
        trainer = Trainer(net, dataset, config)
    except (ValueError, DatasetError, engine.SpecErrors) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    bar = EpochBar()
    with _ctrl_c_stops(trainer):
        if not args.json:
            print(
                f"training {label} ({net.num_params():,} parameters) on {dataset.name}: "
                f"{len(trainer.x_train):,} train, {len(trainer.x_val):,} held out",
                file=sys.stderr,
            )
        for event in trainer.events():
            if args.json:
                continue
            if event["type"] == "batch":
                bar.batch(event, config.epochs)
            elif event["type"] == "epoch":
                bar.epoch(event)
            elif event["type"] == "status":
                print(f"\n{event['status']}", file=sys.stderr)
    result = trainer.result
    if out and result["status"] in ("completed", "stopped"):
        write_file(
            out,
            to_bytes(
                net,
                optimizer=trainer.optimizer,
                meta={
                    "dataset": dataset.name,
                    "classes": dataset.class_names,
                    "mean": dataset.mean.tolist(),
                    "std": dataset.std.tolist(),
                },
            ),
            "--out",
        )
    if args.json:
        print(
            json.dumps(
                {
                    "status": result["status"],
                    "message": result.get("message"),
                    **(result.get("metrics") or {}),
                    "out": args.out,
                }
            )
        )
    else:
        m = result.get("metrics") or {}
        if result["status"] == "completed":
            acc = m.get("val_accuracy")
            if acc is not None:
                print(f"holdout accuracy: {acc:.2%} on {len(trainer.x_val):,} examples")
            if m.get("test_accuracy") is not None:
                print(f"test accuracy: {m['test_accuracy']:.2%} on {len(dataset.x_test):,} examples")
        else:
            print(f"{result['status']}: {result.get('message')}", file=sys.stderr)
        if out and result["status"] in ("completed", "stopped"):
            print(f"saved to {out}")
    return 0 if result["status"] == "completed" else 1


@contextmanager
def _ctrl_c_stops(trainer):
    """The first Ctrl-C stops training after the current step, so that the network trained so far
    is evaluated and saved (to --out) as a stopped run; a second one quits at once."""

    def stop(signum, frame):
        signal.signal(signal.SIGINT, quit_now)
        trainer.stop()
        print("\nstopping after this step; Ctrl-C again quits without saving", file=sys.stderr)

    def quit_now(signum, frame):
        # not KeyboardInterrupt: raised inside a layer's threaded work, it can leave the engine's
        # worker threads for the interpreter to wait on forever at exit
        print("\ninterrupted: nothing saved", file=sys.stderr, flush=True)
        os._exit(130)

    previous = signal.signal(signal.SIGINT, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def cmd_serve(args) -> int:
    import secrets

    import uvicorn

    from .main import create_app
    from .settings import Settings, default_data_dir

    settings = Settings(
        host=args.host,
        port=args.port,
        data_dir=Path(args.data_dir) if args.data_dir else default_data_dir(),
        token=args.token,
        offline=args.offline,
        database=args.database,
        runner=args.runner,
        ray_address=args.ray_address,
        **({"threads": args.threads} if args.threads else {}),
    )
    if not settings.loopback and not settings.token:
        settings.token = secrets.token_urlsafe(24)
    import importlib.util
    import socket
    import sqlite3

    from .db import open_database
    from .migrations import SchemaTooNew

    if settings.runner == "ray" or settings.database:
        missing = [
            m
            for m in (["ray"] if settings.runner == "ray" else []) + (["psycopg"] if settings.database else [])
            if importlib.util.find_spec(m) is None
        ]
        if missing:
            print(
                f"error: {' and '.join(missing)} not installed: pip install 'cnn-playground[cluster]'", file=sys.stderr
            )
            return 2
    if settings.database and not settings.database.startswith(("postgresql://", "postgres://")):
        print(
            f"error: --database takes a postgresql:// URL, got {settings.database[:40]!r}; without it the "
            "database is the SQLite file in --data-dir",
            file=sys.stderr,
        )
        return 2
    try:  # open (and upgrade) the database now: one it cannot use gets a sentence, not a traceback
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        open_database(settings.database_target).close()
    except SchemaTooNew as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (OSError, sqlite3.DatabaseError) as e:
        print(
            f"error: cannot open the database {settings.db_path} ({e}); is --data-dir a folder this "
            "user can write, holding a CNN Playground database?",
            file=sys.stderr,
        )
        return 2
    except Exception as e:  # PostgreSQL: refused, unknown database, wrong password
        if type(e).__module__.split(".")[0] != "psycopg":
            raise
        print(f"error: cannot open the database {settings.database.split('@')[-1]} ({str(e).strip()})", file=sys.stderr)
        return 2
    try:  # a taken port gets a sentence, not a traceback
        with socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET) as probe:
            # as uvicorn binds: a crashed server's connections in TIME-WAIT do not keep the port
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((settings.host, settings.port))
    except OSError as e:
        print(
            f"error: cannot listen on {settings.host}:{settings.port} ({e.strerror}); "
            f"is another server running there? Choose another with --port",
            file=sys.stderr,
        )
        return 2
    shown = "localhost" if settings.host in ("0.0.0.0", "::") else settings.host
    url = f"http://{shown}:{settings.port}/" + (f"?token={settings.token}" if settings.token else "")
    if settings.host in ("0.0.0.0", "::"):
        klass = _class_for_today(settings, args.class_name)
        print(f"CNN Playground, the teacher's link (keep it to yourself): {url}", flush=True)
        # students open it by this machine's name (or its address on the room's network), no token
        print(
            f"students open http://{socket.gethostname()}:{settings.port}/ and join "
            f'"{klass["name"]}" with the code {klass["code"]}',
            flush=True,
        )
    else:
        print(f"CNN Playground: {url}", flush=True)
    print(f"data directory: {settings.data_dir}", flush=True)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=args.log_level,
        ws_max_size=1 << 20,
        timeout_graceful_shutdown=5,
    )
    return 0


def _class_for_today(settings, name: str | None) -> dict:
    """The open class students join: the newest one (a restart keeps the class), else a new one."""
    from .classroom.service import ClassroomService
    from .db import open_database
    from .files import FileStore

    classroom = ClassroomService(open_database(settings.database_target), FileStore(settings.data_dir))
    open_now = classroom.open_classes()
    if open_now and not name:
        return next(c for c in classroom.classes() if c["id"] == open_now[-1]["id"])
    return classroom.open_class(name)


def build_parser(training: bool = True) -> argparse.ArgumentParser:
    """The command's parser; `training=False` leaves out train's option flags, which import the
    engine (and NumPy) to read their declarations: every other command's --help stays instant."""
    from . import __version__

    p = argparse.ArgumentParser(prog="cnn-playground", description="Build, train and look inside CNNs.")
    p.add_argument("--version", action="version", version=f"cnn-playground {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    def spec_args(sp):
        g = sp.add_mutually_exclusive_group()
        g.add_argument("--preset", default="lenet5", help="a preset name (default lenet5)")
        g.add_argument("--spec", help="a network spec JSON file")

    v = sub.add_parser("serve", help="start the playground (page, REST API, WebSockets)")
    v.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine only)")
    v.add_argument("--port", type=port, default=8000, help="port to listen on (default 8000)")
    v.add_argument(
        "--offline",
        action="store_true",
        help="never download MNIST, Fashion-MNIST or CIFAR-10: only what is already on disk",
    )
    v.add_argument(
        "--data-dir",
        help="where networks, datasets and runs are kept "
        "(default: $CNN_PLAYGROUND_HOME or ~/.local/share/cnn-playground)",
    )
    v.add_argument("--token", help="require this token (generated when listening beyond loopback)")
    v.add_argument(
        "--class-name",
        help="open a new class under this name (off loopback, the newest open class is reused otherwise)",
    )
    v.add_argument(
        "--threads",
        type=positive,
        default=None,
        help="threads one training step is shared among (default: one per core)",
    )
    v.add_argument(
        "--database",
        metavar="URL",
        help="keep the metadata in PostgreSQL (postgresql://user:password@host:port/name), shared by "
        "several servers behind one address (default: SQLite in --data-dir); see docs/deploy.md",
    )
    v.add_argument(
        "--runner",
        choices=["inprocess", "ray"],
        default="inprocess",
        help="where runs execute: this process's threads (default) or a Ray cluster",
    )
    v.add_argument(
        "--ray-address",
        metavar="ADDRESS",
        help="with --runner ray: the Ray cluster to join (host:port of its head); "
        "without it, a Ray is started on this machine",
    )
    v.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    v.set_defaults(func=cmd_serve)

    s = sub.add_parser("summary", help="shapes, parameters with formulas, multiply-adds, warnings")
    spec_args(s)
    s.add_argument("--json", action="store_true", help="print the summary as JSON")
    s.set_defaults(func=cmd_summary)

    d = sub.add_parser("datasets", help="datasets: built in and cached")
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=cmd_datasets)

    t = sub.add_parser("train", help="train a network from the terminal")
    spec_args(t)
    t.add_argument("--dataset", default="strokes", help="a built-in name or the path of a dataset file")
    if training:
        training_options(t)
    t.add_argument(
        "--threads", type=positive, default=None, help="threads one step is shared among (default: one per core)"
    )
    t.add_argument("--out", help="save the trained model to this .npz file")
    t.add_argument("--json", action="store_true", help="print the final metrics as one JSON line")
    t.set_defaults(func=cmd_train)

    add_commands(sub)

    b = sub.add_parser("bench", help="engine speed and memory (see bench --help)", add_help=False)
    b.set_defaults(func=None)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:
        from . import bench

        return bench.main(argv[1:])
    args = build_parser(training=argv[:1] == ["train"]).parse_args(argv)
    try:
        return args.func(args)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: the user knows why, a traceback would only hide it
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
