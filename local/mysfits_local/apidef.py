"""Reading the API definition (OpenAPI 3 with x-amazon-apigateway-* extensions).

Only what API Gateway itself reads is interpreted here: paths and methods, the
integration of each operation, stage variables, parameter mappings and gateway responses.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema

from mysfits_deploy.templates import render_definition

INTEGRATION = "x-amazon-apigateway-integration"
VALIDATORS = "x-amazon-apigateway-request-validators"
VALIDATOR = "x-amazon-apigateway-request-validator"
GATEWAY_RESPONSES = "x-amazon-apigateway-gateway-responses"
ANY_METHOD = "x-amazon-apigateway-any-method"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch")


def _ecma_pattern(validator, pattern, instance, schema):
    """`pattern` as JSON Schema means it (ECMA-262): `$` matches only at the very end of the
    text, where Python's `$` also matches before a final newline ("abc\\n" would pass)."""
    if validator.is_type(instance, "string") and not _ecma(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r:.80} does not match {pattern!r}")


@functools.lru_cache(maxsize=64)
def _ecma(pattern: str) -> re.Pattern:
    return re.compile(re.sub(r"(?<!\\)\$", r"\\Z", pattern))


# The models' validator: draft 4, as API Gateway's, with ECMA-262 `pattern`s.
ModelValidator = jsonschema.validators.extend(jsonschema.Draft4Validator, {"pattern": _ecma_pattern})

# Default status of each gateway response type API Gateway can produce here.
GATEWAY_RESPONSE_STATUS = {
    "BAD_REQUEST_BODY": 400,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "BAD_REQUEST_PARAMETERS": 400,
    "UNAUTHORIZED": 401,
    "ACCESS_DENIED": 403,
    "MISSING_AUTHENTICATION_TOKEN": 403,
    "REQUEST_TOO_LARGE": 413,
    "THROTTLED": 429,
    "API_CONFIGURATION_ERROR": 500,
    "AUTHORIZER_FAILURE": 500,
    "INTEGRATION_FAILURE": 504,
    "INTEGRATION_TIMEOUT": 504,
}

_STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_]+)\}")
_CONTEXT_VARIABLE = re.compile(r"\$\{context\.([A-Za-z0-9_.]+)\}|\$context\.([A-Za-z0-9_.]*[A-Za-z0-9_])")


@dataclass(frozen=True)
class Route:
    template: str
    pattern: re.Pattern
    operations: dict[str, dict]
    document: dict = field(default_factory=dict, repr=False)  # the definition it came from
    source: Path | None = None  # that definition's file
    # (method, content type) -> the body validator, built on first use; None: no body check.
    _validators: dict = field(default_factory=dict, repr=False, compare=False)

    def operation(self, method: str) -> dict | None:
        """The method's operation; `HEAD` is answered wherever `GET` is."""
        method = method.lower()
        found = self.operations.get(method) or self.operations.get(ANY_METHOD)
        if found is None and method == "head":
            found = self.operations.get("get")
        return found

    def allowed_methods(self) -> list[str]:
        """The methods the route answers (for `Allow`), HEAD included wherever GET is."""
        if ANY_METHOD in self.operations:
            return [m.upper() for m in METHODS]
        methods = {m.upper() for m in self.operations}
        if "GET" in methods:
            methods.add("HEAD")
        return sorted(methods)

    def body_validator(self, method: str, content_type: str) -> jsonschema.Draft4Validator | None:
        """The validator (JSON Schema draft 4, as API Gateway models) the operation's request
        validator checks the body with, or None when the operation validates no body."""
        key = (method.lower(), content_type)
        if key not in self._validators:
            schema = self._body_schema(self.operation(method), content_type)
            self._validators[key] = ModelValidator(schema) if schema is not None else None
        return self._validators[key]

    def _body_schema(self, operation: dict, content_type: str) -> dict | None:
        name = operation.get(VALIDATOR, self.document.get(VALIDATOR))
        if not name or not self.document.get(VALIDATORS, {}).get(name, {}).get("validateRequestBody"):
            return None
        content = operation.get("requestBody", {}).get("content", {})
        media = content.get(content_type) or content.get("application/json")
        return self._resolve(media.get("schema", {})) if media else None

    def _resolve(self, schema):
        """The schema with local `$ref`s (#/components/...) replaced by what they name."""
        if isinstance(schema, list):
            return [self._resolve(item) for item in schema]
        if not isinstance(schema, dict):
            return schema
        if "$ref" in schema:
            target = self.document
            for part in schema["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            return self._resolve(target)
        return {key: self._resolve(value) for key, value in schema.items()}


@dataclass
class ApiDefinition:
    routes: list[Route] = field(default_factory=list)
    gateway_responses: dict[str, dict] = field(default_factory=dict)
    security_schemes: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def load(cls, *paths: Path, variables: dict[str, str] | None = None) -> ApiDefinition:
        """Read one or more definitions; their paths, schemes and gateway responses are merged.

        `${Name}` placeholders (no dot: not stage variables) are replaced from `variables`,
        as the deploy step substitutes them (for example the user pool's ARN), by the same code.
        """
        definition = cls()
        for path in paths:
            document = render_definition(Path(path), variables or {}, strict=False)
            definition.gateway_responses.update(document.get(GATEWAY_RESPONSES, {}))
            definition.security_schemes.update(document.get("components", {}).get("securitySchemes", {}))
            for template, item in document.get("paths", {}).items():
                operations = {m: op for m, op in item.items() if m in METHODS or m == ANY_METHOD}
                route = Route(template, _compile(template), operations, document, Path(path).resolve())
                definition.routes.append(route)
        # Literal segments win over parameters, as in API Gateway: most literal characters first.
        definition.routes.sort(key=lambda r: -len(re.sub(r"\{[^}]+\}", "", r.template)))
        return definition

    def match(self, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            found = route.pattern.fullmatch(path)
            if found:
                return route, found.groupdict()
        return None


def _compile(template: str) -> re.Pattern:
    """`/mysfits/{mysfitId}` -> a regex with named groups; `{proxy+}` matches the rest."""
    parts = []
    for piece in re.split(r"(\{[^}]+\})", template):
        if piece.startswith("{") and piece.endswith("+}"):
            parts.append(f"(?P<{piece[1:-2]}>.+)")
        elif piece.startswith("{"):
            parts.append(f"(?P<{piece[1:-1]}>[^/]+)")
        else:
            parts.append(re.escape(piece))
    return re.compile("".join(parts) + "/?")


def substitute_stage_variables(text: str, stage_variables: dict[str, str]) -> str:
    def value(found: re.Match) -> str:
        name = found.group(1)
        if name not in stage_variables:
            raise KeyError(f"stage variable {name!r} is not set")
        return stage_variables[name]

    return _STAGE_VARIABLE.sub(value, text)


def mapping_value(
    expression: str, stage_variables: dict[str, str], request_headers, claims: dict | None = None
) -> str | None:
    """Evaluate a parameter-mapping source: 'literal', stageVariables.x, method.request.header.x
    or context.authorizer.claims.x."""
    if len(expression) >= 2 and expression[0] == expression[-1] == "'":
        return expression[1:-1]
    if expression.startswith("stageVariables."):
        return stage_variables.get(expression.removeprefix("stageVariables."))
    if expression.startswith("method.request.header."):
        return request_headers.get(expression.removeprefix("method.request.header."))
    if expression.startswith("context.authorizer.claims.") and claims is not None:
        value = claims.get(expression.removeprefix("context.authorizer.claims."))
        return None if value is None else str(value)
    return None


def render_context_template(template: str, context: dict[str, str]) -> str:
    """Fill `$context.x` references of a gateway-response template.

    `$context.error.messageString` is the message as a quoted JSON string, as in API Gateway.
    """

    def value(found: re.Match) -> str:
        name = found.group(1) or found.group(2)
        if name == "error.messageString":
            return json.dumps(context.get("error.message", ""))
        if name == "error.validationErrorString":  # used inside a JSON string by the templates
            return json.dumps(context.get(name, ""))[1:-1]
        return context.get(name, "")

    return _CONTEXT_VARIABLE.sub(value, template)
