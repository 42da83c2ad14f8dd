"""Fixtures shared by every test suite: fake AWS credentials and an embedded moto server."""

from __future__ import annotations

import os

import pytest
from moto.server import ThreadedMotoServer

from mysfits_local.account import CREDENTIALS_ENV, REGION
from mysfits_local.processes import free_port
from mysfits_shared import models
from mysfits_shared.settings import Settings
from mysfits_testkit.identity import Pool, create_pool

# No test can reach a real AWS account, whatever the developer's environment holds.
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
    os.environ.pop(_name, None)
os.environ.update(CREDENTIALS_ENV, AWS_DEFAULT_REGION=REGION, AWS_REGION=REGION)


# `make test` runs the tests on two workers (pytest-xdist, --dist loadfile): a module's tests stay
# together on one worker, so its module fixtures start once. Each worker that runs a test using
# the shared one-machine stack (`stack`, a session fixture) starts one for itself.


@pytest.fixture(scope="session")
def moto_url():
    """moto in server mode, on its own port, for the whole session."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def _make_settings(moto_url: str, kind: type[Settings] = Settings, **overrides: str) -> Settings:
    env = {
        "AWS_REGION": REGION,
        "MYSFITS_TABLE_NAME": "MysfitsTable",
        "AWS_ENDPOINT_URL": moto_url,
        "TRACING_ENABLED": "false",
        # No retry, so a test sees the first failure; the tests of an unreachable table use a closed
        # port (refused at once). The timeout only bounds a slow answer from the session's moto,
        # which under the other worker's load took more than a second once (a seed step failed).
        "DYNAMODB_TIMEOUT_SECONDS": "5",
        "DYNAMODB_MAX_RETRIES": "0",
    }
    env.update(overrides)
    return kind.from_env("test", env)


@pytest.fixture(scope="session")
def make_settings():
    """Settings (of `kind`: a service's own class) for a service talking to `moto_url`, with tracing off;
    overrides by variable name."""
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


@pytest.fixture(scope="session")
def pool(moto_url) -> Pool:
    return create_pool(moto_url)
