"""`cnn-playground bench`: runs its workloads and reports them, in a process of its own
(so that --threads is set before NumPy loads, as for a user)."""

import json
import subprocess
import sys


def _bench(*args):
    return subprocess.run(
        [sys.executable, "-m", "app.bench", *args], check=False, capture_output=True, text=True, timeout=300
    )


def test_bench_reports_steps_memory_and_feature_maps():
    out = _bench(
        "--steps", "2", "--warmup", "0", "--feature-runs", "3", "--workloads", "lenet5", "--threads", "2", "--json"
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["threads"] == 2
    assert result["env"]["OPENBLAS_NUM_THREADS"] == "1"  # the engine's threads, with one BLAS thread under them
    (row,) = result["workloads"]
    assert row["workload"] == "lenet5" and row["batch"] == 64 and row["input"] == [1, 28, 28]
    assert 0 < row["min_ms"] <= row["ms_per_step"]
    assert row["samples_per_s"] == 64 * 1000 / row["ms_per_step"]
    assert 0 < row["tracemalloc_peak_mb"] < 300 and row["max_rss_mb"] > 0
    assert row["feature_maps"]["maps"] == 13 and row["feature_maps"]["median_ms"] > 0
    # lenet5 at 64: 2 x 64 x (117,600 x 2 (no dL/dx for the first layer) + 298,920 x 3) flops
    assert row["gflop_per_step"] * 1e9 == 2 * 64 * (117600 * 2 + 298920 * 3)
    assert result["gemm_peak_gflops"] > 0 and row["gemm_peak_fraction"] > 0
    # the products timed alone are the step's own: the same floating-point work
    assert row["products_gflop"] == row["gflop_per_step"] and row["products_ms"] > 0
    assert "torch" not in result


def test_bench_refuses_bad_arguments_with_a_sentence():
    out = _bench("--threads", "0")
    assert out.returncode == 2 and "--threads must be at least 1" in out.stderr
    out = _bench("--workloads", "alexnet")
    assert out.returncode == 2 and "unknown workload" in out.stderr
