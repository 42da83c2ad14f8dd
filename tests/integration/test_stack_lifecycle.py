"""`make up`'s command: ready in order, clear failures, nothing left behind on Ctrl-C."""

import os
import signal
import socket

import psutil
import pytest

from conftest import free_port
from mysfits_local.stack import DEFAULT_PORTS

from ..conftest import start_stack

pytestmark = pytest.mark.integration


def _descendants(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def _port_open(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as probe:
        return probe.connect_ex((host, int(port))) == 0


def test_ctrl_c_stops_every_process_and_frees_every_port(tmp_path):
    stack = start_stack(tmp_path)
    output = "".join(stack.output)
    assert "Press Ctrl-C to stop." in output, output
    for part in ("aws", "catalog", "adoption", "api", "site"):
        assert f"{part:<8} ready" in output
    assert f"site      {stack.site_url}/" in output
    children = _descendants(stack.process.pid)
    # moto, two gunicorn masters with their workers, gateway, site
    assert len(children) >= 7

    assert stack.stop() == 0
    _gone, alive = psutil.wait_procs(children, timeout=5)
    assert alive == []
    for url in (stack.site_url, stack.api_url, stack.catalog_url, stack.adoption_url, stack.aws_url):
        assert not _port_open(url)


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


def test_a_part_that_dies_stops_the_stack_with_its_name_and_log(tmp_path):
    stack = start_stack(tmp_path)
    assert "Press Ctrl-C to stop." in "".join(stack.output)
    children = _descendants(stack.process.pid)
    catalog_master = next(p for p in children if "gunicorn" in " ".join(p.cmdline()) and p.ppid() == stack.process.pid)
    os.kill(catalog_master.pid, signal.SIGKILL)
    assert stack.process.wait(60) == 1  # it notices by itself; nobody pressed Ctrl-C
    stack.stop()
    output = "".join(stack.output)
    assert "error: catalog stopped unexpectedly" in output
    assert "Last lines of" in output
    _, alive = psutil.wait_procs(children, timeout=10)
    assert alive == []
