"""One way to run a part of the stack as its own process: start it, wait until it is ready, stop it.

`up` (`stack.py`), the tests and the benchmark all start processes through `Process`. Readiness
is a probe (`answers`, `answers_ok`, or any callable, such as a check of `up`'s ready file), never
a line of printed text. A process runs in its own process group, so stopping it stops whatever it
started (gunicorn's workers), and it is told to stop (SIGTERM) if the process that started it dies.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

Probe = Callable[[], bool]


class NotReady(RuntimeError):
    """A process exited while starting, or did not become ready in time; says which, with its log."""


FIRST_FREE_PORT = 10000
CLIENT_PORTS = "/proc/sys/net/ipv4/ip_local_port_range"  # Linux: the first and last client port


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing is bound to now, below the range the system takes client ports from: a
    port from that range (what binding port 0 gives) can be taken by any outgoing connection
    before the part that is to listen on it binds it, and under load one was."""
    lowest_client_port = int(Path(CLIENT_PORTS).read_text().split()[0]) if Path(CLIENT_PORTS).exists() else 32768
    for _ in range(200):
        port = random.randrange(FIRST_FREE_PORT, max(lowest_client_port, FIRST_FREE_PORT + 1000))  # noqa: S311
        with socket.socket() as tcp, socket.socket(type=socket.SOCK_DGRAM) as udp:  # X-Ray listens on both
            try:
                tcp.bind((host, port))
                udp.bind((host, port))
            except OSError:
                continue
            return port
    raise OSError(f"no free port on {host} below {lowest_client_port}")


def module_command(module: str, host: str, port: int, *args: str) -> list[str]:
    """`python -m module --host HOST --port PORT *args`: how every stand-in and the stack's parts start."""
    return [sys.executable, "-m", module, "--host", host, "--port", str(port), *args]


def answers(url: str, timeout: float = 2) -> Probe:
    """Ready once anything answers HTTP at `url`."""

    def probe() -> bool:
        requests.get(url, timeout=timeout)
        return True

    return probe


def answers_ok(url: str, timeout: float = 2) -> Probe:
    """Ready once `url` answers 2xx."""
    return lambda: requests.get(url, timeout=timeout).ok


def _die_with_parent() -> None:
    """Runs in the child before exec: if the process that started it dies, it gets SIGTERM."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Process:
    """A command run as its own process group, its output appended to `log_path`."""

    name: str
    command: list[str]
    log_path: Path
    env: dict[str, str] | None = None  # None: this process's environment
    cwd: Path | None = None
    ready: Probe | None = None  # None: ready once started
    stop_timeout: float = 10.0
    popen: subprocess.Popen | None = field(default=None, repr=False)

    def start(self) -> Process:
        """Start (or start again: the log goes on after the last run's)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        return self

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Seconds until the probe said ready; NotReady if the process exits or time runs out."""
        started = time.monotonic()
        while time.monotonic() < started + timeout:
            if self.popen.poll() is not None:
                raise NotReady(self.failure(f"exited during start-up (exit code {self.popen.returncode})"))
            try:
                if self.ready is None or self.ready():
                    return time.monotonic() - started
            except (requests.RequestException, OSError):
                pass
            time.sleep(0.05)
        self.stop(signal.SIGKILL)
        raise NotReady(self.failure(f"was not ready after {timeout:.0f}s"))

    def start_ready(self, timeout: float = 60.0) -> Process:
        self.start().wait_ready(timeout)
        return self

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def exit_code(self) -> int | None:
        """None while it runs."""
        return self.popen.poll() if self.popen else None

    def signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signum)

    def stop(self, signum: int = signal.SIGTERM, timeout: float | None = None) -> int | None:
        """Signal the group, wait for the process (SIGKILL after `timeout`), then kill what it left."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self.signal_group(signum)
            try:
                self.popen.wait(self.stop_timeout if timeout is None else timeout)
            except subprocess.TimeoutExpired:
                self.signal_group(signal.SIGKILL)
                self.popen.wait()
        self.signal_group(signal.SIGKILL)  # workers it left behind in its group
        return self.popen.returncode

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def failure(self, what: str, lines: int = 20) -> str:
        """`<name> <what>.` and the end of its log."""
        tail = self.log().splitlines()[-lines:]
        shown = "\n".join("    " + line for line in tail) or "    (no output)"
        return f"{self.name} {what}. Last lines of {self.log_path}:\n{shown}"
