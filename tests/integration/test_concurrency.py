"""Many visitors at once, through the gateway on the real stack: counts and adoption stay exact."""

import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
import requests

pytestmark = pytest.mark.integration


def _all_at_once(calls):
    """Run every call in its own thread, released together by a barrier; their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def _register(pool, count):
    with ThreadPoolExecutor(max_workers=8) as executor:
        return list(executor.map(lambda _: pool.sign_in(), range(count)))


def _session():
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=1))
    return session


@pytest.fixture
def target(stack):
    """A mysfit of this test's own: the counts below start from nothing."""
    with stack.own_mysfit("concurrency") as mysfit_id:
        yield mysfit_id


def _likes(stack, mysfit_id):
    return requests.get(f"{stack.api_url}/mysfits/{mysfit_id}", timeout=10).json()["likes"]


def test_200_visitors_like_one_mysfit_at_once(stack, stack_pool, target):
    visitors = _register(stack_pool, 200)
    url = f"{stack.api_url}/mysfits/{target}/like"
    calls = [lambda v=v: _session().post(url, headers={"Authorization": v["id"]}, timeout=60) for v in visitors]
    responses = _all_at_once(calls)
    assert [r.status_code for r in responses] == [200] * 200
    assert _likes(stack, target) == 200
    assert max(r.json()["likes"] for r in responses) == 200


def test_one_visitor_likes_20_times_at_once(stack, stack_pool, target):
    visitor = stack_pool.sign_in()
    url = f"{stack.api_url}/mysfits/{target}/like"
    calls = [lambda: _session().post(url, headers={"Authorization": visitor["id"]}, timeout=60)] * 20
    responses = _all_at_once(calls)
    assert {r.status_code for r in responses} == {200}
    assert all(r.json()["liked"] for r in responses)
    assert _likes(stack, target) == 1


def test_50_visitors_adopt_one_mysfit_at_once(stack, stack_pool, target):
    visitors = _register(stack_pool, 50)
    url = f"{stack.api_url}/mysfits/{target}/adopt"
    calls = [lambda v=v: _session().post(url, headers={"Authorization": v["id"]}, timeout=60) for v in visitors]
    responses = _all_at_once(calls)
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 1
    assert statuses.count(409) == 49
    winner = visitors[statuses.index(200)]
    assert responses[statuses.index(200)].json()["adoptedByYou"] is True

    dynamodb = boto3.resource("dynamodb", endpoint_url=stack.aws_url, region_name="us-east-1")
    table = dynamodb.Table(stack.outputs["data"]["MysfitsTableName"])
    item = table.get_item(Key={"MysfitId": target}, ConsistentRead=True)["Item"]
    assert item["Adopted"] is True
    assert item["AdoptedBy"] == winner["sub"]
    me = requests.get(f"{stack.api_url}/me", headers={"Authorization": winner["id"]}, timeout=10).json()
    assert me["adopted"] == [target]
