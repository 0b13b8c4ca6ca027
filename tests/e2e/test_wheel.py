"""The package as pip installs it: a wheel built from the checkout, installed into a fresh virtual
environment outside it, serves the page, its static files and the API."""

import os
import shutil
import site
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import httpx
import pytest

from app import __version__

from .conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "setup.py", "README.md", "app", "engine", "static", "templates")


def run(*args, cwd=None, env=None):
    out = subprocess.run(
        [str(a) for a in args], check=False, capture_output=True, text=True, timeout=600, cwd=cwd, env=env
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out


@pytest.mark.slow
def test_an_installed_wheel_serves_the_page(tmp_path):
    src = tmp_path / "src"  # a copy: building writes build/ and .egg-info beside the sources
    src.mkdir()
    for name in SOURCES:
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy)(
            ROOT / name,
            src / name,
            **({"ignore": shutil.ignore_patterns("__pycache__")} if (ROOT / name).is_dir() else {}),
        )
    # offline: this interpreter's setuptools builds it, and the venv reuses the installed dependencies
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", tmp_path / "dist", src)
    wheel = next((tmp_path / "dist").glob("cnn_playground-*.whl"))
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    venv_site = Path(
        run(bin_dir / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    )
    # the dependencies from this environment, as a plain path: its .pth files (an editable install of
    # the checkout among them) are not read, so `app` can only come from the wheel
    deps = [sysconfig.get_paths()["purelib"], *site.getsitepackages()]
    (venv_site / "deps.pth").write_text("\n".join(dict.fromkeys(deps)) + "\n")
    run(bin_dir / "python", "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = run(bin_dir / "python", "-c", "import app; print(app.__file__)", cwd=tmp_path, env=env).stdout
    assert where.startswith(str(venv_site)), where
    assert (
        run(bin_dir / "cnn-playground", "--version", cwd=tmp_path, env=env).stdout.strip()
        == f"cnn-playground {__version__}"
    )

    port = free_port()
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                bin_dir / "cnn-playground",
                "serve",
                "--port",
                str(port),
                "--offline",
                "--data-dir",
                tmp_path / "data",
                "--log-level",
                "warning",
            ],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        health = None
        for _ in range(600):
            assert proc.poll() is None, log.read_text()
            try:
                health = httpx.get(f"{url}/api/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert health is not None and health.status_code == 200, log.read_text()
        assert health.json()["version"] == __version__
        page = httpx.get(f"{url}/", timeout=10)
        assert page.status_code == 200 and "<html" in page.text.lower()
        script = httpx.get(f"{url}/static/api.js", timeout=10)
        assert script.status_code == 200 and script.text == (ROOT / "static" / "api.js").read_text()
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
