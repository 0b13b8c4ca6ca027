"""The page comes back to its network and its run: after a reload, in a second tab, after a restart."""

import re
import time

import httpx
import pytest

from tests.browser.conftest import SHOTS, Page
from tests.e2e.conftest import start_server

DESKTOP = {"width": 1366, "height": 800}
PHONE = {"width": 390, "height": 844}
# long enough to be still running when the test looks; every test stops its run at the end
LONG_RUN = {"dataset": "strokes", "epochs": 500, "max_train": 1024, "batch_size": 32}
WAIT = 20_000  # ms: what the page is given to show a run (it looks for one every 2 s)


def status_is(p: Page, *statuses: str, timeout: int = WAIT):
    pattern = "|".join(statuses)
    p.page.wait_for_function(
        f"/^({pattern})$/.test(document.querySelector('[data-run-status]').textContent.trim())", timeout=timeout
    )


def chart_points(p: Page) -> int:
    """The series drawn on the loss chart (each is drawn once it has a point)."""
    return p.page.locator("[data-chart=loss] [data-series-style]").count()


def start_long_run_from_the_page(p: Page) -> dict:
    """Start a run from the Train view and wait for its first batches; returns {id, network_id}."""
    p.tab("train")
    for path, value in (
        ("epochs", LONG_RUN["epochs"]),
        ("max_train", LONG_RUN["max_train"]),
        ("batch_size", LONG_RUN["batch_size"]),
    ):
        field = p.page.locator(f'[data-hyper="{path}"]')
        field.fill(str(value))
        field.dispatch_event("change")
    p.page.click('[data-action="start-run"]')
    status_is(p, "running", timeout=60_000)
    p.page.wait_for_function(
        "document.querySelector('[data-run-epoch]').textContent.includes('of 500')", timeout=60_000
    )
    run = p.page.evaluate("window.playground.store.state.activeRun")
    return {"id": run["id"], "network_id": run["network_id"]}


def stop(base_url: str, run_id: str):
    r = httpx.post(f"{base_url}/api/runs/{run_id}/stop", timeout=30)
    assert r.status_code in (200, 409), r.text  # 409: it has ended already


def wait_run(base_url: str, run_id: str, statuses, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        run = httpx.get(f"{base_url}/api/runs/{run_id}", timeout=30).json()
        if run["status"] in statuses or time.monotonic() > deadline:
            return run
        time.sleep(0.2)


def shot_path(name: str):
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS / f"{name}.png"


def new_page(browser, base_url: str, viewport=DESKTOP) -> Page:
    context = browser.new_context(viewport=viewport)
    p = Page(context.new_page(), base_url)
    p.page.set_default_timeout(30_000)
    return p


def close(p: Page):
    p.page.context.close()
    assert not p.errors, "errors in the browser console:\n" + "\n".join(p.errors)


def test_the_page_url_carries_the_network_but_a_shared_link_does_not(browser, live_server):
    p = new_page(browser, live_server.url)
    p.open()
    p.tab("inspect")  # Inspect needs weights: the session builds the network
    p.page.wait_for_function("window.playground.store.state.networkId", timeout=60_000)
    mine = p.page.evaluate("window.playground.store.state.networkId")
    assert f"net={mine}" in p.page.evaluate("location.hash")
    shared = p.page.evaluate("window.playground.store.shareUrl()")
    assert "net=" not in shared and mine not in shared

    # a student who opens the link gets a network of their own
    q = new_page(browser, live_server.url)
    q.page.goto(shared)
    q.page.wait_for_selector('[data-view="inspect"]:not([hidden])')
    q.page.wait_for_function("window.playground.store.state.networkId", timeout=60_000)
    assert q.page.evaluate("window.playground.store.state.networkId") != mine
    close(q)
    close(p)


def test_a_network_that_is_gone_is_said_quietly_and_the_page_goes_on(browser, live_server):
    p = new_page(browser, live_server.url)
    p.expect_http_error(404)
    p.open("#net=0123456789abcdef")
    notice = p.page.locator("[data-page-notice]")
    notice.wait_for(state="visible", timeout=WAIT)
    assert "no longer" in notice.text_content()
    assert not p.page.locator("[data-page-error]").is_visible()
    assert "net=" not in p.page.evaluate("location.hash")
    p.tab("inspect")
    p.page.wait_for_function("window.playground.store.state.networkId", timeout=60_000)
    close(p)


def test_a_reload_during_training_comes_back_to_the_run(browser, live_server):
    p = new_page(browser, live_server.url)
    p.open()
    run = start_long_run_from_the_page(p)
    try:
        p.page.reload()
        p.page.wait_for_selector("[data-view]:not([hidden])")
        status_is(p, "running")
        assert p.page.is_enabled('[data-action="pause-run"]')
        assert p.page.is_enabled('[data-action="stop-run"]')
        assert not p.page.is_enabled('[data-action="start-run"]')
        p.page.wait_for_function(
            "document.querySelectorAll('[data-chart=loss] [data-series-style]').length > 0", timeout=WAIT
        )
        assert f"net={run['network_id']}" in p.page.evaluate("location.hash")
        state = p.page.evaluate("window.playground.store.state")
        assert state["networkId"] == run["network_id"]
        assert state["activeRun"]["id"] == run["id"]
        assert re.search(r"\d+ of 500", p.page.text_content("[data-run-epoch]"))
        p.shot("train-after-reload-1366")
        p.page.set_viewport_size(PHONE)
        p.page.wait_for_timeout(300)
        p.shot("train-after-reload-390")
        p.page.set_viewport_size(DESKTOP)

        p.page.click('[data-action="pause-run"]')
        status_is(p, "paused")
        assert p.page.is_enabled('[data-action="resume-run"]')
        assert httpx.get(f"{live_server.url}/api/runs/{run['id']}").json()["status"] == "paused"

        # Inspect shows the network being trained: no other network is built for it
        before = len(httpx.get(f"{live_server.url}/api/networks").json())
        p.tab("inspect")
        p.page.wait_for_selector('[data-overview-layer="layers[0]"] [data-map]', timeout=60_000)
        assert len(httpx.get(f"{live_server.url}/api/networks").json()) == before
        assert p.page.evaluate("window.playground.store.state.networkId") == run["network_id"]
    finally:
        stop(live_server.url, run["id"])
    close(p)


def test_a_reload_after_a_run_shows_how_it_ended(browser, live_server):
    p = new_page(browser, live_server.url)
    p.open()
    p.tab("train")
    for path, value in (("epochs", 1), ("max_train", 256)):
        field = p.page.locator(f'[data-hyper="{path}"]')
        field.fill(str(value))
        field.dispatch_event("change")
    p.page.click('[data-action="start-run"]')
    status_is(p, "completed", timeout=120_000)
    before = p.page.text_content("[data-val-accuracy]")
    p.page.reload()
    p.page.wait_for_selector('[data-view="train"]:not([hidden])')
    status_is(p, "completed")
    assert p.page.text_content("[data-val-accuracy]") == before
    assert "run 1" in p.page.text_content("[data-run-message]")
    p.page.wait_for_selector("[data-confusion] td", timeout=WAIT)
    assert p.page.locator("[data-confusion] td").count() >= 100
    assert chart_points(p) > 0
    assert p.page.is_enabled('[data-action="start-run"]')
    assert not p.page.is_enabled('[data-action="stop-run"]')
    close(p)


def test_a_second_tab_sees_the_same_run_and_picks_up_a_new_one(browser, live_server):
    a = new_page(browser, live_server.url)
    a.open()
    first = start_long_run_from_the_page(a)
    b = new_page(browser, live_server.url, viewport={"width": 1280, "height": 800})
    second = None
    try:
        b.page.goto(a.page.url)
        b.page.wait_for_selector('[data-view="train"]:not([hidden])')
        status_is(b, "running")
        b.page.wait_for_function(
            "document.querySelectorAll('[data-chart=loss] [data-series-style]').length > 0", timeout=WAIT
        )
        assert b.page.evaluate("window.playground.store.state.activeRun.id") == first["id"]

        # stopped in one tab: the other sees it end
        a.page.click('[data-action="stop-run"]')
        status_is(a, "stopped", timeout=60_000)
        status_is(b, "stopped", timeout=60_000)

        # a run started elsewhere (here: the API, as a notebook would) is picked up within a few seconds
        r = httpx.post(f"{live_server.url}/api/networks/{first['network_id']}/runs", json=LONG_RUN, timeout=30)
        assert r.status_code == 201, r.text
        second = r.json()
        b.page.wait_for_function(
            f"(window.playground.store.state.activeRun || {{}}).id === '{second['id']}'", timeout=8_000
        )
        status_is(b, "queued", "running")
        assert b.page.is_enabled('[data-action="stop-run"]')
        a.page.wait_for_function(
            f"(window.playground.store.state.activeRun || {{}}).id === '{second['id']}'", timeout=8_000
        )
    finally:
        stop(live_server.url, first["id"])
        if second:
            stop(live_server.url, second["id"])
    close(b)
    close(a)


def test_an_interrupted_run_shows_why_and_resumes_from_the_page(browser, tmp_path):
    data = tmp_path / "data"
    first = start_server(data)
    try:
        net = httpx.post(f"{first.url}/api/networks", json={"preset": "lenet5"}, timeout=30).json()
        run = httpx.post(f"{first.url}/api/networks/{net['id']}/runs", json=LONG_RUN, timeout=30).json()
        deadline = time.monotonic() + 90
        while httpx.get(f"{first.url}/api/runs/{run['id']}", timeout=30).json()["epoch"] < 1:
            assert time.monotonic() < deadline, "the run did not finish an epoch"
            time.sleep(0.1)
    finally:
        first.stop()  # SIGTERM: the run ends interrupted, resumable from its checkpoint
    second = start_server(data)
    try:
        p = new_page(browser, second.url)
        p.open(f"#net={net['id']}")
        p.tab("train")
        status_is(p, "interrupted")
        assert "resume" in p.page.text_content("[data-run-message]")
        assert p.page.is_enabled('[data-action="resume-run"]')
        assert not p.page.is_enabled('[data-action="stop-run"]')
        p.shot("train-interrupted")
        p.page.click('[data-action="resume-run"]')
        status_is(p, "queued", "running", "completed", timeout=60_000)
        assert wait_run(second.url, run["id"], ("running", "completed"))["status"] in ("running", "completed")
        p.page.wait_for_function(
            "document.querySelectorAll('[data-chart=loss] [data-series-style]').length > 0", timeout=WAIT
        )
        status_is(p, "running", "completed", timeout=60_000)
        stop(second.url, run["id"])
        status_is(p, "stopped", "completed", timeout=60_000)
        close(p)
    finally:
        second.stop()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366", "390"])
def test_the_header_badge_shows_a_training_run_from_any_view(browser, live_server, viewport):
    p = new_page(browser, live_server.url, viewport)
    p.open()
    badge = p.page.locator("[data-run-badge]")
    assert not badge.is_visible()
    run = start_long_run_from_the_page(p)
    try:
        p.tab("build")
        badge.wait_for(state="visible", timeout=WAIT)
        p.page.wait_for_function(
            "/^Training: epoch \\d+ of 500 · \\d+%$/.test(document.querySelector('[data-run-badge]').textContent.trim())",
            timeout=WAIT,
        )
        box = badge.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], box
        overflow = p.page.evaluate("(h => h.scrollWidth - h.clientWidth)(document.querySelector('header'))")
        assert overflow <= 2, f"the header is wider than the window by {overflow}px"
        p.page.screenshot(path=str(shot_path(f"badge-{viewport['width']}")), full_page=False)
        badge.click()
        p.page.wait_for_selector('[data-view="train"]:not([hidden])')
        header = p.page.locator("header").bounding_box()
        status = p.page.locator("[data-run-status]").bounding_box()
        assert header["y"] + header["height"] <= status["y"] <= viewport["height"], (header, status)

        httpx.post(f"{live_server.url}/api/runs/{run['id']}/pause", timeout=30)
        p.tab("data")
        p.page.wait_for_function(
            "document.querySelector('[data-run-badge]').textContent.trim() === 'Paused'", timeout=WAIT
        )
    finally:
        stop(live_server.url, run["id"])
    badge.wait_for(state="hidden", timeout=WAIT)
    close(p)
