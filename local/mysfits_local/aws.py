"""The embedded AWS: moto in server mode, one request at a time.

    python -m mysfits_local.aws --host 127.0.0.1 --port 4566

DynamoDB makes each write, conditional write and transaction atomic. moto's backends are
plain Python objects with no locking (a transaction even snapshots and restores whole
tables), so concurrent requests could interleave and lose updates. This server runs
moto's WSGI application under one lock: every request is atomic, which is what the
services rely on. moto is CPU-bound under the GIL anyway, so the lock costs little.
Werkzeug's per-request INFO log line is off: it costs moto measurable CPU under load.
Its CloudFormation also creates the types moto lacks that the templates use (`cfn_types`).
"""

from __future__ import annotations

import argparse
import logging
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple

from . import cfn_types


class SerializedApp:
    """A WSGI wrapper that lets one request at a time into the wrapped application."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            # Consume the body inside the lock: moto may build it lazily from live state.
            return list(self.app(environ, start_response))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mysfits_local.aws", description="Embedded AWS (moto)")
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=4566)
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    cfn_types.register()
    app = SerializedApp(DomainDispatcherApplication(create_backend_app))
    run_simple(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
