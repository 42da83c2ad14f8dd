"""X-Ray tracing, set up in this one module.

The X-Ray SDK for Python is in maintenance mode; a later move to OpenTelemetry should only
have to change this file. Services call `init_tracing(app, settings)` once from their
application factory. With `TRACING_ENABLED=false` (unit tests) the SDK is switched off:
no middleware, no patching, nothing sent.

The trace header and the segment sender below are for the stand-ins that record segments as AWS
does (the gateway's stage, Lambda's invocation). The SDK is imported only where it is used: the
SDK decides at its import whether it runs in Lambda (LAMBDA_TASK_ROOT), so a process that sets
that up later, like the Lambda stand-in, must not have imported it yet.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import secrets
import socket
import time
from dataclasses import dataclass

from .settings import Settings

log = logging.getLogger(__name__)

TRACE_HEADER = "X-Amzn-Trace-Id"
_ROOT = re.compile(r"1-[0-9a-f]{8}-[0-9a-f]{24}")
_ID = re.compile(r"[0-9a-f]{16}")
_DAEMON_HEADER = b'{"format":"json","version":1}\n'

# The libraries whose calls become subsegments. PynamoDB talks to DynamoDB through
# botocore, so patching botocore traces every table call.
PATCHED_LIBRARIES = ("botocore", "requests")


def sampling_rules(rate: float) -> dict:
    """Local sampling rules: the first request each second, then `rate` of the rest."""
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
        sampler=LocalSampler(sampling_rules(settings.xray_sampling_rate)),
        # Calls made outside a request (start-up, background work) are not errors.
        context_missing="IGNORE_ERROR",
        plugins=("ECSPlugin",) if settings.on_ecs else (),
    )
    # Only the libraries the service has: the images install no library their code does not use
    # (neither service calls requests), and patching a missing one stops start-up.
    patch([name for name in PATCHED_LIBRARIES if importlib.util.find_spec(name)])
    XRayMiddleware(app, xray_recorder)

    @app.before_request
    def _annotate_mysfit():
        mysfit_id = (request.view_args or {}).get("mysfit_id")
        if mysfit_id:
            annotate("mysfitId", mysfit_id)

    log.info("X-Ray tracing on, daemon at %s", settings.xray_daemon_address)


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
            header = TraceHeader.parse(request.headers.get(TRACE_HEADER))
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

    def __init__(self, daemon_address: str):
        host, _, port = daemon_address.rpartition(":")
        self.address = (host or "127.0.0.1", int(port))
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.setblocking(False)
        self._warned = False

    def send(self, segment: dict) -> None:
        try:
            self.socket.sendto(_DAEMON_HEADER + json.dumps(segment, separators=(",", ":")).encode(), self.address)
        except OSError as error:
            if not self._warned:
                self._warned = True
                log.warning("X-Ray segments cannot be sent to %s:%s: %s", *self.address, error)
