"""Run the whole Mythical Mysfits stack on one machine: `python -m mysfits_local up`.

Starts, in dependency order and each as its own process: the embedded AWS (moto in server
mode), the Cognito user pool and web client, the tables and the seed data, the catalog and
adoption services under gunicorn, the API Gateway stand-in (Mysfits API and clicks API),
the click enricher in the Lambda stand-in, the Firehose stand-in with the clicks bucket
and delivery stream, and the site. Each step waits until its part answers. Ctrl-C (or
SIGTERM) stops everything, in reverse order, leaving no process behind: the Firehose
stand-in goes first after the site and delivers what it buffered while the enricher, the
API and the catalog it needs still run. If any part fails to start or dies, the command
says which, shows the end of its log and exits non-zero.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

from mysfits_deploy.cloudformation import DeployError
from mysfits_deploy.stacks import BY_NAME
from mysfits_deploy.templates import TemplateError

from . import clicks
from .infra import REGION, LocalInfra

DEFAULT_PORTS = {
    "site": 8080,
    "api": 8000,
    "catalog": 8081,
    "adoption": 8082,
    "aws": 4566,
    "firehose": 4573,
    "lambda": 4574,
    "xray": 2000,
    "console": 8090,
}
# Firehose's local buffering: deliver within a second (AWS allows 0-900 s).
CLICKS_BUFFER_SECONDS = 1
STACK_FILE = "stack.json"  # the stacks' outputs and the embedded AWS's address, for later commands
READY_TIMEOUT = 60.0
RESTARTS = 3  # a part that stops more often than this within RESTART_WINDOW stops the stack
RESTART_WINDOW = 60.0
STOP_TIMEOUT = 10.0
FLUSH_TIMEOUT = 60.0  # the Firehose stand-in delivers its buffers before it exits


class StackError(RuntimeError):
    """A part of the stack failed to start or stopped unexpectedly."""


@dataclass
class Ports:
    site: int = DEFAULT_PORTS["site"]
    api: int = DEFAULT_PORTS["api"]
    catalog: int = DEFAULT_PORTS["catalog"]
    adoption: int = DEFAULT_PORTS["adoption"]
    aws: int = DEFAULT_PORTS["aws"]
    firehose: int = DEFAULT_PORTS["firehose"]
    # "lambda" is a keyword: the attribute has a trailing underscore.
    lambda_: int = DEFAULT_PORTS["lambda"]
    xray: int = DEFAULT_PORTS["xray"]
    console: int = DEFAULT_PORTS["console"]

    @classmethod
    def of(cls, ports: dict[str, int]) -> Ports:
        """Ports by their DEFAULT_PORTS names (the command line's and the tests')."""
        return cls(**{("lambda_" if name == "lambda" else name): port for name, port in ports.items()})

    def by_name(self) -> dict[str, int]:
        return {name.rstrip("_"): port for name, port in vars(self).items()}


@dataclass(frozen=True)
class UserPool:
    id: str
    arn: str
    client_id: str


@dataclass
class Part:
    name: str
    process: subprocess.Popen
    log_path: Path
    stop_timeout: float = STOP_TIMEOUT
    command: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    restarts: list[float] = field(default_factory=list)  # when it was restarted (monotonic)


def _die_with_parent() -> None:
    """Runs in each child before exec: if `up` itself is killed, the child gets SIGTERM."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Stack:
    root: Path
    ports: Ports
    run_dir: Path
    host: str = "127.0.0.1"
    say: Callable[[str], None] = print
    parts: list[Part] = field(default_factory=list)
    user_pool: UserPool | None = None
    infra: LocalInfra | None = None
    # The API stages' template parameters where they differ from the defaults (the benchmark
    # raises the throttling limits to measure the stack's capacity, not the throttle).
    stage_parameters: dict[str, str] = field(default_factory=dict)
    allowed_origins: list[str] = field(default_factory=list)  # besides the site's
    fresh: bool = False  # forget what the previous runs kept (`make up FRESH=1`)

    # -- addresses -------------------------------------------------------------------
    def url(self, port: int) -> str:
        return f"http://{self.host}:{port}"

    @property
    def site_url(self) -> str:
        return self.url(self.ports.site)

    @property
    def state_file(self) -> Path:
        """The embedded AWS's state (tables, users, buckets, stacks): the requests that changed it."""
        return self.run_dir / "state" / "aws.jsonl"

    @property
    def signing_key_file(self) -> Path:
        """The key pair the embedded Cognito signs tokens with (kept: sessions outlive a run)."""
        return self.run_dir / "cognito-signing-key.json"

    @property
    def firehose_dir(self) -> Path:
        """The Firehose stand-in's journal: the clicks it acknowledged and has not delivered."""
        return self.run_dir / "firehose"

    @property
    def kept(self) -> list[Path]:
        """What outlives a run, and `fresh` forgets."""
        return [self.state_file.parent, self.signing_key_file, self.firehose_dir]

    @property
    def allowed_origins_list(self) -> str:
        """The origins whose pages may use the APIs, comma-separated: the site's, then the others."""
        return ",".join([self.site_url, *self.allowed_origins])

    @property
    def api_url(self) -> str:
        return self.url(self.ports.api)

    @property
    def catalog_url(self) -> str:
        return self.url(self.ports.catalog)

    @property
    def adoption_url(self) -> str:
        return self.url(self.ports.adoption)

    @property
    def aws_url(self) -> str:
        return self.url(self.ports.aws)

    @property
    def firehose_url(self) -> str:
        return self.url(self.ports.firehose)

    @property
    def lambda_url(self) -> str:
        return self.url(self.ports.lambda_)

    @property
    def xray_url(self) -> str:
        return self.url(self.ports.xray)

    @property
    def console_url(self) -> str:
        return self.url(self.ports.console)

    def service_env(self) -> dict[str, str]:
        """The environment every service gets: AWS endpoints point at the embedded AWS."""
        env = dict(os.environ)
        env.update(
            AWS_REGION=REGION,
            AWS_DEFAULT_REGION=REGION,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106 - moto accepts any credentials
            AWS_ENDPOINT_URL=self.aws_url,
            # The stand-ins outside moto, found the way boto3 finds any service endpoint.
            AWS_ENDPOINT_URL_FIREHOSE=self.firehose_url,
            AWS_ENDPOINT_URL_LAMBDA=self.lambda_url,
            # The site's pages, and any other origin given on `make up` (MYSFITS_ALLOWED_ORIGINS).
            CORS_ALLOWED_ORIGINS=self.allowed_origins_list,
            ASSET_BASE_URL=self.site_url,  # where the images are published
            # The X-Ray stand-in: segments over UDP, the X-Ray API over HTTP, on one port.
            AWS_XRAY_DAEMON_ADDRESS=f"{self.host}:{self.ports.xray}",
            AWS_ENDPOINT_URL_XRAY=self.xray_url,
            # On one machine every request is traced (on AWS: the first each second, then 5%).
            XRAY_SAMPLING_RATE="1",
            PYTHONUNBUFFERED="1",
        )
        if self.infra and "data" in self.infra.outputs:
            data = self.infra.outputs["data"]
            env.update(MYSFITS_TABLE_NAME=data["MysfitsTableName"], MYSFITS_LIKES_TABLE_NAME=data["LikesTableName"])
        if self.user_pool:
            env.update(
                COGNITO_USER_POOL_ID=self.user_pool.id,
                COGNITO_USER_POOL_CLIENT_ID=self.user_pool.client_id,
                COGNITO_JWKS_URL=f"{self.aws_url}/{self.user_pool.id}/.well-known/jwks.json",
            )
        return env

    # -- start / stop ----------------------------------------------------------------
    def start(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "logs").mkdir(exist_ok=True)
        self._check_ports_free()
        python = sys.executable
        if self.fresh:
            self.say(f"  state    starting clean: what earlier runs kept in {self.run_dir} is forgotten")
            for path in self.kept:
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)
        elif self.state_file.exists():
            self.say(f"  state    kept from the last run in {self.state_file.parent} (`make up FRESH=1` starts clean)")

        self._spawn("xray", [python, "-m", "mysfits_local.xray", "--host", self.host, "--port", str(self.ports.xray)])
        self._wait_until("xray", lambda: _answers(self.xray_url))
        self._spawn(
            "aws",
            [python, "-m", "mysfits_local.aws", "-H", self.host, "-p", str(self.ports.aws),
             "--signing-key", str(self.signing_key_file), "--state", str(self.state_file)],
        )  # fmt: skip
        self._wait_until("aws", lambda: requests.get(f"{self.aws_url}/moto-api/", timeout=2).ok)

        self.infra = LocalInfra(self.aws_url)
        for unit in ("artifacts", "data", "identity"):
            self._deploy(unit)
        identity = self.infra.outputs["identity"]
        self.user_pool = UserPool(identity["UserPoolId"], identity["UserPoolArn"], identity["UserPoolClientId"])
        self.say(f"  cognito  user pool {self.user_pool.id}, web client {self.user_pool.client_id}")

        self._run_step("seed", [python, "-m", "catalog.seed"])
        self.say(f"  seeded   {self.infra.outputs['data']['MysfitsTableName']}")

        for name, port in (("catalog", self.ports.catalog), ("adoption", self.ports.adoption)):
            self._spawn(
                name,
                [
                    python,
                    "-m",
                    "gunicorn",
                    "-c",
                    "python:mysfits_shared.gunicorn_conf",
                    "--bind",
                    f"{self.host}:{port}",
                    f"{name}:create_app()",
                ],
            )
        for name, url in (("catalog", self.catalog_url), ("adoption", self.adoption_url)):
            self._wait_until(name, lambda url=url: requests.get(f"{url}/health", timeout=2).ok)

        definition_variables = [
            argument
            for name, value in self.infra.definition_variables().items()
            for argument in ("--definition-variable", f"{name}={value}")
        ]
        self._spawn(
            "api",
            [
                python,
                "-m",
                "mysfits_local.gateway",
                "--host",
                self.host,
                "--port",
                str(self.ports.api),
                # The definitions the API stacks deploy (their templates' DefinitionUri).
                *(argument for path in LocalInfra.definitions() for argument in ("--definition", str(path))),
                *definition_variables,
                "--stage-variable",
                f"catalogHost={self.host}:{self.ports.catalog}",
                "--stage-variable",
                f"adoptionHost={self.host}:{self.ports.adoption}",
                "--cognito-endpoint",
                self.aws_url,
                "--cognito-client-id",
                self.user_pool.client_id,
                "--stage-variable",
                "vpcLinkId=local",
                "--stage-variable",
                f"allowedOrigins={self.allowed_origins_list}",
                *(f"--throttle={value}" for value in LocalInfra.stage_throttling(overrides=self.stage_parameters)),
                *(f"--compress={value}" for value in LocalInfra.compression()),
            ],
        )
        self._wait_until("api", lambda: requests.get(f"{self.api_url}/mysfits", timeout=5).ok)

        self.start_click_pipeline()
        self.infra.save(self.run_dir / STACK_FILE, xrayUrl=self.xray_url)

        config_path = self.write_site_config()
        self._spawn(
            "site",
            [
                python,
                "-m",
                "mysfits_local.site",
                "--host",
                self.host,
                "--port",
                str(self.ports.site),
                "--web-dir",
                str(self.root / "web"),
                "--config",
                str(config_path),
                "--template",
                str(self.root / "cfn/site.yaml"),
                # The APIs (the clicks API is on the same gateway) and the embedded Cognito.
                f"--connect-origin={self.api_url}",
                f"--connect-origin={self.aws_url}",
            ],
        )
        self._wait_until("site", lambda: requests.get(f"{self.site_url}/config.json", timeout=2).ok)
        self._spawn(
            "console",
            [
                python,
                "-m",
                "mysfits_local.console",
                "--host",
                self.host,
                "--port",
                str(self.ports.console),
                "--xray-endpoint",
                self.xray_url,
                "--run-dir",
                str(self.run_dir),
            ],
        )
        self._wait_until("console", lambda: _answers(self.console_url))

    def start_click_pipeline(self) -> None:
        """The Firehose stand-in, the click pipeline's stack (bucket, stream, enricher), and the
        enricher in the Lambda stand-in, run as the stack configures it."""
        python = sys.executable
        # The stand-in journals what it accepts until S3 has it, so a restarted stand-in (or the
        # next run, which keeps the buckets) delivers it.
        command = [python, "-m", "mysfits_local.firehose", "--host", self.host, "--port", str(self.ports.firehose)]
        self._spawn("firehose", [*command, "--data-dir", str(self.firehose_dir)], stop_timeout=FLUSH_TIMEOUT)
        self._wait_until("firehose", lambda: _answers(self.firehose_url))
        clicks = self._deploy(
            "clicks",
            {
                # The enricher asks the public Mysfits API, as it does on AWS.
                "CatalogApiUrl": self.api_url,
                "AllowedOrigins": self.allowed_origins_list,
                # Deliver within a second, so a click shows up at once (AWS: a minute by default).
                "BufferIntervalInSeconds": str(CLICKS_BUFFER_SECONDS),
                "BufferSizeInMBs": "1",
            },
        )
        function = self.infra.function(clicks["FunctionName"])
        self._spawn(
            "lambda",
            [
                python,
                "-m",
                "mysfits_local.lambda_runtime",
                "--host",
                self.host,
                "--port",
                str(self.ports.lambda_),
                "--function",
                f"{function['FunctionName']}={function['Handler']}",
                "--timeout",
                str(function["Timeout"]),
                "--memory",
                str(function["MemorySize"]),
                # Tracing: Active in the template: a segment per invocation, as Lambda records.
                *(["--active-tracing"] if function.get("TracingConfig", {}).get("Mode") == "Active" else []),
            ],
            extra_env=function.get("Environment", {}).get("Variables", {}),
            # Stopped after the Firehose stand-in, which delivers its buffers through it.
            before="firehose",
        )
        self._wait_until("lambda", lambda: _answers(self.lambda_url))
        self.say(
            f"  clicks   stream {clicks['DeliveryStreamName']} -> {clicks['FunctionName']} "
            f"-> s3://{clicks['ClicksBucketName']}/clicks/"
        )

    def _deploy(self, unit: str, parameters: dict[str, str] | None = None) -> dict[str, str]:
        started = time.monotonic()
        try:
            outputs = self.infra.deploy(unit, parameters)
        except (DeployError, TemplateError) as error:
            raise StackError(f"deploying the {unit} template into the embedded AWS failed: {error}") from None
        self.say(f"  {unit:<8} stack {BY_NAME[unit].stack_name} ({time.monotonic() - started:.1f}s)")
        return outputs

    def write_site_config(self) -> Path:
        """The site's settings, as the deploy tool writes them from stack outputs on AWS."""
        config = {
            "apiEndpoint": self.api_url,
            "clicksEndpoint": self.api_url,  # the clicks API is served by the same gateway here
            "region": REGION,
            "userPoolId": self.user_pool.id,
            "userPoolClientId": self.user_pool.client_id,
            "cognitoEndpoint": self.aws_url,
            # On one machine no email is sent: the site says any confirmation code works.
            "localStack": True,
        }
        path = self.run_dir / "config.json"
        path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        return path

    def stop(self) -> None:
        """Stop every part, last started first: SIGTERM to its process group, then SIGKILL."""
        for part in reversed(self.parts):
            if part.process.poll() is None:
                _signal_group(part.process, signal.SIGTERM)
                try:
                    part.process.wait(part.stop_timeout)
                except subprocess.TimeoutExpired:
                    _signal_group(part.process, signal.SIGKILL)
                    part.process.wait()
            # Workers a part left behind in its group go too.
            _signal_group(part.process, signal.SIGKILL)
        self.parts.clear()

    def watch(self) -> None:
        """Block while the parts run. A part that stops by itself is started again, as ECS
        replaces a task and Lambda an instance, and that is said in one line; one that keeps
        stopping (RESTARTS times in RESTART_WINDOW seconds) raises StackError. A restarted
        embedded AWS replays its kept state before it answers."""
        while True:
            for part in self.parts:
                code = part.process.poll()
                if code is None:
                    continue
                now = time.monotonic()
                part.restarts = [t for t in part.restarts if t > now - RESTART_WINDOW]
                if len(part.restarts) >= RESTARTS:
                    what = f"stopped unexpectedly {len(part.restarts) + 1} times in {RESTART_WINDOW:.0f}s"
                    raise StackError(self._failure(part, f"{what} (exit code {code}); not restarting it again"))
                part.restarts.append(now)
                self.say(f"  {part.name} stopped unexpectedly (exit code {code}); restarted it (log: {part.log_path})")
                _signal_group(part.process, signal.SIGKILL)  # workers it left behind
                part.process = self._start_process(part.command, part.env, part.log_path)
            time.sleep(0.5)

    # -- helpers ---------------------------------------------------------------------
    def _check_ports_free(self) -> None:
        import socket

        for name, port in self.ports.by_name().items():
            with socket.socket() as probe:
                if probe.connect_ex((self.host, port)) == 0:
                    raise StackError(
                        f"port {port} ({name}) on {self.host} is already in use: is the stack already "
                        f"running? Stop it, or give this part another port, for example "
                        f"`MYSFITS_{name.upper()}_PORT={port + 100} make up` (each part's port is a variable: "
                        + ", ".join(f"MYSFITS_{part.upper()}_PORT" for part in DEFAULT_PORTS)
                        + ")."
                    )

    def _spawn(
        self,
        name: str,
        command: list[str],
        extra_env: dict | None = None,
        stop_timeout: float = STOP_TIMEOUT,
        before: str | None = None,
    ) -> None:
        """Start a part; `before`: list it ahead of that part, so it is stopped after it."""
        log_path = self.run_dir / "logs" / f"{name}.log"
        log_path.unlink(missing_ok=True)
        env = {**self.service_env(), **(extra_env or {})}
        process = self._start_process(command, env, log_path)
        index = next((i for i, p in enumerate(self.parts) if p.name == before), len(self.parts))
        self.parts.insert(index, Part(name, process, log_path, stop_timeout, command, env))

    def _start_process(self, command: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
        with open(log_path, "ab") as log:  # a restarted part's log goes on after the last one
            return subprocess.Popen(
                command,
                cwd=self.root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )

    def _run_step(self, name: str, command: list[str]) -> None:
        log_path = self.run_dir / "logs" / f"{name}.log"
        with open(log_path, "wb") as log:
            code = subprocess.call(command, cwd=self.root, env=self.service_env(), stdout=log, stderr=subprocess.STDOUT)
        if code != 0:
            raise StackError(self._failure(Part(name, None, log_path), f"failed (exit code {code})"))

    def _wait_until(self, name: str, ready: Callable[[], bool]) -> None:
        part = next(p for p in self.parts if p.name == name)
        started = time.monotonic()
        deadline = started + READY_TIMEOUT
        while time.monotonic() < deadline:
            if part.process.poll() is not None:
                raise StackError(self._failure(part, f"exited during start-up (exit code {part.process.returncode})"))
            try:
                if ready():
                    self.say(f"  {name:<8} ready ({time.monotonic() - started:.1f}s)")
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise StackError(self._failure(part, f"was not ready after {READY_TIMEOUT:.0f}s"))

    @staticmethod
    def _failure(part: Part, what: str) -> str:
        try:
            tail = part.log_path.read_text(errors="replace").splitlines()[-20:]
        except OSError:
            tail = []
        shown = "\n".join("    " + line for line in tail) or "    (no output)"
        return f"{part.name} {what}. Last lines of {part.log_path}:\n{shown}"


def _answers(url: str) -> bool:
    """Any HTTP answer at all: the stand-in is listening."""
    requests.get(url, timeout=2)
    return True


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def _port(name: str) -> int:
    return int(os.environ.get(f"MYSFITS_{name.upper()}_PORT", DEFAULT_PORTS[name]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mysfits_local", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the whole stack; Ctrl-C stops it")
    for name in DEFAULT_PORTS:
        up.add_argument(
            f"--{name}-port",
            type=int,
            default=_port(name),
            help=f"default {DEFAULT_PORTS[name]}, or MYSFITS_{name.upper()}_PORT",
        )
    up.add_argument("--run-dir", type=Path, default=Path(".run"), help="logs, kept state and config (default .run)")
    up.add_argument(
        "--fresh",
        action="store_true",
        default=os.environ.get("FRESH", "") not in ("", "0"),
        help="start clean: forget the accounts, likes, adoptions and clicks kept from earlier runs (or FRESH=1)",
    )
    up.add_argument(
        "--allowed-origin",
        action="append",
        default=[o for o in os.environ.get("MYSFITS_ALLOWED_ORIGINS", "").split(",") if o.strip()],
        metavar="URL",
        help="another origin whose pages may use the API (repeatable; or MYSFITS_ALLOWED_ORIGINS, comma-separated)",
    )
    report = sub.add_parser("clicks", help="print the latest enriched clicks and the views per mysfit")
    report.add_argument("--run-dir", type=Path, default=Path(".run"), help="the running stack's (default .run)")
    report.add_argument("--aws-url", help="the S3 endpoint (default: the running stack's)")
    report.add_argument("--bucket", help="the clicks bucket (default: the running stack's)")
    report.add_argument("--latest", type=int, default=10, help="how many of the latest clicks to show (default 10)")
    args = parser.parse_args(argv)
    if args.command == "clicks":
        try:
            running = LocalInfra.saved(args.run_dir / STACK_FILE)
        except OSError:
            running = None
        if running is None and not (args.aws_url and args.bucket):
            print(f"no running stack found in {args.run_dir} (start one with `make up`)", file=sys.stderr)
            return 2
        aws_url = args.aws_url or running["awsUrl"]
        bucket = args.bucket or running["stacks"]["clicks"]["ClicksBucketName"]
        return clicks.main(aws_url, bucket, args.latest, REGION)

    root = Path.cwd()
    if not (root / "cfn/api/mysfits-api.yaml").exists():
        print("run this from the repository root (where the Makefile is)", file=sys.stderr)
        return 2
    ports = Ports.of({name: getattr(args, f"{name}_port") for name in DEFAULT_PORTS})
    stack = Stack(
        root=root,
        ports=ports,
        run_dir=args.run_dir.resolve(),
        say=lambda s: print(s, flush=True),
        allowed_origins=args.allowed_origin,
        fresh=args.fresh,
    )

    def _terminate(signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    # Ctrl-C stops the stack even when `up` was started with SIGINT ignored (a background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    print("starting Mythical Mysfits on this machine ...", flush=True)
    try:
        stack.start()
        print(
            "\nMythical Mysfits is running:\n"
            f"  site      {stack.site_url}/\n"
            f"  API       {stack.api_url}/mysfits\n"
            f"  catalog   {stack.catalog_url}/ (behind the API, as behind the internal load balancer)\n"
            f"  adoption  {stack.adoption_url}/ (behind the API)\n"
            f"  clicks    PUT {stack.api_url}/clicks -> Firehose {stack.firehose_url} -> enricher "
            f"-> s3://{stack.infra.outputs['clicks']['ClicksBucketName']}/clicks/ (see them: make clicks)\n"
            f"  Lambda    {stack.lambda_url}/ (the click enricher, in the Lambda stand-in)\n"
            f"  ops       {stack.console_url}/ (traces, service map, clicks; make trace prints the latest)\n"
            f"  X-Ray     udp and {stack.xray_url}/ (daemon and X-Ray API stand-in)\n"
            f"  AWS       {stack.aws_url}/ (embedded moto)\n"
            f"  logs      {stack.run_dir / 'logs'}\n"
            "Press Ctrl-C to stop.",
            flush=True,
        )
        stack.watch()
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
        stack.stop()
        print("stopped.", flush=True)
        return 0
    except StackError as error:
        print(f"\nerror: {error}", file=sys.stderr, flush=True)
        stack.stop()
        return 1
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
