//! The alarm evaluator. Metric alarms: the last N periods (plus two more, as CloudWatch
//! retrieves more datapoints than it evaluates), the newest N real datapoints when
//! there are that many, otherwise CloudWatch's missing-data treatment ([`decide`]).
//! Composite alarms follow their rules over their children's states. Every transition
//! is written with its history item before the event goes out and the actions run.

use crate::engine::{AlarmEntry, CloudWatch};
use crate::hot::ScopeKey;
use crate::model::{Alarm, AlarmHistoryItem, MetricAlarm, SeriesKey, StateValue, Statistic};
use crate::{Error, Result, store};
use sightline_core::{Event, Scope, TopicMessage};
use sightline_metricmath::rule::{AlarmState, Rule};
use sightline_wire::Timestamp;
use std::collections::{HashMap, HashSet};

/// Periods looked at beyond the N evaluated, so late or missing datapoints can be
/// replaced by older real ones before missing-data treatment applies.
pub const EXTRA_PERIODS: i64 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Treatment {
    Missing,
    Ignore,
    Breaching,
    NotBreaching,
}

impl Treatment {
    pub fn parse(s: Option<&str>) -> Treatment {
        match s {
            Some("ignore") => Treatment::Ignore,
            Some("breaching") => Treatment::Breaching,
            Some("notBreaching") => Treatment::NotBreaching,
            _ => Treatment::Missing,
        }
    }
}

/// The outcome of one evaluation: a new state, or keep the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    State(StateValue),
    Keep,
}

/// CloudWatch's rule for one evaluation. `range` holds the evaluation range oldest
/// first, N + [`EXTRA_PERIODS`] entries: `None` for a missing datapoint, otherwise
/// whether it breaches. `n` is EvaluationPeriods, `m` DatapointsToAlarm.
///
/// - With at least N real datapoints, the newest N decide: ALARM when M breach.
/// - With none: `missing` → INSUFFICIENT_DATA, `ignore` → keep, `breaching` → ALARM,
///   `notBreaching` → OK.
/// - With some: every real datapoint counts and missing ones fill up to N as the
///   treatment says; `missing` and `ignore` fill nothing, so ALARM needs as many
///   breaching datapoints as exist, up to M.
pub fn decide(range: &[Option<bool>], n: usize, m: usize, treatment: Treatment) -> Decision {
    let real: Vec<bool> = range.iter().rev().filter_map(|p| *p).collect();
    if real.len() >= n {
        let breaching = real.iter().take(n).filter(|b| **b).count();
        return Decision::State(if breaching >= m {
            StateValue::Alarm
        } else {
            StateValue::Ok
        });
    }
    if real.is_empty() {
        return match treatment {
            Treatment::Missing => Decision::State(StateValue::InsufficientData),
            Treatment::Ignore => Decision::Keep,
            Treatment::Breaching => Decision::State(StateValue::Alarm),
            Treatment::NotBreaching => Decision::State(StateValue::Ok),
        };
    }
    let breaching = real.iter().filter(|b| **b).count();
    let alarm = match treatment {
        Treatment::Breaching => breaching + (n - real.len()) >= m,
        Treatment::NotBreaching => breaching >= m,
        Treatment::Missing | Treatment::Ignore => breaching >= m.min(real.len()),
    };
    Decision::State(if alarm {
        StateValue::Alarm
    } else {
        StateValue::Ok
    })
}

pub fn parse_expression(id: &str, text: &str) -> Result<sightline_metricmath::Expr> {
    sightline_metricmath::parse(text).map_err(|e| Error::Validation(e.in_expression(id)))
}

/// The alarms a composite rule names, as written (names or ARNs).
pub fn parse_rule(text: &str) -> Result<Vec<String>> {
    Ok(parse_rule_tree(text)?.alarms())
}

fn parse_rule_tree(text: &str) -> Result<Rule> {
    sightline_metricmath::rule::parse(text).map_err(|e| Error::Validation(e.to_string()))
}

/// An alarm's name from a rule reference, which may be its ARN.
pub fn alarm_name_of(reference: &str) -> &str {
    match reference.split_once(":alarm:") {
        Some((prefix, name)) if prefix.starts_with("arn:") => name,
        _ => reference,
    }
}

/// A path from `start` back to itself through rule references, if there is one.
pub fn find_cycle(graph: &HashMap<String, Vec<String>>, start: &str) -> Option<Vec<String>> {
    fn walk(
        graph: &HashMap<String, Vec<String>>,
        node: &str,
        start: &str,
        path: &mut Vec<String>,
        seen: &mut HashSet<String>,
    ) -> bool {
        for next in graph.get(node).into_iter().flatten() {
            if next == start {
                path.push(next.clone());
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(graph, next, start, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_owned()];
    let mut seen = HashSet::new();
    walk(graph, start, start, &mut path, &mut seen).then_some(path)
}

fn compare(op: &str, v: f64, threshold: f64) -> bool {
    match op {
        "GreaterThanOrEqualToThreshold" => v >= threshold,
        "GreaterThanThreshold" => v > threshold,
        "LessThanThreshold" => v < threshold,
        "LessThanOrEqualToThreshold" => v <= threshold,
        _ => false,
    }
}

fn comparison_words(op: &str) -> &'static str {
    match op {
        "GreaterThanOrEqualToThreshold" => "greater than or equal to",
        "GreaterThanThreshold" => "greater than",
        "LessThanThreshold" => "less than",
        "LessThanOrEqualToThreshold" => "less than or equal to",
        _ => "compared with",
    }
}

pub fn format_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3f+0000")
        .to_string()
}

fn short_time(s: i64) -> String {
    chrono::DateTime::from_timestamp(s, 0)
        .unwrap_or_default()
        .format("%d/%m/%y %H:%M:%S")
        .to_string()
}

fn number(v: f64) -> String {
    format!("{v:?}")
}

/// A state change to apply: alarm name, new state, reason, reason data.
type Change = (String, StateValue, String, Option<String>);

/// One alarm's evaluation: the decision with the reason and reason data to record
/// (empty when the decision changes nothing).
pub struct Outcome {
    pub decision: Decision,
    pub reason: String,
    pub reason_data: String,
}

/// The datapoints of an alarm's evaluation range: (bucket start, value), oldest first,
/// and the first bucket.
impl CloudWatch {
    async fn alarm_points(
        &self,
        scope: &ScopeKey,
        a: &MetricAlarm,
        period: i64,
        first: i64,
        end: i64,
    ) -> Result<Vec<(i64, f64)>> {
        if !a.metrics.is_empty() {
            let results = self
                .run_queries(scope, &a.metrics, first, end, Some(period))
                .await?;
            return Ok(results
                .into_iter()
                .find(|r| r.return_data)
                .map(|r| r.points)
                .unwrap_or_default());
        }
        let key = SeriesKey::new(
            a.namespace.as_deref().unwrap_or_default(),
            a.metric_name.as_deref().unwrap_or_default(),
            &a.dimensions
                .iter()
                .map(|d| (d.name.clone(), d.value.clone()))
                .collect::<Vec<_>>(),
        );
        let stat = a
            .statistic
            .as_deref()
            .or(a.extended_statistic.as_deref())
            .and_then(Statistic::parse)
            .unwrap_or(Statistic::Average);
        let aggs = self
            .period_aggs(scope, &key, a.unit.as_deref(), first, end, period)
            .await?;
        Ok(aggs
            .into_iter()
            .filter(|(t, _)| (t - first) % period == 0)
            .filter_map(|(t, agg)| agg.stat(&stat).map(|v| (t, v)))
            .collect())
    }

    pub async fn evaluate_metric_alarm(
        &self,
        scope: &ScopeKey,
        a: &MetricAlarm,
        now_ms: i64,
    ) -> Result<Outcome> {
        let period = a
            .period
            .or_else(|| crate::alarms::math_period(&a.metrics))
            .unwrap_or(60)
            .max(1);
        let n = a.evaluation_periods.max(1);
        let m = a.datapoints_to_alarm.unwrap_or(n).clamp(1, n);
        let now_s = now_ms.div_euclid(1000);
        // The newest bucket is the one now falls in: a datapoint counts as soon as it
        // arrives, so an alarm fires within one evaluation interval.
        let last = now_s - now_s.rem_euclid(period);
        let first = last - (n + EXTRA_PERIODS - 1) * period;
        let points = self
            .alarm_points(scope, a, period, first, last + period)
            .await?;
        let threshold = a.threshold.unwrap_or(0.0);
        let by_bucket: HashMap<i64, f64> = points.iter().copied().collect();
        let range: Vec<Option<bool>> = (0..n + EXTRA_PERIODS)
            .map(|i| {
                by_bucket
                    .get(&(first + i * period))
                    .map(|v| compare(&a.comparison_operator, *v, threshold))
            })
            .collect();
        let treatment = Treatment::parse(a.treat_missing_data.as_deref());
        let decision = decide(&range, n as usize, m as usize, treatment);
        // Reasons are written only for transitions: most evaluations change nothing.
        if !matches!(decision, Decision::State(s) if s != a.state_value) {
            return Ok(Outcome {
                decision,
                reason: String::new(),
                reason_data: String::new(),
            });
        }
        let mut newest: Vec<(i64, f64)> = points;
        newest.sort_by_key(|p| std::cmp::Reverse(p.0));
        newest.truncate(n as usize);
        let words = comparison_words(&a.comparison_operator);
        let list = newest
            .iter()
            .map(|(t, v)| format!("{} ({})", number(*v), short_time(*t)))
            .collect::<Vec<_>>()
            .join(", ");
        let reason = match decision {
            Decision::State(StateValue::InsufficientData) | Decision::Keep if newest.is_empty() => {
                format!(
                    "Insufficient Data: {n} datapoint{} {} unknown.",
                    if n == 1 { "" } else { "s" },
                    if n == 1 { "was" } else { "were" }
                )
            }
            _ if newest.is_empty() => format!(
                "Threshold Crossed: no datapoints were received for {n} period{} and {n} missing datapoint{} {} treated as [{}].",
                if n == 1 { "" } else { "s" },
                if n == 1 { "" } else { "s" },
                if n == 1 { "was" } else { "were" },
                if treatment == Treatment::Breaching {
                    "Breaching"
                } else {
                    "NonBreaching"
                }
            ),
            Decision::State(StateValue::Alarm) => {
                let breaching = newest
                    .iter()
                    .filter(|(_, v)| compare(&a.comparison_operator, *v, threshold))
                    .count();
                format!(
                    "Threshold Crossed: {breaching} out of the last {} datapoint{} [{list}] {} {words} the threshold ({}) (minimum {m} datapoint{} for OK -> ALARM transition).",
                    newest.len(),
                    if newest.len() == 1 { "" } else { "s" },
                    if breaching == 1 { "was" } else { "were" },
                    number(threshold),
                    if m == 1 { "" } else { "s" },
                )
            }
            _ => {
                let fine = newest
                    .iter()
                    .filter(|(_, v)| !compare(&a.comparison_operator, *v, threshold))
                    .count();
                format!(
                    "Threshold Crossed: {fine} out of the last {} datapoint{} [{list}] {} not {words} the threshold ({}) (minimum 1 datapoint for ALARM -> OK transition).",
                    newest.len(),
                    if newest.len() == 1 { "" } else { "s" },
                    if fine == 1 { "was" } else { "were" },
                    number(threshold),
                )
            }
        };
        let mut data = serde_json::json!({
            "version": "1.0",
            "queryDate": format_time(now_ms),
            "startDate": format_time(first * 1000),
            "period": period,
            "recentDatapoints": newest.iter().rev().map(|(_, v)| *v).collect::<Vec<_>>(),
            "threshold": threshold,
            "evaluatedDatapoints": newest.iter().map(|(t, v)| serde_json::json!({
                "timestamp": format_time(t * 1000),
                "value": v,
            })).collect::<Vec<_>>(),
        });
        if let Some(s) = a.statistic.as_ref().or(a.extended_statistic.as_ref())
            && let Some(o) = data.as_object_mut()
        {
            o.insert("statistic".into(), serde_json::Value::String(s.clone()));
            if let Some(u) = &a.unit {
                o.insert("unit".into(), serde_json::Value::String(u.clone()));
            }
        }
        Ok(Outcome {
            decision,
            reason,
            reason_data: data.to_string(),
        })
    }

    /// Evaluates every metric alarm whose interval has come, then the composites of
    /// the scopes where anything changed.
    pub async fn evaluate_due(&self, now: i64) -> Result<usize> {
        let slow = self.options.slow_interval.as_millis() as i64;
        let fast = self.options.fast_interval.as_millis() as i64;
        let due: Vec<(ScopeKey, MetricAlarm)> = {
            let mut alarms = self.alarms.write();
            let mut due = Vec::new();
            for (scope, m) in alarms.iter_mut() {
                for e in m.values_mut() {
                    let Alarm::Metric(a) = &e.alarm else { continue };
                    let period = a
                        .period
                        .or_else(|| crate::alarms::math_period(&a.metrics))
                        .unwrap_or(60);
                    let interval = if period < 60 { fast } else { slow };
                    // Half a fast tick of slack keeps a slow alarm on its minute even
                    // when ticks drift by a few milliseconds.
                    if now - e.evaluated_ms + fast / 2 >= interval {
                        e.evaluated_ms = now;
                        due.push((scope.clone(), a.clone()));
                    }
                }
            }
            due
        };
        let count = due.len();
        let mut changes: HashMap<ScopeKey, Vec<Change>> = HashMap::new();
        for (scope, a) in due {
            let outcome = match self.evaluate_metric_alarm(&scope, &a, now).await {
                Ok(o) => o,
                Err(e) => {
                    tracing::warn!(alarm = %a.alarm_name, error = %e, "alarm evaluation failed");
                    continue;
                }
            };
            if let Decision::State(s) = outcome.decision
                && s != a.state_value
            {
                changes.entry(scope).or_default().push((
                    a.alarm_name.clone(),
                    s,
                    outcome.reason,
                    Some(outcome.reason_data),
                ));
            }
        }
        let scopes: Vec<ScopeKey> = self.alarms.read().keys().cloned().collect();
        for (scope, list) in changes {
            self.apply(&scope, list, false).await?;
        }
        for scope in scopes {
            self.evaluate_composites(&scope).await?;
        }
        Ok(count)
    }

    /// One transition requested by SetAlarmState (or an evaluation).
    pub async fn transition(
        &self,
        scope: &ScopeKey,
        name: &str,
        state: StateValue,
        reason: String,
        reason_data: Option<String>,
        forced: bool,
    ) -> Result<()> {
        self.apply(
            scope,
            vec![(name.to_owned(), state, reason, reason_data)],
            forced,
        )
        .await?;
        self.evaluate_composites(scope).await
    }

    /// Applies state changes of one scope in one transaction, then emits their events
    /// and runs their actions. Returns how many alarms changed state.
    async fn apply(&self, scope: &ScopeKey, list: Vec<Change>, forced: bool) -> Result<usize> {
        let now = Timestamp::now();
        let mut changed: Vec<(AlarmEntry, StateValue, String, Option<String>)> = Vec::new();
        {
            let _w = self.alarm_writes.lock().await;
            let mut updated: Vec<AlarmEntry> = Vec::new();
            let mut history = Vec::new();
            {
                let alarms = self.alarms.read();
                for (name, state, reason, data) in list {
                    let Some(e) = alarms.get(scope).and_then(|m| m.get(&name)) else {
                        continue;
                    };
                    if e.alarm.state() == state {
                        // SetAlarmState to the current state refreshes the reason only:
                        // no transition, so no history item, event or action.
                        if forced {
                            let mut next = e.clone();
                            next.alarm.set_state(state, reason, data, now);
                            updated.push(next);
                        }
                        continue;
                    }
                    let old = e.alarm.state();
                    let (old_reason, old_data) = {
                        let (r, d) = e.alarm.reason();
                        (r.to_owned(), d.map(str::to_owned))
                    };
                    let mut next = e.clone();
                    next.alarm
                        .set_state(state, reason.clone(), data.clone(), now);
                    history.push(AlarmHistoryItem {
                        alarm_name: name.clone(),
                        alarm_type: next.alarm.type_name().to_owned(),
                        timestamp: now,
                        history_item_type: "StateUpdate".into(),
                        history_summary: format!(
                            "Alarm updated from {} to {}",
                            old.as_str(),
                            state.as_str()
                        ),
                        history_data: serde_json::json!({
                            "version": "1.0",
                            "oldState": state_json(old, &old_reason, old_data.as_deref()),
                            "newState": state_json(state, &reason, data.as_deref()),
                        })
                        .to_string(),
                    });
                    changed.push((e.clone(), state, reason, data));
                    updated.push(next);
                }
            }
            if updated.is_empty() {
                return Ok(0);
            }
            let rows: Vec<(&Alarm, &[crate::model::Tag])> = updated
                .iter()
                .map(|e| (&e.alarm, e.tags.as_slice()))
                .collect();
            store::put_alarms(&self.meta, &scope.0, &scope.1, &rows, &history)?;
            let mut alarms = self.alarms.write();
            let m = alarms.entry(scope.clone()).or_default();
            for u in updated {
                if let Some(slot) = m.get_mut(u.alarm.name()) {
                    slot.alarm = u.alarm;
                }
            }
        }
        let n = changed.len();
        for (before, state, reason, data) in changed {
            self.notify(scope, &before.alarm, state, &reason, data.as_deref(), now)
                .await;
        }
        Ok(n)
    }

    /// Re-evaluates the composite alarms of a scope until none changes (composites may
    /// name composites).
    pub async fn evaluate_composites(&self, scope: &ScopeKey) -> Result<()> {
        for _ in 0..16 {
            let mut list = Vec::new();
            {
                let alarms = self.alarms.read();
                let Some(m) = alarms.get(scope) else {
                    return Ok(());
                };
                let state_of = |reference: &str| -> Option<AlarmState> {
                    let name = alarm_name_of(reference);
                    m.get(name).map(|e| match e.alarm.state() {
                        StateValue::Ok => AlarmState::Ok,
                        StateValue::Alarm => AlarmState::Alarm,
                        StateValue::InsufficientData => AlarmState::InsufficientData,
                    })
                };
                for e in m.values() {
                    let Alarm::Composite(c) = &e.alarm else {
                        continue;
                    };
                    let Ok(rule) = parse_rule_tree(&c.alarm_rule) else {
                        continue;
                    };
                    let state = if rule.evaluate(&state_of) {
                        StateValue::Alarm
                    } else {
                        StateValue::Ok
                    };
                    if state == c.state_value {
                        continue;
                    }
                    // The child that changed last explains the transition.
                    let trigger = rule
                        .alarms()
                        .iter()
                        .filter_map(|r| m.get(alarm_name_of(r)))
                        .max_by_key(|e| e.alarm.state_updated())
                        .map(|e| {
                            (
                                e.alarm.arn().to_owned(),
                                e.alarm.state(),
                                e.alarm.state_updated(),
                            )
                        });
                    let (reason, data) = match trigger {
                        Some((arn, s, at)) => (
                            format!(
                                "{arn} transitioned to {} at {}",
                                s.as_str(),
                                at.0.format("%A %d %B, %Y %H:%M:%S UTC")
                            ),
                            serde_json::json!({"triggeringAlarms": [{
                                "arn": arn,
                                "state": {"value": s.as_str(), "timestamp": format_time(at.0.timestamp_millis())},
                            }]})
                            .to_string(),
                        ),
                        None => (
                            format!("Alarm rule evaluated to {}", state == StateValue::Alarm).to_uppercase(),
                            "{}".to_owned(),
                        ),
                    };
                    list.push((c.alarm_name.clone(), state, reason, Some(data)));
                }
            }
            if list.is_empty() || self.apply(scope, list, false).await? == 0 {
                return Ok(());
            }
        }
        Ok(())
    }

    /// The state-change event and the alarm's actions for the new state.
    async fn notify(
        &self,
        scope: &ScopeKey,
        before: &Alarm,
        state: StateValue,
        reason: &str,
        reason_data: Option<&str>,
        now: Timestamp,
    ) {
        let core_scope = Scope {
            account_id: scope.0.clone(),
            region: scope.1.clone(),
        };
        let (old_reason, old_data) = before.reason();
        let old_time = before.state_updated();
        let mut state_obj = serde_json::json!({
            "value": state.as_str(),
            "reason": reason,
            "timestamp": format_time(now.0.timestamp_millis()),
        });
        if let Some(d) = reason_data {
            state_obj["reasonData"] = serde_json::Value::String(d.to_owned());
        }
        let mut previous = serde_json::json!({
            "value": before.state().as_str(),
            "reason": old_reason,
            "timestamp": format_time(old_time.0.timestamp_millis()),
        });
        if let Some(d) = old_data {
            previous["reasonData"] = serde_json::Value::String(d.to_owned());
        }
        let configuration = match before {
            Alarm::Metric(a) => {
                let mut c = serde_json::json!({"metrics": event_metrics(a)});
                if let Some(d) = &a.alarm_description {
                    c["description"] = serde_json::Value::String(d.clone());
                }
                c
            }
            Alarm::Composite(a) => {
                let mut c = serde_json::json!({"alarmRule": a.alarm_rule});
                if let Some(d) = &a.alarm_description {
                    c["description"] = serde_json::Value::String(d.clone());
                }
                if let Some(s) = &a.actions_suppressor {
                    c["actionsSuppressor"] = serde_json::Value::String(s.clone());
                }
                c
            }
        };
        let event = Event {
            version: "0".into(),
            id: uuid::Uuid::new_v4().to_string(),
            detail_type: "CloudWatch Alarm State Change".into(),
            source: "aws.cloudwatch".into(),
            account: scope.0.clone(),
            time: now.0,
            region: scope.1.clone(),
            resources: vec![before.arn().to_owned()],
            detail: serde_json::json!({
                "alarmName": before.name(),
                "state": state_obj,
                "previousState": previous,
                "configuration": configuration,
            }),
        };
        if let Err(e) = self.events.publish(&core_scope, event).await {
            tracing::warn!(alarm = %before.name(), error = %e, "alarm state change event failed");
        }
        if !before.actions_enabled() {
            return;
        }
        let actions: Vec<String> = before.actions_for(state).to_vec();
        if actions.is_empty() {
            return;
        }
        let message = notification(scope, before, state, reason, now).to_string();
        let subject: String = format!(
            "{}: \"{}\" in {}",
            state.as_str(),
            before.name(),
            region_name(&scope.1)
        )
        .chars()
        .take(100)
        .collect();
        let mut history = Vec::new();
        for arn in actions {
            let result = if arn.starts_with("arn:aws:sns:") {
                self.topics
                    .publish(
                        &core_scope,
                        TopicMessage {
                            topic_arn: arn.clone(),
                            subject: Some(subject.clone()),
                            message: message.clone(),
                            service: "cloudwatch.amazonaws.com".into(),
                            source_arn: before.arn().to_owned(),
                        },
                    )
                    .await
                    .map_err(|e| e.to_string())
            } else {
                Err("this action type is not supported by Sightline".to_owned())
            };
            let (summary, data) = match &result {
                Ok(id) => (
                    format!("Successfully executed action {arn}"),
                    serde_json::json!({
                        "actionState": "Succeeded",
                        "stateUpdateTimestamp": now.0.timestamp_millis(),
                        "notificationResource": arn,
                        "publishedMessage": {"messageId": id},
                    }),
                ),
                Err(err) => {
                    tracing::warn!(alarm = %before.name(), action = %arn, error = %err, "alarm action failed");
                    (
                        format!("Failed to execute action {arn}. Received error: \"{err}\""),
                        serde_json::json!({
                            "actionState": "Failed",
                            "stateUpdateTimestamp": now.0.timestamp_millis(),
                            "notificationResource": arn,
                            "error": err,
                        }),
                    )
                }
            };
            history.push(AlarmHistoryItem {
                alarm_name: before.name().to_owned(),
                alarm_type: before.type_name().to_owned(),
                timestamp: Timestamp::now(),
                history_item_type: "Action".into(),
                history_summary: summary,
                history_data: data.to_string(),
            });
        }
        if let Err(e) = store::put_alarms(&self.meta, &scope.0, &scope.1, &[], &history) {
            tracing::warn!(alarm = %before.name(), error = %e, "saving alarm action history failed");
        }
    }
}

fn state_json(state: StateValue, reason: &str, data: Option<&str>) -> serde_json::Value {
    let mut v = serde_json::json!({"stateValue": state.as_str(), "stateReason": reason});
    if let Some(d) = data
        && let Ok(parsed) = serde_json::from_str::<serde_json::Value>(d)
    {
        v["stateReasonData"] = parsed;
    }
    v
}

fn dims_object(dims: &[crate::model::Dimension]) -> serde_json::Value {
    serde_json::Value::Object(
        dims.iter()
            .map(|d| (d.name.clone(), serde_json::Value::String(d.value.clone())))
            .collect(),
    )
}

fn event_metrics(a: &MetricAlarm) -> serde_json::Value {
    if a.metrics.is_empty() {
        // A stable id per alarm, as AWS's events carry one per metric.
        let id = {
            use std::hash::{Hash, Hasher};
            let mut h1 = std::collections::hash_map::DefaultHasher::new();
            a.alarm_arn.hash(&mut h1);
            let mut h2 = std::collections::hash_map::DefaultHasher::new();
            (a.alarm_arn.as_str(), 1u8).hash(&mut h2);
            uuid::Uuid::from_u64_pair(h1.finish(), h2.finish())
        };
        return serde_json::json!([{
            "id": id.to_string(),
            "metricStat": {
                "metric": {
                    "namespace": a.namespace,
                    "name": a.metric_name,
                    "dimensions": dims_object(&a.dimensions),
                },
                "period": a.period,
                "stat": a.statistic.as_ref().or(a.extended_statistic.as_ref()),
            },
            "returnData": true,
        }]);
    }
    serde_json::Value::Array(
        a.metrics
            .iter()
            .map(|q| {
                let mut v =
                    serde_json::json!({"id": q.id, "returnData": q.return_data.unwrap_or(true)});
                if let Some(s) = &q.metric_stat {
                    v["metricStat"] = serde_json::json!({
                        "metric": {
                            "namespace": s.metric.namespace,
                            "name": s.metric.metric_name,
                            "dimensions": dims_object(&s.metric.dimensions),
                        },
                        "period": s.period,
                        "stat": s.stat,
                    });
                }
                if let Some(e) = &q.expression {
                    v["expression"] = serde_json::Value::String(e.clone());
                }
                if let Some(l) = &q.label {
                    v["label"] = serde_json::Value::String(l.clone());
                }
                v
            })
            .collect(),
    )
}

/// The region's display name, as alarm notifications spell it.
pub fn region_name(region: &str) -> String {
    match region {
        "us-east-1" => "US East (N. Virginia)",
        "us-east-2" => "US East (Ohio)",
        "us-west-1" => "US West (N. California)",
        "us-west-2" => "US West (Oregon)",
        "eu-west-1" => "EU (Ireland)",
        "eu-west-2" => "EU (London)",
        "eu-west-3" => "EU (Paris)",
        "eu-central-1" => "EU (Frankfurt)",
        "eu-north-1" => "EU (Stockholm)",
        "ap-southeast-1" => "Asia Pacific (Singapore)",
        "ap-southeast-2" => "Asia Pacific (Sydney)",
        "ap-northeast-1" => "Asia Pacific (Tokyo)",
        "ap-south-1" => "Asia Pacific (Mumbai)",
        "sa-east-1" => "South America (Sao Paulo)",
        "ca-central-1" => "Canada (Central)",
        other => return other.to_owned(),
    }
    .to_owned()
}

/// The alarm notification JSON CloudWatch publishes to SNS topics.
fn notification(
    scope: &ScopeKey,
    alarm: &Alarm,
    state: StateValue,
    reason: &str,
    now: Timestamp,
) -> serde_json::Value {
    let (description, updated, ok, al, insufficient) = match alarm {
        Alarm::Metric(a) => (
            &a.alarm_description,
            a.alarm_configuration_updated_timestamp,
            &a.ok_actions,
            &a.alarm_actions,
            &a.insufficient_data_actions,
        ),
        Alarm::Composite(a) => (
            &a.alarm_description,
            a.alarm_configuration_updated_timestamp,
            &a.ok_actions,
            &a.alarm_actions,
            &a.insufficient_data_actions,
        ),
    };
    let mut doc = serde_json::json!({
        "AlarmName": alarm.name(),
        "AlarmDescription": description,
        "AWSAccountId": scope.0,
        "AlarmConfigurationUpdatedTimestamp": format_time(updated.0.timestamp_millis()),
        "NewStateValue": state.as_str(),
        "NewStateReason": reason,
        "StateChangeTime": format_time(now.0.timestamp_millis()),
        "Region": region_name(&scope.1),
        "AlarmArn": alarm.arn(),
        "OldStateValue": alarm.state().as_str(),
        "OKActions": ok,
        "AlarmActions": al,
        "InsufficientDataActions": insufficient,
    });
    match alarm {
        Alarm::Metric(a) => {
            let mut trigger = serde_json::json!({
                "Period": a.period.or_else(|| crate::alarms::math_period(&a.metrics)),
                "EvaluationPeriods": a.evaluation_periods,
                "DatapointsToAlarm": a.datapoints_to_alarm.unwrap_or(a.evaluation_periods),
                "ComparisonOperator": a.comparison_operator,
                "Threshold": a.threshold,
                "TreatMissingData": a.treat_missing_data.clone().unwrap_or_else(|| "missing".into()),
                "EvaluateLowSampleCountPercentile": a.evaluate_low_sample_count_percentile.clone().unwrap_or_default(),
            });
            if a.metrics.is_empty() {
                trigger["MetricName"] = serde_json::json!(a.metric_name);
                trigger["Namespace"] = serde_json::json!(a.namespace);
                match (&a.statistic, &a.extended_statistic) {
                    (Some(s), _) => {
                        trigger["StatisticType"] = "Statistic".into();
                        trigger["Statistic"] = s.to_uppercase().into();
                    }
                    (None, Some(e)) => {
                        trigger["StatisticType"] = "ExtendedStatistic".into();
                        trigger["ExtendedStatistic"] = e.clone().into();
                    }
                    _ => {}
                }
                trigger["Unit"] = serde_json::json!(a.unit);
                trigger["Dimensions"] = serde_json::Value::Array(
                    a.dimensions
                        .iter()
                        .map(|d| serde_json::json!({"value": d.value, "name": d.name}))
                        .collect(),
                );
            } else {
                trigger["Metrics"] = event_metrics(a);
            }
            doc["Trigger"] = trigger;
        }
        Alarm::Composite(a) => {
            doc["AlarmRule"] = serde_json::Value::String(a.alarm_rule.clone());
        }
    }
    doc
}
