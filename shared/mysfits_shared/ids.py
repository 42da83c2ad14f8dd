"""The mysfit id rule, stated once: 1 to 64 of `A-Z a-z 0-9 _ -`, matched whole.

The services, the enricher and the API definitions' `mysfitId` schemas all follow it (a test
compares the definitions with it). It needs nothing beyond the standard library, so the
enricher's Lambda zip can use it.
"""

from __future__ import annotations

import re

MAX_LENGTH = 64
CHARACTERS = "A-Za-z0-9_-"
# As the API definitions state it: JSON Schema patterns are ECMA-262, where `$` matches only at
# the very end (Python's `$` also matches before a final newline, so Python code uses `fullmatch`).
PATTERN = f"^[{CHARACTERS}]+$"
_ID = re.compile(f"[{CHARACTERS}]{{1,{MAX_LENGTH}}}")


def is_mysfit_id(value: object) -> bool:
    """True only for a string the rule allows, whole (no trailing newline slips through)."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None
