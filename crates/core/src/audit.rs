//! Where every API call's audit record goes.

use crate::{Result, Scope};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// One CloudTrail-format record per call. `record` returns only once the record is
/// durable: the caller's response waits on it, so an acknowledged call is never missing
/// from the trail. `time` is the call's precise time: the record's `eventTime` has whole
/// seconds only, and event history orders calls within a second by it.
#[async_trait]
pub trait AuditSink: Send + Sync {
    async fn record(
        &self,
        scope: &Scope,
        time: DateTime<Utc>,
        record: serde_json::Value,
    ) -> Result<()>;
}

/// How far behind the wall clock a reader of the trail stays even when nothing is being
/// written: a record's time is taken a moment before it reaches the sink.
const SETTLE: chrono::TimeDelta = chrono::TimeDelta::seconds(1);

/// Tells readers of the trail (log file delivery, the transparency log) up to which time
/// every record is durable and visible, so that reading `[cursor, settled())` never
/// misses a record that is still being written.
#[derive(Debug, Default)]
pub struct AuditClock {
    /// Times (ms) of records being written, with their counts.
    inflight: std::sync::Mutex<std::collections::BTreeMap<i64, u32>>,
}

impl AuditClock {
    pub fn new() -> AuditClock {
        AuditClock::default()
    }

    /// Every record timed before this instant has been written (or failed).
    pub fn settled(&self) -> DateTime<Utc> {
        let horizon = Utc::now() - SETTLE;
        let oldest = self
            .inflight
            .lock()
            .map(|m| m.keys().next().copied())
            .unwrap_or(None);
        match oldest.and_then(DateTime::from_timestamp_millis) {
            Some(t) if t < horizon => t,
            _ => horizon,
        }
    }

    /// Marks a record timed `ms` as being made until the guard drops: a request takes
    /// its record's time when it arrives and writes the record when it is done, so it
    /// holds this for the whole call and readers never pass over a slow call's record.
    pub fn begin(&self, ms: i64) -> Inflight<'_> {
        if let Ok(mut m) = self.inflight.lock() {
            *m.entry(ms).or_default() += 1;
        }
        Inflight { clock: self, ms }
    }
}

/// Ends an in-flight write when dropped, also when the writing future is cancelled.
pub struct Inflight<'a> {
    clock: &'a AuditClock,
    ms: i64,
}

impl Drop for Inflight<'_> {
    fn drop(&mut self) {
        if let Ok(mut m) = self.clock.inflight.lock()
            && let Some(n) = m.get_mut(&self.ms)
        {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.ms);
            }
        }
    }
}

/// An audit sink that keeps an [`AuditClock`] of what it is writing.
pub struct ClockedSink {
    pub inner: std::sync::Arc<dyn AuditSink>,
    pub clock: std::sync::Arc<AuditClock>,
}

#[async_trait]
impl AuditSink for ClockedSink {
    async fn record(
        &self,
        scope: &Scope,
        time: DateTime<Utc>,
        record: serde_json::Value,
    ) -> Result<()> {
        let _inflight = self.clock.begin(time.timestamp_millis());
        self.inner.record(scope, time, record).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settled_waits_for_records_still_being_made() {
        let clock = AuditClock::new();
        let before = clock.settled();
        assert!(before <= Utc::now() - SETTLE);
        // A slow call timed ten seconds ago holds the clock back until it is recorded.
        let t = (Utc::now() - chrono::TimeDelta::seconds(10)).timestamp_millis();
        let guard = clock.begin(t);
        let nested = clock.begin(t);
        assert_eq!(clock.settled().timestamp_millis(), t);
        drop(guard);
        assert_eq!(
            clock.settled().timestamp_millis(),
            t,
            "one of two still open"
        );
        drop(nested);
        assert!(clock.settled() >= before);
    }
}
