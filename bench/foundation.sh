#!/usr/bin/env bash
# Foundation benchmark: builds the release `sightline` binary, then runs the
# crates/server/benches/foundation.rs harness against it.
#
# Environment (passed through to the bench):
#   CARGO_TARGET_DIR      cargo target dir (default: <repo>/target)
#   SIGHTLINE_BIN         server binary to measure (default: the one built here)
#   BENCH_SECONDS         measured seconds per load run (default 10)
#   BENCH_WARMUP_SECONDS  unmeasured warm-up before each load run (default 1)
#   BENCH_CONNECTIONS     comma-separated connection counts (default 16,64,256)
#   BENCH_SIGN            request (default): sign every request; second: sign once per
#                         connection per second and reuse the headers
#   BENCH_STARTS          start-up repetitions (default 5)
#   BENCH_TMPDIR          where the temporary data dirs are created (default: $TMPDIR or /tmp)
#
# Example: BENCH_SECONDS=5 bench/foundation.sh
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release -p sightline
export SIGHTLINE_BIN="${SIGHTLINE_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release/sightline}"
exec cargo bench -p sightline-server --bench foundation -- "$@"
