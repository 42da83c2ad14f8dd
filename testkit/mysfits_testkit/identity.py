"""Visitors with real tokens from a Cognito user pool on moto, and tokens forged with any key."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwk
from joserfc import jwt as jose_jwt
from moto.utilities.utils import load_resource

from mysfits_local.account import REGION
from mysfits_local.identity import cognito_client, sign_in_visitor

PASSWORD = "Corr3ct-Horse!"  # noqa: S105 - satisfies the pool's policy


@dataclass(frozen=True)
class Pool:
    id: str
    client_id: str
    endpoint: str

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{REGION}.amazonaws.com/{self.id}"

    @property
    def jwks_url(self) -> str:
        return f"{self.endpoint}/{self.id}/.well-known/jwks.json"

    def sign_in(self, email: str | None = None) -> dict:
        """Register, confirm and log in a new visitor: its tokens and its `sub`."""
        email = email or f"visitor-{uuid.uuid4().hex[:12]}@example.com"
        return sign_in_visitor(cognito_client(self.endpoint), self.client_id, email, PASSWORD)


def auth(visitor: dict) -> dict:
    """The headers of a request signed in as `visitor` (its ID token, as the site sends it)."""
    return {"Authorization": visitor["id"]}


def create_pool(endpoint: str) -> Pool:
    cognito = cognito_client(endpoint)
    pool = cognito.create_user_pool(PoolName=f"test-{uuid.uuid4().hex[:8]}", UsernameAttributes=["email"])
    client = cognito.create_user_pool_client(
        UserPoolId=pool["UserPool"]["Id"], ClientName="site", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )
    return Pool(pool["UserPool"]["Id"], client["UserPoolClient"]["ClientId"], endpoint)


def moto_bundled_key() -> jwk.RSAKey:
    """The key pair that ships inside moto: a token it signs must never be accepted by a stack."""
    return jwk.RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))


def stack_signing_key(run_dir: Path) -> jwk.RSAKey:
    """The key pair a running stack's user pools sign with (kept under its run directory)."""
    return jwk.RSAKey.import_key(json.loads((run_dir / "cognito-signing-key.json").read_text()))


def forge_token(claims: dict, key: jwk.RSAKey | None = None) -> str:
    """An RS256 token with `claims`, signed with `key` (a stack's or moto's) or a stranger's key."""
    if key is not None:
        return jose_jwt.encode({"kid": "dummy", "alg": "RS256"}, claims, key)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, stranger, algorithm="RS256", headers={"kid": "dummy"})
