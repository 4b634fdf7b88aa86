#!/usr/bin/env bash
# Builds the server and the benchmark, then runs `bench ingest`.
#
#   bench/run.sh            # tiny: 5 MB with the debug build, what CI runs (checks the
#                           # harness, not the speed; a release build would cost CI minutes)
#   bench/run.sh full       # 1 GB with the release build, by hand (a few minutes)
#   bench/run.sh 300MB --kind vpc --output json    # any size (release), any ingest option
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-tiny}"
[ $# -gt 0 ] && shift
profile=release
case "$mode" in
  tiny) size=5MB; profile=debug ;;
  full) size=1GB ;;
  *) size="$mode" ;;
esac

target="${CARGO_TARGET_DIR:-$PWD/target}"
if [ "$profile" = debug ]; then
  cargo build -p trailwatch -p bench
else
  cargo build --release -p trailwatch -p bench
fi
exec "$target/$profile/bench" ingest --size "$size" "$@"
