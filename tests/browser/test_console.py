"""The ops console in a real browser, against the local X-Ray and a clicks bucket on moto's S3."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid

import boto3
import pytest
import requests
from playwright.sync_api import expect

from mysfits_testkit.services import start_service
from mysfits_testkit.xray import GATEWAY, put, request_trace

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def console(moto_url, tmp_path_factory):
    """The console on a fresh X-Ray holding two requests, and a clicks bucket with one enriched file."""
    run_dir = tmp_path_factory.mktemp("console")
    xray = start_service("mysfits_local.xray", [], run_dir / "xray.log")
    session = boto3.session.Session(region_name="us-east-1")
    start = time.time() - 10
    client = session.client("xray", endpoint_url=xray.url)
    ids = {
        "read": put(client, request_trace(start, "mysfits-catalog", "m-1")),
        "fault": put(client, request_trace(start + 1, "mysfits-adoption", "m-2", status=503)),
    }
    s3 = session.client("s3", endpoint_url=moto_url)
    bucket = f"clicks-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    clicks = [("m-1", "Blinky"), ("m-1", "Blinky"), ("m-1", "Blinky"), ("m-2", "Snowflake")]
    body = "".join(
        json.dumps({"mysfitId": m, "name": n, "clickedAt": f"2024-05-01T12:00:0{i}Z"}) + "\n"
        for i, (m, n) in enumerate(clicks)
    )
    s3.put_object(Bucket=bucket, Key="clicks/2024/05/01/12/clicks-1", Body=body)
    stack = {"awsUrl": moto_url, "stacks": {"clicks": {"ClicksBucketName": bucket}}}
    (run_dir / "stack.json").write_text(json.dumps(stack))
    service = start_service(
        "mysfits_local.console", ["--xray-endpoint", xray.url, "--run-dir", str(run_dir)], run_dir / "console.log"
    )
    yield service.url, ids
    service.stop()
    xray.stop()


def test_find_a_trace_see_its_waterfall_the_service_map_and_the_clicks(console, page):
    url, ids = console
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(url + "/")
    expect(page.locator("[data-testid=trace-row]")).to_have_count(2)

    page.get_by_label("Trace id").fill(ids["fault"])
    page.get_by_role("button", name="Open trace").click()
    expect(page.locator("#trace-title")).to_have_text(ids["fault"])
    rows = page.locator("[data-testid=waterfall-row]")
    expect(rows).to_have_count(3)
    assert [row.get_attribute("data-name") for row in rows.all()] == [GATEWAY, "mysfits-adoption", "dynamodb"]
    assert [row.get_attribute("data-depth") for row in rows.all()] == ["0", "1", "2"]
    expect(rows.nth(0).locator("td.num")).to_have_text("45.0 ms")  # its duration
    expect(rows.nth(0)).to_contain_text("fault")
    expect(rows.nth(1)).to_contain_text("mysfitId = m-2")
    expect(rows.nth(2)).to_contain_text("GetItem on table MysfitsTable")
    expect(rows.nth(2).locator("td.num")).to_have_text("5.0 ms")

    nodes = page.locator("#service-map [data-testid=map-node]")
    expect(nodes).to_have_count(5)
    names = {node.get_attribute("data-name") for node in nodes.all()}
    assert names == {"client", GATEWAY, "mysfits-catalog", "mysfits-adoption", "MysfitsTable"}
    expect(page.locator("#service-map [data-testid=map-edge]")).to_have_count(5)

    expect(page.locator("#clicks-total")).to_have_text("4")
    expect(page.locator("#clicks-failed")).to_have_text("0")
    bars = page.locator("[data-testid=clicks-row]")
    expect(bars).to_have_count(2)
    expect(bars.nth(0).locator("th")).to_have_text("Blinky")
    expect(bars.nth(0).locator("[data-testid=clicks-views]")).to_have_text("3")
    expect(bars.nth(1).locator("[data-testid=clicks-views]")).to_have_text("1")
    assert [r for r in requested if not r.startswith(url)] == []


def test_filters_narrow_the_list_and_a_refused_filter_says_why(console, page):
    url, ids = console
    page.goto(url + "/")
    expect(page.locator("[data-testid=trace-row]")).to_have_count(2)
    page.get_by_label("Filter expression").fill("fault")
    page.get_by_label("Filter expression").press("Enter")
    expect(page.locator("[data-testid=trace-row]")).to_have_count(1)
    expect(page.locator("[data-testid=trace-row]")).to_have_attribute("data-trace-id", ids["fault"])

    page.get_by_label("Filter expression").fill("http.status === 5")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#filter-error")).to_contain_text("http.status === 5")
    expect(page.get_by_label("Filter expression")).to_have_attribute("aria-invalid", "true")

    # Keyboard only: open a trace from the list and close it again.
    page.get_by_label("Filter expression").fill("")
    page.get_by_label("Filter expression").press("Enter")
    link = page.locator(f"#traces-body a[data-trace-id='{ids['read']}']")
    link.focus()
    page.keyboard.press("Enter")
    expect(page.locator("[data-testid=waterfall-row]")).to_have_count(3)
    page.keyboard.press("Escape")
    expect(page.locator("#trace-panel")).to_be_hidden()


def test_axe_finds_no_accessibility_violations(console, browser, tmp_path):
    """axe-core from npm, into this test's own directory; skipped where npm cannot fetch it."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed")
    command = [npm, "install", "--no-audit", "--no-fund", "--silent", "--prefix", str(tmp_path), "axe-core@4.14.1"]
    installed = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    if installed.returncode != 0:
        pytest.skip(f"cannot install axe-core from npm: {installed.stderr[-300:]}")
    url, ids = console
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)  # axe goes in inline
    page = context.new_page()
    page.goto(f"{url}/#trace={ids['fault']}")
    for ready in ("[data-testid=waterfall-row]", "[data-testid=map-node]", "[data-testid=clicks-row]"):
        page.wait_for_selector(ready)
    page.add_script_tag(path=tmp_path / "node_modules/axe-core/axe.min.js")
    violations = page.evaluate(
        """axe.run(document, {runOnly: ["wcag2a", "wcag2aa", "wcag21aa", "best-practice"]})
            .then(result => result.violations.map(v => `${v.id}: ${v.help} at ${v.nodes.map(n => n.target)}`))"""
    )
    context.close()
    assert violations == []


def test_a_request_just_made_is_found_in_the_running_stacks_console(stack, stack_pool, page):
    """The stack's own console: a like's trace by its id, its waterfall, the live service map."""
    visitor = stack_pool.sign_in()
    mysfit = requests.get(f"{stack.api_url}/mysfits", timeout=10).json()["mysfits"][5]["mysfitId"]
    requests.get(f"{stack.api_url}/mysfits/{mysfit}", timeout=10)  # a catalog trace for the map
    signed_in = {"Authorization": visitor["id"]}
    liked = requests.post(f"{stack.api_url}/mysfits/{mysfit}/like", headers=signed_in, timeout=10)
    assert liked.status_code == 200
    # Taken back: other tests count this mysfit's likes on the shared stack.
    unliked = requests.delete(f"{stack.api_url}/mysfits/{mysfit}/like", headers=signed_in, timeout=10)
    assert unliked.status_code == 200
    trace_id = liked.headers["X-Amzn-Trace-Id"].split(";")[0].removeprefix("Root=")

    page.goto(stack.console_url + "/")
    page.get_by_label("Trace id").fill(trace_id)
    page.get_by_role("button", name="Open trace").click()
    expect(page.locator("#trace-title")).to_have_text(trace_id)
    rows = page.locator("[data-testid=waterfall-row]")
    expect(rows.first).to_have_attribute("data-name", "Mythical Mysfits API/local")
    names = [row.get_attribute("data-name") for row in rows.all()]
    assert names[1] == "mysfits-adoption"
    assert "dynamodb" in names[2:]

    nodes = page.locator("#service-map [data-testid=map-node]")
    expect(nodes.first).to_be_visible()
    shown = {node.get_attribute("data-name") for node in nodes.all()}
    assert {"Mythical Mysfits API/local", "mysfits-catalog", "mysfits-adoption"} <= shown
    assert stack.outputs["data"]["MysfitsTableName"] in shown  # the catalog's read names its table
