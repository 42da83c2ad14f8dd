"""A local stand-in for API Gateway (REST API), driven by the API definition.

It routes each request to the integration the definition declares for it: `http_proxy`
integrations are forwarded to the local services (their URIs built from stage variables),
`mock` integrations (CORS preflight) are answered from their response parameters, and
errors the gateway itself produces (no route, service down, service slow) are shaped by
the definition's gateway responses. Requests without `X-Amzn-Trace-Id` get one.

    python -m mysfits_local.gateway --definition cfn/api/mysfits-api.yaml \
        --stage-variable catalogHost=127.0.0.1:8081 --stage-variable siteOrigin=http://127.0.0.1:8080
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import time
import uuid
from pathlib import Path

import aiohttp
from aiohttp import web

from mysfits_shared.auth import InvalidToken, KeysUnavailable, TokenVerifier, issuer_for, token_from_header

from .apidef import (
    GATEWAY_RESPONSE_STATUS,
    INTEGRATION,
    ApiDefinition,
    mapping_value,
    render_context_template,
    substitute_stage_variables,
)

log = logging.getLogger("gateway")

TRACE_HEADER = "X-Amzn-Trace-Id"
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
DEFAULT_TIMEOUT_MS = 29_000
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


def new_trace_id() -> str:
    """An X-Ray trace id: version 1, epoch seconds in hex, 96 random bits."""
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"


class GatewayError(Exception):
    """An error API Gateway answers itself, by gateway response type."""

    def __init__(self, response_type: str, message: str):
        super().__init__(message)
        self.response_type = response_type
        self.message = message


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
    ):
        self.definition = definition
        self.stage_variables = stage_variables
        self.verifiers = verifiers or {}
        self._session: aiohttp.ClientSession | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_route("*", "/{tail:.*}", self.handle)
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

    async def handle(self, request: web.Request) -> web.StreamResponse:
        request_id = str(uuid.uuid4())
        trace_id = request.headers.get(TRACE_HEADER) or new_trace_id()
        try:
            response = await self._dispatch(request, trace_id)
        except GatewayError as error:
            response = self._gateway_response(error, request, request_id)
        response.headers["x-amzn-RequestId"] = request_id
        response.headers[TRACE_HEADER] = trace_id
        return response

    async def _dispatch(self, request: web.Request, trace_id: str) -> web.StreamResponse:
        matched = self.definition.match(request.path)
        operation = matched[0].operation(request.method) if matched else None
        if operation is None:
            raise GatewayError("MISSING_AUTHENTICATION_TOKEN", f"No such route: {request.method} {request.path}")
        claims = await self._authorize(operation, request)
        integration = operation.get(INTEGRATION)
        kind = (integration or {}).get("type", "").lower()
        if kind == "mock":
            return self._mock(integration, request)
        if kind == "http_proxy":
            return await self._http_proxy(integration, matched[1], request, trace_id, claims)
        raise GatewayError("API_CONFIGURATION_ERROR", "This route has no integration the gateway can run.")

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

    def _mock(self, integration: dict, request: web.Request) -> web.Response:
        answer = integration.get("responses", {}).get("default", {})
        response = web.Response(status=int(answer.get("statusCode", 200)))
        for target, source in answer.get("responseParameters", {}).items():
            value = mapping_value(source, self.stage_variables, request.headers)
            if value is not None:
                response.headers[target.removeprefix("method.response.header.")] = value
        return response

    async def _http_proxy(
        self, integration: dict, path_params: dict, request: web.Request, trace_id: str, claims: dict | None
    ):
        url = self._integration_url(integration, path_params)
        if request.query_string:
            url += "?" + request.query_string
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
                url,
                headers=headers,
                data=body or None,
                timeout=timeout,
                allow_redirects=False,
            ) as upstream:
                payload = await upstream.read()
                response = web.Response(status=upstream.status, body=payload)
                for name, value in upstream.headers.items():
                    if name.lower() not in _HOP_BY_HOP:
                        response.headers.add(name, value)
                return response
        except TimeoutError:
            raise GatewayError("INTEGRATION_TIMEOUT", "Endpoint request timed out") from None
        except aiohttp.ClientError as error:
            log.warning("integration failure for %s: %s", url, error)
            raise GatewayError("INTEGRATION_FAILURE", "Internal server error") from None

    def _integration_url(self, integration: dict, path_params: dict) -> str:
        try:
            url = substitute_stage_variables(integration["uri"], self.stage_variables)
        except KeyError as error:
            raise GatewayError("API_CONFIGURATION_ERROR", f"Stage configuration error: {error}") from None
        for target, source in integration.get("requestParameters", {}).items():
            if target.startswith("integration.request.path.") and source.startswith("method.request.path."):
                value = path_params.get(source.removeprefix("method.request.path."), "")
                url = url.replace("{" + target.removeprefix("integration.request.path.") + "}", value)
        return url

    def _gateway_response(self, error: GatewayError, request: web.Request, request_id: str) -> web.Response:
        """Answer like API Gateway: the type's gateway response, else DEFAULT_4XX/5XX."""
        status = GATEWAY_RESPONSE_STATUS.get(error.response_type, 500)
        responses = self.definition.gateway_responses
        default = responses.get("DEFAULT_4XX" if status < 500 else "DEFAULT_5XX", {})
        specific = responses.get(error.response_type, {})
        status = int(specific.get("statusCode", status))
        parameters = specific.get("responseParameters", default.get("responseParameters", {}))
        templates = specific.get("responseTemplates", default.get("responseTemplates", {}))
        context = {
            "error.message": error.message,
            "requestId": request_id,
            "httpMethod": request.method,
            "path": request.path,
        }
        template = templates.get("application/json", '{"message": $context.error.messageString}')
        response = web.Response(
            status=status, text=render_context_template(template, context), content_type="application/json"
        )
        response.headers["x-amzn-ErrorType"] = error.response_type
        for target, source in parameters.items():
            value = mapping_value(source, self.stage_variables, request.headers)
            if value is not None:
                response.headers[target.removeprefix("gatewayresponse.header.")] = value
        return response


def parse_pairs(pairs: list[str]) -> dict[str, str]:
    variables = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SystemExit(f"expected NAME=VALUE, got {pair!r}")
        variables[name] = value
    return variables


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
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    definition = ApiDefinition.load(*args.definition, variables=parse_pairs(args.definition_variable))
    verifiers = cognito_verifiers(definition, args.cognito_client_id, args.cognito_endpoint)
    gateway = Gateway(definition, parse_pairs(args.stage_variable), verifiers)
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:  # uvloop only makes it faster
        pass
    web.run_app(gateway.app(), host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
