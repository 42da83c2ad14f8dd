"""The site as it is published: the files of web/, with the scripts and styles minified.

The deploy tool uploads these bytes to the site bucket, and the one-machine site server serves
the same bytes, so a visitor downloads the same thing from either. The sources in web/ stay
readable; only what is published is minified (comments and layout dropped, names kept).
"""

from __future__ import annotations

from pathlib import Path

import rcssmin
import rjsmin

MINIFIERS = {".js": rjsmin.jsmin, ".css": rcssmin.cssmin}


def published(path: Path) -> bytes:
    """What the bucket holds for `path`, a file of web/."""
    minify = MINIFIERS.get(path.suffix)
    data = path.read_bytes()
    return minify(data.decode("utf-8")).encode("utf-8") if minify else data
