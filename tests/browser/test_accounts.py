"""Accounts, likes and adoption in a real browser, against the stack's Cognito and adoption service."""

import re
import time
import uuid

import jwt as pyjwt
import pytest
import requests
from playwright.sync_api import expect

from catalog.seed import bundled_records
from mysfits_testkit.browser import log_in_with_tokens, register_confirm_and_log_in
from mysfits_testkit.identity import forge_token, stack_signing_key

pytestmark = pytest.mark.browser

BUNDLED = bundled_records()
READY = "#mysfit-grid[data-state=ready]"


def test_register_confirm_login_like_reload_adopt(stack, page):
    mysfit = BUNDLED[10]
    email = f"browser-{uuid.uuid4().hex[:8]}@example.com"
    page.goto(stack.site_url + "/")
    page.wait_for_selector(READY)
    register_confirm_and_log_in(page, email)

    card = page.locator(f"[data-mysfit-id='{mysfit['MysfitId']}']")
    before = int(card.locator("[data-testid=like-count]").inner_text().strip() or 0)
    card.locator("[data-testid=like-button]").click()
    expect(card.locator("[data-testid=like-button]")).to_have_attribute("aria-pressed", "true")
    expect(card.locator("[data-testid=like-count]")).to_have_text(re.compile(rf"\b{before + 1}\b"))
    likes = requests.get(f"{stack.api_url}/mysfits/{mysfit['MysfitId']}", timeout=10).json()["likes"]
    assert likes == before + 1

    page.reload()  # still logged in, still liked
    page.wait_for_selector(READY)
    expect(page.locator("#account-email")).to_have_text(email)
    card = page.locator(f"[data-mysfit-id='{mysfit['MysfitId']}']")
    expect(card.locator("[data-testid=like-button]")).to_have_attribute("aria-pressed", "true")

    card.locator("[data-testid=open-profile]").click()
    dialog = page.locator("#profile-dialog[data-state=ready]")
    expect(dialog).to_be_visible()
    expect(dialog.locator("[data-testid=profile-like-button]")).to_have_attribute("aria-pressed", "true")
    dialog.locator("[data-testid=adopt-button]").click()
    expect(dialog.locator("[data-testid=profile-adopted]")).to_have_text("Adopted by you")
    profile = requests.get(f"{stack.api_url}/mysfits/{mysfit['MysfitId']}", timeout=10).json()
    assert profile["adopted"] is True

    page.keyboard.press("Escape")
    page.click("#logout-button")
    expect(page.locator("#login-button")).to_be_visible()


def test_a_visitor_who_is_not_logged_in_is_asked_to_log_in(stack, page):
    page.goto(stack.site_url + "/")
    page.wait_for_selector(READY)
    page.locator("[data-testid=like-button]").first.click()
    expect(page.locator("#auth-dialog")).to_have_attribute("data-step", "login")
    expect(page.locator("#auth-dialog")).to_be_visible()
    # Said once, in the dialog the visitor is looking at: not again behind it.
    expect(page.locator("#auth-message")).to_have_text("Log in to like mysfits")
    expect(page.locator("#notice")).to_have_text("")


def test_someone_elses_adoption_shows_as_adopted(stack, stack_pool, page):
    mysfit = BUNDLED[11]
    owner = stack_pool.sign_in()
    adopted = requests.post(
        f"{stack.api_url}/mysfits/{mysfit['MysfitId']}/adopt", headers={"Authorization": owner["id"]}, timeout=10
    )
    assert adopted.status_code == 200
    page.goto(f"{stack.site_url}/?mysfit={mysfit['MysfitId']}")
    dialog = page.locator("#profile-dialog[data-state=ready]")
    expect(dialog.locator("[data-testid=profile-adopted]")).to_have_text("Adopted")
    expect(dialog.locator("[data-testid=adopt-button]")).to_have_count(0)


def _log_in_with_tokens(page, stack, visitor, id_token=None):
    log_in_with_tokens(page, stack, visitor, id_token)
    expect(page.locator("#account-email")).to_have_text(visitor["email"])


def test_an_expired_session_is_refreshed_silently(stack, stack_pool, page):
    visitor = stack_pool.sign_in()
    now = int(time.time())
    expired = forge_token(
        {
            "iss": stack_pool.issuer,
            "sub": visitor["sub"],
            "aud": stack_pool.client_id,
            "token_use": "id",
            "iat": now - 7200,
            "auth_time": now - 7200,
            "exp": now - 3600,
            "email": visitor["email"],
        },
        stack_signing_key(stack.run_dir),
    )
    _log_in_with_tokens(page, stack, visitor, id_token=expired)

    # The page swapped the expired ID token for a fresh one from the refresh token, unprompted.
    page.wait_for_function("token => localStorage.getItem('mysfits.idToken') !== token", arg=expired)
    fresh = page.evaluate("localStorage.getItem('mysfits.idToken')")
    assert pyjwt.decode(fresh, options={"verify_signature": False})["exp"] > now
    me = requests.get(f"{stack.api_url}/me", headers={"Authorization": fresh}, timeout=10)
    assert me.status_code == 200

    # And a like works without asking the visitor to log in again.
    card = page.locator(f"[data-mysfit-id='{BUNDLED[0]['MysfitId']}']")
    card.locator("[data-testid=like-button]").click()
    expect(card.locator("[data-testid=like-button]")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#auth-dialog")).not_to_be_visible()


def test_adopting_a_mysfit_someone_else_just_adopted_says_so(stack, stack_pool, page):
    mysfit = BUNDLED[9]
    visitor = stack_pool.sign_in()
    _log_in_with_tokens(page, stack, visitor)
    page.locator(f"[data-mysfit-id='{mysfit['MysfitId']}'] [data-testid=open-profile]").click()
    dialog = page.locator("#profile-dialog[data-state=ready]")
    expect(dialog.locator("[data-testid=adopt-button]")).to_be_visible()

    rival = stack_pool.sign_in()  # adopts while the profile is open
    taken = requests.post(
        f"{stack.api_url}/mysfits/{mysfit['MysfitId']}/adopt", headers={"Authorization": rival["id"]}, timeout=10
    )
    assert taken.status_code == 200

    dialog.locator("[data-testid=adopt-button]").click()
    expect(dialog.locator("[data-testid=profile-notice]")).to_contain_text("already adopted")
    expect(page.locator("#notice")).to_have_text("")  # once, where the visitor is looking
    expect(dialog.locator("[data-testid=profile-adopted]")).to_have_text("Adopted")
    expect(dialog.locator("[data-testid=adopt-button]")).to_have_count(0)


def test_a_like_that_cannot_reach_the_api_says_so_and_changes_nothing(stack, stack_pool, page):
    mysfit = BUNDLED[8]
    visitor = stack_pool.sign_in()
    _log_in_with_tokens(page, stack, visitor)
    card = page.locator(f"[data-mysfit-id='{mysfit['MysfitId']}']")
    before = card.locator("[data-testid=like-count]").inner_text()

    page.route("**/mysfits/*/like", lambda route: route.abort("connectionrefused"))
    card.locator("[data-testid=like-button]").click()
    # Said on the card whose button was pressed, once.
    expect(card.locator("[data-testid=card-notice]")).to_contain_text("Could not reach Mythical Mysfits")
    expect(page.locator("#notice")).to_have_text("")
    expect(card.locator("[data-testid=like-button]")).to_have_attribute("aria-pressed", "false")
    expect(card.locator("[data-testid=like-count]")).to_have_text(before)
    expect(page.locator("#account-email")).to_have_text(visitor["email"])  # still logged in
