"""Reads from MysfitsTable: whole listings, GSI filters, pages and single items."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from mysfits_shared.errors import ApiError
from mysfits_shared.models import FILTER_ATTRIBUTES, FILTER_INDEXES, MOST_SELECTIVE_FIRST, Mysfit


@dataclass
class Page:
    mysfits: list[Mysfit]
    next_cursor: str | None = None


def list_mysfits(filters: dict[str, str] | None = None) -> list[Mysfit]:
    """Every mysfit matching every one of `filters` ({filter name: value}), following every
    DynamoDB page, sorted by name.

    Filtered, this is a query on the most selective filter's GSI with the others as a filter
    expression, never a scan.
    """
    items = list(_read(filters or {}))
    items.sort(key=lambda m: (m.name.casefold(), m.mysfit_id))
    return items


def page_of_mysfits(limit: int, cursor: str | None, filters: dict[str, str] | None = None) -> Page:
    """At most `limit` mysfits in table (or index) order, and a cursor for the next page."""
    filters = filters or {}
    start = decode_cursor(cursor, filters) if cursor else None
    results = _read(filters, limit=limit, page_size=limit, last_evaluated_key=start)
    items = list(results)
    last_key = results.last_evaluated_key
    return Page(items, encode_cursor(last_key) if last_key else None)


def get_mysfit(mysfit_id: str) -> Mysfit:
    try:
        return Mysfit.get(mysfit_id)
    except Mysfit.DoesNotExist:
        raise ApiError(404, "NotFound", f"No mysfit with id {mysfit_id!r}.") from None


def _index_filter(filters: dict[str, str]) -> str | None:
    """The filter whose index answers `filters`: the most selective one given."""
    return next((name for name in MOST_SELECTIVE_FIRST if name in filters), None)


def _read(filters: dict[str, str], **kwargs):
    indexed = _index_filter(filters)
    if indexed is None:
        return Mysfit.scan(**kwargs)
    condition = None
    for name, value in filters.items():
        if name != indexed:
            term = FILTER_ATTRIBUTES[name] == value
            condition = term if condition is None else condition & term
    return FILTER_INDEXES[indexed].query(filters[indexed], filter_condition=condition, **kwargs)


def _key_attributes(filter_name: str | None) -> set[str]:
    """The attribute names of a LastEvaluatedKey for a scan or a query on the filter's GSI."""
    return {"MysfitId", filter_name} if filter_name else {"MysfitId"}


def encode_cursor(last_evaluated_key: dict) -> str:
    raw = json.dumps(last_evaluated_key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, filters: dict[str, str]) -> dict:
    """Turn a cursor back into a LastEvaluatedKey, refusing one from another listing."""
    filter_name = _index_filter(filters)
    value = filters.get(filter_name) if filter_name else None
    invalid = ApiError(400, "BadRequest", "cursor is not valid for this listing; start again without it.")
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise invalid from None
    if not isinstance(key, dict) or set(key) != _key_attributes(filter_name):
        raise invalid
    for typed in key.values():
        if not (isinstance(typed, dict) and set(typed) == {"S"} and isinstance(typed["S"], str) and typed["S"]):
            raise invalid
    if filter_name and key[filter_name]["S"] != value:
        raise invalid
    return key
