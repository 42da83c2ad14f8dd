"""The ops console: recent traces, a trace's waterfall, the service map and the clicks, in a browser.

    python -m mysfits_local.console --port 8090 [--xray-endpoint URL] [--aws-url URL] [--run-dir .run]

Serves `local/console/` and its JSON API: `/api/traces?filter=&minutes=`, `/api/traces/{id}`,
`/api/service-map?minutes=`, `/api/clicks`. Traces come through boto3's `xray` client (see `traces`),
clicks from the bucket named in the run directory's `stack.json` (or the flags). Errors are
`{"error": {"code", "message"}}`: 400 for a filter X-Ray refuses, 503 when X-Ray or S3 is unreachable.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
from collections import Counter
from pathlib import Path

import boto3
import botocore.exceptions
from aiohttp import web

from mysfits_deploy.site import published
from mysfits_deploy.stacks import ROOT

from . import name_no_version, traces
from .clicks import read_clicks
from .identity import embedded_client
from .stack import STACK_FILE

STATIC_DIR = Path(__file__).resolve().parents[1] / "console"
# Nothing but this server's own files may load (no CDN), and never inside a frame.
CSP = "default-src 'self'; frame-ancestors 'none'"
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _minutes(request: web.Request) -> float:
    try:
        return float(request.query.get("minutes", 60))
    except ValueError:
        raise ApiError(400, "BadRequest", "minutes must be a number") from None


async def _call(what: str, function, *args, **kwargs):
    """`function` in a thread; AWS failures become ApiErrors that say what could not be read."""
    call = functools.partial(function, *args, **kwargs)
    try:
        return await asyncio.get_running_loop().run_in_executor(None, call)
    except traces.UNREACHABLE as error:
        raise ApiError(503, "Unavailable", f"cannot reach {what}: {error}") from None
    except botocore.exceptions.ClientError as error:
        details = error.response.get("Error", {})
        code, message = details.get("Code", "Error"), details.get("Message") or str(error)
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500)
        if code in ("InvalidRequestException", "ValidationException"):  # X-Ray's answer to a bad filter
            raise ApiError(400, code, message) from None
        raise ApiError(503 if status >= 500 else 502, code, f"{what} answered {status}: {message}") from None


async def list_traces(request: web.Request) -> web.Response:
    xray, expression = request.app["xray"], request.query.get("filter", "").strip()
    rows = await _call("X-Ray", traces.recent, xray, expression, _minutes(request))
    return web.json_response({"filter": expression, "traces": rows})


async def one_trace(request: web.Request) -> web.Response:
    trace_id = traces.trace_id_of(request.match_info["trace_id"])
    if trace_id is None:
        raise ApiError(400, "BadRequest", "a trace id looks like 1-<8 hex digits>-<24 hex digits>")
    trace = await _call("X-Ray", traces.get_trace, request.app["xray"], trace_id)
    if trace is None:
        raise ApiError(404, "NotFound", f"X-Ray holds no trace {trace_id}")
    return web.json_response(trace)


async def service_map(request: web.Request) -> web.Response:
    return web.json_response(await _call("X-Ray", traces.service_map, request.app["xray"], _minutes(request)))


def _clicks_source(app: web.Application) -> tuple[str | None, str]:
    """(S3 endpoint, bucket): the flags, else what the running stack saved in its run directory."""
    endpoint, bucket = app["aws_url"], app["clicks_bucket"]
    if not (endpoint and bucket):
        try:
            saved = json.loads((app["run_dir"] / STACK_FILE).read_text(encoding="utf-8"))
            endpoint = endpoint or saved["awsUrl"]
            bucket = bucket or saved["stacks"]["clicks"]["ClicksBucketName"]
        except (OSError, ValueError, KeyError, TypeError):
            where = app["run_dir"] / STACK_FILE
            raise ApiError(503, "Unavailable", f"no clicks bucket: {where} is missing (is the stack up?)") from None
    return endpoint, bucket


def _read_clicks(endpoint: str | None, bucket: str, region: str) -> dict:
    s3 = embedded_client("s3", endpoint, region) if endpoint else boto3.client("s3", region_name=region)
    report = read_clicks(s3, bucket)
    views = [{"mysfitId": mysfit_id, "name": name, "views": count} for mysfit_id, name, count in report.views]
    return {
        "bucket": bucket,
        "total": len(report.clicks),
        "views": views,
        "failed": len(report.failed),
        "failedByCode": dict(Counter(doc.get("errorCode", "?") for doc in report.failed)),
        "unreadableLines": report.unreadable_lines,
    }


async def clicks(request: web.Request) -> web.Response:
    endpoint, bucket = _clicks_source(request.app)
    return web.json_response(await _call(f"s3://{bucket}", _read_clicks, endpoint, bucket, request.app["region"]))


async def site_stylesheet(_request: web.Request) -> web.Response:
    """The site's stylesheet, as it is published: the console is drawn in the site's look."""
    return web.Response(body=published(ROOT / "web/css/site.css"), content_type="text/css", charset="utf-8")


async def index(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "index.html", headers={"Content-Type": "text/html; charset=utf-8"})


@web.middleware
async def errors_and_headers(request: web.Request, handler):
    try:
        response = await handler(request)
    except ApiError as error:
        response = web.json_response({"error": {"code": error.code, "message": error.message}}, status=error.status)
    response.headers.update(HEADERS)
    return response


def create_app(xray_endpoint=None, aws_url=None, run_dir=Path(".run"), clicks_bucket=None, region=None):
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    app = web.Application(middlewares=[errors_and_headers])
    name_no_version(app, "mysfits-console")
    app.update(xray=traces.xray_client(xray_endpoint, region), aws_url=aws_url, clicks_bucket=clicks_bucket)
    app.update(run_dir=Path(run_dir), region=region)
    app.router.add_get("/api/traces", list_traces)
    app.router.add_get("/api/traces/{trace_id}", one_trace)
    app.router.add_get("/api/service-map", service_map)
    app.router.add_get("/api/clicks", clicks)
    app.router.add_get("/", index)
    app.router.add_get("/site.css", site_stylesheet)
    app.router.add_static("/", STATIC_DIR)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mysfits_local.console", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("MYSFITS_CONSOLE_PORT", "8090")))
    parser.add_argument("--xray-endpoint", help="the X-Ray API (default: AWS_ENDPOINT_URL_XRAY, else AWS)")
    parser.add_argument("--aws-url", help="the S3 endpoint of the clicks bucket (default: the running stack's)")
    parser.add_argument("--run-dir", type=Path, default=Path(".run"), help="the running stack's (default .run)")
    parser.add_argument("--clicks-bucket", help="the clicks bucket (default: the running stack's)")
    args = parser.parse_args(argv)
    app = create_app(args.xray_endpoint, args.aws_url, args.run_dir, args.clicks_bucket)
    print(f"ops console on http://{args.host}:{args.port}/", flush=True)
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
