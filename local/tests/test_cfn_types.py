"""The CloudFormation types the embedded AWS adds to moto, and the change-set mend, pinned."""

from __future__ import annotations

import json
import re
import uuid
from importlib.metadata import version

import boto3
import pytest
from moto.core.common_models import CloudFormationModel

from mysfits_deploy import cloudformation
from mysfits_local import cfn_types
from mysfits_local.account import ACCOUNT

TEMPLATE = {
    "Parameters": {"MinimumLength": {"Type": "Number", "Default": 10}},
    "Resources": {
        "Pool": {
            "Type": "AWS::Cognito::UserPool",
            "Properties": {
                "UsernameAttributes": ["email"],
                "Policies": {"PasswordPolicy": {"MinimumLength": {"Ref": "MinimumLength"}, "RequireSymbols": True}},
            },
        },
        "Client": {
            "Type": "AWS::Cognito::UserPoolClient",
            "Properties": {
                "UserPoolId": {"Ref": "Pool"},
                "ExplicitAuthFlows": ["ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH"],
                "GenerateSecret": False,
            },
        },
    },
    "Outputs": {
        "PoolArn": {"Value": {"Fn::GetAtt": ["Pool", "Arn"]}, "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-Arn"}}},
        "ClientId": {"Value": {"Ref": "Client"}},
    },
}


@pytest.fixture(scope="module")
def cfn(moto_url):
    cfn_types.register()
    return boto3.client("cloudformation", endpoint_url=moto_url), boto3.client("cognito-idp", endpoint_url=moto_url)


def test_moto_is_the_version_these_extensions_were_written_for():
    """The model registry and the change-set gap are moto 5.2.5's: an upgrade must look again."""
    assert version("moto") == "5.2.5"


def test_the_added_types_are_ones_moto_lacks():
    native = {m.cloudformation_type() for m in CloudFormationModel.__subclasses__() if m.__module__.startswith("moto.")}
    assert set(cfn_types.ADDED_TYPES) == {
        "AWS::Cognito::UserPool",
        "AWS::Cognito::UserPoolClient",
        "AWS::KinesisFirehose::DeliveryStream",
        "AWS::ApiGateway::VpcLink",
    }
    assert not native & set(cfn_types.ADDED_TYPES)


def test_a_change_set_creates_the_pool_and_client_from_their_properties_with_outputs_and_exports(cfn):
    cloudformation_client, cognito = cfn
    name = f"pool-{uuid.uuid4().hex[:8]}"
    outputs = cloudformation.deploy(cloudformation_client, name, TEMPLATE, {"MinimumLength": "12"})
    pool_id = outputs["PoolArn"].rsplit("/", 1)[1]
    pool = cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    assert re.fullmatch(rf"{name}-Pool-[A-Z0-9]{{12}}", pool["Name"])  # named as CloudFormation names it
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] == 12  # the parameter's string, typed
    assert pool["UsernameAttributes"] == ["email"]
    client = cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=outputs["ClientId"])["UserPoolClient"]
    assert client["ExplicitAuthFlows"] == ["ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH"]
    exports = {e["Name"]: e["Value"] for e in cloudformation_client.list_exports()["Exports"]}
    assert exports[f"{name}-Arn"] == outputs["PoolArn"]

    # An update through a second change set keeps outputs and exports current.
    updated = json.loads(json.dumps(TEMPLATE))
    updated["Outputs"]["Extra"] = {"Value": "yes"}
    outputs = cloudformation.deploy(cloudformation_client, name, updated, {"MinimumLength": "12"})
    assert outputs["Extra"] == "yes"
    assert f"{name}-Arn" in {e["Name"] for e in cloudformation_client.list_exports()["Exports"]}

    cloudformation_client.delete_stack(StackName=name)
    assert pool_id not in {p["Id"] for p in cognito.list_user_pools(MaxResults=60)["UserPools"]}
    assert f"{name}-Arn" not in {e["Name"] for e in cloudformation_client.list_exports()["Exports"]}


def test_properties_are_typed_by_the_api_model_and_unknown_ones_refused():
    typed = cfn_types.api_parameters(
        "firehose",
        "CreateDeliveryStream",
        {
            "DeliveryStreamName": "s",
            "ExtendedS3DestinationConfiguration": {
                "BucketARN": "arn:aws:s3:::b",
                "RoleARN": f"arn:aws:iam::{ACCOUNT}:role/r",
                "BufferingHints": {"IntervalInSeconds": "1", "SizeInMBs": "5"},
            },
        },
    )
    assert typed["ExtendedS3DestinationConfiguration"]["BufferingHints"] == {"IntervalInSeconds": 1, "SizeInMBs": 5}
    with pytest.raises(ValueError, match="Colour is not a parameter"):
        cfn_types.api_parameters("cognito-idp", "CreateUserPool", {"UserPoolName": "p", "Colour": "red"})
