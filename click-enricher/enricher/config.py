"""Settings of the enricher, read from environment variables with the shared readers
(`mysfits_shared.settings.Env`), failing with one message naming every problem."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mysfits_shared.settings import ConfigError, Env

from . import SERVICE_NAME

__all__ = ["Config", "ConfigError"]


@dataclass(frozen=True)
class Config:
    catalog_api_url: str  # base URL without a trailing slash, e.g. https://api.example.com/prod
    timeout_seconds: float = 2.0  # connect and read timeout of one catalog call
    attempts: int = 3  # tries per mysfit before the lookup counts as failed
    cache_seconds: float = 300.0  # how long a warm function reuses an answer (0 = not at all)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        """Read the settings; raise ConfigError naming every missing or bad variable."""
        env = Env(environ)
        url = env.url(
            "CATALOG_API_URL", required=True, hint="base URL of the Mysfits API, e.g. https://api.example.com"
        )
        config = cls(
            catalog_api_url=url or "",
            timeout_seconds=env.number("CATALOG_TIMEOUT_SECONDS", cls.timeout_seconds, float, 0.05, 60),
            attempts=env.number("CATALOG_ATTEMPTS", cls.attempts, int, 1, 10),
            cache_seconds=env.number("CATALOG_CACHE_SECONDS", cls.cache_seconds, float, 0, 86400),
        )
        env.check(SERVICE_NAME)
        return config
