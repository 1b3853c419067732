//! Lake benchmark: durable append throughput (WAL group commit), a large `audit_events`
//! dataset (ingest time, segments, bytes per record), LookupEvents latency through
//! `Trail::lookup`, a GROUP BY through `Lake::sql` next to DuckDB on the same Parquet
//! files, and WAL replay on reopen.
//!
//! Run through `bench/lake.sh` (which prepares DuckDB in a venv), or directly:
//! `cargo bench -p sightline-lake --bench lake`.
//!
//! Environment:
//! - `BENCH_ROWS` (10000000): records in the query dataset (48 hours, one account/region).
//! - `BENCH_DIR` (/var/tmp): where data directories are made; keep it on a real disk so
//!   that fsync is real.
//! - `BENCH_PHASES` ("fsync,append,build,lookup,sql,profile,replay"): which phases run;
//!   `profile` times alternative lookup plans and pieces of the GROUP BY, to show where
//!   the time goes.
//! - `BENCH_CONCURRENCY` ("8,32,128"), `BENCH_BATCH` ("1,10,100"): append configurations.
//! - `BENCH_APPEND_RECORDS` (300000), `BENCH_APPEND_SECONDS` (6): records prepared for,
//!   and longest duration of, one append configuration.
//! - `BENCH_INGEST_TASKS` (4), `BENCH_INGEST_BATCH` (1000), `BENCH_FLUSH_ROWS` (500000):
//!   how the dataset is ingested (the lake's maintenance task flushes at that size).
//! - `BENCH_COMPACT_SEGMENTS` (2): after ingest the lake is reopened with this compaction
//!   threshold and compacted; 0 skips compaction.
//! - `BENCH_DATASET_DIR`: keep the dataset there; a later run reuses it if it holds one
//!   with `BENCH_ROWS` rows.
//! - `BENCH_LOOKUP_RUNS` (50), `BENCH_SQL_RUNS` (5), `BENCH_PROFILE_RUNS` (10),
//!   `BENCH_REPLAY_ROWS` (1000000).
//! - `BENCH_PYTHON`: a python with the `duckdb` module, for the SQL comparison;
//!   `BENCH_DUCKDB_UNAVAILABLE`: why there is none (set by bench/lake.sh).
//! - `BENCH_EXPLAIN=1`: print EXPLAIN ANALYZE of the lookups and of the GROUP BY.

/// The allocator the server binary uses, so the figures are the server's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::Int64Type;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Expr, col, lit};
use datafusion::prelude::{DataFrame, ParquetReadOptions, SessionConfig, SessionContext};
use parking_lot::Mutex;
use serde_json::{Value as J, json};
use sightline_core::Scope;
use sightline_lake::store::SegmentStore;
use sightline_lake::table::ScopedTable;
use sightline_lake::{Lake, Options, Row, RowRef, catalog};
use sightline_meta::Meta;
use sightline_trail::Trail;
use sightline_trail::model::{Attribute, Lookup};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
const APPEND_TARGET: f64 = 200_000.0;
const LOOKUP_P99_TARGET_MS: f64 = 100.0;
const SQL_FACTOR: f64 = 1.5;
const DUCKDB_QUERY: &str =
    "SELECT event_name, count(*) FROM audit_events GROUP BY event_name ORDER BY event_name";
const HOUR_MS: i64 = 3_600_000;

fn main() {
    let cfg = Config::from_env();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut report = Report::default();
    print_machine(&cfg);
    if let Err(e) = rt.block_on(run(&cfg, &mut report)) {
        report.print();
        eprintln!("lake bench failed: {e}");
        std::process::exit(1);
    }
    report.print();
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type R<T> = Result<T, BoxError>;

// ---------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------

struct Config {
    rows: u64,
    dir: PathBuf,
    phases: Vec<String>,
    concurrency: Vec<usize>,
    batch: Vec<usize>,
    append_records: usize,
    append_seconds: f64,
    ingest_tasks: usize,
    ingest_batch: usize,
    flush_rows: usize,
    compact_segments: usize,
    dataset_dir: Option<PathBuf>,
    lookup_runs: usize,
    sql_runs: usize,
    profile_runs: usize,
    replay_rows: u64,
    python: Option<String>,
    duckdb_unavailable: Option<String>,
    explain: bool,
}

fn env_num(key: &str, default: f64) -> f64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.trim().replace('_', "").parse::<f64>().ok())
        .unwrap_or(default)
}

fn env_list(key: &str, default: &str) -> Vec<String> {
    std::env::var(key)
        .unwrap_or_else(|_| default.to_owned())
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

fn env_nonempty(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.trim().is_empty())
}

impl Config {
    fn from_env() -> Config {
        let nums = |key: &str, default: &str| -> Vec<usize> {
            env_list(key, default)
                .iter()
                .filter_map(|s| s.replace('_', "").parse().ok())
                .filter(|&n| n > 0)
                .collect()
        };
        Config {
            rows: env_num("BENCH_ROWS", 10_000_000.0).max(1.0) as u64,
            dir: PathBuf::from(env_nonempty("BENCH_DIR").unwrap_or_else(|| "/var/tmp".into())),
            phases: env_list(
                "BENCH_PHASES",
                "fsync,append,build,lookup,sql,profile,replay",
            ),
            concurrency: nums("BENCH_CONCURRENCY", "8,32,128"),
            batch: nums("BENCH_BATCH", "1,10,100"),
            append_records: env_num("BENCH_APPEND_RECORDS", 300_000.0).max(1.0) as usize,
            append_seconds: env_num("BENCH_APPEND_SECONDS", 6.0),
            ingest_tasks: env_num("BENCH_INGEST_TASKS", 4.0).max(1.0) as usize,
            ingest_batch: env_num("BENCH_INGEST_BATCH", 1000.0).max(1.0) as usize,
            flush_rows: env_num("BENCH_FLUSH_ROWS", 500_000.0).max(1.0) as usize,
            compact_segments: env_num("BENCH_COMPACT_SEGMENTS", 2.0) as usize,
            dataset_dir: env_nonempty("BENCH_DATASET_DIR").map(PathBuf::from),
            lookup_runs: env_num("BENCH_LOOKUP_RUNS", 50.0).max(1.0) as usize,
            sql_runs: env_num("BENCH_SQL_RUNS", 5.0).max(1.0) as usize,
            profile_runs: env_num("BENCH_PROFILE_RUNS", 10.0).max(1.0) as usize,
            replay_rows: env_num("BENCH_REPLAY_ROWS", 1_000_000.0) as u64,
            python: env_nonempty("BENCH_PYTHON"),
            duckdb_unavailable: env_nonempty("BENCH_DUCKDB_UNAVAILABLE"),
            explain: env_nonempty("BENCH_EXPLAIN").is_some_and(|v| v != "0"),
        }
    }

    fn phase(&self, name: &str) -> bool {
        self.phases.iter().any(|p| p == name || p == "all")
    }
}

// ---------------------------------------------------------------------------------------
// Machine and CPU contention
// ---------------------------------------------------------------------------------------

fn ncpu() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or_else(|| "unknown".into(), |s| s.trim().to_owned())
}

fn print_machine(cfg: &Config) {
    let mem = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_owned())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or_else(|| "?".into(), |kb| format!("{:.1} GiB", kb / 1048576.0));
    println!("# Sightline lake benchmark");
    println!(
        "machine: nproc {}, CPU {}, memory {mem}, load {}",
        ncpu(),
        cpu_model(),
        loadavg()
    );
    println!(
        "data dir base: {} (BENCH_ROWS {}, phases {})",
        cfg.dir.display(),
        cfg.rows,
        cfg.phases.join(",")
    );
    println!();
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// CPU counters at one moment, to tell how much of the machine other processes used
/// while something was measured.
#[derive(Clone, Copy)]
struct CpuMark {
    at: Instant,
    busy: u64,
    steal: u64,
    own: u64,
    load1: f64,
}

fn cpu_mark() -> CpuMark {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let v: Vec<u64> = stat
        .lines()
        .next()
        .filter(|l| l.starts_with("cpu "))
        .map(|l| {
            l.split_whitespace()
                .skip(1)
                .filter_map(|x| x.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let at = |i: usize| v.get(i).copied().unwrap_or(0);
    // user nice system idle iowait irq softirq steal
    let busy = at(0) + at(1) + at(2) + at(5) + at(6);
    let own = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1.to_owned();
            let f: Vec<u64> = rest
                .split_whitespace()
                .map(|x| x.parse().unwrap_or(0))
                .collect();
            // Fields after the command: state is field 3; utime 14 and stime 15.
            Some(f.get(11)? + f.get(12)?)
        })
        .unwrap_or(0);
    let load1 = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    CpuMark {
        at: Instant::now(),
        busy,
        steal: at(7),
        own,
        load1,
    }
}

/// "load1 a→b, others x%": the share of all cores that other processes kept busy.
fn contention(a: &CpuMark, b: &CpuMark) -> String {
    let ticks = b.at.duration_since(a.at).as_secs_f64() * 100.0 * ncpu() as f64;
    if ticks <= 0.0 {
        return String::new();
    }
    let others = (b.busy.saturating_sub(a.busy)).saturating_sub(b.own.saturating_sub(a.own));
    let mut s = format!(
        "load1 {:.1}→{:.1}, others {:.0}%",
        a.load1,
        b.load1,
        100.0 * others as f64 / ticks
    );
    let steal = 100.0 * b.steal.saturating_sub(a.steal) as f64 / ticks;
    if steal >= 1.0 {
        let _ = write!(s, ", steal {steal:.0}%");
    }
    s
}

fn rss() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let get = |k: &str| {
        status
            .lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    format!(
        "RSS {:.0} MiB (peak {:.0} MiB)",
        get("VmRSS:"),
        get("VmHWM:")
    )
}

// ---------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------

struct ReportRow {
    metric: String,
    value: String,
    anchor: String,
    ratio: Option<f64>,
    cpu: String,
}

#[derive(Default)]
struct Report {
    rows: Vec<ReportRow>,
    notes: Vec<String>,
}

impl Report {
    fn row(
        &mut self,
        metric: impl Into<String>,
        value: impl Into<String>,
        anchor: impl Into<String>,
        ratio: Option<f64>,
        cpu: impl Into<String>,
    ) {
        let row = ReportRow {
            metric: metric.into(),
            value: value.into(),
            anchor: anchor.into(),
            ratio,
            cpu: cpu.into(),
        };
        println!(
            "  -> {} | {} | {} | {} | {}",
            row.metric,
            row.value,
            row.anchor,
            ratio_text(row.ratio),
            row.cpu
        );
        let _ = std::io::stdout().flush();
        self.rows.push(row);
    }

    fn note(&mut self, s: impl Into<String>) {
        let s = s.into();
        println!("  note: {s}");
        self.notes.push(s);
    }

    fn print(&self) {
        if self.rows.is_empty() {
            return;
        }
        let header = [
            "metric",
            "value",
            "anchor/target",
            "ratio",
            "cpu contention",
        ];
        let cells: Vec<[String; 5]> = self
            .rows
            .iter()
            .map(|r| {
                [
                    r.metric.clone(),
                    r.value.clone(),
                    r.anchor.clone(),
                    ratio_text(r.ratio),
                    r.cpu.clone(),
                ]
            })
            .collect();
        let mut w = header.map(|h| h.chars().count());
        for c in &cells {
            for (i, s) in c.iter().enumerate() {
                w[i] = w[i].max(s.chars().count());
            }
        }
        let line = |c: &[String]| {
            let mut s = String::from("|");
            for (i, x) in c.iter().enumerate() {
                let pad = w[i] - x.chars().count();
                let _ = write!(s, " {x}{} |", " ".repeat(pad));
            }
            s
        };
        println!();
        println!("## Results ({})", Utc::now().format("%Y-%m-%d %H:%M UTC"));
        println!("machine: nproc {}, CPU {}", ncpu(), cpu_model());
        println!();
        println!("{}", line(&header.map(String::from)));
        let mut sep = String::from("|");
        for n in w {
            let _ = write!(sep, "{}|", "-".repeat(n + 2));
        }
        println!("{sep}");
        for c in &cells {
            println!("{}", line(c));
        }
        println!();
        println!("ratio ≥ 1.00 means the target is met; '-' marks rows without a target.");
        println!(
            "cpu contention: load average over the measurement and the share of all cores that \
             other processes used meanwhile (from /proc/stat less this process)."
        );
        for n in &self.notes {
            println!("- {n}");
        }
    }
}

fn ratio_text(r: Option<f64>) -> String {
    r.map_or_else(|| "-".into(), |r| format!("{r:.2}"))
}

fn rate(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

fn ms(d: Duration) -> String {
    let v = d.as_secs_f64() * 1e3;
    if v >= 100.0 {
        format!("{v:.0} ms")
    } else if v >= 10.0 {
        format!("{v:.1} ms")
    } else {
        format!("{v:.2} ms")
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// Nearest-rank percentile of sorted samples.
fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn median(v: &[Duration]) -> Duration {
    let mut s = v.to_vec();
    s.sort();
    if s.is_empty() {
        return Duration::ZERO;
    }
    if s.len() % 2 == 1 {
        s[s.len() / 2]
    } else {
        (s[s.len() / 2 - 1] + s[s.len() / 2]) / 2
    }
}

// ---------------------------------------------------------------------------------------
// Realistic CloudTrail records
// ---------------------------------------------------------------------------------------

/// splitmix64: a small deterministic generator, seeded per record.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut r = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0x5851_f42d_4c95_7f2d);
        r.next();
        r
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
    fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }
    fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        while s.len() < n {
            let _ = write!(s, "{:016x}", self.next());
        }
        s.truncate(n);
        s
    }
}

/// An AWS-style id: prefix and 16 characters of base32, derived from `n`.
fn key_id(prefix: &str, n: u64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut r = Rng::new(n ^ 0xa11c_e5ed);
    let mut s = String::from(prefix);
    for _ in 0..16 {
        s.push(ALPHABET[r.below(32) as usize] as char);
    }
    s
}

struct Api {
    source: &'static str,
    name: &'static str,
    read_only: bool,
    /// Relative frequency, per million.
    weight: u64,
}

const fn api(source: &'static str, name: &'static str, read_only: bool, weight: u64) -> Api {
    Api {
        source,
        name,
        read_only,
        weight,
    }
}

const COMMON_NAME: &str = "GetCallerIdentity";
const RARE_NAME: &str = "DeleteTrail";

/// Forty API calls with a skewed mix: the most common is ~18% of events, the rarest one
/// in 20,000.
const APIS: &[Api] = &[
    api("sts", "GetCallerIdentity", true, 180_000),
    api("s3", "GetObject", true, 150_000),
    api("s3", "PutObject", false, 90_000),
    api("kms", "Decrypt", true, 80_000),
    api("logs", "PutLogEvents", false, 70_000),
    api("sts", "AssumeRole", true, 60_000),
    api("s3", "HeadObject", true, 50_000),
    api("kms", "GenerateDataKey", true, 40_000),
    api("iam", "GetUser", true, 30_000),
    api("s3", "ListBuckets", true, 25_000),
    api("ec2", "DescribeInstances", true, 25_000),
    api("iam", "ListUsers", true, 20_000),
    api("iam", "GetRole", true, 20_000),
    api("kms", "Encrypt", true, 18_000),
    api("logs", "DescribeLogGroups", true, 15_000),
    api("iam", "ListRoles", true, 15_000),
    api("s3", "DeleteObject", false, 12_000),
    api("cloudtrail", "LookupEvents", true, 10_000),
    api("sts", "GetSessionToken", true, 10_000),
    api("iam", "ListAccessKeys", true, 9_000),
    api("kms", "DescribeKey", true, 8_000),
    api("iam", "GetPolicy", true, 8_000),
    api("iam", "ListPolicies", true, 7_000),
    api("logs", "CreateLogStream", false, 6_000),
    api("ec2", "DescribeSecurityGroups", true, 6_000),
    api("organizations", "DescribeOrganization", true, 5_000),
    api("iam", "ListAttachedRolePolicies", true, 5_000),
    api("iam", "CreateAccessKey", false, 3_000),
    api("iam", "CreateUser", false, 2_000),
    api("s3", "CreateBucket", false, 1_500),
    api("iam", "PutRolePolicy", false, 1_500),
    api("iam", "AttachRolePolicy", false, 1_500),
    api("iam", "CreateRole", false, 1_200),
    api("organizations", "ListAccounts", true, 1_000),
    api("iam", "DeleteAccessKey", false, 800),
    api("ec2", "RunInstances", false, 600),
    api("iam", "DeleteUser", false, 500),
    api("logs", "CreateLogGroup", false, 400),
    api("organizations", "CreateAccount", false, 60),
    api("cloudtrail", "DeleteTrail", false, 50),
];

fn total_weight() -> u64 {
    APIS.iter().map(|a| a.weight).sum()
}

fn pick_api(r: &mut Rng) -> &'static Api {
    let mut x = r.below(total_weight());
    for a in APIS {
        if x < a.weight {
            return a;
        }
        x -= a.weight;
    }
    &APIS[0]
}

fn share(name: &str) -> f64 {
    APIS.iter()
        .find(|a| a.name == name)
        .map_or(0.0, |a| a.weight as f64 / total_weight() as f64)
}

fn audit_time(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn identity(r: &mut Rng, time_ms: i64) -> (J, String) {
    let roll = r.below(100);
    if roll < 63 {
        let u = r.below(150);
        let name = format!("dev-{u:03}");
        let arn = format!("arn:aws:iam::{ACCOUNT}:user/{name}");
        (
            json!({
                "type": "IAMUser",
                "principalId": key_id("AIDA", u),
                "arn": arn,
                "accountId": ACCOUNT,
                "accessKeyId": key_id("AKIA", u + 1000),
                "userName": name,
            }),
            arn,
        )
    } else if roll < 98 {
        let role = r.below(30);
        let session = format!("session-{}", r.below(500));
        let role_name = format!("app-role-{role:02}");
        let arn = format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role_name}/{session}");
        (
            json!({
                "type": "AssumedRole",
                "principalId": format!("{}:{session}", key_id("AROA", role)),
                "arn": arn,
                "accountId": ACCOUNT,
                "accessKeyId": key_id("ASIA", r.below(5000)),
                "sessionContext": {
                    "sessionIssuer": {
                        "type": "Role",
                        "principalId": key_id("AROA", role),
                        "arn": format!("arn:aws:iam::{ACCOUNT}:role/{role_name}"),
                        "accountId": ACCOUNT,
                        "userName": role_name,
                    },
                    "attributes": {
                        "creationDate": audit_time(time_ms - (r.below(3600) as i64) * 1000),
                        "mfaAuthenticated": "false",
                    }
                }
            }),
            arn,
        )
    } else {
        let arn = format!("arn:aws:iam::{ACCOUNT}:root");
        (
            json!({
                "type": "Root",
                "principalId": ACCOUNT,
                "arn": arn,
                "accountId": ACCOUNT,
                "accessKeyId": key_id("AKIA", 7),
            }),
            arn,
        )
    }
}

/// Request parameters, response elements and resource ARNs of one call.
fn call_details(r: &mut Rng, a: &Api, time_ms: i64) -> (J, J, Vec<String>) {
    let bucket = format!("sightline-data-{:02}", r.below(20));
    let key = format!(
        "logs/2026/11/{:02}/part-{:05}.json.gz",
        1 + r.below(28),
        r.below(100_000)
    );
    let user = format!("dev-{:03}", r.below(150));
    let role = format!("app-role-{:02}", r.below(30));
    let kms_key = format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{}", r.uuid());
    let group = format!("/aws/lambda/worker-{:02}", r.below(40));
    let instance = format!("i-0{}", r.hex(16));
    match a.source {
        "s3" => {
            let params = if a.name == "ListBuckets" {
                json!({ "Host": "s3.us-east-1.amazonaws.com" })
            } else {
                json!({
                    "bucketName": bucket,
                    "Host": format!("{bucket}.s3.{REGION}.amazonaws.com"),
                    "key": key,
                    "x-id": a.name,
                })
            };
            let resources = if a.name == "ListBuckets" {
                vec![]
            } else {
                vec![
                    format!("arn:aws:s3:::{bucket}/{key}"),
                    format!("arn:aws:s3:::{bucket}"),
                ]
            };
            (params, J::Null, resources)
        }
        "sts" => match a.name {
            "AssumeRole" => {
                let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/{role}");
                let session = format!("session-{}", r.below(500));
                (
                    json!({
                        "roleArn": role_arn,
                        "roleSessionName": session,
                        "durationSeconds": 3600,
                    }),
                    json!({
                        "credentials": {
                            "accessKeyId": key_id("ASIA", r.below(5000)),
                            "sessionToken": "HIDDEN_DUE_TO_SECURITY_REASONS",
                            "expiration": audit_time(time_ms + HOUR_MS),
                        },
                        "assumedRoleUser": {
                            "assumedRoleId": format!("{}:{session}", key_id("AROA", 3)),
                            "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}"),
                        }
                    }),
                    vec![role_arn],
                )
            }
            "GetSessionToken" => (json!({ "durationSeconds": 43200 }), J::Null, vec![]),
            _ => (J::Null, J::Null, vec![]),
        },
        "kms" => (
            json!({
                "keyId": kms_key,
                "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
                "encryptionContext": { "aws:s3:arn": format!("arn:aws:s3:::{bucket}/{key}") },
            }),
            J::Null,
            vec![kms_key],
        ),
        "logs" => (
            json!({
                "logGroupName": group,
                "logStreamName": format!("2026/11/26/[$LATEST]{}", r.hex(32)),
            }),
            J::Null,
            vec![format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}")],
        ),
        "ec2" => (
            json!({
                "instancesSet": { "items": [{ "instanceId": instance }] },
                "filterSet": {},
                "maxResults": 1000,
            }),
            J::Null,
            vec![format!(
                "arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{instance}"
            )],
        ),
        "cloudtrail" => {
            if a.name == "DeleteTrail" {
                let trail = format!(
                    "arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/audit-{}",
                    r.below(3)
                );
                (json!({ "name": trail }), J::Null, vec![trail])
            } else {
                (
                    json!({
                        "lookupAttributes": [{ "attributeKey": "EventName", "attributeValue": "CreateUser" }],
                        "maxResults": 50,
                    }),
                    J::Null,
                    vec![],
                )
            }
        }
        "organizations" => (
            if a.name == "CreateAccount" {
                json!({ "accountName": format!("team-{}", r.below(99)), "email": "HIDDEN_DUE_TO_SECURITY_REASONS" })
            } else {
                json!({})
            },
            J::Null,
            vec![format!(
                "arn:aws:organizations::{ACCOUNT}:organization/o-{}",
                r.hex(10)
            )],
        ),
        _ => {
            // iam
            let user_arn = format!("arn:aws:iam::{ACCOUNT}:user/{user}");
            let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/{role}");
            let policy = "arn:aws:iam::aws:policy/ReadOnlyAccess".to_owned();
            match a.name {
                "ListUsers" | "ListRoles" | "ListPolicies" => {
                    (json!({ "maxItems": 100 }), J::Null, vec![])
                }
                "GetRole" | "CreateRole" | "ListAttachedRolePolicies" => {
                    (json!({ "roleName": role }), J::Null, vec![role_arn])
                }
                "PutRolePolicy" | "AttachRolePolicy" => (
                    json!({ "roleName": role, "policyArn": policy, "policyName": "inline-access" }),
                    J::Null,
                    vec![role_arn, policy],
                ),
                "GetPolicy" => (json!({ "policyArn": policy }), J::Null, vec![policy]),
                "CreateAccessKey" => (
                    json!({ "userName": user }),
                    json!({ "accessKey": {
                        "userName": user,
                        "accessKeyId": key_id("AKIA", r.below(100_000)),
                        "status": "Active",
                        "secretAccessKey": "HIDDEN_DUE_TO_SECURITY_REASONS",
                        "createDate": audit_time(time_ms),
                    }}),
                    vec![user_arn],
                ),
                "CreateUser" => (
                    json!({ "userName": user, "path": "/" }),
                    json!({ "user": {
                        "path": "/",
                        "userName": user,
                        "userId": key_id("AIDA", r.below(100_000)),
                        "arn": user_arn,
                        "createDate": audit_time(time_ms),
                    }}),
                    vec![user_arn],
                ),
                _ => (json!({ "userName": user }), J::Null, vec![user_arn]),
            }
        }
    }
}

/// One CloudTrail record as the server writes it (about 1 KB of JSON).
fn record(i: u64, time_ms: i64) -> J {
    let mut r = Rng::new(i);
    let a = pick_api(&mut r);
    let (user_identity, caller_arn) = identity(&mut r, time_ms);
    let (params, response, resources) = call_details(&mut r, a, time_ms);
    let source = format!("{}.amazonaws.com", a.source);
    let mut m = serde_json::Map::new();
    m.insert("eventVersion".into(), J::from("1.11"));
    m.insert("userIdentity".into(), user_identity);
    m.insert("eventTime".into(), J::from(audit_time(time_ms)));
    m.insert("eventSource".into(), J::from(source.clone()));
    m.insert("eventName".into(), J::from(a.name));
    m.insert("awsRegion".into(), J::from(REGION));
    m.insert(
        "sourceIPAddress".into(),
        J::from(format!("203.0.{}.{}", r.below(8), 1 + r.below(254))),
    );
    m.insert(
        "userAgent".into(),
        J::from(format!(
            "aws-cli/2.{}.{} Python/3.11.8 Linux/6.1.0 exe/x86_64.debian.12 prompt/off command/{}.{}",
            r.below(20),
            r.below(30),
            a.source,
            a.name.to_ascii_lowercase()
        )),
    );
    if r.chance(20) {
        m.insert("errorCode".into(), J::from("AccessDenied"));
        m.insert(
            "errorMessage".into(),
            J::from(format!(
                "User: {caller_arn} is not authorized to perform: {}:{} because no identity-based policy allows the {}:{} action",
                a.source, a.name, a.source, a.name
            )),
        );
    }
    m.insert("requestParameters".into(), params);
    m.insert("responseElements".into(), response);
    m.insert("requestID".into(), J::from(r.uuid()));
    m.insert("eventID".into(), J::from(r.uuid()));
    m.insert("readOnly".into(), J::from(a.read_only));
    if !resources.is_empty() {
        let list: Vec<J> = resources
            .into_iter()
            .map(|arn| json!({ "ARN": arn, "accountId": ACCOUNT }))
            .collect();
        m.insert("resources".into(), J::Array(list));
    }
    m.insert("eventType".into(), J::from("AwsApiCall"));
    m.insert("managementEvent".into(), J::from(true));
    m.insert("recipientAccountId".into(), J::from(ACCOUNT));
    m.insert("eventCategory".into(), J::from("Management"));
    m.insert(
        "tlsDetails".into(),
        json!({
            "tlsVersion": "TLSv1.3",
            "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": source,
        }),
    );
    J::Object(m)
}

/// Records `0..n` spread evenly (in index order, with a few seconds of jitter) over
/// `[start_ms, start_ms + span_ms)`.
struct Timeline {
    start_ms: i64,
    span_ms: i64,
    n: u64,
}

impl Timeline {
    fn time(&self, i: u64) -> i64 {
        let base =
            self.start_ms + ((i as i128 * self.span_ms as i128) / self.n.max(1) as i128) as i64;
        let jitter = (Rng::new(i ^ 0x7177).below(5000)) as i64;
        (base + jitter).min(self.start_ms + self.span_ms - 1)
    }
    /// The stored row, as the server's audit sink appends it: the record and the call's
    /// precise time.
    fn record(&self, i: u64) -> Row {
        let t = self.time(i);
        sightline_lake::datasets::audit::row(date(t), record(i, t))
    }
}

/// Generates `[from, to)` on all cores, in order.
fn generate(t: &Timeline, from: u64, to: u64) -> Vec<Row> {
    let n = (to - from) as usize;
    let threads = ncpu().min(n.div_ceil(1000)).max(1);
    let per = n.div_ceil(threads) as u64;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads as u64)
            .map(|k| {
                let lo = from + k * per;
                let hi = (lo + per).min(to);
                s.spawn(move || (lo..hi).map(|i| t.record(i)).collect::<Vec<Row>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("generator thread"))
            .collect()
    })
}

/// Bytes of the CloudTrail record's JSON.
fn record_json_len(row: &Row) -> usize {
    serde_json::to_vec(&row.doc).map_or(0, |v| v.len())
}

fn now_hour_ms() -> i64 {
    (Utc::now().timestamp_millis() / HOUR_MS) * HOUR_MS
}

// ---------------------------------------------------------------------------------------
// Lake plumbing
// ---------------------------------------------------------------------------------------

fn scope() -> Scope {
    Scope::new(ACCOUNT, REGION)
}

fn segments_dir(data: &Path) -> PathBuf {
    data.join("segments")
}

async fn open_lake(data: &Path, options: Options) -> R<Arc<Lake>> {
    let meta = Arc::new(Meta::open(data)?);
    let store = SegmentStore::local(&segments_dir(data))?;
    Ok(Lake::open(data, store, meta, options).await?)
}

/// `flush_rows` of `usize::MAX` means no size-triggered flush at all (rows or bytes).
fn bench_options(flush_rows: usize, compact_segments: usize) -> Options {
    let flush_bytes = match flush_rows {
        usize::MAX => usize::MAX,
        _ => Options::default().flush_bytes,
    };
    Options {
        flush_rows,
        flush_bytes,
        compact_segments: compact_segments.max(1),
        delete_grace: Duration::ZERO,
        ..Options::default()
    }
}

fn temp_dir(cfg: &Config, what: &str) -> R<tempfile::TempDir> {
    std::fs::create_dir_all(&cfg.dir)?;
    Ok(tempfile::Builder::new()
        .prefix(&format!("sightline-lake-bench-{what}-"))
        .tempdir_in(&cfg.dir)?)
}

/// Every Parquet file under a directory: (count, bytes).
fn parquet_files(dir: &Path) -> (usize, u64) {
    let mut stack = vec![dir.to_path_buf()];
    let (mut n, mut bytes) = (0, 0);
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "parquet") {
                n += 1;
                bytes += e.metadata().map_or(0, |m| m.len());
            }
        }
    }
    (n, bytes)
}

fn parquet_paths(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "parquet") {
                out.push(p);
            }
        }
    }
    out
}

/// Compressed bytes per column over every file's footer, largest first.
fn column_sizes(dir: &Path) -> Vec<(String, u64, u64)> {
    use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
    let mut sizes: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
    for p in parquet_paths(dir) {
        let Ok(f) = std::fs::File::open(&p) else {
            continue;
        };
        let Ok(reader) = SerializedFileReader::new(f) else {
            continue;
        };
        for rg in reader.metadata().row_groups() {
            for c in rg.columns() {
                let e = sizes.entry(c.column_path().string()).or_default();
                e.0 += c.compressed_size().max(0) as u64;
                e.1 += c.uncompressed_size().max(0) as u64;
            }
        }
    }
    let mut v: Vec<_> = sizes.into_iter().map(|(k, (c, u))| (k, c, u)).collect();
    v.sort_by_key(|c| std::cmp::Reverse(c.1));
    v
}

async fn count_rows(lake: &Lake) -> R<u64> {
    let out = lake
        .sql(ACCOUNT, "SELECT count(*) AS n FROM audit_events")
        .await?;
    let b = out.batches.first().ok_or("no result batch")?;
    Ok(b.column(0).as_primitive::<Int64Type>().value(0) as u64)
}

// ---------------------------------------------------------------------------------------
// Phases
// ---------------------------------------------------------------------------------------

async fn run(cfg: &Config, report: &mut Report) -> R<()> {
    if cfg.phase("fsync") {
        println!("== fsync latency of the data disk");
        fsync_latency(cfg, report)?;
    }
    if cfg.phase("append") {
        println!("== 1. durable append throughput");
        append_throughput(cfg, report).await?;
    }
    let needs_dataset =
        cfg.phase("build") || cfg.phase("lookup") || cfg.phase("sql") || cfg.phase("profile");
    let mut kept: Option<tempfile::TempDir> = None;
    if needs_dataset {
        println!("== 2. dataset of {} records", cfg.rows);
        let (data, tmp) = match &cfg.dataset_dir {
            Some(d) => (d.clone(), None),
            None => {
                let t = temp_dir(cfg, "dataset")?;
                (t.path().to_path_buf(), Some(t))
            }
        };
        kept = tmp;
        let (lake, timeline) = dataset(cfg, &data, report).await?;
        if cfg.phase("lookup") {
            println!("== 3. LookupEvents latency");
            lookups(cfg, &lake, &timeline, report).await?;
        }
        if cfg.phase("sql") {
            println!("== 4. GROUP BY event_name: Sightline vs DuckDB");
            group_by(cfg, &lake, &data, report).await?;
        }
        if cfg.phase("profile") {
            println!("== profile: where lookups and the GROUP BY spend their time");
            profile(cfg, &lake, &data, &timeline, report).await?;
        }
        lake.close();
        drop(lake);
    }
    drop(kept);
    if cfg.phase("replay") && cfg.replay_rows > 0 {
        println!("== 5. WAL replay on reopen");
        replay(cfg, report).await?;
    }
    report.note(format!("bench process at the end: {}", rss()));
    Ok(())
}

/// write(1 KiB) + fdatasync, the floor under every group commit.
fn fsync_latency(cfg: &Config, report: &mut Report) -> R<()> {
    use std::os::unix::fs::FileExt;
    let dir = temp_dir(cfg, "fsync")?;
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.path().join("probe.log"))?;
    let block = vec![b'x'; 1024];
    let mut lat = Vec::new();
    let c0 = cpu_mark();
    for i in 0..300u64 {
        let t = Instant::now();
        f.write_all_at(&block, i * 1024)?;
        f.sync_data()?;
        lat.push(t.elapsed());
    }
    let c1 = cpu_mark();
    lat.sort();
    report.row(
        "fsync: 1 KiB append + fdatasync (WAL disk)",
        format!("p50 {}, p99 {}", ms(pct(&lat, 50.0)), ms(pct(&lat, 99.0))),
        format!("{} (info: bounds group commits/s)", cfg.dir.display()),
        None,
        contention(&c0, &c1),
    );
    Ok(())
}

/// Where an append's CPU goes, one thread, per record: the steps `Lake::append` takes
/// before the WAL thread (dataset batch, WAL JSON, framing), and dropping the input.
fn append_cpu_breakdown(timeline: &Timeline, report: &mut Report) -> R<()> {
    use sightline_lake::dataset::Dataset;
    let ds = sightline_lake::datasets::audit::AuditEvents;
    let n = 20_000u64;
    let records = generate(timeline, 0, n);
    let per = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
    let c0 = cpu_mark();
    let step = |b: usize| -> R<(f64, f64, f64)> {
        // The WAL frame: each document serialized once, straight into the frame.
        let t = Instant::now();
        let mut frames = Vec::new();
        for chunk in records.chunks(b) {
            let mut f =
                sightline_lake::wal::FrameBuilder::new("audit_events", ACCOUNT, REGION, b * 1280)?;
            for r in chunk {
                f.push(r.time_ms, &r.doc)?;
            }
            frames.push(f.finish()?);
        }
        let wal = per(t.elapsed());
        // The columns, taking the record text from the frame.
        let t = Instant::now();
        let mut mem = 0usize;
        for (chunk, frame) in records.chunks(b).zip(&frames) {
            let refs: Vec<RowRef<'_>> = chunk
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let (time_ms, json) = frame.row(i).expect("row in frame");
                    RowRef {
                        time_ms,
                        doc: &r.doc,
                        json,
                    }
                })
                .collect();
            let batch = ds.to_batch(ACCOUNT, REGION, &refs)?;
            mem += batch.get_array_memory_size();
            std::hint::black_box(batch);
        }
        let to_batch = per(t.elapsed());
        Ok((to_batch, wal, mem as f64 / n as f64))
    };
    let (batch1, wal1, mem1) = step(1)?;
    let (batch100, wal100, mem100) = step(100)?;
    let t = Instant::now();
    drop(records);
    let drop_us = per(t.elapsed());
    let c1 = cpu_mark();
    report.row(
        "Arrow batch memory per row as to_batch builds it, B=100 | B=1",
        format!("{:.1} KiB | {:.1} KiB", mem100 / 1024.0, mem1 / 1024.0),
        "info: the buffer merges small batches",
        None,
        "",
    );
    let total100 = batch100 + wal100 + drop_us;
    let total1 = batch1 + wal1 + drop_us;
    report.row(
        "append CPU per record, 1 thread (B=100 | B=1)",
        format!(
            "{total100:.1} | {total1:.1} µs: WAL frame (JSON once + CRC) {wal100:.1} | {wal1:.1}, \
             to_batch {batch100:.1} | {batch1:.1}, drop input {drop_us:.1}"
        ),
        format!(
            "CPU ceiling on {} cores ≈ {} | {} rec/s (before WAL thread, channels, buffer)",
            ncpu(),
            rate(ncpu() as f64 * 1e6 / total100),
            rate(ncpu() as f64 * 1e6 / total1)
        ),
        None,
        contention(&c0, &c1),
    );
    Ok(())
}

async fn append_throughput(cfg: &Config, report: &mut Report) -> R<()> {
    let dir = temp_dir(cfg, "append")?;
    let lake = open_lake(dir.path(), bench_options(usize::MAX, 8)).await?;
    let n = cfg.append_records as u64;
    // A few hours of events, in arrival order.
    let timeline = Timeline {
        start_ms: now_hour_ms() - 3 * HOUR_MS,
        span_ms: 3 * HOUR_MS,
        n,
    };
    let gen_start = Instant::now();
    let sample = generate(&timeline, 0, n.min(20_000));
    let per_record = gen_start.elapsed() / sample.len().max(1) as u32;
    let json_bytes: usize = sample.iter().map(record_json_len).sum();
    report.note(format!(
        "append records: {:.0} B of JSON on average; generating one takes {:.1} µs (all cores), \
         not counted in append throughput",
        json_bytes as f64 / sample.len().max(1) as f64,
        per_record.as_secs_f64() * 1e6
    ));
    drop(sample);
    append_cpu_breakdown(&timeline, report)?;
    let mut best: Option<(f64, usize, usize)> = None;
    for &b in &cfg.batch {
        for &k in &cfg.concurrency {
            let records = generate(&timeline, 0, n);
            let mut batches: Vec<Vec<Row>> = Vec::with_capacity(records.len().div_ceil(b));
            let mut it = records.into_iter().peekable();
            while it.peek().is_some() {
                batches.push(it.by_ref().take(b).collect());
            }
            batches.reverse();
            let pool = Arc::new(Mutex::new(batches));
            let appended = Arc::new(AtomicU64::new(0));
            let deadline_after = Duration::from_secs_f64(cfg.append_seconds);
            let c0 = cpu_mark();
            let start = Instant::now();
            let deadline = start + deadline_after;
            let mut tasks = Vec::new();
            for _ in 0..k {
                let (lake, pool, appended) = (lake.clone(), pool.clone(), appended.clone());
                tasks.push(tokio::spawn(async move {
                    let sc = scope();
                    let mut lat = Vec::new();
                    loop {
                        if Instant::now() >= deadline {
                            break;
                        }
                        let Some(batch) = pool.lock().pop() else {
                            break;
                        };
                        let len = batch.len() as u64;
                        let t = Instant::now();
                        lake.append("audit_events", &sc, batch).await?;
                        lat.push(t.elapsed());
                        appended.fetch_add(len, Ordering::Relaxed);
                    }
                    Ok::<_, sightline_lake::Error>(lat)
                }));
            }
            let mut lat = Vec::new();
            for t in tasks {
                lat.extend(t.await??);
            }
            let elapsed = start.elapsed();
            let c1 = cpu_mark();
            lat.sort();
            let done = appended.load(Ordering::Relaxed);
            let rps = done as f64 / elapsed.as_secs_f64();
            if best.is_none_or(|(r, _, _)| rps > r) {
                best = Some((rps, k, b));
            }
            report.row(
                format!("append K={k} tasks × B={b} rec/append"),
                format!(
                    "{} rec/s ({} appends/s; ack p50 {}, p99 {}; {done} rec in {})",
                    rate(rps),
                    rate(lat.len() as f64 / elapsed.as_secs_f64()),
                    ms(pct(&lat, 50.0)),
                    ms(pct(&lat, 99.0)),
                    secs(elapsed)
                ),
                format!("≥ {} rec/s", rate(APPEND_TARGET)),
                Some(rps / APPEND_TARGET),
                contention(&c0, &c1),
            );
            drop(pool);
            let t = Instant::now();
            let stats = lake.flush().await?;
            println!(
                "     (untimed flush after: {} rows into {} segments in {})",
                stats.rows,
                stats.segments,
                secs(t.elapsed())
            );
        }
    }
    if let Some((rps, k, b)) = best {
        report.row(
            "append: best configuration",
            format!("{} rec/s at K={k}, B={b}", rate(rps)),
            format!("≥ {} rec/s", rate(APPEND_TARGET)),
            Some(rps / APPEND_TARGET),
            "",
        );
    }
    lake.close();
    Ok(())
}

/// Builds (or reuses) the dataset; returns the lake opened over it, compacted.
async fn dataset(cfg: &Config, data: &Path, report: &mut Report) -> R<(Arc<Lake>, Timeline)> {
    std::fs::create_dir_all(data)?;
    let marker = data.join("bench-dataset.json");
    let end_ms = now_hour_ms();
    let mut timeline = Timeline {
        start_ms: end_ms - 48 * HOUR_MS,
        span_ms: 48 * HOUR_MS,
        n: cfg.rows,
    };
    if let Ok(text) = std::fs::read_to_string(&marker) {
        let m: J = serde_json::from_str(&text)?;
        if m["rows"].as_u64() == Some(cfg.rows) {
            timeline.start_ms = m["start_ms"].as_i64().unwrap_or(timeline.start_ms);
            let lake = open_lake(data, bench_options(cfg.flush_rows, 8)).await?;
            report.note(format!(
                "dataset reused from {} (built earlier: {})",
                data.display(),
                m["built"].as_str().unwrap_or("?")
            ));
            let (files, bytes) = parquet_files(&segments_dir(data));
            report.row(
                "dataset: segments / bytes on disk per record",
                format!(
                    "{files} segments, {:.0} B/rec (reused)",
                    bytes as f64 / cfg.rows as f64
                ),
                "-",
                None,
                "",
            );
            return Ok((lake, timeline));
        }
        return Err(format!(
            "{} holds a dataset of {} rows, not {}",
            data.display(),
            m["rows"],
            cfg.rows
        )
        .into());
    }
    if std::fs::read_dir(data)?.next().is_some() {
        return Err(format!("{} is not empty and holds no bench dataset", data.display()).into());
    }

    // Ingest like the server does: concurrent appends, the maintenance task flushing
    // whenever the buffer reaches `flush_rows` (and compacting with the default threshold).
    let lake = open_lake(data, bench_options(cfg.flush_rows, 8)).await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let maintenance = lake.spawn_maintenance(stop_rx);
    let timeline = Arc::new(timeline);
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let json_bytes = Arc::new(AtomicU64::new(0));
    let json_records = Arc::new(AtomicU64::new(0));
    let batch = cfg.ingest_batch as u64;
    let c0 = cpu_mark();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..cfg.ingest_tasks {
        let (lake, timeline, next, done) =
            (lake.clone(), timeline.clone(), next.clone(), done.clone());
        let (json_bytes, json_records) = (json_bytes.clone(), json_records.clone());
        let rows = cfg.rows;
        tasks.push(tokio::spawn(async move {
            let sc = scope();
            loop {
                let lo = next.fetch_add(batch, Ordering::Relaxed);
                if lo >= rows {
                    break;
                }
                let hi = (lo + batch).min(rows);
                let records: Vec<Row> = (lo..hi).map(|i| timeline.record(i)).collect();
                if lo % (batch * 16) == 0 {
                    let b: usize = records.iter().map(record_json_len).sum();
                    json_bytes.fetch_add(b as u64, Ordering::Relaxed);
                    json_records.fetch_add(records.len() as u64, Ordering::Relaxed);
                }
                lake.append("audit_events", &sc, records).await?;
                done.fetch_add(hi - lo, Ordering::Relaxed);
            }
            Ok::<_, sightline_lake::Error>(())
        }));
    }
    let progress = {
        let (done, lake) = (done.clone(), lake.clone());
        let rows = cfg.rows;
        tokio::spawn(async move {
            let mut last = 0;
            loop {
                tokio::time::sleep(Duration::from_secs(15)).await;
                let d = done.load(Ordering::Relaxed);
                if d >= rows {
                    break;
                }
                println!(
                    "     ingest {d}/{rows} ({:.0}%), {} rec/s last 15 s, {} buffered, load {}, {}",
                    100.0 * d as f64 / rows as f64,
                    rate((d - last) as f64 / 15.0),
                    lake.buffered_rows(),
                    loadavg(),
                    rss()
                );
                last = d;
            }
        })
    };
    for t in tasks {
        t.await??;
    }
    let appended = start.elapsed();
    let _ = stop_tx.send(true);
    maintenance.await?;
    progress.abort();
    let t = Instant::now();
    lake.flush().await?;
    let final_flush = t.elapsed();
    let ingest = start.elapsed();
    let c1 = cpu_mark();
    let rows = cfg.rows;
    let segs_after_ingest = catalog::all_segments(lake.meta())?.len();
    let (files, bytes) = parquet_files(&segments_dir(data));
    let json_per_rec = json_bytes.load(Ordering::Relaxed) as f64
        / json_records.load(Ordering::Relaxed).max(1) as f64;
    report.row(
        format!("dataset: ingest {rows} rec (48 h, 1 account/region)"),
        format!(
            "{} ({} rec/s; appends {} + final flush {}; {} tasks × {} rec/append, flush at {} rows; includes generating the JSON)",
            secs(ingest),
            rate(rows as f64 / ingest.as_secs_f64()),
            secs(appended),
            secs(final_flush),
            cfg.ingest_tasks,
            cfg.ingest_batch,
            cfg.flush_rows
        ),
        "-",
        None,
        contention(&c0, &c1),
    );
    report.row(
        "dataset: segments after ingest",
        format!(
            "{segs_after_ingest} in catalog, {files} files, {:.0} B/rec",
            bytes as f64 / rows as f64
        ),
        "-",
        None,
        "",
    );
    lake.close();
    drop(lake);

    // Reopen with a low compaction threshold: one segment per hourly partition.
    let lake = open_lake(data, bench_options(cfg.flush_rows, cfg.compact_segments)).await?;
    if cfg.compact_segments > 0 {
        let c0 = cpu_mark();
        let t = Instant::now();
        let merged = lake.compact().await?;
        let took = t.elapsed();
        let c1 = cpu_mark();
        let segs = catalog::all_segments(lake.meta())?.len();
        report.row(
            format!("dataset: compact() (threshold {})", cfg.compact_segments),
            format!(
                "{merged} partitions merged in {}, {segs} segments left",
                secs(took)
            ),
            "-",
            None,
            contention(&c0, &c1),
        );
    }
    let (files, bytes) = parquet_files(&segments_dir(data));
    let counted = count_rows(&lake).await?;
    if counted != rows {
        return Err(format!("dataset holds {counted} rows, expected {rows}").into());
    }
    report.row(
        "dataset: bytes on disk per record (Parquet, zstd)",
        format!(
            "{:.0} B/rec ({files} files, {:.2} GiB)",
            bytes as f64 / rows as f64,
            bytes as f64 / (1u64 << 30) as f64
        ),
        format!("raw JSON {json_per_rec:.0} B/rec (info)"),
        None,
        "",
    );
    let cols = column_sizes(&segments_dir(data));
    let total: u64 = cols.iter().map(|c| c.1).sum::<u64>().max(1);
    let mut s = String::from("Parquet bytes by column (compressed, share, compression):");
    for (name, c, u) in cols.iter().take(8) {
        let _ = write!(
            s,
            " {name} {:.0} B/rec {:.0}% ×{:.1};",
            *c as f64 / rows as f64,
            100.0 * *c as f64 / total as f64,
            *u as f64 / (*c).max(1) as f64
        );
    }
    report.note(s);
    let meta = json!({
        "rows": rows,
        "start_ms": timeline.start_ms,
        "built": Utc::now().to_rfc3339(),
    });
    std::fs::write(&marker, meta.to_string())?;
    let timeline = Arc::try_unwrap(timeline).map_err(|_| "timeline still shared")?;
    Ok((lake, timeline))
}

fn date(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// A LookupEvents request as the API layer builds it, MaxResults 50.
fn lookup(attribute: Option<Attribute>, from_ms: i64, to_ms: i64) -> Lookup {
    Lookup {
        fingerprint: format!("{attribute:?}|{from_ms}|{to_ms}"),
        attribute,
        start: date(from_ms),
        end: date(to_ms),
        max_results: 50,
    }
}

async fn lookups(cfg: &Config, lake: &Arc<Lake>, t: &Timeline, report: &mut Report) -> R<()> {
    let trail = Trail { lake: lake.clone() };
    let sc = scope();
    let (start, end) = (t.start_ms, t.start_ms + t.span_ms);
    let hours = (t.span_ms / HOUR_MS).max(1);
    type MakeLookup = Box<dyn Fn(usize) -> Lookup>;
    let full = move |attribute: Option<Attribute>| -> MakeLookup {
        Box::new(move |_| lookup(attribute.clone(), start, end))
    };
    let cases: Vec<(String, MakeLookup)> = vec![
        (
            format!(
                "EventName={COMMON_NAME} (common, {:.0}%), 48 h",
                100.0 * share(COMMON_NAME)
            ),
            full(Some(Attribute::EventName(COMMON_NAME.into()))),
        ),
        (
            format!(
                "EventName={RARE_NAME} (rare, {:.3}%), 48 h",
                100.0 * share(RARE_NAME)
            ),
            full(Some(Attribute::EventName(RARE_NAME.into()))),
        ),
        (
            "1-hour window, no attribute (hour varies per run)".into(),
            Box::new(move |run| {
                let h = (run as i64 * 7) % hours;
                let from = start + h * HOUR_MS + HOUR_MS / 3;
                lookup(None, from, from + HOUR_MS)
            }),
        ),
        ("full 48 h, no attribute".into(), full(None)),
    ];
    for (name, make) in &cases {
        // One unmeasured call (opens files, fills caches).
        let warm = trail.lookup(&sc, &make(0), None).await?;
        let returned = warm.records.len();
        let mut lat = Vec::with_capacity(cfg.lookup_runs);
        let c0 = cpu_mark();
        for run in 0..cfg.lookup_runs {
            let q = make(run + 1);
            let t = Instant::now();
            let page = trail.lookup(&sc, &q, None).await?;
            lat.push(t.elapsed());
            std::hint::black_box(page.records.len());
        }
        let c1 = cpu_mark();
        lat.sort();
        let p99 = pct(&lat, 99.0);
        report.row(
            format!("LookupEvents {name}, MaxResults 50"),
            format!(
                "p50 {}, p99 {} ({} runs, {returned} events/page{})",
                ms(pct(&lat, 50.0)),
                ms(p99),
                lat.len(),
                if warm.next.is_some() {
                    ", has next page"
                } else {
                    ""
                }
            ),
            format!("p99 < {LOOKUP_P99_TARGET_MS:.0} ms"),
            Some(LOOKUP_P99_TARGET_MS / (p99.as_secs_f64() * 1e3).max(1e-6)),
            contention(&c0, &c1),
        );
        // The next page of the same lookup, through its token.
        if let Some(token) = &warm.next
            && name.contains("common")
        {
            let mut lat = Vec::new();
            let c0 = cpu_mark();
            for _ in 0..cfg.lookup_runs.min(20) {
                let t = Instant::now();
                let page = trail.lookup(&sc, &make(0), Some(token)).await?;
                lat.push(t.elapsed());
                std::hint::black_box(page.records.len());
            }
            let c1 = cpu_mark();
            lat.sort();
            report.row(
                "LookupEvents common name, 2nd page (NextToken)",
                format!(
                    "p50 {}, p99 {} ({} runs)",
                    ms(pct(&lat, 50.0)),
                    ms(pct(&lat, 99.0)),
                    lat.len()
                ),
                format!("p99 < {LOOKUP_P99_TARGET_MS:.0} ms"),
                Some(LOOKUP_P99_TARGET_MS / (pct(&lat, 99.0).as_secs_f64() * 1e3).max(1e-6)),
                contention(&c0, &c1),
            );
        }
        if cfg.explain {
            explain_lookup(lake, &make(0)).await?;
        }
    }
    // Where a lookup's time goes: the catalog snapshot alone.
    let mut lat = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        let table = lake
            .snapshot("audit_events", ACCOUNT, None, start, end)
            .await?;
        lat.push(t.elapsed());
        std::hint::black_box(table.segments.len());
    }
    lat.sort();
    report.note(format!(
        "lookup breakdown: Lake::snapshot (catalog query, 48 h) p50 {}; the rest is the \
         DataFusion scan/filter/sort",
        ms(pct(&lat, 50.0))
    ));
    Ok(())
}

fn ts(ms: i64) -> Expr {
    lit(ScalarValue::TimestampMillisecond(
        Some(ms),
        Some("UTC".into()),
    ))
}

/// The time bounds `Trail::lookup` uses: whole seconds, the end second included.
fn bounds(q: &Lookup) -> (i64, i64) {
    (q.start.timestamp() * 1000, q.end.timestamp() * 1000 + 999)
}

/// Phase one of `Trail::lookup` (first page): the filters, newest first, MaxResults+1
/// keys (time, id) — the scan that dominates a lookup.
fn key_filter(q: &Lookup) -> Expr {
    let (from, to) = bounds(q);
    let mut filter = col("region")
        .eq(lit(REGION))
        .and(col("event_time").gt_eq(ts(from)))
        .and(col("event_time").lt_eq(ts(to)));
    if let Some(Attribute::EventName(n)) = &q.attribute {
        filter = filter.and(col("event_name").eq(lit(n.clone())));
    }
    filter
}

fn keys_frame(ctx: &SessionContext, table: ScopedTable, q: &Lookup) -> R<DataFrame> {
    Ok(ctx
        .read_table(Arc::new(table))?
        .filter(key_filter(q))?
        .select_columns(&["event_time", "event_id"])?
        .sort(vec![
            col("event_time").sort(false, false),
            col("event_id").sort(false, false),
        ])?
        .limit(0, Some(q.max_results + 1))?)
}

/// Phase two of `Trail::lookup`: the records of the page's keys, in key order.
async fn fetch_records(
    lake: &Lake,
    ctx: &SessionContext,
    keys: &[(i64, String)],
) -> R<Vec<String>> {
    let (Some(newest), Some(oldest)) = (keys.first(), keys.last()) else {
        return Ok(Vec::new());
    };
    let (lo, hi) = (oldest.0, newest.0);
    let table = lake.snapshot("audit_events", ACCOUNT, None, lo, hi).await?;
    let ids: Vec<Expr> = keys.iter().map(|(_, id)| lit(id.clone())).collect();
    let df = ctx
        .read_table(Arc::new(table))?
        .filter(
            col("region")
                .eq(lit(REGION))
                .and(col("event_time").gt_eq(ts(lo)))
                .and(col("event_time").lt_eq(ts(hi)))
                .and(col("event_id").in_list(ids, false)),
        )?
        .select_columns(&["event_id", "record"])?;
    let mut records = std::collections::HashMap::new();
    for b in df.collect().await? {
        let ids = b.column(0).as_string_view();
        let recs = b.column(1).as_string_view();
        for i in 0..b.num_rows() {
            records.insert(ids.value(i).to_owned(), recs.value(i).to_owned());
        }
    }
    Ok(keys
        .iter()
        .filter_map(|(_, id)| records.remove(id))
        .collect())
}

/// A session over the lake's store; `pushdown` turns on Parquet filter pushdown (late
/// materialization: other columns are decoded only for rows that pass the filters).
fn session(lake: &Lake, pushdown: bool) -> SessionContext {
    if pushdown {
        lake.lookup_context()
    } else {
        lake.context(SessionConfig::new())
    }
}

/// `runs` timings of `f`, sorted.
async fn timed<T>(runs: usize, mut f: impl AsyncFnMut() -> R<T>) -> R<Vec<Duration>> {
    let mut lat = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f().await?;
        lat.push(t.elapsed());
    }
    lat.sort();
    Ok(lat)
}

/// Phase one of `Trail::lookup` (first page), under EXPLAIN ANALYZE.
async fn explain_lookup(lake: &Arc<Lake>, q: &Lookup) -> R<()> {
    let (from, to) = bounds(q);
    let table = lake
        .snapshot("audit_events", ACCOUNT, None, from, to)
        .await?;
    let df = keys_frame(&session(lake, false), table, q)?.explain(false, true)?;
    print_plan(
        &format!("lookup keys {:?}", q.attribute),
        &df.collect().await?,
    );
    Ok(())
}

/// (time, id) of a page's rows.
async fn page_keys(df: DataFrame) -> R<Vec<(i64, String)>> {
    let mut out = Vec::new();
    for b in df.collect().await? {
        let times = b
            .column(0)
            .as_primitive::<datafusion::arrow::datatypes::TimestampMillisecondType>();
        let ids = b.column(1).as_string_view();
        for i in 0..b.num_rows() {
            out.push((times.value(i), ids.value(i).to_owned()));
        }
    }
    Ok(out)
}

/// A first page computed the way `Trail::lookup` does it (keys, then records), with
/// filter pushdown and/or with the key phase run segment by segment, newest first,
/// stopping as soon as no older segment can hold a key that belongs on the page.
async fn alt_lookup(lake: &Lake, q: &Lookup, pushdown: bool, newest_first: bool) -> R<Vec<String>> {
    let (from, to) = bounds(q);
    let ctx = session(lake, pushdown);
    let snap = lake
        .snapshot("audit_events", ACCOUNT, None, from, to)
        .await?;
    let want = q.max_results + 1;
    let keys = if newest_first {
        // The product's walk (what Trail::lookup runs), keys only.
        let page = lake
            .newest_first(
                snap,
                &sightline_lake::newest::NewestFirst {
                    filter: key_filter(q),
                    columns: vec!["event_time".into(), "event_id".into()],
                    sparse_columns: Vec::new(),
                    limit: want,
                },
            )
            .await?;
        let times = page
            .column(0)
            .as_primitive::<datafusion::arrow::datatypes::TimestampMillisecondType>();
        let ids = page.column(1).as_string_view();
        (0..page.num_rows())
            .map(|i| (times.value(i), ids.value(i).to_owned()))
            .collect()
    } else {
        page_keys(keys_frame(&ctx, snap, q)?).await?
    };
    let mut records = fetch_records(lake, &ctx, &keys).await?;
    records.truncate(q.max_results);
    Ok(records)
}

async fn profile(
    cfg: &Config,
    lake: &Arc<Lake>,
    data: &Path,
    t: &Timeline,
    report: &mut Report,
) -> R<()> {
    let (start, end) = (t.start_ms, t.start_ms + t.span_ms);
    let mid = start + (t.span_ms / HOUR_MS / 2) * HOUR_MS + HOUR_MS / 3;
    let cases = [
        (
            "common name 48 h",
            lookup(Some(Attribute::EventName(COMMON_NAME.into())), start, end),
        ),
        (
            "rare name 48 h",
            lookup(Some(Attribute::EventName(RARE_NAME.into())), start, end),
        ),
        ("1-hour window", lookup(None, mid, mid + HOUR_MS)),
        ("full 48 h", lookup(None, start, end)),
    ];
    let runs = cfg.profile_runs;
    let variants = [
        ("replica", false, false),
        ("+pushdown", true, false),
        // Lake::newest_first always runs with pushdown.
        ("newest-first", true, true),
    ];
    let trail = Trail { lake: lake.clone() };
    for (name, q) in &cases {
        let expected = trail.lookup(&scope(), q, None).await?.records;
        let mut parts = Vec::new();
        let c0 = cpu_mark();
        let lat = timed(runs, async || {
            Ok(std::hint::black_box(trail.lookup(&scope(), q, None).await?))
        })
        .await?;
        parts.push(format!("Trail::lookup {}", ms(pct(&lat, 50.0))));
        for (label, pushdown, newest) in variants {
            let got = alt_lookup(lake, q, pushdown, newest).await?;
            if got != expected {
                return Err(format!("{label} lookup ({name}) returned another page").into());
            }
            let lat = timed(runs, async || {
                Ok(std::hint::black_box(
                    alt_lookup(lake, q, pushdown, newest).await?,
                ))
            })
            .await?;
            parts.push(format!("{label} {}", ms(pct(&lat, 50.0))));
        }
        let c1 = cpu_mark();
        report.row(
            format!("profile: lookup {name}, p50 of {runs}"),
            parts.join(" | "),
            "same page, other plans (two-phase like Trail)",
            None,
            contention(&c0, &c1),
        );
    }

    // What one column scan costs: every event_name of the dataset, compared.
    let c0 = cpu_mark();
    let mut parts = Vec::new();
    for pushdown in [false, true] {
        let ctx = session(lake, pushdown);
        let table = lake
            .snapshot("audit_events", ACCOUNT, None, i64::MIN, i64::MAX)
            .await?;
        ctx.register_table("audit_events", Arc::new(table))?;
        let q = format!("SELECT count(*) FROM audit_events WHERE event_name = '{RARE_NAME}'");
        ctx.sql(&q).await?.collect().await?;
        let lat = timed(runs, async || {
            Ok(std::hint::black_box(ctx.sql(&q).await?.collect().await?))
        })
        .await?;
        parts.push(format!(
            "{} {}",
            if pushdown { "pushdown" } else { "default" },
            ms(median(&lat))
        ));
    }
    let c1 = cpu_mark();
    report.row(
        format!("profile: count(*) WHERE event_name='{RARE_NAME}' (event_name scan)"),
        parts.join(" | "),
        "floor of any attribute lookup without an index",
        None,
        contention(&c0, &c1),
    );

    // The GROUP BY: the per-query session, and DataFusion over the files directly.
    let c0 = cpu_mark();
    let lat = timed(runs, async || {
        Ok(std::hint::black_box(lake.session(ACCOUNT).await?))
    })
    .await?;
    let session_ms = median(&lat);
    let ctx = SessionContext::new_with_config(SessionConfig::new().set_bool(
        "datafusion.execution.listing_table_ignore_subdirectory",
        false,
    ));
    ctx.register_parquet(
        "audit_events",
        segments_dir(data).to_string_lossy().as_ref(),
        ParquetReadOptions::default(),
    )
    .await?;
    ctx.sql(DUCKDB_QUERY).await?.collect().await?;
    let lat = timed(runs, async || {
        Ok(std::hint::black_box(
            ctx.sql(DUCKDB_QUERY).await?.collect().await?,
        ))
    })
    .await?;
    let direct = median(&lat);
    let c1 = cpu_mark();
    report.row(
        "profile: GROUP BY pieces",
        format!(
            "Lake::session() {} | DataFusion on the directory (inferred schema, Utf8View) {}",
            ms(session_ms),
            ms(direct)
        ),
        "vs Lake::sql above",
        None,
        contention(&c0, &c1),
    );
    Ok(())
}

fn print_plan(title: &str, batches: &[datafusion::arrow::record_batch::RecordBatch]) {
    println!("     ---- EXPLAIN ANALYZE {title}");
    for b in batches {
        let plan = b.column(b.num_columns() - 1).as_string::<i32>();
        for i in 0..plan.len() {
            for line in plan.value(i).lines() {
                println!("     {}", shorten_plan_line(line));
            }
        }
    }
}

/// A scan's file list takes thousands of characters: keep its count, drop the paths and
/// the pruning predicate (the metrics are what matters here).
fn shorten_plan_line(line: &str) -> String {
    let mut out = line.to_owned();
    if let Some(start) = out.find("file_groups={")
        && let Some(len) = out[start..].find("]]}")
    {
        let files = out[start..start + len].matches(".parquet:").count();
        out.replace_range(
            start..start + len + 3,
            &format!("file_groups={{{files} shown}}"),
        );
    }
    if let Some(start) = out.find(", pruning_predicate=")
        && let Some(len) = out[start..].find(", metrics=")
    {
        out.replace_range(start..start + len, "");
    }
    out
}

async fn group_by(cfg: &Config, lake: &Arc<Lake>, data: &Path, report: &mut Report) -> R<()> {
    let sum = |out: &sightline_lake::query::QueryOutput| -> (u64, usize) {
        let mut total = 0u64;
        let mut groups = 0;
        for b in &out.batches {
            let c = b.column(1).as_primitive::<Int64Type>();
            for i in 0..c.len() {
                total += c.value(i) as u64;
            }
            groups += b.num_rows();
        }
        (total, groups)
    };
    let warm = lake.sql(ACCOUNT, DUCKDB_QUERY).await?;
    let (rows, groups) = sum(&warm);
    let mut lat = Vec::new();
    let c0 = cpu_mark();
    for _ in 0..cfg.sql_runs {
        let t = Instant::now();
        let out = lake.sql(ACCOUNT, DUCKDB_QUERY).await?;
        lat.push(t.elapsed());
        std::hint::black_box(out.batches.len());
    }
    let c1 = cpu_mark();
    let ours = median(&lat);
    report.row(
        "SQL GROUP BY event_name via Lake::sql",
        format!(
            "median {} ({} runs; {groups} groups over {rows} rows)",
            ms(ours),
            lat.len()
        ),
        "-",
        None,
        contention(&c0, &c1),
    );
    if cfg.explain {
        let ctx = lake.session(ACCOUNT).await?;
        let out = ctx
            .sql(&format!("EXPLAIN ANALYZE {DUCKDB_QUERY}"))
            .await?
            .collect()
            .await?;
        print_plan("GROUP BY", &out);
    }
    match duckdb(cfg, data) {
        Ok(d) => {
            if d.rows != rows || d.groups != groups {
                return Err(format!(
                    "DuckDB saw {} rows in {} groups, Sightline {rows} in {groups}",
                    d.rows, d.groups
                )
                .into());
            }
            let theirs = median(&d.times);
            report.row(
                "SQL GROUP BY event_name: DuckDB, same Parquet files",
                format!(
                    "median {} ({} runs; duckdb {}, {} threads)",
                    ms(theirs),
                    d.times.len(),
                    d.version,
                    d.threads
                ),
                "-",
                None,
                format!(
                    "{} (python's CPU counts as others)",
                    contention(&d.c0, &d.c1)
                ),
            );
            report.row(
                "SQL GROUP BY: Sightline within 1.5× of DuckDB",
                format!("Sightline {} vs DuckDB {}", ms(ours), ms(theirs)),
                format!(
                    "≤ {SQL_FACTOR}× DuckDB = {}",
                    ms(theirs.mul_f64(SQL_FACTOR))
                ),
                Some(SQL_FACTOR * theirs.as_secs_f64() / ours.as_secs_f64().max(1e-9)),
                "",
            );
        }
        Err(why) => {
            report.row(
                "SQL GROUP BY: Sightline within 1.5× of DuckDB",
                format!("n/a: {why}"),
                format!("≤ {SQL_FACTOR}× DuckDB"),
                None,
                "",
            );
        }
    }
    Ok(())
}

struct DuckRun {
    version: String,
    threads: String,
    times: Vec<Duration>,
    rows: u64,
    groups: usize,
    c0: CpuMark,
    c1: CpuMark,
}

const DUCKDB_SCRIPT: &str = r#"
import json, sys, time
import duckdb
glob, runs = sys.argv[1], int(sys.argv[2])
con = duckdb.connect()
src = "read_parquet('" + glob.replace("'", "''") + "', hive_partitioning=false)"
q = "SELECT event_name, count(*) FROM " + src + " GROUP BY event_name ORDER BY event_name"
rows = con.execute(q).fetchall()  # warm-up, unmeasured
times = []
for _ in range(runs):
    t = time.perf_counter()
    rows = con.execute(q).fetchall()
    times.append(time.perf_counter() - t)
threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
print(json.dumps({"version": duckdb.__version__, "threads": str(threads), "times": times,
                  "rows": sum(r[1] for r in rows), "groups": len(rows)}))
"#;

fn duckdb(cfg: &Config, data: &Path) -> Result<DuckRun, String> {
    let Some(python) = &cfg.python else {
        return Err(cfg.duckdb_unavailable.clone().unwrap_or_else(|| {
            "BENCH_PYTHON is not set (run bench/lake.sh, which prepares a venv with duckdb)".into()
        }));
    };
    let glob = format!("{}/**/*.parquet", segments_dir(data).display());
    let c0 = cpu_mark();
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(DUCKDB_SCRIPT)
        .arg(&glob)
        .arg(cfg.sql_runs.to_string())
        .output()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    let c1 = cpu_mark();
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().last().unwrap_or("").to_owned();
        return Err(format!("{python} failed ({}): {last}", out.status));
    }
    let v: J = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("unreadable DuckDB output: {e}"))?;
    Ok(DuckRun {
        version: v["version"].as_str().unwrap_or("?").to_owned(),
        threads: v["threads"].as_str().unwrap_or("?").to_owned(),
        times: v["times"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(J::as_f64)
            .map(Duration::from_secs_f64)
            .collect(),
        rows: v["rows"].as_u64().unwrap_or(0),
        groups: v["groups"].as_u64().unwrap_or(0) as usize,
        c0,
        c1,
    })
}

async fn replay(cfg: &Config, report: &mut Report) -> R<()> {
    let dir = temp_dir(cfg, "replay")?;
    let rows = cfg.replay_rows;
    let timeline = Arc::new(Timeline {
        start_ms: now_hour_ms() - 2 * HOUR_MS,
        span_ms: 2 * HOUR_MS,
        n: rows,
    });
    {
        let lake = open_lake(dir.path(), bench_options(usize::MAX, 8)).await?;
        let next = Arc::new(AtomicU64::new(0));
        let batch = 1000u64;
        let mut tasks = Vec::new();
        let start = Instant::now();
        let c0 = cpu_mark();
        for _ in 0..cfg.ingest_tasks {
            let (lake, timeline, next) = (lake.clone(), timeline.clone(), next.clone());
            tasks.push(tokio::spawn(async move {
                let sc = scope();
                loop {
                    let lo = next.fetch_add(batch, Ordering::Relaxed);
                    if lo >= rows {
                        break;
                    }
                    let hi = (lo + batch).min(rows);
                    let records: Vec<Row> = (lo..hi).map(|i| timeline.record(i)).collect();
                    lake.append("audit_events", &sc, records).await?;
                }
                Ok::<_, sightline_lake::Error>(())
            }));
        }
        for t in tasks {
            t.await??;
        }
        let took = start.elapsed();
        let c1 = cpu_mark();
        report.row(
            format!(
                "append {rows} rec unflushed ({} tasks × 1000, generation included)",
                cfg.ingest_tasks
            ),
            format!(
                "{} ({} rec/s)",
                secs(took),
                rate(rows as f64 / took.as_secs_f64())
            ),
            "-",
            None,
            contention(&c0, &c1),
        );
        lake.close();
    }
    let wal_bytes: u64 = std::fs::read_dir(dir.path().join("lake").join("wal"))?
        .flatten()
        .map(|e| e.metadata().map_or(0, |m| m.len()))
        .sum();
    let c0 = cpu_mark();
    let start = Instant::now();
    let lake = open_lake(dir.path(), bench_options(usize::MAX, 8)).await?;
    let took = start.elapsed();
    let c1 = cpu_mark();
    let buffered = lake.buffered_rows() as u64;
    if buffered != rows {
        return Err(format!("replayed {buffered} rows, expected {rows}").into());
    }
    report.row(
        format!("WAL replay on reopen, {rows} unflushed rec"),
        format!(
            "{} ({} rec/s, WAL {:.2} GiB)",
            secs(took),
            rate(rows as f64 / took.as_secs_f64()),
            wal_bytes as f64 / (1u64 << 30) as f64
        ),
        "-",
        None,
        contention(&c0, &c1),
    );
    let c0 = cpu_mark();
    let t = Instant::now();
    let stats = lake.flush().await?;
    let took = t.elapsed();
    let c1 = cpu_mark();
    report.row(
        format!("flush {} buffered rec to Parquet", stats.rows),
        format!(
            "{} ({} rec/s, {} segments)",
            secs(took),
            rate(stats.rows as f64 / took.as_secs_f64()),
            stats.segments
        ),
        "-",
        None,
        contention(&c0, &c1),
    );
    lake.close();
    Ok(())
}
