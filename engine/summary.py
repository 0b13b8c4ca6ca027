"""The summary of a spec: shapes, parameter counts with their formulas,
multiply-adds, receptive fields and activation memory, per layer and in
total. Built from shapes alone: nothing is allocated, so a 138M-parameter
network is summarized instantly."""

from __future__ import annotations

import math

from .layers import Block, Residual, Sequence
from .layers.linear import Flatten
from .spec import parse_spec

BYTES = 4  # float32


def summarize(spec: dict) -> dict:
    """spec -> {"input", "output", "layers": [...], "totals": {...}, "warnings": [...]}.

    Raises SpecErrors when the spec cannot work.
    """
    in_shape, root = parse_spec(spec)
    rows: list[dict] = []
    rf = {}
    _receptive_fields(root, (1, 1), (1, 1), rf)
    _rows(root, rows, rf, depth=0)
    if len(in_shape) == 3:
        for r in rows:
            r["receptive_field_note"] = _wider_than_input(r["receptive_field"], in_shape[1:])
    leaf = [r for r in rows if not r["block"]]
    trainable = sum(r["params_trainable"] for r in leaf)
    frozen = sum(r["params_frozen"] for r in leaf)
    warnings = [w for r in rows for w in r["warnings"]]
    totals = {
        "params": trainable + frozen,
        "params_trainable": trainable,
        "params_frozen": frozen,
        "buffers": sum(r["buffers"] for r in leaf),
        "macs": sum(r["macs"] for r in leaf),
        "activation_bytes": sum(r["activation_bytes"] for r in leaf) + math.prod(in_shape) * BYTES,
        "param_bytes": (trainable + frozen) * BYTES,
        "layers": len(rows),
    }
    return {
        "input": list(in_shape),
        "output": list(root.out_shape),
        "layers": rows,
        "totals": totals,
        "warnings": warnings,
    }


def _wider_than_input(field: list | None, size: tuple) -> str | None:
    """Why a receptive field can be wider than the image: the windows reach into the padding."""
    if not field or all(f <= n for f, n in zip(field, size)):
        return None
    return (
        f"wider than the {size[0]}x{size[1]} input: the windows near its edges reach into the padding, "
        "and those zeros are counted in the field's size"
    )


def _rows(seq: Sequence, rows: list, rf: dict, depth: int) -> None:
    for layer in seq.layers:
        shapes = layer.param_shapes()
        n = sum(math.prod(s) for s in shapes.values())
        formula = layer.param_formula()
        row = {
            "path": layer.path,
            "type": layer.type,
            "name": layer.name,
            "depth": depth,
            "block": isinstance(layer, Block),
            "input_shape": list(layer.in_shape),
            "output_shape": list(layer.out_shape),
            "params": n,
            "params_trainable": n if layer.trainable else 0,
            "params_frozen": 0 if layer.trainable else n,
            "param_shapes": {k: list(v) for k, v in shapes.items()},
            "param_formula": f"{formula} = {n:,}" if formula else None,
            "buffers": sum(math.prod(s) for s in layer.buffer_shapes().values()),
            "macs": layer.macs(),
            "receptive_field": [math.ceil(v) for v in rf[layer.path]] if layer.path in rf else None,
            "activation_bytes": math.prod(layer.out_shape) * BYTES,
            "formulas": getattr(layer, "formulas", []),
            "trainable": layer.trainable,
            "warnings": list(layer.warnings),
        }
        if row["block"]:
            inner: list = []
            for child in layer.children():
                _rows(child, inner, rf, depth + 1)
            leaf = [r for r in inner if not r["block"]]
            for key in ("params", "params_trainable", "params_frozen", "macs", "buffers"):
                row[key] = sum(r[key] for r in leaf)
            row["activation_bytes"] += sum(r["activation_bytes"] for r in leaf)
            rows.append(row)
            rows.extend(inner)
        else:
            rows.append(row)


def _receptive_fields(seq: Sequence, size: tuple, jump: tuple, out: dict) -> tuple:
    """Walk the layers, tracking the receptive field r and jump j per axis: a window of K
    with stride S gives r' = r + (K - 1) j, j' = j S (each layer says how it changes them:
    Layer.receptive_field). After a transposed convolution j is a fraction of a pixel, and
    r is shown rounded up."""
    for layer in seq.layers:
        if isinstance(layer, Block):
            ends = [_receptive_fields(child, size, jump, out) for child in layer.children()]
            if isinstance(layer, Residual):
                ends = [e for e, c in zip(ends, layer.children()) if c.layers] or ends
            size = tuple(max(e[0][a] for e in ends) for a in range(2))
            jump = ends[0][1]
        elif isinstance(layer, Flatten) and len(layer.in_shape) == 3:
            size = tuple(size[a] + (layer.in_shape[1 + a] - 1) * jump[a] for a in range(2))
        else:
            size, jump = layer.receptive_field(size, jump)
        out[layer.path] = size
    return size, jump


def format_table(summary: dict) -> str:
    """The summary as a fixed-width text table, for the terminal."""
    head = f"{'layer':<34} {'output':<16} {'params':>12}  {'mult-adds':>14}  {'RF':>7}  formula"
    lines = [head, "-" * len(head)]
    for r in summary["layers"]:
        label = (
            "  " * r["depth"] + r["path"].split(".")[-1] + f" {r['type']}" + (f" ({r['name']})" if r["name"] else "")
        )
        shape = "x".join(map(str, r["output_shape"]))
        rfv = (
            "x".join(
                map(
                    str,
                    r["receptive_field"][:1]
                    if r["receptive_field"] and r["receptive_field"][0] == r["receptive_field"][1]
                    else (r["receptive_field"] or []),
                )
            )
            or "-"
        )
        frozen = " (frozen)" if r["params_frozen"] and not r["block"] else ""
        lines.append(
            f"{label[:34]:<34} {shape:<16} {r['params']:>12,}  {r['macs']:>14,}  {rfv:>7}  "
            f"{(r['param_formula'] or '') if not r['block'] else ''}{frozen}"
        )
    t = summary["totals"]
    lines.append("-" * len(head))
    lines.append(f"parameters: {t['params']:,} (trainable {t['params_trainable']:,}, frozen {t['params_frozen']:,})")
    lines.append(f"multiply-adds per example: {t['macs']:,}")
    lines.append(
        f"activation memory per example: {t['activation_bytes'] / 2**20:,.2f} MiB; "
        f"weights: {t['param_bytes'] / 2**20:,.2f} MiB"
    )
    for w in summary["warnings"]:
        lines.append(f"warning: {w}")
    return "\n".join(lines)
