"""The image's recipe: pinned, non-root, health-checked, and its install steps really work."""

import re
import subprocess
import sys
import venv
from pathlib import Path

SERVICE = Path(__file__).resolve().parents[1]
ROOT = SERVICE.parent
DOCKERFILE = (SERVICE / "Dockerfile").read_text()


def _instructions() -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [
        (line.split()[0].upper(), line.split(maxsplit=1)[1])
        for line in joined.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_base_image_is_a_pinned_slim_python():
    base = next(arg for op, arg in _instructions() if op == "FROM")
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base), base


def test_runs_as_non_root_with_a_health_check_under_gunicorn():
    ops = dict(_instructions())
    assert ops["USER"] not in ("root", "0")
    assert "/health" in ops["HEALTHCHECK"]
    assert "gunicorn" in ops["CMD"]
    assert "catalog:create_app()" in ops["CMD"]


def test_every_copied_path_exists_in_the_build_context():
    for op, arg in _instructions():
        if op == "COPY":
            for source in arg.split()[:-1]:
                assert (ROOT / source).exists(), source


def test_requirements_are_pinned():
    lines = [
        line for line in (SERVICE / "requirements.txt").read_text().splitlines() if line and not line.startswith("#")
    ]
    assert lines
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.]+", line) for line in lines), lines


def test_the_image_install_steps_give_a_working_service(tmp_path):
    """Install as the Dockerfile does (pinned requirements, then the packages without -e)."""
    env_dir = tmp_path / "image"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin/python"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", SERVICE / "requirements.txt"], check=True, timeout=600)
    subprocess.run([*pip, "--no-deps", ROOT / "shared", SERVICE], check=True, timeout=600, cwd=tmp_path)
    check = (
        "import catalog, catalog.seed, mysfits_shared; "
        "assert len(catalog.seed.bundled_records()) >= 12; "
        "assert 'site-packages' in catalog.__file__; "
        "print('ok')"
    )
    result = subprocess.run([str(python), "-c", check], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert result.stdout.strip() == "ok", result.stderr
    gunicorn = subprocess.run(
        [
            str(env_dir / "bin/gunicorn"),
            "--check-config",
            "-c",
            "python:mysfits_shared.gunicorn_conf",
            "catalog:create_app()",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        env={
            "AWS_REGION": "us-east-1",
            "MYSFITS_TABLE_NAME": "MysfitsTable",
            "TRACING_ENABLED": "false",
            "PATH": f"{env_dir / 'bin'}:/usr/bin:/bin",
        },
    )
    assert gunicorn.returncode == 0, gunicorn.stderr


def test_configuration_error_stops_start_up_with_its_message(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:mysfits_shared.gunicorn_conf",
            "--bind",
            "127.0.0.1:0",
            "catalog:create_app()",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
    )
    assert result.returncode != 0
    assert "AWS_REGION or AWS_DEFAULT_REGION is required" in result.stderr
    assert "MYSFITS_TABLE_NAME is required" in result.stderr
