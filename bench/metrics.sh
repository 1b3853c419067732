#!/usr/bin/env bash
# CloudWatch metrics and alarms benchmarks, against the release server on this machine:
#  1. PutMetricData throughput over HTTP, durable: wrk replays signed awsJson1_0 requests
#     of 1,000 datapoints each (the most one request takes) with 16 connections
#     (target 300,000 datapoints/s);
#  2. GetMetricStatistics over one day of 1-second data for one metric (86,400 samples),
#     period 60 (1,440 datapoints), Average/Maximum/SampleCount and p99: latency over
#     repeated signed requests (target p99 under 50 ms);
#  3. one alarm-evaluation cycle over 10,000 alarms (cargo bench: crates/cloudwatch/
#     benches/alarms.rs; target under 200 ms);
#  4. time from a breaching datapoint to the alarm's SNS notification arriving at an HTTP
#     endpoint, for a 10-second alarm, over several trials at random phases (target at
#     most one evaluation interval, 10 s, plus 1 s);
#  5. remote-write ingest and bytes per sample at rest, side by side with Prometheus
#     (Debian package) fed the same samples by remote-write.
# Prints a table with the ratios to the targets.
#
# Environment: BENCH_LOAD_SECONDS (default 20), BENCH_CONNECTIONS (16), BENCH_TRIALS (6),
# BENCH_PHASES (ingest,stats,alarms,latency,prometheus), CARGO_TARGET_DIR,
# SIGHTLINE_TEST_VENV (default .venv, made by scripts/test).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/sightline-target}"
need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
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
PHASES="${BENCH_PHASES:-ingest,stats,alarms,latency,prometheus}"
if [[ ",$PHASES," == *",alarms,"* ]]; then
  cargo bench -p sightline-cloudwatch --bench alarms 2>/dev/null | tee /tmp/sightline-alarm-bench.txt
fi
PATH="$PWD/$VENV/bin:$PATH" BENCH_PHASES="$PHASES" exec "$VENV/bin/python" bench/metrics.py "$@"
