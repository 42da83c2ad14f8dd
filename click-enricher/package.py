"""Build the click-enricher's Lambda deployment zip (python3.11, x86_64).

    .venv/bin/python click-enricher/package.py                  # -> click-enricher/build/click-enricher.zip
    .venv/bin/python click-enricher/package.py --output PATH

Installs the pinned requirements.txt for the Lambda platform (manylinux2014_x86_64 wheels
only, whatever machine builds it) next to the `enricher` package and the project's shared
package (`mysfits_shared`, for its tracing set-up, id rule and settings readers; its own
dependencies are not needed), then zips the result with a fixed file order, timestamps and
permissions, without __pycache__ or console scripts, so the same inputs give the same zip. The
zip's root is what Lambda puts on sys.path.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements.txt"
PACKAGE = HERE / "enricher"
SHARED = HERE.parent / "shared" / "mysfits_shared"
DEFAULT_OUTPUT = HERE / "build" / "click-enricher.zip"
PLATFORM = ["--platform", "manylinux2014_x86_64", "--implementation", "cp", "--python-version", "3.11"]
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can hold: no build time leaks in
EXCLUDED_DIRS = {"__pycache__", "bin"}  # bytecode; pip's console scripts (machine-specific shebangs)


def install_dependencies(target: Path) -> None:
    """pip-install the pinned requirements for the Lambda platform into `target`."""
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input"]
    command += ["--no-compile", "--target", str(target), *PLATFORM, "--only-binary=:all:", "-r", str(REQUIREMENTS)]
    subprocess.run(command, check=True)


def included(path: Path, root: Path) -> bool:
    relative = path.relative_to(root)
    return path.is_file() and not EXCLUDED_DIRS.intersection(relative.parts[:-1]) and path.suffix != ".pyc"


def write_zip(root: Path, output: Path) -> int:
    """Zip every included file under `root` deterministically; the number of files written."""
    names = sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if included(path, root))
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in names:
            info = zipfile.ZipInfo(name, ZIP_TIMESTAMP)
            info.external_attr = 0o644 << 16  # readable by the Lambda runtime's user
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, (root / name).read_bytes(), compresslevel=9)
    return len(names)


def build(output: Path = DEFAULT_OUTPUT) -> Path:
    """Build the deployment zip at `output` and return its path."""
    with tempfile.TemporaryDirectory(prefix="click-enricher-") as staging:
        root = Path(staging)
        install_dependencies(root)
        for package in (PACKAGE, SHARED):
            shutil.copytree(package, root / package.name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        write_zip(root, output)
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help=f"zip to write (default {DEFAULT_OUTPUT})")
    args = parser.parse_args(argv)
    try:
        output = build(args.output.resolve())
    except subprocess.CalledProcessError as error:
        print(f"package failed: pip exited with {error.returncode}", file=sys.stderr)
        return 1
    size = output.stat().st_size
    print(f"{output} {size / 1_000_000:.1f} MB ({size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
