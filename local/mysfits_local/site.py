"""Static hosting for the site on one machine (CloudFront + S3 on AWS).

Serves `web/` and, at `/config.json`, the file the stack generated for this run, so the
page reads its settings exactly as it does from the bucket on AWS. Every answer carries the
security headers of the site template's CloudFront response headers policy (the
Content-Security-Policy with this stack's API and Cognito origins in connect-src), as the
distribution adds them; no directory is listed and no server version is named. Files are served
as the deploy tool publishes them (`mysfits_deploy.site`: scripts and styles minified). Where the
template's cache behavior says `Compress: true`, text files of 1,000 bytes or more are sent
gzipped to a browser that accepts it, as CloudFront does.

    python -m mysfits_local.site --web-dir web --config .run/config.json --port 8080 \
        --template cfn/site.yaml --connect-origin http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import functools
import gzip
import io
import os
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from mysfits_deploy import templates
from mysfits_deploy.site import MINIFIERS, published

from .infra import REGION


def security_headers(template: Path, connect_origins: list[str]) -> dict[str, str]:
    """The headers the site template's response headers policy makes CloudFront add."""
    (policy,) = [
        r["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
        for r in templates.load(template)["Resources"].values()
        if r["Type"] == "AWS::CloudFront::ResponseHeadersPolicy"
    ]
    values = {"ConnectOrigins": " ".join(connect_origins), "AWS::Region": REGION, "AWS::URLSuffix": "amazonaws.com"}
    csp = policy["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"]
    for name, value in values.items():
        csp = csp.replace("${" + name + "}", value)
    hsts = policy["StrictTransportSecurity"]
    return {
        "Content-Security-Policy": " ".join(csp.split()),
        "Strict-Transport-Security": f"max-age={hsts['AccessControlMaxAgeSec']}"
        + ("; includeSubDomains" if hsts.get("IncludeSubdomains") else "")
        + ("; preload" if hsts.get("Preload") else ""),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": policy["FrameOptions"]["FrameOption"],
        "Referrer-Policy": policy["ReferrerPolicy"]["ReferrerPolicy"],
    }


def compresses(template: Path) -> bool:
    """Whether the distribution's default cache behavior compresses what it serves."""
    (distribution,) = [
        r["Properties"]["DistributionConfig"]
        for r in templates.load(template)["Resources"].values()
        if r["Type"] == "AWS::CloudFront::Distribution"
    ]
    return distribution["DefaultCacheBehavior"].get("Compress") is True


# What CloudFront compresses: these types, from 1,000 bytes (images other than SVG are already compressed).
COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml")
MIN_COMPRESSED_BYTES = 1000


# Kept per file version: the file's time is in the key, so an edited file is read and zipped again.
@functools.lru_cache(maxsize=256)
def _published(path: str, mtime_ns: int) -> bytes:
    return published(Path(path))


@functools.lru_cache(maxsize=256)
def _gzipped(path: str, mtime_ns: int) -> bytes:
    return gzip.compress(_published(path, mtime_ns), compresslevel=6, mtime=0)


class SiteHandler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a page's dozen files over a few connections, as a CDN serves them
    # Headers and body go out in two writes: without this, Nagle's algorithm holds the body back
    # until the browser's delayed ACK of the headers (tens of milliseconds per file).
    disable_nagle_algorithm = True
    extensions_map: ClassVar[dict[str, str]] = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".svg": "image/svg+xml",
        ".json": "application/json",
    }

    def __init__(self, *args, config_path: Path, headers: dict[str, str], compress: bool = False, **kwargs):
        self.config_path = config_path
        self.security_headers = headers
        self.compress = compress
        super().__init__(*args, **kwargs)

    def send_head(self):
        """The file as it is published (scripts and styles minified), gzipped when the browser
        accepts it and it is worth it; other files as the base class serves them."""
        path = self.translate_path(self.path)
        if os.path.isdir(path) and self.path.split("?", 1)[0].endswith("/"):
            path = os.path.join(path, "index.html")  # as the base class serves a directory
        if not os.path.isfile(path):
            return super().send_head()
        content_type, stat = self.guess_type(path), os.stat(path)
        minified = Path(path).suffix in MINIFIERS
        gzip_accepted = (
            self.compress
            and "gzip" in self.headers.get("Accept-Encoding", "")
            and content_type.startswith(COMPRESSIBLE)
        )
        if not (minified or gzip_accepted):
            return super().send_head()  # an image as it is: not read here
        body = _published(path, stat.st_mtime_ns)
        compressed = gzip_accepted and len(body) >= MIN_COMPRESSED_BYTES
        if not (minified or compressed):
            return super().send_head()
        if compressed:
            body = _gzipped(path, stat.st_mtime_ns)
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        if compressed:
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Vary", "Accept-Encoding")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Last-Modified", self.date_time_string(stat.st_mtime))
        self.end_headers()
        return io.BytesIO(body)

    def version_string(self) -> str:
        return "mysfits-site"

    def list_directory(self, path):
        self.send_error(404, "Not Found")

    def translate_path(self, path: str) -> str:
        if path.split("?", 1)[0] == "/config.json":
            return str(self.config_path)
        return super().translate_path(path)

    def end_headers(self) -> None:
        for name, value in self.security_headers.items():
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
    parser.add_argument("--template", type=Path, required=True, help="the site's template (cfn/site.yaml)")
    parser.add_argument(
        "--connect-origin", action="append", default=[], help="an origin the page calls (repeatable): APIs, Cognito"
    )
    args = parser.parse_args(argv)
    handler = functools.partial(
        SiteHandler,
        directory=str(args.web_dir),
        config_path=args.config.resolve(),
        headers=security_headers(args.template, args.connect_origin),
        compress=compresses(args.template),
    )
    with ThreadingHTTPServer((args.host, args.port), handler) as server:
        server.daemon_threads = True
        server.serve_forever()


if __name__ == "__main__":
    main()
