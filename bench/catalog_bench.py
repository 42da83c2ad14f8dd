"""Benchmark the catalog on the running one-machine stack: `make bench`.

Starts its own stack on free ports, then loads it with wrk (16 connections, 2 threads) and
prints requests/s, p50 and p99 latency for list, filter and get-one, straight to the
catalog service (as the load balancer reaches it) and through the API Gateway stand-in,
plus the catalog processes' CPU milliseconds per request. Targets (2-core machine) are
printed beside the figures; a figure below its target is marked, not hidden.
"""

from __future__ import annotations

import argparse
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psutil
import requests

from mysfits_local.stack import DEFAULT_PORTS, Ports, Stack

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CONNECTIONS = 16


@dataclass
class Result:
    name: str
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_ms_per_request: float


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse_wrk(output: str) -> tuple[int, float, float, float, int]:
    """Requests, requests/s, p50 ms, p99 ms and non-2xx/3xx + socket errors from `wrk --latency`."""
    latency = {m[0]: _ms(m[1], m[2]) for m in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)}
    total = int(re.search(r"(\d+) requests in", output).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return total, rps, latency["50"], latency["99"], errors


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and all its children (gunicorn master and workers)."""
    process = psutil.Process(pid)
    total = 0.0
    for p in [process, *process.children(recursive=True)]:
        try:
            times = p.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def run(name: str, base_url: str, paths: list[str], catalog_pid: int, seconds: int) -> Result:
    command = [
        "wrk",
        "-t2",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(HERE / "rotate.lua"),
        base_url,
        "--",
        *paths,
    ]
    before = cpu_seconds(catalog_pid)
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    used = cpu_seconds(catalog_pid) - before
    total, rps, p50, p99, errors = parse_wrk(output)
    return Result(name, total, rps, p50, p99, errors, used * 1000 / max(total, 1))


TARGETS = {
    # name: (minimum requests/s, maximum p99 ms or None)
    "catalog list": (1500, 25),
    "catalog filter": (1500, 25),
    "catalog get-one": (300, None),
    "gateway list": (500, None),
}


def verdict(result: Result) -> str:
    target = TARGETS.get(result.name)
    if not target:
        return ""
    min_rps, max_p99 = target
    wanted = f">= {min_rps} req/s" + (f", p99 < {max_p99} ms" if max_p99 else "")
    met = result.rps >= min_rps and (max_p99 is None or result.p99_ms < max_p99) and result.errors == 0
    return f"target {wanted}: {'met' if met else 'BELOW TARGET'}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="duration of each wrk run (default 10)")
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        print("wrk is needed: sudo apt-get install wrk (or run scripts/ensure-system-packages)", file=sys.stderr)
        return 2

    ports = Ports(**{name: free_port() for name in DEFAULT_PORTS})
    stack = Stack(root=ROOT, ports=ports, run_dir=Path(tempfile.mkdtemp(prefix="mysfits-bench-")), say=lambda s: None)
    try:
        stack.start()
        catalog_pid = next(p.process.pid for p in stack.parts if p.name == "catalog")
        mysfits = requests.get(f"{stack.catalog_url}/mysfits", timeout=10).json()["mysfits"]
        filters = sorted(
            {f"/mysfits?filter=GoodEvil&value={m['goodevil']}" for m in mysfits}
            | {f"/mysfits?filter=LawChaos&value={m['lawchaos']}" for m in mysfits}
            | {f"/mysfits?filter=Species&value={requests.utils.quote(m['species'])}" for m in mysfits}
        )
        profiles = [f"/mysfits/{m['mysfitId']}" for m in mysfits]
        plan = [
            ("catalog list", stack.catalog_url, ["/mysfits"]),
            ("catalog filter", stack.catalog_url, filters),
            ("catalog get-one", stack.catalog_url, profiles),
            ("gateway list", stack.api_url, ["/mysfits"]),
            ("gateway filter", stack.api_url, filters),
            ("gateway get-one", stack.api_url, profiles),
        ]
        print(
            f"catalog benchmark: wrk, {CONNECTIONS} connections, {args.seconds}s per run, "
            f"{len(mysfits)} mysfits, {psutil.cpu_count()} cores"
        )
        print(f"{'run':<17}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'catalog CPU ms/req':>20}  verdict")
        for name, base, paths in plan:
            run(name, base, paths, catalog_pid, 2)  # warm-up: steady state, not first-request costs
            result = run(name, base, paths, catalog_pid, args.seconds)
            print(
                f"{result.name:<17}{result.rps:>9.0f}{result.p50_ms:>9.2f}{result.p99_ms:>9.2f}"
                f"{result.errors:>8}{result.cpu_ms_per_request:>20.3f}  {verdict(result)}",
                flush=True,
            )
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
