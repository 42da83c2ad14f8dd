"""The one JSON error format, `{"error": {"code": ..., "message": ...}}`, and Flask handlers.

Nothing a client can cause reaches it as a stack trace: unexpected exceptions are logged
and answered with a generic 500; an unreachable table or AWS endpoint answers 503.
"""

from __future__ import annotations

import logging

from botocore.exceptions import BotoCoreError
from flask import Flask, jsonify
from marshmallow import ValidationError
from pynamodb.exceptions import PynamoDBConnectionError, TableDoesNotExist
from werkzeug.exceptions import HTTPException

from . import ids
from .tracing import record_exception

log = logging.getLogger(__name__)

# Status code -> error code for HTTP errors raised by Flask/werkzeug itself (and by the gateway stand-in).
ERROR_CODES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "PayloadTooLarge",
    414: "UriTooLong",
    415: "UnsupportedMediaType",
    429: "TooManyRequests",
    431: "HeadersTooLarge",
    503: "ServiceUnavailable",
}


class ApiError(Exception):
    """An error the client should see, with its status, stable code and message."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    error = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"error": error}


def error_response(status: int, code: str, message: str, details: dict | None = None):
    return jsonify(error_body(code, message, details)), status


def _validation_message(messages) -> str:
    """Flatten marshmallow's {field: [messages]} into one readable sentence."""
    if isinstance(messages, dict):
        parts = []
        for field, problems in messages.items():
            text = " ".join(problems) if isinstance(problems, list) else str(problems)
            parts.append(text if field == "_schema" else f"{field}: {text}")
        return " ".join(parts)
    return " ".join(messages) if isinstance(messages, list) else str(messages)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(error: ApiError):
        return error_response(error.status, error.code, error.message, error.details)

    @app.errorhandler(ValidationError)
    def _validation_error(error: ValidationError):
        return error_response(400, "BadRequest", _validation_message(error.messages), error.messages)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        code = ERROR_CODES.get(error.code, "Error")
        response, status = error_response(error.code, code, error.description)
        if error.code == 405 and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response, status

    @app.errorhandler(PynamoDBConnectionError)
    @app.errorhandler(TableDoesNotExist)
    @app.errorhandler(BotoCoreError)
    def _dependency_down(error: Exception):
        log.error("dependency unavailable: %s (cause: %r)", error, getattr(error, "cause", None))
        return error_response(
            503, "ServiceUnavailable", "The mysfits data store cannot be reached; please try again shortly."
        )

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unhandled error")
        record_exception(error)
        return error_response(500, "InternalError", "Something went wrong on our side.")


def checked_mysfit_id(mysfit_id: str) -> str:
    """The id from a route, or the error for it: 400 when over-long (as the definitions say);
    404 when it has characters no mysfit id has (no such mysfit, without reading the table)."""
    if len(mysfit_id) > ids.MAX_LENGTH:
        raise ApiError(400, "BadRequest", f"mysfitId must be at most {ids.MAX_LENGTH} characters.")
    if not ids.is_mysfit_id(mysfit_id):
        raise ApiError(404, "NotFound", f"No mysfit with id {mysfit_id!r:.80}.")
    return mysfit_id
