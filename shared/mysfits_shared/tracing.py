"""X-Ray tracing, set up in this one module; a later move to OpenTelemetry should only have to
change this file.

Services call `init_tracing(app, settings)` once from their application factory: a segment per
sampled request, with a subsegment per AWS call (every PynamoDB and boto3 call goes through
botocore) and per outgoing HTTP call (`remote_call`), sent over UDP to the X-Ray daemon in the
X-Ray SDK's format. The services record these themselves rather than through the SDK, which costs
several times the CPU per request (docs/decisions.md). With `TRACING_ENABLED=false` (unit tests)
nothing is patched, recorded or sent.

The Lambda function's tracer is Powertools' (`lambda_tracer`, with the SDK behind it), and the
sampling rules are stated once (`sampling_rules`): the services, and the stand-ins that decide
for the requests they start (the gateway's stage, Lambda's invocation), all sample by them
(`Sampler`). A request that arrives with a decision (`Sampled=1/0` in its trace header) keeps it
at every hop.

The SDK is imported only by `lambda_tracer`: the SDK decides at its import whether it runs in
Lambda (LAMBDA_TASK_ROOT), so a process that sets that up later, like the Lambda stand-in, must
not have imported it yet.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import secrets
import socket
import threading
import time
import traceback
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from .settings import Settings

log = logging.getLogger(__name__)

TRACE_HEADER = "X-Amzn-Trace-Id"
_ROOT = re.compile(r"1-[0-9a-f]{8}-[0-9a-f]{24}")
_ID = re.compile(r"[0-9a-f]{16}")
_DAEMON_HEADER = b'{"format":"json","version":1}\n'


DEFAULT_SAMPLING_RATE = 0.05  # as X-Ray's default rule: the first request each second, then 5%


def sampling_rules(rate: float = DEFAULT_SAMPLING_RATE) -> dict:
    """The sampling rules: health checks never; the first request each second, then `rate` of the rest."""
    return {
        "version": 2,
        "rules": [
            {
                "description": "health checks are never traced",
                "host": "*",
                "http_method": "GET",
                "url_path": "/health",
                "fixed_target": 0,
                "rate": 0.0,
            }
        ],
        "default": {"fixed_target": 1, "rate": rate},
    }


def init_tracing(app, settings: Settings) -> None:
    """Trace every request of `app` and every AWS call it makes, or switch tracing off; either
    way, log one JSON line per request that leads to its trace."""
    if settings.tracing_enabled:
        _trace_aws_calls()
        _Recorder(settings).install(app)
        log.info("X-Ray tracing on, daemon at %s", settings.xray_daemon_address)
    else:
        log.info("X-Ray tracing is off")
    _log_requests(app)


# The segment of the request being served, if it is sampled: its calls out are added to it.
_segment: ContextVar[dict | None] = ContextVar("xray_segment", default=None)


class _Recorder:
    """A segment per sampled request, sent to the daemon when the request ends, as the X-Ray SDK's
    Flask middleware does, in a fraction of its CPU: tracing every request must stay cheap
    (docs/decisions.md, "The services record their own segments").

    The request's trace (the one it brought, or a new one) is kept in `g.trace` for the log line
    and the response's `X-Amzn-Trace-Id`, sampled or not.
    """

    def __init__(self, settings: Settings):
        self.name = settings.service_name
        self.sampler = Sampler(settings.xray_sampling_rate)
        self.sender = SegmentSender(settings.xray_daemon_address)
        # On Fargate the SDK's ECS plugin names the container; so does this.
        container = {"origin": "AWS::ECS::Container", "aws": {"ecs": {"container": socket.gethostname()}}}
        self.origin = container if settings.on_ecs else {}

    def install(self, app) -> None:
        from flask import g, request

        @app.before_request
        def _begin_segment():
            incoming = TraceHeader.parse(request.headers.get(TRACE_HEADER))
            sampled = self.sampler.sampled(incoming, request.method, request.path)
            if incoming is None:
                g.trace = TraceHeader(new_trace_root(), None, sampled)
            else:
                g.trace = TraceHeader(incoming.root, incoming.parent, sampled)
            if sampled:
                segment = {"name": self.name, "id": new_segment_id(), "trace_id": g.trace.root, **self.origin}
                if g.trace.parent:
                    segment["parent_id"] = g.trace.parent
                segment["start_time"] = time.time()
                url = f"{request.scheme}://{request.host}{request.path}"  # cheaper than base_url
                segment["http"] = {"request": {"method": request.method, "url": url}}
                mysfit_id = (request.view_args or {}).get("mysfit_id")
                if mysfit_id:
                    segment["annotations"] = {"mysfitId": mysfit_id}
                _segment.set(segment)

        @app.after_request
        def _respond(response):
            trace = g.get("trace")
            if trace is not None:
                response.headers[TRACE_HEADER] = f"Root={trace.root}"
            segment = _segment.get()
            if segment is not None:
                _mark(segment, response.status_code)
                segment["http"]["response"] = {"status": response.status_code}
                if response.content_length is not None:
                    segment["http"]["response"]["content_length"] = response.content_length
            return response

        @app.teardown_request
        def _end_segment(error):
            segment = _segment.get()
            if segment is None:
                return
            _segment.set(None)
            if error is not None:
                record_exception(error)
            segment["end_time"] = time.time()
            self.sender.send(segment)


def record_exception(error: BaseException) -> None:
    """Mark the current request's segment a fault caused by `error` (an unexpected exception)."""
    segment = _segment.get()
    if segment is not None:
        segment["fault"] = True
        segment["cause"] = _cause(error, remote=False)


def _mark(entity: dict, status: int) -> None:
    """X-Ray's flags for an answer: 429 a throttle (and an error), other 4xx an error, 5xx a fault."""
    entity["error"] = 400 <= status < 500
    entity["fault"] = status >= 500
    if status == 429:
        entity["throttle"] = True


def _cause(error: BaseException, remote: bool) -> dict:
    frames = traceback.extract_tb(error.__traceback__)[-_STACK_FRAMES:]
    exception = {"id": new_segment_id(), "type": type(error).__name__, "message": str(error)[:1000], "remote": remote}
    exception["stack"] = [{"path": f.filename, "line": f.lineno, "label": f.name} for f in reversed(frames)]
    return {"working_directory": os.getcwd(), "exceptions": [exception]}


_STACK_FRAMES = 10  # the innermost frames of a cause's stack, as much as an operator reads


def _trace_aws_calls() -> None:
    """Every AWS call made while a sampled request is served becomes a subsegment of its segment,
    as the SDK's botocore patch records it (name from the endpoint prefix, "dynamodb"; namespace
    aws; operation, table), and flagged as X-Ray means: an answered 4xx an error (a throttle when
    DynamoDB throttled), a 5xx or no answer at all a fault, with its exception.

    Wraps `BaseClient._make_api_call`, through which every boto3 and PynamoDB call goes; pinned by
    shared/tests/test_tracing.py, so a botocore that renames it fails there.
    """
    from botocore.client import BaseClient
    from botocore.exceptions import ClientError

    original = BaseClient._make_api_call
    if getattr(original, "traced", False):
        return

    def _make_api_call(client, operation_name, api_params):
        segment = _segment.get()
        if segment is None:
            return original(client, operation_name, api_params)
        aws = {"operation": operation_name, "region": client.meta.region_name, **_resources(api_params)}
        with _subsegment(segment, client.meta.service_model.endpoint_prefix, "aws", aws=aws) as call:
            try:
                result = original(client, operation_name, api_params)
            except ClientError as error:
                metadata = error.response.get("ResponseMetadata", {})
                _answered(call, aws, metadata, metadata.get("HTTPStatusCode") or 500)
                if error.response.get("Error", {}).get("Code") in _THROTTLED:
                    call["throttle"] = True
                raise
            metadata = result.get("ResponseMetadata", {})
            _answered(call, aws, metadata, metadata.get("HTTPStatusCode", 200))
            return result

    _make_api_call.traced = True
    BaseClient._make_api_call = _make_api_call


@contextmanager
def _subsegment(segment: dict, name: str, namespace: str, **fields):
    """A call out of the request, timed and added to `segment`. One that raises keeps its exception
    as the cause; one that raises without an answer recorded in its `http.response` is a fault."""
    call = {"id": new_segment_id(), "name": name, "namespace": namespace, "start_time": time.time(), **fields}
    try:
        yield call
    except Exception as error:
        call["cause"] = _cause(error, remote=True)
        if "response" not in call.get("http", {}):
            call["fault"] = True
        raise
    finally:
        call["end_time"] = time.time()
        segment.setdefault("subsegments", []).append(call)


_THROTTLED = {"ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded"}


def _answered(call: dict, aws: dict, metadata: dict, status: int) -> None:
    call["http"] = {"response": {"status": status}}
    if status >= 400:
        _mark(call, status)
    if metadata.get("RequestId"):
        aws["request_id"] = metadata["RequestId"]
    if metadata.get("RetryAttempts"):
        aws["retries"] = metadata["RetryAttempts"]


def _resources(params: dict) -> dict:
    """The tables a call names: one (`TableName`), or every one of a batch or a transaction."""
    if isinstance(params.get("TableName"), str):
        return {"table_name": params["TableName"]}
    tables = set(params.get("RequestItems") or ())
    for item in params.get("TransactItems") or ():
        tables.update(action["TableName"] for action in item.values() if "TableName" in action)
    return {"table_names": sorted(tables)} if tables else {}


@contextmanager
def remote_call(url: str, method: str = "GET"):
    """Record an outgoing HTTP call of the current request as a remote subsegment (named after the
    host), flagged by its outcome: the caller sets `outcome["status"]` once answered; an exception
    with no answer is a fault."""
    segment = _segment.get()
    outcome: dict = {}
    if segment is None:
        yield outcome
        return
    http = {"request": {"method": method, "url": url}}
    with _subsegment(segment, urlsplit(url).hostname or url, "remote", http=http) as call:
        try:
            yield outcome
        except Exception as error:
            if isinstance(getattr(error, "code", None), int):  # urllib's HTTPError: an answer
                outcome["status"] = error.code
            raise
        finally:
            if "status" in outcome:
                http["response"] = {"status": outcome["status"]}
                _mark(call, outcome["status"])


def lambda_tracer(service: str):
    """The Powertools Tracer of a Lambda function, tracing its HTTP calls (the enricher's only
    calls out are to the catalog API, with requests).

    Powertools switches it on in Lambda with active tracing and off elsewhere (tests) by itself.
    """
    from aws_lambda_powertools import Tracer

    tracer = Tracer(service=service, patch_modules=["requests"])
    if not tracer.disabled:
        from aws_xray_sdk.core import xray_recorder

        xray_recorder.configure(emitter=_emitter())
    return tracer


class Sampler:
    """Decides for a request that arrives without a decision, by `sampling_rules`, as the gateway's
    stage and Lambda do for the requests they start: the first rule whose method and path match
    (`*` and `?` wildcards; an invocation has neither, so only the default rule applies to it);
    its first `fixed_target` requests each second, then `rate` of the rest.

    It does not use the SDK: the SDK decides at its import whether it runs in Lambda, and the
    Lambda stand-in decides before its functions' environment is set up.
    """

    def __init__(self, rate: float = DEFAULT_SAMPLING_RATE, clock=time.time):
        rules = sampling_rules(rate)
        self._clock = clock
        self._rules = [*rules["rules"], rules["default"]]
        self._second = 0
        self._taken: dict[int, int] = {}  # rule index -> requests sampled by it this second
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls) -> Sampler:
        """The sampler at `XRAY_SAMPLING_RATE` (the services' setting), as the stand-ins use it."""
        return cls(float(os.environ.get("XRAY_SAMPLING_RATE") or DEFAULT_SAMPLING_RATE))

    def sampled(self, incoming: TraceHeader | None, method: str | None = None, path: str | None = None) -> bool:
        """The incoming decision if there is one, else the rules' decision for this request."""
        if incoming is not None and incoming.sampled is not None:
            return incoming.sampled
        for index, rule in enumerate(self._rules):
            if "url_path" not in rule:  # the default rule
                return self._take(index, rule)
            if method and path and fnmatchcase(method, rule["http_method"]) and fnmatchcase(path, rule["url_path"]):
                return self._take(index, rule)
        raise AssertionError("sampling rules end with the default rule")

    def _take(self, index: int, rule: dict) -> bool:
        now = int(self._clock())
        with self._lock:
            if now != self._second:
                self._second, self._taken = now, {}
            if self._taken.get(index, 0) < rule["fixed_target"]:
                self._taken[index] = self._taken.get(index, 0) + 1
                return True
        return random.random() < rule["rate"]  # noqa: S311 - sampling, not security


def _emitter(daemon_address: str | None = None):
    """The SDK's UDP emitter, sending through `SegmentSender`: when the daemon cannot be reached
    (no such host, oversized segment) it logs one line per process, not a traceback per segment."""
    from aws_xray_sdk.core.emitters.udp_emitter import UDPEmitter

    class Emitter(UDPEmitter):
        def __init__(self):  # no UDPEmitter.__init__: the sender has the socket
            self.set_daemon_address(daemon_address)

        def set_daemon_address(self, address):
            if address or not hasattr(self, "sender"):
                self.sender = SegmentSender(address)
                self._ip, self._port = self.sender.address

        def send_entity(self, entity):
            self.sender.send_document(entity.serialize())

    return Emitter()


def annotate(name: str, value: str) -> None:
    """Annotate the current request's segment (searchable: `annotation.<name> = "..."`)."""
    segment = _segment.get()
    if segment is not None:
        segment.setdefault("annotations", {})[name] = value


def _log_requests(app) -> None:
    """One JSON line per request: trace id, method, path, status, duration (health checks not)."""
    from flask import g, request

    access = logging.getLogger("mysfits.request")

    @app.before_request
    def _started():
        g.request_started = time.perf_counter()

    @app.after_request
    def _finished(response):
        if request.path != "/health":
            # The trace the request is in: the one the recorder keeps (brought or started), or the
            # one it brought when tracing is off.
            header = g.get("trace") or TraceHeader.parse(request.headers.get(TRACE_HEADER))
            started = g.get("request_started", time.perf_counter())
            line = {
                "traceId": header.root if header else None,
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "durationMs": round((time.perf_counter() - started) * 1000, 1),
            }
            access.info(json.dumps(line, separators=(",", ":")))
        return response


def new_trace_root() -> str:
    """An X-Ray trace id: version 1, epoch seconds in hex, 96 random bits."""
    return f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"


def new_segment_id() -> str:
    return secrets.token_hex(8)


@dataclass(frozen=True)
class TraceHeader:
    """An `X-Amzn-Trace-Id` header: the trace, the calling segment, the sampling decision."""

    root: str
    parent: str | None = None
    sampled: bool | None = None

    @classmethod
    def parse(cls, value: str | None) -> TraceHeader | None:
        """The header's fields, or None when it is missing or malformed (never echoed then)."""
        if not value or len(value) > 256:
            return None
        fields = {}
        for part in value.split(";"):
            key, sep, field = part.strip().partition("=")
            if sep:
                fields[key] = field
        root, parent, sampled = fields.get("Root", ""), fields.get("Parent"), fields.get("Sampled")
        if not _ROOT.fullmatch(root) or (parent is not None and not _ID.fullmatch(parent)):
            return None
        if sampled not in (None, "0", "1", "?"):
            return None
        return cls(root, parent, None if sampled in (None, "?") else sampled == "1")

    def to_header(self) -> str:
        parts = [f"Root={self.root}"]
        if self.parent:
            parts.append(f"Parent={self.parent}")
        if self.sampled is not None:
            parts.append(f"Sampled={int(self.sampled)}")
        return ";".join(parts)


class SegmentSender:
    """Sends finished segments to the X-Ray daemon over UDP, as the SDKs do.

    Sending never blocks and never fails the caller: with no daemon listening the datagram is
    simply lost (and at most one line is logged per process).
    """

    def __init__(self, daemon_address: str | None = None):
        """Sends to `daemon_address`, by default `AWS_XRAY_DAEMON_ADDRESS` (as the SDKs read it)."""
        daemon_address = daemon_address or os.environ.get("AWS_XRAY_DAEMON_ADDRESS") or "127.0.0.1:2000"
        host, _, port = daemon_address.rpartition(":")
        self.address = (host or "127.0.0.1", int(port))
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.setblocking(False)
        self._warned = False

    def send(self, segment: dict) -> None:
        self.send_document(json.dumps(segment, separators=(",", ":")))

    def send_document(self, document: str) -> None:
        try:
            self.socket.sendto(_DAEMON_HEADER + document.encode(), self.address)
        except OSError as error:
            if not self._warned:
                self._warned = True
                log.warning("X-Ray segments cannot be sent to %s:%s: %s", *self.address, error)
