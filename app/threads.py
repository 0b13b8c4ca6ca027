"""Threads for the engine, and one BLAS thread under them.

The engine shares a training step's chunks and channel blocks among its own
threads (engine/parallel.py), which on small convolutions does much better
than a multi-threaded BLAS. The two must not both use every core, or their
threads fight over them, so the BLAS gets one thread: n threads in all. threadpoolctl is what sets that at run time, whichever BLAS
NumPy was built with.
"""

from __future__ import annotations

import engine


def use_threads(n: int | None = None) -> int:
    """Spread engine work over n threads (None: one per core); returns the count in use."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")
    return engine.parallel.set_threads(n)
