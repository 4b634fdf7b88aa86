"""The aws CLI (v1, from PyPI) as a subprocess against a real Trailwatch server.

Credentials come only from the server's own credentials file
(AWS_SHARED_CREDENTIALS_FILE); the endpoint from --endpoint-url.
"""

import json
import subprocess
import uuid

import pytest

from compat_helpers import MINUTE_MS, now_ms
from conftest import REGION, venv_tool

# awscli v1 exits 255 for any error raised after parsing, a service error included
# (awscli/clidriver.py: `except Exception: ... return 255`); v2 would use 254.
SERVICE_ERROR_EXIT = 255


@pytest.fixture(scope="module")
def aws(endpoint, client_env):
    tool = venv_tool("aws")

    def run(*args, expect_rc=0):
        cmd = [str(tool), *args, "--endpoint-url", endpoint, "--region", REGION, "--output", "json"]
        proc = subprocess.run(cmd, env=client_env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == expect_rc, (
            f"{' '.join(args)} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
        if expect_rc != 0:
            return proc
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    return run


def test_cli_journey(aws, account_id, tmp_path):
    g = f"compat/cli/{uuid.uuid4().hex[:8]}"
    arn = f"arn:aws:logs:{REGION}:{account_id}:log-group:{g}"

    # Void operations print nothing.
    assert aws("logs", "create-log-group", "--log-group-name", g, "--tags", "team=cli,env=test") is None
    assert aws("logs", "create-log-stream", "--log-group-name", g, "--log-stream-name", "web") is None

    base = now_ms() - 10 * MINUTE_MS
    batch = [
        {"timestamp": base + 1000, "message": "GET /index.html 200"},
        {"timestamp": base + 2000, "message": "ERROR database timeout"},
        {"timestamp": base + 3000, "message": "GET /health 200"},
    ]
    (tmp_path / "events.json").write_text(json.dumps(batch))
    out = aws(
        "logs", "put-log-events", "--log-group-name", g, "--log-stream-name", "web",
        "--log-events", f"file://{tmp_path / 'events.json'}",
    )
    assert set(out) == {"nextSequenceToken"}
    # The shorthand syntax too.
    out = aws(
        "logs", "put-log-events", "--log-group-name", g, "--log-stream-name", "web",
        "--log-events", f"timestamp={base + 4000},message=ERROR disk full",
        f"timestamp={base + 5000},message=done",
    )
    assert set(out) == {"nextSequenceToken"}

    out = aws("logs", "get-log-events", "--log-group-name", g, "--log-stream-name", "web", "--start-from-head")
    assert [e["message"] for e in out["events"]] == [
        "GET /index.html 200",
        "ERROR database timeout",
        "GET /health 200",
        "ERROR disk full",
        "done",
    ]
    assert [e["timestamp"] for e in out["events"]] == [base + 1000 * i for i in range(1, 6)]
    assert out["nextForwardToken"].startswith("f/") and out["nextBackwardToken"].startswith("b/")

    out = aws(
        "logs", "get-log-events", "--log-group-name", g, "--log-stream-name", "web", "--start-from-head",
        "--start-time", str(base + 2000), "--end-time", str(base + 4000), "--limit", "5",
    )
    assert [e["message"] for e in out["events"]] == ["ERROR database timeout", "GET /health 200"]

    out = aws("logs", "filter-log-events", "--log-group-name", g, "--filter-pattern", "ERROR")
    assert [(e["logStreamName"], e["message"]) for e in out["events"]] == [
        ("web", "ERROR database timeout"),
        ("web", "ERROR disk full"),
    ]
    out = aws("logs", "filter-log-events", "--log-group-name", g, "--filter-pattern", '"GET /" -health')
    assert [e["message"] for e in out["events"]] == ["GET /index.html 200"]
    # The CLI pages for the user: one event per request, all five in the end.
    out = aws("logs", "filter-log-events", "--log-group-name", g, "--page-size", "1")
    assert len(out["events"]) == 5

    out = aws("logs", "describe-log-groups", "--log-group-name-prefix", g)
    (group,) = out["logGroups"]
    assert group["logGroupName"] == g
    assert group["arn"] == arn + ":*"
    assert group["logGroupArn"] == arn
    assert "retentionInDays" not in group

    assert aws("logs", "put-retention-policy", "--log-group-name", g, "--retention-in-days", "14") is None
    (group,) = aws("logs", "describe-log-groups", "--log-group-name-prefix", g)["logGroups"]
    assert group["retentionInDays"] == 14

    out = aws("logs", "describe-log-streams", "--log-group-name", g)
    (stream,) = out["logStreams"]
    assert stream["logStreamName"] == "web"
    assert stream["firstEventTimestamp"] == base + 1000
    assert stream["lastEventTimestamp"] == base + 5000

    assert aws("logs", "tag-resource", "--resource-arn", arn, "--tags", "owner=ops") is None
    assert aws("logs", "list-tags-for-resource", "--resource-arn", arn) == {
        "tags": {"team": "cli", "env": "test", "owner": "ops"}
    }
    assert aws("logs", "untag-resource", "--resource-arn", arn, "--tag-keys", "env") is None
    assert aws("logs", "list-tags-log-group", "--log-group-name", g) == {"tags": {"team": "cli", "owner": "ops"}}

    assert aws("logs", "delete-log-stream", "--log-group-name", g, "--log-stream-name", "web") is None
    assert aws("logs", "delete-log-group", "--log-group-name", g) is None
    assert aws("logs", "describe-log-groups", "--log-group-name-prefix", g) == {"logGroups": []}


def test_cli_paging_describe_log_groups(aws):
    prefix = f"compat/cli-paging/{uuid.uuid4().hex[:8]}/"
    names = [prefix + c for c in "abcd"]
    for name in names:
        aws("logs", "create-log-group", "--log-group-name", name)
    out = aws("logs", "describe-log-groups", "--log-group-name-prefix", prefix, "--page-size", "1")
    assert [g["logGroupName"] for g in out["logGroups"]] == names
    out = aws("logs", "describe-log-groups", "--log-group-name-prefix", prefix, "--max-items", "3", "--page-size", "2")
    assert [g["logGroupName"] for g in out["logGroups"]] == names[:3]
    rest = aws(
        "logs", "describe-log-groups", "--log-group-name-prefix", prefix, "--page-size", "2",
        "--starting-token", out["NextToken"],
    )
    assert [g["logGroupName"] for g in rest["logGroups"]] == names[3:]


def test_cli_errors(aws):
    missing = f"compat/cli/missing-{uuid.uuid4().hex[:8]}"
    proc = aws("logs", "describe-log-streams", "--log-group-name", missing, expect_rc=SERVICE_ERROR_EXIT)
    assert proc.stdout == ""
    assert proc.stderr.strip() == (
        "An error occurred (ResourceNotFoundException) when calling the DescribeLogStreams operation: "
        "The specified log group does not exist."
    )

    g = f"compat/cli/{uuid.uuid4().hex[:8]}"
    aws("logs", "create-log-group", "--log-group-name", g)
    proc = aws("logs", "create-log-group", "--log-group-name", g, expect_rc=SERVICE_ERROR_EXIT)
    assert proc.stderr.strip() == (
        "An error occurred (ResourceAlreadyExistsException) when calling the CreateLogGroup operation: "
        "The specified log group already exists"
    )
    proc = aws(
        "logs", "put-retention-policy", "--log-group-name", g, "--retention-in-days", "2",
        expect_rc=SERVICE_ERROR_EXIT,
    )
    assert proc.stderr.strip().startswith(
        "An error occurred (InvalidParameterException) when calling the PutRetentionPolicy operation: "
        "1 validation error detected: Value '2' at 'retentionInDays'"
    ), proc.stderr


def test_cli_wrong_credentials(aws, client_env, endpoint, tmp_path):
    bad = tmp_path / "bad-credentials"
    bad.write_text("[default]\naws_access_key_id = AKIAUNKNOWNUNKNOWN00\naws_secret_access_key = nope\n")
    env = dict(client_env, AWS_SHARED_CREDENTIALS_FILE=str(bad))
    proc = subprocess.run(
        [str(venv_tool("aws")), "logs", "describe-log-groups", "--endpoint-url", endpoint, "--region", REGION],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == SERVICE_ERROR_EXIT
    assert proc.stderr.strip() == (
        "An error occurred (UnrecognizedClientException) when calling the DescribeLogGroups operation: "
        "The security token included in the request is invalid."
    )


def test_cli_iam(aws, account_id, tmp_path):
    """`aws iam ... --endpoint-url` speaks the IAM query protocol to the same port."""
    me = aws("iam", "get-user")["User"]
    assert me["UserName"] == "admin"
    assert me["Arn"] == f"arn:aws:iam::{account_id}:user/admin"

    name = f"cli-{uuid.uuid4().hex[:8]}"
    user = aws("iam", "create-user", "--user-name", name)["User"]
    assert (user["UserName"], user["Path"], user["Arn"]) == (name, "/", f"arn:aws:iam::{account_id}:user/{name}")
    key = aws("iam", "create-access-key", "--user-name", name)["AccessKey"]
    assert (key["UserName"], key["Status"]) == (name, "Active")
    assert key["AccessKeyId"] and key["SecretAccessKey"]
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:*", "Resource": "*"}]}))
    assert aws("iam", "put-user-policy", "--user-name", name, "--policy-name", "all-logs", "--policy-document", f"file://{policy}") is None
    assert name in [u["UserName"] for u in aws("iam", "list-users")["Users"]]
