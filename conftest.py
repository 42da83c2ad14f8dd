"""Fixtures shared by every test suite: fake AWS credentials and an embedded moto server."""

from __future__ import annotations

import os
import socket

import pytest
import requests
from moto.server import ThreadedMotoServer

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_url():
    """moto in server mode, on its own port, for the whole session."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def _make_settings(moto_url: str, **overrides: str) -> Settings:
    env = {
        "AWS_REGION": "us-east-1",
        "MYSFITS_TABLE_NAME": "MysfitsTable",
        "AWS_ENDPOINT_URL": moto_url,
        "TRACING_ENABLED": "false",
        "DYNAMODB_TIMEOUT_SECONDS": "1",
        "DYNAMODB_MAX_RETRIES": "0",
    }
    env.update(overrides)
    return Settings.from_env("test", env)


@pytest.fixture(scope="session")
def make_settings():
    """Settings for a service talking to `moto_url`, with tracing off; overrides by variable name."""
    return _make_settings


@pytest.fixture
def settings(moto_url):
    return _make_settings(moto_url)


@pytest.fixture
def table(moto_url, settings):
    """A fresh, empty MysfitsTable on the moto server for each test."""
    requests.post(f"{moto_url}/moto-api/reset", timeout=10).raise_for_status()
    models.configure(settings)
    models.create_tables()
    return models.Mysfit
