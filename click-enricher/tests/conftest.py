"""Fixtures of the enricher's unit tests, which start no other unit.

`enricher` is the handler asking a fake catalog client (no HTTP); `http_enricher` is the handler
with its real HTTP client, asking `catalog_api`: a fake catalog served over HTTP on a free port,
behind a switch that counts requests and can be told to fail or stall. The enricher against the
real catalog service is in tests/integration/test_enricher_with_catalog.py.
"""

from __future__ import annotations

import pytest

from catalog.seed import bundled_records
from enricher import handler as enricher_handler
from enricher.catalog import CatalogClient
from mysfits_testkit.catalog import CatalogServer, FakeCatalogClient, catalog_facts, fake_catalog_app
from mysfits_testkit.invocation import lambda_context

SETTINGS = ("CATALOG_API_URL", "CATALOG_TIMEOUT_SECONDS", "CATALOG_ATTEMPTS", "CATALOG_CACHE_SECONDS")


@pytest.fixture
def seed_mysfits() -> dict[str, dict]:
    """The bundled catalog (catalog-service/catalog/data/mysfits.json) by MysfitId."""
    return {record["MysfitId"]: record for record in bundled_records()}


@pytest.fixture
def catalog_mysfits(seed_mysfits) -> dict[str, dict]:
    """What the catalog says about each bundled mysfit (the fields the enricher reads), by id."""
    return {mysfit_id: catalog_facts(record) for mysfit_id, record in seed_mysfits.items()}


@pytest.fixture
def catalog_api(catalog_mysfits):
    """A fake catalog over HTTP, answering about the bundled mysfits."""
    server = CatalogServer(fake_catalog_app(catalog_mysfits)).start()
    yield server
    if server.running:
        server.stop()


class Enricher:
    """The handler module, configured through environment variables like in Lambda."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._monkeypatch = monkeypatch
        self.context = lambda_context()

    def configure(self, **env: str) -> None:
        """Set CATALOG_* variables and start cold (as a new Lambda environment would)."""
        for name, value in env.items():
            self._monkeypatch.setenv(name, value)
        enricher_handler.reset()

    def invoke(self, event: dict) -> dict:
        return enricher_handler.handler(event, self.context)

    @property
    def calls(self) -> int:
        """Catalog requests made since the last cold start (every attempt counts)."""
        return enricher_handler.catalog_calls()


def _cold_enricher(monkeypatch: pytest.MonkeyPatch, catalog_api_url: str):
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    function = Enricher(monkeypatch)
    function.configure(CATALOG_API_URL=catalog_api_url)
    yield function
    enricher_handler.reset()  # closes the keep-alive session before the server stops


@pytest.fixture
def enricher(monkeypatch, catalog_mysfits):
    """The handler, cold, with the default settings; its catalog client is a fake (no HTTP)."""
    monkeypatch.setattr(CatalogClient, "from_config", lambda config: FakeCatalogClient(catalog_mysfits))
    yield from _cold_enricher(monkeypatch, "http://catalog.invalid")


@pytest.fixture
def http_enricher(monkeypatch, catalog_api):
    """The handler, cold, with the default settings and its real HTTP client, asking `catalog_api`."""
    yield from _cold_enricher(monkeypatch, catalog_api.url)
