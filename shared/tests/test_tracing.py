import json
import socket
import subprocess
import sys
import textwrap

from flask import Flask

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

    response = app.test_client().get("/work/m-7", headers={"X-Amzn-Trace-Id": sys.argv[1]})
    print(response.status_code, response.headers.get("X-Amzn-Trace-Id"))
    """
)


def test_tracing_off_installs_nothing(moto_url, make_settings):
    app = Flask(__name__)
    init_app(app, make_settings(moto_url))
    assert not any("xray" in repr(f).lower() for f in app.before_request_funcs.get(None, []))


def test_tracing_sends_request_segment_with_dynamodb_subsegment_to_the_daemon(moto_url, tmp_path):
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    daemon.settimeout(10)
    port = daemon.getsockname()[1]
    root = "1-5f84c7a1-0123456789abcdef01234567"
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": moto_url,
        "MYSFITS_TABLE_NAME": "MysfitsTable",
        "TRACING_ENABLED": "true",
        "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{port}",
    }
    result = subprocess.run(
        [sys.executable, "-c", _TRACED_APP, f"Root={root};Parent=53995c3f42cd8ad8;Sampled=1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("200 Root=" + root)
    # One JSON line per request, leading to its trace.
    (line,) = [json.loads(x.split(": ", 1)[1]) for x in result.stderr.splitlines() if "mysfits.request" in x]
    assert line["traceId"] == root
    assert (line["method"], line["path"], line["status"]) == ("GET", "/work/m-7", 200)
    assert line["durationMs"] >= 0

    with daemon:
        header, _, body = daemon.recv(65536).decode().partition("\n")
    assert json.loads(header) == {"format": "json", "version": 1}
    segment = json.loads(body)
    assert segment["trace_id"] == root
    assert segment["parent_id"] == "53995c3f42cd8ad8"
    assert segment["name"] == "traced-service"
    assert segment["http"]["response"]["status"] == 200
    assert segment["annotations"] == {"mysfitId": "m-7"}
    calls = [(s["name"], s["aws"]["operation"]) for s in segment["subsegments"]]
    assert ("dynamodb", "DescribeTable") in calls
