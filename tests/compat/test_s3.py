"""Trailwatch against a real S3-compatible store (moto's server on loopback)."""

import gzip
import json
import re
import subprocess
import time
import uuid
from pathlib import Path

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
    # StopLogging's final digest may land after the listing above: at least those count.
    valid = re.search(r"^(\d+)/(\d+) digest files valid$", ok.stdout, re.M)
    assert valid and valid.group(1) == valid.group(2), ok.stdout
    assert int(valid.group(2)) >= len(digests), ok.stdout
    logs_valid = re.search(r"^(\d+)/(\d+) log files valid$", ok.stdout, re.M)
    assert logs_valid and logs_valid.group(1) == logs_valid.group(2) != "0", ok.stdout

    # Tampering with a delivered object in the bucket is caught.
    body = gzip.decompress(s3.get_object(Bucket=bucket, Key=log_key)["Body"].read())
    s3.put_object(Bucket=bucket, Key=log_key, Body=gzip.compress(body.replace(b"Create", b"Delete", 1)))
    bad = validate_logs(trailwatch_bin, s3_trail_server, s3_server, arn, start)
    assert bad.returncode != 0
    assert f"Log file\ts3://{bucket}/{log_key}\tINVALID: hash value doesn't match" in bad.stderr + bad.stdout


# ---------------------------------------------------------------------------
# External tables over an S3 bucket (CREATE EXTERNAL TABLE ... LOCATION 's3://...')

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data"
LAKE_QUERY = ("SELECT eventName, eventSource, userIdentity.userName, errorCode FROM cloudtrail_logs "
              "WHERE errorCode IS NOT NULL LIMIT 100;")


def sql(trailwatch_bin, server, text, *extra):
    proc = subprocess.run(
        [str(trailwatch_bin), "sql", "--endpoint", server.endpoint, "--output", "json", *extra, text],
        env={"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "x",
             "PATH": "/usr/bin:/bin", "HOME": "/nonexistent"},
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def upload_tree(s3, bucket, root, prefix):
    count = 0
    for path in sorted(root.rglob("*")):
        if path.is_file():
            s3.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(root)}")
            count += 1
    return count


def test_external_tables_over_s3(trailwatch_bin, tmp_path_factory, s3_server):
    tree = SAMPLES / "cloudtrail" / "AWSLogs"
    if not tree.is_dir():
        pytest.skip(f"{tree} is absent")
    s3 = s3_server.client()
    bucket = s3_server.create_bucket(f"tables-{uuid.uuid4().hex[:12]}")
    assert upload_tree(s3, bucket, tree, "trail/AWSLogs") == len([p for p in tree.rglob("*") if p.is_file()])
    server = start_s3_trailwatch(trailwatch_bin, tmp_path_factory, s3_server)
    try:
        sql(trailwatch_bin, server,
            f"CREATE EXTERNAL TABLE cloudtrail_logs STORED AS CLOUDTRAIL LOCATION 's3://{bucket}/trail/AWSLogs/'")
        from_s3 = sql(trailwatch_bin, server, LAKE_QUERY)
        sql(trailwatch_bin, server,
            f"CREATE EXTERNAL TABLE local_logs STORED AS CLOUDTRAIL LOCATION '{tree}'")
        from_disk = sql(trailwatch_bin, server, LAKE_QUERY.replace("cloudtrail_logs", "local_logs"))
        # LIMIT without ORDER BY picks any rows of a parallel scan: compare as multisets,
        # and with every matching row when there are more than the limit.
        key = lambda row: json.dumps(row, sort_keys=True)  # noqa: E731
        every = LAKE_QUERY.replace(" LIMIT 100;", "")
        all_s3 = sorted(map(key, sql(trailwatch_bin, server, every)))
        all_disk = sorted(map(key, sql(trailwatch_bin, server, every.replace("cloudtrail_logs", "local_logs"))))
        assert all_s3 and all_s3 == all_disk
        assert len(from_s3) == len(from_disk) == min(100, len(all_s3))
        assert set(map(key, from_s3)) <= set(all_s3)
        assert all(row["errorCode"] for row in from_s3)

        # Date predicates on the path's partitions select the same rows as on disk.
        count = "SELECT count(*) AS n FROM {} WHERE year = '2023' AND month = '07' AND day = '10'"
        n = sql(trailwatch_bin, server, count.format("cloudtrail_logs"))
        assert n == sql(trailwatch_bin, server, count.format("local_logs"))
        assert int(n[0]["n"]) > 0
        none = sql(trailwatch_bin, server, count.format("cloudtrail_logs").replace("'10'", "'11'"))
        assert int(none[0]["n"]) == 0

        # A listing format (Parquet) over S3 too: an export's files.
        rows = [{"level": "ERROR" if i % 3 == 0 else "INFO", "i": i} for i in range(30)]
        s3.put_object(Bucket=bucket, Key="json/date=2026-11-27/part-0.json",
                      Body="\n".join(json.dumps(r) for r in rows).encode())
        sql(trailwatch_bin, server,
            f"CREATE EXTERNAL TABLE app_json (level VARCHAR, i BIGINT, date VARCHAR) STORED AS JSON "
            f"PARTITIONED BY (date) LOCATION 's3://{bucket}/json/'")
        errors = sql(trailwatch_bin, server,
                     "SELECT count(*) AS n FROM app_json WHERE level = 'ERROR' AND date = '2026-11-27'")
        assert int(errors[0]["n"]) == 10

        # `catalog crawl s3://...` infers both tables as on disk.
        def crawl(location, table):
            proc = subprocess.run(
                [str(trailwatch_bin), "catalog", "crawl", location, "--table", table,
                 "--endpoint", server.endpoint, "--output", "json",
                 "--s3-endpoint", s3_server.endpoint, "--s3-path-style"],
                env={**s3_server.aws_env(), "PATH": "/usr/bin:/bin", "HOME": "/nonexistent"},
                capture_output=True, text=True, timeout=300,
            )
            assert proc.returncode == 0, proc.stderr
            return proc.stderr, {row["column"]: row["type"] for row in json.loads(proc.stdout)}

        statement, columns = crawl(f"s3://{bucket}/trail/AWSLogs/", "crawled_trail")
        assert "STORED AS CLOUDTRAIL" in statement and "useridentity" in columns
        errors_query = "SELECT count(*) AS n FROM {} WHERE errorCode IS NOT NULL"
        assert (sql(trailwatch_bin, server, errors_query.format("crawled_trail"))
                == sql(trailwatch_bin, server, errors_query.format("local_logs")))
        statement, columns = crawl(f"s3://{bucket}/json/", "crawled_json")
        assert "STORED AS JSON PARTITIONED BY (date)" in statement, statement
        assert columns["i"] == "Int64"
        errors = sql(trailwatch_bin, server,
                     "SELECT count(*) AS n FROM crawled_json WHERE level = 'ERROR' AND date = '2026-11-27'")
        assert int(errors[0]["n"]) == 10
    finally:
        stop_server(server)
