"""Every stack of Mythical Mysfits, in deploy order, and where each required input comes from.

This table is the one statement of how the stacks fit together. Stacks import the AWS
resources they attach to (VPC, subnets, cluster, load balancer, VPC link, tables, user pool,
listener ports) with `Fn::ImportValue`, so CloudFormation refuses to delete a layer still in use;
addresses and configuration (the site's origin, the API's URL, container images) are parameters,
filled here from earlier stacks' outputs. A test checks the templates against this table: every
import names an export of an earlier stack, every parameter without a default is given here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import templates

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "mysfits"


@dataclass(frozen=True)
class FromOutput:
    """A parameter filled with an output of an earlier unit's stack."""

    unit: str
    output: str


@dataclass(frozen=True)
class FromBuild:
    """A parameter filled by the deploy step's own build (an image it pushed)."""

    artifact: str


@dataclass(frozen=True)
class Unit:
    name: str
    template: str  # relative to the repository root
    parameters: dict[str, FromOutput | FromBuild] = field(default_factory=dict)
    # An API definition the template's DefinitionUri names: its ${...} variables and their sources.
    definition_variables: dict[str, str] = field(default_factory=dict)

    @property
    def stack_name(self) -> str:
        return f"{PREFIX}-{self.name}"

    @property
    def template_path(self) -> Path:
        return ROOT / self.template


SITE_ORIGIN = FromOutput("site", "SiteOrigin")

UNITS: tuple[Unit, ...] = (
    # Where the deploy step uploads packaged code and rendered definitions.
    Unit("artifacts", "cfn/artifacts.yaml"),
    Unit("network", "cfn/network.yaml"),
    Unit("data", "cfn/data.yaml"),
    Unit("identity", "cfn/identity.yaml"),
    # Before the services and the APIs: they allow its origin (CORS). Its CSP then names the APIs'
    # origins, so the deploy step updates it once they exist (ConnectOrigins, which has a default).
    Unit("site", "cfn/site.yaml"),
    Unit(
        "catalog",
        "catalog-service/template.yaml",
        {"ImageUri": FromBuild("catalog image"), "AllowedOrigins": SITE_ORIGIN, "AssetBaseUrl": SITE_ORIGIN},
    ),
    Unit(
        "adoption",
        "adoption-service/template.yaml",
        {"ImageUri": FromBuild("adoption image"), "AllowedOrigins": SITE_ORIGIN},
    ),
    Unit("api", "cfn/api.yaml", {}, {"UserPoolArn": "identity.UserPoolArn"}),
    Unit(
        "clicks",
        "click-enricher/template.yaml",
        {"AllowedOrigins": SITE_ORIGIN, "CatalogApiUrl": FromOutput("api", "ApiUrl")},
        # Known before the stack exists: the stream is named after the stack, the role too.
        {"ClicksStreamName": "stack.name", "ClicksApiRoleArn": "stack.role:clicks-api"},
    ),
)
BY_NAME = {unit.name: unit for unit in UNITS}
# Each service's delivery pipeline: its own stack, deployed once per account (not in the order above).
PIPELINES = {
    "catalog": "catalog-service/pipeline.yaml",
    "adoption": "adoption-service/pipeline.yaml",
    "clicks": "click-enricher/pipeline.yaml",
}


def definition_values(
    unit: Unit, outputs: dict[str, dict[str, str]], account: str, region: str = "us-east-1", partition: str = "aws"
) -> dict:
    """The values of a unit's definition variables, from earlier outputs and the stack's own names,
    and the pseudo parameters (`${AWS::Region}`, ...) as `Fn::Sub` gives them."""
    suffix = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    values = {"AWS::Region": region, "AWS::AccountId": account, "AWS::Partition": partition, "AWS::URLSuffix": suffix}
    for variable, source in unit.definition_variables.items():
        if source == "stack.name":
            values[variable] = unit.stack_name
        elif source.startswith("stack.role:"):
            role = f"{unit.stack_name}-{source.removeprefix('stack.role:')}"
            values[variable] = f"arn:{partition}:iam::{account}:role/{role}"
        else:
            producer, output = source.split(".")
            values[variable] = outputs[producer][output]
    return values


def parameters_for(unit: Unit, outputs: dict[str, dict[str, str]], builds: dict[str, str]) -> dict[str, str]:
    """A unit's required parameters, from earlier units' outputs and the deploy step's builds."""
    values = {}
    for parameter, source in unit.parameters.items():
        if isinstance(source, FromBuild):
            if source.artifact not in builds:
                raise KeyError(f"{unit.name}: {parameter} needs the {source.artifact}, which was not built")
            values[parameter] = builds[source.artifact]
        else:
            value = outputs.get(source.unit, {}).get(source.output)
            if value is None:
                raise KeyError(f"{unit.name}: {parameter} needs {source.output} of the {source.unit} stack")
            values[parameter] = value
    return values


# The password rules a browser can check before asking Cognito (its PasswordPolicy names).
PASSWORD_RULES = ("MinimumLength", "RequireUppercase", "RequireLowercase", "RequireNumbers", "RequireSymbols")


def site_password_policy(policy: dict | None = None) -> dict[str, int | bool]:
    """A user pool's `PasswordPolicy` as the site's `config.json` gives it (`passwordPolicy`):
    the rules a browser can check, named in camelCase like the rest of config.json.

    By default the policy of the identity template the pool is deployed from: the site's
    checklist states no copy of its own. On AWS and on one machine alike, the pool is made from
    this very file (tests compare it with the deployed pool's)."""
    if policy is None:
        resources = templates.load(BY_NAME["identity"].template_path)["Resources"].values()
        (pool,) = [r["Properties"] for r in resources if r["Type"] == "AWS::Cognito::UserPool"]
        policy = pool["Policies"]["PasswordPolicy"]
    return {rule[0].lower() + rule[1:]: policy[rule] for rule in PASSWORD_RULES if rule in policy}
