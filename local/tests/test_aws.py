"""The embedded AWS signs tokens with the stack's own key pair, never with moto's bundled one."""

from __future__ import annotations

import json
import stat
import uuid

import boto3
import pytest
import requests
from joserfc import jwk
from joserfc import jwt as jose_jwt
from moto.utilities.utils import load_resource

from conftest import start_service
from mysfits_shared.auth import InvalidToken, TokenVerifier, issuer_for


def _start(tmp_path, key_file):
    return start_service(
        "mysfits_local.aws", ["--signing-key", str(key_file)], tmp_path / f"aws-{uuid.uuid4().hex}.log",
        ready_path="/moto-api/",
    )  # fmt: skip


def _pool_and_token(url: str) -> tuple[str, str, str]:
    """A user pool, its app client and an ID token of a confirmed visitor, from the embedded AWS."""
    client = boto3.client(
        "cognito-idp", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    pool = client.create_user_pool(PoolName="p")["UserPool"]["Id"]
    app = client.create_user_pool_client(UserPoolId=pool, ClientName="site", ExplicitAuthFlows=["USER_PASSWORD_AUTH"])
    client_id = app["UserPoolClient"]["ClientId"]
    client.sign_up(ClientId=client_id, Username="v@example.com", Password="Passw0rd!long")
    client.admin_confirm_sign_up(UserPoolId=pool, Username="v@example.com")
    answer = client.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "v@example.com", "PASSWORD": "Passw0rd!long"},
    )
    return pool, client_id, answer["AuthenticationResult"]["IdToken"]


def test_tokens_are_signed_with_the_stacks_key_kept_private_and_across_restarts(tmp_path):
    key_file = tmp_path / "run" / "cognito-signing-key.json"
    aws = _start(tmp_path, key_file)
    try:
        pool, client_id, token = _pool_and_token(aws.url)
        jwks = requests.get(f"{aws.url}/{pool}/.well-known/jwks.json", timeout=5).json()
        verifier = TokenVerifier(
            issuer_for("us-east-1", pool), client_id, jwks_url=f"{aws.url}/{pool}/.well-known/jwks.json"
        )
        claims = verifier.verify(token)
        assert claims["cognito:username"] == "v@example.com"

        # The same claims signed with the key that ships inside moto: refused.
        bundled = jwk.RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))
        forged = jose_jwt.encode({"kid": "dummy", "alg": "RS256"}, {**claims, "sub": "someone-else"}, bundled)
        with pytest.raises(InvalidToken, match="signature"):
            verifier.verify(forged)
    finally:
        aws.stop()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert json.loads(key_file.read_text())["d"]  # the private half, only here

    again = _start(tmp_path, key_file)
    try:
        pool, _, _ = _pool_and_token(again.url)
        assert requests.get(f"{again.url}/{pool}/.well-known/jwks.json", timeout=5).json() == jwks
    finally:
        again.stop()
