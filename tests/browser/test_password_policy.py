"""The register form's password checklist is the user pool's policy, read from config.json."""

import json

import pytest
from playwright.sync_api import expect

from mysfits_deploy.stacks import site_password_policy

pytestmark = pytest.mark.browser

READY = "#mysfit-grid[data-state=ready]"


def _open_register(page, url: str):
    page.goto(url)
    page.wait_for_selector(READY)
    page.click("#register-button")
    expect(page.locator("#auth-dialog")).to_have_attribute("data-step", "register")
    return page.locator("#password-policy li")


def test_the_checklist_is_the_identity_templates_policy_ticked_off_as_the_visitor_types(stack, page):
    policy = site_password_policy()
    items = _open_register(page, stack.site_url + "/")
    expect(items).to_have_text(
        [
            f"at least {policy['minimumLength']} characters",
            "an uppercase letter",
            "a lowercase letter",
            "a number",
            "a symbol (such as ! ? # or -)",
        ]
    )
    page.fill("#register-password", "abc")
    expect(items.and_(page.locator("[data-met=true]"))).to_have_text(["a lowercase letter"])
    page.fill("#register-password", "Abcdefg1!")
    expect(items.and_(page.locator("[data-met=false]"))).to_have_count(0)


def test_the_checklist_follows_the_policy_config_json_gives(stack, page):
    """Another pool's policy (12 characters, no symbol) changes the checklist and what it accepts."""

    def other_policy(route):
        config = json.loads(route.fetch().text())
        config["passwordPolicy"] = {"minimumLength": 12, "requireUppercase": True, "requireNumbers": True}
        route.fulfill(json=config)

    page.route("**/config.json", other_policy)
    items = _open_register(page, stack.site_url + "/")
    expect(items).to_have_text(["at least 12 characters", "an uppercase letter", "a number"])
    page.fill("#register-password", "Abcdefghij1")  # 11 characters
    expect(items.and_(page.locator("[data-met=false]"))).to_have_text(["at least 12 characters"])
    page.fill("#register-password", "Abcdefghijk1")
    expect(items.and_(page.locator("[data-met=false]"))).to_have_count(0)
    page.fill("#register-email", "policy@example.com")
    page.fill("#register-password", "abcdefghijk1")
    page.locator("#register-form button[type=submit]").click()
    expect(page.locator("#auth-message")).to_have_text("Your password still needs an uppercase letter.")
