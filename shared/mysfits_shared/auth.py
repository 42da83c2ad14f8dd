"""Verifying Cognito ID tokens against the user pool's JWKS.

Used by the adoption service (which never trusts an identity header alone) and by the
local API Gateway stand-in's Cognito authorizer. A token is accepted only when its RS256
signature matches a key of the pool, its issuer is the pool, it has not expired, it is an
ID token (`token_use` = id) and its audience is the site's app client.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable

import jwt
from jwt.algorithms import RSAAlgorithm

from .tracing import remote_call

ALGORITHMS = ["RS256"]
# An unknown key id triggers at most one JWKS refresh per this many seconds, so forged
# tokens with random key ids cannot turn every request into a JWKS download.
REFRESH_INTERVAL_SECONDS = 30.0


class InvalidToken(Exception):
    """The token is missing, malformed, forged, expired or not meant for this API (401)."""


class KeysUnavailable(Exception):
    """The pool's JWKS could not be fetched, so no token can be checked (503)."""


def issuer_for(region: str, user_pool_id: str) -> str:
    return f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"


def token_from_header(value: str | None) -> str:
    """The raw token from an Authorization header, as API Gateway takes it; `Bearer x` works too."""
    if not value or not value.strip():
        raise InvalidToken("An ID token is required in the Authorization header.")
    value = value.strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    return value


def _fetch_json(url: str, timeout: float) -> dict:
    # The URL is the user pool's, from the settings (https, or http on one machine).
    with remote_call(url) as outcome, urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
        outcome["status"] = response.status
        return json.load(response)


class TokenVerifier:
    """Checks ID tokens of one user pool and app client; keys are fetched once and cached."""

    def __init__(
        self,
        issuer: str,
        audience: str | None,
        jwks_url: str | None = None,
        timeout: float = 3.0,
        fetch: Callable[[str, float], dict] = _fetch_json,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.issuer = issuer
        self.audience = audience
        self.jwks_url = jwks_url or f"{issuer}/.well-known/jwks.json"
        self._timeout = timeout
        self._fetch = fetch
        self._clock = clock
        self._keys: dict[str, object] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()

    def verify(self, token: str) -> dict:
        """The token's claims, or InvalidToken saying what is wrong with it."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("The token is malformed.") from None
        if header.get("alg") not in ALGORITHMS:
            raise InvalidToken("The token is not signed with RS256.")
        key = self._key(header.get("kid"))
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                issuer=self.issuer,
                # The audience is checked below, after token_use: an access token has none.
                options={"require": ["exp", "iat", "iss", "sub", "token_use"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("The token has expired.") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("The token was issued by another user pool.") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("The token's signature is not valid.") from None
        except jwt.PyJWTError as error:
            raise InvalidToken(f"The token is not valid: {error}.") from None
        if claims["token_use"] != "id":  # noqa: S105 - a claim value, not a password
            raise InvalidToken("An ID token is required, not an access token.")
        if not str(claims["sub"]).strip():
            raise InvalidToken("The token names no visitor (its subject is empty).")
        if self.audience is not None and claims.get("aud") != self.audience:
            raise InvalidToken("The token was issued to another client.")
        return claims

    def _key(self, kid: str | None):
        if not kid:
            raise InvalidToken("The token has no key id.")
        key = self._keys.get(kid)
        if key is None:
            self._refresh()
            key = self._keys.get(kid)
        if key is None:
            raise InvalidToken("The token was not signed by this user pool.")
        return key

    def _refresh(self) -> None:
        with self._lock:
            now = self._clock()
            if self._fetched_at is not None and now - self._fetched_at < REFRESH_INTERVAL_SECONDS:
                return
            try:
                document = self._fetch(self.jwks_url, self._timeout)
                keys = {k["kid"]: RSAAlgorithm.from_jwk(json.dumps(k)) for k in document["keys"] if k.get("kid")}
            except Exception as error:  # network, HTTP or format: the keys cannot be had right now
                raise KeysUnavailable(f"cannot fetch the user pool's keys from {self.jwks_url}: {error}") from error
            self._keys = keys
            self._fetched_at = now
