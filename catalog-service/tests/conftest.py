"""Fixtures for the catalog service's unit tests (moto server, Flask test client)."""

from __future__ import annotations

import pytest

from catalog import create_app
from mysfits_shared.models import Mysfit

ALIGNMENTS = [("Good", "Lawful"), ("Evil", "Chaotic"), ("Neutral", "Neutral"), ("Evil", "Lawful")]


def build_mysfit(index: int, **overrides) -> Mysfit:
    good_evil, law_chaos = ALIGNMENTS[index % len(ALIGNMENTS)]
    values = dict(
        name=f"Mysfit {index:04d}",
        species=["Imp", "Wyrm", "Kraken"][index % 3],
        description=f"Number {index}.",
        age=index % 40 + 1,
        good_evil=good_evil,
        law_chaos=law_chaos,
        thumb_image_uri=f"images/m{index}.svg",
        profile_image_uri=f"images/m{index}.svg",
    )
    values.update(overrides)
    return Mysfit(f"id-{index:04d}", **values)


def put_mysfits(count: int, **overrides) -> list[Mysfit]:
    mysfits = [build_mysfit(i, **overrides) for i in range(count)]
    with Mysfit.batch_write() as batch:
        for mysfit in mysfits:
            batch.save(mysfit)
    return mysfits


@pytest.fixture
def app(moto_url, table, make_settings):
    return create_app(
        make_settings(
            moto_url,
            CORS_ALLOWED_ORIGINS="http://127.0.0.1:8080,https://partner.example",
            ASSET_BASE_URL="https://assets.example",
        )
    )


@pytest.fixture
def client(app):
    return app.test_client()
