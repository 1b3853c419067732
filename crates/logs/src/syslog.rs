//! Syslog input: RFC 5424 and RFC 3164 messages over UDP (one message per datagram) and
//! TCP (octet counting, or one message per line), from the source networks a listener
//! allows, into the log group it names. Each sending host gets its own stream (the
//! message's HOSTNAME, else the peer address); the event's time is the message's own
//! timestamp when it has one. Groups and streams are created on first use, as the
//! CloudWatch agent does.
//!
//! Listeners are given on the server's command line:
//! `udp://0.0.0.0:5514?group=/syslog/hosts&allow=10.0.0.0/8,127.0.0.1/32`
//! (also `account=` and `region=`; the default is the management account in us-east-1).

use crate::engine::{Logs, NewGroup};
use crate::ingest::InputEvent;
use crate::{Error, Result};
use chrono::{DateTime, Datelike, NaiveDateTime, TimeZone, Utc};
use ipnet::IpNet;
use sightline_core::Scope;
use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::sync::mpsc;

/// Events gathered before a write, at most; and how long one may wait.
const BATCH_EVENTS: usize = 2_000;
const BATCH_WAIT: std::time::Duration = std::time::Duration::from_millis(200);
/// Longest message taken (RFC 5424 asks receivers for at least 2 KiB; TCP may carry more).
const MAX_MESSAGE: usize = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// One configured listener.
#[derive(Debug, Clone, PartialEq)]
pub struct SyslogInput {
    pub transport: Transport,
    pub addr: SocketAddr,
    pub group: String,
    /// Source networks accepted; messages from elsewhere are dropped.
    pub allow: Vec<IpNet>,
    pub account: Option<String>,
    pub region: String,
}

impl std::str::FromStr for SyslogInput {
    type Err = Error;

    fn from_str(s: &str) -> Result<SyslogInput> {
        let bad = |why: &str| Error::InvalidParameter(format!("syslog listener '{s}': {why}"));
        let (transport, rest) = if let Some(r) = s.strip_prefix("udp://") {
            (Transport::Udp, r)
        } else if let Some(r) = s.strip_prefix("tcp://") {
            (Transport::Tcp, r)
        } else {
            return Err(bad("starts with udp:// or tcp://"));
        };
        let (addr, query) = rest.split_once('?').unwrap_or((rest, ""));
        let addr: SocketAddr = addr
            .parse()
            .map_err(|_| bad("needs an address such as 0.0.0.0:5514"))?;
        let mut input = SyslogInput {
            transport,
            addr,
            group: String::new(),
            allow: Vec::new(),
            account: None,
            region: "us-east-1".to_owned(),
        };
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "group" => input.group = v.into_owned(),
                "allow" => {
                    for net in v.split(',').filter(|n| !n.is_empty()) {
                        let parsed = net
                            .parse::<IpNet>()
                            .or_else(|_| net.parse::<IpAddr>().map(IpNet::from))
                            .map_err(|_| bad(&format!("'{net}' is not a network")))?;
                        input.allow.push(parsed);
                    }
                }
                "account" => input.account = Some(v.into_owned()),
                "region" => input.region = v.into_owned(),
                other => return Err(bad(&format!("unknown setting '{other}'"))),
            }
        }
        crate::names::group(&input.group, "group").map_err(|_| bad("needs group=NAME"))?;
        if input.allow.is_empty() {
            return Err(bad(
                "needs allow=CIDR[,CIDR…]: the source networks to accept",
            ));
        }
        Ok(input)
    }
}

/// What a syslog message says about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Header<'a> {
    pub timestamp_ms: Option<i64>,
    pub hostname: Option<&'a str>,
}

/// Reads the header of an RFC 5424 or RFC 3164 message; `now` dates RFC 3164
/// timestamps, which carry no year (the year that puts them nearest to now).
pub fn parse_header(message: &str, now: DateTime<Utc>) -> Header<'_> {
    let none = Header {
        timestamp_ms: None,
        hostname: None,
    };
    let Some(rest) = message.strip_prefix('<') else {
        return none;
    };
    let Some(end) = rest.find('>').filter(|&e| (1..=3).contains(&e)) else {
        return none;
    };
    if !rest[..end].bytes().all(|b| b.is_ascii_digit()) {
        return none;
    }
    let rest = &rest[end + 1..];
    // RFC 5424: VERSION SP TIMESTAMP SP HOSTNAME …
    if let Some(after) = rest.strip_prefix("1 ") {
        let mut parts = after.splitn(3, ' ');
        let ts = parts.next().unwrap_or("-");
        let host = parts.next().unwrap_or("-");
        return Header {
            timestamp_ms: DateTime::parse_from_rfc3339(ts)
                .ok()
                .map(|t| t.with_timezone(&Utc).timestamp_millis()),
            hostname: (host != "-" && !host.is_empty()).then_some(host),
        };
    }
    // RFC 3164: "Mmm dd hh:mm:ss HOSTNAME TAG: MSG" (day padded with a space).
    if rest.len() >= 16 && rest.is_char_boundary(15) {
        let stamp = &rest[..15];
        let after = rest[15..].trim_start();
        let year = now.year();
        let at = |y: i32| {
            NaiveDateTime::parse_from_str(&format!("{y} {stamp}"), "%Y %b %e %H:%M:%S")
                .ok()
                .map(|t| Utc.from_utc_datetime(&t))
        };
        if let Some(mut t) = at(year) {
            if t > now + chrono::Duration::days(1) {
                t = at(year - 1).unwrap_or(t);
            }
            let host = after.split(' ').next().filter(|h| !h.is_empty());
            return Header {
                timestamp_ms: Some(t.timestamp_millis()),
                hostname: host,
            };
        }
    }
    none
}

/// A stream name from a host name: streams may not contain `:` or `*`.
fn stream_name(host: Option<&str>, peer: IpAddr) -> String {
    let name: String = match host {
        Some(h) => h.chars().take(512).collect(),
        None => peer.to_string(),
    };
    name.replace([':', '*'], "_")
}

struct Received {
    stream: String,
    event: InputEvent,
}

impl Logs {
    /// Binds the listener now (so a bad address fails the start) and serves it until
    /// shutdown.
    pub async fn spawn_syslog(
        self: &Arc<Self>,
        input: SyslogInput,
        default_account: &str,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Result<tokio::task::JoinHandle<()>> {
        let scope = Scope::new(
            input
                .account
                .clone()
                .unwrap_or_else(|| default_account.to_owned()),
            input.region.clone(),
        );
        let (tx, rx) = mpsc::channel::<Received>(BATCH_EVENTS * 4);
        let writer = tokio::spawn(write_loop(self.clone(), scope, input.group.clone(), rx));
        let allow = Arc::new(input.allow.clone());
        let io = |e: std::io::Error| Error::InvalidParameter(format!("syslog {}: {e}", input.addr));
        let listener = match input.transport {
            Transport::Udp => {
                let socket = tokio::net::UdpSocket::bind(input.addr).await.map_err(io)?;
                tokio::spawn(udp_loop(socket, allow, tx, shutdown))
            }
            Transport::Tcp => {
                let socket = tokio::net::TcpListener::bind(input.addr)
                    .await
                    .map_err(io)?;
                tokio::spawn(tcp_loop(socket, allow, tx, shutdown))
            }
        };
        tracing::info!(transport = ?input.transport, addr = %input.addr, group = %input.group, "syslog listener started");
        Ok(tokio::spawn(async move {
            let _ = listener.await;
            let _ = writer.await;
        }))
    }
}

fn allowed(allow: &[IpNet], ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    allow.iter().any(|n| n.contains(&ip))
}

fn received(message: &str, peer: IpAddr) -> Option<Received> {
    let message = message.trim_end_matches(['\r', '\n', '\0']);
    if message.is_empty() {
        return None;
    }
    let now = Utc::now();
    let header = parse_header(message, now);
    Some(Received {
        stream: stream_name(header.hostname, peer),
        event: InputEvent {
            timestamp: header
                .timestamp_ms
                .unwrap_or_else(|| now.timestamp_millis()),
            message: message.to_owned(),
        },
    })
}

async fn udp_loop(
    socket: tokio::net::UdpSocket,
    allow: Arc<Vec<IpNet>>,
    tx: mpsc::Sender<Received>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 65_536];
    loop {
        let (n, peer) = tokio::select! {
            r = socket.recv_from(&mut buf) => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "syslog receive failed");
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        if !allowed(&allow, peer.ip()) {
            tracing::debug!(peer = %peer, "syslog datagram from a network not allowed");
            continue;
        }
        let text = String::from_utf8_lossy(&buf[..n]);
        if let Some(r) = received(&text, peer.ip())
            && tx.send(r).await.is_err()
        {
            return;
        }
    }
}

async fn tcp_loop(
    socket: tokio::net::TcpListener,
    allow: Arc<Vec<IpNet>>,
    tx: mpsc::Sender<Received>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let (stream, peer) = tokio::select! {
            r = socket.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "syslog accept failed");
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        if !allowed(&allow, peer.ip()) {
            tracing::debug!(peer = %peer, "syslog connection from a network not allowed");
            continue;
        }
        let tx = tx.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(tcp_connection(stream, peer.ip(), tx, shutdown));
    }
}

/// One TCP sender: each frame is either `LEN SP MSG` (octet counting, RFC 6587) or
/// a line.
async fn tcp_connection(
    stream: tokio::net::TcpStream,
    peer: IpAddr,
    tx: mpsc::Sender<Received>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut reader = BufReader::new(stream);
    loop {
        let frame = tokio::select! {
            f = read_frame(&mut reader) => f,
            _ = shutdown.changed() => return,
        };
        let Ok(Some(bytes)) = frame else {
            return;
        };
        let text = String::from_utf8_lossy(&bytes);
        if let Some(r) = received(&text, peer)
            && tx.send(r).await.is_err()
        {
            return;
        }
    }
}

async fn read_frame<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
) -> std::io::Result<Option<Vec<u8>>> {
    let first = match reader.fill_buf().await?.first() {
        Some(b) => *b,
        None => return Ok(None),
    };
    // Both reads are bounded, so a sender cannot make a frame grow without end.
    if first.is_ascii_digit() {
        let mut len = Vec::new();
        (&mut *reader).take(12).read_until(b' ', &mut len).await?;
        let n: usize = std::str::from_utf8(&len)
            .ok()
            .and_then(|s| s.trim_end().parse().ok())
            .filter(|&n| n <= MAX_MESSAGE)
            .ok_or_else(|| std::io::Error::other("bad octet count"))?;
        let mut msg = vec![0u8; n];
        reader.read_exact(&mut msg).await?;
        return Ok(Some(msg));
    }
    let mut line = Vec::new();
    let cap = MAX_MESSAGE as u64 + 1;
    let n = (&mut *reader)
        .take(cap)
        .read_until(b'\n', &mut line)
        .await?;
    if n == 0 {
        return Ok(None);
    }
    if n as u64 == cap && line.last() != Some(&b'\n') {
        return Err(std::io::Error::other(
            "syslog line longer than the largest message",
        ));
    }
    Ok(Some(line))
}

/// Gathers received messages and writes them per stream, creating the group and
/// streams on first use.
async fn write_loop(
    logs: Arc<Logs>,
    scope: Scope,
    group: String,
    mut rx: mpsc::Receiver<Received>,
) {
    let mut known: HashSet<String> = HashSet::new();
    let mut created_group = false;
    loop {
        let Some(first) = rx.recv().await else {
            return;
        };
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + BATCH_WAIT;
        while batch.len() < BATCH_EVENTS {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(r)) => batch.push(r),
                Ok(None) | Err(_) => break,
            }
        }
        let mut by_stream: BTreeMap<String, Vec<InputEvent>> = BTreeMap::new();
        for r in batch {
            by_stream.entry(r.stream).or_default().push(r.event);
        }
        if !created_group {
            match logs
                .create_group(
                    &scope,
                    NewGroup {
                        name: group.clone(),
                        kms_key_id: None,
                        tags: BTreeMap::new(),
                        class: None,
                        deletion_protection: false,
                    },
                )
                .await
            {
                Ok(()) | Err(Error::ResourceAlreadyExists(_)) => created_group = true,
                Err(e) => {
                    tracing::warn!(group = %group, error = %e, "syslog group could not be created");
                    continue;
                }
            }
        }
        for (stream, mut events) in by_stream {
            if !known.contains(&stream) {
                match logs.create_stream(&scope, &group, &stream) {
                    Ok(()) | Err(Error::ResourceAlreadyExists(_)) => {
                        known.insert(stream.clone());
                    }
                    Err(e) => {
                        tracing::warn!(stream = %stream, error = %e, "syslog stream could not be created");
                        continue;
                    }
                }
            }
            events.sort_by_key(|e| e.timestamp);
            // A batch may span at most a day; old stragglers go in their own writes.
            for chunk in split_by_day(events) {
                if let Err(e) = logs
                    .put_events(&scope, &group, &stream, &chunk.into())
                    .await
                {
                    tracing::warn!(stream = %stream, error = %e, "syslog events not stored");
                    if matches!(e, Error::ResourceNotFound(_)) {
                        known.remove(&stream);
                        created_group = false;
                    }
                }
            }
        }
    }
}

fn split_by_day(events: Vec<InputEvent>) -> Vec<Vec<InputEvent>> {
    let mut out: Vec<Vec<InputEvent>> = Vec::new();
    for e in events {
        match out.last_mut() {
            Some(cur)
                if cur
                    .first()
                    .is_some_and(|f| e.timestamp - f.timestamp <= 86_400_000)
                    && cur.len() < 10_000 =>
            {
                cur.push(e)
            }
            _ => out.push(vec![e]),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
    }

    #[test]
    fn rfc5424_header() {
        let h = parse_header(
            "<34>1 2026-11-27T10:22:33.123Z web-1 sshd 42 ID47 - Failed password",
            now(),
        );
        assert_eq!(h.hostname, Some("web-1"));
        assert_eq!(
            h.timestamp_ms,
            Some(
                Utc.with_ymd_and_hms(2026, 11, 27, 10, 22, 33)
                    .unwrap()
                    .timestamp_millis()
                    + 123
            )
        );
        let nil = parse_header("<34>1 - - - - - - no header", now());
        assert_eq!(
            nil,
            Header {
                timestamp_ms: None,
                hostname: None
            }
        );
    }

    #[test]
    fn rfc3164_header_takes_the_nearest_year() {
        let h = parse_header("<13>Nov  7 08:09:10 db-2 cron[1]: job done", now());
        assert_eq!(h.hostname, Some("db-2"));
        assert_eq!(
            h.timestamp_ms,
            Some(
                Utc.with_ymd_and_hms(2026, 11, 7, 8, 9, 10)
                    .unwrap()
                    .timestamp_millis()
            )
        );
        let december = parse_header("<13>Dec 31 23:59:59 h x: y", now());
        assert_eq!(
            december.timestamp_ms,
            Some(
                Utc.with_ymd_and_hms(2025, 12, 31, 23, 59, 59)
                    .unwrap()
                    .timestamp_millis()
            )
        );
    }

    #[test]
    fn not_syslog_is_kept_without_a_header() {
        assert_eq!(parse_header("plain text", now()).hostname, None);
        assert_eq!(parse_header("<999999>x", now()).timestamp_ms, None);
    }

    #[tokio::test]
    async fn frames_are_bounded() {
        let mut ok = BufReader::new(&b"5 <1>ab<1>line\n"[..]);
        assert_eq!(read_frame(&mut ok).await.unwrap(), Some(b"<1>ab".to_vec()));
        assert_eq!(
            read_frame(&mut ok).await.unwrap(),
            Some(b"<1>line\n".to_vec())
        );
        assert_eq!(read_frame(&mut ok).await.unwrap(), None);
        let digits = vec![b'9'; 1 << 20];
        assert!(read_frame(&mut BufReader::new(&digits[..])).await.is_err());
        let long = vec![b'x'; MAX_MESSAGE + 10];
        assert!(read_frame(&mut BufReader::new(&long[..])).await.is_err());
    }

    #[test]
    fn listener_specs() {
        let s: SyslogInput = "udp://127.0.0.1:5514?group=/syslog/a&allow=10.0.0.0/8,127.0.0.1"
            .parse()
            .unwrap();
        assert_eq!(s.transport, Transport::Udp);
        assert_eq!(s.group, "/syslog/a");
        assert_eq!(s.allow.len(), 2);
        assert!(allowed(&s.allow, "127.0.0.1".parse().unwrap()));
        assert!(!allowed(&s.allow, "192.168.1.1".parse().unwrap()));
        assert!("tcp://127.0.0.1:1?group=g".parse::<SyslogInput>().is_err());
        assert!(
            "http://x?group=g&allow=1.2.3.4"
                .parse::<SyslogInput>()
                .is_err()
        );
        assert!(
            "tcp://127.0.0.1:1?group=bad group&allow=1.2.3.4"
                .parse::<SyslogInput>()
                .is_err()
        );
    }
}
