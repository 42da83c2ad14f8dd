"""Parts killed under load: clients get JSON errors, the stack restarts the part by itself, and no
acknowledged like or click is lost."""

from __future__ import annotations

import base64
import json
import os
import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
import requests

from catalog.seed import bundled_records
from mysfits_testkit.identity import Pool
from mysfits_testkit.stack import start_stack

pytestmark = pytest.mark.integration

BUNDLED = bundled_records()
OUTAGE_STATUSES = {502, 503, 504}


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory):
    """A stack of this module's own: its parts are killed."""
    running = start_stack(tmp_path_factory.mktemp("faults"))
    yield running
    running.stop()


def _kill(stack, marker: str) -> None:
    """SIGKILL the part whose command line contains `marker`."""
    part = next(p for p in psutil.Process(stack.process.pid).children() if marker in " ".join(p.cmdline()))
    os.kill(part.pid, signal.SIGKILL)


def _under_load(call, items, kill, after: int, workers: int = 8) -> list[tuple]:
    """Run `call(item)` for every item from `workers` threads; `kill()` once `after` have been
    answered. Each item's (item, status, body); a 429 (the stage's throttle) is sent again."""
    answered = []
    lock = threading.Lock()
    killed = threading.Event()

    def one(item):
        for attempt in range(50):
            response = call(item)
            if response.status_code != 429:
                break
            time.sleep(0.02 * (attempt + 1))
        with lock:
            answered.append((item, response.status_code, response))
            if len(answered) >= after and not killed.is_set():
                killed.set()
                kill()
        return item, response.status_code, response

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, items))


def _assert_outage_answers(results) -> None:
    statuses = {status for _, status, _ in results}
    assert statuses <= {200} | OUTAGE_STATUSES, statuses
    assert statuses & OUTAGE_STATUSES, "the kill was not seen: the test proves nothing"
    for _, status, response in results:
        if status != 200:
            assert response.headers["Content-Type"].startswith("application/json")
            assert set(response.json()["error"]) == {"code", "message"}


def _until_ok(request, timeout: float = 60) -> requests.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            response = request()
            if response.status_code == 200:
                return response
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, "the stack did not recover by itself"
        time.sleep(0.2)


def _likes_under_a_kill(stack, session, count: int, marker: str, after: int) -> tuple[list[dict], list[tuple]]:
    """`count` new visitors each like every bundled mysfit, and the part named by `marker` is
    killed after `after` answers: the visitors, and each like's (pair, status, response)."""
    config = stack.config
    pool = Pool(config["userPoolId"], config["userPoolClientId"], config["cognitoEndpoint"])
    with ThreadPoolExecutor(max_workers=8) as executor:
        visitors = list(executor.map(lambda _: pool.sign_in(), range(count)))

    def like(pair):
        visitor, mysfit = pair
        return session.post(
            f"{stack.api_url}/mysfits/{mysfit}/like", headers={"Authorization": visitor["id"]}, timeout=60
        )

    pairs = [(v, m["MysfitId"]) for v in visitors for m in BUNDLED]
    results = _under_load(like, pairs, lambda: _kill(stack, marker), after=after)
    _assert_outage_answers(results)
    return visitors, results


def test_adoption_killed_under_likes_recovers_and_keeps_every_acknowledged_like(own_stack):
    stack = own_stack
    session = requests.Session()
    visitors, results = _likes_under_a_kill(stack, session, 20, "adoption:create_app", after=40)
    me = _until_ok(lambda: session.get(f"{stack.api_url}/me", headers={"Authorization": visitors[0]["id"]}, timeout=10))
    assert me.status_code == 200
    for visitor in visitors:
        liked = set(
            session.get(f"{stack.api_url}/me", headers={"Authorization": visitor["id"]}, timeout=10).json()["liked"]
        )
        acknowledged = {mysfit for (v, mysfit), status, _ in results if v is visitor and status == 200}
        assert acknowledged <= liked, "an acknowledged like was lost"
    assert any("adoption stopped unexpectedly" in line and "restarted it" in line for line in stack.output)


def test_catalog_killed_under_reads_answers_json_errors_then_recovers(own_stack):
    stack = own_stack
    ids = [m["MysfitId"] for m in BUNDLED] * 25
    session = requests.Session()
    results = _under_load(
        lambda mysfit: session.get(f"{stack.api_url}/mysfits/{mysfit}", timeout=60),
        ids,
        lambda: _kill(stack, "catalog:create_app"),
        after=30,
    )
    _assert_outage_answers(results)
    assert _until_ok(lambda: session.get(f"{stack.api_url}/mysfits", timeout=10)).json()["mysfits"]


def test_firehose_killed_under_clicks_delivers_every_acknowledged_click_after_its_restart(own_stack):
    stack = own_stack
    run = f"fault-{uuid.uuid4().hex[:8]}"
    clicks = [{"mysfitId": BUNDLED[n % 12]["MysfitId"], "userId": f"{run}-{n}"} for n in range(600)]
    session = requests.Session()
    results = _under_load(
        lambda click: session.put(f"{stack.api_url}/clicks", json=click, timeout=60),
        clicks,
        lambda: _kill(stack, "mysfits_local.firehose"),
        after=150,
    )
    _assert_outage_answers(results)
    acknowledged = {click["userId"] for click, status, _ in results if status == 200}
    deadline = time.monotonic() + 90
    while True:
        report = stack.clicks()
        landed = {c.get("userId") for c in report.clicks}
        landed |= {json.loads(base64.b64decode(d["rawData"])).get("userId") for d in report.failed}
        if acknowledged <= landed or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    lost = acknowledged - landed
    assert not lost, f"{len(lost)} of {len(acknowledged)} acknowledged clicks lost"


def test_the_embedded_aws_killed_under_likes_restarts_with_its_state_and_loses_nothing(own_stack):
    """The embedded AWS keeps its state (`.run/state`): killed mid-load, it is restarted, replays
    it, and every like it acknowledged, every visitor and every token are still there."""
    stack = own_stack
    session = requests.Session()
    before = {m["mysfitId"]: m["likes"] for m in session.get(f"{stack.api_url}/mysfits", timeout=10).json()["mysfits"]}
    visitors, results = _likes_under_a_kill(stack, session, 10, "mysfits_local.aws", after=30)
    for visitor in visitors:  # the tokens from before still sign them in: same pool, client and key
        me = _until_ok(
            lambda v=visitor: session.get(f"{stack.api_url}/me", headers={"Authorization": v["id"]}, timeout=10)
        )
        acknowledged = {mysfit for (v, mysfit), status, _ in results if v is visitor and status == 200}
        assert acknowledged <= set(me.json()["liked"]), "an acknowledged like was lost"
    for mysfit in before:  # and the counts agree with the likes kept
        likers = sum(
            mysfit in session.get(f"{stack.api_url}/me", headers={"Authorization": v["id"]}, timeout=10).json()["liked"]
            for v in visitors
        )
        assert session.get(f"{stack.api_url}/mysfits/{mysfit}", timeout=10).json()["likes"] == before[mysfit] + likers
    assert any("aws stopped unexpectedly" in line and "restarted it" in line for line in stack.output)
