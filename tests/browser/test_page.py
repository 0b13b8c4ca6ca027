"""The playground page in Chromium: what a student does, view by view."""

import re

import pytest

from tests.browser.conftest import SHOTS, Page


def test_lenet5_from_the_presets_shows_61706_parameters(page):
    page.open()
    page.tab("build")
    page.page.select_option("[data-preset-select]", "lenet5")
    page.page.wait_for_function("document.querySelector('[data-total-params]').textContent.includes('61,706')")
    assert "6×28×28" in page.page.text_content('[data-layer-path="layers[0]"] [data-layer-shape]')
    page.shot("build")


def test_a_famous_preset_shows_how_it_differs_from_its_paper(page):
    page.open()
    page.tab("build")
    note = page.page.locator("[data-preset-note]")
    page.page.select_option("[data-preset-select]", "vgg16")
    page.page.wait_for_function("document.querySelector('[data-preset-note]').textContent.includes('138,357,544')")
    assert note.is_visible() and "140M" in note.text_content()
    page.page.select_option("[data-preset-select]", "alexnet_paper")
    page.page.wait_for_function("document.querySelector('[data-total-params]').textContent.includes('60,965,224')")
    assert "local response normalization is left out" in note.text_content().lower()
    page.page.select_option("[data-preset-select]", "tinyvgg")
    note.wait_for(state="hidden")


def test_a_conv_card_offers_dilation_and_groups_and_a_transposed_one_output_padding(page):
    """The Build form comes from the layer catalogue: the new fields appear with their defaults,
    and what is typed into them reaches the summary beside the layer."""
    page.open()
    page.tab("build")
    page.page.select_option("[data-preset-select]", "lenet5")
    page.page.wait_for_function("document.querySelector('[data-total-params]').textContent.includes('61,706')")
    page.page.click('[data-action="new-network"]')
    page.page.select_option(".build-add-top [data-add-type]", "conv2d")
    page.page.click('.build-add-top [data-action="add-layer"]')
    card = '[data-layer-path="layers[0]"]'
    page.page.wait_for_selector(f'{card} [data-field="groups"]')
    defaults = {"stride": "1", "padding": "0", "dilation": "1", "groups": "1"}
    for field, default in defaults.items():
        editor = page.page.locator(f'{card} [data-field="{field}"]').first
        assert editor.is_visible(), field
        assert editor.get_attribute("placeholder") == default, field
    page.page.locator(f'{card} [data-field="dilation"]').first.fill("2")
    page.page.wait_for_function(
        f"document.querySelector('{card} [data-layer-formula]').textContent"
        ".includes('(28 + 2*0 - 2*(3 - 1) - 1)/1 + 1 = 24')"
    )
    page.page.locator(f'{card} [data-field="groups"]').first.fill("2")
    error = page.page.locator(f"{card} [data-layer-error]").first
    error.wait_for(state="visible")
    assert "groups 2 does not divide in_channels 1" in error.text_content()
    page.page.locator(f'{card} [data-field="groups"]').first.fill("")
    page.page.select_option(f"{card} [data-layer-type]", "conv_transpose2d")
    page.page.wait_for_selector(f'{card} [data-field="output_padding"]')
    for field in ("stride", "padding", "output_padding", "dilation", "groups"):
        assert page.page.locator(f'{card} [data-field="{field}"]').first.is_visible(), field
    # the fields both types have keep their values: (28 - 1)*1 - 2*0 + 2*(3 - 1) + 0 + 1 = 32
    page.page.wait_for_function(
        "document.querySelector('[data-layer-path=\"layers[0]\"] [data-layer-shape]').textContent.includes('8×32×32')"
    )
    page.shot("build-conv-fields")


def test_an_impossible_layer_shows_its_error_on_that_layer(page):
    page.open()
    page.tab("build")
    # lenet5 may already be showing (the default for strokes): go through another preset, so
    # that the count changing proves the editor was rebuilt before anything is typed into it
    for preset, count in (("tinyvgg", "19,920"), ("lenet5", "61,706")):
        page.page.select_option("[data-preset-select]", preset)
        page.page.wait_for_function(f"document.querySelector('[data-total-params]').textContent.includes('{count}')")
    field = page.page.locator('[data-layer-path="layers[3]"] [data-field="kernel_size"]').first
    field.fill("30")
    error = page.page.locator('[data-layer-path="layers[3]"] [data-layer-error]').first
    error.wait_for(state="visible")
    assert "kernel" in error.text_content()
    others = page.page.locator('[data-layer-path="layers[0]"] [data-layer-error]').first
    assert not (others.text_content() or "").strip()
    page.shot("build-error")
    field.fill("5")
    page.page.wait_for_function(
        "!document.querySelector('[data-layer-path=\"layers[3]\"] [data-layer-error]').textContent.trim()"
    )


def test_training_one_epoch_moves_the_curves_and_accuracy_rises(page):
    page.open()
    page.tab("data")
    page.page.select_option("[data-dataset-select]", "strokes")
    page.page.wait_for_selector("[data-sample-grid] img")
    page.shot("data")
    page.tab("train")
    epochs = page.page.locator(
        '[data-view="train"] input[name="epochs"], [data-view="train"] [data-hyper="epochs"]'
    ).first
    epochs.fill("1")
    page.page.click('[data-action="start-run"]')
    page.page.wait_for_function(
        "/completed/.test(document.querySelector('[data-run-status]').textContent)", timeout=240_000
    )
    text = page.page.text_content("[data-val-accuracy]")
    accuracy = float(re.search(r"([\d.]+)\s*%", text).group(1))
    assert accuracy > 50, text
    assert page.page.locator("[data-chart=loss] [data-series-style] path").count() >= 1
    assert page.page.locator("[data-confusion] td").count() >= 100
    page.shot("train")


def test_drawing_a_digit_gives_probabilities_and_feature_maps(page):
    page.open()
    page.tab("inspect")
    canvas = page.page.locator("[data-draw]")
    canvas.wait_for()
    box = canvas.bounding_box()
    mouse = page.page.mouse
    # a "1": one stroke down the middle
    mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.2)
    mouse.down()
    for i in range(1, 11):
        mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * (0.2 + 0.06 * i))
    mouse.up()
    page.page.wait_for_selector("[data-probabilities] [data-class]")
    assert page.page.locator("[data-probabilities] [data-class]").count() == 10
    page.page.wait_for_selector('[data-overview-layer="layers[0]"] [data-map]')
    assert page.page.locator("[data-overview-layer]").count() >= 10
    # the input's numbers are normalized, and the page says how
    page.page.click(".inspect-normalization summary")
    note = page.page.locator("[data-input-normalization]")
    note.wait_for(state="visible")
    assert "(value/255 - mean) / std" in note.text_content()
    page.shot("inspect")


def test_stepping_the_convolution_to_its_last_cell_reads_12(page):
    page.open()
    page.tab("conv")
    page.page.wait_for_selector("[data-view=conv][data-conv-state=ready]")  # the server has answered
    page.page.click("[data-action=conv-first]")
    page.page.click("[data-action=conv-step]")
    page.page.click("[data-action=conv-last]")
    page.page.wait_for_function("document.querySelector('[data-conv-sum]').textContent.trim() === '12'")
    output = page.page.text_content("[data-conv-output]")
    assert all(str(v) in output for v in (9, 5, 4, 8, 10, 15, 12))
    page.shot("conv")


def test_the_convolution_view_says_it_cross_correlates_and_shows_true_convolution_beside(page):
    page.open()
    page.tab("conv")
    page.page.wait_for_selector("[data-view=conv][data-conv-state=ready]")  # the server has answered
    note = page.page.text_content("[data-conv-index-note]")
    assert "top-left corner" in note and "a from −1 to 1" in note and "W[−1, −1] is W[0, 0]" in note
    assert "cross-correlation" in page.page.text_content('[aria-labelledby="conv-h-fwd"]')
    assert page.page.locator("[data-conv-true]").is_hidden()
    page.page.check("[data-conv-true-toggle]")
    shown = page.page.locator("[data-conv-true]")
    shown.wait_for(state="visible")
    text = shown.text_content()
    assert "rotated 180" in text and all(str(v) in text for v in (7, 2, 6, 4, 10, 9))  # [[9,7,2],[6,6,4],[10,9,8]]
    page.shot("conv-true-convolution")


def test_the_convolution_view_steps_through_a_dilated_kernel_and_says_what_the_server_says(page):
    page.open()
    page.tab("conv")
    page.page.wait_for_selector("[data-view=conv][data-conv-state=ready]")  # the server has answered
    page.page.fill("#conv-p", "2")
    page.page.fill("#conv-d", "2")
    page.page.wait_for_function(
        "document.querySelector('[data-conv-formula-h]').textContent === '(5 + 2*2 - 2*(3 - 1) - 1)/1 + 1 = 5'"
    )
    page.page.click("[data-action=conv-last]")
    # the last window's taps: rows and columns 4, 6, 8 of the padded 9x9 input
    taps = page.page.eval_on_selector_all(
        ".conv-forward table.cgrid td.win", "cells => cells.map(c => [+c.dataset.row, +c.dataset.col])"
    )
    assert sorted(taps) == [[r, c] for r in (4, 6, 8) for c in (4, 6, 8)]
    assert page.page.locator("[data-conv-rot] tr").count() == 5  # W dilated by 2, rotated: 5x5
    page.shot("conv-dilated")
    # a warning and an error, both in the server's words
    page.page.fill("#conv-d", "1")
    page.page.fill("#conv-p", "0")
    page.page.fill("#conv-h", "6")
    page.page.fill("#conv-w", "6")
    page.page.fill("#conv-s", "2")
    page.page.wait_for_function(
        "document.querySelector('[data-conv-formula] .warning')?.textContent"
        ".includes('1 row and 1 column of input pixels are lost')"
    )
    page.expect_http_error(422)
    page.page.fill("#conv-s", "1")
    page.page.fill("#conv-d", "4")
    page.page.wait_for_function(
        "document.querySelector('[data-conv-error]').textContent"
        ".includes('the kernel height 3 dilated by 4 spans 9, which is larger than the padded input')"
    )


def test_initialization_view(page):
    page.open()
    page.tab("init")
    page.page.click("[data-action=init-run]")
    page.page.wait_for_selector('[data-init="xavier_uniform"]', timeout=120_000)
    page.shot("init")


def test_a_shared_link_brings_the_same_setup_back(page, browser, live_server):
    page.open()
    page.tab("build")
    page.page.select_option("[data-preset-select]", "tinyvgg")
    page.page.wait_for_function("document.querySelector('[data-total-params]').textContent.includes('19,920')")
    page.tab("train")
    state = page.page.evaluate("window.playground.store.state")
    url = page.page.evaluate("window.playground.store.shareUrl()")
    context = browser.new_context(viewport={"width": 820, "height": 1180})
    other = context.new_page()
    errors = []
    other.on("pageerror", lambda e: errors.append(str(e)))
    other.goto(url)
    other.wait_for_selector('[data-view="train"]:not([hidden])')
    again = other.evaluate("window.playground.store.state")
    for key in ("spec", "dataset", "hyper", "seed", "view"):
        assert again[key] == state[key], key
    other.screenshot(path=str(SHOTS / "shared-link-tablet.png"))
    context.close()
    assert not errors


@pytest.mark.parametrize("width,height", [(1280, 800), (820, 1180)])
def test_every_view_renders_without_errors_at_both_sizes(browser, live_server, width, height):
    context = browser.new_context(viewport={"width": width, "height": height})
    p = Page(context.new_page(), live_server.url)
    p.open()
    for name in ("build", "data", "train", "inspect", "conv", "init"):
        p.tab(name)
        p.page.wait_for_timeout(300)
        overflow = p.page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 2, f"{name} is wider than the window at {width}px by {overflow}px"
        p.shot(f"{name}-{width}")
    context.close()
    assert not p.errors, p.errors


UNLABELLED = """() => [...document.querySelectorAll('[data-view]:not([hidden]) :is(input, select, textarea, button)')]
  .filter((c) => c.offsetParent !== null && c.type !== 'hidden')
  .filter((c) => {
    if (c.getAttribute('aria-label') || c.getAttribute('aria-labelledby') || c.title) return false;
    if (c.tagName === 'BUTTON') return !c.textContent.trim();
    if (c.labels && c.labels.length) return false;
    return true;
  })
  .map((c) => c.outerHTML.slice(0, 120))"""


def test_every_control_has_a_label_and_the_tabs_work_from_the_keyboard(page):
    page.open()
    for name in ("build", "data", "train", "inspect", "conv", "init"):
        page.tab(name)
        page.page.wait_for_timeout(300)
        missing = page.page.evaluate(UNLABELLED)
        assert not missing, f"{name}: controls without a label: {missing[:5]}"
    page.page.focus("[data-tab=build]")
    page.page.keyboard.press("ArrowRight")
    page.page.wait_for_selector('[data-view="data"]:not([hidden])')
    assert page.page.evaluate("document.activeElement.dataset.tab") == "data"
