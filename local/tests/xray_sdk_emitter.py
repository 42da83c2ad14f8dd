"""Send one real X-Ray SDK trace to a daemon: `python xray_sdk_emitter.py <port>`.

Run by test_xray.py in its own process, since the SDK's recorder is global. The trace: a segment
"catalog-sdk" for `GET /mysfits/sdk-1` (annotated), with a DynamoDB Query subsegment (botocore
patched, answered by a Stubber) and an HTTP subsegment (requests patched, a real call to the
daemon's own `/_local/stats`). `streaming_threshold=0` makes the SDK send each subsegment on its
own, as it does for large segments. Prints `{"trace_id", "segment_id"}`.
"""

from __future__ import annotations

import json
import sys

import boto3
import requests
from aws_xray_sdk.core import patch, xray_recorder
from botocore.stub import Stubber


def main(port: int) -> None:
    xray_recorder.configure(
        service="catalog-sdk",
        daemon_address=f"127.0.0.1:{port}",
        sampling=False,
        context_missing="LOG_ERROR",
        streaming_threshold=0,
    )
    patch(["botocore", "requests"])
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    stubber = Stubber(dynamodb)
    answer = {"Items": [], "Count": 0, "ScannedCount": 0}
    stubber.add_response("query", answer | {"ResponseMetadata": {"HTTPStatusCode": 200, "RequestId": "stubbed"}})

    segment = xray_recorder.begin_segment("catalog-sdk")
    segment.put_http_meta("url", "http://127.0.0.1:8081/mysfits/sdk-1")
    segment.put_http_meta("method", "GET")
    xray_recorder.put_annotation("mysfitId", "sdk-1")
    with stubber:
        dynamodb.query(
            TableName="MysfitsTable",
            KeyConditionExpression="MysfitId = :id",
            ExpressionAttributeValues={":id": {"S": "sdk-1"}},
        )
    requests.get(f"http://127.0.0.1:{port}/_local/stats", timeout=5)
    segment.put_http_meta("status", 200)
    xray_recorder.end_segment()
    print(json.dumps({"trace_id": segment.trace_id, "segment_id": segment.id}))


if __name__ == "__main__":
    main(int(sys.argv[1]))
