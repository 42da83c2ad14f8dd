"""A local stand-in for AWS Lambda: the Invoke wire API that the Firehose stand-in calls.

    python -m mysfits_local.lambda_runtime --host 127.0.0.1 --port 4574 \
        --function click-enricher=enricher.handler:handler [--function ...] [--timeout 60] [--memory 256]

Callers point boto3 at it with `AWS_ENDPOINT_URL_LAMBDA` and call `invoke(FunctionName=...)`
unchanged: the name, a partial or full ARN, with or without a qualifier in it. It serves
`POST /2015-03-31/functions/{FunctionName}/invocations` (Invoke) with InvocationType
`RequestResponse`, the one Firehose uses; any other type is refused with
InvalidParameterValueException.

Like a warm Lambda, each handler is imported once at start and keeps its module state across
invocations; a function runs one invocation at a time (further calls queue; one that cannot
start within the function's timeout gets 429 TooManyRequestsException, as a throttled Lambda
with a reserved concurrency of one would). The handler runs in a worker thread, so the server
stays responsive. Outcomes are answered as Lambda answers them: the JSON result with 200, and
for an exception, a timeout, an unserializable or oversized (> 6 MB) result 200 with
`X-Amz-Function-Error: Unhandled` and `{"errorMessage", "errorType", "requestId", "stackTrace"}`.
A request over 6 MB is refused with 413 RequestTooLargeException.

Differences from Lambda, on purpose: there is one code version, so every qualifier runs the
same handler and reports `$LATEST`; a handler that outlives its timeout cannot be killed (it is a
thread), so the caller gets the timeout error at once but the function's next invocation starts
only when the stray one returns. The process-wide Lambda environment variables
(`AWS_LAMBDA_FUNCTION_NAME`, ...) name the function whose invocation started last: run one
runtime per function when a handler depends on them exactly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import importlib
import importlib.util
import json
import logging
import os
import re
import signal
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from aiohttp import web

from mysfits_shared.tracing import TRACE_HEADER, Sampler, SegmentSender, TraceHeader, new_segment_id, new_trace_root

from . import name_no_version
from .account import ACCOUNT, MAX_INVOKE_REQUEST_BYTES, MAX_INVOKE_RESPONSE_BYTES, REGION

log = logging.getLogger("lambda")

DEFAULT_TIMEOUT = 60.0
DEFAULT_MEMORY_MB = 128
LATEST = "$LATEST"
_NAME = r"[a-zA-Z0-9_-]{1,64}"
_QUALIFIER = r"\$LATEST|[a-zA-Z0-9_-]{1,128}"
_FUNCTION_NAME = re.compile(
    rf"^(?:arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z0-9-]+):(?P<arn_account>\d{{12}}):function:"
    rf"|(?P<account>\d{{12}}):function:)?(?P<name>{_NAME})(?::(?P<qualifier>{_QUALIFIER}))?$"
)


class LambdaError(Exception):
    """An error the Lambda service answers itself (not a function error)."""

    def __init__(self, status: int, error_type: str, message: str):
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


class LambdaContext:
    """The context object a Python handler receives, with the attributes Powertools reads."""

    def __init__(self, function: Function, request_id: str, invoked_arn: str, deadline: float):
        self.function_name = function.name
        self.function_version = LATEST
        self.invoked_function_arn = invoked_arn
        self.memory_limit_in_mb = str(function.memory_mb)  # a string in the real runtime too
        self.aws_request_id = request_id
        self.log_group_name = function.log_group_name
        self.log_stream_name = function.log_stream_name
        self.identity = None
        self.client_context = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class Function:
    name: str
    handler_spec: str  # module.path:callable
    handler: Callable
    timeout: float
    memory_mb: int
    region: str
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    log_stream_name: str = field(default_factory=lambda: f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}")

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT}:function:{self.name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.name}"

    def environment(self) -> dict[str, str]:
        """The variables Lambda sets for this function."""
        return {
            "AWS_LAMBDA_FUNCTION_NAME": self.name,
            "AWS_LAMBDA_FUNCTION_VERSION": LATEST,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": self.log_group_name,
            "AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream_name,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python{sys.version_info.major}.{sys.version_info.minor}",
            "_HANDLER": self.handler_spec.replace(":", "."),
            # Where the code is; the X-Ray SDK also takes it as "running in Lambda" (its facade
            # segment from _X_AMZN_TRACE_ID, so the handler's calls join the invocation's trace).
            "LAMBDA_TASK_ROOT": self.task_root,
        }

    @functools.cached_property
    def task_root(self) -> str:
        """The folder the handler's top-level package is imported from (looked up once)."""
        top = self.handler_spec.replace(":", ".").split(".")[0]
        spec = importlib.util.find_spec(top)
        origin = Path(spec.origin) if spec and spec.origin else Path.cwd() / top
        return str(origin.parent.parent if origin.name == "__init__.py" else origin.parent)


def parse_function_name(raw: str) -> tuple[str, str | None]:
    """`name`, `name:qualifier`, `account:function:name[:q]` or a full ARN → (name, qualifier)."""
    match = _FUNCTION_NAME.match(raw)
    if not match:
        raise LambdaError(
            400,
            "ValidationException",
            f"1 validation error detected: Value '{raw}' at 'functionName' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: "
            "(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?"
            "([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?",
        )
    return match["name"], match["qualifier"]


def load_handler(spec: str) -> Callable:
    """Import `module.path:callable` (or Lambda's `module.path.callable`)."""
    module_name, sep, attribute = spec.partition(":")
    if not sep:
        module_name, _, attribute = spec.rpartition(".")
    if not module_name or not attribute:
        raise SystemExit(f"handler {spec!r}: expected module.path:callable")
    module = importlib.import_module(module_name)
    handler = getattr(module, attribute, None)
    if not callable(handler):
        raise SystemExit(f"handler {spec!r}: {module_name} has no callable {attribute!r}")
    return handler


def _function_error(request_id: str, error_type: str, message: str, stack: list[str] | None = None) -> bytes:
    return json.dumps(
        {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": stack or []}
    ).encode()


def call_handler(handler: Callable, event, context: LambdaContext) -> tuple[bytes, bool]:
    """Run a handler as the Python runtime does: (payload, is a function error)."""
    request_id = context.aws_request_id
    try:
        result = handler(event, context)
    except BaseException as error:  # whatever a handler raises is its error result
        stack = traceback.format_list(traceback.extract_tb(error.__traceback__)[1:])
        return _function_error(request_id, type(error).__name__, str(error), stack), True
    try:
        payload = json.dumps(result).encode()
    except (TypeError, ValueError) as error:
        return _function_error(request_id, "Runtime.MarshalError", f"Unable to marshal response: {error}"), True
    if len(payload) > MAX_INVOKE_RESPONSE_BYTES:
        message = f"Response payload size exceeded maximum allowed payload size ({MAX_INVOKE_RESPONSE_BYTES} bytes)."
        return _function_error(request_id, "Function.ResponseSizeTooLarge", message), True
    return payload, False


class LambdaRuntime:
    def __init__(self, functions: dict[str, Function], tracing: SegmentSender | None = None):
        self.functions = functions
        self.tracing = tracing  # active tracing: where invocation segments go
        self.sampler = Sampler.from_env()
        self._environment = threading.Lock()
        self._background: set[asyncio.Task] = set()

    def app(self) -> web.Application:
        # A little above the 6 MB payload limit, so an oversized payload gets Lambda's own error.
        app = web.Application(client_max_size=MAX_INVOKE_REQUEST_BYTES + 1024 * 1024)
        name_no_version(app, "mysfits-lambda")
        app.router.add_post("/2015-03-31/functions/{name}/invocations", self.invoke)
        app.middlewares.append(self._errors)
        return app

    @web.middleware
    async def _errors(self, request: web.Request, handler) -> web.StreamResponse:
        request_id = str(uuid.uuid4())
        request["request_id"] = request_id
        try:
            response = await handler(request)
        except LambdaError as error:
            response = web.json_response({"Type": "User", "Message": error.message}, status=error.status)
            response.headers["x-amzn-ErrorType"] = error.error_type
        except web.HTTPNotFound:
            response = web.json_response({"Type": "User", "Message": "Unknown operation"}, status=404)
            response.headers["x-amzn-ErrorType"] = "UnknownOperationException"
        response.headers["x-amzn-RequestId"] = request_id
        return response

    def _resolve(self, request: web.Request) -> tuple[Function, str]:
        """The function a request names, and the ARN it was invoked by."""
        name, qualifier = parse_function_name(unquote(request.match_info["name"]))
        function = self.functions.get(name)
        region = REGION if function is None else function.region
        invoked_arn = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}" + (f":{qualifier}" if qualifier else "")
        if function is None:
            raise LambdaError(404, "ResourceNotFoundException", f"Function not found: {invoked_arn}")
        return function, invoked_arn

    async def invoke(self, request: web.Request) -> web.Response:
        function, invoked_arn = self._resolve(request)
        request_id = request["request_id"]
        invocation_type = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if invocation_type != "RequestResponse":
            raise LambdaError(
                400,
                "InvalidParameterValueException",
                f"InvocationType {invocation_type!r} is not supported by the local Lambda: RequestResponse only.",
            )
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            body = None
        if body is None or len(body) > MAX_INVOKE_REQUEST_BYTES:
            raise LambdaError(
                413,
                "RequestTooLargeException",
                f"Request must be smaller than {MAX_INVOKE_REQUEST_BYTES} bytes for the InvokeFunction operation",
            )
        try:
            event = json.loads(body) if body.strip() else {}
        except ValueError:
            raise LambdaError(400, "InvalidRequestContentException", "Could not parse request body into json") from None
        trace = TraceHeader.parse(request.headers.get(TRACE_HEADER))
        payload, error = await self._run(function, event, request_id, invoked_arn, trace)
        response = web.Response(status=200, body=payload, content_type="application/json")
        response.headers["X-Amz-Executed-Version"] = LATEST
        if error:
            response.headers["X-Amz-Function-Error"] = "Unhandled"
        return response

    async def _run(
        self, function: Function, event, request_id: str, invoked_arn: str, trace: TraceHeader | None
    ) -> tuple[bytes, bool]:
        """Run one invocation: (payload, is a function error).

        With active tracing, as Lambda does: a segment for the invocation (continuing the
        caller's trace, or a new one) and the trace context handed to the handler in
        `_X_AMZN_TRACE_ID`, its segment as parent.
        """
        # One invocation at a time per function. A call that cannot start within the
        # function's timeout is throttled, like a Lambda at its concurrency limit.
        try:
            await asyncio.wait_for(function.lock.acquire(), function.timeout)
        except TimeoutError:
            raise LambdaError(
                429, "TooManyRequestsException", "Rate Exceeded. (the function is still busy with an invocation)"
            ) from None
        started = time.monotonic()
        deadline = started + function.timeout
        loop = asyncio.get_running_loop()
        done: asyncio.Future = loop.create_future()

        def settle(outcome: tuple[bytes, bool]) -> None:
            if not done.done():
                done.set_result(outcome)

        segment = None
        if self.tracing and self.sampler.sampled(trace):
            root = trace.root if trace else new_trace_root()
            segment = {
                "name": function.name,
                "id": new_segment_id(),
                "trace_id": root,
                "start_time": time.time(),
                "origin": "AWS::Lambda::Function",
                "aws": {"request_id": request_id, "function_arn": invoked_arn},
            }
            if trace and trace.parent:
                segment["parent_id"] = trace.parent
            context = TraceHeader(root, segment["id"], True).to_header()
        else:
            context = trace.to_header() if trace else None

        def work() -> None:
            # The trace context is an environment variable (as the SDKs read it): with tracing on,
            # one handler at a time, so no invocation ever sees another's trace.
            with self._environment if self.tracing else contextlib.nullcontext():
                os.environ.update(function.environment())
                if context:
                    os.environ["_X_AMZN_TRACE_ID"] = context
                else:
                    os.environ.pop("_X_AMZN_TRACE_ID", None)
                lambda_context = LambdaContext(function, request_id, invoked_arn, deadline)
                outcome = call_handler(function.handler, event, lambda_context)
            with contextlib.suppress(RuntimeError):  # the loop is gone: the server stopped meanwhile
                loop.call_soon_threadsafe(settle, outcome)

        threading.Thread(target=work, name=f"lambda-{function.name}", daemon=True).start()
        try:
            payload, error = await asyncio.wait_for(asyncio.shield(done), function.timeout)
        except TimeoutError:
            # The thread cannot be stopped: keep the function busy until it returns.
            release = asyncio.ensure_future(self._release_when_done(function, done))
            self._background.add(release)
            release.add_done_callback(self._background.discard)
            log.warning("%s: request %s timed out after %.2f seconds", function.name, request_id, function.timeout)
            message = f"RequestId: {request_id} Error: Task timed out after {function.timeout:.2f} seconds"
            return _function_error(request_id, "Sandbox.Timedout", message), True
        function.lock.release()
        if segment:
            segment["end_time"] = time.time()
            if error:
                segment["fault"] = True
            self.tracing.send(segment)
        elapsed_ms = (time.monotonic() - started) * 1000
        log.info("%s: request %s %s in %.1f ms", function.name, request_id, "failed" if error else "ok", elapsed_ms)
        return payload, error

    @staticmethod
    async def _release_when_done(function: Function, done: asyncio.Future) -> None:
        try:
            await done
        finally:
            function.lock.release()


def parse_functions(pairs: list[str], timeout: float, memory_mb: int, region: str) -> dict[str, Function]:
    functions = {}
    for pair in pairs:
        name, sep, spec = pair.partition("=")
        if not sep or not re.fullmatch(_NAME, name) or not spec:
            raise SystemExit(f"--function: expected NAME=module.path:callable, got {pair!r}")
        function = Function(
            name, spec, handler=lambda event, context: None, timeout=timeout, memory_mb=memory_mb, region=region
        )
        # The Lambda variables are set before the import: module-level code may read them.
        os.environ.update(function.environment())
        function.handler = load_handler(spec)
        functions[name] = function
    return functions


async def serve(runtime: LambdaRuntime, host: str, port: int) -> None:
    runner = web.AppRunner(runtime.app(), access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    log.info("Lambda stand-in on http://%s:%s serving %s", host, port, ", ".join(runtime.functions) or "no functions")
    await stop.wait()
    log.info("stopping")
    await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mysfits_local.lambda_runtime", description="Local Lambda stand-in")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8083)
    parser.add_argument(
        "--function",
        action="append",
        default=[],
        required=True,
        metavar="NAME=module.path:callable",
        help="a function and its handler (repeatable)",
    )
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="each function's timeout in seconds")
    parser.add_argument("--memory", type=int, default=DEFAULT_MEMORY_MB, help="memory size the context reports (MB)")
    parser.add_argument(
        "--active-tracing",
        action="store_true",
        help="X-Ray active tracing: a segment per invocation, sent to AWS_XRAY_DAEMON_ADDRESS",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or REGION
    os.environ.setdefault("AWS_REGION", region)
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    # Powertools' Tracer switches itself on when AWS_LAMBDA_FUNCTION_NAME is set: only with
    # active tracing (a daemon to send to), as on Lambda.
    os.environ["POWERTOOLS_TRACE_DISABLED"] = "false" if args.active_tracing else "true"
    tracing = SegmentSender() if args.active_tracing else None
    runtime = LambdaRuntime(parse_functions(args.function, args.timeout, args.memory, region), tracing)
    asyncio.run(serve(runtime, args.host, args.port))


if __name__ == "__main__":
    main()
