"""Regularization made visible in the Train view: the augmentation preview following its settings."""

import httpx
import pytest

from tests.browser.conftest import SHOTS, Page
from tests.browser.test_charts import set_field

VIEWPORTS = {"desktop": {"width": 1366, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(params=list(VIEWPORTS))
def sized(request, browser, live_server):
    context = browser.new_context(viewport=VIEWPORTS[request.param])
    p = Page(context.new_page(), live_server.url)
    p.page.set_default_timeout(30_000)
    p.size = request.param
    yield p
    context.close()
    assert not p.errors, "errors in the browser console:\n" + "\n".join(p.errors)


def element_shot(p: Page, selector: str, name: str):
    """A picture of one part of the view, without the sticky header drawn over it."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    p.page.add_style_tag(content=".top { position: static !important; }")
    p.page.locator(selector).screenshot(path=str(SHOTS / f"{name}-{p.size}.png"))


def preview_state(p: Page) -> tuple[str, list[str], str]:
    """What the preview shows: its settings, its draws (data URLs) and [dataset, settings, seed]."""
    root = p.page.locator("[data-train-augment-preview]")
    return (root.get_attribute("data-augment"),
            root.locator("[data-augment-copy]").evaluate_all("(imgs) => imgs.map((i) => i.src)"),
            root.get_attribute("data-shown"))


def wait_for_new_preview(p: Page, before: tuple[str, list[str], str]) -> tuple[str, list[str], str]:
    p.page.wait_for_function("""(old) => {
        const root = document.querySelector('[data-train-augment-preview]');
        return root.dataset.shown !== old && !('loading' in root.dataset);
    }""", arg=before[2])
    return preview_state(p)


def test_the_augmentation_preview_follows_shift_noise_and_flip(sized, live_server):
    p = sized
    p.open()
    p.tab("train")
    p.page.locator("[data-augment-copy]").first.wait_for()
    plain = preview_state(p)
    originals = p.page.locator("[data-augment-original]").evaluate_all("(imgs) => imgs.map((i) => i.src)")
    assert len(originals) == 4 and len(plain[1]) == 16
    assert set(plain[1]) <= set(originals)  # nothing set: every draw is the image itself

    set_field(p, "augment.shift", 4)
    shifted = wait_for_new_preview(p, plain)
    assert '"shift":4' in shifted[0] and not set(shifted[1]) <= set(originals)
    # what the page shows is what the API draws with the same settings and seed
    served = httpx.post(f"{live_server.url}/api/datasets/strokes/augment-preview",
                        json={"augment": {"shift": 4}, "seed": 0, "n": 4, "copies": 4}, timeout=30).json()
    assert shifted[1] == [png for s in served["samples"] for png in s["augmented"]]

    # noise shows while it is typed, before the field is left
    noise = p.page.locator('[data-hyper="augment.noise"]')
    noise.fill("0.2")
    noisy = wait_for_new_preview(p, shifted)
    assert '"noise":0.2' in noisy[0] and noisy[1] != shifted[1]

    # flip is not for digits; on coloured shapes it mirrors
    assert p.page.locator('[data-hyper="augment.flip"]').is_disabled()
    p.page.evaluate("window.playground.store.set({ dataset: 'shapes' })")
    on_shapes = wait_for_new_preview(p, noisy)
    p.page.locator('[data-hyper="augment.flip"]').check()
    flipped = wait_for_new_preview(p, on_shapes)
    assert '"flip":true' in flipped[0] and flipped[1] != on_shapes[1]
    again = p.page.locator("[data-action=augment-again]")
    again.click()
    p.page.wait_for_function("(old) => { const imgs = [...document.querySelectorAll('[data-augment-copy]')];"
                             " return imgs.length && imgs[0].src !== old; }", arg=flipped[1][0])
    element_shot(p, "[data-train-augmentation]", "train-augment-preview")
