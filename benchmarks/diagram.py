"""How fast the Build view draws a famous network's diagram, in Chromium at 1366x800.

    python benchmarks/diagram.py [--repeat 5] [--presets vgg16,googlenet]

Starts `cnn-playground serve` on a free loopback port with a fresh data directory and
drives Debian's Chromium (/usr/bin/chromium, or $CHROMIUM) with Playwright. For each preset,
`--repeat` times (going through tinyvgg in between, so every choice is a change):

- draw: the diagram's own work, its layout and SVG (the page's `build-diagram-draw`
  performance measure, the last one after the choice);
- chosen to drawn: from choosing the preset in the select to the diagram's next painted frame,
  which includes fetching the preset, rebuilding the cards, the server's validation and the draw.

Prints medians and maxima with the machine's core count; asserts nothing. The target for
VGG16 is a diagram drawn under 500 ms.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serverproc import ServerProcess

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

# Chooses a preset and resolves, after the diagram of that preset is painted, with how long
# that took and the diagram's own last draw.
CHOOSE = """async ([name, params]) => {
  const select = document.querySelector('[data-preset-select]');
  const diagram = document.querySelector('[data-build-diagram]');
  performance.clearMeasures('build-diagram-draw');
  const t0 = performance.now();
  const drawn = new Promise((resolve) => {
    const check = () => diagram.dataset.params === params;
    if (check()) return resolve();
    const watch = new MutationObserver(() => { if (check()) { watch.disconnect(); resolve(); } });
    watch.observe(diagram, { attributes: true, attributeFilter: ['data-params'] });
  });
  select.value = name;
  select.dispatchEvent(new Event('change'));
  await drawn;
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const total = performance.now() - t0;
  const draws = performance.getEntriesByName('build-diagram-draw');
  const blocks = diagram.querySelectorAll('[data-block-path]').length;
  return { total, draw: draws.length ? draws[draws.length - 1].duration : null, blocks };
}"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--presets", default="vgg16,googlenet")
    args = p.parse_args()
    from playwright.sync_api import sync_playwright  # a test dependency: pip install -e ".[test]"

    data = Path(tempfile.mkdtemp(prefix="cnn-playground-diagram-"))
    server = ServerProcess(data / "data").start()
    try:
        totals = {}
        for name in args.presets.split(",") + ["tinyvgg"]:
            r = httpx.get(f"{server.url}/api/presets/{name}", timeout=60).json()
            totals[name] = (f"{r['summary']['totals']['params']:,}", len(r["summary"]["layers"]))
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1366, "height": 800})
            page.goto(server.url + "/")
            page.click("[data-tab=build]")
            page.wait_for_selector("[data-preset-select] option[value=vgg16]", state="attached")
            page.wait_for_selector("[data-build-diagram][data-params]")
            print(f"Chromium at 1366x800, {os.cpu_count()} cores (shared), {args.repeat} runs each")
            print(
                f"{'preset':<11} {'layers':>6} {'blocks':>6}  {'draw ms (median, max)':>22}  "
                f"{'chosen to drawn ms (median, max)':>33}"
            )
            for name in args.presets.split(","):
                draws, times, blocks = [], [], 0
                for _ in range(args.repeat):
                    page.evaluate(CHOOSE, ["tinyvgg", totals["tinyvgg"][0]])
                    out = page.evaluate(CHOOSE, [name, totals[name][0]])
                    draws.append(out["draw"])
                    times.append(out["total"])
                    blocks = out["blocks"]
                print(
                    f"{name:<11} {totals[name][1]:>6} {blocks:>6}  "
                    f"{statistics.median(draws):>12.1f}, {max(draws):>7.1f}  "
                    f"{statistics.median(times):>23.1f}, {max(times):>7.1f}"
                )
            browser.close()
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
