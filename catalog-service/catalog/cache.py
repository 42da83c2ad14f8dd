"""A short-lived in-process cache of rendered list responses, with their ETags."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass


@dataclass(frozen=True)
class CachedBody:
    body: bytes
    etag: str
    expires_at: float


class ResponseCache:
    """Maps a normalised request to its rendered body for `ttl` seconds.

    Each gunicorn worker has its own cache; `ttl` bounds how stale a listing can be.
    A ttl of 0 disables caching (every request renders afresh, ETags still work).
    """

    def __init__(self, ttl: float, max_entries: int = 512, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[Hashable, CachedBody] = {}
        self._lock = threading.Lock()

    def get_or_render(self, key: Hashable, render: Callable[[], bytes]) -> CachedBody:
        now = self._clock()
        entry = self._entries.get(key)
        if entry is not None and entry.expires_at > now:
            return entry
        body = render()
        entry = CachedBody(body, etag_for(body), now + self.ttl)
        if self.ttl > 0:
            with self._lock:
                if len(self._entries) >= self.max_entries:
                    self._evict(now)
                self._entries[key] = entry
        return entry

    def _evict(self, now: float) -> None:
        """Drop expired entries; if none expired, drop the oldest one."""
        expired = [key for key, entry in self._entries.items() if entry.expires_at <= now]
        for key in expired or [next(iter(self._entries))]:
            self._entries.pop(key, None)


def etag_for(body: bytes) -> str:
    """The entity tag of a body (unquoted; the response quotes it)."""
    return hashlib.blake2b(body, digest_size=12).hexdigest()
