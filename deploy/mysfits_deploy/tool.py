"""Deploy, roll back and tear down Mythical Mysfits in an AWS account.

    python -m mysfits_deploy deploy [UNIT] [--dry-run] [--image SERVICE=URI] [--site-origin URL] [--allowed-origin URL]
    python -m mysfits_deploy rollback SERVICE [--dry-run]
    python -m mysfits_deploy pipeline UNIT (--connection-arn ARN --repository OWNER/NAME | --source-bucket B)
    python -m mysfits_deploy teardown [--yes] [--dry-run]

Region and credentials come from the usual AWS configuration (environment, profile, role). See
docs/deploy.md.
"""

from __future__ import annotations

import argparse
import base64
import json
import mimetypes
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from . import cloudformation, templates
from .site import published
from .stacks import (
    BY_NAME,
    PIPELINES,
    ROOT,
    UNITS,
    FromBuild,
    FromOutput,
    Unit,
    definition_values,
    parameters_for,
    site_password_policy,
)

SERVICES = {"catalog": "catalog-service", "adoption": "adoption-service"}
SERVICE_BASE_IMAGE = "mysfits-service"  # what each service's Dockerfile is FROM
# Browsers revalidate the page and its settings on every load; the rest may be cached briefly
# (the names are not content-hashed, so each deploy also invalidates CloudFront).
CACHE_CONTROL = {"index.html": "no-cache", "config.json": "no-cache, max-age=0"}
DEFAULT_CACHE_CONTROL = "public, max-age=300"


class DeployStop(Exception):
    """Stop with one clear sentence (exit code 2 for a refusal, 1 for a failure)."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


@dataclass
class Deployer:
    session: boto3.session.Session
    account: str
    dry_run: bool = False
    say: Callable[[str], None] = print
    images: dict[str, str] = field(default_factory=dict)
    site_origin: str | None = None
    allowed_origins: list[str] = field(default_factory=list)  # partners' pages, besides the site
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    base_built: bool = field(default=False, init=False)  # the services' image (shared/Dockerfile): once a run

    @property
    def region(self) -> str:
        return self.session.region_name

    def client(self, service: str):
        return self.session.client(service)

    # -- reading what exists --------------------------------------------------------------
    def load_outputs(self) -> None:
        cfn = self.client("cloudformation")
        for unit in UNITS:
            found = cloudformation.outputs(cfn, unit.stack_name)
            if found is not None:
                self.outputs[unit.name] = found

    def needs(self, unit: Unit) -> list[str]:
        """The units whose stacks `unit` imports from or takes parameters from."""
        template = templates.load(unit.template_path)
        needed = {source.unit for source in unit.parameters.values() if isinstance(source, FromOutput)}
        for imported in templates.imports(template):
            parameter = imported.split("}", 1)[0].removeprefix("${")
            stack = template["Parameters"][parameter]["Default"]
            needed |= {u.name for u in UNITS if u.stack_name == stack}
        if unit.definition_variables:
            needed |= {s.split(".")[0] for s in unit.definition_variables.values() if not s.startswith("stack.")}
        if templates.local_artifacts(template) or unit.name in SERVICES:
            needed.add("artifacts")  # where packaged code, definitions and images go
        return sorted(needed - {unit.name}, key=[u.name for u in UNITS].index)

    # -- deploy ---------------------------------------------------------------------------
    def deploy(self, only: str | None = None) -> None:
        self.load_outputs()
        units = [BY_NAME[only]] if only else list(UNITS)
        if only:
            missing = [name for name in self.needs(BY_NAME[only]) if name not in self.outputs]
            if missing and not self.dry_run:
                stacks = ", ".join(BY_NAME[name].stack_name for name in missing)
                raise DeployStop(
                    f"{only} needs the stacks {stacks}: deploy them first (or run `deploy` for everything)."
                )
        started = time.monotonic()
        for unit in units:
            if unit.name != "site" or not only:
                self.deploy_unit(unit)
        if not only or only == "site":
            self.publish_site()
        elif only in ("api", "clicks"):
            self.say("the site's settings name the APIs: run `deploy site` to publish them")
        self.say(f"done in {time.monotonic() - started:.0f}s")

    def deploy_unit(self, unit: Unit, overrides: dict[str, str] | None = None, *, kept: dict | None = None) -> None:
        """Build, package and deploy one unit; `kept`: deploy with these parameters as they are."""
        if kept is not None:
            parameters = dict(kept)
        else:
            try:
                parameters = self.parameters(unit, self.build(unit))
            except KeyError as missing:
                if not self.dry_run:
                    raise DeployStop(str(missing).strip("'")) from None
                parameters = {name: _placeholder(source) for name, source in unit.parameters.items()}
        if unit.name == "site":
            parameters["ConnectOrigins"] = self.connect_origins()
        parameters.update(overrides or {})
        template = templates.load(unit.template_path)
        if templates.local_artifacts(template):
            values = definition_values(unit, self._known(), self.account, self.region)
            template = templates.package(template, unit.template_path.parent, self.upload, values, self.code)
        template = templates.translate(template, parameters, self.region)
        self.run_change_set(unit, template, parameters)

    def _known(self) -> dict[str, dict[str, str]]:
        if not self.dry_run:
            return self.outputs
        # A dry run of a fresh account: outputs that do not exist yet are shown as placeholders.
        return _Placeholders(self.outputs)

    def parameters(self, unit: Unit, builds: dict[str, str]) -> dict[str, str]:
        outputs = dict(self.outputs)
        if self.site_origin:  # served from a custom domain: that is the origin to allow
            outputs["site"] = {**outputs.get("site", {}), "SiteOrigin": self.site_origin}
        values = parameters_for(unit, outputs, builds)
        if "AllowedOrigins" in values and self.allowed_origins:
            values["AllowedOrigins"] = ",".join([values["AllowedOrigins"], *self.allowed_origins])
        return values

    def build(self, unit: Unit) -> dict[str, str]:
        """The unit's build: a service's image (pushed to its repository), or the enricher's zip."""
        if unit.name in SERVICES:
            artifact = f"{unit.name} image"
            if unit.name in self.images:
                return {artifact: self.images[unit.name]}
            repository = self._known()["artifacts"][f"{unit.name.capitalize()}RepositoryUri"]
            image = f"{repository}:{_version()}"
            if not self.base_built:  # the image every service's Dockerfile starts FROM (shared/Dockerfile)
                self.command(["docker", "build", "-t", SERVICE_BASE_IMAGE, "shared"])
                self.base_built = True
            self.command(["docker", "build", "-t", image, SERVICES[unit.name]])
            self.ecr_login(repository)
            self.command(["docker", "push", image])
            return {artifact: image}
        if any(name == "CodeUri" for name, _ in templates.local_artifacts(templates.load(unit.template_path)).values()):
            self.command([sys.executable, "click-enricher/package.py"])
        return {}

    def ecr_login(self, repository: str) -> None:
        if self.dry_run:
            self.say(f"  would log in to {repository.split('/')[0]}")
            return
        token = self.client("ecr").get_authorization_token()["authorizationData"][0]
        password = base64.b64decode(token["authorizationToken"]).decode().split(":", 1)[1]
        registry = token["proxyEndpoint"].removeprefix("https://")
        subprocess.run(
            ["docker", "login", "--username", "AWS", "--password-stdin", registry],
            input=password.encode(),
            check=True,
            cwd=ROOT,
        )

    def command(self, argv: list[str]) -> None:
        shown = " ".join(argv)
        if self.dry_run:
            self.say(f"  would run {shown}")
            return
        self.say(f"  running {shown}")
        result = subprocess.run(argv, cwd=ROOT, check=False)
        if result.returncode:
            raise DeployStop(f"`{shown}` failed (exit code {result.returncode})", code=1)

    def upload(self, key: str, body: bytes) -> dict:
        bucket = self._known()["artifacts"]["ArtifactsBucketName"]
        if self.dry_run:
            self.say(f"  would upload s3://{bucket}/{key} ({len(body):,} bytes)")
        else:
            self.client("s3").put_object(Bucket=bucket, Key=key, Body=body)
        return {"Bucket": bucket, "Key": key}

    def code(self, path: Path) -> bytes:
        """A packaged artifact's bytes (in a dry run, one that would be built may not exist yet)."""
        if self.dry_run and not path.exists():
            return f"<{path.relative_to(ROOT)}, built by the step above>".encode()
        return path.read_bytes()

    def run_change_set(self, unit: Unit, template: dict, parameters: dict[str, str]) -> None:
        cfn = self.client("cloudformation")
        exists = cloudformation.outputs(cfn, unit.stack_name) is not None
        verb = "update" if exists else "create"
        if self.dry_run:
            self.say(
                f"{unit.stack_name}: would {verb} through a change set: {len(template['Resources'])} resources "
                f"from {unit.template}, parameters {json.dumps(parameters, sort_keys=True)}"
            )
            return
        started = time.monotonic()

        def planned(changes: list[dict]) -> None:
            actions = [c["ResourceChange"]["Action"] for c in changes if "ResourceChange" in c]
            counts = {a: actions.count(a) for a in ("Add", "Modify", "Remove") if a in actions}
            shown = ", ".join(f"{n} to {a.lower()}" for a, n in counts.items()) or "no change"
            self.say(f"{unit.stack_name}: {verb} through a change set: {shown}")

        def progressed(event: dict) -> None:
            reason = f" ({event['ResourceStatusReason']})" if event.get("ResourceStatusReason") else ""
            elapsed = time.monotonic() - started
            self.say(f"  {elapsed:5.1f}s {event['LogicalResourceId']:<32} {event['ResourceStatus']}{reason}")

        try:
            self.outputs[unit.name] = cloudformation.deploy(
                cfn, unit.stack_name, template, parameters, on_plan=planned, on_event=progressed
            )
        except cloudformation.DeployError as error:
            raise DeployStop(f"{unit.stack_name} failed: {error}", code=1) from None
        self.say(f"{unit.stack_name}: {verb}d in {time.monotonic() - started:.1f}s")

    # -- the site ---------------------------------------------------------------------------
    def connect_origins(self) -> str:
        """The origins the site calls (its CSP's connect-src): the two APIs, once they exist."""
        if self.dry_run:
            return f"{self._known()['api']['ApiOrigin']} {self._known()['clicks']['ClicksApiOrigin']}"
        api, clicks = self.outputs.get("api", {}), self.outputs.get("clicks", {})
        return " ".join(o for o in (api.get("ApiOrigin"), clicks.get("ClicksApiOrigin")) if o)

    def publish_site(self) -> None:
        """The site's CSP names the APIs; config.json from the outputs (the password rules from the
        identity template); the files; CloudFront."""
        self.deploy_unit(BY_NAME["site"])
        known = self._known()
        api, clicks, identity = known.get("api", {}), known.get("clicks", {}), known.get("identity", {})
        config = {
            "apiEndpoint": api.get("ApiUrl"),
            "clicksEndpoint": clicks.get("ClicksApiUrl"),
            "region": self.region,
            "userPoolId": identity.get("UserPoolId"),
            "userPoolClientId": identity.get("UserPoolClientId"),
            "passwordPolicy": site_password_policy(),
        }
        site = known.get("site", {})
        bucket = site.get("SiteBucketName")
        for path in sorted((ROOT / "web").rglob("*")):
            if path.is_file():
                self.put_site_file(bucket, str(path.relative_to(ROOT / "web")), published(path))
        self.put_site_file(bucket, "config.json", (json.dumps(config, indent=2) + "\n").encode())
        distribution = site.get("DistributionId")
        if self.dry_run:
            self.say(f"  would invalidate /* on CloudFront distribution {distribution or '<distribution>'}")
        elif distribution:
            self.client("cloudfront").create_invalidation(
                DistributionId=distribution,
                InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": str(time.time_ns())},
            )
        else:
            self.say("  the site stack has no CloudFront distribution (not created here): nothing to invalidate")
        self.say(f"the site: {site.get('SiteUrl') or self.site_origin or '<site URL>'}/")

    def put_site_file(self, bucket: str, key: str, body: bytes) -> None:
        content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type in ("application/javascript", "application/json"):
            content_type += "; charset=utf-8"
        cache = CACHE_CONTROL.get(key, DEFAULT_CACHE_CONTROL)
        if self.dry_run:
            self.say(f"  would upload s3://{bucket}/{key} ({content_type}, {cache})")
            return
        self.client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, CacheControl=cache)

    # -- rollback ---------------------------------------------------------------------------
    def rollback(self, service: str) -> None:
        if service not in SERVICES:
            raise DeployStop(f"rollback returns a service to its previous image: one of {', '.join(SERVICES)}.")
        self.load_outputs()
        unit = BY_NAME[service]
        stack = self.client("cloudformation").describe_stacks(StackName=unit.stack_name)["Stacks"][0]
        current = next(p["ParameterValue"] for p in stack["Parameters"] if p["ParameterKey"] == "ImageUri")
        repository, _, tag = current.rpartition(":")
        images = self.client("ecr").describe_images(repositoryName=repository.split("/", 1)[1])["imageDetails"]
        tagged = sorted((i for i in images if i.get("imageTags")), key=lambda i: i["imagePushedAt"])
        tags = [i["imageTags"][0] for i in tagged]
        if tag not in tags or tags.index(tag) == 0:
            raise DeployStop(f"{service} has no image older than {tag} to return to.")
        previous = f"{repository}:{tags[tags.index(tag) - 1]}"
        self.say(f"{unit.stack_name}: {current} -> {previous}")
        # Only the image changes: every other parameter keeps the stack's current value.
        kept = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
        self.deploy_unit(unit, kept={**kept, "ImageUri": previous})

    # -- pipelines --------------------------------------------------------------------------
    def pipeline(self, name: str, source: dict[str, str]) -> None:
        """Create or update a unit's delivery pipeline (`<unit stack>-pipeline`), once its stack exists."""
        self.load_outputs()
        unit = BY_NAME[name]
        if name not in self.outputs and not self.dry_run:
            raise DeployStop(
                f"the {name} pipeline deploys {unit.stack_name}, which does not exist: `deploy {name}` first."
            )
        artifacts = self._known()["artifacts"]
        parameters = {"StackName": unit.stack_name, **source}
        if name in SERVICES:
            parameters["ImageRepositoryUri"] = artifacts[f"{name.capitalize()}RepositoryUri"]
        else:
            parameters["ArtifactsBucketName"] = artifacts["ArtifactsBucketName"]
        template = templates.load(ROOT / PIPELINES[name])
        pipeline = Unit(f"{name}-pipeline", PIPELINES[name])
        self.run_change_set(pipeline, template, parameters)

    # -- teardown ---------------------------------------------------------------------------
    def teardown(self) -> None:
        cfn = self.client("cloudformation")
        self.load_outputs()
        pipelines = [Unit(f"{name}-pipeline", path) for name, path in PIPELINES.items()]
        for unit in [*pipelines, *reversed(UNITS)]:
            if cloudformation.outputs(cfn, unit.stack_name) is None:
                continue
            resources = cfn.list_stack_resources(StackName=unit.stack_name)["StackResourceSummaries"]
            if self.dry_run:
                self.say(f"{unit.stack_name}: would empty its buckets and repositories and delete it")
                continue
            for resource in resources:
                self.unprotect(resource)
                self.empty(resource)
            self.say(f"{unit.stack_name}: deleting ...")
            started = time.monotonic()
            cfn.delete_stack(StackName=unit.stack_name)
            cfn.get_waiter("stack_delete_complete").wait(StackName=unit.stack_name, WaiterConfig={"Delay": 2})
            for resource in resources:
                self.delete_retained(resource)
            self.say(f"{unit.stack_name}: deleted in {time.monotonic() - started:.1f}s")

    def unprotect(self, resource: dict) -> None:
        """Turn off a resource's deletion protection (tables, the user pool, the load balancer)."""
        kind, name = resource["ResourceType"], resource.get("PhysicalResourceId")
        if not name:
            return
        if kind == "AWS::DynamoDB::Table":
            self.client("dynamodb").update_table(TableName=name, DeletionProtectionEnabled=False)
        elif kind == "AWS::Cognito::UserPool":
            # UpdateUserPool resets what it is not given: harmless, the pool is deleted next.
            self.client("cognito-idp").update_user_pool(UserPoolId=name, DeletionProtection="INACTIVE")
        elif kind == "AWS::ElasticLoadBalancingV2::LoadBalancer":
            self.client("elbv2").modify_load_balancer_attributes(
                LoadBalancerArn=name, Attributes=[{"Key": "deletion_protection.enabled", "Value": "false"}]
            )
        else:
            return
        self.say(f"  deletion protection off: {kind.split('::')[-1]} {name}")

    def empty(self, resource: dict) -> None:
        """Empty a bucket (every object version) or an image repository before its stack goes."""
        kind, name = resource["ResourceType"], resource.get("PhysicalResourceId")
        if not name:
            return
        if kind == "AWS::S3::Bucket":
            s3 = self.client("s3")
            for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
                doomed = [
                    {"Key": v["Key"], "VersionId": v["VersionId"]}
                    for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
                ]
                if doomed:
                    s3.delete_objects(Bucket=name, Delete={"Objects": doomed, "Quiet": True})
            self.say(f"  emptied s3://{name}")
        elif kind == "AWS::ECR::Repository":
            ecr = self.client("ecr")
            images = ecr.list_images(repositoryName=name)["imageIds"]
            if images:
                ecr.batch_delete_image(repositoryName=name, imageIds=images)
            self.say(f"  emptied image repository {name} ({len(images)} images)")

    def delete_retained(self, resource: dict) -> None:
        """What a stack keeps on deletion (DeletionPolicy: Retain) goes too: teardown leaves nothing."""
        kind, name = resource["ResourceType"], resource.get("PhysicalResourceId")
        try:
            if kind == "AWS::DynamoDB::Table":
                self.client("dynamodb").delete_table(TableName=name)
            elif kind == "AWS::S3::Bucket":
                self.empty(resource)
                self.client("s3").delete_bucket(Bucket=name)
            elif kind == "AWS::IAM::Role":
                iam = self.client("iam")
                for policy in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
                    iam.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
                for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
                    iam.delete_role_policy(RoleName=name, PolicyName=policy)
                iam.delete_role(RoleName=name)
            else:
                return
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in (
                "ResourceNotFoundException",
                "NoSuchBucket",
                "NoSuchEntity",
            ):
                raise
            return
        self.say(f"  deleted the retained {kind.split('::')[-1]} {name}")


class _Placeholders(dict):
    """Outputs for a dry run: what exists, and `<unit.Output>` for what would be created."""

    def __init__(self, outputs: dict):
        super().__init__(outputs)

    def __missing__(self, unit: str) -> dict:
        return _PlaceholderOutputs(unit)

    def get(self, unit, default=None):
        return self[unit]


class _PlaceholderOutputs(dict):
    def __init__(self, unit: str):
        super().__init__()
        self.unit = unit

    def __missing__(self, output: str) -> str:
        return f"<{self.unit}.{output}>"

    def get(self, output, default=None):
        return self[output]


def _placeholder(source: FromOutput | FromBuild) -> str:
    """How a dry run shows a value that exists only once an earlier step has run."""
    return f"<{source.unit}.{source.output}>" if isinstance(source, FromOutput) else f"<{source.artifact}>"


def _version() -> str:
    """The image tag: the commit, marked when the work tree has changes (tags are immutable)."""
    commit = (
        subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        or "unversioned"
    )
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=False)
    return f"{commit}-{int(time.time())}" if dirty.stdout.strip() else commit


def _pipeline_source(args) -> dict[str, str]:
    if args.connection_arn and args.repository:
        return {
            "SourceType": "CodeConnections",
            "ConnectionArn": args.connection_arn,
            "FullRepositoryId": args.repository,
            "BranchName": args.branch,
        }
    if args.source_bucket:
        return {"SourceType": "S3", "SourceBucket": args.source_bucket, "SourceKey": args.source_key}
    raise DeployStop("A pipeline needs a source: --connection-arn and --repository, or --source-bucket.")


def _account(session: boto3.session.Session) -> str:
    if not session.region_name:
        raise DeployStop(
            "No AWS region is configured: set AWS_REGION (or AWS_DEFAULT_REGION), or a region in your profile."
        )
    try:
        return session.client("sts").get_caller_identity()["Account"]
    except (NoCredentialsError, NoRegionError):
        raise DeployStop(
            "No AWS credentials found: configure a profile (aws configure) or set AWS_PROFILE or AWS_ACCESS_KEY_ID."
        ) from None
    except ClientError as error:
        raise DeployStop(
            f"The AWS credentials were refused: {error.response.get('Error', {}).get('Message', error)}"
        ) from None
    except BotoCoreError as error:
        raise DeployStop(f"AWS cannot be reached: {error}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mysfits_deploy", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    deploy = sub.add_parser("deploy", help="everything in order, or one unit")
    deploy.add_argument("unit", nargs="?", choices=[u.name for u in UNITS], help="deploy this unit alone")
    deploy.add_argument(
        "--image",
        action="append",
        default=[],
        metavar="SERVICE=URI",
        help="deploy this already pushed image instead of building one (catalog, adoption)",
    )
    deploy.add_argument(
        "--site-origin", help="the site's origin when it is served from elsewhere (a custom domain): allowed by CORS"
    )
    deploy.add_argument(
        "--allowed-origin",
        action="append",
        default=[],
        metavar="URL",
        help="another origin whose pages may use the API, e.g. a partner's (repeatable; the site's always is)",
    )
    rollback = sub.add_parser("rollback", help="return a service to its previous image")
    rollback.add_argument("unit", choices=list(SERVICES))
    pipeline = sub.add_parser("pipeline", help="create or update a unit's delivery pipeline (after `deploy UNIT`)")
    pipeline.add_argument("unit", choices=list(PIPELINES))
    pipeline.add_argument("--connection-arn", help="a CodeConnections connection to the Git host")
    pipeline.add_argument("--repository", help="OWNER/NAME of the repository on that host")
    pipeline.add_argument("--branch", default="main")
    pipeline.add_argument("--source-bucket", help="without a connection: a bucket the source zip is put in")
    pipeline.add_argument("--source-key", default="mythical-mysfits.zip")
    teardown = sub.add_parser("teardown", help="delete everything, in reverse order, buckets and repositories first")
    teardown.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    for command in (deploy, rollback, pipeline, teardown):
        command.add_argument("--dry-run", action="store_true", help="print what would be done; change nothing")
    args = parser.parse_args(argv)

    try:
        # AWS_REGION as the SDKs and Lambda use it; otherwise AWS_DEFAULT_REGION or the profile's.
        session = boto3.session.Session(region_name=os.environ.get("AWS_REGION") or None)
        account = _account(session)
        images = dict(pair.split("=", 1) for pair in getattr(args, "image", []))
        deployer = Deployer(
            session,
            account,
            dry_run=args.dry_run,
            images=images,
            site_origin=getattr(args, "site_origin", None),
            allowed_origins=getattr(args, "allowed_origin", []),
        )
        deployer.say(
            f"account {account}, region {session.region_name}{' (dry run: nothing is changed)' if args.dry_run else ''}"
        )
        if args.command == "deploy":
            deployer.deploy(args.unit)
        elif args.command == "rollback":
            deployer.rollback(args.unit)
        elif args.command == "pipeline":
            deployer.pipeline(args.unit, _pipeline_source(args))
        else:
            if not (args.yes or args.dry_run):
                answer = input(
                    f"Delete every Mythical Mysfits stack, bucket and image in {account} {session.region_name}? [y/N] "
                )
                if answer.strip().lower() not in ("y", "yes"):
                    print("nothing deleted")
                    return 1
            deployer.teardown()
    except DeployStop as stop:
        print(f"error: {stop}", file=sys.stderr)
        return stop.code
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    return 0
