"""The seed command: the bundled catalog and workshop batch-write-item files, idempotently."""

import json
from pathlib import Path

import pytest

from catalog import seed
from mysfits_shared.models import Mysfit

HERE = Path(__file__).resolve().parent
WEB = HERE.parents[1] / "web"
WORKSHOP_FILE = HERE / "data/workshop-batch-write.json"
# A record with every field, one of them outside the API's values.
_WICKED = dict.fromkeys(seed.REQUIRED, "x") | {"Name": "Wicked", "Age": 3, "GoodEvil": "Wicked", "LawChaos": "Lawful"}


def test_bundled_catalog_covers_every_alignment_and_many_species():
    records = seed.bundled_records()
    assert len(records) == 12
    assert len({r["MysfitId"] for r in records}) == len(records)
    assert len({r["Name"] for r in records}) == len(records)
    assert {r["GoodEvil"] for r in records} == {"Good", "Neutral", "Evil"}
    assert {r["LawChaos"] for r in records} == {"Lawful", "Neutral", "Chaotic"}
    assert len({r["Species"] for r in records}) == 9


def test_every_mysfit_has_its_own_image_served_by_the_site():
    records = seed.bundled_records() + seed.read_file(WORKSHOP_FILE)
    images = [r["ThumbImageUri"] for r in records]
    assert len(set(images)) == len(records)
    for record in records:
        for key in ("ThumbImageUri", "ProfileImageUri"):
            path = WEB / record[key]
            assert path.is_file(), path
            assert "<svg" in path.read_text()
            assert "<title" in path.read_text()


def test_seeding_twice_changes_nothing_and_keeps_what_visitors_did(table):
    records = seed.bundled_records()
    assert seed.seed(records) == len(records)
    first = records[0]["MysfitId"]
    Mysfit(first).update(actions=[Mysfit.likes.set(7), Mysfit.adopted.set(True)])

    seed.seed(records)
    assert Mysfit.count() == len(records)
    kept = Mysfit.get(first)
    assert (kept.likes, kept.adopted) == (7, True)
    other = Mysfit.get(records[1]["MysfitId"])
    assert (other.likes, other.adopted) == (0, False)
    assert other.name == records[1]["Name"]
    assert other.age == records[1]["Age"]


def test_reseeding_updates_catalog_text(table):
    records = seed.bundled_records()
    seed.seed(records)
    changed = dict(records[0], Description="A new description.")
    seed.seed([changed])
    assert Mysfit.get(changed["MysfitId"]).description == "A new description."


def test_loads_a_workshop_batch_write_item_file(table):
    records = seed.read_file(WORKSHOP_FILE)
    raw = json.loads(WORKSHOP_FILE.read_text())
    assert len(records) == len(next(iter(raw.values())))
    seed.seed(records)
    for request in next(iter(raw.values())):
        item = request["PutRequest"]["Item"]
        stored = Mysfit.get(item["MysfitId"]["S"])
        assert stored.name == item["Name"]["S"]
        assert stored.age == int(item["Age"]["N"])
        assert stored.good_evil == item["GoodEvil"]["S"]


def test_command_seeds_the_bundled_catalog_and_a_workshop_file(moto_url, monkeypatch, capsys, table):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("MYSFITS_TABLE_NAME", "MysfitsTable")
    assert seed.main(["--file", str(WORKSHOP_FILE)]) == 0
    out = capsys.readouterr().out
    total = len(seed.bundled_records()) + len(seed.read_file(WORKSHOP_FILE))
    assert f"seeded {total} mysfits into MysfitsTable" in out
    assert Mysfit.count() == total


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"MysfitsTable": [{"DeleteRequest": {}}]}', "every request must be a PutRequest with an Item"),
        ('[{"MysfitId": "x", "Name": "Nameless"}]', "mysfit 'Nameless' is missing Species"),
        (
            json.dumps([{**_WICKED, "MysfitId": "x/y"}]),
            "mysfit 'Wicked' does not fit the API: MysfitId: Not a mysfit id: 1 to 64 of A-Za-z0-9_-.;"
            " GoodEvil: Must be one of: Good, Neutral, Evil.",
        ),
        ("not json", "Expecting value"),
    ],
)
def test_command_rejects_bad_files_clearly(moto_url, monkeypatch, capsys, tmp_path, table, content, message):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("MYSFITS_TABLE_NAME", "MysfitsTable")
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    assert seed.main(["--no-bundled", "--file", str(bad)]) == 2
    assert message in capsys.readouterr().err


def test_command_without_configuration_says_what_is_missing(monkeypatch, capsys):
    monkeypatch.delenv("MYSFITS_TABLE_NAME", raising=False)
    assert seed.main([]) == 2
    assert "MYSFITS_TABLE_NAME is required" in capsys.readouterr().err


def test_command_with_the_table_unreachable_fails_clearly(monkeypatch, capsys):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("MYSFITS_TABLE_NAME", "MysfitsTable")
    monkeypatch.setenv("DYNAMODB_MAX_RETRIES", "0")
    assert seed.main([]) == 2
    assert "cannot reach the table" in capsys.readouterr().err
