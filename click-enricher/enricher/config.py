"""Settings of the enricher, read from environment variables, failing with one clear message."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit


class ConfigError(RuntimeError):
    """A required setting is missing or a setting has an invalid value."""


@dataclass(frozen=True)
class Config:
    catalog_api_url: str  # base URL without a trailing slash, e.g. https://api.example.com/prod
    timeout_seconds: float = 2.0  # connect and read timeout of one catalog call
    attempts: int = 3  # tries per mysfit before the lookup counts as failed
    cache_seconds: float = 300.0  # how long a warm function reuses an answer (0 = not at all)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        """Read the settings; raise ConfigError naming every missing or bad variable."""
        env = os.environ if environ is None else environ
        problems: list[str] = []

        def number(name: str, default, kind, minimum, maximum):
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                value = kind(raw)
            except ValueError:
                problems.append(f"{name} must be a {kind.__name__}, got {raw!r}")
                return default
            if not minimum <= value <= maximum:
                problems.append(f"{name} must be between {minimum} and {maximum}, got {raw!r}")
            return value

        url = env.get("CATALOG_API_URL", "").strip().rstrip("/")
        parts = urlsplit(url)
        if not url:
            problems.append("CATALOG_API_URL is required (base URL of the Mysfits API, e.g. https://api.example.com)")
        elif parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            problems.append(f"CATALOG_API_URL must be an http(s) base URL without query or fragment, got {url!r}")
        config = cls(
            catalog_api_url=url,
            timeout_seconds=number("CATALOG_TIMEOUT_SECONDS", cls.timeout_seconds, float, 0.05, 60),
            attempts=number("CATALOG_ATTEMPTS", cls.attempts, int, 1, 10),
            cache_seconds=number("CATALOG_CACHE_SECONDS", cls.cache_seconds, float, 0, 86400),
        )
        if problems:
            raise ConfigError("click-enricher: invalid configuration: " + "; ".join(problems))
        return config
