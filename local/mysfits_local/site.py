"""Static hosting for the site on one machine (CloudFront + S3 on AWS).

Serves `web/` and, at `/config.json`, the file the stack generated for this run, so the
page reads its settings exactly as it does from the bucket on AWS.

    python -m mysfits_local.site --web-dir web --config .run/config.json --port 8080
"""

from __future__ import annotations

import argparse
import functools
import os
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

# The same security headers the CloudFront distribution adds on AWS.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
}


class SiteHandler(SimpleHTTPRequestHandler):
    extensions_map: ClassVar[dict[str, str]] = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".svg": "image/svg+xml",
        ".json": "application/json",
    }

    def __init__(self, *args, config_path: Path, **kwargs):
        self.config_path = config_path
        super().__init__(*args, **kwargs)

    def translate_path(self, path: str) -> str:
        if path.split("?", 1)[0] == "/config.json":
            return str(self.config_path)
        return super().translate_path(path)

    def end_headers(self) -> None:
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        # Settings and the page itself must never be stale; images may be cached briefly.
        cacheable = self.path.startswith("/images/")
        self.send_header("Cache-Control", "public, max-age=300" if cacheable else "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - signature of the base class
        if os.environ.get("MYSFITS_SITE_ACCESS_LOG"):
            super().log_message(format, *args)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mysfits_local.site", description="Serve the site locally")
    parser.add_argument("--web-dir", type=Path, required=True)
    parser.add_argument("--config", type=Path, required=True, help="the generated config.json")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("MYSFITS_SITE_PORT", "8080")))
    args = parser.parse_args(argv)
    handler = functools.partial(SiteHandler, directory=str(args.web_dir), config_path=args.config.resolve())
    with ThreadingHTTPServer((args.host, args.port), handler) as server:
        server.daemon_threads = True
        server.serve_forever()


if __name__ == "__main__":
    main()
