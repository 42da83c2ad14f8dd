"""API Gateway mapping templates: Velocity (VTL) rendered with airspeed, with the
`$input`, `$util`, `$context` and `$stageVariables` objects API Gateway provides.

Only what the project's templates use is modelled, but each piece behaves as in API
Gateway: `$input.json(path)` is the JSON text at a JSONPath, `$input.path(path)` the
object, `$input.params(name)` a request parameter, `$util.base64Encode` the Base64 of a
string's UTF-8 bytes; `$context` and `$stageVariables` are the gateway's own values.
"""

from __future__ import annotations

import base64
import json
from functools import lru_cache

import airspeed


class TemplateError(ValueError):
    """The template cannot be rendered (bad syntax, or a body the template cannot read)."""


def _select(document, path: str):
    """A small JSONPath: `$`, `$.a.b`, `$['a']`, `$.a[0]` — what mapping templates use."""
    path = path.strip()
    if not path.startswith("$"):
        raise TemplateError(f"unsupported JSONPath {path!r}")
    value = document
    rest = path[1:]
    while rest:
        if rest.startswith("."):
            name, rest = _split_name(rest[1:])
            value = value.get(name) if isinstance(value, dict) else None
        elif rest.startswith("["):
            inside, _, rest = rest[1:].partition("]")
            key = inside.strip("'\"")
            if inside.isdigit():
                value = value[int(inside)] if isinstance(value, list) and int(inside) < len(value) else None
            else:
                value = value.get(key) if isinstance(value, dict) else None
        else:
            raise TemplateError(f"unsupported JSONPath {path!r}")
    return value


def _split_name(text: str) -> tuple[str, str]:
    for index, char in enumerate(text):
        if char in ".[":
            return text[:index], text[index:]
    return text, ""


class Input:
    """`$input`: the request (or integration response) body and the request's parameters."""

    def __init__(self, body: str, params: dict | None = None):
        self.body = body
        self._params = params or {"path": {}, "querystring": {}, "header": {}}
        self._parsed = None
        self._parsed_ok = False

    def _document(self):
        if not self._parsed_ok:
            try:
                self._parsed = json.loads(self.body) if self.body.strip() else {}
            except ValueError as error:
                raise TemplateError(f"the body is not JSON: {error}") from None
            self._parsed_ok = True
        return self._parsed

    def json(self, path: str = "$") -> str:
        return json.dumps(_select(self._document(), path), separators=(",", ":"), ensure_ascii=False)

    def path(self, path: str = "$"):
        return _select(self._document(), path)

    def params(self, name: str):
        """The named path, query string or header parameter, looked up in that order ("" if none)."""
        for where in ("path", "querystring", "header"):
            if name in self._params.get(where, {}):
                return self._params[where][name]
        return ""


class Util:
    """`$util` (method names are the VTL ones)."""

    @staticmethod
    def base64Encode(text) -> str:
        return base64.b64encode(str(text).encode("utf-8")).decode("ascii")


@lru_cache(maxsize=64)
def _compile(template: str) -> airspeed.Template:
    return airspeed.Template(template)


def render(template: str, *, body: str, context: dict, stage_variables: dict, params: dict | None = None) -> str:
    """Render a mapping template as API Gateway does; TemplateError if it cannot be."""
    try:
        return _compile(template).merge(
            {"input": Input(body, params), "util": Util(), "context": context, "stageVariables": stage_variables}
        )
    except TemplateError:
        raise
    except Exception as error:  # airspeed raises several types for template faults
        raise TemplateError(f"mapping template failed: {error}") from None
