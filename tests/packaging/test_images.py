"""Each service image's recipe: pinned, non-root, health-checked, and its install steps really work."""

import re
import shutil
import subprocess
import sys
import venv
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# service folder -> (package, what the installed package must be able to do)
SERVICES = {
    "catalog-service": ("catalog", "import catalog.seed; assert len(catalog.seed.bundled_records()) == 12"),
    "adoption-service": ("adoption", "import adoption.actions, jwt; assert jwt.algorithms.has_crypto"),
}
pytestmark = pytest.mark.parametrize("service", list(SERVICES))
# What a service needs at start (no AWS call is made to check the configuration).
CONFIGURED = {
    "AWS_REGION": "us-east-1",
    "MYSFITS_TABLE_NAME": "MysfitsTable",
    "MYSFITS_LIKES_TABLE_NAME": "MysfitLikesTable",
    "COGNITO_USER_POOL_ID": "us-east-1_example",
    "COGNITO_USER_POOL_CLIENT_ID": "example",
    "TRACING_ENABLED": "false",
}


def _instructions(service: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n\s*", " ", (ROOT / service / "Dockerfile").read_text())
    return [
        (line.split()[0].upper(), line.split(maxsplit=1)[1])
        for line in joined.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_base_image_is_a_pinned_slim_python(service):
    base = next(arg for op, arg in _instructions(service) if op == "FROM")
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base), base


def test_runs_as_non_root_with_a_health_check_under_gunicorn(service):
    package, _ = SERVICES[service]
    ops = dict(_instructions(service))
    assert ops["USER"] not in ("root", "0")
    assert "/health" in ops["HEALTHCHECK"]
    assert "gunicorn" in ops["CMD"]
    assert f"{package}:create_app()" in ops["CMD"]


def test_every_copied_path_exists_in_the_build_context(service):
    for op, arg in _instructions(service):
        if op == "COPY":
            for source in arg.split()[:-1]:
                assert (ROOT / source).exists(), source


def test_requirements_are_pinned(service):
    text = (ROOT / service / "requirements.txt").read_text()
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert lines
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.]+", line) for line in lines), lines


def _install_as_the_image_does(service: str, where: Path) -> Path:
    """Install as the Dockerfile does (pinned requirements, then the packages without -e), from a
    copy of the sources as the build context holds them: two builds of `shared` in one folder collide."""
    env_dir, context = where / service, where / f"{service}-context"
    for folder in ("shared", service):
        shutil.copytree(ROOT / folder, context / folder, ignore=shutil.ignore_patterns("build", "*.egg-info", "tests"))
    pip = [str(env_dir / "bin/python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", context / service / "requirements.txt"], check=True, timeout=600)
    subprocess.run([*pip, "--no-deps", "./shared", f"./{service}"], check=True, timeout=600, cwd=context)
    return env_dir


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict[str, Path]:
    """Every service installed as its image is, side by side (installing is mostly waiting)."""
    where = tmp_path_factory.mktemp("images")
    # The environments one after another: a new environment's python is copied in, then run, and a
    # process another thread forks meanwhile would hold it open for writing ("Text file busy").
    for service in SERVICES:
        venv.create(where / service, with_pip=True)
    with ThreadPoolExecutor(max_workers=len(SERVICES)) as pool:
        return dict(zip(SERVICES, pool.map(lambda s: _install_as_the_image_does(s, where), SERVICES), strict=True))


def test_the_image_install_steps_give_a_working_service(service, images, tmp_path):
    package, check = SERVICES[service]
    env_dir = images[service]
    script = f"import {package}; {check}; assert 'site-packages' in {package}.__file__; print('ok')"
    result = subprocess.run([str(env_dir / "bin/python"), "-c", script], capture_output=True, text=True,
                            cwd=tmp_path, timeout=60)  # fmt: skip
    assert result.stdout.strip() == "ok", result.stderr
    gunicorn = subprocess.run(
        [str(env_dir / "bin/gunicorn"), "--check-config", "-c", "python:mysfits_shared.gunicorn_conf",
         f"{package}:create_app()"],
        capture_output=True, text=True, cwd=tmp_path, timeout=60, env={**CONFIGURED, "PATH": f"{env_dir / 'bin'}:/bin"},
    )  # fmt: skip
    assert gunicorn.returncode == 0, gunicorn.stderr


def test_configuration_error_stops_start_up_with_its_message(service, tmp_path):
    package, _ = SERVICES[service]
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", "python:mysfits_shared.gunicorn_conf", "--bind", "127.0.0.1:0",
         f"{package}:create_app()"],
        capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode != 0
    assert "AWS_REGION or AWS_DEFAULT_REGION is required" in result.stderr
    assert "MYSFITS_TABLE_NAME is required" in result.stderr
