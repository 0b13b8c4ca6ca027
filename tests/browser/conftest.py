"""The page in a real Chromium (Debian's, at /usr/bin/chromium) against a real server.

Outside CI a missing browser or Playwright skips these tests with a message
saying how to install them; in CI (CI=true) they must run.
"""

import os
import shutil
from pathlib import Path

import pytest

from tests.e2e.conftest import running_server

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed: pip install -e '.[test]'"
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        return "Chromium is not installed: sudo apt-get install chromium (or set CHROMIUM to its path)"
    return None


@pytest.fixture(scope="session")
def browser():
    why = _missing()
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests must run in CI: {why}")
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"), args=ARGS
        )
        yield b
        b.close()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("browser") / "data") as s:
        yield s


class Page:
    """A browser page that records console errors and saves screenshots."""

    def __init__(self, page, base_url):
        self.page = page
        self.base_url = base_url
        self.errors: list[str] = []
        self.expected_statuses: set[int] = set()
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

    def _console(self, message):
        if message.type != "error":
            return
        # Chromium logs every 4xx answer; one the test provoked on purpose is not a page error
        if any(f"status of {s}" in message.text for s in self.expected_statuses):
            return
        self.errors.append(f"console.{message.type}: {message.text}")

    def expect_http_error(self, status: int):
        self.expected_statuses.add(status)

    def open(self, hash_: str = ""):
        self.page.goto(self.base_url + "/" + hash_)
        self.page.wait_for_selector("[data-view]:not([hidden])")

    def tab(self, name: str):
        self.page.click(f"[data-tab={name}]")
        self.page.wait_for_selector(f"[data-view={name}]:not([hidden])")

    def shot(self, name: str):
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    p = Page(context.new_page(), live_server.url)
    p.page.set_default_timeout(30_000)
    yield p
    context.close()
    assert not p.errors, "errors in the browser console:\n" + "\n".join(p.errors)
