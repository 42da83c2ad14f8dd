"""Profile views from a real browser reach the clicks bucket, enriched, with the visitor's id."""

import time

import pytest
from playwright.sync_api import expect

from catalog.seed import bundled_records
from mysfits_testkit.browser import log_in_with_tokens

pytestmark = pytest.mark.browser

BUNDLED = bundled_records()
READY = "#mysfit-grid[data-state=ready]"


def _enriched_click(stack, user_id: str, mysfit_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for click in stack.clicks().clicks:
            if click.get("userId") == user_id and click.get("mysfitId") == mysfit_id:
                return click
        time.sleep(0.5)
    raise AssertionError(f"no enriched click by {user_id} on {mysfit_id} within {timeout}s")


def _open_profile(page, mysfit):
    page.locator(f"[data-mysfit-id='{mysfit['MysfitId']}'] [data-testid=open-profile]").click()
    expect(page.locator("#profile-dialog[data-state=ready]")).to_be_visible()


def test_opening_a_profile_records_an_enriched_click_with_the_visitors_id(stack, page):
    mysfit = BUNDLED[1]
    page.goto(stack.site_url + "/")
    page.wait_for_selector(READY)
    _open_profile(page, mysfit)
    visitor = page.evaluate("localStorage.getItem('mysfits.visitorId')")
    assert visitor
    assert visitor.startswith("anon-")

    click = _enriched_click(stack, visitor, mysfit["MysfitId"])
    assert (click["name"], click["species"], click["goodevil"], click["lawchaos"]) == (
        mysfit["Name"],
        mysfit["Species"],
        mysfit["GoodEvil"],
        mysfit["LawChaos"],
    )
    assert page.evaluate("localStorage.getItem('mysfits.pendingClicks')") is None  # nothing left to send


def test_a_logged_in_visitors_click_carries_their_user_id(stack, stack_pool, page):
    mysfit = BUNDLED[7]
    visitor = stack_pool.sign_in()
    log_in_with_tokens(page, stack, visitor)
    _open_profile(page, mysfit)
    assert _enriched_click(stack, visitor["sub"], mysfit["MysfitId"])["name"] == mysfit["Name"]


def test_a_click_that_cannot_be_sent_is_kept_quietly_and_sent_later(stack, page):
    mysfit = BUNDLED[3]
    page.goto(stack.site_url + "/")
    page.wait_for_selector(READY)
    page.route("**/clicks", lambda route: route.abort("connectionrefused"))
    _open_profile(page, mysfit)
    page.wait_for_function("() => (JSON.parse(localStorage.getItem('mysfits.pendingClicks') || '[]')).length === 1")
    # The visitor sees the profile and no error about it.
    expect(page.locator("#profile-dialog [data-testid=profile-name]")).to_have_text(mysfit["Name"])
    expect(page.locator("[data-testid=profile-notice]")).to_have_text("")
    expect(page.locator("#notice")).to_have_text("")

    page.unroute("**/clicks")
    page.evaluate("window.dispatchEvent(new Event('online'))")  # the browser is back online
    page.wait_for_function("() => localStorage.getItem('mysfits.pendingClicks') === null")
    visitor = page.evaluate("localStorage.getItem('mysfits.visitorId')")
    assert _enriched_click(stack, visitor, mysfit["MysfitId"])["name"] == mysfit["Name"]


def test_a_slow_clicks_api_never_holds_up_the_profile(stack, page):
    mysfit = BUNDLED[5]
    page.goto(stack.site_url + "/")
    page.wait_for_selector(READY)
    held = []
    page.route("**/clicks", lambda route: held.append(route))  # pending until released
    _open_profile(page, mysfit)  # ready while the click has no answer yet
    expect(page.locator("#profile-dialog [data-testid=profile-name]")).to_have_text(mysfit["Name"])
    for _ in range(100):  # Playwright hands the route over while the test waits on the page
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1
    assert page.evaluate("localStorage.getItem('mysfits.pendingClicks')") is not None  # not sent yet
    held[0].continue_()
    page.wait_for_function("() => localStorage.getItem('mysfits.pendingClicks') === null")
    visitor = page.evaluate("localStorage.getItem('mysfits.visitorId')")
    assert _enriched_click(stack, visitor, mysfit["MysfitId"])["name"] == mysfit["Name"]
