"""HTTP routes of the catalog service."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, jsonify, request

from mysfits_shared.errors import ApiError, checked_mysfit_id
from mysfits_shared.schemas import ListQuerySchema, MysfitSchema

from . import queries

bp = Blueprint("catalog", __name__)

_query_schema = ListQuerySchema()
_mysfit_schema = MysfitSchema()
_mysfits_schema = MysfitSchema(many=True)


@bp.get("/")
def index():
    return jsonify(service="mysfits-catalog", endpoints=["/mysfits", "/mysfits/{mysfitId}", "/health"])


@bp.get("/health")
def health():
    """Liveness for the load balancer: answers without touching the table."""
    return jsonify(status="ok")


@bp.get("/mysfits")
def list_mysfits():
    args = _query_schema.load(request.args.to_dict())
    key = (tuple(sorted(args["filters"].items())), args.get("limit"), args.get("cursor"))
    cache = current_app.extensions["catalog_cache"]
    entry = cache.get_or_render(key, lambda: _render_listing(args))
    if request.if_none_match.contains_weak(entry.etag):
        response = Response(status=304)
    else:
        response = Response(entry.body, mimetype="application/json")
    response.set_etag(entry.etag)
    # Clients revalidate every time; the ETag makes an unchanged listing a cheap 304.
    response.headers["Cache-Control"] = "no-cache"
    return response


def _render_listing(args: dict) -> bytes:
    if "limit" in args:
        page = queries.page_of_mysfits(args["limit"], args.get("cursor"), args["filters"])
        body = {"mysfits": _published(_mysfits_schema.dump(page.mysfits)), "nextCursor": page.next_cursor}
    elif "cursor" in args:
        raise ApiError(400, "BadRequest", "cursor is only valid together with limit.")
    else:
        body = {"mysfits": _published(_mysfits_schema.dump(queries.list_mysfits(args["filters"])))}
    return json.dumps(body, separators=(",", ":")).encode()


@bp.get("/mysfits/<mysfit_id>")
def get_mysfit(mysfit_id: str):
    (mysfit,) = _published([_mysfit_schema.dump(queries.get_mysfit(checked_mysfit_id(mysfit_id)))])
    response = jsonify(mysfit)
    response.headers["Cache-Control"] = "no-store"  # profiles are always fresh
    return response


IMAGE_FIELDS = ("thumbImageUri", "profileImageUri")


def _published(mysfits: list[dict]) -> list[dict]:
    """Image URIs made absolute from ASSET_BASE_URL (where the site publishes them), so a page or
    app served from anywhere else can show them; absolute URIs in the table stay as they are."""
    base = current_app.config["SETTINGS"].asset_base_url
    if base:
        for mysfit in mysfits:
            for field in IMAGE_FIELDS:
                uri = mysfit.get(field)
                if uri and not urlsplit(uri).scheme:
                    mysfit[field] = f"{base}/{uri.lstrip('/')}"
    return mysfits
