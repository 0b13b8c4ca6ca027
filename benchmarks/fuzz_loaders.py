"""Fuzz the loaders that read what users upload, for a bounded time.

Targets (each gets bytes and must either succeed or raise the clean error its caller catches;
anything else would be a 500, a hang or a crash of the server):

    npz         engine.data.load_npz (read_npz_arrays) on the bytes written to a temp file -> DatasetError
    idx         engine.data.read_idx on the bytes written to a temp file (plain or gzip)   -> DatasetError
    zip         app.imagefolder.load_image_folder_zip on the bytes                        -> DatasetError
    image       app.services.inspect.decode_image, what POST .../predict/image runs        -> app.errors.AppError
    checkpoint  engine.load_checkpoint, what POST /api/networks/import runs                -> CheckpointError
                (with the server's check of the spec, which raises AppError)

Usage:

    python benchmarks/fuzz_loaders.py                       # every target, 60 s in all
    python benchmarks/fuzz_loaders.py --seconds 300 --target npz
    python benchmarks/fuzz_loaders.py --engine mutate       # no atheris: a seeded mutation loop

With atheris (coverage-guided, libFuzzer) installed, it is used: `pip install atheris` (a wheel
for CPython on Linux x86-64; it is not a dependency of the project). Without it, or with
--engine mutate, a plain mutation loop over the seed inputs runs instead (byte flips, interesting
integers, splices, and zip-aware mutations that rewrite a member and fix its CRC, so the .npy
headers and images inside archives are reached).

Every unexpected exception is printed once per (type, place) and its input saved under --out
(default benchmarks/fuzz-findings/); an input slower than --slow seconds is reported too. The
process limits its address space (--memory-mb) so that an allocation taken from a declared size
shows up as a MemoryError finding instead of exhausting the machine. Exit status: 1 if anything
was found, else 0.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import os
import random
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
import zipfile
import zlib
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGETS = ("npz", "idx", "zip", "image", "checkpoint")
LIMIT = 16 * 2**20  # byte limits given to the loaders: big enough for every seed, small enough to fuzz fast


# --------------------------------------------------------------------------------------- seeds


def _npz(compressed=False, **arrays) -> bytes:
    import numpy as np

    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


def _png(mode="RGB", size=(9, 7), fmt="PNG", **kw) -> bytes:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(sum(map(ord, mode)) + size[0])
    if mode in ("I;16",):
        img = Image.fromarray(rng.integers(0, 65535, size[::-1], dtype=np.uint16))
    else:
        img = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).convert(mode)
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _zip(members, compression=zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in members:
            z.writestr(name, data)
    return buf.getvalue()


def seeds(target: str) -> list[bytes]:
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (12, 6, 5), dtype=np.uint8)
    y = np.arange(12) % 3
    if target == "npz":
        return [
            _npz(x=x, y=y),
            _npz(True, x=x, y=y, class_names=np.array(["a", "b", "c"])),
            _npz(x=x[:, None] / 255.0, y=y.astype(np.float32), x_test=x[:3, None] / 255.0, y_test=y[:3]),
            _npz(x=np.asfortranarray(rng.integers(0, 256, (6, 4, 4, 3), dtype=np.uint8)), y=y[:6]),
            _npz(x=x.astype(">f4"), y=y.astype(">i2")),
        ]
    if target == "idx":
        from engine.data.idx import write_idx

        out = []
        with tempfile.TemporaryDirectory() as d:
            for name, arr in (
                ("a-images-idx3-ubyte", x),
                ("b-labels-idx1-ubyte.gz", y.astype(np.uint8)),
                ("c-idx", rng.standard_normal((3, 4)).astype(np.float32)),
                ("d-idx.gz", rng.integers(-5, 5, (2, 3, 2, 2)).astype(np.int16)),
            ):
                p = Path(d) / name
                write_idx(p, arr)
                out.append(p.read_bytes())
        return out
    if target == "zip":
        imgs = [
            ("cats/a.png", _png("RGB")),
            ("cats/b.jpg", _png("RGB", fmt="JPEG")),
            ("dogs/c.png", _png("L")),
            ("dogs/d.png", _png("RGBA")),
            ("dogs/e.png", _png("P")),
            ("cats/f.png", _png("I;16")),
        ]
        return [
            _zip(imgs[:3]),
            _zip(imgs, zipfile.ZIP_DEFLATED),
            _zip([("data/" + n, d) for n, d in imgs[:4]]),
            _zip([("__MACOSX/._x", b"junk"), (".DS_Store", b"x")] + imgs[2:]),
        ]
    if target == "image":
        return [
            _png("RGB"),
            _png("L"),
            _png("RGBA"),
            _png("P"),
            _png("LA"),
            _png("I;16"),
            _png("1"),
            _png("RGB", fmt="JPEG"),
            _png("L", fmt="JPEG"),
            _png("CMYK", fmt="JPEG"),
            _png("RGB", fmt="JPEG", progressive=True),
            _png("RGB", size=(30, 2), fmt="PNG", optimize=True),
        ]
    if target == "checkpoint":
        import engine
        from engine.io import to_bytes

        small = {
            "input": [1, 6, 6],
            "layers": [
                {"type": "conv2d", "out_channels": 2, "kernel_size": 3},
                {"type": "batchnorm2d"},
                {"type": "relu"},
                {"type": "flatten"},
                {"type": "linear", "out_features": 3},
            ],
        }
        net = engine.build_network(small, seed=1)
        opt = engine.make_optimizer("adam", net.parameters(), lr=0.01)
        xb = rng.standard_normal((2, 1, 6, 6)).astype(np.float32)
        net.loss_and_backward(xb, np.array([0, 2]))
        opt.step()
        tiny = engine.build_network({"input": [4], "layers": [{"type": "linear", "out_features": 2}]})
        return [to_bytes(net), to_bytes(net, opt, {"name": "x"}), to_bytes(tiny)]
    raise ValueError(target)


# ------------------------------------------------------------------------------------- targets


class Target:
    """Feeds bytes to one loader; `expected` are the exception types its caller turns into 4xx."""

    def __init__(self, name: str, workdir: Path):
        self.name = name
        self.workdir = workdir
        from app.errors import AppError
        from engine.data import DatasetError
        from engine.errors import CheckpointError

        self.expected: tuple[type[BaseException], ...] = {
            "npz": (DatasetError,),
            "idx": (DatasetError,),
            "zip": (DatasetError,),
            "image": (AppError,),
            "checkpoint": (CheckpointError, AppError),
        }[name]
        if name == "image":
            import engine

            self.nets = [engine.build_network({"input": [c, 8, 8], "layers": [{"type": "flatten"}]}) for c in (1, 3)]
        if name == "checkpoint":
            from app.services.networks import NetworkService
            from app.settings import Settings

            self.service = NetworkService(
                Settings(data_dir=workdir, max_params=200_000, max_request_activation_bytes=LIMIT), None, None
            )

    def _file(self, data: bytes, suffix: str) -> Path:
        p = self.workdir / f"input{suffix}"
        p.write_bytes(data)
        return p

    def __call__(self, data: bytes) -> None:
        import numpy as np

        if self.name == "npz":
            from engine.data import load_npz

            ds = load_npz(self._file(data, ".npz"), max_bytes=LIMIT)
            assert ds.x_train.dtype == np.uint8 and ds.x_train.ndim == 4, "x is not uint8 NCHW"
            for ys in (ds.y_train, ds.y_test):
                assert ys.size == 0 or 0 <= ys.min() <= ys.max() < len(ds.class_names), "a label outside the classes"
        elif self.name == "idx":
            from engine.data.idx import read_idx

            a = read_idx(self._file(data, "-idx"), max_bytes=LIMIT)
            assert a.nbytes <= LIMIT
        elif self.name == "zip":
            from app.imagefolder import load_image_folder_zip

            ds = load_image_folder_zip(data, max_total_bytes=LIMIT, max_member_bytes=LIMIT // 4, max_files=200)
            assert ds.x_train.dtype == np.uint8 and len(ds.class_names) >= 2
        elif self.name == "image":
            from app.services.inspect import decode_image

            for net in self.nets:
                a = decode_image(data, net, LIMIT)
                assert a.shape == net.input_shape and np.isfinite(a).all() and a.min() >= 0 and a.max() <= 255
        elif self.name == "checkpoint":
            import engine

            svc = self.service
            net = engine.load_checkpoint(
                data, check=lambda spec: svc.check_buildable(svc.check_spec(spec)), max_bytes=LIMIT
            )[0]
            assert all(np.isfinite(p).all() for p in net.state_dict().values()), "non-finite weights loaded"


# ------------------------------------------------------------------------------------ findings


class Findings:
    def __init__(self, out: Path, target: str, slow: float):
        self.out, self.target, self.slow = out, target, slow
        self.seen: dict[str, int] = {}
        self.runs = 0

    def check(self, fn: Target, data: bytes) -> None:
        self.runs += 1
        t = time.monotonic()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fn(data)
        except fn.expected as e:
            if not str(e).strip():
                self.report("empty-message", e, data)
        except Exception as e:  # every other exception (MemoryError, RecursionError too) is a finding
            self.report(type(e).__name__, e, data)
        elapsed = time.monotonic() - t
        if elapsed > self.slow:
            self.report("slow", TimeoutError(f"{elapsed:.1f} s for {len(data):,} bytes"), data)

    def report(self, kind: str, exc: BaseException, data: bytes) -> None:
        tb = traceback.extract_tb(exc.__traceback__)
        ours = [f for f in tb if "/engine/" in f.filename or "/app/" in f.filename] or tb[-1:] or []
        where = f"{Path(ours[-1].filename).name}:{ours[-1].lineno}" if ours else "?"
        key = f"{kind}@{where}"
        self.seen[key] = self.seen.get(key, 0) + 1
        if self.seen[key] > 1:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        path = self.out / f"{self.target}-{kind}-{hashlib.sha1(data).hexdigest()[:12]}.bin"
        path.write_bytes(data)
        print(
            f"[{self.target}] FOUND {key}: {type(exc).__name__}: {str(exc)[:300]}\n    input saved as {path}",
            flush=True,
        )
        if kind not in ("slow", "empty-message"):
            print("    " + "".join(traceback.format_exception(exc)[-6:]).replace("\n", "\n    "), flush=True)


# ------------------------------------------------------------------------------------ mutation

INTERESTING = [0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0xFFFF, 0x10000, 0x7FFFFFFF, 0xFFFFFFFF, 2**40, 2**63 - 1]
TOKENS = [
    b"'descr': '|O'",
    b"'shape': (65536, 65536)",
    b"'fortran_order': True",
    b"<f8",
    b"|u1",
    b"<U5",
    b"|V8",
    b"(18446744073709551616,)",
    b"(-1,)",
    b"\x93NUMPY\x02\x00",
    b"\x93NUMPY\x01\x00",
    b"PK\x03\x04",
    b"IHDR",
    b"IDAT",
    b"\xff\xd8\xff\xdb",
    b"\x00\x00\x08\x03",
    b"\x00\x00\x0e\x04",
    b"../",
    b"\\",
    b"/",
    b"__spec__",
    b"w:layers[0].W",
    b'"input": [1, 65536, 65536]',
    b'{"format": "cnn-playground/1", "seed": -1}',
]


def mutate_bytes(data: bytes, rnd: random.Random, pool: list[bytes], max_size: int) -> bytes:
    b = bytearray(data)
    for _ in range(rnd.choice((1, 1, 2, 4, 8))):
        op = rnd.randrange(8)
        pos = rnd.randrange(len(b) + 1)
        if op == 0 and b:
            b[min(pos, len(b) - 1)] ^= 1 << rnd.randrange(8)
        elif op == 1 and b:
            b[min(pos, len(b) - 1)] = rnd.randrange(256)
        elif op == 2:
            v = rnd.choice(INTERESTING)
            fmt = rnd.choice(("<H", ">H", "<I", ">I", "<Q", ">Q"))
            v &= (1 << (8 * struct.calcsize(fmt))) - 1
            b[pos : pos + struct.calcsize(fmt)] = struct.pack(fmt, v)
        elif op == 3:
            del b[pos : pos + rnd.randrange(1, 64)]
        elif op == 4:
            b[pos:pos] = rnd.choice(TOKENS)
        elif op == 5 and len(b) > 1:
            a = rnd.randrange(len(b))
            b[pos:pos] = b[a : a + rnd.randrange(1, 128)]
        elif op == 6:
            other = rnd.choice(pool)
            a = rnd.randrange(len(other) + 1)
            b[pos:] = other[a:]
        else:
            b = b[:pos]
    return bytes(b[:max_size])


def mutate_zip(data: bytes, rnd: random.Random, pool: list[bytes], max_size: int) -> bytes | None:
    """Rewrite a valid zip with one member mutated (CRC fixed) or renamed, so the checks inside are reached."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            members = [(i, z.read(i)) for i in z.infolist()]
    except Exception:  # not a zip (any more): no zip-aware mutation
        return None
    if not members:
        return None
    k = rnd.randrange(len(members))
    info, content = members[k]
    choice = rnd.randrange(4)
    name = info.filename
    if choice == 0:
        name = rnd.choice(
            ["../x.npy", "/abs.png", "a/b/c/d.png", "x.npy", "y.npy", "cats/x.gif", name + "/", name, "C:\\x"]
        )
    elif choice == 1:
        members.append(members[k])
    else:
        content = mutate_bytes(content, rnd, [m[1] for m in members], max_size)
    members[k] = (name, content)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(buf, "w", rnd.choice((zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED))) as z:
            for m, c in members:
                z.writestr(m if isinstance(m, str) else m.filename, c)
    return buf.getvalue()[:max_size]


def mutate(data: bytes, rnd: random.Random, pool: list[bytes], max_size: int) -> bytes:
    if data[:2] == b"PK" and rnd.random() < 0.6:
        out = mutate_zip(data, rnd, pool, max_size)
        if out is not None:
            return out
    if rnd.random() < 0.1 and data[:2] == b"\x1f\x8b":
        try:
            return gzip.compress(mutate_bytes(gzip.decompress(data), rnd, pool, max_size))
        except (OSError, EOFError, zlib.error):  # not gzip (any more): mutate the bytes themselves
            return mutate_bytes(data, rnd, pool, max_size)
    return mutate_bytes(data, rnd, pool, max_size)


def run_mutation_loop(target: Target, findings: Findings, seconds: float, seed: int, max_size: int) -> None:
    rnd = random.Random(seed)
    pool = seeds(target.name)
    corpus = list(pool)
    for s in pool:
        findings.check(target, s)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        data = mutate(rnd.choice(corpus), rnd, corpus, max_size)
        findings.check(target, data)
        if rnd.random() < 0.02 and len(corpus) < 500:
            corpus.append(data)  # keep some mutants: stacked mutations go deeper


# ------------------------------------------------------------------------------------- atheris


def run_atheris(target: Target, findings: Findings, seconds: float, seed: int, max_size: int, workdir: Path) -> None:
    import atheris

    corpus = workdir / "corpus"
    corpus.mkdir(exist_ok=True)
    for i, s in enumerate(seeds(target.name)):
        (corpus / f"seed{i}").write_bytes(s)
    rnd = random.Random(seed)
    started = time.monotonic()

    def one(data: bytes) -> None:
        findings.check(target, data)
        if time.monotonic() - started > seconds:  # libFuzzer's own exit would skip the summary
            summary(target.name, findings, time.monotonic() - started)
            shutil.rmtree(workdir, ignore_errors=True)
            os._exit(1 if findings.seen else 0)

    def custom_mutator(data: bytes, max_size_: int, seed_: int) -> bytes:
        rnd.seed(seed_)
        if data[:2] == b"PK" and rnd.random() < 0.5:
            out = mutate_zip(data, rnd, [data], max_size_)
            if out is not None:
                return out
        return atheris.Mutate(data, max_size_)

    argv = [
        sys.argv[0],
        f"-max_total_time={int(seconds) + 30}",
        f"-max_len={max_size}",
        f"-seed={seed}",
        "-rss_limit_mb=0",
        "-print_final_stats=1",
        str(corpus),
    ]
    atheris.Setup(argv, one, custom_mutator=custom_mutator)
    try:
        atheris.Fuzz()
    except SystemExit:
        pass


# ---------------------------------------------------------------------------------------- main


def fuzz_one(args) -> int:
    try:
        soft = args.memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (soft, resource.getrlimit(resource.RLIMIT_AS)[1]))
    except (ValueError, OSError):
        pass
    engine_ = args.engine
    if engine_ in ("auto", "atheris"):
        try:
            import atheris
        except ImportError:
            if engine_ == "atheris":
                print("atheris is not installed: pip install atheris (or use --engine mutate)", file=sys.stderr)
                return 2
            engine_ = "mutate"
        else:
            engine_ = "atheris"
            with atheris.instrument_imports(include=["engine", "app"]):
                # the modules under test, imported here so that their code is instrumented for coverage
                import app.imagefolder
                import app.services.inspect
                import engine.data
                import engine.io

                del app, engine
    with tempfile.TemporaryDirectory(prefix="fuzz-") as d:
        workdir = Path(d)
        target = Target(args.target, workdir)
        findings = Findings(Path(args.out), args.target, args.slow)
        t = time.monotonic()
        print(f"[{args.target}] fuzzing with {engine_} for {args.seconds:g} s", flush=True)
        if engine_ == "atheris":
            run_atheris(target, findings, args.seconds, args.seed, args.max_size, workdir)
        else:
            run_mutation_loop(target, findings, args.seconds, args.seed, args.max_size)
        summary(args.target, findings, time.monotonic() - t)
        return 1 if findings.seen else 0


def summary(name: str, findings: Findings, elapsed: float) -> None:
    kinds = ", ".join(f"{k} x{n}" for k, n in findings.seen.items()) or "nothing"
    print(f"[{name}] {findings.runs:,} inputs in {elapsed:.0f} s; found: {kinds}", flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--target", default="all", choices=("all",) + TARGETS)
    p.add_argument("--seconds", type=float, default=60.0, help="time budget in all (split between targets)")
    p.add_argument("--engine", default="auto", choices=("auto", "atheris", "mutate"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-size", type=int, default=64 * 1024, help="largest input tried, in bytes")
    p.add_argument("--slow", type=float, default=5.0, help="report an input taking longer than this (s)")
    p.add_argument("--memory-mb", type=int, default=4096, help="address-space limit of each fuzzing process")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "fuzz-findings"))
    args = p.parse_args(argv)
    if args.target != "all":
        return fuzz_one(args)
    status = 0
    share = args.seconds / len(TARGETS)
    for name in TARGETS:  # one process each: atheris runs one target per process and exits at the end
        cmd = [
            sys.executable,
            __file__,
            "--target",
            name,
            "--seconds",
            str(share),
            "--engine",
            args.engine,
            "--seed",
            str(args.seed),
            "--max-size",
            str(args.max_size),
            "--slow",
            str(args.slow),
            "--memory-mb",
            str(args.memory_mb),
            "--out",
            args.out,
        ]
        status |= subprocess.run(cmd, timeout=share * 3 + 120, check=False).returncode
    return 1 if status else 0


if __name__ == "__main__":
    sys.exit(main())
