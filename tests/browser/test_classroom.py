"""The page for a projector (1366x800) and a first-time student on a phone (390x844): the cold
open, the header on a phone, datasets that are not downloaded, the recommended network, and the
Initialization view. The server here works offline, as every test does: nothing is downloaded."""


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
    with running_server(tmp_path_factory.mktemp("classroom") / "data", "--offline") as s:
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


# ---------------------------------------------------------------------------------- the Data view


@SIZES
def test_a_dataset_that_is_not_downloaded_says_so_and_how_to_get_it(open_page, viewport):
    p = open_page(viewport)
    asked = []
    p.page.on("request", lambda r: asked.append(r.url) if "/mnist/" in r.url else None)
    p.open()
    p.tab("data")
    p.page.wait_for_selector("[data-sample-grid] img")
    options = p.page.eval_on_selector_all(
        "[data-dataset-select] option", "os => os.map(o => o.textContent)"
    )
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
    assert not p.page.locator(
        "[data-action=download-dataset]"
    ).is_visible()  # this server works offline
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
    p.page.wait_for_function(
        "(window.playground.store.state.activeRun || {}).epoch >= 1", timeout=60_000
    )
    run = p.page.evaluate("window.playground.store.state.activeRun")
    httpx.post(f"{live_server.url}/api/runs/{run['id']}/stop", timeout=30)
    assert p.page.locator("[data-view=train] .error:visible").count() == 0
