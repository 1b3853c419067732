//! Subscription filter delivery: every event stored in a group after a filter was put,
//! and matching its pattern, is sent to the filter's destination in CloudWatch Logs'
//! subscription payload (gzipped `{messageType, owner, logGroup, logStream,
//! subscriptionFilters, logEvents}`, one message per log stream).
//!
//! Deliveries read the lake in sequence order below the settled sequence number (no
//! append still in flight can be passed over) and advance the filter's cursor only after
//! the destination accepted a message, so a failed or interrupted delivery is retried
//! and nothing is lost; a crash between a delivery and its cursor update repeats it.
//!
//! Destinations: an `http://` or `https://` URL (Sightline's stand-in for a Firehose
//! HTTP endpoint: the payload is POSTed with `Content-Encoding: gzip`), or an event bus
//! ARN (`arn:aws:events:…:event-bus/NAME`): each message becomes one event from
//! `aws.logs`, detail-type `CloudWatch Logs Subscription Filter`, with the payload
//! (not gzipped) as `detail` and the log group's ARN as its resource.

use crate::engine::{Logs, ScopeKey, key};
use crate::model::SubscriptionFilter;
use crate::read::{Event, Order};
use crate::{Error, Result, store};
use datafusion::logical_expr::{col, lit};
use sightline_core::Scope;
use sightline_logfilter::FilterPattern;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

/// Events read per group and round.
const ROUND: usize = 10_000;
/// Message bytes per delivered message, at most.
const MAX_MESSAGE_BYTES: usize = 1_000_000;
/// Message bytes per event put on a bus, whose entries are limited to 256 KiB.
const MAX_EVENT_BYTES: usize = 200_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Http(String),
    EventBus(String),
}

impl Destination {
    pub fn parse(arn: &str) -> Result<Destination> {
        if arn.starts_with("http://") || arn.starts_with("https://") {
            return Ok(Destination::Http(arn.to_owned()));
        }
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() == 6
            && parts[0] == "arn"
            && parts[2] == "events"
            && parts[5].starts_with("event-bus/")
        {
            return Ok(Destination::EventBus(arn.to_owned()));
        }
        Err(Error::InvalidParameter(format!(
            "Could not deliver test message to specified destination. Check if the destination is valid. (Sightline delivers to http(s):// endpoints and event bus ARNs; '{arn}' is neither.)"
        )))
    }
}

/// A subscription payload as an HTTP destination receives it: gzipped.
fn gzipped(doc: &serde_json::Value) -> Result<Vec<u8>> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(doc.to_string().as_bytes())
        .and_then(|_| gz.finish())
        .map_err(|e| Error::Delivery(format!("gzip: {e}")))
}

/// The subscription payload `{messageType, owner, logGroup, logStream,
/// subscriptionFilters, logEvents}`.
fn document(
    kind: &str,
    owner: &str,
    group: &str,
    stream: &str,
    filters: &[&str],
    events: &[serde_json::Value],
) -> serde_json::Value {
    serde_json::json!({
        "messageType": kind,
        "owner": owner,
        "logGroup": group,
        "logStream": stream,
        "subscriptionFilters": filters,
        "logEvents": events,
    })
}

/// A group's filters due for delivery, taken from the registry for one round.
struct Due {
    scope: ScopeKey,
    group: String,
    group_id: String,
    filters: Vec<(SubscriptionFilter, Arc<FilterPattern>)>,
}

impl Logs {
    pub(crate) async fn post(&self, url: &str, body: Vec<u8>) -> Result<()> {
        let resp = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(body)
            .send()
            .await
            .map_err(|e| Error::Delivery(e.to_string()))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(Error::Delivery(format!("{url} answered {}", resp.status())))
        }
    }

    /// The test message AWS sends when a subscription filter is put: a destination
    /// that does not take it is refused.
    pub(crate) async fn check_destination(&self, d: &Destination) -> Result<()> {
        let Destination::Http(url) = d else {
            return Ok(());
        };
        let event = serde_json::json!({
            "id": "",
            "timestamp": crate::engine::now_ms(),
            "message": "CWL CONTROL MESSAGE: Checking health of destination.",
        });
        let body = gzipped(&document(
            "CONTROL_MESSAGE",
            "CloudwatchLogs",
            "",
            "",
            &[],
            &[event],
        ))?;
        self.post(url, body).await.map_err(|_| {
            Error::InvalidParameter(
                "Could not deliver test message to specified destination. Check if the destination is valid.".into(),
            )
        })
    }

    fn due_deliveries(&self) -> Vec<Due> {
        let state = self.state.read();
        let mut out = Vec::new();
        for (k, groups) in &state.groups {
            for g in groups.values() {
                let filters: Vec<_> = g
                    .subscription_filters
                    .values()
                    .filter(|(f, _)| {
                        let deliverable = match Destination::parse(&f.destination_arn) {
                            Ok(Destination::Http(_)) => true,
                            Ok(Destination::EventBus(_)) => self.bus.get().is_some(),
                            Err(_) => false,
                        };
                        deliverable && f.cursor < g.last_seq
                    })
                    .cloned()
                    .collect();
                if !filters.is_empty() {
                    out.push(Due {
                        scope: k.clone(),
                        group: g.info.name.clone(),
                        group_id: g.info.id.clone(),
                        filters,
                    });
                }
            }
        }
        out
    }

    /// One delivery round over every group with filters behind; returns the number of
    /// events delivered.
    pub async fn deliver_subscriptions(&self) -> Result<usize> {
        let mut delivered = 0;
        for due in self.due_deliveries() {
            delivered += self.deliver_group(due).await?;
        }
        Ok(delivered)
    }

    async fn deliver_group(&self, due: Due) -> Result<usize> {
        let upto = self.settled_seq();
        let Some(from) = due.filters.iter().map(|(f, _)| f.cursor).min() else {
            return Ok(0);
        };
        let scope = Scope::new(due.scope.0.clone(), due.scope.1.clone());
        let events = self
            .read_by_seq(&scope, &due.group, from, upto, ROUND)
            .await?;
        // Fewer than a round: everything up to `upto` has been seen.
        let reached = if events.len() < ROUND {
            upto
        } else {
            events.last().map_or(upto, |e| e.seq)
        };
        let mut delivered = 0;
        for (f, pattern) in &due.filters {
            let Ok(destination) = Destination::parse(&f.destination_arn) else {
                continue;
            };
            let limit = match destination {
                Destination::Http(_) => MAX_MESSAGE_BYTES,
                Destination::EventBus(_) => MAX_EVENT_BYTES,
            };
            let mut by_stream: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
            for e in events.iter().filter(|e| e.seq > f.cursor) {
                if pattern.matches(&e.message) {
                    by_stream.entry(e.stream.as_str()).or_default().push(e);
                }
            }
            let mut ok = true;
            'streams: for (stream, evs) in &by_stream {
                for chunk in chunks(evs, limit) {
                    let items: Vec<serde_json::Value> = chunk
                        .iter()
                        .map(|e| {
                            serde_json::json!({
                                "id": e.id(),
                                "timestamp": e.timestamp,
                                "message": e.message,
                            })
                        })
                        .collect();
                    let doc = document(
                        "DATA_MESSAGE",
                        &scope.account_id,
                        &due.group,
                        stream,
                        &[f.name.as_str()],
                        &items,
                    );
                    let sent = match &destination {
                        Destination::Http(url) => self.post(url, gzipped(&doc)?).await,
                        Destination::EventBus(bus) => {
                            self.put_on_bus(&scope, bus, &due.group, doc).await
                        }
                    };
                    if let Err(e) = sent {
                        tracing::warn!(group = %due.group, filter = %f.name, error = %e, "subscription delivery failed, will retry");
                        ok = false;
                        break 'streams;
                    }
                    delivered += chunk.len();
                }
            }
            if ok {
                self.advance_cursor(&scope, &due.group, &due.group_id, &f.name, reached)?;
            }
        }
        Ok(delivered)
    }

    fn advance_cursor(
        &self,
        scope: &Scope,
        group: &str,
        group_id: &str,
        filter: &str,
        to: i64,
    ) -> Result<()> {
        let mut state = self.state.write();
        let Some(g) = state
            .groups
            .get_mut(&key(scope))
            .and_then(|m| m.get_mut(group))
            .filter(|g| g.info.id == group_id)
        else {
            return Ok(());
        };
        let Some((f, _)) = g.subscription_filters.get_mut(filter) else {
            return Ok(());
        };
        if f.cursor >= to {
            return Ok(());
        }
        let mut next = f.clone();
        next.cursor = to;
        store::put_subscription_filter(&self.meta, &next)?;
        *f = next;
        Ok(())
    }

    /// Events of a group with `from < seq ≤ upto`, in sequence order, opened with the
    /// service's keys.
    async fn read_by_seq(
        &self,
        scope: &Scope,
        group: &str,
        from: i64,
        upto: i64,
        limit: usize,
    ) -> Result<Vec<Event>> {
        if from >= upto {
            return Ok(Vec::new());
        }
        let info = self.group_info(scope, group)?;
        let keys = self.read_keys(scope, &info, None).await?;
        let filter = col("group_id")
            .eq(lit(info.id.clone()))
            .and(col("seq").gt(lit(from)))
            .and(col("seq").lt_eq(lit(upto)));
        self.query(
            scope,
            (i64::MIN, i64::MAX),
            &keys,
            filter,
            Order::Sequence,
            limit,
        )
        .await
    }
}

impl Logs {
    async fn put_on_bus(
        &self,
        scope: &Scope,
        bus: &str,
        group: &str,
        detail: serde_json::Value,
    ) -> Result<()> {
        let Some(publisher) = self.bus.get() else {
            return Err(Error::Delivery("no event bus".into()));
        };
        let event = sightline_core::Event {
            version: "0".into(),
            id: uuid::Uuid::new_v4().to_string(),
            detail_type: "CloudWatch Logs Subscription Filter".into(),
            source: "aws.logs".into(),
            account: scope.account_id.clone(),
            time: chrono::Utc::now(),
            region: scope.region.clone(),
            resources: vec![format!(
                "arn:aws:logs:{}:{}:log-group:{group}",
                scope.region, scope.account_id
            )],
            detail,
        };
        publisher
            .publish_to(scope, bus, event)
            .await
            .map_err(|e| Error::Delivery(e.to_string()))
    }
}

/// Splits a stream's events into messages of at most `limit` message bytes.
fn chunks<'a>(events: &'a [&'a Event], limit: usize) -> Vec<&'a [&'a Event]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut size = 0;
    for (i, e) in events.iter().enumerate() {
        if i > start && size + e.message.len() > limit {
            out.push(&events[start..i]);
            start = i;
            size = 0;
        }
        size += e.message.len();
    }
    if start < events.len() {
        out.push(&events[start..]);
    }
    out
}
