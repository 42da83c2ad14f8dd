"""A visitor's browser across a restart of the stack (Ctrl-C stops every process and frees every
port; `make up` again): still signed in, the same like and adoption; and a fresh start forgets them."""

import socket
import uuid

import psutil
import pytest
from playwright.sync_api import expect

from mysfits_local.processes import free_port
from mysfits_local.stack import DEFAULT_PORTS
from mysfits_testkit.browser import log_in, register_confirm_and_log_in
from mysfits_testkit.stack import start_stack

pytestmark = pytest.mark.browser

READY = "#mysfit-grid[data-state=ready]"


def test_a_signed_in_visitor_is_still_signed_in_with_their_like_and_adoption_after_a_restart(tmp_path, page):
    # The same ports each time, as `make up` uses: the browser keeps its session per origin.
    ports = {name: free_port() for name in DEFAULT_PORTS}
    stack = start_stack(tmp_path, ports)
    output = "".join(stack.output)
    for part in ("aws", "catalog", "adoption", "api", "site"):
        assert f"{part:<8} ready" in output
    # The summary gives every part's address, as the README's table lists them.
    summary = output[output.index("Mythical Mysfits is running:") :]
    assert all(f"127.0.0.1:{port}" in summary for port in ports.values()), summary
    children = psutil.Process(stack.process.pid).children(recursive=True)
    try:
        page.goto(stack.site_url + "/")
        page.wait_for_selector(READY)
        email = f"restart-{uuid.uuid4().hex[:8]}@example.com"
        register_confirm_and_log_in(page, email)
        liked, adopted = page.locator("[data-mysfit-id]").evaluate_all(
            "cards => cards.slice(0, 2).map(card => card.dataset.mysfitId)"
        )
        page.locator(f"[data-mysfit-id='{liked}'] [data-testid=like-button]").click()
        expect(page.locator(f"[data-mysfit-id='{liked}'] [data-testid=like-button]")).to_have_attribute(
            "aria-pressed", "true"
        )
        page.locator(f"[data-mysfit-id='{adopted}'] [data-testid=open-profile]").click()
        dialog = page.locator("#profile-dialog[data-state=ready]")
        dialog.locator("[data-testid=adopt-button]").click()
        expect(dialog.locator("[data-testid=profile-adopted]")).to_have_text("Adopted by you")
        page.keyboard.press("Escape")
    finally:
        assert stack.stop() == 0  # Ctrl-C
    # ... stops every process and frees every port.
    assert psutil.wait_procs(children, timeout=5)[1] == []
    for name, port in ports.items():
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, name

    again = start_stack(tmp_path, ports)
    try:
        page.reload()
        page.wait_for_selector(READY)
        expect(page.locator("#account-email")).to_have_text(email)
        expect(page.locator(f"[data-mysfit-id='{liked}'] [data-testid=like-button]")).to_have_attribute(
            "aria-pressed", "true"
        )
        page.locator(f"[data-mysfit-id='{adopted}'] [data-testid=open-profile]").click()
        dialog = page.locator("#profile-dialog[data-state=ready]")
        expect(dialog.locator("[data-testid=profile-adopted]")).to_have_text("Adopted by you")
        page.keyboard.press("Escape")
        # The account is kept too: logged out, the visitor logs in again with their password.
        page.click("#logout-button")
        expect(page.locator("#login-button")).to_be_visible()
        log_in(page, email)
        expect(page.locator(f"[data-mysfit-id='{liked}'] [data-testid=like-button]")).to_have_attribute(
            "aria-pressed", "true"
        )
    finally:
        assert again.stop() == 0

    fresh = start_stack(tmp_path, ports, env={"FRESH": "1"})
    try:
        page.reload()
        page.wait_for_selector(READY)
        expect(page.locator("#login-button")).to_be_visible()  # that session's pool is gone
        expect(page.locator(f"[data-mysfit-id='{liked}'] [data-testid=like-button]")).to_have_attribute(
            "aria-pressed", "false"
        )
        expect(page.locator(f"[data-mysfit-id='{adopted}'] [data-testid=adopted-badge]")).to_be_hidden()
    finally:
        assert fresh.stop() == 0
