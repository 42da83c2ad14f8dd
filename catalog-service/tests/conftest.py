"""Fixtures for the catalog service's unit tests (moto server, Flask test client)."""

from __future__ import annotations

import pytest

from catalog import create_app
from catalog.settings import CatalogSettings


@pytest.fixture
def app(moto_url, table, make_settings):
    return create_app(
        make_settings(
            moto_url,
            CatalogSettings,
            CORS_ALLOWED_ORIGINS="http://127.0.0.1:8080,https://partner.example",
            ASSET_BASE_URL="https://assets.example",
        )
    )


@pytest.fixture
def client(app):
    return app.test_client()
