"""The Build view in Chromium: no stale numbers on a layer in error, and layers named as
people name them."""

import base64
import json
import re

from tests.browser.conftest import SHOTS, Page

PARAMS = {"lenet5": "61,706", "vgg16": "138,357,544", "googlenet": "6,998,552",
          "resnet8": "78,170"}
LECTURE_SPEC = {"input": [3, 32, 32], "layers": [
    {"type": "conv2d", "out_channels": 20, "kernel_size": 5, "padding": 1, "stride": 2}]}


def hash_of(shared: dict) -> str:
    """The page's address for a setup, as store.js writes it."""
    raw = base64.urlsafe_b64encode(json.dumps(shared).encode()).decode().rstrip("=")
    return "#s=" + raw


def screen_shot(p: Page, name: str):
    """What the window shows."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    p.page.screenshot(path=str(SHOTS / f"{name}.png"))


def open_preset(p: Page, preset: str):
    p.open()
    p.tab("build")
    p.page.wait_for_selector(f"[data-preset-select] option[value={preset}]", state="attached")
    if p.page.input_value("[data-preset-select]") == preset:  # already on show: go through another
        p.page.select_option("[data-preset-select]", "tinyvgg")
        p.page.wait_for_function(
            "document.querySelector('[data-total-params]').textContent.includes('19,920')")
    p.page.select_option("[data-preset-select]", preset)
    p.page.wait_for_function(
        f"document.querySelector('[data-total-params]').textContent.includes('{PARAMS[preset]}')")


def test_a_layer_in_error_shows_no_stale_numbers(page):
    page.open(hash_of({"view": "build", "spec": LECTURE_SPEC, "preset": None}))
    card = '[data-layer-path="layers[0]"]'
    page.page.wait_for_function(
        f"document.querySelector('{card} [data-layer-shape]')?.textContent === '20×15×15'")
    page.page.locator(f'{card} [data-field="kernel_size"]').first.fill("40")
    page.page.locator(f"{card} [data-layer-error]").first.wait_for(state="visible")
    assert "kernel_size 40" in page.page.text_content(f"{card} [data-layer-error]")
    numbers = page.page.evaluate(f"""() => {{
        const card = document.querySelector('{card}');
        const shown = (sel) => [...card.querySelectorAll(sel)]
          .filter((e) => e.offsetParent !== null).map((e) => e.textContent.trim()).join(' ');
        return {{ shape: shown('[data-layer-shape]'), formula: shown('[data-layer-formula]'),
                 params: shown('[data-layer-params]'), rf: shown('[data-layer-rf]'),
                 warning: shown('[data-layer-warning]') }};
    }}""")
    assert not re.search(r"\d", numbers["shape"]), numbers
    assert not numbers["formula"] and not numbers["rf"] and not numbers["warning"], numbers
    assert "1,520" not in numbers["params"], numbers
    screen_shot(page, "build-error-no-stale-numbers")
    page.page.locator(f'{card} [data-field="kernel_size"]').first.fill("5")
    page.page.wait_for_function(
        f"document.querySelector('{card} [data-layer-shape]')?.textContent === '20×15×15'")


def test_layers_are_named_for_people_with_the_path_as_a_tooltip(page):
    open_preset(page, "googlenet")
    text = page.page.inner_text("[data-view=build]")
    assert not re.search(r"[a-z_]+\[\d+\]", text), re.findall(r".{30}[a-z_]+\[\d+\].{10}", text)[:3]
    labels = {path: page.page.get_attribute(f'[data-layer-path="{path}"]', "aria-label")
              for path in ("layers[0]", "layers[1]", "layers[8].branches[1][2]")}
    assert labels == {"layers[0]": "conv1", "layers[1]": "layer 2: relu",
                      "layers[8].branches[1][2]": "inception3a, branch 2: 3x3"}
    index = page.page.locator('[data-layer-path="layers[1]"] [data-layer-index]').first
    assert "layers[1]" in index.get_attribute("title")
