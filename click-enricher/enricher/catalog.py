"""Looking mysfits up in the catalog API: bounded retries, a warm TTL cache, concurrent misses.

`CatalogClient` makes the HTTP calls (`GET {base}/mysfits/{id}`) over one keep-alive session
and counts them in `.calls`. `Catalog` puts a time-limited cache in front of it and looks up a
batch's distinct ids at once, so a batch asks about each mysfit at most once and a warm
function not at all while the answer is fresh. Found mysfits and 404s are cached; failures
never are, so an outage does not outlive itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter

from .config import Config

# The catalog facts a click is enriched with: fields of the public API's mysfit. The zip has no
# marshmallow to read `mysfits_shared.schemas.MysfitSchema` with; a test checks them against it.
FIELDS = ("name", "species", "goodevil", "lawchaos")
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF_SECONDS = 0.05  # before the 2nd attempt; doubles for each further attempt
MAX_WORKERS = 8  # concurrent lookups per batch (and pooled connections)
MAX_CACHE_ENTRIES = 10_000  # bounds memory if clicks name many unknown ids


class CatalogUnavailable(Exception):
    """The catalog gave no usable answer: unreachable, timing out, 5xx/429, or an unexpected reply.

    `exhausted` is true when every attempt failed with a retryable problem (the catalog is down).
    """

    def __init__(self, message: str, *, exhausted: bool = False) -> None:
        super().__init__(message)
        self.exhausted = exhausted


NOT_FOUND = None  # a lookup's answer for a mysfit the catalog says does not exist (404)


class CatalogClient:
    """HTTP client of the catalog API with bounded retries; `calls` counts every HTTP request made."""

    def __init__(
        self, base_url: str, timeout: float = 2.0, attempts: int = 3, backoff: float = BACKOFF_SECONDS
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self.calls = 0
        self._lock = threading.Lock()
        self._session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=MAX_WORKERS, max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers["Accept"] = "application/json"

    @classmethod
    def from_config(cls, config: Config) -> CatalogClient:
        return cls(config.catalog_api_url, config.timeout_seconds, config.attempts)

    def get_mysfit(self, mysfit_id: str) -> dict | None:
        """The mysfit's catalog facts, NOT_FOUND for a 404, or CatalogUnavailable after the retries."""
        url = f"{self.base_url}/mysfits/{quote(mysfit_id, safe='')}"
        problem = "no attempt made"
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            with self._lock:
                self.calls += 1
            try:
                response = self._session.get(url, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as error:
                problem = f"{type(error).__name__}: {error}"
                continue
            if response.status_code == 404:
                # API Gateway marks the errors it makes itself: a 404 with x-amzn-ErrorType is
                # "no such route" (a wrong CATALOG_API_URL), not "no such mysfit". Dropping on it
                # would throw every click away, so it fails the records instead (they are kept).
                if "x-amzn-ErrorType" in response.headers:
                    raise CatalogUnavailable(f"GET {url}: the API has no such route; check CATALOG_API_URL")
                return NOT_FOUND
            if response.status_code in RETRYABLE_STATUSES:
                problem = f"HTTP {response.status_code}"
                continue
            if response.status_code != 200:
                raise CatalogUnavailable(f"GET {url}: unexpected HTTP {response.status_code}")
            return _facts(response, url)
        raise CatalogUnavailable(f"GET {url}: {problem} after {self.attempts} attempt(s)", exhausted=True)

    def close(self) -> None:
        self._session.close()


def _facts(response: requests.Response, url: str) -> dict:
    try:
        body = response.json()
        facts = {name: body[name] for name in FIELDS}
    except (ValueError, TypeError, KeyError) as error:
        raise CatalogUnavailable(f"GET {url}: not a mysfit: {error!r}") from error
    return facts


class Catalog:
    """The client behind a TTL cache of answers; `lookup` resolves a batch's distinct ids."""

    def __init__(self, client: CatalogClient, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, dict | None]] = {}  # id -> (expires at, facts or NOT_FOUND)

    def lookup(self, mysfit_ids: Iterable[str]) -> dict[str, dict | CatalogUnavailable | None]:
        """Each id's facts, NOT_FOUND, or the CatalogUnavailable that stopped its lookup.

        Cache misses are fetched concurrently. Once one lookup has exhausted its attempts the
        catalog is taken to be down for this batch: lookups not yet started fail at once
        (without an HTTP call), so a batch of many distinct ids cannot run past the timeout.
        """
        now = self._clock()
        answers: dict[str, dict | CatalogUnavailable | None] = {}
        misses = []
        for mysfit_id in set(mysfit_ids):
            entry = self._cache.get(mysfit_id)
            if entry is not None and entry[0] > now:
                answers[mysfit_id] = entry[1]
            else:
                misses.append(mysfit_id)
        if not misses:
            return answers

        gave_up: list[CatalogUnavailable] = []

        def fetch(mysfit_id: str) -> dict | CatalogUnavailable | None:
            if gave_up:
                return CatalogUnavailable(f"not asked, the catalog is down: {gave_up[0]}", exhausted=True)
            try:
                return self.client.get_mysfit(mysfit_id)
            except CatalogUnavailable as error:
                if error.exhausted:
                    gave_up.append(error)
                return error

        if len(misses) == 1:
            fetched = [fetch(misses[0])]
        else:
            with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(misses))) as pool:
                fetched = list(pool.map(fetch, misses))
        self._remember(misses, fetched)
        answers.update(zip(misses, fetched, strict=True))
        return answers

    def _remember(self, mysfit_ids: list[str], answers: list) -> None:
        if self.ttl_seconds <= 0:
            return
        now = self._clock()
        if len(self._cache) + len(mysfit_ids) > MAX_CACHE_ENTRIES:
            self._cache = {key: entry for key, entry in self._cache.items() if entry[0] > now}
            if len(self._cache) + len(mysfit_ids) > MAX_CACHE_ENTRIES:
                self._cache.clear()
        expires = now + self.ttl_seconds
        for mysfit_id, answer in zip(mysfit_ids, answers, strict=True):
            if not isinstance(answer, CatalogUnavailable):  # failures are never cached
                self._cache[mysfit_id] = (expires, answer)

    def close(self) -> None:
        self._cache.clear()
        self.client.close()
