"""Every route and rule of the adoption service, against DynamoDB and Cognito on a moto server."""

from urllib.parse import quote

import pytest

from adoption import create_app
from mysfits_shared.models import Mysfit, MysfitLike
from mysfits_testkit.identity import auth


def _likes_recorded(mysfit_id: str) -> int:
    return MysfitLike.count(mysfit_id)


def test_index_and_health_need_no_token(client):
    assert client.get("/").json["service"] == "mysfits-adoption"
    assert client.get("/health").json == {"status": "ok"}


def test_like_counts_once_per_visitor(client, mysfits, visitor, other_visitor):
    first = client.post(f"/mysfits/{mysfits[0]}/like", headers=auth(visitor))
    assert first.status_code == 200
    assert first.json == {"mysfitId": "m-0", "likes": 1, "liked": True, "adopted": False, "adoptedByYou": False}
    assert first.headers["Cache-Control"] == "no-store"

    again = client.post(f"/mysfits/{mysfits[0]}/like", headers=auth(visitor))
    assert again.status_code == 200
    assert again.json["likes"] == 1
    assert client.post(f"/mysfits/{mysfits[0]}/like", headers=auth(other_visitor)).json["likes"] == 2
    assert Mysfit.get("m-0").likes == 2
    assert _likes_recorded("m-0") == 2


def test_bearer_prefix_is_accepted(client, mysfits, visitor):
    response = client.post(f"/mysfits/{mysfits[0]}/like", headers={"Authorization": "Bearer " + visitor["id"]})
    assert response.status_code == 200


def test_unlike_reverses_a_like_and_never_goes_below_zero(client, mysfits, visitor, other_visitor):
    client.post(f"/mysfits/{mysfits[1]}/like", headers=auth(visitor))
    client.post(f"/mysfits/{mysfits[1]}/like", headers=auth(other_visitor))
    undone = client.delete(f"/mysfits/{mysfits[1]}/like", headers=auth(visitor))
    assert undone.status_code == 200
    assert undone.json["liked"] is False
    assert undone.json["likes"] == 1
    # Unliking again, or something never liked, changes nothing.
    assert client.delete(f"/mysfits/{mysfits[1]}/like", headers=auth(visitor)).json["likes"] == 1
    assert client.delete(f"/mysfits/{mysfits[2]}/like", headers=auth(visitor)).json["likes"] == 0
    assert Mysfit.get("m-2").likes == 0
    assert _likes_recorded("m-1") == 1


@pytest.mark.parametrize(("method", "action"), [("post", "like"), ("delete", "like"), ("post", "adopt")])
def test_unknown_mysfit_is_404_and_writes_nothing(client, mysfits, visitor, method, action):
    response = getattr(client, method)(f"/mysfits/ghost/{action}", headers=auth(visitor))
    assert response.status_code == 404
    assert response.json["error"]["code"] == "NotFound"
    assert Mysfit.count() == 3  # no phantom item
    with pytest.raises(Mysfit.DoesNotExist):
        Mysfit.get("ghost")
    assert _likes_recorded("ghost") == 0


def test_adopt_succeeds_once_and_records_who_and_when(client, mysfits, visitor, other_visitor):
    adopted = client.post(f"/mysfits/{mysfits[0]}/adopt", headers=auth(visitor))
    assert adopted.status_code == 200
    assert adopted.json["adopted"] is True
    assert adopted.json["adoptedByYou"] is True
    stored = Mysfit.get("m-0")
    assert stored.adopted_by == visitor["sub"]
    assert stored.adopted_at is not None

    for someone in (other_visitor, visitor):
        late = client.post(f"/mysfits/{mysfits[0]}/adopt", headers=auth(someone))
        assert late.status_code == 409
        assert late.json["error"]["code"] == "AlreadyAdopted"
    assert Mysfit.get("m-0").adopted_by == visitor["sub"]  # nobody took it over
    # Others see it adopted, not by them.
    liked = client.post(f"/mysfits/{mysfits[0]}/like", headers=auth(other_visitor)).json
    assert (liked["adopted"], liked["adoptedByYou"]) == (True, False)


def test_me_lists_likes_and_adoptions(client, mysfits, visitor, other_visitor):
    client.post(f"/mysfits/{mysfits[0]}/like", headers=auth(visitor))
    client.post(f"/mysfits/{mysfits[2]}/like", headers=auth(visitor))
    client.post(f"/mysfits/{mysfits[1]}/adopt", headers=auth(visitor))
    client.post(f"/mysfits/{mysfits[1]}/like", headers=auth(other_visitor))
    me = client.get("/me", headers=auth(visitor)).json
    assert me == {"userId": visitor["sub"], "liked": ["m-0", "m-2"], "adopted": ["m-1"]}
    assert client.get("/me", headers=auth(other_visitor)).json["adopted"] == []


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/mysfits/m-0/like"), ("delete", "/mysfits/m-0/like"), ("post", "/mysfits/m-0/adopt"), ("get", "/me")],
)
def test_every_write_route_needs_a_token(client, mysfits, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 401
    assert response.json["error"] == {
        "code": "Unauthorized",
        "message": "An ID token is required in the Authorization header.",
    }
    assert Mysfit.get("m-0").likes == 0


def test_identity_header_must_match_the_token(client, mysfits, visitor, other_visitor):
    headers = {**auth(visitor), "X-Mysfits-Visitor": other_visitor["sub"]}
    response = client.post(f"/mysfits/{mysfits[0]}/like", headers=headers)
    assert response.status_code == 401
    assert Mysfit.get("m-0").likes == 0
    matching = {**auth(visitor), "X-Mysfits-Visitor": visitor["sub"]}
    assert client.post(f"/mysfits/{mysfits[0]}/like", headers=matching).status_code == 200


def test_an_identity_header_alone_is_not_trusted(client, mysfits, visitor):
    response = client.post(f"/mysfits/{mysfits[0]}/like", headers={"X-Mysfits-Visitor": visitor["sub"]})
    assert response.status_code == 401


def test_overlong_id_is_400(client, visitor):
    assert client.post("/mysfits/" + "x" * 65 + "/like", headers=auth(visitor)).status_code == 400


@pytest.mark.parametrize("mysfit_id", ["..", "x?a=b", "abc\n"])
def test_an_id_no_mysfit_can_have_is_404_and_writes_nothing(client, visitor, mysfit_id):
    response = client.post("/mysfits/" + quote(mysfit_id, safe="") + "/like", headers=auth(visitor))
    assert response.status_code == 404
    assert response.json["error"]["code"] == "NotFound"


def test_table_unreachable_is_503_and_nothing_is_written(adoption_settings, mysfits, visitor):
    down = create_app(adoption_settings(AWS_ENDPOINT_URL="http://127.0.0.1:9")).test_client()
    for method, action in (("post", "like"), ("delete", "like"), ("post", "adopt")):
        response = getattr(down, method)(f"/mysfits/m-0/{action}", headers=auth(visitor))
        assert response.status_code == 503, action
        assert response.json["error"]["code"] == "ServiceUnavailable"
    assert down.get("/me", headers=auth(visitor)).status_code == 503


def test_keys_unreachable_is_503(adoption_settings, mysfits, visitor):
    blind = create_app(adoption_settings(COGNITO_JWKS_URL="http://127.0.0.1:9/jwks.json")).test_client()
    response = blind.post("/mysfits/m-0/like", headers=auth(visitor))
    assert response.status_code == 503
    assert response.json["error"]["code"] == "ServiceUnavailable"
    assert Mysfit.get("m-0").likes == 0


def test_configuration_is_checked_at_start(monkeypatch):
    monkeypatch.setenv("MYSFITS_TABLE_NAME", "MysfitsTable")
    monkeypatch.delenv("COGNITO_USER_POOL_ID", raising=False)
    with pytest.raises(Exception, match="COGNITO_USER_POOL_ID is required"):
        create_app()
