"""A local stand-in for Amazon Data Firehose: DirectPut → Lambda transformation → S3.

    python -m mysfits_local.firehose --host 127.0.0.1 --port 4573

It speaks Firehose's JSON 1.1 wire API (`X-Amz-Target: Firehose_20150804.<Operation>`) for what
the stack uses: PutRecord and PutRecordBatch (the clicks API), and CreateDeliveryStream,
DescribeDeliveryStream and DeleteDeliveryStream (the embedded AWS's CloudFormation, and tests).
Its own calls go through boto3: Invoke to the Lambda stand-in (`AWS_ENDPOINT_URL_LAMBDA`) and
S3 (`AWS_ENDPOINT_URL_S3`), or both through `AWS_ENDPOINT_URL`.

A stream is what the click pipeline's template states: DirectPut, an
ExtendedS3DestinationConfiguration with `Prefix`/`ErrorOutputPrefix` expressions,
`BufferingHints`, UNCOMPRESSED and one Lambda processor. CloudWatchLoggingOptions,
EncryptionConfiguration, DeliveryStreamEncryptionConfigurationInput and Tags are kept but change
nothing locally; any other feature is refused with InvalidArgumentException. DescribeDeliveryStream
answers the destination as it was configured.

What it does with records, as Firehose does:

* Buffering: a delivery starts when the buffer holds `BufferingHints.SizeInMBs` or
  `IntervalInSeconds` have passed since the oldest buffered record arrived (without hints:
  1 MiB / 1 s, so that a click shows up at once). A put never waits for the Lambda or S3; past
  `--max-buffer-mb` per stream, records are throttled (ServiceUnavailableException).
* Lambda processor: each delivery is sent in invocations of at most `BufferSizeInMBs` of record
  data (default 1 MB) and Lambda's 6 MB payload limit, with the transformation event
  `{invocationId, deliveryStreamArn, region, records: [{recordId, approximateArrivalTimestamp,
  data}]}`. The response is checked as Firehose checks it (see `check_response`). A failed
  invocation is retried `NumberOfRetries` times (default 3); then all of its records go to the
  error output. `BufferIntervalInSeconds` is accepted; the stream's own buffering decides.
* S3: the `Ok` records of a delivery, concatenated without separators, in one object named
  `<stream>-1-<YYYY-MM-DD-HH-MM-SS>-<uuid>` under the evaluated `Prefix`; failed records as
  Firehose's JSON error documents, one per line, under the evaluated `ErrorOutputPrefix`
  (`processing-failed`). `Dropped` records are not written. An S3 failure is retried with
  backoff until it succeeds: accepted data is never thrown away, not even by DeleteDeliveryStream.
* Durability (`--data-dir DIR`): a record is written to its stream's journal before it is
  acknowledged, and a delivery is marked done there once S3 has it. A stand-in killed outright
  (SIGKILL, a crash) restarts with the same DIR, recreates its streams and delivers every
  acknowledged record not yet marked done (at least once: one written just before the crash
  may be written again, as Firehose may). Without DIR, records are kept in memory only.
* Shutdown (SIGTERM / SIGINT): stop accepting, deliver every buffer and wait for deliveries in
  flight, then exit 0. A second signal gives up at once (exit 1) and says what was not delivered.

Not AWS, for tests: `GET /_local/streams/{name}`, a stream's counters.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import copy
import json
import logging
import math
import os
import re
import secrets
import signal
import sys
import time
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import boto3
from aiohttp import web
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError

from . import name_no_version
from .account import ACCOUNT, MAX_INVOKE_REQUEST_BYTES, MAX_INVOKE_RESPONSE_BYTES, REGION

log = logging.getLogger("firehose")

TARGET_PREFIX = "Firehose_20150804"
JSON_11 = "application/x-amz-json-1.1"
MIB = 1024 * 1024

# Firehose's limits (https://docs.aws.amazon.com/firehose/latest/dev/limits.html).
MAX_RECORD_BYTES = 1_024_000  # 1000 KiB, before base64
MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 4 * MIB
LAMBDA_TIMEOUT = 300.0  # seconds Firehose waits for one invocation

# Local defaults where AWS has long ones: a click should reach S3 in about a second.
LOCAL_SIZE_MB = 1
LOCAL_INTERVAL_SECONDS = 1
DEFAULT_RETRIES = 3
DEFAULT_PROCESSOR_BUFFER_MB = 1.0
DEFAULT_MAX_BUFFER_MB = 256  # per stream; past it puts are throttled (ServiceUnavailableException)

# What the click pipeline's template states; anything else is refused.
STREAM_KEYS = {
    "DeliveryStreamName",
    "DeliveryStreamType",
    "ExtendedS3DestinationConfiguration",
    "DeliveryStreamEncryptionConfigurationInput",
    "Tags",
}
DESTINATION_KEYS = {
    "RoleARN",
    "BucketARN",
    "Prefix",
    "ErrorOutputPrefix",
    "BufferingHints",
    "CompressionFormat",
    "ProcessingConfiguration",
    "CloudWatchLoggingOptions",
    "EncryptionConfiguration",
}
LAMBDA_PARAMETERS = {"LambdaArn", "NumberOfRetries", "BufferSizeInMBs", "BufferIntervalInSeconds", "RoleArn"}

_STREAM_NAME = re.compile(r"^[a-zA-Z0-9_.-]{1,64}$")
_BUCKET_ARN = re.compile(r"^arn:[\w-]*:s3:::(?P<bucket>[\w.\-]{1,255})$")
_EXPRESSION = re.compile(r"!\{([^}:]*):([^}]*)\}")
_DEFAULT_TIME_PATH = "!{timestamp:yyyy/MM/dd/HH/}"
ERROR_OUTPUT_TYPE = "processing-failed"  # the one kind of error output an S3 destination with Lambda has

# Firehose's error codes for data transformation failures, as written in `errorCode` of the
# error documents (https://docs.aws.amazon.com/firehose/latest/dev/monitoring-with-cloudwatch-logs.html
# "Lambda invocation errors", and data-transformation-failure-handling.html).
FUNCTION_ERROR = (
    "Lambda.FunctionError",
    "The Lambda function was successfully invoked but it returned an error result.",
)
INVALID_RESULT = (
    "Lambda.FunctionError",
    "Check your function and make sure the output is in required format. In addition to that, make sure the "
    "processed records contain valid result status of Dropped, Ok, or ProcessingFailed",
)
JSON_PROCESSING = (
    "Lambda.JsonProcessingException",
    "There was an error parsing returned records from the Lambda function. Ensure that the returned records "
    "follow the status model required by Firehose.",
)
MISSING_RECORD_ID = (
    "Lambda.MissingRecordId",
    "One or more record IDs were not returned. Ensure that the Lambda function returns all received record IDs.",
)
DUPLICATED_RECORD_ID = (
    "Lambda.DuplicatedRecordId",
    "Multiple records were returned with the same record ID. Ensure that the Lambda function returns unique "
    "record IDs for each record.",
)
PROCESSING_FAILED_STATUS = ("Lambda.ProcessingFailedStatus", "ProcessingFailed status set for record")
# Invoke API errors → Firehose's codes for them.
INVOKE_ERRORS = {
    "AccessDeniedException": (
        "Lambda.InvokeAccessDenied",
        "Access was denied. Ensure that the access policy allows access to the Lambda function.",
    ),
    "TooManyRequestsException": (
        "Lambda.InvokeLimitExceeded",
        "The Lambda concurrent execution limit is exceeded. Increase the concurrent execution limit.",
    ),
    "ResourceNotFoundException": (
        "Lambda.ResourceNotFound",
        "The specified Lambda function does not exist. Use a different function that does exist.",
    ),
}
RESULTS = ("Ok", "Dropped", "ProcessingFailed")


class FirehoseError(Exception):
    """An error answered on the wire as `{"__type", "message"}`."""

    def __init__(self, error_type: str, message: str, status: int = 400):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.status = status


def invalid(message: str) -> FirehoseError:
    return FirehoseError("InvalidArgumentException", message)


def unsupported(what: str) -> FirehoseError:
    return invalid(
        f"{what}: not supported by the local Firehose, which serves what the click pipeline's template uses."
    )


def constraint(value, where: str, rule: str) -> FirehoseError:
    """A model constraint violation, worded as AWS words them."""
    shown = value if isinstance(value, str | int) else "..."
    return FirehoseError(
        "ValidationException",
        f"1 validation error detected: Value '{shown}' at '{where}' failed to satisfy constraint: {rule}",
    )


class ProcessingFailure(Exception):
    """An invocation that did not give a usable answer: Firehose's error code and message."""

    def __init__(self, code_and_message: tuple[str, str], detail: str = ""):
        super().__init__(code_and_message[1])
        self.code, self.message = code_and_message
        self.detail = detail


# -- S3 prefixes: Firehose's `!{namespace:value}` expressions ---------------------------


def format_timestamp(pattern: str, when: datetime) -> str:
    """The subset of Java's DateTimeFormatter that S3 prefixes use: y M d H m s, 'quoted text'."""
    out = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "'":
            end = pattern.find("'", i + 1)
            if end < 0:
                raise ValueError(f"unterminated quote in {pattern!r}")
            out.append(pattern[i + 1 : end] if end > i + 1 else "'")
            i = end + 1
        elif char.isalpha():
            end = i
            while end < len(pattern) and pattern[end] == char:
                end += 1
            width = end - i
            if char == "y":
                out.append(f"{when.year % 100:02d}" if width == 2 else f"{when.year:0{width}d}")
            elif char == "M" and width == 3:
                out.append(when.strftime("%b"))
            elif char in "MdHms":
                value = {"M": when.month, "d": when.day, "H": when.hour, "m": when.minute, "s": when.second}[char]
                out.append(f"{value:0{width}d}")
            else:
                raise ValueError(f"pattern letter {char!r} is not supported locally")
            i = end
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _expressions(template: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in _EXPRESSION.finditer(template)]


def check_prefixes(prefix: str, error_prefix: str | None) -> None:
    """Firehose's rules for `Prefix` and `ErrorOutputPrefix` (s3-prefixes.html, "Semantic rules")."""
    for field_name, template in (("Prefix", prefix), ("ErrorOutputPrefix", error_prefix or "")):
        if "!{" in _EXPRESSION.sub("", template):
            raise invalid(f"{field_name}: the sequence '!{{' can only appear in !{{namespace:value}} expressions.")
        for namespace, value in _expressions(template):
            if namespace == "timestamp":
                try:
                    format_timestamp(value, datetime.now(UTC))
                except ValueError as error:
                    raise invalid(f"{field_name}: invalid expression !{{timestamp:{value}}}: {error}") from None
            elif namespace != "firehose" or value not in ("random-string", "error-output-type"):
                raise invalid(f"{field_name}: unknown expression !{{{namespace}:{value}}}.")
    if ("firehose", "error-output-type") in _expressions(prefix):
        raise invalid("Prefix can't contain !{firehose:error-output-type}.")
    if _expressions(prefix) and not error_prefix:
        raise invalid("ErrorOutputPrefix cannot be null or empty when Prefix contains expressions.")
    error_expressions = _expressions(error_prefix or "")
    if error_expressions and ("firehose", "error-output-type") not in error_expressions:
        raise invalid("ErrorOutputPrefix with expressions must contain !{firehose:error-output-type}.")


def render_prefix(template: str, when: datetime, error_output_type: str | None = None) -> str:
    """Evaluate a prefix's expressions; every timestamp expression uses the same instant."""

    def evaluate(match: re.Match) -> str:
        namespace, value = match.group(1), match.group(2)
        if namespace == "timestamp":
            return format_timestamp(value, when)
        if value == "random-string":
            return secrets.token_hex(6)[:11]  # 11 characters, a new one each time
        return error_output_type or ""

    return _EXPRESSION.sub(evaluate, template)


def effective_prefixes(prefix: str, error_prefix: str | None) -> tuple[str, str]:
    """The templates Firehose really uses for delivered and for failed records.

    A `Prefix` without a timestamp expression gets `!{timestamp:yyyy/MM/dd/HH/}` appended. With
    no `ErrorOutputPrefix` (only allowed when `Prefix` has no expressions) failed records go to
    `<Prefix><error-output-type>/YYYY/MM/DD/HH/`; a static `ErrorOutputPrefix` gets the same
    `<error-output-type>/YYYY/MM/DD/HH/` tail; one with expressions is used as it is.
    """
    expressions = _expressions(prefix)
    ok = prefix if any(ns == "timestamp" for ns, _ in expressions) else prefix + _DEFAULT_TIME_PATH
    tail = "!{firehose:error-output-type}/" + _DEFAULT_TIME_PATH
    if not error_prefix:
        error = prefix + tail
    elif _expressions(error_prefix):
        error = error_prefix
    else:
        error = error_prefix + tail
    return ok, error


# -- stream configuration ------------------------------------------------------------


@dataclass
class LambdaProcessor:
    arn: str
    retries: int = DEFAULT_RETRIES
    buffer_bytes: int = int(DEFAULT_PROCESSOR_BUFFER_MB * MIB)


@dataclass
class Destination:
    bucket: str
    ok_template: str
    error_template: str
    size_bytes: int
    interval: float
    processor: LambdaProcessor | None
    config: dict  # the ExtendedS3DestinationConfiguration, as DescribeDeliveryStream answers it


def _number(value, name: str, low: float, high: float, kind: type = int) -> int | float:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise invalid(f"{name}: {value!r} is not a valid {kind.__name__}.") from None
    if not low <= number <= high:
        raise invalid(f"{name} must be between {low} and {high}, got {number}.")
    return number


def parse_processor(processing: dict) -> LambdaProcessor | None:
    """The one Lambda processor of a ProcessingConfiguration, if it is enabled."""
    processors = processing.get("Processors") or []
    # Enabled is optional in the API; processors listed without it are taken as meant to run.
    if not processing.get("Enabled", bool(processors)):
        return None
    if [p.get("Type") for p in processors] != ["Lambda"]:
        raise unsupported(f"Processors {[p.get('Type') for p in processors]} (one Lambda processor)")
    parameters = {p.get("ParameterName"): p.get("ParameterValue") for p in processors[0].get("Parameters") or []}
    if set(parameters) - LAMBDA_PARAMETERS:
        raise unsupported(f"Lambda processor parameters {sorted(map(str, set(parameters) - LAMBDA_PARAMETERS))}")
    if not parameters.get("LambdaArn"):
        raise invalid("The Lambda processor needs a LambdaArn.")
    size_mb = _number(parameters.get("BufferSizeInMBs", DEFAULT_PROCESSOR_BUFFER_MB), "BufferSizeInMBs", 0.2, 3, float)
    return LambdaProcessor(
        arn=parameters["LambdaArn"],
        retries=_number(parameters.get("NumberOfRetries", DEFAULT_RETRIES), "NumberOfRetries", 0, 300),
        buffer_bytes=int(size_mb * MIB),
    )


def parse_destination(config: dict) -> Destination:
    """Check an ExtendedS3DestinationConfiguration and work out what it means."""
    if not isinstance(config, dict):
        raise invalid("ExtendedS3DestinationConfiguration must be an object.")
    if set(config) - DESTINATION_KEYS:
        raise unsupported(f"ExtendedS3DestinationConfiguration {sorted(set(config) - DESTINATION_KEYS)}")
    if config.get("CompressionFormat", "UNCOMPRESSED") != "UNCOMPRESSED":
        raise unsupported(f"CompressionFormat {config['CompressionFormat']}")
    for required in ("RoleARN", "BucketARN"):
        if not config.get(required):
            raise invalid(f"ExtendedS3DestinationConfiguration.{required} is required.")
    bucket = _BUCKET_ARN.match(config["BucketARN"])
    if not bucket:
        raise invalid(f"BucketARN {config['BucketARN']!r} is not an S3 bucket ARN.")
    prefix, error_prefix = config.get("Prefix") or "", config.get("ErrorOutputPrefix") or None
    check_prefixes(prefix, error_prefix)
    hints = config.get("BufferingHints") or {}
    size_mb = _number(hints.get("SizeInMBs", LOCAL_SIZE_MB), "BufferingHints.SizeInMBs", 1, 128)
    interval = _number(
        hints.get("IntervalInSeconds", LOCAL_INTERVAL_SECONDS), "BufferingHints.IntervalInSeconds", 0, 900
    )
    return Destination(
        bucket["bucket"],
        *effective_prefixes(prefix, error_prefix),
        size_bytes=size_mb * MIB,
        interval=interval,
        processor=parse_processor(config.get("ProcessingConfiguration") or {}),
        config=copy.deepcopy(config),
    )


# -- streams --------------------------------------------------------------------------


@dataclass
class Record:
    record_id: str
    data: bytes
    arrival_ms: int  # epoch milliseconds: approximateArrivalTimestamp
    arrival: float  # monotonic, for the buffering interval


class Journal:
    """A stream's accepted records on disk from before their acknowledgement until delivered.

    `<name>.stream.json` holds the stream's CreateDeliveryStream request (and whether it was
    deleted); `<name>.journal` a JSON line per accepted record and one per finished delivery
    (`{"done": [ids]}`). Each acknowledgement's records go in one write(2), so a process that
    dies after answering has handed them to the kernel. Rewritten to what is still pending once
    it outgrows COMPACT_BYTES.
    """

    COMPACT_BYTES = 16 * MIB

    def __init__(self, directory: Path, name: str):
        directory.mkdir(parents=True, exist_ok=True)
        self.definition_path = directory / f"{name}.stream.json"
        self.path = directory / f"{name}.journal"
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def save_definition(self, request: dict, deleted: bool = False) -> None:
        self.request = request
        temporary = self.definition_path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"request": request, "deleted": deleted}))
        temporary.replace(self.definition_path)

    def mark_deleted(self) -> None:
        """Deleted: delivered what it holds after a restart too, then not recreated."""
        self.save_definition(self.request, deleted=True)

    def accepted(self, records: list[Record]) -> None:
        lines = "".join(
            json.dumps({"i": r.record_id, "t": r.arrival_ms, "d": base64.b64encode(r.data).decode()}) + "\n"
            for r in records
        )
        os.write(self._fd, lines.encode())

    def delivered(self, records: list[Record], pending: deque[Record]) -> None:
        os.write(self._fd, (json.dumps({"done": [r.record_id for r in records]}) + "\n").encode())
        if os.fstat(self._fd).st_size > self.COMPACT_BYTES:
            temporary = self.path.with_suffix(".tmp")
            os.close(self._fd)
            self._fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
            self.accepted(list(pending))
            temporary.replace(self.path)

    def pending(self) -> list[Record]:
        """The records accepted and not yet delivered, in arrival order."""
        records: dict[str, Record] = {}
        with open(self.path, "rb") as file:
            for line in file:
                try:
                    entry = json.loads(line)
                except ValueError:  # the last line of a write cut short by the crash
                    continue
                if "done" in entry:
                    for record_id in entry["done"]:
                        records.pop(record_id, None)
                else:
                    # Due at once: what waited through a crash is delivered first thing after it.
                    records[entry["i"]] = Record(entry["i"], base64.b64decode(entry["d"]), entry["t"], -math.inf)
        return list(records.values())

    def remove(self) -> None:
        os.close(self._fd)
        self.path.unlink(missing_ok=True)
        self.definition_path.unlink(missing_ok=True)


@dataclass
class Stats:
    received: int = 0
    buffered: int = 0
    in_flight: int = 0
    delivered_ok: int = 0
    dropped: int = 0
    processing_failed: int = 0
    invocations: int = 0
    failed_invocations: int = 0
    s3_objects: int = 0
    s3_errors: int = 0
    throttled: int = 0


@dataclass
class Stream:
    name: str
    arn: str
    destination: Destination
    encryption: dict | None = None  # DeliveryStreamEncryptionConfigurationInput
    tags: list = field(default_factory=list)
    created: float = field(default_factory=time.time)
    buffer: deque[Record] = field(default_factory=deque)
    buffer_bytes: int = 0
    stats: Stats = field(default_factory=Stats)
    wake: asyncio.Event = field(default_factory=asyncio.Event)  # something to look at
    closing: bool = False
    journal: Journal | None = None
    _sequence: int = 0

    def new_record_id(self) -> str:
        # Opaque, unique, and ordered within the stream, like Firehose's 56-digit ids.
        self._sequence += 1
        return f"{time.time_ns() // 1000:016d}{self._sequence:020d}{secrets.randbelow(10**20):020d}"

    def description(self) -> dict:
        encryption = {**self.encryption, "Status": "ENABLED"} if self.encryption else {"Status": "DISABLED"}
        return {
            "DeliveryStreamName": self.name,
            "DeliveryStreamARN": self.arn,
            "DeliveryStreamStatus": "ACTIVE",
            "DeliveryStreamEncryptionConfiguration": encryption,
            "DeliveryStreamType": "DirectPut",
            "VersionId": "1",
            "CreateTimestamp": self.created,
            "Destinations": [
                {
                    "DestinationId": "destinationId-000000000001",
                    "ExtendedS3DestinationDescription": self.destination.config,
                }
            ],
            "HasMoreDestinations": False,
        }

    def counters(self) -> dict:
        self.stats.buffered = len(self.buffer)
        return asdict(self.stats)


@dataclass
class Outcome:
    """What became of one delivery's records."""

    ok: list[tuple[Record, bytes]] = field(default_factory=list)
    dropped: int = 0
    failed: list[tuple[Record, dict]] = field(default_factory=list)  # the record and its error document


def check_response(body: bytes, sent: list[Record]) -> list[tuple[str, bytes | None]]:
    """Validate a transformation response as Firehose does; the result and data per sent record.

    Every record sent must come back exactly once by `recordId` (none missing, none twice, no
    stranger), with `result` Ok, Dropped or ProcessingFailed, and for Ok base64 `data`.
    Anything else fails the whole invocation (which is then retried).
    """
    if len(body) > MAX_INVOKE_RESPONSE_BYTES:
        raise ProcessingFailure(FUNCTION_ERROR, f"response of {len(body)} bytes exceeds Lambda's 6 MB limit")
    try:
        response = json.loads(body)
    except ValueError as error:
        raise ProcessingFailure(JSON_PROCESSING, f"response is not JSON: {error}") from None
    records = response.get("records") if isinstance(response, dict) else None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ProcessingFailure(JSON_PROCESSING, "response is not an object with a list of record objects in 'records'")
    expected = {record.record_id for record in sent}
    answers: dict[str, dict] = {}
    for answer in records:
        record_id = answer.get("recordId")
        if not isinstance(record_id, str):
            raise ProcessingFailure(MISSING_RECORD_ID, "a returned record has no recordId")
        if record_id in answers:
            raise ProcessingFailure(DUPLICATED_RECORD_ID, f"recordId {record_id} returned more than once")
        if record_id not in expected:
            # An id that was not sent means the record it stands for is missing.
            raise ProcessingFailure(MISSING_RECORD_ID, f"recordId {record_id} was not in the invocation")
        answers[record_id] = answer
    missing = expected - answers.keys()
    if missing:
        raise ProcessingFailure(MISSING_RECORD_ID, f"{len(missing)} of {len(sent)} record ids not returned")
    results = []
    for record in sent:
        answer = answers[record.record_id]
        result = answer.get("result")
        if result not in RESULTS:
            raise ProcessingFailure(INVALID_RESULT, f"recordId {record.record_id}: result {result!r}")
        data = None
        if result == "Ok":
            raw = answer.get("data")
            if not isinstance(raw, str):
                raise ProcessingFailure(JSON_PROCESSING, f"recordId {record.record_id}: Ok without base64 'data'")
            try:
                data = base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError):
                raise ProcessingFailure(JSON_PROCESSING, f"recordId {record.record_id}: 'data' is not base64") from None
        results.append((result, data))
    return results


def chunk_for_lambda(records: list[Record], buffer_bytes: int) -> list[list[Record]]:
    """Split a delivery into invocations within the processor's buffer size and Lambda's payload limit."""
    chunks: list[list[Record]] = []
    current: list[Record] = []
    data_bytes = payload_bytes = 0
    for record in records:
        # What the record adds to the event: its base64 data, its id and the JSON around them.
        encoded = 4 * ((len(record.data) + 2) // 3) + len(record.record_id) + 96
        if current and (
            data_bytes + len(record.data) > buffer_bytes or payload_bytes + encoded > MAX_INVOKE_REQUEST_BYTES - 4096
        ):
            chunks.append(current)
            current, data_bytes, payload_bytes = [], 0, 0
        current.append(record)
        data_bytes += len(record.data)
        payload_bytes += encoded
    if current:
        chunks.append(current)
    return chunks


def error_document(record: Record, code: str, message: str, attempts: int, ended_ms: int, lambda_arn: str) -> dict:
    """Firehose's error record for a record that failed transformation (the original data)."""
    return {
        "attemptsMade": attempts,
        "arrivalTimestamp": record.arrival_ms,
        "errorCode": code,
        "errorMessage": message,
        "attemptEndingTimestamp": ended_ms,
        "rawData": base64.b64encode(record.data).decode(),
        "lambdaArn": lambda_arn,
    }


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class Firehose:
    def __init__(
        self,
        region: str,
        lambda_client,
        s3_client,
        *,
        max_buffer_bytes: int = DEFAULT_MAX_BUFFER_MB * MIB,
        retry_backoff: float = 0.2,
        s3_backoff_cap: float = 5.0,
        workers: int = 16,
        data_dir: Path | None = None,
    ):
        self.region = region
        self.lambda_client = lambda_client
        self.s3 = s3_client
        self.max_buffer_bytes = max_buffer_bytes
        self.retry_backoff = retry_backoff
        self.s3_backoff_cap = s3_backoff_cap
        self.data_dir = data_dir
        self.streams: dict[str, Stream] = {}
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="firehose")
        self._pumps: set[asyncio.Task] = set()
        self._accepting = True
        self.operations = {
            "CreateDeliveryStream": self.create_delivery_stream,
            "DescribeDeliveryStream": self.describe_delivery_stream,
            "DeleteDeliveryStream": self.delete_delivery_stream,
            "PutRecord": self.put_record,
            "PutRecordBatch": self.put_record_batch,
        }

    # -- HTTP -------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(client_max_size=16 * MIB)
        name_no_version(app, "mysfits-firehose")
        app.router.add_post("/", self.api)
        app.router.add_get("/_local/streams/{name}", self.local_stream)
        return app

    async def api(self, request: web.Request) -> web.Response:
        request_id = str(uuid.uuid4())
        try:
            target = request.headers.get("X-Amz-Target", "")
            prefix, _, operation_name = target.partition(".")
            operation = self.operations.get(operation_name) if prefix == TARGET_PREFIX else None
            if operation is None:
                raise FirehoseError("UnknownOperationException", f"Unknown operation {target!r}.")
            try:
                raw = await request.read()
            except web.HTTPRequestEntityTooLarge:
                raise invalid("The request is larger than the local Firehose accepts.") from None
            try:
                body = json.loads(raw) if raw.strip() else {}
            except ValueError:
                raise FirehoseError("SerializationException", "The request body is not valid JSON.") from None
            if not isinstance(body, dict):
                raise FirehoseError("SerializationException", "The request body must be a JSON object.")
            result = operation(body)
            response = web.Response(status=200, text=json.dumps(result), content_type=JSON_11)
        except FirehoseError as error:
            response = web.Response(
                status=error.status,
                text=json.dumps({"__type": error.error_type, "message": error.message}),
                content_type=JSON_11,
            )
            response.headers["x-amzn-ErrorType"] = error.error_type
        response.headers["x-amzn-RequestId"] = request_id
        return response

    async def local_stream(self, request: web.Request) -> web.Response:
        """A stream's counters (not an AWS API)."""
        stream = self.streams.get(request.match_info["name"])
        if stream is None:
            return web.json_response({"message": "no such stream"}, status=404)
        return web.json_response(stream.counters())

    # -- control plane ----------------------------------------------------------------
    def _stream(self, body: dict) -> Stream:
        name = self._name(body)
        stream = self.streams.get(name)
        if stream is None:
            raise FirehoseError(
                "ResourceNotFoundException", f"Firehose stream {name} under account {ACCOUNT} not found."
            )
        return stream

    @staticmethod
    def _name(body: dict) -> str:
        name = body.get("DeliveryStreamName")
        if not isinstance(name, str) or not _STREAM_NAME.match(name):
            raise constraint(
                name,
                "deliveryStreamName",
                "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 1 and 64",
            )
        return name

    def create_delivery_stream(self, body: dict) -> dict:
        name = self._name(body)
        if set(body) - STREAM_KEYS:
            raise unsupported(f"CreateDeliveryStream {sorted(set(body) - STREAM_KEYS)}")
        if body.get("DeliveryStreamType", "DirectPut") != "DirectPut":
            raise unsupported(f"DeliveryStreamType {body['DeliveryStreamType']}")
        if "ExtendedS3DestinationConfiguration" not in body:
            raise invalid("ExtendedS3DestinationConfiguration is required.")
        if name in self.streams:
            raise FirehoseError(
                "ResourceInUseException", f"Firehose stream {name} under account {ACCOUNT} already exists."
            )
        destination = parse_destination(body["ExtendedS3DestinationConfiguration"])
        arn = f"arn:aws:firehose:{self.region}:{ACCOUNT}:deliverystream/{name}"
        stream = Stream(
            name, arn, destination, body.get("DeliveryStreamEncryptionConfigurationInput"), body.get("Tags") or []
        )
        if self.data_dir is not None:
            stream.journal = Journal(self.data_dir, name)
            stream.journal.save_definition(body)
        self.streams[name] = stream
        pump = asyncio.get_running_loop().create_task(self._pump(stream), name=f"firehose-{name}")
        self._pumps.add(pump)
        pump.add_done_callback(self._pumps.discard)
        processor = destination.processor
        log.info(
            "created stream %s → s3://%s/%s (buffer %d MiB / %ss%s)",
            name,
            destination.bucket,
            destination.ok_template,
            destination.size_bytes // MIB,
            destination.interval,
            f", Lambda {processor.arn}, {processor.retries} retries" if processor else "",
        )
        return {"DeliveryStreamARN": arn}

    def describe_delivery_stream(self, body: dict) -> dict:
        return {"DeliveryStreamDescription": self._stream(body).description()}

    def delete_delivery_stream(self, body: dict) -> dict:
        stream = self._stream(body)
        del self.streams[stream.name]
        # Unlike AWS, what the stream still buffers is delivered, in the background.
        stream.closing = True
        stream.wake.set()
        if stream.journal:
            stream.journal.mark_deleted()
        log.info("deleted stream %s (%d buffered records still delivered)", stream.name, len(stream.buffer))
        return {}

    def restore(self) -> None:
        """Recreate the streams of `data_dir` and buffer what they had accepted and not delivered."""
        if self.data_dir is None or not self.data_dir.exists():
            return
        for path in sorted(self.data_dir.glob("*.stream.json")):
            saved = json.loads(path.read_text())
            self.create_delivery_stream(saved["request"])
            stream = self.streams[self._name(saved["request"])]
            pending = stream.journal.pending()
            stream.buffer.extend(pending)
            stream.buffer_bytes = sum(len(r.data) for r in pending)
            stream.stats.received = len(pending)
            if saved["deleted"]:
                del self.streams[stream.name]
                stream.closing = True
                stream.journal.mark_deleted()
            stream.wake.set()
            log.info("restored stream %s with %d accepted records not yet delivered", stream.name, len(pending))

    # -- data plane -------------------------------------------------------------------
    @staticmethod
    def _data(record, where: str) -> bytes:
        if not isinstance(record, dict) or "Data" not in record:
            raise constraint(None, where, "Member must not be null")
        try:
            data = base64.b64decode(record["Data"], validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise FirehoseError("SerializationException", f"{where}.data is not base64.") from None
        if len(data) > MAX_RECORD_BYTES:
            raise constraint(None, f"{where}.data", f"Member must have length less than or equal to {MAX_RECORD_BYTES}")
        return data

    def _accept(self, stream: Stream, data: bytes) -> Record | None:
        """Buffer one record; None when the buffer is full (throttled). The caller journals what
        it accepted before it answers."""
        if not self._accepting or stream.closing:
            return None
        if stream.buffer_bytes + len(data) > self.max_buffer_bytes:
            stream.stats.throttled += 1
            return None
        record = Record(stream.new_record_id(), data, _now_ms(), time.monotonic())
        stream.buffer.append(record)
        stream.buffer_bytes += len(data)
        stream.stats.received += 1
        stream.wake.set()
        return record

    def put_record(self, body: dict) -> dict:
        stream = self._stream(body)
        data = self._data(body.get("Record"), "record")
        record = self._accept(stream, data)
        if record is None:
            raise FirehoseError("ServiceUnavailableException", "Slow down.", status=503)
        if stream.journal:
            stream.journal.accepted([record])
        return {"RecordId": record.record_id, "Encrypted": False}

    def put_record_batch(self, body: dict) -> dict:
        stream = self._stream(body)
        records = body.get("Records")
        if not isinstance(records, list) or not records:
            raise constraint(None, "records", "Member must have length greater than or equal to 1")
        if len(records) > MAX_BATCH_RECORDS:
            raise constraint(None, "records", f"Member must have length less than or equal to {MAX_BATCH_RECORDS}")
        datas = [self._data(record, f"records.{i + 1}.member") for i, record in enumerate(records)]
        if sum(map(len, datas)) > MAX_BATCH_BYTES:
            raise invalid(f"Records size exceeds {MAX_BATCH_BYTES // MIB} MiB limit")
        responses, accepted = [], []
        for data in datas:
            record = self._accept(stream, data)
            if record is None:
                responses.append({"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "Slow down."})
            else:
                responses.append({"RecordId": record.record_id})
                accepted.append(record)
        if stream.journal and accepted:
            stream.journal.accepted(accepted)
        failed = sum("ErrorCode" in r for r in responses)
        return {"FailedPutCount": failed, "Encrypted": False, "RequestResponses": responses}

    # -- delivery ---------------------------------------------------------------------
    async def _pump(self, stream: Stream) -> None:
        """Deliver the stream's buffer whenever it is due; return once closing and empty."""
        destination = stream.destination
        while True:
            if not stream.buffer:
                if stream.closing:
                    if stream.journal and stream.name not in self.streams:  # deleted and delivered
                        stream.journal.remove()
                    return
                stream.wake.clear()
                await stream.wake.wait()
                continue
            now = time.monotonic()
            due = stream.buffer[0].arrival + destination.interval
            if stream.closing or stream.buffer_bytes >= destination.size_bytes or now >= due:
                # The whole buffer goes: like Firehose, an object can be a little over the size hint.
                batch = list(stream.buffer)
                stream.buffer.clear()
                stream.buffer_bytes = 0
                stream.stats.in_flight = len(batch)
                try:
                    await self._deliver(stream, batch)
                    if stream.journal:
                        stream.journal.delivered(batch, stream.buffer)
                except Exception:
                    # Never lose accepted records to a bug: put them back and try again later.
                    log.exception("stream %s: delivery of %d records failed; retrying", stream.name, len(batch))
                    stream.buffer.extendleft(reversed(batch))
                    stream.buffer_bytes += sum(len(r.data) for r in batch)
                    await asyncio.sleep(self.s3_backoff_cap)
                finally:
                    stream.stats.in_flight = 0
                continue
            stream.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stream.wake.wait(), due - now)

    async def _deliver(self, stream: Stream, batch: list[Record]) -> None:
        destination = stream.destination
        if destination.processor:
            outcome = await self._transform(stream, destination.processor, batch)
        else:
            outcome = Outcome(ok=[(record, record.data) for record in batch])
        ok_key = error_key = None
        if outcome.ok:
            when = datetime.fromtimestamp(min(r.arrival_ms for r, _ in outcome.ok) / 1000, UTC)
            ok_key = self._key(stream, render_prefix(destination.ok_template, when), when)
            await self._put_object(stream, ok_key, b"".join(data for _, data in outcome.ok))
        if outcome.failed:
            when = datetime.fromtimestamp(min(r.arrival_ms for r, _ in outcome.failed) / 1000, UTC)
            error_key = self._key(stream, render_prefix(destination.error_template, when, ERROR_OUTPUT_TYPE), when)
            lines = "".join(json.dumps(document, separators=(",", ":")) + "\n" for _, document in outcome.failed)
            await self._put_object(stream, error_key, lines.encode())
        stream.stats.delivered_ok += len(outcome.ok)
        stream.stats.dropped += outcome.dropped
        stream.stats.processing_failed += len(outcome.failed)
        log.info(
            "delivered stream=%s records=%d ok=%d dropped=%d failed=%d key=%s error_key=%s",
            stream.name,
            len(batch),
            len(outcome.ok),
            outcome.dropped,
            len(outcome.failed),
            ok_key and f"s3://{destination.bucket}/{ok_key}",
            error_key and f"s3://{destination.bucket}/{error_key}",
        )

    @staticmethod
    def _key(stream: Stream, prefix: str, when: datetime) -> str:
        # Firehose's object name: <stream>-<stream version>-<YYYY-MM-DD-HH-MM-SS>-<random>.
        return f"{prefix}{stream.name}-1-{when:%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}"

    async def _transform(self, stream: Stream, processor: LambdaProcessor, batch: list[Record]) -> Outcome:
        outcome = Outcome()
        loop = asyncio.get_running_loop()
        for chunk in chunk_for_lambda(batch, processor.buffer_bytes):
            attempts = 0
            while True:
                attempts += 1
                stream.stats.invocations += 1
                try:
                    results = await loop.run_in_executor(self.executor, self._invoke, stream, processor, chunk)
                    failure = None
                    break
                except ProcessingFailure as error:
                    failure = error
                    stream.stats.failed_invocations += 1
                    log.warning(
                        "stream %s: invocation %d/%d of %s for %d records failed: %s (%s)",
                        stream.name,
                        attempts,
                        processor.retries + 1,
                        processor.arn,
                        len(chunk),
                        error.code,
                        error.detail or error.message,
                    )
                    if attempts > processor.retries:
                        break
                    await asyncio.sleep(min(self.retry_backoff * 2 ** (attempts - 1), 5.0))
            ended = _now_ms()
            if failure:
                # Every retry failed: Firehose skips the batch and writes all of it as failed.
                for record in chunk:
                    document = error_document(record, failure.code, failure.message, attempts, ended, processor.arn)
                    outcome.failed.append((record, document))
                continue
            for record, (result, data) in zip(chunk, results, strict=True):
                if result == "Ok":
                    outcome.ok.append((record, data))
                elif result == "Dropped":
                    outcome.dropped += 1
                else:
                    code, message = PROCESSING_FAILED_STATUS
                    outcome.failed.append(
                        (record, error_document(record, code, message, attempts, ended, processor.arn))
                    )
        return outcome

    def _invoke(
        self, stream: Stream, processor: LambdaProcessor, chunk: list[Record]
    ) -> list[tuple[str, bytes | None]]:
        """One synchronous invocation (in a worker thread), checked; raises ProcessingFailure."""
        event = {
            "invocationId": str(uuid.uuid4()),
            "deliveryStreamArn": stream.arn,
            "region": self.region,
            "records": [
                {
                    "recordId": record.record_id,
                    "approximateArrivalTimestamp": record.arrival_ms,
                    "data": base64.b64encode(record.data).decode(),
                }
                for record in chunk
            ],
        }
        try:
            response = self.lambda_client.invoke(
                FunctionName=processor.arn, InvocationType="RequestResponse", Payload=json.dumps(event).encode()
            )
            body = response["Payload"].read()
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "Unknown")
            mapped = INVOKE_ERRORS.get(code, (f"Lambda.{code.removesuffix('Exception')}", str(error)))
            raise ProcessingFailure(mapped, str(error)) from None
        except ReadTimeoutError as error:
            raise ProcessingFailure(
                ("Lambda.FunctionRequestTimedOut", "The Lambda invocation request did not complete in time."),
                str(error),
            ) from None
        except BotoCoreError as error:
            raise ProcessingFailure(
                ("Lambda.InternalServerError", f"The Lambda function could not be invoked: {error}"), str(error)
            ) from None
        if response.get("FunctionError"):
            raise ProcessingFailure(FUNCTION_ERROR, body[:500].decode(errors="replace"))
        return check_response(body, chunk)

    async def _put_object(self, stream: Stream, key: str, body: bytes) -> None:
        """Write one object, retrying with backoff until S3 takes it: delivered data is never dropped."""
        loop = asyncio.get_running_loop()
        bucket = stream.destination.bucket
        attempt = 0
        while True:
            try:
                await loop.run_in_executor(
                    self.executor, partial(self.s3.put_object, Bucket=bucket, Key=key, Body=body)
                )
                stream.stats.s3_objects += 1
                return
            except (ClientError, BotoCoreError) as error:
                attempt += 1
                stream.stats.s3_errors += 1
                code = error.response.get("Error", {}).get("Code") if isinstance(error, ClientError) else None
                delay = min(self.retry_backoff * 2 ** (attempt - 1), self.s3_backoff_cap)
                log.error(
                    "stream %s: writing s3://%s/%s failed (%s: %s); attempt %d, retrying in %.1fs, the data is kept",
                    stream.name,
                    bucket,
                    key,
                    f"S3.{code}" if code else "S3.Unreachable",
                    error,
                    attempt,
                    delay,
                )
                await asyncio.sleep(delay)

    # -- shutdown ---------------------------------------------------------------------
    def pending_records(self) -> int:
        streams = list(self.streams.values())
        return sum(len(s.buffer) + s.stats.in_flight for s in streams)

    async def close(self) -> None:
        """Stop accepting, deliver every buffer, wait for every delivery, then free the workers."""
        self._accepting = False
        for stream in self.streams.values():
            stream.closing = True
            stream.wake.set()
        if self._pumps:
            await asyncio.gather(*list(self._pumps))
        self.executor.shutdown(wait=True)


def make_clients(region: str) -> tuple:
    """boto3 clients for Lambda and S3; their endpoints come from AWS_ENDPOINT_URL(_LAMBDA/_S3)."""
    session = boto3.session.Session(region_name=region)
    # Firehose retries invocations itself (NumberOfRetries): botocore must not multiply them.
    lambda_client = session.client(
        "lambda",
        config=Config(
            retries={"mode": "standard", "total_max_attempts": 1},
            read_timeout=LAMBDA_TIMEOUT,
            connect_timeout=5,
            max_pool_connections=16,
        ),
    )
    s3 = session.client("s3", config=Config(retries={"mode": "standard"}, max_pool_connections=16))
    return lambda_client, s3


async def serve(firehose: Firehose, host: str, port: int) -> int:
    firehose.restore()
    runner = web.AppRunner(firehose.app(), access_log=None, shutdown_timeout=10.0)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_signal(signum: int) -> None:
        if not stop.is_set():
            stop.set()
            return
        # A second signal: give up on what is left, and say so.
        log.error(
            "second %s: exiting now, %d records not delivered", signal.Signals(signum).name, firehose.pending_records()
        )
        logging.shutdown()
        os._exit(1)

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    log.info("Firehose stand-in on http://%s:%s (region %s)", host, port, firehose.region)
    await stop.wait()
    log.info("stopping: no new records; delivering %d buffered records", firehose.pending_records())
    await runner.cleanup()  # stop listening, let requests in progress finish
    await firehose.close()
    log.info("stopped: every accepted record was delivered")
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mysfits_local.firehose", description="Local Firehose stand-in")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4573)
    parser.add_argument(
        "--retry-backoff", type=float, default=0.2, help="first retry delay in seconds, doubled per retry"
    )
    parser.add_argument(
        "--max-buffer-mb",
        type=float,
        default=DEFAULT_MAX_BUFFER_MB,
        help="per stream; records past it are throttled with ServiceUnavailableException",
    )
    parser.add_argument(
        "--data-dir", type=Path, help="where accepted records are journalled until delivered (kept across restarts)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or REGION
    lambda_client, s3 = make_clients(region)
    firehose = Firehose(
        region,
        lambda_client,
        s3,
        max_buffer_bytes=int(args.max_buffer_mb * MIB),
        retry_backoff=args.retry_backoff,
        data_dir=args.data_dir,
    )
    sys.exit(asyncio.run(serve(firehose, args.host, args.port)))


if __name__ == "__main__":
    main()
