"""The services and the clicks API, through the gateway, against their API definitions."""

from pathlib import Path

import pytest
import requests
import yaml
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DEFINITION = yaml.safe_load((ROOT / "cfn/api/mysfits-api.yaml").read_text())
CLICKS_DEFINITION = yaml.safe_load((ROOT / "click-ingest/clicks-api.yaml").read_text())


def _schema(name: str, definition: dict) -> dict:
    # Resolve component references by embedding the components under the schema.
    return {**definition["components"]["schemas"][name], "components": definition["components"]}


def _check(body, name: str, definition: dict = DEFINITION) -> None:
    validator = OAS30Validator(_schema(name, definition))
    errors = [error.message for error in validator.iter_errors(body)]
    assert errors == []


@pytest.mark.parametrize("definition", [DEFINITION, CLICKS_DEFINITION], ids=["mysfits-api", "clicks-api"])
def test_the_definitions_are_valid_openapi(definition):
    validate(definition)


def test_every_route_has_an_integration_and_a_preflight():
    for path, item in DEFINITION["paths"].items():
        assert "options" in item, f"{path} has no preflight"
        for method in ("get", "post", "put", "delete", "options"):  # preflights go to the services too
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


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/mysfits/nope", 404),  # no such mysfit
        ("/mysfits?filter=Nope&value=x", 400),  # no such filter
        ("/nowhere", 404),  # no such route: the definition's MISSING_AUTHENTICATION_TOKEN response
    ],
)
def test_errors_match_the_definition(stack, path, status):
    response = requests.get(f"{stack.api_url}{path}", timeout=10)
    assert response.status_code == status
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


def test_the_clicks_api_validates_bodies_and_integrates_with_firehose():
    for method in ("put", "post"):
        operation = CLICKS_DEFINITION["paths"]["/clicks"][method]
        validator = CLICKS_DEFINITION["x-amazon-apigateway-request-validators"][
            operation["x-amazon-apigateway-request-validator"]
        ]
        assert validator["validateRequestBody"] is True
        integration = operation["x-amazon-apigateway-integration"]
        assert integration["type"] == "aws"
        assert integration["uri"].endswith(":firehose:action/PutRecord")
        assert integration["passthroughBehavior"] == "never"
        assert "${ClicksStreamName}" in integration["requestTemplates"]["application/json"]


def test_click_answers_match_the_definition(stack):
    mysfit_id = requests.get(f"{stack.api_url}/mysfits", timeout=10).json()["mysfits"][0]["mysfitId"]
    accepted = requests.put(f"{stack.api_url}/clicks", json={"mysfitId": mysfit_id, "userId": "contract"}, timeout=10)
    assert accepted.status_code == 200
    _check(accepted.json(), "Accepted", CLICKS_DEFINITION)
    refused = requests.put(f"{stack.api_url}/clicks", json={"userId": "contract"}, timeout=10)
    assert refused.status_code == 400
    _check(refused.json(), "Error", CLICKS_DEFINITION)
