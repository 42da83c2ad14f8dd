import pytest

from mysfits_shared.settings import ConfigError, Env, Settings

BASE = {"AWS_REGION": "eu-west-1", "MYSFITS_TABLE_NAME": "Mysfits"}


def test_reads_required_and_defaults():
    settings = Settings.from_env("svc", BASE)
    assert settings.region == "eu-west-1"
    assert settings.table_name == "Mysfits"
    assert settings.dynamodb_endpoint is None
    assert settings.tracing_enabled is True
    assert settings.xray_daemon_address == "127.0.0.1:2000"


def test_default_region_is_a_fallback():
    settings = Settings.from_env("svc", {"AWS_DEFAULT_REGION": "us-west-2", "MYSFITS_TABLE_NAME": "T"})
    assert settings.region == "us-west-2"


def test_endpoint_prefers_the_service_specific_variable():
    env = {**BASE, "AWS_ENDPOINT_URL": "http://a", "AWS_ENDPOINT_URL_DYNAMODB": "http://b"}
    assert Settings.from_env("svc", env).dynamodb_endpoint == "http://b"


def test_missing_settings_fail_fast_naming_every_one():
    with pytest.raises(ConfigError) as raised:
        Settings.from_env("mysfits-catalog", {})
    message = str(raised.value)
    assert message.startswith("mysfits-catalog: invalid configuration")
    assert "AWS_REGION or AWS_DEFAULT_REGION is required" in message
    assert "MYSFITS_TABLE_NAME is required" in message


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DYNAMODB_TIMEOUT_SECONDS", "soon", "DYNAMODB_TIMEOUT_SECONDS must be a float"),
        ("DYNAMODB_TIMEOUT_SECONDS", "0", "DYNAMODB_TIMEOUT_SECONDS must be at least 0.1"),
        ("TRACING_ENABLED", "maybe", "TRACING_ENABLED must be true or false"),
        ("XRAY_SAMPLING_RATE", "2", "XRAY_SAMPLING_RATE must be between 0 and 1"),
        ("DYNAMODB_MAX_RETRIES", "1.5", "DYNAMODB_MAX_RETRIES must be a int"),
        ("CORS_ALLOWED_ORIGINS", "https://a.example/path", "CORS_ALLOWED_ORIGINS must be origins"),
        ("CORS_ALLOWED_ORIGINS", "https://a.example,*", "CORS_ALLOWED_ORIGINS must be origins"),
    ],
)
def test_bad_values_are_rejected(name, value, expected):
    with pytest.raises(ConfigError, match=expected):
        Settings.from_env("svc", {**BASE, name: value})


@pytest.mark.parametrize(("raw", "expected"), [("false", False), ("0", False), ("TRUE", True), ("on", True)])
def test_tracing_switch(raw, expected):
    assert Settings.from_env("svc", {**BASE, "TRACING_ENABLED": raw}).tracing_enabled is expected


def test_allowed_origins_are_a_list():
    settings = Settings.from_env("svc", {**BASE, "CORS_ALLOWED_ORIGINS": "https://a.example, http://127.0.0.1:8080/,"})
    assert settings.cors_allowed_origins == ("https://a.example", "http://127.0.0.1:8080")


@pytest.mark.parametrize("value", ["ftp://x", "https://", "https://a.example/p?q=1", "https://a.example/#f"])
def test_a_url_is_http_with_a_host_and_a_path_at_most(value):
    env = Env({"SOME_URL": value})
    env.url("SOME_URL")
    with pytest.raises(ConfigError, match="SOME_URL must be an http"):
        env.check("svc")


def test_a_url_loses_its_final_slash():
    env = Env({"SOME_URL": "https://cdn.example/x/"})
    assert env.url("SOME_URL") == "https://cdn.example/x"
    env.check("svc")  # nothing wrong
