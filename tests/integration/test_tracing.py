"""Operators follow a request or a click through every hop, read only through the X-Ray API."""

from __future__ import annotations

import json
import time
import uuid

import boto3
import psutil
import pytest
import requests

pytestmark = pytest.mark.integration


def _xray(stack):
    return boto3.session.Session(region_name="us-east-1").client("xray", endpoint_url=stack.xray_url)


def _segments(stack, trace_id: str, expected: int, timeout: float = 15) -> list[dict]:
    """The trace's segment documents, once at least `expected` have arrived."""
    deadline = time.monotonic() + timeout
    while True:
        traces = _xray(stack).batch_get_traces(TraceIds=[trace_id])["Traces"]
        documents = [json.loads(s["Document"]) for t in traces for s in t["Segments"]]
        if len(documents) >= expected or time.monotonic() > deadline:
            return documents
        time.sleep(0.2)


def _subsegments(segment: dict) -> list[dict]:
    found = []
    for child in segment.get("subsegments", []):
        found += [child, *_subsegments(child)]
    return found


def _root(response) -> str:
    return response.headers["X-Amzn-Trace-Id"].split(";")[0].removeprefix("Root=")


def test_a_like_is_one_trace_gateway_adoption_dynamodb(stack, stack_pool):
    visitor = stack_pool.sign_in()
    mysfit = requests.get(f"{stack.api_url}/mysfits", timeout=10).json()["mysfits"][0]["mysfitId"]
    response = requests.post(
        f"{stack.api_url}/mysfits/{mysfit}/like", headers={"Authorization": visitor["id"]}, timeout=10
    )
    assert response.status_code == 200
    # The like is taken back: other tests count this mysfit's likes on the shared stack.
    unliked = requests.delete(
        f"{stack.api_url}/mysfits/{mysfit}/like", headers={"Authorization": visitor["id"]}, timeout=10
    )
    assert unliked.status_code == 200
    segments = {s["origin"] if "origin" in s else s["name"]: s for s in _segments(stack, _root(response), 2)}
    gateway = segments["AWS::ApiGateway::Stage"]
    adoption = segments["mysfits-adoption"]
    assert adoption["parent_id"] == gateway["id"]
    assert adoption["annotations"] == {"mysfitId": mysfit, "visitor": visitor["sub"]}
    calls = [(s["name"].lower(), s["aws"]["operation"]) for s in _subsegments(adoption) if "aws" in s]
    assert calls[:2] == [("dynamodb", "TransactWriteItems"), ("dynamodb", "GetItem")]


def test_a_profile_is_one_trace_gateway_catalog_dynamodb(stack):
    mysfit = requests.get(f"{stack.api_url}/mysfits", timeout=10).json()["mysfits"][1]["mysfitId"]
    response = requests.get(f"{stack.api_url}/mysfits/{mysfit}", timeout=10)
    segments = {s.get("origin", s["name"]): s for s in _segments(stack, _root(response), 2)}
    catalog = segments["mysfits-catalog"]
    assert catalog["parent_id"] == segments["AWS::ApiGateway::Stage"]["id"]
    assert catalog["annotations"]["mysfitId"] == mysfit
    assert [(s["aws"]["operation"], s["aws"]["table_name"]) for s in _subsegments(catalog) if "aws" in s] == [
        ("GetItem", stack.outputs["data"]["MysfitsTableName"])
    ]


def test_a_click_is_traced_through_the_enricher_into_the_catalog(stack):
    # A mysfit no batch asked for yet: the enricher cannot answer from its warm cache.
    mysfit = f"never-clicked-{uuid.uuid4().hex[:8]}"
    assert requests.put(f"{stack.api_url}/clicks", json={"mysfitId": mysfit}, timeout=10).ok
    xray = _xray(stack)
    deadline = time.monotonic() + 20
    found = []
    while not found and time.monotonic() < deadline:
        found = xray.get_trace_summaries(
            StartTime=time.time() - 120, EndTime=time.time() + 5, FilterExpression=f'annotation.mysfitId = "{mysfit}"'
        )["TraceSummaries"]
        time.sleep(0.3)
    assert len(found) == 1, "the click's catalog lookup is in one trace"
    assert any("ClickEnricher" in service.get("Name", "") for service in found[0]["ServiceIds"])
    segments = _segments(stack, found[0]["Id"], 3)
    assert len({s["trace_id"] for s in segments}) == 1
    (catalog,) = [s for s in segments if s.get("annotations", {}).get("mysfitId") == mysfit]
    gateway = next(s for s in segments if s["id"] == catalog["parent_id"])
    assert gateway["origin"] == "AWS::ApiGateway::Stage"
    # The gateway's segment hangs under the enricher's subsegment for that catalog call.
    enricher = next(s for s in segments if s.get("origin") == "AWS::Lambda::Function")
    calls = {s["id"] for s in _subsegments(enricher) if s.get("namespace") == "remote"}
    assert gateway["parent_id"] in calls


def test_the_table_down_is_a_fault_in_the_trace_and_in_the_service_map(stack):
    mysfit = requests.get(f"{stack.api_url}/mysfits", timeout=10).json()["mysfits"][3]["mysfitId"]
    aws = next(
        psutil.Process(c.pid)
        for c in psutil.net_connections(kind="tcp")
        if c.laddr and c.laddr.port == stack.ports["aws"] and c.status == psutil.CONN_LISTEN
    )
    aws.suspend()  # the embedded AWS stops answering: DynamoDB is down
    try:
        response = requests.get(f"{stack.api_url}/mysfits/{mysfit}", timeout=30)
    finally:
        aws.resume()
    assert response.status_code == 503
    segments = {s.get("origin", s["name"]): s for s in _segments(stack, _root(response), 2)}
    catalog = segments["mysfits-catalog"]
    assert catalog["fault"] is True
    # The table call is in the trace, and took as long as the catalog waited for the table.
    (call,) = [s for s in _subsegments(catalog) if s.get("namespace") == "aws"]
    assert call["aws"]["table_name"] == stack.outputs["data"]["MysfitsTableName"]
    assert call["end_time"] - call["start_time"] >= 1
    assert call["fault"] is True  # no answer is a fault of the call itself, not only of the catalog
    graph = _xray(stack).get_service_graph(StartTime=time.time() - 60, EndTime=time.time() + 5)["Services"]
    (node,) = [s for s in graph if s.get("Name") == "mysfits-catalog"]
    assert node["SummaryStatistics"]["FaultStatistics"]["TotalCount"] >= 1
