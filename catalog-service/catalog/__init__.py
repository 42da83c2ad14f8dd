"""The catalog service: the read side of Mythical Mysfits (list, filter, get one)."""

from __future__ import annotations

from flask import Flask

from mysfits_shared.models import Mysfit
from mysfits_shared.web import init_app

from .cache import ResponseCache
from .settings import CatalogSettings

SERVICE_NAME = "mysfits-catalog"


def create_app(settings: CatalogSettings | None = None) -> Flask:
    """Application factory: settings from the environment unless given."""
    settings = settings or CatalogSettings.from_env(SERVICE_NAME)
    app = Flask(__name__)
    init_app(app, settings, uses=(Mysfit,))  # the likes table is the adoption service's
    app.extensions["catalog_cache"] = ResponseCache(settings.cache_ttl_seconds)

    from .routes import bp

    app.register_blueprint(bp)
    return app
