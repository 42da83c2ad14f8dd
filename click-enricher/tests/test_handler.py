"""The handler end to end: stored Firehose events in, against a fake catalog (a client, or over HTTP)."""

from __future__ import annotations

import base64
import copy
import json
import logging
import time
from datetime import UTC, datetime

import pytest

from enricher.catalog import MAX_WORKERS
from enricher.config import ConfigError
from enricher.transform import clicked_at
from mysfits_testkit.invocation import decoded, firehose_event, stored_event

UNKNOWN = "00000000-0000-4000-8000-000000000000"
# mixed-batch.json, record by record
MIXED_RESULTS = [
    "Ok",  # Bramblewick, with userId
    "Ok",  # Captain Drizzle, no userId, no trailing newline
    "Ok",  # Bramblewick again, another visitor
    "Dropped",  # a mysfit the catalog does not know
    "ProcessingFailed",  # truncated JSON
    "ProcessingFailed",  # no mysfitId
    "ProcessingFailed",  # a JSON array, not an object
    "ProcessingFailed",  # mysfitId is a number
]
OUTPUT_KEYS = ["userId", "mysfitId", "name", "species", "goodevil", "lawchaos", "clickedAt"]


def expected_line(record: dict, seed_mysfits: dict) -> dict:
    """What an Ok record must say, computed from the seed file rather than from the catalog."""
    click = json.loads(decoded(record))
    mysfit = seed_mysfits[click["mysfitId"]]
    arrival = datetime.fromtimestamp(record["approximateArrivalTimestamp"] / 1000, UTC)
    return {
        "userId": click.get("userId"),
        "mysfitId": click["mysfitId"],
        "name": mysfit["Name"],
        "species": mysfit["Species"],
        "goodevil": mysfit["GoodEvil"],
        "lawchaos": mysfit["LawChaos"],
        "clickedAt": arrival.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }


def results(response: dict) -> list[str]:
    return [record["result"] for record in response["records"]]


def assert_answers_every_record_once(event: dict, response: dict) -> None:
    assert [r["recordId"] for r in response["records"]] == [r["recordId"] for r in event["records"]]
    assert len({r["recordId"] for r in response["records"]}) == len(event["records"])
    for record in response["records"]:
        assert set(record) == {"recordId", "result", "data"}
        base64.b64decode(record["data"], validate=True)  # the data is strict base64


def clicks_on(mysfit_ids: list[str], count: int) -> dict:
    return firehose_event([{"mysfitId": mysfit_ids[i % len(mysfit_ids)], "userId": f"user-{i}"} for i in range(count)])


def test_mixed_batch_answers_each_record_once_with_its_result(enricher):
    event = stored_event("mixed-batch")
    response = enricher.invoke(event)
    assert_answers_every_record_once(event, response)
    assert results(response) == MIXED_RESULTS
    assert enricher.calls == 3  # Bramblewick, Captain Drizzle and the unknown id, once each


def test_ok_records_are_exactly_the_seeded_catalog_facts(enricher, seed_mysfits):
    event = stored_event("mixed-batch")
    response = enricher.invoke(event)
    oks = [(i, r) for i, r in enumerate(response["records"]) if r["result"] == "Ok"]
    assert len(oks) == 3
    for index, record in oks:
        line = decoded(record)
        assert line.endswith(b"\n")
        assert line.count(b"\n") == 1  # one newline-terminated JSON line
        enriched = json.loads(line)
        assert enriched == expected_line(event["records"][index], seed_mysfits)
        assert list(enriched) == OUTPUT_KEYS
    assert json.loads(decoded(oks[1][1]))["userId"] is None  # absent userId becomes null
    assert json.loads(decoded(oks[0][1]))["clickedAt"] == "2024-05-01T12:00:00.123Z"


def test_dropped_and_failed_records_keep_the_original_data(enricher):
    event = stored_event("mixed-batch")
    response = enricher.invoke(event)
    for original, answered in zip(event["records"], response["records"], strict=True):
        if answered["result"] != "Ok":
            assert answered["data"] == original["data"]


@pytest.mark.parametrize(
    "change",
    [
        {"data": base64.b64encode(b"not json").decode()},
        {"data": base64.b64encode(b"null\n").decode()},
        {"data": base64.b64encode(b"\xff\xfe{}").decode()},  # not UTF-8
        {"data": base64.b64encode(b'{"mysfitId": ""}').decode()},
        {"data": base64.b64encode(json.dumps({"mysfitId": "x" * 65}).encode()).decode()},
        {"data": base64.b64encode(b'{"mysfitId": "a", "userId": 7}').decode()},
        {"data": base64.b64encode(b'{"mysfitId": "a"}\n{"mysfitId": "b"}\n').decode()},  # two clicks in one record
        {"data": "%%% not base64"},
        {"approximateArrivalTimestamp": "yesterday"},
    ],
)
def test_records_that_are_not_clicks_fail_without_asking_the_catalog(enricher, change):
    event = stored_event("single-click")
    event["records"][0].update(change)
    response = enricher.invoke(event)
    assert results(response) == ["ProcessingFailed"]
    assert response["records"][0]["data"] == event["records"][0]["data"]
    assert enricher.calls == 0


def test_a_bad_record_never_fails_the_batch(enricher):
    event = stored_event("single-click")
    broken = copy.deepcopy(event["records"][0])
    broken.update(recordId="broken", data="%%%")
    del broken["approximateArrivalTimestamp"]
    event["records"].insert(0, broken)
    assert results(enricher.invoke(event)) == ["ProcessingFailed", "Ok"]


def test_clicked_at_is_the_arrival_time_in_utc_with_milliseconds():
    assert clicked_at(0) == "1970-01-01T00:00:00.000Z"
    assert clicked_at(1714564800123) == "2024-05-01T12:00:00.123Z"
    assert clicked_at(1714564800999) == "2024-05-01T12:00:00.999Z"
    assert clicked_at(1735689599001) == "2024-12-31T23:59:59.001Z"


def test_one_catalog_call_per_distinct_mysfit_cold_and_none_warm(enricher, seed_mysfits):
    event = clicks_on(list(seed_mysfits), 500)
    cold = enricher.invoke(event)
    assert results(cold) == ["Ok"] * 500
    assert enricher.calls == 12
    warm = enricher.invoke(clicks_on(list(seed_mysfits), 500))
    assert results(warm) == ["Ok"] * 500
    assert enricher.calls == 12  # no call at all
    assert_answers_every_record_once(event, cold)


def test_a_warm_batch_of_500_runs_well_over_5000_records_per_second(enricher, seed_mysfits):
    event = clicks_on(list(seed_mysfits), 500)
    enricher.invoke(event)  # cold: fills the cache
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        enricher.invoke(event)
        best = min(best, time.perf_counter() - started)
    rate = 500 / best
    assert enricher.calls == 12
    assert rate > 5000, f"{rate:.0f} records/s"


def test_unknown_mysfits_are_remembered_too(enricher):
    event = stored_event("mixed-batch")
    first = enricher.invoke(event)
    second = enricher.invoke(event)
    assert results(first) == results(second) == MIXED_RESULTS
    assert enricher.calls == 3


def test_cache_ttl_zero_asks_again_on_every_invocation(enricher, seed_mysfits):
    enricher.configure(CATALOG_CACHE_SECONDS="0")
    for _ in range(2):
        assert results(enricher.invoke(clicks_on(list(seed_mysfits), 500))) == ["Ok"] * 500
    assert enricher.calls == 24  # still once per mysfit per batch


@pytest.mark.parametrize("status", [503, 429])
def test_transient_errors_are_retried(http_enricher, catalog_api, status):
    catalog_api.switch.fail(status, times=2)
    response = http_enricher.invoke(stored_event("single-click"))
    assert results(response) == ["Ok"]
    assert http_enricher.calls == catalog_api.switch.requests == 3


def test_persistent_errors_fail_after_the_bounded_attempts_and_are_not_cached(http_enricher, catalog_api):
    http_enricher.configure(CATALOG_ATTEMPTS="2")
    catalog_api.switch.fail(500)
    event = stored_event("single-click")
    failed = http_enricher.invoke(event)
    assert results(failed) == ["ProcessingFailed"]
    assert failed["records"][0]["data"] == event["records"][0]["data"]
    assert http_enricher.calls == 2
    catalog_api.switch.heal()
    assert results(http_enricher.invoke(event)) == ["Ok"]  # the failure was not cached
    assert http_enricher.calls == 3


def test_a_non_retryable_answer_fails_the_record_without_retrying(http_enricher, catalog_api):
    catalog_api.switch.fail(403)
    assert results(http_enricher.invoke(stored_event("single-click"))) == ["ProcessingFailed"]
    assert http_enricher.calls == 1


def test_a_gateway_no_route_404_is_not_taken_for_an_unknown_mysfit(http_enricher, catalog_api):
    # A wrong CATALOG_API_URL: API Gateway answers 404 with x-amzn-ErrorType for every path.
    catalog_api.switch.fail(404, headers={"x-amzn-ErrorType": "MissingAuthenticationTokenException"})
    event = stored_event("single-click")
    failed = http_enricher.invoke(event)
    assert results(failed) == ["ProcessingFailed"]  # kept under processing-failed/, not dropped
    assert failed["records"][0]["data"] == event["records"][0]["data"]
    catalog_api.switch.heal()
    assert results(http_enricher.invoke(event)) == ["Ok"]  # and nothing was cached


def test_a_catalog_slower_than_the_timeout_fails_then_recovers(http_enricher, catalog_api):
    http_enricher.configure(CATALOG_TIMEOUT_SECONDS="0.2", CATALOG_ATTEMPTS="2")
    catalog_api.switch.stall(2)
    event = stored_event("single-click")
    started = time.perf_counter()
    assert results(http_enricher.invoke(event)) == ["ProcessingFailed"]
    assert time.perf_counter() - started < 1.5  # two timed-out attempts and a short backoff
    assert http_enricher.calls == 2
    catalog_api.switch.heal()
    assert results(http_enricher.invoke(event)) == ["Ok"]


def test_catalog_down_fails_records_with_their_data_and_poisons_nothing(http_enricher, catalog_api):
    event = stored_event("mixed-batch")
    assert results(http_enricher.invoke(stored_event("single-click"))) == ["Ok"]  # a warm keep-alive connection
    catalog_api.stop()
    down = http_enricher.invoke(event)
    assert_answers_every_record_once(event, down)
    assert results(down) == ["ProcessingFailed"] * len(MIXED_RESULTS)
    assert [r["data"] for r in down["records"]] == [r["data"] for r in event["records"]]
    assert http_enricher.calls <= 1 + 3 * 3  # 3 distinct ids, at most 3 attempts each

    catalog_api.start()  # back, on the same port
    assert results(http_enricher.invoke(event)) == MIXED_RESULTS


def test_once_the_catalog_is_down_the_rest_of_the_batch_is_not_asked(http_enricher, catalog_api):
    catalog_api.stop()
    event = firehose_event([{"mysfitId": f"unknown-{i}"} for i in range(60)])
    assert results(http_enricher.invoke(event)) == ["ProcessingFailed"] * 60
    assert http_enricher.calls <= MAX_WORKERS * 3  # not 60 ids x 3 attempts


def test_one_summary_line_per_batch(enricher, caplog):
    with caplog.at_level(logging.INFO, logger="click-enricher"):
        enricher.invoke(stored_event("mixed-batch"))
        enricher.invoke(stored_event("mixed-batch"))
    summaries = [r for r in caplog.records if r.getMessage() == "batch transformed"]
    assert len(summaries) == 2
    cold, warm = summaries
    assert (cold.records, cold.ok, cold.dropped, cold.failed, cold.invalid) == (8, 3, 1, 4, 4)
    assert (cold.catalog_calls, warm.catalog_calls, cold.distinct_mysfits) == (3, 0, 3)
    assert cold.levelno == logging.WARNING  # some records failed
    assert cold.invocation_id == "5d1c7e2a-9b3f-4c8d-a1e6-0f2b4d6c8e01"


def test_an_empty_batch_gets_an_empty_answer(enricher):
    assert enricher.invoke(firehose_event([])) == {"records": []}
    assert enricher.calls == 0


def test_a_missing_catalog_url_fails_the_invocation_clearly(enricher, monkeypatch):
    monkeypatch.delenv("CATALOG_API_URL")
    enricher.configure()
    with pytest.raises(ConfigError, match="CATALOG_API_URL is required"):
        enricher.invoke(stored_event("single-click"))
