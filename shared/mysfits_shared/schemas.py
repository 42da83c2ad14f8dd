"""marshmallow schemas for the API's JSON shapes (field names of the workshop contract)."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validates_schema
from marshmallow.validate import Length, OneOf, Range

from .models import FILTER_INDEXES, FILTER_PARAMETERS

FILTERS = tuple(FILTER_INDEXES)
MAX_PAGE_SIZE = 100


class MysfitSchema(Schema):
    """A mysfit as the API shows it, in list items and on its own."""

    mysfitId = fields.String(attribute="mysfit_id")
    name = fields.String()
    species = fields.String()
    description = fields.String()
    age = fields.Integer()
    goodevil = fields.String(attribute="good_evil")
    lawchaos = fields.String(attribute="law_chaos")
    thumbImageUri = fields.String(attribute="thumb_image_uri")
    profileImageUri = fields.String(attribute="profile_image_uri")
    likes = fields.Integer()
    adopted = fields.Boolean()


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
