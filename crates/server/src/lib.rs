//! The Sightline server: one listener, the wire pipeline in front of every service, and
//! the lifecycle (first-start bootstrap, graceful shutdown).

pub mod buckets;
pub mod files;
pub mod keys;
pub mod pipeline;
pub mod query_service;
pub mod queues;
pub mod record;
pub mod service_events;
pub mod state;
mod tls;
pub mod tokens;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use sightline_iam::{Identity, Limits};
use sightline_meta::Meta;
use state::AppState;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("meta store: {0}")]
    Meta(#[from] sightline_meta::Error),
    #[error("identity: {0}")]
    Identity(#[from] sightline_iam::Error),
    #[error("lake: {0}")]
    Lake(#[from] sightline_lake::Error),
    #[error("kms: {0}")]
    Kms(#[from] sightline_kms::Error),
    #[error("s3: {0}")]
    S3(#[from] sightline_s3::Error),
    #[error("cloudtrail: {0}")]
    Trail(#[from] sightline_trail::Error),
    #[error("logs: {0}")]
    Logs(#[from] sightline_logs::Error),
    #[error("sns: {0}")]
    Sns(#[from] sightline_sns::Error),
    #[error("sqs: {0}")]
    Sqs(#[from] sightline_sqs::Error),
    #[error("cloudwatch: {0}")]
    CloudWatch(#[from] sightline_cloudwatch::Error),
    #[error("events: {0}")]
    Events(#[from] sightline_events::Error),
    #[error("tls: {0}")]
    Tls(String),
    #[error("configuration: {0}")]
    Config(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub allow_plaintext: bool,
    /// Lowest DurationSeconds accepted for temporary credentials (AWS: 900).
    pub min_session_seconds: i64,
    pub max_body_bytes: usize,
    /// How often buffered telemetry is written to Parquet segments.
    pub lake_flush_seconds: u64,
    /// Where segments live: empty for `DATA_DIR/lake/segments`, or `file:///dir`, `memory://`, `s3://bucket/prefix`.
    pub lake_store: String,
    /// Drop telemetry partitions older than this many days.
    pub lake_retention_days: Option<u32>,
    /// How long after its hour a partition is sealed (recompressed densely).
    pub lake_seal_after: std::time::Duration,
    /// zstd level of sealed log text; 0 turns sealing off.
    pub lake_seal_level: i32,
    /// The key that wraps KMS key material at rest; `DATA_DIR/kms/master.key` when unset
    /// (created on first start, mode 0600).
    pub kms_master_key_file: Option<PathBuf>,
    /// How often trails deliver log files (CloudTrail: about every 5 minutes).
    pub trail_delivery_interval: std::time::Duration,
    /// How often trails deliver digest files (CloudTrail: hourly).
    pub trail_digest_interval: std::time::Duration,
    /// How often new audit records are appended to the transparency log and a
    /// checkpoint is signed.
    pub tlog_interval: std::time::Duration,
    /// Syslog listeners feeding log groups.
    pub syslog: Vec<sightline_logs::syslog::SyslogInput>,
    /// The SMTP relay (`smtp://[user:pass@]host:port`) SNS email subscriptions use.
    pub smtp_url: Option<String>,
    /// The URL endpoints reach this server at (SNS SubscribeURL, SigningCertURL);
    /// the listening address when unset.
    pub public_url: Option<String>,
    /// Commands EventBridge remediation targets may run.
    pub remediation: Vec<sightline_events::RemediationCommand>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./sightline-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 4566)),
            tls_cert: None,
            tls_key: None,
            allow_plaintext: false,
            min_session_seconds: 900,
            max_body_bytes: 20 << 20,
            lake_flush_seconds: 60,
            lake_store: String::new(),
            lake_retention_days: None,
            lake_seal_after: std::time::Duration::from_secs(600),
            lake_seal_level: 19,
            kms_master_key_file: None,
            trail_delivery_interval: std::time::Duration::from_secs(300),
            trail_digest_interval: std::time::Duration::from_secs(3600),
            tlog_interval: std::time::Duration::from_secs(5),
            syslog: Vec::new(),
            smtp_url: None,
            public_url: None,
            remediation: Vec::new(),
        }
    }
}

/// A started server: the address it listens on and the handle to stop it.
pub struct Running {
    pub local_addr: SocketAddr,
    pub endpoint: String,
    shutdown: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<()>>,
}

impl Running {
    /// Stops accepting, lets in-flight requests finish, and flushes the audit sink.
    pub async fn stop(self) -> Result<()> {
        let _ = self.shutdown.send(true);
        self.task
            .await
            .map_err(|e| Error::Config(format!("server task failed: {e}")))?
    }

    pub async fn wait(self) -> Result<()> {
        self.task
            .await
            .map_err(|e| Error::Config(format!("server task failed: {e}")))?
    }

    pub fn shutdown_handle(&self) -> tokio::sync::watch::Sender<bool> {
        self.shutdown.clone()
    }
}

pub async fn start(config: Config) -> Result<Running> {
    let tls = tls::acceptor(&config)?;
    std::fs::create_dir_all(&config.data_dir)?;
    let data_dir = std::fs::canonicalize(&config.data_dir)?;
    let meta = Arc::new(Meta::open(&data_dir)?);
    let identity = Arc::new(Identity::open(
        meta.clone(),
        Limits {
            min_session_seconds: config.min_session_seconds.max(1),
        },
    )?);
    identity.bootstrap()?;
    identity.complete_pending()?;
    let root = identity
        .management_root_key()
        .ok_or_else(|| Error::Config("management account has no root key".into()))?;
    files::ensure_client_files(&data_dir, &root.id, &root.secret)?;
    let management = identity.management_account().unwrap_or_default();
    let store = sightline_lake::store::SegmentStore::from_url(&config.lake_store, &data_dir)?;
    let lake_options = sightline_lake::Options {
        flush_interval: std::time::Duration::from_secs(config.lake_flush_seconds.max(1)),
        retention_days: config.lake_retention_days,
        seal_after: (config.lake_seal_level > 0).then_some(config.lake_seal_after),
        seal_level: config.lake_seal_level.clamp(1, 22),
        ..sightline_lake::Options::default()
    };
    let lake = sightline_lake::Lake::open(&data_dir, store, meta.clone(), lake_options).await?;
    // Readers of the trail (delivery) read up to the clock's settled time, so no record
    // still being written is skipped.
    let clock = Arc::new(sightline_core::AuditClock::new());
    let request_clock = clock.clone();
    let audit = Arc::new(sightline_core::ClockedSink {
        inner: Arc::new(sightline_lake::sink::LakeAuditSink(lake.clone())),
        clock: clock.clone(),
    });
    let mut services = sightline_iam::services(&identity);
    let master_path = config
        .kms_master_key_file
        .clone()
        .unwrap_or_else(|| data_dir.join("kms").join("master.key"));
    let master = sightline_kms::crypto::MasterKey::load_or_create(&master_path)?;
    // The same key seals CloudTrail's digest signing keys.
    let sealer = Arc::new(sightline_kms::crypto::MasterKey::load_or_create(
        &master_path,
    )?);
    let kms = Arc::new(sightline_kms::Kms::open(meta.clone(), master)?);
    // The event bus comes first: the calls every other service answers are published on
    // it (through the audit sink), and CloudWatch publishes alarm changes to it.
    let events = sightline_events::Events::open(
        meta.clone(),
        lake.clone(),
        sealer.clone(),
        sightline_events::Options {
            remediation: config.remediation.clone(),
            ..sightline_events::Options::default()
        },
    )?;
    services.push(Arc::new(sightline_kms::api::KmsService {
        kms: kms.clone(),
    }));
    let keys = Arc::new(keys::KmsKeys {
        kms,
        identity: identity.clone(),
        audit: audit.clone(),
    });
    // Bucket objects go through the same object_store layer as lake segments, rooted
    // at DATA_DIR/s3 (object paths are `<bucket>/<blob>`).
    let s3_dir = data_dir.join("s3");
    std::fs::create_dir_all(&s3_dir)?;
    let objects = object_store::local::LocalFileSystem::new_with_prefix(&s3_dir)
        .map_err(|e| Error::Config(format!("s3 object directory: {e}")))?;
    let keys_for_trails: Arc<dyn sightline_core::KeyService> = keys.clone();
    let keys_for_logs: Arc<dyn sightline_core::KeyService> = keys.clone();
    let s3 = Arc::new(sightline_s3::S3::open(
        meta.clone(),
        Arc::new(objects),
        keys,
        Some(s3_dir),
    )?);
    services.push(Arc::new(sightline_s3::api::S3Service { s3: s3.clone() }));
    let buckets = Arc::new(buckets::S3Buckets {
        s3,
        identity: identity.clone(),
    });
    let trails = Arc::new(sightline_trail::Trails::open(
        meta.clone(),
        lake.clone(),
        buckets,
        keys_for_trails,
        sealer.clone(),
        clock.clone(),
        sightline_trail::DeliveryOptions {
            delivery_interval: config
                .trail_delivery_interval
                .max(std::time::Duration::from_millis(100)),
            digest_interval: config
                .trail_digest_interval
                .max(std::time::Duration::from_secs(1)),
        },
    )?);
    let tlog = Arc::new(sightline_trail::tlog::Tlog::open(
        lake.clone(),
        clock,
        &data_dir,
        sealer.as_ref(),
    )?);
    let tokens = Arc::new(
        tokens::IngestTokens::open(meta.clone())
            .map_err(|e| Error::Config(format!("ingest tokens: {e}")))?,
    );
    services.push(Arc::new(query_service::QueryService {
        lake: lake.clone(),
        tlog: tlog.clone(),
        tokens: tokens.clone(),
    }));
    let trail = Arc::new(sightline_trail::Trail { lake: lake.clone() });
    services.push(Arc::new(sightline_trail::api::CloudTrail {
        trail,
        trails: trails.clone(),
    }));
    // SNS names its own URLs (SubscribeURL, SigningCertURL), so the address is known
    // before the services are made.
    let listener = TcpListener::bind(config.listen).await?;
    let local_addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let endpoint = format!("{scheme}://{local_addr}");
    let sns = sightline_sns::Sns::open(
        meta.clone(),
        sealer.clone(),
        sightline_sns::Config::new(
            config
                .public_url
                .clone()
                .unwrap_or_else(|| endpoint.clone()),
            config.smtp_url.clone(),
        ),
    )?;
    services.push(Arc::new(sightline_sns::api::SnsService::new(sns.clone())));
    // SQS, and the sink through which services send to its queues as their service
    // principal (SNS `sqs` subscriptions; `queue_sink` is for other senders too).
    let sqs = sightline_sqs::Sqs::open(
        meta.clone(),
        sightline_sqs::Config::new(
            config
                .public_url
                .clone()
                .unwrap_or_else(|| endpoint.clone()),
        ),
    )?;
    services.push(Arc::new(sightline_sqs::api::SqsService::new(sqs.clone())));
    let queue_sink: Arc<dyn sightline_core::QueueSink> = sqs.clone();
    sns.set_queue_sender(Arc::new(queues::SnsQueues {
        sink: queue_sink.clone(),
    }));
    let cloudwatch = sightline_cloudwatch::CloudWatch::open(
        meta.clone(),
        lake.clone(),
        events.clone(),
        sns.clone(),
        sightline_cloudwatch::Options::default(),
    )
    .await?;
    services.push(Arc::new(sightline_cloudwatch::api::CloudWatchService {
        cw: cloudwatch.clone(),
    }));
    // Log metric filters land in CloudWatch like any datapoint.
    let metric_sink: Arc<dyn sightline_core::MetricSink> = cloudwatch.clone();
    let logs = Arc::new(sightline_logs::Logs::open(
        meta.clone(),
        lake.clone(),
        metric_sink,
        keys_for_logs,
    )?);
    services.push(Arc::new(sightline_logs::api::LogsService {
        logs: logs.clone(),
    }));
    events.set_sinks(sightline_events::Sinks {
        queues: queue_sink.clone(),
        topics: sns.clone(),
        logs: logs.clone(),
        metrics: cloudwatch.clone(),
        audit: audit.clone(),
    });
    logs.set_event_bus(events.clone());
    services.push(Arc::new(sightline_events::api::EventsService {
        events: events.clone(),
    }));
    let audit: Arc<dyn sightline_core::AuditSink> = Arc::new(service_events::EventingSink {
        inner: audit,
        publisher: events.clone(),
    });
    let mut state = AppState::new(
        services,
        identity,
        audit,
        request_clock,
        management.clone(),
        tokens,
    );
    state.sns = Some(sns.clone());
    let state = Arc::new(state);

    let (shutdown, mut shutdown_rx) = tokio::sync::watch::channel(false);
    let maintenance = lake.spawn_maintenance(shutdown_rx.clone());
    let delivery = trails.spawn(shutdown_rx.clone());
    let logs_task = logs.spawn(shutdown_rx.clone());
    let cloudwatch_task = cloudwatch.spawn(shutdown_rx.clone());
    let sns_task = sns.spawn(shutdown_rx.clone());
    let sqs_task = sqs.spawn(shutdown_rx.clone());
    let events_task = events.spawn(shutdown_rx.clone());
    let mut syslog_tasks = Vec::new();
    for input in config.syslog.iter().cloned() {
        syslog_tasks.push(
            logs.spawn_syslog(input, &management, shutdown_rx.clone())
                .await?,
        );
    }
    let sequencer = tlog.spawn(
        config
            .tlog_interval
            .max(std::time::Duration::from_millis(100)),
        shutdown_rx.clone(),
    );
    tracing::info!(endpoint = %endpoint, data_dir = %data_dir.display(), account = %management, "server started");
    println!(
        "sightline listening on {endpoint}\nexport AWS_ENDPOINT_URL={endpoint} AWS_SHARED_CREDENTIALS_FILE={} AWS_CONFIG_FILE={}",
        data_dir.join("credentials").display(),
        data_dir.join("config").display()
    );
    let max_body = config.max_body_bytes;
    let task = tokio::spawn(async move {
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(x) => x,
                        Err(e) => {
                            tracing::warn!(error = %e, "accept failed");
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let state = state.clone();
                    let tls = tls.clone();
                    let is_tls = tls.is_some();
                    let svc = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, std::convert::Infallible>(serve(state, req, peer, is_tls, max_body).await) }
                    });
                    let builder = hyper::server::conn::http1::Builder::new();
                    match tls {
                        None => {
                            let conn = builder.serve_connection(TokioIo::new(stream), svc);
                            let watched = graceful.watch(conn);
                            tokio::spawn(async move {
                                let _ = watched.await;
                            });
                        }
                        Some(acceptor) => {
                            let watcher = graceful.watcher();
                            tokio::spawn(async move {
                                match acceptor.accept(stream).await {
                                    Ok(s) => {
                                        let _ = watcher.watch(builder.serve_connection(TokioIo::new(s), svc)).await;
                                    }
                                    Err(e) => tracing::debug!(error = %e, "tls handshake failed"),
                                }
                            });
                        }
                    }
                }
                _ = shutdown_rx.changed() => break,
            }
        }
        drop(listener);
        if tokio::time::timeout(std::time::Duration::from_secs(10), graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("connections still open after 10 s, closing");
        }
        let _ = maintenance.await;
        let _ = delivery.await;
        let _ = sequencer.await;
        for t in syslog_tasks {
            let _ = t.await;
        }
        let _ = logs_task.await;
        let _ = cloudwatch_task.await;
        let _ = sns_task.await;
        let _ = sqs_task.await;
        let _ = events_task.await;
        lake.close();
        tracing::info!("server stopped");
        Ok(())
    });
    Ok(Running {
        local_addr,
        endpoint,
        shutdown,
        task,
    })
}

async fn serve(
    state: Arc<AppState>,
    req: Request<Incoming>,
    peer: SocketAddr,
    tls: bool,
    max_body: usize,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    if parts.uri.path() == "/health" && parts.method == http::Method::GET {
        return Response::builder()
            .status(200)
            .header("content-type", "text/plain")
            .body(Full::new(Bytes::from_static(b"ok\n")))
            .unwrap_or_default();
    }
    // SNS links (SubscribeURL, UnsubscribeURL, SigningCertURL) are followed without
    // signatures, as on AWS.
    if parts.method == http::Method::GET
        && !parts.headers.contains_key("authorization")
        && !parts.uri.query().unwrap_or("").contains("X-Amz-Credential")
        && let Some(sns) = &state.sns
        && let Some(r) = sns
            .public_get(parts.uri.path(), parts.uri.query().unwrap_or(""))
            .await
    {
        return Response::builder()
            .status(r.status)
            .header("content-type", r.content_type)
            .body(Full::new(Bytes::from(r.body)))
            .unwrap_or_default();
    }
    let (body, too_large) = match Limited::new(body, max_body).collect().await {
        Ok(c) => (c.to_bytes(), false),
        Err(_) => (Bytes::new(), true),
    };
    let inc = pipeline::Incoming {
        method: &parts.method,
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
        body: &body,
        source_ip: peer.ip().to_string(),
        tls,
        body_too_large: too_large,
    };
    let out = pipeline::handle(&state, inc).await;
    let mut resp = Response::builder()
        .status(out.status)
        .header("content-type", out.content_type.as_ref());
    for (k, v) in &out.headers {
        resp = resp.header(k.as_ref(), v.as_str());
    }
    resp.body(Full::new(Bytes::from(out.body)))
        .unwrap_or_default()
}
