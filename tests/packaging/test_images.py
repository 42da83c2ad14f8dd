"""Each service image's recipe: pinned, non-root, health-checked, and its install steps really work."""

import json
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


def _instructions(dockerfile: Path) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n\s*", " ", dockerfile.read_text())
    return [
        (line.split()[0].upper(), line.split(maxsplit=1)[1])
        for line in joined.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def _service_image(service: str) -> list[tuple[str, str]]:
    """A service image's instructions: the services' image (shared/Dockerfile, its last stage), its
    ONBUILD steps as the service's build runs them, then the service's own Dockerfile after FROM."""
    base = _instructions(ROOT / "shared" / "Dockerfile")
    last_stage = max(n for n, (op, _) in enumerate(base) if op == "FROM")
    own = _instructions(ROOT / service / "Dockerfile")
    assert own[0] == ("FROM", "mysfits-service"), own[0]
    inherited = [(op, arg) for op, arg in base[last_stage + 1 :] if op != "ONBUILD"]
    onbuild = [(arg.split()[0].upper(), arg.split(maxsplit=1)[1]) for op, arg in base if op == "ONBUILD"]
    return inherited + onbuild + own[1:]


def test_base_image_is_a_pinned_slim_python(service):
    stages = [arg.split()[0] for op, arg in _instructions(ROOT / "shared" / "Dockerfile") if op == "FROM"]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", stages[0]), stages
    assert stages[1:] == ["python"], "the services' image is the Python image's next stage"


def test_runs_as_non_root_with_a_health_check_under_gunicorn(service):
    package, _ = SERVICES[service]
    ops = dict(_service_image(service))
    assert ops["USER"] not in ("root", "0")
    assert "/health" in ops["HEALTHCHECK"]
    assert json.loads(ops["CMD"])[:3] == ["gunicorn", "-c", "python:mysfits_shared.gunicorn_conf"]
    assert ops["ENV"] == f'MYSFITS_APP="{package}:create_app()"'


def test_the_build_context_holds_what_the_image_copies_and_no_more(service):
    """The context is the service's folder; its .dockerignore keeps only what the image installs."""
    package, _ = SERVICES[service]
    ignore = [line for line in (ROOT / service / ".dockerignore").read_text().splitlines() if line[:1] not in ("", "#")]
    assert ignore[0] == "*", "everything is left out but what is named"
    assert {"!requirements.txt", "!pyproject.toml", f"!{package}/"} <= set(ignore), ignore
    for op, arg in _service_image(service):
        if op == "COPY":
            for source in arg.split()[:-1]:
                assert (ROOT / service / source).exists(), source


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
    # The image's command: the application is the one its Dockerfile names in MYSFITS_APP.
    app = dict(_service_image(service))["ENV"].split("=", 1)[1].strip('"')
    gunicorn = subprocess.run(
        [str(env_dir / "bin/gunicorn"), "--check-config", "-c", "python:mysfits_shared.gunicorn_conf"],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
        env={**CONFIGURED, "MYSFITS_APP": app, "PATH": f"{env_dir / 'bin'}:/bin"},
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
