"""The one-machine stack in containers (docker-compose.yml): `make up`'s own start-up, split up.

    python -m mysfits_local.containers provision   # one-shot: deploy, seed, write the plan below
    python -m mysfits_local.containers run PART    # a part (api, lambda, site, console) as `make up` starts it
    python -m mysfits_local.containers ready URL   # a health check: URL answers (stdlib only, quick)

`provision` runs `make up`'s start-up (stack.py's `Stack.start`) with every process left to its
own container: it deploys the artifacts, data and identity templates into the embedded AWS, seeds
the catalog, deploys the click pipeline's template (the embedded AWS and the Firehose stand-in
must already run: the stream is created through it) and, where `make up` would start a part (the
X-Ray stand-in, the services, the gateway, the enricher, the site, the console), records the
part's command and environment instead. It writes to the state directory the containers share
(`--state`, default /run/mysfits):

    stack.json    the stacks' outputs and the embedded AWS's and the X-Ray API's addresses
                  (awsUrl, xrayUrl), as `make up` keeps them in .run/; the console reads it
    config.json   the site's settings
    parts.json    each part's command and the environment `make up` gives it, for `run PART`
    PART.env      the same environment as shell exports, for an image's own command
                  (`. /run/mysfits/catalog.env && exec gunicorn ...`)

So the containers are configured exactly as `make up` configures its processes. Addresses and
ports are `make up`'s: 127.0.0.1 and MYSFITS_<PART>_PORT or the defaults (the containers share
the host's network).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

PLAN = "parts.json"


def _planner(state: Path):
    """A Stack (stack.py) at `make up`'s addresses that records its parts instead of starting them."""
    from .stack import DEFAULT_PORTS, Stack, _port

    class Planner(Stack):
        parts_plan: dict

        def _check_ports_free(self) -> None:
            """The parts that already run (the embedded AWS, Firehose) do so in their containers."""

        def _launch(self, part) -> None:
            env = {**self.service_env(), **part.env()}
            # What start-up sets, over the environment every container of the stack shares.
            changed = {key: value for key, value in env.items() if os.environ.get(key) != value}
            self.parts_plan[part.name] = {"command": part.command(), "cwd": str(self.root), "environment": changed}

        def _await(self, part) -> None:
            """Each container's own health check does this; compose orders the start-up by them."""

    from mysfits_deploy.stacks import ROOT

    ports = {name: _port(name) for name in DEFAULT_PORTS}
    planner = Planner(root=ROOT, ports=ports, run_dir=state, say=lambda line: print(line, flush=True))
    planner.parts_plan = {}
    return planner


def provision(state: Path) -> int:
    from .stack import StackError

    state.mkdir(parents=True, exist_ok=True)
    for stale in (state / "stack.json", state / "config.json", state / PLAN, *state.glob("*.env")):
        stale.unlink(missing_ok=True)  # a part must never start from an earlier run's state
    planner = _planner(state)
    try:
        planner.start()
    except StackError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 1
    for name, part in planner.parts_plan.items():
        exports = "".join(f"export {key}={shlex.quote(value)}\n" for key, value in sorted(part["environment"].items()))
        _write(state / f"{name}.env", exports)
    # Last: the plan the other parts start from.
    _write(state / PLAN, json.dumps(planner.parts_plan, indent=2) + "\n")
    for name in ("stack.json", "config.json"):
        (state / name).chmod(0o644)
    print(f"provisioned: the stacks, config.json and the plan of {', '.join(planner.parts_plan)} in {state}")
    return 0


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o644)  # the services read it as their own (non-root) users


def run(state: Path, name: str) -> int:
    """Replace this process with the part, as `make up` starts it."""
    plan = json.loads((state / PLAN).read_text(encoding="utf-8"))
    if name not in plan:
        print(f"no part {name!r} in {state / PLAN} (parts: {', '.join(plan)})", file=sys.stderr)
        return 2
    part = plan[name]
    os.chdir(part["cwd"])
    command = part["command"]
    os.execve(command[0], command, {**os.environ, **part["environment"]})  # noqa: S606 - the container's process
    return 0  # not reached


def ready(url: str, any_answer: bool = False) -> int:
    """0 when `url` answers 2xx/3xx (or, with any_answer, anything at all over HTTP)."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - a local http address
            return 0
    except urllib.error.HTTPError:
        return 0 if any_answer else 1
    except OSError as error:
        print(f"{url}: {error}", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mysfits_local.containers", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    provisioning = sub.add_parser("provision", help="deploy, seed, and write the plan of the parts")
    running = sub.add_parser("run", help="start a part as `make up` does, from the plan")
    running.add_argument("part", help="api, lambda, site, console, ...")
    for command in (provisioning, running):
        command.add_argument("--state", type=Path, default=Path("/run/mysfits"), help="default /run/mysfits")
    check = sub.add_parser("ready", help="exit 0 when URL answers (a health check)")
    check.add_argument("url")
    check.add_argument("--any-answer", action="store_true", help="any HTTP status counts (a 404 too)")
    args = parser.parse_args(argv)
    if args.command == "ready":
        return ready(args.url, args.any_answer)
    if args.command == "provision":
        return provision(args.state)
    return run(args.state, args.part)


if __name__ == "__main__":
    sys.exit(main())
