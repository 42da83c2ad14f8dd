"""Create a virtual environment if needed and install pinned requirements into it, saying what it
is doing and for how long: the first `make up` or `make test` on a machine installs for a minute
or two, and must not look hung. Later runs do not call it (the Makefile's stamp is up to date).

    python3 scripts/install_env.py VENV -- PIP_INSTALL_ARGUMENTS...
"""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
import time
from pathlib import Path

HEARTBEAT_SECONDS = 15  # how often a long install says it is still going


def _pins(arguments: list[str]) -> int:
    """How many exact pins the requirement (-r) and constraint (-c) files name."""
    files = [Path(value) for flag, value in itertools.pairwise(arguments) if flag in ("-r", "-c")]
    pins = set()
    for path in files:
        for line in path.read_text().splitlines():
            found = re.match(r"([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==", line.strip())
            if found:
                pins.add(found.group(1).lower().replace("_", "-"))
    return len(pins)


def main(argv: list[str]) -> int:
    venv, separator, pip_arguments = argv[0], argv[1:2], argv[2:]
    if separator != ["--"] or not pip_arguments:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    started = time.monotonic()
    python = Path(venv) / "bin" / "python"
    if not python.exists():
        print(f"creating the Python environment in {venv}/ ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        print(f"  {venv}/: created ({time.monotonic() - started:.0f}s)", flush=True)
    count = _pins(pip_arguments)
    packages = f"{count} pinned package{'' if count == 1 else 's'}"
    print(f"installing {packages} into {venv}/ (the first time takes a minute or two) ...", flush=True)
    command = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *pip_arguments]
    process = subprocess.Popen(command)
    while True:
        try:
            code = process.wait(HEARTBEAT_SECONDS)
            break
        except subprocess.TimeoutExpired:
            print(f"  {venv}/: still installing ({time.monotonic() - started:.0f}s)", flush=True)
    if code != 0:
        print(f"installing into {venv}/ failed (pip exit code {code}): see pip's messages above", file=sys.stderr)
        return code
    print(f"  {venv}/: installed ({time.monotonic() - started:.0f}s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
