import pytest

from catalog.settings import CatalogSettings
from mysfits_shared.settings import ConfigError

BASE = {"AWS_REGION": "eu-west-1", "MYSFITS_TABLE_NAME": "Mysfits"}


def test_the_catalog_reads_its_cache_and_asset_base_besides_the_common_settings():
    settings = CatalogSettings.from_env("mysfits-catalog", {**BASE, "ASSET_BASE_URL": "https://cdn.example/x/"})
    assert (settings.table_name, settings.cache_ttl_seconds) == ("Mysfits", 5.0)
    assert settings.asset_base_url == "https://cdn.example/x"
    assert not hasattr(settings, "likes_table_name")  # the likes table is the adoption service's


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("CACHE_TTL_SECONDS", "soon", "CACHE_TTL_SECONDS must be a float"),
        ("CACHE_TTL_SECONDS", "-1", "CACHE_TTL_SECONDS must be at least 0"),
        ("ASSET_BASE_URL", "ftp://x", "ASSET_BASE_URL must be an http"),
    ],
)
def test_bad_values_are_rejected(name, value, expected):
    with pytest.raises(ConfigError, match=expected):
        CatalogSettings.from_env("mysfits-catalog", {**BASE, name: value})
