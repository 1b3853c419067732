#!/usr/bin/env bash
# EventBridge pattern matching benchmarks (crates/patterns/benches/matching.rs): one
# CloudTrail record (~2 KB, `AWS API Call via CloudTrail` envelope) per iteration
#  1. against 1,000 varied rules, from a decoded serde_json::Value (events in cache, as
#     right after PutEvents decodes them, and out of cache) and from the JSON text
#     (target 1,000,000 events/s on one core);
#  2. at 10, 100, 1,000, 10,000 and 100,000 rules (target: flat; printed as the time at
#     100,000 rules over the time at 10 and at 1,000, and over ten rules that mention
#     every field the 1,000 do);
#  3. side by side with the quamina crate (0.7) on the rules of the 1,000 both can
#     express, both reading JSON text (target 2× quamina's throughput).
# Prints a table with the ratios to the targets, then the bench's notes (event sizes,
# matches per event, build times and memory).
#
# Arguments go to the bench (criterion), e.g. `--quick` or `--measurement-time 2`.
# Environment: BENCH_RULE_COUNTS (default 10,100,1000,10000,100000), CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/sightline-target}"
export CRITERION_HOME="$CARGO_TARGET_DIR/criterion"
LOG="$(mktemp /tmp/sightline-patterns-bench.XXXXXX)"
trap 'rm -f "$LOG"' EXIT
cargo bench -p sightline-patterns --bench matching -- "$@" | tee "$LOG"
python3 - "$CRITERION_HOME" "$LOG" "${BENCH_RULE_COUNTS:-10,100,1000,10000,100000}" <<'PY'
import json, os, sys

home, log, counts = sys.argv[1], sys.argv[2], [int(c) for c in sys.argv[3].split(",") if c]


def ns(*parts):
    path = os.path.join(home, *parts, "new", "estimates.json")
    try:
        with open(path) as f:
            return json.load(f)["mean"]["point_estimate"]
    except (OSError, KeyError, ValueError):
        return None


def rate(t):
    return f"{1e9 / t:,.0f} events/s ({t:,.0f} ns)" if t else "—"


rows = []


def row(measure, value, target="—", ratio="—"):
    rows.append((measure, value, target, ratio))


def vs(t, target):
    return f"{1e9 / t / target:.2f}" if t else "—"


hot = ns("cloudtrail_1000_rules", "value")
row("1,000 rules, decoded event (in cache)", rate(hot), "≥ 1,000,000 events/s", vs(hot, 1e6))
row("1,000 rules, decoded event (from memory)", rate(ns("cloudtrail_1000_rules", "value_cold")))
text = ns("cloudtrail_1000_rules", "text")
row("1,000 rules, JSON text", rate(text), "≥ 1,000,000 events/s", vs(text, 1e6))
for how in ("value", "text"):
    times = {n: ns("rule_scaling", how, str(n)) for n in counts}
    for n in counts:
        row(f"{n:,} rules, {'decoded event' if how == 'value' else 'JSON text'}", rate(times[n]))
    top = times.get(max(counts)) if counts else None
    if how == "value":
        wide = ns("rule_scaling", "value_wide", "10")
        row("10 rules mentioning every field the 1,000 do, decoded event", rate(wide))
        if top and wide:
            r = top / wide
            row(
                f"flatness (value): time at {max(counts):,} / at those 10 rules",
                f"{r:.2f}",
                "≤ 1.5 (flat)",
                f"{1.5 / r:.2f}",
            )
    for base in (10, 1000):
        if top and times.get(base) and base < max(counts):
            r = top / times[base]
            row(
                f"flatness ({how}): time at {max(counts):,} / at {base:,} rules",
                f"{r:.2f}",
                "≤ 1.5 (flat)",
                f"{1.5 / r:.2f}",
            )
q = ns("vs_quamina", "quamina_text")
for name, label in (("sightline_text", "JSON text"), ("sightline_value", "decoded event")):
    t = ns("vs_quamina", name)
    row(f"shared rules, Sightline, {label}", rate(t))
    if t and q:
        row(f"  × quamina ({label} vs quamina's text)", f"{q / t:.2f}×", "≥ 2×", f"{q / t / 2:.2f}")
row("shared rules, quamina 0.7, JSON text", rate(q))

width = [max(len(r[i]) for r in rows + [("measure", "value", "target", "ratio")]) for i in range(4)]
print()
print("| " + " | ".join(h.ljust(w) for h, w in zip(("measure", "value", "target", "ratio"), width)) + " |")
print("|" + "|".join("-" * (w + 2) for w in width) + "|")
for r in rows:
    print("| " + " | ".join(c.ljust(w) for c, w in zip(r, width)) + " |")
print()
with open(log) as f:
    for line in f:
        if line.startswith("info: "):
            print("  " + line[6:].rstrip())
PY
