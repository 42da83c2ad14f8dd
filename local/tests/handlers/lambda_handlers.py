"""Handlers the Lambda stand-in's tests invoke (imported by the stand-in, not by pytest)."""

from __future__ import annotations

import os
import time

from aws_lambda_powertools import Logger, Tracer

SEEN_VARIABLES = ("AWS_LAMBDA_FUNCTION_NAME", "AWS_REGION", "_HANDLER", "_X_AMZN_TRACE_ID")
INVOCATIONS = 0  # module state: kept across warm invocations

logger = Logger(service="runtime-test")
tracer = Tracer(service="runtime-test")


def echo(event, context):
    """The event back, with what the handler saw of its context and environment."""
    return {
        "event": event,
        "context": {
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining_ms": context.get_remaining_time_in_millis(),
        },
        "env": {
            name: os.environ.get(name)
            for name in ("AWS_LAMBDA_FUNCTION_NAME", "AWS_REGION", "_HANDLER", "_X_AMZN_TRACE_ID")
        },
    }


def count(event, context):
    global INVOCATIONS
    INVOCATIONS += 1
    return {"invocations": INVOCATIONS}


def boom(event, context):
    raise ValueError(f"boom: {event.get('why', 'no reason')}")


def sleepy(event, context):
    time.sleep(event.get("seconds", 2))
    return {"slept": True}


def unserializable(event, context):
    return {"when": object()}


def oversized(event, context):
    return {"blob": "x" * 6_300_000}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def powertools(event, context):
    logger.info("handled", extra={"answer": 42})
    return {"tracer_disabled": tracer.disabled}
