"""The first `make up` / `make test` says what it is installing and for how long."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts/install_env.py"


def _install(venv: Path, requirements: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(venv), "--", "-r", str(requirements)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip


def test_it_says_each_step_with_its_time_and_installs_the_pins(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# pinned\nsix==1.17.0\n")
    result = _install(tmp_path / "env", requirements)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"creating the Python environment in {tmp_path / 'env'}/ ..."
    assert re.fullmatch(rf"  {re.escape(str(tmp_path / 'env'))}/: created \(\d+s\)", lines[1])
    assert lines[2].startswith("installing 1 pinned package into ")
    assert re.fullmatch(rf"  {re.escape(str(tmp_path / 'env'))}/: installed \(\d+s\)", lines[-1])
    check = [str(tmp_path / "env/bin/python"), "-c", "import six; print(six.__version__)"]
    assert subprocess.run(check, capture_output=True, text=True, check=True).stdout.strip() == "1.17.0"


def test_a_failed_install_says_so_and_fails(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("no-such-package-of-the-mysfits==0.0.1\n")
    result = _install(tmp_path / "env", requirements)
    assert result.returncode != 0
    assert f"installing into {tmp_path / 'env'}/ failed" in result.stderr
