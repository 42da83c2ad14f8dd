"""The parameters the deploy tool gives each stack, from earlier outputs and its options."""

from mysfits_deploy.stacks import BY_NAME
from mysfits_deploy.tool import Deployer

SITE = "https://d111111abcdef8.cloudfront.net"


def _deployer(**options) -> Deployer:
    deployer = Deployer(session=None, account="123456789012", **options)
    deployer.outputs = {"site": {"SiteOrigin": SITE}, "api": {"ApiUrl": "https://api.example/prod"}}
    return deployer


def test_the_services_allow_the_sites_origin_and_publish_images_from_it():
    catalog = _deployer().parameters(BY_NAME["catalog"], {"catalog image": "repo/catalog:v1"})
    assert catalog == {"ImageUri": "repo/catalog:v1", "AllowedOrigins": SITE, "AssetBaseUrl": SITE}


def test_other_origins_are_allowed_besides_the_sites_and_only_where_origins_are_allowed():
    deployer = _deployer(allowed_origins=["https://partner.example", "https://app.example"])
    adoption = deployer.parameters(BY_NAME["adoption"], {"adoption image": "repo/adoption:v1"})
    assert adoption["AllowedOrigins"] == f"{SITE},https://partner.example,https://app.example"
    catalog = deployer.parameters(BY_NAME["catalog"], {"catalog image": "repo/catalog:v1"})
    assert catalog["AssetBaseUrl"] == SITE  # the images stay where the site publishes them
    clicks = deployer.parameters(BY_NAME["clicks"], {})
    assert clicks["AllowedOrigins"] == f"{SITE},https://partner.example,https://app.example"
    assert "AllowedOrigins" not in deployer.parameters(BY_NAME["api"], {})
