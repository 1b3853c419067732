//! Helpers of the SNS tests: an engine on a temporary directory with short retry
//! delays, a local HTTP endpoint and SMTP sink that report what they receive, signature
//! checks against the served certificate, and Query calls through the service.

use base64::Engine as _;
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use serde_json::Value as Json;
use sightline_core::{Caller, PrincipalKind, Scope, SecretSealer};
use sightline_meta::Meta;
use sightline_sns::api::{SNS, SnsService};
use sightline_sns::publish::{MessageInput, Target};
use sightline_sns::{Config, QueueSender, Sns, Timing};
use sightline_wire::codec::query;
use sightline_wire::{ApiError, CallContext, Service, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

pub const ACCOUNT: &str = "123456789012";
pub const OTHER: &str = "210987654321";
pub const REGION: &str = "us-east-1";

pub fn scope() -> Scope {
    Scope::new(ACCOUNT, REGION)
}

/// Seals by labelling and inverting: enough to show the key is stored sealed and
/// opened with the same label.
pub struct TestSealer;

impl SecretSealer for TestSealer {
    fn seal(&self, label: &str, plain: &[u8]) -> sightline_core::Result<Vec<u8>> {
        let mut out = label.as_bytes().to_vec();
        out.push(0);
        out.extend(plain.iter().map(|b| !b));
        Ok(out)
    }

    fn open(&self, label: &str, sealed: &[u8]) -> sightline_core::Result<Vec<u8>> {
        let head = label.len();
        if sealed.len() <= head || &sealed[..head] != label.as_bytes() || sealed[head] != 0 {
            return Err(sightline_core::Error::Invalid("wrong label".into()));
        }
        Ok(sealed[head + 1..].iter().map(|b| !b).collect())
    }
}

pub struct Env {
    pub sns: Arc<Sns>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

pub fn open(dir: &std::path::Path, smtp: Option<String>, run: bool) -> Env {
    let meta = Arc::new(Meta::open(dir).unwrap());
    let mut config = Config::new("http://sns.test:4566/", smtp);
    config.email_from = "sns@sightline.test".into();
    config.timing = Timing {
        policy_second: Duration::from_millis(10),
        request_timeout: Duration::from_secs(3),
        idle_poll: Duration::from_millis(50),
        max_in_flight: 4,
    };
    let sns = Sns::open(meta, Arc::new(TestSealer), config).unwrap();
    let (stop, rx) = watch::channel(false);
    let task = if run {
        sns.spawn(rx)
    } else {
        tokio::spawn(async {})
    };
    Env { sns, stop, task }
}

impl Env {
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        self.task.await.unwrap();
    }
}

// ------------------------------------------------------------------ HTTP endpoint

#[derive(Debug)]
pub struct Request {
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Request {
    pub fn json(&self) -> Json {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// An HTTP/1.1 endpoint answering each request with the next queued status (200 once
/// the queue is empty) and reporting what it received.
pub async fn endpoint(statuses: &[u16]) -> (String, mpsc::UnboundedReceiver<Request>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    let statuses = Arc::new(Mutex::new(
        statuses.iter().copied().collect::<VecDeque<_>>(),
    ));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (tx, statuses) = (tx.clone(), statuses.clone());
            tokio::spawn(async move {
                let (r, mut w) = stream.into_split();
                let mut r = BufReader::new(r);
                let mut line = String::new();
                if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                let mut headers = HashMap::new();
                loop {
                    let mut h = String::new();
                    r.read_line(&mut h).await.unwrap();
                    let h = h.trim_end();
                    if h.is_empty() {
                        break;
                    }
                    let (k, v) = h.split_once(':').unwrap();
                    headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
                }
                let len: usize = headers
                    .get("content-length")
                    .map_or(0, |v| v.parse().unwrap());
                let mut body = vec![0u8; len];
                r.read_exact(&mut body).await.unwrap();
                let status = statuses.lock().unwrap().pop_front().unwrap_or(200);
                let body = String::from_utf8(body).unwrap();
                let _ = tx.send(Request { headers, body });
                let resp = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                let _ = w.write_all(resp.as_bytes()).await;
            });
        }
    });
    (url, rx)
}

pub async fn next<T>(rx: &mut mpsc::UnboundedReceiver<T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("nothing arrived in time")
        .unwrap()
}

pub async fn nothing<T: std::fmt::Debug>(rx: &mut mpsc::UnboundedReceiver<T>, wait_ms: u64) {
    if let Ok(Some(x)) = tokio::time::timeout(Duration::from_millis(wait_ms), rx.recv()).await {
        panic!("unexpected delivery: {x:?}");
    }
}

pub async fn wait_until(mut f: impl FnMut() -> bool) {
    for _ in 0..200 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("condition not reached");
}

/// GETs `url` through the engine's public handler, as the server routes it.
pub async fn get(sns: &Sns, url: &str) -> (u16, String) {
    let rest = url.strip_prefix("http://sns.test:4566").unwrap();
    let (path, q) = rest.split_once('?').unwrap_or((rest, ""));
    let r = sns.public_get(path, q).await.expect("a public SNS URL");
    (r.status, String::from_utf8(r.body).unwrap())
}

/// Checks a message's signature against the certificate its SigningCertURL serves,
/// over the string SNS documents for its type.
pub async fn verify(sns: &Sns, m: &Json) {
    let field = |k: &str| m[k].as_str().map(str::to_owned);
    let keys: &[&str] = if m["Type"] == "Notification" {
        &[
            "Message",
            "MessageId",
            "Subject",
            "Timestamp",
            "TopicArn",
            "Type",
        ]
    } else {
        &[
            "Message",
            "MessageId",
            "SubscribeURL",
            "Timestamp",
            "Token",
            "TopicArn",
            "Type",
        ]
    };
    let mut text = String::new();
    for k in keys {
        if let Some(v) = field(k) {
            text.push_str(&format!("{k}\n{v}\n"));
        }
    }
    let (status, pem) = get(sns, m["SigningCertURL"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    use x509_cert::der::{DecodePem, Encode};
    let cert = x509_cert::Certificate::from_pem(pem.as_bytes()).unwrap();
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .unwrap();
    let key = rsa::RsaPublicKey::from_public_key_der(&spki).unwrap();
    let sig = base64::engine::general_purpose::STANDARD
        .decode(m["Signature"].as_str().unwrap())
        .unwrap();
    let sig = rsa::pkcs1v15::Signature::try_from(sig.as_slice()).unwrap();
    match m["SignatureVersion"].as_str().unwrap() {
        "1" => rsa::pkcs1v15::VerifyingKey::<sha1::Sha1>::new(key)
            .verify(text.as_bytes(), &sig)
            .expect("SHA1withRSA signature"),
        "2" => rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key)
            .verify(text.as_bytes(), &sig)
            .expect("SHA256withRSA signature"),
        v => panic!("signature version {v}"),
    }
}

pub fn publish(sns: &Sns, topic: &str, message: &str, subject: Option<&str>) -> String {
    let target = Target {
        topic_arn: Some(topic.into()),
        ..Target::default()
    };
    let m = MessageInput {
        message: message.into(),
        subject: subject.map(str::to_owned),
        ..MessageInput::default()
    };
    sns.publish(&scope(), &target, m).unwrap()
}

/// Subscribes `url` and confirms through the SubscribeURL of the request it receives.
pub async fn confirmed_http(
    sns: &Sns,
    topic: &str,
    url: &str,
    rx: &mut mpsc::UnboundedReceiver<Request>,
    attributes: BTreeMap<String, String>,
) -> String {
    sns.subscribe(&scope(), topic, "http", Some(url), attributes, false)
        .unwrap();
    let confirmation = next(rx).await.json();
    assert_eq!(confirmation["Type"], "SubscriptionConfirmation");
    let (status, body) = get(sns, confirmation["SubscribeURL"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let start = body.find("<SubscriptionArn>").unwrap() + "<SubscriptionArn>".len();
    let end = body.find("</SubscriptionArn>").unwrap();
    body[start..end].to_owned()
}

// ------------------------------------------------------------------ email

#[derive(Debug)]
pub struct Mail {
    pub from: String,
    pub to: String,
    pub data: String,
}

impl Mail {
    pub fn header(&self, name: &str) -> &str {
        self.data
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or("")
    }

    pub fn body(&self) -> &str {
        self.data.split_once("\r\n\r\n").map_or("", |(_, b)| b)
    }

    /// The body with its transfer encoding undone.
    pub fn text(&self) -> String {
        if self.header("Content-Transfer-Encoding") == "base64" {
            let b64: String = self.body().split_whitespace().collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap();
            String::from_utf8(bytes).unwrap()
        } else {
            self.body().to_owned()
        }
    }
}

/// An SMTP server that takes every message and reports it.
pub async fn smtp_sink() -> (String, mpsc::UnboundedReceiver<Mail>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let (r, mut w) = stream.into_split();
                let mut r = BufReader::new(r);
                w.write_all(b"220 sink ready\r\n").await.unwrap();
                let (mut from, mut to) = (String::new(), String::new());
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let cmd = line.trim_end().to_owned();
                    let reply: &[u8] = if cmd.starts_with("EHLO") {
                        b"250-sink\r\n250 8BITMIME\r\n"
                    } else if let Some(a) = cmd.strip_prefix("MAIL FROM:") {
                        from = a.trim_matches(['<', '>']).to_owned();
                        b"250 ok\r\n"
                    } else if let Some(a) = cmd.strip_prefix("RCPT TO:") {
                        to = a.trim_matches(['<', '>']).to_owned();
                        b"250 ok\r\n"
                    } else if cmd == "DATA" {
                        w.write_all(b"354 go ahead\r\n").await.unwrap();
                        let mut data = String::new();
                        loop {
                            let mut l = String::new();
                            r.read_line(&mut l).await.unwrap();
                            if l == ".\r\n" {
                                break;
                            }
                            data.push_str(l.strip_prefix('.').unwrap_or(&l));
                        }
                        let _ = tx.send(Mail {
                            from: from.clone(),
                            to: to.clone(),
                            data,
                        });
                        b"250 queued\r\n"
                    } else if cmd == "QUIT" {
                        let _ = w.write_all(b"221 bye\r\n").await;
                        return;
                    } else {
                        b"502 unknown\r\n"
                    };
                    w.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (url, rx)
}

// ------------------------------------------------------------------ queues

pub struct Queues(pub mpsc::UnboundedSender<(String, String)>);

#[async_trait::async_trait]
impl QueueSender for Queues {
    async fn send(&self, queue: &str, _topic: &str, body: &str) -> Result<(), String> {
        let _ = self.0.send((queue.to_owned(), body.to_owned()));
        Ok(())
    }
}

// ------------------------------------------------------------------ API and errors

pub fn ctx() -> CallContext {
    CallContext {
        caller: Caller {
            kind: PrincipalKind::Root,
            account_id: ACCOUNT.into(),
            arn: format!("arn:aws:iam::{ACCOUNT}:root"),
            identity_arn: format!("arn:aws:iam::{ACCOUNT}:root"),
            principal_id: ACCOUNT.into(),
            user_name: None,
            access_key_id: "AKIATEST".into(),
            session: None,
        },
        scope: scope(),
        request_id: "req".into(),
        source_ip: "127.0.0.1".into(),
        user_agent: "test".into(),
        secure_transport: false,
        permissions: Vec::new(),
    }
}

/// Runs a form-encoded Query request through the service.
pub async fn call(service: &SnsService, form: &str) -> Result<Value, ApiError> {
    let (action, input) = query::decode(form.as_bytes(), false).unwrap();
    let op = SNS.operation(&action.unwrap()).unwrap();
    service.call(&ctx(), op, input).await
}

pub fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
