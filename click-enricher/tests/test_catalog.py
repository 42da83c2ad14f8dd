"""The warm cache in front of the catalog client, with a fake client (answering from KNOWN) and a fake clock."""

from __future__ import annotations

import pytest

from enricher import catalog as catalog_module
from enricher.catalog import NOT_FOUND, Catalog, CatalogUnavailable
from mysfits_testkit.catalog import FakeCatalogClient

KNOWN = {"m1": {"name": "One", "species": "Imp", "goodevil": "Good", "lawchaos": "Lawful"}}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


def test_found_and_unknown_mysfits_are_cached_until_the_ttl_passes(clock):
    client = FakeCatalogClient(KNOWN)
    catalog = Catalog(client, ttl_seconds=300, clock=clock)
    assert catalog.lookup(["m1", "nope", "m1"]) == {"m1": KNOWN["m1"], "nope": NOT_FOUND}
    clock.now += 299
    assert catalog.lookup(["m1", "nope"]) == {"m1": KNOWN["m1"], "nope": NOT_FOUND}
    assert client.calls == 2
    clock.now += 1
    catalog.lookup(["m1", "nope"])
    assert client.calls == 4


def test_failures_are_not_cached(clock):
    client = FakeCatalogClient(KNOWN)
    catalog = Catalog(client, ttl_seconds=300, clock=clock)
    client.down = True
    assert isinstance(catalog.lookup(["m1"])["m1"], CatalogUnavailable)
    client.down = False
    assert catalog.lookup(["m1"]) == {"m1": KNOWN["m1"]}
    assert client.calls == 2


def test_ttl_zero_caches_nothing(clock):
    client = FakeCatalogClient(KNOWN)
    catalog = Catalog(client, ttl_seconds=0, clock=clock)
    catalog.lookup(["m1", "nope"])
    catalog.lookup(["m1", "nope"])
    assert client.calls == 4


def test_the_cache_stays_bounded(clock, monkeypatch):
    monkeypatch.setattr(catalog_module, "MAX_CACHE_ENTRIES", 10)
    catalog = Catalog(FakeCatalogClient(KNOWN), ttl_seconds=300, clock=clock)
    for batch in range(5):
        catalog.lookup([f"id-{batch}-{i}" for i in range(4)])
        assert len(catalog._cache) <= 10


def test_close_forgets_and_closes_the_client(clock):
    client = FakeCatalogClient(KNOWN)
    catalog = Catalog(client, ttl_seconds=300, clock=clock)
    catalog.lookup(["m1"])
    catalog.close()
    assert client.closed
    catalog.lookup(["m1"])
    assert client.calls == 2
