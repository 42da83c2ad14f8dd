"""A local stand-in for API Gateway (REST API), driven by the API definition.

It routes each request to the integration the definition declares for it: `http_proxy`
integrations are forwarded to the local services (their URIs built from stage variables),
`aws` integrations (the clicks API's Firehose PutRecord) validate the body against the
operation's model, render the mapping template with a Velocity engine and call the AWS
service through boto3 (endpoints from AWS_ENDPOINT_URL_<SERVICE>, as for every client
here), `mock` integrations (CORS preflight) are answered from their response parameters and
templates, and errors the gateway itself produces (no route, bad body, bad token, throttled,
service down, service slow) are shaped by the definition's gateway responses.

As a deployed stage does, it checks the Cognito user pools authorizers' tokens, throttles each
method at its stage's limits (`--throttle`, 429 past them) and gzips answers of the API's
`MinimumCompressionSize` or more (`--compress`) to clients that accept it.

Like a stage with X-Ray tracing on, it records a segment per request (origin
`AWS::ApiGateway::Stage`, its request and response, error/fault/throttle) and sends it to the
X-Ray daemon (`AWS_XRAY_DAEMON_ADDRESS`); it continues the trace of a well-formed incoming
`X-Amzn-Trace-Id` or starts one (a malformed header is never echoed), and passes the header on
with its own segment as parent. A request that brings a sampling decision keeps it; the others
are sampled by the project's sampling rules (`mysfits_shared.tracing`) at `XRAY_SAMPLING_RATE`.

    python -m mysfits_local.gateway --definition cfn/api/mysfits-api.yaml \
        --stage-variable catalogHost=127.0.0.1:8081 --stage-variable allowedOrigins=http://127.0.0.1:8080
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gzip
import json
import logging
import os
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import aiohttp
import boto3
import botocore.config
import botocore.exceptions
import jsonschema
import yarl
from aiohttp import web

from mysfits_shared.auth import InvalidToken, KeysUnavailable, TokenVerifier, issuer_for, token_from_header
from mysfits_shared.errors import ERROR_CODES
from mysfits_shared.tracing import TRACE_HEADER, Sampler, SegmentSender, TraceHeader, new_segment_id, new_trace_root

from . import name_no_version
from .apidef import (
    GATEWAY_RESPONSE_STATUS,
    INTEGRATION,
    ApiDefinition,
    mapping_value,
    render_context_template,
    substitute_stage_variables,
)
from .vtl import TemplateError, render

log = logging.getLogger("gateway")

STAGE = "local"
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
DEFAULT_TIMEOUT_MS = 29_000
MAX_URL_BYTES = 8192  # a longer request line is 414
MAX_HEADER_BYTES = 10240  # a longer header is 431
MAX_MESSAGE_CHARS = 512  # an error message never echoes a whole body back
MAX_PROBLEM_CHARS = 160  # nor does one validation problem
# Hop-by-hop headers are never forwarded (RFC 9110 section 7.6.1), nor lengths we recompute.
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}


class GatewayError(Exception):
    """An error API Gateway answers itself, by gateway response type."""

    def __init__(
        self,
        response_type: str,
        message: str,
        context: dict[str, str] | None = None,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.response_type = response_type
        self.message = message[:MAX_MESSAGE_CHARS]
        self.context = {name: value[:MAX_MESSAGE_CHARS] for name, value in (context or {}).items()}
        self.status = status  # answers the stand-in gives where API Gateway has no response type
        self.headers = headers or {}


class TokenBucket:
    """API Gateway's throttle: `rate` requests a second on average, up to `burst` at once."""

    def __init__(self, rate: float, burst: int, clock=time.monotonic):
        self.rate, self.burst, self._clock = rate, burst, clock
        self.tokens, self.stamp = float(burst), clock()

    def take(self) -> bool:
        now = self._clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass(frozen=True)
class MethodThrottle:
    """One MethodSettings entry of a stage: `/*` and `*` match every resource and method."""

    resource_path: str
    http_method: str
    rate: float
    burst: int

    @classmethod
    def parse(cls, value: str) -> tuple[Path, MethodThrottle]:
        """`DEFINITION=RESOURCE_PATH:HTTP_METHOD:RATE:BURST`, as `LocalInfra.stage_throttling` gives them."""
        definition, _, setting = value.rpartition("=")
        resource_path, method, rate, burst = setting.rsplit(":", 3)
        return Path(definition).resolve(), cls(resource_path, method.upper(), float(rate), int(burst))

    def applies(self, template: str, method: str) -> bool:
        return self.resource_path in ("/*", template) and self.http_method in ("*", method)


def cognito_verifiers(
    definition: ApiDefinition, client_id: str | None, cognito_endpoint: str | None
) -> dict[str, TokenVerifier]:
    """A token verifier per Cognito user pools authorizer of the definition.

    The pool comes from the authorizer's providerARNs. Unlike API Gateway, the stand-in
    also checks the token's audience (the site's app client) when `client_id` is given.
    """
    verifiers = {}
    for name, scheme in definition.security_schemes.items():
        authorizer = scheme.get("x-amazon-apigateway-authorizer", {})
        if authorizer.get("type") != "cognito_user_pools":
            continue
        arn = authorizer["providerARNs"][0]
        try:
            _, _, _, region, _, resource = arn.split(":", 5)
            pool_id = resource.split("/", 1)[1]
        except (ValueError, IndexError):
            # Its routes answer API_CONFIGURATION_ERROR until the pool is given.
            log.warning("authorizer %s: %r is not a user pool ARN (see --definition-variable)", name, arn)
            continue
        jwks_url = f"{cognito_endpoint.rstrip('/')}/{pool_id}/.well-known/jwks.json" if cognito_endpoint else None
        verifiers[name] = TokenVerifier(issuer_for(region, pool_id), audience=client_id, jwks_url=jwks_url)
    return verifiers


class Gateway:
    def __init__(
        self,
        definition: ApiDefinition,
        stage_variables: dict[str, str],
        verifiers: dict[str, TokenVerifier] | None = None,
        throttles: list[tuple[Path, MethodThrottle]] | None = None,
        compression: dict[Path, int] | None = None,
    ):
        self.definition = definition
        self.throttles = throttles or []
        self.compression = compression or {}  # definition -> MinimumCompressionSize
        self._buckets: dict[
            tuple, TokenBucket | None
        ] = {}  # (definition, resource, method) -> bucket, None: unthrottled
        self.stage_variables = stage_variables
        self.verifiers = verifiers or {}
        self._session: aiohttp.ClientSession | None = None
        self._aws_clients: dict[str, object] = {}
        self._aws_pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="aws-integration")
        self.tracing = SegmentSender()
        self.sampler = Sampler.from_env()

    def app(self) -> web.Application:
        app = web.Application(
            client_max_size=MAX_BODY_BYTES,
            handler_args={"max_line_size": MAX_URL_BYTES, "max_field_size": MAX_HEADER_BYTES},
        )
        app.router.add_route("*", "/{tail:.*}", self.handle)
        name_no_version(app, "mysfits-api")
        _answer_unparsable_requests(self)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
        return app

    async def _start(self, _app) -> None:
        connector = aiohttp.TCPConnector(limit=256, keepalive_timeout=30)
        self._session = aiohttp.ClientSession(
            connector=connector, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar()
        )

    async def _stop(self, _app) -> None:
        if self._session:
            await self._session.close()
        self._aws_pool.shutdown(wait=True)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        request_id = str(uuid.uuid4())
        started = time.time()
        incoming = TraceHeader.parse(request.headers.get(TRACE_HEADER))
        segment_id = new_segment_id()
        root = incoming.root if incoming else new_trace_root()
        sampled = self.sampler.sampled(incoming, request.method, request.path)
        # The services see the gateway's segment as their parent.
        downstream = TraceHeader(root, segment_id, sampled).to_header()
        matched = self.definition.match(request.path)
        try:
            response = await self._dispatch(request, matched, downstream)
        except GatewayError as error:
            response = self._gateway_response(error, request, request_id)
        response.headers["x-amzn-RequestId"] = request_id
        response.headers[TRACE_HEADER] = TraceHeader(root, None, sampled).to_header()
        minimum = self.compression.get(matched[0].source) if matched else None
        if minimum is not None:
            _compress(request, response, minimum)
        if sampled:
            api = matched[0].document.get("info", {}).get("title", "api") if matched else "api"
            self.tracing.send(self._segment(api, request, response, request_id, root, segment_id, incoming, started))
        return response

    @staticmethod
    def _segment(api, request, response, request_id, root, segment_id, incoming, started) -> dict:
        """The segment a stage with tracing on records for one request (to `api`'s stage)."""
        status = response.status
        segment = {
            "name": f"{api}/{STAGE}",
            "id": segment_id,
            "trace_id": root,
            "start_time": started,
            "end_time": time.time(),
            "origin": "AWS::ApiGateway::Stage",
            "http": {
                "request": {
                    "method": request.method,
                    "url": str(request.url),
                    "user_agent": request.headers.get("User-Agent", ""),
                    "client_ip": request.remote or "",
                },
                "response": {"status": status, "content_length": response.content_length or 0},
            },
            "aws": {"api_gateway": {"request_id": request_id, "stage": STAGE}},
        }
        if incoming and incoming.parent:
            segment["parent_id"] = incoming.parent
        if status == 429:
            segment["throttle"] = True
        if 400 <= status < 500:
            segment["error"] = True
        elif status >= 500:
            segment["fault"] = True
        return segment

    async def _dispatch(self, request: web.Request, matched, trace_id: str) -> web.StreamResponse:
        if not matched:
            raise GatewayError("MISSING_AUTHENTICATION_TOKEN", f"No such route: {request.method} {request.path}")
        operation = matched[0].operation(request.method)
        if operation is None:
            allowed = ", ".join(matched[0].allowed_methods())
            raise GatewayError(
                "METHOD_NOT_ALLOWED",
                f"{request.method} is not allowed here; allowed: {allowed}.",
                status=405,
                headers={"Allow": allowed},
            )
        self._throttle(matched[0], request.method)
        claims = await self._authorize(operation, request)
        integration = operation.get(INTEGRATION)
        kind = (integration or {}).get("type", "").lower()
        if kind == "mock":
            return self._mock(integration, matched[0], matched[1], request)
        if kind == "http_proxy":
            return await self._http_proxy(integration, matched, request, trace_id, claims)
        if kind == "aws":
            return await self._aws(integration, matched[0], matched[1], request)
        raise GatewayError("API_CONFIGURATION_ERROR", "This route has no integration the gateway can run.")

    def _throttle(self, route, method: str) -> None:
        """Each method has its own bucket, as a stage's MethodSettings give each method its limits
        (the most specific setting wins); a request past them is refused at once with 429."""
        key = (route.source, route.template, method)
        if key not in self._buckets:  # the method's setting is looked up once, on its first request
            settings = [
                t for source, t in self.throttles if source == route.source and t.applies(route.template, method)
            ]
            setting = min(settings, key=lambda t: (t.resource_path == "/*", t.http_method == "*"), default=None)
            self._buckets[key] = TokenBucket(setting.rate, setting.burst) if setting else None
        bucket = self._buckets[key]
        if bucket is not None and not bucket.take():
            raise GatewayError("THROTTLED", "Too Many Requests")

    async def _authorize(self, operation: dict, request: web.Request) -> dict | None:
        """Run the operation's Cognito authorizer, if it has one; the token's claims."""
        for requirement in operation.get("security", []):
            for name in requirement:
                verifier = self.verifiers.get(name)
                if verifier is None:
                    raise GatewayError("API_CONFIGURATION_ERROR", f"Authorizer {name} is not configured.")
                try:
                    token = token_from_header(request.headers.get("Authorization"))
                    # The first call fetches the pool's keys: keep the event loop free meanwhile.
                    return await asyncio.get_running_loop().run_in_executor(None, verifier.verify, token)
                except InvalidToken as error:
                    raise GatewayError("UNAUTHORIZED", str(error)) from None
                except KeysUnavailable as error:
                    log.warning("authorizer %s: %s", name, error)
                    raise GatewayError("AUTHORIZER_FAILURE", "Sign-in cannot be checked right now.") from None
        return None

    def _mock(self, integration: dict, route, path_params: dict, request: web.Request) -> web.Response:
        return self._integration_response(
            integration, 200, None, self._template_context(request, route), self._params(request, path_params)
        )

    async def _http_proxy(self, integration: dict, matched, request: web.Request, trace_id: str, claims: dict | None):
        url = self._integration_url(integration, *matched)
        if request.rel_url.raw_query_string:  # as the client encoded it: never decoded on the way
            url += "?" + request.rel_url.raw_query_string
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise GatewayError("REQUEST_TOO_LARGE", "The request body is too large.") from None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        headers[TRACE_HEADER] = trace_id
        for target, source in integration.get("requestParameters", {}).items():
            if target.startswith("integration.request.header."):
                name = target.removeprefix("integration.request.header.")
                value = mapping_value(source, self.stage_variables, request.headers, claims)
                headers.pop(name, None)  # a mapped header is never what the client sent
                if value is not None:
                    headers[name] = value
        forwarded = request.headers.get("X-Forwarded-For")
        headers["X-Forwarded-For"] = f"{forwarded}, {request.remote}" if forwarded else (request.remote or "")
        method = integration.get("httpMethod", "ANY").upper()
        timeout = aiohttp.ClientTimeout(total=int(integration.get("timeoutInMillis", DEFAULT_TIMEOUT_MS)) / 1000)
        try:
            async with self._session.request(
                request.method if method == "ANY" else method,
                yarl.URL(url, encoded=True),  # as built: re-encoded parameters stay what they are
                headers=headers,
                data=body or None,
                timeout=timeout,
                allow_redirects=False,
            ) as upstream:
                payload = await upstream.read()
                response = web.Response(status=upstream.status, body=payload)
                for name, value in upstream.headers.items():
                    if name.lower() not in _HOP_BY_HOP and name.lower() != "server":
                        response.headers.add(name, value)
                return response
        except TimeoutError:
            raise GatewayError("INTEGRATION_TIMEOUT", "Endpoint request timed out") from None
        except aiohttp.ClientError as error:
            log.warning("integration failure for %s: %s", url, error)
            raise GatewayError("INTEGRATION_FAILURE", "Internal server error") from None

    # -- AWS-service integrations ----------------------------------------------------
    async def _aws(self, integration: dict, route, path_params: dict, request: web.Request) -> web.Response:
        """Validate, render the request template, call the AWS action, map its answer."""
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise GatewayError("REQUEST_TOO_LARGE", "The request body is too large.") from None
        content_type = request.content_type if request.headers.get("Content-Type") else "application/json"
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self._invalid_body("[body is not UTF-8 text]") from None
        # passthroughBehavior never: a content type without a template is refused.
        template = integration.get("requestTemplates", {}).get(content_type)
        if template is None:
            if integration.get("passthroughBehavior", "when_no_match").lower() != "when_no_match":
                raise GatewayError("UNSUPPORTED_MEDIA_TYPE", "Unsupported Media Type")
            template = "$input.body"
        validator = route.body_validator(request.method, content_type)
        if validator is not None:
            self._validate(validator, body)
        context = self._template_context(request, route)
        params = self._params(request, path_params)
        try:
            rendered = render(template, body=body, context=context, stage_variables=self.stage_variables, params=params)
        except TemplateError as error:
            log.warning("request template: %s", error)
            raise self._invalid_body(f"[{error}]") from None
        service, action = self._aws_target(integration)
        timeout = int(integration.get("timeoutInMillis", DEFAULT_TIMEOUT_MS)) / 1000
        loop = asyncio.get_running_loop()
        status, answer = await loop.run_in_executor(self._aws_pool, self._call_aws, service, action, rendered, timeout)
        return self._integration_response(integration, status, answer, context, params)

    @staticmethod
    def _invalid_body(detail: str) -> GatewayError:
        return GatewayError("BAD_REQUEST_BODY", "Invalid request body", {"error.validationErrorString": detail})

    def _validate(self, validator: jsonschema.Draft4Validator, body: str) -> None:
        """The body against the model, as API Gateway's request validator."""
        try:
            document = json.loads(body)
        except ValueError:
            raise self._invalid_body("[the body is not valid JSON]") from None
        except RecursionError:
            raise self._invalid_body("[the body is nested too deeply]") from None
        errors = validator.iter_errors(document)
        problems = sorted(
            f"{'/'.join(map(str, e.absolute_path))[:MAX_PROBLEM_CHARS] or 'body'}: {e.message[:MAX_PROBLEM_CHARS]}"
            for e in errors
        )
        if problems:
            raise self._invalid_body("[" + "; ".join(problems[:5]) + "]")

    @staticmethod
    def _params(request: web.Request, path_params: dict) -> dict:
        """The method request's parameters, as `$input.params()` gives them (headers by any case)."""
        return {"path": path_params, "querystring": dict(request.query), "header": request.headers}

    def _template_context(self, request: web.Request, route) -> dict:
        now = time.time()
        return {
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(now * 1000),
            "httpMethod": request.method,
            "resourcePath": route.template,
            "path": request.path,
            "stage": "local",
            "identity": {"sourceIp": request.remote or "", "userAgent": request.headers.get("User-Agent", "")},
        }

    @staticmethod
    def _aws_target(integration: dict) -> tuple[str, str]:
        """`arn:aws:apigateway:{region}:{service}:action/{Action}` -> (service, Action)."""
        found = re.fullmatch(r"arn:aws:apigateway:[^:]*:([a-z0-9-]+):action/([A-Za-z0-9]+)", integration.get("uri", ""))
        if not found:
            raise GatewayError("API_CONFIGURATION_ERROR", "Only action-style AWS integrations are supported.")
        return found.group(1), found.group(2)

    def _client(self, service: str, timeout: float):
        if service not in self._aws_clients:
            config = botocore.config.Config(
                connect_timeout=2,
                read_timeout=timeout,
                retries={"max_attempts": 2, "mode": "standard"},
                max_pool_connections=64,
            )
            self._aws_clients[service] = boto3.session.Session().client(service, config=config)
        return self._aws_clients[service]

    def _call_aws(self, service: str, action: str, rendered: str, timeout: float) -> tuple[int, dict]:
        """Send the rendered request; (HTTP status, JSON answer) as the service gave them.

        A service that cannot be reached counts as its 503 (ServiceUnavailable), so the
        definition's integration responses decide what the client sees.
        """
        client = self._client(service, timeout)
        try:
            request = json.loads(rendered)
            operation = client.meta.service_model.operation_model(action)
            params = _from_wire(operation.input_shape, request)
            result = getattr(client, botocore.xform_name(action))(**params)
        except (ValueError, botocore.exceptions.ParamValidationError) as error:
            log.error("%s %s: the mapping template made an invalid request: %s", service, action, error)
            return 400, {"__type": "SerializationException", "message": str(error)}
        except botocore.exceptions.ClientError as error:
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500)
            code = error.response.get("Error", {}).get("Code", "")
            log.warning("%s %s answered %s %s", service, action, status, code)
            return status, {"__type": code, "message": error.response.get("Error", {}).get("Message", "")}
        except (botocore.exceptions.ReadTimeoutError, botocore.exceptions.ConnectTimeoutError):
            log.warning("%s %s timed out", service, action)
            return 504, {"__type": "Timeout", "message": "The service did not answer in time."}
        except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectionClosedError) as error:
            log.warning("%s %s unreachable: %s", service, action, error)
            return 503, {"__type": "ServiceUnavailableException", "message": "The service cannot be reached."}
        result.pop("ResponseMetadata", None)
        return 200, _to_wire(result)

    def _integration_response(
        self, integration: dict, status: int, answer: dict | None, context: dict, params: dict
    ) -> web.Response:
        """The integration response whose selection pattern matches the status, else default: its
        template renders the body (a mock's answer has none), its parameters map headers, and what
        the template set in `$context.responseOverride` (header, status) wins, as in API Gateway."""
        responses = integration.get("responses", {})
        chosen = responses.get("default", {})
        for pattern, response in responses.items():
            if pattern != "default" and re.fullmatch(pattern, str(status)):
                chosen = response
                break
        template = chosen.get("responseTemplates", {}).get("application/json")
        text = "" if answer is None else json.dumps(answer)
        context = {**context, "responseOverride": {"header": {}}}
        if template is not None:
            try:
                text = render(template, body=text, context=context, stage_variables=self.stage_variables, params=params)
            except TemplateError as error:
                raise GatewayError("API_CONFIGURATION_ERROR", f"Response template failed: {error}") from None
        status = int(context["responseOverride"].get("status") or chosen.get("statusCode", 200))
        response = web.Response(status=status, text=text.strip() and text, content_type="application/json")
        for target, source in chosen.get("responseParameters", {}).items():
            value = mapping_value(source, self.stage_variables, params["header"])
            if value is not None:
                response.headers[target.removeprefix("method.response.header.")] = value
        for name, value in context["responseOverride"]["header"].items():
            response.headers[name] = str(value)
        return response

    def _integration_url(self, integration: dict, route, path_params: dict) -> str:
        try:
            url = substitute_stage_variables(integration["uri"], self.stage_variables)
        except KeyError as error:
            raise GatewayError("API_CONFIGURATION_ERROR", f"Stage configuration error: {error}") from None
        for target, source in integration.get("requestParameters", {}).items():
            if target.startswith("integration.request.path.") and source.startswith("method.request.path."):
                name = source.removeprefix("method.request.path.")
                value = _path_value(path_params.get(name, ""), greedy="{" + name + "+}" in route.template)
                url = url.replace("{" + target.removeprefix("integration.request.path.") + "}", value)
        return url

    def _gateway_response(self, error: GatewayError, request: web.Request, request_id: str) -> web.Response:
        """Answer like API Gateway: the type's gateway response, else DEFAULT_4XX/5XX."""
        status = error.status or GATEWAY_RESPONSE_STATUS.get(error.response_type, 500)
        responses = self.definition.gateway_responses
        default = responses.get("DEFAULT_4XX" if status < 500 else "DEFAULT_5XX", {})
        specific = responses.get(error.response_type, {})
        status = error.status or int(specific.get("statusCode", status))
        parameters = specific.get("responseParameters", default.get("responseParameters", {}))
        templates = specific.get("responseTemplates", default.get("responseTemplates", {}))
        context = {
            **error.context,
            "error.message": error.message,
            "requestId": request_id,
            "httpMethod": request.method,
            "path": request.path,
        }
        template = templates.get("application/json", '{"message": $context.error.messageString}')
        if error.status:  # an answer API Gateway has no response type for: the project's format
            code = ERROR_CODES.get(error.status, "BadRequest" if error.status < 500 else "GatewayError")
            template = json.dumps({"error": {"code": code, "message": "MESSAGE"}}).replace(
                '"MESSAGE"', "$context.error.messageString"
            )
        response = web.Response(
            status=status, text=render_context_template(template, context), content_type="application/json"
        )
        response.headers["x-amzn-ErrorType"] = error.response_type
        response.headers.update(error.headers)
        for target, source in parameters.items():
            value = mapping_value(source, self.stage_variables, request.headers)
            if value is not None:
                response.headers[target.removeprefix("gatewayresponse.header.")] = value
        return response


def _answer_unparsable_requests(gateway: Gateway) -> None:
    """Requests aiohttp cannot parse (a newline in the path, a request line or header over the
    limits, bad header characters) get the gateway's JSON error with CORS headers, 414/431 for
    the sizes, and one log line each; aiohttp's own answer is text with a traceback in the log.
    It has no hook for this, so its error handler is replaced (pinned: local/tests/test_gateway.py).
    """
    from aiohttp import http_exceptions, web_protocol

    def handle_error(handler, request, status=500, exc=None, message=None):
        if request.writer.output_size > 0:
            raise ConnectionError("the answer was already being sent")
        if isinstance(exc, http_exceptions.LineTooLong):
            status = 414 if exc.args[1] == MAX_URL_BYTES else 431
        if isinstance(exc, http_exceptions.HttpProcessingError):
            reason = str(exc or message or "the request cannot be read")
            log.warning("refused a request from %s it cannot read (%s): %.200s", request.remote, status, reason)
            text = "The request is too long." if status in (414, 431) else "The request is not valid HTTP."
        else:  # the gateway itself failed: say so, and keep the traceback for the log only
            log.error("the gateway failed on a request from %s", request.remote, exc_info=exc)
            status, text = 500, "The gateway failed on this request."
        error = GatewayError("BAD_REQUEST_PARAMETERS" if status < 500 else "DEFAULT_5XX", text, status=status)
        response = gateway._gateway_response(error, request, str(uuid.uuid4()))
        # Its Origin could not be read: any page may read this error, which holds nothing private.
        response.headers.setdefault("Access-Control-Allow-Origin", "*")
        response.force_close()
        return response

    web_protocol.RequestHandler.handle_error = handle_error


def _path_value(value: str, greedy: bool) -> str:
    """A decoded path parameter re-encoded for the backend URL: every reserved character, and
    `.`/`..` segments too, so a parameter can never climb out of its route or add a query. A
    greedy parameter (`{proxy+}`) keeps its slashes, each of its segments encoded alike."""
    segments = value.split("/") if greedy else [value]
    return "/".join(s.replace(".", "%2E") if s in (".", "..") else quote(s, safe="") for s in segments)


def _from_wire(shape, value):
    """A JSON-protocol request body as boto3 parameters: blobs arrive base64-encoded."""
    if shape is None:
        return value
    if shape.type_name == "structure" and isinstance(value, dict):
        return {k: _from_wire(shape.members.get(k), v) for k, v in value.items()}
    if shape.type_name == "list" and isinstance(value, list):
        return [_from_wire(shape.member, v) for v in value]
    if shape.type_name == "map" and isinstance(value, dict):
        return {k: _from_wire(shape.value, v) for k, v in value.items()}
    if shape.type_name == "blob" and isinstance(value, str):
        return base64.b64decode(value, validate=True)
    return value


def _to_wire(value):
    """A boto3 result as the service's JSON answer (blobs base64, timestamps epoch seconds)."""
    if isinstance(value, dict):
        return {k: _to_wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_wire(v) for v in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if hasattr(value, "timestamp"):
        return value.timestamp()
    return value


def parse_pairs(pairs: list[str]) -> dict[str, str]:
    variables = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SystemExit(f"expected NAME=VALUE, got {pair!r}")
        variables[name] = value
    return variables


def _compress(request: web.Request, response: web.Response, minimum: int) -> None:
    """Gzip an answer of at least `minimum` bytes for a client that accepts it, as a REST API with
    MinimumCompressionSize does (an answer already encoded is left as it is)."""
    response.headers.add("Vary", "Accept-Encoding")
    body = response.body
    if (
        "gzip" not in request.headers.get("Accept-Encoding", "")
        or "Content-Encoding" in response.headers
        or not isinstance(body, bytes)
        or len(body) < minimum
    ):
        return
    response.body = gzip.compress(body, compresslevel=6, mtime=0)
    response.headers["Content-Encoding"] = "gzip"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mysfits_local.gateway", description="Local API Gateway stand-in")
    parser.add_argument("--definition", type=Path, action="append", required=True, help="OpenAPI file (repeatable)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("MYSFITS_API_PORT", "8000")))
    parser.add_argument("--stage-variable", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument(
        "--definition-variable",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="value of a ${NAME} placeholder substituted at deploy time (e.g. UserPoolArn)",
    )
    parser.add_argument("--cognito-endpoint", help="where the user pools' JWKS are served (the embedded AWS)")
    parser.add_argument("--cognito-client-id", help="the site's app client: ID tokens must be issued to it")
    parser.add_argument(
        "--throttle",
        action="append",
        default=[],
        metavar="DEFINITION=RESOURCE_PATH:METHOD:RATE:BURST",
        help="a stage's method throttling for one definition's routes (repeatable; none: unthrottled)",
    )
    parser.add_argument(
        "--compress",
        action="append",
        default=[],
        metavar="DEFINITION=BYTES",
        help="gzip that definition's answers of at least BYTES (its API's MinimumCompressionSize; repeatable)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    variables = {"AWS::Region": os.environ.get("AWS_REGION", "us-east-1"), **parse_pairs(args.definition_variable)}
    definition = ApiDefinition.load(*args.definition, variables=variables)
    verifiers = cognito_verifiers(definition, args.cognito_client_id, args.cognito_endpoint)
    throttles = [MethodThrottle.parse(value) for value in args.throttle]
    compression = {Path(path).resolve(): int(size) for path, size in parse_pairs(args.compress).items()}
    gateway = Gateway(definition, parse_pairs(args.stage_variable), verifiers, throttles, compression)
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:  # uvloop only makes it faster
        pass
    web.run_app(gateway.app(), host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
