"""The catalog, through the gateway, against the one API definition."""

from pathlib import Path

import pytest
import requests
import yaml
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

pytestmark = pytest.mark.integration

DEFINITION_PATH = Path(__file__).resolve().parents[2] / "cfn/api/mysfits-api.yaml"
DEFINITION = yaml.safe_load(DEFINITION_PATH.read_text())


def _schema(name: str) -> dict:
    # Resolve component references by embedding the components under the schema.
    return {**DEFINITION["components"]["schemas"][name], "components": DEFINITION["components"]}


def _check(body, name: str) -> None:
    validator = OAS30Validator(_schema(name))
    errors = [error.message for error in validator.iter_errors(body)]
    assert errors == []


def test_the_definition_is_valid_openapi():
    validate(DEFINITION)


def test_every_route_has_an_integration_and_a_preflight():
    for path, item in DEFINITION["paths"].items():
        assert item["options"]["x-amazon-apigateway-integration"]["type"] == "mock", path
        for method in ("get", "post", "put", "delete"):
            if method in item:
                integration = item[method]["x-amazon-apigateway-integration"]
                assert integration["connectionType"] == "VPC_LINK"
                assert "${stageVariables." in integration["uri"]  # no environment-specific literals


def test_list_and_filter_match_the_definition(stack):
    _check(requests.get(f"{stack.api_url}/mysfits", timeout=10).json(), "MysfitList")
    body = requests.get(f"{stack.api_url}/mysfits?filter=LawChaos&value=Lawful", timeout=10).json()
    _check(body, "MysfitList")
    _check(requests.get(f"{stack.api_url}/mysfits?limit=2", timeout=10).json(), "MysfitList")


def test_profile_matches_the_definition(stack):
    first = requests.get(f"{stack.api_url}/mysfits", timeout=10).json()["mysfits"][0]
    _check(requests.get(f"{stack.api_url}/mysfits/{first['mysfitId']}", timeout=10).json(), "Mysfit")


@pytest.mark.parametrize("path", ["/mysfits/nope", "/mysfits?filter=Nope&value=x", "/nowhere"])
def test_errors_match_the_definition(stack, path):
    response = requests.get(f"{stack.api_url}{path}", timeout=10)
    assert response.status_code in (400, 404)
    _check(response.json(), "Error")


def test_adoption_routes_declare_the_cognito_authorizer():
    scheme = DEFINITION["components"]["securitySchemes"]["CognitoUserPool"]
    assert scheme["x-amazon-apigateway-authorizer"]["type"] == "cognito_user_pools"
    assert scheme["x-amazon-apigateway-authorizer"]["providerARNs"] == ["${UserPoolArn}"]
    for path, method in [("/mysfits/{mysfitId}/like", "post"), ("/mysfits/{mysfitId}/like", "delete"),
                         ("/mysfits/{mysfitId}/adopt", "post"), ("/me", "get")]:  # fmt: skip
        operation = DEFINITION["paths"][path][method]
        assert operation["security"] == [{"CognitoUserPool": []}]
        mapping = operation["x-amazon-apigateway-integration"]["requestParameters"]
        assert mapping["integration.request.header.X-Mysfits-Visitor"] == "context.authorizer.claims.sub"


def test_adoption_answers_match_the_definition(stack, stack_pool):
    visitor = stack_pool.sign_in()
    headers = {"Authorization": visitor["id"]}
    target = requests.get(f"{stack.api_url}/mysfits", timeout=10).json()["mysfits"][9]["mysfitId"]
    _check(requests.post(f"{stack.api_url}/mysfits/{target}/like", headers=headers, timeout=10).json(), "VisitorMysfit")
    _check(
        requests.delete(f"{stack.api_url}/mysfits/{target}/like", headers=headers, timeout=10).json(), "VisitorMysfit"
    )
    _check(requests.get(f"{stack.api_url}/me", headers=headers, timeout=10).json(), "Visitor")
    _check(requests.post(f"{stack.api_url}/mysfits/{target}/like", timeout=10).json(), "Error")
