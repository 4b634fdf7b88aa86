"""CloudTrail with boto3 and the aws CLI (v1) against a real server: every call is
recorded and found by LookupEvents, trails deliver record files and signed digests, and
CloudTrail Lake answers SQL over the records."""

import gzip
import json
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from compat_helpers import client_error
from conftest import REGION, make_client, venv_tool


def wait(probe, what, timeout_s=30.0):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_boto3_lookup_events_finds_every_call(logs, client_factory, credentials):
    cloudtrail = client_factory("cloudtrail")
    group = f"compat/ct/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=group)
    code, _, _ = client_error(logs.create_log_group, logGroupName=group)
    assert code == "ResourceAlreadyExistsException"

    paginator = cloudtrail.get_paginator("lookup_events")
    events = [
        e
        for page in paginator.paginate(
            LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": group}],
            PaginationConfig={"PageSize": 1},
        )
        for e in page["Events"]
    ]
    assert [e["EventName"] for e in events] == ["CreateLogGroup", "CreateLogGroup"]
    failed, ok = (json.loads(e["CloudTrailEvent"]) for e in events)
    assert failed["errorCode"] == "ResourceAlreadyExistsException"
    assert ok["requestParameters"] == {"logGroupName": group}
    assert ok["userIdentity"]["type"] == "IAMUser"
    assert ok["userIdentity"]["userName"] == "admin"
    assert ok["userIdentity"]["accessKeyId"] == credentials.access_key_id
    assert ok["userAgent"].startswith("Boto3/")
    assert events[1]["Username"] == "admin"
    assert events[1]["ReadOnly"] == "false"
    assert events[1]["AccessKeyId"] == credentials.access_key_id
    assert events[1]["Resources"] == [{"ResourceType": "AWS::Logs::LogGroup", "ResourceName": group}]

    code, _, _ = client_error(cloudtrail.lookup_events, MaxResults=51)
    assert code == "InvalidMaxResultsException"


def test_cli_lookup_events(endpoint, client_env, logs):
    group = f"compat/ct-cli/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=group)
    out = subprocess.run(
        [str(venv_tool("aws")), "cloudtrail", "lookup-events",
         "--lookup-attributes", f"AttributeKey=ResourceName,AttributeValue={group}",
         "--max-results", "5",
         "--endpoint-url", endpoint, "--region", REGION, "--output", "json"],
        env=client_env, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    events = json.loads(out.stdout)["Events"]
    assert [e["EventName"] for e in events] == ["CreateLogGroup"]
    assert json.loads(events[0]["CloudTrailEvent"])["eventSource"] == "logs.amazonaws.com"


def test_cli_create_trail_and_start_logging_deliver_files(trail_server, tmp_path):
    env = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "x", "PATH": "/usr/bin:/bin"}

    def aws(*args):
        proc = subprocess.run(
            [str(venv_tool("aws")), *args, "--endpoint-url", trail_server.endpoint,
             "--region", REGION, "--output", "json"],
            env=env, capture_output=True, text=True, timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    created = aws("cloudtrail", "create-trail", "--name", "cli-trail",
                  "--s3-bucket-name", "cli-bucket", "--enable-log-file-validation")
    assert created["TrailARN"] == "arn:aws:cloudtrail:us-east-1:123456789012:trail/cli-trail"
    aws("cloudtrail", "start-logging", "--name", "cli-trail")
    aws("logs", "create-log-group", "--log-group-name", "cli-trail-seen")
    bucket = trail_server.data_dir / "buckets" / "cli-bucket" / "AWSLogs" / "123456789012"

    def delivered():
        for f in (bucket / "CloudTrail").rglob("*.json.gz"):
            for r in json.loads(gzip.decompress(f.read_bytes()))["Records"]:
                if (r.get("requestParameters") or {}).get("logGroupName") == "cli-trail-seen":
                    return f
        return None

    wait(delivered, "a delivered log file")
    digests = wait(lambda: sorted((bucket / "CloudTrail-Digest").rglob("*.json.gz")), "a digest")
    digest = json.loads(gzip.decompress(digests[0].read_bytes()))
    assert digest["digestSignatureAlgorithm"] == "SHA256withRSA"
    assert digest["previousDigestSignature"] is None
    status = aws("cloudtrail", "get-trail-status", "--name", "cli-trail")
    assert status["IsLogging"] is True
    trails = aws("cloudtrail", "describe-trails")["trailList"]
    assert [t["Name"] for t in trails] == ["cli-trail"]
    keys = aws("cloudtrail", "list-public-keys")["PublicKeyList"]
    assert keys[0]["Fingerprint"] == digest["digestPublicKeyFingerprint"]
    aws("cloudtrail", "stop-logging", "--name", "cli-trail")


def test_boto3_lake_sql_over_own_events(trail_server):
    logs = make_client("logs", trail_server.endpoint, "AKIDEXAMPLE", "x")
    cloudtrail = make_client("cloudtrail", trail_server.endpoint, "AKIDEXAMPLE", "x")
    store = cloudtrail.create_event_data_store(Name="compat-lake", TerminationProtectionEnabled=False)
    eds_id = store["EventDataStoreArn"].rsplit("/", 1)[1]
    group = f"lake-{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=group)
    client_error(logs.delete_log_group, logGroupName=group + "-missing")
    query = cloudtrail.start_query(
        QueryStatement=f"SELECT eventName, eventSource, userIdentity.userName, errorCode FROM {eds_id} "
        f"WHERE eventSource = 'logs.amazonaws.com' AND errorCode IS NOT NULL LIMIT 100"
    )

    def finished():
        r = cloudtrail.get_query_results(QueryId=query["QueryId"])
        return r if r["QueryStatus"] in ("FINISHED", "FAILED") else None

    results = wait(finished, "the Lake query")
    assert results["QueryStatus"] == "FINISHED", results
    rows = results["QueryResultRows"]
    # A --dev caller is the account's root, which has no user name: that cell is NULL.
    assert rows[0] == [{"eventName": "DeleteLogGroup"}, {"eventSource": "logs.amazonaws.com"},
                       {}, {"errorCode": "ResourceNotFoundException"}]
    described = cloudtrail.describe_query(QueryId=query["QueryId"])
    assert described["QueryStatus"] == "FINISHED"
    listed = cloudtrail.list_queries(EventDataStore=store["EventDataStoreArn"])
    assert listed["Queries"][0]["QueryId"] == query["QueryId"]
    code, _, _ = client_error(cloudtrail.start_query, QueryStatement=f"DELETE FROM {eds_id}")
    assert code == "InvalidQueryStatementException"
    cloudtrail.delete_event_data_store(EventDataStore=store["EventDataStoreArn"])
