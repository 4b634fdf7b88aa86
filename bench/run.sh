#!/usr/bin/env bash
# Builds the server and the benchmark, then runs `bench ingest` or `bench query`.
#
#   bench/run.sh            # ingest, tiny: 5 MB with the debug build, what CI runs (checks
#                           # the harness, not the speed; a release build would cost CI minutes)
#   bench/run.sh full       # ingest, 1 GB with the release build, by hand (a few minutes)
#   bench/run.sh 300MB --kind vpc --output json    # ingest, any size (release), any option
#   bench/run.sh query-tiny # queries beside DuckDB, 5 MB, debug build, one timed run each:
#                           # checks the harness and that both engines return the same rows
#   bench/run.sh query-full # queries beside DuckDB, 1 GB, release build, by hand (~1 minute
#                           # plus the build; DuckDB's venv is made on first use)
#   bench/run.sh query 300MB --repeat 5 --output json   # queries, any size and option
#   bench/run.sh agent-tiny # `trailwatch agent` shipping a 5 MB file, debug build: checks the
#                           # harness (a few seconds)
#   bench/run.sh agent-full # the agent shipping a 1 GB file, release build, by hand
#   bench/run.sh agent 300MB --output json              # the agent, any size and option
#   bench/run.sh import-tiny  # `trailwatch import` per format beside `zcat | wc -l`, 2 MB
#                             # a format, debug build: checks the harness
#   bench/run.sh import 200MB # the same, any size per format (release), any option
#   bench/run.sh audit-tiny   # ingest with CloudTrail recording on and off, 5 MB each, and
#                             # validate-logs over a 3-second trail, debug build: checks the
#                             # harness (well under a minute)
#   bench/run.sh audit-full   # the same on 1 GB and a 2-minute trail of 32 clients, release
#                             # build, by hand
#   bench/run.sh archive-tiny # Insights on hot vs archived data, 5 MB, debug build: checks the
#                             # harness and that both tiers return the same rows
#   bench/run.sh archive-full # the same on 1 GB, release build, by hand
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-tiny}"
[ $# -gt 0 ] && shift
profile=release
command=ingest
case "$mode" in
  tiny) size=5MB; profile=debug ;;
  full) size=1GB ;;
  query-tiny) command=query; size=5MB; profile=debug; set -- --repeat 1 "$@" ;;
  query-full) command=query; size=1GB ;;
  agent-tiny) command=agent; size=5MB; profile=debug ;;
  agent-full) command=agent; size=1GB ;;
  agent)
    command=agent
    size="${1:-200MB}"
    [ $# -gt 0 ] && shift
    ;;
  import-tiny) command=import; size=2MB; profile=debug ;;
  archive-tiny) command=archive; size=5MB; profile=debug; set -- --repeat 1 "$@" ;;
  archive-full) command=archive; size=1GB ;;
  audit-tiny) command=audit; size=5MB; profile=debug; set -- --trail-secs 3 "$@" ;;
  audit-full) command=audit; size=1GB; set -- --trail-secs 120 --clients 32 "$@" ;;
  import)
    command=import
    size="${1:-100MB}"
    [ $# -gt 0 ] && shift
    ;;
  query)
    command=query
    size="${1:-200MB}"
    [ $# -gt 0 ] && shift
    ;;
  *) size="$mode" ;;
esac

target="${CARGO_TARGET_DIR:-$PWD/target}"
if [ "$profile" = debug ]; then
  cargo build -p trailwatch -p bench
else
  cargo build --release -p trailwatch -p bench
fi
exec "$target/$profile/bench" "$command" --size "$size" "$@"
