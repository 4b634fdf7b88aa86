#!/usr/bin/env bash
# Runs every test: the benchmarks on a tiny size so they cannot rot, Rust unit and
# integration tests (real server, official AWS SDK for Rust), and the Python
# compatibility suite (boto3, aws CLI, watchtower, awslogs).
set -euo pipefail
cd "$(dirname "$0")"

cargo build --workspace --all-targets
# The benchmarks on a tiny size with the debug build only prove the harnesses still run
# (their pass/fail rows are not a verdict on speed); the query benchmark also checks that
# every Insights query answers exactly what DuckDB's equivalent SQL does.
bash bench/run.sh tiny
bash bench/run.sh query-tiny
bash bench/run.sh agent-tiny
bash bench/run.sh import-tiny
bash bench/run.sh audit-tiny
bash bench/run.sh archive-tiny
cargo test --workspace
bash tests/compat/run.sh
