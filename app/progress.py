"""A terminal progress bar for training runs: one line per epoch."""

from __future__ import annotations

import sys
import time


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class EpochBar:
    """Draws `epoch 2/5 [######----] 60% loss 0.31 acc 91.2% 5,400/s ETA 0:04`.

    On a terminal the line redraws in place; otherwise only each epoch's
    final line is written, so logs stay readable.
    """

    def __init__(self, stream=None, width: int = 24):
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.last_draw = 0.0
        self.epoch_start = time.perf_counter()

    def batch(self, e: dict, epochs: int) -> None:
        if e["batch"] == 1:
            self.epoch_start = time.perf_counter()
        now = time.perf_counter()
        if not self.tty or (now - self.last_draw < 0.1 and e["batch"] != e["batches"]):
            return
        self.last_draw = now
        frac = e["batch"] / e["batches"]
        fill = int(round(frac * self.width))
        speed = e.get("samples_per_s") or 0
        eta = (now - self.epoch_start) / frac * (1 - frac) if frac > 0 else 0
        line = (
            f"epoch {e['epoch']}/{epochs} [{'#' * fill}{'-' * (self.width - fill)}] {frac:4.0%} "
            f"loss {e['loss']:.4f} acc {e['accuracy']:6.1%} {speed:,.0f}/s ETA {_clock(eta)}"
        )
        self.stream.write("\r" + line)
        self.stream.flush()

    def epoch(self, e: dict) -> None:
        val = (
            f" | val loss {e['val_loss']:.4f} acc {e['val_accuracy']:.1%}" if e.get("val_accuracy") is not None else ""
        )
        line = (
            f"epoch {e['epoch']}/{e['epochs']} train loss {e['train_loss']:.4f} "
            f"acc {e['train_accuracy']:.1%}{val} ({_clock(e['elapsed'])} elapsed)"
        )
        self.stream.write(("\r\033[K" if self.tty else "") + line + "\n")
        self.stream.flush()
