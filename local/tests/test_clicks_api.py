"""The clicks API served by the gateway stand-in from click-ingest/clicks-api.yaml: the model
and validator, the Velocity mapping template and the Firehose PutRecord call (here to moto's
Firehose, which writes each record straight to S3, so what reached the stream is visible)."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import boto3
import pytest
import requests

from mysfits_local.account import ACCOUNT, CREDENTIALS, REGION
from mysfits_local.processes import free_port
from mysfits_local.vtl import TemplateError, render
from mysfits_testkit.services import Service, start_service

ROOT = Path(__file__).resolve().parents[2]
ORIGIN = "http://127.0.0.1:8080"
PARTNER = "https://partner.example"


def _gateway(firehose_url: str, stream: str, log_path: Path) -> Service:
    env = {**os.environ, "AWS_ENDPOINT_URL_FIREHOSE": firehose_url}
    args = [
        "--definition",
        str(ROOT / "click-ingest/clicks-api.yaml"),
        "--definition-variable",
        f"ClicksStreamName={stream}",
        "--stage-variable",
        f"allowedOrigins={ORIGIN},{PARTNER}",
    ]
    return start_service("mysfits_local.gateway", args, log_path, env=env)


@pytest.fixture(scope="module")
def stream(moto_url):
    """A moto Firehose stream writing every record to its own bucket, one object per record."""
    name = f"clicks-{uuid.uuid4().hex[:8]}"
    session = boto3.session.Session(region_name=REGION, **CREDENTIALS)
    s3 = session.client("s3", endpoint_url=moto_url)
    s3.create_bucket(Bucket=name)
    session.client("firehose", endpoint_url=moto_url).create_delivery_stream(
        DeliveryStreamName=name,
        ExtendedS3DestinationConfiguration={
            "RoleARN": f"arn:aws:iam::{ACCOUNT}:role/firehose",
            "BucketARN": f"arn:aws:s3:::{name}",
        },
    )

    def records() -> list[bytes]:
        listed = s3.list_objects_v2(Bucket=name).get("Contents", [])
        return [s3.get_object(Bucket=name, Key=item["Key"])["Body"].read() for item in listed]

    return name, records


@pytest.fixture(scope="module")
def gateway(moto_url, stream, tmp_path_factory):
    service = _gateway(moto_url, stream[0], tmp_path_factory.mktemp("gateway") / "gateway.log")
    yield service.url
    assert service.stop() == 0, service.log()


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_a_valid_click_becomes_one_json_line_on_the_stream(gateway, stream, method):
    _, records = stream
    before = records()
    click = {"mysfitId": "60a8e9a0-b58a-4af1-9d44-ca1769e39180", "userId": f"anon-{uuid.uuid4().hex}"}
    # Extra whitespace in the body: the template re-serialises the validated JSON compactly.
    response = requests.request(
        method,
        f"{gateway}/clicks",
        data=json.dumps(click, indent=4),
        headers={"Content-Type": "application/json", "Origin": ORIGIN},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "accepted"
    assert response.json()["recordId"]
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    new = [record for record in records() if record not in before]
    assert new == [json.dumps(click, separators=(",", ":")).encode() + b"\n"]


def test_user_id_is_optional(gateway, stream):
    _, records = stream
    before = len(records())
    response = requests.put(f"{gateway}/clicks", json={"mysfitId": "abc-123"}, timeout=30)
    assert response.status_code == 200
    assert len(records()) == before + 1


BAD_BODIES = {
    "not JSON": "{mysfitId: abc",
    "empty": "",
    "an array": '[{"mysfitId": "abc"}]',
    "no mysfitId": '{"userId": "u-1"}',
    "empty mysfitId": '{"mysfitId": ""}',
    "mysfitId not a string": '{"mysfitId": 42}',
    "mysfitId too long": json.dumps({"mysfitId": "a" * 65}),
    "mysfitId with odd characters": json.dumps({"mysfitId": 'a"b<script>'}),
    "userId too long": json.dumps({"mysfitId": "abc", "userId": "u" * 129}),
    "another property": json.dumps({"mysfitId": "abc", "admin": True}),
    "mysfitId with a final newline": json.dumps({"mysfitId": "abc\n"}),  # `$` is the very end
    "nested a thousand deep": "[" * 1000,
    "a big invalid id": json.dumps({"mysfitId": "!" * 1_000_000}),
}


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_a_malformed_click_is_400_and_never_reaches_the_stream(gateway, stream, body):
    _, records = stream
    before = len(records())
    headers = {"Content-Type": "application/json", "Origin": ORIGIN}
    response = requests.put(f"{gateway}/clicks", data=body, headers=headers, timeout=30)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "BadRequest"
    assert error["message"].startswith("Invalid click: [")
    assert len(error["message"]) <= 600  # never the body echoed back
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert len(records()) == before


def test_another_content_type_is_415(gateway, stream):
    _, records = stream
    before = len(records())
    response = requests.put(
        f"{gateway}/clicks", data='{"mysfitId": "abc"}', headers={"Content-Type": "text/plain"}, timeout=30
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "UnsupportedMediaType"
    assert len(records()) == before


def test_an_oversized_body_is_413_and_never_reaches_the_stream(gateway, stream):
    _, records = stream
    before = len(records())
    body = '{"mysfitId": "abc", "userId": "' + "u" * (10 * 1024 * 1024) + '"}'
    response = requests.put(f"{gateway}/clicks", data=body, headers={"Content-Type": "application/json"}, timeout=30)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PayloadTooLarge"
    assert len(records()) == before


@pytest.mark.parametrize("origin", [ORIGIN, PARTNER])
def test_preflight_and_click_allow_each_listed_origin(gateway, origin):
    response = requests.options(
        f"{gateway}/clicks", headers={"Origin": origin, "Access-Control-Request-Method": "PUT"}, timeout=30
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert response.headers["Vary"] == "Origin"
    assert "PUT" in response.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in response.headers["Access-Control-Allow-Headers"]
    click = requests.put(f"{gateway}/clicks", json={"mysfitId": "abc-123"}, headers={"Origin": origin}, timeout=30)
    assert click.status_code == 200
    assert click.headers["Access-Control-Allow-Origin"] == origin


def test_an_origin_not_listed_is_not_allowed(gateway):
    for origin in ("https://elsewhere.example", f"{ORIGIN}.elsewhere.example", ""):
        preflight = requests.options(
            f"{gateway}/clicks", headers={"Origin": origin, "Access-Control-Request-Method": "PUT"}, timeout=30
        )
        assert preflight.status_code == 200
        assert "Access-Control-Allow-Origin" not in preflight.headers
        click = requests.put(f"{gateway}/clicks", json={"mysfitId": "abc-123"}, headers={"Origin": origin}, timeout=30)
        assert click.status_code == 200
        assert "Access-Control-Allow-Origin" not in click.headers


def test_a_stream_that_cannot_be_reached_is_503(tmp_path):
    gateway = _gateway(f"http://127.0.0.1:{free_port()}", "clicks", tmp_path / "gateway.log")
    try:
        response = requests.put(f"{gateway.url}/clicks", json={"mysfitId": "abc"}, timeout=30)
    finally:
        gateway.stop()
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "ServiceUnavailable"


def test_an_unknown_stream_is_503_not_a_500(moto_url, tmp_path):
    gateway = _gateway(moto_url, "no-such-stream", tmp_path / "gateway.log")
    try:
        response = requests.put(f"{gateway.url}/clicks", json={"mysfitId": "abc"}, timeout=30)
    finally:
        gateway.stop()
    assert response.status_code == 503
    assert "error" in response.json()


def test_templates_see_input_util_and_context():
    template = (
        '{"id": "$input.path(\'$.click.mysfitId\')", "all": $input.json(\'$.click\'), '
        '"b64": "$util.base64Encode(\'hé\')", "stage": "$stageVariables.name", "request": "$context.requestId"}'
    )
    body = json.dumps({"click": {"mysfitId": "m-1"}})
    rendered = json.loads(render(template, body=body, context={"requestId": "r-1"}, stage_variables={"name": "local"}))
    assert rendered == {
        "id": "m-1",
        "all": {"mysfitId": "m-1"},
        "b64": "aMOp",
        "stage": "local",
        "request": "r-1",
    }
    with pytest.raises(TemplateError):
        render("$input.json('$')", body="{not json", context={}, stage_variables={})
