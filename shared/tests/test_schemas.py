import pytest
from marshmallow import ValidationError

from mysfits_shared.schemas import ListQuerySchema

schema = ListQuerySchema()


def test_filter_and_value():
    assert schema.load({"filter": "Species", "value": "Imp"}) == {"filters": {"Species": "Imp"}}


def test_filters_combine_with_each_other_and_with_the_single_form():
    query = {"goodevil": "Evil", "lawchaos": "Lawful", "filter": "Species", "value": "Imp"}
    assert schema.load(query) == {"filters": {"GoodEvil": "Evil", "LawChaos": "Lawful", "Species": "Imp"}}
    assert schema.load({"species": "Imp", "filter": "Species", "value": "Imp"}) == {"filters": {"Species": "Imp"}}


def test_unknown_parameters_are_ignored():
    assert schema.load({"_": "123"}) == {"filters": {}}


@pytest.mark.parametrize(
    ("query", "field", "text"),
    [
        ({"filter": "Colour", "value": "Red"}, "filter", "filter must be one of: GoodEvil, LawChaos, Species."),
        ({"filter": "GoodEvil"}, "value", "a value is required with filter=GoodEvil."),
        ({"value": "Evil"}, "filter", "filter is required with value; valid filters: GoodEvil, LawChaos, Species."),
        ({"limit": "0"}, "limit", "Must be greater than or equal to 1 and less than or equal to 100."),
        ({"limit": "ten"}, "limit", "Not a valid integer."),
        ({"goodevil": ""}, "goodevil", "Length must be between 1 and 100."),
        (
            {"goodevil": "Good", "filter": "GoodEvil", "value": "Evil"},
            "filter",
            "filter=GoodEvil and its own parameter ask for different values.",
        ),
    ],
)
def test_invalid_queries(query, field, text):
    with pytest.raises(ValidationError) as raised:
        schema.load(query)
    assert raised.value.messages[field] == [text]
