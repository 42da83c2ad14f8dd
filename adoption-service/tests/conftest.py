"""Fixtures for the adoption service's unit tests: moto server, real Cognito tokens, test client."""

from __future__ import annotations

import pytest

from adoption import create_app
from adoption.settings import AdoptionSettings
from mysfits_testkit.mysfits import build_mysfit


@pytest.fixture
def adoption_settings(make_settings, moto_url, pool):
    """The adoption service's settings on moto and the session's pool; overrides by variable name."""

    def settings(**overrides: str):
        env = {
            "MYSFITS_LIKES_TABLE_NAME": "MysfitLikesTable",
            "COGNITO_USER_POOL_ID": pool.id,
            "COGNITO_USER_POOL_CLIENT_ID": pool.client_id,
            "COGNITO_JWKS_URL": pool.jwks_url,
        }
        return make_settings(moto_url, AdoptionSettings, **(env | overrides))

    return settings


@pytest.fixture
def app(table, adoption_settings):
    return create_app(adoption_settings())


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def mysfits(table):
    """Three mysfits in the table; their ids."""
    ids = [f"m-{index}" for index in range(3)]
    for index, mysfit_id in enumerate(ids):
        build_mysfit(index, mysfit_id).save()
    return ids


@pytest.fixture
def visitor(pool):
    return pool.sign_in()


@pytest.fixture
def other_visitor(pool):
    return pool.sign_in()
