//! Finds the endpoint, region and credentials the way the AWS CLI does, and makes one
//! signed awsJson call.

use anyhow::{Context, Result, anyhow, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use sightline_wire::sigv4::{self, Credential};
use std::collections::HashMap;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Profile {
    pub endpoint: String,
    pub region: String,
    pub access_key_id: String,
    pub secret: String,
    pub session_token: Option<String>,
}

/// Sections of an INI file (AWS shared credentials/config format).
fn read_ini(path: &PathBuf) -> HashMap<String, HashMap<String, String>> {
    let mut out: HashMap<String, HashMap<String, String>> = HashMap::new();
    let Ok(text) = std::fs::read_to_string(path) else {
        return out;
    };
    let mut section = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = s.trim().to_owned();
        } else if let Some((k, v)) = line.split_once('=') {
            out.entry(section.clone())
                .or_default()
                .insert(k.trim().to_owned(), v.trim().to_owned());
        }
    }
    out
}

fn home_file(var: &str, rel: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(rel),
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Profile {
    /// Flags first, then the `AWS_*` variables, then the shared files.
    pub fn discover(
        endpoint: Option<String>,
        profile: Option<String>,
        region: Option<String>,
    ) -> Result<Profile> {
        // As in the aws CLI, an explicit --profile wins over key variables.
        let explicit_profile = profile.is_some();
        let name = profile
            .or_else(|| env("AWS_PROFILE"))
            .unwrap_or_else(|| "default".into());
        let endpoint = endpoint
            .or_else(|| env("AWS_ENDPOINT_URL"))
            .unwrap_or_else(|| "http://127.0.0.1:4566".into());
        let config = read_ini(&home_file("AWS_CONFIG_FILE", ".aws/config"));
        let config_section = if name == "default" {
            "default".to_owned()
        } else {
            format!("profile {name}")
        };
        let region = region
            .or_else(|| env("AWS_REGION"))
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .or_else(|| {
                config
                    .get(&config_section)
                    .and_then(|s| s.get("region"))
                    .cloned()
            })
            .unwrap_or_else(|| "us-east-1".into());
        let env_keys = if explicit_profile {
            (None, None)
        } else {
            (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"))
        };
        let (access_key_id, secret, session_token) = match env_keys {
            (Some(k), Some(s)) => (k, s, env("AWS_SESSION_TOKEN")),
            _ => {
                let creds = read_ini(&home_file(
                    "AWS_SHARED_CREDENTIALS_FILE",
                    ".aws/credentials",
                ));
                let section = creds
                    .get(&name)
                    .or_else(|| config.get(&config_section))
                    .ok_or_else(|| anyhow!("no credentials for profile '{name}' (set AWS_ACCESS_KEY_ID or AWS_SHARED_CREDENTIALS_FILE)"))?;
                let get = |k: &str| section.get(k).cloned();
                (
                    get("aws_access_key_id")
                        .context("aws_access_key_id missing from the credentials file")?,
                    get("aws_secret_access_key")
                        .context("aws_secret_access_key missing from the credentials file")?,
                    get("aws_session_token"),
                )
            }
        };
        Ok(Profile {
            endpoint,
            region,
            access_key_id,
            secret,
            session_token,
        })
    }
}

/// The result of a call: the HTTP status and the parsed JSON body.
/// Where to reach the server and as whom, for every command that talks to it.
#[derive(clap::Args, Debug, Clone)]
pub struct Connection {
    /// Server URL (default: AWS_ENDPOINT_URL, then http://127.0.0.1:4566).
    #[arg(long)]
    pub endpoint_url: Option<String>,
    /// Profile in the shared credentials and config files (default: AWS_PROFILE, then default).
    #[arg(long)]
    pub profile: Option<String>,
    #[arg(long)]
    pub region: Option<String>,
}

impl Connection {
    pub fn profile(&self) -> Result<Profile> {
        Profile::discover(
            self.endpoint_url.clone(),
            self.profile.clone(),
            self.region.clone(),
        )
    }
}

/// One awsJson1_1 operation that must succeed: its answer, or the AWS error the way the
/// aws CLI prints it.
pub async fn call(
    p: &Profile,
    service: &str,
    target_prefix: &str,
    op: &str,
    body: &serde_json::Value,
) -> Result<serde_json::Value> {
    let answer = call_json(p, service, &format!("{target_prefix}.{op}"), body).await?;
    if answer.status != 200 {
        let code = answer.body["__type"].as_str().unwrap_or("Error");
        let code = code.rsplit('#').next().unwrap_or(code);
        let message = answer.body["message"]
            .as_str()
            .or(answer.body["Message"].as_str())
            .unwrap_or("");
        bail!("An error occurred ({code}) when calling the {op} operation: {message}");
    }
    Ok(answer.body)
}

pub struct Answer {
    pub status: u16,
    pub body: serde_json::Value,
}

/// Where a request goes: host for the connection and the `Host` header value.
struct Target {
    host: String,
    port: u16,
    authority: String,
}

fn target(p: &Profile) -> Result<Target> {
    let url: http::Uri = p
        .endpoint
        .parse()
        .with_context(|| format!("invalid endpoint URL '{}'", p.endpoint))?;
    if url.scheme_str() == Some("https") {
        bail!("https endpoints are not supported by this client yet; use http on loopback");
    }
    let host = url.host().context("endpoint URL has no host")?.to_owned();
    let port = url.port_u16().unwrap_or(80);
    let authority = match url.port_u16() {
        Some(port) => format!("{host}:{port}"),
        None => host.clone(),
    };
    Ok(Target {
        host,
        port,
        authority,
    })
}

/// A request before signing.
struct Outgoing<'a> {
    method: http::Method,
    path: &'a str,
    query: &'a str,
    headers: http::HeaderMap,
    payload: Vec<u8>,
}

/// Signs the request with SigV4 for `service` and sends it, on an idle connection to
/// the same server when there is one.
async fn send(
    p: &Profile,
    t: &Target,
    service: &str,
    o: Outgoing<'_>,
) -> Result<(u16, http::HeaderMap, Bytes)> {
    let Outgoing {
        method,
        path,
        query,
        mut headers,
        payload,
    } = o;
    if let Some(tok) = &p.session_token {
        headers.insert("x-amz-security-token", tok.parse()?);
    }
    let now = chrono::Utc::now();
    let cred = Credential {
        access_key_id: p.access_key_id.clone(),
        date: now.format("%Y%m%d").to_string(),
        region: p.region.clone(),
        service: service.to_owned(),
    };
    sigv4::sign(
        &method,
        path,
        query,
        &mut headers,
        &payload,
        &cred,
        &p.secret,
        now,
    );
    let uri = if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    };
    let payload = Bytes::from(payload);
    let request = || {
        let mut req = http::Request::builder().method(method.clone()).uri(&uri);
        for (k, v) in headers.iter() {
            req = req.header(k, v);
        }
        req.body(Full::new(payload.clone()))
    };
    let (sender, resp) = loop {
        let (mut sender, reused) = match idle_connection(t).await {
            Some(sender) => (sender, true),
            None => {
                let stream = tokio::net::TcpStream::connect((t.host.as_str(), t.port))
                    .await
                    .with_context(|| format!("cannot reach {}", p.endpoint))?;
                let (sender, conn) =
                    hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                        .await?;
                tokio::spawn(conn);
                (sender, false)
            }
        };
        match sender.send_request(request()?).await {
            Ok(resp) => break (sender, resp),
            // The server closed an idle connection before the request went out: it
            // never saw the request, so it goes again on a new connection.
            Err(e) if reused && e.is_canceled() => continue,
            Err(e) => return Err(e.into()),
        }
    };
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await?.to_bytes();
    IDLE.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(((t.host.clone(), t.port), sender));
    Ok((status, headers, bytes))
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// Connections whose last exchange is over, for the next request to the same server:
/// a new connection costs a round trip before the request can go, which is most of a
/// small request's time when the server is far away (`trail verify` fetches hundreds of
/// small files).
static IDLE: std::sync::Mutex<Vec<((String, u16), Sender)>> = std::sync::Mutex::new(Vec::new());

/// An idle connection to `t` that can take a request now, if any.
async fn idle_connection(t: &Target) -> Option<Sender> {
    loop {
        let mut sender = {
            let mut idle = IDLE.lock().unwrap_or_else(|e| e.into_inner());
            let i = idle
                .iter()
                .rposition(|(k, _)| k.0 == t.host && k.1 == t.port)?;
            idle.swap_remove(i).1
        };
        // A connection the server closed meanwhile is dropped for the next one.
        if sender.ready().await.is_ok() {
            return Some(sender);
        }
    }
}

/// POSTs one awsJson1_1 operation, signed with SigV4 for `service`.
pub async fn call_json(
    p: &Profile,
    service: &str,
    target_header: &str,
    body: &serde_json::Value,
) -> Result<Answer> {
    let t = target(p)?;
    let mut headers = http::HeaderMap::new();
    headers.insert("host", t.authority.parse()?);
    headers.insert("content-type", "application/x-amz-json-1.1".parse()?);
    headers.insert("x-amz-target", target_header.parse()?);
    headers.insert(
        "user-agent",
        concat!("sightline-cli/", env!("CARGO_PKG_VERSION")).parse()?,
    );
    let payload = serde_json::to_vec(body)?;
    let out = Outgoing {
        method: http::Method::POST,
        path: "/",
        query: "",
        headers,
        payload,
    };
    let (status, _, bytes) = send(p, &t, service, out).await?;
    let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    Ok(Answer { status, body })
}

/// A signed GET (S3 reads), answered with status, headers and body.
pub async fn get(
    p: &Profile,
    service: &str,
    path: &str,
    query: &str,
) -> Result<(u16, http::HeaderMap, Bytes)> {
    let t = target(p)?;
    let mut headers = http::HeaderMap::new();
    headers.insert("host", t.authority.parse()?);
    // The hash of the empty body, which S3 wants stated.
    headers.insert(
        "x-amz-content-sha256",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".parse()?,
    );
    let out = Outgoing {
        method: http::Method::GET,
        path,
        query,
        headers,
        payload: Vec::new(),
    };
    send(p, &t, service, out).await
}
