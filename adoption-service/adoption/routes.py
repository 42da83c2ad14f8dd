"""HTTP routes of the adoption service."""

from __future__ import annotations

from flask import Blueprint, g, jsonify

from mysfits_shared.errors import checked_mysfit_id

from . import actions
from .visitors import signed_in

bp = Blueprint("adoption", __name__)


def _fresh(body: dict):
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
def index():
    return jsonify(
        service="mysfits-adoption", endpoints=["/mysfits/{mysfitId}/like", "/mysfits/{mysfitId}/adopt", "/me"]
    )


@bp.get("/health")
def health():
    """Liveness for the load balancer: answers without touching the table."""
    return jsonify(status="ok")


@bp.post("/mysfits/<mysfit_id>/like")
@signed_in
def like(mysfit_id: str):
    return _fresh(actions.like(checked_mysfit_id(mysfit_id), g.visitor_id))


@bp.delete("/mysfits/<mysfit_id>/like")
@signed_in
def unlike(mysfit_id: str):
    return _fresh(actions.unlike(checked_mysfit_id(mysfit_id), g.visitor_id))


@bp.post("/mysfits/<mysfit_id>/adopt")
@signed_in
def adopt(mysfit_id: str):
    return _fresh(actions.adopt(checked_mysfit_id(mysfit_id), g.visitor_id))


@bp.get("/me")
@signed_in
def me():
    return _fresh(actions.visitor_summary(g.visitor_id))
