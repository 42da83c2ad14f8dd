"""Load mysfits into MysfitsTable (created by the data stack, cfn/data.yaml), idempotently.

    python -m catalog.seed                       # the bundled catalog
    python -m catalog.seed --file items.json     # also a workshop batch-write-item file

Catalog attributes (name, description, images, ...) are written on every run; a mysfit's
likes and adoption state are only initialised when it is new, so re-seeding a live table
changes nothing a visitor did.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from decimal import Decimal
from importlib import resources
from pathlib import Path

from boto3.dynamodb.types import TypeDeserializer
from pynamodb.exceptions import PynamoDBConnectionError

from mysfits_shared import models
from mysfits_shared.models import Mysfit
from mysfits_shared.schemas import MysfitSchema
from mysfits_shared.settings import ConfigError, Settings

_SCHEMA = MysfitSchema()
# The public fields a seed record gives (the schema's loadable ones: likes and adoption are the
# visitors'), each with its model attribute; records name them as the table does.
_FIELDS = {name: Mysfit.get_attributes()[field.attribute or name] for name, field in _SCHEMA.load_fields.items()}
REQUIRED = tuple(attribute.attr_name for attribute in _FIELDS.values())
# Table attribute -> model attribute, for the attributes the catalog owns (all but the key).
CATALOG_ATTRIBUTES = {a.attr_name: a for a in _FIELDS.values() if not a.is_hash_key}


class SeedError(ValueError):
    """A seed file is not in a format this command understands."""


def bundled_records() -> list[dict]:
    """The project's own catalog, shipped inside the package."""
    text = resources.files("catalog").joinpath("data/mysfits.json").read_text(encoding="utf-8")
    return json.loads(text)


def read_file(path: Path) -> list[dict]:
    """Records from a plain JSON list or from a `batch-write-item --request-items` file."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        return list(_from_request_items(data, path))
    raise SeedError(f"{path}: expected a JSON list of mysfits or batch-write-item request items")


def _from_request_items(data: dict, path: Path) -> Iterable[dict]:
    deserializer = TypeDeserializer()
    for table, requests in data.items():
        if not isinstance(requests, list):
            raise SeedError(f"{path}: {table!r} must map to a list of write requests")
        for request in requests:
            item = (request or {}).get("PutRequest", {}).get("Item")
            if not isinstance(item, dict):
                raise SeedError(f"{path}: every request must be a PutRequest with an Item")
            yield {name: deserializer.deserialize(value) for name, value in item.items()}


def upsert(record: dict) -> None:
    """Write one mysfit's catalog attributes, keeping its likes and adoption if it exists."""
    missing = [name for name in REQUIRED if record.get(name) in (None, "")]
    if missing:
        raise SeedError(f"mysfit {record.get('Name') or record.get('MysfitId')!r} is missing {', '.join(missing)}")
    problems = _SCHEMA.validate({name: _plain(record[a.attr_name]) for name, a in _FIELDS.items()})
    if problems:
        details = "; ".join(f"{_FIELDS[name].attr_name}: {' '.join(text)}" for name, text in problems.items())
        raise SeedError(f"mysfit {record['Name']!r} does not fit the API: {details}")
    actions = [attr.set(_plain(record[name])) for name, attr in CATALOG_ATTRIBUTES.items()]
    actions += [Mysfit.likes.set(Mysfit.likes | 0), Mysfit.adopted.set(Mysfit.adopted | False)]
    Mysfit(record["MysfitId"]).update(actions=actions)


def _plain(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def seed(records: Iterable[dict]) -> int:
    count = 0
    for record in records:
        upsert(record)
        count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m catalog.seed", description=__doc__.split("\n")[0])
    parser.add_argument("--file", type=Path, action="append", default=[], help="also load this file (repeatable)")
    parser.add_argument("--no-bundled", action="store_true", help="skip the bundled catalog")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env("mysfits-catalog-seed")
        models.configure(settings, uses=(Mysfit,))
        total = 0 if args.no_bundled else seed(bundled_records())
        for path in args.file:
            total += seed(read_file(path))
    except (ConfigError, SeedError, OSError, json.JSONDecodeError) as error:
        print(f"seed failed: {error}", file=sys.stderr)
        return 2
    except PynamoDBConnectionError as error:
        print(f"seed failed: cannot reach the table {settings.table_name}: {error.cause or error}", file=sys.stderr)
        return 2
    print(f"seeded {total} mysfits into {settings.table_name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
