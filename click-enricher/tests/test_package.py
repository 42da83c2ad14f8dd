"""Packaging test: the Lambda deployment zip built by package.py is pinned, deterministic and self-contained.

Builds the real zip once for this module (pip downloads manylinux wheels unless pip's cache has them).
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import zipfile
from importlib.metadata import requires, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from mysfits_testkit.invocation import EVENTS, lambda_context

HERE = Path(__file__).resolve().parents[1]  # click-enricher/
spec = importlib.util.spec_from_file_location("click_enricher_package", HERE / "package.py")
package = importlib.util.module_from_spec(spec)
spec.loader.exec_module(package)

# Runs the handler from the unzipped package with no site-packages (-S) and no environment
# influence (-I), then checks that every module it loaded came from the zip or the stdlib.
RUN_FROM_ZIP = """
import json, sys
root, event_path, context = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
sys.path.insert(0, root)
from enricher.handler import handler

Context = type("Context", (), context)  # the attributes of the tests' Lambda context
with open(event_path) as file:
    event = json.load(file)
for _ in range(int(sys.argv[4]) if len(sys.argv) > 4 else 1):
    response = handler(event, Context())
stdlib = sys.path[1:]  # after `root`: the interpreter's own library directories
strays = sorted(
    name for name, module in list(sys.modules.items())
    if getattr(module, "__file__", None)
    and not module.__file__.startswith(root)
    and not any(module.__file__.startswith(path) for path in stdlib)
)
print(json.dumps({"response": response, "strays": strays, "site": "site" in sys.modules}))
"""
# The script runs with no site-packages, so it gets the context's attributes rather than the object.
CONTEXT = json.dumps({name: value for name, value in vars(lambda_context()).items() if not name.startswith("_")})


def pins() -> dict[str, str]:
    lines = (HERE / "requirements.txt").read_text().splitlines()
    pairs = [line.split("==") for line in lines if line.strip() and not line.startswith("#")]
    return {canonicalize_name(name): pinned for name, pinned in pairs}


def test_requirements_pin_exactly_the_installed_versions():
    pinned = pins()
    assert {"aws-lambda-powertools", "aws-xray-sdk", "requests"} <= set(pinned)
    assert "boto3" not in pinned  # the Lambda runtime has it and the function does not use it
    for name, pinned_version in pinned.items():
        assert version(name) == pinned_version, name


def test_requirements_include_every_transitive_dependency():
    pinned = pins()
    for name in pinned:
        for line in requires(name) or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                assert canonicalize_name(requirement.name) in pinned, f"{name} needs {requirement}"
                assert pinned[canonicalize_name(requirement.name)] in requirement.specifier, str(requirement)


def test_zips_are_deterministic_and_leave_out_bytecode_and_scripts(tmp_path):
    tree = tmp_path / "tree"
    for name in ("b/module.py", "a/__init__.py", "a/__pycache__/x.cpython-311.pyc", "bin/normalizer", "c.pyc"):
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text(name)
    first, second = tmp_path / "1.zip", tmp_path / "2.zip"
    assert package.write_zip(tree, first) == 2
    (tree / "b/module.py").touch()  # a newer mtime changes nothing
    package.write_zip(tree, second)
    assert first.read_bytes() == second.read_bytes()
    assert zipfile.ZipFile(first).namelist() == ["a/__init__.py", "b/module.py"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The real deployment zip (built once), its member names and where it was unzipped."""
    out = tmp_path_factory.mktemp("package")
    zip_path = out / "click-enricher.zip"
    command = [sys.executable, str(HERE / "package.py"), "--output", str(zip_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{zip_path} ")  # prints the path and the size
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
        archive.extractall(out / "root")
    return zip_path, names, out / "root"


def test_the_zip_holds_the_pinned_distributions_and_the_package(built):
    zip_path, names, _ = built
    assert names == sorted(names)
    dist_infos = {name.split("/")[0] for name in names if name.split("/")[0].endswith(".dist-info")}
    found = dict(re.fullmatch(r"(.+)-([^-]+)\.dist-info", info).groups() for info in dist_infos)
    assert {canonicalize_name(name): found[name] for name in found} == pins()
    assert {"enricher/__init__.py", "enricher/handler.py", "enricher/catalog.py"} <= set(names)
    assert "mysfits_shared/tracing.py" in names  # the tracing set-up, stated once for every unit
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc") or name.startswith("bin/")]
    assert not [name for name in names if name.startswith(("boto3/", "tests/"))]
    assert zip_path.stat().st_size < 50_000_000  # Lambda's limit for a directly uploaded zip


def test_the_unzipped_package_runs_the_handler_on_its_own(built, catalog_api):
    _, _, root = built
    command = [
        sys.executable,
        "-I",
        "-S",
        "-W",
        "error",
        "-c",
        RUN_FROM_ZIP,
        str(root),
        str(EVENTS / "single-click.json"),
        CONTEXT,
    ]
    env = {"CATALOG_API_URL": catalog_api.url, "POWERTOOLS_SERVICE_NAME": "click-enricher"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])  # after the handler's own log line
    assert report["strays"] == []
    assert report["site"] is False
    [record] = report["response"]["records"]
    assert record["result"] == "Ok"
    assert catalog_api.switch.requests == 1


def test_with_active_tracing_and_no_daemon_every_batch_is_answered_and_logged_about_once(built, catalog_api):
    """As in Lambda with active tracing (the trace context set, the Tracer on) but with a daemon
    address that does not resolve: batches still succeed, and the log says so at most once."""
    _, _, root = built
    command = [
        sys.executable,
        "-I",
        "-S",
        "-c",
        RUN_FROM_ZIP,
        str(root),
        str(EVENTS / "single-click.json"),
        CONTEXT,
        "20",
    ]
    env = {
        "CATALOG_API_URL": catalog_api.url,
        "CATALOG_CACHE_SECONDS": "0",  # every batch calls the catalog: a traced HTTP call each time
        "AWS_LAMBDA_FUNCTION_NAME": "click-enricher",
        "LAMBDA_TASK_ROOT": str(root),
        "_X_AMZN_TRACE_ID": "Root=1-5f84c7a1-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1",
        "AWS_XRAY_DAEMON_ADDRESS": "no-such-daemon.invalid:2000",
        "AWS_REGION": "us-east-1",
    }
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert [record["result"] for record in report["response"]["records"]] == ["Ok"]
    assert catalog_api.switch.requests == 20
    assert "Traceback" not in result.stdout + result.stderr
    about_xray = [line for line in (result.stdout + result.stderr).splitlines() if "cannot be sent" in line]
    assert len(about_xray) == 1  # the first send fails (no such host), and only that one is said
