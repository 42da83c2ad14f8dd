"""The site in a real browser against the running one-machine stack."""

import re

import pytest
import requests
from playwright.sync_api import expect

from catalog.seed import bundled_records

pytestmark = pytest.mark.browser

BUNDLED = bundled_records()
READY = "#mysfit-grid[data-state=ready]"


def _counted(count: int, noun: str) -> str:
    """As the site writes a count: "1 like", "0 likes", "9 years"."""
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _cards(page):
    return page.locator("[data-testid=mysfit-card]")


def test_grid_shows_every_mysfit_with_image_name_species_and_alignment(stack, page):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(stack.site_url + "/")
    page.wait_for_selector(READY)
    cards = _cards(page)
    expect(cards).to_have_count(len(BUNDLED))
    shown = sorted(cards.locator("[data-testid=open-profile]").all_inner_texts())
    assert [name.strip() for name in shown] == sorted(m["Name"] for m in BUNDLED)
    for record in BUNDLED:
        card = page.locator(f"[data-mysfit-id='{record['MysfitId']}']")
        expect(card).to_contain_text(record["Species"])
        image = card.locator("img")
        expect(image).to_have_attribute("alt", re.compile(re.escape(record["Name"])))
        # The image really loaded from the site (not a broken-image placeholder).
        assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    expect(page.locator("#result-count")).to_have_text(f"{len(BUNDLED)} mysfits")
    # Everything comes from the site or the API: no CDN, no external font or image.
    outside = [url for url in requested if not url.startswith((stack.site_url, stack.api_url))]
    assert outside == []
    # The settings and the catalog are asked for once each: api.js starts both as the page loads
    # and the app takes them, rather than asking again once every module has run.
    assert [url for url in requested if url.startswith(stack.api_url)] == [f"{stack.api_url}/mysfits"]
    assert [url for url in requested if url.endswith("/config.json")] == [f"{stack.site_url}/config.json"]


def test_the_first_views_card_images_load_at_once_the_rest_and_the_profile_image_lazily(stack, page):
    page.goto(stack.site_url + "/")
    page.wait_for_selector(READY)
    loading = _cards(page).locator("img").evaluate_all("images => images.map((img) => img.loading)")
    assert loading == ["eager"] * 8 + ["lazy"] * (len(BUNDLED) - 8)  # four columns, two rows in view
    expect(page.locator("[data-testid=profile-image]")).to_have_attribute("loading", "lazy")


def test_filtering_on_evil_shows_only_evil_mysfits_and_is_in_the_url(stack, page):
    evil = {m["MysfitId"] for m in BUNDLED if m["GoodEvil"] == "Evil"}
    page.goto(stack.site_url + "/")
    page.wait_for_selector(READY)
    page.select_option("#filter-goodevil", "Evil")
    expect(page).to_have_url(re.compile(r"\?goodevil=Evil$"))
    page.wait_for_selector(READY)
    expect(_cards(page)).to_have_count(len(evil))
    assert {c.get_attribute("data-mysfit-id") for c in _cards(page).all()} == evil
    assert {c.get_attribute("data-goodevil") for c in _cards(page).all()} == {"Evil"}

    page.reload()  # the URL alone restores the filter
    page.wait_for_selector(READY)
    expect(_cards(page)).to_have_count(len(evil))
    expect(page.locator("#filter-goodevil")).to_have_value("Evil")

    page.click("#view-all")
    page.wait_for_selector(READY)
    expect(_cards(page)).to_have_count(len(BUNDLED))
    expect(page).to_have_url(stack.site_url + "/")


def test_filters_combine_keep_each_other_and_round_trip_through_the_url(stack, page):
    evil_lawful = {m["MysfitId"] for m in BUNDLED if (m["GoodEvil"], m["LawChaos"]) == ("Evil", "Lawful")}
    evil = {m["MysfitId"] for m in BUNDLED if m["GoodEvil"] == "Evil"}
    assert evil_lawful < evil  # the second filter narrows the first
    page.goto(stack.site_url + "/")
    page.wait_for_selector(READY)
    page.select_option("#filter-goodevil", "Evil")
    page.wait_for_selector(READY)
    page.select_option("#filter-lawchaos", "Lawful")
    expect(page).to_have_url(re.compile(r"\?goodevil=Evil&lawchaos=Lawful$"))
    page.wait_for_selector(READY)
    expect(page.locator("#filter-goodevil")).to_have_value("Evil")  # kept, not reset to Any
    expect(_cards(page)).to_have_count(len(evil_lawful))
    assert {c.get_attribute("data-mysfit-id") for c in _cards(page).all()} == evil_lawful
    expect(page.locator("#result-count")).to_have_text(
        f"Showing {len(evil_lawful)} lawful evil mysfit" + ("s" if len(evil_lawful) != 1 else "")
    )

    page.reload()  # the URL alone restores both
    page.wait_for_selector(READY)
    expect(page.locator("#filter-goodevil")).to_have_value("Evil")
    expect(page.locator("#filter-lawchaos")).to_have_value("Lawful")
    expect(_cards(page)).to_have_count(len(evil_lawful))

    page.go_back()  # one filter less
    page.wait_for_selector(READY)
    expect(page.locator("#filter-lawchaos")).to_have_value("")
    expect(_cards(page)).to_have_count(len(evil))

    # No mysfit is all three: the grid says so clearly, and "view them all" leaves it.
    species = {m["Species"] for m in BUNDLED}
    unmatched = next(s for s in sorted(species) if not any(
        (m["GoodEvil"], m["LawChaos"], m["Species"]) == ("Evil", "Lawful", s) for m in BUNDLED))  # fmt: skip
    page.goto(f"{stack.site_url}/?goodevil=Evil&lawchaos=Lawful&species={unmatched}")
    page.wait_for_selector(READY)
    expect(_cards(page)).to_have_count(0)
    expect(page.locator("#empty-state")).to_be_visible()
    expect(page.locator("#empty-state")).to_contain_text("No mysfit matches all of these filters")
    expect(page.locator("#result-count")).to_have_text(f"No lawful evil mysfits found of the species “{unmatched}”")

    # A link in the older one-filter form still works, and is rewritten in the current one.
    page.goto(f"{stack.site_url}/?filter=GoodEvil&value=Evil")
    page.wait_for_selector(READY)
    expect(_cards(page)).to_have_count(len(evil))
    expect(page).to_have_url(re.compile(r"\?goodevil=Evil$"))


def test_species_filter(stack, page):
    species = BUNDLED[0]["Species"]
    expected = {m["MysfitId"] for m in BUNDLED if m["Species"] == species}
    page.goto(stack.site_url + "/")
    page.wait_for_selector(READY)
    page.select_option("#filter-species", species)
    page.wait_for_selector(READY)
    expect(_cards(page)).to_have_count(len(expected))
    assert {c.get_attribute("data-species") for c in _cards(page).all()} == {species}


def test_profile_opens_with_every_detail_and_closes(stack, page):
    record = BUNDLED[3]
    likes = requests.get(f"{stack.api_url}/mysfits/{record['MysfitId']}", timeout=10).json()["likes"]
    page.goto(stack.site_url + "/")
    page.wait_for_selector(READY)
    page.locator(f"[data-mysfit-id='{record['MysfitId']}'] [data-testid=open-profile]").click()
    dialog = page.locator("#profile-dialog[data-state=ready]")
    expect(dialog).to_be_visible()
    expect(dialog.locator("[data-testid=profile-name]")).to_have_text(record["Name"])
    expect(dialog.locator("[data-testid=profile-species]")).to_have_text(record["Species"])
    expect(dialog.locator("[data-testid=profile-age]")).to_have_text(_counted(record["Age"], "year"))
    expect(dialog.locator("[data-testid=profile-description]")).to_have_text(record["Description"])
    alignment = dialog.locator("[data-testid=profile-alignment]")
    expect(alignment).to_have_text(f"{record['LawChaos']} {record['GoodEvil']}")  # "Chaotic Evil"
    expect(dialog.locator("[data-testid=profile-likes]")).to_have_text(_counted(likes, "like"))
    expect(dialog.locator("[data-testid=profile-adopted]")).to_have_text("Available for adoption")
    expect(dialog.locator("[data-testid=profile-image]")).to_have_attribute(
        "alt", re.compile(re.escape(record["Name"]))
    )
    expect(page).to_have_url(re.compile(r"mysfit=" + record["MysfitId"]))

    page.keyboard.press("Escape")
    expect(page.locator("#profile-dialog")).not_to_be_visible()
    expect(page).not_to_have_url(re.compile("mysfit="))


def test_keyboard_only_visitor_can_open_a_profile(stack, page):
    page.goto(stack.site_url + "/")
    page.wait_for_selector(READY)
    first = _cards(page).first.locator("[data-testid=open-profile]")
    first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#profile-dialog[data-state=ready]")).to_be_visible()
    page.locator("[data-testid=profile-close]").press("Enter")
    expect(page.locator("#profile-dialog")).not_to_be_visible()
    # Focus returns to the card that opened the dialog.
    assert first.evaluate("el => el === document.activeElement")


def test_narrow_screen_has_no_sideways_scrolling(stack, browser):
    context = browser.new_context(viewport={"width": 320, "height": 700})
    page = context.new_page()
    page.goto(stack.site_url + "/")
    page.wait_for_selector(READY)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    context.close()
