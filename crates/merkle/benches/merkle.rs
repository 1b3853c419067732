//! Transparency-log benchmark: builds a tree of `BENCH_LEAVES` (default 10,000,000)
//! audit-record leaves, then times inclusion-proof generation and verification,
//! consistency proofs, and checkpoint signing and opening, and prints a table. Then the
//! same leaves go into an on-disk `LogStore` in a temporary directory (`TMPDIR`), in
//! batches of 10,000 each synced, and proofs are timed from it (skip with
//! `BENCH_STORE=0`).
//!
//! Run with `bench/merkle.sh` (or `cargo bench -p sightline-merkle --bench merkle`).

use sightline_merkle::{
    Checkpoint, LogStore, Signer, Tree, leaf_hash, verify_consistency, verify_inclusion,
};
use std::time::{Duration, Instant};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A small deterministic generator, so runs are comparable.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p / 100.0).round() as usize]
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        })
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let n = env_num("BENCH_LEAVES", 10_000_000);
    let runs = env_num("BENCH_PROOFS", 10_000) as usize;
    let mut rows: Vec<(String, String)> = Vec::new();

    // A leaf is the hash of a CloudTrail-sized record; hashing the records themselves
    // is measured separately so tree building is seen on its own.
    let record = vec![b'x'; 1200];
    let t = Instant::now();
    for _ in 0..100_000 {
        std::hint::black_box(leaf_hash(&record));
    }
    let per_leaf = t.elapsed() / 100_000;
    rows.push(("leaf hash of a 1.2 KB record".into(), us(per_leaf)));

    let mut tree = Tree::new();
    let t = Instant::now();
    for i in 0..n {
        tree.push_leaf_hash(leaf_hash(&i.to_le_bytes()));
    }
    let build = t.elapsed();
    rows.push((
        format!("append {n} leaves (tree hashing)"),
        format!(
            "{:.2} s ({:.0} leaves/s), RSS {:.0} MB",
            build.as_secs_f64(),
            n as f64 / build.as_secs_f64(),
            rss_mb()
        ),
    ));

    let root = tree.root();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut made, mut ver, mut lens) = (Vec::new(), Vec::new(), 0usize);
    for _ in 0..runs {
        let i = rng.next() % n;
        let t = Instant::now();
        let proof = tree.inclusion_proof(i, n).expect("index in range");
        made.push(t.elapsed());
        let leaf = leaf_hash(&i.to_le_bytes());
        let t = Instant::now();
        assert!(verify_inclusion(i, n, &leaf, &proof, &root));
        ver.push(t.elapsed());
        lens += proof.len();
    }
    made.sort();
    ver.sort();
    rows.push((
        format!("inclusion proof at {n} leaves: generate"),
        format!(
            "p50 {}, p99 {} ({} hashes per proof)",
            us(pct(&made, 50.0)),
            us(pct(&made, 99.0)),
            lens / runs.max(1)
        ),
    ));
    rows.push((
        format!("inclusion proof at {n} leaves: verify"),
        format!("p50 {}, p99 {}", us(pct(&ver, 50.0)), us(pct(&ver, 99.0))),
    ));

    let (mut cgen, mut cver) = (Vec::new(), Vec::new());
    for _ in 0..runs.min(2000) {
        let old = 1 + rng.next() % (n - 1);
        let t = Instant::now();
        let proof = tree.consistency_proof(old, n).expect("sizes in range");
        cgen.push(t.elapsed());
        let old_root = tree.root_at(old).expect("old size");
        let t = Instant::now();
        assert!(verify_consistency(old, n, &old_root, &root, &proof));
        cver.push(t.elapsed());
    }
    cgen.sort();
    cver.sort();
    rows.push((
        "consistency proof, random old size: generate".into(),
        format!("p50 {}, p99 {}", us(pct(&cgen, 50.0)), us(pct(&cgen, 99.0))),
    ));
    rows.push((
        "consistency proof: verify".into(),
        format!("p50 {}, p99 {}", us(pct(&cver, 50.0)), us(pct(&cver, 99.0))),
    ));

    if env_num("BENCH_STORE", 1) != 0 {
        store_phase(&tree, runs, &mut rng, &mut rows);
    }

    let (signer, _) = Signer::generate("sightline.local/audit/bench").expect("key");
    let verifier = signer.verifier();
    let c = Checkpoint {
        origin: "sightline.local/audit/bench".into(),
        size: n,
        root,
    };
    let signs = 20_000u32;
    let t = Instant::now();
    let mut note = String::new();
    for _ in 0..signs {
        note = signer.sign(&c);
    }
    let sign = t.elapsed();
    let t = Instant::now();
    for _ in 0..signs {
        std::hint::black_box(verifier.open(&note).expect("opens"));
    }
    let open = t.elapsed();
    rows.push((
        "checkpoint signing (Ed25519 signed note)".into(),
        format!(
            "{:.0} checkpoints/s, one core",
            signs as f64 / sign.as_secs_f64()
        ),
    ));
    rows.push((
        "checkpoint opening (verify signature, parse)".into(),
        format!(
            "{:.0} checkpoints/s, one core",
            signs as f64 / open.as_secs_f64()
        ),
    ));

    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_default();
    println!(
        "\n## Transparency log ({} leaves, {} proofs; {cpu})\n",
        n, runs
    );
    let w = rows.iter().map(|r| r.0.len()).max().unwrap_or(10);
    println!("| {:w$} | value |", "metric");
    println!("|{}|-------|", "-".repeat(w + 2));
    for (k, v) in rows {
        println!("| {k:w$} | {v} |");
    }
    println!("\nNo targets are set for these figures; the issue asks for them to be reported.");
}

/// The on-disk log: append and sync in server-sized batches, reopen, then proofs read
/// from the files (warm page cache), each checked against the in-memory tree's.
fn store_phase(tree: &Tree, runs: usize, rng: &mut Rng, rows: &mut Vec<(String, String)>) {
    let n = tree.size();
    let dir = tempfile::Builder::new()
        .prefix("merkle-bench-")
        .tempdir()
        .expect("temp dir");
    let mut store = LogStore::open(dir.path()).expect("open store");
    let t = Instant::now();
    let mut batch = Vec::with_capacity(10_000);
    let mut i = 0;
    while i < n {
        batch.clear();
        batch.extend((i..n.min(i + 10_000)).map(|j| leaf_hash(&j.to_le_bytes())));
        store.append(&batch).expect("append");
        store.sync().expect("sync");
        i += batch.len() as u64;
    }
    let build = t.elapsed();
    let bytes: u64 = std::fs::read_dir(dir.path())
        .expect("list")
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    rows.push((
        format!("LogStore: append {n} leaves, 10k per synced batch"),
        format!(
            "{:.2} s ({:.0} leaves/s), {:.1} MB on disk",
            build.as_secs_f64(),
            n as f64 / build.as_secs_f64(),
            bytes as f64 / 1e6
        ),
    ));
    drop(store);
    let t = Instant::now();
    let store = LogStore::open(dir.path()).expect("reopen store");
    rows.push((
        "LogStore: reopen (check and repair tails)".into(),
        format!("{:.1} ms", t.elapsed().as_secs_f64() * 1e3),
    ));
    assert_eq!(store.root().expect("root"), tree.root());

    let (mut made, mut lens) = (Vec::new(), 0usize);
    for _ in 0..runs {
        let i = rng.next() % n;
        let t = Instant::now();
        let proof = store
            .inclusion_proof(i, n)
            .expect("read")
            .expect("in range");
        made.push(t.elapsed());
        lens += proof.len();
        assert_eq!(Some(proof), tree.inclusion_proof(i, n));
    }
    made.sort();
    rows.push((
        format!("LogStore: inclusion proof at {n} leaves: generate"),
        format!(
            "p50 {}, p99 {} ({} hashes per proof)",
            us(pct(&made, 50.0)),
            us(pct(&made, 99.0)),
            lens / runs.max(1)
        ),
    ));
    let mut cgen = Vec::new();
    for _ in 0..runs.min(2000) {
        let old = 1 + rng.next() % (n - 1);
        let t = Instant::now();
        let proof = store.consistency_proof(old, n).expect("read");
        cgen.push(t.elapsed());
        assert_eq!(proof, tree.consistency_proof(old, n));
    }
    cgen.sort();
    rows.push((
        "LogStore: consistency proof, random old size: generate".into(),
        format!("p50 {}, p99 {}", us(pct(&cgen, 50.0)), us(pct(&cgen, 99.0))),
    ));
    let last = leaf_hash(&(n - 1).to_le_bytes());
    let t = Instant::now();
    assert_eq!(store.find_leaf(&last).expect("scan"), Some(n - 1));
    rows.push((
        "LogStore: find_leaf of the last leaf (full scan)".into(),
        format!("{:.1} ms", t.elapsed().as_secs_f64() * 1e3),
    ));
}
