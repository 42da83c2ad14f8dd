"""From a template in the repository to the template CloudFormation deploys."""

from __future__ import annotations

import json

import pytest

from mysfits_deploy import templates
from mysfits_deploy.stacks import BY_NAME, ROOT, UNITS, definition_values


def test_short_form_tags_load_as_intrinsic_functions(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(
        "Resources:\n  B:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: !Sub '${AWS::StackName}-b'\n"
    )
    assert templates.load(path)["Resources"]["B"]["Properties"]["BucketName"] == {"Fn::Sub": "${AWS::StackName}-b"}


def test_a_definition_is_rendered_with_its_deploy_variables_and_refused_without_them():
    path = ROOT / "cfn/api/mysfits-api.yaml"
    assert templates.definition_variables(path) == {"UserPoolArn"}
    arn = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_x"
    rendered = templates.render_definition(path, {"UserPoolArn": arn})
    assert rendered["components"]["securitySchemes"]["CognitoUserPool"]["x-amazon-apigateway-authorizer"][
        "providerARNs"
    ] == [arn]
    # Stage variables are API Gateway's to fill, at request time: they stay.
    assert "${stageVariables.catalogHost}" in json.dumps(rendered)
    with pytest.raises(templates.TemplateError, match=r"\$\{UserPoolArn\}"):
        templates.render_definition(path, {})


def test_packaging_uploads_rendered_definitions_and_code_under_content_addressed_keys():
    unit = BY_NAME["clicks"]
    uploads = {}

    def upload(key, body):
        uploads[key] = body
        return {"Bucket": "artifacts", "Key": key}

    values = definition_values(unit, {}, "123456789012")
    template = templates.load(unit.template_path)
    first = templates.package(template, unit.template_path.parent, upload, values, code=lambda _p: b"zip-1")
    again = templates.package(template, unit.template_path.parent, upload, values, code=lambda _p: b"zip-1")
    changed = templates.package(template, unit.template_path.parent, upload, values, code=lambda _p: b"zip-2")
    assert first == again  # same content, same keys: nothing to redeploy
    assert first != changed
    locations = [
        p for r in first["Resources"].values() for k, p in r.get("Properties", {}).items() if k.endswith("Uri")
    ]
    assert all(isinstance(p, dict) and p["Bucket"] == "artifacts" for p in locations)
    definition = next(json.loads(body) for key, body in uploads.items() if key.endswith(".json"))
    role = f"arn:aws:iam::123456789012:role/{unit.stack_name}-clicks-api"
    assert role in json.dumps(definition)
    assert templates.local_artifacts(template)
    assert not templates.local_artifacts(first)


@pytest.mark.parametrize("unit", [u for u in UNITS if "Transform" in templates.load(u.template_path)], ids=str)
def test_sam_templates_become_plain_cloudformation(unit):
    plain = templates.plain(unit.template_path)
    assert "Transform" not in plain
    assert not any(r["Type"].startswith("AWS::Serverless::") for r in plain["Resources"].values())
