"""The one-machine stack has exactly the tables, pool, bucket and stream the templates declare.

Read back through the AWS APIs (the embedded AWS and the Firehose stand-in) and compared with the
templates' own properties, so a template change shows on one machine too.
"""

from __future__ import annotations

import boto3
import pytest

from mysfits_deploy import templates
from mysfits_deploy.stacks import BY_NAME, site_password_policy
from mysfits_local.stack import CLICKS_BUFFER_SECONDS

pytestmark = pytest.mark.integration


def _resources(unit: str, kind: str) -> dict[str, dict]:
    template = templates.load(BY_NAME[unit].template_path)
    return {i: r["Properties"] for i, r in template["Resources"].items() if r["Type"] == kind}


def _parameter(unit: str, name: str) -> str:
    return str(templates.load(BY_NAME[unit].template_path)["Parameters"][name]["Default"])


def _client(stack, service: str, url: str | None = None):
    return boto3.session.Session(region_name="us-east-1").client(service, endpoint_url=url or stack.aws_url)


def _keys(keys: list[dict]) -> dict[str, str]:
    return {k["KeyType"]: k["AttributeName"] for k in keys}


def test_the_tables_are_the_data_templates(stack):
    dynamodb = _client(stack, "dynamodb")
    declared = _resources("data", "AWS::DynamoDB::Table")
    outputs = stack.outputs["data"]
    names = {outputs["MysfitsTableName"], outputs["LikesTableName"]}
    assert len(declared) == len(names) == 2
    for properties in declared.values():
        (name,) = [n for n in names if n.endswith(properties["TableName"]["Fn::Sub"].split("}-", 1)[1])]
        table = dynamodb.describe_table(TableName=name)["Table"]
        assert _keys(table["KeySchema"]) == _keys(properties["KeySchema"])
        assert sorted((a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]) == sorted(
            (a["AttributeName"], a["AttributeType"]) for a in properties["AttributeDefinitions"]
        )
        assert {
            i["IndexName"]: (_keys(i["KeySchema"]), i["Projection"]) for i in table.get("GlobalSecondaryIndexes", [])
        } == {i["IndexName"]: (_keys(i["KeySchema"]), i["Projection"]) for i in properties["GlobalSecondaryIndexes"]}
        assert table["BillingModeSummary"]["BillingMode"] == properties["BillingMode"]
        backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_the_user_pool_and_client_are_the_identity_templates(stack):
    cognito = _client(stack, "cognito-idp")
    ((_, pool_declared),) = _resources("identity", "AWS::Cognito::UserPool").items()
    ((_, client_declared),) = _resources("identity", "AWS::Cognito::UserPoolClient").items()
    outputs = stack.outputs["identity"]
    pool = cognito.describe_user_pool(UserPoolId=outputs["UserPoolId"])["UserPool"]
    assert (
        pool["Policies"]["PasswordPolicy"]
        == pool["Policies"]["PasswordPolicy"] | (pool_declared["Policies"]["PasswordPolicy"])
    )
    assert pool["UsernameAttributes"] == pool_declared["UsernameAttributes"]
    assert pool["AutoVerifiedAttributes"] == pool_declared["AutoVerifiedAttributes"]
    assert pool["MfaConfiguration"] == pool_declared["MfaConfiguration"]
    client = cognito.describe_user_pool_client(UserPoolId=outputs["UserPoolId"], ClientId=outputs["UserPoolClientId"])
    client = client["UserPoolClient"]
    assert "ClientSecret" not in client
    assert sorted(client["ExplicitAuthFlows"]) == sorted(client_declared["ExplicitAuthFlows"])
    for setting in ("IdTokenValidity", "AccessTokenValidity", "RefreshTokenValidity", "TokenValidityUnits"):
        assert client[setting] == client_declared[setting], setting
    assert client["PreventUserExistenceErrors"] == client_declared["PreventUserExistenceErrors"]
    # The site is configured with the same pool and client, and checks passwords by the pool's rules.
    assert (stack.config["userPoolId"], stack.config["userPoolClientId"]) == (pool["Id"], client["ClientId"])
    assert stack.config["passwordPolicy"] == site_password_policy(pool["Policies"]["PasswordPolicy"])


def test_the_clicks_bucket_and_stream_are_the_click_pipelines_template(stack):
    s3 = _client(stack, "s3")
    ((_, bucket_declared),) = _resources("clicks", "AWS::S3::Bucket").items()
    ((_, stream_declared),) = _resources("clicks", "AWS::KinesisFirehose::DeliveryStream").items()
    outputs = stack.outputs["clicks"]
    bucket = outputs["ClicksBucketName"]
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert [r["ApplyServerSideEncryptionByDefault"] for r in rules] == [
        c["ServerSideEncryptionByDefault"]
        for c in bucket_declared["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    ]
    assert (
        s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        == bucket_declared["PublicAccessBlockConfiguration"]
    )
    versioning = bucket_declared.get("VersioningConfiguration", {}).get("Status")
    assert s3.get_bucket_versioning(Bucket=bucket).get("Status") == versioning

    firehose = _client(stack, "firehose", stack.firehose_url)
    stream = firehose.describe_delivery_stream(DeliveryStreamName=outputs["DeliveryStreamName"])
    destination = stream["DeliveryStreamDescription"]["Destinations"][0]["ExtendedS3DestinationDescription"]
    declared = stream_declared["ExtendedS3DestinationConfiguration"]
    assert destination["BucketARN"] == f"arn:aws:s3:::{bucket}"
    assert (destination["Prefix"], destination["ErrorOutputPrefix"]) == (
        declared["Prefix"],
        declared["ErrorOutputPrefix"],
    )
    assert destination["CompressionFormat"] == declared["CompressionFormat"]
    # The one-machine stack delivers within a second (a parameter); the template's default is AWS's.
    assert destination["BufferingHints"] == {"IntervalInSeconds": CLICKS_BUFFER_SECONDS, "SizeInMBs": 1}
    (processor,) = destination["ProcessingConfiguration"]["Processors"]
    parameters = {p["ParameterName"]: p["ParameterValue"] for p in processor["Parameters"]}
    assert processor["Type"] == "Lambda"
    assert parameters["LambdaArn"] == outputs["FunctionArn"]
    assert parameters["NumberOfRetries"] == _parameter("clicks", "ProcessorRetries")
