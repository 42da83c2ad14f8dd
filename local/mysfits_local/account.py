"""The one-machine AWS account, stated once for the stand-ins, the tests and the benchmark.

Its region and id (moto's account: every ARN the embedded AWS and the stand-ins make names it),
the fake credentials every client of the embedded AWS uses (it takes any), and Lambda's
synchronous payload limits, which both the Lambda stand-in and the Firehose stand-in enforce.
"""

from __future__ import annotations

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's account
ACCESS_KEY_ID = SECRET_ACCESS_KEY = "testing"  # noqa: S105 - the stand-ins take any credentials
# As boto3's keyword arguments and as a process's environment.
CREDENTIALS = {"aws_access_key_id": ACCESS_KEY_ID, "aws_secret_access_key": SECRET_ACCESS_KEY}
CREDENTIALS_ENV = {"AWS_ACCESS_KEY_ID": ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY}

# Lambda's synchronous payload limits: 6 MB each way (the response limit Lambda reports is
# 6291556 bytes; the request limit 6291456).
MAX_INVOKE_REQUEST_BYTES = 6 * 1024 * 1024
MAX_INVOKE_RESPONSE_BYTES = 6291556
