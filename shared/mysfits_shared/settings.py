"""Settings read from environment variables, in one place, failing fast with a clear message."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .tracing import DEFAULT_SAMPLING_RATE


class ConfigError(RuntimeError):
    """A required setting is missing or has an invalid value."""


_ORIGIN = re.compile(r"https?://[^/\s,]+")
_URL = re.compile(r"https?://[^\s?#]+")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Settings:
    """Everything a service reads from its environment."""

    service_name: str
    region: str
    table_name: str
    dynamodb_endpoint: str | None
    cors_allowed_origins: tuple[str, ...]  # echoed in Access-Control-Allow-Origin when a request names one
    asset_base_url: str | None  # where the images are published: image URIs are made absolute with it
    cache_ttl_seconds: float
    tracing_enabled: bool
    xray_daemon_address: str
    xray_sampling_rate: float
    dynamodb_timeout_seconds: float
    dynamodb_max_retries: int
    on_ecs: bool
    likes_table_name: str | None = None
    user_pool_id: str | None = None
    user_pool_client_id: str | None = None
    jwks_url: str | None = None

    @classmethod
    def from_env(cls, service_name: str, environ: Mapping[str, str] | None = None, *, writer: bool = False) -> Settings:
        """Read settings; raise ConfigError naming every missing or bad variable.

        `writer` services (adoption) also need the likes table and the Cognito user pool.
        """
        env = os.environ if environ is None else environ
        problems: list[str] = []

        def required(name: str, *fallbacks: str) -> str:
            for key in (name, *fallbacks):
                if env.get(key):
                    return env[key]
            alternatives = " or ".join((name, *fallbacks))
            problems.append(f"{alternatives} is required")
            return ""

        def number(name: str, default: float, kind=float, minimum: float = 0):
            raw = env.get(name)
            if raw in (None, ""):
                return kind(default)
            try:
                value = kind(raw)
            except ValueError:
                problems.append(f"{name} must be a {kind.__name__}, got {raw!r}")
                return kind(default)
            if value < minimum:
                problems.append(f"{name} must be at least {minimum}, got {raw!r}")
            return value

        def flag(name: str, default: bool) -> bool:
            raw = env.get(name, "").strip().lower()
            if not raw:
                return default
            if raw in _TRUE | _FALSE:
                return raw in _TRUE
            problems.append(f"{name} must be true or false, got {env[name]!r}")
            return default

        def origins(name: str) -> tuple[str, ...]:
            found = tuple(o.strip().rstrip("/") for o in env.get(name, "").split(",") if o.strip())
            for origin in found:
                if not _ORIGIN.fullmatch(origin):
                    problems.append(
                        f"{name} must be origins (scheme://host[:port]) separated by commas, got {origin!r}"
                    )
            return found

        def url(name: str) -> str | None:
            value = env.get(name, "").strip().rstrip("/")
            if value and not _URL.fullmatch(value):
                problems.append(f"{name} must be an http(s) URL, got {value!r}")
            return value or None

        settings = cls(
            service_name=service_name,
            region=required("AWS_REGION", "AWS_DEFAULT_REGION"),
            table_name=required("MYSFITS_TABLE_NAME"),
            dynamodb_endpoint=env.get("AWS_ENDPOINT_URL_DYNAMODB") or env.get("AWS_ENDPOINT_URL") or None,
            cors_allowed_origins=origins("CORS_ALLOWED_ORIGINS"),
            asset_base_url=url("ASSET_BASE_URL"),
            cache_ttl_seconds=number("CACHE_TTL_SECONDS", 5.0),
            tracing_enabled=flag("TRACING_ENABLED", True),
            xray_daemon_address=env.get("AWS_XRAY_DAEMON_ADDRESS") or "127.0.0.1:2000",
            xray_sampling_rate=number("XRAY_SAMPLING_RATE", DEFAULT_SAMPLING_RATE),
            dynamodb_timeout_seconds=number("DYNAMODB_TIMEOUT_SECONDS", 2.0, minimum=0.1),
            dynamodb_max_retries=number("DYNAMODB_MAX_RETRIES", 2, kind=int),
            on_ecs=bool(env.get("ECS_CONTAINER_METADATA_URI_V4")),
            likes_table_name=required("MYSFITS_LIKES_TABLE_NAME") if writer else None,
            user_pool_id=required("COGNITO_USER_POOL_ID") if writer else None,
            user_pool_client_id=required("COGNITO_USER_POOL_CLIENT_ID") if writer else None,
            # On AWS the keys are at the issuer's well-known address; locally moto serves them.
            jwks_url=env.get("COGNITO_JWKS_URL") or None,
        )
        if settings.xray_sampling_rate > 1:
            problems.append("XRAY_SAMPLING_RATE must be between 0 and 1")
        if problems:
            raise ConfigError(f"{service_name}: invalid configuration: " + "; ".join(problems))
        return settings
