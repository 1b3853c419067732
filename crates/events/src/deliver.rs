//! The dispatcher: owed invocations ordered by due time, run with bounded concurrency;
//! failures are rescheduled with exponential backoff and jitter until the target's
//! retry policy (attempts, event age) is exhausted, then sent to its dead-letter queue.
//! Also the `AWS/Events` counters, written as metrics on an interval.

use crate::engine::Events;
use crate::invoke::Failure;
use crate::journal::Op;
use crate::model::Delivery;
use crate::now_ms;
use parking_lot::Mutex;
use rand::Rng;
use sightline_core::{MetricDatum, QueueAttribute, QueueMessage, Scope};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};

#[derive(Default)]
struct Queue {
    heap: BinaryHeap<Reverse<(i64, u64)>>,
    items: HashMap<u64, Delivery>,
    seq: u64,
}

/// Owed invocations by due time.
#[derive(Default)]
pub struct Dispatcher {
    queue: Mutex<Queue>,
    notify: Notify,
}

impl Dispatcher {
    pub fn push(&self, d: Delivery) {
        {
            let mut q = self.queue.lock();
            q.seq += 1;
            let seq = q.seq;
            q.heap.push(Reverse((d.due_ms, seq)));
            q.items.insert(seq, d);
        }
        self.notify.notify_one();
    }

    pub fn len(&self) -> usize {
        self.queue.lock().items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes and returns up to `limit` invocations due at `now`.
    fn pop_due(&self, now: i64, limit: usize) -> Vec<Delivery> {
        let mut q = self.queue.lock();
        let mut out = Vec::new();
        while out.len() < limit {
            match q.heap.peek() {
                Some(Reverse((due, seq))) if *due <= now => {
                    let seq = *seq;
                    q.heap.pop();
                    if let Some(d) = q.items.remove(&seq) {
                        out.push(d);
                    }
                }
                _ => break,
            }
        }
        out
    }

    fn next_due(&self) -> Option<i64> {
        self.queue.lock().heap.peek().map(|Reverse((due, _))| *due)
    }
}

pub(crate) async fn run(me: Arc<Events>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let permits = Arc::new(Semaphore::new(me.options.concurrency.max(1)));
    loop {
        if *shutdown.borrow() {
            break;
        }
        if me.sinks.get().is_some() {
            let free = permits.available_permits();
            let mut due = me.dispatcher.pop_due(now_ms(), free).into_iter();
            while let Some(d) = due.next() {
                let Ok(permit) = permits.clone().try_acquire_owned() else {
                    // Out of permits: what was taken goes back to wait its turn.
                    me.dispatcher.push(d);
                    due.by_ref().for_each(|d| me.dispatcher.push(d));
                    break;
                };
                let me = me.clone();
                tokio::spawn(async move {
                    attempt(&me, d).await;
                    drop(permit);
                });
            }
        }
        let wait = match me.dispatcher.next_due() {
            Some(due) => Duration::from_millis((due - now_ms()).clamp(0, 1000) as u64),
            None => Duration::from_secs(1),
        };
        let wait = if permits.available_permits() == 0 {
            Duration::from_millis(5)
        } else {
            wait
        };
        tokio::select! {
            _ = me.dispatcher.notify.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// The delay before retry number `n` (1-based): base·2^(n-1), capped, times a jitter
/// factor in [0.5, 1].
pub fn backoff(base: Duration, cap: Duration, n: u32) -> Duration {
    let exp = base.saturating_mul(1u32 << n.saturating_sub(1).min(20));
    let capped = exp.min(cap);
    let factor = rand::rng().random_range(0.5..=1.0);
    capped.mul_f64(factor)
}

async fn attempt(me: &Arc<Events>, mut d: Delivery) {
    let outcome = crate::invoke::invoke(me, &d).await;
    let now = now_ms();
    match outcome {
        Ok(()) => {
            me.count(&d, "Invocations");
            me.journal.send(vec![Op::Done(d.id.clone())]);
        }
        Err(Failure::Throttled(wait)) => {
            // Rate limiting delays an invocation without using up an attempt.
            d.due_ms = now + wait.as_millis() as i64;
            me.dispatcher.push(d);
        }
        Err(Failure::Failed {
            code,
            message,
            retryable,
        }) => {
            tracing::debug!(rule = %d.rule_arn, target = %d.target.id, code = %code, message = %message, attempts = d.attempts + 1, "invocation failed");
            let retries_done = d.attempts as i64;
            let next_due = now
                + backoff(me.options.retry_base, me.options.retry_cap, d.attempts + 1).as_millis()
                    as i64;
            let age_limit = d.ingestion_ms + d.target.max_age_ms();
            let exhausted = if !retryable {
                None
            } else if retries_done >= d.target.max_retries() {
                Some("MaximumRetryAttempts")
            } else if next_due > age_limit {
                Some("MaximumEventAgeInSeconds")
            } else {
                d.attempts += 1;
                d.due_ms = next_due;
                // The attempt count is durable before the retry can run, so a restart
                // never grants more retries than the policy allows.
                if let Err(e) = me.journal.commit(vec![Op::Put(Box::new(d.clone()))]).await {
                    tracing::warn!(rule = %d.rule_arn, error = %e, "recording a retry failed");
                }
                me.dispatcher.push(d);
                return;
            };
            me.count(&d, "Invocations");
            me.count(&d, "FailedInvocations");
            tracing::warn!(rule = %d.rule_arn, target = %d.target.id, code = %code, retries = retries_done, "invocation given up");
            dead_letter(me, &d, &code, &message, exhausted, retries_done).await;
            me.journal.send(vec![Op::Done(d.id.clone())]);
        }
    }
}

/// Sends a given-up event to the target's dead-letter queue with EventBridge's
/// message attributes.
async fn dead_letter(
    me: &Arc<Events>,
    d: &Delivery,
    code: &str,
    message: &str,
    exhausted: Option<&str>,
    retries: i64,
) {
    let (Some(dlq), Some(sinks)) = (d.target.dead_letter_arn(), me.sinks.get()) else {
        return;
    };
    let text = |v: &str| QueueAttribute {
        data_type: "String".into(),
        value: v.to_owned(),
    };
    let mut attributes = BTreeMap::new();
    attributes.insert("RULE_ARN".to_owned(), text(&d.rule_arn));
    attributes.insert("TARGET_ARN".to_owned(), text(&d.target.arn));
    attributes.insert("ERROR_CODE".to_owned(), text(code));
    attributes.insert("ERROR_MESSAGE".to_owned(), text(&truncate(message, 1024)));
    if let Some(x) = exhausted {
        attributes.insert("EXHAUSTED_RETRY_CONDITION".to_owned(), text(x));
    }
    attributes.insert(
        "RETRY_ATTEMPTS".to_owned(),
        QueueAttribute {
            data_type: "Number".into(),
            value: retries.to_string(),
        },
    );
    let scope = Scope::new(d.account.clone(), d.region.clone());
    let sent = sinks
        .queues
        .send(
            &scope,
            QueueMessage {
                queue_arn: dlq.to_owned(),
                body: d.event.clone(),
                attributes,
                service: "events.amazonaws.com".into(),
                source_arn: d.rule_arn.clone(),
            },
        )
        .await;
    match sent {
        Ok(_) => me.count(d, "DeadLetterInvocations"),
        Err(e) => {
            tracing::warn!(rule = %d.rule_arn, dlq = %dlq, error = %e, "dead-letter queue refused the event");
            me.count(d, "InvocationsFailedToBeSentToDlq");
        }
    }
}

pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

/// (account, region, dimensions, metric name).
type CounterKey = (String, String, Vec<(String, String)>, &'static str);

/// `AWS/Events` counts since the last flush.
#[derive(Default)]
pub struct Counters {
    counts: HashMap<CounterKey, f64>,
}

impl Counters {
    /// Counts one occurrence for a rule (under `RuleName` and `EventBusName, RuleName`
    /// and the account-wide total), or for a bus when `rule` is `None`.
    pub fn add(
        &mut self,
        account: &str,
        region: &str,
        bus: &str,
        rule: Option<&str>,
        metric: &'static str,
    ) {
        let mut keys = Vec::new();
        match rule {
            Some(r) => {
                keys.push(vec![("RuleName".to_owned(), r.to_owned())]);
                keys.push(vec![
                    ("EventBusName".to_owned(), bus.to_owned()),
                    ("RuleName".to_owned(), r.to_owned()),
                ]);
                if metric != "MatchedEvents" {
                    keys.push(Vec::new());
                }
            }
            None => keys.push(Vec::new()),
        }
        for dims in keys {
            *self
                .counts
                .entry((account.to_owned(), region.to_owned(), dims, metric))
                .or_default() += 1.0;
        }
    }

    fn take(&mut self) -> HashMap<CounterKey, f64> {
        std::mem::take(&mut self.counts)
    }
}

impl Events {
    fn count(&self, d: &Delivery, metric: &'static str) {
        self.counters
            .lock()
            .add(&d.account, &d.region, &d.bus, Some(&d.rule_name), metric);
    }
}

pub(crate) async fn flush_metrics(
    me: Arc<Events>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let stop = tokio::select! {
            _ = tokio::time::sleep(me.options.metrics_interval) => false,
            _ = shutdown.changed() => true,
        };
        let counts = me.counters.lock().take();
        if let Some(sinks) = me.sinks.get()
            && !counts.is_empty()
        {
            let now = now_ms();
            let mut by_scope: HashMap<(String, String), Vec<MetricDatum>> = HashMap::new();
            for ((account, region, dimensions, metric), value) in counts {
                by_scope
                    .entry((account, region))
                    .or_default()
                    .push(MetricDatum {
                        namespace: "AWS/Events".into(),
                        name: metric.into(),
                        dimensions,
                        timestamp_ms: now,
                        value,
                        unit: Some("Count".into()),
                        storage_resolution: 60,
                    });
            }
            for ((account, region), data) in by_scope {
                if let Err(e) = sinks.metrics.put(&Scope::new(account, region), data).await {
                    tracing::warn!(error = %e, "writing AWS/Events metrics failed");
                }
            }
        }
        if stop {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_a_cap() {
        let base = Duration::from_secs(1);
        let cap = Duration::from_secs(60);
        for n in 1..10u32 {
            let d = backoff(base, cap, n);
            let full = base.saturating_mul(1 << (n - 1)).min(cap);
            assert!(d <= full && d >= full / 2, "retry {n}: {d:?} vs {full:?}");
        }
        assert!(backoff(base, cap, 200) <= cap);
    }

    #[test]
    fn counters_split_by_rule_and_total() {
        let mut c = Counters::default();
        c.add("1", "r", "default", Some("a"), "Invocations");
        c.add("1", "r", "default", Some("b"), "Invocations");
        let m = c.take();
        let total = m
            .iter()
            .find(|((_, _, d, n), _)| d.is_empty() && *n == "Invocations")
            .map(|(_, v)| *v);
        assert_eq!(total, Some(2.0));
        assert_eq!(m.len(), 5);
    }
}
