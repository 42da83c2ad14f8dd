"""X-Ray trace documents as the one-machine stack sends them, built for a test, and put into an X-Ray."""

from __future__ import annotations

import json
import secrets
import uuid

from mysfits_local.account import REGION

GATEWAY = "Mysfits API/prod"
TABLE = "MysfitsTable"


def segment_id() -> str:
    """A new segment id (16 hex digits)."""
    return secrets.token_hex(8)


def request_trace(start: float, service: str, mysfit: str, status: int = 200, method: str = "GET") -> list[dict]:
    """One request's documents: gateway 0-45 ms, the service 2-40 ms, its DynamoDB call 10-15 ms."""
    trace_id = f"1-{int(start):08x}-{secrets.token_hex(12)}"
    gateway_id, service_id = segment_id(), segment_id()
    path = f"/mysfits/{mysfit}" + ("/like" if method == "POST" else "")
    failed = {"fault": True} if status >= 500 else {"error": True} if status >= 400 else {}
    gateway = {
        "name": GATEWAY,
        "id": gateway_id,
        "trace_id": trace_id,
        "start_time": start,
        "end_time": start + 0.045,
        "origin": "AWS::ApiGateway::Stage",
        "http": {
            "request": {"method": method, "url": f"http://127.0.0.1:8000{path}", "client_ip": "127.0.0.1"},
            "response": {"status": status, "content_length": 312},
        },
        "aws": {"api_gateway": {"request_id": str(uuid.uuid4()), "stage": "prod"}},
        **failed,
    }
    dynamodb = {
        "name": "dynamodb",
        "id": segment_id(),
        "start_time": start + 0.010,
        "end_time": start + 0.015,
        "namespace": "aws",
        "http": {"response": {"status": 500 if status >= 500 else 200}},
        "aws": {"operation": "GetItem", "table_name": TABLE, "region": REGION, "request_id": "R1", "retries": 0},
        **failed,
    }
    if status >= 500:
        dynamodb["cause"] = {"exceptions": [{"id": segment_id(), "message": "Requested resource not found"}]}
    own = {
        "name": service,
        "id": service_id,
        "trace_id": trace_id,
        "parent_id": gateway_id,
        "start_time": start + 0.002,
        "end_time": start + 0.040,
        "http": {
            "request": {"method": method, "url": f"http://127.0.0.1:8081{path}", "client_ip": "127.0.0.1"},
            "response": {"status": status, "content_length": 312},
        },
        "annotations": {"mysfitId": mysfit},
        "aws": {"xray": {"sdk": "X-Ray for Python", "sdk_version": "2.14.0"}},
        "service": {"runtime": "CPython", "runtime_version": "3.11"},
        "subsegments": [dynamodb],
        **failed,
    }
    return [gateway, own]


def put(xray, documents: list[dict]) -> str:
    """Put `documents` into X-Ray (boto3's xray client); their trace id."""
    answer = xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(doc) for doc in documents])
    assert answer["UnprocessedTraceSegments"] == []
    return documents[0]["trace_id"]
