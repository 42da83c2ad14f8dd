"""The one-machine stack's AWS resources, deployed from the same templates as on AWS.

The tables, the user pool and its client, the clicks bucket, the delivery stream and the
enricher's configuration are stated once, in the templates. Here each template goes through the
same steps as the deploy to AWS (package its local artifacts into the artifacts bucket, run the
SAM transform, deploy through a change set) into the embedded AWS, whose CloudFormation creates
what moto supports and, for the user pool, client and stream, what `cfn_types` adds.
"""

from __future__ import annotations

import json
from pathlib import Path

from mysfits_deploy import cloudformation, templates
from mysfits_deploy.stacks import BY_NAME, ROOT, definition_values

from .account import ACCOUNT, REGION
from .identity import embedded_client

# Units the one-machine stack deploys; the rest (network, services, API, site) are AWS-only:
# their parts run as processes here.
LOCAL_UNITS = ("artifacts", "data", "identity", "clicks")


class LocalInfra:
    def __init__(self, aws_url: str, region: str = REGION):
        self.aws_url = aws_url
        self.region = region
        self.cloudformation = embedded_client("cloudformation", aws_url, region)
        self.s3 = embedded_client("s3", aws_url, region)
        self.lambda_ = embedded_client("lambda", aws_url, region)
        self.outputs: dict[str, dict[str, str]] = {}

    def deploy(self, name: str, parameters: dict[str, str] | None = None) -> dict[str, str]:
        """Deploy one unit's template; its outputs (also kept in `outputs`)."""
        unit = BY_NAME[name]
        template = templates.load(unit.template_path)
        if templates.local_artifacts(template):
            template = templates.package(
                template,
                unit.template_path.parent,
                self._upload,
                definition_values(unit, self.outputs, ACCOUNT),
                # moto keeps the function's code but never runs it: the Lambda stand-in runs the
                # installed package, so the enricher's sources are enough here.
                code=lambda _path: templates.zip_sources(ROOT / "click-enricher" / "enricher"),
            )
        template = templates.translate(template, parameters, self.region)
        self.outputs[name] = cloudformation.deploy(self.cloudformation, unit.stack_name, template, parameters or {})
        return self.outputs[name]

    @staticmethod
    def definitions(names: tuple[str, ...] = ("api", "clicks")) -> list[Path]:
        """The API definitions the units' templates deploy (their DefinitionUri), for the gateway."""
        paths = []
        for name in names:
            unit = BY_NAME[name]
            for kind, path in templates.local_artifacts(templates.load(unit.template_path)).values():
                if kind == "DefinitionUri":
                    paths.append((unit.template_path.parent / path).resolve())
        return paths

    @staticmethod
    def _apis(names: tuple[str, ...], overrides: dict[str, str] | None = None):
        """(definition path, properties, parameters) of each REST API the units' templates make,
        their parameters at their defaults unless `overrides` gives them."""
        for name in names:
            unit = BY_NAME[name]
            template = templates.load(unit.template_path)
            parameters = {
                key: (overrides or {}).get(key, spec.get("Default")) for key, spec in template["Parameters"].items()
            }
            for resource in template["Resources"].values():
                properties = resource.get("Properties", {})
                if resource["Type"] == "AWS::Serverless::Api" and "DefinitionUri" in properties:
                    yield (unit.template_path.parent / properties["DefinitionUri"]).resolve(), properties, parameters

    @staticmethod
    def stage_throttling(
        names: tuple[str, ...] = ("api", "clicks"), overrides: dict[str, str] | None = None
    ) -> list[str]:
        """The API stages' throttling (MethodSettings) as the gateway stand-in's `--throttle`
        values, `DEFINITION=RESOURCE_PATH:HTTP_METHOD:RATE:BURST`, from the templates."""
        values = []
        for definition, properties, parameters in LocalInfra._apis(names, overrides):
            for setting in properties.get("MethodSettings", []):
                if "ThrottlingRateLimit" in setting:
                    rate, burst = (
                        parameters[item["Ref"]] if isinstance(item, dict) and "Ref" in item else item
                        for item in (setting["ThrottlingRateLimit"], setting["ThrottlingBurstLimit"])
                    )
                    values.append(f"{definition}={setting['ResourcePath']}:{setting['HttpMethod']}:{rate}:{burst}")
        return values

    @staticmethod
    def compression(names: tuple[str, ...] = ("api", "clicks")) -> list[str]:
        """The APIs' MinimumCompressionSize as the gateway stand-in's `--compress` values,
        `DEFINITION=BYTES`, from the templates (an API without it never compresses)."""
        return [
            f"{definition}={properties['MinimumCompressionSize']}"
            for definition, properties, _ in LocalInfra._apis(names)
            if "MinimumCompressionSize" in properties
        ]

    def definition_variables(self, names: tuple[str, ...] = ("api", "clicks")) -> dict[str, str]:
        """The deploy variables of the units' API definitions, for the gateway stand-in."""
        values: dict[str, str] = {}
        for name in names:
            values.update(definition_values(BY_NAME[name], self.outputs, ACCOUNT))
        return values

    def function(self, name: str) -> dict:
        """A deployed function's configuration (handler, timeout, memory, environment)."""
        return self.lambda_.get_function_configuration(FunctionName=name)

    def _upload(self, key: str, body: bytes) -> dict:
        bucket = self.outputs["artifacts"]["ArtifactsBucketName"]
        self.s3.put_object(Bucket=bucket, Key=key, Body=body)
        return {"Bucket": bucket, "Key": key}

    def save(self, path: Path, **addresses: str) -> None:
        """The stacks' outputs and the stack's addresses, for the commands that read the running
        stack (`clicks`, `trace`)."""
        saved = {"awsUrl": self.aws_url, **addresses, "stacks": self.outputs}
        path.write_text(json.dumps(saved, indent=2, sort_keys=True) + "\n", encoding="utf-8")

    @staticmethod
    def saved(path: Path) -> dict:
        """What `save` wrote: {"awsUrl", "stacks": {unit: outputs}}."""
        return json.loads(path.read_text(encoding="utf-8"))
