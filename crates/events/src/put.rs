//! Events onto buses: PutEvents entries, service events (`EventPublisher`), schedules,
//! bus-to-bus forwarding and replays all end in [`Events::route`], which matches the
//! event against the bus's rules and archives; the owed invocations are committed in
//! one journal transaction, and the archive copies appended to the lake alongside it,
//! before the caller hears back.

use crate::engine::Events;
use crate::journal::Op;
use crate::model::Delivery;
use crate::{Error, Result, now_ms};
use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};
use sightline_core::{EventPublisher, Scope};
use sightline_lake::datasets::archived::{self, ArchivedEvent};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One PutEvents entry as the caller sent it.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    pub time: Option<DateTime<Utc>>,
    pub source: Option<String>,
    pub resources: Vec<String>,
    pub detail_type: Option<String>,
    pub detail: Option<String>,
    pub bus: Option<String>,
}

/// The fate of one entry: its event id, or the error code and message.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Accepted(String),
    Failed { code: String, message: String },
}

/// PutEvents' limit on the entries of one request, in bytes.
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;

/// Entry size as EventBridge counts it: the time (14 bytes when given), source,
/// detail-type, detail and resources in UTF-8 bytes.
pub fn entry_size(e: &Entry) -> usize {
    e.time.map_or(0, |_| 14)
        + e.source.as_deref().map_or(0, str::len)
        + e.detail_type.as_deref().map_or(0, str::len)
        + e.detail.as_deref().map_or(0, str::len)
        + e.resources.iter().map(String::len).sum::<usize>()
}

/// A member every entry needs, in PutEvents' words when it is missing or empty.
fn required<'a>(value: Option<&'a str>, member: &str) -> std::result::Result<&'a str, Outcome> {
    match value {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(failed(
            "InvalidArgument",
            format!("Parameter {member} is not valid. Reason: {member} is a required argument."),
        )),
    }
}

fn failed(code: &str, message: impl Into<String>) -> Outcome {
    Outcome::Failed {
        code: code.into(),
        message: message.into(),
    }
}

pub fn format_time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The envelope in EventBridge's field order.
#[allow(clippy::too_many_arguments)]
pub fn envelope(
    id: &str,
    detail_type: &str,
    source: &str,
    account: &str,
    time: &DateTime<Utc>,
    region: &str,
    resources: Vec<String>,
    detail: Value,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("version".into(), Value::String("0".into()));
    m.insert("id".into(), Value::String(id.into()));
    m.insert("detail-type".into(), Value::String(detail_type.into()));
    m.insert("source".into(), Value::String(source.into()));
    m.insert("account".into(), Value::String(account.into()));
    m.insert("time".into(), Value::String(format_time(time)));
    m.insert("region".into(), Value::String(region.into()));
    m.insert(
        "resources".into(),
        Value::Array(resources.into_iter().map(Value::String).collect()),
    );
    m.insert("detail".into(), detail);
    m
}

/// A copy of an event an archive keeps, bound for the lake in the archive's scope.
pub(crate) struct Archived {
    pub account: String,
    pub region: String,
    pub archive: String,
    pub time_ms: i64,
    pub event_id: String,
    pub event: Arc<str>,
}

/// What routing one event produced, to be committed together with its batch.
#[derive(Default)]
pub(crate) struct Routed {
    pub ops: Vec<Op>,
    pub archived: Vec<Archived>,
    pub deliveries: Vec<Delivery>,
    /// (account, region, bus, rule name) of every rule that matched.
    pub triggered: Vec<(String, String, String, String)>,
    /// (account, region, bus) of every event that matched at least one rule.
    pub matched: Vec<(String, String, String)>,
}

impl Routed {
    /// Records an invocation to commit and then dispatch.
    pub(crate) fn owe(&mut self, d: Delivery) {
        self.ops.push(Op::Put(Box::new(d.clone())));
        self.deliveries.push(d);
    }
}

impl Events {
    pub async fn put_events(&self, scope: &Scope, entries: Vec<Entry>) -> Result<Vec<Outcome>> {
        if entries.is_empty() || entries.len() > 10 {
            return Err(Error::Validation(format!(
                "1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length {}",
                if entries.is_empty() {
                    "greater than or equal to 1"
                } else {
                    "less than or equal to 10"
                }
            )));
        }
        if entries.iter().map(entry_size).sum::<usize>() > MAX_REQUEST_BYTES {
            return Err(Error::Validation(
                "Total size of the entries in the request is over the limit.".into(),
            ));
        }
        let now = Utc::now();
        let mut outcomes = Vec::with_capacity(entries.len());
        let mut routed = Routed::default();
        for e in entries {
            let outcome = match self.accept(scope, e, &now, &mut routed) {
                Ok(id) => Outcome::Accepted(id),
                Err(o) => o,
            };
            outcomes.push(outcome);
        }
        self.commit(routed).await?;
        Ok(outcomes)
    }

    /// Validates one entry and routes it; a refused entry is its outcome.
    fn accept(
        &self,
        scope: &Scope,
        e: Entry,
        now: &DateTime<Utc>,
        routed: &mut Routed,
    ) -> std::result::Result<String, Outcome> {
        let source = required(e.source.as_deref(), "Source")?;
        let detail_type = required(e.detail_type.as_deref(), "DetailType")?;
        let detail_text = required(e.detail.as_deref(), "Detail")?;
        if source.starts_with("aws.") {
            return Err(failed(
                "NotAuthorizedForSourceException",
                "Not authorized for the source.",
            ));
        }
        let detail: Value = match serde_json::from_str(detail_text) {
            Ok(v @ Value::Object(_)) => v,
            _ => return Err(failed("MalformedDetail", "Detail is malformed.")),
        };
        let bus_arn = self
            .resolve_bus(scope, e.bus.as_deref())
            .map_err(|err| match err {
                Error::ResourceNotFound(m) => failed("ResourceNotFoundException", m),
                other => failed("InvalidArgument", other.to_string()),
            })?;
        let id = uuid::Uuid::new_v4().to_string();
        let time = e.time.unwrap_or(*now);
        let event = envelope(
            &id,
            detail_type,
            source,
            &scope.account_id,
            &time,
            &scope.region,
            e.resources,
            detail,
        );
        self.route(
            &bus_arn,
            Value::Object(event),
            now.timestamp_millis(),
            None,
            true,
            routed,
        );
        Ok(id)
    }

    /// Matches `event` on `bus_arn` and records the invocations and archive copies it
    /// owes. `only` limits matching to these rule ARNs (a replay's filter); `archive`
    /// is false for replayed events, which are already archived.
    pub(crate) fn route(
        &self,
        bus_arn: &str,
        event: Value,
        ingestion_ms: i64,
        only: Option<&[String]>,
        archive: bool,
        routed: &mut Routed,
    ) {
        let state = self.state.read();
        let text = event.to_string();
        if let Some(matcher) = state.matchers.get(bus_arn) {
            let before = routed.triggered.len();
            // Read-only API calls reach only rules that asked for every management event.
            let read_only_call = event.get("detail-type").and_then(Value::as_str)
                == Some("AWS API Call via CloudTrail")
                && event.pointer("/detail/readOnly").and_then(Value::as_bool) == Some(true);
            for rule_arn in matcher.matching(&event) {
                if only.is_some_and(|o| !o.contains(rule_arn)) {
                    continue;
                }
                let Some(rule) = state.rules.get(rule_arn) else {
                    continue;
                };
                if read_only_call && rule.state != crate::engine::ALL_MANAGEMENT_EVENTS {
                    continue;
                }
                routed.triggered.push((
                    rule.account.clone(),
                    rule.region.clone(),
                    rule.bus.clone(),
                    rule.name.clone(),
                ));
                for target in &rule.targets {
                    routed.owe(Delivery::owed(rule, target, &text, ingestion_ms));
                }
            }
            if routed.triggered.len() > before
                && let Some((_, region, account, _)) = crate::names::split_arn(bus_arn)
            {
                routed.matched.push((
                    account.to_owned(),
                    region.to_owned(),
                    crate::engine::bus_name(bus_arn).to_owned(),
                ));
            }
        }
        if archive && let Some(archives) = state.archive_patterns.get(bus_arn) {
            let mut shared: Option<(Arc<str>, String)> = None;
            for a in archives {
                if a.pattern.as_ref().is_none_or(|p| p.matches(&event)) {
                    let (text, id) = shared.get_or_insert_with(|| {
                        let id = event
                            .get("id")
                            .and_then(Value::as_str)
                            .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
                        (Arc::from(text.as_str()), id)
                    });
                    routed.archived.push(Archived {
                        account: a.account.clone(),
                        region: a.region.clone(),
                        archive: a.arn.clone(),
                        time_ms: ingestion_ms,
                        event_id: id.clone(),
                        event: text.clone(),
                    });
                }
            }
        }
    }

    /// Makes what routing produced durable (the invocations in the journal and the
    /// archive copies in the lake, both at once), then hands the invocations to the
    /// dispatcher. Invocations the journal committed are dispatched even when the
    /// archive append failed; the caller still hears of the failure.
    pub(crate) async fn commit(&self, routed: Routed) -> Result<()> {
        let Routed {
            ops,
            archived,
            deliveries,
            triggered,
            matched,
        } = routed;
        let (journal, lake) = tokio::join!(self.journal.commit(ops), self.keep(&archived));
        journal?;
        {
            let mut counters = self.counters.lock();
            for (account, region, bus, rule) in triggered {
                counters.add(&account, &region, &bus, Some(&rule), "TriggeredRules");
                counters.add(&account, &region, &bus, Some(&rule), "MatchedEvents");
            }
            for (account, region, bus) in matched {
                counters.add(&account, &region, &bus, None, "MatchedEvents");
            }
        }
        for d in deliveries {
            self.dispatcher.push(d);
        }
        lake
    }

    /// Appends archive copies to the lake, one append per (account, region); returns
    /// once they are durable.
    async fn keep(&self, archived: &[Archived]) -> Result<()> {
        if archived.is_empty() {
            return Ok(());
        }
        let mut scopes: BTreeMap<(&str, &str), Vec<ArchivedEvent<'_>>> = BTreeMap::new();
        for a in archived {
            scopes
                .entry((&a.account, &a.region))
                .or_default()
                .push(ArchivedEvent {
                    time_ms: a.time_ms,
                    archive: &a.archive,
                    event_id: &a.event_id,
                    event: &a.event,
                });
        }
        for ((account, region), rows) in scopes {
            let size: usize = rows
                .iter()
                .map(|r| r.event.len() + r.archive.len() + 96)
                .sum();
            let scope = Scope::new(account, region);
            if let Err(e) = self
                .lake
                .append_encoded(archived::NAME, &scope, &rows, size)
                .await
            {
                tracing::error!(account, region, rows = rows.len(), error = %e, "archiving events failed");
                return Err(e.into());
            }
        }
        Ok(())
    }

    /// Puts an event made by the service itself (schedules, forwarding) on a bus.
    pub(crate) async fn inject(
        &self,
        bus_arn: &str,
        event: Value,
        only: Option<&[String]>,
        archive: bool,
    ) -> Result<()> {
        let mut routed = Routed::default();
        self.route(bus_arn, event, now_ms(), only, archive, &mut routed);
        self.commit(routed).await
    }
}

/// The envelope of an event another service made, its own version kept.
fn service_event(event: sightline_core::Event) -> Value {
    let mut m = envelope(
        &event.id,
        &event.detail_type,
        &event.source,
        &event.account,
        &event.time,
        &event.region,
        event.resources,
        event.detail,
    );
    m.insert("version".into(), Value::String(event.version));
    Value::Object(m)
}

/// Service events (alarm state changes, API calls via CloudTrail) go onto the default
/// bus of the account and region they happened in.
#[async_trait]
impl EventPublisher for Events {
    async fn publish(
        &self,
        scope: &Scope,
        event: sightline_core::Event,
    ) -> sightline_core::Result<()> {
        let bus =
            crate::names::bus_arn(&scope.region, &scope.account_id, crate::names::DEFAULT_BUS);
        self.inject(&bus, service_event(event), None, true)
            .await
            .map_err(Into::into)
    }

    fn wants_read_only_calls(&self) -> bool {
        self.state.read().read_only_calls
    }

    async fn publish_to(
        &self,
        scope: &Scope,
        bus_arn: &str,
        event: sightline_core::Event,
    ) -> sightline_core::Result<()> {
        let Some((_, region, account, rest)) = crate::names::split_arn(bus_arn) else {
            return Err(sightline_core::Error::Invalid(format!(
                "{bus_arn} is not a bus ARN"
            )));
        };
        let name = rest.strip_prefix("event-bus/").unwrap_or(rest);
        let exists =
            name == crate::names::DEFAULT_BUS || self.state.read().buses.contains_key(bus_arn);
        if !exists || region != scope.region {
            return Err(sightline_core::Error::NotFound(format!(
                "Event bus {name} does not exist."
            )));
        }
        if account != scope.account_id {
            let policy = self.bus_policy(bus_arn);
            let source = format!("arn:aws:logs:{}:{}:*", scope.region, scope.account_id);
            if !crate::policy::allows_account(
                policy.as_deref(),
                bus_arn,
                &scope.account_id,
                &source,
            ) {
                return Err(sightline_core::Error::AccessDenied(format!(
                    "Account {} is not authorized to put events on {bus_arn}.",
                    scope.account_id
                )));
            }
        }
        self.inject(bus_arn, service_event(event), None, true)
            .await
            .map_err(Into::into)
    }
}
