//! Scheduled rules: every second, each enabled rule with a `rate()` or `cron()`
//! expression fires for the due times that passed since it last fired, within a grace
//! of two minutes. The last due time fired is stored in the same transaction as the
//! invocations it owes, so no due time fires twice across restarts; due times missed
//! while the server was down longer than the grace are skipped, as EventBridge does not
//! replay them.

use crate::engine::Events;
use crate::journal::Op;
use crate::model::Delivery;
use crate::put::{Routed, envelope};
use crate::{Error, Result, now_ms};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;

/// How late a due time may still fire.
const GRACE: TimeDelta = TimeDelta::minutes(2);

pub fn check(expression: &str) -> Result<()> {
    if expression.len() > sightline_schedule::MAX_EXPRESSION_LENGTH {
        return Err(Error::Validation(format!(
            "1 validation error detected: Value '{expression}' at 'scheduleExpression' failed to satisfy constraint: Member must have length less than or equal to 256"
        )));
    }
    sightline_schedule::parse(expression)
        .map(|_| ())
        .map_err(|e| Error::Validation(e.api_message().to_owned()))
}

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

impl Events {
    /// Fires every scheduled rule whose due time has come; returns how many fired.
    pub async fn fire_due(&self, now: DateTime<Utc>) -> Result<usize> {
        let rules: Vec<_> = self
            .state
            .read()
            .rules
            .values()
            .filter(|r| r.enabled() && r.schedule.is_some())
            .cloned()
            .collect();
        let mut fired = 0;
        for rule in rules {
            let Some(schedule) = rule
                .schedule
                .as_deref()
                .and_then(|s| sightline_schedule::parse(s).ok())
            else {
                continue;
            };
            let anchor = at(rule.enabled_ms);
            let after = rule
                .last_fired_ms
                .map(at)
                .unwrap_or(anchor)
                .max(now - GRACE);
            let due: Vec<DateTime<Utc>> = schedule.due_between(after, now, anchor).collect();
            let Some(last) = due.last().copied() else {
                continue;
            };
            let mut routed = Routed::default();
            for time in &due {
                let id = uuid::Uuid::new_v4().to_string();
                let event = envelope(
                    &id,
                    "Scheduled Event",
                    "aws.events",
                    &rule.account,
                    time,
                    &rule.region,
                    vec![rule.arn.clone()],
                    Value::Object(Map::new()),
                );
                let text = Value::Object(event).to_string();
                let ingestion = now_ms();
                for target in &rule.targets {
                    routed.owe(Delivery::owed(&rule, target, &text, ingestion));
                }
                routed.triggered.push((
                    rule.account.clone(),
                    rule.region.clone(),
                    rule.bus.clone(),
                    rule.name.clone(),
                ));
            }
            routed
                .ops
                .push(Op::RuleFired(rule.arn.clone(), last.timestamp_millis()));
            self.commit(routed).await?;
            if let Some(r) = self.state.write().rules.get_mut(&rule.arn) {
                r.last_fired_ms = Some(last.timestamp_millis());
            }
            fired += due.len();
        }
        Ok(fired)
    }
}

pub(crate) async fn run(me: Arc<Events>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow() {
            break;
        }
        if me.sinks.get().is_some()
            && let Err(e) = me.fire_due(Utc::now()).await
        {
            tracing::warn!(error = %e, "firing scheduled rules failed");
        }
        let ms = 1000 - now_ms().rem_euclid(1000);
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(ms as u64 + 5)) => {}
            _ = shutdown.changed() => {}
        }
    }
}
