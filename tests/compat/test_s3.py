"""Trailwatch against a real S3-compatible store (moto's server on loopback)."""

import uuid

from conftest import make_client, start_s3_trailwatch, stop_server


def test_s3_server_round_trips_objects(s3_server):
    s3 = s3_server.client()
    bucket = s3_server.create_bucket(f"compat-{uuid.uuid4().hex[:12]}")
    s3.put_object(Bucket=bucket, Key="a/b.txt", Body=b"hello", Metadata={"signature": "ab"})
    head = s3.head_object(Bucket=bucket, Key="a/b.txt")
    assert head["Metadata"] == {"signature": "ab"}
    assert s3.get_object(Bucket=bucket, Key="a/b.txt")["Body"].read() == b"hello"


def test_trailwatch_serves_with_s3_settings(trailwatch_bin, tmp_path_factory, s3_server):
    server = start_s3_trailwatch(trailwatch_bin, tmp_path_factory, s3_server)
    try:
        logs = make_client("logs", server.endpoint, "AKIDEXAMPLE", "secret")
        assert logs.describe_log_groups()["logGroups"] == []
    finally:
        stop_server(server)
