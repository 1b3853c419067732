//! `sightline logs tail` and `sightline logs query`: CloudWatch Logs from the terminal,
//! through the same API the aws CLI uses (FilterLogEvents; StartQuery and
//! GetQueryResults), so what they show is what any client sees.

use crate::client::{Connection, Profile, call};
use crate::query::{Format, render};
use anyhow::{Result, bail};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::io::Write;
use std::time::Duration;

#[derive(clap::Args)]
pub struct TailArgs {
    /// The log group.
    pub group: String,
    /// Keep printing new events as they arrive (until interrupted).
    #[arg(long)]
    pub follow: bool,
    /// Only events matching this filter pattern.
    #[arg(long)]
    pub filter: Option<String>,
    /// How far back to start: `10m`, `2h`, `30s`, `1d`.
    #[arg(long, default_value = "10m", value_parser = parse_age)]
    pub since: Duration,
    #[command(flatten)]
    pub connection: Connection,
}

#[derive(clap::Args)]
pub struct QueryArgs {
    /// The log group (repeat the flag for several groups).
    #[arg(long = "group", required = true)]
    pub groups: Vec<String>,
    /// The Logs Insights query.
    pub query: String,
    /// The time range ends now and starts this far back: `1h`, `15m`, `7d`.
    #[arg(long, default_value = "1h", value_parser = parse_age)]
    pub since: Duration,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    #[command(flatten)]
    pub connection: Connection,
}

/// `30s`, `10m`, `2h`, `1d` (a bare number is seconds).
fn parse_age(s: &str) -> std::result::Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not an age such as 30s, 10m, 2h or 1d"))?;
    let k = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        other => return Err(format!("unknown unit {other:?}: use s, m, h, d or w")),
    };
    Ok(Duration::from_secs(n.saturating_mul(k)))
}

async fn logs_call(profile: &Profile, op: &str, body: &Value) -> Result<Value> {
    call(profile, "logs", "Logs_20140328", op, body).await
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn print_event(out: &mut impl Write, e: &Value) -> std::io::Result<()> {
    let ts = e["timestamp"].as_i64().unwrap_or(0);
    let when = chrono::DateTime::from_timestamp_millis(ts)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default();
    let stream = e["logStreamName"].as_str().unwrap_or("");
    let message = e["message"].as_str().unwrap_or("");
    writeln!(out, "{when} {stream} {}", message.trim_end_matches('\n'))
}

pub async fn tail(profile: Profile, a: TailArgs) -> Result<()> {
    let since = i64::try_from(a.since.as_millis()).unwrap_or(i64::MAX);
    let mut start = now_ms().saturating_sub(since);
    // Events already printed at the latest timestamp seen: the next poll starts at
    // that timestamp again, since later events may share it.
    let mut seen_at_start: HashSet<String> = HashSet::new();
    let stdout = std::io::stdout();
    loop {
        let mut token: Option<String> = None;
        let mut latest = start;
        let mut seen_latest: HashSet<String> = HashSet::new();
        loop {
            let mut body = json!({ "logGroupName": a.group, "startTime": start });
            if let Some(f) = &a.filter {
                body["filterPattern"] = json!(f);
            }
            if let Some(t) = &token {
                body["nextToken"] = json!(t);
            }
            let page = logs_call(&profile, "FilterLogEvents", &body).await?;
            let mut out = stdout.lock();
            for e in page["events"].as_array().into_iter().flatten() {
                let id = e["eventId"].as_str().unwrap_or("").to_owned();
                let ts = e["timestamp"].as_i64().unwrap_or(0);
                if ts == start && seen_at_start.contains(&id) {
                    continue;
                }
                print_event(&mut out, e)?;
                if ts > latest {
                    latest = ts;
                    seen_latest.clear();
                }
                if ts == latest {
                    seen_latest.insert(id);
                }
            }
            out.flush()?;
            token = page["nextToken"].as_str().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        if !a.follow {
            return Ok(());
        }
        if latest > start {
            start = latest;
            seen_at_start = seen_latest;
        } else {
            seen_at_start.extend(seen_latest);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

pub async fn query(profile: Profile, a: QueryArgs) -> Result<()> {
    let end = chrono::Utc::now().timestamp();
    let span = i64::try_from(a.since.as_secs()).unwrap_or(i64::MAX);
    let started = logs_call(
        &profile,
        "StartQuery",
        &json!({
            "logGroupNames": a.groups,
            "startTime": end.saturating_sub(span),
            "endTime": end,
            "queryString": a.query,
        }),
    )
    .await?;
    let Some(id) = started["queryId"].as_str() else {
        bail!("StartQuery answered without a queryId");
    };
    let mut wait = Duration::from_millis(50);
    let results = loop {
        let r = logs_call(&profile, "GetQueryResults", &json!({ "queryId": id })).await?;
        match r["status"].as_str() {
            Some("Complete") => break r,
            Some("Scheduled" | "Running") => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(1));
            }
            Some(other) => bail!("query {id} ended {other}"),
            None => bail!("GetQueryResults answered without a status"),
        }
    };
    let mut columns: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    for r in results["results"].as_array().into_iter().flatten() {
        let mut row = serde_json::Map::new();
        for cell in r.as_array().into_iter().flatten() {
            let (Some(f), Some(v)) = (cell["field"].as_str(), cell["value"].as_str()) else {
                continue;
            };
            // @ptr is for GetLogRecord, not for people.
            if f == "@ptr" {
                continue;
            }
            if !columns.iter().any(|c| c == f) {
                columns.push(f.to_owned());
            }
            row.insert(f.to_owned(), json!(v));
        }
        rows.push(row);
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    render(&mut out, a.format, &columns, &rows)?;
    if matches!(a.format, Format::Table) {
        let s = &results["statistics"];
        writeln!(
            out,
            "{} records matched, {} scanned, {} bytes scanned",
            s["recordsMatched"].as_f64().unwrap_or(0.0),
            s["recordsScanned"].as_f64().unwrap_or(0.0),
            s["bytesScanned"].as_f64().unwrap_or(0.0)
        )?;
    }
    Ok(())
}

#[derive(clap::Subcommand)]
pub enum TokenCommand {
    /// Create a token (printed once) for agents pushing OTLP logs or metrics or
    /// Prometheus remote-write: `Authorization: Bearer <token>`.
    Create {
        #[arg(long, default_value = "")]
        description: String,
        #[command(flatten)]
        connection: Connection,
    },
    /// List the account's tokens (without their secrets).
    List {
        #[command(flatten)]
        connection: Connection,
    },
    /// Delete a token; agents using it are refused from then on.
    Delete {
        token_id: String,
        #[command(flatten)]
        connection: Connection,
    },
}

async fn sightline_call(profile: &Profile, op: &str, body: &Value) -> Result<Value> {
    call(profile, "sightline", "Sightline_20261126", op, body).await
}

impl TokenCommand {
    pub fn connection(&self) -> &Connection {
        match self {
            TokenCommand::Create { connection, .. }
            | TokenCommand::List { connection }
            | TokenCommand::Delete { connection, .. } => connection,
        }
    }
}

pub async fn token(profile: Profile, c: TokenCommand) -> Result<()> {
    let stdout = std::io::stdout();
    match c {
        TokenCommand::Create { description, .. } => {
            let r = sightline_call(
                &profile,
                "CreateIngestToken",
                &json!({ "Description": description }),
            )
            .await?;
            let mut out = stdout.lock();
            writeln!(out, "{}", r["Token"].as_str().unwrap_or(""))?;
        }
        TokenCommand::List { .. } => {
            let r = sightline_call(&profile, "ListIngestTokens", &json!({})).await?;
            let columns: Vec<String> = ["TokenId", "Description", "CreatedBy", "Region"]
                .iter()
                .map(|s| (*s).to_owned())
                .collect();
            let rows: Vec<serde_json::Map<String, Value>> = r["Tokens"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t.as_object().cloned())
                .collect();
            let mut out = stdout.lock();
            render(&mut out, Format::Table, &columns, &rows)?;
        }
        TokenCommand::Delete { token_id, .. } => {
            sightline_call(
                &profile,
                "DeleteIngestToken",
                &json!({ "TokenId": token_id }),
            )
            .await?;
        }
    }
    Ok(())
}
