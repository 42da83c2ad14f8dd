"""The `podman build --volume` options that give `pip` inside the image builds this machine's
package index: the Dockerfiles run plain `pip install`, which reads /etc/pip.conf.

    python3 scripts/containers/pip_volumes.py OUT_DIR    # prints one --volume=... per line

Writes OUT_DIR/pip.conf with pip's effective settings here (its configuration files and PIP_*
variables, as `pip config list` shows them; the variables win, as in pip), mounted read-only at
/etc/pip.conf during the build, and mounts every local path those settings name (file:// index
URLs, find-links directories, the CA bundle, constraint files) read-only at the same path. The
mounts exist only while a RUN step runs: nothing of them stays in the images.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse


def settings(python: str) -> dict[str, dict[str, str]]:
    """{section: {key: value}} from `pip config list`; `:env:.key` (PIP_KEY) goes to [global]."""
    listed = subprocess.run(
        [python, "-m", "pip", "config", "list"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    sections: dict[str, dict[str, str]] = {}
    from_environment = {}
    for line in listed:
        name, sep, value = line.partition("=")
        if not sep:
            continue
        section, _, key = name.rpartition(".")
        value = value.strip().strip("'\"")
        if section == ":env:":
            from_environment[key] = value
        else:
            sections.setdefault(section, {})[key] = value
    sections.setdefault("global", {}).update(from_environment)
    return sections


def local_paths(value: str) -> list[Path]:
    """Absolute local paths a setting names (plain, or file:// URLs)."""
    paths = []
    for token in value.split():
        path = Path(unquote(urlparse(token).path)) if token.startswith("file:") else Path(token)
        if not path.is_absolute() or not path.exists():
            continue
        # A file index's pages link to files beside it (../../files/...): mount its parent.
        if path.name == "simple" and path.is_dir():
            path = path.parent
        paths.append(path)
    return paths


def main(out_dir: str) -> int:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sections = settings(sys.executable)
    lines = []
    mounts: dict[Path, None] = {}
    for section, values in sections.items():
        lines.append(f"[{section}]")
        for key, value in sorted(values.items()):
            lines.append(f"{key} = {value}")
            mounts.update(dict.fromkeys(local_paths(value)))
    conf = out / "pip.conf"
    conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"--volume={conf.resolve()}:/etc/pip.conf:ro")
    for path in mounts:
        print(f"--volume={path}:{path}:ro")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
