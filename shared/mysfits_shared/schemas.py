"""marshmallow schemas for the API's JSON shapes (field names of the workshop contract)."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validates_schema
from marshmallow.validate import Length, OneOf, Range

from . import ids
from .models import FILTER_INDEXES, FILTER_PARAMETERS

FILTERS = tuple(FILTER_INDEXES)
MAX_PAGE_SIZE = 100
GOOD_EVIL = ("Good", "Neutral", "Evil")
LAW_CHAOS = ("Lawful", "Neutral", "Chaotic")


def validate_mysfit_id(value: str) -> None:
    """The shared id rule (`mysfits_shared.ids`) as a marshmallow validator."""
    if not ids.is_mysfit_id(value):
        raise ValidationError(f"Not a mysfit id: 1 to {ids.MAX_LENGTH} of {ids.CHARACTERS}.")


class MysfitSchema(Schema):
    """A mysfit as the API shows it, in list items and on its own: every field, always.

    The one statement of the mysfit's public fields (names, types, values), each naming the
    model attribute behind it. The seed loader writes and checks the fields that can be loaded
    (the catalog's; likes and adoption are dump-only, the visitors' doing); a test checks the
    API definition's `Mysfit` schema and the model against it.
    """

    mysfitId = fields.String(required=True, attribute="mysfit_id", validate=validate_mysfit_id)
    name = fields.String(required=True)
    species = fields.String(required=True)
    description = fields.String(required=True)
    age = fields.Integer(required=True)
    goodevil = fields.String(required=True, attribute="good_evil", validate=OneOf(GOOD_EVIL))
    lawchaos = fields.String(required=True, attribute="law_chaos", validate=OneOf(LAW_CHAOS))
    thumbImageUri = fields.String(required=True, attribute="thumb_image_uri")
    profileImageUri = fields.String(required=True, attribute="profile_image_uri")
    likes = fields.Integer(required=True, dump_only=True, validate=Range(min=0))
    adopted = fields.Boolean(required=True, dump_only=True)


class ListQuerySchema(Schema):
    """Query string of GET /mysfits: optional filters and optional paging. Loaded, the filters are
    `filters`, {filter name: value}: `goodevil=`, `lawchaos=` and `species=` combine, and the
    single `filter=NAME&value=V` form adds one more."""

    class Meta:
        unknown = EXCLUDE  # cache-busting or tracking parameters are ignored, not errors

    filter = fields.String(validate=OneOf(FILTERS, error="filter must be one of: " + ", ".join(FILTERS) + "."))
    value = fields.String(validate=Length(1, 100))
    goodevil = fields.String(validate=Length(1, 100))
    lawchaos = fields.String(validate=Length(1, 100))
    species = fields.String(validate=Length(1, 100))
    limit = fields.Integer(validate=Range(1, MAX_PAGE_SIZE))
    cursor = fields.String(validate=Length(1, 2048))

    @post_load
    def _filters(self, data, **_):
        filters = {FILTER_PARAMETERS[name]: data.pop(name) for name in FILTER_PARAMETERS if name in data}
        if "filter" in data:
            name, value = data.pop("filter"), data.pop("value")
            if filters.get(name, value) != value:
                raise ValidationError(f"filter={name} and its own parameter ask for different values.", "filter")
            filters[name] = value
        data["filters"] = filters
        return data

    @validates_schema
    def _filter_needs_value(self, data, **_):
        if "filter" in data and "value" not in data:
            raise ValidationError("a value is required with filter=" + data["filter"] + ".", field_name="value")
        if "value" in data and "filter" not in data:
            raise ValidationError(
                "filter is required with value; valid filters: " + ", ".join(FILTERS) + ".",
                field_name="filter",
            )
