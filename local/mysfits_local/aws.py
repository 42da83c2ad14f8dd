"""The embedded AWS: moto in server mode, one request at a time.

    python -m mysfits_local.aws --host 127.0.0.1 --port 4566

DynamoDB makes each write, conditional write and transaction atomic. moto's backends are
plain Python objects with no locking (a transaction even snapshots and restores whole
tables), so concurrent requests could interleave and lose updates. This server runs
moto's WSGI application under one lock: every request is atomic, which is what the
services rely on. moto is CPU-bound under the GIL anyway, so the lock costs little.
Werkzeug's per-request INFO log line is off: it costs moto measurable CPU under load.
Its CloudFormation also creates the types moto lacks that the templates use (`cfn_types`).

Its user pools sign tokens with a key pair of this stack, never with the one that ships inside
moto (anyone could mint a token for any visitor with that). `--signing-key FILE` keeps the pair
in FILE (created on first use, readable by its owner only), so tokens outlive a restart; without
it a new pair is made for each run. Pinned by local/tests/test_aws.py.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import threading
from pathlib import Path

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mysfits_local.aws", description="Embedded AWS (moto)")
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=4566)
    parser.add_argument("--signing-key", type=Path, help="where the user pools' key pair is kept (JWK, JSON)")
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    use_signing_key(args.signing_key)
    cfn_types.register()
    app = SerializedApp(DomainDispatcherApplication(create_backend_app))
    run_simple(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
