"""Lambda entry point `enricher.handler.handler`: Firehose data transformation of profile clicks.

Nothing is read from the environment at import: the first invocation builds the logger and
tracer (Powertools) and the catalog client with its warm cache, and keeps them at module level,
so a warm function reuses the keep-alive connection and recent answers. Tests and benchmarks use
`catalog_calls()` (HTTP calls made since the last reset) and `reset()` (forget all of it: the
next invocation reads the environment again, as a cold start does).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import KinesisFirehoseEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from mysfits_shared.tracing import lambda_tracer

from . import SERVICE_NAME
from .catalog import Catalog, CatalogClient
from .config import Config
from .transform import transform

_catalog: Catalog | None = None
_instrumented: Callable[[dict, LambdaContext], dict] | None = None


def catalog() -> Catalog:
    """The warm catalog (HTTP client and TTL cache), built from the environment on first use."""
    global _catalog
    if _catalog is None:
        config = Config.from_env()  # ConfigError fails the invocation with a clear message
        _catalog = Catalog(CatalogClient.from_config(config), config.cache_seconds)
    return _catalog


def catalog_calls() -> int:
    """Catalog HTTP requests made (every attempt counts) since the last `reset()`."""
    return _catalog.client.calls if _catalog is not None else 0


def reset() -> None:
    """Forget the warm cache, close the keep-alive session and re-read the environment next time."""
    global _catalog, _instrumented
    if _catalog is not None:
        _catalog.close()
    _catalog = _instrumented = None


def handler(event: dict, context: LambdaContext) -> dict:
    """Answer one result per record: Ok (enriched line), Dropped (unknown mysfit) or ProcessingFailed."""
    global _instrumented
    if _instrumented is None:
        _instrumented = _instrument(os.environ.get("POWERTOOLS_SERVICE_NAME") or SERVICE_NAME)
    return _instrumented(event, context)


def _instrument(service: str) -> Callable[[dict, LambdaContext], dict]:
    """The batch transformation with the invocation's log context and trace around it. Outside
    Lambda (tests, benchmarks) Powertools switches the Tracer off by itself; in Lambda it traces
    the invocation and each catalog call made through `requests`."""
    logger = Logger(service=service)
    tracer = lambda_tracer(service)

    @logger.inject_lambda_context
    # The response holds every record; it must not become trace metadata.
    @tracer.capture_lambda_handler(capture_response=False)
    @event_source(data_class=KinesisFirehoseEvent)
    def instrumented(event: KinesisFirehoseEvent, context: LambdaContext) -> dict:
        started = time.perf_counter()
        current = catalog()
        calls_before = current.client.calls
        response, counts = transform(event, current)
        calls = current.client.calls - calls_before
        tracer.put_annotation("failed", counts.failed)
        logger.log(
            logging.WARNING if counts.failed else logging.INFO,
            "batch transformed",
            extra={
                "invocation_id": event.get("invocationId"),
                "records": counts.records,
                "ok": counts.ok,
                "dropped": counts.dropped,
                "failed": counts.failed,
                "invalid": counts.invalid,
                "distinct_mysfits": counts.distinct_mysfits,
                "catalog_calls": calls,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                **({"problems": counts.problems} if counts.problems else {}),
            },
        )
        return response

    return instrumented
