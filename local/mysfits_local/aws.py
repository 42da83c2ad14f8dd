"""The embedded AWS: moto in server mode, one request at a time.

    python -m mysfits_local.aws --host 127.0.0.1 --port 4566

DynamoDB makes each write, conditional write and transaction atomic. moto's backends are
plain Python objects with no locking (a transaction even snapshots and restores whole
tables), so concurrent requests could interleave and lose updates. This server (`serve`)
runs moto's WSGI application on one event loop, one request at a time in the order they
come: every request is atomic, which is what the services rely on, and clients keep their
connections. (moto's own server, werkzeug's, starts a thread and takes a new connection for
every request, only for them to queue on a lock: like/adopt through the gateway ran at about
150/s there, 200/s here, with the embedded AWS's CPU per like down by a quarter.)
Its CloudFormation also creates the types moto lacks that the templates use (`cfn_types`).

Its user pools sign tokens with a key pair of this stack, never with the one that ships inside
moto (anyone could mint a token for any visitor with that). `--signing-key FILE` keeps the pair
in FILE (created on first use, readable by its owner only), so tokens outlive a restart; without
it a new pair is made for each run. Pinned by local/tests/test_aws.py.

A DynamoDB transaction saves and restores only the items it names (`keep_transactions_cheap`):
moto copies every table it names, so each like cost more time and memory than the last. moto's
objects are freed when it is done with them (`keep_no_dead_models`), not kept for its dashboard.
moto's backends and its handlers' methods are listed once (`look_up_once`), not on every request.

`--state FILE` keeps the state across restarts and crashes (`StateJournal`): every request that
changed it, replayed at start.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import io
import json
import logging
import os
import secrets
import sys
from pathlib import Path
from urllib.parse import parse_qs, unquote_to_bytes

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from . import cfn_types

log = logging.getLogger(__name__)


# Actions that only read (the JSON and query protocols name them; REST services use GET and HEAD).
_READS = ("Get", "List", "Describe", "Query", "Scan", "BatchGet", "Head")
_WSGI_KEYS = ("REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "CONTENT_TYPE", "CONTENT_LENGTH", "SERVER_NAME",
              "SERVER_PORT", "SERVER_PROTOCOL", "wsgi.url_scheme")  # fmt: skip


def changes_state(environ: dict, body: bytes) -> bool:
    """Whether a request may change the embedded AWS's state (reads, and moto's own API, do not):
    its action is in X-Amz-Target (JSON protocol) or the form body (query protocol); a REST
    request changes state unless it is a GET or a HEAD."""
    if environ["REQUEST_METHOD"] in ("GET", "HEAD", "OPTIONS") or environ.get("PATH_INFO", "").startswith("/moto-api"):
        return False
    action = environ.get("HTTP_X_AMZ_TARGET", "").rpartition(".")[2]
    if not action and environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        action = parse_qs(body.decode("latin-1")).get("Action", [""])[0]
    return not action.startswith(_READS)


class StateJournal:
    """The embedded AWS's state, kept as the requests that changed it, so it survives a restart
    and a crash (`make up` replays it; `make up FRESH=1` starts clean).

    Each request that changes state is written (with the seed of moto's random numbers for it)
    before its answer is sent, and flushed: a process killed at any point has answered only what
    the file holds. Replaying the requests in order with their seeds gives the same ids (user
    pools, app clients, visitors' subs, stacks, buckets) and the same items. Timestamps are the
    replay's. What changes nothing is not kept, so the file grows with writes only.
    """

    def __init__(self, path: Path):
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = None

    def replay(self, app) -> int:
        """Apply every kept request to `app` (a fresh moto), in order; how many were applied."""
        from moto.moto_api._internal import mock_random

        applied = kept = 0  # entries and bytes replayed
        cfn_types.DeliveryStream.restoring = True
        try:
            with self.path.open("rb") if self.path.exists() else io.BytesIO() as journal:
                for line in journal:
                    if not line.endswith(b"\n"):  # written by a process killed mid-entry: never answered
                        log.warning("dropping an incomplete last entry of %s", self.path)
                        break
                    entry = json.loads(line)
                    body = base64.b64decode(entry["body"])
                    environ = {**wsgi_base(body), **entry["environ"]}
                    mock_random.seed(entry["seed"])
                    list(app(environ, lambda status, headers, exc_info=None: None))
                    applied, kept = applied + 1, kept + len(line)
        finally:
            cfn_types.DeliveryStream.restoring = False
        self._file = self.path.open("ab")
        self._file.truncate(kept)  # new entries follow the last whole one, not a torn one
        return applied

    def record(self, app, environ: dict, start_response) -> list[bytes]:
        """Serve a request; keep it, before it is answered, if it changed state and succeeded."""
        from moto.moto_api._internal import mock_random

        body = environ["wsgi.input"].getvalue()  # the whole body, read by `serve`
        if not changes_state(environ, body):
            return list(app(environ, start_response))
        seed = secrets.randbits(63)
        mock_random.seed(seed)
        answered = []

        def keep_status(status, headers, exc_info=None):
            answered.append(status)
            return start_response(status, headers, exc_info)

        chunks = list(app(environ, keep_status))
        if answered and answered[0].startswith("2"):
            kept = {key: value for key, value in environ.items() if key in _WSGI_KEYS or key.startswith("HTTP_")}
            entry = {"seed": seed, "environ": kept, "body": base64.b64encode(body).decode()}
            self._file.write(json.dumps(entry, separators=(",", ":")).encode() + b"\n")
            self._file.flush()  # in the system's hands: it survives this process being killed
        return chunks


def use_signing_key(path: Path | None) -> None:
    """Make every user pool sign with this stack's key and serve its public half as the JWKS."""
    from joserfc import jwk
    from moto.cognitoidp import models, responses

    if path is not None and path.exists():
        key = jwk.RSAKey.import_key(json.loads(path.read_text()))
    else:
        key = jwk.RSAKey.generate_key(2048, private=True)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as file:
                json.dump(key.as_dict(private=True), file)
    # moto names its one key "dummy" in every token it signs, so the JWKS names it that too.
    public = {**key.as_dict(private=False), "kid": "dummy", "alg": "RS256", "use": "sig"}
    responses.CognitoIdpJsonWebKeyResponse.json_web_key = json.dumps({"keys": [public]}).encode()
    original_init = models.CognitoIdpUserPool.__init__

    def init(pool, *args, **kwargs):
        original_init(pool, *args, **kwargs)
        pool.json_web_key = key

    models.CognitoIdpUserPool.__init__ = init


def keep_transactions_cheap() -> None:
    """Make a DynamoDB transaction cost what it touches, not the whole table.

    moto's TransactWriteItems deep-copies every table a transaction names, to restore it if the
    transaction is cancelled: each like cost a copy of the likes table (latency and memory
    growing with every like). Here the tables are not copied; the items the transaction names
    are saved instead and put back if it fails. moto's module reaches `copy` by name, so only
    that name is replaced, and only for the duration of a transaction (the server runs one
    request at a time). Pinned: local/tests/test_aws.py.
    """
    import copy

    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    class CopyButNotTables:
        in_transaction = False

        def __getattr__(self, name):
            return getattr(copy, name)

        def deepcopy(self, value, memo=None):
            if self.in_transaction and isinstance(value, Table):
                return value  # the transaction's items are saved below instead
            return copy.deepcopy(value, memo)

    shim = CopyButNotTables()
    models.copy = shim
    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(backend, transact_items):
        saved = _items_before(backend, transact_items)
        shim.in_transaction = True
        try:
            return original(backend, transact_items)
        except BaseException:
            for table_name, key, attributes in reversed(saved):
                if attributes is None:
                    if backend.get_item(table_name, key) is not None:
                        backend.delete_item(table_name, key)
                else:
                    backend.put_item(table_name, attributes)
            raise
        finally:
            shim.in_transaction = False

    models.DynamoDBBackend.transact_write_items = transact_write_items


def keep_no_dead_models() -> None:
    """Let moto's objects go when moto is done with them.

    Every object of a moto model (each DynamoDB item and each copy moto makes of one on every
    update, read and transaction; each S3 object version) is appended, when made, to a list on
    its class that only moto's dashboard (`/moto-api/data.json`) reads, and is never freed: each
    like kept about 1.7 KB for good. Here moto's models are made without being listed.
    Pinned: local/tests/test_aws.py.
    """
    from moto.core.common_models import BaseModel

    def new(cls, *args, **kwargs):
        return super(BaseModel, cls).__new__(cls)

    BaseModel.__new__ = new


# DynamoDB's item operations: their answers are items and counts, plain JSON as moto makes them.
_ITEM_OPERATIONS = frozenset({"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem",
                              "BatchWriteItem", "TransactGetItems", "TransactWriteItems"})  # fmt: skip


def answer_items_directly() -> None:
    """Write DynamoDB's item answers as the JSON they already are.

    moto writes every answer by walking the operation's output shape from botocore's service
    model, member by member and attribute by attribute, trying each member's aliases: about a
    third of its time on a like (a transaction and a read of a dozen attributes). An item
    operation's answer that is plain JSON (objects, lists, strings, numbers, booleans: no binary
    value, no timestamp, no missing value) and names only the shape's members comes out of that
    walk unchanged, so it is written as it is; anything else still takes the walk. Pinned:
    local/tests/test_aws.py (every answer the same as moto's own).
    """
    from moto.core.responses import ActionResult

    original = ActionResult.execute_result

    def execute_result(result, context):
        operation = context.operation_model
        answer = result.result
        if (
            operation.name in _ITEM_OPERATIONS
            and context.service_model.service_name == "dynamodb"
            and isinstance(answer, dict)
            and answer.keys() <= operation.output_shape.members.keys()
            and _plain_json(answer)
        ):
            return 200, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps(answer)
        return original(result, context)

    ActionResult.execute_result = execute_result


def _plain_json(value) -> bool:
    """Whether `value` is made only of dicts with string keys, lists, strings, numbers and booleans."""
    if isinstance(value, dict):
        return all(isinstance(key, str) and _plain_json(item) for key, item in value.items())
    if isinstance(value, list):
        return all(_plain_json(item) for item in value)
    return isinstance(value, str | int | float)  # bool is an int


def look_up_once() -> None:
    """Look up once what cannot change while the server runs, not on every request.

    To route a request, moto's server checks the host against `list_of_moto_modules()`, which
    lists and stats moto's package directory each time (about a tenth of the embedded AWS's time
    under load); to find the action's method, it lists every member of the service's handler
    class with `inspect.getmembers`. Pinned: local/tests/test_aws.py.
    """
    from moto import backends
    from moto.core import responses

    modules = frozenset(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules
    names = responses.method_names_from_class
    responses.method_names_from_class = functools.cache(lambda handler: frozenset(names(handler)))


def _items_before(backend, transact_items) -> list[tuple[str, dict, dict | None]]:
    """(table, key, the item's attributes or None) of each item a transaction names, before it."""
    saved = []
    for entry in transact_items:
        try:
            op_type, op = next(iter(entry.items()))
            table = backend.get_table(op["TableName"])
            if op_type == "Put":
                names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
                key = {name: op["Item"][name] for name in names}
            else:
                key = op["Key"]
            current = backend.get_item(op["TableName"], key)
        except Exception as error:  # moto refuses such a transaction itself, with its own error
            log.debug("not saved before the transaction (moto will refuse it): %r", error)
            continue
        saved.append((op["TableName"], key, current.to_json()["Attributes"] if current else None))
    return saved


# Hop-by-hop headers: the server's own business, never passed on from the application.
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding"}


def wsgi_base(body: bytes) -> dict:
    """What every WSGI environ given to moto holds besides the request's own: the whole body as
    its input, and the server's facts (a served request's and a replayed one's alike)."""
    return {
        "SCRIPT_NAME": "", "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True, "wsgi.errors": sys.stderr, "wsgi.multithread": False,
        "wsgi.multiprocess": False, "wsgi.run_once": False,
    }  # fmt: skip


def wsgi_environ(request, body: bytes, host: str, port: int) -> dict:
    """The WSGI environ of an aiohttp request, as moto's own server builds it: S3 metadata
    headers with underscores keep their spelling, other underscored headers are dropped (one
    could pass for a dashed one)."""
    from moto.core.request import (
        PRESERVED_HEADER_NAMES_ENVIRON_KEY,
        environ_key_for_header,
        should_preserve_original_header_name,
    )

    path, _, query = request.raw_path.partition("?")
    environ = {
        **wsgi_base(body), "REQUEST_METHOD": request.method, "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
        "QUERY_STRING": query, "RAW_URI": request.raw_path, "REQUEST_URI": request.raw_path,
        "SERVER_NAME": host, "SERVER_PORT": str(port), "REMOTE_ADDR": request.remote or "",
        "SERVER_PROTOCOL": f"HTTP/{request.version.major}.{request.version.minor}",
    }  # fmt: skip
    preserved = {}
    for name, value in request.headers.items():
        if "_" in name and not should_preserve_original_header_name(name):
            continue
        key = environ_key_for_header(name)
        if "_" in name:
            preserved.setdefault(key, name)
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = preserved
    return environ


def serve(app, host: str, port: int) -> None:
    """Serve the WSGI `app` on one event loop until interrupted: each request whole, one at a
    time, in the order they come, over connections the clients keep (HTTP/1.1 keep-alive)."""
    import asyncio

    from aiohttp import web

    async def handle(request: web.BaseRequest) -> web.Response:
        if request.headers.get("Expect", "").lower() == "100-continue":  # boto3's larger S3 uploads
            await request.writer.write(b"HTTP/%d.%d 100 Continue\r\n\r\n" % request.version)
        body = await request.content.read()
        answer = []

        def start_response(status, headers, exc_info=None):
            answer[:] = [status, headers]
            return chunks.append

        chunks: list[bytes] = []
        chunks += app(wsgi_environ(request, body, host, port), start_response)  # moto works in this call
        (code, _, reason), headers = answer[0].partition(" "), answer[1]
        response = web.Response(status=int(code), reason=reason or None, body=b"".join(chunks))
        for name, value in headers:  # Content-Length too: a HEAD answer gives the size it does not send
            if name.lower() not in _HOP_BY_HOP:
                response.headers.add(name, value)
        response.headers.setdefault("Server", "mysfits-aws")  # no version named
        return response

    async def run() -> None:
        runner = web.ServerRunner(web.Server(handle, access_log=None))
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mysfits_local.aws", description="Embedded AWS (moto)")
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=4566)
    parser.add_argument("--signing-key", type=Path, help="where the user pools' key pair is kept (JWK, JSON)")
    parser.add_argument("--state", type=Path, help="keep the state in this file across restarts (replayed at start)")
    args = parser.parse_args(argv)
    use_signing_key(args.signing_key)
    keep_transactions_cheap()
    keep_no_dead_models()
    answer_items_directly()
    look_up_once()
    cfn_types.register()
    app = moto = DomainDispatcherApplication(create_backend_app)
    if args.state:
        journal = StateJournal(args.state)
        log.info("restored %d changes from %s", journal.replay(moto), args.state)
        app = functools.partial(journal.record, moto)
    serve(app, args.host, args.port)


if __name__ == "__main__":
    main()
