"""The deploy tool, end to end against the embedded AWS: deploy, roll back, tear down, dry run."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from mysfits_deploy.site import published
from mysfits_deploy.stacks import UNITS, site_password_policy
from mysfits_local.account import ACCOUNT, REGION

ROOT = Path(__file__).resolve().parents[2]
SITE_ORIGIN = "https://mysfits.example"
MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def _manifest(tag: str) -> str:
    """A distinct image manifest per tag, as a push would store."""
    layer = {
        "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "size": 1,
        "digest": f"sha256:{tag:0>64}",
    }
    return json.dumps(
        {"schemaVersion": 2, "mediaType": MANIFEST, "config": layer, "layers": [layer]}
    )  # moto creates no CloudFront distribution: the site's origin is given


def _run(account, *arguments: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mysfits_deploy", *arguments],
        cwd=ROOT,
        env=env if env is not None else account.env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _client(account, service: str):
    return boto3.session.Session(region_name="us-east-1").client(service, endpoint_url=account.url)


def inventory(account) -> dict[str, list]:
    """Everything the deploy can create in an account, by kind."""
    ec2 = _client(account, "ec2")
    firehose = boto3.session.Session(region_name="us-east-1").client("firehose", endpoint_url=account.firehose_url)
    try:
        streams = [firehose.describe_delivery_stream(DeliveryStreamName="mysfits-clicks")["DeliveryStreamDescription"]]
    except ClientError:
        streams = []
    stacks = _client(account, "cloudformation").list_stacks()["StackSummaries"]
    return {
        "stacks": sorted(s["StackName"] for s in stacks if s["StackStatus"] != "DELETE_COMPLETE"),
        "tables": _client(account, "dynamodb").list_tables()["TableNames"],
        "buckets": [b["Name"] for b in _client(account, "s3").list_buckets()["Buckets"]],
        "pools": [p["Id"] for p in _client(account, "cognito-idp").list_user_pools(MaxResults=60)["UserPools"]],
        "roles": [r["RoleName"] for r in _client(account, "iam").list_roles()["Roles"]],
        "repositories": [r["repositoryName"] for r in _client(account, "ecr").describe_repositories()["repositories"]],
        "functions": [f["FunctionName"] for f in _client(account, "lambda").list_functions()["Functions"]],
        "apis": [a["id"] for a in _client(account, "apigateway").get_rest_apis()["items"]],
        "vpc links": [v["id"] for v in _client(account, "apigateway").get_vpc_links()["items"]],
        "vpcs": [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if not v["IsDefault"]],
        "load balancers": [
            lb["LoadBalancerArn"] for lb in _client(account, "elbv2").describe_load_balancers()["LoadBalancers"]
        ],
        "clusters": _active_clusters(_client(account, "ecs")),
        "log groups": [g["logGroupName"] for g in _client(account, "logs").describe_log_groups()["logGroups"]],
        "streams": streams,
    }


def _active_clusters(ecs) -> list[str]:
    """ECS keeps a deleted cluster for a while as INACTIVE (it costs nothing): only active ones count."""
    arns = ecs.list_clusters()["clusterArns"]
    return [c["clusterArn"] for c in ecs.describe_clusters(clusters=arns)["clusters"] if c["status"] == "ACTIVE"]


def test_deploy_roll_back_and_tear_down_leave_the_account_as_it_was(fresh_account):
    before = inventory(fresh_account)
    repository = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/mysfits-artifacts"
    images = [f"--image=catalog={repository}/catalog:v1", f"--image=adoption={repository}/adoption:v1"]
    deployed = _run(fresh_account, "deploy", *images, f"--site-origin={SITE_ORIGIN}")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    for unit in UNITS:  # each stack reported with its change set and its time
        assert f"{unit.stack_name}: create through a change set:" in deployed.stdout
        assert f"{unit.stack_name}: created in" in deployed.stdout
    assert f"the site: {SITE_ORIGIN}/" in deployed.stdout

    cloudformation = _client(fresh_account, "cloudformation")
    outputs = {
        unit.name: {
            o["OutputKey"]: o["OutputValue"]
            for o in cloudformation.describe_stacks(StackName=unit.stack_name)["Stacks"][0].get("Outputs", [])
        }
        for unit in UNITS
    }
    s3 = _client(fresh_account, "s3")
    site_bucket = outputs["site"]["SiteBucketName"]
    config = json.loads(s3.get_object(Bucket=site_bucket, Key="config.json")["Body"].read())
    pool = _client(fresh_account, "cognito-idp").describe_user_pool(UserPoolId=outputs["identity"]["UserPoolId"])
    enforced = pool["UserPool"]["Policies"]["PasswordPolicy"]  # what the deployed pool enforces
    assert config == {
        "apiEndpoint": outputs["api"]["ApiUrl"],
        "clicksEndpoint": outputs["clicks"]["ClicksApiUrl"],
        "region": "us-east-1",
        "userPoolId": outputs["identity"]["UserPoolId"],
        "userPoolClientId": outputs["identity"]["UserPoolClientId"],
        "passwordPolicy": site_password_policy(enforced),
    }
    index = s3.head_object(Bucket=site_bucket, Key="index.html")
    assert (index["ContentType"], index["CacheControl"]) == ("text/html; charset=utf-8", "no-cache")
    script = s3.get_object(Bucket=site_bucket, Key="js/app.js")
    assert script["ContentType"].startswith(("text/javascript", "application/javascript"))
    assert script["Body"].read() == published(ROOT / "web/js/app.js")  # minified, as the site serves it
    # The services run the images given; the CORS origin is the site's.
    catalog = {
        p["ParameterKey"]: p["ParameterValue"]
        for p in cloudformation.describe_stacks(StackName="mysfits-catalog")["Stacks"][0]["Parameters"]
    }
    assert (catalog["ImageUri"], catalog["AllowedOrigins"]) == (f"{repository}/catalog:v1", SITE_ORIGIN)
    assert catalog["AssetBaseUrl"] == SITE_ORIGIN  # the images are published with the site

    # A second image, then rollback returns the service to the one before.
    ecr = _client(fresh_account, "ecr")
    for tag in ("v1", "v2"):
        ecr.put_image(
            repositoryName="mysfits-artifacts/catalog",
            imageManifest=_manifest(tag),
            imageManifestMediaType=MANIFEST,
            imageTag=tag,
        )
    updated = _run(
        fresh_account, "deploy", "catalog", f"--image=catalog={repository}/catalog:v2", f"--site-origin={SITE_ORIGIN}"
    )
    assert updated.returncode == 0, updated.stdout + updated.stderr
    rolled_back = _run(fresh_account, "rollback", "catalog")
    assert rolled_back.returncode == 0, rolled_back.stdout + rolled_back.stderr
    catalog = {
        p["ParameterKey"]: p["ParameterValue"]
        for p in cloudformation.describe_stacks(StackName="mysfits-catalog")["Stacks"][0]["Parameters"]
    }
    assert catalog["ImageUri"] == f"{repository}/catalog:v1"

    assert inventory(fresh_account) != before
    torn_down = _run(fresh_account, "teardown", "--yes")
    assert torn_down.returncode == 0, torn_down.stdout + torn_down.stderr
    assert inventory(fresh_account) == before


def test_a_dry_run_lists_every_step_and_changes_nothing(fresh_account):
    before = inventory(fresh_account)
    result = _run(fresh_account, "deploy", "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    positions = [out.index(f"{unit.stack_name}: would create through a change set") for unit in UNITS]
    assert positions == sorted(positions), "stacks in deploy order"
    assert out.index("would run docker build -t mysfits-service shared") < out.index(
        "would run docker build -t <artifacts.CatalogRepositoryUri>:"
    )
    assert re.search(r"would run docker build -t \S+ catalog-service$", out, re.M)
    assert re.search(r"would run docker build -t \S+ adoption-service$", out, re.M)
    assert out.count("would run docker build -t mysfits-service shared") == 1  # once for both services
    assert "would run docker push" in out
    assert "click-enricher/package.py" in out
    assert "would upload s3://<artifacts.ArtifactsBucketName>/mysfits-api-" in out  # the rendered definition
    assert (
        "would upload s3://<site.SiteBucketName>/config.json (application/json; charset=utf-8, no-cache, max-age=0)"
        in out
    )
    assert "would invalidate /* on CloudFront distribution" in out
    # A pipeline (CodePipeline and CodeBuild are beyond moto): its stack and source, planned.
    pipeline = _run(fresh_account, "pipeline", "catalog", "--source-bucket=sources", "--dry-run")
    assert pipeline.returncode == 0, pipeline.stdout + pipeline.stderr
    assert "mysfits-catalog-pipeline: would create through a change set" in pipeline.stdout
    assert '"SourceBucket": "sources"' in pipeline.stdout
    assert '"StackName": "mysfits-catalog"' in pipeline.stdout
    assert inventory(fresh_account) == before


def test_one_unit_is_refused_while_the_stacks_it_needs_are_missing(fresh_account):
    result = _run(fresh_account, "deploy", "catalog", "--image=catalog=example/catalog:v1")
    assert result.returncode == 2
    assert "catalog needs the stacks mysfits-artifacts, mysfits-network, mysfits-data, mysfits-site" in result.stderr
    assert "Traceback" not in result.stderr
    assert inventory(fresh_account)["stacks"] == []


@pytest.mark.parametrize(
    ("missing", "said"),
    [
        (("AWS_REGION", "AWS_DEFAULT_REGION"), "No AWS region is configured"),
        (("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), "No AWS credentials found"),
    ],
)
def test_missing_configuration_is_one_clear_sentence(fresh_account, tmp_path, missing, said):
    env = {k: v for k, v in fresh_account.env().items() if k not in missing}
    env.update(AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))
    env.pop("AWS_PROFILE", None)
    result = _run(fresh_account, "teardown", "--dry-run", env=env)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {said}")
    assert len(result.stderr.strip().splitlines()) == 1
