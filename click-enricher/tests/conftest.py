"""Fixtures of the enricher's tests: the real catalog app over real HTTP, and the handler wired to it.

The catalog is the catalog service's Flask app on the session's moto server, seeded with the
bundled mysfits and served by a threaded werkzeug server on an ephemeral 127.0.0.1 port,
behind `CatalogSwitch`: WSGI middleware that counts requests and can be told to fail.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from catalog import create_app
from catalog.seed import bundled_records, seed
from enricher import handler as enricher_handler

EVENTS = Path(__file__).parent / "events"
STREAM_ARN = "arn:aws:firehose:us-east-1:123456789012:deliverystream/mysfits-clicks"
SETTINGS = ("CATALOG_API_URL", "CATALOG_TIMEOUT_SECONDS", "CATALOG_ATTEMPTS", "CATALOG_CACHE_SECONDS")


def load_event(name: str) -> dict:
    """A stored Firehose transformation event from tests/events/."""
    return json.loads((EVENTS / f"{name}.json").read_text())


def firehose_event(clicks: list[dict], first_arrival_ms: int = 1714564800000) -> dict:
    """A transformation event with one newline-terminated JSON record per click."""
    records = [
        {
            "recordId": f"record-{index:05d}",
            "approximateArrivalTimestamp": first_arrival_ms + index,
            "data": base64.b64encode(json.dumps(click).encode() + b"\n").decode(),
        }
        for index, click in enumerate(clicks)
    ]
    return {
        "invocationId": "test-invocation",
        "deliveryStreamArn": STREAM_ARN,
        "region": "us-east-1",
        "records": records,
    }


def decoded(record: dict) -> bytes:
    return base64.b64decode(record["data"], validate=True)


@dataclass(frozen=True)
class LambdaContext:
    """The attributes of the Lambda context object the handler's logger reads."""

    function_name: str = "click-enricher"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:click-enricher"
    aws_request_id: str = "0f0e0d0c-0b0a-4090-8070-605040302010"


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
    """The catalog app served over HTTP on 127.0.0.1; `stop()` then `start()` keeps the same port."""

    def __init__(self, app) -> None:
        self.switch = CatalogSwitch(app)
        self.port = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._server = _Server("127.0.0.1", self.port, self.switch, handler=_QuietHandler)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.start()

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


@pytest.fixture
def seed_mysfits() -> dict[str, dict]:
    """The bundled catalog (catalog-service/catalog/data/mysfits.json) by MysfitId."""
    return {record["MysfitId"]: record for record in bundled_records()}


@pytest.fixture
def catalog_api(moto_url, table, make_settings, seed_mysfits):
    """The real catalog service over HTTP, its table seeded with the bundled mysfits."""
    seed(seed_mysfits.values())
    app = create_app(make_settings(moto_url))
    # The app's first table read initialises its clients (most of a second); do it here, uncounted,
    # so timing-sensitive tests measure the enricher rather than the catalog's start-up.
    assert app.test_client().get(f"/mysfits/{next(iter(seed_mysfits))}").status_code == 200
    server = CatalogServer(app)
    server.start()
    yield server
    if server._server is not None:
        server.stop()


class Enricher:
    """The handler module, configured through environment variables like in Lambda."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._monkeypatch = monkeypatch
        self.context = LambdaContext()

    def configure(self, **env: str) -> None:
        """Set CATALOG_* variables and start cold (as a new Lambda environment would)."""
        for name, value in env.items():
            self._monkeypatch.setenv(name, value)
        enricher_handler.reset()

    def invoke(self, event: dict) -> dict:
        return enricher_handler.handler(event, self.context)

    @property
    def calls(self) -> int:
        """Catalog HTTP requests made since the last cold start."""
        return enricher_handler.catalog_calls()


@pytest.fixture
def enricher(monkeypatch, catalog_api):
    """The handler, cold, pointed at `catalog_api` with the default settings."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    function = Enricher(monkeypatch)
    function.configure(CATALOG_API_URL=catalog_api.url)
    yield function
    enricher_handler.reset()  # closes the keep-alive session before the server stops
