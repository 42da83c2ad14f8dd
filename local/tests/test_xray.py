"""The X-Ray stand-in as its own process: fed over UDP (hand-written documents and the real X-Ray
SDK, see xray_sdk_emitter.py) and PutTraceSegments, read back only through a boto3 `xray` client."""

from __future__ import annotations

import json
import random
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from socket import AF_INET, SOCK_DGRAM, socket

import boto3
import psutil
import pytest
import requests
from aws_xray_sdk.core.sampling.connector import ServiceConnector
from botocore.config import Config

from mysfits_local.processes import free_port
from mysfits_testkit.services import Service, start_service

HERE = Path(__file__).resolve().parent
HEADER = b'{"format":"json","version":1}\n'
NOW = int(time.time())  # whole seconds: boto3 sends StartTime and EndTime in whole seconds


@dataclass
class Daemon:
    service: Service
    port: int

    def stats(self) -> dict:
        return requests.get(f"{self.service.url}/_local/stats", timeout=5).json()

    def send(self, *payloads: dict | bytes, chunk: int = 250) -> None:
        """Send datagrams (a dict is sent as a document after the header), waiting for each chunk to
        arrive, so that the kernel's receive buffer never overflows."""
        received = self.stats()["received"]
        with socket(AF_INET, SOCK_DGRAM) as sock:
            for start in range(0, len(payloads), chunk):
                batch = payloads[start : start + chunk]
                for payload in batch:
                    sock.sendto(
                        HEADER + json.dumps(payload).encode() if isinstance(payload, dict) else payload, self.address
                    )
                received += len(batch)
                wait_for(lambda total=received: self.stats()["received"] >= total, f"{received} datagrams received")

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)


def wait_for(check, what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def start_daemon(log_path: Path, *args: str) -> Daemon:
    port = free_port()  # free for TCP; the stand-in fails at once if UDP is taken
    return Daemon(
        start_service("mysfits_local.xray", list(args), log_path, ready_path="/_local/stats", port=port), port
    )


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    daemon = start_daemon(tmp_path_factory.mktemp("xray") / "xray.log")
    yield daemon
    assert daemon.service.stop() == 0, daemon.service.log()
    assert json.loads(daemon.service.log().splitlines()[-1])["message"] == "stopped"


@pytest.fixture(scope="module")
def xray(daemon):
    client = boto3.client(
        "xray",
        endpoint_url=daemon.service.url,
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1}),
    )
    yield client
    client.close()


# -- documents -----------------------------------------------------------------------


def new_trace_id() -> str:
    return f"1-{int(NOW):08x}-{secrets.token_hex(12)}"


def entity(name: str, start: float, seconds: float, **fields) -> dict:
    return {"name": name, "id": secrets.token_hex(8), "start_time": start, "end_time": start + seconds, **fields}


def http(method: str, url: str, status: int) -> dict:
    return {"request": {"method": method, "url": url}, "response": {"status": status}}


def dynamodb(start: float, seconds: float, operation: str, **fields) -> dict:
    aws = {"operation": operation, "table_name": "MysfitsTable", "region": "us-east-1"}
    return entity("DynamoDB", start, seconds, namespace="aws", aws=aws, **fields)


def gateway(trace_id: str, start: float, seconds: float, **fields) -> dict:
    return entity("mysfits-api/prod", start, seconds, trace_id=trace_id, origin="AWS::ApiGateway::Stage", **fields)


GATEWAY = {"Name": "mysfits-api/prod", "Names": ["mysfits-api/prod"], "Type": "AWS::ApiGateway::Stage"}
CATALOG = {"Name": "catalog", "Names": ["catalog"]}
TABLE = {"Name": "MysfitsTable", "Names": ["MysfitsTable"], "Type": "AWS::DynamoDB::Table"}


@pytest.fixture(scope="module")
def mysfits(daemon) -> dict:
    """Four traces two hours ago: `ok` (gateway → catalog → table), `conflict` (gateway → adoption,
    an error), `fault` (gateway → catalog, throttled by the table, whose subsegment is streamed on
    its own before its segment), `slow` (catalog alone, calling an image host). Also "window"."""
    base = NOW - 7200
    ids = {name: new_trace_id() for name in ("ok", "conflict", "fault", "slow")}
    docs = []

    front = gateway(ids["ok"], base, 0.1, http=http("GET", "https://api.example.com/prod/mysfits", 200))
    catalog = entity("catalog", base + 0.02, 0.06, trace_id=ids["ok"], parent_id=front["id"])
    catalog["http"] = http("GET", "http://catalog/mysfits", 200)
    catalog["annotations"] = {"mysfitId": "m1", "note": "cats AND dogs"}
    catalog["subsegments"] = [dynamodb(base + 0.03, 0.02, "Query")]
    docs += [front, catalog]

    start = base + 1
    front = gateway(ids["conflict"], start, 0.2, error=True)
    front["http"] = http("POST", "https://api.example.com/prod/mysfits/m2/adopt", 409)
    adoption = entity("adoption", start + 0.01, 0.15, trace_id=ids["conflict"], parent_id=front["id"], error=True)
    adoption["http"] = http("POST", "http://adoption/mysfits/m2/adopt", 409)
    adoption["annotations"] = {"mysfitId": "m2"}
    adoption["subsegments"] = [
        dynamodb(start + 0.05, 0.05, "UpdateItem", error=True, http={"response": {"status": 400}})
    ]
    docs += [front, adoption]

    start = base + 2
    front = gateway(ids["fault"], start, 2.6, fault=True)
    front["http"] = http("GET", "https://api.example.com/prod/mysfits/m3", 500)
    catalog = entity("catalog", start + 0.1, 2.5, trace_id=ids["fault"], parent_id=front["id"], fault=True)
    catalog["http"] = http("GET", "http://catalog/mysfits/m3", 500)
    catalog["annotations"] = {"mysfitId": "m3"}
    table = dynamodb(start + 0.1, 2.4, "GetItem", error=True, throttle=True, http={"response": {"status": 400}})
    docs += [table | {"type": "subsegment", "trace_id": ids["fault"], "parent_id": catalog["id"]}, front, catalog]

    start = base + 3
    image = entity("images.example.com", start + 0.5, 0.3, namespace="remote")
    image["http"] = http("GET", "https://images.example.com/m1.svg", 200)
    catalog = entity("catalog", start, 1.2, trace_id=ids["slow"], http=http("GET", "http://catalog/mysfits", 200))
    catalog["annotations"] = {"mysfitId": "m1", "likes": 3, "adopted": False}
    catalog["subsegments"] = [image]
    docs.append(catalog)
    daemon.send(*docs)
    return ids | {"window": (base - 1, base + 10)}


def summaries(xray, window, expression: str = "") -> list[dict]:
    pages = xray.get_paginator("get_trace_summaries").paginate(
        StartTime=window[0], EndTime=window[1], FilterExpression=expression
    )
    return [summary for page in pages for summary in page["TraceSummaries"]]


# -- summaries and filters -------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("", {"ok", "conflict", "fault", "slow"}),
        ('service("adoption")', {"conflict"}),
        ('service("MysfitsTable")', {"ok", "conflict", "fault"}),
        ('service("images.example.com")', {"slow"}),
        ('service("nobody")', set()),
        ("http.status = 500", {"fault"}),
        ("http.status >= 400", {"conflict", "fault"}),
        ("http.status != 200", {"conflict", "fault"}),
        ("responsetime > 1", {"fault", "slow"}),
        ("responsetime <= 0.1", {"ok"}),
        ("duration > 2", {"fault"}),
        ("fault", {"fault"}),
        ("fault = false", {"ok", "conflict", "slow"}),
        ("error", {"conflict", "fault"}),
        ("throttle", {"fault"}),
        ("ok", {"ok", "slow"}),
        ('annotation.mysfitId = "m1"', {"ok", "slow"}),
        ('annotation.mysfitId != "m1"', {"conflict", "fault"}),
        ("annotation.likes > 2", {"slow"}),
        ("annotation.adopted = false", {"slow"}),
        ('annotation.note = "cats AND dogs" AND ok', {"ok"}),
        ('http.url CONTAINS "/adopt"', {"conflict"}),
        ('http.method = "POST"', {"conflict"}),
        ('service("catalog") AND annotation.mysfitId = "m1" AND responsetime > 1', {"slow"}),
        ('SERVICE("adoption") and FAULT = false', {"conflict"}),
    ],
)
def test_each_filter_expression_returns_exactly_its_traces(xray, mysfits, expression, expected):
    found = {summary["Id"] for summary in summaries(xray, mysfits["window"], expression)}
    assert found == {mysfits[name] for name in expected}


@pytest.mark.parametrize(
    "expression",
    [
        'service("adoption") OR service("catalog")',
        "(fault)",
        "NOT fault",
        "!fault",
        'http.status = "500"',
        'responsetime > "slow"',
        "annotation.mysfitId CONTAINS 5",
        'edge("mysfits-api/prod", "catalog")',
        'service("catalog") { fault }',
        "http.status >",
        "fault AND",
        "user = 1",
    ],
)
def test_an_unsupported_filter_expression_is_a_clear_400(xray, mysfits, expression):
    with pytest.raises(xray.exceptions.InvalidRequestException) as caught:
        summaries(xray, mysfits["window"], expression)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    message = caught.value.response["Error"]["Message"]
    assert message.startswith(f"Unsupported filter expression {expression!r}")
    assert "supports terms joined by AND" in message


def test_a_summary_says_what_the_trace_did(xray, mysfits):
    [summary] = summaries(xray, mysfits["window"], 'annotation.note = "cats AND dogs"')
    base = mysfits["window"][0] + 1
    assert summary["Id"] == mysfits["ok"]
    assert summary["StartTime"].timestamp() == pytest.approx(base, abs=1e-3)
    assert summary["Duration"] == pytest.approx(0.1)
    assert summary["ResponseTime"] == pytest.approx(0.1)  # the gateway's, the root segment
    assert summary["Http"] == {
        "HttpURL": "https://api.example.com/prod/mysfits",
        "HttpStatus": 200,
        "HttpMethod": "GET",
    }
    assert (summary["HasFault"], summary["HasError"], summary["HasThrottle"], summary["IsPartial"]) == (False,) * 4
    assert sorted(summary["ServiceIds"], key=lambda s: s["Name"]) == [TABLE, CATALOG, GATEWAY]
    assert summary["EntryPoint"] == GATEWAY
    assert summary["Annotations"] == {
        "mysfitId": [{"AnnotationValue": {"StringValue": "m1"}, "ServiceIds": [CATALOG]}],
        "note": [{"AnnotationValue": {"StringValue": "cats AND dogs"}, "ServiceIds": [CATALOG]}],
    }
    [fault] = summaries(xray, mysfits["window"], "fault")
    assert (fault["HasFault"], fault["HasError"], fault["HasThrottle"]) == (True, True, True)
    assert fault["Http"]["HttpStatus"] == 500


def test_summaries_come_in_pages_selected_by_start_time(daemon, xray):
    base = NOW - 3 * 3600
    ids = [new_trace_id() for _ in range(250)]
    documents = [json.dumps(entity("paged", base + i, 0.01, trace_id=ids[i])) for i in range(250)]
    for start in range(0, 250, 50):
        assert (
            xray.put_trace_segments(TraceSegmentDocuments=documents[start : start + 50])["UnprocessedTraceSegments"]
            == []
        )

    pages = list(xray.get_paginator("get_trace_summaries").paginate(StartTime=base, EndTime=base + 249))
    assert [len(page["TraceSummaries"]) for page in pages] == [100, 100, 50]
    assert [summary["Id"] for page in pages for summary in page["TraceSummaries"]] == ids  # oldest first, each once
    later = summaries(xray, (base + 200, base + 1000))
    assert [summary["Id"] for summary in later] == ids[200:]
    with pytest.raises(xray.exceptions.InvalidRequestException, match="NextToken"):
        xray.get_trace_summaries(StartTime=base, EndTime=base + 1, NextToken="nonsense")


# -- traces and graphs ---------------------------------------------------------------


def documents(xray, trace_id: str) -> list[dict]:
    [trace] = xray.batch_get_traces(TraceIds=[trace_id])["Traces"]
    return [json.loads(segment["Document"]) | {"_Id": segment["Id"]} for segment in trace["Segments"]]


def test_batch_get_traces_answers_segments_with_streamed_subsegments_inside(xray, mysfits):
    answer = xray.batch_get_traces(TraceIds=[mysfits["fault"], "1-00000000-000000000000000000000000"])
    assert answer["UnprocessedTraceIds"] == ["1-00000000-000000000000000000000000"]
    [trace] = answer["Traces"]
    assert trace["Id"] == mysfits["fault"]
    assert trace["Duration"] == pytest.approx(2.6)
    by_name = {json.loads(s["Document"])["name"]: (s["Id"], json.loads(s["Document"])) for s in trace["Segments"]}
    assert set(by_name) == {"mysfits-api/prod", "catalog"}
    segment_id, catalog = by_name["catalog"]
    assert segment_id == catalog["id"]
    [table] = catalog["subsegments"]  # sent on its own, before its segment
    assert (table["name"], table["aws"]["operation"], table["throttle"]) == ("DynamoDB", "GetItem", True)


def test_nested_streamed_subsegments_are_assembled_whatever_their_order(daemon, xray):
    trace_id, start = new_trace_id(), NOW - 4 * 3600
    segment = entity("catalog", start, 1.0, trace_id=trace_id, in_progress=False)
    outer = entity("load", start + 0.1, 0.5, type="subsegment", trace_id=trace_id, parent_id=segment["id"])
    inner = dynamodb(start + 0.2, 0.1, "Query") | {"type": "subsegment", "trace_id": trace_id, "parent_id": outer["id"]}
    in_progress = {k: v for k, v in segment.items() if k != "end_time"} | {"in_progress": True}
    daemon.send(inner, in_progress, outer, segment, in_progress)  # a late in-progress copy changes nothing

    [document] = documents(xray, trace_id)
    assert document["end_time"] == segment["end_time"]
    [load] = document["subsegments"]
    assert load["name"] == "load"
    assert [sub["name"] for sub in load["subsegments"]] == ["DynamoDB"]
    [graph] = [s for s in xray.get_trace_graph(TraceIds=[trace_id])["Services"] if s.get("Name") == "catalog"]
    assert len(graph["Edges"]) == 1  # catalog → MysfitsTable, found inside the streamed "load"


def by_name(services: list[dict]) -> dict:
    return {service.get("Name") or service["Type"]: service for service in services}


def edges(services: list[dict]) -> dict[tuple[str, str], dict]:
    names = {service["ReferenceId"]: service.get("Name") or service["Type"] for service in services}
    return {
        (names[service["ReferenceId"]], names[edge["ReferenceId"]]): edge["SummaryStatistics"]
        for service in services
        for edge in service["Edges"]
    }


def counts(statistics: dict) -> tuple[int, int, int, int, int]:
    """(total, ok, errors other than throttling, throttles, faults)."""
    errors = statistics["ErrorStatistics"]
    return (
        statistics["TotalCount"],
        statistics["OkCount"],
        errors["OtherCount"],
        errors["ThrottleCount"],
        statistics["FaultStatistics"]["TotalCount"],
    )


def test_the_service_graph_has_a_node_per_service_and_resource_and_counted_edges(xray, mysfits):
    start, end = mysfits["window"]
    answer = xray.get_service_graph(StartTime=start, EndTime=end)
    services = answer["Services"]
    nodes = by_name(services)
    assert {name: node.get("Type") for name, node in nodes.items()} == {
        "client": "client",
        "mysfits-api/prod": "AWS::ApiGateway::Stage",
        "catalog": None,
        "adoption": None,
        "MysfitsTable": "AWS::DynamoDB::Table",
        "images.example.com": "remote",
    }
    assert {name for name, node in nodes.items() if node["Root"]} == {"mysfits-api/prod", "catalog"}
    assert counts(nodes["mysfits-api/prod"]["SummaryStatistics"]) == (3, 1, 1, 0, 1)
    assert counts(nodes["catalog"]["SummaryStatistics"]) == (3, 2, 0, 0, 1)
    assert counts(nodes["MysfitsTable"]["SummaryStatistics"]) == (3, 1, 1, 1, 0)
    assert {pair: counts(stats) for pair, stats in edges(services).items()} == {
        ("client", "mysfits-api/prod"): (3, 1, 1, 0, 1),
        ("client", "catalog"): (1, 1, 0, 0, 0),
        ("mysfits-api/prod", "catalog"): (2, 1, 0, 0, 1),
        ("mysfits-api/prod", "adoption"): (1, 0, 1, 0, 0),
        ("catalog", "MysfitsTable"): (2, 1, 0, 1, 0),
        ("catalog", "images.example.com"): (1, 1, 0, 0, 0),
        ("adoption", "MysfitsTable"): (1, 0, 1, 0, 0),
    }
    table_edge = edges(services)[("catalog", "MysfitsTable")]
    assert table_edge["TotalResponseTime"] == pytest.approx(0.02 + 2.4)
    [catalog_edge] = [e for e in nodes["catalog"]["Edges"] if e["ReferenceId"] == nodes["MysfitsTable"]["ReferenceId"]]
    assert catalog_edge["ResponseTimeHistogram"] == [{"Value": 0.02, "Count": 1}, {"Value": 2.4, "Count": 1}]
    assert sum(entry["Count"] for entry in nodes["catalog"]["ResponseTimeHistogram"]) == 3


def test_the_trace_graph_covers_only_the_traces_asked_for(xray, mysfits):
    services = xray.get_trace_graph(TraceIds=[mysfits["conflict"]])["Services"]
    assert set(by_name(services)) == {"client", "mysfits-api/prod", "adoption", "MysfitsTable"}
    assert {pair: counts(stats) for pair, stats in edges(services).items()} == {
        ("client", "mysfits-api/prod"): (1, 0, 1, 0, 0),
        ("mysfits-api/prod", "adoption"): (1, 0, 1, 0, 0),
        ("adoption", "MysfitsTable"): (1, 0, 1, 0, 0),
    }


# -- the real SDK and the other operations ----------------------------------------------


def test_segments_from_the_xray_sdk_read_back_through_boto3(daemon, xray):
    before = daemon.stats()["received"]
    emitted = subprocess.run(
        [sys.executable, str(HERE / "xray_sdk_emitter.py"), str(daemon.port)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    trace_id = json.loads(emitted.stdout.splitlines()[-1])["trace_id"]
    # The SDK streamed each subsegment on its own: a segment and two subsegments.
    wait_for(lambda: daemon.stats()["received"] >= before + 3, "the SDK's three documents")
    window = (time.time() - 120, time.time() + 1)

    found = summaries(xray, window, 'service("MysfitsTable") AND annotation.mysfitId = "sdk-1" AND http.status = 200')
    assert [summary["Id"] for summary in found] == [trace_id]

    [segment] = documents(xray, trace_id)
    assert segment["name"] == "catalog-sdk"
    subsegments = {sub["namespace"]: sub for sub in segment["subsegments"]}
    assert subsegments["aws"]["name"] == "dynamodb"  # the SDK names it after botocore's endpoint prefix
    assert subsegments["aws"]["aws"]["table_name"] == "MysfitsTable"
    assert subsegments["remote"]["http"]["request"]["url"] == f"{daemon.service.url}/_local/stats"

    services = xray.get_trace_graph(TraceIds=[trace_id])["Services"]
    assert by_name(services)["MysfitsTable"]["Type"] == "AWS::DynamoDB::Table"
    assert by_name(services)["127.0.0.1"]["Type"] == "remote"
    assert {pair: counts(stats) for pair, stats in edges(services).items()} == {
        ("client", "catalog-sdk"): (1, 1, 0, 0, 0),
        ("catalog-sdk", "MysfitsTable"): (1, 1, 0, 0, 0),
        ("catalog-sdk", "127.0.0.1"): (1, 1, 0, 0, 0),
    }
    graph = xray.get_service_graph(StartTime=window[0], EndTime=window[1])["Services"]
    assert {"catalog-sdk", "MysfitsTable", "127.0.0.1"} <= set(by_name(graph))


def test_put_trace_segments_stores_the_good_and_names_the_bad(xray):
    trace_id = new_trace_id()
    good = entity("put", NOW - 5 * 3600, 0.5, trace_id=trace_id)
    answer = xray.put_trace_segments(
        TraceSegmentDocuments=[json.dumps(good), "{not json", json.dumps(good | {"id": "not-hex", "trace_id": "x"})]
    )
    assert [(u["ErrorCode"], u["Id"]) for u in answer["UnprocessedTraceSegments"]] == [
        ("bad_json", ""),
        ("invalid_segment", "not-hex"),
    ]
    [document] = documents(xray, trace_id)
    assert document["id"] == good["id"]


def test_the_sdk_centralized_sampler_gets_the_default_rule(daemon, xray):
    connector = ServiceConnector()
    connector.setup_xray_client("127.0.0.1", daemon.port, None)
    [rule] = connector.fetch_sampling_rules()
    assert (rule.name, rule.priority, rule.rate, rule.can_borrow) == ("Default", 10000, 0.05, True)
    targets, _modified = connector.fetch_sampling_target([rule])
    assert targets["Default"]["rate"] == 0.05
    assert targets["Default"]["quota"] == 1
    assert targets["Default"]["TTL"] > time.time()

    statistics = {"RuleName": "nope", "ClientID": "0" * 24, "Timestamp": NOW, "RequestCount": 1}
    answer = xray.get_sampling_targets(SamplingStatisticsDocuments=[statistics | {"SampledCount": 0, "BorrowCount": 0}])
    assert answer["SamplingTargetDocuments"] == []
    assert [u["RuleName"] for u in answer["UnprocessedStatistics"]] == ["nope"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("GET", "/", None, 404, "UnknownOperationException"),
        ("GET", "/TraceSummaries", None, 404, "UnknownOperationException"),
        ("POST", "/Nope", b"{}", 404, "UnknownOperationException"),
        ("POST", "/TraceSummaries", b"{not json", 400, "InvalidRequestException"),
        ("POST", "/TraceSummaries", b"[]", 400, "InvalidRequestException"),
        ("POST", "/TraceSummaries", b'{"EndTime": 1}', 400, "InvalidRequestException"),
        ("POST", "/Traces", b'{"TraceIds": "1-x"}', 400, "InvalidRequestException"),
        ("POST", "/TraceSegments", b"x" * (9 * 1024 * 1024), 413, "InvalidRequestException"),
    ],
)
def test_bad_requests_get_clear_json_errors(daemon, method, path, body, status, code):
    response = requests.request(method, daemon.service.url + path, data=body, timeout=10)
    assert response.status_code == status
    assert response.headers["x-amzn-ErrorType"] == code
    assert response.json()["__type"] == code
    assert response.json()["Message"]


# -- hostile input and bounded memory ------------------------------------------------


def test_fuzzed_udp_input_is_counted_and_dropped_never_fatal(daemon, xray):
    rng = random.Random(2000)
    trace_id = new_trace_id()
    valid = entity(
        "fuzz", NOW - 6 * 3600, 0.1, trace_id=trace_id, subsegments=[dynamodb(NOW - 6 * 3600, 0.05, "Query")]
    )
    text = json.dumps(valid).encode()
    random_bytes = [rng.randbytes(rng.randrange(0, 2000)) for _ in range(200)]
    truncated = [HEADER + text[: rng.randrange(0, len(text))] for _ in range(100)]
    oversized = [HEADER + json.dumps(valid | {"metadata": {"pad": "x" * 65_000}}).encode()[:65_000] for _ in range(5)]
    biggest = json.dumps(valid | {"id": secrets.token_hex(8), "metadata": {"pad": ""}}).encode()
    biggest = HEADER + biggest.replace(b'"pad": ""', b'"pad": "' + b"x" * (64_000 - len(HEADER) - len(biggest)) + b'"')
    assert len(biggest) == 64_000  # the largest datagram accepted
    wrong_header = [
        text,
        HEADER.strip() + text,
        b'{"format":"json","version":2}\n' + text,
        b'{"format":"xml"}\n' + text,
        b"not a header\n" + text,
        b"[" * 50_000 + b"\n" + text,
        b"",
    ]
    invalid = [
        HEADER + b"[]",
        HEADER + b'"segment"',
        HEADER + json.dumps({"name": "x"}).encode(),
        HEADER + json.dumps({k: v for k, v in valid.items() if k != "end_time"}).encode(),
        HEADER + json.dumps(valid | {"trace_id": "1-nothex"}).encode(),
        HEADER + json.dumps(valid | {"type": "subsegment"}).encode(),  # no parent_id
        HEADER + json.dumps(valid | {"subsegments": [{"name": "no id"}]}).encode(),
        HEADER + json.dumps(valid | {"subsegments": "none"}).encode(),
    ]
    bad_json = [HEADER + b"[" * 50_000, HEADER + b"\xff\xfe{}", HEADER + b"{}}"]
    before = daemon.stats()

    daemon.send(*random_bytes, *truncated, *oversized, *wrong_header, *invalid, *bad_json, biggest, valid, chunk=50)

    stats = daemon.stats()
    assert daemon.service.popen.poll() is None
    assert stats["received"] - before["received"] == 200 + 100 + 5 + 7 + 8 + 3 + 2
    dropped = {reason: count - before["dropped"].get(reason, 0) for reason, count in stats["dropped"].items()}
    dropped = {reason: count for reason, count in dropped.items() if count}
    assert dropped == {"bad_header": 200 + 7, "bad_json": 100 + 3, "oversized": 5, "invalid_segment": 8}
    assert stats["stored"] - before["stored"] == 2
    [document] = [d for d in documents(xray, trace_id) if d["id"] == valid["id"]]
    assert document["subsegments"][0]["aws"]["table_name"] == "MysfitsTable"

    def logged_drops() -> set:
        lines = [json.loads(line) for line in daemon.service.log().splitlines()]  # every line is JSON
        return {line["reason"] for line in lines if line["message"] == "dropped"}

    wait_for(lambda: logged_drops() == set(dropped), "one log line per drop reason", timeout=5)


def test_memory_stays_bounded_after_100000_segments(tmp_path):
    daemon = start_daemon(tmp_path / "xray.log")  # the default cap: 10,000 traces
    try:
        ids = [f"1-{int(NOW):08x}-{i:024x}" for i in range(50_000)]
        payloads = []
        for i, trace_id in enumerate(ids):  # two documents a trace: a segment and a streamed subsegment
            segment = {
                "name": "load",
                "id": f"{2 * i:016x}",
                "trace_id": trace_id,
                "start_time": NOW,
                "end_time": NOW + 1,
            }
            sub = {"name": "DynamoDB", "id": f"{2 * i + 1:016x}", "start_time": NOW, "end_time": NOW + 0.5}
            sub |= {"type": "subsegment", "trace_id": trace_id, "parent_id": segment["id"], "namespace": "aws"}
            payloads += [HEADER + json.dumps(segment).encode(), HEADER + json.dumps(sub).encode()]
        daemon.send(*payloads)

        stats = daemon.stats()
        assert (stats["received"], stats["stored"], stats["dropped"]) == (100_000, 100_000, {})
        assert (stats["traces"], stats["documents"], stats["evicted"]) == (10_000, 20_000, 40_000)
        rss = psutil.Process(daemon.service.pid).memory_info().rss
        assert rss < 150 * 1024 * 1024, f"{rss / 1024 / 1024:.0f} MB"

        xray = boto3.client("xray", endpoint_url=daemon.service.url, region_name="us-east-1")
        oldest_held, newest_evicted = ids[-10_000], ids[-10_001]
        answer = xray.batch_get_traces(TraceIds=[ids[0], newest_evicted, oldest_held, ids[-1]])
        assert [trace["Id"] for trace in answer["Traces"]] == [oldest_held, ids[-1]]
        assert answer["UnprocessedTraceIds"] == [ids[0], newest_evicted]
        assert len(json.loads(answer["Traces"][0]["Segments"][0]["Document"])["subsegments"]) == 1
    finally:
        assert daemon.service.stop() == 0, daemon.service.log()


def test_the_byte_cap_evicts_the_oldest_traces_too(tmp_path):
    daemon = start_daemon(tmp_path / "xray.log", "--max-mb", "0.01")  # 10,485 bytes of segment JSON
    try:
        ids = [new_trace_id() for _ in range(10)]
        padding = {"metadata": {"pad": "x" * 1900}}  # about 2,100 bytes a document
        daemon.send(*(entity("big", NOW - 7 * 3600 + i, 0.1, trace_id=ids[i]) | padding for i in range(10)))
        stats = daemon.stats()
        assert stats["bytes"] <= 10_485 < stats["bytes"] + 2_200
        assert (stats["traces"], stats["evicted"]) == (5, 5)
        xray = boto3.client("xray", endpoint_url=daemon.service.url, region_name="us-east-1")
        assert xray.batch_get_traces(TraceIds=ids)["UnprocessedTraceIds"] == ids[:5]
    finally:
        assert daemon.service.stop() == 0, daemon.service.log()


def test_help_states_the_caps():
    shown = subprocess.run(
        [sys.executable, "-m", "mysfits_local.xray", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "traces held (default 10,000)" in shown
    assert "MB of segment JSON held (default 32)" in shown
