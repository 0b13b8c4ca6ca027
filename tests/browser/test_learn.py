"""The Learn view in Chromium: the lecture's lessons in order, each with its text, its live
widget (the playground's own view, in an iframe of the page in embed mode) and its
exercises, which the server grades. The right answers come from the API's solution
endpoint, asked as another learner, never from the page."""

import base64
import json

import httpx
import pytest

from tests.browser.conftest import SHOTS, Page

# what shows that an embedded view has come to life
READY = {
    "data": "[data-sample-grid] img",
    "build": "[data-layer-path]",
    "train": "[data-action=start-run]",
    "inspect": "[data-filters-layer]",
    "conv": "[data-conv-dw] td",
    "init": "[data-init-residual]",
}
TEACHER = {"X-Learner": "browser-test-teacher"}  # the test's look-ups never count for the page's learner
FORMATS = [
    ("integer", "kps", "output_size"),
    ("number", "pooling", "avgpool_gradient"),
    ("cell", "pooling", "maxpool_route"),
    ("choice", "architectures", "largest_layer"),
]


def api(server, path: str):
    """GET, or POST for a solution (showing one is recorded)."""
    method = httpx.post if path.endswith("/solution") else httpx.get
    r = method(f"{server.url}/api{path}", headers=TEACHER, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def open_learn(p: Page, hash_: str = ""):
    p.open(hash_)
    p.tab("learn")
    p.page.wait_for_selector("[data-lesson-title]")


def go_to(p: Page, lesson: str):
    toggle = p.page.locator("[data-action=toggle-lessons]")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
    p.page.click(f"[data-lesson-link={lesson}]")
    p.page.wait_for_selector(f'[data-lesson="{lesson}"] [data-exercise-id]')


def shared_state(url: str) -> dict:
    """The page's shareable state, read back from the s= part of its address."""
    encoded = url.split("#s=", 1)[1].split("&", 1)[0]
    return json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))


def widget_frame(p: Page):
    frame_element = p.page.wait_for_selector("[data-widget-frame]", state="attached")
    frame = frame_element.content_frame()
    frame.wait_for_function("window.playground !== undefined")
    return frame


def card(p: Page, kind: str):
    return p.page.locator(f"[data-exercise-kind={kind}]")


def answer(p: Page, kind: str, fmt: str, value):
    c = card(p, kind)
    if fmt in ("integer", "number"):
        c.locator("[data-answer-input]").fill(str(value))
    elif fmt == "cell":
        c.locator(f"[data-cell='{value[0]},{value[1]}']").click()
    else:
        c.locator(f"[data-choice='{value}']").check()
    c.locator("[data-action=check-answer]").click()


def wrong_answer(fmt: str, expected, exercise: dict):
    if fmt in ("integer", "number"):
        return expected + 1
    if fmt == "cell":
        return [0, 1] if expected == [0, 0] else [0, 0]
    return next(o["id"] for o in exercise["answer_format"]["options"] if o["id"] != expected)


def test_every_lesson_in_order_shows_its_text_its_live_widget_and_its_exercises(page, live_server):
    lessons = api(live_server, "/lessons")
    assert len(lessons) == 13
    open_learn(page)
    assert page.page.locator("[data-tab]").first.get_attribute("data-tab") == "learn"
    for i, summary in enumerate(lessons):
        lesson = api(live_server, f"/lessons/{summary['id']}")
        panel = page.page.locator(f'[data-lesson="{lesson["id"]}"]')
        panel.locator("[data-lesson-title]").wait_for()
        assert panel.locator("[data-lesson-title]").text_content() == lesson["title"]
        assert page.page.locator(f"[data-lesson-link={lesson['id']}]").get_attribute("aria-current") == "step"
        assert panel.locator("[data-lesson-text] > p").count() == len(lesson["paragraphs"])
        assert panel.locator("[data-formula]").count() == len(lesson["formulas"])

        # the widget: the view the lesson names, set up as it says, behind a veil until asked for
        widget = lesson["widget"]
        view, options = widget["view"], widget["options"]
        assert page.page.text_content("[data-widget-caption]") == widget["caption"]
        page.page.click("[data-action=reveal-widget]")
        frame = widget_frame(page)
        frame.wait_for_selector(f'[data-view="{view}"]:not([hidden])')
        frame.wait_for_selector(READY[view])
        assert not frame.locator(".top").is_visible(), "the embedded page shows its header"
        state = frame.evaluate("window.playground.store.state")
        assert state["view"] == view
        for key in ("preset", "spec", "dataset"):
            if key in options:
                assert state[key] == options[key], (lesson["id"], key)
        if "part" in options:
            frame.wait_for_selector(f"[data-{view}-{options['part']}].embed-part")

        # each kind of exercise, first with the lecture's numbers (seed 0), with its answer control
        assert panel.locator("[data-exercise-kind]").count() == len(lesson["exercises"])
        for kind in lesson["exercises"]:
            c = card(page, kind["name"])
            c.locator("[data-prompt]").wait_for()
            assert c.get_attribute("data-exercise-id") == f"{kind['name']}-0"
            assert c.locator("[data-prompt]").text_content().strip()
            fmt = api(live_server, f"/exercises/{kind['name']}/0")["answer_format"]
            if fmt["type"] in ("integer", "number"):
                assert fmt["tolerance"]["text"] in c.locator("[data-answer-how]").text_content()
                c.locator("[data-answer-input]").wait_for()
            elif fmt["type"] == "cell":
                assert c.locator("[data-cell]").count() == fmt["shape"][0] * fmt["shape"][1]
            else:
                assert c.locator("[data-choice]").count() == len(fmt["options"])

        if i + 1 < len(lessons):
            assert lesson["next"] == lessons[i + 1]["id"]
            page.page.click("[data-action=next-lesson]")
            page.page.wait_for_selector(f'[data-lesson="{lesson["next"]}"]')
    assert shared_state(page.page.url)["lesson"] == lessons[-1]["id"]
    assert page.page.locator("[data-action=next-lesson]").count() == 0


@pytest.mark.parametrize(("fmt", "lesson", "kind"), FORMATS)
def test_an_answer_wrong_then_right_shows_the_hint_the_solution_and_correct(page, live_server, fmt, lesson, kind):
    exercise = api(live_server, f"/exercises/{kind}/0")
    assert exercise["answer_format"]["type"] == fmt
    expected = api(live_server, f"/exercises/{kind}/0/solution")["expected"]
    open_learn(page)
    go_to(page, lesson)
    assert page.page.locator("[data-widget-veil]").is_visible(), "the widget shows before the student predicts"
    c = card(page, kind)

    answer(page, kind, fmt, wrong_answer(fmt, expected, exercise))
    c.locator("[data-verdict=wrong]").wait_for()
    assert c.locator("[data-hint]").text_content().strip() != "Hint:"
    assert c.locator("[data-expected]").count() == 0, "a wrong answer shows the answer"
    assert not page.page.locator("[data-widget-veil]").is_visible(), "the widget stays veiled after an answer"
    c.locator("[data-action=show-solution]").click()
    c.locator("[data-solution] li").first.wait_for()
    solution = c.locator("[data-solution]").text_content()

    answer(page, kind, fmt, expected)
    c.locator("[data-verdict=correct]").wait_for()
    shown = c.locator("[data-verdict=correct] [data-expected]").text_content()
    if fmt == "cell":
        assert f"[{expected[0]}, {expected[1]}]" in shown
        assert c.locator(f"[data-cell='{expected[0]},{expected[1]}'].expected").count() == 1
    elif fmt == "choice":
        label = next(o["label"] for o in exercise["answer_format"]["options"] if o["id"] == expected)
        assert shown == label
    else:
        assert float(shown.replace(",", "")) == pytest.approx(expected, rel=1e-3)
    assert shown.split(" (")[0] in solution
    # the list and the lesson say so: two answers, one of them right
    page.page.wait_for_function(
        f"document.querySelector('[data-lesson-link={lesson}] [data-lesson-progress]').textContent.includes('1/2 correct')"
    )
    assert "1 of 2 answers correct" in page.page.text_content("[data-lesson-progress-text]")


def test_a_malformed_answer_shows_the_servers_words_by_the_field(page, live_server):
    page.expect_http_error(422)
    open_learn(page)
    go_to(page, "pooling")
    c = card(page, "avgpool_gradient")
    c.locator("[data-answer-input]").fill("0,75")
    c.locator("[data-action=check-answer]").click()
    error = c.locator("[data-answer-error]")
    error.wait_for()
    assert "expected a finite JSON number" in error.text_content()
    assert "0,75" in error.text_content()
    assert c.locator("[data-verdict]").count() == 0
    # a fraction is a number: 3/(2×2) is what X[1, 1] gets
    c.locator("[data-answer-input]").fill("3/4")
    c.locator("[data-action=check-answer]").click()
    c.locator("[data-verdict=correct]").wait_for()
    assert error.is_hidden()


def test_another_one_draws_a_new_exercise_of_the_same_kind(page, live_server):
    open_learn(page)
    go_to(page, "kps")
    c = card(page, "output_size")
    assert c.get_attribute("data-exercise-id") == "output_size-0"
    c.locator("[data-action=another-exercise]").click()
    page.page.wait_for_function(
        "document.querySelector('[data-exercise-kind=output_size]').dataset.exerciseId !== 'output_size-0'"
    )
    seed = int(c.get_attribute("data-exercise-id").rsplit("-", 1)[1])
    prompt = api(live_server, f"/exercises/output_size/{seed}")["prompt"]
    assert c.locator("[data-prompt]").text_content() == prompt
    assert c.locator("[data-answer-input]").input_value() == ""


def test_progress_survives_a_reload(page, live_server):
    open_learn(page)
    go_to(page, "residual")
    expected = api(live_server, "/exercises/residual_gradient/0/solution")["expected"]
    answer(page, "residual_gradient", "integer", expected)
    card(page, "residual_gradient").locator("[data-verdict=correct]").wait_for()
    link = "[data-lesson-link=residual] [data-lesson-progress]"
    page.page.wait_for_function(f"document.querySelector('{link}').textContent.includes('1/1 correct')")
    assert "✓" in page.page.text_content(link)

    page.page.reload()
    page.page.wait_for_selector('[data-lesson="residual"] [data-exercise-id]')
    assert "1/1 correct" in page.page.text_content(link)
    assert "1 of 1 answer correct" in page.page.text_content("[data-lesson-progress-text]")
    assert not page.page.locator("[data-widget-veil]").is_visible(), "the prediction was made before the reload"
    assert page.page.locator("[data-lesson-link=image] [data-lesson-progress]").text_content() == "not tried yet"


def test_the_lesson_is_in_the_url_and_a_shared_link_opens_it(page, browser, live_server):
    open_learn(page)
    go_to(page, "pooling")
    assert shared_state(page.page.url)["lesson"] == "pooling"
    assert shared_state(page.page.url)["view"] == "learn"
    url = page.page.evaluate("window.playground.store.shareUrl()")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    other = Page(context.new_page(), live_server.url)
    other.page.goto(url)
    other.page.wait_for_selector('[data-lesson="pooling"] [data-exercise-id]')
    assert other.page.text_content("[data-lesson-title]") == "Pooling and its derivative"
    # another browser is another learner: none of this one's progress
    assert "No answers here yet" in other.page.text_content("[data-lesson-progress-text]")
    context.close()
    assert not other.errors, other.errors
    # the tabs, Learn first, still move with the arrow keys
    page.page.focus("[data-tab=learn]")
    page.page.keyboard.press("ArrowRight")
    page.page.wait_for_selector('[data-view="build"]:not([hidden])')
    page.page.keyboard.press("ArrowLeft")
    page.page.wait_for_selector('[data-view="learn"]:not([hidden])')
    assert page.page.evaluate("document.activeElement.dataset.tab") == "learn"


UNLABELLED = """() => [...document.querySelectorAll('[data-view=learn] :is(input, select, textarea, button)')]
  .filter((c) => c.offsetParent !== null && c.type !== 'hidden')
  .filter((c) => {
    if (c.getAttribute('aria-label') || c.getAttribute('aria-labelledby') || c.title) return false;
    if (c.tagName === 'BUTTON') return !c.textContent.trim();
    if (c.labels && c.labels.length) return false;
    return true;
  })
  .map((c) => c.outerHTML.slice(0, 120))"""


@pytest.mark.parametrize(
    ("name", "viewport"), [("1366", {"width": 1366, "height": 800}), ("390", {"width": 390, "height": 844})]
)
def test_a_lesson_with_its_widget_and_an_answered_exercise_fits_a_projector_and_a_phone(
    browser, live_server, name, viewport
):
    context = browser.new_context(viewport=viewport)
    p = Page(context.new_page(), live_server.url)
    p.page.set_default_timeout(30_000)
    open_learn(p)
    go_to(p, "conv_forward")
    expected = api(live_server, "/exercises/conv_output_cell/0/solution")["expected"]
    answer(p, "conv_output_cell", "integer", expected - 1)
    c = card(p, "conv_output_cell")
    c.locator("[data-verdict=wrong]").wait_for()
    answer(p, "conv_output_cell", "integer", expected)
    c.locator("[data-verdict=correct]").wait_for()
    frame = widget_frame(p)
    frame.wait_for_selector(READY["conv"])
    assert not p.page.evaluate(UNLABELLED), "controls without a label"
    overflow = p.page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 2, f"the lesson is wider than the window by {overflow}px"
    # scrollIntoView, which keeps the scroll-margin that clears the sticky header
    c.locator("[data-feedback]").evaluate("feedback => feedback.scrollIntoView({block: 'end'})")
    SHOTS.mkdir(parents=True, exist_ok=True)
    p.page.screenshot(path=str(SHOTS / f"learn-{name}.png"))
    p.page.locator("[data-lesson-widget]").evaluate("widget => widget.scrollIntoView({block: 'start'})")
    p.page.screenshot(path=str(SHOTS / f"learn-{name}-widget.png"))
    p.shot(f"learn-{name}-full")
    context.close()
    assert not p.errors, p.errors
