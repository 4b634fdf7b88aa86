"""The archive on a real S3-compatible store (moto's server on loopback), read back
without Trailwatch by PySpark and DuckDB, which must count what Insights counts.

Spark reads a local copy of the bucket: reaching s3:// from Spark needs the hadoop-aws
jars, which cannot be downloaded here."""

import json
import re
import subprocess
import time
import uuid

import pytest

from conftest import REGION, make_client, start_s3_trailwatch, stop_server

ACCOUNT = "123456789012"
DAY_MS = 86_400_000
HOUR_MS = 3_600_000


def cli(binary, server, *args):
    """`trailwatch ARGS --endpoint E --output json` as a user runs it; the parsed output."""
    out = subprocess.run(
        [str(binary), *args, "--endpoint", server.endpoint, "--output", "json"],
        env={"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret",
             "PATH": "/usr/bin:/bin", "HOME": "/nonexistent"},
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    try:
        return json.loads(out.stdout)
    except ValueError:
        return out.stdout


def insights_count(logs, group, query):
    started = logs.start_query(logGroupName=group, startTime=0,
                               endTime=int(time.time()) + 60, queryString=query)
    for _ in range(400):
        out = logs.get_query_results(queryId=started["queryId"])
        if out["status"] not in ("Scheduled", "Running"):
            break
        time.sleep(0.05)
    assert out["status"] == "Complete", out
    return int({f["field"]: f["value"] for f in out["results"][0]}["n"])


@pytest.fixture(scope="module")
def archive_server(trailwatch_bin, tmp_path_factory, s3_server):
    bucket = s3_server.create_bucket(f"archive-{uuid.uuid4().hex[:12]}")
    server = start_s3_trailwatch(
        trailwatch_bin, tmp_path_factory, s3_server,
        extra=["--archive-location", f"s3://{bucket}/archive"],
    )
    yield server, bucket
    stop_server(server)


def test_archive_on_s3_is_read_by_spark_and_duckdb(trailwatch_bin, archive_server, s3_server,
                                                  spark, tmp_path):
    server, bucket = archive_server
    logs = make_client("logs", server.endpoint, "AKIDEXAMPLE", "secret")
    group = f"/compat/archive-{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=group)
    # Ten days back (PutLogEvents takes up to 14), three hours of events on two streams.
    start = (int(time.time() * 1000) - 10 * DAY_MS) // HOUR_MS * HOUR_MS
    for stream in ("web", "worker"):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        events = [
            {"timestamp": start + i * 60_000,
             "message": json.dumps({"level": "ERROR" if i % 7 == 0 else "INFO",
                                    "stream": stream, "i": i})}
            for i in range(180)
        ]
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
    query = "filter level = 'ERROR' | stats count(*) as n"
    errors = insights_count(logs, group, query)
    assert errors == 2 * len([i for i in range(180) if i % 7 == 0])

    cli(trailwatch_bin, server, "archive", "policy", "--group", group,
        "--archive-after-days", "7", "--delete-after-days", "30")
    run = cli(trailwatch_bin, server, "archive", "run", "--group", group)
    assert len(run["archived"]) == 3, run
    assert run["location"] == f"s3://{bucket}/archive"

    # The Hive layout, one object per hour, the group name escaped as Spark escapes it.
    s3 = s3_server.client()
    keys = sorted(o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix="archive/") for o in page.get("Contents", []))
    escaped = group.replace("/", "%2F")
    pattern = re.compile(
        rf"^archive/account={ACCOUNT}/region={REGION}/log_group={re.escape(escaped)}"
        r"/date=\d{4}-\d{2}-\d{2}/hour=\d{2}/\d{20}-[0-9a-f]{32}\.parquet$")
    assert len(keys) == 3 and all(pattern.match(k) for k in keys), keys
    status = cli(trailwatch_bin, server, "archive", "status", "--group", group)
    entry = status["logGroups"][0]
    assert entry["archived"]["files"] == 3 and entry["archived"]["events"] == 360
    assert entry["local"]["files"] == 0
    # Insights answers the same from the archive.
    assert insights_count(logs, group, query) == errors

    local = tmp_path / "archive"
    for key in keys:
        target = local / key[len("archive/"):]
        target.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, key, str(target))

    import duckdb
    duck = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{local}/**/*.parquet', hive_partitioning=1) "
        "WHERE json_extract_string(message, '$.level') = 'ERROR'").fetchall()[0][0]
    assert duck == errors

    from pyspark.sql.functions import col, get_json_object
    df = spark.read.parquet(str(local))
    assert df.filter(get_json_object(col("message"), "$.level") == "ERROR").count() == errors
    # Partition discovery gives back the group's own name.
    groups = [r["log_group"] for r in df.select("log_group").distinct().collect()]
    assert groups == [group]
    assert df.count() == 360
