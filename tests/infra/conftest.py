"""The embedded AWS with every stack deployed from its template, in deploy order."""

from __future__ import annotations

import os

import pytest

from conftest import free_port, start_service
from mysfits_deploy import stacks
from mysfits_local.infra import ACCOUNT, REGION, LocalInfra

# Outputs moto cannot give (its CloudFormation creates no CloudFront distribution): the values
# the deploy step reads from the site stack on AWS.
UNCREATED_OUTPUTS = {"site": {"SiteOrigin": "https://d111111abcdef8.cloudfront.net"}}
BUILDS = {
    f"{service} image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/mysfits-{service}:test"
    for service in ("catalog", "adoption")
}


@pytest.fixture(scope="session")
def embedded_aws(tmp_path_factory):
    """The embedded AWS (moto + the CloudFormation types it lacks) and the Firehose stand-in
    that the delivery stream is created in."""
    logs = tmp_path_factory.mktemp("embedded-aws")
    aws_port, firehose_port = free_port(), free_port()
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{aws_port}",
        "AWS_ENDPOINT_URL_FIREHOSE": f"http://127.0.0.1:{firehose_port}",
    }
    firehose = start_service("mysfits_local.firehose", [], logs / "firehose.log", env=env, port=firehose_port)
    aws = start_service("mysfits_local.aws", [], logs / "aws.log", ready_path="/moto-api/", env=env, port=aws_port)
    yield aws
    aws.stop()
    firehose.stop()


@pytest.fixture(scope="session")
def deployed(embedded_aws) -> LocalInfra:
    """Every unit's stack, deployed in order, each with the parameters the deploy order gives."""
    infra = LocalInfra(embedded_aws.url)
    for unit in stacks.UNITS:
        known = {name: {**UNCREATED_OUTPUTS.get(name, {}), **outputs} for name, outputs in infra.outputs.items()}
        infra.deploy(unit.name, stacks.parameters_for(unit, known, BUILDS))
    return infra
