"""The `awslogs` CLI (jorgebastida/awslogs 0.15.0) against a real Trailwatch server.

awslogs takes an endpoint with `--aws-endpoint-url` or, as that option's default, the
environment variable AWS_ENDPOINT_URL (awslogs/bin.py); credentials come from the
shared credentials file like any boto3 program.
"""

import subprocess
import uuid
from datetime import datetime, timezone

import pytest

from compat_helpers import MINUTE_MS, now_ms, put
from conftest import REGION, venv_tool


@pytest.fixture(scope="module")
def awslogs(endpoint, client_env):
    tool = venv_tool("awslogs")

    def run(*args, env_endpoint=False):
        env = dict(client_env)
        cmd = [str(tool), *args, "--aws-region", REGION]
        if env_endpoint:
            env["AWS_ENDPOINT_URL"] = endpoint
        else:
            cmd += ["--aws-endpoint-url", endpoint]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, f"{args} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        return proc.stdout.splitlines()

    return run


def iso(ms):
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def awslogs_data(logs):
    """Two groups under one prefix; the first holds two streams of interleaved events."""
    prefix = f"compat/awslogs/{uuid.uuid4().hex[:8]}"
    group, other = prefix + "/api", prefix + "/worker"
    logs.create_log_group(logGroupName=group)
    logs.create_log_group(logGroupName=other)
    for stream in ["web-1", "web-2", "idle"]:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    # Whole seconds: awslogs truncates --start to a second.
    base = (now_ms() - 20 * MINUTE_MS) // 1000 * 1000
    put(logs, group, "web-1", [(base + 1000, "INFO started"), (base + 3000, "ERROR boom"), (base + 5000, "INFO served")])
    put(logs, group, "web-2", [(base + 2000, "INFO started"), (base + 4000, "WARN slow"), (base + 6000, "ERROR again")])
    yield {"prefix": prefix, "group": group, "other": other, "base": base}
    logs.delete_log_group(logGroupName=group)
    logs.delete_log_group(logGroupName=other)


def test_awslogs_groups(awslogs, awslogs_data):
    assert awslogs("groups", "-p", awslogs_data["prefix"]) == [awslogs_data["group"], awslogs_data["other"]]


def test_awslogs_groups_endpoint_from_environment(awslogs, awslogs_data):
    assert awslogs("groups", "-p", awslogs_data["prefix"], env_endpoint=True) == [
        awslogs_data["group"],
        awslogs_data["other"],
    ]


def test_awslogs_streams(awslogs, awslogs_data):
    # Streams whose events fall in the window (default: the last hour), and empty ones.
    assert awslogs("streams", awslogs_data["group"]) == ["idle", "web-1", "web-2"]
    assert awslogs("streams", awslogs_data["other"]) == []


def test_awslogs_get_all(awslogs, awslogs_data):
    group, base = awslogs_data["group"], awslogs_data["base"]
    lines = awslogs("get", group, "ALL", "--start", iso(base), "--color", "never")
    # "<group> <stream padded to 10> <message>", in time order across streams.
    assert lines == [
        f"{group} web-1      INFO started",
        f"{group} web-2      INFO started",
        f"{group} web-1      ERROR boom",
        f"{group} web-2      WARN slow",
        f"{group} web-1      INFO served",
        f"{group} web-2      ERROR again",
    ]


def test_awslogs_get_options(awslogs, awslogs_data):
    group, base = awslogs_data["group"], awslogs_data["base"]
    # A stream name (a regex prefix) selects streams through DescribeLogStreams.
    assert awslogs("get", group, "web-2", "--start", iso(base), "--no-group", "--no-stream", "--color", "never") == [
        "INFO started",
        "WARN slow",
        "ERROR again",
    ]
    # A filter pattern and a time window (--end is inclusive for FilterLogEvents).
    assert awslogs(
        "get", group, "ALL", "-f", "ERROR", "--start", iso(base), "-G", "-S", "--color", "never",
    ) == ["ERROR boom", "ERROR again"]
    assert awslogs(
        "get", group, "ALL", "--start", iso(base + 2000), "--end", iso(base + 4000), "-G", "-S", "--color", "never",
    ) == ["INFO started", "ERROR boom", "WARN slow"]
    # Timestamps as awslogs prints them (UTC, milliseconds).
    assert awslogs(
        "get", group, "web-1", "--start", iso(base), "-G", "--timestamp", "--color", "never",
    ) == [
        f"web-1 {iso(base + 1000)[:-1]}.000Z INFO started",
        f"web-1 {iso(base + 3000)[:-1]}.000Z ERROR boom",
        f"web-1 {iso(base + 5000)[:-1]}.000Z INFO served",
    ]
