"""Accessibility, checked by axe-core (pinned in package.json, installed by `make test`, injected
into the page): no serious or critical violation on the home page, an open profile, and the
register, confirm and log-in forms, at desktop and phone sizes."""

import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from mysfits_testkit.browser import PASSWORD, checked_page

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "node_modules/axe-core/axe.min.js"
READY = "#mysfit-grid[data-state=ready]"
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(params=SIZES, ids=SIZES)
def checked(browser, request):
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: `make test` installs it (npm ci in tests/browser)")
    # The site's Content-Security-Policy allows its own scripts only: axe is let in for the test.
    # Without motion, a dialog is checked as it is shown, not half faded in.
    yield from checked_page(browser, viewport=SIZES[request.param], bypass_csp=True, reduced_motion="reduce")


def _serious(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    results = page.evaluate("() => axe.run(document, { resultTypes: ['violations'] })")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_the_home_page_and_an_open_profile(stack, checked):
    page = checked
    page.goto(stack.site_url + "/")
    page.wait_for_selector(READY)
    assert _serious(page) == []
    page.locator("[data-testid=open-profile]").first.click()
    expect(page.locator("#profile-dialog[data-state=ready]")).to_be_visible()
    assert _serious(page) == []
    # The checker is really looking: a picture without a text alternative is reported.
    page.evaluate("document.querySelector('.profile__details').append(document.createElement('img'))")
    assert any(problem.startswith("image-alt (critical)") for problem in _serious(page))


def test_the_register_confirm_and_log_in_forms(stack, checked):
    page = checked
    page.goto(stack.site_url + "/")
    page.wait_for_selector(READY)
    page.click("#register-button")
    expect(page.locator("#auth-dialog")).to_have_attribute("data-step", "register")
    assert _serious(page) == []
    page.fill("#register-email", f"axe-{uuid.uuid4().hex[:8]}@example.com")
    page.fill("#register-password", PASSWORD)
    page.locator("#register-form .auth__submit").click()
    expect(page.locator("#auth-dialog")).to_have_attribute("data-step", "confirm")
    assert _serious(page) == []
    page.keyboard.press("Escape")
    page.click("#login-button")
    expect(page.locator("#auth-dialog")).to_have_attribute("data-step", "login")
    assert _serious(page) == []
