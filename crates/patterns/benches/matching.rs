//! Event pattern matching benchmarks (`cargo bench -p sightline-patterns --bench
//! matching`; `bench/patterns.sh` runs it and prints the table against the targets).
//! Every iteration matches one CloudTrail record in the EventBridge envelope (1.5–2.4 KB
//! of JSON, see `corpus`), cycling through a pool of different ones:
//!
//! 1. `cloudtrail_1000_rules`: 1,000 varied rules, matched from a decoded
//!    `serde_json::Value` (`value`: a pool of 64 events, which stay in cache as an event
//!    does between PutEvents decoding it and the bus matching it; `value_cold`: 4,096
//!    events, ~40 MB of decoded values, so each is read from memory) and from the JSON
//!    text (`text`, reading the event included).
//! 2. `rule_scaling`: the first 10 to 100,000 rules of the same rule list, both ways;
//!    `value_wide/10` is ten rules that mention every field the thousand do (each an
//!    `$or` of templates), which separates the cost of reading more fields from that of
//!    holding more rules.
//! 3. `vs_quamina`: the rules of the 1,000 that quamina 0.7 can express and on which it
//!    agrees with Sightline for every event of the pool, in both matchers, each given
//!    the event as text (quamina takes only bytes), plus Sightline on the decoded value.
//!
//! Before measuring, it prints `info:` lines (event sizes, matches per event, the shared
//! rule count, build times and memory) that the script copies under its table.
//!
//! Environment: `BENCH_RULE_COUNTS` (default `10,100,1000,10000,100000`). With
//! `BENCH_PROFILE=value|text` it skips criterion and matches in a plain loop for
//! profilers: `BENCH_PROFILE_RULES` (1000), `BENCH_POOL` (64), and either
//! `BENCH_PROFILE_SECONDS` (10) or `BENCH_PROFILE_EVENTS` (a fixed count, for
//! instruction-counting tools: the difference between two counts is the cost of the
//! events between them).

mod corpus;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group};
use serde_json::Value;
use sightline_patterns::{Matcher, parse};

use corpus::Rng;

/// Events cycled through when measuring: small enough to stay in cache.
const HOT: usize = 64;
/// Events for the out-of-cache measurement.
const COLD: usize = 4_096;

struct Pool {
    values: Vec<Value>,
    texts: Vec<String>,
}

fn pool(size: usize) -> Pool {
    let mut rng = Rng::new(0x5157_4c49_4e45);
    let values: Vec<Value> = (0..size).map(|_| corpus::event(&mut rng)).collect();
    let texts: Vec<String> = values.iter().map(Value::to_string).collect();
    let sizes: Vec<usize> = texts.iter().map(String::len).collect();
    let mean = sizes.iter().sum::<usize>() / sizes.len().max(1);
    println!(
        "info: pool of {} CloudTrail records, {}..{} bytes, mean {mean}",
        values.len(),
        sizes.iter().min().copied().unwrap_or(0),
        sizes.iter().max().copied().unwrap_or(0),
    );
    Pool { values, texts }
}

/// Resident memory in MB (Linux), to show what a rule set costs.
fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn matcher(rules: usize) -> Matcher<usize> {
    let before = rss_mb();
    let started = Instant::now();
    let mut m = Matcher::new();
    for i in 0..rules {
        let text = corpus::rule(i, false).to_string();
        m.add(i, parse(&text).expect("generated rule is valid"));
    }
    println!(
        "info: {rules} rules built in {:.1} ms: {} automaton states, +{:.0} MB resident",
        started.elapsed().as_secs_f64() * 1e3,
        m.state_count(),
        rss_mb() - before,
    );
    m
}

fn mean_matches(m: &Matcher<usize>, pool: &Pool) -> f64 {
    let total: usize = pool.values.iter().map(|e| m.matching(e).len()).sum();
    total as f64 / pool.values.len() as f64
}

/// One event per iteration, cycling through the pool, from the decoded value.
fn bench_value(
    group: &mut BenchmarkGroup<'_, WallTime>,
    id: BenchmarkId,
    m: &Matcher<usize>,
    pool: &Pool,
) {
    let mut i = 0;
    group.bench_function(id, |b| {
        b.iter(|| {
            i = (i + 1) % pool.values.len();
            black_box(m.matching(black_box(&pool.values[i])).len())
        })
    });
}

/// One event per iteration, cycling through the pool, from the JSON text.
fn bench_text(
    group: &mut BenchmarkGroup<'_, WallTime>,
    id: BenchmarkId,
    m: &Matcher<usize>,
    pool: &Pool,
) {
    let mut i = 0;
    group.bench_function(id, |b| {
        b.iter(|| {
            i = (i + 1) % pool.texts.len();
            black_box(m.matching_str(black_box(&pool.texts[i])).map(|v| v.len()))
        })
    });
}

fn cloudtrail(c: &mut Criterion) {
    let hot = pool(HOT);
    let cold = pool(COLD);
    let m = matcher(1_000);
    println!(
        "info: 1000 rules: {:.2} matches per event",
        mean_matches(&m, &cold)
    );
    for (value, text) in cold.values.iter().zip(&cold.texts) {
        let a = m.matching(value);
        let b = m.matching_str(text).expect("valid JSON");
        assert_eq!(a, b, "both entry points agree");
    }
    let mut group = c.benchmark_group("cloudtrail_1000_rules");
    group.throughput(Throughput::Elements(1));
    bench_value(&mut group, BenchmarkId::from_parameter("value"), &m, &hot);
    bench_value(
        &mut group,
        BenchmarkId::from_parameter("value_cold"),
        &m,
        &cold,
    );
    bench_text(&mut group, BenchmarkId::from_parameter("text"), &m, &hot);
    group.finish();
}

fn scaling(c: &mut Criterion) {
    let pool = pool(HOT);
    let counts: Vec<usize> = std::env::var("BENCH_RULE_COUNTS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10, 100, 1_000, 10_000, 100_000]);
    let mut group = c.benchmark_group("rule_scaling");
    group.throughput(Throughput::Elements(1));
    let mut wide = Matcher::new();
    for j in 0..10 {
        let text = corpus::wide_rule(j).to_string();
        wide.add(j, parse(&text).expect("generated rule is valid"));
    }
    println!(
        "info: 10 wide rules: {} automaton states, {:.2} matches per event",
        wide.state_count(),
        mean_matches(&wide, &pool)
    );
    bench_value(&mut group, BenchmarkId::new("value_wide", 10), &wide, &pool);
    for &n in &counts {
        let m = matcher(n);
        println!(
            "info: {n} rules: {:.2} matches per event",
            mean_matches(&m, &pool)
        );
        bench_value(&mut group, BenchmarkId::new("value", n), &m, &pool);
        bench_text(&mut group, BenchmarkId::new("text", n), &m, &pool);
    }
    group.finish();
}

/// The rules of the 1,000 both matchers accept and agree on for every event.
fn shared_rules(pool: &Pool) -> Vec<String> {
    let mut shared = Vec::new();
    let mut refused = 0;
    let mut disagree = 0;
    for i in 0..1_000 {
        let text = corpus::rule(i, true).to_string();
        let ours = parse(&text).expect("generated rule is valid");
        let mut q = quamina::Quamina::<usize>::new();
        if q.add_pattern(i, &text).is_err() {
            refused += 1;
            continue;
        }
        let same = pool.values.iter().zip(&pool.texts).all(|(v, t)| {
            let theirs = q
                .matches_for_event(t.as_bytes())
                .map(|m| !m.is_empty())
                .unwrap_or(false);
            ours.matches(v) == theirs
        });
        if same {
            shared.push(text);
        } else {
            disagree += 1;
        }
    }
    println!(
        "info: shared rules: {} of 1000 (quamina refused {refused}, disagreed on {disagree})",
        shared.len()
    );
    shared
}

fn vs_quamina(c: &mut Criterion) {
    // Agreement is checked on more events than are timed.
    let check = pool(512);
    let rules = shared_rules(&check);
    let mut ours = Matcher::new();
    let mut theirs = quamina::Quamina::<usize>::new();
    let started = Instant::now();
    for (i, text) in rules.iter().enumerate() {
        ours.add(i, parse(text).expect("valid"));
    }
    let ours_build = started.elapsed();
    let started = Instant::now();
    for (i, text) in rules.iter().enumerate() {
        theirs.add_pattern(i, text).expect("accepted before");
    }
    let theirs_build = started.elapsed();
    println!(
        "info: shared rules built in {:.1} ms (sightline), {:.1} ms (quamina)",
        ours_build.as_secs_f64() * 1e3,
        theirs_build.as_secs_f64() * 1e3
    );
    let mut total = 0;
    for (value, text) in check.values.iter().zip(&check.texts) {
        let mut a: Vec<usize> = ours.matching(value).into_iter().copied().collect();
        let mut b = theirs
            .matches_for_event(text.as_bytes())
            .expect("valid JSON");
        a.sort_unstable();
        b.sort_unstable();
        assert_eq!(a, b, "same matches on {text}");
        total += a.len();
    }
    println!(
        "info: shared rules: {:.2} matches per event",
        total as f64 / check.values.len() as f64
    );
    let pool = pool(HOT);
    let mut group = c.benchmark_group("vs_quamina");
    group.throughput(Throughput::Elements(1));
    let mut i = 0;
    group.bench_function("quamina_text", |b| {
        b.iter(|| {
            i = (i + 1) % pool.texts.len();
            black_box(
                theirs
                    .matches_for_event(black_box(pool.texts[i].as_bytes()))
                    .map(|v| v.len()),
            )
        })
    });
    bench_text(
        &mut group,
        BenchmarkId::from_parameter("sightline_text"),
        &ours,
        &pool,
    );
    bench_value(
        &mut group,
        BenchmarkId::from_parameter("sightline_value"),
        &ours,
        &pool,
    );
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args()
}

criterion_group! {
    name = benches;
    config = config();
    targets = cloudtrail, scaling, vs_quamina
}

/// A plain loop over the pool for profilers; returns whether it ran.
fn profile() -> bool {
    let Ok(how) = std::env::var("BENCH_PROFILE") else {
        return false;
    };
    let env = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let pool = pool(env("BENCH_POOL", HOT).max(1));
    let m = matcher(env("BENCH_PROFILE_RULES", 1_000));
    let fixed = env("BENCH_PROFILE_EVENTS", 0) as u64;
    let until = Instant::now() + Duration::from_secs(env("BENCH_PROFILE_SECONDS", 10) as u64);
    let mut events = 0u64;
    let started = Instant::now();
    'outer: while if fixed > 0 {
        events < fixed
    } else {
        Instant::now() < until
    } {
        for (value, text) in pool.values.iter().zip(&pool.texts) {
            if fixed > 0 && events >= fixed {
                break 'outer;
            }
            let n = if how == "text" {
                m.matching_str(text).map_or(0, |v| v.len())
            } else {
                m.matching(value).len()
            };
            black_box(n);
            events += 1;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!("{how}: {:.0} events/s", events as f64 / secs);
    true
}

fn main() {
    if !profile() {
        benches();
        Criterion::default().configure_from_args().final_summary();
    }
}
