"""From a template in the repository to the template CloudFormation deploys.

* `load`: a template with its short-form tags (`!Ref`, `!Sub`, ...) as `Ref`/`Fn::` objects.
* `render_definition`: an API definition with its `${Name}` deploy variables filled (the
  local gateway reads definitions through it too, so both substitute alike).
* `package`: what `sam package` does: local `CodeUri` / `DefinitionUri` paths become S3
  locations under content-addressed keys, uploaded with the caller's `upload`; definitions are
  rendered first. A changed definition gets a new key, so SAM makes a new API deployment.
* `translate`: the SAM transform, done before upload, so the same plain template goes to AWS
  and to moto (which runs no transforms).
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import boto3
import yaml
from cfnlint.decode import cfn_yaml

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
# ${Name} and pseudo parameters (${AWS::Region}); ${stageVariables.x} has a dot and is not one.
DEPLOY_VARIABLE = re.compile(r"\$\{([A-Za-z0-9]+(?:::[A-Za-z0-9]+)?)\}")
# Managed policies SAM attaches by name (Tracing: Active); their ARNs are fixed.
_MANAGED_POLICIES = {"AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"}

Upload = Callable[[str, bytes], dict]  # (key, body) -> {"Bucket": ..., "Key": ...}


class TemplateError(ValueError):
    """A template or definition that cannot be deployed as it is."""


def load(path: Path) -> dict:
    """A CloudFormation template as plain data, short-form tags expanded."""
    return json.loads(json.dumps(cfn_yaml.load(str(path))))


def render_definition(path: Path, variables: dict[str, str], *, strict: bool = True) -> dict:
    """An API definition with `${Name}` filled from `variables` (YAML anchors resolved).

    `strict`: every deploy variable must be given (as on AWS); otherwise unknown ones stay.
    """
    text = Path(path).read_text(encoding="utf-8")
    missing = sorted({name for name in DEPLOY_VARIABLE.findall(text) if name not in variables})
    if strict and missing:
        raise TemplateError(f"{path}: no value for {', '.join('${' + name + '}' for name in missing)}")
    return yaml.safe_load(DEPLOY_VARIABLE.sub(lambda m: variables.get(m.group(1), m.group(0)), text))


def definition_variables(path: Path) -> set[str]:
    """The `${Name}` deploy variables a definition uses."""
    return set(DEPLOY_VARIABLE.findall(Path(path).read_text(encoding="utf-8")))


def local_artifacts(template: dict) -> dict[str, tuple[str, str]]:
    """Each resource's local path properties: logical id -> (property, path as written)."""
    found = {}
    for logical_id, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        for name in ("CodeUri", "DefinitionUri"):
            value = properties.get(name)
            if isinstance(value, str) and not value.startswith("s3://"):
                found[logical_id] = (name, value)
    return found


def package(
    template: dict,
    template_dir: Path,
    upload: Upload,
    definition_values: dict[str, str],
    code: Callable[[Path], bytes] | None = None,
) -> dict:
    """A copy of `template` whose local artifacts are uploaded and named by S3 location."""
    packaged = copy.deepcopy(template)
    for logical_id, (name, relative) in local_artifacts(template).items():
        path = (template_dir / relative).resolve()
        if name == "DefinitionUri":
            body = json.dumps(render_definition(path, definition_values), sort_keys=True).encode()
            suffix = ".json"
        else:
            body = code(path) if code else path.read_bytes()
            suffix = ".zip"
        key = f"{path.stem}-{hashlib.sha256(body).hexdigest()[:16]}{suffix}"
        packaged["Resources"][logical_id]["Properties"][name] = upload(key, body)
    return packaged


def translate(template: dict, parameters: dict[str, str] | None = None, region: str = "us-east-1") -> dict:
    """The SAM transform for `region`, when the template asks for it; others come back as they are."""
    transforms = template.get("Transform")
    transforms = [transforms] if isinstance(transforms, str) else transforms or []
    if SAM_TRANSFORM not in transforms:
        return template
    from samtranslator.metrics.metrics import Metrics
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    metrics = Metrics()  # SAM counts what it translated; nothing is sent anywhere
    session = boto3.session.Session(region_name=region)
    translator = Translator(None, Parser(), boto_session=session, metrics=metrics)
    translated = translator.translate(
        copy.deepcopy(template), dict(parameters or {}), get_managed_policy_map=lambda: _MANAGED_POLICIES
    )
    metrics.publish()
    return json.loads(json.dumps(translated))


def zip_sources(package_dir: Path) -> bytes:
    """A reproducible zip of a package's Python sources (no dependencies)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(package_dir.rglob("*.py")):
            info = zipfile.ZipInfo(str(path.relative_to(package_dir.parent)), date_time=(1980, 1, 1, 0, 0, 0))
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def plain(path: Path) -> dict:
    """The plain CloudFormation a template becomes, with placeholder artifact locations: what
    checks read when they look at the resources a SAM template really declares."""
    template = load(path)
    variables = set()
    for name, relative in local_artifacts(template).values():
        if name == "DefinitionUri":
            variables |= definition_variables(path.parent / relative)
    placeholder = lambda key, _body: {"Bucket": "artifacts", "Key": key}  # noqa: E731
    packaged = package(template, path.parent, placeholder, dict.fromkeys(variables, "placeholder"), lambda _p: b"")
    return translate(packaged)


def imports(node) -> list[str]:
    """Every `Fn::ImportValue` name in a template (or part of one), as written (`${XStack}-Output`)."""
    if isinstance(node, dict):
        if "Fn::ImportValue" in node:
            value = node["Fn::ImportValue"]
            return [value["Fn::Sub"] if isinstance(value, dict) else value]
        return [found for child in node.values() for found in imports(child)]
    if isinstance(node, list):
        return [found for child in node for found in imports(child)]
    return []
