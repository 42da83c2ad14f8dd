"""`make up`'s command: clear failures, and parts restarted when they die (Ctrl-C leaving nothing
behind is shown by tests/browser/test_restart.py, which stops and starts a stack anyway)."""

import os
import signal
import socket
import time

import psutil
import pytest
import requests

from mysfits_local.processes import free_port
from mysfits_local.stack import DEFAULT_PORTS
from mysfits_testkit.stack import start_stack

pytestmark = pytest.mark.integration


def _descendants(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def test_a_port_in_use_fails_fast_with_a_clear_message(tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        ports = {name: free_port() for name in DEFAULT_PORTS} | {"api": taken}
        stack = start_stack(tmp_path, ports=ports)
        assert stack.stop(30) == 1
    output = "".join(stack.output)
    assert f"port {taken} (api) on 127.0.0.1 is already in use" in output
    assert f"MYSFITS_API_PORT={taken + 100} make up" in output  # a command that works as it is
    assert all(f"MYSFITS_{name.upper()}_PORT" in output for name in DEFAULT_PORTS)


def _master(stack, marker: str) -> psutil.Process | None:
    """The stack's running direct child whose command line contains `marker`."""
    for child in psutil.Process(stack.process.pid).children():
        try:
            if child.status() != psutil.STATUS_ZOMBIE and marker in " ".join(child.cmdline()):
                return child
        except psutil.Error:
            continue
    return None


def _wait_for(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.2)


def test_a_part_that_dies_is_restarted_and_one_that_keeps_dying_stops_the_stack(tmp_path):
    stack = start_stack(tmp_path)
    assert "Press Ctrl-C to stop." in "".join(stack.output)
    first = _master(stack, "catalog:create_app")
    os.kill(first.pid, signal.SIGKILL)
    _wait_for(lambda: any("catalog stopped unexpectedly (exit code -9); restarted it" in line for line in stack.output))
    _wait_for(lambda: _answers(f"{stack.api_url}/mysfits"))
    assert _master(stack, "catalog:create_app").pid != first.pid
    assert stack.process.poll() is None  # the stack goes on

    children = _descendants(stack.process.pid)
    for _ in range(2):  # two more within a minute: restarted each time
        victim = _master(stack, "catalog:create_app")
        os.kill(victim.pid, signal.SIGKILL)
        _wait_for(lambda victim=victim: (_master(stack, "catalog:create_app") or victim).pid != victim.pid)
    os.kill(_master(stack, "catalog:create_app").pid, signal.SIGKILL)  # a fourth: it keeps dying
    assert stack.process.wait(60) == 1
    stack.stop()
    output = "".join(stack.output)
    assert "error: catalog stopped unexpectedly 4 times in 60s (exit code -9); not restarting it again" in output
    assert "Last lines of" in output
    _, alive = psutil.wait_procs(children, timeout=10)
    assert alive == []


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False
