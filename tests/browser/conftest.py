"""Headless Debian Chromium, driven by Playwright (no browser download: executable_path)."""

import shutil

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is required for the browser tests: run scripts/ensure-system-packages")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
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
