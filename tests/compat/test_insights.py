"""Logs Insights through boto3 and the aws CLI (v1) against a real Trailwatch server.

One module-wide data set (`data`): two groups under one prefix plus a decoy group that
shares the prefix string but not the trailing slash, JSON and plain events in several
streams, all at fixed offsets from a minute-aligned `base`. Every expected row below is
written out from that data: times as `YYYY-MM-DD HH:MM:SS.mmm` UTC, every value a
string, rows newest first unless the query sorts (aws-formats.md §6; logs-api.md
StartQuery: startTime/endTime are epoch seconds, both inclusive).
"""

import json
import subprocess
import uuid
from dataclasses import dataclass

import pytest

from compat_helpers import (
    HOUR_MS,
    UUID_RE,
    client_error,
    insights_rows,
    insights_time,
    now_ms,
    wait_for_query,
)
from conftest import REGION, venv_tool

# Offsets in ms from `base`, and the exact message of each event.
WEB = [  # group api, stream web: JSON
    (0, '{"level": "INFO", "path": "/a", "latency": 9, "user": "ana", "ip": "10.0.1.5"}'),
    (10_000, '{"level": "ERROR", "path": "/b", "latency": 250, "user": "bo", "ip": "10.0.2.9"}'),
    (70_000, '{"level": "INFO", "path": "/a", "latency": 40, "user": "ana", "ip": "192.168.1.20"}'),
    (80_000, '{"level": "WARN", "path": "/c", "latency": 120, "user": "cy", "ip": "172.16.0.3"}'),
    (130_000, '{"level": "ERROR", "path": "/c", "latency": 110, "user": "ana", "ip": "10.0.1.77"}'),
]
EDGE = [  # group api, stream edge: plain text
    (5_000, "GET /a 200 12ms user=ana"),
    (15_000, "GET /a 200 9ms user=bo"),
    (75_000, "POST /b 500 340ms user=bo"),
    (135_000, "GET /c 404 8ms user=cy"),
]
RUNNER = [  # group jobs, stream runner: plain text and one JSON event
    (20_000, "job=backup status=ok duration=30"),
    (90_000, "job=report status=failed duration=95"),
    (140_000, '{"level": "ERROR", "job": "report", "latency": 60}'),
]
DECOY = [(30_000, '{"level": "ERROR", "latency": 1}')]  # matched by no prefix query

API_EVENTS = WEB + EDGE
API_BYTES = sum(len(m.encode()) for _, m in API_EVENTS)
JOBS_BYTES = sum(len(m.encode()) for _, m in RUNNER)


@dataclass
class Data:
    prefix: str  # SOURCE logGroups(namePrefix: [prefix]) selects api and jobs
    api: str
    jobs: str
    decoy: str
    account_id: str
    base: int  # ms, minute-aligned
    ingested_from: int
    ingested_to: int

    def t(self, offset_ms):
        return insights_time(self.base + offset_ms)

    def arn(self, group):
        return f"arn:aws:logs:{REGION}:{self.account_id}:log-group:{group}"

    @property
    def window(self):
        """startTime/endTime (epoch seconds) covering every event with room to spare."""
        return {"startTime": self.base // 1000 - 60, "endTime": self.base // 1000 + 600}


@pytest.fixture(scope="module")
def data(logs, account_id):
    token = uuid.uuid4().hex[:8]
    prefix = f"compat/insights/{token}/"
    d = Data(
        prefix=prefix,
        api=prefix + "api",
        jobs=prefix + "jobs",
        decoy=f"compat/insights/{token}-decoy",
        account_id=account_id,
        base=(now_ms() - 2 * HOUR_MS) // 60_000 * 60_000,
        ingested_from=0,
        ingested_to=0,
    )
    d.ingested_from = now_ms()
    for group, stream, events in [
        (d.api, "web", WEB),
        (d.api, "edge", EDGE),
        (d.jobs, "runner", RUNNER),
        (d.decoy, "s", DECOY),
    ]:
        if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
            logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        resp = logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{"timestamp": d.base + t, "message": m} for t, m in events],
        )
        assert "rejectedLogEventsInfo" not in resp
    d.ingested_to = now_ms()
    return d


def run_query(logs, data, text, **kwargs):
    """StartQuery (over `data.api` and the whole window unless told otherwise), then
    GetQueryResults until it finishes; the query must end Complete. Returns (id, response)."""
    if not text.startswith("SOURCE") and not {"logGroupName", "logGroupNames", "logGroupIdentifiers"} & set(kwargs):
        kwargs["logGroupName"] = data.api
    kwargs = {**data.window, **kwargs}
    query_id = logs.start_query(queryString=text, **kwargs)["queryId"]
    assert UUID_RE.match(query_id), query_id
    resp = wait_for_query(lambda: logs.get_query_results(queryId=query_id))
    assert resp["status"] == "Complete", resp
    assert resp["queryLanguage"] == "CWLI"
    return query_id, resp


def rows(logs, data, text, **kwargs):
    return insights_rows(run_query(logs, data, text, **kwargs)[1]["results"])


def stats_of(resp, **expected):
    """The statistics AWS returns (doubles), checked against `expected`."""
    stats = resp["statistics"]
    assert stats["estimatedRecordsSkipped"] == 0.0 and stats["estimatedBytesSkipped"] == 0.0
    for key, value in expected.items():
        assert stats[key] == value, (key, stats)
        assert isinstance(stats[key], float)


# ---------------------------------------------------------------------------
# Commands


def test_fields_filter_sort_limit(logs, data):
    text = (
        'fields @timestamp, user, latency | filter level in ["ERROR", "WARN"] or latency < 10 '
        "| sort latency | limit 3"
    )
    _, resp = run_query(logs, data, text)
    # `sort` without asc/desc is ascending, and text holding numbers sorts by value
    # (9 before 110; as text "110" < "120" < "250" < "9").
    assert insights_rows(resp["results"]) == [
        [("@timestamp", data.t(0)), ("user", "ana"), ("latency", "9")],
        [("@timestamp", data.t(130_000)), ("user", "ana"), ("latency", "110")],
        [("@timestamp", data.t(80_000)), ("user", "cy"), ("latency", "120")],
    ]
    # Each row of events (not aggregates) ends with its @ptr; every pointer differs.
    ptrs = [row[-1] for row in resp["results"]]
    assert all(p["field"] == "@ptr" and p["value"] for p in ptrs)
    assert len({p["value"] for p in ptrs}) == 3
    assert "nextToken" not in resp
    stats_of(resp, recordsScanned=9.0, logGroupsScanned=1.0, bytesScanned=float(API_BYTES))

    # Without `sort`, newest first.
    assert rows(logs, data, 'fields @timestamp, latency | filter path = "/a"') == [
        [("@timestamp", data.t(70_000)), ("latency", "40")],
        [("@timestamp", data.t(0)), ("latency", "9")],
    ]
    # StartQuery's own `limit` caps the rows too.
    assert rows(logs, data, "fields latency | filter ispresent(latency)", limit=2) == [
        [("latency", "110")],
        [("latency", "120")],
    ]


def test_stats_count_by_bin(logs, data):
    expected = [
        [("bin(1m)", data.t(0)), ("count(*)", "4")],  # +0s +5s +10s +15s
        [("bin(1m)", data.t(60_000)), ("count(*)", "3")],  # +70s +75s +80s
        [("bin(1m)", data.t(120_000)), ("count(*)", "2")],  # +130s +135s
    ]
    _, resp = run_query(logs, data, "stats count(*) by bin(1m) | sort bin(1m)")
    assert insights_rows(resp["results"], keep_ptr=True) == expected  # no @ptr on aggregates
    stats_of(resp, recordsScanned=9.0, recordsMatched=9.0, logGroupsScanned=1.0)
    # Without a sort the same rows come back (their order is not specified).
    assert sorted(rows(logs, data, "stats count(*) by bin(1m)")) == expected


def test_stats_avg_max_pct_by_field(logs, data):
    # ana: 9, 40, 110 (max by value, not "9" as text); bo: 250; cy: 120.
    got = rows(
        logs,
        data,
        "filter ispresent(level) | stats avg(latency) as avg, max(latency) as max, "
        "pct(latency, 50) as p50, count(*) as n by user | sort user",
    )
    assert got == [
        [("user", "ana"), ("avg", "53"), ("max", "110"), ("p50", "40"), ("n", "3")],
        [("user", "bo"), ("avg", "250"), ("max", "250"), ("p50", "250"), ("n", "1")],
        [("user", "cy"), ("avg", "120"), ("max", "120"), ("p50", "120"), ("n", "1")],
    ]
    # Unaliased aggregates are named by their text; `sort ... desc`.
    got = rows(logs, data, "filter ispresent(level) | stats min(latency), sum(latency) by level | sort level desc")
    assert got == [
        [("level", "WARN"), ("min(latency)", "120"), ("sum(latency)", "120")],
        [("level", "INFO"), ("min(latency)", "9"), ("sum(latency)", "49")],
        [("level", "ERROR"), ("min(latency)", "110"), ("sum(latency)", "360")],
    ]


def test_parse_glob_and_regex(logs, data):
    got = rows(
        logs,
        data,
        'filter @logStream = "edge" | parse @message "* * * *ms user=*" as method, path, status, ms, who '
        "| display method, status, ms, who",
    )
    assert got == [
        [("method", "GET"), ("status", "404"), ("ms", "8"), ("who", "cy")],
        [("method", "POST"), ("status", "500"), ("ms", "340"), ("who", "bo")],
        [("method", "GET"), ("status", "200"), ("ms", "9"), ("who", "bo")],
        [("method", "GET"), ("status", "200"), ("ms", "12"), ("who", "ana")],
    ]
    got = rows(
        logs,
        data,
        r"parse @message /job=(?<jobName>\w+) status=(?<jobStatus>\w+)/ | filter ispresent(jobStatus) "
        "| display jobName, jobStatus",
        logGroupName=data.jobs,
    )
    assert got == [
        [("jobName", "report"), ("jobStatus", "failed")],
        [("jobName", "backup"), ("jobStatus", "ok")],
    ]
    # Parsed text aggregates as numbers; the JSON event has no duration.
    got = rows(logs, data, 'parse @message "duration=*" as d | stats sum(d) as total, count(d) as n', logGroupName=data.jobs)
    assert got == [[("total", "125"), ("n", "2")]]


def test_dedup(logs, data):
    # One row per user (which row each keeps: see the xfail tests below).
    got = rows(logs, data, "fields user | filter ispresent(user) | dedup user")
    assert sorted(got) == [[("user", "ana")], [("user", "bo")], [("user", "cy")]]
    got = rows(logs, data, "fields level | filter ispresent(level) | dedup level | limit 10")
    assert sorted(got) == [[("level", "ERROR")], [("level", "INFO")], [("level", "WARN")]]


def test_dedup_keeps_the_first_row_in_sort_order(logs, data):
    # CWL_QuerySyntax-Dedup: "Duplicates are discarded based on the sort order, with only
    # the first result in the sort order being kept."
    got = rows(logs, data, "fields user, path | filter ispresent(user) | sort @timestamp desc | dedup user")
    assert got == [
        [("user", "ana"), ("path", "/c")],
        [("user", "cy"), ("path", "/c")],
        [("user", "bo"), ("path", "/b")],
    ]


def test_dedup_keeps_rows_with_null_values(logs, data):
    # CWL_QuerySyntax-Dedup: "Null values are not considered duplicates for evaluation.
    # Log events with null values for any of the specified fields are retained."
    got = rows(logs, data, "fields path, user | sort @timestamp asc | dedup path")
    assert got == [
        [("path", "/a"), ("user", "ana")],  # +0s
        [],  # +5s, edge
        [("path", "/b"), ("user", "bo")],  # +10s
        [],  # +15s, edge
        [],  # +75s, edge
        [("path", "/c"), ("user", "cy")],  # +80s
        [],  # +135s, edge
    ]


def test_filter_is_ip_in_subnet(logs, data):
    assert rows(logs, data, 'filter isIpInSubnet(ip, "10.0.0.0/8") | fields user, ip') == [
        [("user", "ana"), ("ip", "10.0.1.77")],
        [("user", "bo"), ("ip", "10.0.2.9")],
        [("user", "ana"), ("ip", "10.0.1.5")],
    ]
    assert rows(logs, data, 'filter isIpInSubnet(ip, "10.0.1.0/24") | display ip') == [
        [("ip", "10.0.1.77")],
        [("ip", "10.0.1.5")],
    ]
    assert rows(logs, data, 'filter not isIpInSubnet(ip, "10.0.0.0/8") and ispresent(ip) | display ip') == [
        [("ip", "172.16.0.3")],
        [("ip", "192.168.1.20")],
    ]


# ---------------------------------------------------------------------------
# Choosing the log groups


def test_source_log_groups_name_prefix(logs, data):
    """`SOURCE logGroups(namePrefix: [...])` reads both groups and not the decoy, whose
    name has the prefix's text but not its trailing slash."""
    source = f"SOURCE logGroups(namePrefix: ['{data.prefix}'])"
    _, resp = run_query(logs, data, f"{source} | filter level = 'ERROR' | fields @log, latency")
    assert insights_rows(resp["results"]) == [
        [("@log", f"{data.account_id}:{data.jobs}"), ("latency", "60")],
        [("@log", f"{data.account_id}:{data.api}"), ("latency", "110")],
        [("@log", f"{data.account_id}:{data.api}"), ("latency", "250")],
    ]
    stats_of(resp, recordsScanned=12.0, logGroupsScanned=2.0, bytesScanned=float(API_BYTES + JOBS_BYTES))

    assert rows(logs, data, f"{source} | stats count(*) as n by @log | sort @log") == [
        [("@log", f"{data.account_id}:{data.api}"), ("n", "9")],
        [("@log", f"{data.account_id}:{data.jobs}"), ("n", "3")],
    ]


def test_log_group_identifiers_and_names(logs, data):
    _, resp = run_query(logs, data, "stats count(*) as n", logGroupIdentifiers=[data.arn(data.jobs)])
    assert insights_rows(resp["results"]) == [[("n", "3")]]
    stats_of(resp, recordsScanned=3.0, logGroupsScanned=1.0)
    # An ARN and a bare name together; logGroupNames likewise.
    assert rows(logs, data, "stats count(*) as n", logGroupIdentifiers=[data.arn(data.api), data.jobs]) == [[("n", "12")]]
    assert rows(logs, data, "stats count(*) as n", logGroupNames=[data.api, data.decoy]) == [[("n", "10")]]


def test_time_range_is_inclusive_seconds(logs, data):
    """startTime/endTime are epoch seconds and both inclusive: +10s and +70s are in,
    +5s and +75s are out."""
    start = data.base // 1000 + 10
    _, resp = run_query(logs, data, "fields @timestamp, @logStream", startTime=start, endTime=start + 60)
    assert insights_rows(resp["results"]) == [
        [("@timestamp", data.t(70_000)), ("@logStream", "web")],
        [("@timestamp", data.t(15_000)), ("@logStream", "edge")],
        [("@timestamp", data.t(10_000)), ("@logStream", "web")],
    ]
    stats_of(resp, recordsScanned=3.0, recordsMatched=3.0)
    # A one-second window holds exactly the events of that second.
    assert rows(logs, data, "fields @timestamp", startTime=start, endTime=start) == [[("@timestamp", data.t(10_000))]]


# ---------------------------------------------------------------------------
# Pointers and statistics


def test_get_log_record(logs, data):
    _, resp = run_query(logs, data, "fields @message | filter latency = 250")
    (row,) = resp["results"]
    (message, ptr) = row
    assert message == {"field": "@message", "value": WEB[1][1]}
    assert ptr["field"] == "@ptr"
    record = logs.get_log_record(logRecordPointer=ptr["value"])["logRecord"]
    ingestion = int(record.pop("@ingestionTime"))
    assert data.ingested_from - 1000 <= ingestion <= data.ingested_to + 1000
    assert record == {
        "@log": f"{data.account_id}:{data.api}",
        "@logStream": "web",
        "@message": WEB[1][1],
        "@timestamp": str(data.base + 10_000),
        # Every field discovered in the JSON message, as GetLogRecord returns all fields.
        "level": "ERROR",
        "path": "/b",
        "latency": "250",
        "user": "bo",
        "ip": "10.0.2.9",
    }

    # A pointer from another group's query reads that group's event.
    _, resp = run_query(logs, data, "fields @message | filter ispresent(job)", logGroupName=data.jobs)
    (row,) = resp["results"]
    record = logs.get_log_record(logRecordPointer=row[-1]["value"])["logRecord"]
    assert (record["@message"], record["@logStream"], record["@log"]) == (
        RUNNER[2][1],
        "runner",
        f"{data.account_id}:{data.jobs}",
    )


def test_get_log_record_includes_discovered_fields(logs, data):
    # API_GetLogRecord: "Retrieves all of the fields and values of a single log event. All
    # fields are retrieved, even if the original query ... retrieved only a subset."
    _, resp = run_query(logs, data, "fields @timestamp | filter latency = 250")
    record = logs.get_log_record(logRecordPointer=resp["results"][0][-1]["value"])["logRecord"]
    assert {k: record.get(k) for k in ["level", "path", "latency", "user", "ip"]} == {
        "level": "ERROR",
        "path": "/b",
        "latency": "250",
        "user": "bo",
        "ip": "10.0.2.9",
    }


def test_records_matched_counts_matching_events(logs, data):
    # QueryStatistics.recordsMatched: "The number of log events that matched the query
    # string". CWL_QuerySyntax-Dedup: the console's "Showing X of Y records" has "Y the
    # total number of records matched before deduplication".
    _, resp = run_query(logs, data, "fields user | filter ispresent(user) | dedup user")
    stats_of(resp, recordsMatched=5.0, recordsScanned=9.0)
    _, resp = run_query(logs, data, "fields @message | limit 2")
    stats_of(resp, recordsMatched=9.0, recordsScanned=9.0)
    _, resp = run_query(logs, data, "filter level = 'ERROR' | stats count(*) as n")
    assert insights_rows(resp["results"]) == [[("n", "2")]]
    stats_of(resp, recordsMatched=2.0, recordsScanned=9.0)


# ---------------------------------------------------------------------------
# DescribeQueries, StopQuery


def test_describe_queries_and_stop_query(logs, data):
    before = now_ms()
    texts = ["fields @message | limit 1", "stats count(*) as n by @logStream"]
    ids = [run_query(logs, data, text, logGroupName=data.jobs)[0] for text in texts]
    after = now_ms()

    def ours(**kwargs):
        pages = logs.get_paginator("describe_queries").paginate(**kwargs)
        return {q["queryId"]: q for page in pages for q in page["queries"] if q["queryId"] in ids}

    listed = ours(logGroupName=data.jobs)
    assert set(listed) == set(ids)
    for query_id, text in zip(ids, texts):
        info = listed[query_id]
        created = info.pop("createTime")
        assert before - 1000 <= created <= after + 1000
        duration = info.pop("queryDuration")
        assert isinstance(duration, int) and 0 <= duration <= after - before + 1000
        assert info == {
            "queryLanguage": "CWLI",
            "queryId": query_id,
            "queryString": text,
            "status": "Complete",
            "logGroupName": data.jobs,
            "bytesScanned": float(JOBS_BYTES),
        }
    # Newest first.
    all_ours = [q["queryId"] for q in logs.describe_queries(logGroupName=data.jobs)["queries"] if q["queryId"] in ids]
    assert all_ours == ids[::-1]

    # The status filter.
    assert set(ours(status="Complete")) == set(ids)
    assert ours(status="Running") == {}
    assert ours(status="Cancelled") == {}
    assert ours(logGroupName=data.api) == {}

    # Stopping a finished query does nothing and says so.
    resp = logs.stop_query(queryId=ids[0])
    assert resp["success"] is False
    assert logs.get_query_results(queryId=ids[0])["status"] == "Complete"
    assert set(ours(status="Complete")) == set(ids)

    unknown = str(uuid.uuid4())
    code, _, status = client_error(logs.stop_query, queryId=unknown)
    assert (code, status) == ("ResourceNotFoundException", 400)
    code, _, status = client_error(logs.get_query_results, queryId=unknown)
    assert (code, status) == ("ResourceNotFoundException", 400)


# ---------------------------------------------------------------------------
# Query definitions


def test_query_definitions(logs, data):
    prefix = f"compat/insights/{uuid.uuid4().hex[:8]}/"
    errors_text = "fields @timestamp, @message | filter level = 'ERROR' | sort @timestamp desc"
    slow_text = "filter latency > 100 | stats count(*) by bin(5m)"
    before = now_ms()
    errors_id = logs.put_query_definition(name=prefix + "errors", queryString=errors_text, logGroupNames=[data.api])[
        "queryDefinitionId"
    ]
    slow_id = logs.put_query_definition(name=prefix + "slow", queryString=slow_text)["queryDefinitionId"]
    assert UUID_RE.match(errors_id) and UUID_RE.match(slow_id) and errors_id != slow_id

    def described(name_prefix):
        found = logs.describe_query_definitions(queryDefinitionNamePrefix=name_prefix)["queryDefinitions"]
        for d in found:
            assert before - 1000 <= d.pop("lastModified") <= now_ms() + 1000
            if d.get("logGroupNames") == []:  # an empty list or none at all
                del d["logGroupNames"]
        return found

    errors = {
        "queryLanguage": "CWLI",
        "queryDefinitionId": errors_id,
        "name": prefix + "errors",
        "queryString": errors_text,
        "logGroupNames": [data.api],
    }
    slow = {"queryLanguage": "CWLI", "queryDefinitionId": slow_id, "name": prefix + "slow", "queryString": slow_text}
    assert described(prefix) == [errors, slow]  # by name
    assert described(prefix + "s") == [slow]
    assert described(prefix + "x") == []

    # Put with the id replaces it: new name, text and groups, same id.
    replaced_text = "fields @message | limit 5"
    resp = logs.put_query_definition(
        queryDefinitionId=errors_id,
        name=prefix + "z-errors",
        queryString=replaced_text,
        logGroupNames=[data.api, data.jobs],
    )
    assert resp["queryDefinitionId"] == errors_id
    replaced = dict(errors, name=prefix + "z-errors", queryString=replaced_text, logGroupNames=[data.api, data.jobs])
    assert described(prefix) == [slow, replaced]

    code, _, status = client_error(
        logs.put_query_definition, queryDefinitionId=str(uuid.uuid4()), name=prefix + "ghost", queryString="fields a"
    )
    assert (code, status) == ("ResourceNotFoundException", 400)
    assert described(prefix + "ghost") == []

    assert logs.delete_query_definition(queryDefinitionId=errors_id)["success"] is True
    assert described(prefix) == [slow]
    code, _, status = client_error(logs.delete_query_definition, queryDefinitionId=errors_id)
    assert (code, status) == ("ResourceNotFoundException", 400)
    assert logs.delete_query_definition(queryDefinitionId=slow_id)["success"] is True
    assert described(prefix) == []


# ---------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize(
    "text, start, end, message",
    [
        (
            "fields @message | stats",
            23,
            23,
            "Expected an aggregate function after 'stats' but found end of query at line 1, column 24",
        ),
        (
            "fields @timestamp\n| filter x = 1\n| stats avg(x) by",
            50,
            50,
            "Expected a field name or expression after 'by' but found end of query at line 3, column 18",
        ),
        # Offsets count characters, not UTF-8 bytes ("é" is two bytes).
        (
            'filter @message like "\u00e9" | frobnicate',
            27,
            37,
            "Expected a command (fields, display, filter, stats, sort, limit, parse, dedup, unnest "
            "or pattern) but found 'frobnicate' at line 1, column 28",
        ),
    ],
    ids=["end-of-query", "third-line", "non-ascii"],
)
def test_malformed_query(logs, data, text, start, end, message):
    with pytest.raises(logs.exceptions.MalformedQueryException) as info:
        logs.start_query(logGroupName=data.api, queryString=text, **data.window)
    response = info.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Error"]["Message"] == message
    assert response["queryCompileError"] == {
        "location": {"startCharOffset": start, "endCharOffset": end},
        "message": message,
    }


def test_start_query_errors(logs, data):
    missing = data.prefix + "missing"
    # AWS appends " (Service: AWSLogs; Status Code: 400; ...)" (logs-api.md StartQuery).
    for kwargs in [
        {"logGroupName": missing},
        {"logGroupNames": [data.api, missing]},
        {"logGroupIdentifiers": [missing]},
    ]:
        code, message, status = client_error(logs.start_query, queryString="fields @message", **data.window, **kwargs)
        assert (code, status) == ("ResourceNotFoundException", 400), kwargs
        assert message.startswith(f"Log group '{missing}' does not exist for account ID '{data.account_id}'"), message
    code, message, status = client_error(
        logs.start_query, queryString="fields @message", logGroupIdentifiers=[data.arn(missing)], **data.window
    )
    assert (code, status) == ("ResourceNotFoundException", 400)
    # Named by the ARN as given or by the name inside it (AWS's choice is not recorded).
    assert any(
        message.startswith(f"Log group '{named}' does not exist for account ID '{data.account_id}'")
        for named in (missing, data.arn(missing))
    ), message

    start = data.base // 1000
    assert client_error(
        logs.start_query, logGroupName=data.api, queryString="fields @message", startTime=start, endTime=start - 1
    ) == ("InvalidParameterException", "End time cannot be less than Start time", 400)


# ---------------------------------------------------------------------------
# The aws CLI


@pytest.fixture(scope="module")
def aws(endpoint, client_env):
    """`aws <args>` (v1) with JSON output; the parsed output (as test_awscli.py)."""
    tool = venv_tool("aws")

    def run(*args):
        cmd = [str(tool), *args, "--endpoint-url", endpoint, "--region", REGION, "--output", "json"]
        proc = subprocess.run(cmd, env=client_env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, f"{' '.join(args)} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    return run


def test_cli_start_query_and_get_results(aws, data):
    window = ["--start-time", str(data.window["startTime"]), "--end-time", str(data.window["endTime"])]
    text = "fields @timestamp, @message | sort @timestamp asc | limit 2"
    out = aws("logs", "start-query", "--log-group-name", data.jobs, *window, "--query-string", text)
    assert set(out) == {"queryId"} and UUID_RE.match(out["queryId"])
    query_id = out["queryId"]
    out = wait_for_query(lambda: aws("logs", "get-query-results", "--query-id", query_id), interval_s=0.2)
    assert out["status"] == "Complete"
    assert insights_rows(out["results"]) == [
        [("@timestamp", data.t(20_000)), ("@message", RUNNER[0][1])],
        [("@timestamp", data.t(90_000)), ("@message", RUNNER[1][1])],
    ]
    assert [row[-1]["field"] for row in out["results"]] == ["@ptr", "@ptr"]
    assert out["statistics"]["recordsScanned"] == 3.0

    # Several groups by name; a stats query.
    out = aws(
        "logs", "start-query", "--log-group-names", data.api, data.jobs, *window,
        "--query-string", "stats count(*) as n by @logStream | sort n desc, @logStream",
    )
    stats_id = out["queryId"]
    out = wait_for_query(lambda: aws("logs", "get-query-results", "--query-id", stats_id), interval_s=0.2)
    assert out["status"] == "Complete"
    assert insights_rows(out["results"]) == [
        [("@logStream", "web"), ("n", "5")],
        [("@logStream", "edge"), ("n", "4")],
        [("@logStream", "runner"), ("n", "3")],
    ]

    # describe-queries pages for the user; both queries are listed, Complete.
    out = aws("logs", "describe-queries", "--status", "Complete")
    listed = {q["queryId"]: q for q in out["queries"]}
    assert (listed[query_id]["queryString"], listed[query_id]["logGroupName"]) == (text, data.jobs)
    assert listed[stats_id]["status"] == "Complete"
    out = aws("logs", "describe-queries", "--log-group-name", data.jobs)
    assert query_id in [q["queryId"] for q in out["queries"]]
