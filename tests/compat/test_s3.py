"""Trailwatch against a real S3-compatible store (moto's server on loopback)."""

import gzip
import json
import subprocess
import time
import uuid

import pytest

from compat_helpers import client_error
from conftest import REGION, make_client, start_s3_trailwatch, stop_server

ACCOUNT = "123456789012"


def test_s3_server_round_trips_objects(s3_server):
    s3 = s3_server.client()
    bucket = s3_server.create_bucket(f"compat-{uuid.uuid4().hex[:12]}")
    s3.put_object(Bucket=bucket, Key="a/b.txt", Body=b"hello", Metadata={"signature": "ab"})
    head = s3.head_object(Bucket=bucket, Key="a/b.txt")
    assert head["Metadata"] == {"signature": "ab"}
    assert s3.get_object(Bucket=bucket, Key="a/b.txt")["Body"].read() == b"hello"


def test_trailwatch_serves_with_s3_settings(trailwatch_bin, tmp_path_factory, s3_server):
    server = start_s3_trailwatch(trailwatch_bin, tmp_path_factory, s3_server)
    try:
        logs = make_client("logs", server.endpoint, "AKIDEXAMPLE", "secret")
        assert logs.describe_log_groups()["logGroups"] == []
    finally:
        stop_server(server)


# ---------------------------------------------------------------------------
# Trails whose buckets are S3 buckets (`serve --trail-buckets s3`)

def wait(probe, what, timeout_s=30.0):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def s3_trail_server(trailwatch_bin, tmp_path_factory, s3_server):
    """A `--dev` server delivering trails into moto's buckets every second, digests
    every two."""
    server = start_s3_trailwatch(
        trailwatch_bin,
        tmp_path_factory,
        s3_server,
        extra=["--trail-buckets", "s3", "--trail-delivery-secs", "1", "--digest-interval-secs", "2"],
    )
    yield server
    stop_server(server)


def keys_under(s3, bucket, prefix):
    paginator = s3.get_paginator("list_objects_v2")
    return [o["Key"] for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
            for o in page.get("Contents", [])]


def validate_logs(trailwatch_bin, server, s3_server, arn, start):
    env = {**s3_server.aws_env(), "PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}
    return subprocess.run(
        [str(trailwatch_bin), "validate-logs", "--trail-arn", arn, "--start-time", str(start),
         "--endpoint", server.endpoint, "--trail-buckets", "s3",
         "--s3-endpoint", s3_server.endpoint, "--s3-path-style"],
        env=env, capture_output=True, text=True, timeout=120,
    )


def test_trail_delivers_to_s3_bucket_and_validates(trailwatch_bin, s3_trail_server, s3_server):
    s3 = s3_server.client()
    bucket = s3_server.create_bucket(f"trail-{uuid.uuid4().hex[:12]}")
    cloudtrail = make_client("cloudtrail", s3_trail_server.endpoint, "AKIDEXAMPLE", "x")
    logs = make_client("logs", s3_trail_server.endpoint, "AKIDEXAMPLE", "x")

    # As on AWS, a trail's bucket must exist.
    code, _, status = client_error(
        cloudtrail.create_trail, Name="no-bucket", S3BucketName=f"missing-{uuid.uuid4().hex[:8]}"
    )
    assert (code, status) == ("S3BucketDoesNotExistException", 400)

    start = int(time.time()) - 1
    trail = cloudtrail.create_trail(
        Name="s3-trail", S3BucketName=bucket, S3KeyPrefix="audit", EnableLogFileValidation=True
    )
    arn = trail["TrailARN"]
    cloudtrail.start_logging(Name="s3-trail")
    group = f"s3-trail-seen-{uuid.uuid4().hex[:6]}"
    logs.create_log_group(logGroupName=group)

    logs_prefix = f"audit/AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/"

    def delivered():
        for key in keys_under(s3, bucket, logs_prefix):
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            for record in json.loads(gzip.decompress(body))["Records"]:
                if (record.get("requestParameters") or {}).get("logGroupName") == group:
                    return key
        return None

    log_key = wait(delivered, "a delivered log file in the S3 bucket")
    assert log_key.endswith(".json.gz")
    name = log_key.rsplit("/", 1)[1]
    assert name.startswith(f"{ACCOUNT}_CloudTrail_{REGION}_")

    digest_prefix = f"audit/AWSLogs/{ACCOUNT}/CloudTrail-Digest/{REGION}/"
    wait(lambda: keys_under(s3, bucket, digest_prefix), "a digest in the S3 bucket")
    cloudtrail.stop_logging(Name="s3-trail")
    digests = sorted(keys_under(s3, bucket, digest_prefix))
    head = s3.head_object(Bucket=bucket, Key=digests[0])
    # Where AWS puts the signature: user metadata, and no sidecar objects.
    assert head["Metadata"]["signature-algorithm"] == "SHA256withRSA"
    assert len(bytes.fromhex(head["Metadata"]["signature"])) == 256
    assert not [k for k in keys_under(s3, bucket, "") if k.endswith(".metadata.json")]
    digest = json.loads(gzip.decompress(s3.get_object(Bucket=bucket, Key=digests[0])["Body"].read()))
    assert digest["digestS3Bucket"] == bucket
    assert digest["digestS3Object"] == digests[0]

    ok = validate_logs(trailwatch_bin, s3_trail_server, s3_server, arn, start)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"{len(digests)}/{len(digests)} digest files valid" in ok.stdout, ok.stdout
    assert "0/0 log files valid" not in ok.stdout, ok.stdout

    # Tampering with a delivered object in the bucket is caught.
    body = gzip.decompress(s3.get_object(Bucket=bucket, Key=log_key)["Body"].read())
    s3.put_object(Bucket=bucket, Key=log_key, Body=gzip.compress(body.replace(b"Create", b"Delete", 1)))
    bad = validate_logs(trailwatch_bin, s3_trail_server, s3_server, arn, start)
    assert bad.returncode != 0
    assert f"Log file\ts3://{bucket}/{log_key}\tINVALID: hash value doesn't match" in bad.stderr + bad.stdout
