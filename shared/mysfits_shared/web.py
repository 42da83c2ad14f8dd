"""Wiring every service's Flask app gets: error format, CORS, models, tracing."""

from __future__ import annotations

import logging

from flask import Flask, request

from . import models
from .errors import register_error_handlers
from .settings import Settings
from .tracing import init_tracing

# Headers the site may read from cross-origin responses, and send in them.
_EXPOSED_HEADERS = "ETag, X-Amzn-Trace-Id"
_ALLOWED_HEADERS = "Authorization, Content-Type, If-None-Match, X-Amzn-Trace-Id"
_PREFLIGHT_MAX_AGE = "600"


def init_app(app: Flask, settings: Settings, uses: tuple[type[models.Model], ...] = models.MODELS) -> None:
    """Apply the shared behaviour to a service's app (called from its factory); `uses` are the
    models (tables) it reads or writes."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app.config["SETTINGS"] = settings
    app.json.sort_keys = False
    app.json.compact = True
    models.configure(settings, uses)
    register_error_handlers(app)
    if settings.cors_allowed_origins:
        _install_cors(app, frozenset(settings.cors_allowed_origins))
    init_tracing(app, settings)


def _install_cors(app: Flask, origins: frozenset[str]) -> None:
    """API Gateway's HTTP_PROXY passes responses through, so CORS headers come from here: a
    request's `Origin` is echoed when it is one of `origins` (the site's, and any partner's)."""

    @app.after_request
    def _cors(response):
        origin = request.headers.get("Origin")
        if origin in origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = _EXPOSED_HEADERS
            if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
                # A preflight: Flask answers OPTIONS itself, with the route's methods in Allow.
                response.headers["Access-Control-Allow-Methods"] = response.headers.get("Allow", "")
                response.headers["Access-Control-Allow-Headers"] = _ALLOWED_HEADERS
                response.headers["Access-Control-Max-Age"] = _PREFLIGHT_MAX_AGE
        response.headers.add("Vary", "Origin")  # the answer depends on it, for every cache
        return response
