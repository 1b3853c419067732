//! Foundation benchmark: start-up time, idle memory and signed STS GetCallerIdentity
//! throughput of the release `sightline` binary, measured as a separate process.
//!
//! Run through `bench/foundation.sh`, or directly:
//! `cargo build --release -p sightline && cargo bench -p sightline-server --bench foundation`.
//!
//! Environment:
//! - `SIGHTLINE_BIN`: the server binary (default `$CARGO_TARGET_DIR/release/sightline`,
//!   then `target/release/sightline`).
//! - `BENCH_SECONDS` (10): measured seconds per load run; `BENCH_WARMUP_SECONDS` (1):
//!   unmeasured seconds before each run.
//! - `BENCH_CONNECTIONS` ("16,64,256"): concurrent keep-alive connections per run.
//! - `BENCH_SIGN` ("request"): `request` signs every request; `second` signs once per
//!   connection per wall-clock second and reuses the headers within that second.
//! - `BENCH_STARTS` (5): start-up repetitions. `BENCH_TMPDIR`: where data dirs are made.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderValue, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use sightline_wire::sigv4::{self, Credential};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TARGET_RPS: f64 = 15_000.0;
const TARGET_RSS_MB: f64 = 40.0;
const TARGET_START_MS: f64 = 500.0;
const BODY: &[u8] = b"Action=GetCallerIdentity&Version=2011-06-15";
const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";

fn main() {
    let Some(bin) = locate_binary() else {
        eprintln!("foundation bench: the release `sightline` binary was not found.");
        eprintln!("Build it first:  cargo build --release -p sightline");
        eprintln!("(or point SIGHTLINE_BIN at a binary; bench/foundation.sh does both)");
        std::process::exit(2);
    };
    let cfg = BenchConfig::from_env();
    match run(&bin, &cfg) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("foundation bench failed: {e}");
            std::process::exit(1);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Configuration and environment
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SignMode {
    PerRequest,
    PerSecond,
}

struct BenchConfig {
    seconds: f64,
    warmup: f64,
    connections: Vec<usize>,
    sign: SignMode,
    starts: usize,
    tmp_base: PathBuf,
}

impl BenchConfig {
    fn from_env() -> BenchConfig {
        let num = |k: &str, d: f64| {
            std::env::var(k)
                .ok()
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|v| *v >= 0.0)
                .unwrap_or(d)
        };
        let connections = std::env::var("BENCH_CONNECTIONS")
            .ok()
            .map(|v| {
                v.split(',')
                    .filter_map(|s| s.trim().parse::<usize>().ok())
                    .filter(|n| *n > 0)
                    .collect::<Vec<_>>()
            })
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| vec![16, 64, 256]);
        let sign = match std::env::var("BENCH_SIGN").as_deref() {
            Ok("second") | Ok("per-second") => SignMode::PerSecond,
            _ => SignMode::PerRequest,
        };
        BenchConfig {
            seconds: num("BENCH_SECONDS", 10.0).max(0.5),
            warmup: num("BENCH_WARMUP_SECONDS", 1.0),
            connections,
            sign,
            starts: (num("BENCH_STARTS", 5.0) as usize).max(1),
            tmp_base: std::env::var_os("BENCH_TMPDIR")
                .map(PathBuf::from)
                .unwrap_or_else(std::env::temp_dir),
        }
    }
}

fn locate_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SIGHTLINE_BIN") {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    let mut candidates = Vec::new();
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        candidates.push(PathBuf::from(t).join("release/sightline"));
    }
    // `cargo bench` runs with the package directory as cwd; the workspace target dir is two up.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let manifest = manifest_dir.as_path();
    if let Some(ws) = manifest.parent().and_then(Path::parent) {
        candidates.push(ws.join("target/release/sightline"));
    }
    candidates.push(PathBuf::from("target/release/sightline"));
    candidates.into_iter().find(|p| p.is_file())
}

// ---------------------------------------------------------------------------------------
// /proc readers
// ---------------------------------------------------------------------------------------

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|v| *v > 0.0)
        .unwrap_or(100.0)
}

/// utime + stime in clock ticks from a `stat` file (process or thread).
fn stat_ticks(path: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    // The command name may contain spaces and parentheses; fields resume after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state); utime is field 14, stime field 15.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn proc_cpu_ticks(pid: u32) -> u64 {
    stat_ticks(Path::new(&format!("/proc/{pid}/stat"))).unwrap_or(0)
}

fn self_cpu_ticks() -> u64 {
    stat_ticks(Path::new("/proc/self/stat")).unwrap_or(0)
}

/// CPU ticks per thread name of a process (threads with equal names are summed).
fn thread_cpu_ticks(pid: u32) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for e in dir.flatten() {
        let name = std::fs::read_to_string(e.path().join("comm"))
            .unwrap_or_default()
            .trim()
            .to_owned();
        if let Some(t) = stat_ticks(&e.path().join("stat")) {
            *out.entry(name).or_insert(0) += t;
        }
    }
    out
}

/// A `/proc/<pid>/status` field in kB (VmRSS, VmHWM, ...).
fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// Whole-machine tick counters from the `cpu` line of /proc/stat: user, nice, system,
/// idle, iowait, irq, softirq, steal (guest time is already included in user).
fn machine_ticks() -> [u64; 8] {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let mut out = [0u64; 8];
    if let Some(line) = text.lines().find(|l| l.starts_with("cpu ")) {
        for (slot, v) in out.iter_mut().zip(line.split_whitespace().skip(1)) {
            *slot = v.parse().unwrap_or(0);
        }
    }
    out
}

/// Where the machine's CPU time went during a window, in core-seconds.
#[derive(Default)]
struct MachineSplit {
    /// user + system time of every process.
    tasks: f64,
    irq: f64,
    steal: f64,
    iowait: f64,
    idle: f64,
}

impl MachineSplit {
    fn between(a: &[u64; 8], b: &[u64; 8], tck: f64) -> MachineSplit {
        let d = |i: usize| b[i].saturating_sub(a[i]) as f64 / tck;
        MachineSplit {
            tasks: d(0) + d(1) + d(2),
            irq: d(5) + d(6),
            steal: d(7),
            iowait: d(4),
            idle: d(3),
        }
    }

    fn total(&self) -> f64 {
        self.tasks + self.irq + self.steal + self.iowait + self.idle
    }
}

fn machine_description() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    let nproc = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem_mb = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map(|kb| kb / 1024)
        .unwrap_or(0);
    format!("nproc {nproc}, model name \"{model}\", {mem_mb} MB RAM")
}

/// The filesystem type holding `path` (longest mount-point prefix in /proc/mounts).
fn filesystem_of(path: &Path) -> String {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let mut best: Option<(usize, String)> = None;
    for l in mounts.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() < 3 || !path.starts_with(f[1]) {
            continue;
        }
        if best.as_ref().is_none_or(|(len, _)| f[1].len() >= *len) {
            best = Some((f[1].len(), format!("{} on {} ({})", f[2], f[1], f[0])));
        }
    }
    best.map(|b| b.1).unwrap_or_else(|| "unknown".into())
}

// ---------------------------------------------------------------------------------------
// The server process
// ---------------------------------------------------------------------------------------

struct Server {
    child: Child,
    addr: SocketAddr,
    data_dir: PathBuf,
    log: PathBuf,
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// One blocking `GET /health`; true on a 200.
fn health_ok(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    if s.write_all(b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 32];
    let mut n = 0;
    while n < 12 {
        match s.read(&mut buf[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    buf[..n].starts_with(b"HTTP/1.1 200")
}

impl Server {
    /// Spawns the server on `root/data` and returns it with the time from spawn to the
    /// first `/health` 200 (polled every 2 ms).
    fn start(bin: &Path, root: &Path) -> Result<(Server, Duration), String> {
        let port = free_port().map_err(|e| format!("no free port: {e}"))?;
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let data_dir = root.join("data");
        let log = root.join("server.log");
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|e| e.to_string())?;
        let log_err = log_file.try_clone().map_err(|e| e.to_string())?;
        let t0 = Instant::now();
        let child = Command::new(bin)
            .arg("server")
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("--listen")
            .arg(addr.to_string())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            .spawn()
            .map_err(|e| format!("spawning {}: {e}", bin.display()))?;
        let mut server = Server {
            child,
            addr,
            data_dir,
            log,
        };
        loop {
            if health_ok(addr) {
                return Ok((server, t0.elapsed()));
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!(
                    "server exited during start-up ({status}); log:\n{}",
                    server.log_tail()
                ));
            }
            if t0.elapsed() > Duration::from_secs(30) {
                return Err(format!(
                    "no /health 200 within 30 s; log:\n{}",
                    server.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Sends SIGTERM and waits for the exit; returns the status and how long it took.
    fn stop(mut self) -> Result<(ExitStatus, Duration), String> {
        let t0 = Instant::now();
        let sent = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status()
            .map_err(|e| format!("kill: {e}"))?;
        if !sent.success() {
            return Err(format!("kill -TERM {} failed", self.pid()));
        }
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Ok((status, t0.elapsed())),
                Ok(None) if t0.elapsed() < Duration::from_secs(30) => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                Ok(None) => return Err("server still running 30 s after SIGTERM".into()),
                Err(e) => return Err(format!("waiting for server: {e}")),
            }
        }
    }

    fn credentials(&self) -> Result<(String, String), String> {
        let text = std::fs::read_to_string(self.data_dir.join("credentials"))
            .map_err(|e| format!("reading credentials: {e}"))?;
        let get = |key: &str| {
            text.lines()
                .filter_map(|l| l.split_once('='))
                .find(|(k, _)| k.trim() == key)
                .map(|(_, v)| v.trim().to_owned())
                .ok_or_else(|| format!("credentials file has no {key}"))
        };
        Ok((get("aws_access_key_id")?, get("aws_secret_access_key")?))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Only reached with the child still running on an error path: do not leak it.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn stop_checked(server: Server, what: &str, stops: &mut StopLog) {
    match server.stop() {
        Ok((status, took)) => {
            stops.total += 1;
            stops.max_ms = stops.max_ms.max(took.as_secs_f64() * 1e3);
            if status.success() {
                stops.clean += 1;
            } else {
                eprintln!("  {what}: server exited with {status} after SIGTERM");
            }
        }
        Err(e) => {
            stops.total += 1;
            eprintln!("  {what}: {e}");
        }
    }
}

#[derive(Default)]
struct StopLog {
    total: usize,
    clean: usize,
    max_ms: f64,
}

// ---------------------------------------------------------------------------------------
// Load client
// ---------------------------------------------------------------------------------------

struct Signer {
    access_key_id: String,
    secret: String,
    host: HeaderValue,
}

impl Signer {
    fn headers(&self, now: DateTime<Utc>) -> HeaderMap {
        let mut h = HeaderMap::with_capacity(6);
        h.insert(http::header::HOST, self.host.clone());
        h.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static(CONTENT_TYPE),
        );
        let cred = Credential {
            access_key_id: self.access_key_id.clone(),
            date: now.format("%Y%m%d").to_string(),
            region: "us-east-1".into(),
            service: "sts".into(),
        };
        sigv4::sign(
            &Method::POST,
            "/",
            "",
            &mut h,
            BODY,
            &cred,
            &self.secret,
            now,
        );
        h
    }
}

#[derive(Default)]
struct WorkerStats {
    ok: u64,
    errors: u64,
    latencies_us: Vec<u32>,
    samples: BTreeMap<String, u64>,
}

impl WorkerStats {
    fn error(&mut self, in_window: bool, what: String) {
        if in_window {
            self.errors += 1;
        }
        *self.samples.entry(what).or_insert(0) += 1;
    }
}

async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>, String> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// One keep-alive connection sending requests back to back until `end`. Responses that
/// complete within [`start`, `end`] are counted; latency is send-to-full-body.
async fn worker(
    addr: SocketAddr,
    signer: Arc<Signer>,
    mode: SignMode,
    start: Instant,
    end: Instant,
) -> WorkerStats {
    let mut st = WorkerStats::default();
    let mut sender: Option<SendRequest<Full<Bytes>>> = None;
    let mut cached: Option<(i64, HeaderMap)> = None;
    let body = Bytes::from_static(BODY);
    while Instant::now() < end {
        let s = match sender.as_mut() {
            Some(s) => s,
            None => match connect(addr).await {
                Ok(s) => sender.insert(s),
                Err(e) => {
                    st.error(Instant::now() >= start, e);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let now = Utc::now();
        let headers = match mode {
            SignMode::PerRequest => signer.headers(now),
            SignMode::PerSecond => {
                let sec = now.timestamp();
                match &cached {
                    Some((s, h)) if *s == sec => h.clone(),
                    _ => {
                        let h = signer.headers(now);
                        cached = Some((sec, h.clone()));
                        h
                    }
                }
            }
        };
        let mut req = Request::new(Full::new(body.clone()));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = http::Uri::from_static("/");
        *req.headers_mut() = headers;
        if s.ready().await.is_err() {
            sender = None;
            continue;
        }
        let sent = Instant::now();
        let result = match s.send_request(req).await {
            Ok(resp) => {
                let status = resp.status();
                match resp.into_body().collect().await {
                    Ok(b) => Ok((status, b.to_bytes())),
                    Err(e) => Err(format!("reading body: {e}")),
                }
            }
            Err(e) => Err(format!("request: {e}")),
        };
        let done = Instant::now();
        let in_window = done >= start && done <= end;
        match result {
            Ok((status, _)) if status == http::StatusCode::OK => {
                if in_window {
                    st.ok += 1;
                    st.latencies_us
                        .push((done - sent).as_micros().min(u32::MAX as u128) as u32);
                }
            }
            Ok((status, b)) => {
                let text = String::from_utf8_lossy(&b[..b.len().min(300)]).replace('\n', " ");
                st.error(in_window, format!("HTTP {status}: {text}"));
            }
            Err(e) => {
                st.error(in_window, e);
                sender = None;
            }
        }
    }
    st
}

struct LoadResult {
    connections: usize,
    window: f64,
    ok: u64,
    errors: u64,
    samples: BTreeMap<String, u64>,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    server_cpu: f64,
    client_cpu: f64,
    machine: MachineSplit,
    threads: Vec<(String, f64)>,
}

impl LoadResult {
    /// CPU used by processes other than this bench and the server (other users of the box).
    fn other_cpu(&self) -> f64 {
        (self.machine.tasks - self.server_cpu - self.client_cpu).max(0.0)
    }

    fn rps(&self) -> f64 {
        self.ok as f64 / self.window
    }
    fn per_server_cpu(&self) -> f64 {
        if self.server_cpu > 0.0 {
            self.ok as f64 / self.server_cpu
        } else {
            0.0
        }
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1e3
}

fn run_load(
    rt: &tokio::runtime::Runtime,
    addr: SocketAddr,
    pid: u32,
    signer: &Arc<Signer>,
    n: usize,
    cfg: &BenchConfig,
    tck: f64,
) -> LoadResult {
    let t0 = Instant::now();
    let start = t0 + Duration::from_secs_f64(cfg.warmup);
    let end = start + Duration::from_secs_f64(cfg.seconds);
    let (stats, snaps) = rt.block_on(async {
        let workers: Vec<_> = (0..n)
            .map(|_| tokio::spawn(worker(addr, signer.clone(), cfg.sign, start, end)))
            .collect();
        // Resource snapshots at the window edges, taken off the worker tasks' critical path.
        let snaps = tokio::task::spawn_blocking(move || {
            let snap = || {
                (
                    proc_cpu_ticks(pid),
                    self_cpu_ticks(),
                    machine_ticks(),
                    thread_cpu_ticks(pid),
                )
            };
            std::thread::sleep(start.saturating_duration_since(Instant::now()));
            let a = snap();
            std::thread::sleep(end.saturating_duration_since(Instant::now()));
            let b = snap();
            (a, b)
        });
        let mut all = Vec::with_capacity(n);
        for w in workers {
            all.push(w.await.unwrap_or_default());
        }
        (all, snaps.await.expect("snapshot task"))
    });
    let ((s0, c0, m0, th0), (s1, c1, m1, th1)) = snaps;
    let mut lat = Vec::new();
    let mut samples = BTreeMap::new();
    let (mut ok, mut errors) = (0, 0);
    for s in stats {
        ok += s.ok;
        errors += s.errors;
        lat.extend(s.latencies_us);
        for (k, v) in s.samples {
            *samples.entry(k).or_insert(0) += v;
        }
    }
    lat.sort_unstable();
    let mut threads: Vec<(String, f64)> = th1
        .iter()
        .map(|(name, t)| {
            (
                name.clone(),
                (t - th0.get(name).copied().unwrap_or(0)) as f64 / tck,
            )
        })
        .filter(|(_, s)| *s > 0.0)
        .collect();
    threads.sort_by(|a, b| b.1.total_cmp(&a.1));
    LoadResult {
        connections: n,
        window: cfg.seconds,
        ok,
        errors,
        samples,
        p50_ms: percentile(&lat, 50.0),
        p99_ms: percentile(&lat, 99.0),
        max_ms: lat.last().map(|v| *v as f64 / 1e3).unwrap_or(0.0),
        server_cpu: (s1 - s0) as f64 / tck,
        client_cpu: (c1 - c0) as f64 / tck,
        machine: MachineSplit::between(&m0, &m1, tck),
        threads,
    }
}

// ---------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------

struct Row {
    metric: String,
    value: String,
    target: String,
    ratio: String,
}

fn row(
    metric: impl Into<String>,
    value: impl Into<String>,
    target: &str,
    ratio: Option<f64>,
) -> Row {
    Row {
        metric: metric.into(),
        value: value.into(),
        target: target.into(),
        ratio: ratio
            .map(|r| format!("{r:.2}"))
            .unwrap_or_else(|| "-".into()),
    }
}

fn print_table(rows: &[Row]) {
    let w = |f: fn(&Row) -> &str, h: &str| {
        rows.iter()
            .map(|r| f(r).len())
            .max()
            .unwrap_or(0)
            .max(h.len())
    };
    let (w0, w1, w2, w3) = (
        w(|r| &r.metric, "metric"),
        w(|r| &r.value, "value"),
        w(|r| &r.target, "target"),
        w(|r| &r.ratio, "ratio"),
    );
    println!(
        "| {:<w0$} | {:>w1$} | {:<w2$} | {:>w3$} |",
        "metric", "value", "target", "ratio"
    );
    println!(
        "|{}|{}|{}|{}|",
        "-".repeat(w0 + 2),
        "-".repeat(w1 + 2),
        "-".repeat(w2 + 2),
        "-".repeat(w3 + 2)
    );
    for r in rows {
        println!(
            "| {:<w0$} | {:>w1$} | {:<w2$} | {:>w3$} |",
            r.metric, r.value, r.target, r.ratio
        );
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() { 0.0 } else { v[v.len() / 2] }
}

fn tempdir(cfg: &BenchConfig) -> Result<tempfile::TempDir, String> {
    tempfile::Builder::new()
        .prefix("sightline-bench-")
        .tempdir_in(&cfg.tmp_base)
        .map_err(|e| format!("temp dir in {}: {e}", cfg.tmp_base.display()))
}

fn run(bin: &Path, cfg: &BenchConfig) -> Result<bool, String> {
    let tck = clock_ticks();
    println!("== Sightline foundation benchmark ==");
    println!("binary:   {}", bin.display());
    println!("machine:  {}", machine_description());
    println!(
        "data dir: {} ({})",
        cfg.tmp_base.display(),
        filesystem_of(&cfg.tmp_base)
    );
    let sign_desc = match cfg.sign {
        SignMode::PerRequest => "SigV4 signed per request in the client",
        SignMode::PerSecond => {
            "SigV4 signed once per connection per second, headers reused within the second"
        }
    };
    println!(
        "load:     {} s measured (+{} s warm-up) per run, connections {:?}; {sign_desc}",
        cfg.seconds, cfg.warmup, cfg.connections
    );
    println!();
    let mut stops = StopLog::default();

    // Start-up: first start on a fresh dir, then a restart on the same dir.
    let mut first = Vec::new();
    let mut again = Vec::new();
    for i in 0..cfg.starts {
        let dir = tempdir(cfg)?;
        let (s, t) = Server::start(bin, dir.path())?;
        first.push(t.as_secs_f64() * 1e3);
        stop_checked(s, "first start", &mut stops);
        let (s, t2) = Server::start(bin, dir.path())?;
        again.push(t2.as_secs_f64() * 1e3);
        stop_checked(s, "restart", &mut stops);
        println!(
            "startup {}: first start {:.1} ms, restart {:.1} ms",
            i + 1,
            t.as_secs_f64() * 1e3,
            t2.as_secs_f64() * 1e3
        );
    }
    let (first_min, first_max) = (
        first.iter().copied().fold(f64::MAX, f64::min),
        first.iter().copied().fold(0.0, f64::max),
    );
    let (again_min, again_max) = (
        again.iter().copied().fold(f64::MAX, f64::min),
        again.iter().copied().fold(0.0, f64::max),
    );
    let first_med = median(&mut first);
    let again_med = median(&mut again);

    // Idle RSS, then load on the same server.
    let dir = tempdir(cfg)?;
    let (server, _) = Server::start(bin, dir.path())?;
    std::thread::sleep(Duration::from_secs(2));
    let pid = server.pid();
    let idle_rss_kb = status_kb(pid, "VmRSS").ok_or("cannot read VmRSS")?;
    println!("idle RSS after 2 s: {:.1} MB", idle_rss_kb as f64 / 1024.0);

    let (akid, secret) = server.credentials()?;
    let signer = Arc::new(Signer {
        access_key_id: akid,
        secret,
        host: HeaderValue::from_str(&server.addr.to_string()).map_err(|e| e.to_string())?,
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut loads = Vec::new();
    for &n in &cfg.connections {
        let r = run_load(&rt, server.addr, pid, &signer, n, cfg, tck);
        println!(
            "load N={:<4} {:>7.0} req/s  ok {}  errors {}  p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
            n,
            r.rps(),
            r.ok,
            r.errors,
            r.p50_ms,
            r.p99_ms,
            r.max_ms,
        );
        let m = &r.machine;
        println!(
            "           CPU core-seconds over {:.1} s (machine total {:.1}): server {:.2}, bench client {:.2}, \
             other processes {:.2}, irq+softirq {:.2}, steal {:.2}, iowait {:.2}, idle {:.2}",
            r.window,
            m.total(),
            r.server_cpu,
            r.client_cpu,
            r.other_cpu(),
            m.irq,
            m.steal,
            m.iowait,
            m.idle
        );
        let threads: Vec<String> = r
            .threads
            .iter()
            .map(|(name, s)| format!("{name} {s:.2}s"))
            .collect();
        println!("           server CPU by thread: {}", threads.join(", "));
        for (what, count) in &r.samples {
            println!("           error x{count}: {what}");
        }
        loads.push(r);
        std::thread::sleep(Duration::from_millis(500));
    }
    let loaded_rss_kb = status_kb(pid, "VmRSS").unwrap_or(0);
    let peak_rss_kb = status_kb(pid, "VmHWM").unwrap_or(0);
    // The audit records live in the lake: WAL files and Parquet segments.
    let audit_bytes = dir_size(&server.data_dir.join("lake"));
    drop(rt);
    stop_checked(server, "load server", &mut stops);
    drop(dir);

    let mut rows = vec![
        row(
            format!("start to /health, first start (median of {})", cfg.starts),
            format!("{first_med:.1} ms"),
            "< 500 ms",
            Some(TARGET_START_MS / first_med.max(1e-3)),
        ),
        row(
            "  first start min / max",
            format!("{first_min:.1} / {first_max:.1} ms"),
            "-",
            None,
        ),
        row(
            format!("start to /health, restart (median of {})", cfg.starts),
            format!("{again_med:.1} ms"),
            "< 500 ms",
            Some(TARGET_START_MS / again_med.max(1e-3)),
        ),
        row(
            "  restart min / max",
            format!("{again_min:.1} / {again_max:.1} ms"),
            "-",
            None,
        ),
        row(
            "idle RSS (start + 2 s)",
            format!("{:.1} MB", idle_rss_kb as f64 / 1024.0),
            "< 40 MB",
            Some(TARGET_RSS_MB * 1024.0 / idle_rss_kb.max(1) as f64),
        ),
    ];
    if let Some(best) = loads.iter().max_by(|a, b| a.rps().total_cmp(&b.rps())) {
        rows.push(row(
            format!("GetCallerIdentity, best (N={})", best.connections),
            format!("{:.0} req/s", best.rps()),
            ">= 15,000 req/s",
            Some(best.rps() / TARGET_RPS),
        ));
    }
    for r in &loads {
        let n = r.connections;
        rows.push(row(
            format!("GetCallerIdentity N={n}"),
            format!("{:.0} req/s", r.rps()),
            ">= 15,000 req/s",
            Some(r.rps() / TARGET_RPS),
        ));
        rows.push(row(
            format!("  N={n} latency p50 / p99"),
            format!("{:.2} / {:.2} ms", r.p50_ms, r.p99_ms),
            "-",
            None,
        ));
        rows.push(row(
            format!("  N={n} errors (non-200)"),
            r.errors.to_string(),
            "0",
            None,
        ));
        rows.push(row(
            format!("  N={n} server CPU over {} s", r.window),
            format!(
                "{:.2} s ({:.0}% of 1 core)",
                r.server_cpu,
                100.0 * r.server_cpu / r.window
            ),
            "-",
            None,
        ));
        rows.push(row(
            format!("  N={n} req per server-CPU-second"),
            format!("{:.0}", r.per_server_cpu()),
            "-",
            None,
        ));
        rows.push(row(
            format!("  N={n} client / other procs / iowait / idle CPU"),
            format!(
                "{:.2} / {:.2} / {:.2} / {:.2} s",
                r.client_cpu,
                r.other_cpu(),
                r.machine.iowait,
                r.machine.idle
            ),
            "-",
            None,
        ));
    }
    rows.push(row(
        "RSS after load / peak (VmHWM)",
        format!(
            "{:.1} / {:.1} MB",
            loaded_rss_kb as f64 / 1024.0,
            peak_rss_kb as f64 / 1024.0
        ),
        "-",
        None,
    ));
    rows.push(row(
        "audit data in the lake (WAL + segments) after load",
        format!("{:.1} MB", audit_bytes as f64 / 1048576.0),
        "-",
        None,
    ));
    rows.push(row(
        "SIGTERM -> exit 0",
        format!(
            "{}/{} (slowest {:.0} ms)",
            stops.clean, stops.total, stops.max_ms
        ),
        "all",
        None,
    ));
    println!();
    println!("machine: {}; signing: {sign_desc}", machine_description());
    print_table(&rows);
    let clean = stops.clean == stops.total;
    if !clean {
        eprintln!("not every server stop exited 0 after SIGTERM");
    }
    Ok(clean)
}

/// Bytes of every file under `dir`.
fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            _ => e.metadata().map(|m| m.len()).unwrap_or(0),
        })
        .sum()
}
