"""Inspect in Chromium, beyond saliency: "What does this unit look for?" (a grid of images grown
by gradient ascent, one per channel of the chosen layer) and "Can a tiny change fool it?" (the
fast gradient sign method, following an epsilon slider), on a projector and on a phone."""

import time

import httpx
import pytest

from tests.browser.conftest import SHOTS
from tests.browser.test_inspect_overview import network_id, open_inspect

VIEWPORTS = {"1366": {"width": 1366, "height": 800}, "390": {"width": 390, "height": 844}}
FEATURES = "[data-inspect-features]"
SIX_IMAGES = "document.querySelectorAll('[data-features-grid] img').length === 6"
ADVERSARIAL = "[data-inspect-adversarial]"


def trained_inspect(page, server, viewport):
    """The Inspect view on LeNet-5 trained for an epoch on strokes (over REST, then reloaded:
    the page's address names its network)."""
    page.page.set_viewport_size(viewport)
    open_inspect(page)
    id = network_id(page)
    r = httpx.post(
        f"{server.url}/api/networks/{id}/runs",
        timeout=30,
        json={"dataset": "strokes", "epochs": 1, "max_train": 4096, "batch_size": 32},
    )
    assert r.status_code in (200, 201), r.text
    run = r.json()["id"]
    deadline = time.monotonic() + 120
    while httpx.get(f"{server.url}/api/runs/{run}", timeout=30).json()["status"] != "completed":
        assert time.monotonic() < deadline, "the run did not complete"
        time.sleep(0.3)
    page.page.reload()
    page.page.wait_for_selector("[data-weights-state][data-state=trained]", timeout=60_000)
    return id


def summary(page) -> dict:
    return page.page.eval_on_selector("[data-adversarial-summary]", "(p) => ({...p.dataset, text: p.textContent})")


def wait_for_epsilon(page, value: int) -> dict:
    """The panel's answer once it is for epsilon `value` (the slider's requests are debounced)."""
    page.page.wait_for_selector(f'{ADVERSARIAL}:not([aria-busy]) [data-adversarial-summary][data-epsilon="{value}"]')
    return summary(page)


@pytest.mark.parametrize("size", VIEWPORTS)
def test_the_epsilon_slider_changes_the_prediction_once_it_is_large_enough(page, live_server, size):
    trained_inspect(page, live_server, VIEWPORTS[size])
    panel = page.page.locator(ADVERSARIAL)
    panel.scroll_into_view_if_needed()
    slider = page.page.locator("[data-adversarial-epsilon]")
    slider.focus()
    slider.press("Home")
    start = wait_for_epsilon(page, 0)
    assert start["flipped"] == "false" and "Still the same answer" in start["text"]
    before = page.page.get_attribute("[data-adversarial-before] .prob.predicted", "data-class")
    assert start["after"] == before
    assert page.page.text_content("[data-adversarial-epsilon-value]") == "0 of 255"
    original = page.page.get_attribute("[data-adversarial-figs] img >> nth=0", "src")
    assert page.page.get_attribute("[data-adversarial-figs] img >> nth=1", "src") == original
    slider.press("End")  # 64 of 255
    end = wait_for_epsilon(page, 64)
    assert end["flipped"] == "true" and end["after"] != before, end
    assert "The answer changed" in end["text"]
    shown = page.page.get_attribute("[data-adversarial-after] .prob.predicted", "data-class")
    assert shown == end["after"]
    assert page.page.get_attribute("[data-adversarial-figs] img >> nth=1", "src") != original
    # the three pictures can be read from the back of a room, and sit abreast on a phone
    boxes = [
        page.page.locator(s).bounding_box()
        for s in (
            "[data-adversarial-figs] img >> nth=0",
            "[data-adversarial-step]",
            "[data-adversarial-figs] img >> nth=1",
        )
    ]
    assert min(b["width"] for b in boxes) >= (140 if size == "1366" else 90)
    assert max(b["y"] for b in boxes) - min(b["y"] for b in boxes) < 2
    bar = page.page.locator(f"{ADVERSARIAL} [data-colour-bar]")
    assert bar.get_attribute("data-range") == "-64,64"
    scaled = page.page.text_content("[data-adversarial-scaled]")
    assert "full colour" in scaled and "at most 64 of 255" in scaled
    assert page.page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS[size]["width"]
    panel_shot(page, ADVERSARIAL, f"inspect-adversarial-{size}")
    # pushed towards a chosen class: the step lowers that class's loss
    page.page.select_option("[data-adversarial-target]", label="towards 3")
    page.page.wait_for_selector(f'{ADVERSARIAL}:not([aria-busy]) [data-adversarial-summary][data-target="3"]')
    assert "Loss of 3:" in page.page.text_content("[data-adversarial-counts]")


@pytest.mark.parametrize("size", VIEWPORTS)
def test_the_feature_grid_shows_an_image_per_channel_of_the_chosen_layer(page, live_server, size):
    trained_inspect(page, live_server, VIEWPORTS[size])
    panel = page.page.locator(FEATURES)
    panel.scroll_into_view_if_needed()
    cells = page.page.locator("[data-features-grid] [data-features-cell]")
    # conv1, the first conv layer, by itself: 6 channels
    page.page.wait_for_function(SIX_IMAGES)
    assert page.page.get_attribute("[data-features-grid]", "data-layer") == "layers[0]"
    page.page.select_option("[data-features-layer]", "layers[3]")  # conv2: 16 channels
    page.page.wait_for_function(
        "document.querySelector('[data-features-grid]').dataset.layer === 'layers[3]'"
        " && !document.querySelector('[data-inspect-features][aria-busy]')"
    )
    assert cells.count() == 16
    loaded = page.page.eval_on_selector_all(
        "[data-features-grid] img", "(imgs) => imgs.map((i) => i.complete && i.naturalWidth)"
    )
    assert loaded == [28] * 16
    assert cells.first.locator("img").bounding_box()["width"] >= 100
    # every unit climbed: its value after the ascent is above its value at the start
    for text in page.page.locator("[data-features-climb]").all_text_contents():
        start, final = (float(v) for v in text.split(" → "))
        assert final > start, text
    assert "jitter" in page.page.text_content(FEATURES).lower()
    assert page.page.get_attribute(f"{FEATURES} [data-colour-bar]", "data-range") == "0,255"
    assert page.page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS[size]["width"]
    panel_shot(page, FEATURES, f"inspect-features-conv2-{size}")
    page.page.select_option("[data-features-layer]", "layers[11]")  # the class scores
    page.page.wait_for_function(
        "document.querySelector('[data-features-grid]').dataset.layer === 'layers[11]'"
        " && !document.querySelector('[data-inspect-features][aria-busy]')"
    )
    captions = page.page.locator("[data-features-grid] figcaption strong").all_text_contents()
    assert captions == [f"class {i}" for i in range(10)]
    shown = page.page.eval_on_selector("[data-features-channels]", "(s) => s.selectedOptions[0].textContent")
    assert shown == "all 10 classes"
    panel_shot(page, FEATURES, f"inspect-features-classes-{size}")
    # one class chosen: its image alone, drawn large
    page.page.select_option("[data-features-channels]", label="class 7")
    page.page.wait_for_function(
        "document.querySelectorAll('[data-features-grid] img').length === 1"
        " && !document.querySelector('[data-inspect-features][aria-busy]')"
    )
    assert page.page.text_content("[data-features-grid] figcaption strong") == "class 7"
    assert cells.first.locator("img").bounding_box()["width"] >= 250
    assert page.page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS[size]["width"]
    panel_shot(page, FEATURES, f"inspect-features-one-{size}")


def test_a_change_of_regularisation_draws_again(page, live_server):
    page.page.set_viewport_size(VIEWPORTS["1366"])
    open_inspect(page)
    page.page.wait_for_function(SIX_IMAGES)
    first = page.page.get_attribute("[data-features-grid] img >> nth=0", "src")
    page.page.fill("[data-features-blur]", "0")
    page.page.wait_for_function(
        "(src) => { const i = document.querySelector('[data-features-grid] img'); return i && i.src !== src; }",
        arg=first,
    )


def panel_shot(page, selector: str, name: str):
    """A screenshot of one panel, with the page's sticky header out of the way."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.page.eval_on_selector("header.top", "(h) => { h.style.visibility = 'hidden'; }")
    page.page.locator(selector).screenshot(path=str(SHOTS / f"{name}.png"))
    page.page.eval_on_selector("header.top", "(h) => { h.style.visibility = ''; }")
