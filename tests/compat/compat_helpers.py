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


# ---------------------------------------------------------------------------
# Logs Insights

QUERY_UNFINISHED = ("Scheduled", "Running")


def wait_for_query(fetch, timeout_s=20.0, interval_s=0.05):
    """Calls `fetch()` (one GetQueryResults, through any client) until the status is no
    longer Scheduled or Running; returns that last response."""
    deadline = time.monotonic() + timeout_s
    seen = []
    while True:
        resp = fetch()
        if not seen or seen[-1] != resp["status"]:
            seen.append(resp["status"])
        if resp["status"] not in QUERY_UNFINISHED:
            return resp
        if time.monotonic() > deadline:
            pytest.fail(f"query not finished after {timeout_s}s; statuses seen: {seen}")
        time.sleep(interval_s)


def insights_rows(results, keep_ptr=False):
    """GetQueryResults' `results` as lists of (field, value) pairs, `@ptr` left out unless
    asked for."""
    return [
        [(f["field"], f["value"]) for f in row if keep_ptr or f["field"] != "@ptr"]
        for row in results
    ]


def insights_time(ms):
    """An epoch-ms time as Insights shows it: `YYYY-MM-DD HH:MM:SS.mmm`, UTC."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}"
