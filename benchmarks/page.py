"""The page's speed in Chromium against a live server on loopback.

    python benchmarks/page.py [--loads 5] [--rounds 5] [--width 1366 --height 800]

Starts `cnn-playground serve --offline` on a free loopback port with a fresh data directory
(as tests/e2e/conftest.py does) and opens the page in Debian's Chromium (/usr/bin/chromium,
or $CHROMIUM) with Playwright, each load in a fresh browser context (no cache, no storage:
a first-time student's cold open). It prints:

- first paint and first contentful paint (the PerformanceObserver's 'paint' entries);
- time to interactive: when main.js has wired every view and rendered the first one
  (it sets window.playground last), and when the Build view shows its parameter count
  (its first answer from the server);
- for every tab, the time a switch takes to render: from the click to the end of the
  page's own work (synchronous) and to the next frame painted, median and range over
  several rounds, the first visit of each view apart (it may fetch what it shows);
- errors in the browser console, and controls without a label, view by view.

Targets: first paint under 1 s on loopback, a tab switch under 100 ms. Prints figures;
asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the server is started as the end-to-end tests start it

from tests.e2e.conftest import start_server  # noqa: E402 (after the path to the checkout)

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
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
# in the order visited: the page opens on build, so build comes last
TABS = ["data", "train", "inspect", "conv", "init", "learn", "build"]

# when main.js has wired the page: it sets window.playground last
MARK_INTERACTIVE = """
Object.defineProperty(window, "playground", { configurable: true,
  get() { return this.__playground; },
  set(v) { this.__interactive = performance.now(); this.__playground = v; } });
"""

# one switch: click the tab, time the page's own work, then the next frame painted
SWITCH = """async (name) => {
  const tab = document.querySelector(`[data-tab="${name}"]`);
  const t0 = performance.now();
  tab.click();
  const work = performance.now() - t0;
  await new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)));
  return { work, frame: performance.now() - t0 };
}"""

UNLABELLED = """() => [...document.querySelectorAll(
    '[data-view]:not([hidden]) :is(input, select, textarea, button)')]
  .filter((c) => c.offsetParent !== null && c.type !== 'hidden')
  .filter((c) => {
    if (c.getAttribute('aria-label') || c.getAttribute('aria-labelledby') || c.title) return false;
    if (c.tagName === 'BUTTON') return !c.textContent.trim();
    return !(c.labels && c.labels.length);
  }).length"""


def ms(values) -> str:
    if not values:
        return "–"
    return (
        f"median {statistics.median(values):6.1f} ms  range {min(values):6.1f}–{max(values):6.1f} ms  (n={len(values)})"
    )


def cold_load(browser, url: str, viewport: dict, errors: list) -> dict:
    context = browser.new_context(viewport=viewport)
    context.add_init_script(MARK_INTERACTIVE)
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_function("window.__interactive !== undefined", timeout=60_000)
    page.wait_for_function(
        "/\\d/.test(document.querySelector('[data-total-params]')?.textContent || '')",
        timeout=60_000,
    )
    built = page.evaluate("performance.now()")  # polled: within a frame of the count showing
    paint = page.evaluate("""() => new Promise((done) => {
      new PerformanceObserver((list, observer) => {
        observer.disconnect();
        const entries = performance.getEntriesByType('paint');
        done(Object.fromEntries(entries.map((e) => [e.name, e.startTime])));
      }).observe({ type: 'paint', buffered: true });
    })""")
    out = {
        "first-paint": paint.get("first-paint"),
        "fcp": paint.get("first-contentful-paint"),
        "interactive": page.evaluate("window.__interactive"),
        "built": built,
    }
    context.close()
    return out


def switches(browser, url: str, viewport: dict, rounds: int, errors: list) -> tuple[dict, dict, dict]:
    context = browser.new_context(viewport=viewport)
    context.add_init_script("localStorage.setItem('cnn-playground.welcomed', '1')")
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_function("window.playground !== undefined", timeout=60_000)
    first, later = {}, {t: {"work": [], "frame": []} for t in TABS}
    unlabelled = {}
    for r in range(rounds + 1):
        for name in TABS:
            t = page.evaluate(SWITCH, name)
            if r == 0:
                first[name] = t
                page.wait_for_timeout(1500)  # let a first visit's requests settle
                unlabelled[name] = page.evaluate(UNLABELLED)
            else:
                later[name]["work"].append(t["work"])
                later[name]["frame"].append(t["frame"])
                page.wait_for_timeout(100)
    context.close()
    return first, later, unlabelled


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--loads", type=int, default=5, help="cold loads of the page")
    p.add_argument("--rounds", type=int, default=5, help="rounds through every tab, after a first one")
    p.add_argument("--width", type=int, default=1366)
    p.add_argument("--height", type=int, default=800)
    args = p.parse_args()
    from playwright.sync_api import sync_playwright

    chromium = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    viewport = {"width": args.width, "height": args.height}
    print(f"cores: {os.cpu_count()}, load average: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"viewport: {args.width}x{args.height}, browser: {chromium}")
    errors: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp) / "data", "--offline")
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium, args=ARGS)
                print(f"browser: Chromium {browser.version}")
                cold_load(browser, server.url, viewport, errors)  # warms the server's caches
                loads = [cold_load(browser, server.url, viewport, errors) for _ in range(args.loads)]
                print(f"\ncold open, {args.loads} loads (a fresh context each: no cache, no storage)")
                for key, what in (
                    ("first-paint", "first paint"),
                    ("fcp", "first contentful paint"),
                    ("interactive", "interactive (every view wired)"),
                    ("built", "Build view's parameter count shown"),
                ):
                    print(f"  {what:<36} {ms([v[key] for v in loads if v[key] is not None])}")
                first, later, unlabelled = switches(browser, server.url, viewport, args.rounds, errors)
                browser.close()
        finally:
            server.stop()
    print(f"\ntab switches ({args.rounds} rounds): from the click to the end of the page's work,")
    print("and to the next frame painted")
    for name in TABS:
        f = first[name]
        print(
            f"  {name:<8} first visit {f['work']:6.1f} / {f['frame']:6.1f} ms;  after: work {ms(later[name]['work'])}"
        )
        print(f"  {'':<8} {'':<32}frame {ms(later[name]['frame'])}")
    every = [v for t in TABS for v in later[t]["frame"]]
    print(f"  all views, to the next frame: {ms(every)}")
    print(
        f"\ncontrols without a label: {sum(unlabelled.values())} "
        f"({', '.join(f'{k} {v}' for k, v in unlabelled.items())})"
    )
    print(f"console errors: {len(errors)}")
    for e in errors[:10]:
        print(f"  {e[:200]}")


if __name__ == "__main__":
    main()
