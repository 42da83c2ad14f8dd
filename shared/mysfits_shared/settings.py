"""Settings read from environment variables, failing fast with one message naming every problem.

`Env` holds the readers (required, number, flag, URL, origins) every unit's settings are built
with: the services' common `Settings` here and each service's own class on it, the click
enricher's `Config`. Settings are read when a unit
starts (its application factory, its first invocation), never at import.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from .tracing import DEFAULT_SAMPLING_RATE


class ConfigError(RuntimeError):
    """A required setting is missing or has an invalid value."""


_ORIGIN = re.compile(r"https?://[^/\s,]+")
_URL = re.compile(r"https?://[^/\s?#]+(/[^\s?#]*)?")  # a host, then a path at most
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class Env:
    """The readers every unit's settings are built with: each reads one variable, records what is
    wrong with it and carries on, so that `check` names every problem in one error."""

    def __init__(self, environ: Mapping[str, str] | None = None):
        self.environ = os.environ if environ is None else environ
        self.problems: list[str] = []

    def get(self, *names: str) -> str | None:
        """The first of `names` that is set to more than blanks, stripped; else None."""
        for name in names:
            value = self.environ.get(name, "").strip()
            if value:
                return value
        return None

    def required(self, name: str, *fallbacks: str, hint: str = "") -> str:
        """`name` (or the first fallback set); "" and a problem when none is."""
        value = self.get(name, *fallbacks)
        if value is None:
            self.problems.append(" or ".join((name, *fallbacks)) + " is required" + (f" ({hint})" if hint else ""))
        return value or ""

    def number(self, name: str, default: float, kind: type = float, minimum: float = 0, maximum: float | None = None):
        """`name` as a `kind` (float or int) of at least `minimum` and at most `maximum`, or `default`."""
        raw = self.get(name)
        if raw is None:
            return kind(default)
        try:
            value = kind(raw)
        except ValueError:
            self.problems.append(f"{name} must be a {kind.__name__}, got {raw!r}")
            return kind(default)
        if maximum is not None and not minimum <= value <= maximum:
            self.problems.append(f"{name} must be between {minimum} and {maximum}, got {raw!r}")
        elif value < minimum:
            self.problems.append(f"{name} must be at least {minimum}, got {raw!r}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        raw = (self.get(name) or "").lower()
        if not raw:
            return default
        if raw in _TRUE | _FALSE:
            return raw in _TRUE
        self.problems.append(f"{name} must be true or false, got {self.environ[name]!r}")
        return default

    def url(self, name: str, *, required: bool = False, hint: str = "") -> str | None:
        """An http(s) URL without query or fragment, its final slash dropped (a base to append to)."""
        value = (self.required(name, hint=hint) if required else self.get(name) or "").rstrip("/")
        if value and not _URL.fullmatch(value):
            self.problems.append(f"{name} must be an http(s) URL without query or fragment, got {value!r}")
        return value or None

    def origins(self, name: str) -> tuple[str, ...]:
        """A comma-separated list of origins (scheme://host[:port]), final slashes dropped."""
        found = tuple(o.strip().rstrip("/") for o in self.environ.get(name, "").split(",") if o.strip())
        for origin in found:
            if not _ORIGIN.fullmatch(origin):
                self.problems.append(
                    f"{name} must be origins (scheme://host[:port]) separated by commas, got {origin!r}"
                )
        return found

    def check(self, owner: str) -> None:
        """Raise ConfigError naming every problem found so far, if any."""
        if self.problems:
            raise ConfigError(f"{owner}: invalid configuration: " + "; ".join(self.problems))


@dataclass(frozen=True)
class Settings:
    """What every service reads from its environment; each service's own settings class adds
    what only it reads (`catalog.settings.CatalogSettings`, `adoption.settings.AdoptionSettings`)."""

    service_name: str
    region: str
    table_name: str
    dynamodb_endpoint: str | None
    cors_allowed_origins: tuple[str, ...]  # echoed in Access-Control-Allow-Origin when a request names one
    tracing_enabled: bool
    xray_daemon_address: str
    xray_sampling_rate: float
    dynamodb_timeout_seconds: float
    dynamodb_max_retries: int
    on_ecs: bool

    @classmethod
    def from_env(cls, service_name: str, environ: Mapping[str, str] | None = None) -> Self:
        """Read settings; raise ConfigError naming every missing or bad variable."""
        env = Env(environ)
        settings = cls(service_name=service_name, **cls.read(env))
        env.check(service_name)
        return settings

    @classmethod
    def read(cls, env: Env) -> dict[str, Any]:
        """Each field's value from `env` (a subclass adds its own fields to these)."""
        return {
            "region": env.required("AWS_REGION", "AWS_DEFAULT_REGION"),
            "table_name": env.required("MYSFITS_TABLE_NAME"),
            "dynamodb_endpoint": env.get("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL"),
            "cors_allowed_origins": env.origins("CORS_ALLOWED_ORIGINS"),
            "tracing_enabled": env.flag("TRACING_ENABLED", True),
            "xray_daemon_address": env.get("AWS_XRAY_DAEMON_ADDRESS") or "127.0.0.1:2000",
            "xray_sampling_rate": env.number("XRAY_SAMPLING_RATE", DEFAULT_SAMPLING_RATE, maximum=1),
            "dynamodb_timeout_seconds": env.number("DYNAMODB_TIMEOUT_SECONDS", 2.0, minimum=0.1),
            "dynamodb_max_retries": env.number("DYNAMODB_MAX_RETRIES", 2, kind=int),
            "on_ecs": env.get("ECS_CONTAINER_METADATA_URI_V4") is not None,
        }
