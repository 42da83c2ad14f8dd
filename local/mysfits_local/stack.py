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
import json
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mysfits_deploy.cloudformation import DeployError
from mysfits_deploy.stacks import BY_NAME
from mysfits_deploy.templates import TemplateError

from . import clicks
from .account import CREDENTIALS_ENV
from .infra import REGION, LocalInfra
from .processes import NotReady, Probe, Process, answers, answers_ok, module_command

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
READY_FILE = "up.pid"  # written once every part is ready (the pid of `up`), removed when it stops
READY_TIMEOUT = 60.0
RESTARTS = 3  # a part that stops more often than this within RESTART_WINDOW stops the stack
RESTART_WINDOW = 60.0
STOP_TIMEOUT = 10.0
FLUSH_TIMEOUT = 60.0  # the Firehose stand-in delivers its buffers before it exits


class StackError(RuntimeError):
    """A part of the stack failed to start or stopped unexpectedly."""


@dataclass(frozen=True)
class UserPool:
    id: str
    arn: str
    client_id: str


@dataclass(frozen=True)
class Part:
    """A long-running part of the stack: its command (built when it starts, as it may need what
    earlier steps made), its readiness probe, its environment besides `service_env`, how long it
    may take to stop, and the part it is stopped after although started later."""

    name: str
    command: Callable[[], list[str]]
    ready: Probe
    env: Callable[[], dict[str, str]] = dict
    stop_timeout: float = STOP_TIMEOUT
    stops_after: str | None = None


# The plan of the stack: parts (a tuple of parts starts together) and the steps between them.
Step = Callable[[], None]
Entry = Part | tuple[Part, ...] | Step


@dataclass
class Stack:
    root: Path
    ports: dict[str, int]  # by part, as DEFAULT_PORTS names them
    run_dir: Path
    host: str = "127.0.0.1"
    say: Callable[[str], None] = print
    parts: list[Process] = field(default_factory=list)  # running, in stop order reversed
    restarts: dict[str, list[float]] = field(default_factory=dict)  # when each part was restarted (monotonic)
    user_pool: UserPool | None = None
    infra: LocalInfra | None = None
    # The API stages' template parameters where they differ from the defaults (the benchmark
    # raises the throttling limits to measure the stack's capacity, not the throttle).
    stage_parameters: dict[str, str] = field(default_factory=dict)
    allowed_origins: list[str] = field(default_factory=list)  # besides the site's
    fresh: bool = False  # forget what the previous runs kept (`make up FRESH=1`)

    # -- addresses -------------------------------------------------------------------
    def url(self, part: str) -> str:
        return self.address(self.ports[part])

    def address(self, port: int) -> str:
        return f"http://{self.host}:{port}"

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
    def ready_file(self) -> Path:
        """Holds the pid of `up` while every part is ready: what the tests and scripts wait for."""
        return self.run_dir / READY_FILE

    @property
    def allowed_origins_list(self) -> str:
        """The origins whose pages may use the APIs, comma-separated: the site's, then the others."""
        return ",".join([self.url("site"), *self.allowed_origins])

    def service_env(self) -> dict[str, str]:
        """The environment every service gets: AWS endpoints point at the embedded AWS."""
        env = dict(os.environ)
        env.update(
            CREDENTIALS_ENV,  # the embedded AWS takes any credentials
            AWS_REGION=REGION,
            AWS_DEFAULT_REGION=REGION,
            AWS_ENDPOINT_URL=self.url("aws"),
            # The stand-ins outside moto, found the way boto3 finds any service endpoint.
            AWS_ENDPOINT_URL_FIREHOSE=self.url("firehose"),
            AWS_ENDPOINT_URL_LAMBDA=self.url("lambda"),
            # The site's pages, and any other origin given on `make up` (MYSFITS_ALLOWED_ORIGINS).
            CORS_ALLOWED_ORIGINS=self.allowed_origins_list,
            ASSET_BASE_URL=self.url("site"),  # where the images are published
            # The X-Ray stand-in: segments over UDP, the X-Ray API over HTTP, on one port.
            AWS_XRAY_DAEMON_ADDRESS=f"{self.host}:{self.ports['xray']}",
            AWS_ENDPOINT_URL_XRAY=self.url("xray"),
            # On one machine every request is traced (on AWS: the first each second, then 5%).
            XRAY_SAMPLING_RATE="1",
            PYTHONUNBUFFERED="1",
        )
        if self.infra and "data" in self.infra.outputs:
            env.update(MYSFITS_TABLE_NAME=self.infra.outputs["data"]["MysfitsTableName"])
        return env

    def _adoption_env(self) -> dict[str, str]:
        """What only the adoption service reads: the likes table and the user pool it checks tokens of."""
        return {
            "MYSFITS_LIKES_TABLE_NAME": self.infra.outputs["data"]["LikesTableName"],
            "COGNITO_USER_POOL_ID": self.user_pool.id,
            "COGNITO_USER_POOL_CLIENT_ID": self.user_pool.client_id,
            "COGNITO_JWKS_URL": f"{self.url('aws')}/{self.user_pool.id}/.well-known/jwks.json",
        }

    # -- the plan ---------------------------------------------------------------------
    def plan(self) -> list[Entry]:
        """The whole stack in start order; `stop` goes the other way."""
        return [
            Part("xray", lambda: self._module("mysfits_local.xray", self.ports["xray"]), answers(self.url("xray"))),
            Part(
                "aws",
                lambda: self._module(
                    "mysfits_local.aws",
                    self.ports["aws"],
                    "--signing-key",
                    str(self.signing_key_file),
                    "--state",
                    str(self.state_file),
                ),
                answers_ok(f"{self.url('aws')}/moto-api/"),
            ),
            self._deploy_foundation,
            self._seed,
            (
                self.service_part("catalog", self.ports["catalog"]),
                self.service_part("adoption", self.ports["adoption"], env=self._adoption_env),
            ),
            Part("api", self._gateway_command, answers_ok(f"{self.url('api')}/mysfits", timeout=5)),
            # It journals what it accepts until S3 has it, so a restarted stand-in (or the next run,
            # which keeps the buckets) delivers it; at a stop it delivers its buffers first.
            Part(
                "firehose",
                lambda: self._module(
                    "mysfits_local.firehose", self.ports["firehose"], "--data-dir", str(self.firehose_dir)
                ),
                answers(self.url("firehose")),
                stop_timeout=FLUSH_TIMEOUT,
            ),
            self._deploy_clicks,
            # The enricher, as the clicks stack configures the function; stopped after the Firehose
            # stand-in, which delivers its buffers through it.
            Part(
                "lambda",
                self._lambda_command,
                answers(self.url("lambda")),
                env=self._function_env,
                stops_after="firehose",
            ),
            self._publish_settings,
            Part("site", self._site_command, answers_ok(f"{self.url('site')}/config.json")),
            Part(
                "console",
                lambda: self._module(
                    "mysfits_local.console",
                    self.ports["console"],
                    "--xray-endpoint",
                    self.url("xray"),
                    "--run-dir",
                    str(self.run_dir),
                ),
                answers(self.url("console")),
            ),
        ]

    def _module(self, module: str, port: int, *args: str) -> list[str]:
        return module_command(module, self.host, port, *args)

    def service_part(self, name: str, port: int, env: Callable[[], dict[str, str]] = dict) -> Part:
        """A service under gunicorn, as its image runs it."""
        command = [sys.executable, "-m", "gunicorn", "-c", "python:mysfits_shared.gunicorn_conf",
                   "--bind", f"{self.host}:{port}", f"{name}:create_app()"]  # fmt: skip
        return Part(name, lambda: command, answers_ok(f"{self.address(port)}/health"), env)

    def _gateway_command(self) -> list[str]:
        """The definitions the API stacks deploy (their templates' DefinitionUri), with their stage."""
        stage_variables = {
            "catalogHost": f"{self.host}:{self.ports['catalog']}",
            "adoptionHost": f"{self.host}:{self.ports['adoption']}",
            "vpcLinkId": "local",
            "allowedOrigins": self.allowed_origins_list,
        }
        return self._module(
            "mysfits_local.gateway",
            self.ports["api"],
            *(argument for path in LocalInfra.definitions() for argument in ("--definition", str(path))),
            *(f"--definition-variable={name}={value}" for name, value in self.infra.definition_variables().items()),
            *(f"--stage-variable={name}={value}" for name, value in stage_variables.items()),
            "--cognito-endpoint",
            self.url("aws"),
            "--cognito-client-id",
            self.user_pool.client_id,
            *(f"--throttle={value}" for value in LocalInfra.stage_throttling(overrides=self.stage_parameters)),
            *(f"--compress={value}" for value in LocalInfra.compression()),
        )

    def _lambda_command(self) -> list[str]:
        function = self._function
        return self._module(
            "mysfits_local.lambda_runtime",
            self.ports["lambda"],
            "--function",
            f"{function['FunctionName']}={function['Handler']}",
            "--timeout",
            str(function["Timeout"]),
            "--memory",
            str(function["MemorySize"]),
            # Tracing: Active in the template: a segment per invocation, as Lambda records.
            *(["--active-tracing"] if function.get("TracingConfig", {}).get("Mode") == "Active" else []),
        )

    def _function_env(self) -> dict[str, str]:
        return self._function.get("Environment", {}).get("Variables", {})

    def _site_command(self) -> list[str]:
        return self._module(
            "mysfits_local.site",
            self.ports["site"],
            "--web-dir",
            str(self.root / "web"),
            "--config",
            str(self.run_dir / "config.json"),
            "--template",
            str(self.root / "cfn/site.yaml"),
            # The APIs (the clicks API is on the same gateway) and the embedded Cognito.
            f"--connect-origin={self.url('api')}",
            f"--connect-origin={self.url('aws')}",
        )

    # -- the steps between the parts ------------------------------------------------------
    def _deploy_foundation(self) -> None:
        self.infra = LocalInfra(self.url("aws"))
        for unit in ("artifacts", "data", "identity"):
            self._deploy(unit)
        identity = self.infra.outputs["identity"]
        self.user_pool = UserPool(identity["UserPoolId"], identity["UserPoolArn"], identity["UserPoolClientId"])
        self.say(f"  cognito  user pool {self.user_pool.id}, web client {self.user_pool.client_id}")

    def _seed(self) -> None:
        seed = Process("seed", [sys.executable, "-m", "catalog.seed"], self._log_path("seed"), self.service_env(),
                       self.root).start()  # fmt: skip
        if seed.popen.wait() != 0:
            raise StackError(seed.failure(f"failed (exit code {seed.popen.returncode})"))
        self.say(f"  seeded   {self.infra.outputs['data']['MysfitsTableName']}")

    def _deploy_clicks(self) -> None:
        clicks = self._deploy(
            "clicks",
            {
                # The enricher asks the public Mysfits API, as it does on AWS.
                "CatalogApiUrl": self.url("api"),
                "AllowedOrigins": self.allowed_origins_list,
                # Deliver within a second, so a click shows up at once (AWS: a minute by default).
                "BufferIntervalInSeconds": str(CLICKS_BUFFER_SECONDS),
                "BufferSizeInMBs": "1",
            },
        )
        self._function = self.infra.function(clicks["FunctionName"])
        self.say(
            f"  clicks   stream {clicks['DeliveryStreamName']} -> {clicks['FunctionName']} "
            f"-> s3://{clicks['ClicksBucketName']}/clicks/"
        )

    def _publish_settings(self) -> None:
        """The stacks' outputs for later commands, and the site's config.json."""
        self.infra.save(self.run_dir / STACK_FILE, xrayUrl=self.url("xray"))
        self.write_site_config()

    # -- start / stop ----------------------------------------------------------------
    def start(self) -> None:
        """Every entry of the plan in order: a step runs, parts start and are waited for."""
        self._prepare()
        for entry in self.plan():
            if not isinstance(entry, Part | tuple):
                entry()
                continue
            group = entry if isinstance(entry, tuple) else (entry,)
            for part in group:
                self._launch(part)
            for part in group:
                self._await(part)

    def _prepare(self) -> None:
        (self.run_dir / "logs").mkdir(parents=True, exist_ok=True)
        self.ready_file.unlink(missing_ok=True)  # a killed run's
        self._check_ports_free()
        if self.fresh:
            self.say(f"  state    starting clean: what earlier runs kept in {self.run_dir} is forgotten")
            for path in self.kept:
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)
        elif self.state_file.exists():
            self.say(f"  state    kept from the last run in {self.state_file.parent} (`make up FRESH=1` starts clean)")

    def _launch(self, part: Part) -> None:
        log_path = self._log_path(part.name)
        log_path.unlink(missing_ok=True)
        env = {**self.service_env(), **part.env()}
        process = Process(part.name, part.command(), log_path, env, self.root, part.ready, part.stop_timeout).start()
        index = next((i for i, p in enumerate(self.parts) if p.name == part.stops_after), len(self.parts))
        self.parts.insert(index, process)

    def _await(self, part: Part) -> None:
        process = next(p for p in self.parts if p.name == part.name)
        try:
            self.say(f"  {part.name:<8} ready ({process.wait_ready(READY_TIMEOUT):.1f}s)")
        except NotReady as error:
            raise StackError(str(error)) from None

    def _log_path(self, name: str) -> Path:
        return self.run_dir / "logs" / f"{name}.log"

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
        from mysfits_deploy.stacks import site_password_policy

        config = {
            "apiEndpoint": self.url("api"),
            "clicksEndpoint": self.url("api"),  # the clicks API is served by the same gateway here
            "region": REGION,
            "userPoolId": self.user_pool.id,
            "userPoolClientId": self.user_pool.client_id,
            "passwordPolicy": site_password_policy(),
            "cognitoEndpoint": self.url("aws"),
            # On one machine no email is sent: the site says any confirmation code works.
            "localStack": True,
        }
        path = self.run_dir / "config.json"
        path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        return path

    def stop(self) -> None:
        """Stop every part once, last started first (SIGTERM to its group, SIGKILL after its timeout)."""
        while self.parts:
            self.parts.pop().stop()

    def watch(self) -> None:
        """Block while the parts run. A part that stops by itself is started again, as ECS
        replaces a task and Lambda an instance, and that is said in one line; one that keeps
        stopping (RESTARTS times in RESTART_WINDOW seconds) raises StackError. A restarted
        embedded AWS replays its kept state before it answers."""
        while True:
            for process in self.parts:
                code = process.exit_code
                if code is None:
                    continue
                now = time.monotonic()
                restarts = [t for t in self.restarts.get(process.name, []) if t > now - RESTART_WINDOW]
                if len(restarts) >= RESTARTS:
                    what = f"stopped unexpectedly {len(restarts) + 1} times in {RESTART_WINDOW:.0f}s"
                    raise StackError(process.failure(f"{what} (exit code {code}); not restarting it again"))
                self.restarts[process.name] = [*restarts, now]
                self.say(
                    f"  {process.name} stopped unexpectedly (exit code {code}); restarted it (log: {process.log_path})"
                )
                process.signal_group(signal.SIGKILL)  # workers it left behind
                process.start()
            time.sleep(0.5)

    # -- helpers ---------------------------------------------------------------------
    def _check_ports_free(self) -> None:
        for name, port in self.ports.items():
            with socket.socket() as probe:
                if probe.connect_ex((self.host, port)) == 0:
                    raise StackError(
                        f"port {port} ({name}) on {self.host} is already in use: is the stack already "
                        f"running? Stop it, or give this part another port, for example "
                        f"`MYSFITS_{name.upper()}_PORT={port + 100} make up` (each part's port is a variable: "
                        + ", ".join(f"MYSFITS_{part.upper()}_PORT" for part in DEFAULT_PORTS)
                        + ")."
                    )


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
    ports = {name: getattr(args, f"{name}_port") for name in DEFAULT_PORTS}
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
            f"  site      {stack.url('site')}/\n"
            f"  API       {stack.url('api')}/mysfits\n"
            f"  catalog   {stack.url('catalog')}/ (behind the API, as behind the internal load balancer)\n"
            f"  adoption  {stack.url('adoption')}/ (behind the API)\n"
            f"  clicks    PUT {stack.url('api')}/clicks -> Firehose {stack.url('firehose')} -> enricher "
            f"-> s3://{stack.infra.outputs['clicks']['ClicksBucketName']}/clicks/ (see them: make clicks)\n"
            f"  Lambda    {stack.url('lambda')}/ (the click enricher, in the Lambda stand-in)\n"
            f"  ops       {stack.url('console')}/ (traces, service map, clicks; make trace prints the latest)\n"
            f"  X-Ray     udp and {stack.url('xray')}/ (daemon and X-Ray API stand-in)\n"
            f"  AWS       {stack.url('aws')}/ (embedded moto)\n"
            f"  logs      {stack.run_dir / 'logs'}\n"
            "Press Ctrl-C to stop.",
            flush=True,
        )
        stack.ready_file.write_text(f"{os.getpid()}\n")  # what the tests and scripts wait for
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
        stack.ready_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
