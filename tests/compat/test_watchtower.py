"""watchtower's CloudWatchLogHandler shipping Python `logging` records to Trailwatch."""

import json
import logging
import uuid
import warnings

import watchtower

from compat_helpers import filter_all, messages

RECORDS = 10_000


def ship(client, group, stream, records, **handler_kwargs):
    """Logs `records` through a fresh logger and watchtower handler; returns the
    WatchtowerWarnings raised (watchtower reports delivery failures only as warnings)."""
    logger = logging.getLogger(f"compat.watchtower.{uuid.uuid4().hex}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        handler = watchtower.CloudWatchLogHandler(
            log_group_name=group, log_stream_name=stream, boto3_client=client, **handler_kwargs
        )
        logger.addHandler(handler)
        try:
            for record in records:
                logger.info(record)
            handler.flush()
        finally:
            handler.close()
            logger.removeHandler(handler)
    return [w for w in caught if issubclass(w.category, watchtower.WatchtowerWarning)]


def test_watchtower_ships_10000_records(logs):
    group = f"compat/watchtower/{uuid.uuid4().hex[:8]}"
    sent = [f"record {i:05d} from watchtower" for i in range(RECORDS)]
    problems = ship(logs, group, "app", sent, send_interval=1)
    assert [str(w.message) for w in problems] == []

    # watchtower created the group (after a DescribeLogGroups) and the stream itself.
    (g,) = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert g["logGroupName"] == group
    assert [s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group)["logStreams"]] == ["app"]

    pages = list(
        logs.get_paginator("filter_log_events").paginate(logGroupName=group, PaginationConfig={"PageSize": 3000})
    )
    events = [e for p in pages for e in p["events"]]
    assert len(events) == RECORDS
    assert len(pages) >= 4
    assert messages(events) == sent
    assert {e["logStreamName"] for e in events} == {"app"}
    timestamps = [e["timestamp"] for e in events]
    assert timestamps == sorted(timestamps)

    # The same count through FilterLogEvents with a pattern, and through GetLogEvents.
    assert len(filter_all(logs, logGroupName=group, filterPattern="watchtower")) == RECORDS
    assert len(filter_all(logs, logGroupName=group, filterPattern='"record 01"')) == 1000
    got = logs.get_log_events(logGroupName=group, logStreamName="app", startFromHead=True)
    assert messages(got["events"]) == sent


def test_watchtower_structured_records_and_retention(logs):
    """Dict records become JSON events that JSON filter patterns can query; the handler's
    retention setting lands on the group; a second handler reuses the existing group."""
    group = f"compat/watchtower/{uuid.uuid4().hex[:8]}"
    records = [{"event": "login", "user": f"u{i}", "ok": i % 3 != 0, "ms": i * 10} for i in range(30)]
    problems = ship(logs, group, "json", records, log_group_retention_days=7, send_interval=1)
    assert [str(w.message) for w in problems] == []
    (g,) = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert g["retentionInDays"] == 7

    events = filter_all(logs, logGroupName=group)
    assert [json.loads(m) for m in messages(events)] == records
    failed = filter_all(logs, logGroupName=group, filterPattern="{ $.ok IS FALSE }")
    assert [json.loads(m)["user"] for m in messages(failed)] == [f"u{i}" for i in range(0, 30, 3)]
    slow = filter_all(logs, logGroupName=group, filterPattern="{ $.ms >= 250 && $.ok IS TRUE }")
    assert [json.loads(m)["user"] for m in messages(slow)] == ["u25", "u26", "u28", "u29"]

    # A second handler on the same group and a new stream: no errors, no duplicates.
    problems = ship(logs, group, "second", ["again"], send_interval=1)
    assert [str(w.message) for w in problems] == []
    assert messages(filter_all(logs, logGroupName=group, logStreamNames=["second"])) == ["again"]
