"""Inspect in Chromium, beyond the lecture's slides: a unit's receptive field on the input (click
a unit of a map opened large: the theoretical and the effective field appear with their sizes)
and a dropout layer at work (its input, the training output with the dropped values at zero
and the rest scaled by 1/(1 - p), the evaluation output, the fraction dropped against p), at a
projector's size and a phone's."""

import base64
import re

import httpx
import pytest

from tests.browser.conftest import SHOTS, Page
from tests.browser.test_inspect_overview import (
    DESKTOP,
    PHONE,
    column,
    network_id,
    open_overview,
    settled_box,
)

AMBER = (227, 164, 0)  # the theoretical field's outline

SIZES = pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366", "390"])


@pytest.fixture
def sized(browser, live_server, request):
    """A page at the viewport the test is parametrized with."""
    context = browser.new_context(viewport=request.getfixturevalue("viewport"))
    p = Page(context.new_page(), live_server.url)
    p.page.set_default_timeout(60_000)
    yield p
    context.close()
    assert not p.errors, "errors in the browser console:\n" + "\n".join(p.errors)


def no_sideways_scroll(p: Page):
    overflow = p.page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 2, f"the page is wider than the window by {overflow}px"


def sample_body(p: Page) -> dict:
    index = int(p.page.get_attribute("[data-sample-index][aria-pressed=true]", "data-sample-index"))
    return {"dataset": "strokes", "split": "test", "index": index}


# ---- the receptive field -------------------------------------------------------------------
@SIZES
def test_clicking_a_unit_shows_its_theoretical_and_effective_field_with_their_sizes(sized, live_server, viewport):
    p = sized
    open_overview(p)
    p.page.click(f'{column("layers[3]")} [data-map="2"]')  # conv2, map 3: 10x10
    field = p.page.locator("[data-inspect-receptive]")
    field.wait_for(state="visible")
    assert field.get_attribute("data-state") == "waiting"
    box = settled_box(p, "[data-detail-map]")
    p.page.mouse.click(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.55)
    p.page.wait_for_selector('[data-inspect-receptive][data-state="shown"]')
    words = p.page.text_content("[data-field-words]")
    answer = httpx.post(
        f"{live_server.url}/api/networks/{network_id(p)}/receptive-field",
        json={**sample_body(p), "layer": "layers[3]", "channel": 2, "row": 5, "col": 4},
        timeout=30,
    ).json()
    h, w = answer["effective"]["within_90"]
    assert words == f"theoretical 14×14; 90% of the gradient within {h}×{w}"
    assert p.page.text_content("[data-field-theoretical] [data-field-size]") == "14×14"
    assert p.page.text_content("[data-field-effective] [data-field-size]") == f"90% within {h}×{w}"
    assert "rows 8 to 21, columns 6 to 19" in p.page.text_content("[data-field-theoretical]")
    assert p.page.get_attribute("[data-field-effective] [data-colour-bar]", "data-scale") == "sequential"
    # the picture: amber outline on the field, the heat inside it and none outside
    colours = p.page.evaluate("""() => {
        const c = document.querySelector('[data-field-effective] canvas.field-canvas');
        const ctx = c.getContext('2d'), s = c.width / 28;
        const at = (row, col) => [...ctx.getImageData(Math.floor((col + 0.5) * s),
                                                      Math.floor((row + 0.5) * s), 1, 1).data];
        return {inside: at(15, 13), outside: at(2, 25)};
    }""")
    assert colours["outside"][:3] == [0, 0, 0]  # the strokes' black background, no heat
    assert colours["inside"][:3] != [0, 0, 0]
    no_sideways_scroll(p)
    SHOTS.mkdir(parents=True, exist_ok=True)
    p.page.locator("[data-map-detail]").screenshot(path=str(SHOTS / f"inspect-field-{viewport['width']}.png"))


def test_a_unit_picked_from_the_keyboard_shows_its_field_and_one_at_the_edge_says_padding(page):
    open_overview(page)
    page.page.click(f'{column("layers[3]")} [data-map="0"]')
    page.page.focus("[data-detail-map]")
    page.page.keyboard.press("ArrowUp")  # the first arrow puts the cell at row 0, column 0
    page.page.keyboard.press("Enter")
    page.page.wait_for_selector('[data-inspect-receptive][data-state="shown"]')
    text = page.page.text_content("[data-field-theoretical]")
    assert "rows 0 to 11, columns 0 to 11" in text
    assert "2 rows above, 2 columns left" in text and "padding" in text
    assert page.page.is_visible("[data-detail-map] ~ .picked-box")
    # the picture: the image framed by a band of padding, 2 pixels wide, that the field reaches
    band = page.page.evaluate("""() => {
        const c = document.querySelector('[data-field-theoretical] canvas.field-canvas');
        const ctx = c.getContext('2d'), s = Number(c.dataset.px);
        const at = (x, y) => [...ctx.getImageData(Math.floor(x * s), Math.floor(y * s), 1, 1).data];
        return {margin: Number(c.dataset.margin), padding: at(0.5, 16), image: at(2 + 26.5, 16)};
    }""")
    assert band["margin"] == 2
    assert min(band["padding"][:3]) > 150, "the padding is light grey"
    assert band["image"][:3] == [0, 0, 0], "the image's black background"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.page.locator("[data-inspect-receptive]").screenshot(path=str(SHOTS / "inspect-field-corner.png"))


@SIZES
def test_a_conv1_unit_of_lenet5_has_a_5x5_box_drawn_on_the_input(sized, viewport):
    p = sized
    open_overview(p)
    p.page.click(f'{column("layers[0]")} [data-map="0"]')  # conv1 (5x5, padding 2): 28x28
    box = settled_box(p, "[data-detail-map]")
    p.page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    p.page.wait_for_selector('[data-inspect-receptive][data-state="shown"]')
    assert p.page.text_content("[data-field-theoretical] [data-field-size]") == "5×5"
    assert "rows 12 to 16, columns 12 to 16" in p.page.text_content("[data-field-theoretical]")
    # the amber outline, measured on the picture: 5 input pixels across and down, where it says
    drawn = p.page.evaluate(
        """(amber) => {
        const c = document.querySelector('[data-field-theoretical] canvas.field-canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let top = Infinity, left = Infinity, bottom = -1, right = -1;
        for (let y = 0; y < c.height; y++) for (let x = 0; x < c.width; x++) {
            const i = 4 * (y * c.width + x);
            if (Math.abs(d[i] - amber[0]) + Math.abs(d[i + 1] - amber[1]) + d[i + 2] > 30) continue;
            top = Math.min(top, y); bottom = Math.max(bottom, y);
            left = Math.min(left, x); right = Math.max(right, x);
        }
        return {top, left, bottom, right, px: Number(c.dataset.px),
                margin: Number(c.dataset.margin), ratio: window.devicePixelRatio};
    }""",
        list(AMBER),
    )
    assert drawn["margin"] == 0 and drawn["right"] > 0, drawn
    line = 3 * drawn["ratio"]  # the outline is 3 CSS pixels wide, centred on the box's edge
    for first, last in (("left", "right"), ("top", "bottom")):
        side = (drawn[last] + 1 - drawn[first] - line) / drawn["px"]
        assert abs(side - 5) < 0.5, (first, side, drawn)
        start = (drawn[first] + line / 2) / drawn["px"]
        assert abs(start - 12) < 0.5, (first, start, drawn)


# ---- dropout ---------------------------------------------------------------------------------
def dropout_spec(server) -> dict:
    """The dropout lesson's network: LeNet-5 with dropout on pool1's maps (p 0.25, 6x14x14) and
    before its last layer (p 0.5, 84 values)."""
    lesson = httpx.get(f"{server.url}/api/lessons/dropout", timeout=30).json()
    return lesson["widget"]["options"]["spec"]


def shown_fraction(p: Page) -> float:
    text = p.page.text_content("[data-dropped-fraction]")
    return float(re.search(r"values: ([\d.]+)%", text).group(1)) / 100


def read_unit(p: Page) -> dict:
    """The readout of the unit under the keyboard's cell: what arrives, kept or dropped, the
    training and evaluation values."""
    text = p.page.text_content("[data-dropout-hover]")
    m = re.search(r"arrives (\S+); (kept|dropped)\b.*training (\S+); evaluation (\S+)$", text)
    assert m, text
    return {
        "arrives": float(m.group(1)),
        "kept": m.group(2) == "kept",
        "train": float(m.group(3)),
        "eval": float(m.group(4)),
    }


@SIZES
def test_the_dropout_panel_shows_training_against_evaluation_and_a_new_mask(sized, live_server, viewport):
    p = sized
    open_overview(p, spec=dropout_spec(live_server), preset=None, dataset="strokes")
    panel = p.page.locator("[data-inspect-dropout]")
    panel.wait_for(state="visible")
    p.page.wait_for_selector('[data-inspect-dropout][data-seed="0"] [data-dropped-fraction]')
    assert p.page.input_value("[data-dropout-layer]") == "layers[3]"
    facts = p.page.text_content("[data-dropout-facts]")
    assert "1/(1 − 0.25) = 1.333" in facts
    answer = httpx.post(
        f"{live_server.url}/api/networks/{network_id(p)}/dropout",
        json={**sample_body(p), "layer": "layers[3]", "seed": 0},
        timeout=30,
    ).json()
    assert answer["units"] == 6 * 14 * 14
    first = shown_fraction(p)
    assert abs(first - answer["dropped_fraction"]) < 0.001
    assert abs(first - 0.25) < 0.05, "a mask of 1,176 values drops close to p of them"
    assert p.page.get_attribute("[data-eval-equal]", "data-eval-equal") == str(answer["units"])

    # the mask as drawn is the server's: black where dropped, white where kept (map 1)
    kept = list(base64.b64decode(answer["mask"]["data"])[: 14 * 14])
    drawn = p.page.evaluate("""() => {
        const c = document.querySelector('[data-dropout-picture=mask]');
        const ctx = c.getContext('2d'), s = Number(c.dataset.cell), out = [];
        for (let k = 0; k < 14 * 14; k++) {
            const x = Math.floor((k % 14 + 0.5) * s), y = Math.floor((Math.floor(k / 14) + 0.5) * s);
            out.push(ctx.getImageData(x, y, 1, 1).data[0] > 128 ? 1 : 0);
        }
        return out;
    }""")
    assert drawn == kept

    # unit by unit: dropped -> 0 in training; kept -> times 1/(1 - p); evaluation -> as it arrives
    p.page.focus(".dropout-figs")
    seen = {True: 0, False: 0}
    for _ in range(14):
        p.page.keyboard.press("ArrowRight")
        unit = read_unit(p)
        seen[unit["kept"]] += 1
        assert unit["eval"] == unit["arrives"]
        if unit["kept"]:
            assert abs(unit["train"] - unit["arrives"] * 4 / 3) <= 0.01 * abs(unit["arrives"]) + 1e-3
        else:
            assert unit["train"] == 0
    assert seen[True] and seen[False], seen

    # another mask: the next seed, other units dropped, still about p of them
    p.page.click("[data-action=new-mask]")
    p.page.wait_for_selector('[data-inspect-dropout][data-seed="1"]')
    second = shown_fraction(p)
    assert second != first and abs(second - 0.25) < 0.05
    no_sideways_scroll(p)
    SHOTS.mkdir(parents=True, exist_ok=True)
    panel.screenshot(path=str(SHOTS / f"inspect-dropout-{viewport['width']}.png"))

    # the layer before the classifier: a vector of 84, p 0.5, survivors doubled
    p.page.select_option("[data-dropout-layer]", "layers[12]")
    p.page.wait_for_function("document.querySelector('[data-dropout-facts]').textContent.includes('1/(1 − 0.5) = 2')")
    assert p.page.is_hidden("[data-dropout-map]")
    assert "of 84 values" in p.page.text_content("[data-dropped-fraction]")


def test_a_network_without_dropout_has_no_dropout_panel(page):
    open_overview(page)  # lenet5 has none
    assert page.page.locator("[data-inspect-dropout]").is_hidden()
