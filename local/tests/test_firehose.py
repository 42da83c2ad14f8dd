"""The Firehose stand-in as its own process, with the Lambda stand-in and moto's S3 behind it.

Every test drives it with a real boto3 firehose client and reads what it delivered from S3
with a real boto3 s3 client. The transformation handlers are in handlers/firehose_handlers.py.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from mysfits_local.account import ACCOUNT, CREDENTIALS_ENV, REGION
from mysfits_testkit.services import Service, start_service

HERE = Path(__file__).resolve().parent
ROLE = f"arn:aws:iam::{ACCOUNT}:role/firehose-local"
BUCKET = "firehose-stand-in-tests"
LAMBDA_TIMEOUT = 2  # seconds, for the `sleepy` handler
HANDLERS = (
    "uppercase",
    "triage",
    "flaky",
    "raises",
    "sleepy",
    "missing_record_id",
    "duplicate_record_id",
    "unknown_record_id",
    "unknown_result",
    "invalid_base64",
    "not_an_object",
    "no_records",
    "oversized",
)
TIME_PATH = r"(\d{4})/(\d{2})/(\d{2})/(\d{2})/"


@pytest.fixture(scope="module")
def aws_env(moto_url) -> dict:
    env = dict(os.environ)
    env.update(
        AWS_ENDPOINT_URL=moto_url,
        **CREDENTIALS_ENV,
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture(scope="module")
def lambda_runtime(aws_env, tmp_path_factory):
    args = ["--timeout", str(LAMBDA_TIMEOUT)]
    for name in HANDLERS:
        args += ["--function", f"{name}=firehose_handlers:{name}"]
    # The stand-in imports the handlers by module name.
    path = os.pathsep.join(filter(None, [str(HERE / "handlers"), aws_env.get("PYTHONPATH")]))
    env = {**aws_env, "PYTHONPATH": path}
    service = start_service(
        "mysfits_local.lambda_runtime", args, tmp_path_factory.mktemp("lambda") / "lambda.log", env=env
    )
    yield service
    assert service.stop() == 0, service.log()


@pytest.fixture(scope="module")
def firehose_env(aws_env, lambda_runtime) -> dict:
    return {**aws_env, "AWS_ENDPOINT_URL_LAMBDA": lambda_runtime.url}


def start_firehose(env: dict, log_path: Path, *extra: str, port: int = 0) -> Service:
    # Short retry backoff keeps failing invocations fast; a small per-stream buffer limit lets
    # a test reach the throttling path with a few large records.
    args = ["--retry-backoff", "0.02", "--max-buffer-mb", "4", *extra]
    return start_service("mysfits_local.firehose", args, log_path, env=env, port=port)


@pytest.fixture(scope="module")
def firehose(firehose_env, tmp_path_factory):
    service = start_firehose(firehose_env, tmp_path_factory.mktemp("firehose") / "firehose.log")
    yield service
    assert service.stop() == 0, service.log()


@pytest.fixture(scope="module")
def s3(moto_url):
    client = boto3.client("s3", endpoint_url=moto_url, region_name=REGION)
    client.create_bucket(Bucket=BUCKET)
    yield client
    client.close()


@pytest.fixture(scope="module")
def fh(firehose, s3):
    client = boto3.client(
        "firehose", endpoint_url=firehose.url, region_name=REGION, config=Config(retries={"total_max_attempts": 1})
    )
    yield client
    client.close()


# -- helpers -----------------------------------------------------------------------------


def unique(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:8]}"


def lambda_arn(function: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}:$LATEST"


def processing(function: str, **parameters) -> dict:
    values = {"LambdaArn": lambda_arn(function), **{k: str(v) for k, v in parameters.items()}}
    return {
        "Enabled": True,
        "Processors": [
            {
                "Type": "Lambda",
                "Parameters": [{"ParameterName": k, "ParameterValue": v} for k, v in values.items()],
            }
        ],
    }


def destination(root: str, *, interval: int = 0, size: int = 1, **extra) -> dict:
    return {
        "RoleARN": ROLE,
        "BucketARN": f"arn:aws:s3:::{BUCKET}",
        "Prefix": f"{root}/",
        "BufferingHints": {"SizeInMBs": size, "IntervalInSeconds": interval},
        **extra,
    }


def create(fh, name: str, config: dict) -> str:
    return fh.create_delivery_stream(
        DeliveryStreamName=name, DeliveryStreamType="DirectPut", ExtendedS3DestinationConfiguration=config
    )["DeliveryStreamARN"]


def put(fh, name: str, *datas: bytes) -> list[str]:
    answer = fh.put_record_batch(DeliveryStreamName=name, Records=[{"Data": d} for d in datas])
    assert answer["FailedPutCount"] == 0
    return [r["RecordId"] for r in answer["RequestResponses"]]


def stats(firehose: Service, name: str) -> dict:
    return requests.get(f"{firehose.url}/_local/streams/{name}", timeout=5).json()


def wait_delivered(firehose: Service, name: str, received: int, timeout: float = 20) -> dict:
    """Wait until `received` records were accepted and every one of them is accounted for."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = stats(firehose, name)
        done = counts["delivered_ok"] + counts["dropped"] + counts["processing_failed"]
        if counts["received"] == received and done == received and not counts["buffered"] + counts["in_flight"]:
            return counts
        time.sleep(0.05)
    raise AssertionError(f"{name} not delivered in {timeout}s: {stats(firehose, name)}\n{firehose.log()[-3000:]}")


def objects(s3, prefix: str) -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listed}


def wait_for_objects(s3, prefix: str, count: int, timeout: float = 20) -> dict[str, bytes]:
    """The objects under `prefix` once there are `count` of them (for streams already deleted)."""
    deadline = time.monotonic() + timeout
    while len(found := objects(s3, prefix)) < count:
        assert time.monotonic() < deadline, f"{len(found)} of {count} objects under {prefix} after {timeout}s"
        time.sleep(0.05)
    return found


def error_documents(body: bytes) -> list[dict]:
    assert body.endswith(b"\n")
    return [json.loads(line) for line in body.decode().splitlines()]


def assert_firehose_key(key: str, prefix_pattern: str, stream: str, started: datetime) -> None:
    """`<prefix>YYYY/MM/DD/HH/<stream>-1-YYYY-MM-DD-HH-MM-SS-<uuid>`, in UTC, at about `started`."""
    match = re.fullmatch(
        prefix_pattern + TIME_PATH + re.escape(stream) + r"-1-(\d{4})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-"
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        key,
    )
    assert match, key
    year, month, day, hour = match.groups()[:4]
    assert match.groups()[4:8] == (year, month, day, hour)  # the object name repeats the partition's hour
    stamp = datetime(*map(int, match.groups()[4:10]), tzinfo=UTC)
    assert abs((stamp - started).total_seconds()) < 60


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- control plane -------------------------------------------------------------------------


def test_describe_answers_the_configuration_as_created(fh):
    name = unique("describe")
    # Everything the click pipeline's template states.
    config = destination(
        name,
        interval=5,
        size=2,
        Prefix=f"{name}/!{{timestamp:yyyy/MM/dd/HH}}/",
        ErrorOutputPrefix=f"{name}-errors/!{{firehose:error-output-type}}/!{{timestamp:yyyy/MM/dd}}/",
        CompressionFormat="UNCOMPRESSED",
        ProcessingConfiguration=processing(
            "triage", NumberOfRetries=2, BufferSizeInMBs=1, BufferIntervalInSeconds=0, RoleArn=ROLE
        ),
        CloudWatchLoggingOptions={
            "Enabled": True,
            "LogGroupName": f"/aws/kinesisfirehose/{name}",
            "LogStreamName": "S3",
        },
        EncryptionConfiguration={"NoEncryptionConfig": "NoEncryption"},
    )
    arn = fh.create_delivery_stream(
        DeliveryStreamName=name,
        DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration=config,
        DeliveryStreamEncryptionConfigurationInput={"KeyType": "AWS_OWNED_CMK"},
        Tags=[{"Key": "project", "Value": "mythical-mysfits"}],
    )["DeliveryStreamARN"]
    assert arn == f"arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/{name}"

    description = fh.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
    assert description["DeliveryStreamName"] == name
    assert description["DeliveryStreamARN"] == arn
    assert description["DeliveryStreamStatus"] == "ACTIVE"
    assert description["DeliveryStreamType"] == "DirectPut"
    assert isinstance(description["CreateTimestamp"], datetime)
    assert description["HasMoreDestinations"] is False
    assert description["DeliveryStreamEncryptionConfiguration"] == {"KeyType": "AWS_OWNED_CMK", "Status": "ENABLED"}
    assert description["Destinations"][0]["ExtendedS3DestinationDescription"] == config

    with pytest.raises(fh.exceptions.ResourceInUseException):
        create(fh, name, config)
    fh.delete_delivery_stream(DeliveryStreamName=name)
    with pytest.raises(fh.exceptions.ResourceNotFoundException):
        fh.describe_delivery_stream(DeliveryStreamName=name)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"Prefix": "p/!{timestamp:yyyy}/"}, "ErrorOutputPrefix cannot be null"),
        ({"Prefix": "p/!{firehose:error-output-type}/", "ErrorOutputPrefix": "e/"}, "can't contain"),
        ({"Prefix": "p/", "ErrorOutputPrefix": "e/!{timestamp:yyyy}/"}, "must contain !{firehose:error-output-type}"),
        ({"Prefix": "p/!{unknown:x}/", "ErrorOutputPrefix": "e/!{firehose:error-output-type}"}, "unknown expression"),
        ({"Prefix": "p/!{timestamp:yyyy/"}, "can only appear"),
        ({"BucketARN": "my-bucket"}, "not an S3 bucket ARN"),
        ({"BufferingHints": {"SizeInMBs": 129, "IntervalInSeconds": 1}}, "between 1 and 128"),
        ({"BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 901}}, "between 0 and 900"),
        (
            {"ProcessingConfiguration": {"Enabled": True, "Processors": [{"Type": "Lambda", "Parameters": []}]}},
            "LambdaArn",
        ),
        ({"ProcessingConfiguration": processing("triage", NumberOfRetries=301)}, "NumberOfRetries"),
        ({"ProcessingConfiguration": processing("triage", BufferSizeInMBs=4)}, "BufferSizeInMBs"),
        # Features the click pipeline's template does not use are refused, not ignored.
        ({"CompressionFormat": "GZIP"}, "CompressionFormat GZIP: not supported"),
        ({"S3BackupMode": "Enabled"}, "['S3BackupMode']: not supported"),
        (
            {"ProcessingConfiguration": {"Enabled": True, "Processors": [{"Type": "AppendDelimiterToRecord"}]}},
            "['AppendDelimiterToRecord'] (one Lambda processor): not supported",
        ),
        (
            {"ProcessingConfiguration": processing("triage", MetadataExtractionQuery="{}")},
            "['MetadataExtractionQuery']: not supported",
        ),
    ],
)
def test_create_rejects_invalid_configurations(fh, change, message):
    name = unique("invalid")
    with pytest.raises(fh.exceptions.InvalidArgumentException, match=re.escape(message)):
        create(fh, name, {**destination(name), **change})
    with pytest.raises(fh.exceptions.ResourceNotFoundException):
        fh.describe_delivery_stream(DeliveryStreamName=name)


@pytest.mark.parametrize(
    ("request_fields", "message"),
    [
        (
            {"DeliveryStreamType": "KinesisStreamAsSource", "ExtendedS3DestinationConfiguration": destination("k")},
            "DeliveryStreamType KinesisStreamAsSource: not supported",
        ),
        (
            {"S3DestinationConfiguration": {"RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{BUCKET}"}},
            "['S3DestinationConfiguration']: not supported",
        ),
        ({}, "ExtendedS3DestinationConfiguration is required"),
    ],
)
def test_create_refuses_other_streams_and_destinations(fh, request_fields, message):
    name = unique("refused")
    with pytest.raises(fh.exceptions.InvalidArgumentException, match=re.escape(message)):
        fh.create_delivery_stream(DeliveryStreamName=name, **request_fields)
    with pytest.raises(fh.exceptions.ResourceNotFoundException):
        fh.describe_delivery_stream(DeliveryStreamName=name)


def test_stream_names_and_unknown_streams(fh):
    with pytest.raises(ClientError) as caught:
        create(fh, "not a valid name!", destination("x"))
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    for call in (
        lambda: fh.put_record(DeliveryStreamName="no-such-stream", Record={"Data": b"x"}),
        lambda: fh.put_record_batch(DeliveryStreamName="no-such-stream", Records=[{"Data": b"x"}]),
        lambda: fh.delete_delivery_stream(DeliveryStreamName="no-such-stream"),
    ):
        with pytest.raises(fh.exceptions.ResourceNotFoundException, match="no-such-stream"):
            call()


# -- data plane ----------------------------------------------------------------------------


def test_put_record_limits(fh, firehose):
    name = unique("limits")
    create(fh, name, destination(name, interval=60))
    answer = fh.put_record(DeliveryStreamName=name, Record={"Data": b"x" * 1_024_000})  # exactly 1000 KiB
    assert answer["Encrypted"] is False
    assert answer["RecordId"]

    with pytest.raises(ClientError) as caught:
        fh.put_record(DeliveryStreamName=name, Record={"Data": b"x" * 1_024_001})
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "less than or equal to 1024000" in caught.value.response["Error"]["Message"]

    with pytest.raises(ClientError) as caught:
        fh.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b"x"}] * 501)
    assert caught.value.response["Error"]["Code"] == "ValidationException"

    with pytest.raises(fh.exceptions.InvalidArgumentException, match="4 MiB"):
        fh.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b"x" * 1_000_000}] * 5)

    with pytest.raises(ClientError) as caught:
        fh.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b"x"}, {"Data": b"y" * 1_024_001}])
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    # Nothing of a rejected request was accepted.
    assert stats(firehose, name)["received"] == 1
    fh.delete_delivery_stream(DeliveryStreamName=name)


def test_put_record_batch_answers_per_record(fh, firehose, s3):
    name = unique("batch")
    create(fh, name, destination(name, interval=60, size=128))
    answer = fh.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b"a" * 1_000_000}] * 4)
    assert answer["FailedPutCount"] == 0
    ids = [r["RecordId"] for r in answer["RequestResponses"]]
    assert len(set(ids)) == 4

    # The stand-in's buffer holds 4 MiB per stream: past it records are throttled one by one,
    # as Firehose throttles, and the others are accepted.
    answer = fh.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b"b" * 10}, {"Data": b"c" * 1_000_000}])
    assert answer["FailedPutCount"] == 1
    first, second = answer["RequestResponses"]
    assert set(first) == {"RecordId"}
    assert second == {"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "Slow down."}
    with pytest.raises(fh.exceptions.ServiceUnavailableException):
        fh.put_record(DeliveryStreamName=name, Record={"Data": b"d" * 1_000_000})
    counts = stats(firehose, name)
    assert (counts["received"], counts["buffered"], counts["throttled"]) == (5, 5, 2)

    # Deleting the stream delivers what it buffered (where AWS would drop it).
    fh.delete_delivery_stream(DeliveryStreamName=name)
    (body,) = wait_for_objects(s3, f"{name}/", 1).values()
    assert body == b"a" * 4_000_000 + b"b" * 10


def test_records_without_processor_are_concatenated_under_the_time_prefix(fh, firehose, s3):
    name = unique("raw")
    started = datetime.now(UTC)
    create(fh, name, destination(name))
    put(fh, name, b'{"n": 1}', b'{"n": 2}', b'{"n": 3}')
    wait_delivered(firehose, name, 3)
    ((key, body),) = objects(s3, f"{name}/").items()
    assert_firehose_key(key, re.escape(f"{name}/"), name, started)
    assert body == b'{"n": 1}{"n": 2}{"n": 3}'  # Firehose adds no separators


# -- transformation ------------------------------------------------------------------------


def test_ok_dropped_and_processing_failed_records(fh, firehose, s3):
    name = unique("triage")
    started = datetime.now(UTC)
    arn = create(
        fh,
        name,
        destination(
            name,
            Prefix=f"{name}/clicks/!{{timestamp:yyyy/MM/dd/HH}}/",
            ErrorOutputPrefix=f"{name}/errors/!{{firehose:error-output-type}}/!{{timestamp:yyyy/MM/dd/HH}}/",
            ProcessingConfiguration=processing("triage"),
        ),
    )
    assert arn.endswith(name)
    before_ms = time.time() * 1000
    put(fh, name, b"ok-1", b"drop-1", b"fail-1", b"ok-2", b"fail-2")
    counts = wait_delivered(firehose, name, 5)
    assert (counts["delivered_ok"], counts["dropped"], counts["processing_failed"]) == (2, 1, 2)
    assert (counts["invocations"], counts["failed_invocations"]) == (1, 0)
    assert counts["s3_objects"] == 2

    delivered = objects(s3, f"{name}/clicks/")
    ((key, body),) = delivered.items()
    assert_firehose_key(key, re.escape(f"{name}/clicks/"), name, started)
    assert body == b"<ok-1>\n<ok-2>\n"

    failed = objects(s3, f"{name}/errors/")
    ((error_key, error_body),) = failed.items()
    assert_firehose_key(error_key, re.escape(f"{name}/errors/processing-failed/"), name, started)
    documents = error_documents(error_body)
    assert [base64.b64decode(d["rawData"]) for d in documents] == [b"fail-1", b"fail-2"]
    for document in documents:
        assert set(document) == {
            "attemptsMade",
            "arrivalTimestamp",
            "errorCode",
            "errorMessage",
            "attemptEndingTimestamp",
            "rawData",
            "lambdaArn",
        }
        assert document["errorCode"] == "Lambda.ProcessingFailedStatus"
        assert document["errorMessage"] == "ProcessingFailed status set for record"
        assert document["attemptsMade"] == 1
        assert document["lambdaArn"] == lambda_arn("triage")
        assert before_ms - 1000 < document["arrivalTimestamp"] <= document["attemptEndingTimestamp"]
    # Dropped records are written nowhere.
    everything = b"".join(objects(s3, f"{name}/").values())
    assert b"drop" not in everything
    assert b64(b"drop-1") not in everything.decode()


@pytest.mark.parametrize(
    ("handler", "code"),
    [
        ("missing_record_id", "Lambda.MissingRecordId"),
        ("unknown_record_id", "Lambda.MissingRecordId"),
        ("duplicate_record_id", "Lambda.DuplicatedRecordId"),
        ("unknown_result", "Lambda.FunctionError"),
        ("invalid_base64", "Lambda.JsonProcessingException"),
        ("not_an_object", "Lambda.JsonProcessingException"),
        ("no_records", "Lambda.JsonProcessingException"),
        ("oversized", "Lambda.FunctionError"),  # Lambda refuses a response over 6 MB
        ("raises", "Lambda.FunctionError"),
    ],
)
def test_malformed_responses_fail_the_invocation_after_its_retries(fh, firehose, s3, handler, code):
    name = unique(handler.replace("_", "-"))
    started = datetime.now(UTC)
    create(fh, name, destination(name, ProcessingConfiguration=processing(handler, NumberOfRetries=1)))
    datas = [b"first", b"second", b"third"]
    put(fh, name, *datas)
    counts = wait_delivered(firehose, name, 3)
    assert (counts["invocations"], counts["failed_invocations"]) == (2, 2)
    assert (counts["delivered_ok"], counts["processing_failed"]) == (0, 3)

    # No Prefix expressions and no ErrorOutputPrefix: <Prefix>processing-failed/YYYY/MM/DD/HH/.
    ((key, body),) = objects(s3, f"{name}/").items()
    assert_firehose_key(key, re.escape(f"{name}/processing-failed/"), name, started)
    documents = error_documents(body)
    assert [base64.b64decode(d["rawData"]) for d in documents] == datas  # the original data
    assert {d["errorCode"] for d in documents} == {code}
    assert {d["attemptsMade"] for d in documents} == {2}


def test_failed_invocations_are_retried_three_times_by_default(fh, firehose, s3):
    name = unique("default-retries")
    create(fh, name, destination(name, ProcessingConfiguration=processing("raises")))
    put(fh, name, b"click")
    counts = wait_delivered(firehose, name, 1)
    assert (counts["invocations"], counts["failed_invocations"], counts["processing_failed"]) == (4, 4, 1)
    (body,) = objects(s3, f"{name}/processing-failed/").values()
    (document,) = error_documents(body)
    assert document["attemptsMade"] == 4
    assert document["errorCode"] == "Lambda.FunctionError"
    assert document["errorMessage"] == "The Lambda function was successfully invoked but it returned an error result."
    assert base64.b64decode(document["rawData"]) == b"click"
    assert "the enricher is broken" in firehose.log()  # the function's own error is logged


def test_a_retried_invocation_that_succeeds_delivers_everything(fh, firehose, s3):
    name = unique("flaky")
    create(fh, name, destination(name, ProcessingConfiguration=processing("flaky", NumberOfRetries=3)))
    put(fh, name, b"one", b"two")
    counts = wait_delivered(firehose, name, 2)
    # The handler fails twice for this stream, then answers: three attempts, nothing failed.
    assert (counts["invocations"], counts["failed_invocations"]) == (3, 2)
    assert (counts["delivered_ok"], counts["processing_failed"]) == (2, 0)
    assert list(objects(s3, f"{name}/").values()) == [b"ONETWO"]


def test_function_timeout_and_unknown_function(fh, firehose, s3):
    slow, missing = unique("slow"), unique("missing")
    create(fh, slow, destination(slow, ProcessingConfiguration=processing("sleepy", NumberOfRetries=0)))
    create(fh, missing, destination(missing, ProcessingConfiguration=processing("no-such-function", NumberOfRetries=1)))
    put(fh, slow, b"late")
    put(fh, missing, b"lost?")
    wait_delivered(firehose, slow, 1, timeout=LAMBDA_TIMEOUT + 10)
    wait_delivered(firehose, missing, 1)

    (slow_body,) = objects(s3, f"{slow}/processing-failed/").values()
    (document,) = error_documents(slow_body)
    assert (document["errorCode"], document["attemptsMade"]) == ("Lambda.FunctionError", 1)
    assert document["attemptEndingTimestamp"] - document["arrivalTimestamp"] >= LAMBDA_TIMEOUT * 1000

    (missing_body,) = objects(s3, f"{missing}/processing-failed/").values()
    (document,) = error_documents(missing_body)
    assert (document["errorCode"], document["attemptsMade"]) == ("Lambda.ResourceNotFound", 2)
    assert base64.b64decode(document["rawData"]) == b"lost?"


def test_invocations_stay_within_the_processor_buffer_size(fh, firehose, s3):
    name = unique("chunks")
    # 0.2 MB per invocation: five records of 100 kB go in invocations of 2, 2 and 1.
    create(fh, name, destination(name, ProcessingConfiguration=processing("uppercase", BufferSizeInMBs=0.2)))
    datas = [bytes([ord("a") + i]) * 100_000 for i in range(5)]
    put(fh, name, *datas)
    counts = wait_delivered(firehose, name, 5)
    assert counts["invocations"] == 3
    (body,) = objects(s3, f"{name}/").values()
    assert body == b"".join(d.upper() for d in datas)


# -- buffering -----------------------------------------------------------------------------


def test_buffer_interval(fh, firehose, s3):
    name = unique("interval")
    create(fh, name, destination(name, interval=2))
    put_at = time.monotonic()
    put(fh, name, b"tick")
    time.sleep(1)
    counts = stats(firehose, name)
    assert (counts["buffered"], counts["delivered_ok"]) == (1, 0)
    assert objects(s3, f"{name}/") == {}
    wait_delivered(firehose, name, 1)
    assert 2 <= time.monotonic() - put_at < 5
    assert list(objects(s3, f"{name}/").values()) == [b"tick"]


def test_buffer_size(fh, firehose, s3):
    name = unique("size")
    create(fh, name, destination(name, interval=60, size=1))
    put(fh, name, b"a" * 300_000, b"b" * 300_000)
    time.sleep(1)
    assert stats(firehose, name)["buffered"] == 2  # 600 kB of 1 MiB: not yet
    put(fh, name, b"c" * 500_000)  # 1.1 MB: delivered now, not in 60 s
    wait_delivered(firehose, name, 3, timeout=10)
    (body,) = objects(s3, f"{name}/").values()
    assert body == b"a" * 300_000 + b"b" * 300_000 + b"c" * 500_000

    put(fh, name, b"small")
    time.sleep(0.5)
    assert stats(firehose, name)["buffered"] == 1  # 5 bytes: waits for the interval
    fh.delete_delivery_stream(DeliveryStreamName=name)
    assert b"small" in wait_for_objects(s3, f"{name}/", 2).values()


def test_s3_failures_are_retried_until_delivered(fh, firehose, s3):
    name = unique("late-bucket")
    bucket = name  # does not exist yet
    create(fh, name, {**destination(name), "BucketARN": f"arn:aws:s3:::{bucket}"})
    put(fh, name, b"kept")
    deadline = time.monotonic() + 10
    while stats(firehose, name)["s3_errors"] < 2:
        assert time.monotonic() < deadline, stats(firehose, name)
        time.sleep(0.05)
    assert stats(firehose, name)["delivered_ok"] == 0
    s3.create_bucket(Bucket=bucket)
    wait_delivered(firehose, name, 1, timeout=15)
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert [s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed] == [b"kept"]
    assert "S3.NoSuchBucket" in firehose.log()


def test_stats_endpoint_counts_per_stream(fh, firehose):
    name = unique("stats")
    create(fh, name, destination(name))
    assert stats(firehose, name) == {
        "received": 0,
        "buffered": 0,
        "in_flight": 0,
        "delivered_ok": 0,
        "dropped": 0,
        "processing_failed": 0,
        "invocations": 0,
        "failed_invocations": 0,
        "s3_objects": 0,
        "s3_errors": 0,
        "throttled": 0,
    }
    assert requests.get(f"{firehose.url}/_local/streams/no-such-stream", timeout=5).status_code == 404


# -- shutdown ------------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_delivers_every_buffered_record_before_exit(firehose_env, s3, tmp_path, signum):
    service = start_firehose(firehose_env, tmp_path / "firehose.log")
    client = boto3.client("firehose", endpoint_url=service.url, region_name=REGION)
    try:
        name = unique("shutdown")
        # Sixty seconds of buffering: without the flush on exit these records would wait.
        create(client, name, destination(name, interval=60, ProcessingConfiguration=processing("uppercase")))
        put(client, name, *[f"click-{i};".encode() for i in range(5)])
        client.put_record(DeliveryStreamName=name, Record={"Data": b"last;"})
        assert stats(service, name)["buffered"] == 6
        assert objects(s3, f"{name}/") == {}
        assert service.stop(signum) == 0, service.log()
    finally:
        client.close()
        service.stop(signal.SIGKILL)
    (body,) = objects(s3, f"{name}/").values()
    assert body == b"CLICK-0;CLICK-1;CLICK-2;CLICK-3;CLICK-4;LAST;"
    log = service.log()
    assert re.search(rf"delivered stream={name} records=6 ok=6 dropped=0 failed=0 key=s3://{BUCKET}/{name}/", log)
    assert "every accepted record was delivered" in log


def test_a_second_signal_gives_up_on_records_s3_will_not_take(firehose_env, tmp_path):
    service = start_firehose(firehose_env, tmp_path / "firehose.log")
    client = boto3.client("firehose", endpoint_url=service.url, region_name=REGION)
    try:
        name = unique("stuck")
        create(client, name, {**destination(name), "BucketARN": f"arn:aws:s3:::{name}"})  # no such bucket, ever
        put(client, name, b"undeliverable")
        deadline = time.monotonic() + 10
        while stats(service, name)["s3_errors"] < 1:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        service.popen.send_signal(signal.SIGTERM)
        time.sleep(1)
        assert service.popen.poll() is None  # still retrying S3: it does not drop the record
        assert service.stop(signal.SIGTERM) == 1
    finally:
        client.close()
        service.stop(signal.SIGKILL)
    assert "exiting now, 1 records not delivered" in service.log()


def test_killed_under_load_every_acknowledged_record_is_delivered_after_a_restart(firehose_env, s3, tmp_path):
    """SIGKILL while clients put: each record answered with an id reaches S3 once restarted."""
    data_dir = tmp_path / "journal"
    service = start_firehose(firehose_env, tmp_path / "before.log", "--data-dir", str(data_dir))
    port = int(service.url.rsplit(":", 1)[1])
    name = unique("crash")
    acknowledged: list[bytes] = []
    client = boto3.client(
        "firehose", endpoint_url=service.url, region_name=REGION, config=Config(retries={"total_max_attempts": 1})
    )
    # Buffered for a minute: without the journal, a kill loses every record.
    create(client, name, destination(name, interval=60, size=128, ProcessingConfiguration=processing("uppercase")))

    def load(worker: int) -> None:
        for n in range(10_000):
            batch = [f"w{worker}-{n}-{i};".encode() for i in range(5)]
            try:
                put(client, name, *batch)
            except (ClientError, BotoCoreError):
                return  # the stand-in is gone
            acknowledged.extend(batch)

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(load, worker) for worker in range(4)]
        while len(acknowledged) < 2_000:
            time.sleep(0.01)
        service.popen.kill()
        for future in futures:
            future.result()
    service.popen.wait(10)
    client.close()

    again = start_firehose(firehose_env, tmp_path / "after.log", "--data-dir", str(data_dir), port=port)
    try:
        deadline = time.monotonic() + 30
        delivered = b""
        while True:
            delivered = b"".join(objects(s3, f"{name}/").values())
            if all(record.upper() in delivered for record in acknowledged) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        missing = [record for record in acknowledged if record.upper() not in delivered]
        assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged records lost, e.g. {missing[:3]}"
        assert "restored stream " + name in again.log()
    finally:
        assert again.stop() == 0, again.log()
