"""cfn-lint and checkov pass on every template; every exception to them says why."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mysfits_deploy import stacks, templates

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = [unit.template_path for unit in stacks.UNITS] + [stacks.ROOT / p for p in stacks.PIPELINES.values()]
CHECKOV = Path(os.environ.get("CHECKOV", ROOT / ".venv-checkov/bin/checkov"))


def _run(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False, cwd=ROOT)


def test_every_unit_has_its_template():
    assert all(path.is_file() for path in TEMPLATES), [str(p) for p in TEMPLATES if not p.is_file()]


def test_cfn_lint_finds_nothing():
    """Exit code 0: no error, no warning, no informational finding."""
    result = _run([str(Path(sys.executable).parent / "cfn-lint"), *map(str, TEMPLATES)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_fails_no_check():
    assert CHECKOV.exists(), f"checkov is not installed at {CHECKOV}: `make test` installs it"
    # --skip-download: no network here; checkov's guideline links are not needed.
    command = [str(CHECKOV), "--framework", "cloudformation", "--compact", "--quiet", "--skip-download"]
    for path in TEMPLATES:
        command += ["-f", str(path)]
    result = _run(command)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "Passed checks" in result.stdout  # it really scanned


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_checkov_skip_has_a_written_reason(path):
    template = templates.load(path)
    for logical_id, resource in template.get("Resources", {}).items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert re.fullmatch(r"CKV2?_AWS_\d+", skip.get("id", "")), (logical_id, skip)
            assert len(skip.get("comment", "").split()) >= 4, f"{logical_id}: skip {skip['id']} needs a reason"


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_ignored_cfn_lint_rule_has_a_written_reason(path):
    lines = path.read_text().splitlines()
    template = templates.load(path)
    ignored = template.get("Metadata", {}).get("cfn-lint", {}).get("config", {}).get("ignore_checks", [])
    for rule in ignored:
        places = [i for i, line in enumerate(lines) if rule in line]
        assert any("#" in lines[i] or lines[i - 1].lstrip().startswith("#") for i in places), (
            f"{path.name}: ignoring {rule} needs a comment saying why"
        )
