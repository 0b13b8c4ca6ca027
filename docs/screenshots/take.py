"""Takes the README's screenshots of the Train, Data and Initialization views at 1366x800.

    python docs/screenshots/take.py

Starts a server on a fresh data directory, drives the page in Debian's Chromium
(/usr/bin/chromium) and writes train.png, data.png and initialization.png here. The
Learn, Build, Inspect and Convolution screenshots come from their browser tests.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser.conftest import ARGS, CHROMIUM  # noqa: E402
from tests.e2e.conftest import running_server  # noqa: E402

HERE = Path(__file__).resolve().parent
WELCOMED = "localStorage.setItem('cnn-playground.welcomed', '1')"


def train(page) -> None:
    """Two runs of LeNet-5 on strokes that differ in their learning rate, overlaid."""
    page.click("[data-tab=train]")
    for lr in ("0.05", "0.01"):
        page.wait_for_selector('[data-hyper="lr"]')
        page.fill('[data-hyper="lr"]', lr)
        page.fill('[data-hyper="epochs"]', "3")
        page.fill('[data-hyper="max_train"]', "2000")
        before = page.evaluate("(window.playground.store.state.activeRun || {}).id || null")
        page.click("[data-action=start-run]")
        page.wait_for_function(
            """(before) => { const r = window.playground.store.state.activeRun;
                                  return r && r.id !== before && r.status === 'completed'; }""",
            arg=before,
            timeout=300_000,
        )
    page.wait_for_timeout(500)
    page.screenshot(path=str(HERE / "train.png"))


def data(page) -> None:
    """A colour dataset with one image's channels apart."""
    page.click("[data-tab=data]")
    page.select_option("[data-dataset-select]", "shapes")
    page.click("[data-action=use-recommended-preset]")
    page.locator("[data-dataset-fit]").wait_for(state="hidden")
    page.wait_for_function("document.querySelector('[data-view=data]').textContent.includes('red, green')")
    page.wait_for_timeout(1000)  # the sample images are decoded
    page.screenshot(path=str(HERE / "data.png"))


def initialization(page) -> None:
    page.click("[data-tab=init]")
    page.wait_for_selector('[data-init="xavier_uniform"] [data-init-verdict]', timeout=120_000)
    page.wait_for_timeout(500)
    page.screenshot(path=str(HERE / "initialization.png"))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp) / "data") as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1366, "height": 800})
        context.add_init_script(WELCOMED)
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(server.url + "/")
        page.wait_for_selector("[data-view]:not([hidden])")
        for take in (train, initialization, data):  # data last: it picks shapes, which LeNet-5 does not take
            take(page)
            print(f"wrote {take.__name__}")
        browser.close()


if __name__ == "__main__":
    main()
