"""The click enricher asking the real catalog service over HTTP (its unit tests use a fake catalog).

The catalog is the catalog service's Flask app on the session's moto server, seeded with the
bundled mysfits and served on a free 127.0.0.1 port; the enricher runs in this process.
"""

from __future__ import annotations

import json

import pytest
import requests

from catalog import create_app
from catalog.seed import bundled_records, seed
from catalog.settings import CatalogSettings
from enricher import handler
from enricher.catalog import FIELDS
from mysfits_testkit.catalog import CatalogServer, catalog_facts
from mysfits_testkit.invocation import decoded, firehose_event, lambda_context, stored_event


@pytest.fixture
def catalog(moto_url, table, make_settings, monkeypatch):
    """The real catalog over HTTP, its table seeded with the bundled mysfits; the enricher asks it."""
    records = bundled_records()
    seed(records)
    app = create_app(make_settings(moto_url, CatalogSettings))
    # The app's first table read initialises its clients (most of a second); done here, uncounted,
    # so that no lookup of the enricher's times out on it.
    assert app.test_client().get(f"/mysfits/{records[0]['MysfitId']}").status_code == 200
    server = CatalogServer(app).start()
    for name in ("CATALOG_TIMEOUT_SECONDS", "CATALOG_ATTEMPTS", "CATALOG_CACHE_SECONDS"):
        monkeypatch.delenv(name, raising=False)  # the defaults
    monkeypatch.setenv("CATALOG_API_URL", server.url)
    handler.reset()
    yield server
    handler.reset()  # closes the keep-alive session before the server stops
    server.stop()


def test_enriched_clicks_carry_what_the_catalog_answers_about_each_mysfit(catalog):
    event = stored_event("mixed-batch")
    response = handler.handler(event, lambda_context())
    oks = [json.loads(decoded(record)) for record in response["records"] if record["result"] == "Ok"]
    assert [line["mysfitId"] for line in oks] == [
        "60a8e9a0-b58a-4af1-9d44-ca1769e39180",  # Bramblewick
        "dea12030-dec3-4bf2-b909-96c7ebb43bf3",  # Captain Drizzle
        "60a8e9a0-b58a-4af1-9d44-ca1769e39180",  # Bramblewick again
    ]
    # Bramblewick, Captain Drizzle and the unknown mysfit (which the catalog answers 404), once each
    assert handler.catalog_calls() == catalog.switch.requests == 3
    seeded = {record["MysfitId"]: record for record in bundled_records()}
    for line in oks:
        answer = requests.get(f"{catalog.url}/mysfits/{line['mysfitId']}", timeout=10).json()
        assert {name: line[name] for name in FIELDS} == {name: answer[name] for name in FIELDS}
        assert {name: line[name] for name in FIELDS} == catalog_facts(seeded[line["mysfitId"]])


def test_a_batch_over_the_whole_catalog_asks_it_once_per_mysfit(catalog):
    ids = [record["MysfitId"] for record in bundled_records()]
    event = firehose_event({"mysfitId": ids[n % len(ids)], "userId": f"user-{n}"} for n in range(500))
    for _ in range(2):  # cold, then warm
        response = handler.handler(event, lambda_context())
        assert [record["result"] for record in response["records"]] == ["Ok"] * 500
    assert handler.catalog_calls() == catalog.switch.requests == len(ids) == 12
