"""What the click pipeline produced: `python -m mysfits_local clicks` (or `make clicks`).

Reads the clicks bucket (on the running stack's embedded AWS, or any S3 endpoint) and
prints the latest enriched clicks, the views per mysfit, and how many clicks sit under
`processing-failed/` waiting to be looked at.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

import boto3
import botocore.exceptions

from .account import CREDENTIALS, REGION

CLICKS_PREFIX = "clicks/"
FAILED_PREFIX = "processing-failed/"


@dataclass
class ClickReport:
    clicks: list[dict] = field(default_factory=list)  # enriched lines, oldest first
    failed: list[dict] = field(default_factory=list)  # Firehose error documents
    unreadable_lines: int = 0

    @property
    def views(self) -> list[tuple[str, str, int]]:
        """(mysfitId, name, views), most viewed first."""
        counts = Counter(click["mysfitId"] for click in self.clicks)
        names = {click["mysfitId"]: click.get("name", "") for click in self.clicks}
        return sorted(((m, names[m], n) for m, n in counts.items()), key=lambda row: (-row[2], row[1]))


def _lines(s3, bucket: str, prefix: str):
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode("utf-8")
            yield from (line for line in body.splitlines() if line.strip())


def read_clicks(s3, bucket: str) -> ClickReport:
    report = ClickReport()
    for prefix, into in ((CLICKS_PREFIX, report.clicks), (FAILED_PREFIX, report.failed)):
        for line in _lines(s3, bucket, prefix):
            try:
                into.append(json.loads(line))
            except ValueError:
                report.unreadable_lines += 1
    report.clicks.sort(key=lambda click: click.get("clickedAt") or "")
    return report


def format_report(report: ClickReport, latest: int = 10) -> str:
    out = [f"{len(report.clicks)} enriched clicks"]
    if report.clicks:
        out.append(f"\nlatest {min(latest, len(report.clicks))}:")
        columns = ("clickedAt", 25), ("name", 16), ("species", 12), ("goodevil", 9), ("lawchaos", 9)
        out.append("  " + " ".join(f"{title:<{width}}" for title, width in columns) + " userId")
        for click in reversed(report.clicks[-latest:]):
            cells = " ".join(f"{click.get(name) or '-':<{width}}" for name, width in columns)
            out.append(f"  {cells} {click.get('userId') or 'anonymous'}")
        out.append("\nviews per mysfit:")
        for mysfit_id, name, views in report.views:
            out.append(f"  {views:>6}  {name or '-':<16} {mysfit_id}")
    out.append(f"\n{len(report.failed)} clicks under {FAILED_PREFIX} (not enriched; original data kept)")
    if report.failed:
        codes = Counter(doc.get("errorCode", "?") for doc in report.failed)
        out.extend(f"  {count:>6}  {code}" for code, count in codes.most_common())
    if report.unreadable_lines:
        out.append(f"{report.unreadable_lines} lines were not JSON")
    return "\n".join(out)


def main(endpoint: str, bucket: str, latest: int, region: str = REGION) -> int:
    session = boto3.session.Session(region_name=region)
    if session.get_credentials() is None:  # the embedded AWS takes any credentials
        session = boto3.session.Session(region_name=region, **CREDENTIALS)
    s3 = session.client("s3", endpoint_url=endpoint)
    try:
        report = read_clicks(s3, bucket)
    except botocore.exceptions.EndpointConnectionError:
        print(f"cannot reach S3 at {endpoint}: is the stack running (`make up`)?")
        return 1
    except botocore.exceptions.ClientError as error:
        print(f"cannot read s3://{bucket}: {error.response.get('Error', {}).get('Message', error)}")
        return 1
    print(format_report(report, latest))
    return 0
