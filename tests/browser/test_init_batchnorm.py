"""Batch norm in the Initialization view, on a projector (1366x800) and a phone (390x844): the
same deep stack without and with batch norm at step 0, layer by layer, and both trained on the
strokes digits with their loss and accuracy curves on the same two charts. The page's own request
to train is made tiny on its way to the server (1 epoch of 640 digits), so the runs take a
moment."""

import json
import re

import httpx
import pytest

from tests.browser.conftest import SHOTS, Page
from tests.e2e.conftest import running_server

PROJECTOR = {"width": 1366, "height": 800}
PHONE = {"width": 390, "height": 844}
SIZES = pytest.mark.parametrize("viewport", [PROJECTOR, PHONE], ids=["1366", "390"])
WELCOMED = "localStorage.setItem('cnn-playground.welcomed', '1')"
TINY = {"epochs": 1, "examples": 640}  # 18 steps of 32 digits each, 64 digits kept to validate
STEPS = 18


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("init-batchnorm") / "data", "--offline") as s:
        yield s


@pytest.fixture
def lab(browser, live_server, viewport):
    """The Initialization view at `viewport`, its first analysis shown; the page's requests to
    train are made tiny, and the WebSockets it opens are recorded in lab.sockets."""
    context = browser.new_context(viewport=viewport)
    context.add_init_script(WELCOMED)
    p = Page(context.new_page(), live_server.url)
    p.page.set_default_timeout(60_000)
    p.sockets = []
    p.page.on("websocket", lambda ws: p.sockets.append(ws.url))

    def tiny(route):
        body = json.loads(route.request.post_data)
        route.continue_(post_data=json.dumps({**body, **TINY}))

    p.page.route("**/api/init/batchnorm/runs", tiny)
    p.open()
    p.tab("init")
    p.page.wait_for_selector("[data-init-bn-verdict=activations]", timeout=120_000)
    yield p
    context.close()
    assert not p.errors, "errors in the browser console:\n" + "\n".join(p.errors)


def shot(p: Page, name: str, selector: str):
    SHOTS.mkdir(parents=True, exist_ok=True)
    p.page.locator(selector).screenshot(path=str(SHOTS / f"{name}.png"))


def overflow(p: Page) -> int:
    return p.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def chart_values(p: Page, title: str) -> dict[str, list[float]]:
    """The per-layer values a chart of the batch-norm section draws, read from its description:
    "<title>, log scale, per layer. without batch norm: 9, 43, ...; with batch norm: 0.77, ..."."""
    label = p.page.get_attribute(f'[data-init-bn-results] canvas[aria-label^="{title}"]', "aria-label")
    series = label.split("per layer. ", 1)[1].split("; ")
    return {name: [float(v) for v in values.split(", ")] for name, values in (s.split(": ", 1) for s in series)}


def settle(p: Page, activation: str, init: str, text: str):
    """Choose the section's activation and initializer, and wait for the stacks measured so."""
    p.page.select_option("#init-bn-act", activation)
    p.page.select_option("#init-bn-init", init)
    p.page.wait_for_function(
        "t => document.querySelector('[data-init-bn-results]').textContent.includes(t)",
        arg=text,
        timeout=120_000,
    )
    p.page.wait_for_function("!document.querySelector('[data-action=init-run]').disabled")


@SIZES
def test_batch_norm_keeps_the_signal_that_a_plain_stack_blows_up(lab, viewport):
    p = lab
    settle(p, "relu", "normal", "15 × (linear + relu), normal (std 1)")
    plain, normed = (p.page.locator(f"[data-init-bn-stack={k}]") for k in ("plain", "normed"))
    assert plain.get_attribute("data-acts") == "explode"
    assert plain.get_attribute("data-grads") == "explode"
    assert normed.get_attribute("data-acts") == "constant"
    assert normed.get_attribute("data-grads") not in ("explode", "vanish", "dead")
    said = p.page.text_content("[data-init-bn-verdict=activations]")
    assert re.search(
        r"without batch norm are \S+ times larger at layer 15 than at layer 1 "
        r"\(exploding\); with it, they stay within a factor of",
        said,
    ), said
    assert "Gradients without batch norm" in p.page.text_content("[data-init-bn-verdict=gradients]")

    # both stacks on each chart, 15 layers each: one grows by its width's factor, one keeps its size
    for title in ("std of activations per layer", "std of gradients per layer"):
        values = chart_values(p, title)
        assert set(values) == {"without batch norm", "with batch norm"}
        assert all(len(v) == 15 for v in values.values())
    acts = chart_values(p, "std of activations per layer")
    assert acts["without batch norm"][-1] / acts["without batch norm"][0] > 1e6
    assert max(acts["with batch norm"]) / min(acts["with batch norm"]) < 2
    # side by side on a projector, one above the other on a phone
    boxes = [box.bounding_box() for box in (plain, normed)]
    if viewport["width"] > 1000:
        assert boxes[0]["y"] == boxes[1]["y"] and boxes[0]["x"] < boxes[1]["x"]
    else:
        assert boxes[0]["y"] + boxes[0]["height"] <= boxes[1]["y"]
    assert overflow(p) <= 2, f"the page is wider than the window by {overflow(p)}px"
    shot(p, f"init-batchnorm-step0-{viewport['width']}", "[data-init-batchnorm]")


@SIZES
def test_train_both_follows_the_two_runs_onto_one_loss_and_one_accuracy_chart(lab, viewport):
    p = lab
    training = p.page.locator("[data-init-bn-training]")
    assert "Nothing trained yet" in training.locator("[data-init-bn-status]").text_content()
    assert training.locator("[data-series-group]").count() == 0
    with p.page.expect_response("**/api/init/batchnorm/runs") as answer:
        p.page.click("[data-action=init-bn-train]")
    pair = answer.value.json()
    assert answer.value.status == 201 and pair["steps"] == STEPS
    runs = [s["run"]["id"] for s in pair["stacks"]]
    verdict = training.locator("[data-init-bn-verdict=training]")
    verdict.wait_for(state="visible", timeout=120_000)

    # each run was followed over its own WebSocket
    for run in runs:
        assert any(f"/api/runs/{run}/events" in url for url in p.sockets), (run, p.sockets)
    status = training.locator("[data-init-bn-status]").text_content()
    assert f"without batch norm, done, {STEPS} steps; with batch norm, done, {STEPS} steps" in status, status
    said = verdict.text_content()
    assert re.search(
        r"without batch norm, [\d.]+% of the validation digits named right.*; "
        r"with batch norm, [\d.]+% of the validation digits named right",
        said,
    ), said

    for name in ("bn-loss", "bn-accuracy"):
        chart = training.locator(f"[data-chart={name}]")
        legend = chart.locator("[data-chart-legend]").text_content()
        assert "without batch norm" in legend and "with batch norm" in legend, legend
        for run in runs:  # both curves on this one chart, every step drawn
            batches = chart.locator(f'[data-series-group="{run}"][data-series-style=batch] path')
            assert batches.count() == 1, (name, run)
            path = batches.get_attribute("d")
            assert path.count("L") == STEPS - 1, (name, run, path)
            assert chart.locator(f'[data-series-group="{run}"][data-series-style=val]').count()
    assert overflow(p) <= 2, f"the page is wider than the window by {overflow(p)}px"
    shot(p, f"init-batchnorm-trained-{viewport['width']}", "[data-init-bn-training]")


@pytest.mark.parametrize("viewport", [PROJECTOR], ids=["1366"])
def test_a_depth_out_of_range_says_what_to_change_and_trains_nothing(lab, live_server):
    p = lab
    runs = httpx.get(f"{live_server.url}/api/runs", timeout=30).json()
    asked = []
    p.page.on("request", lambda r: asked.append(r.url) if "/api/init/" in r.url else None)
    p.page.fill("[data-init-ctl=depth]", "40")
    p.page.click("[data-action=init-bn-train]")
    error = p.page.locator("[data-init-bn-training] .error")
    error.wait_for(state="visible")
    assert error.text_content() == "depth must be a whole number from 2 to 30"
    assert not any(url.endswith("/api/init/batchnorm/runs") for url in asked), asked
    assert p.page.locator("[data-init-bn-training] [data-series-group]").count() == 0
    assert httpx.get(f"{live_server.url}/api/runs", timeout=30).json() == runs
