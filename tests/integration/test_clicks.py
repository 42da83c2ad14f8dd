"""The click pipeline end to end: gateway -> Firehose stand-in -> enricher (Lambda stand-in,
asking the catalog through the API) -> S3. Nothing sent is lost: every click ends enriched,
dropped (unknown mysfit) or under processing-failed/ with its original data."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest
import requests

from catalog.seed import bundled_records
from mysfits_testkit.stack import start_stack

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = bundled_records()
BY_ID = {m["MysfitId"]: m for m in BUNDLED}


def _send(stack, clicks: list[dict], workers: int = 16) -> list[int]:
    """Each click's final status, sent as the site sends them: a throttled click (429, the
    stage's limit) is sent again a little later."""
    local = threading.local()

    def one(click):
        if not hasattr(local, "session"):
            local.session = requests.Session()
        for attempt in range(20):
            status = local.session.put(f"{stack.api_url}/clicks", json=click, timeout=30).status_code
            if status != 429:
                return status
            time.sleep(0.05 * (attempt + 1))
        return status

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, clicks))


def _outcome(stack, run: str):
    """This run's enriched clicks and failed originals, read back from the bucket."""
    report = stack.clicks()
    ok = [c for c in report.clicks if str(c.get("userId", "")).startswith(run)]
    failed = []
    for doc in report.failed:
        original = json.loads(base64.b64decode(doc["rawData"]))
        if str(original.get("userId", "")).startswith(run):
            failed.append((doc, original))
    return ok, failed


def _stats(stack) -> dict:
    """The Firehose stand-in's counters for the clicks stream (not an AWS API)."""
    return requests.get(f"{stack.firehose_url}/_local/streams/{stack.clicks_stream}", timeout=10).json()


def _settled(stack, timeout: float = 60) -> dict:
    """Waits until the Firehose stand-in holds nothing buffered or in flight."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats = _stats(stack)
        if stats["buffered"] == 0 and stats["in_flight"] == 0:
            return stats
        time.sleep(0.2)
    raise AssertionError(f"the stream did not settle: {_stats(stack)}")


def _wait_for(stack, run: str, expected: int, timeout: float = 90):
    deadline = time.monotonic() + timeout
    while True:
        ok, failed = _outcome(stack, run)
        if len(ok) + len(failed) >= expected or time.monotonic() > deadline:
            return ok, failed
        time.sleep(0.5)


def test_1000_clicks_are_all_enriched_or_dropped(stack):
    run = f"e2e-{uuid.uuid4().hex[:8]}"
    known = [BUNDLED[n % len(BUNDLED)]["MysfitId"] for n in range(900)]
    unknown = [str(uuid.uuid4()) for _ in range(100)]
    clicks = [{"mysfitId": mysfit_id, "userId": f"{run}-{n}"} for n, mysfit_id in enumerate(known + unknown)]
    assert stack.config["clicksEndpoint"] == stack.api_url  # where the site sends its clicks
    baseline = _settled(stack)
    started = datetime.now(UTC)

    statuses = _send(stack, clicks)
    assert statuses.count(200) == 1000, {s: statuses.count(s) for s in set(statuses)}

    ok, failed = _wait_for(stack, run, expected=900)
    stats = _settled(stack)
    dropped = stats["dropped"] - baseline["dropped"]
    assert failed == []
    assert len(ok) + dropped == len(clicks)
    assert dropped == len(unknown)

    # Each Ok line is exactly the click, enriched from the catalog.
    sent = {c["userId"]: c for c in clicks}
    assert sorted(c["userId"] for c in ok) == sorted(f"{run}-{n}" for n in range(900))
    for line in ok:
        click = sent[line["userId"]]
        mysfit = BY_ID[click["mysfitId"]]
        assert line["mysfitId"] == click["mysfitId"]
        assert (line["name"], line["species"], line["goodevil"], line["lawchaos"]) == (
            mysfit["Name"],
            mysfit["Species"],
            mysfit["GoodEvil"],
            mysfit["LawChaos"],
        )
        clicked_at = datetime.fromisoformat(line["clickedAt"].replace("Z", "+00:00"))
        assert started.timestamp() - 1 <= clicked_at.timestamp() <= time.time() + 1


def test_enriched_clicks_land_under_a_time_partitioned_prefix(stack):
    run = f"prefix-{uuid.uuid4().hex[:8]}"
    assert _send(stack, [{"mysfitId": BUNDLED[2]["MysfitId"], "userId": run}]) == [200]
    _wait_for(stack, run, expected=1)
    keys = [o["Key"] for o in stack.s3().list_objects_v2(Bucket=stack.clicks_bucket, Prefix="clicks/")["Contents"]]
    now = datetime.now(UTC)
    assert any(key.startswith(f"clicks/{now:%Y/%m/%d}/") for key in keys), keys


def test_the_clicks_command_prints_the_latest_clicks_and_views(stack):
    run = f"report-{uuid.uuid4().hex[:8]}"
    mysfit = BUNDLED[4]
    assert _send(stack, [{"mysfitId": mysfit["MysfitId"], "userId": run}]) == [200]
    _wait_for(stack, run, expected=1)
    # The command finds the running stack (its embedded AWS and clicks bucket) from its run directory.
    command = [sys.executable, "-m", "mysfits_local", "clicks", "--run-dir", str(stack.run_dir), "--latest", "500"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    assert run in result.stdout
    assert "views per mysfit:" in result.stdout
    assert mysfit["Name"] in result.stdout.split("views per mysfit:")[1]
    assert "under processing-failed/" in result.stdout


def _catalog_group(catalog_port: int) -> int:
    """The process group of the gunicorn serving the catalog (the stack starts each part in its own)."""
    for connection in psutil.net_connections(kind="tcp"):
        if connection.laddr and connection.laddr.port == catalog_port and connection.status == psutil.CONN_LISTEN:
            return os.getpgid(connection.pid)
    raise AssertionError(f"nothing listens on {catalog_port}")


@pytest.fixture(scope="module")
def cold_stack(tmp_path_factory):
    """A stack of its own whose enricher keeps no warm cache, so every batch asks the catalog."""
    running = start_stack(
        tmp_path_factory.mktemp("cold-stack"),
        env={"CATALOG_CACHE_SECONDS": "0", "CATALOG_TIMEOUT_SECONDS": "1", "CATALOG_ATTEMPTS": "2"},
    )
    assert any("Press Ctrl-C" in line for line in running.output), "".join(running.output)
    yield running
    assert running.stop() == 0, "".join(running.output)


def test_with_the_catalog_stopped_mid_run_no_click_vanishes(cold_stack):
    stack = cold_stack
    run = f"fault-{uuid.uuid4().hex[:8]}"
    clicks = [{"mysfitId": BUNDLED[n % len(BUNDLED)]["MysfitId"], "userId": f"{run}-{n}"} for n in range(300)]
    group = _catalog_group(stack.ports["catalog"])
    statuses: list[int] = []

    def trickle():
        for start in range(0, len(clicks), 20):
            statuses.extend(_send(stack, clicks[start : start + 20], workers=4))
            time.sleep(0.3)

    sender = threading.Thread(target=trickle)
    sender.start()
    time.sleep(1.5)
    os.killpg(group, signal.SIGSTOP)  # the catalog stops answering, mid-run
    try:
        time.sleep(4)
    finally:
        os.killpg(group, signal.SIGCONT)
    sender.join()
    assert statuses.count(200) == len(clicks)

    _wait_for(stack, run, expected=len(clicks), timeout=120)
    _settled(stack)
    ok, failed = _outcome(stack, run)
    # None vanished: every click is enriched or kept, with its original data, under processing-failed/.
    assert sorted([c["userId"] for c in ok] + [original["userId"] for _, original in failed]) == sorted(
        c["userId"] for c in clicks
    )
    assert failed, "the catalog outage should have failed some batches"
    assert ok, "clicks before and after the outage should be enriched"
    for doc, original in failed:
        assert doc["errorCode"].startswith("Lambda.")
        assert original == next(c for c in clicks if c["userId"] == original["userId"])
    # The catalog is back: new clicks are enriched again.
    after = f"{run}-after"
    assert _send(stack, [{"mysfitId": BUNDLED[0]["MysfitId"], "userId": after}]) == [200]
    ok_after, _ = _wait_for(stack, after, expected=1)
    assert [c["name"] for c in ok_after] == [BUNDLED[0]["Name"]]


def test_ctrl_c_delivers_every_buffered_click_before_the_stack_stops(cold_stack):
    """Ctrl-C right after a burst: the Firehose stand-in stops first and delivers what it holds
    while the enricher, the API and the catalog it needs are still running."""
    stack = cold_stack
    log = stack.run_dir / "logs" / "firehose.log"
    seen = log.stat().st_size
    clicks = [{"mysfitId": BUNDLED[n % len(BUNDLED)]["MysfitId"], "userId": f"ctrl-c-{n}"} for n in range(200)]
    assert _send(stack, clicks) == [200] * len(clicks)
    assert stack.stop() == 0, "".join(stack.output)

    with log.open(encoding="utf-8") as file:
        file.seek(seen)
        lines = file.read().splitlines()
    delivered = [line for line in lines if " delivered stream=" in line]
    counts = {
        key: sum(int(re.search(rf" {key}=(\d+)", line).group(1)) for line in delivered) for key in ("ok", "failed")
    }
    assert counts == {"ok": len(clicks), "failed": 0}, delivered
    assert any("every accepted record was delivered" in line for line in lines), lines[-5:]
