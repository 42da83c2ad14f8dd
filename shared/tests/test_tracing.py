import json
import socket
import subprocess
import sys
import textwrap
import urllib.error

import pytest
from botocore.client import BaseClient
from flask import Flask

from mysfits_local.account import CREDENTIALS_ENV, REGION
from mysfits_shared import tracing
from mysfits_shared.auth import _fetch_json
from mysfits_shared.tracing import Sampler, TraceHeader
from mysfits_shared.web import init_app

# Run in a child process: patching botocore is process-wide and must not leak into other tests.
_TRACED_APP = textwrap.dedent(
    """
    import os, sys
    from flask import Flask
    from mysfits_shared.models import Mysfit
    from mysfits_shared.settings import Settings
    from mysfits_shared.web import init_app

    app = Flask("traced")
    init_app(app, Settings.from_env("traced-service"))

    @app.get("/work/<mysfit_id>")
    def work(mysfit_id):
        return {"exists": Mysfit.exists()}

    for _ in range(int(sys.argv[2]) if len(sys.argv) > 2 else 1):
        headers = {"X-Amzn-Trace-Id": sys.argv[1]} if sys.argv[1] else {}
        response = app.test_client().get("/work/m-7", headers=headers)
        print(response.status_code, response.headers.get("X-Amzn-Trace-Id"))
    """
)
ROOT = "1-5f84c7a1-0123456789abcdef01234567"
SAMPLED = f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1"


def _run_traced_app(
    moto_url: str, daemon_address: str, *args: str, header: str = SAMPLED, **env
) -> subprocess.CompletedProcess:
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_REGION": REGION,
        **CREDENTIALS_ENV,
        "AWS_ENDPOINT_URL": moto_url,
        "MYSFITS_TABLE_NAME": "MysfitsTable",
        "TRACING_ENABLED": "true",
        "AWS_XRAY_DAEMON_ADDRESS": daemon_address,
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", _TRACED_APP, header, *args], env=env, capture_output=True, text=True, timeout=60
    )


def _daemon() -> socket.socket:
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    daemon.settimeout(10)
    return daemon


def _closed_url() -> str:
    """The address of a port nothing listens on."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{closed.getsockname()[1]}"


def _received(daemon: socket.socket) -> dict:
    with daemon:
        header, _, body = daemon.recv(65536).decode().partition("\n")
    assert json.loads(header) == {"format": "json", "version": 1}
    return json.loads(body)


def test_tracing_off_records_nothing_and_patches_nothing(moto_url, make_settings):
    app = Flask(__name__)
    init_app(app, make_settings(moto_url))
    app.get("/work")(lambda: {})
    response = app.test_client().get("/work", headers={"X-Amzn-Trace-Id": SAMPLED})
    assert response.status_code == 200
    assert "X-Amzn-Trace-Id" not in response.headers
    assert not getattr(BaseClient._make_api_call, "traced", False)


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"TableName": "MysfitsTable", "Key": {}}, {"table_name": "MysfitsTable"}),
        ({"RequestItems": {"B": [], "A": []}}, {"table_names": ["A", "B"]}),
        (
            {
                "TransactItems": [
                    {"Update": {"TableName": "M"}},
                    {"Put": {"TableName": "L"}},
                    {"Put": {"TableName": "M"}},
                ]
            },
            {"table_names": ["L", "M"]},
        ),
        ({}, {}),
    ],
)
def test_an_aws_call_names_the_tables_it_touches(params, named):
    assert tracing._resources(params) == named


def test_an_outgoing_http_call_is_a_remote_subsegment_flagged_by_its_outcome(moto_url):
    segment: dict = {}
    token = tracing._segment.set(segment)
    try:
        assert _fetch_json(f"{moto_url}/us-east-1_nothing/.well-known/jwks.json", 5)["keys"]
        with pytest.raises(urllib.error.URLError):
            _fetch_json(_closed_url(), 1)
    finally:
        tracing._segment.reset(token)
    answered, refused = segment["subsegments"]
    assert (answered["namespace"], answered["name"], answered["http"]["request"]["method"]) == (
        "remote",
        "127.0.0.1",
        "GET",
    )
    assert answered["http"]["response"]["status"] == 200
    assert answered["fault"] is False
    assert refused["fault"] is True
    assert "response" not in refused["http"]
    assert refused["cause"]["exceptions"][0]["type"] == "URLError"
    assert refused["end_time"] >= refused["start_time"]


def test_tracing_sends_request_segment_with_dynamodb_subsegment_to_the_daemon(moto_url):
    daemon = _daemon()
    # A table no test creates: its DescribeTable is answered 400.
    result = _run_traced_app(moto_url, f"127.0.0.1:{daemon.getsockname()[1]}", MYSFITS_TABLE_NAME="NoSuchTable")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("200 Root=" + ROOT)
    # One JSON line per request, leading to its trace.
    (line,) = [json.loads(x.split(": ", 1)[1]) for x in result.stderr.splitlines() if "mysfits.request" in x]
    assert line["traceId"] == ROOT
    assert (line["method"], line["path"], line["status"]) == ("GET", "/work/m-7", 200)
    assert line["durationMs"] >= 0

    segment = _received(daemon)
    assert segment["trace_id"] == ROOT
    assert segment["parent_id"] == "53995c3f42cd8ad8"
    assert segment["name"] == "traced-service"
    assert segment["http"]["response"]["status"] == 200
    assert segment["annotations"] == {"mysfitId": "m-7"}
    calls = [(s["name"], s["aws"]["operation"]) for s in segment["subsegments"]]
    assert ("dynamodb", "DescribeTable") in calls
    # An answered 400 is an error of the call, not a fault.
    (call,) = [s for s in segment["subsegments"] if s.get("namespace") == "aws"]
    assert (call["http"]["response"]["status"], call["error"], call["fault"]) == (400, True, False)


def test_a_request_without_a_trace_header_logs_the_trace_the_service_started(moto_url):
    daemon = _daemon()
    result = _run_traced_app(moto_url, f"127.0.0.1:{daemon.getsockname()[1]}", header="", XRAY_SAMPLING_RATE="1")
    assert result.returncode == 0, result.stderr
    segment = _received(daemon)
    assert "parent_id" not in segment
    (line,) = [json.loads(x.split(": ", 1)[1]) for x in result.stderr.splitlines() if "mysfits.request" in x]
    assert line["traceId"] == segment["trace_id"]
    assert result.stdout.startswith(f"200 Root={segment['trace_id']}")


def test_a_table_call_that_gets_no_answer_is_a_fault_with_its_exception():
    """The SDK marks only answered errors (ClientError) on its botocore subsegments; a table that
    does not answer must be a fault too, or the trace of an outage looks healthy."""
    daemon = _daemon()
    result = _run_traced_app(
        _closed_url(), f"127.0.0.1:{daemon.getsockname()[1]}", DYNAMODB_MAX_RETRIES="0", DYNAMODB_TIMEOUT_SECONDS="0.5"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("503 ")
    segment = _received(daemon)
    assert segment["fault"] is True
    (call,) = [s for s in segment["subsegments"] if s.get("namespace") == "aws"]
    assert call["aws"]["operation"] == "DescribeTable"
    assert call["fault"] is True
    assert call["cause"]["exceptions"][0]["type"] == "EndpointConnectionError"


@pytest.mark.parametrize(
    ("address", "lines"),
    [
        ("no-such-daemon.invalid:2000", 1),  # the first send fails (no such host): said once
        ("127.0.0.1:9", 0),  # UDP to a port nobody listens on is lost without an error
    ],
)
def test_with_no_daemon_every_request_is_answered_and_the_log_says_so_at_most_once(moto_url, address, lines):
    result = _run_traced_app(moto_url, address, "40")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n").count(f"200 Root={ROOT}") == 40
    assert "Traceback" not in result.stderr
    about_xray = [line for line in result.stderr.splitlines() if "X-Ray" in line and "cannot be sent" in line]
    assert len(about_xray) == lines


def test_the_sampling_rules_keep_a_decision_skip_health_and_take_the_first_each_second():
    now = [1000.0]
    sampler = Sampler(rate=0, clock=lambda: now[0])
    assert sampler.sampled(None, "GET", "/mysfits") is True  # the first request this second
    assert sampler.sampled(None, "GET", "/mysfits") is False  # rate 0 for the rest
    assert sampler.sampled(TraceHeader(ROOT, None, True), "GET", "/mysfits") is True  # a decision is kept
    assert sampler.sampled(None, "GET", "/health") is False  # never, whatever the second
    assert sampler.sampled(None) is False  # an invocation: the default rule, used up this second
    now[0] += 1
    assert sampler.sampled(None) is True
    assert Sampler(rate=1).sampled(TraceHeader(ROOT, None, False), "GET", "/mysfits") is False
    assert all(Sampler(rate=1).sampled(None, "PUT", "/clicks") for _ in range(50))
