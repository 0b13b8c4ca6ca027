"""Accuracy benchmarks: what a student can expect to reach, and how fast.

    python benchmarks/accuracy.py [--mnist DIR] [--only mnist|strokes|shapes] [--threads T]

Training runs as the server and the CLI run it: the engine's threads (default
one per core) with one BLAS thread under them (app/threads.py).

1. LeNet-5 on the real MNIST test set (10,000 images): the first 8,000 train,
   the last 2,000 are held out; 5 epochs of SGD (lr 0.01, momentum 0.9),
   batch 64, inputs normalized. Target: at least 96% holdout accuracy.
2. The default preset for `strokes` and for `shapes`, in under 60 s on a 2-core
   machine: at least 95% holdout accuracy on `shapes`; about 85% on `strokes`, whose
   digits are spread wider than real handwriting on purpose, so that a network trained
   on them reads real handwriting (benchmarks/strokes_to_mnist.py).

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import engine
from engine.data import load_dataset
from engine.presets import DEFAULT_FOR_DATASET, adapt
from engine.train import TrainConfig, Trainer

# Recipes for the built-in datasets' default presets.
RECIPES = {
    "strokes": dict(epochs=3, batch_size=64, optimizer="sgd", lr=0.05, momentum=0.9, holdout=2000, validation=0),
    "shapes": dict(epochs=10, batch_size=64, optimizer="adam", lr=2e-3, holdout=2000, validation=0, schedule="cosine"),
}


def run(name: str, dataset, spec: dict, config: TrainConfig) -> dict:
    net = engine.build_network(spec, seed=config.seed)
    trainer = Trainer(net, dataset, config)
    t = time.perf_counter()
    for event in trainer.events():
        if event["type"] == "epoch":
            print(
                f"  {name} epoch {event['epoch']}: train acc {event['train_accuracy']:.2%}, "
                f"holdout acc {event['val_accuracy']:.2%} ({event['elapsed']:.1f} s)",
                flush=True,
            )
    seconds = time.perf_counter() - t
    m = trainer.result["metrics"]
    return {
        "benchmark": name,
        "holdout_accuracy": m["val_accuracy"],
        "seconds": round(seconds, 1),
        "train_examples": int(len(trainer.x_train)),
        "holdout_examples": int(len(trainer.x_val)),
        "status": trainer.result["status"],
    }


def main() -> None:
    here = Path(__file__).resolve().parent.parent
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--mnist",
        default=os.environ.get("MNIST_DIR", str(here.parent / "shared" / "datasets" / "mnist")),
        help="folder with t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz",
    )
    p.add_argument("--only", choices=["mnist", "strokes", "shapes"])
    p.add_argument("--threads", type=int, default=None, help="engine threads (default: one per core)")
    args = p.parse_args()
    from app.threads import use_threads

    print(f"threads: {use_threads(args.threads)} (engine), BLAS 1", flush=True)
    print(f"cores: {os.cpu_count()}")
    results = []
    if args.only in (None, "mnist"):
        if Path(args.mnist).is_dir():
            ds = load_dataset(args.mnist)
            cfg = TrainConfig(
                epochs=5, batch_size=64, optimizer="sgd", lr=0.01, momentum=0.9, holdout=2000, validation=0, seed=0
            )
            results.append(
                run("lenet5 on MNIST test set (8,000 train / 2,000 holdout)", ds, engine.PRESETS["lenet5"], cfg)
            )
        else:
            print(f"skipping MNIST: {args.mnist} not found")
    for name in ("strokes", "shapes"):
        if args.only not in (None, name):
            continue
        t = time.perf_counter()
        ds = load_dataset(name)
        gen = time.perf_counter() - t
        preset = DEFAULT_FOR_DATASET[name]
        spec = adapt(engine.PRESETS[preset], ds.shape, ds.num_classes)
        r = run(f"{preset} on {name}", ds, spec, TrainConfig(seed=0, **RECIPES[name]))
        r["generation_seconds"] = round(gen, 2)
        results.append(r)
    for r in results:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
