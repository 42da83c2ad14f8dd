"""Firehose transformation handlers for the Firehose stand-in's tests.

They run in the Lambda stand-in (imported there, not by pytest). Each answers the
transformation event; the malformed ones break the response contract in one way each.
"""

from __future__ import annotations

import base64
import time
from collections import Counter

FAILURES_BY_STREAM: Counter = Counter()  # warm module state: how often `flaky` failed per stream
FLAKY_FAILURES = 2


def _decoded(record: dict) -> bytes:
    return base64.b64decode(record["data"])


def _ok(record: dict, data: bytes) -> dict:
    return {"recordId": record["recordId"], "result": "Ok", "data": base64.b64encode(data).decode()}


def uppercase(event, context):
    """Every record Ok, upper-cased."""
    return {"records": [_ok(r, _decoded(r).upper()) for r in event["records"]]}


def triage(event, context):
    """`drop...` records are Dropped, `fail...` ProcessingFailed, the rest Ok and tagged."""
    answers = []
    for record in event["records"]:
        data = _decoded(record)
        if data.startswith(b"drop"):
            answers.append({"recordId": record["recordId"], "result": "Dropped"})
        elif data.startswith(b"fail"):
            answers.append({"recordId": record["recordId"], "result": "ProcessingFailed", "data": record["data"]})
        else:
            answers.append(_ok(record, b"<" + data + b">\n"))
    return {"records": answers}


def flaky(event, context):
    """Raises on its first FLAKY_FAILURES invocations for a stream, then upper-cases."""
    stream = event["deliveryStreamArn"]
    if FAILURES_BY_STREAM[stream] < FLAKY_FAILURES:
        FAILURES_BY_STREAM[stream] += 1
        raise ConnectionError(f"catalog unreachable (failure {FAILURES_BY_STREAM[stream]})")
    return uppercase(event, context)


def raises(event, context):
    raise RuntimeError("the enricher is broken")


def sleepy(event, context):
    time.sleep(3)
    return uppercase(event, context)


def missing_record_id(event, context):
    return {"records": uppercase(event, context)["records"][:-1]}


def duplicate_record_id(event, context):
    records = uppercase(event, context)["records"]
    return {"records": [*records, records[0]]}


def unknown_record_id(event, context):
    records = uppercase(event, context)["records"]
    records[0]["recordId"] = "not-a-record-id-firehose-sent"
    return {"records": records}


def unknown_result(event, context):
    return {"records": [{**r, "result": "Okay"} for r in uppercase(event, context)["records"]]}


def invalid_base64(event, context):
    return {"records": [{**r, "data": "*** not base64 ***"} for r in uppercase(event, context)["records"]]}


def not_an_object(event, context):
    return "all good"


def no_records(event, context):
    return {"recordz": uppercase(event, context)["records"]}


def oversized(event, context):
    """A response over Lambda's 6 MB limit."""
    return {"records": [{**r, "data": "QUFB" * 1_700_000} for r in uppercase(event, context)["records"]]}
