#!/usr/bin/env bash
# Runs every test: the benchmarks on a tiny size so they cannot rot, Rust unit and
# integration tests (real server, official AWS SDK for Rust), and the Python
# compatibility suite (boto3, aws CLI, watchtower, awslogs).
set -euo pipefail
cd "$(dirname "$0")"

cargo build --workspace --all-targets
# The benchmark on a tiny size with the debug build only proves the harness still runs;
# its pass/fail rows are not a verdict on speed.
bash bench/run.sh tiny
cargo test --workspace
bash tests/compat/run.sh
