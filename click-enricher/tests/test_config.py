"""Reading the enricher's settings from the environment."""

import pytest

from enricher.config import Config, ConfigError


def test_defaults_and_a_normalised_url():
    config = Config.from_env({"CATALOG_API_URL": " https://api.example.com/prod/ "})
    assert config == Config("https://api.example.com/prod", timeout_seconds=2.0, attempts=3, cache_seconds=300.0)


def test_every_setting_can_be_given():
    env = {
        "CATALOG_API_URL": "http://127.0.0.1:8000",
        "CATALOG_TIMEOUT_SECONDS": "0.5",
        "CATALOG_ATTEMPTS": "1",
        "CATALOG_CACHE_SECONDS": "0",
    }
    assert Config.from_env(env) == Config("http://127.0.0.1:8000", 0.5, 1, 0.0)


@pytest.mark.parametrize("url", ["", "   ", "api.example.com", "ftp://api.example.com", "https://", "http://h/?x=1"])
def test_a_missing_or_invalid_url_is_refused(url):
    with pytest.raises(ConfigError, match="CATALOG_API_URL"):
        Config.from_env({"CATALOG_API_URL": url})


def test_every_problem_is_named_in_one_message():
    env = {"CATALOG_TIMEOUT_SECONDS": "fast", "CATALOG_ATTEMPTS": "0", "CATALOG_CACHE_SECONDS": "-1"}
    with pytest.raises(ConfigError) as error:
        Config.from_env(env)
    message = str(error.value)
    for name in ("CATALOG_API_URL", "CATALOG_TIMEOUT_SECONDS", "CATALOG_ATTEMPTS", "CATALOG_CACHE_SECONDS"):
        assert name in message
