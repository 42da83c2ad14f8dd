"""Mysfits built for a test: valid, numbered, their alignments and species varying with the number."""

from __future__ import annotations

from mysfits_shared.models import Mysfit

ALIGNMENTS = [("Good", "Lawful"), ("Evil", "Chaotic"), ("Neutral", "Neutral"), ("Evil", "Lawful")]


def build_mysfit(index: int, mysfit_id: str | None = None, **overrides) -> Mysfit:
    """Mysfit number `index` (id `id-0007` unless given, name `Mysfit 0007`), not saved; `overrides` by attribute."""
    good_evil, law_chaos = ALIGNMENTS[index % len(ALIGNMENTS)]
    values = dict(
        name=f"Mysfit {index:04d}",
        species=["Imp", "Wyrm", "Kraken"][index % 3],
        description=f"Number {index}.",
        age=index % 40 + 1,
        good_evil=good_evil,
        law_chaos=law_chaos,
        thumb_image_uri=f"images/m{index}.svg",
        profile_image_uri=f"images/m{index}.svg",
    )
    values.update(overrides)
    return Mysfit(mysfit_id or f"id-{index:04d}", **values)


def put_mysfits(count: int, **overrides) -> list[Mysfit]:
    """Mysfits 0 to `count` - 1, saved in one batch."""
    mysfits = [build_mysfit(i, **overrides) for i in range(count)]
    with Mysfit.batch_write() as batch:
        for mysfit in mysfits:
            batch.save(mysfit)
    return mysfits
