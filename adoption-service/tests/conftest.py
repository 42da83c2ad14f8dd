"""Fixtures for the adoption service's unit tests: moto server, real Cognito tokens, test client."""

from __future__ import annotations

import pytest

from adoption import create_app
from mysfits_shared.models import Mysfit


def adoption_settings(make_settings, moto_url, pool, **overrides):
    env = {
        "MYSFITS_LIKES_TABLE_NAME": "MysfitLikesTable",
        "COGNITO_USER_POOL_ID": pool.id,
        "COGNITO_USER_POOL_CLIENT_ID": pool.client_id,
        "COGNITO_JWKS_URL": pool.jwks_url,
    }
    return make_settings(moto_url, writer=True, **(env | overrides))


@pytest.fixture
def app(moto_url, table, pool, make_settings):
    return create_app(adoption_settings(make_settings, moto_url, pool))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def mysfits(table):
    """Three mysfits in the table; their ids."""
    ids = []
    for index in range(3):
        Mysfit(
            f"m-{index}",
            name=f"Mysfit {index}",
            species="Imp",
            description="Small.",
            age=2,
            good_evil="Good",
            law_chaos="Neutral",
            thumb_image_uri="images/x.svg",
            profile_image_uri="images/x.svg",
        ).save()
        ids.append(f"m-{index}")
    return ids


@pytest.fixture
def visitor(pool):
    return pool.sign_in()


@pytest.fixture
def other_visitor(pool):
    return pool.sign_in()


def auth(visitor: dict) -> dict:
    return {"Authorization": visitor["id"]}
