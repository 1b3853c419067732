#!/usr/bin/env bash
# EventBridge benchmarks, against the release server on this machine:
#  1. PutEvents ingest over HTTP, durable: wrk replays signed awsJson1_1 requests of 10
#     entries each with 16 connections while 1,000 varied rules sit on the bus (target
#     20,000 entries/s);
#  2. PutEvents to API destination: events sent at 1,000 events/s (100 requests of 10
#     entries per second) to a rule whose target is an API destination on a local
#     receiver; latency from the send to the receiver's arrival, p50 and p99 (target
#     p99 under 50 ms);
#  3. pattern matching (crates/patterns/benches/matching.rs, bench/patterns.sh).
# Prints a table with the ratios to the targets.
#
# Environment: BENCH_LOAD_SECONDS (default 20), BENCH_CONNECTIONS (16),
# BENCH_RATE_SECONDS (20), BENCH_PHASES (ingest,latency), CARGO_TARGET_DIR,
# SIGHTLINE_TEST_VENV (default .venv, made by scripts/test).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/sightline-target}"
if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y -qq wrk; else sudo apt-get install -y -qq wrk; fi
fi
VENV="${SIGHTLINE_TEST_VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r tests/requirements.txt
fi
cargo build --release -p sightline
export SIGHTLINE_BIN="$CARGO_TARGET_DIR/release/sightline"
PATH="$PWD/$VENV/bin:$PATH" exec "$VENV/bin/python" bench/events.py "$@"
