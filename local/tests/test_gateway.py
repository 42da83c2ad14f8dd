"""The API Gateway stand-in as its own process, in front of a small upstream server."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from conftest import Service, free_port, start_service

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


class Upstream(BaseHTTPRequestHandler):
    """Echoes what the gateway forwarded; /slow answers after two seconds."""

    def _answer(self):
        if self.path.startswith("/slow"):
            time.sleep(2)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.dumps(
            {
                "method": self.command,
                "path": self.path,
                "headers": dict(self.headers),
                "body": self.rfile.read(length).decode(),
            }
        ).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Upstream", "yes")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = _answer

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def upstream():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _start_gateway(definitions: list[Path], stage_variables: dict[str, str], log_path: Path) -> Service:
    args = []
    for definition in definitions:
        args += ["--definition", str(definition)]
    for name, value in stage_variables.items():
        args += ["--stage-variable", f"{name}={value}"]
    return start_service("mysfits_local.gateway", args, log_path)


@pytest.fixture(scope="module")
def gateway(upstream, tmp_path_factory):
    service = _start_gateway(
        # Later definitions win where they overlap, so the test definition's gateway responses apply.
        [ROOT / "cfn/api/mysfits-api.yaml", HERE / "data/test-api.yaml"],
        {
            "upstream": upstream,
            "nowhere": f"127.0.0.1:{free_port()}",
            "siteOrigin": "http://site.test",
            "catalogHost": upstream,
            "vpcLinkId": "local",
        },
        tmp_path_factory.mktemp("gateway") / "gateway.log",
    )
    yield service.url
    assert service.stop() == 0, service.log()


def test_proxies_method_path_query_headers_and_body(gateway):
    response = requests.post(
        f"{gateway}/echo/a/b?x=1&y=two",
        data=b'{"hello": 1}',
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert response.status_code == 201
    assert response.headers["X-Upstream"] == "yes"
    echoed = response.json()
    assert echoed["method"] == "POST"
    assert echoed["path"] == "/echo/a/b?x=1&y=two"
    assert echoed["body"] == '{"hello": 1}'
    assert echoed["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert echoed["headers"]["X-Amzn-Trace-Id"] == response.headers["X-Amzn-Trace-Id"]
    assert response.headers["x-amzn-RequestId"]


def test_path_parameters_are_mapped_into_the_integration_uri(gateway):
    echoed = requests.get(f"{gateway}/mysfits/abc-123", timeout=5).json()
    assert echoed["path"] == "/mysfits/abc-123"


def test_service_down_is_502_in_the_json_error_format(gateway):
    response = requests.get(f"{gateway}/down", timeout=5)
    assert response.status_code == 502
    assert response.json() == {"error": {"code": "BadGateway", "message": "down"}}
    assert response.headers["x-amzn-ErrorType"] == "INTEGRATION_FAILURE"
    # The type-specific response has no headers of its own: DEFAULT_5XX's apply.
    assert response.headers["Access-Control-Allow-Origin"] == "http://site.test"


def test_service_too_slow_is_504_in_the_json_error_format(gateway):
    started = time.monotonic()
    response = requests.get(f"{gateway}/slow", timeout=5)
    assert time.monotonic() - started < 1.5
    assert response.status_code == 504
    # INTEGRATION_TIMEOUT comes from the Mysfits API definition, loaded with the test one.
    assert response.json()["error"]["code"] == "GatewayTimeout"
    assert response.headers["x-amzn-ErrorType"] == "INTEGRATION_TIMEOUT"


def test_unknown_route_and_method(gateway):
    response = requests.get(f"{gateway}/nope", timeout=5)
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "NotFound", "message": "No such route: GET /nope"}}
    assert requests.delete(f"{gateway}/mysfits", timeout=5).status_code == 404


def test_missing_stage_variable_is_a_configuration_error(gateway):
    response = requests.get(f"{gateway}/unset", timeout=5)
    assert response.status_code == 500
    assert (
        response.json()["error"]["message"] == "Stage configuration error: \"stage variable 'notDefined' is not set\""
    )


def test_cors_preflight_is_answered_by_the_mock_integration(gateway):
    response = requests.options(f"{gateway}/mysfits", headers={"Origin": "http://site.test"}, timeout=5)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "http://site.test"
    assert response.headers["Access-Control-Allow-Headers"].startswith("Authorization")
    assert response.headers["Access-Control-Max-Age"] == "600"


def test_mysfits_api_with_the_catalog_down_is_502_with_cors(tmp_path):
    gateway = _start_gateway(
        [ROOT / "cfn/api/mysfits-api.yaml"],
        {"catalogHost": f"127.0.0.1:{free_port()}", "vpcLinkId": "local", "siteOrigin": "http://site.test"},
        tmp_path / "gateway.log",
    )
    try:
        response = requests.get(f"{gateway.url}/mysfits", timeout=5)
    finally:
        gateway.stop()
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "BadGateway"
    assert response.headers["Access-Control-Allow-Origin"] == "http://site.test"
