"""The adoption service: the write side of Mythical Mysfits (like, unlike, adopt), for signed-in visitors."""

from __future__ import annotations

from flask import Flask

from mysfits_shared.auth import TokenVerifier, issuer_for
from mysfits_shared.models import Mysfit, MysfitLike
from mysfits_shared.web import init_app

from .settings import AdoptionSettings

SERVICE_NAME = "mysfits-adoption"


def create_app(settings: AdoptionSettings | None = None) -> Flask:
    """Application factory: settings from the environment unless given."""
    settings = settings or AdoptionSettings.from_env(SERVICE_NAME)
    app = Flask(__name__)
    init_app(app, settings, uses=(Mysfit, MysfitLike))
    app.extensions["token_verifier"] = TokenVerifier(
        issuer=issuer_for(settings.region, settings.user_pool_id),
        audience=settings.user_pool_client_id,
        jwks_url=settings.jwks_url,
    )

    from .routes import bp

    app.register_blueprint(bp)
    return app
