import pytest

from mysfits_shared.settings import ConfigError, Settings

BASE = {"AWS_REGION": "eu-west-1", "MYSFITS_TABLE_NAME": "Mysfits"}


def test_reads_required_and_defaults():
    settings = Settings.from_env("svc", BASE)
    assert settings.region == "eu-west-1"
    assert settings.table_name == "Mysfits"
    assert settings.dynamodb_endpoint is None
    assert settings.tracing_enabled is True
    assert settings.xray_daemon_address == "127.0.0.1:2000"
    assert settings.cache_ttl_seconds == 5.0


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
        ("CACHE_TTL_SECONDS", "soon", "CACHE_TTL_SECONDS must be a float"),
        ("CACHE_TTL_SECONDS", "-1", "CACHE_TTL_SECONDS must be at least 0"),
        ("TRACING_ENABLED", "maybe", "TRACING_ENABLED must be true or false"),
        ("XRAY_SAMPLING_RATE", "2", "XRAY_SAMPLING_RATE must be between 0 and 1"),
        ("DYNAMODB_MAX_RETRIES", "1.5", "DYNAMODB_MAX_RETRIES must be a int"),
        ("CORS_ALLOWED_ORIGINS", "https://a.example/path", "CORS_ALLOWED_ORIGINS must be origins"),
        ("CORS_ALLOWED_ORIGINS", "https://a.example,*", "CORS_ALLOWED_ORIGINS must be origins"),
        ("ASSET_BASE_URL", "ftp://x", "ASSET_BASE_URL must be an http"),
    ],
)
def test_bad_values_are_rejected(name, value, expected):
    with pytest.raises(ConfigError, match=expected):
        Settings.from_env("svc", {**BASE, name: value})


@pytest.mark.parametrize(("raw", "expected"), [("false", False), ("0", False), ("TRUE", True), ("on", True)])
def test_tracing_switch(raw, expected):
    assert Settings.from_env("svc", {**BASE, "TRACING_ENABLED": raw}).tracing_enabled is expected


def test_allowed_origins_are_a_list_and_the_asset_base_loses_its_final_slash():
    settings = Settings.from_env(
        "svc",
        {
            **BASE,
            "CORS_ALLOWED_ORIGINS": "https://a.example, http://127.0.0.1:8080/,",
            "ASSET_BASE_URL": "https://cdn.example/x/",
        },
    )
    assert settings.cors_allowed_origins == ("https://a.example", "http://127.0.0.1:8080")
    assert settings.asset_base_url == "https://cdn.example/x"
