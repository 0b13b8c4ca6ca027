"""Spread a layer's independent pieces of work over a few threads.

NumPy lets go of the GIL inside its copies, ufuncs and BLAS calls, so the
chunks of a batch that a convolution works through one after another can
just as well run side by side, one chunk per core, each in its own core's
cache. On small layers (10 or 16 filters) this does much better than one
multi-threaded matrix product per chunk: the BLAS splits a skinny product
poorly and its threads wait on each other.

    engine.set_threads(2)   # default 1: everything runs in the caller's thread

Two cautions for whoever turns it on:
- Limit the BLAS to one thread first (OPENBLAS_NUM_THREADS=1 before NumPy is
  imported, or threadpoolctl's threadpool_limits(1, "blas")); otherwise the
  engine's threads and the BLAS threads fight over the same cores.
- Results do not depend on the thread count: layers split a batch the same
  way whatever it is, and add the pieces' partial sums in the same order.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

_lock = threading.Lock()
_threads = 1
_pool: ThreadPoolExecutor | None = None
_inside = threading.local()  # set in the pool's own threads: work they start runs inline


def set_threads(n: int | None) -> int:
    """Use n threads for layer work (None: one per core). Returns the count in use."""
    global _threads, _pool
    n = (os.cpu_count() or 1) if n is None else int(n)
    if n < 1:
        raise ValueError(f"threads must be at least 1, got {n}")
    with _lock:
        if n != _threads and _pool is not None:
            _pool.shutdown(wait=True)
            _pool = None
        _threads = n
    return n


def get_threads() -> int:
    """How many threads layer work is spread over."""
    return _threads


def _mark_inside():
    _inside.active = True


def _get_pool() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(_threads, thread_name_prefix="engine", initializer=_mark_inside)
        return _pool


def slots(count: int) -> int:
    """How many threads `count` pieces of work will be shared among."""
    if getattr(_inside, "active", False):
        return 1
    return max(1, min(_threads, count))


def _as_caller(errors: dict, fn, *args):
    """fn(*args) under the caller's NumPy error handling (np.errstate is per thread)."""
    with np.errstate(**errors):
        return fn(*args)


def run(fn, count: int) -> None:
    """Call fn(slot, pieces) for slot in range(slots(count)), where `pieces` are the
    indices slot, slot + slots, ... of range(count); in parallel when there is
    more than one slot. Each slot is one thread, so it may keep its own scratch
    arrays. The first error raised by any slot is raised here."""
    k = slots(count)
    if k == 1:
        fn(0, range(count))
        return
    futures = [_get_pool().submit(_as_caller, np.geterr(), fn, s, range(s, count, k)) for s in range(1, k)]
    error = None
    try:
        fn(0, range(0, count, k))  # the caller's thread takes the first share
    except BaseException as e:  # re-raised below, once every slot is done
        error = e
    for f in futures:  # wait for all: no slot may still be writing when we return
        e = f.exception()
        error = error or e
    if error is not None:
        raise error


# Handing work to another thread costs about 60 microseconds (waking it up), about what
# NumPy takes for a million element-wise operations: smaller jobs stay in the caller's thread.
MIN_SPLIT = 2 << 20


def split(fn, count: int, work: int) -> None:
    """Call fn(a, b) on consecutive blocks [a, b) of range(count) (channels, say), one
    block per thread, when `work` (element operations, roughly) is at least MIN_SPLIT;
    else fn(0, count) in the caller's thread."""
    k = slots(count) if work >= MIN_SPLIT else 1
    if k == 1:
        fn(0, count)
        return
    bounds = [count * i // k for i in range(k + 1)]
    run(lambda slot, pieces: [fn(bounds[i], bounds[i + 1]) for i in pieces], k)
