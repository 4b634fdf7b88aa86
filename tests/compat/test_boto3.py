"""A user's journey with boto3 against a real Trailwatch server (SigV4 verified).

Expected values come from /work/shared/reference/logs-api.md (section numbers in the
comments). Each test uses its own log group names.
"""

import json
import re
import uuid
from datetime import datetime, timedelta, timezone

import boto3
import botocore.auth
import pytest

from compat_helpers import (
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    UUID_RE,
    client_error,
    filter_all,
    messages,
    now_ms,
    put,
)
from conftest import REGION, Server, client_config, make_client, read_credentials

GROUP_NOT_FOUND = "The specified log group does not exist."
STREAM_NOT_FOUND = "The specified log stream does not exist."


def group_arn(account_id, name, region=REGION):
    return f"arn:aws:logs:{region}:{account_id}:log-group:{name}"


# ---------------------------------------------------------------------------
# Log groups, tags


def test_group_lifecycle_and_tags(logs, account_id, unique):
    g = unique()
    arn = group_arn(account_id, g)
    before = now_ms()
    resp = logs.create_log_group(logGroupName=g, tags={"team": "core", "env": "test"})
    after = now_ms()
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert UUID_RE.match(resp["ResponseMetadata"]["RequestId"])

    groups = logs.describe_log_groups(logGroupNamePrefix=g)["logGroups"]
    assert len(groups) == 1
    group = groups[0]
    created = group.pop("creationTime")
    assert before - 1000 <= created <= after + 1000
    # §2.2: what AWS returns for a fresh group.
    assert group == {
        "logGroupName": g,
        "metricFilterCount": 0,
        "arn": arn + ":*",
        "storedBytes": 0,
        "logGroupClass": "STANDARD",
        "logGroupArn": arn,
        "deletionProtectionEnabled": False,
    }

    # Tags given at creation, seen by both tagging APIs (§2.4 TagLogGroup).
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "core", "env": "test"}
    assert logs.list_tags_log_group(logGroupName=g)["tags"] == {"team": "core", "env": "test"}

    # TagResource adds and overwrites; UntagResource removes.
    logs.tag_resource(resourceArn=arn, tags={"owner": "me", "env": "prod"})
    logs.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"env": "prod", "owner": "me"}
    assert logs.list_tags_log_group(logGroupName=g)["tags"] == {"env": "prod", "owner": "me"}

    # The old API writes the same tag set.
    logs.tag_log_group(logGroupName=g, tags={"cost-center": "42"})
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {
        "env": "prod",
        "owner": "me",
        "cost-center": "42",
    }
    logs.untag_log_group(logGroupName=g, tags=["owner", "cost-center"])
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"env": "prod"}
    assert logs.list_tags_log_group(logGroupName=g)["tags"] == {"env": "prod"}

    # Duplicate name (§2.4 CreateLogGroup): no final period.
    assert client_error(logs.create_log_group, logGroupName=g) == (
        "ResourceAlreadyExistsException",
        "The specified log group already exists",
        400,
    )

    logs.delete_log_group(logGroupName=g)
    assert logs.describe_log_groups(logGroupNamePrefix=g)["logGroups"] == []
    assert client_error(logs.delete_log_group, logGroupName=g) == (
        "ResourceNotFoundException",
        GROUP_NOT_FOUND,
        400,
    )
    code, _, status = client_error(logs.list_tags_for_resource, resourceArn=arn)
    assert (code, status) == ("ResourceNotFoundException", 400)
    assert client_error(logs.list_tags_log_group, logGroupName=g) == (
        "ResourceNotFoundException",
        GROUP_NOT_FOUND,
        400,
    )


def test_group_errors(logs, unique):
    g = unique()
    for call, kwargs in [
        (logs.delete_log_group, {"logGroupName": g}),
        (logs.describe_log_streams, {"logGroupName": g}),
        (logs.create_log_stream, {"logGroupName": g, "logStreamName": "s"}),
        (logs.get_log_events, {"logGroupName": g, "logStreamName": "s"}),
        (logs.filter_log_events, {"logGroupName": g}),
        (logs.put_retention_policy, {"logGroupName": g, "retentionInDays": 7}),
        (logs.delete_retention_policy, {"logGroupName": g}),
        (
            logs.put_log_events,
            {"logGroupName": g, "logStreamName": "s", "logEvents": [{"timestamp": now_ms(), "message": "x"}]},
        ),
    ]:
        assert client_error(call, **kwargs) == ("ResourceNotFoundException", GROUP_NOT_FOUND, 400), call

    # §2.3: prefix and pattern are mutually exclusive.
    assert client_error(logs.describe_log_groups, logGroupNamePrefix="a", logGroupNamePattern="b") == (
        "InvalidParameterException",
        "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.",
        400,
    )


def test_describe_log_groups_paging(logs, account_id, unique):
    prefix = unique("p")
    names = [f"{prefix}/{i}" for i in range(5)]
    for name in reversed(names):  # created out of order; listed in ASCII order
        logs.create_log_group(logGroupName=name)
    # A group sharing the prefix string but not below it still matches a prefix.
    logs.create_log_group(logGroupName=prefix + "-sibling")
    expected = names + [prefix + "-sibling"]

    # boto3's paginator, one group per page.
    pages = list(
        logs.get_paginator("describe_log_groups").paginate(
            logGroupNamePrefix=prefix, PaginationConfig={"PageSize": 1}
        )
    )
    assert [[g["logGroupName"] for g in p["logGroups"]] for p in pages] == [[n] for n in sorted(expected)]
    assert "nextToken" not in pages[-1]

    # By hand: a token while more remain, none on the last page.
    first = logs.describe_log_groups(logGroupNamePrefix=prefix + "/", limit=2)
    assert [g["logGroupName"] for g in first["logGroups"]] == names[:2]
    second = logs.describe_log_groups(logGroupNamePrefix=prefix + "/", limit=2, nextToken=first["nextToken"])
    assert [g["logGroupName"] for g in second["logGroups"]] == names[2:4]
    third = logs.describe_log_groups(logGroupNamePrefix=prefix + "/", limit=2, nextToken=second["nextToken"])
    assert [g["logGroupName"] for g in third["logGroups"]] == names[4:]
    assert "nextToken" not in third

    # limit out of range (§1.6 wording).
    assert client_error(logs.describe_log_groups, limit=51) == (
        "InvalidParameterException",
        "1 validation error detected: Value '51' at 'limit' failed to satisfy constraint: "
        "Member must have value less than or equal to 50",
        400,
    )

    # ListLogGroups: a case-sensitive substring pattern, summaries only (§2.3).
    token = prefix.split("/")[-2]
    listed = logs.list_log_groups(logGroupNamePattern=token)["logGroups"]
    assert listed == [
        {"logGroupName": n, "logGroupArn": group_arn(account_id, n), "logGroupClass": "STANDARD"}
        for n in sorted(expected)
    ]


def test_region_isolation(client_factory, account_id, unique):
    east = client_factory("logs", region="us-east-1")
    west = client_factory("logs", region="eu-west-1")
    g = unique()
    west.create_log_group(logGroupName=g)
    assert east.describe_log_groups(logGroupNamePrefix=g)["logGroups"] == []
    (group,) = west.describe_log_groups(logGroupNamePrefix=g)["logGroups"]
    assert group["logGroupArn"] == group_arn(account_id, g, "eu-west-1")
    # The same name is free in the other region.
    east.create_log_group(logGroupName=g)
    east.delete_log_group(logGroupName=g)
    west.delete_log_group(logGroupName=g)


def test_retention(logs, unique):
    g = unique()
    logs.create_log_group(logGroupName=g)
    logs.put_retention_policy(logGroupName=g, retentionInDays=7)
    (group,) = logs.describe_log_groups(logGroupNamePrefix=g)["logGroups"]
    assert group["retentionInDays"] == 7

    # 2 is not one of the allowed values (aws-formats.md §8.3).
    code, message, status = client_error(logs.put_retention_policy, logGroupName=g, retentionInDays=2)
    assert (code, status) == ("InvalidParameterException", 400)
    assert message.startswith(
        "1 validation error detected: Value '2' at 'retentionInDays' failed to satisfy constraint: "
    ), message
    (group,) = logs.describe_log_groups(logGroupNamePrefix=g)["logGroups"]
    assert group["retentionInDays"] == 7

    logs.put_retention_policy(logGroupName=g, retentionInDays=3653)
    (group,) = logs.describe_log_groups(logGroupNamePrefix=g)["logGroups"]
    assert group["retentionInDays"] == 3653

    logs.delete_retention_policy(logGroupName=g)
    (group,) = logs.describe_log_groups(logGroupNamePrefix=g)["logGroups"]
    assert "retentionInDays" not in group  # §1.2: absent, not null

    # Events older than the retention period are rejected as expired (aws-formats §8.4).
    logs.put_retention_policy(logGroupName=g, retentionInDays=1)
    logs.create_log_stream(logGroupName=g, logStreamName="s")
    now = now_ms()
    resp = put(
        logs,
        g,
        "s",
        [(now - 24 * HOUR_MS - 30 * MINUTE_MS, "expired"), (now - 24 * HOUR_MS - 20 * MINUTE_MS, "expired too"), (now - 23 * HOUR_MS, "kept")],
    )
    assert resp["rejectedLogEventsInfo"] == {"expiredLogEventEndIndex": 2}
    got = logs.get_log_events(logGroupName=g, logStreamName="s", startFromHead=True)
    assert messages(got["events"]) == ["kept"]


# ---------------------------------------------------------------------------
# Streams and events


def test_put_and_get_log_events(logs, account_id, unique):
    g = unique()
    logs.create_log_group(logGroupName=g)
    logs.create_log_stream(logGroupName=g, logStreamName="app/1")
    base = now_ms() - 30 * MINUTE_MS
    all_msgs = [f"event {i:03d}" for i in range(150)]
    t0 = now_ms()
    tokens = []
    for batch in range(3):  # three batches of 50
        resp = put(logs, g, "app/1", [(base + i * 1000, all_msgs[i]) for i in range(batch * 50, batch * 50 + 50)])
        assert "rejectedLogEventsInfo" not in resp
        assert isinstance(resp["nextSequenceToken"], str) and resp["nextSequenceToken"]
        tokens.append(resp["nextSequenceToken"])
    t1 = now_ms()

    # Everything from the head.
    resp = logs.get_log_events(logGroupName=g, logStreamName="app/1", startFromHead=True)
    assert messages(resp["events"]) == all_msgs
    assert [e["timestamp"] for e in resp["events"]] == [base + i * 1000 for i in range(150)]
    assert all(t0 - 1000 <= e["ingestionTime"] <= t1 + 1000 for e in resp["events"])
    assert set(resp["events"][0]) == {"timestamp", "message", "ingestionTime"}
    assert resp["nextForwardToken"].startswith("f/")
    assert resp["nextBackwardToken"].startswith("b/")

    # The default reads from the tail (startFromHead=false); a page is in time order.
    resp = logs.get_log_events(logGroupName=g, logStreamName="app/1", limit=10)
    assert messages(resp["events"]) == all_msgs[140:]

    # Time bounds: startTime inclusive, endTime exclusive (§2.3).
    resp = logs.get_log_events(
        logGroupName=g, logStreamName="app/1", startTime=base + 10_000, endTime=base + 20_000, startFromHead=True
    )
    assert messages(resp["events"]) == all_msgs[10:20]

    # Forward paging until the same token comes back (§2.3).
    token, pages, seen = None, [], []
    for _ in range(20):
        kwargs = {"nextToken": token} if token else {}
        resp = logs.get_log_events(logGroupName=g, logStreamName="app/1", startFromHead=True, limit=40, **kwargs)
        pages.append(len(resp["events"]))
        seen += messages(resp["events"])
        if resp["nextForwardToken"] == token:
            break
        token = resp["nextForwardToken"]
    assert pages == [40, 40, 40, 30, 0]
    assert seen == all_msgs

    # Backward paging from the tail with nextBackwardToken.
    token, pages, chunks = None, [], []
    for _ in range(20):
        kwargs = {"nextToken": token} if token else {}
        resp = logs.get_log_events(logGroupName=g, logStreamName="app/1", limit=40, **kwargs)
        pages.append(len(resp["events"]))
        chunks.insert(0, messages(resp["events"]))
        if resp["nextBackwardToken"] == token:
            break
        token = resp["nextBackwardToken"]
    assert pages == [40, 40, 40, 30, 0]
    assert [m for c in chunks for m in c] == all_msgs

    # A name or an ARN identifies the group (§2.1).
    resp = logs.get_log_events(
        logGroupIdentifier=group_arn(account_id, g), logStreamName="app/1", startFromHead=True, limit=3
    )
    assert messages(resp["events"]) == all_msgs[:3]

    # The stream's description reflects its events.
    (stream,) = logs.describe_log_streams(logGroupName=g)["logStreams"]
    assert stream["logStreamName"] == "app/1"
    assert stream["firstEventTimestamp"] == base
    assert stream["lastEventTimestamp"] == base + 149_000
    assert t0 - 1000 <= stream["lastIngestionTime"] <= t1 + 1000
    assert stream["arn"] == f"{group_arn(account_id, g)}:log-stream:app/1"
    assert stream["storedBytes"] == 0


def test_get_log_events_errors(logs, unique):
    g = unique()
    logs.create_log_group(logGroupName=g)
    logs.create_log_stream(logGroupName=g, logStreamName="s")
    assert client_error(logs.get_log_events, logGroupName=g, logStreamName="nope") == (
        "ResourceNotFoundException",
        STREAM_NOT_FOUND,
        400,
    )
    assert client_error(
        logs.put_log_events,
        logGroupName=g,
        logStreamName="nope",
        logEvents=[{"timestamp": now_ms(), "message": "x"}],
    ) == ("ResourceNotFoundException", STREAM_NOT_FOUND, 400)
    assert client_error(logs.get_log_events, logGroupName=g, logStreamName="s", nextToken="garbage") == (
        "InvalidParameterException",
        "The specified nextToken is invalid.",
        400,
    )
    assert client_error(logs.filter_log_events, logGroupName=g, nextToken="garbage") == (
        "InvalidParameterException",
        "The specified nextToken is invalid.",
        400,
    )
    limit_message = (
        "1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: "
        "Member must have value less than or equal to 10000"
    )
    assert client_error(logs.get_log_events, logGroupName=g, logStreamName="s", limit=10001) == (
        "InvalidParameterException",
        limit_message,
        400,
    )
    assert client_error(logs.filter_log_events, logGroupName=g, limit=10001) == (
        "InvalidParameterException",
        limit_message,
        400,
    )
    # Name and identifier together: ValidationException (§2.3).
    assert client_error(logs.describe_log_streams, logGroupName=g, logGroupIdentifier=g) == (
        "ValidationException",
        "LogGroup name and LogGroup ARN are mutually exclusive parameters.",
        400,
    )
    assert client_error(logs.create_log_stream, logGroupName=g, logStreamName="s") == (
        "ResourceAlreadyExistsException",
        "The specified log stream already exists",
        400,
    )


def test_put_log_events_rejections(logs, unique):
    g = unique()
    logs.create_log_group(logGroupName=g)
    logs.create_log_stream(logGroupName=g, logStreamName="s")
    now = now_ms()

    # Out of order: the whole call fails (§2.4 PutLogEvents).
    assert client_error(put, logs, g, "s", [(now, "b"), (now - 1000, "a")]) == (
        "InvalidParameterException",
        "Log events in a single PutLogEvents request must be in chronological order.",
        400,
    )

    # A batch may span at most 24 hours; the whole call fails otherwise (aws-formats §8.4).
    code, _, status = client_error(put, logs, g, "s", [(now - 25 * HOUR_MS, "a"), (now, "b")])
    assert (code, status) == ("InvalidParameterException", 400)

    # Too old (> 14 days) and too new (> 2 h ahead) are rejected per event and the call
    # succeeds: tooOld's end index is exclusive, tooNew's start index inclusive.
    resp = put(logs, g, "s", [(now - 15 * DAY_MS, "too old a"), (now - 15 * DAY_MS + HOUR_MS, "too old b")])
    assert resp["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 2}
    assert resp["nextSequenceToken"]
    resp = put(logs, g, "s", [(now + 3 * HOUR_MS, "too new")])
    assert resp["rejectedLogEventsInfo"] == {"tooNewLogEventStartIndex": 0}
    resp = put(logs, g, "s", [(now - 10 * MINUTE_MS, "kept 1"), (now + 3 * HOUR_MS, "too new")])
    assert resp["rejectedLogEventsInfo"] == {"tooNewLogEventStartIndex": 1}
    resp = put(
        logs,
        g,
        "s",
        [(now - 14 * DAY_MS - 30 * MINUTE_MS, "too old"), (now - 14 * DAY_MS + 30 * MINUTE_MS, "kept 2")],
    )
    assert resp["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 1}
    resp = put(logs, g, "s", [(now - 7 * MINUTE_MS, "kept 3"), (now + HOUR_MS, "one hour ahead is fine")])
    assert "rejectedLogEventsInfo" not in resp

    got = logs.get_log_events(logGroupName=g, logStreamName="s", startFromHead=True)
    assert messages(got["events"]) == ["kept 2", "kept 1", "kept 3", "one hour ahead is fine"]


def test_describe_log_streams_order(logs, account_id, unique):
    g = unique()
    logs.create_log_group(logGroupName=g)
    base = now_ms() - 20 * MINUTE_MS
    for name in ["s1", "s2", "s3", "s4"]:
        logs.create_log_stream(logGroupName=g, logStreamName=name)
    # Last event times: s2 newest, then s1, then s3; s4 stays empty.
    put(logs, g, "s1", [(base + 1000, "a"), (base + 5000, "b")])
    put(logs, g, "s2", [(base + 9000, "c")])
    put(logs, g, "s3", [(base + 2000, "d")])

    by_name = logs.describe_log_streams(logGroupName=g)["logStreams"]
    assert [s["logStreamName"] for s in by_name] == ["s1", "s2", "s3", "s4"]
    empty = by_name[3]
    # §2.2: an empty stream has only these members.
    assert set(empty) == {"arn", "creationTime", "logStreamName", "storedBytes"}
    assert empty["arn"] == f"{group_arn(account_id, g)}:log-stream:s4"

    by_time = logs.describe_log_streams(logGroupName=g, orderBy="LastEventTime", descending=True)["logStreams"]
    assert [s["logStreamName"] for s in by_time if "lastEventTimestamp" in s] == ["s2", "s1", "s3"]
    assert [s["lastEventTimestamp"] for s in by_time if "lastEventTimestamp" in s] == [
        base + 9000,
        base + 5000,
        base + 2000,
    ]
    assert len(by_time) == 4

    desc_names = logs.describe_log_streams(logGroupName=g, descending=True)["logStreams"]
    assert [s["logStreamName"] for s in desc_names] == ["s4", "s3", "s2", "s1"]

    prefixed = logs.describe_log_streams(logGroupName=g, logStreamNamePrefix="s2")["logStreams"]
    assert [s["logStreamName"] for s in prefixed] == ["s2"]

    pages = list(
        logs.get_paginator("describe_log_streams").paginate(logGroupName=g, PaginationConfig={"PageSize": 1})
    )
    assert [[s["logStreamName"] for s in p["logStreams"]] for p in pages] == [["s1"], ["s2"], ["s3"], ["s4"]]

    assert client_error(
        logs.describe_log_streams, logGroupName=g, orderBy="LastEventTime", logStreamNamePrefix="s"
    ) == ("InvalidParameterException", "Cannot order by LastEventTime with a logStreamNamePrefix.", 400)


def test_delete_stream_and_group(logs, unique):
    g = unique()
    logs.create_log_group(logGroupName=g)
    logs.create_log_stream(logGroupName=g, logStreamName="doomed")
    logs.create_log_stream(logGroupName=g, logStreamName="kept")
    now = now_ms()
    put(logs, g, "doomed", [(now - 2000, "gone soon")])
    put(logs, g, "kept", [(now - 1000, "still here")])

    logs.delete_log_stream(logGroupName=g, logStreamName="doomed")
    assert [s["logStreamName"] for s in logs.describe_log_streams(logGroupName=g)["logStreams"]] == ["kept"]
    assert client_error(logs.get_log_events, logGroupName=g, logStreamName="doomed") == (
        "ResourceNotFoundException",
        STREAM_NOT_FOUND,
        400,
    )
    assert client_error(logs.delete_log_stream, logGroupName=g, logStreamName="doomed") == (
        "ResourceNotFoundException",
        STREAM_NOT_FOUND,
        400,
    )
    # Its events are gone from the group too.
    assert messages(filter_all(logs, logGroupName=g)) == ["still here"]

    # A stream recreated with the same name starts empty.
    logs.create_log_stream(logGroupName=g, logStreamName="doomed")
    assert logs.get_log_events(logGroupName=g, logStreamName="doomed", startFromHead=True)["events"] == []

    logs.delete_log_group(logGroupName=g)
    assert client_error(logs.filter_log_events, logGroupName=g) == ("ResourceNotFoundException", GROUP_NOT_FOUND, 400)
    assert client_error(logs.delete_log_stream, logGroupName=g, logStreamName="kept") == (
        "ResourceNotFoundException",
        GROUP_NOT_FOUND,
        400,
    )

    # A group recreated with the same name has no streams and no events.
    logs.create_log_group(logGroupName=g)
    assert logs.describe_log_streams(logGroupName=g)["logStreams"] == []
    assert filter_all(logs, logGroupName=g) == []
    logs.delete_log_group(logGroupName=g)


# ---------------------------------------------------------------------------
# FilterLogEvents patterns (§3)

TERMS = [
    "[ERROR 400] BAD REQUEST",  # L1
    "[ERROR 401] UNAUTHORIZED REQUEST",  # L2
    "[ERROR 419] MISSING ARGUMENTS",  # L3
    "[ERROR 420] INVALID ARGUMENTS",  # L4
    "[ERROR 500] INTERNAL SERVER ERROR",  # L5
    "[SUCCESS 200] AUTHORIZED REQUEST",  # L6
    "[INFO] REQUEST FAILED",  # L7
    "[WARN] UNAUTHORIZED REQUEST",  # L8
    "[ERROR] 400 BAD REQUEST",  # L9
]
L = dict(zip(range(1, 10), TERMS))

JSONS = [
    '{"level": "ERROR", "latency": 250, "user": {"id": 1}, "msg": "timeout"}',  # J1
    '{"level": "ERROR", "latency": 50, "msg": "bad input"}',  # J2
    '{"level": "INFO", "latency": 300, "msg": "slow"}',  # J3
    '{"level": "WARN", "latency": 120, "optional": null}',  # J4
    '{"level": "ERROR", "latency": 101, "tags": ["a", "b"]}',  # J5
]
J = dict(zip(range(1, 6), JSONS))

ACCESS = [
    '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534',  # A1
    '10.0.0.2 - alice [10/Oct/2000:13:25:16 -0700] "POST /api/orders HTTP/1.1" 503 87',  # A2
    '10.0.0.3 - bob [10/Oct/2000:13:25:17 -0700] "GET /index.html HTTP/1.1" 500 0',  # A3
    '10.0.0.4 - carol [10/Oct/2000:13:25:18 -0700] "GET /missing.html HTTP/1.1" 404 312',  # A4
]
A = dict(zip(range(1, 5), ACCESS))

PATTERN_CASES = [
    # Terms (§3.2): substring, case-sensitive, AND; quoted phrases; - excludes; ? ORs.
    ("terms", "ERROR", [L[1], L[2], L[3], L[4], L[5], L[9]]),
    ("terms", "ERROR ARGUMENTS", [L[3], L[4]]),
    ("terms", '"INTERNAL SERVER ERROR"', [L[5]]),
    ("terms", '"[ERROR]" REQUEST', [L[9]]),
    ("terms", "ERROR -ARGUMENTS", [L[1], L[2], L[5], L[9]]),
    ("terms", "?BAD ?FAILED", [L[1], L[7], L[9]]),
    ("terms", "?ERROR ?ARGUMENTS REQUEST", [L[1], L[2], L[6], L[7], L[8], L[9]]),
    ("terms", "error", []),
    ("terms", "", TERMS),
    # Regex (§3.6).
    ("terms", "%AUTHORIZED%", [L[2], L[6], L[8]]),
    ("terms", r"%^\[ERROR 4[0-9]{2}\]%", [L[1], L[2], L[3], L[4]]),
    ("terms", "%ARGUMENTS$|^\\[INFO%", [L[3], L[4], L[7]]),
    # JSON (§3.3).
    ("json", '{ $.level = "ERROR" && $.latency > 100 }', [J[1], J[5]]),
    ("json", "{ $.level = ERR* }", [J[1], J[2], J[5]]),
    ("json", "{ $.optional IS NULL }", [J[4]]),
    ("json", "{ $.optional NOT EXISTS }", [J[1], J[2], J[3], J[5]]),
    ("json", '{ ($.level = "WARN") || ($.latency < 60) }', [J[2], J[4]]),
    ("json", "{ $.user.id = 1 }", [J[1]]),
    ("json", '{ $.tags[1] = "b" }', [J[5]]),
    ("json", '{ $.level != "ERROR" }', [J[3], J[4]]),
    ("json", "{ $.msg = %time% }", [J[1]]),
    # Space-delimited (§3.4).
    ("access", "[ip, user, ..., status = 5*, bytes]", [A[2], A[3]]),
    ("access", "[..., status, bytes > 1000]", [A[1]]),
    ("access", "[ip, identity, user, timestamp, request = *.html*, status_code = 4*, bytes]", [A[4]]),
    ("access", "[ip, identity, user = alice || user = carol, ...]", [A[2], A[4]]),
    ("access", r"[ip = %10\.0\.0\.[23]%, ...]", [A[2], A[3]]),
]


@pytest.fixture(scope="module")
def pattern_group(logs):
    g = f"compat/patterns/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=g)
    base = now_ms() - 10 * MINUTE_MS
    for offset, (stream, lines) in enumerate([("terms", TERMS), ("json", JSONS), ("access", ACCESS)]):
        logs.create_log_stream(logGroupName=g, logStreamName=stream)
        put(logs, g, stream, [(base + offset * 100_000 + i * 1000, m) for i, m in enumerate(lines)])
    yield g
    logs.delete_log_group(logGroupName=g)


@pytest.mark.parametrize(
    "stream,pattern,expected",
    PATTERN_CASES,
    ids=[f"{s}:{p or 'empty'}" for s, p, _ in PATTERN_CASES],
)
def test_filter_pattern(logs, pattern_group, stream, pattern, expected):
    events = filter_all(logs, logGroupName=pattern_group, logStreamNames=[stream], filterPattern=pattern)
    assert messages(events) == expected
    assert {e["logStreamName"] for e in events} <= {stream}
    assert len({e["eventId"] for e in events}) == len(events)


def test_filter_json_pattern_skips_non_json_events(logs, pattern_group):
    events = filter_all(logs, logGroupName=pattern_group, filterPattern='{ $.level = "ERROR" }')
    assert messages(events) == [J[1], J[2], J[5]]
    assert {e["logStreamName"] for e in events} == {"json"}


def test_filter_event_shape(logs, pattern_group):
    (event,) = filter_all(logs, logGroupName=pattern_group, filterPattern='"INTERNAL SERVER ERROR"')
    assert set(event) == {"logStreamName", "timestamp", "message", "ingestionTime", "eventId"}
    assert isinstance(event["eventId"], str)


def test_filter_invalid_pattern(logs, pattern_group):
    # §3.1: unquoted special characters; the exact text is only user-reported.
    code, message, status = client_error(logs.filter_log_events, logGroupName=pattern_group, filterPattern="foo(bar")
    assert (code, status) == ("InvalidParameterException", 400)
    assert message.startswith("Invalid character(s) in term"), message


def test_filter_paging_and_streams(logs, unique):
    g = unique()
    logs.create_log_group(logGroupName=g)
    logs.create_log_stream(logGroupName=g, logStreamName="a")
    logs.create_log_stream(logGroupName=g, logStreamName="b")
    base = now_ms() - 30 * MINUTE_MS
    n = 1200
    a = [(base + 200 * i, f"a {i:04d} {'even' if i % 2 == 0 else 'odd'}") for i in range(n)]
    b = [(base + 200 * i + 100, f"b {i:04d} {'even' if i % 2 == 0 else 'odd'}") for i in range(n)]
    for k in range(0, n, 600):
        put(logs, g, "a", a[k : k + 600])
        put(logs, g, "b", b[k : k + 600])
    interleaved = [m for pair in zip(a, b) for _, m in pair]

    # The paginator follows nextToken until it is absent.
    pages = list(
        logs.get_paginator("filter_log_events").paginate(logGroupName=g, PaginationConfig={"PageSize": 250})
    )
    events = [e for p in pages for e in p["events"]]
    assert messages(events) == interleaved
    assert all(len(p["events"]) <= 250 for p in pages)
    assert len(pages) >= 10
    assert "nextToken" not in pages[-1]
    assert len({e["eventId"] for e in events}) == 2 * n
    assert [e["logStreamName"] for e in events[:4]] == ["a", "b", "a", "b"]

    # Stream selection by name and by prefix; a pattern across pages.
    assert messages(filter_all(logs, logGroupName=g, logStreamNames=["b"])) == [m for _, m in b]
    assert messages(filter_all(logs, logGroupName=g, logStreamNamePrefix="a", filterPattern="even")) == [
        m for _, m in a if m.endswith("even")
    ]
    assert len(filter_all(logs, logGroupName=g, filterPattern="odd", PaginationConfig={"PageSize": 100})) == n

    # Time bounds: both ends inclusive for FilterLogEvents (§2.3).
    window = filter_all(logs, logGroupName=g, startTime=base + 1000, endTime=base + 2000)
    assert messages(window) == interleaved[10:21]

    # startFromHead=false reads newest first (allowed for startTime >= 2024-01-01).
    newest_first = filter_all(logs, logGroupName=g, startTime=base, startFromHead=False, PaginationConfig={"PageSize": 500})
    assert messages(newest_first) == interleaved[::-1]
    code, _, status = client_error(logs.filter_log_events, logGroupName=g, startTime=1000, startFromHead=False)
    assert (code, status) == ("InvalidParameterException", 400)

    # Both stream selectors at once (§2.3).
    code, _, status = client_error(logs.filter_log_events, logGroupName=g, logStreamNames=["a"], logStreamNamePrefix="a")
    assert (code, status) == ("InvalidParameterException", 400)


def test_same_timestamp_paging(logs, unique):
    """Paging must not skip or repeat events that share a timestamp."""
    g = unique()
    logs.create_log_group(logGroupName=g)
    t = now_ms() - MINUTE_MS
    for stream in ["a", "b"]:
        logs.create_log_stream(logGroupName=g, logStreamName=stream)
        put(logs, g, stream, [(t, f"{stream}{i:02d}") for i in range(50)])
    expected_a = [f"a{i:02d}" for i in range(50)]
    expected_b = [f"b{i:02d}" for i in range(50)]

    events = filter_all(logs, logGroupName=g, PaginationConfig={"PageSize": 7})
    assert sorted(messages(events)) == expected_a + expected_b
    # Within a stream, ingestion order is kept.
    assert [m for m in messages(events) if m[0] == "a"] == expected_a
    assert [m for m in messages(events) if m[0] == "b"] == expected_b

    token, seen = None, []
    for _ in range(20):
        kwargs = {"nextToken": token} if token else {}
        resp = logs.get_log_events(logGroupName=g, logStreamName="b", startFromHead=True, limit=7, **kwargs)
        seen += messages(resp["events"])
        if resp["nextForwardToken"] == token:
            break
        token = resp["nextForwardToken"]
    assert seen == expected_b


def test_follow_stream_with_forward_token(logs, unique):
    """A reader at the end of a stream picks up events that arrive later (how `tail -f`
    style clients use GetLogEvents)."""
    g = unique()
    logs.create_log_group(logGroupName=g)
    logs.create_log_stream(logGroupName=g, logStreamName="s")
    first = logs.get_log_events(logGroupName=g, logStreamName="s")
    assert first["events"] == []
    token = first["nextForwardToken"]
    now = now_ms()
    put(logs, g, "s", [(now - 2000, "one"), (now - 1000, "two")])
    resp = logs.get_log_events(logGroupName=g, logStreamName="s", startFromHead=True, nextToken=token)
    assert messages(resp["events"]) == ["one", "two"]
    token = resp["nextForwardToken"]
    resp = logs.get_log_events(logGroupName=g, logStreamName="s", startFromHead=True, nextToken=token)
    assert resp["events"] == [] and resp["nextForwardToken"] == token
    put(logs, g, "s", [(now, "three")])
    resp = logs.get_log_events(logGroupName=g, logStreamName="s", startFromHead=True, nextToken=token)
    assert messages(resp["events"]) == ["three"]


def test_message_bytes_round_trip(logs, unique):
    g = unique()
    logs.create_log_group(logGroupName=g)
    logs.create_log_stream(logGroupName=g, logStreamName="s")
    odd = [
        'h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c\u8a9e \U0001f389',
        '"quoted" \\ back\\slash\ttab',
        "trailing spaces and newline  \n",
        "\n",
        " ",
        "x" * 262_144,
    ]
    now = now_ms()
    put(logs, g, "s", [(now - 100 + i, m) for i, m in enumerate(odd)])
    got = logs.get_log_events(logGroupName=g, logStreamName="s", startFromHead=True)
    assert messages(got["events"]) == odd
    assert messages(filter_all(logs, logGroupName=g, filterPattern='"\u65e5\u672c\u8a9e"')) == [odd[0]]


def test_batch_limits(logs, unique):
    """aws-formats.md §8.4: 10,000 events and 1,048,576 bytes (message bytes + 26 each)."""
    g = unique()
    logs.create_log_group(logGroupName=g)
    logs.create_log_stream(logGroupName=g, logStreamName="s")
    now = now_ms()
    assert "rejectedLogEventsInfo" not in put(logs, g, "s", [(now, "x" * (1_048_576 - 26))])
    code, _, status = client_error(put, logs, g, "s", [(now, "x" * (1_048_576 - 25))])
    assert (code, status) == ("InvalidParameterException", 400)
    assert "rejectedLogEventsInfo" not in put(logs, g, "s", [(now, "y")] * 10_000)
    code, message, status = client_error(put, logs, g, "s", [(now, "z")] * 10_001)
    assert (code, status) == ("InvalidParameterException", 400)
    assert message.endswith("Member must have length less than or equal to 10000"), message
    assert len(filter_all(logs, logGroupName=g)) == 10_001


def test_name_validation(logs, unique):
    # §1.6 special case, recorded against AWS.
    assert client_error(logs.create_log_group, logGroupName="x" * 513) == (
        "InvalidParameterException",
        "Invalid LogGroup or LogStream, both must have length less than or equal to 512.",
        400,
    )
    code, message, status = client_error(logs.create_log_group, logGroupName="bad name!")
    assert (code, status) == ("InvalidParameterException", 400)
    assert message.startswith(
        "1 validation error detected: Value 'bad name!' at 'logGroupName' failed to satisfy constraint: "
    ), message
    g = unique()
    logs.create_log_group(logGroupName=g)
    code, message, status = client_error(logs.create_log_stream, logGroupName=g, logStreamName="bad:name")
    assert (code, status) == ("InvalidParameterException", 400)
    assert message.startswith(
        "1 validation error detected: Value 'bad:name' at 'logStreamName' failed to satisfy constraint: "
    ), message
    # Every character the model allows in a group name.
    odd = unique("A-Z_a.z#0/9")
    logs.create_log_group(logGroupName=odd)
    assert [x["logGroupName"] for x in logs.describe_log_groups(logGroupNamePrefix=odd)["logGroups"]] == [odd]


def test_kms_key_and_empty_tags(logs, account_id, unique):
    g = unique()
    key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    logs.create_log_group(logGroupName=g, kmsKeyId=key)
    (group,) = logs.describe_log_groups(logGroupNamePrefix=g)["logGroups"]
    assert group["kmsKeyId"] == key
    assert logs.list_tags_for_resource(resourceArn=group_arn(account_id, g)).get("tags", {}) == {}
    assert logs.list_tags_log_group(logGroupName=g).get("tags", {}) == {}


def test_too_many_tags(logs, account_id, unique):
    g = unique()
    arn = group_arn(account_id, g)
    logs.create_log_group(logGroupName=g)
    logs.tag_resource(resourceArn=arn, tags={f"k{i:02d}": "v" for i in range(50)})
    logs.tag_resource(resourceArn=arn, tags={"k00": "overwriting is not adding"})
    with pytest.raises(logs.exceptions.TooManyTagsException) as info:
        logs.tag_resource(resourceArn=arn, tags={"k50": "one too many"})
    # §1.3: TooManyTagsException carries resourceName.
    assert info.value.response["resourceName"] == arn
    tags = logs.list_tags_for_resource(resourceArn=arn)["tags"]
    assert len(tags) == 50 and tags["k00"] == "overwriting is not adding"


def test_describe_log_groups_with_pattern_fields(logs, unique):
    g = unique()
    logs.create_log_group(logGroupName=g)
    token = g.split("/")[-2]
    (group,) = logs.describe_log_groups(logGroupNamePattern=token)["logGroups"]
    assert group["logGroupName"] == g
    assert set(group) == {"arn", "creationTime", "logGroupArn", "logGroupClass", "logGroupName", "metricFilterCount"}


def test_restart_keeps_data_and_credentials(trailwatch_bin, tmp_path):
    """SIGTERM flushes; a restart on the same data dir serves the same events and keys
    and does not create another admin."""
    srv = Server(binary=trailwatch_bin, data_dir=tmp_path / "data", dev=False).start()
    try:
        creds = read_credentials(srv.data_dir / "credentials")
        logs = make_client("logs", srv.endpoint, creds.access_key_id, creds.secret_access_key)
        logs.create_log_group(logGroupName="persist", tags={"k": "v"})
        logs.create_log_stream(logGroupName="persist", logStreamName="s")
        now = now_ms()
        put(logs, "persist", "s", [(now - 1000 + i, f"m{i}") for i in range(500)])
        logs.put_retention_policy(logGroupName="persist", retentionInDays=30)
    finally:
        code = srv.stop()
    assert code == 0, srv.stderr()
    assert any(line.startswith("First start: created account") for line in srv.stdout_lines)

    again = Server(binary=trailwatch_bin, data_dir=tmp_path / "data", dev=False).start()
    try:
        assert read_credentials(again.data_dir / "credentials") == creds
        assert not any(line.startswith("First start") for line in again.stdout_lines)
        logs = make_client("logs", again.endpoint, creds.access_key_id, creds.secret_access_key)
        got = logs.get_log_events(logGroupName="persist", logStreamName="s", startFromHead=True)
        assert messages(got["events"]) == [f"m{i}" for i in range(500)]
        (group,) = logs.describe_log_groups(logGroupNamePrefix="persist")["logGroups"]
        assert group["retentionInDays"] == 30
        assert logs.list_tags_log_group(logGroupName="persist")["tags"] == {"k": "v"}
    finally:
        code = again.stop()
    assert code == 0, again.stderr()


# ---------------------------------------------------------------------------
# Credentials and authorization


def test_credentials_file_profile(endpoint, credentials, monkeypatch, tmp_path):
    """The credentials file the first start writes works as boto3's shared file."""
    for var in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"]:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials.path))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    session = boto3.session.Session(profile_name="default", region_name=REGION)
    client = session.client("logs", endpoint_url=endpoint, config=client_config())
    resp = client.describe_log_groups(limit=1)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_unknown_access_key(client_factory):
    logs = client_factory("logs", access_key_id="AKIAUNKNOWNUNKNOWN00", secret_access_key="x" * 40)
    assert client_error(logs.describe_log_groups) == (
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
        400,
    )


def test_wrong_secret(client_factory, credentials):
    logs = client_factory("logs", secret_access_key="wrong" + credentials.secret_access_key[5:])
    code, message, status = client_error(logs.describe_log_groups)
    assert (code, status) == ("InvalidSignatureException", 400)
    assert message.startswith(
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
    ), message


def test_clock_skew(logs, monkeypatch):
    signed_at = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0) - timedelta(minutes=10)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: signed_at)
    code, message, status = client_error(logs.describe_log_groups)
    assert (code, status) == ("InvalidSignatureException", 400)
    # §4.8: "Signature expired: <X-Amz-Date> is now earlier than <now-5min> (<now> - 5 min.)"
    m = re.fullmatch(r"Signature expired: (\d{8}T\d{6}Z) is now earlier than (\d{8}T\d{6}Z) \((\d{8}T\d{6}Z) - 5 min\.\)", message)
    assert m, message
    fmt = "%Y%m%dT%H%M%SZ"
    request_time, earliest, now = (datetime.strptime(x, fmt) for x in m.groups())
    assert request_time == signed_at
    assert now - earliest == timedelta(minutes=5)
    assert abs(now - (signed_at + timedelta(minutes=10))) < timedelta(minutes=1)


@pytest.fixture
def describe_only_user(iam, account_id, client_factory):
    """A user made through boto3's IAM client, allowed only logs:Describe*."""
    name = f"compat-{uuid.uuid4().hex[:8]}"
    created = iam.create_user(UserName=name)["User"]
    assert created["UserName"] == name
    assert created["Arn"] == f"arn:aws:iam::{account_id}:user/{name}"
    assert created["Path"] == "/"
    assert created["UserId"]
    assert iam.get_user(UserName=name)["User"]["Arn"] == created["Arn"]
    assert {u["UserName"] for u in iam.list_users()["Users"]} >= {"admin", name}

    key = iam.create_access_key(UserName=name)["AccessKey"]
    assert key["UserName"] == name
    assert key["Status"] == "Active"
    iam.put_user_policy(
        UserName=name,
        PolicyName="describe-only",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "logs:Describe*", "Resource": "*"}],
            }
        ),
    )
    return {
        "name": name,
        "arn": created["Arn"],
        "logs": client_factory("logs", key["AccessKeyId"], key["SecretAccessKey"]),
        "iam": client_factory("iam", key["AccessKeyId"], key["SecretAccessKey"]),
    }


def test_iam_user_with_describe_only_policy(logs, iam, account_id, unique, describe_only_user):
    user_logs = describe_only_user["logs"]
    g = unique()
    logs.create_log_group(logGroupName=g)
    logs.create_log_stream(logGroupName=g, logStreamName="s")
    put(logs, g, "s", [(now_ms() - 1000, "secret")])

    # logs:Describe* covers DescribeLogGroups and DescribeLogStreams.
    assert [x["logGroupName"] for x in user_logs.describe_log_groups(logGroupNamePrefix=g)["logGroups"]] == [g]
    assert [s["logStreamName"] for s in user_logs.describe_log_streams(logGroupName=g)["logStreams"]] == ["s"]

    # Anything else is denied (§1.5 AccessDeniedException, HTTP 400 on Logs).
    other = unique("denied")
    code, message, status = client_error(user_logs.create_log_group, logGroupName=other)
    assert (code, status) == ("AccessDeniedException", 400)
    assert message.startswith(
        f"User: {describe_only_user['arn']} is not authorized to perform: logs:CreateLogGroup on resource: "
        f"arn:aws:logs:{REGION}:{account_id}:log-group:{other}"
    ), message
    assert logs.describe_log_groups(logGroupNamePrefix=other)["logGroups"] == []

    code, message, status = client_error(user_logs.filter_log_events, logGroupName=g)
    assert (code, status) == ("AccessDeniedException", 400)
    assert "logs:FilterLogEvents" in message
    code, _, _ = client_error(user_logs.put_log_events, logGroupName=g, logStreamName="s", logEvents=[{"timestamp": now_ms(), "message": "x"}])
    assert code == "AccessDeniedException"
    code, _, _ = client_error(user_logs.delete_log_group, logGroupName=g)
    assert code == "AccessDeniedException"
    assert [x["logGroupName"] for x in logs.describe_log_groups(logGroupNamePrefix=g)["logGroups"]] == [g]


def test_iam_user_cannot_call_iam(describe_only_user):
    """IAM is a query-protocol service: its denial code is `AccessDenied`, HTTP 403
    (e.g. hashicorp/boundary#4287: "AccessDenied: User: ... is not authorized to perform:
    iam:CreateUser on resource: ... because no identity-based policy allows the
    iam:CreateUser action / status code: 403")."""
    code, message, status = client_error(describe_only_user["iam"].create_user, UserName="not-allowed")
    assert "iam:CreateUser" in message
    assert (code, status) == ("AccessDenied", 403)


def test_iam_errors(iam):
    """IAM's own codes for a duplicate user, an unknown user, and bad credentials."""
    name = f"compat-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    code, _, status = client_error(iam.create_user, UserName=name)
    assert (code, status) == ("EntityAlreadyExists", 409)
    code, _, status = client_error(iam.get_user, UserName=name + "-missing")
    assert (code, status) == ("NoSuchEntity", 404)


def test_iam_unknown_access_key(client_factory):
    """IAM answers an unknown key with InvalidClientTokenId, HTTP 403 (a raw IAM body in
    aws/aws-cli#8918; the text has no final period there, with one in other reports)."""
    unknown = client_factory("iam", access_key_id="AKIAUNKNOWNUNKNOWN00", secret_access_key="x" * 40)
    code, message, status = client_error(unknown.get_user)
    assert (code, status) == ("InvalidClientTokenId", 403)
    assert message.rstrip(".") == "The security token included in the request is invalid"


def test_iam_wrong_secret(client_factory, credentials):
    wrong = client_factory("iam", secret_access_key="wrong" + credentials.secret_access_key[5:])
    code, message, status = client_error(wrong.get_user)
    assert (code, status) == ("SignatureDoesNotMatch", 403)
    assert message.startswith("The request signature we calculated does not match the signature you provided.")


def test_dev_server_accepts_any_credentials(dev_server, unique):
    """`--dev` skips SigV4: made-up credentials work, and the region still scopes state."""
    fake = boto3.session.Session(aws_access_key_id="dev", aws_secret_access_key="dev", region_name="us-west-2")
    logs = fake.client("logs", endpoint_url=dev_server.endpoint, config=client_config())
    g = unique()
    logs.create_log_group(logGroupName=g)
    logs.create_log_stream(logGroupName=g, logStreamName="s")
    put(logs, g, "s", [(now_ms(), "hello dev")])
    assert messages(logs.get_log_events(logGroupName=g, logStreamName="s", startFromHead=True)["events"]) == [
        "hello dev"
    ]
    other = boto3.session.Session(aws_access_key_id="other", aws_secret_access_key="x", region_name="us-west-2")
    assert [
        x["logGroupName"]
        for x in other.client("logs", endpoint_url=dev_server.endpoint, config=client_config()).describe_log_groups(
            logGroupNamePrefix=g
        )["logGroups"]
    ] == [g]
