"""The click pipeline's SAM template: valid for cfn-lint, wired to the code and the API definition it
deploys, and stating the stream, bucket layout and permissions the rest of the project relies on."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from enricher import config as config_module
from enricher import handler as handler_module

HERE = Path(__file__).resolve().parents[1]  # click-enricher/
TEMPLATE = HERE / "template.yaml"
STACK = "mysfits-clicks"  # the contract's stack name, used to evaluate ${AWS::StackName}
_FIREHOSE_LIMITS = {"BufferIntervalInSeconds": (0, 900), "BufferSizeInMBs": (1, 128), "ProcessorRetries": (0, 300)}


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!Ref, !Sub, ...) as {"Ref": ...} style dicts."""


def _tag(loader: yaml.SafeLoader, tag: str, node: yaml.Node) -> dict:
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if tag == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {tag if tag in ("Ref", "Condition") else f"Fn::{tag}": value}


_CfnLoader.add_multi_constructor("!", _tag)


@pytest.fixture(scope="module")
def template() -> dict:
    return yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass


def _resource(template: dict, logical_id: str, kind: str) -> dict:
    resource = template["Resources"][logical_id]
    assert resource["Type"] == kind
    return resource["Properties"]


def _statements(role: dict) -> list[dict]:
    return [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


def _stack_sub(value: dict) -> str:
    """A `!Sub` that only uses the stack's pseudo parameters, evaluated for the contract's stack."""
    return value["Fn::Sub"].replace("${AWS::StackName}", STACK)


def test_cfn_lint_passes():
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run([str(cfn_lint), str(TEMPLATE)], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_outputs_are_the_contract(template):
    assert set(template["Outputs"]) == {
        "ClicksApiUrl",
        "ClicksApiOrigin",
        "ClicksBucketName",
        "DeliveryStreamName",
        "DeliveryStreamArn",
        "FunctionName",
        "FunctionArn",
    }
    # Nobody imports from the clicks stack: nothing is exported, so nothing pins it.
    assert not any("Export" in output for output in template["Outputs"].values())
    url = template["Outputs"]["ClicksApiUrl"]["Value"]["Fn::Sub"]
    origin = template["Outputs"]["ClicksApiOrigin"]["Value"]["Fn::Sub"]
    assert url == origin + "/${StageName}"
    assert origin == "https://${ClicksApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"


def test_the_deploy_tool_parameters_have_no_default_and_the_rest_do(template):
    parameters = template["Parameters"]
    assert {name for name, p in parameters.items() if "Default" not in p} == {"CatalogApiUrl", "AllowedOrigins"}
    assert parameters["AllowedOrigins"]["AllowedPattern"] == "^https?://[^/,]+(,https?://[^/,]+)*$"
    assert all(p.get("Description") for p in parameters.values())
    defaults = {name: p.get("Default") for name, p in parameters.items()}
    assert (defaults["BufferIntervalInSeconds"], defaults["BufferSizeInMBs"]) == (60, 5)
    assert (defaults["ProcessorRetries"], defaults["ClickRetentionDays"]) == (3, 365)
    assert (defaults["ThrottlingRateLimit"], defaults["ThrottlingBurstLimit"]) == (200, 400)
    # Firehose's own limits.
    limits = {name: (parameters[name]["MinValue"], parameters[name]["MaxValue"]) for name in _FIREHOSE_LIMITS}
    assert limits == _FIREHOSE_LIMITS


def test_the_function_runs_the_packaged_handler_with_the_catalog_url(template):
    function = _resource(template, "ClickEnricherFunction", "AWS::Serverless::Function")
    module, name = function["Handler"].rsplit(".", 1)
    assert module == handler_module.__name__
    assert callable(getattr(handler_module, name))
    assert (HERE / function["CodeUri"]) == HERE / "build" / "click-enricher.zip"  # package.py's default output
    assert (function["Runtime"], function["Architectures"], function["Tracing"]) == ("python3.11", ["x86_64"], "Active")
    assert function["Environment"]["Variables"]["CATALOG_API_URL"] == {"Ref": "CatalogApiUrl"}
    assert "CATALOG_API_URL" in Path(config_module.__file__).read_text()  # the name the code reads
    assert set(function["Environment"]["Variables"]) == {"CATALOG_API_URL", "POWERTOOLS_SERVICE_NAME", "LOG_LEVEL"}
    assert "Policies" not in function  # logs and X-Ray only: no table, bucket or stream access
    assert "VpcConfig" not in function
    log_group = _resource(template, "ClickEnricherLogGroup", "AWS::Logs::LogGroup")
    assert function["LoggingConfig"]["LogGroup"] == {"Ref": "ClickEnricherLogGroup"}
    assert log_group["RetentionInDays"] == {"Ref": "LogRetentionInDays"}


def test_the_stream_delivers_enriched_clicks_under_the_time_prefixes(template):
    stream = _resource(template, "ClicksDeliveryStream", "AWS::KinesisFirehose::DeliveryStream")
    # Named after the stack: the deploy step renders the clicks definition with the stack's name.
    assert stream["DeliveryStreamName"] == {"Ref": "AWS::StackName"}
    assert stream["DeliveryStreamType"] == "DirectPut"
    assert stream["DeliveryStreamEncryptionConfigurationInput"] == {"KeyType": "AWS_OWNED_CMK"}
    s3 = stream["ExtendedS3DestinationConfiguration"]
    assert s3["BucketARN"] == {"Fn::GetAtt": ["ClicksBucket", "Arn"]}
    assert s3["RoleARN"] == {"Fn::GetAtt": ["FirehoseRole", "Arn"]}
    # docs/decisions.md "Explicit prefixes"; the integration tests read clicks/ and processing-failed/.
    assert s3["Prefix"] == "clicks/!{timestamp:yyyy/MM/dd/HH}/"
    assert s3["ErrorOutputPrefix"] == "!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/"
    assert s3["BufferingHints"] == {
        "IntervalInSeconds": {"Ref": "BufferIntervalInSeconds"},
        "SizeInMBs": {"Ref": "BufferSizeInMBs"},
    }
    assert s3["CompressionFormat"] == "UNCOMPRESSED"  # JSON lines, as the one-machine stand-in writes
    logging = s3["CloudWatchLoggingOptions"]
    assert logging["Enabled"] is True
    assert logging["LogGroupName"] == {"Ref": "FirehoseLogGroup"}
    log_stream = _resource(template, "FirehoseLogStream", "AWS::Logs::LogStream")
    assert log_stream["LogGroupName"] == {"Ref": "FirehoseLogGroup"}
    assert logging["LogStreamName"] == log_stream["LogStreamName"]


def test_the_enricher_is_the_streams_only_processor(template):
    processing = _resource(template, "ClicksDeliveryStream", "AWS::KinesisFirehose::DeliveryStream")[
        "ExtendedS3DestinationConfiguration"
    ]["ProcessingConfiguration"]
    assert processing["Enabled"] is True
    (processor,) = processing["Processors"]
    assert processor["Type"] == "Lambda"
    parameters = {p["ParameterName"]: p["ParameterValue"] for p in processor["Parameters"]}
    assert parameters["LambdaArn"] == {"Fn::GetAtt": ["ClickEnricherFunction", "Arn"]}
    assert parameters["NumberOfRetries"] == {"Fn::Sub": "${ProcessorRetries}"}
    # 1 MB: enriched records are about four times the raw clicks, and a Lambda response is at most 6 MB.
    assert parameters["BufferSizeInMBs"] == "1"
    assert parameters["BufferIntervalInSeconds"] == "60"


def test_firehose_may_write_its_bucket_invoke_its_enricher_and_log_only(template):
    role = _resource(template, "FirehoseRole", "AWS::IAM::Role")
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "firehose.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": {"Ref": "AWS::AccountId"}}}
    assert "ManagedPolicyArns" not in role
    allowed = {}
    for statement in _statements(role):
        assert statement["Effect"] == "Allow"
        for action in _listed(statement["Action"]):
            allowed.setdefault(action, []).extend(_listed(statement["Resource"]))
    s3_actions = {
        "s3:AbortMultipartUpload",
        "s3:GetBucketLocation",
        "s3:GetObject",
        "s3:ListBucket",
        "s3:ListBucketMultipartUploads",
        "s3:PutObject",
    }
    lambda_actions = {"lambda:InvokeFunction", "lambda:GetFunctionConfiguration"}
    assert set(allowed) == s3_actions | lambda_actions | {"logs:PutLogEvents"}
    bucket = [{"Fn::GetAtt": ["ClicksBucket", "Arn"]}, {"Fn::Sub": "${ClicksBucket.Arn}/*"}]
    assert all(allowed[a] == bucket for a in s3_actions)
    assert all(allowed[a] == [{"Fn::GetAtt": ["ClickEnricherFunction", "Arn"]}] for a in lambda_actions)
    (log_stream_arn,) = allowed["logs:PutLogEvents"]
    stream_name = _resource(template, "FirehoseLogStream", "AWS::Logs::LogStream")["LogStreamName"]
    assert log_stream_arn["Fn::Sub"].endswith(f":log-group:${{FirehoseLogGroup}}:log-stream:{stream_name}")


def test_the_clicks_api_role_is_named_for_the_definition_and_may_only_put_on_the_stream(template):
    role = _resource(template, "ClicksApiRole", "AWS::IAM::Role")
    # The deploy step fills ${ClicksApiRoleArn} with arn:...:role/<stack>-clicks-api before the stack exists.
    assert _stack_sub(role["RoleName"]) == f"{STACK}-clicks-api"
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert "ManagedPolicyArns" not in role
    (statement,) = _statements(role)
    assert statement["Effect"] == "Allow"
    assert _listed(statement["Action"]) == ["firehose:PutRecord"]
    assert statement["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:firehose:${AWS::Region}:${AWS::AccountId}:deliverystream/${AWS::StackName}"
    }


def test_the_clicks_api_serves_the_clicks_definition_with_cors_for_the_allowed_origins(template):
    api = _resource(template, "ClicksApi", "AWS::Serverless::Api")
    definition_path = HERE / api["DefinitionUri"]
    assert definition_path.resolve() == (HERE.parent / "click-ingest" / "clicks-api.yaml").resolve()
    definition = definition_path.read_text()
    # The definition's deploy variables the template's names provide (stream and role named after the stack).
    assert {"ClicksStreamName", "ClicksApiRoleArn"} <= set(re.findall(r"\$\{([A-Za-z]+)\}", definition))
    assert "$stageVariables.allowedOrigins" in definition
    assert api["Variables"] == {"allowedOrigins": {"Ref": "AllowedOrigins"}}
    assert api["StageName"] == {"Ref": "StageName"}
    assert api["EndpointConfiguration"] == {"Type": "REGIONAL"}
    assert api["TracingEnabled"] is True
    assert api["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["ClicksApiAccessLogGroup", "Arn"]}
    log_format = api["AccessLogSetting"]["Format"]
    assert "Authorization" not in log_format  # no tokens
    assert "$input" not in log_format  # no bodies
    (settings,) = api["MethodSettings"]
    assert settings["ThrottlingRateLimit"] == {"Ref": "ThrottlingRateLimit"}
    assert settings["ThrottlingBurstLimit"] == {"Ref": "ThrottlingBurstLimit"}
    assert settings["DataTraceEnabled"] is False


def test_the_bucket_is_private_encrypted_and_ages_out_clicks(template):
    bucket = _resource(template, "ClicksBucket", "AWS::S3::Bucket")
    (encryption,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert bucket["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    rules = bucket["LifecycleConfiguration"]["Rules"]
    (ageing,) = [r for r in rules if "ExpirationInDays" in r]
    assert ageing["Status"] == "Enabled"
    assert ageing["Transitions"] == [{"StorageClass": "STANDARD_IA", "TransitionInDays": 30}]
    assert ageing["ExpirationInDays"] == {"Ref": "ClickRetentionDays"}
    assert ageing["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    # S3 refuses an expiration that is not later than the transition.
    assert template["Parameters"]["ClickRetentionDays"]["MinValue"] > 30


def test_the_bucket_refuses_requests_without_tls(template):
    policy = _resource(template, "ClicksBucketPolicy", "AWS::S3::BucketPolicy")
    assert policy["Bucket"] == {"Ref": "ClicksBucket"}
    (deny,) = policy["PolicyDocument"]["Statement"]
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "s3:*")
    assert deny["Resource"] == [{"Fn::GetAtt": ["ClicksBucket", "Arn"]}, {"Fn::Sub": "${ClicksBucket.Arn}/*"}]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_every_checkov_skip_says_why(template):
    for logical_id, resource in template["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), logical_id
            assert len(skip.get("comment", "").split()) >= 8, f"{logical_id}: {skip['id']} needs a reason"
