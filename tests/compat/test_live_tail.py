"""StartLiveTail with boto3 against a real server (SigV4 verified).

The response is an `application/vnd.amazon.eventstream` body (reference/logs-api.md §5):
`initial-response`, `sessionStart`, then a `sessionUpdate` a second with the events put
meanwhile. botocore puts the operation's `stream-` host prefix on a custom endpoint too
(§5.1), so `stream-127.0.0.1` is resolved to the loopback address here, the way a
hosts-file entry would; `inject_host_prefix=False` is the documented alternative.

The aws CLI v1 (1.46.3) has `aws logs start-live-tail`, but its output formatters only
stream S3 Select event streams: for live tail it prints nothing while the session lasts,
so only boto3 is tested here.
"""

import socket
import time

import boto3

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from compat_helpers import now_ms, put
from conftest import REGION

DEADLINE_S = 60


@pytest.fixture
def stream_host_resolves(monkeypatch):
    """`stream-<host>` resolves like `<host>` (what a hosts-file entry would do)."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if isinstance(host, str) and host.startswith("stream-"):
            host = host[len("stream-"):]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def group_arn(account_id, name):
    return f"arn:aws:logs:{REGION}:{account_id}:log-group:{name}"


def live_client(endpoint, credentials, **config):
    """A Logs client with the suite's timeouts plus `config` (e.g. inject_host_prefix)."""
    session = boto3.session.Session(
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        region_name=REGION,
    )
    return session.client(
        "logs",
        endpoint_url=endpoint,
        config=Config(connect_timeout=10, read_timeout=60, **config),
    )


def collect(events, want, deadline_s=DEADLINE_S):
    """Reads updates until every message in `want` arrived; returns (results, updates)."""
    results, updates = [], 0
    start = time.monotonic()
    for event in events:
        assert "sessionUpdate" in event, event
        update = event["sessionUpdate"]
        assert update["sessionMetadata"] == {"sampled": False}
        results.extend(update["sessionResults"])
        updates += 1
        if want <= {r["message"] for r in results}:
            return results, updates
        assert time.monotonic() - start < deadline_s, f"only {results} after {updates} updates"
    raise AssertionError(f"the stream ended; got {results}")


@pytest.mark.parametrize("inject_prefix", [True, False])
def test_start_live_tail_sees_events_put_during_the_session(
    endpoint, credentials, logs, account_id, unique, stream_host_resolves, inject_prefix
):
    g = unique()
    logs.create_log_group(logGroupName=g)
    for s in ("app-1", "other"):
        logs.create_log_stream(logGroupName=g, logStreamName=s)
    put(logs, g, "app-1", [(now_ms(), "ERROR before the session")])

    client = live_client(endpoint, credentials, inject_host_prefix=inject_prefix)
    arn = group_arn(account_id, g)
    response = client.start_live_tail(
        logGroupIdentifiers=[arn],
        logStreamNamePrefixes=["app"],
        logEventFilterPattern="ERROR",
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    stream = response["responseStream"]
    events = iter(stream)
    start = next(events)["sessionStart"]
    assert start["logGroupIdentifiers"] == [arn]
    assert start["logStreamNamePrefixes"] == ["app"]
    assert start["logEventFilterPattern"] == "ERROR"
    assert start["sessionId"] and start["requestId"]

    before = now_ms()
    t0 = before - 1000
    put(logs, g, "app-1", [(t0, "ERROR one"), (t0 + 1, "INFO not matched"), (t0 + 2, "ERROR two")])
    put(logs, g, "other", [(t0, "ERROR in a stream not followed")])
    results, _ = collect(events, {"ERROR one", "ERROR two"})
    stream.close()

    assert [r["message"] for r in results] == ["ERROR one", "ERROR two"]
    for r in results:
        assert r["logStreamName"] == "app-1"
        assert r["logGroupIdentifier"] == arn
        assert r["timestamp"] in (t0, t0 + 2)
        assert r["ingestionTime"] >= before


def test_live_tail_updates_come_every_second_even_when_quiet(
    endpoint, credentials, logs, unique
):
    g = unique()
    logs.create_log_group(logGroupName=g)
    client = live_client(endpoint, credentials, inject_host_prefix=False)
    stream = client.start_live_tail(logGroupIdentifiers=[g])["responseStream"]
    events = iter(stream)
    assert "sessionStart" in next(events)
    for _ in range(2):
        update = next(events)["sessionUpdate"]
        assert update["sessionResults"] == []
    stream.close()


def test_live_tail_errors_are_plain_json_errors(endpoint, credentials, logs, unique):
    client = live_client(endpoint, credentials, inject_host_prefix=False)
    with pytest.raises(ClientError) as info:
        client.start_live_tail(logGroupIdentifiers=[unique("missing")])
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"

    g = unique()
    logs.create_log_group(logGroupName=g)
    with pytest.raises(ClientError) as info:
        client.start_live_tail(logGroupIdentifiers=[g] * 11)
    assert info.value.response["Error"]["Code"] in ("ValidationException", "InvalidParameterException")
    with pytest.raises(ClientError) as info:
        client.start_live_tail(logGroupIdentifiers=[g, g], logStreamNames=["a"])
    assert info.value.response["Error"]["Code"] == "InvalidParameterException"
