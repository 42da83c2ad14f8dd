import pytest
from flask import Flask
from marshmallow import Schema, fields

from mysfits_shared.errors import ApiError
from mysfits_shared.web import init_app


class _Body(Schema):
    count = fields.Integer(required=True)


@pytest.fixture
def client(make_settings):
    # Nothing listens on port 9: every table call fails to connect.
    app = Flask(__name__)
    init_app(app, make_settings("http://127.0.0.1:9", CORS_ALLOWED_ORIGINS="http://site.test"))

    @app.get("/conflict")
    def conflict():
        raise ApiError(409, "Conflict", "Already adopted.")

    @app.get("/validate")
    def validate():
        _Body().load({"count": "many"})

    @app.get("/table")
    def table():
        from mysfits_shared.models import Mysfit

        Mysfit.get("anything")

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    return app.test_client()


def test_api_error_uses_the_json_format(client):
    response = client.get("/conflict")
    assert response.status_code == 409
    assert response.json == {"error": {"code": "Conflict", "message": "Already adopted."}}


def test_validation_error_is_400_with_field_details(client):
    response = client.get("/validate")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "BadRequest"
    assert response.json["error"]["message"] == "count: Not a valid integer."
    assert response.json["error"]["details"] == {"count": ["Not a valid integer."]}


def test_unknown_route_and_method_are_json(client):
    assert client.get("/nowhere").json["error"]["code"] == "NotFound"
    response = client.post("/conflict")
    assert response.status_code == 405
    assert response.json["error"]["code"] == "MethodNotAllowed"
    assert "GET" in response.headers["Allow"]


def test_unreachable_table_is_503(client):
    response = client.get("/table")
    assert response.status_code == 503
    assert response.json["error"]["code"] == "ServiceUnavailable"


def test_unexpected_error_hides_internals(client):
    response = client.get("/boom")
    assert response.status_code == 500
    assert response.json == {"error": {"code": "InternalError", "message": "Something went wrong on our side."}}
    assert b"secret" not in response.data
    assert b"Traceback" not in response.data


def test_cors_headers_on_every_response_for_an_allowed_origin_only(client):
    response = client.get("/conflict", headers={"Origin": "http://site.test"})
    assert response.headers["Access-Control-Allow-Origin"] == "http://site.test"
    assert "ETag" in response.headers["Access-Control-Expose-Headers"]
    assert response.headers["Vary"] == "Origin"
    stranger = client.get("/conflict", headers={"Origin": "https://elsewhere.example"})
    assert "Access-Control-Allow-Origin" not in stranger.headers
    assert stranger.headers["Vary"] == "Origin"
    assert "Access-Control-Allow-Origin" not in client.get("/conflict").headers  # no Origin: no CORS


def test_a_preflight_from_an_allowed_origin_gets_the_routes_methods(client):
    headers = {"Origin": "http://site.test", "Access-Control-Request-Method": "GET"}
    response = client.options("/conflict", headers=headers)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "http://site.test"
    assert set(response.headers["Access-Control-Allow-Methods"].split(", ")) == set(
        response.headers["Allow"].split(", ")
    )
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    assert response.headers["Access-Control-Max-Age"] == "600"
    stranger = client.options("/conflict", headers={**headers, "Origin": "https://elsewhere.example"})
    assert "Access-Control-Allow-Origin" not in stranger.headers
    assert "Access-Control-Allow-Methods" not in stranger.headers
