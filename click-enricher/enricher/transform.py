"""From a Firehose transformation event to its response: one result per record, never an exception.

A record's data is one click, `{"mysfitId": "...", "userId": "..."}` (userId optional). Its result:

- `Ok`: one newline-terminated JSON line with the mysfit's catalog facts and `clickedAt`;
- `Dropped`: the catalog says the mysfit does not exist (404); data is the original data;
- `ProcessingFailed`: the data is not such a click, or the catalog gave no answer; original data.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aws_lambda_powertools.utilities.data_classes import KinesisFirehoseEvent
from aws_lambda_powertools.utilities.data_classes.kinesis_firehose_event import (
    KinesisFirehoseDataTransformationResponse,
)

from mysfits_shared import ids

from .catalog import Catalog, CatalogUnavailable

OK, DROPPED, FAILED = "Ok", "Dropped", "ProcessingFailed"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class InvalidClick(ValueError):
    """A record's data is not a click this function understands."""


@dataclass
class Counts:
    """What happened to a batch, for the summary log line."""

    records: int = 0
    ok: int = 0
    dropped: int = 0
    failed: int = 0
    invalid: int = 0  # of `failed`: the data itself was bad (the rest failed on the catalog)
    distinct_mysfits: int = 0
    problems: list[str] = field(default_factory=list)  # up to three examples of why records failed


def parse_click(data: bytes) -> tuple[str, str | None]:
    """The click's mysfitId and userId (None when absent), or InvalidClick."""
    try:
        click = json.loads(data)
    except ValueError as error:  # also bad UTF-8
        raise InvalidClick(f"not JSON: {error}") from None
    if not isinstance(click, dict):
        raise InvalidClick(f"not a JSON object but {type(click).__name__}")
    mysfit_id = click.get("mysfitId")
    if not ids.is_mysfit_id(mysfit_id):
        raise InvalidClick(f"mysfitId must be 1-{ids.MAX_LENGTH} of {ids.CHARACTERS}, got {mysfit_id!r:.80}")
    user_id = click.get("userId")
    if user_id is not None and not isinstance(user_id, str):
        raise InvalidClick(f"userId must be a string or absent, got {type(user_id).__name__}")
    return mysfit_id, user_id


def clicked_at(epoch_millis: int) -> str:
    """ISO-8601 UTC with milliseconds and Z, e.g. 2024-05-01T12:00:00.123Z."""
    if not isinstance(epoch_millis, int) or isinstance(epoch_millis, bool):
        raise InvalidClick(f"approximateArrivalTimestamp must be epoch milliseconds, got {epoch_millis!r}")
    moment = EPOCH + timedelta(milliseconds=epoch_millis)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def enriched_line(mysfit_id: str, user_id: str | None, facts: dict, at: str) -> bytes:
    """The output record: one newline-terminated JSON line."""
    line = {"userId": user_id, "mysfitId": mysfit_id, **facts, "clickedAt": at}
    return json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def transform(event: KinesisFirehoseEvent, catalog: Catalog) -> tuple[dict, Counts]:
    """The transformation response for `event` (asking `catalog` once per distinct mysfit) and its counts."""
    counts = Counts()
    records, clicks = [], []  # clicks: (mysfitId, userId, clickedAt) or the InvalidClick
    for record in event.records:
        records.append(record)
        clicks.append(_click(record))
    counts.records = len(records)
    if not records:  # Firehose never sends an empty batch; the Powertools response rejects one
        return {"records": []}, counts

    answers = catalog.lookup(click[0] for click in clicks if isinstance(click, tuple))
    counts.distinct_mysfits = len(answers)
    response = KinesisFirehoseDataTransformationResponse()
    for record, click in zip(records, clicks, strict=True):
        result, data, problem = _result(click, answers)
        if result == OK:
            counts.ok += 1
        elif result == DROPPED:
            counts.dropped += 1
        else:
            counts.failed += 1
            counts.invalid += isinstance(click, InvalidClick)
            if len(counts.problems) < 3 and problem not in counts.problems:
                counts.problems.append(problem)
        data = data if data is not None else record.get("data") or ""  # the original data, as received
        response.add_record(record.build_data_transformation_response(result=result, data=data))
    return response.asdict(), counts


def _click(record) -> tuple[str, str | None, str] | InvalidClick:
    """(mysfitId, userId, clickedAt) of a Firehose record, or why it is not a click."""
    try:
        mysfit_id, user_id = parse_click(record.data_as_bytes)
        return mysfit_id, user_id, clicked_at(record.approximate_arrival_timestamp)
    except InvalidClick as error:
        return error
    except (ValueError, TypeError, KeyError) as error:  # bad base64, no data or no timestamp
        return InvalidClick(f"{type(error).__name__}: {error}")


def _result(click, answers: dict) -> tuple[str, str | None, str | None]:
    """(result, new base64 data or None to keep the original, problem)."""
    if isinstance(click, InvalidClick):
        return FAILED, None, str(click)
    mysfit_id, user_id, at = click
    facts = answers[mysfit_id]
    if isinstance(facts, CatalogUnavailable):
        return FAILED, None, str(facts)
    if facts is None:
        return DROPPED, None, None
    return OK, base64.b64encode(enriched_line(mysfit_id, user_id, facts, at)).decode("ascii"), None
