"""Headless Debian Chromium, driven by Playwright (no browser download: executable_path)."""

import shutil

import pytest
from playwright.sync_api import sync_playwright

from mysfits_testkit.browser import checked_page

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
    yield from checked_page(browser, viewport={"width": 1280, "height": 900})
