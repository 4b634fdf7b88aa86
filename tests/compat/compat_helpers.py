"""Small helpers shared by the compat tests (no fixtures here; see conftest.py)."""

import re
import time

import pytest
from botocore.exceptions import ClientError

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def now_ms():
    return int(time.time() * 1000)


def client_error(call, *args, **kwargs):
    """Runs a boto3 call that must fail; returns (code, message, http_status)."""
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    response = info.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


def put(logs, group, stream, events):
    """PutLogEvents with (timestamp, message) pairs; returns the response."""
    return logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": t, "message": m} for t, m in events],
    )


def filter_all(logs, **kwargs):
    """Every FilterLogEvents event, through boto3's paginator."""
    paginator = logs.get_paginator("filter_log_events")
    events = []
    for page in paginator.paginate(**kwargs):
        assert page["searchedLogStreams"] == []
        events.extend(page["events"])
    return events


def messages(events):
    return [e["message"] for e in events]
