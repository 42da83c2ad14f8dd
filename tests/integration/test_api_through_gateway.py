"""The Mysfits API, called through the API Gateway stand-in of a running stack."""

import gzip
import json
import re

import pytest
import requests

from catalog.seed import bundled_records
from mysfits_deploy.site import published
from mysfits_deploy.stacks import ROOT
from mysfits_testkit.stack import PARTNER_ORIGIN

pytestmark = pytest.mark.integration

BUNDLED = bundled_records()


def test_lists_the_whole_seeded_catalog(stack):
    response = requests.get(f"{stack.api_url}/mysfits", timeout=10)
    assert response.status_code == 200
    listed = {m["mysfitId"]: m for m in response.json()["mysfits"]}
    assert set(listed) == {m["MysfitId"] for m in BUNDLED}
    for record in BUNDLED:
        item = listed[record["MysfitId"]]
        assert (item["name"], item["species"], item["goodevil"], item["lawchaos"], item["thumbImageUri"]) == (
            record["Name"],
            record["Species"],
            record["GoodEvil"],
            record["LawChaos"],
            f"{stack.site_url}/{record['ThumbImageUri']}",  # absolute: where the site publishes it
        )


@pytest.mark.parametrize(
    ("filter_name", "key"), [("GoodEvil", "GoodEvil"), ("LawChaos", "LawChaos"), ("Species", "Species")]
)
def test_every_filter_value_through_the_gateway(stack, filter_name, key):
    for value in {m[key] for m in BUNDLED}:
        response = requests.get(f"{stack.api_url}/mysfits", params={"filter": filter_name, "value": value}, timeout=10)
        assert response.status_code == 200
        expected = {m["MysfitId"] for m in BUNDLED if m[key] == value}
        assert {m["mysfitId"] for m in response.json()["mysfits"]} == expected


def test_get_one_through_the_gateway(stack):
    record = BUNDLED[0]
    response = requests.get(f"{stack.api_url}/mysfits/{record['MysfitId']}", timeout=10)
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == record["Name"]
    assert body["description"] == record["Description"]
    assert body["age"] == record["Age"]
    assert body["profileImageUri"] == f"{stack.site_url}/{record['ProfileImageUri']}"


def test_errors_keep_their_status_and_format_through_the_gateway(stack):
    missing = requests.get(f"{stack.api_url}/mysfits/not-a-mysfit", timeout=10)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NotFound"
    bad = requests.get(f"{stack.api_url}/mysfits?filter=Colour&value=Red", timeout=10)
    assert bad.status_code == 400
    assert "GoodEvil, LawChaos, Species" in bad.json()["error"]["message"]
    no_route = requests.get(f"{stack.api_url}/unicorns", timeout=10)
    assert no_route.status_code == 404
    assert no_route.json() == {"error": {"code": "NotFound", "message": "No such route: GET /unicorns"}}


def test_etag_revalidation_through_the_gateway(stack):
    first = requests.get(f"{stack.api_url}/mysfits?filter=GoodEvil&value=Evil", timeout=10)
    again = requests.get(
        f"{stack.api_url}/mysfits?filter=GoodEvil&value=Evil",
        headers={"If-None-Match": first.headers["ETag"]},
        timeout=10,
    )
    assert again.status_code == 304


def test_cors_for_the_site(stack):
    preflight = requests.options(
        f"{stack.api_url}/mysfits/abc",
        headers={"Origin": stack.site_url, "Access-Control-Request-Method": "GET"},
        timeout=10,
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == stack.site_url
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
    listed = requests.get(f"{stack.api_url}/mysfits", headers={"Origin": stack.site_url}, timeout=10)
    assert listed.headers["Access-Control-Allow-Origin"] == stack.site_url
    missing = requests.get(f"{stack.api_url}/nowhere", headers={"Origin": stack.site_url}, timeout=10)
    assert missing.headers["Access-Control-Allow-Origin"] == stack.site_url


def test_a_partners_page_may_use_the_api_and_show_the_pictures_a_strangers_may_not(stack, stack_pool):
    listed = requests.get(f"{stack.api_url}/mysfits", headers={"Origin": PARTNER_ORIGIN}, timeout=10)
    assert listed.headers["Access-Control-Allow-Origin"] == PARTNER_ORIGIN
    assert "Origin" in listed.headers["Vary"]
    mysfit = listed.json()["mysfits"][0]
    # Pictures are absolute, from where the site publishes them: they show on any page.
    assert mysfit["thumbImageUri"].startswith(f"{stack.site_url}/images/")
    assert requests.get(mysfit["thumbImageUri"], timeout=10).headers["Content-Type"] == "image/svg+xml"
    profile = requests.get(f"{stack.api_url}/mysfits/{mysfit['mysfitId']}", timeout=10).json()
    assert profile["profileImageUri"].startswith(f"{stack.site_url}/images/")

    headers = {"Origin": PARTNER_ORIGIN, "Access-Control-Request-Method": "POST",
               "Access-Control-Request-Headers": "authorization"}  # fmt: skip
    preflight = requests.options(f"{stack.api_url}/mysfits/{mysfit['mysfitId']}/like", headers=headers, timeout=10)
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == PARTNER_ORIGIN
    assert {"POST", "DELETE"} <= set(preflight.headers["Access-Control-Allow-Methods"].split(", "))
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    visitor = stack_pool.sign_in()
    me = requests.get(
        f"{stack.api_url}/me", headers={"Origin": PARTNER_ORIGIN, "Authorization": visitor["id"]}, timeout=10
    )
    assert me.headers["Access-Control-Allow-Origin"] == PARTNER_ORIGIN

    stranger = "https://stranger.example"
    assert (
        "Access-Control-Allow-Origin"
        not in requests.get(f"{stack.api_url}/mysfits", headers={"Origin": stranger}, timeout=10).headers
    )
    refused = requests.options(f"{stack.api_url}/me", headers={**headers, "Origin": stranger}, timeout=10)
    assert "Access-Control-Allow-Origin" not in refused.headers

    # The clicks API allows the same origins: a partner's page may record profile views.
    for origin, allowed in ((PARTNER_ORIGIN, True), (stack.site_url, True), (stranger, False)):
        click = requests.put(f"{stack.api_url}/clicks", json={"mysfitId": mysfit["mysfitId"]},
                             headers={"Origin": origin}, timeout=10)  # fmt: skip
        assert click.status_code == 200
        assert click.headers.get("Access-Control-Allow-Origin") == (origin if allowed else None)


def test_gateway_adds_a_trace_id_and_keeps_one_it_is_given(stack):
    added = requests.get(f"{stack.api_url}/mysfits", timeout=10).headers["X-Amzn-Trace-Id"]
    assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Sampled=1", added)
    given = "Root=1-5f84c7a1-0123456789abcdef01234567;Sampled=0"
    kept = requests.get(f"{stack.api_url}/mysfits", headers={"X-Amzn-Trace-Id": given}, timeout=10)
    assert kept.headers["X-Amzn-Trace-Id"].startswith("Root=1-5f84c7a1-0123456789abcdef01234567")


def test_the_site_sends_the_templates_security_headers_lists_no_directory_and_names_no_version(stack):
    page = requests.get(f"{stack.site_url}/", timeout=10)
    policy = page.headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'none'; script-src 'self'; style-src 'self';")
    # The page may call this stack's API and its Cognito, and nothing else but itself.
    connect = next(d for d in policy.split("; ") if d.startswith("connect-src "))
    assert connect.split()[1:] == [
        "'self'",
        "https://cognito-idp.us-east-1.amazonaws.com",
        stack.api_url,
        stack.aws_url,
    ]
    assert "frame-ancestors 'none'" in policy
    assert page.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains; preload"
    assert page.headers["X-Frame-Options"] == "DENY"
    for path in ("/images/", "/js/", "/css/"):
        listing = requests.get(f"{stack.site_url}{path}", timeout=10)
        assert listing.status_code == 404, path
        assert "Directory listing" not in listing.text
    assert page.headers["Server"] == "mysfits-site"


def test_no_part_names_a_version_of_its_software(stack):
    for name, port in stack.ports.items():
        server = requests.get(f"http://127.0.0.1:{port}/", timeout=10).headers.get("Server", "")
        assert not re.search(r"\d|python|aiohttp|werkzeug", server, re.IGNORECASE), (name, server)


def test_site_serves_the_generated_config_and_the_images(stack):
    config = requests.get(f"{stack.site_url}/config.json", timeout=10).json()
    assert config["apiEndpoint"] == stack.api_url
    assert config["region"] == "us-east-1"
    assert config["cognitoEndpoint"] == stack.aws_url
    assert config["userPoolId"].startswith("us-east-1_")
    assert config["userPoolClientId"]
    assert config["localStack"] is True
    page = requests.get(f"{stack.site_url}/", timeout=10)
    assert page.status_code == 200
    assert "Mythical Mysfits" in page.text
    for record in BUNDLED:
        image = requests.get(f"{stack.site_url}/{record['ThumbImageUri']}", timeout=10)
        assert image.status_code == 200, record["ThumbImageUri"]
        assert image.headers["Content-Type"] == "image/svg+xml"
        assert b"<svg" in image.content


def test_the_site_and_the_api_compress_as_cloudfront_and_the_stage_do(stack):
    """Text of 1,000 bytes or more from the site, API answers of MinimumCompressionSize (1 KB) or
    more, gzipped for a browser that accepts it; as they are for one that does not."""
    gzip_ok = {"Accept-Encoding": "gzip"}
    for path in ("/", "/js/app.js", "/css/site.css", f"/{BUNDLED[0]['ThumbImageUri']}"):
        plain = requests.get(f"{stack.site_url}{path}", headers={"Accept-Encoding": "identity"}, timeout=10)
        raw = requests.get(f"{stack.site_url}{path}", headers=gzip_ok, timeout=10, stream=True).raw
        assert raw.headers["Content-Encoding"] == "gzip", path
        assert "Accept-Encoding" in raw.headers["Vary"]
        zipped = raw.read(decode_content=False)
        assert len(zipped) < len(plain.content) / 2, path
        assert gzip.decompress(zipped) == plain.content
        assert "Content-Encoding" not in plain.headers
        assert plain.content == published(ROOT / "web" / (path.lstrip("/") or "index.html")), path
    # Scripts and styles as the deploy tool publishes them: minified.
    for path in ("js/app.js", "css/site.css"):
        assert len(published(ROOT / "web" / path)) < len((ROOT / "web" / path).read_bytes()) * 0.8, path
    small = requests.get(f"{stack.site_url}/config.json", headers=gzip_ok, timeout=10)
    assert "Content-Encoding" not in small.headers  # under 1,000 bytes: not worth it

    listing = requests.get(f"{stack.api_url}/mysfits", headers=gzip_ok, timeout=10, stream=True).raw
    assert listing.headers["Content-Encoding"] == "gzip"
    zipped = listing.read(decode_content=False)
    assert json.loads(gzip.decompress(zipped))["mysfits"]
    plain = requests.get(f"{stack.api_url}/mysfits", headers={"Accept-Encoding": "identity"}, timeout=10)
    assert "Content-Encoding" not in plain.headers
    assert len(zipped) < len(plain.content) / 2
    missing = requests.get(f"{stack.api_url}/mysfits/nope", headers=gzip_ok, timeout=10)
    assert "Content-Encoding" not in missing.headers  # a small error: under the minimum
