"""The training curves on a projector: big text, round ticks on gridlines, a loss axis that does not
lie flat, epochs on x, accuracy in percent, a legend for every line style, values on hover, and runs
labelled by what differs between them."""

import itertools
import math
import re

import httpx
import pytest

from tests.browser.conftest import SHOTS, Page

SHORT = {"epochs": 2, "max_train": 640, "batch_size": 16}  # 36 batches an epoch: 72 steps
LONG = {"epochs": 500, "max_train": 1024, "batch_size": 32}


def set_field(p: Page, name: str, value):
    field = p.page.locator(f'[data-hyper="{name}"]')
    field.fill(str(value))
    field.dispatch_event("change")


def run_to_the_end(p: Page, **fields):
    before = p.page.evaluate("window.playground.runs.records.length")
    for name, value in fields.items():
        set_field(p, name, value)
    p.page.click('[data-action="start-run"]')
    p.page.wait_for_function(f"window.playground.runs.records.length > {before}")
    p.page.wait_for_function(
        "window.playground.runs.active.finished && document.querySelector("
        "'[data-run-status]').textContent.startsWith('completed')",
        timeout=120_000,
    )
    p.page.wait_for_timeout(300)  # the next frame draws the last points


@pytest.fixture(scope="module")
def two_runs(browser, live_server):
    """A page whose charts hold two finished runs, lr 0.05 then lr 0.01."""
    context = browser.new_context(viewport={"width": 1366, "height": 800})
    p = Page(context.new_page(), live_server.url)
    p.page.set_default_timeout(30_000)
    p.open()
    p.tab("train")
    run_to_the_end(p, lr=0.05, **SHORT)
    run_to_the_end(p, lr=0.01)
    yield p
    context.close()
    assert not p.errors, "errors in the browser console:\n" + "\n".join(p.errors)


def chart(p: Page, name: str):
    return p.page.locator(f'[data-chart="{name}"]')


def ticks(p: Page, name: str, axis: str) -> list[str]:
    return chart(p, name).locator(f"text[data-tick-{axis}]").all_text_contents()


def is_round_step(step: float) -> bool:
    mantissa = step / 10 ** math.floor(math.log10(step))
    return any(abs(mantissa - m) < 1e-6 for m in (1, 2, 2.5, 5, 10))


def test_chart_text_is_at_least_14_px_and_drawn_at_its_size(two_runs):
    sizes = two_runs.page.evaluate("""() => [...document.querySelectorAll(
        '[data-chart] svg.chart-svg text, [data-chart] figcaption, [data-chart] [data-chart-legend] li')]
        .map((n) => parseFloat(getComputedStyle(n).fontSize))""")
    assert len(sizes) > 20 and min(sizes) >= 14, sizes
    # drawn at its box's size, never scaled down (a viewBox would shrink the text on a phone)
    for name in ("loss", "accuracy"):
        svg = chart(two_runs, name).locator("svg.chart-svg")
        assert svg.get_attribute("viewBox") is None
        assert abs(svg.bounding_box()["width"] - float(svg.get_attribute("width"))) < 1


def test_axes_have_round_ticks_on_gridlines(two_runs):
    for name in ("loss", "accuracy"):
        for axis in ("x", "y"):
            values = [
                float(v)
                for v in chart(two_runs, name)
                .locator(f"text[data-tick-{axis}]")
                .evaluate_all(f"(ns) => ns.map((n) => n.dataset.tick{axis.upper()})")
            ]
            assert len(values) >= 3, (name, axis, values)
            if name == "loss" and axis == "y":  # log scale: 1, 2, 3 or 5 times a power of ten
                for v in values:
                    mantissa = round(v / 10 ** math.floor(math.log10(v) + 1e-9), 6)
                    assert mantissa in (1, 2, 3, 5), values
            else:
                steps = {round(b - a, 9) for a, b in itertools.pairwise(values)}
                assert len(steps) == 1 and is_round_step(steps.pop()), values
            grid = chart(two_runs, name).locator(f"line.grid-{axis}").count()
            assert grid == len(values)


# How high above the x axis the run's loss points after its first 30 steps sit, as shares of the
# plot's height: on a linear axis from 0 they lie along the bottom once the loss has fallen.
LATE_HEIGHTS = """() => {
    const run = window.playground.runs.records[0];
    const svg = document.querySelector('[data-chart=loss] svg.chart-svg');
    const xs = [...svg.querySelectorAll('text[data-tick-x]')];
    const [a, b] = [xs[0], xs[xs.length - 1]];
    const px = (epoch) => +a.getAttribute('x')
        + (epoch - a.dataset.tickX) / (b.dataset.tickX - a.dataset.tickX) * (b.getAttribute('x') - a.getAttribute('x'));
    const ys = [...svg.querySelectorAll('line.grid-y')].map((l) => +l.getAttribute('y1'));
    const [top, bottom] = [Math.min(...ys), Math.max(...ys)];
    const after = px(30 / run.lastBatch.batches);
    const g = svg.querySelectorAll(`[data-series-group="${run.id}"]`);
    const points = [];
    for (const s of g) {
        const d = s.querySelector('path').getAttribute('d');
        for (const m of d.matchAll(/[ML]([\\d.]+),([\\d.]+)/g)) points.push([+m[1], +m[2]]);
    }
    return points.filter(([x]) => x > after).map(([, y]) => (bottom - y) / (bottom - top)).sort((p, q) => p - q);
}"""


def test_the_loss_axis_is_log_and_the_curves_are_not_flat_after_30_steps(two_runs):
    assert "log scale" in chart(two_runs, "loss").locator("text[data-axis=y]").text_content()
    heights = two_runs.page.evaluate(LATE_HEIGHTS)
    assert len(heights) >= 3 and heights[len(heights) // 2] >= 0.25, heights
    # the student may still ask for a linear axis: the same points, placed anew
    two_runs.page.click("[data-loss-log]")
    two_runs.page.wait_for_timeout(200)
    assert "log" not in chart(two_runs, "loss").locator("text[data-axis=y]").text_content()
    linear = two_runs.page.evaluate(LATE_HEIGHTS)
    assert len(linear) == len(heights) and linear != heights
    two_runs.page.click("[data-loss-log]")


def test_x_is_in_epochs_and_accuracy_in_percent(two_runs):
    for name in ("loss", "accuracy"):
        assert chart(two_runs, name).locator("text[data-axis=x]").text_content() == "epoch"
        x = [float(v) for v in ticks(two_runs, name, "x")]
        assert x[0] == 0 and 2 <= x[-1] <= 3, x  # two epochs, not 72 steps
    y = ticks(two_runs, "accuracy", "y")
    assert all(t.endswith("%") for t in y) and y[0] == "0%" and y[-1] == "100%", y


def test_the_legend_decodes_every_line_style_and_marker(two_runs):
    legend = chart(two_runs, "loss").locator("[data-chart-legend]")
    styles = {}
    for style in ("batch", "mean", "val"):
        item = legend.locator(f"[data-legend-style={style}]")
        sample = item.locator("svg line")
        marker = item.locator("svg circle")
        styles[style] = (
            sample.get_attribute("stroke-dasharray"),
            marker.get_attribute("fill") if marker.count() else None,
        )
        # the sample is the line drawn: the same dash pattern
        drawn = chart(two_runs, "loss").locator(f"[data-series-style={style}] path").first
        assert drawn.get_attribute("stroke-dasharray") == styles[style][0]
    assert len(set(styles.values())) == 3, styles  # epoch mean and validation no longer look the same
    assert styles["mean"][1] != "#fff" and styles["val"][1] == "#fff"  # filled and hollow dots
    words = legend.locator("[data-legend-style]").all_text_contents()
    assert any("mini-batch" in w for w in words) and any("validation" in w for w in words)
    assert any("mean" in w for w in words)


def test_hovering_shows_the_values_under_the_pointer(two_runs, live_server):
    run = two_runs.page.evaluate("window.playground.runs.records[1].id")
    history = httpx.get(f"{live_server.url}/api/runs/{run}", timeout=30).json()["history"]
    last_val = [e for e in history if e["type"] == "epoch"][-1]["val_loss"]
    svg = chart(two_runs, "loss").locator("svg.chart-svg")
    marker = chart(two_runs, "loss").locator(f'[data-series-group="{run}"][data-series-style=val] circle').last
    box, dot = svg.bounding_box(), marker.bounding_box()
    two_runs.page.mouse.move(dot["x"] + dot["width"] / 2, box["y"] + 40)
    tip = chart(two_runs, "loss").locator("[data-chart-tip]")
    tip.wait_for(state="visible")
    text = tip.text_content()
    assert "epoch 2.00" in text and "lr 0.01, validation" in text, text
    assert f"{last_val:.3g}" in text, (last_val, text)
    two_runs.page.mouse.move(0, 0)
    tip.wait_for(state="hidden")


def test_runs_are_labelled_by_what_differs_between_them(two_runs):
    for name in ("loss", "accuracy"):
        labels = chart(two_runs, name).locator("[data-legend-group]").all_text_contents()
        assert labels == ["lr 0.05", "lr 0.01"], labels


def test_screenshots_mid_run_and_after_two_runs(two_runs, browser, live_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    two_runs.page.locator("[data-view=train]").screenshot(path=str(SHOTS / "train-two-runs-1366.png"))
    for size in ({"width": 1366, "height": 800}, {"width": 390, "height": 844}):
        context = browser.new_context(viewport=size)
        p = Page(context.new_page(), live_server.url)
        p.page.set_default_timeout(30_000)
        try:
            p.open()
            p.tab("train")
            if size["width"] < 500:  # the phone: two runs overlaid, then one mid-run
                run_to_the_end(p, lr=0.05, **SHORT)
                run_to_the_end(p, lr=0.01)
                p.page.locator("[data-view=train]").screenshot(path=str(SHOTS / "train-two-runs-390.png"))
                curves = p.page.locator('section[aria-labelledby="train-curves-h"]')
                curves.screenshot(path=str(SHOTS / "train-curves-two-runs-390.png"))
            for name, value in LONG.items():
                set_field(p, name, value)
            p.page.click('[data-action="start-run"]')
            p.page.wait_for_function(
                "window.playground.runs.active && window.playground.runs.active.lastBatch"
                " && window.playground.runs.active.lastBatch.epoch >= 3",
                timeout=60_000,
            )
            p.page.locator("[data-view=train]").screenshot(path=str(SHOTS / f"train-mid-run-{size['width']}.png"))
            p.page.locator("[data-run-panel]").screenshot(path=str(SHOTS / f"train-run-panel-{size['width']}.png"))
            assert re.match(r"^(less than a second|about .+)$", p.page.text_content("[data-run-eta]"))
        finally:
            run = p.page.evaluate("window.playground.runs.active && window.playground.runs.active.id")
            if run:
                httpx.post(f"{live_server.url}/api/runs/{run}/stop", timeout=30)
            context.close()
        assert not p.errors, p.errors
