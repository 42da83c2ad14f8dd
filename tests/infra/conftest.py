"""The embedded AWS with every stack deployed from its template, in deploy order."""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from mysfits_deploy import stacks
from mysfits_local.account import ACCOUNT, CREDENTIALS_ENV, REGION
from mysfits_local.infra import LocalInfra
from mysfits_local.processes import free_port
from mysfits_testkit.services import start_service

# Outputs moto cannot give (its CloudFormation creates no CloudFront distribution): the values
# the deploy step reads from the site stack on AWS.
UNCREATED_OUTPUTS = {"site": {"SiteOrigin": "https://d111111abcdef8.cloudfront.net"}}
BUILDS = {
    f"{service} image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/mysfits-{service}:test"
    for service in ("catalog", "adoption")
}


@dataclass
class EmbeddedAws:
    url: str
    firehose_url: str

    def env(self) -> dict[str, str]:
        """What a process needs to use this embedded AWS as its account."""
        return {
            **os.environ,
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ENDPOINT_URL_FIREHOSE": self.firehose_url,
            "AWS_REGION": REGION,
            **CREDENTIALS_ENV,
        }


@contextmanager
def embedded_aws_account(logs: Path):
    """A fresh embedded AWS (moto + the CloudFormation types it lacks) and the Firehose stand-in
    that delivery streams are created in."""
    aws_port, firehose_port = free_port(), free_port()
    account = EmbeddedAws(f"http://127.0.0.1:{aws_port}", f"http://127.0.0.1:{firehose_port}")
    env = account.env()
    firehose = start_service("mysfits_local.firehose", [], logs / "firehose.log", env=env, port=firehose_port)
    aws = start_service("mysfits_local.aws", [], logs / "aws.log", ready_path="/moto-api/", env=env, port=aws_port)
    try:
        yield account
    finally:
        aws.stop()
        firehose.stop()


@pytest.fixture(scope="session")
def embedded_aws(tmp_path_factory):
    with embedded_aws_account(tmp_path_factory.mktemp("embedded-aws")) as account:
        yield account


@pytest.fixture(scope="session")
def deployed(embedded_aws) -> LocalInfra:
    """Every unit's stack, deployed in order, each with the parameters the deploy order gives."""
    infra = LocalInfra(embedded_aws.url)
    for unit in stacks.UNITS:
        known = {name: {**UNCREATED_OUTPUTS.get(name, {}), **outputs} for name, outputs in infra.outputs.items()}
        infra.deploy(unit.name, stacks.parameters_for(unit, known, BUILDS))
    return infra


@pytest.fixture
def fresh_account(tmp_path):
    """An embedded AWS account of the test's own, empty."""
    with embedded_aws_account(tmp_path) as account:
        yield account
