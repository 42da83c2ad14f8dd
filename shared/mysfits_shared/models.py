"""PynamoDB models for MysfitsTable and MysfitLikesTable.

Attribute names match the original workshop table so its data loads unchanged. The table
names, region, endpoint, timeouts and retries come from `Settings` through `configure()`,
called once by each service's application factory with the models it uses (never at import
time).
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.connection import Connection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from .settings import Settings

DEFAULT_TABLE_NAME = "MysfitsTable"
DEFAULT_LIKES_TABLE_NAME = "MysfitLikesTable"


class _AttributeIndex(GlobalSecondaryIndex):
    """Base for the GSIs: hash key on one attribute, `MysfitId` as range key, all attributes."""

    mysfit_id = UnicodeAttribute(range_key=True, attr_name="MysfitId")


class GoodEvilIndex(_AttributeIndex):
    class Meta:
        index_name = "GoodEvilIndex"
        projection = AllProjection()

    good_evil = UnicodeAttribute(hash_key=True, attr_name="GoodEvil")


class LawChaosIndex(_AttributeIndex):
    class Meta:
        index_name = "LawChaosIndex"
        projection = AllProjection()

    law_chaos = UnicodeAttribute(hash_key=True, attr_name="LawChaos")


class SpeciesIndex(_AttributeIndex):
    class Meta:
        index_name = "SpeciesIndex"
        projection = AllProjection()

    species = UnicodeAttribute(hash_key=True, attr_name="Species")


class AdoptedByIndex(_AttributeIndex):
    """Sparse: only adopted mysfits have `AdoptedBy`, so this lists what a visitor adopted."""

    class Meta:
        index_name = "AdoptedByIndex"
        projection = AllProjection()

    adopted_by = UnicodeAttribute(hash_key=True, attr_name="AdoptedBy")


class Mysfit(Model):
    """One mysfit: a catalog entry plus its like count and adoption state."""

    class Meta:
        table_name = DEFAULT_TABLE_NAME
        billing_mode = "PAY_PER_REQUEST"

    mysfit_id = UnicodeAttribute(hash_key=True, attr_name="MysfitId")
    name = UnicodeAttribute(attr_name="Name")
    species = UnicodeAttribute(attr_name="Species")
    description = UnicodeAttribute(attr_name="Description")
    age = NumberAttribute(attr_name="Age")
    good_evil = UnicodeAttribute(attr_name="GoodEvil")
    law_chaos = UnicodeAttribute(attr_name="LawChaos")
    thumb_image_uri = UnicodeAttribute(attr_name="ThumbImageUri")
    profile_image_uri = UnicodeAttribute(attr_name="ProfileImageUri")
    likes = NumberAttribute(attr_name="Likes", default=0)
    adopted = BooleanAttribute(attr_name="Adopted", default=False)
    adopted_by = UnicodeAttribute(attr_name="AdoptedBy", null=True)
    adopted_at = UTCDateTimeAttribute(attr_name="AdoptedAt", null=True)

    good_evil_index = GoodEvilIndex()
    law_chaos_index = LawChaosIndex()
    species_index = SpeciesIndex()
    adopted_by_index = AdoptedByIndex()


class VisitorIndex(GlobalSecondaryIndex):
    """A visitor's likes, by visitor."""

    class Meta:
        index_name = "VisitorIndex"
        projection = AllProjection()

    visitor_id = UnicodeAttribute(hash_key=True, attr_name="VisitorId")
    mysfit_id = UnicodeAttribute(range_key=True, attr_name="MysfitId")


class MysfitLike(Model):
    """One visitor's like of one mysfit; written in one transaction with the mysfit's counter."""

    class Meta:
        table_name = DEFAULT_LIKES_TABLE_NAME
        billing_mode = "PAY_PER_REQUEST"

    mysfit_id = UnicodeAttribute(hash_key=True, attr_name="MysfitId")
    visitor_id = UnicodeAttribute(range_key=True, attr_name="VisitorId")
    liked_at = UTCDateTimeAttribute(attr_name="LikedAt")

    visitor_index = VisitorIndex()


# The `filter` values of GET /mysfits and the index that answers each.
FILTER_INDEXES: dict[str, GlobalSecondaryIndex] = {
    "GoodEvil": Mysfit.good_evil_index,
    "LawChaos": Mysfit.law_chaos_index,
    "Species": Mysfit.species_index,
}
# Each filter's query parameter when several are combined (the mysfit field it matches), and its
# attribute, for the filter expression the others become.
FILTER_PARAMETERS: dict[str, str] = {"goodevil": "GoodEvil", "lawchaos": "LawChaos", "species": "Species"}
FILTER_ATTRIBUTES = {"GoodEvil": Mysfit.good_evil, "LawChaos": Mysfit.law_chaos, "Species": Mysfit.species}
# Combined filters are answered from the most selective index: many species, three of each other.
MOST_SELECTIVE_FIRST = ("Species", "LawChaos", "GoodEvil")

MODELS = (Mysfit, MysfitLike)

_configured: tuple[type[Model], ...] = ()
_transaction_connection: Connection | None = None


def configure(settings: Settings, uses: tuple[type[Model], ...] = MODELS) -> None:
    """Point the models a unit uses (every one unless told) at their tables, region and endpoint
    from `settings`, and, when likes are among them, the transaction connection (a like and its
    counter change together). The catalog uses `Mysfit` alone: no likes table is set up for it."""
    global _configured, _transaction_connection
    # Only the adoption service's settings name a likes table; the unit tests' shared table fixture
    # sets up both tables from the common settings, and the template's logical name stands in.
    likes_table_name = getattr(settings, "likes_table_name", None) or DEFAULT_LIKES_TABLE_NAME
    table_names = {Mysfit: settings.table_name, MysfitLike: likes_table_name}
    for model in uses:
        meta = model.Meta
        meta.table_name = table_names[model]
        meta.region = settings.region
        meta.host = settings.dynamodb_endpoint
        meta.connect_timeout_seconds = settings.dynamodb_timeout_seconds
        meta.read_timeout_seconds = settings.dynamodb_timeout_seconds
        meta.max_retry_attempts = settings.dynamodb_max_retries
        model._connection = None  # rebuilt on next use with the new settings
    _configured = uses
    _transaction_connection = None
    if MysfitLike in uses:
        _transaction_connection = Connection(
            region=settings.region,
            host=settings.dynamodb_endpoint,
            connect_timeout_seconds=settings.dynamodb_timeout_seconds,
            read_timeout_seconds=settings.dynamodb_timeout_seconds,
            max_retry_attempts=settings.dynamodb_max_retries,
        )


def transaction_connection() -> Connection:
    """The connection DynamoDB transactions go through (set by `configure` when likes are used)."""
    if _transaction_connection is None:
        raise RuntimeError("models.configure(settings) has not been called with MysfitLike")
    return _transaction_connection


def warm_up() -> None:
    """Build the DynamoDB client of each configured model, and of the transaction connection if
    there is one, now (no request is sent).

    Called in each worker after fork, so a visitor's first request does not pay for it (a client
    loads the whole DynamoDB service model: tens of milliseconds), the first like included.
    """
    connections = [model._get_connection().connection for model in _configured]
    for connection in (*connections, *([_transaction_connection] if _transaction_connection else [])):
        _ = connection.client
