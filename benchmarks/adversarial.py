"""How little fools LeNet-5, and what its convolutions look for.

    python benchmarks/adversarial.py [--mnist DIR] [--seed 0] [--epochs 3] [--digits 200]
                                     [--out test-artifacts/benchmarks] [--threads T]

LeNet-5 is trained on `strokes` (10,000 generated digits, dataset seed = run seed) with the
page's settings (SGD, lr 0.05, momentum 0.9, batch 64, 10% held out), as
benchmarks/strokes_to_mnist.py trains it. Then:

1. The fast gradient sign method, as the Inspect view takes it (app/services/visualize.py):
   every pixel moves by epsilon grey levels (out of 255) the way that raises the loss of the
   network's own prediction, clipped to 0-255. For the first --digits images of the real MNIST
   test set (IDX .gz, read as strokes_to_mnist.py reads it) and of the strokes holdout, the
   curve epsilon -> the fraction whose prediction flipped, and the epsilon at which half of
   them flip (linear between the two grid points either side). A flip is measured against the
   network's own answer on the clean digit, right or wrong.
2. Feature visualization with the page's defaults (128 steps, step 0.2, jitter 1, blur 0.5,
   L2 0.02, seed 0) for every channel of conv1 and conv2 (a map's mean and its middle unit)
   and for each class score, saved as one PNG (rows listed on stdout), with the dominant
   orientation of each conv1 image (structure tensor: the direction along its strokes, 0 deg
   horizontal, 90 deg vertical, counter-clockwise as seen) and how clearly it has one
   (coherence: 0 none, 1 perfectly straight stripes).

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from PIL import Image

import engine
from engine.data import Dataset, load_dataset
from engine.train import TrainConfig, Trainer

# what a student trains with unless they change it (static/store.js, app/schemas.py RunCreate)
PAGE = {"batch_size": 64, "optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "validation": 0.1}
# the feature visualization panel's defaults (static/views/inspect/feature-viz.js)
ASCENT = {"steps": 128, "lr": 0.2, "jitter": 1, "blur": 0.5, "l2": 0.02}
START_NOISE = 0.05  # as app/services/visualize.py starts
EPSILONS = list(range(65))  # grey levels, 0 to the page slider's 64


def train(seed: int, epochs: int) -> tuple[engine.Network, Dataset]:
    strokes = load_dataset("strokes", seed=seed)
    net = engine.build_network(engine.PRESETS["lenet5"], seed=seed)
    trainer = Trainer(net, strokes, TrainConfig(epochs=epochs, seed=seed, **PAGE))
    for _ in trainer.events():
        pass
    return net, strokes


def pixel_range(ds: Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per channel: normalized values of pixels 0 and 255, and one grey level's size."""
    mean, std = np.asarray(ds.mean, np.float64), np.asarray(ds.std, np.float64)
    return (0 - mean) / std, (1 - mean) / std, 1 / (255 * std)


def flip_curve(net, ds: Dataset, images: np.ndarray) -> tuple[list[float], np.ndarray]:
    """The fraction of `images` (uint8 NCHW) whose prediction flips at each epsilon, and the
    clean predictions."""
    lo, hi, grey = pixel_range(ds)
    x = ds.normalize(images)
    clean = net.logits(x).argmax(axis=1)
    _, g = engine.loss_gradient(net, x, clean)  # one gradient: the sign is the same at every eps
    sign = np.sign(g)
    fractions = []
    for eps in EPSILONS:
        adv = engine.perturb(x, sign, eps * grey, lo, hi).astype(x.dtype)
        fractions.append(float((net.logits(adv).argmax(axis=1) != clean).mean()))
    return fractions, clean


def half_point(fractions: list[float]) -> float | None:
    """The epsilon where the curve first reaches one half, linear between grid points."""
    for i, f in enumerate(fractions):
        if f >= 0.5:
            if i == 0:
                return float(EPSILONS[0])
            f0, e0, e1 = fractions[i - 1], EPSILONS[i - 1], EPSILONS[i]
            return e0 + (0.5 - f0) / (f - f0) * (e1 - e0)
    return None


def report_curve(name: str, fractions: list[float], accuracy: float, n: int) -> dict:
    half = half_point(fractions)
    print(f"\n{name}: {n} digits, {accuracy:.1%} of them read right before any change")
    print("  epsilon (of 255) -> fraction flipped")
    for eps, f in zip(EPSILONS, fractions, strict=True):
        if eps % 4 == 0 or (half is not None and abs(eps - half) < 1):
            print(f"  {eps:3d} -> {f:6.1%}  {'#' * round(f * 40)}")
    said = f"{half:.1f} grey levels" if half is not None else f"beyond {EPSILONS[-1]}"
    print(f"  half of them flip at epsilon = {said}")
    return {
        "benchmark": f"fgsm flips, {name}",
        "digits": n,
        "accuracy": accuracy,
        "half_flip_epsilon": None if half is None else round(half, 2),
        "curve": dict(zip(EPSILONS, [round(f, 4) for f in fractions], strict=True)),
    }


# ---- feature visualization ---------------------------------------------------------------------
def grow(net, ds: Dataset, path: str, units: list[int], centre: bool, seed: int) -> np.ndarray:
    """The page's ascent for each unit; returns 0-255 images (N, H, W)."""
    lo, hi, _ = pixel_range(ds)
    rng = np.random.default_rng(seed)
    x0 = np.clip(START_NOISE * rng.standard_normal((len(units), *net.input_shape)), lo[0], hi[0])
    result = engine.ascend(net, path, units, x0, lo=lo, hi=hi, rng=rng, centre=centre, **ASCENT)
    std, mean = float(ds.std[0]), float(ds.mean[0])
    return np.clip((result["images"][:, 0] * std + mean) * 255, 0, 255)


def orientation(img: np.ndarray) -> tuple[float, float]:
    """The direction along the image's strokes in degrees (0 horizontal, 90 vertical,
    counter-clockwise as seen) and its coherence, from the structure tensor."""
    gy, gx = np.gradient(img.astype(np.float64))
    gy = -gy  # rows grow downwards; angles are read as seen
    jxx, jyy, jxy = (gx * gx).sum(), (gy * gy).sum(), (gx * gy).sum()
    across = 0.5 * np.degrees(np.arctan2(2 * jxy, jxx - jyy))  # the direction of change
    coherence = np.hypot(jxx - jyy, 2 * jxy) / (jxx + jyy + 1e-12)
    return float((across + 90) % 180), float(coherence)


def montage(rows: list[np.ndarray], cell: int = 112, gap: int = 4) -> np.ndarray:
    """Rows of square images, each scaled up (nearest) to `cell` pixels, on a grey ground."""
    cols = max(len(r) for r in rows)
    out = np.full((len(rows) * (cell + gap) + gap, cols * (cell + gap) + gap), 96, np.uint8)
    for i, row in enumerate(rows):
        scale = cell // row.shape[1]
        for j, img in enumerate(row):
            big = np.kron(np.rint(img).astype(np.uint8), np.ones((scale, scale), np.uint8))
            y, x = gap + i * (cell + gap), gap + j * (cell + gap)
            out[y : y + big.shape[0], x : x + big.shape[1]] = big
    return out


def features(net, ds: Dataset, seed: int, out: Path) -> dict:
    paths = {layer.name: layer.path for layer in net.trunk.layers if layer.name}
    rows, names = [], []
    t = time.perf_counter()
    for name in ("conv1", "conv2"):
        count = net.layer(paths[name]).out_shape[0]
        for centre in (False, True):
            imgs = grow(net, ds, paths[name], list(range(count)), centre, seed)
            what = "middle unit" if centre else "map mean"
            for start in range(0, count, 8):
                rows.append(imgs[start : start + 8])
                names.append(f"{name}, {what}, channels {start}-{min(count, start + 8) - 1}")
            if name == "conv1" and centre:
                # lenet5's conv1 (5x5, padding 2): its middle unit reads rows and columns
                # 11-15; the crop keeps a pixel around them
                conv1 = imgs[:, 10:17, 10:17]
                rows.append(conv1)
                names.append("conv1, middle unit, its receptive field enlarged")
    classes = grow(net, ds, paths["fc3"], list(range(10)), False, seed)
    rows.append(classes)
    names.append("fc3, class scores 0-9")
    seconds = time.perf_counter() - t
    out.mkdir(parents=True, exist_ok=True)
    png = out / "lenet5-feature-visualization.png"
    Image.fromarray(montage(rows)).save(png)
    print(f"\nfeature visualization ({seconds:.1f} s for all): {png}")
    for i, name in enumerate(names):
        print(f"  row {i + 1}: {name}")
    print("  conv1 (middle unit, its receptive field), the direction along each channel's strokes:")
    angles = []
    for c, img in enumerate(conv1):
        angle, coherence = orientation(img)
        angles.append({"channel": c, "degrees": round(angle), "coherence": round(coherence, 2)})
        print(f"    channel {c}: {angle:5.0f} deg, coherence {coherence:.2f}")
    return {
        "benchmark": "lenet5 feature visualization",
        "png": str(png),
        "rows": names,
        "conv1_orientation": angles,
        "seconds": round(seconds, 1),
    }


def main() -> None:
    here = Path(__file__).resolve().parent.parent
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mnist = os.environ.get("MNIST_DIR", str(here.parent / "shared" / "datasets" / "mnist"))
    p.add_argument("--mnist", default=mnist, help="folder with t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz")
    p.add_argument("--seed", type=int, default=0, help="dataset and run seed")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--digits", type=int, default=200, help="test digits to perturb")
    p.add_argument("--out", default=str(here / "test-artifacts" / "benchmarks"))
    p.add_argument("--threads", type=int, default=None, help="engine threads (default: one per core)")
    args = p.parse_args()
    from app.threads import use_threads

    threads = use_threads(args.threads)
    print(f"cores: {os.cpu_count()}; threads: {threads} (engine), BLAS 1", flush=True)
    t = time.perf_counter()
    net, strokes = train(args.seed, args.epochs)
    print(
        f"lenet5, {args.epochs} epochs on strokes (seed {args.seed}), page settings: {time.perf_counter() - t:.0f} s",
        flush=True,
    )
    rows = []
    n = args.digits
    sets = [("strokes holdout", strokes.x_test[:n], strokes.y_test[:n])]
    if Path(args.mnist).is_dir():
        mnist = load_dataset(args.mnist)
        sets.insert(0, ("real MNIST test set", mnist.x_test[:n], mnist.y_test[:n]))
    else:
        print(f"skipping MNIST: {args.mnist} not found")
    for name, images, labels in sets:
        fractions, clean = flip_curve(net, strokes, images)
        rows.append(report_curve(name, fractions, float((clean == labels).mean()), len(images)))
    rows.append(features(net, strokes, args.seed, Path(args.out)))
    print()
    for r in rows:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
