//! The `sightline` binary: a thin clap front end over the server crate.

mod client;
mod logs;
mod query;
mod trail;

use clap::{Parser, Subcommand};

/// Audit records, log events and Arrow batches are many short-lived allocations made on
/// one thread and freed on another; mimalloc's per-thread free lists cost a fraction of
/// glibc's arenas there (bench/lake.sh: append CPU per record).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc v3's option numbers (`mimalloc.h`, `mi_option_e`).
const MI_OPTION_ARENA_EAGER_COMMIT: i32 = 4;
const MI_OPTION_PURGE_DECOMMITS: i32 = 5;
const MI_OPTION_PURGE_DELAY: i32 = 15;

/// Freed memory goes back to the OS after 10 s instead of 1 s, and is reset rather
/// than decommitted: a PutLogEvents batch allocates megabytes that the next batch
/// needs again, and giving them back each time made the kernel zero fresh pages for
/// every request (most of the server's CPU time under load; bench/logs.sh).
///
/// Transparent huge pages are off for the process: mimalloc asks for them, and every
/// first touch of a 2 MiB region then zeroes all of it, however little of it the
/// allocation uses. Under PutLogEvents that zeroing was a fifth of the server's CPU
/// (`clear_page_erms`, perf); with 4 KiB pages it is 3%, and a request costs ~25% less
/// CPU (bench/logs.sh).
fn tune_allocator() {
    // SAFETY: PR_SET_THP_DISABLE only sets a flag on the calling process; a kernel
    // that refuses it leaves huge pages as they were, which is harmless.
    #[cfg(target_os = "linux")]
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
    // SAFETY: reading and setting mimalloc options only stores integers; the option
    // numbers are checked against their documented defaults first, so a mimalloc with
    // other numbering is left alone.
    unsafe {
        use libmimalloc_sys::{mi_option_get, mi_option_set};
        if mi_option_get(MI_OPTION_PURGE_DECOMMITS) == 1
            && mi_option_get(MI_OPTION_ARENA_EAGER_COMMIT) == 2
            && mi_option_get(MI_OPTION_PURGE_DELAY) > 0
        {
            mi_option_set(MI_OPTION_PURGE_DELAY, 10_000);
            mi_option_set(MI_OPTION_PURGE_DECOMMITS, 0);
            mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 1);
        }
    }
}
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "sightline",
    version,
    about = "Self-hosted AWS-compatible monitoring, logging and audit plane"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Server(ServerArgs),
    /// Run SQL over your account's datasets (audit_events, …) on the server.
    Query(QueryArgs),
    /// Check a trail's evidence: digests, log files and the transparency log.
    #[command(subcommand)]
    Trail(TrailCommand),
    /// CloudWatch Logs from the terminal: tail a group, run a Logs Insights query.
    #[command(subcommand)]
    Logs(LogsCommand),
}

#[derive(Subcommand)]
enum LogsCommand {
    /// Print a log group's events (FilterLogEvents), optionally following new ones.
    Tail(logs::TailArgs),
    /// Run a Logs Insights query over log groups and print the results.
    Query(logs::QueryArgs),
    /// Ingest tokens for OTLP agents that do not sign with SigV4.
    #[command(subcommand)]
    Token(logs::TokenCommand),
}

#[derive(Subcommand)]
enum TrailCommand {
    /// Validate a trail's digest chain and log files (live, or a copied bucket with
    /// --bucket-dir), and/or the transparency log against a saved --checkpoint.
    /// Exits 0 only when everything is valid.
    Verify(trail::VerifyArgs),
    /// Fetch and verify the inclusion proof of one audit record against a signed
    /// checkpoint. Exits 0 only when it verifies.
    Prove(trail::ProveArgs),
}

#[derive(clap::Args)]
struct QueryArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: query::Format,
    #[command(flatten)]
    connection: client::Connection,
    /// The SQL statement.
    sql: String,
}

#[derive(clap::Args)]
struct ServerArgs {
    /// Directory holding all state.
    #[arg(long, default_value = "./sightline-data")]
    data_dir: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:4566")]
    listen: SocketAddr,
    /// PEM certificate chain; required with --tls-key for non-loopback addresses.
    #[arg(long)]
    tls_cert: Option<PathBuf>,
    #[arg(long)]
    tls_key: Option<PathBuf>,
    /// Serve plain HTTP on a non-loopback address.
    #[arg(long)]
    allow_plaintext: bool,
    /// Lowest accepted DurationSeconds for temporary credentials (for tests; AWS: 900).
    #[arg(long, default_value_t = 900, hide = true)]
    min_session_seconds: i64,
    /// Largest accepted request body in bytes.
    #[arg(long, default_value_t = 20 << 20)]
    max_body_bytes: usize,
    /// Seconds between flushes of buffered telemetry into Parquet segments.
    #[arg(long, default_value_t = 60)]
    lake_flush_seconds: u64,
    /// Segment store: empty for DATA_DIR/lake/segments, or file:///dir, memory://, s3://bucket/prefix.
    #[arg(long, default_value = "")]
    lake_store: String,
    /// Drop audit and telemetry partitions older than this many days (default: keep all).
    #[arg(long)]
    lake_retention_days: Option<u32>,
    /// Seal an hourly partition this long after its hour ends: its segments are
    /// rewritten once at a strong zstd level (see --lake-seal-level).
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    lake_seal_after: std::time::Duration,
    /// zstd level of log text in sealed partitions (1-22); 0 turns sealing off.
    #[arg(long, default_value_t = 19, value_parser = clap::value_parser!(i32).range(0..=22))]
    lake_seal_level: i32,
    /// File holding the KMS master key (base64 of 32 bytes), created with mode 0600 if
    /// missing (default: DATA_DIR/kms/master.key). Keep it apart from the data directory
    /// so a copy of the data alone cannot decrypt anything.
    #[arg(long)]
    kms_master_key_file: Option<PathBuf>,
    /// How often trails deliver log files: `5m`, `30s`, `2s`, `500ms`.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    trail_delivery_interval: std::time::Duration,
    /// How often trails deliver signed digest files: `1h`, `6s`.
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    trail_digest_interval: std::time::Duration,
    /// How often new audit records enter the transparency log and a checkpoint is
    /// signed: `5s`, `1s`.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    tlog_interval: std::time::Duration,
    /// A syslog listener (repeatable): `udp://0.0.0.0:5514?group=/syslog/hosts&allow=10.0.0.0/8`
    /// or `tcp://…` (octet counting or one message per line); `allow` lists the source
    /// networks accepted, `account=` and `region=` pick where the group lives.
    #[arg(long = "syslog", value_parser = parse_syslog)]
    syslog: Vec<sightline_logs::syslog::SyslogInput>,
    /// The SMTP relay SNS email subscriptions send through: `smtp://[user:pass@]host:port`.
    #[arg(long, env = "SIGHTLINE_SMTP_URL")]
    smtp_url: Option<String>,
    /// The URL endpoints reach this server at, for links SNS sends (SubscribeURL,
    /// SigningCertURL); the listening address when unset.
    #[arg(long, env = "SIGHTLINE_PUBLIC_URL")]
    public_url: Option<String>,
    /// A command EventBridge remediation targets may run (repeatable): `NAME=PROGRAM
    /// [ARG...]`; a rule targets it as `arn:aws:sightline:REGION:ACCOUNT:remediation/NAME`
    /// and the program gets the event on standard input.
    #[arg(long = "remediation-command", value_parser = parse_remediation)]
    remediation_command: Vec<(String, Vec<String>)>,
    /// How long a remediation command may run before it is killed and retried.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    remediation_timeout: std::time::Duration,
}

/// `NAME=PROGRAM [ARG...]`.
fn parse_remediation(s: &str) -> Result<(String, Vec<String>), String> {
    let (name, command) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not NAME=PROGRAM [ARG...]"))?;
    let words: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        || words.is_empty()
    {
        return Err(format!("{s:?} is not NAME=PROGRAM [ARG...]"));
    }
    Ok((name.to_owned(), words))
}

fn parse_syslog(s: &str) -> Result<sightline_logs::syslog::SyslogInput, String> {
    s.parse().map_err(|e: sightline_logs::Error| e.to_string())
}

/// `500ms`, `2s`, `5m`, `1h` (a bare number is seconds).
fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration such as 2s, 5m or 1h"))?;
    let secs = |k: u64| std::time::Duration::from_secs(n.saturating_mul(k));
    match unit {
        "ms" => Ok(std::time::Duration::from_millis(n)),
        "" | "s" => Ok(secs(1)),
        "m" => Ok(secs(60)),
        "h" => Ok(secs(3600)),
        other => Err(format!("unknown unit {other:?}: use ms, s, m or h")),
    }
}

fn main() -> anyhow::Result<()> {
    tune_allocator();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Query(a) => {
            if let Err(e) = run_query(a) {
                eprintln!("{e:#}");
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Logs(l) => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let outcome = rt.block_on(async move {
                match l {
                    LogsCommand::Tail(a) => logs::tail(a.connection.profile()?, a).await,
                    LogsCommand::Token(t) => logs::token(t.connection().profile()?, t).await,
                    LogsCommand::Query(a) => logs::query(a.connection.profile()?, a).await,
                }
            });
            if let Err(e) = outcome {
                eprintln!("{e:#}");
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Trail(t) => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let outcome = rt.block_on(async move {
                match t {
                    TrailCommand::Verify(a) => trail::verify(a).await,
                    TrailCommand::Prove(a) => trail::prove(a).await,
                }
            });
            match outcome {
                Ok(true) => Ok(()),
                Ok(false) => std::process::exit(1),
                Err(e) => {
                    eprintln!("{e:#}");
                    std::process::exit(2);
                }
            }
        }
        Command::Server(a) => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let running = sightline_server::start(sightline_server::Config {
                    data_dir: a.data_dir,
                    listen: a.listen,
                    tls_cert: a.tls_cert,
                    tls_key: a.tls_key,
                    allow_plaintext: a.allow_plaintext,
                    min_session_seconds: a.min_session_seconds,
                    max_body_bytes: a.max_body_bytes,
                    lake_flush_seconds: a.lake_flush_seconds,
                    lake_store: a.lake_store,
                    lake_retention_days: a.lake_retention_days,
                    lake_seal_after: a.lake_seal_after,
                    lake_seal_level: a.lake_seal_level,
                    kms_master_key_file: a.kms_master_key_file,
                    trail_delivery_interval: a.trail_delivery_interval,
                    trail_digest_interval: a.trail_digest_interval,
                    tlog_interval: a.tlog_interval,
                    syslog: a.syslog,
                    smtp_url: a.smtp_url,
                    public_url: a.public_url,
                    remediation: a
                        .remediation_command
                        .into_iter()
                        .map(|(name, mut words)| {
                            let program = std::path::PathBuf::from(words.remove(0));
                            sightline_events::RemediationCommand {
                                name,
                                program,
                                args: words,
                                timeout: a.remediation_timeout,
                            }
                        })
                        .collect(),
                })
                .await?;
                let stop = running.shutdown_handle();
                tokio::spawn(async move {
                    wait_for_signal().await;
                    let _ = stop.send(true);
                });
                running.wait().await?;
                anyhow::Ok(())
            })
        }
    }
}

fn run_query(a: QueryArgs) -> anyhow::Result<()> {
    let profile = a.connection.profile()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(query::run(profile, a.format, &a.sql))
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
