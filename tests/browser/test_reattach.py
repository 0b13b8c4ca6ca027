"""The page comes back to its network after a reload; a shared link never names it."""

from tests.browser.conftest import Page

DESKTOP = {"width": 1366, "height": 800}
WAIT = 20_000  # ms: what the page is given to show what it found


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
