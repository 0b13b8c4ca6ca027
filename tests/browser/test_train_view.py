"""The Train view in a live demo: invalid settings hold Start back, a collapsed run says what happened,
the time left reads as a person says it, and the form follows the server's own limits."""

import json

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import Page
from tests.browser.test_charts import run_to_the_end, set_field


def runs_of_the_page(p: Page, base_url: str) -> int:
    network = p.page.evaluate("window.playground.store.state.networkId")
    return len(httpx.get(f"{base_url}/api/runs", params={"network_id": network}, timeout=30).json()) if network else 0


def test_start_is_refused_until_every_field_is_valid(page: Page, live_server):
    page.open()
    page.tab("train")
    set_field(page, "lr", -1)
    set_field(page, "batch_size", 0)
    for name, words in (("lr", "above 0"), ("batch_size", "at least 1")):
        error = page.page.locator(f'.field:has([data-hyper="{name}"]) .field-error')
        assert error.is_visible() and words in error.text_content()
    start = page.page.locator('[data-action="start-run"]')
    assert start.is_disabled()
    blocked = page.page.locator("[data-start-blocked]").text_content()
    assert "Learning rate" in blocked and "Batch size" in blocked
    before = runs_of_the_page(page, live_server.url)
    start.dispatch_event("click")  # even a click that gets through starts nothing
    page.page.wait_for_timeout(1000)
    assert runs_of_the_page(page, live_server.url) == before
    # the fields keep what the student typed, with their errors, and the store was not rewritten
    assert page.page.input_value('[data-hyper="lr"]') == "-1"
    assert page.page.input_value('[data-hyper="batch_size"]') == "0"
    assert page.page.evaluate("window.playground.store.state.hyper.lr") == 0.05
    set_field(page, "lr", 0.05)
    set_field(page, "batch_size", 64)
    assert not start.is_disabled() and page.page.locator("[data-start-blocked]").is_hidden()


def test_a_run_collapsed_to_one_class_says_what_happened_and_why(page: Page):
    page.open()
    page.tab("train")
    # lr 1: its first steps kill the ReLUs (at 0.5 the output layer's small start now lets LeNet-5 learn)
    run_to_the_end(page, lr=1, epochs=1, max_train=3000)
    status = page.page.locator("[data-run-status]")
    assert "collapsed to one class" in page.page.text_content("[data-run-diagnosis]")
    assert status.get_attribute("data-diagnosis") == "collapsed"  # the warning colour, not completed's green
    message = page.page.text_content("[data-run-message]")
    assert "learning rate" in message and "0.1" in message, message
    result = page.page.text_content("[data-run-result]")
    assert "collapsed to one class" in result, result
    heading = page.page.text_content("[data-wrong-heading]")
    assert "confident" not in heading.lower() and "unsure" in heading, heading
    cards = page.page.locator("[data-most-confused] li").all_text_contents()
    assert cards and all("sure" not in c for c in cards), cards


def test_a_run_with_too_few_validation_examples_says_so_beside_its_status(page: Page):
    page.open()
    page.tab("train")
    run_to_the_end(page, lr=0.05, epochs=1, max_train=40)  # 4 validation examples
    status = page.page.locator("[data-run-status]")
    assert "too few validation examples" in page.page.text_content("[data-run-diagnosis]")
    assert status.get_attribute("data-diagnosis") == "too_few_examples"
    assert "4 validation examples are too few" in page.page.text_content("[data-run-message]")
    result = page.page.text_content("[data-run-result]")
    assert "too few validation examples" in result and "did not learn" not in result, result


def test_time_left_reads_as_a_person_says_it(page: Page):
    page.open()
    page.tab("train")
    page.page.evaluate("""() => { window.etas = [];
        new MutationObserver(() => window.etas.push(document.querySelector('[data-run-eta]').textContent))
            .observe(document.querySelector('[data-run-eta]'), { childList: true, characterData: true, subtree: true });
    }""")
    run_to_the_end(page, epochs=1, max_train=640, batch_size=16)
    seen = page.page.evaluate("window.etas")
    assert seen and not any("about under" in t for t in seen), seen
    said = page.page.evaluate("""async () => {
        const { timeLeft } = await import('/static/views/train/facts.js');
        return [0.3, 12.4, 125].map(timeLeft);
    }""")
    assert said == ["less than a second", "about 12 s", "about 2 min 5 s"]


def test_the_form_is_built_from_the_servers_definitions(page: Page, live_server):
    served = {o["name"]: o for o in httpx.get(f"{live_server.url}/api/train/options", timeout=30).json()["options"]}
    page.open()
    page.tab("train")
    epochs = page.page.locator('[data-hyper="epochs"]')
    assert epochs.get_attribute("max") == str(served["epochs"]["max"]) == "500"
    assert page.page.get_attribute('[data-hyper="batch_size"]', "max") == "1024"
    # momentum left blank is the optimizer's own, which its placeholder shows and follows
    momentum = page.page.locator('[data-hyper="momentum"]')
    assert served["momentum"]["default"] is None and momentum.input_value() == ""
    by_optimizer = served["momentum"]["default_by"]["optimizer"]
    assert momentum.get_attribute("placeholder") == "0.9" == str(by_optimizer["sgd"])
    page.page.select_option('[data-hyper="optimizer"]', "rmsprop")
    expect(momentum).to_have_attribute("placeholder", "0")
    assert by_optimizer["rmsprop"] == 0
    page.page.select_option('[data-hyper="optimizer"]', "adam")
    expect(momentum).to_have_attribute("placeholder", "")
    expect(momentum).to_be_hidden()  # Adam has no momentum to set
    choices = page.page.locator('[data-hyper="optimizer"] option').evaluate_all("(os) => os.map((o) => o.value)")
    assert choices == served["optimizer"]["choices"]


def test_the_form_follows_a_server_with_other_limits(page: Page, live_server):
    answer = httpx.get(f"{live_server.url}/api/train/options", timeout=30).json()
    for o in answer["options"]:
        if o["name"] == "epochs":
            o["max"] = 7
        if o["name"] == "optimizer":
            o["choices"] = ["sgd", "adam"]
    page.page.route(
        "**/api/train/options",
        lambda route: route.fulfill(status=200, content_type="application/json", body=json.dumps(answer)),
    )
    page.open()
    page.tab("train")
    assert page.page.get_attribute('[data-hyper="epochs"]', "max") == "7"
    assert page.page.locator('[data-hyper="optimizer"] option').count() == 2
    set_field(page, "epochs", 8)
    assert "at most 7" in page.page.text_content('[data-field-error="epochs"]')
    assert page.page.locator('[data-action="start-run"]').is_disabled()
    set_field(page, "epochs", 7)
    assert not page.page.locator('[data-action="start-run"]').is_disabled()


def start_a_short_run(page: Page, live_server) -> dict:
    """Start, from the form as it is, a run of one epoch on a few examples; stop it; its config."""
    set_field(page, "epochs", 1)
    set_field(page, "max_train", 200)
    page.page.click('[data-action="start-run"]')
    page.page.wait_for_function("(window.playground.store.state.activeRun || {}).id")
    run_id = page.page.evaluate("window.playground.store.state.activeRun.id")
    config = httpx.get(f"{live_server.url}/api/runs/{run_id}", timeout=30).json()["config"]
    httpx.post(f"{live_server.url}/api/runs/{run_id}/stop", timeout=30)
    return config


def test_each_optimizers_and_schedules_own_settings_show_with_it_and_reach_the_run(page: Page, live_server):
    page.open()
    page.tab("train")
    row = lambda name: page.page.locator(f'.field:has([data-hyper="{name}"])')
    # SGD's Nesterov shows with SGD; Adam's betas with Adam; the floor with the cosine schedule
    expect(row("nesterov")).to_be_visible()
    for name in ("beta1", "beta2", "min_lr", "step_size"):
        expect(row(name)).to_be_hidden()
    page.page.select_option('[data-hyper="optimizer"]', "adam")
    expect(row("beta1")).to_be_visible()
    expect(row("nesterov")).to_be_hidden()
    assert page.page.input_value('[data-hyper="beta2"]') == "0.999"
    page.page.select_option('[data-hyper="schedule"]', "cosine")
    expect(row("min_lr")).to_be_visible()
    # early stopping is blank (off) until set, and a run takes what the form holds
    assert page.page.input_value('[data-hyper="early_stopping"]') == ""
    set_field(page, "beta1", 0.8)
    set_field(page, "min_lr", 0.001)
    set_field(page, "early_stopping", 2)
    config = start_a_short_run(page, live_server)
    assert (config["optimizer"], config["beta1"], config["schedule"]) == ("adam", 0.8, "cosine")
    assert (config["min_lr"], config["early_stopping"]) == (0.001, 2)


def test_a_setting_left_from_another_optimizer_does_not_go_with_the_run(page: Page, live_server):
    page.open()
    page.tab("train")
    set_field(page, "momentum", 0.5)  # set for SGD...
    page.page.check('[data-hyper="nesterov"]')
    page.page.select_option('[data-hyper="optimizer"]', "adam")  # ...then Adam chosen, which has none
    config = start_a_short_run(page, live_server)
    assert (config["optimizer"], config["momentum"], config["nesterov"]) == ("adam", None, False)
    expect(page.page.locator("[data-run-error]")).to_be_hidden()
