"""The ID token verifier: keys fetched once, refreshed on an unknown key id (rate-limited), every claim checked."""

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from mysfits_shared.auth import InvalidToken, KeysUnavailable, TokenVerifier, token_from_header

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool"


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwk(private, kid):
    return {**json.loads(RSAAlgorithm.to_jwk(private.public_key())), "kid": kid, "alg": "RS256", "use": "sig"}


class Keys:
    """A JWKS endpoint stand-in that counts its downloads."""

    def __init__(self, *pairs):
        self.document = {"keys": [_jwk(private, kid) for kid, private in pairs]}
        self.downloads = 0
        self.down = False

    def __call__(self, url, timeout):
        self.downloads += 1
        if self.down:
            raise OSError("connection refused")
        return self.document


class Clock:
    now = 100.0

    def __call__(self):
        return self.now


def _token(private, kid="k1", **changes):
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "visitor-1", "aud": "client", "token_use": "id", "iat": now, "exp": now + 60}
    claims.update(changes)
    return jwt.encode(claims, private, algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def key():
    return _key()


def test_valid_token_gives_its_claims_and_keys_are_fetched_once(key):
    keys = Keys(("k1", key))
    verifier = TokenVerifier(ISSUER, "client", fetch=keys)
    for _ in range(3):
        assert verifier.verify(_token(key))["sub"] == "visitor-1"
    assert keys.downloads == 1
    assert verifier.jwks_url == ISSUER + "/.well-known/jwks.json"


def test_unknown_key_id_refreshes_the_keys_once_rotation_works(key):
    rotated = _key()
    keys = Keys(("k1", key))
    clock = Clock()
    verifier = TokenVerifier(ISSUER, "client", fetch=keys, clock=clock)
    verifier.verify(_token(key))
    keys.document = {"keys": [_jwk(key, "k1"), _jwk(rotated, "k2")]}
    clock.now += 60
    assert verifier.verify(_token(rotated, kid="k2"))["sub"] == "visitor-1"
    assert keys.downloads == 2


def test_forged_key_ids_cannot_force_a_download_per_request(key):
    keys = Keys(("k1", key))
    clock = Clock()
    verifier = TokenVerifier(ISSUER, "client", fetch=keys, clock=clock)
    verifier.verify(_token(key))
    for n in range(5):
        with pytest.raises(InvalidToken, match="not signed by this user pool"):
            verifier.verify(_token(key, kid=f"random-{n}"))
    assert keys.downloads == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"exp": int(time.time()) - 10}, "expired"),
        ({"aud": "other"}, "issued to another client"),
        ({"iss": "https://cognito-idp.us-east-1.amazonaws.com/other"}, "another user pool"),
        ({"token_use": "access"}, "ID token is required"),
        ({"sub": ""}, "subject is empty"),
        ({"sub": "   "}, "subject is empty"),
    ],
)
def test_wrong_claims_are_refused(key, changes, message):
    verifier = TokenVerifier(ISSUER, "client", fetch=Keys(("k1", key)))
    with pytest.raises(InvalidToken, match=message):
        verifier.verify(_token(key, **changes))


def test_signature_by_another_key_is_refused(key):
    verifier = TokenVerifier(ISSUER, "client", fetch=Keys(("k1", key)))
    with pytest.raises(InvalidToken, match="signature"):
        verifier.verify(_token(_key()))


def test_unsigned_and_malformed_tokens_are_refused(key):
    verifier = TokenVerifier(ISSUER, "client", fetch=Keys(("k1", key)))
    unsigned = jwt.encode({"sub": "x"}, None, algorithm="none")
    with pytest.raises(InvalidToken, match="RS256"):
        verifier.verify(unsigned)
    with pytest.raises(InvalidToken, match="malformed"):
        verifier.verify("a.b")


def test_keys_unavailable_is_not_blamed_on_the_token(key):
    keys = Keys(("k1", key))
    keys.down = True
    with pytest.raises(KeysUnavailable):
        TokenVerifier(ISSUER, "client", fetch=keys).verify(_token(key))


@pytest.mark.parametrize(("header", "token"), [("abc", "abc"), ("Bearer abc", "abc"), ("bearer  abc ", "abc")])
def test_authorization_header_forms(header, token):
    assert token_from_header(header) == token


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing_authorization_header(header):
    with pytest.raises(InvalidToken, match="required"):
        token_from_header(header)
