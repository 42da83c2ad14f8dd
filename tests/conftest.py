"""The whole one-machine stack, started once for the cross-service tests, on free ports."""

from __future__ import annotations

import pytest

from mysfits_local.stack import READY_FILE
from mysfits_testkit.identity import Pool
from mysfits_testkit.stack import PARTNER_ORIGIN, start_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    # A partner's origin besides the site's, as `make up` takes it (MYSFITS_ALLOWED_ORIGINS).
    running = start_stack(tmp_path_factory.mktemp("stack"), env={"MYSFITS_ALLOWED_ORIGINS": PARTNER_ORIGIN})
    if running.process.poll() is not None or not (running.run_dir / READY_FILE).exists():
        running.stop()
        pytest.fail("the stack did not start:\n" + "".join(running.output))
    yield running
    assert running.stop() == 0, "".join(running.output)


@pytest.fixture(scope="session")
def stack_pool(stack) -> Pool:
    """The running stack's user pool, to register visitors and get real tokens."""
    config = stack.config
    return Pool(config["userPoolId"], config["userPoolClientId"], config["cognitoEndpoint"])
