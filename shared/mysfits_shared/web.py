"""Wiring every service's Flask app gets: error format, CORS, models, tracing."""

from __future__ import annotations

import logging

from flask import Flask

from . import models
from .errors import register_error_handlers
from .settings import Settings
from .tracing import init_tracing

# Headers the site may read from cross-origin responses.
_EXPOSED_HEADERS = "ETag, X-Amzn-Trace-Id"


def init_app(app: Flask, settings: Settings) -> None:
    """Apply the shared behaviour to a service's app (called from its factory)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app.config["SETTINGS"] = settings
    app.json.sort_keys = False
    app.json.compact = True
    models.configure(settings)
    register_error_handlers(app)
    if settings.cors_allowed_origin:
        _install_cors(app, settings.cors_allowed_origin)
    init_tracing(app, settings)


def _install_cors(app: Flask, origin: str) -> None:
    """API Gateway's HTTP_PROXY passes responses through, so CORS headers come from here."""

    @app.after_request
    def _cors(response):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = _EXPOSED_HEADERS
        response.headers.add("Vary", "Origin")
        return response
