//! PutLogEvents: the batch rules (count, size, order, 24-hour span) refuse a batch
//! whole; events too new, too old or past retention are refused one by one and
//! reported; the rest become durable in the lake before the call returns.

use crate::batch::{EventBatch, Events};
use crate::engine::{Logs, key, not_found_group, not_found_stream, now_ms};
use crate::{Error, Result, names};
use sightline_core::Scope;
use sightline_lake::datasets::logs::{self as dataset, LogEvent};

pub const MAX_BATCH_EVENTS: usize = 10_000;
pub const MAX_BATCH_BYTES: usize = 1_048_576;
/// Bytes AWS counts for each event beside its message.
pub const EVENT_OVERHEAD: usize = 26;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// Events more than two hours ahead are refused.
const MAX_AHEAD_MS: i64 = 2 * HOUR_MS;
/// Events more than fourteen days old are refused.
const MAX_AGE_MS: i64 = 14 * DAY_MS;

/// An event with a message of its own, for inputs that build batches event by event.
#[derive(Debug, Clone)]
pub struct InputEvent {
    pub timestamp: i64,
    pub message: String,
}

/// Which events of a batch were refused, by index, as PutLogEvents reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rejected {
    pub too_new_start: Option<usize>,
    pub too_old_end: Option<usize>,
    pub expired_end: Option<usize>,
}

impl Rejected {
    pub fn any(&self) -> bool {
        self.too_new_start.is_some() || self.too_old_end.is_some() || self.expired_end.is_some()
    }
}

#[derive(Debug, Clone)]
pub struct PutOutcome {
    pub rejected: Rejected,
    pub accepted: usize,
    pub next_token: String,
}

/// The whole-batch rules, checked before anything is stored.
pub fn check_batch(events: Events<'_>) -> Result<()> {
    if events.is_empty() {
        return Err(Error::InvalidParameter(
            "1 validation error detected: Value '[]' at 'logEvents' failed to satisfy constraint: Member must have length greater than or equal to 1".into(),
        ));
    }
    if events.len() > MAX_BATCH_EVENTS {
        return Err(Error::InvalidParameter(format!(
            "1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length less than or equal to {MAX_BATCH_EVENTS}"
        )));
    }
    let mut size = 0usize;
    for (i, e) in events.iter().enumerate() {
        if e.message.is_empty() {
            return Err(Error::InvalidParameter(format!(
                "1 validation error detected: Value '' at 'logEvents.{}.member.message' failed to satisfy constraint: Member must have length greater than or equal to 1",
                i + 1
            )));
        }
        if e.timestamp < 0 {
            return Err(Error::InvalidParameter(format!(
                "1 validation error detected: Value '{}' at 'logEvents.{}.member.timestamp' failed to satisfy constraint: Member must have value greater than or equal to 0",
                e.timestamp,
                i + 1
            )));
        }
        size += e.message.len() + EVENT_OVERHEAD;
    }
    if size > MAX_BATCH_BYTES {
        return Err(Error::InvalidParameter(format!(
            "Upload too large: {size} bytes exceeds limit of {MAX_BATCH_BYTES}"
        )));
    }
    if events
        .iter()
        .zip(events.iter().skip(1))
        .any(|(a, b)| b.timestamp < a.timestamp)
    {
        return Err(Error::InvalidParameter(
            "Log events in a single PutLogEvents request must be in chronological order.".into(),
        ));
    }
    if let (Some(first), Some(last)) = (events.first(), events.last())
        && last.timestamp - first.timestamp > DAY_MS
    {
        return Err(Error::InvalidParameter(
            "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.".into(),
        ));
    }
    Ok(())
}

/// Splits a sorted batch into refused ends and the accepted middle.
pub fn classify(
    events: Events<'_>,
    now: i64,
    retention_days: Option<u32>,
) -> (Rejected, std::ops::Range<usize>) {
    let too_old_before = now - MAX_AGE_MS;
    let expired_before = retention_days.map(|d| now - i64::from(d) * DAY_MS);
    let too_new_after = now + MAX_AHEAD_MS;
    let mut r = Rejected::default();
    // Sorted by time: refused-as-old events form a prefix, too-new ones a suffix.
    let old_end = events.partition_point(|t| t < too_old_before);
    if old_end > 0 {
        r.too_old_end = Some(old_end - 1);
    }
    let mut start = old_end;
    if let Some(exp) = expired_before {
        let exp_end = events.partition_point(|t| t < exp);
        if exp_end > start {
            r.expired_end = Some(exp_end - 1);
            start = exp_end;
        }
    }
    let new_start = events.partition_point(|t| t <= too_new_after);
    if new_start < events.len() {
        r.too_new_start = Some(new_start);
    }
    let end = new_start.max(start);
    (r, start..end)
}

/// The stream a batch went to, in the group incarnation it was checked against.
#[derive(Clone, Copy)]
struct StreamRef<'a> {
    group: &'a str,
    group_id: &'a str,
    stream: &'a str,
}

/// Holds an append's first sequence number in the in-flight set until the append is
/// over, whatever its outcome.
struct Inflight<'a> {
    logs: &'a Logs,
    first: i64,
}

impl<'a> Inflight<'a> {
    /// Reserves `n` sequence numbers and registers them as in flight in one step, so
    /// no reader sees the counter past them before they are registered.
    fn begin(logs: &'a Logs, n: usize) -> (Self, i64) {
        let mut m = logs.inflight.lock();
        let first = logs.next_seq(n);
        *m.entry(first).or_default() += 1;
        (Inflight { logs, first }, first)
    }
}

impl Drop for Inflight<'_> {
    fn drop(&mut self) {
        let mut m = self.logs.inflight.lock();
        if let Some(n) = m.get_mut(&self.first) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.first);
            }
        }
    }
}

/// The sequence token PutLogEvents returns; AWS ignores tokens since 2023, but
/// clients still read it.
fn sequence_token(seq: i64) -> String {
    format!("{:056}", seq.max(0))
}

impl Logs {
    pub async fn put_events(
        &self,
        scope: &Scope,
        group: &str,
        stream: &str,
        batch: &EventBatch,
    ) -> Result<PutOutcome> {
        names::group(group, "logGroupName")?;
        names::stream(stream, "logStreamName")?;
        let events = batch.all();
        check_batch(events)?;
        let (info, filters) = {
            let state = self.state.read();
            let g = state
                .groups
                .get(&key(scope))
                .and_then(|m| m.get(group))
                .ok_or_else(not_found_group)?;
            if !g.streams.contains_key(stream) {
                return Err(not_found_stream());
            }
            let filters: Vec<_> = g.metric_filters.values().cloned().collect();
            (g.info.clone(), filters)
        };
        let group_id = info.id.clone();
        let retention = info.retention_days;
        let sealing = self.write_key(scope, &info).await?;
        let now = now_ms();
        let (rejected, range) = classify(events, now, retention);
        let accepted = events.slice(range);
        let (_inflight, first_seq) = Inflight::begin(self, accepted.len());
        if !accepted.is_empty() {
            let sealed: Option<(String, Vec<String>)> = match &sealing {
                Some((id, key)) => Some((
                    id.to_string(),
                    accepted
                        .iter()
                        .map(|e| {
                            key.seal(e.message).ok_or_else(|| {
                                Error::InvalidParameter("sealing a log event failed".into())
                            })
                        })
                        .collect::<Result<_>>()?,
                )),
                None => None,
            };
            let rows: Vec<LogEvent<'_>> = accepted
                .iter()
                .enumerate()
                .zip(first_seq..)
                .map(|((i, e), seq)| {
                    let (message, key_id) = match &sealed {
                        Some((id, texts)) => (texts[i].as_str(), Some(id.as_str())),
                        None => (e.message, None),
                    };
                    LogEvent {
                        timestamp_ms: e.timestamp,
                        ingestion_ms: now,
                        seq,
                        group_id: &group_id,
                        group,
                        stream,
                        message,
                        key_id,
                    }
                })
                .collect();
            let size_hint = rows
                .iter()
                .map(|r| r.message.len() + r.stream.len() + r.group.len() + 96)
                .sum();
            let data = crate::filters::metric_data(&filters, accepted);
            // The events and the datapoints they yield are durable before the answer;
            // both appends share the lake's group commit.
            let metrics = async {
                if data.is_empty() {
                    Ok(())
                } else {
                    self.metrics
                        .put(scope, data)
                        .await
                        .map_err(|e| Error::Metrics(e.to_string()))
                }
            };
            let events = async {
                self.lake
                    .append_encoded(dataset::NAME, scope, &rows, size_hint)
                    .await
                    .map_err(Error::from)
            };
            tokio::try_join!(events, metrics)?;
            let last_seq = first_seq + accepted.len() as i64 - 1;
            let at = StreamRef {
                group,
                group_id: &group_id,
                stream,
            };
            self.record_ingest(scope, at, accepted, now, last_seq);
        }
        Ok(PutOutcome {
            rejected,
            accepted: accepted.len(),
            next_token: sequence_token(first_seq + accepted.len() as i64),
        })
    }

    /// Updates the stream's statistics after a durable append. A group deleted (or
    /// deleted and created again) meanwhile is left alone.
    fn record_ingest(
        &self,
        scope: &Scope,
        at: StreamRef<'_>,
        events: Events<'_>,
        now: i64,
        last_seq: i64,
    ) {
        let StreamRef {
            group,
            group_id,
            stream,
        } = at;
        let (Some(first), Some(last)) = (events.first(), events.last()) else {
            return;
        };
        let bytes = events.message_bytes() as u64;
        let mut state = self.state.write();
        let Some(g) = state
            .groups
            .get_mut(&key(scope))
            .and_then(|m| m.get_mut(group))
            .filter(|g| g.info.id == group_id)
        else {
            return;
        };
        g.last_seq = g.last_seq.max(last_seq);
        if let Some(s) = g.streams.get_mut(stream) {
            s.first_event_ms = Some(
                s.first_event_ms
                    .map_or(first.timestamp, |f| f.min(first.timestamp)),
            );
            s.last_event_ms = Some(
                s.last_event_ms
                    .map_or(last.timestamp, |l| l.max(last.timestamp)),
            );
            s.last_ingestion_ms = Some(now);
            s.stored_bytes += bytes;
            g.dirty.insert(stream.to_owned());
        }
    }
}
