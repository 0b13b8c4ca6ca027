"""The page for a projector (1366x800) and a first-time student on a phone (390x844): the cold
open, the header on a phone, datasets that are not downloaded, the recommended network, and the
Initialization view. The server here works offline, as every test does: nothing is downloaded."""

import math
import re

import httpx
import pytest

from tests.browser.conftest import SHOTS, Page
from tests.e2e.conftest import running_server

PROJECTOR = {"width": 1366, "height": 800}
PHONE = {"width": 390, "height": 844}
SIZES = pytest.mark.parametrize("viewport", [PROJECTOR, PHONE], ids=["1366", "390"])
WELCOMED = "localStorage.setItem('cnn-playground.welcomed', '1')"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("first-visit") / "data", "--offline") as s:
        yield s


@pytest.fixture
def open_page(browser, live_server):
    """open_page(viewport, welcomed=True): a page in a context of its own (its own localStorage);
    every one is closed at the end, and none may have logged an error."""
    made = []

    def make(viewport=PROJECTOR, welcomed=True) -> Page:
        context = browser.new_context(viewport=viewport)
        if welcomed:
            context.add_init_script(WELCOMED)
        p = Page(context.new_page(), live_server.url)
        p.page.set_default_timeout(30_000)
        made.append((context, p))
        return p

    yield make
    for context, p in made:
        context.close()
        assert not p.errors, "errors in the browser console:\n" + "\n".join(p.errors)


def shot(p: Page, name: str, full_page=False):
    SHOTS.mkdir(parents=True, exist_ok=True)
    p.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def box(p: Page, selector: str) -> dict:
    return p.page.locator(selector).first.bounding_box()


# ---------------------------------------------------------------------------------- the cold open


@SIZES
def test_a_cold_open_says_what_this_is_and_offers_three_first_things_in_one_screen(open_page, viewport):
    p = open_page(viewport, welcomed=False)
    p.open()
    welcome = p.page.locator("[data-welcome]")
    welcome.wait_for(state="visible")
    actions = p.page.eval_on_selector_all("[data-welcome-action]", "bs => bs.map(b => b.dataset.welcomeAction)")
    assert actions == ["build", "train", "draw", "learn"]
    assert "convolutional network" in p.page.text_content("#welcome-h")
    bottom = box(p, "[data-welcome]")
    assert bottom["y"] + bottom["height"] <= viewport["height"], bottom  # one screen, no scrolling
    shot(p, f"cold-open-{viewport['width']}")
    p.page.click("[data-action=close-welcome]")
    welcome.wait_for(state="hidden")
    p.open()  # remembered in this browser
    p.page.wait_for_timeout(300)
    assert not welcome.is_visible()


def test_a_shared_link_or_a_chosen_tab_goes_straight_to_the_page(open_page):
    p = open_page(welcomed=False)
    p.open()
    p.page.locator("[data-welcome]").wait_for(state="visible")
    url = p.page.evaluate("window.playground.store.shareUrl()")
    p.tab("conv")  # a tab chosen: the student found their own way in
    assert not p.page.locator("[data-welcome]").is_visible()
    other = open_page(welcomed=False)
    other.page.goto(url)
    other.page.wait_for_selector("[data-view]:not([hidden])")
    other.page.wait_for_timeout(300)
    assert not other.page.locator("[data-welcome]").is_visible()


def test_build_the_lectures_layer_is_one_click_away(open_page):
    p = open_page(welcomed=False)
    p.open()
    p.page.click("[data-welcome-action=build]")
    p.page.wait_for_selector('[data-view="build"]:not([hidden])')
    p.page.wait_for_function("document.querySelector('[data-total-params]').textContent.includes('1,520')")
    assert p.page.evaluate("window.playground.store.state.spec.input") == [3, 32, 32]
    assert not p.page.locator("[data-welcome]").is_visible()


def test_train_lenet5_and_watch_it_learn_is_one_click_away(open_page, live_server):
    p = open_page(welcomed=False)
    p.open()
    p.page.click("[data-welcome-action=train]")
    p.page.wait_for_selector('[data-view="train"]:not([hidden])')
    state = p.page.evaluate("window.playground.store.state")
    assert state["preset"] == "lenet5" and state["dataset"] == "strokes" and state["hyper"]["epochs"] == 3
    # the run starts by itself and its curves move
    p.page.wait_for_function("(window.playground.store.state.activeRun || {}).epoch >= 1", timeout=60_000)
    run = p.page.evaluate("window.playground.store.state.activeRun")
    httpx.post(f"{live_server.url}/api/runs/{run['id']}/stop", timeout=30)


def test_train_it_starts_the_run_even_when_the_training_options_arrive_after_the_click(open_page, live_server):
    # on a busy server the options can come after the preset: the run must still start
    p = open_page(welcomed=False)
    held = []
    p.page.route("**/api/train/options", lambda route: held.append(route))
    p.open()
    p.page.click("[data-welcome-action=train]")
    p.page.wait_for_function("window.playground.store.state.preset === 'lenet5'")
    p.page.wait_for_timeout(500)  # the click's own work is done: the options are still held
    assert held, "the page asked for the training options"
    for route in held:
        route.continue_()
    p.page.wait_for_function("(window.playground.store.state.activeRun || {}).epoch >= 1", timeout=60_000)
    run = p.page.evaluate("window.playground.store.state.activeRun")
    httpx.post(f"{live_server.url}/api/runs/{run['id']}/stop", timeout=30)


def test_draw_a_digit_and_the_first_lesson_are_one_click_away(open_page):
    p = open_page(PHONE, welcomed=False)
    p.open()
    p.page.click("[data-welcome-action=draw]")
    p.page.wait_for_selector('[data-view="inspect"]:not([hidden])')
    assert p.page.locator("[data-draw]").is_visible()
    assert p.page.evaluate("window.playground.store.state.spec.layers.at(-1).out_features") == 10
    q = open_page(welcomed=False)
    q.open()
    q.page.click("[data-welcome-action=learn]")
    q.page.wait_for_selector('[data-view="learn"]:not([hidden]) [data-lesson-list] li')


# ---------------------------------------------------------------------------------- the header

OVERFLOW = "(d => d.scrollWidth - d.clientWidth)(document.documentElement)"
HEADER_CONTROLS = """() => [...document.querySelectorAll('header :is(button, a, input)')]
  .filter((c) => c.offsetParent !== null)
  .map((c) => ({ name: (c.getAttribute('aria-label') || c.textContent
                         || c.labels?.[0]?.textContent || '').trim(),
                 tab: c.getAttribute('role') === 'tab', reachable: c.tabIndex >= 0 }))"""


def test_on_a_phone_the_header_is_two_short_rows_with_every_control_named(open_page):
    p = open_page(PHONE)
    p.open()
    header = box(p, "header")
    assert header["height"] <= 90, header  # it was 185 of 844
    assert p.page.evaluate(OVERFLOW) <= 2  # the tabs scroll inside the header, not the page
    tops = {round(b["y"]) for b in (box(p, f"[data-tab={t}]") for t in ("learn", "build", "init"))}
    assert len(tops) == 1, tops  # the tabs in one row, scrolling sideways
    assert p.page.evaluate("(n => n.scrollWidth > n.clientWidth)(document.querySelector('[role=tablist]'))")
    # shortened labels keep their full names
    assert p.page.get_by_role("button", name="Share this setup").count() == 1
    assert p.page.get_by_role("tab", name="5. Convolution, step by step").count() == 1
    controls = p.page.evaluate(HEADER_CONTROLS)
    assert all(c["name"] for c in controls), controls
    # by the keyboard: every control, and of the tabs the chosen one (the arrows move among them)
    assert all(c["reachable"] for c in controls if not c["tab"]), controls
    assert sum(c["reachable"] for c in controls if c["tab"]) == 1, controls
    shot(p, "header-390")
    # a run in progress fits the first row too
    p.page.evaluate("window.playground.store.set({activeRun: {status: 'running', epoch: 3, epochs: 10, percent: 42}})")
    badge = p.page.locator("[data-run-badge]")
    badge.wait_for(state="visible")
    assert box(p, "header")["height"] <= 90 and p.page.evaluate(OVERFLOW) <= 2
    assert round(box(p, "[data-run-badge]")["y"]) < round(box(p, "[data-tab=build]")["y"])
    assert badge.text_content() == "Training: epoch 3 of 10 · 42%"  # what a screen reader reads
    shot(p, "header-390-run")
    # the arrow keys move along the tabs, and the chosen one scrolls into sight
    p.page.focus("[data-tab=build]")
    for _ in range(5):
        p.page.keyboard.press("ArrowRight")
    p.page.wait_for_selector('[data-view="init"]:not([hidden])')
    assert p.page.evaluate("document.activeElement.dataset.tab") == "init"
    nav, tab = box(p, "[role=tablist]"), box(p, "[data-tab=init]")
    assert nav["x"] - 1 <= tab["x"] and tab["x"] + tab["width"] <= nav["x"] + nav["width"] + 1, (
        nav,
        tab,
    )


def test_on_a_projector_the_header_stays_one_row_with_a_run(open_page):
    p = open_page(PROJECTOR)
    p.open()
    one_row = box(p, "header")["height"]
    p.page.evaluate("window.playground.store.set({activeRun: {status: 'running', epoch: 3, epochs: 10, percent: 42}})")
    p.page.locator("[data-run-badge]").wait_for(state="visible")
    assert box(p, "header")["height"] == one_row
    assert p.page.get_by_role("tab", name="5. Convolution, step by step").count() == 1
    shot(p, "header-1366-run")


# ---------------------------------------------------------------------------------- the Data view


@SIZES
def test_a_dataset_that_is_not_downloaded_says_so_and_how_to_get_it(open_page, viewport):
    p = open_page(viewport)
    asked = []
    p.page.on("request", lambda r: asked.append(r.url) if "/mnist/" in r.url else None)
    p.open()
    p.tab("data")
    p.page.wait_for_selector("[data-sample-grid] img")
    options = p.page.eval_on_selector_all("[data-dataset-select] option", "os => os.map(o => o.textContent)")
    for title in ("MNIST", "Fashion-MNIST", "CIFAR-10"):
        assert f"{title} (not downloaded)" in options, options
    p.page.select_option("[data-dataset-select]", "mnist")
    missing = p.page.locator("[data-dataset-missing]")
    missing.wait_for(state="visible")
    text = p.page.text_content("[data-how-to-get]")
    assert text.startswith("Not downloaded") and "README" in text and len(text) < 160, text
    # no wall of red: no error, no raw download message, no images of another dataset
    assert p.page.locator("[data-view=data] .error:visible").count() == 0
    assert "urlopen" not in p.page.text_content("[data-view=data]")
    assert p.page.locator("[data-sample-grid] img").count() == 0
    assert p.page.locator("[data-samples-missing]").is_visible()
    assert not p.page.locator("[data-action=download-dataset]").is_visible()  # this server works offline
    assert not asked, asked  # nothing asked for that would start a download
    shot(p, f"data-not-downloaded-{viewport['width']}", full_page=True)
    p.page.select_option("[data-dataset-select]", "strokes")  # and back: the images come back
    p.page.wait_for_selector("[data-sample-grid] img")
    assert not missing.is_visible()


def test_the_recommended_network_for_shapes_fits_it_and_trains(open_page, live_server):
    p = open_page()
    p.open()
    p.tab("data")
    p.page.select_option("[data-dataset-select]", "shapes")
    p.page.locator("[data-dataset-fit]").wait_for(state="visible")
    p.page.click("[data-action=use-recommended-preset]")
    p.page.locator("[data-dataset-fit]").wait_for(state="hidden")
    spec = p.page.evaluate("window.playground.store.state.spec")
    assert spec["input"] == [3, 32, 32] and spec["layers"][-1]["out_features"] == 8
    p.tab("train")
    p.page.click("[data-action=start-run]")
    p.page.wait_for_function("(window.playground.store.state.activeRun || {}).epoch >= 1", timeout=60_000)
    run = p.page.evaluate("window.playground.store.state.activeRun")
    httpx.post(f"{live_server.url}/api/runs/{run['id']}/stop", timeout=30)
    assert p.page.locator("[data-view=train] .error:visible").count() == 0


def test_another_datasets_pictures_never_stand_under_the_chosen_one(open_page):
    p = open_page()
    p.open()
    p.tab("data")
    p.page.wait_for_selector("[data-sample-grid] img")  # strokes' digits
    p.page.select_option("[data-dataset-select]", "shapes")
    labels = p.page.eval_on_selector_all("[data-sample-grid] .sample-label", "ls => ls.map((l) => l.textContent)")
    assert not [x for x in labels if x.isdigit()], labels  # at once: a loading note or the shapes, no digits
    p.page.wait_for_function("""[...document.querySelectorAll('[data-sample-grid] .sample-label')]
                                .some((l) => /circle|square|triangle|cross|star|ring|arrow|crescent/.test(l.textContent))""")


def test_a_preset_chosen_in_build_fits_the_chosen_dataset(open_page):
    p = open_page()
    p.open()
    p.tab("data")
    p.page.select_option("[data-dataset-select]", "shapes")
    p.tab("build")
    p.page.select_option("[data-preset-select]", "cnn_small_32")
    p.page.wait_for_function("(window.playground.store.state.spec || {}).layers?.at(-1)?.out_features === 8")
    assert p.page.evaluate("window.playground.store.state.spec.input") == [3, 32, 32]


# ---------------------------------------------------------------------------------- Initialization


@SIZES
def test_the_initialization_view_shows_its_analysis_before_run_is_pressed(open_page, viewport):
    p = open_page(viewport)
    p.open()
    p.tab("init")
    p.page.wait_for_selector('[data-init="xavier_uniform"] [data-init-verdict]', timeout=120_000)
    p.page.wait_for_selector("[data-init-stack=residual]")
    shot(p, f"init-before-run-{viewport['width']}")


def test_conv2d_layers_get_a_width_they_take(open_page):
    p = open_page()
    p.open()
    p.tab("init")
    p.page.select_option("[data-init-ctl=kind]", "conv2d")
    assert 1 <= int(p.page.input_value("[data-init-ctl=width]")) <= 32
    p.page.click("[data-action=init-run]")
    p.page.wait_for_function(
        "document.querySelector('[data-init-results]').textContent.includes('conv2d 3×3')",
        timeout=120_000,
    )
    assert not p.page.locator("[data-init-error]").is_visible()
    p.page.select_option("[data-init-ctl=kind]", "linear")  # and back: its own width again
    assert p.page.input_value("[data-init-ctl=width]") == "64"


NUMBER = r"(-?[\d.]+(?:e[+-]?\d+)?)"
MEASURED = re.compile(rf"std {NUMBER} at layer (\d+) → {NUMBER} at layer (\d+), (.*)")


def test_every_initialization_verdict_says_what_its_numbers_show(open_page):
    p = open_page()
    p.open()
    p.tab("init")
    p.page.click("[data-action=init-run]")
    p.page.wait_for_selector('[data-init="xavier_uniform"] [data-init-verdict]', timeout=120_000)
    verdicts = p.page.eval_on_selector_all("[data-init-verdict]", "vs => vs.map(v => v.textContent)")
    checked = 0
    for text in verdicts:
        m = MEASURED.search(text)
        if not m:
            continue
        before, after, words = float(m.group(1)), float(m.group(3)), m.group(5)
        ratio = after / before
        if 0.5 <= ratio <= 2:
            assert words.startswith("about the same size"), text
        else:
            factor = float(re.match(rf"{NUMBER} times (smaller|larger)", words).group(1))
            assert math.isclose(factor, max(ratio, 1 / ratio), rel_tol=0.1), text
            assert ("larger" in words) == (ratio > 1) and "same" not in words, text
        checked += 1
    assert checked >= 8, verdicts
    xavier = p.page.text_content('[data-init="xavier_uniform"] [data-init-verdict=activations]')
    assert "times smaller" in xavier, xavier  # tanh under Xavier: about 3 times smaller over 15 layers
