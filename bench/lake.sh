#!/usr/bin/env bash
# Lake benchmark: durable append throughput, a 10M-record audit dataset (ingest, bytes per
# record), LookupEvents latency, GROUP BY next to DuckDB, WAL replay. Runs
# crates/lake/benches/lake.rs; see its header for every setting.
#
# DuckDB (for the GROUP BY comparison) comes from a virtualenv of its own, created on
# first use; nothing is installed globally. Without it the bench prints n/a and says why.
#
# Environment (passed through to the bench):
#   BENCH_ROWS            records in the query dataset (default 10000000)
#   BENCH_DIR             where data dirs are made, on a real disk (default /var/tmp)
#   BENCH_PHASES          fsync,append,build,lookup,sql,replay (default: all)
#   BENCH_CONCURRENCY     append tasks per configuration (default 8,32,128)
#   BENCH_BATCH           records per append (default 1,10,100)
#   BENCH_DATASET_DIR     keep the dataset there and reuse it on later runs
#   BENCH_LOOKUP_RUNS     runs per lookup (default 50); BENCH_SQL_RUNS (default 5)
#   BENCH_REPLAY_ROWS     unflushed rows for the WAL replay (default 1000000)
#   BENCH_EXPLAIN=1       print EXPLAIN ANALYZE of the lookups and the GROUP BY
#   BENCH_VENV            the DuckDB virtualenv (default /var/tmp/sightline-bench-venv)
#   BENCH_PYTHON          a python with duckdb; set it to skip the virtualenv
#   CARGO_TARGET_DIR      cargo target dir
#
# Example: BENCH_ROWS=1000000 BENCH_PHASES=build,lookup,sql bench/lake.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DUCKDB_VERSION=2.0.1
VENV="${BENCH_VENV:-/var/tmp/sightline-bench-venv}"

has_duckdb() {
    "$1" -c "import duckdb, sys; sys.exit(0 if duckdb.__version__ == '$DUCKDB_VERSION' else 1)" \
        >/dev/null 2>&1
}

if [ -z "${BENCH_PYTHON:-}" ]; then
    if ! has_duckdb "$VENV/bin/python"; then
        echo "lake bench: preparing $VENV with duckdb==$DUCKDB_VERSION" >&2
        if ! { [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"; } ||
            ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
                "duckdb==$DUCKDB_VERSION" >&2; then
            export BENCH_DUCKDB_UNAVAILABLE="could not install duckdb==$DUCKDB_VERSION into $VENV"
        fi
    fi
    if has_duckdb "$VENV/bin/python"; then
        export BENCH_PYTHON="$VENV/bin/python"
    else
        export BENCH_DUCKDB_UNAVAILABLE="${BENCH_DUCKDB_UNAVAILABLE:-duckdb==$DUCKDB_VERSION does not import in $VENV}"
    fi
fi

exec cargo bench -p sightline-lake --bench lake -- "$@"
