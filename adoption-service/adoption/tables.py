"""Create the table the adoption service owns (MysfitLikesTable) if it is missing.

    python -m adoption.tables

On one machine the stack runs this; on AWS the data stack creates the table.
"""

from __future__ import annotations

import sys

from pynamodb.exceptions import PynamoDBConnectionError

from mysfits_shared import models
from mysfits_shared.settings import ConfigError, Settings


def main() -> int:
    try:
        settings = Settings.from_env("mysfits-adoption-tables", writer=True)
        models.configure(settings)
        created = models.create_tables([models.MysfitLike])
    except ConfigError as error:
        print(f"tables: {error}", file=sys.stderr)
        return 2
    except PynamoDBConnectionError as error:
        print(f"tables: cannot reach DynamoDB: {error.cause or error}", file=sys.stderr)
        return 2
    print(f"created {', '.join(created)}" if created else "tables already exist")
    return 0


if __name__ == "__main__":
    sys.exit(main())
