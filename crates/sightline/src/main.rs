//! The `sightline` binary: a thin clap front end over the server crate.

use clap::{Parser, Subcommand};
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
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
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
