"""schemathesis over both API definitions: through the gateway, and against each service directly.

Every answer must be documented (status code and body schema) and none a server error. The seed
and the number of examples are fixed, so a run is the same run every time; a failure prints the
request that caused it (`st replay` reproduces it against a running stack). Signed in, the
fuzzer does not follow the definitions' links (a listed mysfit's id into adopt): it would adopt the
shared stack's mysfits from under the other tests.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
MYSFITS_API = ROOT / "cfn/api/mysfits-api.yaml"
CLICKS_API = ROOT / "click-ingest/clicks-api.yaml"
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance"
SEED = "1"
EXAMPLES = "20"  # per operation and phase

# (definition, the stack's address to fuzz, the operations that address serves, signed in)
TARGETS = {
    "gateway-mysfits-api": (MYSFITS_API, "api_url", None, True),
    "gateway-clicks-api": (CLICKS_API, "api_url", None, False),
    "catalog": (MYSFITS_API, "catalog_url", r"^/mysfits(/\{mysfitId\})?$", False),
    "adoption": (MYSFITS_API, "adoption_url", r"^/mysfits/\{mysfitId\}/(like|adopt)$|^/me$", True),
}


@pytest.mark.parametrize("target", TARGETS)
def test_every_answer_is_documented_and_none_is_a_server_error(stack, stack_pool, target, tmp_path):
    definition, address, paths, signed_in = TARGETS[target]
    command = [str(Path(sys.executable).parent / "st"), "run", str(definition), "--url", getattr(stack, address),
               "--checks", CHECKS, "--seed", SEED, "--max-examples", EXAMPLES, "--no-color"]  # fmt: skip
    if paths:
        command += ["--include-path-regex", paths]
    if signed_in:
        command += ["-H", f"Authorization: {stack_pool.sign_in()['id']}", "--phases", "examples,coverage,fuzzing"]
    # In a directory of its own: schemathesis keeps a cache where it runs.
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    generated, passed = map(int, re.search(r"(\d+) generated, (\d+) passed", report).groups())
    assert generated >= 100, report  # every selected operation was exercised, not skipped
    assert passed == generated, report
    assert "Authentication failed" not in report  # the signed-in routes were fuzzed past the authorizer
