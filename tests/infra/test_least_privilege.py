"""Each role allows exactly what its component's code calls: nothing missing, nothing broader.

The calls are derived by running the code: the catalog and adoption services answer every route
against the deployed tables while each DynamoDB request they send is recorded; the enricher runs a
batch while every AWS call is recorded. The roles are read back from the embedded AWS, where the
stacks were deployed from the templates, so what is compared is what CloudFormation made.
"""

from __future__ import annotations

import ast
import uuid
from fnmatch import fnmatchcase

import botocore.client
import pytest
from pynamodb.connection.base import Connection

from adoption import create_app as create_adoption
from adoption.settings import AdoptionSettings
from catalog import create_app as create_catalog
from catalog import seed
from catalog.settings import CatalogSettings
from mysfits_deploy import templates
from mysfits_deploy.stacks import BY_NAME
from mysfits_local.account import ACCOUNT, REGION
from mysfits_local.identity import cognito_client, embedded_client, sign_in_visitor
from mysfits_local.infra import LocalInfra
from mysfits_shared import models
from mysfits_shared.settings import Settings
from mysfits_testkit.invocation import firehose_event, lambda_context

GUARDED = ("dynamodb:", "s3:", "firehose:")  # the services whose calls are derived here
# X-Ray's API has no resource-level permissions: its actions need Resource "*".
XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"}
TRANSACT_ITEM_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def _table_arn(table: str, index: str | None = None) -> str:
    arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"
    return f"{arn}/index/{index}" if index else arn


def _dynamodb_permissions(operation: str, request: dict) -> set[tuple[str, str]]:
    """The IAM (action, resource) pairs a DynamoDB request needs."""
    if operation == "TransactWriteItems":
        return {
            (f"dynamodb:{TRANSACT_ITEM_ACTIONS[kind]}", _table_arn(item[kind]["TableName"]))
            for item in request["TransactItems"]
            for kind in item
        }
    return {(f"dynamodb:{operation}", _table_arn(request["TableName"], request.get("IndexName")))}


@pytest.fixture
def dynamodb_calls(monkeypatch):
    """Every DynamoDB request PynamoDB sends while the test runs, as IAM permissions."""
    needed: set[tuple[str, str]] = set()
    dispatch = Connection.dispatch

    def recording(self, operation_name, operation_kwargs):
        needed.update(_dynamodb_permissions(operation_name, operation_kwargs))
        return dispatch(self, operation_name, operation_kwargs)

    monkeypatch.setattr(Connection, "dispatch", recording)
    return needed


def _role_permissions(iam, role_arn: str) -> tuple[set[tuple[str, str]], set[str]]:
    """What a role allows: (action, resource) pairs of its inline policies, and its managed policies."""
    role = role_arn.rsplit("/", 1)[-1]
    allowed = set()
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        if isinstance(document, str):
            # moto keeps a role's inline `Policies` from CloudFormation as a Python repr, not JSON.
            document = ast.literal_eval(document)
        for statement in _listed(document["Statement"]):
            assert statement["Effect"] == "Allow"
            allowed |= {(a, r) for a in _listed(statement["Action"]) for r in _listed(statement["Resource"])}
    managed = {p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]}
    return allowed, managed


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


def _assert_exactly(allowed: set[tuple[str, str]], needed: set[tuple[str, str]]) -> None:
    guarded = {(a, r) for a, r in allowed if a.startswith(GUARDED)}
    assert guarded == needed, f"missing: {sorted(needed - guarded)}; broader than needed: {sorted(guarded - needed)}"
    others = allowed - guarded
    assert {a for a, _ in others} <= XRAY_ACTIONS, f"unexpected actions: {sorted(others)}"
    assert all(r == "*" for _, r in others)
    assert not any("*" in a for a, _ in allowed), "no wildcard actions"


def _settings(deployed, kind: type[Settings] = CatalogSettings, **extra: str) -> Settings:
    data = deployed.outputs["data"]
    env = {
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL": deployed.aws_url,
        "MYSFITS_TABLE_NAME": data["MysfitsTableName"],
        "MYSFITS_LIKES_TABLE_NAME": data["LikesTableName"],
        "TRACING_ENABLED": "false",
        **extra,
    }
    return kind.from_env("least-privilege", env)


@pytest.fixture(scope="module")
def seeded(deployed):
    models.configure(_settings(deployed))
    seed.seed(seed.bundled_records())
    return [record["MysfitId"] for record in seed.bundled_records()]


def test_the_catalog_role_allows_exactly_the_catalog_reads(deployed, seeded, dynamodb_calls):
    client = create_catalog(_settings(deployed)).test_client()
    for path, status in (
        ("/mysfits", 200),
        ("/mysfits?filter=GoodEvil&value=Evil", 200),
        ("/mysfits?filter=LawChaos&value=Lawful", 200),
        ("/mysfits?filter=Species&value=Dragon", 200),
        ("/mysfits?limit=2", 200),
        ("/mysfits?limit=2&filter=GoodEvil&value=Good", 200),
        (f"/mysfits/{seeded[0]}", 200),
        ("/mysfits/no-such-mysfit", 404),
    ):
        assert client.get(path).status_code == status, path
    allowed, managed = _role_permissions(
        embedded_client("iam", deployed.aws_url), deployed.outputs["catalog"]["TaskRoleArn"]
    )
    assert managed == set()
    _assert_exactly(allowed, dynamodb_calls)
    assert {a for a, _ in dynamodb_calls} == {"dynamodb:Scan", "dynamodb:Query", "dynamodb:GetItem"}


def test_the_adoption_role_allows_exactly_the_adoption_writes(deployed, seeded, dynamodb_calls):
    identity = deployed.outputs["identity"]
    settings = _settings(
        deployed,
        AdoptionSettings,
        COGNITO_USER_POOL_ID=identity["UserPoolId"],
        COGNITO_USER_POOL_CLIENT_ID=identity["UserPoolClientId"],
        COGNITO_JWKS_URL=f"{deployed.aws_url}/{identity['UserPoolId']}/.well-known/jwks.json",
    )
    client = create_adoption(settings).test_client()
    visitor = sign_in_visitor(
        cognito_client(deployed.aws_url),
        identity["UserPoolClientId"],
        f"{uuid.uuid4().hex}@example.com",
        "Corr3ct-Horse!",
    )
    headers = {"Authorization": visitor["id"], "X-Mysfits-Visitor": visitor["sub"]}
    mysfit = seeded[1]
    for method, path, status in (
        ("post", f"/mysfits/{mysfit}/like", 200),
        ("post", f"/mysfits/{mysfit}/like", 200),
        ("delete", f"/mysfits/{mysfit}/like", 200),
        ("post", f"/mysfits/{mysfit}/adopt", 200),
        ("post", f"/mysfits/{mysfit}/adopt", 409),
        ("post", "/mysfits/no-such-mysfit/like", 404),
        ("get", "/me", 200),
    ):
        assert getattr(client, method)(path, headers=headers).status_code == status, (method, path)
    allowed, managed = _role_permissions(
        embedded_client("iam", deployed.aws_url), deployed.outputs["adoption"]["TaskRoleArn"]
    )
    assert managed == set()
    _assert_exactly(allowed, dynamodb_calls)


def test_the_enricher_touches_no_table_bucket_or_stream(deployed, monkeypatch):
    from enricher import handler

    calls = []
    make_api_call = botocore.client.BaseClient._make_api_call

    def recording(self, operation_name, api_params):
        calls.append((self.meta.service_model.service_name, operation_name))
        return make_api_call(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    monkeypatch.setenv("CATALOG_API_URL", "http://127.0.0.1:9")  # nothing listens: every lookup fails
    monkeypatch.setenv("CATALOG_ATTEMPTS", "1")
    handler.reset()
    event = firehose_event([{"mysfitId": "a-mysfit", "userId": "v"}, "not a click"])
    result = handler.handler(event, lambda_context())
    handler.reset()
    assert [r["result"] for r in result["records"]] == ["ProcessingFailed", "ProcessingFailed"]
    assert calls == []

    function = embedded_client("lambda", deployed.aws_url).get_function_configuration(
        FunctionName=deployed.outputs["clicks"]["FunctionName"]
    )
    allowed, managed = _role_permissions(embedded_client("iam", deployed.aws_url), function["Role"])
    assert not any(a.startswith(GUARDED) for a, _ in allowed)
    assert {arn.rsplit("/", 1)[-1] for arn in managed} <= {"AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess"}


def test_the_clicks_api_role_may_put_records_on_its_one_stream(deployed):
    clicks = deployed.outputs["clicks"]
    iam = embedded_client("iam", deployed.aws_url)
    # The role and definition the clicks template deploys, named as the deploy order names them.
    variables = deployed.definition_variables(("clicks",))
    allowed, managed = _role_permissions(iam, variables["ClicksApiRoleArn"])
    definition = templates.render_definition(LocalInfra.definitions(("clicks",))[0], variables)
    actions = {
        "firehose:" + operation["x-amazon-apigateway-integration"]["uri"].rsplit("/", 1)[-1]
        for item in definition["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "x-amazon-apigateway-integration" in operation
        if operation["x-amazon-apigateway-integration"].get("type") == "aws"
    }
    assert actions == {"firehose:PutRecord"}
    assert managed == set()
    _assert_exactly(allowed, {(a, clicks["DeliveryStreamArn"]) for a in actions})


def test_firehose_may_write_its_bucket_and_invoke_its_enricher_only(deployed):
    """What Firehose uses for an S3 destination with a Lambda processor (Firehose developer guide,
    "Grant Firehose access to an Amazon S3 destination") and nothing else."""
    clicks = deployed.outputs["clicks"]
    physical = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in deployed.cloudformation.list_stack_resources(StackName=BY_NAME["clicks"].stack_name)[
            "StackResourceSummaries"
        ]
    }
    role_id = "FirehoseRole"
    allowed, managed = _role_permissions(embedded_client("iam", deployed.aws_url), physical[role_id])
    bucket = f"arn:aws:s3:::{clicks['ClicksBucketName']}"
    s3_actions = {
        "AbortMultipartUpload",
        "GetBucketLocation",
        "GetObject",
        "ListBucket",
        "ListBucketMultipartUploads",
        "PutObject",
    }
    needed = {(f"s3:{a}", r) for a in s3_actions for r in (bucket, f"{bucket}/*")}
    assert {(a, r) for a, r in allowed if a.startswith("s3:")} == needed
    assert {(a, r) for a, r in allowed if a.startswith("lambda:")} == {
        ("lambda:InvokeFunction", clicks["FunctionArn"]),
        ("lambda:GetFunctionConfiguration", clicks["FunctionArn"]),
    }
    assert {a for a, _ in allowed} - {a for a, _ in needed} <= {
        "lambda:InvokeFunction",
        "lambda:GetFunctionConfiguration",
        "logs:PutLogEvents",
    }
    assert all(r != "*" for _, r in allowed)
    assert managed == set()


def test_cloudfront_may_only_read_the_site_objects_of_its_own_distribution():
    template = templates.load(BY_NAME["site"].template_path)
    (policy,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::S3::BucketPolicy"]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert len(allows) == 1
    (allow,) = allows
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert _listed(allow["Action"]) == ["s3:GetObject"]
    assert allow["Resource"] == {"Fn::Sub": "${SiteBucket.Arn}/*"}  # the site's objects, not the bucket
    distribution = "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Distribution}"
    assert allow["Condition"] == {"StringEquals": {"AWS:SourceArn": {"Fn::Sub": distribution}}}  # this distribution
    assert all(fnmatchcase(s["Effect"], "Deny") for s in statements if s is not allow)
