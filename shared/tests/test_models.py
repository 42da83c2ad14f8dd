from datetime import UTC, datetime

import boto3
import botocore.session
import pytest
from pynamodb.transactions import TransactWrite

from mysfits_shared import models
from mysfits_shared.models import FILTER_INDEXES, Mysfit, MysfitLike


def _client(settings):
    return boto3.client("dynamodb", region_name=settings.region, endpoint_url=settings.dynamodb_endpoint)


def _mysfit(mysfit_id="m-1", **overrides):
    values = dict(
        name="Quill",
        species="Hedgehog",
        description="Spiky.",
        age=3,
        good_evil="Good",
        law_chaos="Lawful",
        thumb_image_uri="images/quill.svg",
        profile_image_uri="images/quill.svg",
    )
    values.update(overrides)
    return Mysfit(mysfit_id, **values)


def test_table_is_created_from_the_model_with_its_indexes(table, settings):
    description = _client(settings).describe_table(TableName="MysfitsTable")["Table"]
    assert description["KeySchema"] == [{"AttributeName": "MysfitId", "KeyType": "HASH"}]
    assert description["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    indexes = {i["IndexName"]: i for i in description["GlobalSecondaryIndexes"]}
    assert set(indexes) == {"GoodEvilIndex", "LawChaosIndex", "SpeciesIndex", "AdoptedByIndex"}
    for name, attribute in [
        ("GoodEvilIndex", "GoodEvil"),
        ("LawChaosIndex", "LawChaos"),
        ("SpeciesIndex", "Species"),
        ("AdoptedByIndex", "AdoptedBy"),
    ]:
        assert indexes[name]["KeySchema"] == [
            {"AttributeName": attribute, "KeyType": "HASH"},
            {"AttributeName": "MysfitId", "KeyType": "RANGE"},
        ]
        assert indexes[name]["Projection"]["ProjectionType"] == "ALL"


def test_items_use_the_workshop_attribute_names(table, settings):
    _mysfit().save()
    item = _client(settings).get_item(TableName="MysfitsTable", Key={"MysfitId": {"S": "m-1"}})["Item"]
    assert item == {
        "MysfitId": {"S": "m-1"},
        "Name": {"S": "Quill"},
        "Species": {"S": "Hedgehog"},
        "Description": {"S": "Spiky."},
        "Age": {"N": "3"},
        "GoodEvil": {"S": "Good"},
        "LawChaos": {"S": "Lawful"},
        "ThumbImageUri": {"S": "images/quill.svg"},
        "ProfileImageUri": {"S": "images/quill.svg"},
        "Likes": {"N": "0"},
        "Adopted": {"BOOL": False},
    }


def test_each_filter_queries_its_index(table):
    _mysfit("m-1", good_evil="Evil", law_chaos="Chaotic", species="Imp").save()
    _mysfit("m-2", good_evil="Good", law_chaos="Chaotic", species="Imp").save()
    _mysfit("m-3", good_evil="Evil", law_chaos="Lawful", species="Wyrm").save()
    found = {
        name: sorted(m.mysfit_id for m in index.query(value))
        for name, index, value in [
            ("GoodEvil", FILTER_INDEXES["GoodEvil"], "Evil"),
            ("LawChaos", FILTER_INDEXES["LawChaos"], "Chaotic"),
            ("Species", FILTER_INDEXES["Species"], "Imp"),
        ]
    }
    assert found == {"GoodEvil": ["m-1", "m-3"], "LawChaos": ["m-1", "m-2"], "Species": ["m-1", "m-2"]}


def test_likes_table_is_keyed_by_mysfit_and_visitor(table, settings):
    description = _client(settings).describe_table(TableName="MysfitLikesTable")["Table"]
    assert description["KeySchema"] == [
        {"AttributeName": "MysfitId", "KeyType": "HASH"},
        {"AttributeName": "VisitorId", "KeyType": "RANGE"},
    ]
    (index,) = description["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "VisitorIndex"
    assert index["KeySchema"] == [
        {"AttributeName": "VisitorId", "KeyType": "HASH"},
        {"AttributeName": "MysfitId", "KeyType": "RANGE"},
    ]


def test_after_warm_up_no_request_builds_a_client_not_even_a_transaction(table, monkeypatch):
    models.warm_up()
    built = []
    original = botocore.session.Session.create_client
    monkeypatch.setattr(botocore.session.Session, "create_client", lambda *a, **k: built.append(a) or original(*a, **k))
    _mysfit("m1").save()
    with TransactWrite(connection=models.transaction_connection()) as transaction:
        transaction.save(MysfitLike("m1", "visitor-1", liked_at=datetime.now(UTC)))
        transaction.update(Mysfit("m1"), actions=[Mysfit.likes.add(1)])
    assert Mysfit.get("m1").likes == _mysfit("m1").likes + 1
    assert built == []


def test_a_unit_that_uses_the_mysfits_table_alone_sets_up_and_warms_up_nothing_else(settings, monkeypatch):
    built = []
    original = botocore.session.Session.create_client
    monkeypatch.setattr(botocore.session.Session, "create_client", lambda *a, **k: built.append(a) or original(*a, **k))
    models.configure(settings, uses=(Mysfit,))  # as the catalog does
    models.warm_up()
    assert len(built) == 1  # the mysfits table's client: none for likes, none for transactions
    with pytest.raises(RuntimeError, match="MysfitLike"):
        models.transaction_connection()
