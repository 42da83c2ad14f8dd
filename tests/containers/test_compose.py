"""docker-compose.yml for real, under podman: up, healthy, then through the containers the grid's
data, a like by a signed-in visitor, the like's trace in the X-Ray stand-in and in the ops console,
and a click that lands enriched in the bucket; then down, leaving nothing running. Run by
`make test-containers` (scripts/containers/compose, images built by scripts/containers/build);
the tests run in file order and share one stack."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import uuid
from pathlib import Path

import boto3
import pytest
import requests

from mysfits_local.account import CREDENTIALS, REGION
from mysfits_local.clicks import read_clicks
from mysfits_local.identity import cognito_client, embedded_client, sign_in_visitor
from mysfits_local.stack import DEFAULT_PORTS

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "scripts/containers/compose"
PROJECT = os.environ.get("COMPOSE_PROJECT_NAME", "mysfits")
PORTS = {name: int(os.environ.get(f"MYSFITS_{name.upper()}_PORT", port)) for name, port in DEFAULT_PORTS.items()}
URL = {name: f"http://127.0.0.1:{port}" for name, port in PORTS.items()}
LONG_RUNNING = ("xray", "aws", "firehose", "catalog", "adoption", "api", "lambda", "site", "console")
ENV = {
    **os.environ,
    "CONTAINERS_CONF": os.environ.get("CONTAINERS_CONF", str(ROOT / "scripts/containers/containers.conf")),
}


def compose(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(COMPOSE), *args], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=timeout, check=False
    )


def podman(*args: str) -> str:
    return subprocess.run(
        ["podman", *args],  # noqa: S607 - found on PATH, as a user runs it
        env=ENV,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout


def containers() -> dict[str, dict]:
    """The project's containers by service, as podman inspects them."""
    ids = podman("ps", "--all", "--quiet", "--filter", f"label=com.docker.compose.project={PROJECT}").split()
    inspected = json.loads(podman("inspect", *ids)) if ids else []
    return {c["Config"]["Labels"]["com.docker.compose.service"]: c for c in inspected}


def health(container: dict) -> str | None:
    return (container["State"].get("Health") or container["State"].get("Healthcheck") or {}).get("Status")


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def diagnosis() -> str:
    logs = []
    for service in ("provision", *LONG_RUNNING):
        logs.append(f"--- {service}\n" + compose("logs", "--no-color", "--tail", "30", service, timeout=60).stdout)
    return compose("ps", timeout=60).stdout + "\n".join(logs)


def volumes() -> set[str]:
    return set(podman("volume", "ls", "--quiet").split())


def state_file(name: str) -> dict:
    """A JSON file the provisioning step wrote to the shared volume, read in a container that mounts it."""
    return json.loads(podman("exec", containers()["site"]["Id"], "cat", f"/run/mysfits/{name}"))


VOLUMES_BEFORE: set[str] = set()
# The like of test_a_signed_in_visitor_likes_a_mysfit, whose trace the next test follows.
LIKE: dict[str, str] = {}


@pytest.fixture(scope="module")
def stack():
    busy = {name: port for name, port in PORTS.items() if port_in_use(port)}
    assert not busy, f"ports in use (is `make up` or another stack running?): {busy}"
    VOLUMES_BEFORE.update(volumes())
    started = time.monotonic()
    up = compose("up", "--detach", "--no-build")
    try:
        assert up.returncode == 0, f"compose up failed:\n{up.stdout}\n{up.stderr}\n{diagnosis()}"
        # `up` returns once every part has started; the last ones must still pass their checks.
        deadline = time.monotonic() + 120
        while any(health(c) != "healthy" for s, c in containers().items() if s in LONG_RUNNING):
            assert time.monotonic() < deadline, f"not healthy after 120 s:\n{diagnosis()}"
            time.sleep(1)
        print(f"\nthe stack in containers is up and healthy in {time.monotonic() - started:.1f}s")
        yield URL
    finally:
        compose("down", "--volumes", timeout=300)  # again after test_down (a no-op then)


def test_every_part_runs_healthy_and_provisioning_finished(stack):
    running = containers()
    assert {s: health(running[s]) for s in LONG_RUNNING} == dict.fromkeys(LONG_RUNNING, "healthy")
    assert running["provision"]["State"]["ExitCode"] == 0
    assert running["provision"]["State"]["Status"] == "exited"
    for service in ("catalog", "adoption"):
        assert running[service]["Config"]["User"] == "10001", service


def test_the_grid_data_through_the_api(stack):
    answer = requests.get(f"{stack['api']}/mysfits", timeout=10)
    assert answer.status_code == 200
    mysfits = answer.json()["mysfits"]
    assert len(mysfits) == 12
    for mysfit in mysfits:
        assert {"mysfitId", "name", "species", "goodevil", "lawchaos", "thumbImageUri"} <= mysfit.keys()
    # The site, served with the settings the provisioning step wrote.
    assert "<html" in requests.get(f"{stack['site']}/", timeout=10).text.lower()
    config = requests.get(f"{stack['site']}/config.json", timeout=10).json()
    assert config["apiEndpoint"] == stack["api"]
    assert config["userPoolClientId"]


def test_a_signed_in_visitor_likes_a_mysfit(stack):
    config = requests.get(f"{stack['site']}/config.json", timeout=10).json()
    visitor = sign_in_visitor(
        cognito_client(config["cognitoEndpoint"]),
        config["userPoolClientId"],
        f"container-{uuid.uuid4().hex[:8]}@example.com",
        "Passw0rd!-containers",
    )
    mysfit_id = requests.get(f"{stack['api']}/mysfits", timeout=10).json()["mysfits"][0]["mysfitId"]
    before = requests.get(f"{stack['api']}/mysfits/{mysfit_id}", timeout=10).json()["likes"]

    assert requests.post(f"{stack['api']}/mysfits/{mysfit_id}/like", timeout=10).status_code == 401
    liked = requests.post(
        f"{stack['api']}/mysfits/{mysfit_id}/like", headers={"Authorization": visitor["id"]}, timeout=10
    )
    assert liked.status_code == 200, liked.text
    assert liked.json()["liked"] is True
    assert liked.json()["likes"] == before + 1
    assert requests.get(f"{stack['api']}/mysfits/{mysfit_id}", timeout=10).json()["likes"] == before + 1
    root = liked.headers["X-Amzn-Trace-Id"].split(";")[0].removeprefix("Root=")
    LIKE.update(trace_id=root, mysfit_id=mysfit_id, visitor=visitor["sub"])


def test_the_like_is_one_trace_in_xray_and_in_the_console(stack):
    assert LIKE, "needs the like of test_a_signed_in_visitor_likes_a_mysfit"
    trace_id = LIKE["trace_id"]
    # The provisioning step recorded the X-Ray API's address as `make up` does (`make trace` reads it).
    assert state_file("stack.json")["xrayUrl"] == stack["xray"]

    # The gateway's and the adoption service's segments, sent over UDP from their containers.
    xray = boto3.session.Session(region_name=REGION, **CREDENTIALS).client("xray", endpoint_url=stack["xray"])
    deadline = time.monotonic() + 20
    while True:
        traces = xray.batch_get_traces(TraceIds=[trace_id])["Traces"]
        documents = [json.loads(segment["Document"]) for trace in traces for segment in trace["Segments"]]
        segments = {doc.get("origin", doc["name"]): doc for doc in documents}
        if {"AWS::ApiGateway::Stage", "mysfits-adoption"} <= segments.keys():
            break
        assert time.monotonic() < deadline, f"the like's trace {trace_id} holds only {list(segments)}:\n{diagnosis()}"
        time.sleep(0.3)
    assert {doc["trace_id"] for doc in documents} == {trace_id}
    gateway, adoption = segments["AWS::ApiGateway::Stage"], segments["mysfits-adoption"]
    assert adoption["parent_id"] == gateway["id"]
    assert adoption["annotations"] == {"mysfitId": LIKE["mysfit_id"], "visitor": LIKE["visitor"]}

    # The ops console shows the same trace: the gateway's segment with the adoption service under it.
    answer = requests.get(f"{stack['console']}/api/traces/{trace_id}", timeout=20)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    shown = answer.json()
    assert shown["id"] == trace_id
    (root,) = shown["roots"]
    assert root["origin"] == "AWS::ApiGateway::Stage"
    assert "mysfits-adoption" in [child["name"] for child in root["children"]]


def test_a_click_lands_enriched_in_the_bucket(stack):
    mysfit = requests.get(f"{stack['api']}/mysfits", timeout=10).json()["mysfits"][1]
    user_id = f"container-check-{uuid.uuid4().hex[:8]}"
    clicked = requests.put(
        f"{stack['api']}/clicks", json={"mysfitId": mysfit["mysfitId"], "userId": user_id}, timeout=10
    )
    assert clicked.status_code == 200, clicked.text

    # The bucket the click pipeline's stack made, from the state the provisioning step wrote.
    bucket = state_file("stack.json")["stacks"]["clicks"]["ClicksBucketName"]
    s3 = embedded_client("s3", stack["aws"])
    deadline = time.monotonic() + 60
    while True:
        ours = [click for click in read_clicks(s3, bucket).clicks if click.get("userId") == user_id]
        if ours:
            break
        assert time.monotonic() < deadline, f"no enriched click for {user_id} in s3://{bucket}:\n{diagnosis()}"
        time.sleep(0.5)
    assert ours[0]["mysfitId"] == mysfit["mysfitId"]
    assert ours[0]["name"] == mysfit["name"]
    assert ours[0]["species"] == mysfit["species"]


def test_down_leaves_nothing_running(stack):
    helpers = {name: (ROOT / ".run/containers" / f"{name}.pid") for name in ("podman-service", "health-ticker")}
    pids = {name: int(path.read_text()) for name, path in helpers.items() if path.exists()}
    assert set(pids) == set(helpers), "the podman API service and the health checks run while the stack does"

    down = compose("down", "--volumes", timeout=300)
    assert down.returncode == 0, down.stdout + down.stderr

    assert containers() == {}
    assert volumes() == VOLUMES_BEFORE  # the state volume and the services' anonymous /tmp volumes
    for name, pid in pids.items():
        assert not Path(f"/proc/{pid}").exists(), f"{name} (pid {pid}) still runs"
    assert {name: port for name, port in PORTS.items() if port_in_use(port)} == {}
