"""The Convolution view in Chromium: the kernel sliding over X as an animation, what hovering a
cell shows, several channels with a bias and an activation, the backward pass stepped cell by
cell, pooling with its own window, and text large enough for a lecture hall.

The expected numbers are written out here from the lecture's definitions (numpy), never read
from the server."""

import numpy as np
import pytest

from tests.browser.conftest import SHOTS, Page

X = np.array([[0, 1, 2, 1, 0], [4, 1, 0, 1, 0], [2, 0, 1, 1, 1], [1, 2, 3, 1, 0], [0, 4, 3, 2, 0]], float)
W = np.array([[0, 1, 0], [1, 0, 1], [2, 1, 0]], float)
LECTURE_I = [[9, 5, 4], [8, 8, 10], [8, 15, 12]]

PROJECTOR = {"width": 1366, "height": 800}
PHONE = {"width": 390, "height": 844}


def block(rows, cols) -> list[tuple[int, int]]:
    """The cells of a block of a grid, in reading order."""
    return [(r, c) for r in rows for c in cols]


def open_conv(p: Page):
    p.open()
    p.tab("conv")
    ready(p)


def ready(p: Page):
    """Wait until the view shows the server's answer to the latest change."""
    p.page.wait_for_selector("[data-view=conv][data-conv-state=ready]")


def text(p: Page, selector: str) -> str:
    return p.page.text_content(selector).strip()


def texts(p: Page, selector: str) -> list[str]:
    return p.page.eval_on_selector_all(selector, "cells => cells.map(c => c.textContent.trim())")


def number(shown: str) -> float:
    return float(shown.replace("−", "-"))


def grid(p: Page, selector: str) -> list[list[float]]:
    """A table of numbers as shown (rows of td)."""
    rows = p.page.eval_on_selector_all(
        f"{selector} tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))"
    )
    return [[number(v) for v in row] for row in rows]


def marked(p: Page, selector: str) -> list[tuple[int, int]]:
    cells = p.page.eval_on_selector_all(selector, "cs => cs.map(c => [+c.dataset.row, +c.dataset.col])")
    return sorted(tuple(c) for c in cells)


def step(p: Page, player: str) -> int:
    """Which step a player (forward, backward) is on, counted from 0."""
    return int(p.page.get_attribute(f"[data-player={player}]", "data-step"))


def wait_for_step(p: Page, player: str, n: int, timeout=5000):
    p.page.wait_for_function(
        f"document.querySelector('[data-player={player}]').dataset.step === '{n}'", timeout=timeout
    )


def set_value(p: Page, selector: str, value):
    p.page.fill(selector, str(value))
    ready(p)


def editor_values(p: Page, name: str) -> np.ndarray:
    """The numbers in the editors of X or W: (C, rows, cols)."""
    channels = p.page.eval_on_selector_all(
        f"[data-conv-grid^='{name}']",
        "tables => tables.map(t => [...t.rows].map(r => [...r.querySelectorAll('input')].map(i => +i.value)))",
    )
    return np.array(channels, float)


FRAME_OFF = """() => {
  const frame = document.querySelector("[data-conv-window]").getBoundingClientRect();
  const taps = [...document.querySelectorAll("[data-conv-x='0'] td.win")]
    .map(td => td.getBoundingClientRect());
  const box = [Math.min(...taps.map(t => t.left)), Math.min(...taps.map(t => t.top)),
               Math.max(...taps.map(t => t.right)), Math.max(...taps.map(t => t.bottom))];
  return Math.max(...[frame.left, frame.top, frame.right, frame.bottom]
    .map((v, i) => Math.abs(v - box[i])));
}"""


def frame_settles_on_the_window(p: Page):
    """The frame that slides over X comes to rest around the window's taps."""
    p.page.wait_for_function(f"({FRAME_OFF})() < 2", timeout=5000)


def scroll_to(p: Page, selector: str):
    """Bring an element to the top of the window, below the sticky header."""
    p.page.eval_on_selector(
        selector,
        "e => window.scrollTo(0, e.getBoundingClientRect().top + scrollY"
        " - document.querySelector('.top').offsetHeight - 8)",
    )


def page_overflow(p: Page) -> int:
    return p.page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_play_pause_step_and_speed_reach_the_lectures_last_cell_12(page):
    open_conv(page)
    p = page.page
    play = p.locator("[data-action=conv-play]")
    window = "[data-conv-x='0'] td.win"
    # fast: all nine cells in about a second, stopping on the last, 12
    p.select_option("[data-player=forward] [data-speed]", "8")
    p.click("[data-action=conv-first]")
    play.click()
    assert play.get_attribute("aria-pressed") == "true"
    wait_for_step(page, "forward", 8)
    p.wait_for_function("document.querySelector('[data-action=conv-play]').getAttribute('aria-pressed') === 'false'")
    assert text(page, "[data-conv-sum]") == "12"
    assert grid(page, "[data-conv-output]") == LECTURE_I
    assert marked(page, window) == block((2, 3, 4), (2, 3, 4))
    frame_settles_on_the_window(page)
    # slow: one cell a second, so after 1.5 s it is on the second or third cell; pause holds it
    p.select_option("[data-player=forward] [data-speed]", "1")
    p.click("[data-action=conv-first]")
    play.click()
    p.wait_for_timeout(1500)
    assert 1 <= step(page, "forward") <= 2
    play.click()
    assert play.get_attribute("aria-pressed") == "false"
    held = step(page, "forward")
    p.wait_for_timeout(1300)
    assert step(page, "forward") == held
    # step by step: the second cell is 5, the window one column to the right
    p.click("[data-action=conv-first]")
    p.click("[data-action=conv-step]")
    assert step(page, "forward") == 1 and text(page, "[data-conv-sum]") == "5"
    assert marked(page, window) == block((0, 1, 2), (1, 2, 3))
    frame_settles_on_the_window(page)
    p.click("[data-action=conv-last]")
    assert step(page, "forward") == 8 and text(page, "[data-conv-sum]") == "12"


def test_hovering_an_output_cell_highlights_its_window_and_shows_its_products(page):
    open_conv(page)
    p = page.page
    p.click("[data-action=conv-first]")
    cell = "[data-conv-output] td[data-row='1'][data-col='2']"
    p.hover(cell)
    # I[1,2]: the window at rows 1-3, columns 2-4 of X
    assert marked(page, "[data-conv-x='0'] td.win") == block((1, 2, 3), (2, 3, 4))
    window = X[1:4, 2:5]
    shown = texts(page, "[data-conv-products='0'] td .pv")
    assert [float(v) for v in shown] == (window * W).ravel().tolist()
    terms = texts(page, "[data-conv-products='0'] td .term")
    assert terms == [f"{x:g}·{w:g}" for x, w in zip(window.ravel(), W.ravel())]
    assert text(page, "[data-conv-sum]") == "10"
    assert "cur" in p.locator(cell).get_attribute("class").split()
    # away from the grid, the view goes back to the player's cell
    p.mouse.move(0, 0)
    p.wait_for_function("document.querySelector('[data-conv-sum]').textContent.trim() === '9'")


@pytest.mark.parametrize(
    ("cell", "feeds"),
    [((0, 0), [(0, 0)]), ((2, 2), block(range(3), range(3))), ((0, 2), [(0, 0), (0, 1), (0, 2)]), ((4, 4), [(2, 2)])],
)
def test_hovering_an_input_cell_marks_every_output_it_feeds(page, cell, feeds):
    open_conv(page)
    page.page.hover(f"[data-conv-x='0'] td[data-row='{cell[0]}'][data-col='{cell[1]}']")
    assert marked(page, "[data-conv-output] td.fed") == feeds
    n = len(feeds)
    assert f"feeds {n} output{'s' if n > 1 else ''}" in text(page, "[data-conv-feeds]")


def test_three_channels_and_a_bias_show_the_sum_over_depth_and_the_parameter_count(page):
    open_conv(page)
    p = page.page
    set_value(page, "#conv-c", 3)
    p.check("#conv-bias-on")
    set_value(page, "#conv-bias", "1.5")
    x, w = editor_values(page, "X"), editor_values(page, "W")
    assert x.shape == (3, 5, 5) and w.shape == (3, 3, 3)
    assert (x[0] == X).all() and (w[0] == W).all()  # the lecture's numbers stay in channel 0
    assert p.locator("[data-conv-x]").count() == 3
    assert p.locator("[data-conv-products]").count() == 3
    p.click("[data-action=conv-first]")
    p.click("[data-action=conv-step]")  # I[0,1]
    parts = [(x[c, 0:3, 1:4] * w[c]).sum() for c in range(3)]
    shown = [number(v) for v in texts(page, "[data-conv-channel-sum] [data-value]")]
    assert shown == pytest.approx(parts)
    assert texts(page, "[data-conv-bias-term] [data-value]") == ["1.5"]
    assert number(text(page, "[data-conv-sum]")) == pytest.approx(sum(parts) + 1.5)
    # the parameter count: out_channels x (K x K x C + 1), with the lecture's layer last
    assert "1 x (3x3x3 + 1) = 28" in text(page, "[data-conv-params]")
    set_value(page, "#conv-filters", 20)
    assert "20 x (3x3x3 + 1) = 560" in text(page, "[data-conv-params]")
    set_value(page, "#conv-k", 5)
    assert "20 x (5x5x3 + 1) = 1,520" in text(page, "[data-conv-params]")
    p.uncheck("#conv-bias-on")
    ready(page)
    assert "20 x (5x5x3) = 1,500" in text(page, "[data-conv-params]")
    assert p.locator("[data-conv-bias-term]").count() == 0


def test_the_activation_step_shows_delta_is_dl_do_times_f_prime(page):
    open_conv(page)
    p = page.page
    p.select_option("#conv-activation", "relu")
    p.check("#conv-bias-on")
    set_value(page, "#conv-bias", -9)
    i = np.array(LECTURE_I, float) - 9
    p.click("[data-action=conv-last]")
    assert grid(page, "[data-conv-activated]") == np.maximum(i, 0).tolist()
    assert "O[2,2] = f(I[2,2]) = f(3) = 3" in text(page, "[data-conv-o-line]")
    # the first step of the backward pass: delta = dL/dO * f'(I), cell by cell
    p.fill("[data-conv-grid=dl_do] input[data-r='2'][data-c='1']", "2")
    p.fill("[data-conv-grid=dl_do] input[data-r='0'][data-c='0']", "5")
    ready(page)
    slope = (i > 0).astype(float)
    dl_do = np.ones((3, 3))
    dl_do[2, 1], dl_do[0, 0] = 2, 5
    assert grid(page, "[data-conv-slope]") == slope.tolist()
    assert grid(page, "[data-conv-delta]") == (dl_do * slope).tolist()
    p.hover("[data-conv-delta] td[data-row='2'][data-col='1']")
    line = "[data-conv-delta-line]"
    assert "δ[2,1] = dL/dO[2,1] · f'(I[2,1]) = 2 · 1 = 2" in text(page, line)
    p.hover("[data-conv-delta] td[data-row='0'][data-col='0']")
    assert "δ[0,0] = dL/dO[0,0] · f'(I[0,0]) = 5 · 0 = 0" in text(page, line)
    assert "f'(I) = 1 where I > 0, else 0" in text(page, "[data-conv-backward]")


def test_stepping_the_backward_pass_shows_each_dw_and_dx_cells_terms(page):
    open_conv(page)
    p = page.page
    terms, total = "[data-conv-terms] [data-term]", "[data-conv-terms] [data-conv-terms-sum]"
    p.click("[data-action=conv-back-first]")
    # dL/dW[0,0] = sum_ij delta[i,j] X[i,j] with delta all ones: X's top-left 3x3
    assert text(page, "[data-conv-back-progress]").startswith("dL/dW[0,0]")
    assert texts(page, terms) == [f"δ[{i},{j}]·X[{i},{j}]" for i, j in block(range(3), range(3))]
    assert text(page, total) == f"{X[:3, :3].sum():g}"
    assert marked(page, "[data-conv-back-x] td.term") == block(range(3), range(3))
    assert marked(page, "[data-conv-dw] td.cur") == [(0, 0)]
    p.click("[data-action=conv-back-step]")
    assert text(page, total) == f"{X[:3, 1:4].sum():g}"
    assert marked(page, "[data-conv-back-x] td.term") == block(range(3), range(1, 4))
    # on through dL/dW to dL/dX: the tenth step is dL/dX[0,0], one term, delta[0,0] W[0,0]
    for _ in range(8):
        p.click("[data-action=conv-back-step]")
    assert text(page, "[data-conv-back-progress]").startswith("dL/dX[0,0]")
    assert texts(page, terms) == ["δ[0,0]·W[0,0]"]
    assert marked(page, "[data-conv-back-w] td.term") == [(0, 0)]
    # the centre of X is read by all nine windows: dL/dX[2,2] = sum_ab delta[2-a, 2-b] W[a,b]
    p.hover("[data-conv-dx] td[data-row='2'][data-col='2']")
    expected = sorted(f"δ[{2 - a},{2 - b}]·W[{a},{b}]" for a, b in block(range(3), range(3)))
    assert sorted(texts(page, terms)) == expected
    assert text(page, total) == f"{W.sum():g}"
    assert marked(page, "[data-conv-back-delta] td.term") == block(range(3), range(3))
    p.mouse.move(0, 0)
    # played to the end: 9 cells of dL/dW and 25 of dL/dX
    p.select_option("[data-player=backward] [data-speed]", "8")
    p.click("[data-action=conv-back-play]")
    wait_for_step(page, "backward", 33, timeout=10_000)
    assert text(page, "[data-conv-back-progress]").startswith("dL/dX[4,4]")
    assert texts(page, terms) == ["δ[2,2]·W[2,2]"]


def test_pooling_has_its_own_window_and_routes_gradients_as_the_lecture_says(page):
    open_conv(page)
    p = page.page
    assert p.input_value("#conv-pool-k") == "2" and p.input_value("#conv-pool-s") == "2"
    # 2x2, stride 2: four windows; max sends each window's gradient to its largest input
    winners = [(0, 2), (1, 0), (2, 0), (3, 2)]
    assert marked(page, "[data-conv-pool-x] td.argmax") == winners
    dx = grid(page, "[data-conv-pool-max-dx]")
    assert [(i, j) for i, j in block(range(5), range(5)) if dx[i][j]] == winners
    assert all(dx[i][j] == 1 for i, j in winners)
    avg = np.array(grid(page, "[data-conv-pool-avg-dx]"))
    assert (avg[:4, :4] == 0.25).all() and (avg[4] == 0).all() and (avg[:, 4] == 0).all()
    assert "1 row and 1 column of input pixels are lost" in text(page, "[data-conv-pooling]")
    # the convolution's stride is not pooling's
    set_value(page, "#conv-s", 2)
    assert np.array(grid(page, "[data-conv-pool-max-out]")).shape == (2, 2)
    # 3x3 windows, stride 1: they overlap, and an input adds up what each window sends
    set_value(page, "#conv-pool-k", 3)
    set_value(page, "#conv-pool-s", 1)
    p.fill("[data-conv-grid=pool_delta] input[data-r='1'][data-c='0']", "5")
    ready(page)
    dx = np.array(grid(page, "[data-conv-pool-max-dx]"))
    assert dx[1, 0] == 1 + 5  # X[1,0] = 4 wins the windows at (0,0) and (1,0)
    assert dx.sum() == 8 + 5
    p.hover("[data-conv-pool-max-out] td[data-row='0'][data-col='1']")
    assert marked(page, "[data-conv-pool-x] td.pwin") == block(range(3), range(1, 4))


SMALL_TEXT = """root => {
  const small = [];
  for (const node of root.querySelectorAll('*')) {
    const own = [...node.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    const control = ['INPUT', 'SELECT', 'BUTTON', 'OPTION'].includes(node.tagName);
    if (!own && !control) continue;
    const box = node.getBoundingClientRect();
    if (!box.width && !box.height) continue;  // not shown
    const size = parseFloat(getComputedStyle(node).fontSize);
    const what = `${node.tagName}.${node.className} ${node.textContent.trim().slice(0, 30)}`;
    if (size < MIN) small.push(`${size}px: ${what}`);
  }
  return small;
}"""


def busy_view(p: Page):
    """Three channels, a bias, an activation, mathematics' convolution shown: every part on show."""
    set_value(p, "#conv-c", 3)
    p.page.check("#conv-bias-on")
    set_value(p, "#conv-bias", "-2.5")
    p.page.select_option("#conv-activation", "sigmoid")
    ready(p)
    p.page.check("[data-conv-true-toggle]")
    p.page.click("[data-action=conv-first]")
    p.page.click("[data-action=conv-step]")
    p.page.click("[data-action=conv-back-first]")
    p.page.click("[data-action=conv-back-step]")


@pytest.mark.parametrize("viewport", [PROJECTOR, PHONE], ids=["projector", "phone"])
def test_every_text_in_the_view_is_at_least_12px_and_the_figures_14px_on_a_projector(browser, live_server, viewport):
    context = browser.new_context(viewport=viewport)
    p = Page(context.new_page(), live_server.url)
    p.page.set_default_timeout(30_000)
    open_conv(p)
    busy_view(p)
    small = p.page.locator("[data-view=conv]").evaluate(SMALL_TEXT.replace("MIN", "12"))
    assert not small, "text under 12 px:\n" + "\n".join(small)
    if viewport is PROJECTOR:
        figures = p.page.locator("[data-conv-stage], [data-conv-back-stage]")
        small = [s for i in range(figures.count()) for s in figures.nth(i).evaluate(SMALL_TEXT.replace("MIN", "14"))]
        assert not small, "numbers of the figures under 14 px on a projector:\n" + "\n".join(small)
    context.close()
    assert not p.errors, p.errors


def test_the_lecture_example_stays_first_editable_and_the_notes_stay(page):
    open_conv(page)
    p = page.page
    assert editor_values(page, "X").tolist() == [X.tolist()]
    assert editor_values(page, "W").tolist() == [W.tolist()]
    p.fill("[data-conv-grid^='W'] input[data-r='0'][data-c='0']", "1")
    ready(page)
    p.click("[data-action=conv-first]")
    assert text(page, "[data-conv-sum]") == "9"  # X[0,0] = 0, so I[0,0] stays 9
    p.click("[data-action=conv-step]")
    assert text(page, "[data-conv-sum]") == "6"  # X[0,1] = 1 now counts
    p.click("[data-action=conv-reset]")
    ready(page)
    assert "top-left corner" in text(page, "[data-conv-index-note]")
    assert "cross-correlation" in text(page, "[data-conv-forward]")
    assert p.locator("[data-conv-dw] td").count() == 9
    assert p.locator("[data-conv-rot] tr").count() == 3


@pytest.mark.parametrize(("name", "viewport"), [("1366", PROJECTOR), ("390", PHONE)])
def test_screenshots_mid_animation_with_channels_and_in_the_backward_pass(browser, live_server, name, viewport):
    context = browser.new_context(viewport=viewport, reduced_motion="no-preference")
    p = Page(context.new_page(), live_server.url)
    p.page.set_default_timeout(30_000)
    open_conv(p)
    SHOTS.mkdir(parents=True, exist_ok=True)
    # the lecture's example, mid-animation: the frame on its way over X
    p.page.select_option("[data-player=forward] [data-speed]", "1")
    p.page.click("[data-action=conv-first]")
    p.page.click("[data-action=conv-play]")
    wait_for_step(p, "forward", 4, timeout=10_000)
    scroll_to(p, "[data-conv-forward] [data-player]")
    p.page.screenshot(path=str(SHOTS / f"conv-{name}-playing.png"))
    p.page.click("[data-action=conv-play]")
    assert page_overflow(p) <= 2, f"the page is wider than the window by {page_overflow(p)}px"
    # three channels and a bias: the sum over depth
    set_value(p, "#conv-c", 3)
    p.page.check("#conv-bias-on")
    set_value(p, "#conv-bias", "1")
    p.page.click("[data-action=conv-first]")
    for _ in range(4):
        p.page.click("[data-action=conv-step]")
    frame_settles_on_the_window(p)
    scroll_to(p, "[data-conv-forward] [data-player]")
    p.page.screenshot(path=str(SHOTS / f"conv-{name}-channels.png"))
    assert page_overflow(p) <= 2, f"with channels, wider than the window by {page_overflow(p)}px"
    # the backward pass, on a cell of dL/dX
    p.page.click("[data-action=conv-back-first]")
    for _ in range(30):
        p.page.click("[data-action=conv-back-step]")
    scroll_to(p, "[data-player=backward]")
    p.page.screenshot(path=str(SHOTS / f"conv-{name}-backward.png"))
    scroll_to(p, "[data-conv-pooling]")
    p.page.screenshot(path=str(SHOTS / f"conv-{name}-pooling.png"))
    assert page_overflow(p) <= 2, f"wider than the window by {page_overflow(p)}px"
    p.shot(f"conv-{name}-full")
    context.close()
    assert not p.errors, p.errors
