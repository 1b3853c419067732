#!/usr/bin/env bash
# CloudWatch Logs benchmarks, against the release server on this machine:
#  1. bytes stored per message byte, over distinct ~200-byte JSON application logs,
#     as flushed and at rest once their hours are sealed (target at most 0.15);
#  2. PutLogEvents throughput over HTTP, durable: wrk sends signed batches of 4,500
#     ~200-byte events (the most that fit AWS's 1 MiB batch limit) with 16 connections,
#     every batch distinct and no event sent twice (replayed batches would put copies of
#     each event side by side in the segments, which then compress and scan many times
#     better than real logs) (target 500,000 events/s, 100 MB/s); wrk runs one thread
#     that builds its requests in memory before the clock starts, so that the load
#     generator takes little of the two cores it shares with the server;
#  3. FilterLogEvents with a term pattern over everything stored (~15-20 million events),
#     side by side with `rg -c` over as many of the same messages in a text file
#     (target within 2x);
#  4. Logs Insights `filter level = "ERROR" | stats count(*) by bin(5m)` over the same
#     events, side by side with DuckDB on the same messages held in a table
#     (`json_extract_string` + `time_bucket`, 2 threads; target within 1.5x).
# Prints a table with the ratios to the targets.
#
# Environment: BENCH_LOAD_SECONDS (default 25, after BENCH_WARMUP_SECONDS, default 10, not
# measured), BENCH_CONNECTIONS (16), BENCH_MAX_RATE (200: batches per second the load
# could reach at most; that many distinct batches per second of load are made, ~1.2 MB
# each, on disk, and wrk holds a run's worth in memory), BENCH_STORAGE_BATCHES (100), CARGO_TARGET_DIR,
# SIGHTLINE_TEST_VENV (default .venv, made by scripts/test).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/sightline-target}"
need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v rg >/dev/null 2>&1 || need+=(ripgrep)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y -qq "${need[@]}"; else sudo apt-get install -y -qq "${need[@]}"; fi
fi
VENV="${SIGHTLINE_TEST_VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r tests/requirements.txt
fi
cargo build --release -p sightline
export SIGHTLINE_BIN="$CARGO_TARGET_DIR/release/sightline"
PATH="$PWD/$VENV/bin:$PATH" exec "$VENV/bin/python" bench/logs.py "$@"
