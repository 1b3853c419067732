#!/usr/bin/env bash
# Trail verification benchmark: fills a trail with log data (a replayed signed
# GetCallerIdentity under wrk), waits until everything is delivered and digested, then
# times `aws cloudtrail validate-logs` and `sightline trail verify` on the same trail in
# the same run (live against the endpoint, and offline over a copy of the bucket pinned
# to one core), and prints MB/s of (uncompressed) log data with the ratios to the
# targets: at least 50x validate-logs, at least 500 MB/s on one core. Then both live runs
# again through bench/latency_proxy.py, as from a remote machine (BENCH_RTT_MS, default
# 20, of round trip per request).
#
# Environment: BENCH_SHAPE (bulk, the default, or realistic: the trail's shape, see
# bench/trail_verify.py), BENCH_LOAD_SECONDS, BENCH_CONNECTIONS, BENCH_RATE,
# BENCH_DELIVERY_INTERVAL, BENCH_DIGEST_INTERVAL (each overrides the shape's),
# BENCH_RTT_MS, BENCH_CONCURRENCIES (e.g. 8,32: more remote rows),
# CARGO_TARGET_DIR, SIGHTLINE_TEST_VENV (default .venv, made by scripts/test).
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
PATH="$PWD/$VENV/bin:$PATH" exec "$VENV/bin/python" bench/trail_verify.py "$@"
