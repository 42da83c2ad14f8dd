"""Helpers of the browser tests (Playwright pages on the site): pages that fail on a JavaScript
error, and a visitor's ways in (stored tokens, the register and log-in dialogs)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

PASSWORD = "Browser-Pass-1!"  # noqa: S105 - what the browser tests' visitors register with


def checked_page(browser, **context_options):
    """A page in a context of its own; the test fails if the page had a JavaScript error."""
    context = browser.new_context(**context_options)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def log_in_with_tokens(page, stack, visitor: dict, id_token: str | None = None) -> None:
    """Opens the site with `visitor`'s session already stored, as after an earlier visit."""
    page.goto(stack.site_url + "/")
    page.evaluate(
        """([idToken, accessToken, refreshToken, email]) => {
            localStorage.setItem('mysfits.idToken', idToken);
            localStorage.setItem('mysfits.accessToken', accessToken);
            localStorage.setItem('mysfits.refreshToken', refreshToken);
            localStorage.setItem('mysfits.email', email);
        }""",
        [id_token or visitor["id"], visitor["access"], visitor["refresh"], visitor["email"]],
    )
    page.reload()
    page.wait_for_selector("#mysfit-grid[data-state=ready]")


def register_confirm_and_log_in(page, email: str) -> None:
    """Register `email` through the site's dialog and confirm it, which logs the visitor in."""
    page.click("#register-button")
    dialog = page.locator("#auth-dialog")
    expect(dialog).to_have_attribute("data-step", "register")
    expect(page.locator("#password-policy [data-rule=length]")).to_have_text("at least 8 characters")  # the pool's
    page.fill("#register-email", email)
    page.fill("#register-password", PASSWORD)
    page.locator("#register-form").get_by_role("button", name=re.compile("register|create", re.I)).click()

    expect(dialog).to_have_attribute("data-step", "confirm")
    expect(page.locator("#confirm-hint")).to_contain_text("any code works")
    page.fill("#confirm-code", "123456")
    page.locator("#confirm-form").get_by_role("button", name=re.compile("confirm", re.I)).click()

    # Confirmed, the visitor is logged in with the password they registered with: no third form.
    expect(page.locator("#account-email")).to_have_text(email)
    expect(dialog).not_to_be_visible()


def log_in(page, email: str) -> None:
    """Log in through the site's dialog with the password `register_confirm_and_log_in` set."""
    page.click("#login-button")
    expect(page.locator("#auth-dialog")).to_have_attribute("data-step", "login")
    page.fill("#login-email", email)
    page.fill("#login-password", PASSWORD)
    page.locator("#login-form").get_by_role("button", name=re.compile("log in", re.I)).click()
    expect(page.locator("#account-email")).to_have_text(email)
