"""The API Gateway stand-in as its own process, in front of a small upstream server."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from mysfits_local.processes import free_port
from mysfits_testkit.services import Service, start_service

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

    do_GET = do_POST = do_DELETE = do_OPTIONS = _answer

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


def _start_gateway(
    definitions: list[Path], stage_variables: dict[str, str], log_path: Path, env: dict | None = None
) -> Service:
    args = []
    for definition in definitions:
        args += ["--definition", str(definition)]
    for name, value in stage_variables.items():
        args += ["--stage-variable", f"{name}={value}"]
    return start_service("mysfits_local.gateway", args, log_path, env=env)


@pytest.fixture(scope="module")
def daemon():
    """A UDP socket where the X-Ray daemon would listen: the segments the gateway sends."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5)
        yield sock


@pytest.fixture
def traced(daemon):
    """The daemon socket, emptied of the segments of earlier tests."""
    daemon.setblocking(False)
    try:
        while True:
            daemon.recv(65536)
    except BlockingIOError:
        pass
    daemon.settimeout(5)
    return daemon


def _segment(daemon) -> dict:
    header, _, document = daemon.recv(65536).partition(b"\n")
    assert json.loads(header) == {"format": "json", "version": 1}
    return json.loads(document)


@pytest.fixture(scope="module")
def gateway(upstream, daemon, tmp_path_factory):
    env = {**os.environ, "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}", "XRAY_SAMPLING_RATE": "1"}
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
        env,
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
    root = response.headers["X-Amzn-Trace-Id"].split(";")[0]
    assert echoed["headers"]["X-Amzn-Trace-Id"].startswith(root + ";Parent=")
    assert response.headers["x-amzn-RequestId"]


def test_each_request_is_a_stage_segment_and_the_backend_is_its_child(gateway, traced):
    daemon = traced
    given = "Root=1-5f84c7a1-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"
    response = requests.post(f"{gateway}/echo/traced", data=b"{}", headers={"X-Amzn-Trace-Id": given}, timeout=5)
    segment = _segment(daemon)
    assert response.headers["X-Amzn-Trace-Id"] == "Root=1-5f84c7a1-0123456789abcdef01234567;Sampled=1"
    assert (segment["trace_id"], segment["parent_id"]) == ("1-5f84c7a1-0123456789abcdef01234567", "53995c3f42cd8ad8")
    assert segment["origin"] == "AWS::ApiGateway::Stage"
    assert segment["http"]["request"]["method"] == "POST"
    assert segment["http"]["response"]["status"] == 201
    assert segment["aws"]["api_gateway"]["request_id"] == response.headers["x-amzn-RequestId"]
    assert segment["end_time"] >= segment["start_time"]
    assert "fault" not in segment
    assert "error" not in segment
    forwarded = response.json()["headers"]["X-Amzn-Trace-Id"]
    assert forwarded == f"Root={segment['trace_id']};Parent={segment['id']};Sampled=1"


@pytest.mark.parametrize(
    "header",
    ["Root=1-nothex-0123;Sampled=1", "Root=1-5f84c7a1-0123456789abcdef01234567;Parent=zz", "x" * 300, "Parent=1"],
)
def test_a_malformed_trace_header_is_never_echoed_a_new_trace_starts(gateway, traced, header):
    daemon = traced
    response = requests.get(f"{gateway}/echo/malformed", headers={"X-Amzn-Trace-Id": header}, timeout=5)
    segment = _segment(daemon)
    assert header not in response.headers["X-Amzn-Trace-Id"]
    assert response.headers["X-Amzn-Trace-Id"] == f"Root={segment['trace_id']};Sampled=1"
    assert "parent_id" not in segment


def test_errors_and_faults_are_marked_and_an_unsampled_request_sends_nothing(gateway, traced):
    daemon = traced
    requests.get(f"{gateway}/no/such/route", timeout=5)
    assert _segment(daemon)["error"] is True
    requests.get(f"{gateway}/down", timeout=5)
    assert _segment(daemon)["fault"] is True
    unsampled = "Root=1-5f84c7a1-0123456789abcdef01234567;Sampled=0"
    requests.get(f"{gateway}/echo/quiet", headers={"X-Amzn-Trace-Id": unsampled}, timeout=5)
    requests.get(f"{gateway}/echo/loud", timeout=5)
    assert _segment(daemon)["http"]["request"]["url"].endswith("/echo/loud")


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
    wrong = requests.delete(f"{gateway}/mysfits", headers={"Origin": "http://site.test"}, timeout=5)
    assert wrong.status_code == 405
    assert wrong.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert wrong.headers["Access-Control-Allow-Origin"] == "http://site.test"
    assert wrong.json() == {
        "error": {"code": "MethodNotAllowed", "message": "DELETE is not allowed here; allowed: GET, HEAD, OPTIONS."}
    }


def test_head_is_answered_wherever_get_is(gateway):
    head = requests.head(f"{gateway}/slow", timeout=5)
    assert head.status_code == 504  # as GET: the slow route times out, the status is the same
    assert head.content == b""


def test_the_query_string_reaches_the_backend_as_the_client_encoded_it(gateway):
    response = requests.get(f"{gateway}/echo/q?cursor=+%C2%B5&value=%C2%8C%7F&a=%26b", timeout=5)
    assert response.status_code == 201
    assert response.json()["path"] == "/echo/q?cursor=+%C2%B5&value=%C2%8C%7F&a=%26b"


@pytest.mark.parametrize(
    ("path", "forwarded"),
    [
        ("/echo/%2e%2e", "/echo/%2E%2E"),  # not the upstream's /
        ("/echo/x%3Fa=b", "/echo/x%3Fa%3Db"),  # not a query string
        ("/echo/a/%2e%2e/b", "/echo/a/%2E%2E/b"),  # a greedy parameter keeps its slashes only
        ("/mysfits/%2e%2e", "/mysfits/%2E%2E"),  # the catalog's route, whose backend is the upstream here
        ("/mysfits/x%3Fa=b", "/mysfits/x%3Fa%3Db"),
    ],
)
def test_path_parameters_are_re_encoded_for_the_backend(gateway, path, forwarded):
    response = requests.get(f"{gateway}{path}", timeout=5)
    assert response.status_code == 201
    assert response.json()["path"] == forwarded


def _raw(gateway: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes no HTTP client would; the status, headers and body of the answer."""
    host, port = gateway.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (b"GET /echo/a\nb HTTP/1.1\r\nHost: x\r\n\r\n", 400, "BadRequest"),
        (b"GET /echo/" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "UriTooLong"),
        (b"GET /echo/a HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 11000 + b"\r\n\r\n", 431, "HeadersTooLarge"),
        (b"GET /echo/a HTTP/1.1\r\nHost: x\r\nBad Header\x01: y\r\n\r\n", 400, "BadRequest"),
    ],
)
def test_requests_that_cannot_be_parsed_get_the_json_error_with_cors(gateway, request_bytes, status, code):
    got, headers, body = _raw(gateway, request_bytes + b"")
    assert got == status
    assert headers["Content-Type"].startswith("application/json")
    assert headers["Access-Control-Allow-Origin"] == "*"  # its Origin could not be read
    assert json.loads(body)["error"]["code"] == code


def test_no_answer_names_server_software(gateway):
    for response in (requests.get(f"{gateway}/echo/a", timeout=5), requests.get(f"{gateway}/nope", timeout=5)):
        assert response.headers.get("Server") == "mysfits-api"


def test_missing_stage_variable_is_a_configuration_error(gateway):
    response = requests.get(f"{gateway}/unset", timeout=5)
    assert response.status_code == 500
    assert (
        response.json()["error"]["message"] == "Stage configuration error: \"stage variable 'notDefined' is not set\""
    )


def test_a_cors_preflight_is_forwarded_to_the_service_that_decides_it(gateway):
    headers = {"Origin": "https://partner.example", "Access-Control-Request-Method": "POST"}
    response = requests.options(f"{gateway}/mysfits/m-1", headers=headers, timeout=5)
    assert response.status_code == 201  # the upstream's own answer
    echoed = response.json()
    assert (echoed["method"], echoed["path"]) == ("OPTIONS", "/mysfits/m-1")
    assert echoed["headers"]["Origin"] == "https://partner.example"


def test_mysfits_api_with_the_catalog_down_is_502_with_cors(tmp_path):
    gateway = _start_gateway(
        [ROOT / "cfn/api/mysfits-api.yaml"],
        {"catalogHost": f"127.0.0.1:{free_port()}", "vpcLinkId": "local", "siteOrigin": "http://site.test"},
        tmp_path / "gateway.log",
    )
    try:
        response = requests.get(f"{gateway.url}/mysfits", headers={"Origin": "https://partner.example"}, timeout=5)
    finally:
        gateway.stop()
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "BadGateway"
    # An error the gateway makes itself may be read by a page anywhere: it holds nothing private.
    assert response.headers["Access-Control-Allow-Origin"] == "https://partner.example"
    assert response.headers["Vary"] == "Origin"


def test_with_no_daemon_listening_nothing_fails_and_nothing_floods_the_log(upstream, tmp_path):
    """Segments to a daemon that is not there are lost quietly, as the SDKs lose them."""
    env = {**os.environ, "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{free_port()}"}
    service = _start_gateway(
        [HERE / "data/test-api.yaml"], {"upstream": upstream, "siteOrigin": "http://site.test"}, tmp_path / "g.log", env
    )
    try:
        statuses = [requests.get(f"{service.url}/echo/{n}", timeout=5).status_code for n in range(50)]
    finally:
        service.stop()
    assert statuses == [201] * 50
    assert [line for line in service.log().splitlines() if "X-Ray" in line] == []  # UDP is lost without an error


def test_a_flood_is_refused_at_once_with_429_per_method_and_other_methods_still_answer(upstream, tmp_path):
    definition = ROOT / "cfn/api/mysfits-api.yaml"
    throttles = [f"--throttle={definition}=/*:*:5:10", f"--throttle={definition}=/mysfits:GET:1000:1000"]
    service = start_service(
        "mysfits_local.gateway",
        ["--definition", str(definition), *throttles,
         "--stage-variable", f"catalogHost={upstream}", "--stage-variable", "siteOrigin=http://site.test",
         "--stage-variable", "vpcLinkId=local"],
        tmp_path / "gateway.log",
    )  # fmt: skip
    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(
                pool.map(
                    lambda _: requests.get(
                        f"{service.url}/mysfits/m-1", headers={"Origin": "http://site.test"}, timeout=10
                    ),
                    range(60),
                )
            )
        statuses = [a.status_code for a in answers]
        # The burst of 10 (and the few the rate refills meanwhile) pass, the rest are refused fast.
        assert 10 <= statuses.count(201) <= 15, statuses
        throttled = [a for a in answers if a.status_code == 429]
        assert len(throttled) == 60 - statuses.count(201)
        assert throttled[0].json() == {
            "error": {"code": "TooManyRequests", "message": "Too many requests; please slow down."}
        }
        assert throttled[0].headers["Access-Control-Allow-Origin"] == "http://site.test"
        assert {a.headers["x-amzn-ErrorType"] for a in throttled} == {"THROTTLED"}  # never sent to the backend
        # Another method has its own limits (the more specific setting): it is not starved.
        assert all(requests.get(f"{service.url}/mysfits", timeout=5).status_code == 201 for _ in range(30))
        time.sleep(1)  # the rate refills the bucket
        assert requests.get(f"{service.url}/mysfits/m-1", timeout=5).status_code == 201
    finally:
        assert service.stop() == 0, service.log()
