"""The Lambda context a handler is given, and the Firehose transformation events the enricher reads."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterable

from mysfits_deploy.stacks import ROOT
from mysfits_local.account import ACCOUNT, REGION
from mysfits_local.lambda_runtime import Function, LambdaContext

STREAM = "mysfits-clicks"
STREAM_ARN = f"arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/{STREAM}"
FIRST_ARRIVAL_MS = 1714564800000  # 2024-05-01T12:00:00.000Z
# The enricher's stored transformation events: `single-click`, and `mixed-batch` (good clicks, an
# unknown mysfit, records that are not clicks; what each must become is stated where it is used).
EVENTS = ROOT / "click-enricher/tests/events"


def lambda_context(
    function_name: str = "click-enricher",
    request_id: str = "0f0e0d0c-0b0a-4090-8070-605040302010",
    memory_mb: int = 256,
    seconds: float = 60.0,
) -> LambdaContext:
    """The context the Lambda stand-in gives the enricher (its class), with `seconds` left to run."""
    function = Function(function_name, "enricher.handler:handler", None, seconds, memory_mb, REGION)
    return LambdaContext(function, request_id, function.arn, time.monotonic() + seconds)


def firehose_event(
    clicks: Iterable[object], first_arrival_ms: int = FIRST_ARRIVAL_MS, invocation_id: str = "test-invocation"
) -> dict:
    """A transformation event as Firehose sends it, with one newline-terminated JSON record per click."""
    records = [
        {
            "recordId": f"record-{index:05d}",
            "approximateArrivalTimestamp": first_arrival_ms + index,
            "data": base64.b64encode(json.dumps(click).encode() + b"\n").decode(),
        }
        for index, click in enumerate(clicks)
    ]
    return {"invocationId": invocation_id, "deliveryStreamArn": STREAM_ARN, "region": REGION, "records": records}


def stored_event(name: str) -> dict:
    """A stored Firehose transformation event (EVENTS/`name`.json)."""
    return json.loads((EVENTS / f"{name}.json").read_text())


def decoded(record: dict) -> bytes:
    """A record's data, strictly base64-decoded."""
    return base64.b64decode(record["data"], validate=True)
