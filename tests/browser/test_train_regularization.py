"""Regularization made visible in the Train view: a run's weight histograms beside another's, the
augmentation preview following its settings, and runs compared in a table that says what differs."""

import time

import httpx
import pytest

from tests.browser.conftest import SHOTS, Page
from tests.browser.test_charts import run_to_the_end, set_field

VIEWPORTS = {"desktop": {"width": 1366, "height": 800}, "phone": {"width": 390, "height": 844}}
SHORT = {"epochs": 1, "max_train": 500, "batch_size": 32}  # 16 steps: a second or so
BIG_L1 = 0.02  # 15 steps of lr 0.05 pull |w| < 0.015 to 0; each step (0.001) overshoots it less than "at 0" counts


@pytest.fixture(params=list(VIEWPORTS))
def sized(request, browser, live_server):
    context = browser.new_context(viewport=VIEWPORTS[request.param])
    p = Page(context.new_page(), live_server.url)
    p.page.set_default_timeout(30_000)
    p.size = request.param
    yield p
    context.close()
    assert not p.errors, "errors in the browser console:\n" + "\n".join(p.errors)


def box_of(locator, seconds=10.0):
    """The element's box once it is on screen: the panel redraws when the page's runs change, and a
    box asked for mid-redraw is None."""
    deadline = time.monotonic() + seconds
    while True:
        locator.wait_for(state="visible", timeout=seconds * 1000)
        box = locator.bounding_box()
        if box is not None or time.monotonic() > deadline:
            return box
        time.sleep(0.1)


def element_shot(p: Page, selector: str, name: str):
    """A picture of one part of the view, without the sticky header drawn over it."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    p.page.add_style_tag(content=".top { position: static !important; }")
    p.page.locator(selector).screenshot(path=str(SHOTS / f"{name}-{p.size}.png"))


def number(text: str) -> float:
    return float(text.strip().rstrip("%"))


def test_the_weights_panel_shows_a_run_without_penalty_beside_one_with_l1(sized, live_server):
    p = sized
    p.open()
    p.tab("train")
    run_to_the_end(p, **SHORT)
    set_field(p, "l1", BIG_L1)
    run_to_the_end(p)
    plain, l1 = p.page.evaluate("window.playground.runs.records.map((r) => r.id)")
    panel = p.page.locator("[data-train-weights]")
    # by default the latest run beside the one before it (once the page has listed it)
    p.page.wait_for_function(
        """([a, b]) => document.querySelector('[data-weights-run=left]').value === a
        && document.querySelector('[data-weights-run=right]').value === b""",
        arg=[plain, l1],
    )
    layers = httpx.get(f"{live_server.url}/api/runs/{l1}/weights", timeout=30).json()["snapshots"][0]["layers"]
    rows = panel.locator("[data-weights-layer]")
    rows.first.locator("svg").first.wait_for()
    assert rows.count() == 1 + len(layers)  # all weights together, then each layer
    for path in ["all"] + [layer["path"] for layer in layers]:
        row = panel.locator(f'[data-weights-layer="{path}"]')
        for run in (plain, l1):
            cell = row.locator(f'[data-weights-cell="{run}"]')
            assert cell.locator('[data-histogram="now"] rect').count() > 5
            assert cell.locator('[data-histogram="start"]').count() == 1
    # the numbers say what the pictures show: L1 gathers weights at 0, and the spread shrinks
    together = panel.locator('[data-weights-layer="all"]')
    near = {
        run: together.locator(f'[data-weights-cell="{run}"] [data-weights-near-zero]').text_content()
        for run in (plain, l1)
    }
    assert number(near[l1].split("→")[1]) > 5 * number(near[plain].split("→")[1]), near
    spread = {
        run: together.locator(f'[data-weights-cell="{run}"] [data-weights-std]').text_content() for run in (plain, l1)
    }
    assert float(spread[l1].split("→")[1]) < float(spread[plain].split("→")[1]), spread
    assert together.locator(f'[data-weights-cell="{l1}"] [data-cut="now"]').count() == 1  # the spike at 0
    # side by side on a laptop, one above the other on a phone, never wider than the screen
    boxes = [box_of(together.locator(f'[data-weights-cell="{run}"]')) for run in (plain, l1)]
    if p.size == "desktop":
        assert abs(boxes[0]["y"] - boxes[1]["y"]) < 2 and boxes[1]["x"] > boxes[0]["x"] + boxes[0]["width"] - 1
    else:
        assert boxes[1]["y"] > boxes[0]["y"] + boxes[0]["height"] - 1
    width = p.page.evaluate("document.documentElement.clientWidth")
    assert all(b["x"] + b["width"] <= width + 1 for b in boxes)
    # the slider goes back to the start: "now" is then the start itself
    slider = panel.locator("[data-weights-epoch]")
    slider.fill("0")
    assert panel.locator('[data-weights-layer="all"] [data-histogram="now"]').count() == 0
    slider.fill("1")
    assert panel.locator('[data-weights-layer="all"] [data-histogram="now"]').count() == 2
    element_shot(p, "[data-train-weights]", "train-weights-l1")
    # one run alone, when the student picks no other
    panel.locator("[data-weights-run=right]").select_option("")
    p.page.wait_for_function("document.querySelectorAll('[data-weights-layer=all] [data-weights-cell]').length === 1")
    panel.locator("[data-weights-run=left]").select_option(l1)
    together.locator(f'[data-weights-cell="{l1}"] svg').wait_for()
    assert together.locator(f'[data-weights-cell="{plain}"]').count() == 0
    # a reload shows them again: they are the server's
    p.page.reload()
    p.tab("train")
    p.page.locator(f'[data-weights-layer="all"] [data-weights-cell="{l1}"] svg').wait_for()


def preview_state(p: Page) -> tuple[str, list[str], str]:
    """What the preview shows: its settings, its draws (data URLs) and [dataset, settings, seed]."""
    root = p.page.locator("[data-train-augment-preview]")
    return (
        root.get_attribute("data-augment"),
        root.locator("[data-augment-copy]").evaluate_all("(imgs) => imgs.map((i) => i.src)"),
        root.get_attribute("data-shown"),
    )


def wait_for_new_preview(p: Page, before: tuple[str, list[str], str]) -> tuple[str, list[str], str]:
    p.page.wait_for_function(
        """(old) => {
        const root = document.querySelector('[data-train-augment-preview]');
        return root.dataset.shown !== old && !('loading' in root.dataset);
    }""",
        arg=before[2],
    )
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
    served = httpx.post(
        f"{live_server.url}/api/datasets/strokes/augment-preview",
        json={"augment": {"shift": 4}, "seed": 0, "n": 4, "copies": 4},
        timeout=30,
    ).json()
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
    p.page.wait_for_function(
        "(old) => { const imgs = [...document.querySelectorAll('[data-augment-copy]')];"
        " return imgs.length && imgs[0].src !== old; }",
        arg=flipped[1][0],
    )
    element_shot(p, "[data-train-augmentation]", "train-augment-preview")


def test_the_comparison_table_highlights_what_differs_and_chooses_the_runs_on_the_charts(sized, live_server):
    p = sized
    p.open()
    p.tab("train")
    run_to_the_end(p, lr=0.05, **SHORT)
    set_field(p, "weight_decay", 0.01)
    run_to_the_end(p, lr=0.02)
    first, second = p.page.evaluate("window.playground.runs.records.map((r) => r.id)")
    table = p.page.locator("[data-compare-table]")
    table.locator(f'[data-chart-toggle="{second}"]').wait_for()
    assert sorted(table.locator("tr[data-differs]").evaluate_all("(rows) => rows.map((r) => r.dataset.setting)")) == [
        "lr",
        "weight_decay",
    ]
    assert "Learning rate" in p.page.text_content("[data-compare-summary]")
    for key in ("dataset", "optimizer", "seed", "batch_size", "dropout", "augment"):
        assert table.locator(f'tr[data-setting="{key}"]').get_attribute("data-differs") is None, key
    lr = table.locator('tr[data-setting="lr"] td').all_text_contents()
    assert lr == ["0.05", "0.02"]
    assert table.locator('tr[data-setting="dropout"] td').all_text_contents() == ["no dropout layer"] * 2
    # its final metrics, as the server has them, and the better one marked
    runs = {
        r["id"]: r
        for r in httpx.get(
            f"{live_server.url}/api/runs",
            params={"network_id": p.page.evaluate("window.playground.store.state.networkId")},
            timeout=30,
        ).json()
    }
    accuracy = table.locator('tr[data-result="test_accuracy"] td').all_text_contents()
    assert [a.rstrip(" ★") for a in accuracy] == [
        f"{100 * runs[r]['metrics']['test_accuracy']:.1f}%" for r in (first, second)
    ]
    assert table.locator('tr[data-result="test_accuracy"] td[data-best]').count() == 1
    assert table.locator('tr[data-result="status"] td').all_text_contents() == ["completed"] * 2
    assert table.locator('tr[data-result="steps"] td').all_text_contents() == [
        str(runs[r]["steps"]) for r in (first, second)
    ]
    for key in ("train_loss", "val_loss", "train_accuracy", "val_accuracy"):
        assert table.locator(f'tr[data-result="{key}"] td').count() == 2
        assert all(
            t.strip() not in ("", "–") for t in table.locator(f'tr[data-result="{key}"] td').all_text_contents()
        ), key
    val_loss = table.locator('tr[data-result="val_loss"] td').all_text_contents()
    assert [float(v.rstrip(" ★")) for v in val_loss] == [
        float(f"{runs[r]['metrics']['val_loss']:.3g}") for r in (first, second)
    ]
    # the highlight is seen, not only marked: a differing row has another background than an equal one
    colour = "(cell) => getComputedStyle(cell).backgroundColor"
    assert table.locator('tr[data-setting="lr"] td').first.evaluate(colour) != table.locator(
        'tr[data-setting="seed"] td'
    ).first.evaluate(colour)
    # both runs' columns are in sight without swiping, on a phone too
    width = p.page.evaluate("document.documentElement.clientWidth")
    for run in (first, second):
        box = table.locator(f'[data-compare-run="{run}"]').bounding_box()
        assert box["x"] + box["width"] <= width + 1, (run, box, width)

    # off the charts and back, from the table
    legend = p.page.locator("[data-chart=loss] [data-legend-group]")
    assert legend.count() == 2
    table.locator(f'[data-chart-toggle="{first}"]').uncheck()
    p.page.wait_for_function("document.querySelectorAll('[data-chart=loss] [data-legend-group]').length === 1")
    assert p.page.locator(f'[data-chart=loss] [data-series-group="{first}"]').count() == 0
    element_shot(p, "[data-train-compare]", "train-compare")

    # after a reload the earlier run is in the table, off the charts, and goes back on with a click
    p.page.reload()
    p.tab("train")
    table.locator(f'[data-chart-toggle="{first}"]').wait_for()
    assert not table.locator(f'[data-chart-toggle="{first}"]').is_checked()
    assert table.locator(f'[data-chart-toggle="{second}"]').is_checked()
    table.locator(f'[data-chart-toggle="{first}"]').check()
    p.page.wait_for_function("document.querySelectorAll('[data-chart=loss] [data-legend-group]').length === 2")
    assert p.page.evaluate("window.playground.runs.active.id") == second  # the buttons keep the latest run
