"""Visitors on the embedded Cognito: register, confirm and log in, as the site does.

Used by the tests and the benchmark to get real tokens from the one-machine user pool, and
by the stack for its clients of the stand-ins (`embedded_client`).
"""

from __future__ import annotations

import boto3
import jwt

from .account import CREDENTIALS, REGION


def embedded_client(service: str, endpoint: str, region: str = REGION):
    """A boto3 client of a one-machine stand-in (they take any credentials)."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        **CREDENTIALS,
    )


def cognito_client(endpoint: str, region: str = REGION):
    return embedded_client("cognito-idp", endpoint, region)


def sign_in_visitor(cognito, client_id: str, email: str, password: str) -> dict:
    """Register, confirm (any code works on moto) and log in: the visitor's tokens and `sub`."""
    cognito.sign_up(
        ClientId=client_id, Username=email, Password=password, UserAttributes=[{"Name": "email", "Value": email}]
    )
    cognito.confirm_sign_up(ClientId=client_id, Username=email, ConfirmationCode="000000")
    result = cognito.initiate_auth(
        ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": email, "PASSWORD": password}
    )["AuthenticationResult"]
    claims = jwt.decode(result["IdToken"], options={"verify_signature": False})
    return {
        "email": email,
        "sub": claims["sub"],
        "id": result["IdToken"],
        "access": result["AccessToken"],
        "refresh": result.get("RefreshToken"),
    }
