"""The embedded AWS: moto in server mode, without a log line per request.

python -m mysfits_local.aws -H 127.0.0.1 -p 4566
"""

import logging

from moto.server import main

if __name__ == "__main__":
    # One INFO line per AWS call costs moto measurable CPU under load; errors still show.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    main()
