"""The ops console and the trace command, as processes, reading the local X-Ray through boto3.

Traces are put with boto3's PutTraceSegments, as the daemon forwards them: a gateway stage
segment, a service segment under it with a DynamoDB subsegment, shaped as API Gateway and the
X-Ray SDK write them. The clicks bucket is on moto's S3.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime

import boto3
import pytest
import requests

from mysfits_deploy.site import published
from mysfits_deploy.stacks import ROOT
from mysfits_local.processes import free_port
from mysfits_local.traces import build_trace, format_tree
from mysfits_testkit.services import start_service
from mysfits_testkit.xray import GATEWAY, TABLE, put, request_trace, segment_id


def xray_client(url: str):
    return boto3.session.Session(region_name="us-east-1").client("xray", endpoint_url=url)


@pytest.fixture(scope="module")
def xray_url(tmp_path_factory):
    service = start_service("mysfits_local.xray", [], tmp_path_factory.mktemp("xray") / "xray.log")
    yield service.url
    service.stop()


@pytest.fixture(scope="module")
def clicks_bucket(moto_url) -> str:
    """A clicks bucket as the pipeline leaves it: two enriched lines and one processing failure."""
    s3 = boto3.session.Session(region_name="us-east-1").client("s3", endpoint_url=moto_url)
    bucket = f"clicks-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    lines = [
        {
            "userId": "u1",
            "mysfitId": "m-1",
            "name": "Blinky",
            "species": "Ogre",
            "clickedAt": "2024-05-01T12:00:00.000Z",
        },
        {
            "userId": "u2",
            "mysfitId": "m-1",
            "name": "Blinky",
            "species": "Ogre",
            "clickedAt": "2024-05-01T12:00:01.000Z",
        },
        {
            "userId": None,
            "mysfitId": "m-2",
            "name": "Snowflake",
            "species": "Yeti",
            "clickedAt": "2024-05-01T12:00:02.000Z",
        },
    ]
    body = "".join(json.dumps(line) + "\n" for line in lines)
    s3.put_object(Bucket=bucket, Key="clicks/2024/05/01/12/clicks-1-2024-05-01-12-00-00-abc", Body=body)
    failure = {"errorCode": "Lambda.FunctionError", "errorMessage": "catalog down", "rawData": "e30="}
    s3.put_object(Bucket=bucket, Key="processing-failed/2024/05/01/12/failed-1", Body=json.dumps(failure) + "\n")
    return bucket


@pytest.fixture(scope="module")
def console(xray_url, moto_url, clicks_bucket, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    stack = {"awsUrl": moto_url, "stacks": {"clicks": {"ClicksBucketName": clicks_bucket}}}
    (run_dir / "stack.json").write_text(json.dumps(stack))
    args = ["--xray-endpoint", xray_url, "--run-dir", str(run_dir)]
    service = start_service("mysfits_local.console", args, run_dir / "console.log")
    yield service.url
    service.stop()


@pytest.fixture(scope="module")
def traces(xray_url) -> dict[str, str]:
    """Three requests a few seconds ago: a catalog read, a failed adoption write, another catalog read."""
    xray, start = xray_client(xray_url), float(int(time.time()) - 20)
    return {
        "read": put(xray, request_trace(start, "mysfits-catalog", "m-1")),
        "fault": put(xray, request_trace(start + 1, "mysfits-adoption", "m-2", status=503, method="POST")),
        "later": put(xray, request_trace(start + 2, "mysfits-catalog", "m-3")),
    }


def get(console: str, path: str, status: int = 200, **params) -> dict:
    response = requests.get(console + path, params=params, timeout=10)
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    return response.json()


def listed(console: str, expression: str = "") -> list[str]:
    return [row["id"] for row in get(console, "/api/traces", filter=expression)["traces"]]


def test_recent_traces_say_when_what_how_long_and_where(console, traces):
    rows = {row["id"]: row for row in get(console, "/api/traces")["traces"]}
    row = rows[traces["fault"]]
    assert (row["method"], row["path"], row["status"]) == ("POST", "/mysfits/m-2/like", 503)
    assert row["durationMs"] == pytest.approx(45, abs=0.01)
    assert sorted(row["services"]) == sorted([GATEWAY, "mysfits-adoption", TABLE])
    assert (row["fault"], row["error"]) == (True, False)
    assert row["start"] == started(traces["fault"])
    # Newest first.
    ours = [trace_id for trace_id in rows if trace_id in traces.values()]
    assert ours == [traces["later"], traces["fault"], traces["read"]]


def started(trace_id: str) -> int:
    """When one of our traces started: they start on whole seconds, which their id records."""
    return int(trace_id.split("-")[1], 16)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('service("mysfits-adoption")', {"fault"}),
        ('service("mysfits-catalog")', {"read", "later"}),
        ("http.status = 503", {"fault"}),
        ("fault", {"fault"}),
        ('annotation.mysfitId = "m-3"', {"later"}),
        ('service("mysfits-catalog") AND annotation.mysfitId = "m-1" AND responsetime > 0.04', {"read"}),
        ("responsetime > 0.05", set()),
    ],
)
def test_filter_expressions_select_traces(console, traces, expression, expected):
    found = {name for name, trace_id in traces.items() if trace_id in listed(console, expression)}
    assert found == expected


def test_a_filter_x_ray_refuses_is_a_400_with_its_message(console, traces):
    answer = get(console, "/api/traces", 400, filter="http.status === 5")
    assert answer["error"]["code"] == "InvalidRequestException"
    assert "http.status === 5" in answer["error"]["message"]


def test_a_trace_is_a_tree_of_segments_and_subsegments(console, traces):
    trace = get(console, f"/api/traces/{traces['fault']}")
    assert trace["id"] == traces["fault"]
    assert trace["durationMs"] == pytest.approx(45, abs=0.01)
    [gateway] = trace["roots"]
    assert (gateway["name"], gateway["origin"], gateway["kind"]) == (GATEWAY, "AWS::ApiGateway::Stage", "segment")
    assert gateway["http"] == {"method": "POST", "url": "http://127.0.0.1:8000/mysfits/m-2/like", "status": 503}
    [service] = gateway["children"]
    assert (service["name"], service["annotations"], service["fault"]) == (
        "mysfits-adoption",
        {"mysfitId": "m-2"},
        True,
    )
    assert service["start"] - gateway["start"] == pytest.approx(0.002, abs=1e-6)
    assert service["durationMs"] == pytest.approx(38, abs=0.01)
    [dynamodb] = service["children"]
    assert (dynamodb["kind"], dynamodb["namespace"]) == ("subsegment", "aws")
    assert dynamodb["aws"] == {"operation": "GetItem", "table": TABLE}
    assert dynamodb["durationMs"] == pytest.approx(5, abs=0.01)
    assert (dynamodb["fault"], dynamodb["exception"]) == (True, "Requested resource not found")
    assert dynamodb["children"] == []


def test_a_trace_is_found_from_its_trace_header_too(console, traces):
    header = f"Root={traces['read']};Parent={segment_id()};Sampled=1"
    assert get(console, f"/api/traces/{requests.utils.quote(header)}")["id"] == traces["read"]


def test_an_unknown_trace_is_404_and_a_malformed_id_400(console, traces):
    unknown = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    assert get(console, f"/api/traces/{unknown}", 404)["error"]["code"] == "NotFound"
    assert "1-<8 hex digits>-<24 hex digits>" in get(console, "/api/traces/not-a-trace", 400)["error"]["message"]


def test_service_map_has_every_hop_with_counts_latency_and_errors(console, traces):
    graph = get(console, "/api/service-map", minutes=5)
    nodes = {node["name"]: node for node in graph["nodes"]}
    assert {"client", GATEWAY, "mysfits-catalog", "mysfits-adoption", TABLE} <= set(nodes)
    assert nodes[TABLE]["type"] == "AWS::DynamoDB::Table"
    assert nodes[GATEWAY]["root"] is True
    names = {node["id"]: name for name, node in nodes.items()}
    edges = {(names[edge["source"]], names[edge["target"]]): edge for edge in graph["edges"]}
    catalog = edges[(GATEWAY, "mysfits-catalog")]
    assert catalog["count"] == 2  # the two catalog reads of `traces`
    assert catalog["errorRate"] == 0
    assert catalog["avgMs"] == pytest.approx(38, abs=0.01)
    adoption = edges[("mysfits-adoption", TABLE)]
    assert (adoption["count"], adoption["faults"], adoption["errorRate"]) == (1, 1, 1)
    assert ("client", GATEWAY) in edges


def test_clicks_are_read_from_the_stacks_bucket(console, clicks_bucket):
    clicks = get(console, "/api/clicks")
    assert clicks == {
        "bucket": clicks_bucket,
        "total": 3,
        "views": [
            {"mysfitId": "m-1", "name": "Blinky", "views": 2},
            {"mysfitId": "m-2", "name": "Snowflake", "views": 1},
        ],
        "failed": 1,
        "failedByCode": {"Lambda.FunctionError": 1},
        "unreadableLines": 0,
    }


def test_the_page_is_served_with_nothing_from_elsewhere(console):
    page = requests.get(console + "/", timeout=5)
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    found = re.findall(r'(?:src|href)="([^"#]+)"', page.text)
    assert found == ["favicon.svg", "site.css", "console.css", "console.js"]
    kinds = {"console.js": "javascript", "site.css": "text/css", "console.css": "text/css", "favicon.svg": "image/svg"}
    for name, kind in kinds.items():
        answer = requests.get(f"{console}/{name}", timeout=5)
        assert answer.status_code == 200
        assert kind in answer.headers["Content-Type"]
    # In the site's look: the site's own stylesheet, as it is published, under the console's rules.
    assert requests.get(f"{console}/site.css", timeout=5).content == published(ROOT / "web/css/site.css")


def test_without_x_ray_or_the_stack_the_api_says_503(tmp_path):
    args = ["--xray-endpoint", f"http://127.0.0.1:{free_port()}", "--run-dir", str(tmp_path)]
    service = start_service("mysfits_local.console", args, tmp_path / "console.log")
    try:
        for path in ("/api/traces", "/api/service-map", "/api/clicks"):
            error = get(service.url, path, 503)["error"]
            assert error["code"] == "Unavailable"
        assert "stack.json" in error["message"]
        assert "cannot reach X-Ray" in get(service.url, "/api/traces", 503)["error"]["message"]
    finally:
        service.stop()


# -- the tree printer -----------------------------------------------------------------


def test_the_tree_printer_shows_every_hop_indented_with_durations():
    start = 1714564800.0  # 2024-05-01 12:00:00 UTC
    documents = request_trace(start, "mysfits-adoption", "m-2", status=503, method="POST")
    trace_id = documents[0]["trace_id"]
    assert format_tree(build_trace(trace_id, documents)).splitlines() == [
        f"trace {trace_id}  2024-05-01 12:00:00.000 UTC  45.0 ms",
        "     +0.0 ms   45.0 ms  Mysfits API/prod [AWS::ApiGateway::Stage]  POST /mysfits/m-2/like 503  FAULT",
        "     +2.0 ms   38.0 ms    mysfits-adoption  POST /mysfits/m-2/like 503  FAULT  mysfitId=m-2",
        "    +10.0 ms    5.0 ms      dynamodb  GetItem MysfitsTable  500  FAULT  (Requested resource not found)",
    ]


def test_segments_hang_under_the_subsegment_that_called_them_and_cycles_do_not_hang():
    start = 1714564800.0
    gateway, enricher = request_trace(start, "click-enricher", "m-1")
    call = {"name": "127.0.0.1", "id": segment_id(), "namespace": "remote", "start_time": start + 0.003}
    enricher["subsegments"] = [call | {"end_time": start + 0.030}]
    catalog = request_trace(start, "mysfits-catalog", "m-1")[1] | {"trace_id": gateway["trace_id"]}
    catalog["parent_id"] = call["id"]
    trace = build_trace(gateway["trace_id"], [catalog, enricher, gateway])
    [root] = trace["roots"]
    assert [entity["name"] for entity in walk(root)] == [
        GATEWAY,
        "click-enricher",
        "127.0.0.1",
        "mysfits-catalog",
        "dynamodb",
    ]

    gateway["parent_id"] = catalog["subsegments"][0]["id"]  # malformed: the calls go round in a circle
    trace = build_trace(gateway["trace_id"], [catalog, enricher, gateway])
    assert [root["name"] for root in trace["roots"]] == [GATEWAY, "mysfits-catalog", "click-enricher"]
    assert len(format_tree(trace).splitlines()) == 6


def walk(node: dict):
    yield node
    for child in node["children"]:
        yield from walk(child)


def trace_command(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "mysfits_local.traces", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)


def test_the_trace_command_prints_a_given_trace_or_the_latest(xray_url, traces):
    given = trace_command(traces["read"], "--xray-endpoint", xray_url)
    assert given.returncode == 0, given.stderr
    at = datetime.fromtimestamp(started(traces["read"]), UTC).strftime("%Y-%m-%d %H:%M:%S")
    assert given.stdout.splitlines() == [
        f"trace {traces['read']}  {at}.000 UTC  45.0 ms",
        "     +0.0 ms   45.0 ms  Mysfits API/prod [AWS::ApiGateway::Stage]  GET /mysfits/m-1 200",
        "     +2.0 ms   38.0 ms    mysfits-catalog  GET /mysfits/m-1 200  mysfitId=m-1",
        "    +10.0 ms    5.0 ms      dynamodb  GetItem MysfitsTable  200",
    ]
    newest = put(xray_client(xray_url), request_trace(time.time() + 1, "mysfits-catalog", "m-9"))
    latest = trace_command("--xray-endpoint", xray_url)
    assert latest.returncode == 0, latest.stderr
    assert latest.stdout.startswith(f"trace {newest}  ")


def test_the_trace_command_says_what_is_wrong(xray_url):
    unknown = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    assert trace_command(unknown, "--xray-endpoint", xray_url).stdout == f"trace {unknown} not found\n"
    assert trace_command("nonsense", "--xray-endpoint", xray_url).returncode == 2
    down = trace_command("--xray-endpoint", f"http://127.0.0.1:{free_port()}")
    assert down.returncode == 1
    assert "cannot reach X-Ray" in down.stdout
