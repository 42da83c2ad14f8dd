"""`make up` started by a test: on its own ports and run directory, waited for by its ready file."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from boto3.dynamodb.types import TypeSerializer

from catalog.seed import bundled_records
from mysfits_deploy.stacks import ROOT
from mysfits_local.clicks import ClickReport, read_clicks
from mysfits_local.identity import embedded_client
from mysfits_local.processes import NotReady, Process, free_port
from mysfits_local.stack import DEFAULT_PORTS, READY_FILE, STACK_FILE


@dataclass
class RunningStack:
    """`up` (mysfits_local.stack) started by a test on its own ports and run directory."""

    up: Process
    run_dir: Path
    ports: dict[str, int]

    def _url(self, part: str) -> str:
        return f"http://127.0.0.1:{self.ports[part]}"

    @property
    def process(self) -> subprocess.Popen:
        return self.up.popen

    @property
    def output(self) -> list[str]:
        """What `up` has printed so far, by line."""
        return self.up.log().splitlines(keepends=True)

    site_url = property(lambda self: self._url("site"))
    api_url = property(lambda self: self._url("api"))
    catalog_url = property(lambda self: self._url("catalog"))
    adoption_url = property(lambda self: self._url("adoption"))
    aws_url = property(lambda self: self._url("aws"))
    firehose_url = property(lambda self: self._url("firehose"))
    xray_url = property(lambda self: self._url("xray"))
    console_url = property(lambda self: self._url("console"))

    def s3(self):
        """An S3 client on the stack's embedded AWS."""
        return embedded_client("s3", self.aws_url)

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

    @contextlib.contextmanager
    def own_mysfit(self, name: str):
        """The id of a mysfit only the caller uses (a copy of a bundled one, no likes, not adopted),
        deleted afterwards: on the shared stack other tests, and the fuzzer, like and adopt the
        bundled mysfits, so a test that counts cannot count on them."""
        mysfit_id = f"{name}-{uuid.uuid4().hex[:8]}"
        bundled = bundled_records()[0]
        table = embedded_client("dynamodb", self.aws_url)
        table_name = self.outputs["data"]["MysfitsTableName"]
        item = {**bundled, "MysfitId": mysfit_id, "Likes": 0, "Adopted": False}
        table.put_item(TableName=table_name, Item=TypeSerializer().serialize(item)["M"])
        try:
            yield mysfit_id
        finally:
            table.delete_item(TableName=table_name, Key={"MysfitId": {"S": mysfit_id}})  # others count the catalog

    def stop(self, timeout: float = 60) -> int:
        """Ctrl-C, and `up`'s exit code."""
        return self.up.stop(signal.SIGINT, timeout)


PARTNER_ORIGIN = "https://partner.example"


_runs = itertools.count()


def start_stack(
    run_dir: Path, ports: dict[str, int] | None = None, ready_timeout: float = 120, env: dict[str, str] | None = None
) -> RunningStack:
    """`up` on `ports` (free ones by default), once it is ready, or once it has failed to start."""
    ports = ports or {name: free_port() for name in DEFAULT_PORTS}
    command = [sys.executable, "-m", "mysfits_local", "up", "--run-dir", str(run_dir)]
    for name, port in ports.items():
        command += [f"--{name}-port", str(port)]
    ready_file = run_dir / READY_FILE
    up = Process(
        "up",
        command,
        run_dir.parent / f"{run_dir.name}-up-{next(_runs)}.log",
        {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        ROOT,
        ready=lambda: ready_file.read_text().strip() == str(up.pid),  # its ready file holds its pid
    ).start()
    with contextlib.suppress(NotReady):  # the tests look at what it said
        up.wait_ready(ready_timeout)
    return RunningStack(up, run_dir, ports)
