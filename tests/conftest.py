"""The whole one-machine stack, started once for the cross-service tests, on free ports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from conftest import Pool, free_port
from mysfits_local.clicks import ClickReport, read_clicks
from mysfits_local.stack import DEFAULT_PORTS, STACK_FILE

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class RunningStack:
    process: subprocess.Popen
    output: list[str]
    site_url: str
    api_url: str
    catalog_url: str
    adoption_url: str
    aws_url: str
    run_dir: Path
    reader: threading.Thread
    ports: dict[str, int]

    @property
    def firehose_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['firehose']}"

    @property
    def xray_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['xray']}"

    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['console']}"

    def s3(self):
        """An S3 client on the stack's embedded AWS."""
        return boto3.session.Session(region_name="us-east-1").client("s3", endpoint_url=self.aws_url)

    @property
    def outputs(self) -> dict[str, dict[str, str]]:
        """The outputs of the stacks `up` deployed from the templates, by unit."""
        return json.loads((self.run_dir / STACK_FILE).read_text())["stacks"]

    @property
    def clicks_bucket(self) -> str:
        return self.outputs["clicks"]["ClicksBucketName"]

    @property
    def clicks_stream(self) -> str:
        return self.outputs["clicks"]["DeliveryStreamName"]

    def clicks(self) -> ClickReport:
        """What the click pipeline has written to the clicks bucket so far."""
        return read_clicks(self.s3(), self.clicks_bucket)

    @property
    def config(self) -> dict:
        """The site's generated config.json: API endpoint and the Cognito pool and client."""
        return json.loads((self.run_dir / "config.json").read_text())

    def stop(self, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        code = self.process.wait(timeout)
        self.reader.join(timeout)
        self.process.stdout.close()
        return code


PARTNER_ORIGIN = "https://partner.example"


def start_stack(
    run_dir: Path, ports: dict[str, int] | None = None, ready_timeout: float = 120, env: dict[str, str] | None = None
) -> RunningStack:
    ports = ports or {name: free_port() for name in DEFAULT_PORTS}
    command = [sys.executable, "-m", "mysfits_local", "up", "--run-dir", str(run_dir)]
    for name, port in ports.items():
        command += [f"--{name}-port", str(port)]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    output: list[str] = []
    ready = threading.Event()

    def read():
        for line in process.stdout:
            output.append(line)
            if "Press Ctrl-C to stop." in line:
                ready.set()
        ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    ready.wait(ready_timeout)
    url = lambda port: f"http://127.0.0.1:{port}"  # noqa: E731
    stack = RunningStack(
        process,
        output,
        url(ports["site"]),
        url(ports["api"]),
        url(ports["catalog"]),
        url(ports["adoption"]),
        url(ports["aws"]),
        run_dir,
        reader,
        ports,
    )
    return stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    # A partner's origin besides the site's, as `make up` takes it (MYSFITS_ALLOWED_ORIGINS).
    running = start_stack(tmp_path_factory.mktemp("stack"), env={"MYSFITS_ALLOWED_ORIGINS": PARTNER_ORIGIN})
    if running.process.poll() is not None or not any("Press Ctrl-C" in line for line in running.output):
        running.stop()
        pytest.fail("the stack did not start:\n" + "".join(running.output))
    yield running
    assert running.stop() == 0, "".join(running.output)


@pytest.fixture(scope="session")
def stack_pool(stack) -> Pool:
    """The running stack's user pool, to register visitors and get real tokens."""
    config = stack.config
    return Pool(config["userPoolId"], config["userPoolClientId"], config["cognitoEndpoint"])
