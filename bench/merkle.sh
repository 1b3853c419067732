#!/usr/bin/env bash
# Transparency-log benchmark: a 10M-leaf RFC 6962 tree, inclusion and consistency proof
# generation and verification, checkpoint signing. Runs crates/merkle/benches/merkle.rs.
#
# Environment: BENCH_LEAVES (default 10000000), BENCH_PROOFS (default 10000),
# CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench -p sightline-merkle --bench merkle -- "$@"
