"""Likes and adoptions, exact under any concurrency.

A like is a record keyed by mysfit and visitor, written in one DynamoDB transaction with
the mysfit's counter: the record's `attribute_not_exists` condition makes a second like by
the same visitor change nothing, and the mysfit's `attribute_exists` condition makes a like
of an unknown mysfit write nothing. Adoption is one conditional update that succeeds once.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from mysfits_shared.errors import ApiError
from mysfits_shared.models import Mysfit, MysfitLike, transaction_connection

CONDITION_FAILED = "ConditionalCheckFailed"


def _not_found(mysfit_id: str) -> ApiError:
    return ApiError(404, "NotFound", f"No mysfit with id {mysfit_id!r}.")


def _unavailable() -> ApiError:
    return ApiError(503, "ServiceUnavailable", "Mysfits cannot be updated right now; please try again shortly.")


def _failed_conditions(error: TransactWriteError) -> list[bool]:
    """Which items' conditions failed; a failure that is not a cancellation is a 503."""
    reasons = error.cancellation_reasons
    if not reasons:
        raise _unavailable() from error
    if any(reason is not None and reason.code not in (CONDITION_FAILED, "None") for reason in reasons):
        # Conflicts with another transaction on the same items: the client may retry.
        raise ApiError(409, "TransactionConflict", "Another change to this mysfit was in progress; try again.")
    return [reason is not None and reason.code == CONDITION_FAILED for reason in reasons]


def _read(mysfit_id: str) -> Mysfit:
    try:
        return Mysfit.get(mysfit_id, consistent_read=True)
    except Mysfit.DoesNotExist:
        raise _not_found(mysfit_id) from None


def state(mysfit: Mysfit, visitor_id: str, liked: bool) -> dict:
    """The mysfit as the visitor now sees it."""
    return {
        "mysfitId": mysfit.mysfit_id,
        "likes": int(mysfit.likes),
        "liked": liked,
        "adopted": bool(mysfit.adopted),
        "adoptedByYou": mysfit.adopted_by == visitor_id,
    }


def like(mysfit_id: str, visitor_id: str) -> dict:
    record = MysfitLike(mysfit_id, visitor_id, liked_at=datetime.now(UTC))
    try:
        with TransactWrite(connection=transaction_connection()) as transaction:
            transaction.save(record, condition=MysfitLike.visitor_id.does_not_exist())
            transaction.update(Mysfit(mysfit_id), actions=[Mysfit.likes.add(1)], condition=Mysfit.mysfit_id.exists())
    except TransactWriteError as error:
        _already_liked, missing = _failed_conditions(error)
        if missing:
            raise _not_found(mysfit_id) from None
    return state(_read(mysfit_id), visitor_id, liked=True)


def unlike(mysfit_id: str, visitor_id: str) -> dict:
    try:
        with TransactWrite(connection=transaction_connection()) as transaction:
            transaction.delete(MysfitLike(mysfit_id, visitor_id), condition=MysfitLike.visitor_id.exists())
            transaction.update(Mysfit(mysfit_id), actions=[Mysfit.likes.add(-1)], condition=Mysfit.mysfit_id.exists())
    except TransactWriteError as error:
        _not_liked, missing = _failed_conditions(error)
        if missing:
            raise _not_found(mysfit_id) from None
    return state(_read(mysfit_id), visitor_id, liked=False)


def adopt(mysfit_id: str, visitor_id: str) -> dict:
    mysfit = Mysfit(mysfit_id)
    try:
        # The update returns the item as it now is, so no second read is needed.
        mysfit.update(
            actions=[
                Mysfit.adopted.set(True),
                Mysfit.adopted_by.set(visitor_id),
                Mysfit.adopted_at.set(datetime.now(UTC)),
            ],
            condition=Mysfit.mysfit_id.exists() & (Mysfit.adopted == False),  # noqa: E712 - a DynamoDB condition
        )
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        current = state(_read(mysfit_id), visitor_id, liked=_liked(mysfit_id, visitor_id))  # 404 when missing
        raise ApiError(409, "AlreadyAdopted", "This mysfit has already been adopted.", details=current) from None
    return state(mysfit, visitor_id, liked=_liked(mysfit_id, visitor_id))


def _liked(mysfit_id: str, visitor_id: str) -> bool:
    try:
        MysfitLike.get(mysfit_id, visitor_id, consistent_read=True, attributes_to_get=["MysfitId"])
    except MysfitLike.DoesNotExist:
        return False
    return True


def visitor_summary(visitor_id: str) -> dict:
    """What a visitor likes and has adopted, to show on the site after sign-in."""
    liked = sorted(like.mysfit_id for like in MysfitLike.visitor_index.query(visitor_id))
    adopted = sorted(m.mysfit_id for m in Mysfit.adopted_by_index.query(visitor_id))
    return {"userId": visitor_id, "liked": liked, "adopted": adopted}
