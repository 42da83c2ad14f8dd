"""Fixtures shared by every test suite: fake AWS credentials and an embedded moto server."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwk
from joserfc import jwt as jose_jwt
from moto.server import ThreadedMotoServer
from moto.utilities.utils import load_resource

from mysfits_local.identity import cognito_client, sign_in_visitor
from mysfits_shared import models
from mysfits_shared.settings import Settings

# No test can reach a real AWS account, whatever the developer's environment holds.
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
    os.environ.pop(_name, None)
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
)


# `make test` runs the tests on two workers (pytest-xdist, --dist loadgroup). A module's tests stay
# together on one worker (its module fixtures start once), and so do all the tests that use the
# shared one-machine stack, which start first: they are the longest part of the run.
SHARED_STACK = "stack"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    if config.getoption("dist", "no") != "loadgroup":
        return
    for item in items:
        group = SHARED_STACK if SHARED_STACK in item.fixturenames else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=lambda item: SHARED_STACK not in item.fixturenames)  # stable: otherwise as collected


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Service:
    """A stand-in or service started by a test as its own process."""

    process: subprocess.Popen
    url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_service(
    module: str, args: list[str], log_path: Path, ready_path: str = "/", env: dict | None = None, port: int = 0
) -> Service:
    """`python -m module --host 127.0.0.1 --port <port or a free one> *args`, once it answers on `ready_path`."""
    port = port or free_port()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", module, "--host", "127.0.0.1", "--port", str(port), *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    service = Service(process, f"http://127.0.0.1:{port}", log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{module} exited with {process.returncode}:\n{service.log()}")
        try:
            requests.get(service.url + ready_path, timeout=1)
            return service
        except requests.ConnectionError:
            time.sleep(0.05)
    service.stop(signal.SIGKILL)
    raise AssertionError(f"{module} did not start:\n{service.log()}")


@pytest.fixture(scope="session")
def moto_url():
    """moto in server mode, on its own port, for the whole session."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def _make_settings(moto_url: str, writer: bool = False, **overrides: str) -> Settings:
    env = {
        "AWS_REGION": "us-east-1",
        "MYSFITS_TABLE_NAME": "MysfitsTable",
        "AWS_ENDPOINT_URL": moto_url,
        "TRACING_ENABLED": "false",
        "DYNAMODB_TIMEOUT_SECONDS": "1",
        "DYNAMODB_MAX_RETRIES": "0",
    }
    env.update(overrides)
    return Settings.from_env("test", env, writer=writer)


@pytest.fixture(scope="session")
def make_settings():
    """Settings for a service talking to `moto_url`, with tracing off; overrides by variable name."""
    return _make_settings


@pytest.fixture
def settings(moto_url):
    return _make_settings(moto_url)


@pytest.fixture
def table(moto_url, settings):
    """Fresh, empty MysfitsTable and MysfitLikesTable on the moto server for each test."""
    models.configure(settings)
    # The stacks create the tables from cfn/data.yaml (a test checks it equals the models); unit
    # tests make them straight from the models.
    for model in models.MODELS:
        if model.exists():
            model.delete_table()
        model.create_table(wait=True)
    return models.Mysfit


# -- identity: a Cognito user pool on the moto server, and real tokens from it ---------

PASSWORD = "Corr3ct-Horse!"  # satisfies the pool's policy


@dataclass(frozen=True)
class Pool:
    id: str
    client_id: str
    endpoint: str

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.us-east-1.amazonaws.com/{self.id}"

    @property
    def jwks_url(self) -> str:
        return f"{self.endpoint}/{self.id}/.well-known/jwks.json"

    def sign_in(self, email: str | None = None) -> dict:
        """Register, confirm and log in a new visitor: its tokens and its `sub`."""
        email = email or f"visitor-{uuid.uuid4().hex[:12]}@example.com"
        return sign_in_visitor(cognito_client(self.endpoint), self.client_id, email, PASSWORD)


def create_pool(endpoint: str) -> Pool:
    cognito = cognito_client(endpoint)
    pool = cognito.create_user_pool(PoolName=f"test-{uuid.uuid4().hex[:8]}", UsernameAttributes=["email"])
    client = cognito.create_user_pool_client(
        UserPoolId=pool["UserPool"]["Id"], ClientName="site", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )
    return Pool(pool["UserPool"]["Id"], client["UserPoolClient"]["ClientId"], endpoint)


@pytest.fixture(scope="session")
def pool(moto_url) -> Pool:
    return create_pool(moto_url)


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
