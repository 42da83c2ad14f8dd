"""The Lambda stand-in as its own process, invoked through a real boto3 lambda client.

The handlers are in handlers/lambda_handlers.py.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from mysfits_local.account import ACCOUNT, MAX_INVOKE_REQUEST_BYTES, REGION
from mysfits_testkit.services import Service, start_service

HERE = Path(__file__).resolve().parent
TIMEOUT = 1  # seconds: the functions' timeout
HANDLERS = ("echo", "count", "boom", "sleepy", "unserializable", "oversized", "powertools")


def handlers_path() -> str:
    """The import path with the test handlers first (the stand-in imports them by module name)."""
    return os.pathsep.join(filter(None, [str(HERE / "handlers"), os.environ.get("PYTHONPATH")]))


def start_runtime(log_path: Path, *extra: str, daemon: str | None = None) -> Service:
    args = ["--timeout", str(TIMEOUT), *extra]
    for name in HANDLERS:
        args += ["--function", f"{name}=lambda_handlers:{name}"]
    env = {**os.environ, "AWS_REGION": REGION, "PYTHONUNBUFFERED": "1", "PYTHONPATH": handlers_path()}
    if daemon:
        env.update(AWS_XRAY_DAEMON_ADDRESS=daemon, XRAY_SAMPLING_RATE="1")
    env.pop("POWERTOOLS_TRACE_DISABLED", None)
    return start_service("mysfits_local.lambda_runtime", args, log_path, env=env)


@pytest.fixture(scope="module")
def runtime_log(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("lambda") / "runtime.log"


@pytest.fixture(scope="module")
def runtime(runtime_log):
    service = start_runtime(runtime_log)
    yield service.url
    assert service.stop(timeout=15) == 0, service.log()


def lambda_client(url: str):
    return boto3.client(
        "lambda", endpoint_url=url, region_name=REGION, config=Config(retries={"total_max_attempts": 1})
    )


@pytest.fixture(scope="module")
def client(runtime):
    client = lambda_client(runtime)
    yield client
    client.close()


def invoke(client, name: str, payload=None, **kwargs) -> tuple[dict, object]:
    response = client.invoke(FunctionName=name, Payload=json.dumps(payload or {}).encode(), **kwargs)
    return response, json.loads(response["Payload"].read())


@pytest.mark.parametrize(
    ("function_name", "invoked_arn"),
    [
        ("echo", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:echo"),
        ("echo:$LATEST", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:echo:$LATEST"),
        (f"{ACCOUNT}:function:echo:live", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:echo:live"),
        (f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:echo", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:echo"),
        (
            f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:echo:$LATEST",
            f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:echo:$LATEST",
        ),
    ],
)
def test_invoke_round_trips_the_payload_with_a_lambda_context(client, function_name, invoked_arn):
    event = {"mysfitId": "b6d16e02-6aeb-413c-b457-321151bb403d", "nested": {"list": [1, 2.5, None, "ü"]}}
    response, answer = invoke(client, function_name, event)
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert response["ExecutedVersion"] == "$LATEST"
    assert answer["event"] == event
    context = answer["context"]
    assert context["function_name"] == "echo"
    assert context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"] == invoked_arn
    assert context["memory_limit_in_mb"] == "128"
    assert context["aws_request_id"] == response["ResponseMetadata"]["RequestId"]
    assert context["log_group_name"] == "/aws/lambda/echo"
    assert "[$LATEST]" in context["log_stream_name"]
    assert 0 < context["remaining_ms"] <= TIMEOUT * 1000
    assert answer["env"] == {
        "AWS_LAMBDA_FUNCTION_NAME": "echo",
        "AWS_REGION": REGION,
        "_HANDLER": "lambda_handlers.echo",
        "_X_AMZN_TRACE_ID": None,  # tracing is off: no trace context
    }


def test_module_state_persists_across_warm_invocations(client):
    counts = [invoke(client, "count")[1]["invocations"] for _ in range(3)]
    assert counts == [counts[0], counts[0] + 1, counts[0] + 2]


def test_an_exception_is_an_unhandled_function_error(client):
    response, answer = invoke(client, "boom", {"why": "the catalog is down"})
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert answer["errorType"] == "ValueError"
    assert answer["errorMessage"] == "boom: the catalog is down"
    assert any("lambda_handlers.py" in line and "in boom" in line for line in answer["stackTrace"])


def test_a_timeout_is_a_function_error_and_the_server_stays_responsive(runtime, client):
    outcome = {}

    def slow_call():
        slow_client = lambda_client(runtime)
        try:
            started = time.monotonic()
            outcome["response"], outcome["answer"] = invoke(slow_client, "sleepy", {"seconds": TIMEOUT + 1})
            outcome["elapsed"] = time.monotonic() - started
        finally:
            slow_client.close()

    thread = threading.Thread(target=slow_call)
    thread.start()
    time.sleep(0.2)
    started = time.monotonic()
    response, _ = invoke(client, "echo", {"while": "sleepy runs"})
    assert response["StatusCode"] == 200
    assert time.monotonic() - started < 0.5  # not queued behind the sleeping function
    thread.join(10)

    assert outcome["response"]["FunctionError"] == "Unhandled"
    assert outcome["answer"]["errorType"] == "Sandbox.Timedout"
    assert f"Task timed out after {TIMEOUT:.2f} seconds" in outcome["answer"]["errorMessage"]
    assert TIMEOUT <= outcome["elapsed"] < TIMEOUT + 0.8

    # The stray invocation still holds the function (one at a time); the next call waits for it.
    response, answer = invoke(client, "sleepy", {"seconds": 0})
    assert "FunctionError" not in response
    assert answer == {"slept": True}


@pytest.mark.parametrize(
    ("function", "error_type", "message"),
    [
        ("unserializable", "Runtime.MarshalError", "Unable to marshal response"),
        ("oversized", "Function.ResponseSizeTooLarge", "Response payload size exceeded maximum allowed payload size"),
    ],
)
def test_results_lambda_cannot_return(client, function, error_type, message):
    response, answer = invoke(client, function)
    assert response["FunctionError"] == "Unhandled"
    assert answer["errorType"] == error_type
    assert answer["errorMessage"].startswith(message)


def test_unknown_functions_and_bad_requests(client):
    with pytest.raises(client.exceptions.ResourceNotFoundException, match="function:nope"):
        invoke(client, "nope")
    with pytest.raises(client.exceptions.InvalidRequestContentException):
        client.invoke(FunctionName="echo", Payload=b"{not json")
    with pytest.raises(client.exceptions.RequestTooLargeException):
        client.invoke(FunctionName="echo", Payload=json.dumps({"x": "y" * MAX_INVOKE_REQUEST_BYTES}).encode())
    with pytest.raises(ClientError) as caught:
        client.invoke(FunctionName="not a name!", Payload=b"{}")
    assert caught.value.response["Error"]["Code"] == "ValidationException"


@pytest.mark.parametrize("invocation_type", ["Event", "DryRun"])
def test_only_request_response_invocations_are_served(client, invocation_type):
    before = invoke(client, "count")[1]["invocations"]
    with pytest.raises(client.exceptions.InvalidParameterValueException, match="RequestResponse only"):
        client.invoke(FunctionName="count", InvocationType=invocation_type, Payload=b"{}")
    assert invoke(client, "count")[1]["invocations"] == before + 1  # the refused call did not run


def test_powertools_handler_runs_without_an_xray_daemon(client, runtime_log):
    response, answer = invoke(client, "powertools", {"hello": "world"})
    assert "FunctionError" not in response
    assert answer == {"tracer_disabled": True}
    lines = [json.loads(line) for line in runtime_log.read_text().splitlines() if line.startswith("{")]
    logged = next(line for line in lines if line.get("message") == "handled")
    assert logged["function_name"] == "powertools"
    assert logged["function_request_id"] == response["ResponseMetadata"]["RequestId"]
    assert logged["answer"] == 42
    assert "Warning" not in runtime_log.read_text()


def test_sigint_stops_the_runtime(tmp_path):
    service = start_runtime(tmp_path / "runtime.log")
    client = lambda_client(service.url)
    try:
        assert invoke(client, "echo")[0]["StatusCode"] == 200
    finally:
        client.close()
    assert service.stop(signal.SIGINT, timeout=15) == 0


def test_active_tracing_records_the_invocation_and_hands_the_handler_its_trace(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as daemon:
        daemon.bind(("127.0.0.1", 0))
        daemon.settimeout(5)
        service = start_runtime(
            tmp_path / "traced.log", "--active-tracing", daemon=f"127.0.0.1:{daemon.getsockname()[1]}"
        )
        try:
            client = lambda_client(service.url)
            _, answer = invoke(client, "echo", {})
            segment = json.loads(daemon.recv(65536).partition(b"\n")[2])
            # The handler's trace context names the invocation's segment as its parent.
            assert answer["env"]["_X_AMZN_TRACE_ID"] == f"Root={segment['trace_id']};Parent={segment['id']};Sampled=1"
            assert (segment["name"], segment["origin"]) == ("echo", "AWS::Lambda::Function")
            assert "fault" not in segment
            assert segment["end_time"] >= segment["start_time"]

            invoke(client, "boom", {})
            assert json.loads(daemon.recv(65536).partition(b"\n")[2])["fault"] is True
        finally:
            service.stop()
