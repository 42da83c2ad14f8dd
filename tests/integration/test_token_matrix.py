"""Every kind of bad token is refused with 401, by the gateway and by the service itself, and writes nothing."""

import time

import pytest
import requests

from mysfits_testkit.identity import forge_token, moto_bundled_key, stack_signing_key

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def target(stack):
    """A mysfit of this module's own, which no other test (nor the fuzzer) has liked or adopted."""
    with stack.own_mysfit("token-matrix") as mysfit_id:
        yield mysfit_id


@pytest.fixture(scope="module")
def victim(stack_pool):
    """A real visitor whose identity the bad tokens claim."""
    return stack_pool.sign_in()


def _claims(pool, visitor, **changes) -> dict:
    now = int(time.time())
    claims = {
        "iss": pool.issuer,
        "sub": visitor["sub"],
        "aud": pool.client_id,
        "token_use": "id",
        "iat": now,
        "auth_time": now,
        "exp": now + 3600,
        "email": visitor["email"],
    }
    claims.update(changes)
    return claims


def _bad_tokens(pool, visitor, key) -> dict[str, str | None]:
    now = int(time.time())
    return {
        "no token": None,
        "malformed": "not-a-jwt",
        "signed by another key": forge_token(_claims(pool, visitor)),
        # Anyone has the key that ships inside moto: the stack signs with its own.
        "signed with moto's bundled key": forge_token(_claims(pool, visitor), moto_bundled_key()),
        "expired": forge_token(_claims(pool, visitor, iat=now - 7200, exp=now - 3600), key),
        "wrong audience": forge_token(_claims(pool, visitor, aud="some-other-client"), key),
        "wrong issuer": forge_token(
            _claims(pool, visitor, iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"), key
        ),
        "no subject": forge_token(_claims(pool, visitor, sub=""), key),
        "access token instead of ID token": visitor["access"],
    }


@pytest.mark.parametrize("via", ["gateway", "service"])
def test_every_bad_token_is_401_and_writes_nothing(stack, stack_pool, victim, via, target):
    base = stack.api_url if via == "gateway" else stack.adoption_url
    # Sanity: the pool's key really signs tokens the service accepts (so 401s below are about the claims).
    key = stack_signing_key(stack.run_dir)
    good = forge_token(_claims(stack_pool, victim), key)
    assert requests.get(f"{base}/me", headers={"Authorization": good}, timeout=10).status_code == 200

    for name, token in _bad_tokens(stack_pool, victim, key).items():
        headers = {} if token is None else {"Authorization": token}
        for method, path in (("post", "like"), ("post", "adopt"), ("delete", "like")):
            response = requests.request(method, f"{base}/mysfits/{target}/{path}", headers=headers, timeout=10)
            assert response.status_code == 401, (name, method, path, response.text)
            assert response.json()["error"]["code"] == "Unauthorized", name
        assert requests.get(f"{base}/me", headers=headers, timeout=10).status_code == 401, name

    profile = requests.get(f"{stack.api_url}/mysfits/{target}", timeout=10).json()
    assert profile["likes"] == 0
    assert profile["adopted"] is False
    me = requests.get(f"{stack.api_url}/me", headers={"Authorization": victim["id"]}, timeout=10).json()
    assert me["liked"] == []
    assert me["adopted"] == []


def test_the_gateway_passes_the_callers_identity_not_the_clients_header(stack, stack_pool):
    visitor, impostor = stack_pool.sign_in(), stack_pool.sign_in()
    headers = {"Authorization": visitor["id"], "X-Mysfits-Visitor": impostor["sub"]}
    me = requests.get(f"{stack.api_url}/me", headers=headers, timeout=10)
    assert me.status_code == 200
    assert me.json()["userId"] == visitor["sub"]
