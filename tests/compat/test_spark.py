"""Spark and DuckDB read what Trailwatch writes, without Trailwatch, and agree with its
own Insights count: `trailwatch export` as JSON lines and Parquet, on a directory and on
an S3-compatible bucket (moto's server); the archive through the table
`trailwatch catalog ddl` defines."""

import gzip
import json
import subprocess
import time
import uuid

import duckdb
import pytest

from compat_helpers import DAY_MS, HOUR_MS, MINUTE_MS, now_ms, put, wait_for_query
from conftest import make_client

LEVELS = ["INFO", "ERROR", "WARN", "INFO", "DEBUG", "ERROR", "INFO"]
EVENTS = 700


@pytest.fixture(scope="module")
def app_logs(dev_server):
    """A group of JSON application logs with a `level` field (and some plain lines),
    and Trailwatch's own Insights count of its ERROR events."""
    logs = make_client("logs", dev_server.endpoint, "AKIDEXAMPLE", "x")
    group = f"spark/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=group)
    start = now_ms() - 30 * MINUTE_MS
    for stream in ("web-1", "worker-1"):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        events = []
        for i in range(EVENTS):
            if i % 50 == 49:
                message = f"plain text line {i} level=ERROR"
            else:
                message = json.dumps(
                    {"level": LEVELS[i % len(LEVELS)], "msg": f"request {i}", "latency_ms": i % 97}
                )
            events.append((start + i * 1000, message))
        for chunk in range(0, EVENTS, 500):
            put(logs, group, stream, events[chunk:chunk + 500])
    query_id = logs.start_query(
        logGroupName=group,
        startTime=start // 1000 - 60,
        endTime=now_ms() // 1000 + 60,
        queryString='filter level = "ERROR" | stats count(*) as n',
    )["queryId"]
    resp = wait_for_query(lambda: logs.get_query_results(queryId=query_id))
    assert resp["status"] == "Complete", resp
    count = int({f["field"]: f["value"] for f in resp["results"][0]}["n"])
    # Two of every seven JSON events are errors; the plain lines are not JSON.
    per_stream = sum(1 for i in range(EVENTS) if i % 50 != 49 and LEVELS[i % 7] == "ERROR")
    assert count == 2 * per_stream
    return group, count


def export(trailwatch_bin, server, group, fmt, dest, *extra, env=None):
    proc = subprocess.run(
        [str(trailwatch_bin), "export", "--group", group, "--format", fmt, str(dest),
         "--endpoint", server.endpoint, "--output", "json", *extra],
        env={"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "x",
             "PATH": "/usr/bin:/bin", "HOME": "/nonexistent", **(env or {})},
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_spark_and_duckdb_count_an_export_as_trailwatch_does(
    trailwatch_bin, dev_server, app_logs, spark, tmp_path
):
    group, count = app_logs
    jsonl = tmp_path / "jsonl"
    summary = export(trailwatch_bin, dev_server, group, "jsonl", jsonl)
    assert summary["events"] == 2 * EVENTS
    assert summary["files"] == len(list(jsonl.glob("part-*.jsonl")))
    assert summary["bytes"] == sum(f.stat().st_size for f in jsonl.iterdir())

    # Verbatim, as the issue asks.
    assert spark.read.json(str(jsonl)).filter("level = 'ERROR'").count() == count
    df = spark.read.json(str(jsonl))
    assert df.filter(df.level == "ERROR").count() == count
    assert df.filter(df["@message"].isNotNull()).count() == 2 * (EVENTS // 50)
    assert duckdb.sql(
        f"SELECT count(*) FROM read_json_auto('{jsonl}/*.jsonl') WHERE level = 'ERROR'"
    ).fetchall() == [(count,)]

    parquet = tmp_path / "parquet"
    summary = export(trailwatch_bin, dev_server, group, "parquet", parquet)
    assert summary["events"] == 2 * EVENTS
    table = spark.read.parquet(str(parquet))
    assert [f.name for f in table.schema.fields] == [
        "timestamp", "ingestion_time", "log_stream", "message"
    ]
    assert table.filter("get_json_object(message, '$.level') = 'ERROR'").count() == count
    assert duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{parquet}/*.parquet') "
        # Plain-text messages are not JSON: only valid ones are looked into.
        "WHERE CASE WHEN json_valid(message) THEN json_extract_string(message, '$.level') END = 'ERROR'"
    ).fetchall() == [(count,)]
    assert duckdb.sql(
        f"SELECT count(DISTINCT log_stream) FROM read_parquet('{parquet}/*.parquet')"
    ).fetchall() == [(2,)]


def test_export_to_s3_bucket(trailwatch_bin, dev_server, app_logs, s3_server):
    group, count = app_logs
    s3 = s3_server.client()
    bucket = s3_server.create_bucket(f"export-{uuid.uuid4().hex[:12]}")
    summary = export(
        trailwatch_bin, dev_server, group, "jsonl", f"s3://{bucket}/exports/app",
        "--gzip", "--stream-prefix", "web-",
        "--s3-endpoint", s3_server.endpoint, "--s3-path-style",
        env=s3_server.aws_env(),
    )
    assert summary["events"] == EVENTS
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["exports/app/part-00000.jsonl.gz"]
    body = gzip.decompress(s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read())
    lines = [json.loads(line) for line in body.splitlines()]
    assert len(lines) == EVENTS
    assert {line["@logStream"] for line in lines} == {"web-1"}
    assert sum(1 for line in lines if line.get("level") == "ERROR") == count // 2
    assert lines[0]["@timestamp"].endswith("Z") and "@ingestionTime" in lines[0]


def catalog_ddl(trailwatch_bin, engine, archive, table):
    proc = subprocess.run(
        [str(trailwatch_bin), "catalog", "ddl", "--engine", engine, "--archive", str(archive), table],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_spark_reads_the_archive_through_catalog_ddl(trailwatch_bin, dev_server, spark):
    logs = make_client("logs", dev_server.endpoint, "AKIDEXAMPLE", "x")
    group = f"/spark/archive-{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="app")
    # Ten days back (PutLogEvents takes up to 14), two hours of events.
    start = (now_ms() - 10 * DAY_MS) // HOUR_MS * HOUR_MS
    put(logs, group, "app", [
        (start + i * MINUTE_MS, json.dumps({"level": "ERROR" if i % 5 == 0 else "INFO", "i": i}))
        for i in range(120)
    ])
    query_id = logs.start_query(
        logGroupName=group, startTime=start // 1000 - 60, endTime=now_ms() // 1000,
        queryString='filter level = "ERROR" | stats count(*) as n',
    )["queryId"]
    resp = wait_for_query(lambda: logs.get_query_results(queryId=query_id))
    errors = int({f["field"]: f["value"] for f in resp["results"][0]}["n"])
    assert errors == 24

    env = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "x",
           "PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}
    for args in (["policy", "--group", group, "--archive-after-days", "7"],
                 ["run", "--group", group]):
        proc = subprocess.run(
            [str(trailwatch_bin), "archive", *args, "--endpoint", dev_server.endpoint],
            env=env, capture_output=True, text=True, timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
    archive = dev_server.data_dir / "archive"
    assert len(list(archive.rglob("*.parquet"))) >= 2

    table = f"tw_archive_{uuid.uuid4().hex[:6]}"
    ddl = catalog_ddl(trailwatch_bin, "spark", archive, table)
    statements = [s.strip() for s in ddl.split(";\n") if s.strip()]
    assert statements[-1] == f"MSCK REPAIR TABLE {table}"
    for statement in statements:
        spark.sql(statement)
    rows = spark.sql(
        f"SELECT count(*) AS n FROM {table} WHERE log_group = '{group}' "
        "AND get_json_object(message, '$.level') = 'ERROR'"
    ).collect()
    assert rows[0]["n"] == errors
    assert spark.sql(f"SELECT count(*) AS n FROM {table} WHERE log_group = '{group}'").collect()[0]["n"] == 120

    # The other engines' statements name the same layout.
    athena = catalog_ddl(trailwatch_bin, "athena", "s3://bucket/archive", "logs.tw")
    assert "LOCATION 's3://bucket/archive/'" in athena
    assert ("'storage.location.template' = 's3://bucket/archive/account=${account}/region=${region}"
            "/log_group=${log_group}/date=${date}/hour=${hour}/'") in athena
    trino = catalog_ddl(trailwatch_bin, "trino", "s3://bucket/archive", "hive.logs.tw")
    assert "external_location = 's3://bucket/archive'" in trino
    assert "CALL hive.system.sync_partition_metadata('logs', 'tw', 'ADD');" in trino
