"""X-Ray tracing, set up in this one module.

The X-Ray SDK for Python is in maintenance mode; a later move to OpenTelemetry should only
have to change this file. Services call `init_tracing(app, settings)` once from their
application factory. With `TRACING_ENABLED=false` (unit tests) the SDK is switched off:
no middleware, no patching, nothing sent.
"""

from __future__ import annotations

import logging

from aws_xray_sdk import global_sdk_config
from aws_xray_sdk.core import patch, xray_recorder
from aws_xray_sdk.core.sampling.local.sampler import LocalSampler
from aws_xray_sdk.ext.flask.middleware import XRayMiddleware

from .settings import Settings

log = logging.getLogger(__name__)

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
    """Trace every request of `app` and every AWS/HTTP call it makes, or switch tracing off."""
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
    patch(PATCHED_LIBRARIES)
    XRayMiddleware(app, xray_recorder)
    log.info("X-Ray tracing on, daemon at %s", settings.xray_daemon_address)
