"""The commands on a saved network file: evaluate it on a dataset, predict images, export it.

A file saved by `cnn-playground train --out`, a run's checkpoint, or an npz export with its dataset
holds the network and, from training, its dataset's class names and normalization: evaluate and
predict read images with them, as training did. A file without them is read with --dataset's
(predict), or with the evaluated dataset's own statistics (evaluate).
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

from .cli_checks import UsageError, output_file, positive, write_file


def _load_model(path: str):
    """(network, meta) from a network .npz, or UsageError with a sentence."""
    import engine

    from .exports import is_pytorch_export

    if not Path(path).is_file():
        raise UsageError(f"no file {path}")
    if is_pytorch_export(Path(path).read_bytes()):
        raise UsageError(
            f"{path} is the PyTorch export (model.py and weights.npz), which loads in PyTorch; "
            "give the network's .npz (train --out, or the npz export)"
        )
    try:
        net, _, meta = engine.load_checkpoint(Path(path))
    except (OSError, engine.CheckpointError) as e:
        raise UsageError(
            f"{path} is not a network file this playground saved ({e}); "
            "use the .npz from `train --out` or the page's Export > npz"
        ) from None
    return net, meta


def _saved_data(meta: dict) -> dict:
    """What a model file says of the data it learnt from (Dataset.model_meta), if it says it."""
    if not (isinstance(meta.get("mean"), list) and isinstance(meta.get("std"), list)):
        return {}
    return {k: meta[k] for k in ("dataset", "classes", "mean", "std") if k in meta}


def _trained_on(args, net, meta: dict) -> dict:
    """The scaling and class names to read images with: --dataset's, else the model file's; with
    neither, a warning that the images are read unscaled (and likely misread)."""
    from engine.data import DatasetError, load_dataset

    if args.dataset:
        try:
            ds = load_dataset(args.dataset, download=False)
        except DatasetError as e:
            raise UsageError(f"--dataset: {e}") from None
        if tuple(ds.shape) != tuple(net.input_shape):
            raise UsageError(
                f"--dataset: {ds.name} has images of shape {list(ds.shape)} but the network takes "
                f"{list(net.input_shape)}; give the dataset it was trained on"
            )
        return ds.model_meta()
    saved = _saved_data(meta)
    if not saved:
        print(
            f"warning: {args.model} does not say what data it learnt from, so the images are read "
            "unscaled (mean 0, std 1) and may well be misread; give --dataset, the dataset it was "
            "trained on, for its scaling and class names",
            file=sys.stderr,
        )
    return saved


def cmd_evaluate(args) -> int:
    import numpy as np

    from engine.data import DatasetError, load_dataset
    from engine.train import evaluate

    net, meta = _load_model(args.model)
    try:
        ds = load_dataset(args.dataset, download=not args.offline)
    except DatasetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    saved = _saved_data(meta)
    if saved and len(saved["mean"]) == ds.shape[0]:  # scaled as in training, not by this dataset's own numbers
        ds = copy.copy(ds)
        ds.mean, ds.std = np.asarray(saved["mean"], np.float32), np.asarray(saved["std"], np.float32)
    x, y = (ds.x_test, ds.y_test) if len(ds.x_test) else (ds.x_train, ds.y_train)
    if tuple(ds.shape) != tuple(net.input_shape):
        print(
            f"error: {ds.name} has images of shape {list(ds.shape)} but the network takes {list(net.input_shape)}",
            file=sys.stderr,
        )
        return 2
    if len(net.output_shape) != 1 or net.output_shape[0] < ds.num_classes:
        print(
            f"error: the network predicts {net.output_shape} outputs but {ds.name} has {ds.num_classes} classes",
            file=sys.stderr,
        )
        return 2
    result = evaluate(net, ds, x, y, top=0)
    names = list(ds.class_names)
    report = {
        "dataset": ds.name,
        "split": "test" if len(ds.x_test) else "train",
        "n": result["n"],
        "accuracy": result["accuracy"],
        "loss": result["loss"],
        "class_names": names,
        "per_class_accuracy": result["per_class_accuracy"],
        "confusion": result["confusion"],
    }
    if args.json:
        print(json.dumps(report))
        return 0
    print(
        f"{ds.name} ({report['split']} split, {report['n']:,} examples): accuracy {report['accuracy']:.2%}, "
        f"loss {report['loss']:.4f}"
    )
    width = max(len(n) for n in names)
    print("\nper class:")
    for name, acc in zip(names, report["per_class_accuracy"]):
        print(f"  {name:<{width}}  {'-' if acc is None else f'{acc:.2%}'}")
    print("\nconfusion (rows: true class, columns: predicted):")
    cell = max(5, max(len(str(v)) for row in report["confusion"] for v in row) + 1)
    print(" " * (width + 2) + "".join(f"{i:>{cell}}" for i in range(len(names))))
    for i, (name, row) in enumerate(zip(names, report["confusion"])):
        print(f"  {name:<{width}}" + "".join(f"{v:>{cell}}" for v in row) + f"   {i}")
    return 0


def cmd_predict(args) -> int:
    import numpy as np

    from .errors import AppError
    from .services.inspect import decode_image

    net, meta = _load_model(args.model)
    if len(net.output_shape) != 1:
        print(f"error: the network's output has shape {list(net.output_shape)}, not class scores", file=sys.stderr)
        return 2
    k = net.output_shape[0]
    learnt = _trained_on(args, net, meta)
    names = learnt.get("classes")
    names = names if names and len(names) == k else [str(i) for i in range(k)]
    mean = np.asarray(learnt.get("mean", [0.0] * net.input_shape[0]), np.float32).reshape(-1, 1, 1)
    std = np.asarray(learnt.get("std", [1.0] * net.input_shape[0]), np.float32).reshape(-1, 1, 1)
    rows, failed = [], 0
    for image in args.images:
        try:
            x255 = decode_image(Path(image).read_bytes(), net, 64 << 20)
        except OSError as e:
            print(f"error: cannot read {image}: {e.strerror}", file=sys.stderr)
            failed += 1
            continue
        except AppError as e:
            detail = e.detail if isinstance(e.detail, str) else "; ".join(d.get("msg", "") for d in e.detail)
            print(f"error: {image}: {detail}", file=sys.stderr)
            failed += 1
            continue
        x = ((x255 / 255.0 - mean) / std).astype(np.float32)
        p = net.predict_proba(x[None])[0].astype(np.float64)
        order = np.argsort(-p, kind="stable")[: min(args.top, k)]
        rows.append(
            {
                "image": image,
                "predicted": names[order[0]],
                "index": int(order[0]),
                "probability": float(p[order[0]]),
                "top": [{"class": names[i], "index": int(i), "probability": float(p[i])} for i in order],
            }
        )
    for row in rows:
        if args.json:
            print(json.dumps(row))
        else:
            others = ", ".join(f"{t['class']} {t['probability']:.1%}" for t in row["top"][1:])
            print(
                f"{row['image']}: {row['predicted']} ({row['probability']:.1%})"
                + (f"; then {others}" if others else "")
            )
    return 1 if failed else 0


def cmd_export(args) -> int:
    from . import exports
    from .services.networks import check_network_name

    if args.format in exports.missing_formats():
        print(
            f"error: exporting {args.format} needs an optional part that is not installed: "
            f"{exports.missing_formats()[args.format]}",
            file=sys.stderr,
        )
        return 2
    if args.name is not None:
        try:
            args.name = check_network_name(args.name, "--name")
        except ValueError as e:
            raise UsageError(str(e)) from None
    model = Path(args.model)
    out = None if args.out is None else output_file(args.out, "--out", model.stem + ".npz", reads=(args.model,))
    net, meta = _load_model(args.model)
    name = args.name or (meta.get("name") if isinstance(meta.get("name"), str) else None) or model.stem
    trained_on = _saved_data(meta)  # a PyTorch or ONNX model then scales its own input, as training did
    file = exports.export(net, name, args.format, trained_on or None)
    if out is None:  # beside the model; the default never replaces a file, the model least of all
        out = model.with_name(model.stem + ("-export" if file.suffix == model.suffix else "") + file.suffix)
        if out.exists():
            raise UsageError(f"{out} already exists; give --out {out} to replace it, or choose another file")
        out = output_file(str(out), "--out", out.name)
    write_file(out, file.data, "--out")
    print(f"saved {args.format} export to {out}")
    if trained_on and args.format in ("pytorch", "onnx"):
        print(
            f"it normalises its input as training on {trained_on.get('dataset', 'its data')} did: give it pixel values / 255"
        )
    return 0


def add_commands(sub) -> None:
    e = sub.add_parser("evaluate", help="accuracy, per-class accuracy and confusion matrix of a saved network")
    e.add_argument("--model", required=True, help="a network .npz (train --out, or the page's export)")
    e.add_argument("--dataset", required=True, help="a built-in name or the path of a dataset file or folder")
    e.add_argument("--offline", action="store_true", help="never download a built-in dataset")
    e.add_argument("--json", action="store_true", help="print the report as one JSON object")
    e.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="classify PNG or JPEG images with a saved network")
    p.add_argument("--model", required=True, help="a network .npz")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="PNG or JPEG files")
    p.add_argument(
        "--top", type=positive, default=3, help="how many classes to show per image (default 3; at most all of them)"
    )
    p.add_argument("--json", action="store_true", help="one JSON object per image")
    p.add_argument(
        "--dataset",
        help="the dataset the network was trained on (a built-in name or a file): its scaling and class "
        "names, for a model file that does not carry them (default: the file's)",
    )
    p.set_defaults(func=cmd_predict)

    x = sub.add_parser("export", help="export a saved network as PyTorch, ONNX, JSON or npz")
    x.add_argument("--model", required=True, help="a network .npz")
    x.add_argument(
        "--format",
        required=True,
        choices=["pytorch", "onnx", "json", "npz"],
        help='onnx needs the [onnx] extra: pip install "cnn-playground[onnx]"',
    )
    x.add_argument(
        "--out", help="the file to write (default: beside the model, named after it; it never replaces a file)"
    )
    x.add_argument("--name", help="the network's name in the export (default: the saved one, else the file's)")
    x.set_defaults(func=cmd_export)
