"""Every route of the catalog service, against DynamoDB on a moto server."""

from urllib.parse import quote

import boto3
import pytest

from catalog import create_app
from catalog.cache import ResponseCache
from catalog.settings import CatalogSettings
from mysfits_shared.models import Mysfit
from mysfits_testkit.mysfits import build_mysfit, put_mysfits

LIST_FIELDS = {"mysfitId", "name", "species", "goodevil", "lawchaos", "thumbImageUri"}
PROFILE_FIELDS = LIST_FIELDS | {"age", "description", "profileImageUri", "likes", "adopted"}


def test_index_and_health(client):
    assert client.get("/").json["service"] == "mysfits-catalog"
    assert client.get("/health").json == {"status": "ok"}


def test_health_does_not_touch_the_table(make_settings):
    down = create_app(make_settings("http://127.0.0.1:9", CatalogSettings)).test_client()
    assert down.get("/health").status_code == 200


def test_list_returns_every_mysfit_sorted_by_name(client):
    put_mysfits(6)
    response = client.get("/mysfits", headers={"Origin": "http://127.0.0.1:8080"})
    assert response.status_code == 200
    mysfits = response.json["mysfits"]
    assert [m["name"] for m in mysfits] == [f"Mysfit {i:04d}" for i in range(6)]
    assert all(set(m) == PROFILE_FIELDS for m in mysfits)
    assert response.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8080"


def test_a_partner_origin_is_echoed_and_images_are_absolute_from_the_asset_base(client):
    [mysfit] = put_mysfits(1)
    response = client.get("/mysfits", headers={"Origin": "https://partner.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "https://partner.example"
    assert response.headers["Vary"] == "Origin"
    [listed] = response.json["mysfits"]
    assert listed["thumbImageUri"] == f"https://assets.example/{mysfit.thumb_image_uri}"
    profile = client.get(f"/mysfits/{mysfit.mysfit_id}").json
    assert profile["profileImageUri"] == f"https://assets.example/{mysfit.profile_image_uri}"
    other = client.get("/mysfits", headers={"Origin": "https://elsewhere.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_empty_table_lists_nothing(client):
    assert client.get("/mysfits").json == {"mysfits": []}


def test_list_follows_every_dynamodb_page(client, settings):
    # About 1.5 MB of items: more than one DynamoDB page (1 MB) for the scan and for a filter.
    count = 300
    put_mysfits(count, description="x" * 5000, good_evil="Evil")
    raw = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=settings.dynamodb_endpoint)
    first_page = raw.scan(TableName="MysfitsTable")
    assert "LastEvaluatedKey" in first_page
    assert first_page["Count"] < count

    listed = client.get("/mysfits").json["mysfits"]
    assert len(listed) == count
    assert len({m["mysfitId"] for m in listed}) == count
    filtered = client.get("/mysfits?filter=GoodEvil&value=Evil").json["mysfits"]
    assert len(filtered) == count


@pytest.mark.parametrize(
    ("filter_name", "value", "attribute"),
    [("GoodEvil", "Evil", "goodevil"), ("LawChaos", "Chaotic", "lawchaos"), ("Species", "Kraken", "species")],
)
def test_filter_returns_only_matching_mysfits(client, monkeypatch, filter_name, value, attribute):
    everyone = put_mysfits(12)

    def no_scans(*args, **kwargs):
        raise AssertionError("a filter must query its index, never scan")

    monkeypatch.setattr(Mysfit, "scan", no_scans)
    mysfits = client.get(f"/mysfits?filter={filter_name}&value={value}").json["mysfits"]
    model_attribute = {"goodevil": "good_evil", "lawchaos": "law_chaos", "species": "species"}[attribute]
    expected = sorted(m.mysfit_id for m in everyone if getattr(m, model_attribute) == value)
    assert expected
    assert sorted(m["mysfitId"] for m in mysfits) == expected
    assert {m[attribute] for m in mysfits} == {value}


COMBINED = [
    {"goodevil": "Evil", "lawchaos": "Lawful"},
    {"goodevil": "Evil", "species": "Wyrm"},
    {"lawchaos": "Chaotic", "species": "Kraken"},
    {"goodevil": "Evil", "lawchaos": "Chaotic", "species": "Imp"},
]


@pytest.mark.parametrize("query", COMBINED, ids=["&".join(q) for q in COMBINED])
def test_filters_combine_on_every_pair_from_an_index_never_a_scan(client, monkeypatch, query):
    # About 1.5 MB of items: more than one DynamoDB page for the index query too.
    everyone = put_mysfits(300, description="x" * 5000)
    fields = {"goodevil": "good_evil", "lawchaos": "law_chaos", "species": "species"}
    expected = sorted(m.mysfit_id for m in everyone if all(getattr(m, fields[k]) == v for k, v in query.items()))
    assert expected

    def no_scans(*args, **kwargs):
        raise AssertionError("combined filters must query an index, never scan")

    monkeypatch.setattr(Mysfit, "scan", no_scans)
    listed = client.get("/mysfits", query_string=query).json["mysfits"]
    assert sorted(m["mysfitId"] for m in listed) == expected
    paged, _ = _walk(client, "limit=4&" + "&".join(f"{k}={v}" for k, v in query.items()))
    assert sorted(paged) == expected
    # The single form adds to the others.
    first, *rest = query.items()
    single = {
        "filter": {"goodevil": "GoodEvil", "lawchaos": "LawChaos", "species": "Species"}[first[0]],
        "value": first[1],
    }
    assert (
        sorted(m["mysfitId"] for m in client.get("/mysfits", query_string={**single, **dict(rest)}).json["mysfits"])
        == expected
    )


def test_filter_without_matches_is_an_empty_list(client):
    put_mysfits(3)
    assert client.get("/mysfits?filter=Species&value=Unicorn").json == {"mysfits": []}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("filter=Colour&value=Red", "filter: filter must be one of: GoodEvil, LawChaos, Species."),
        ("filter=GoodEvil", "value: a value is required with filter=GoodEvil."),
        ("value=Evil", "filter: filter is required with value; valid filters: GoodEvil, LawChaos, Species."),
        ("limit=0", "limit: Must be greater than or equal to 1 and less than or equal to 100."),
        ("cursor=abc", "cursor is only valid together with limit."),
        ("limit=5&cursor=not-base64!", "cursor is not valid for this listing; start again without it."),
    ],
)
def test_bad_queries_are_400_and_say_why(client, query, message):
    response = client.get(f"/mysfits?{query}")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "BadRequest"
    assert response.json["error"]["message"] == message


def _walk(client, query: str) -> tuple[list[str], list[int]]:
    """Every page of a listing, cursor after cursor: the ids in order, and each page's size."""
    ids, cursor, sizes = [], None, []
    while True:
        url = f"/mysfits?{query}" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url).json
        ids += [m["mysfitId"] for m in body["mysfits"]]
        sizes.append(len(body["mysfits"]))
        cursor = body["nextCursor"]
        if not cursor:
            return ids, sizes


def test_paging_with_limit_and_cursor_visits_every_mysfit_once(client):
    put_mysfits(10)
    ids, sizes = _walk(client, "limit=4")
    assert sorted(ids) == [f"id-{i:04d}" for i in range(10)]
    assert sizes == [4, 4, 2]


def test_paging_a_filter(client):
    everyone = put_mysfits(16)
    ids, sizes = _walk(client, "limit=4&filter=GoodEvil&value=Evil")
    assert sorted(ids) == sorted(m.mysfit_id for m in everyone if m.good_evil == "Evil")
    assert sizes == [4, 4]  # the 8 evil ones, and no empty page after them


def test_a_cursor_from_another_listing_is_refused(client):
    put_mysfits(10)
    cursor = client.get("/mysfits?limit=2").json["nextCursor"]
    response = client.get(f"/mysfits?limit=2&filter=GoodEvil&value=Evil&cursor={cursor}")
    assert response.status_code == 400
    evil_cursor = client.get("/mysfits?limit=1&filter=GoodEvil&value=Evil").json["nextCursor"]
    assert client.get(f"/mysfits?limit=1&filter=GoodEvil&value=Good&cursor={evil_cursor}").status_code == 400


def test_get_one_mysfit(client):
    put_mysfits(2)
    response = client.get("/mysfits/id-0001")
    assert response.status_code == 200
    assert set(response.json) == PROFILE_FIELDS
    assert response.json["name"] == "Mysfit 0001"
    assert response.json["likes"] == 0
    assert response.json["adopted"] is False
    assert response.headers["Cache-Control"] == "no-store"


def test_profiles_are_always_fresh(client):
    put_mysfits(1)
    assert client.get("/mysfits/id-0000").json["likes"] == 0
    Mysfit("id-0000").update(actions=[Mysfit.likes.add(3)])
    assert client.get("/mysfits/id-0000").json["likes"] == 3


def test_unknown_mysfit_is_404(client):
    response = client.get("/mysfits/no-such-mysfit")
    assert response.status_code == 404
    assert response.json == {"error": {"code": "NotFound", "message": "No mysfit with id 'no-such-mysfit'."}}
    assert Mysfit.count() == 0  # looking never creates anything


def test_overlong_id_is_400(client):
    assert client.get("/mysfits/" + "x" * 65).status_code == 400


@pytest.mark.parametrize("mysfit_id", ["..", "x?a=b", "abc\n", "a b"])
def test_an_id_no_mysfit_can_have_is_404_for_that_literal_id(client, mysfit_id):
    response = client.get("/mysfits/" + quote(mysfit_id, safe=""))
    assert response.status_code == 404
    assert response.json["error"] == {"code": "NotFound", "message": f"No mysfit with id {mysfit_id!r}."}


def test_unknown_route_and_method(client):
    assert client.get("/nothing").status_code == 404
    assert client.get("/nothing").json["error"]["code"] == "NotFound"
    response = client.post("/mysfits")
    assert response.status_code == 405
    assert response.json["error"]["code"] == "MethodNotAllowed"


def test_table_unreachable_is_503_for_every_read(make_settings):
    down = create_app(make_settings("http://127.0.0.1:9", CatalogSettings)).test_client()
    for path in ("/mysfits", "/mysfits?filter=Species&value=Imp", "/mysfits/id-0001"):
        response = down.get(path)
        assert response.status_code == 503, path
        assert response.json["error"]["code"] == "ServiceUnavailable"
        assert b"Traceback" not in response.data


def test_missing_table_is_503(client, table):
    table.delete_table()
    assert client.get("/mysfits").status_code == 503


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_listing_is_cached_briefly_with_etag_and_304(app, client):
    clock = FakeClock()
    app.extensions["catalog_cache"] = ResponseCache(ttl=5, clock=clock)
    put_mysfits(2)
    first = client.get("/mysfits")
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "no-cache"

    revalidated = client.get("/mysfits", headers={"If-None-Match": etag})
    assert revalidated.status_code == 304
    assert revalidated.data == b""
    assert revalidated.headers["ETag"] == etag

    build_mysfit(7).save()
    clock.now += 4  # still fresh: served from the cache
    assert len(client.get("/mysfits").json["mysfits"]) == 2
    clock.now += 2  # expired: read again, new body, new ETag
    fresh = client.get("/mysfits", headers={"If-None-Match": etag})
    assert fresh.status_code == 200
    assert len(fresh.json["mysfits"]) == 3
    assert fresh.headers["ETag"] != etag


def test_filters_are_cached_separately(app, client):
    app.extensions["catalog_cache"] = ResponseCache(ttl=60)
    put_mysfits(8)
    evil = client.get("/mysfits?filter=GoodEvil&value=Evil")
    good = client.get("/mysfits?filter=GoodEvil&value=Good")
    assert evil.headers["ETag"] != good.headers["ETag"]
    assert {m["goodevil"] for m in good.json["mysfits"]} == {"Good"}
