"""The catalog's settings: the common ones and what only the catalog reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mysfits_shared.settings import Env, Settings


@dataclass(frozen=True)
class CatalogSettings(Settings):
    asset_base_url: str | None = None  # where the images are published: image URIs are made absolute with it
    cache_ttl_seconds: float = 5.0  # how long a listing is answered from memory

    @classmethod
    def read(cls, env: Env) -> dict[str, Any]:
        return {
            **super().read(env),
            "asset_base_url": env.url("ASSET_BASE_URL"),
            "cache_ttl_seconds": env.number("CACHE_TTL_SECONDS", cls.cache_ttl_seconds),
        }
