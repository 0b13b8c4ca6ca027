"""The Build view's diagram and table of the whole network, in Chromium: one block per layer
sized by its output shape, branches that join, whole famous networks on one projector screen,
the diagram and the form selecting each other, and no stale numbers on a layer in error."""

import base64
import json
import re

import httpx
import pytest

from tests.browser.conftest import SHOTS, Page

PROJECTOR = {"width": 1366, "height": 800}
PHONE = {"width": 390, "height": 844}
LECTURE_SPEC = {
    "input": [3, 32, 32],
    "layers": [{"type": "conv2d", "out_channels": 20, "kernel_size": 5, "padding": 1, "stride": 2}],
}
PARAMS = {"lenet5": "61,706", "vgg16": "138,357,544", "googlenet": "6,998,552", "resnet8": "78,170"}

TIMEOUT = 30_000
DIAGRAM = "[data-build-diagram] svg"
BLOCK = "[data-build-diagram] [data-block-path]"


def summary_of(server, preset: str) -> dict:
    r = httpx.get(f"{server.url}/api/presets/{preset}", timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["summary"]


def shape(s: list) -> str:
    return "×".join(map(str, s))


def hash_of(shared: dict) -> str:
    """The page's address for a setup, as store.js writes it."""
    raw = base64.urlsafe_b64encode(json.dumps(shared).encode()).decode().rstrip("=")
    return "#s=" + raw


@pytest.fixture
def sized(browser, live_server):
    """A page of a given viewport size: sized(PROJECTOR)."""
    contexts, pages = [], []

    def make(viewport):
        context = browser.new_context(viewport=viewport)
        p = Page(context.new_page(), live_server.url)
        p.page.set_default_timeout(TIMEOUT)
        contexts.append(context)
        pages.append(p)
        return p

    yield make
    for c in contexts:
        c.close()
    for p in pages:
        assert not p.errors, "errors in the browser console:\n" + "\n".join(p.errors)


def screen_shot(p: Page, name: str):
    """What the window shows (a full-page shot of GoogLeNet's 140 cards says little)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    p.page.screenshot(path=str(SHOTS / f"{name}.png"))


def open_preset(p: Page, preset: str):
    p.open()
    p.tab("build")
    p.page.wait_for_selector(f"[data-preset-select] option[value={preset}]", state="attached")
    if p.page.input_value("[data-preset-select]") == preset:  # already on show: go through another
        p.page.select_option("[data-preset-select]", "tinyvgg")
        p.page.wait_for_function("document.querySelector('[data-total-params]').textContent.includes('19,920')")
    p.page.select_option("[data-preset-select]", preset)
    p.page.wait_for_function(f"document.querySelector('[data-total-params]').textContent.includes('{PARAMS[preset]}')")
    # the diagram is drawn from the same summary
    p.page.wait_for_function(f"document.querySelector('[data-build-diagram]')?.dataset.params === '{PARAMS[preset]}'")


def test_the_diagram_of_lenet5_has_one_block_per_layer_with_its_shape(page, live_server):
    open_preset(page, "lenet5")
    rows = summary_of(live_server, "lenet5")["layers"]
    blocks = page.page.eval_on_selector_all(
        BLOCK,
        "bs => bs.map(b => [b.dataset.blockPath, b.dataset.blockShape, b.dataset.blockParams,"
        " b.getAttribute('aria-label')])",
    )
    assert [b[0] for b in blocks] == [r["path"] for r in rows]
    for (path, shown, params, label), r in zip(blocks, rows):
        assert shown == shape(r["output_shape"]), path
        assert params == str(r["params"]), path
        assert shape(r["output_shape"]) in label and f"{r['params']:,} parameters" in label, label
    # one tab stop for the whole diagram (the input's block at first); arrow keys move on
    stops = page.page.eval_on_selector_all("[data-build-diagram] [role=button]", "bs => bs.map(b => b.tabIndex)")
    assert sorted(stops) == [-1] * (len(stops) - 1) + [0] and len(stops) == len(blocks) + 1
    # a block's height grows with the image's size, its width with the channels
    box = {
        b[0]: page.page.locator(f'{BLOCK}[data-block-path="{b[0]}"] [data-block-box]').bounding_box() for b in blocks
    }
    assert box["layers[0]"]["height"] > box["layers[2]"]["height"] > box["layers[5]"]["height"]
    assert box["layers[3]"]["width"] > box["layers[0]"]["width"]
    assert page.page.locator("[data-build-diagram] [data-block-input]").get_attribute("data-block-shape") == "1×28×28"


@pytest.mark.parametrize("preset", ["vgg16", "googlenet", "lenet5", "resnet8"])
def test_a_network_fits_a_projector_screen_with_readable_text(sized, live_server, preset):
    p = sized(PROJECTOR)
    open_preset(p, preset)
    summary = summary_of(live_server, preset)
    p.page.locator("[data-build-diagram]").scroll_into_view_if_needed()
    box = p.page.locator(DIAGRAM).bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PROJECTOR["width"], box
    assert box["y"] >= 0 and box["y"] + box["height"] <= PROJECTOR["height"], box
    sizes = p.page.eval_on_selector_all(
        f"{DIAGRAM} text", "ts => ts.map(t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)"
    )
    assert sizes and min(sizes) >= 12, min(sizes)
    # every layer of the top level has its block; an Inception module is one block to open
    top = [r for r in summary["layers"] if r["depth"] == 0]
    shown = p.page.eval_on_selector_all(BLOCK, "bs => bs.map(b => b.dataset.blockPath)")
    assert [r["path"] for r in top] == [s for s in shown if "." not in s]
    screen_shot(p, f"build-diagram-{preset}-1366")
    collapsed = p.page.locator(f"{BLOCK}[aria-expanded=false]")
    if preset == "googlenet":
        assert collapsed.count() == 9
        first = collapsed.first
        path = first.get_attribute("data-block-path")
        first.click()
        p.page.wait_for_selector(f'{BLOCK}[data-block-path^="{path}.branches[3]"]')
        p.page.wait_for_selector(f'[data-join-of="{path}"][data-join=concat]')
        screen_shot(p, "build-diagram-googlenet-1366-expanded")
    else:
        assert collapsed.count() == 0


def test_clicking_a_block_focuses_its_card_and_editing_a_card_highlights_its_block(page):
    open_preset(page, "lenet5")
    page.page.click(f'{BLOCK}[data-block-path="layers[9]"]')
    page.page.wait_for_function(
        "document.activeElement.closest('[data-layer-path]')?.dataset.layerPath === 'layers[9]'"
    )
    card = page.page.locator('[data-layer-path="layers[9]"]')
    box = card.bounding_box()
    assert 0 <= box["y"] < page.page.viewport_size["height"], box
    assert card.get_attribute("data-selected") is not None
    assert page.page.locator(f'{BLOCK}[data-block-path="layers[9]"]').get_attribute("data-selected") is not None
    # editing another card moves the highlight to its block
    page.page.locator('[data-layer-path="layers[3]"] [data-field="out_channels"]').first.fill("20")
    page.page.wait_for_selector(f'{BLOCK}[data-block-path="layers[3]"][data-selected]')
    assert page.page.locator(f"{BLOCK}[data-selected]").count() == 1
    page.page.wait_for_selector(f'{BLOCK}[data-block-path="layers[3]"][data-block-shape="20×10×10"]')
    # the keyboard: Enter on a block goes to its card too
    page.page.focus(f'{BLOCK}[data-block-path="layers[3]"]')
    page.page.keyboard.press("ArrowRight")
    page.page.keyboard.press("Enter")
    page.page.wait_for_function(
        "document.activeElement.closest('[data-layer-path]')?.dataset.layerPath === 'layers[4]'"
    )


def test_a_residual_network_draws_its_branches_joining(page, live_server):
    open_preset(page, "resnet8")
    rows = summary_of(live_server, "resnet8")["layers"]
    blocks = [r for r in rows if r["type"] == "residual"]
    assert len(blocks) == 3
    for r in blocks:
        path = r["path"]
        join = page.page.locator(f'[data-join-of="{path}"]')
        assert join.get_attribute("data-join") == "add"
        jx = join.bounding_box()["x"]
        lanes = page.page.eval_on_selector_all(f'[data-lane-of="{path}"]', "ls => ls.map(l => l.dataset.lane)")
        assert sorted(lanes) == ["body", "shortcut"], path
        for lane in ("body", "shortcut"):
            edge = page.page.locator(f'[data-edge-to="{path}"][data-edge-lane="{lane}"]')
            assert edge.count() == 1, (path, lane)
        inner = [x for x in rows if x["path"].startswith(path + ".")]
        for x in inner:
            b = page.page.locator(f'{BLOCK}[data-block-path="{x["path"]}"]').bounding_box()
            assert b["x"] + b["width"] <= jx + 1, x["path"]
    # the first block's shortcut is the identity: a line, no blocks
    assert page.page.locator('[data-lane-of="layers[3]"][data-lane=shortcut][data-identity]').count() == 1
    screen_shot(page, "build-diagram-resnet8")


def test_the_table_view_lists_every_layer_with_the_summary_s_totals(page, live_server):
    open_preset(page, "googlenet")
    summary = summary_of(live_server, "googlenet")
    page.page.click("[data-diagram-mode=table]")
    table = page.page.locator("[data-summary-table]")
    table.wait_for()
    assert not page.page.locator(DIAGRAM).is_visible()
    rows = page.page.eval_on_selector_all(
        "[data-summary-table] tbody tr",
        "rs => rs.map(r => [r.dataset.rowPath, r.querySelector('[data-cell=shape]').textContent,"
        " r.querySelector('[data-cell=params]').textContent])",
    )
    assert [r[0] for r in rows] == [r["path"] for r in summary["layers"]]
    for (path, shown, params), r in zip(rows, summary["layers"]):
        assert shown == shape(r["output_shape"]), path
        assert f"{r['params']:,}" in params, path
    screen_shot(page, "build-table-googlenet")
    t = summary["totals"]
    assert page.page.text_content("[data-table-total=params]").strip() == f"{t['params']:,}"
    assert page.page.text_content("[data-table-total=macs]").strip() == f"{t['macs']:,}"
    # a row's name leads to its card
    page.page.click('[data-row-path="layers[8].branches[1][2]"] [data-action=go-to-layer]')
    page.page.wait_for_function(
        "document.activeElement.closest('[data-layer-path]')?.dataset.layerPath === 'layers[8].branches[1][2]'"
    )
    page.page.click("[data-diagram-mode=diagram]")
    page.page.locator(DIAGRAM).wait_for()


def test_a_layer_in_error_shows_no_stale_numbers(page):
    page.open(hash_of({"view": "build", "spec": LECTURE_SPEC, "preset": None}))
    card = '[data-layer-path="layers[0]"]'
    page.page.wait_for_function(f"document.querySelector('{card} [data-layer-shape]')?.textContent === '20×15×15'")
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
    # the diagram does not keep them either
    block = page.page.locator(f'{BLOCK}[data-block-path="layers[0]"]')
    assert block.get_attribute("data-block-error") is not None
    assert "20×15×15" not in (block.get_attribute("aria-label") or "")
    screen_shot(page, "build-error-no-stale-numbers")
    page.page.locator(f'{card} [data-field="kernel_size"]').first.fill("5")
    page.page.wait_for_function(f"document.querySelector('{card} [data-layer-shape]')?.textContent === '20×15×15'")


def test_layers_are_named_for_people_with_the_path_as_a_tooltip(page):
    open_preset(page, "googlenet")
    text = page.page.inner_text("[data-view=build]")
    assert not re.search(r"[a-z_]+\[\d+\]", text), re.findall(r".{30}[a-z_]+\[\d+\].{10}", text)[:3]
    labels = {
        path: page.page.get_attribute(f'[data-layer-path="{path}"]', "aria-label")
        for path in ("layers[0]", "layers[1]", "layers[8].branches[1][2]")
    }
    assert labels == {
        "layers[0]": "conv1",
        "layers[1]": "layer 2: relu",
        "layers[8].branches[1][2]": "inception3a, branch 2: 3x3",
    }
    index = page.page.locator('[data-layer-path="layers[1]"] [data-layer-index]').first
    assert "layers[1]" in index.get_attribute("title")
    block = page.page.locator(f'{BLOCK}[data-block-path="layers[1]"]')
    assert block.get_attribute("aria-label").startswith("layer 2: relu")


@pytest.mark.parametrize("preset", ["lenet5", "vgg16", "googlenet", "resnet8"])
def test_build_does_not_scroll_sideways_on_a_phone(sized, preset):
    p = sized(PHONE)
    open_preset(p, preset)
    diagram = p.page.locator("[data-build-diagram]")
    assert diagram.is_visible()
    box = diagram.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    p.page.wait_for_timeout(300)
    overflow = p.page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the phone"
    screen_shot(p, f"build-diagram-{preset}-390")
