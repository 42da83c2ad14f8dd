"""Run the health checks of a compose project's containers, as podman's systemd timers would.

podman 4.3 (Debian bookworm) schedules each container's health check with a systemd timer; on a
machine without systemd (CI's) no check ever runs and every container stays "starting", so a
compose file's `depends_on: condition: service_healthy` could never be met. This loop stands in
for the timers: `podman healthcheck run` for each running container of the project that has a
health check, every second while it is not yet healthy and at its own interval once it is.
podman itself then applies the check's timeout, retries and start period, and records the status.

    python3 scripts/containers/health_ticker.py PROJECT     # until stopped (SIGTERM)
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

NOT_HEALTHY_EVERY = 1.0  # seconds between checks of a container that is starting or unhealthy
DEFAULT_INTERVAL = 30.0  # Docker's default health-check interval


def podman(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    # podman is found on PATH, as a user runs it.
    return subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S607


def due_checks(project: str, last_run: dict[str, float], now: float) -> list[tuple[str, float]]:
    """(container id, check timeout) of the project's running containers whose check is due."""
    ids = podman("ps", "--quiet", "--no-trunc", "--filter", f"label=com.docker.compose.project={project}").stdout
    if not ids.split():
        return []
    inspected = podman("inspect", *ids.split())
    if inspected.returncode != 0:  # a container went away in between: next tick
        return []
    due = []
    for container in json.loads(inspected.stdout):
        check = container.get("Config", {}).get("Healthcheck") or {}
        if not check.get("Test") or check["Test"][0] == "NONE" or not container["State"].get("Running"):
            continue
        health = container["State"].get("Health") or container["State"].get("Healthcheck") or {}
        interval = (check.get("Interval") or 0) / 1e9 or DEFAULT_INTERVAL
        every = interval if health.get("Status") == "healthy" else min(interval, NOT_HEALTHY_EVERY)
        if now - last_run.get(container["Id"], 0.0) >= every:
            due.append((container["Id"], (check.get("Timeout") or 0) / 1e9 or 30.0))
    return due


def main(project: str) -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    last_run: dict[str, float] = {}
    with ThreadPoolExecutor(max_workers=8) as pool:
        while True:
            now = time.monotonic()
            due = due_checks(project, last_run, now)
            for container_id, _ in due:
                last_run[container_id] = now
            # `podman healthcheck run` records the result; its exit status is the check's.
            list(pool.map(lambda item: podman("healthcheck", "run", item[0], timeout=item[1] + 10), due))
            time.sleep(max(0.0, NOT_HEALTHY_EVERY - (time.monotonic() - now)))


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
