"""The catalog as the enricher sees it, faked: a client, or an app served over HTTP.

`FakeCatalogClient` stands in for the enricher's `CatalogClient`; `fake_catalog_app` answers
`GET /mysfits/{id}` as the catalog API does. `CatalogServer` serves any catalog app (the fake, or
the real one in the integration tests) on a free 127.0.0.1 port, behind `CatalogSwitch`, which
counts requests and can be told to fail or stall.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from enricher.catalog import FIELDS, NOT_FOUND, CatalogUnavailable


def catalog_facts(record: dict) -> dict:
    """What the catalog API says about a seeded mysfit (`Name` as `name`...), the fields the enricher reads."""
    by_name = {key.lower(): value for key, value in record.items()}
    return {name: by_name[name] for name in FIELDS}


class FakeCatalogClient:
    """The enricher's catalog client, answering from `mysfits` (id -> facts) or failing while `down`."""

    def __init__(self, mysfits: dict[str, dict]) -> None:
        self.mysfits = mysfits
        self.calls = 0
        self.down = False
        self.closed = False

    def get_mysfit(self, mysfit_id: str) -> dict | None:
        self.calls += 1
        if self.down:
            raise CatalogUnavailable("down", exhausted=True)
        return self.mysfits.get(mysfit_id, NOT_FOUND)

    def close(self) -> None:
        self.closed = True


def fake_catalog_app(mysfits: dict[str, dict]):
    """A WSGI app answering `GET /mysfits/{id}` from `mysfits` (id -> facts), 404 for any other id."""

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        mysfit_id = path.removeprefix("/mysfits/")
        facts = mysfits.get(mysfit_id) if path.startswith("/mysfits/") else None
        if facts is None:
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [json.dumps({"error": "not found", "status": 404}).encode()]
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"mysfitId": mysfit_id, **facts}).encode()]

    return app


class CatalogSwitch:
    """WSGI middleware: counts requests; can answer an error status or stall before answering."""

    def __init__(self, app) -> None:
        self.app = app
        self.requests = 0
        self._lock = threading.Lock()
        self._failures: list[tuple[int, int | None]] = []  # (status, how many more or None = all)
        self._failure_headers: list[tuple[str, str]] = []
        self._stall = 0.0
        self._released = threading.Event()

    def fail(self, status: int = 503, times: int | None = None, headers: dict[str, str] | None = None) -> None:
        """Answer `status` (with `headers`) to the next `times` requests (all, if None)."""
        self._failures = [(status, times)]
        self._failure_headers = list((headers or {}).items())

    def stall(self, seconds: float) -> None:
        """Wait `seconds` before answering each request (until `heal`)."""
        self._released = threading.Event()
        self._stall = seconds

    def heal(self) -> None:
        self._failures, self._stall = [], 0.0
        self._released.set()

    def __call__(self, environ, start_response):
        with self._lock:
            self.requests += 1
            status = None
            if self._failures:
                status, times = self._failures[0]
                if times is not None:
                    self._failures = [(status, times - 1)] if times > 1 else []
        if self._stall:
            self._released.wait(self._stall)
        if status is not None:
            start_response(
                f"{status} Failing On Purpose", [("Content-Type", "application/json"), *self._failure_headers]
            )
            return [json.dumps({"error": "test", "status": status}).encode()]
        return self.app(environ, start_response)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass


class _Server(ThreadedWSGIServer):
    """Remembers open connections so `stop` can cut them, like a catalog that goes down."""

    daemon_threads = False  # server_close() joins every connection's thread

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def process_request(self, request, client_address) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)


class CatalogServer:
    """A catalog app served over HTTP on 127.0.0.1; `stop()` then `start()` keeps the same port."""

    def __init__(self, app) -> None:
        self.switch = CatalogSwitch(app)
        self.port = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> CatalogServer:
        self._server = _Server("127.0.0.1", self.port, self.switch, handler=_QuietHandler)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and cut every open connection (connections are then refused)."""
        self.switch.heal()  # releases stalled requests
        self._server.shutdown()
        with self._server.connections_lock:
            for connection in self._server.connections:
                with contextlib.suppress(OSError):  # already closed by the client
                    connection.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        self._thread.join()
        self._server = None
