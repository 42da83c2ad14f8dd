import pytest
from marshmallow import ValidationError, fields
from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute

from mysfits_shared.models import FILTER_ATTRIBUTES, FILTER_INDEXES, FILTER_PARAMETERS, MOST_SELECTIVE_FIRST, Mysfit
from mysfits_shared.schemas import ListQuerySchema, MysfitSchema

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


# The model attribute types each field type dumps faithfully.
_MODEL_TYPES = {fields.String: UnicodeAttribute, fields.Integer: NumberAttribute, fields.Boolean: BooleanAttribute}
# Stored, never shown: who adopted a mysfit, and when, are the adopter's business.
_PRIVATE = {"adopted_by", "adopted_at"}


def test_every_public_mysfit_field_is_a_model_attribute_of_its_type():
    """The schema states the mysfit's public fields; the model must store each one, and show the rest."""
    attributes = Mysfit.get_attributes()
    public = {}
    for name, field in MysfitSchema().fields.items():
        attribute = attributes[field.attribute or name]
        assert type(attribute) is _MODEL_TYPES[type(field)], name
        public[field.attribute or name] = attribute
    assert set(attributes) == set(public) | _PRIVATE
    assert attributes["mysfit_id"].is_hash_key
    # Every field but those the visitors change (dump-only) is the catalog's and has no default.
    loaded = {MysfitSchema().fields[name].attribute or name for name in MysfitSchema().load_fields}
    assert {name for name, attribute in public.items() if attribute.default is None} == loaded


def test_each_filter_is_a_public_field_over_its_index_key():
    """A filter's name is its index's key, its parameter the public field stored there."""
    public = {
        Mysfit.get_attributes()[field.attribute or name].attr_name: name
        for name, field in MysfitSchema().fields.items()
    }
    assert list(FILTER_PARAMETERS.values()) == list(FILTER_INDEXES) == list(FILTER_ATTRIBUTES)
    for parameter, name in FILTER_PARAMETERS.items():
        assert FILTER_INDEXES[name]._hash_key_attribute().attr_name == name
        assert FILTER_ATTRIBUTES[name].attr_name == name
        assert public[name] == parameter
        assert parameter in ListQuerySchema().fields
    assert set(MOST_SELECTIVE_FIRST) == set(FILTER_INDEXES)
