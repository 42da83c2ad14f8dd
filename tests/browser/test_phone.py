"""The site at a phone's size (390x844): a grid of two columns, a profile whose Like and Adopt are in
view without scrolling, and the keyboard's focus kept inside an open dialog (at any size)."""

import pytest
from playwright.sync_api import expect

from mysfits_testkit.browser import checked_page

pytestmark = pytest.mark.browser

READY = "#mysfit-grid[data-state=ready]"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser):
    yield from checked_page(browser, viewport=PHONE, is_mobile=True, has_touch=True)


def test_the_grid_has_two_columns_and_the_page_is_not_endless(stack, phone):
    phone.goto(stack.site_url + "/")
    phone.wait_for_selector(READY)
    first, second, third = (phone.locator("[data-testid=mysfit-card]").nth(n).bounding_box() for n in range(3))
    assert abs(first["y"] - second["y"]) < 1  # side by side
    assert second["x"] > first["x"] + first["width"]
    assert third["y"] > first["y"] + first["height"]  # the third starts the next row
    assert second["x"] + second["width"] <= PHONE["width"]  # nothing sideways
    height = phone.evaluate("document.documentElement.scrollHeight")
    assert height < 3500, f"the page is {height} px tall"


def test_like_and_adopt_are_in_view_in_a_profile_without_scrolling(stack, phone):
    phone.goto(stack.site_url + "/")
    phone.wait_for_selector(READY)
    phone.locator("[data-testid=open-profile]").first.click()
    dialog = phone.locator("#profile-dialog[data-state=ready]")
    expect(dialog).to_be_visible()
    assert dialog.evaluate("d => d.scrollTop") == 0
    for control in ("profile-like-button", "adopt-button"):
        box = dialog.locator(f"[data-testid={control}]").bounding_box()
        assert box is not None, control
        assert box["y"] >= 0, (control, box)
        assert box["y"] + box["height"] <= PHONE["height"], (control, box)
        assert box["x"] >= 0, (control, box)
        assert box["x"] + box["width"] <= PHONE["width"], (control, box)


@pytest.mark.parametrize("which", ["profile", "account"])
def test_the_keyboard_focus_stays_inside_an_open_dialog(stack, page, which):
    page.goto(stack.site_url + "/")
    page.wait_for_selector(READY)
    if which == "profile":
        page.locator("[data-testid=open-profile]").first.click()
        dialog = "#profile-dialog"
        expect(page.locator("#profile-dialog[data-state=ready]")).to_be_visible()
    else:
        page.click("#register-button")
        dialog = "#auth-dialog"
        expect(page.locator(dialog)).to_be_visible()
    inside = []
    for _ in range(20):  # more than the dialog has controls: the focus wraps around
        page.keyboard.press("Tab")
        inside.append(page.evaluate(f"() => document.activeElement?.closest('{dialog}') !== null"))
    assert all(inside), inside
