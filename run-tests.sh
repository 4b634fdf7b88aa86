#!/usr/bin/env bash
# Runs every test: Rust unit and integration tests (real server, official AWS SDK for
# Rust), the Python compatibility suite (boto3, aws CLI, watchtower, awslogs), and the
# benchmarks on a tiny size so they cannot rot.
set -euo pipefail
cd "$(dirname "$0")"

cargo build --workspace --all-targets
cargo test --workspace
bash tests/compat/run.sh
bash bench/run.sh tiny
