"""X-Ray tracing, set up in this one module.

The X-Ray SDK for Python is in maintenance mode; a later move to OpenTelemetry should only
have to change this file. Services call `init_tracing(app, settings)` once from their
application factory. With `TRACING_ENABLED=false` (unit tests) the SDK is switched off:
no middleware, no patching, nothing sent.

The Lambda function's Powertools Tracer is made here too (`lambda_tracer`), and the sampling rules
are stated once (`sampling_rules`): the services' recorder, and the stand-ins that decide for the
requests they start (the gateway's stage, Lambda's invocation), all sample by them. A request
that arrives with a decision (`Sampled=1/0` in its trace header) keeps it at every hop.

The trace header and the segment sender below are for the stand-ins that record segments as AWS
does. The SDK is imported only where it is used: the SDK decides at its import whether it runs
in Lambda (LAMBDA_TASK_ROOT), so a process that sets that up later, like the Lambda stand-in,
must not have imported it yet.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import random
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .settings import Settings

log = logging.getLogger(__name__)

TRACE_HEADER = "X-Amzn-Trace-Id"
_ROOT = re.compile(r"1-[0-9a-f]{8}-[0-9a-f]{24}")
_ID = re.compile(r"[0-9a-f]{16}")
_DAEMON_HEADER = b'{"format":"json","version":1}\n'

# The libraries whose calls become subsegments. PynamoDB talks to DynamoDB through
# botocore, so patching botocore traces every table call.
PATCHED_LIBRARIES = ("botocore", "requests")


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
    """Trace every request of `app` and every AWS/HTTP call it makes, or switch tracing off;
    either way, log one JSON line per request that leads to its trace."""
    from aws_xray_sdk import global_sdk_config
    from aws_xray_sdk.core import patch, xray_recorder
    from aws_xray_sdk.core.sampling.local.sampler import LocalSampler
    from aws_xray_sdk.ext.flask.middleware import XRayMiddleware
    from flask import request

    _log_requests(app)
    global_sdk_config.set_sdk_enabled(settings.tracing_enabled)
    if not settings.tracing_enabled:
        log.info("X-Ray tracing is off")
        return
    xray_recorder.configure(
        service=settings.service_name,
        daemon_address=settings.xray_daemon_address,
        emitter=_emitter(settings.xray_daemon_address),
        sampler=LocalSampler(sampling_rules(settings.xray_sampling_rate)),
        # Calls made outside a request (start-up, background work) are not errors.
        context_missing="IGNORE_ERROR",
        plugins=("ECSPlugin",) if settings.on_ecs else (),
    )
    patch(_present(PATCHED_LIBRARIES))
    _record_transport_faults()
    XRayMiddleware(app, xray_recorder)

    @app.before_request
    def _annotate_mysfit():
        mysfit_id = (request.view_args or {}).get("mysfit_id")
        if mysfit_id:
            annotate("mysfitId", mysfit_id)

    log.info("X-Ray tracing on, daemon at %s", settings.xray_daemon_address)


def lambda_tracer(service: str):
    """The Powertools Tracer of a Lambda function, tracing the calls its libraries make.

    Powertools switches it on in Lambda with active tracing and off elsewhere (tests) by itself.
    """
    from aws_lambda_powertools import Tracer

    tracer = Tracer(service=service, patch_modules=_present(PATCHED_LIBRARIES))
    if not tracer.disabled:
        from aws_xray_sdk.core import xray_recorder

        xray_recorder.configure(emitter=_emitter())
        _record_transport_faults()
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


def _present(libraries) -> list[str]:
    # Only the libraries the process has: the images install no library their code does not use
    # (neither service calls requests), and patching a missing one stops start-up.
    return [name for name in libraries if importlib.util.find_spec(name)]


def _record_transport_faults() -> None:
    """Mark an AWS call's subsegment as X-Ray means: a fault when the call got no answer or a
    5xx, an error (not a fault) for a 4xx answer.

    The SDK's botocore subsegments record only answered errors (`ClientError`), and mark every
    one a fault: a table that does not answer looked healthy, and a missing item's 400 looked
    like an outage. Its botocore patch looks its meta processor up by name at each call, so this
    wraps it once. Pinned by shared/tests/test_tracing.py.
    """
    from botocore.exceptions import ClientError

    botocore_patch = importlib.import_module("aws_xray_sdk.ext.botocore.patch")  # the module, not its function
    original = botocore_patch.aws_meta_processor
    if getattr(original, "records_transport_faults", False):
        return

    def aws_meta_processor(wrapped, instance, args, kwargs, return_value, exception, subsegment, stack):
        original(wrapped, instance, args, kwargs, return_value, exception, subsegment, stack)
        if isinstance(exception, ClientError):
            status = exception.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 500
            subsegment.fault = status >= 500
        elif exception is not None:
            subsegment.add_exception(exception, stack, remote=True)

    aws_meta_processor.records_transport_faults = True
    botocore_patch.aws_meta_processor = aws_meta_processor


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
    from aws_xray_sdk import global_sdk_config
    from aws_xray_sdk.core import xray_recorder

    if not global_sdk_config.sdk_enabled():
        return
    segment = xray_recorder.current_segment()
    if segment is not None:
        segment.put_annotation(name, value)


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
            # The trace the request is in: the one it brought, or the one the recorder started.
            header = TraceHeader.parse(response.headers.get(TRACE_HEADER)) or TraceHeader.parse(
                request.headers.get(TRACE_HEADER)
            )
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
