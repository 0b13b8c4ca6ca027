"""Benchmark the NumPy engine: train-step throughput, peak memory and the
latency of one image's feature maps; optionally against PyTorch on the CPU.

    cnn-playground bench [--steps N] [--threads T] [--json] [--compare torch]
    python -m app.bench ...

A train step is forward + cross-entropy loss + backward + one SGD-momentum
step (lr 0.01, momentum 0.9). Each workload runs a few warm-up steps, then
N timed steps; the median is reported, and the fastest step beside it, and
the one-image feature-map pass of the workload's preset (every layer's output).

Fraction of GEMM peak: the floating-point work of a step's convolutions and
linear layers (2 x multiply-adds x batch, three times over: forward, dL/dW
and dL/dX, but for the first layer's dL/dX, which nobody needs) over its
median time, against the float32 peak of this machine's BLAS measured with a
large np.dot in one thread, times the thread count.
Products alone: the same matrix products (each conv's W @ cols, delta @ cols^T and
W^T @ delta on the chunks of the batch the engine works through, each linear layer's three,
nobody's dL/dX for the first layer), timed on their own with
random numbers in one thread and divided by the thread count: what a step of any im2col
engine on this BLAS costs before it does anything else (building columns, batch norm, ReLU,
pooling, the optimizer). Set against PyTorch's whole step, it says how near to it NumPy can
come on that workload at best.
Peak memory is (a) the tracemalloc peak while a few steps run (NumPy
reports its array allocations to tracemalloc; weights, data and optimizer
state are included because tracing starts before the network is built) and
(b) the process's max resident set size from getrusage, which only ever
grows: it is read after each of our workloads, before PyTorch is imported.

--threads T (default: one per core) is the number of threads in all: the
engine shares each step among T threads (engine/parallel.py) with the BLAS
limited to one (app/threads.py), and PyTorch gets torch.set_num_threads(T).

With --compare torch the two are timed in alternating blocks of steps, so a
machine that slows down for a while (another process, a noisy neighbour on a
virtual machine) slows both alike. torch is imported only for the comparison,
after our memory figures are taken.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
import tracemalloc

WORKLOADS = (
    # name, preset, batch size
    ("lenet5", "lenet5", 64),
    ("tinyvgg", "tinyvgg", 32),
    ("resnet8", "resnet8", 32),
)
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
LR, MOMENTUM = 0.01, 0.9


def parse_args(argv):
    p = argparse.ArgumentParser(prog="cnn-playground bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=30, help="timed train steps per workload (default 30)")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps before timing (default 5)")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="BLAS/OpenMP threads (sets OMP/OPENBLAS/MKL_NUM_THREADS before NumPy is imported)",
    )
    p.add_argument(
        "--feature-runs", type=int, default=200, help="runs of each preset's one-image feature-map pass (default 200)"
    )
    p.add_argument(
        "--workloads",
        default=",".join(w[0] for w in WORKLOADS),
        help="comma-separated subset of: " + ", ".join(w[0] for w in WORKLOADS),
    )
    p.add_argument("--compare", choices=["torch"], default=None, help="also run the same workloads in PyTorch")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = p.parse_args(argv)
    if args.steps < 1 or args.warmup < 0 or args.feature_runs < 1:
        p.error("--steps and --feature-runs must be at least 1, --warmup at least 0")
    if args.threads is not None and args.threads < 1:
        p.error("--threads must be at least 1")
    known = {w[0] for w in WORKLOADS}
    args.workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    bad = [w for w in args.workloads if w not in known]
    if bad:
        p.error(f"unknown workload(s) {bad}; choose from {sorted(known)}")
    return args


def set_threads(threads: int | None) -> tuple[int, str | None]:
    """Apply --threads: the engine's threads, one BLAS thread; return (count in use, note)."""
    n = threads or os.cpu_count() or 1
    note = None
    if "numpy" in sys.modules:
        note = "numpy was already imported: its BLAS threads are limited through threadpoolctl"
    else:  # before NumPy loads its BLAS; threadpoolctl (in use_threads) covers the other case
        os.environ["OPENBLAS_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = "1"
        os.environ["OMP_NUM_THREADS"] = str(n)  # PyTorch's intra-op pool, if it is compared
    from .threads import use_threads

    return use_threads(n), note


def _torch_available() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):  # ValueError: sys.modules["torch"] is None
        return False


def _max_rss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kb / (1024 * 1024) if sys.platform == "darwin" else kb / 1024


def _data(np, shape, batch, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch,) + tuple(shape)).astype(np.float32)
    y = rng.integers(0, 10, size=batch)
    return x, y


def _timed(fn, warmup: int, runs: int) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return times


def _p95(times):
    s = sorted(times)
    return s[min(len(s) - 1, round(0.95 * (len(s) - 1)))]


def _our_step(preset, batch):
    """(network, one train step of our engine)."""
    import numpy as np

    import engine

    net = engine.build_network(engine.PRESETS[preset], seed=0)
    x, y = _data(np, net.input_shape, batch)
    opt = engine.make_optimizer("sgd", net.parameters(), lr=LR, momentum=MOMENTUM)

    def step():
        net.loss_and_backward(x, y)
        opt.step()

    return net, step


def memory_ours(preset, batch) -> dict:
    """Peak memory of a few train steps: tracemalloc's peak (weights, data and optimizer
    state included: tracing starts before the network is built) and the max RSS so far."""
    tracemalloc.start()
    _, step = _our_step(preset, batch)
    step()  # the first step allocates the optimizer state
    tracemalloc.reset_peak()
    for _ in range(3):
        step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"tracemalloc_peak_mb": peak / 2**20, "max_rss_mb": _max_rss_mb()}


def time_steps(steps_by_name: dict, warmup: int, runs: int, blocks: int = 5) -> dict:
    """Time each step function `runs` times after `warmup`, in `blocks` alternating
    blocks (A A A B B B A A A ...), so that they see the same machine: name -> times in ms."""
    times = {name: [] for name in steps_by_name}
    for fn in steps_by_name.values():
        _timed(fn, warmup, 0)
    sizes = [runs // blocks + (1 if b < runs % blocks else 0) for b in range(blocks)]
    for size in sizes:
        for name, fn in steps_by_name.items():
            times[name] += _timed(fn, 0, size)
    return times


def _summary(times, batch, flops=None, peak=None) -> dict:
    ms = statistics.median(times)
    row = {"ms_per_step": ms, "min_ms": min(times), "samples_per_s": batch * 1000.0 / ms}
    if flops and peak:
        row["gemm_peak_fraction"] = flops / (ms / 1000.0) / (peak * 1e9)
    return row


def gemm_peak_gflops(size: int = 2048, runs: int = 8) -> float:
    """The float32 GEMM peak of one thread (set_threads limits the BLAS to one): the best of
    a few size x size np.dot, in GFLOP/s."""
    import numpy as np

    a = np.random.default_rng(0).standard_normal((2, size, size)).astype(np.float32)
    best = min(_timed(lambda: np.dot(a[0], a[1]), 1, runs))
    return 2 * size**3 / (best / 1000.0) / 1e9


def train_flops(preset, batch) -> int:
    """Floating-point operations of one train step's convolutions and linear layers."""
    import engine
    from engine.summary import summarize

    rows = [r for r in summarize(engine.PRESETS[preset])["layers"] if not r["block"] and r["macs"]]
    first = rows[0]["path"] if rows else None
    return sum(2 * r["macs"] * batch * (2 if r["path"] == first else 3) for r in rows)


def products_step(preset, batch):
    """A function that runs the step's matrix products alone (see the module's doc), in one
    thread: timed with the steps, in the same alternating blocks."""
    import numpy as np

    import engine
    from engine import kernels

    net = engine.build_network(engine.PRESETS[preset], seed=0)
    rng = np.random.default_rng(0)
    products = []  # (m, k, n, first layer?) of each product, in the forward's orientation
    first = True
    for layer in net.layers():
        if layer.type == "conv2d":  # per group, per chunk of the batch as the engine splits it
            _, ho, wo = layer.out_shape
            rows = layer.params["W"][0].size  # C/G * kh * kw
            _, runs = kernels.batch_chunks(batch, layer.col_bytes())
            shapes = [(layer.f // layer.g, rows, (n1 - n0) * ho * wo) for n0, n1 in runs] * layer.g
        elif layer.type == "linear":
            out_f, in_f = layer.params["W"].shape
            shapes = [(out_f, in_f, batch)]
        else:
            continue
        products += [(m, k, n, first) for m, k, n in shapes]
        first = False

    arrays = {  # one set of arrays per shape, reused as the engine reuses its work arrays
        (m, k, n): (
            rng.standard_normal((m, k), np.float32),
            rng.standard_normal((k, n), np.float32),
            rng.standard_normal((m, n), np.float32),
        )
        for m, k, n, _ in products
    }

    def step():
        for m, k, n, is_first in products:
            w, cols, delta = arrays[m, k, n]
            np.matmul(w, cols)  # forward
            np.dot(delta, cols.T)  # dL/dW
            if not is_first:  # nobody needs the first layer's dL/dX
                np.matmul(w.T, delta)

    step.flops = sum(2 * m * k * n * (2 if is_first else 3) for m, k, n, is_first in products)
    return step


def bench_feature_maps(preset, runs):
    import numpy as np

    import engine

    net = engine.build_network(engine.PRESETS[preset], seed=0)
    x, _ = _data(np, net.input_shape, 1)
    maps = net.feature_maps(x)
    times = _timed(lambda: net.feature_maps(x), max(10, runs // 10), runs)
    return {"maps": len(maps), "median_ms": statistics.median(times), "p95_ms": _p95(times)}


def _torch_model(torch, net):
    import numpy as np

    import engine

    source, state = engine.to_pytorch(net)
    ns: dict = {}
    exec(compile(source, "<exported Net>", "exec"), ns)  # our own export
    model = ns["Net"]()
    model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()})
    return model


def _torch_step(torch, preset, batch):
    """One train step of the same network, exported to PyTorch with the same weights."""
    import numpy as np
    import torch.nn.functional as F

    import engine

    net = engine.build_network(engine.PRESETS[preset], seed=0)
    model = _torch_model(torch, net).train()
    xn, yn = _data(np, net.input_shape, batch)
    x, y = torch.from_numpy(xn), torch.from_numpy(yn.astype(np.int64))
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    return step


def torch_feature_maps(torch, preset, runs) -> dict:
    """One image through the exported preset, every top-level layer's output kept."""
    import numpy as np

    import engine

    net = engine.build_network(engine.PRESETS[preset], seed=0)
    model = _torch_model(torch, net).eval()
    x = torch.from_numpy(_data(np, net.input_shape, 1)[0])

    def maps():
        with torch.no_grad():
            h, kept = x, []
            for m in model.layers:
                h = m(h)
                kept.append(h)
            return kept

    times = _timed(maps, max(10, runs // 10), runs)
    return {"median_ms": statistics.median(times), "p95_ms": _p95(times)}


def _table(result) -> str:
    lines = [
        (
            f"threads: {result['threads']} (engine), BLAS 1  numpy {result['numpy']}  steps: median of {result['steps']}"
            f" after {result['warmup']} warm-up" + (", alternating with PyTorch" if result.get("torch") else "")
        )
    ]
    env = {k: v for k, v in result["env"].items() if v is not None}
    lines.append(
        "environment: " + (", ".join(f"{k}={v}" for k, v in env.items()) if env else "(no BLAS variables set)")
    )
    if result.get("note"):
        lines.append("note: " + result["note"])
    torch = result.get("torch")
    lines.append(f"float32 GEMM peak: {result['gemm_peak_gflops']:.0f} GFLOP/s per thread (np.dot, 2048x2048)")
    head = (
        f"{'workload':<10} {'batch':>5} {'ms/step':>9} {'(min)':>7} {'samples/s':>10} {'GFLOP':>6} {'peak':>5}"
        f" {'tracemalloc':>12} {'max RSS':>9}"
    )
    if torch:
        head += f" {'torch ms':>9} {'(min)':>7} {'peak':>5} {'ours/torch':>10} {'(min)':>6}"
    lines += ["", head]
    for r in result["workloads"]:
        line = (
            f"{r['workload']:<10} {r['batch']:>5} {r['ms_per_step']:>9.2f} {r['min_ms']:>7.2f} {r['samples_per_s']:>10.0f}"
            f" {r['gflop_per_step']:>6.2f} {r['gemm_peak_fraction']:>5.0%}"
            f" {r['tracemalloc_peak_mb']:>9.1f} MB {r['max_rss_mb']:>6.0f} MB"
        )
        if torch:
            t = torch["workloads"][r["workload"]]
            line += (
                f" {t['ms_per_step']:>9.2f} {t['min_ms']:>7.2f} {t['gemm_peak_fraction']:>5.0%}"
                f" {r['ratio_vs_torch']:>10.2f} {r['min_ratio_vs_torch']:>6.2f}"
            )
        lines.append(line)
    lines.append("\nproducts alone (the step's matrix products and nothing else; one thread / threads):")
    for r in result["workloads"]:
        line = (
            f"  {r['workload']:<10} {r['products_ms']:7.2f} ms = {r['products_ms'] / r['ms_per_step']:.2f} of our step"
        )
        if torch:
            t = torch["workloads"][r["workload"]]
            line += f", {r['products_ms'] / t['ms_per_step']:.2f} of PyTorch's"
        lines.append(line)
    lines.append("\nfeature maps of one image (every layer's output):")
    for r in result["workloads"]:
        fm = r["feature_maps"]
        line = f"  {r['workload']:<10} {fm['maps']:>3} maps: median {fm['median_ms']:.3f} ms, p95 {fm['p95_ms']:.3f} ms"
        if torch:
            tf = torch["workloads"][r["workload"]]["feature_maps"]
            line += (
                f"; torch median {tf['median_ms']:.3f} ms, p95 {tf['p95_ms']:.3f} ms"
                f" (ours/torch {fm['median_ms'] / tf['median_ms']:.2f})"
            )
        lines.append(line)
    if torch:
        lines.append(f"torch {torch['version']}, {torch['threads']} threads")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    threads, note = set_threads(args.threads)
    if args.compare == "torch" and not _torch_available():
        print("--compare torch: PyTorch is not installed (pip install torch); nothing was run.", file=sys.stderr)
        return 2

    import numpy as np  # after the thread variables are set

    chosen = [w for w in WORKLOADS if w[0] in args.workloads]
    result = {
        "threads": threads,
        "numpy": np.__version__,
        "steps": args.steps,
        "warmup": args.warmup,
        "env": {k: os.environ.get(k) for k in THREAD_VARS + ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")},
        "note": note,
        "workloads": [],
    }
    memory = {name: memory_ours(preset, batch) for name, preset, batch in chosen}  # before torch is imported
    result["gemm_peak_gflops"] = gemm_peak_gflops()  # after: its arrays would count in the max RSS
    peak = result["gemm_peak_gflops"] * threads
    torch = None
    if args.compare == "torch":
        try:
            import torch
        except ImportError:
            print("--compare torch: PyTorch could not be imported.", file=sys.stderr)
            return 2
        torch.set_num_threads(threads)
        result["torch"] = {"version": torch.__version__, "threads": torch.get_num_threads(), "workloads": {}}
    for name, preset, batch in chosen:
        net, ours = _our_step(preset, batch)
        products = products_step(preset, batch)
        steps = {"ours": ours, "products": products}
        if torch is not None:
            steps["torch"] = _torch_step(torch, preset, batch)
        times = time_steps(steps, args.warmup + 1, args.steps)
        flops = train_flops(preset, batch)
        row = {
            "workload": name,
            "batch": batch,
            "input": list(net.input_shape),
            "gflop_per_step": flops / 1e9,
            **_summary(times["ours"], batch, flops, peak),
            **memory[name],
            "feature_maps": bench_feature_maps(preset, args.feature_runs),
            "products_ms": statistics.median(times["products"]) / threads,
            "products_gflop": products.flops / 1e9,
        }
        if torch is not None:
            result["torch"]["workloads"][name] = {
                **_summary(times["torch"], batch, flops, peak),
                "feature_maps": torch_feature_maps(torch, preset, args.feature_runs),
            }
            theirs = result["torch"]["workloads"][name]
            row["ratio_vs_torch"] = row["ms_per_step"] / theirs["ms_per_step"]
            row["min_ratio_vs_torch"] = row["min_ms"] / theirs["min_ms"]  # best against best: least noise
        result["workloads"].append(row)
    print(json.dumps(result, indent=2) if args.json else _table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
