"""A stand-in or service a test starts on its own: `python -m <module> --host 127.0.0.1 --port <free>`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mysfits_local.processes import Process, answers, free_port, module_command


@dataclass
class Service(Process):
    """A stand-in or service a test started as its own process, at `url`."""

    url: str = ""


def start_service(
    module: str, args: list[str], log_path: Path, ready_path: str = "/", env: dict | None = None, port: int = 0
) -> Service:
    """`python -m module --host 127.0.0.1 --port <port or a free one> *args`, once it answers on `ready_path`."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    command = module_command(module, "127.0.0.1", port, *args)
    log_path.unlink(missing_ok=True)  # this run's output only
    service = Service(module, command, log_path, env, ready=answers(url + ready_path, timeout=1), url=url)
    return service.start_ready(timeout=30)
