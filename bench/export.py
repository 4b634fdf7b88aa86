"""`trailwatch export` throughput: N JSON events (default 200,000) put into a fresh `--dev`
server, then exported as jsonl, jsonl --gzip and parquet to a directory; prints events/s.

    TRAILWATCH_BIN=target/release/trailwatch target/compat-venv/bin/python bench/export.py [N]

Needs boto3 (the compat venv has it). Figures go in notes, never in assertions."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import boto3

BIN = os.environ.get("TRAILWATCH_BIN", "target/debug/trailwatch")
BATCH = 10_000


def main():
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    work = tempfile.mkdtemp(prefix="trailwatch-export-bench-")
    server = subprocess.Popen(
        [BIN, "serve", "--listen", "127.0.0.1:0", "--data-dir", f"{work}/data", "--dev"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        endpoint = None
        for line in server.stdout:
            m = re.match(r"Trailwatch listening on (http://\S+)", line)
            if m:
                endpoint = m.group(1)
                break
        logs = boto3.client("logs", endpoint_url=endpoint, region_name="us-east-1",
                            aws_access_key_id="a", aws_secret_access_key="b")
        logs.create_log_group(logGroupName="bench")
        logs.create_log_stream(logGroupName="bench", logStreamName="s")
        start = int(time.time() * 1000) - 3_600_000
        for first in range(0, events, BATCH):
            logs.put_log_events(logGroupName="bench", logStreamName="s", logEvents=[
                {"timestamp": start + i * 10,
                 "message": json.dumps({"level": "ERROR" if i % 7 == 0 else "INFO",
                                        "msg": f"request {i} served", "latency_ms": i % 997})}
                for i in range(first, min(first + BATCH, events))
            ])
        env = {"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b",
               "PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}
        for fmt, extra in (("jsonl", []), ("jsonl", ["--gzip"]), ("parquet", [])):
            label = " ".join([fmt, *extra])
            dest = f"{work}/{label.replace(' ', '')}"
            began = time.monotonic()
            out = subprocess.run(
                [BIN, "export", "--group", "bench", "--format", fmt, *extra, dest,
                 "--endpoint", endpoint, "--output", "json"],
                env=env, capture_output=True, text=True, check=True,
            )
            elapsed = time.monotonic() - began
            summary = json.loads(out.stdout)
            print(f"{label}: {summary['events']} events, {summary['bytes']} bytes, "
                  f"{summary['files']} files in {elapsed:.2f}s = {summary['events'] / elapsed:,.0f} events/s")
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
