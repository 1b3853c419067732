//! The alarm API: PutMetricAlarm and PutCompositeAlarm validated as CloudWatch does,
//! DescribeAlarms and its filters, DescribeAlarmsForMetric, DeleteAlarms,
//! SetAlarmState, alarm history, actions on and off, and tags of alarms and dashboards.

use crate::engine::{AlarmEntry, CloudWatch, scope_key};
use crate::ingest::{check_dimensions, check_namespace, check_unit};
use crate::model::{
    Alarm, AlarmHistoryItem, CompositeAlarm, Dimension, MetricAlarm, MetricDataQuery, StateValue,
    Statistic, Tag,
};
use crate::query::valid_period;
use crate::{Error, Result, store};
use serde::{Deserialize, Serialize};
use sightline_core::Scope;
use sightline_wire::Timestamp;

pub const COMPARISONS: &[&str] = &[
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
    "LessThanLowerOrGreaterThanUpperThreshold",
    "LessThanLowerThreshold",
    "GreaterThanUpperThreshold",
];

pub const TREATMENTS: &[&str] = &["breaching", "notBreaching", "ignore", "missing"];

pub const INITIAL_REASON: &str = "Unchecked: Initial alarm creation";

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutMetricAlarmInput {
    pub alarm_name: String,
    pub alarm_description: Option<String>,
    pub actions_enabled: Option<bool>,
    #[serde(rename = "OKActions")]
    pub ok_actions: Option<Vec<String>>,
    pub alarm_actions: Option<Vec<String>>,
    pub insufficient_data_actions: Option<Vec<String>>,
    pub metric_name: Option<String>,
    pub namespace: Option<String>,
    pub statistic: Option<String>,
    pub extended_statistic: Option<String>,
    #[serde(default)]
    pub dimensions: Vec<Dimension>,
    pub period: Option<i64>,
    pub unit: Option<String>,
    pub evaluation_periods: i64,
    pub datapoints_to_alarm: Option<i64>,
    pub threshold: Option<f64>,
    pub comparison_operator: String,
    pub treat_missing_data: Option<String>,
    pub evaluate_low_sample_count_percentile: Option<String>,
    pub metrics: Option<Vec<MetricDataQuery>>,
    pub tags: Option<Vec<Tag>>,
    pub threshold_metric_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutCompositeAlarmInput {
    pub alarm_name: String,
    pub alarm_description: Option<String>,
    pub actions_enabled: Option<bool>,
    #[serde(rename = "OKActions")]
    pub ok_actions: Option<Vec<String>>,
    pub alarm_actions: Option<Vec<String>>,
    pub insufficient_data_actions: Option<Vec<String>>,
    pub alarm_rule: String,
    pub tags: Option<Vec<Tag>>,
    pub actions_suppressor: Option<String>,
    pub actions_suppressor_wait_period: Option<i64>,
    pub actions_suppressor_extension_period: Option<i64>,
}

pub fn alarm_arn(scope: &Scope, name: &str) -> String {
    format!(
        "arn:aws:cloudwatch:{}:{}:alarm:{name}",
        scope.region, scope.account_id
    )
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.chars().count() > 255 {
        return Err(Error::InvalidParameterValue(
            "The parameter AlarmName must be between 1 and 255 characters long.".into(),
        ));
    }
    if name.chars().any(|c| c.is_control()) {
        return Err(Error::InvalidParameterValue(format!(
            "The value {name} for parameter AlarmName is invalid."
        )));
    }
    Ok(())
}

fn check_actions(scope: &Scope, list: &[String], param: &str) -> Result<()> {
    if list.len() > 5 {
        return Err(Error::InvalidParameterValue(format!(
            "The collection {param} must not have a size greater than 5."
        )));
    }
    for (i, a) in list.iter().enumerate() {
        let parts: Vec<&str> = a.splitn(6, ':').collect();
        let ok = parts.len() == 6 && parts[0] == "arn" && !parts[2].is_empty();
        if !ok {
            return Err(Error::Validation(format!(
                "Invalid arn syntax: {a} (in {param}.member.{})",
                i + 1
            )));
        }
        if parts[2] == "sns" && (parts[3] != scope.region) {
            return Err(Error::Validation(format!(
                "Invalid region {} specified. Only {} is supported.",
                parts[3], scope.region
            )));
        }
    }
    Ok(())
}

fn check_tags(tags: &[Tag]) -> Result<()> {
    if tags.len() > 50 {
        return Err(Error::InvalidParameterValue(
            "The collection Tags must not have a size greater than 50.".into(),
        ));
    }
    for t in tags {
        if t.key.is_empty() || t.key.len() > 128 || t.value.len() > 256 || t.key.starts_with("aws:")
        {
            return Err(Error::InvalidParameterValue(format!(
                "The value {} for parameter Tags.Key is invalid.",
                t.key
            )));
        }
    }
    Ok(())
}

/// The period a metric-math alarm evaluates at: that of the query it compares.
pub fn math_period(metrics: &[MetricDataQuery]) -> Option<i64> {
    let returned = metrics.iter().find(|m| m.return_data != Some(false))?;
    returned
        .metric_stat
        .as_ref()
        .map(|s| s.period)
        .or(returned.period)
        .or_else(|| {
            metrics
                .iter()
                .filter_map(|m| m.metric_stat.as_ref().map(|s| s.period))
                .min()
        })
}

fn check_alarm_period(period: i64) -> Result<()> {
    if matches!(period, 10 | 20 | 30) || (period >= 60 && period % 60 == 0) {
        Ok(())
    } else {
        Err(Error::InvalidParameterValue(
            "The parameter Period must be 10, 20, 30 or a multiple of 60.".into(),
        ))
    }
}

pub fn check_math_queries(metrics: &[MetricDataQuery], alarm: bool) -> Result<()> {
    if metrics.is_empty() {
        return Err(Error::Validation(
            "The collection Metrics must not be empty.".into(),
        ));
    }
    if metrics.len() > 500 {
        return Err(Error::Validation(
            "The collection MetricDataQueries must not have a size greater than 500.".into(),
        ));
    }
    let mut ids = std::collections::HashSet::new();
    for (i, q) in metrics.iter().enumerate() {
        let p = format!("Metrics.member.{}", i + 1);
        let id_ok = q.id.len() <= 255
            && q.id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && q.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !id_ok {
            return Err(Error::Validation(format!(
                "The value {} for parameter {p}.Id is invalid. Ids must start with a lowercase letter and contain only letters, numbers and underscores.",
                q.id
            )));
        }
        if !ids.insert(q.id.as_str()) {
            return Err(Error::Validation(format!(
                "The values for parameter id in MetricDataQueries are not unique: {}",
                q.id
            )));
        }
        match (&q.metric_stat, &q.expression) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(Error::Validation(format!(
                    "Exactly one of {p}.MetricStat and {p}.Expression must be specified."
                )));
            }
            (Some(s), None) => {
                if !valid_period(s.period) {
                    return Err(Error::Validation(format!(
                        "The parameter {p}.MetricStat.Period must be 1, 5, 10, 30, or a multiple of 60."
                    )));
                }
                if Statistic::parse(&s.stat).is_none() {
                    return Err(Error::Validation(format!(
                        "The value {} for parameter {p}.MetricStat.Stat is invalid.",
                        s.stat
                    )));
                }
                let ns = s.metric.namespace.as_deref().unwrap_or("");
                check_namespace(ns, &format!("{p}.MetricStat.Metric.Namespace"))?;
                if s.metric.metric_name.as_deref().unwrap_or("").is_empty() {
                    return Err(Error::Validation(format!(
                        "The parameter {p}.MetricStat.Metric.MetricName is required."
                    )));
                }
                check_dimensions(
                    &s.metric.dimensions,
                    &format!("{p}.MetricStat.Metric.Dimensions"),
                )?;
                if let Some(u) = &s.unit {
                    check_unit(u, &format!("{p}.MetricStat.Unit"))?;
                }
            }
            (None, Some(e)) => {
                crate::evaluate::parse_expression(&q.id, e)?;
            }
        }
    }
    if alarm {
        let returning = metrics
            .iter()
            .filter(|m| m.return_data != Some(false))
            .count();
        if returning != 1 {
            return Err(Error::Validation(
                "Exactly one element of the metrics list should return data.".into(),
            ));
        }
    } else if metrics.iter().all(|m| m.return_data == Some(false)) {
        return Err(Error::Validation(
            "At least one of the MetricDataQueries must have ReturnData set to true.".into(),
        ));
    }
    Ok(())
}

/// The state an updated alarm keeps (CloudWatch leaves it as it was), or a new
/// alarm's first state.
fn carried_state(
    existing: Option<&AlarmEntry>,
    now: Timestamp,
) -> (StateValue, String, Option<String>, Timestamp, Timestamp) {
    match existing.map(|e| &e.alarm) {
        Some(a) => {
            let (reason, data) = a.reason();
            (
                a.state(),
                reason.to_owned(),
                data.map(str::to_owned),
                a.state_updated(),
                a.state_transitioned(),
            )
        }
        None => (
            StateValue::InsufficientData,
            INITIAL_REASON.to_owned(),
            None,
            now,
            now,
        ),
    }
}

fn config_history(alarm: &Alarm, created: bool, now: Timestamp) -> Result<AlarmHistoryItem> {
    let name = alarm.name().to_owned();
    let body = serde_json::to_value(alarm_for_history(alarm))?;
    let data = if created {
        serde_json::json!({"version": "1.0", "type": "Create", "createdAlarm": body})
    } else {
        serde_json::json!({"version": "1.0", "type": "Update", "updatedAlarm": body})
    };
    Ok(AlarmHistoryItem {
        alarm_type: alarm.type_name().to_owned(),
        timestamp: now,
        history_item_type: "ConfigurationUpdate".into(),
        history_summary: format!(
            "Alarm \"{name}\" {}",
            if created { "created" } else { "updated" }
        ),
        history_data: data.to_string(),
        alarm_name: name,
    })
}

fn alarm_for_history(alarm: &Alarm) -> serde_json::Value {
    let v = match alarm {
        Alarm::Metric(a) => serde_json::to_value(a),
        Alarm::Composite(a) => serde_json::to_value(a),
    };
    let mut v = v.unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        let lowered: serde_json::Map<String, serde_json::Value> = std::mem::take(o)
            .into_iter()
            .map(|(k, v)| {
                let mut c = k.chars();
                let first = c
                    .next()
                    .map(|f| f.to_ascii_lowercase().to_string())
                    .unwrap_or_default();
                (first + c.as_str(), v)
            })
            .collect();
        *o = lowered;
    }
    v
}

impl CloudWatch {
    pub fn alarm(&self, scope: &Scope, name: &str) -> Option<AlarmEntry> {
        self.alarms
            .read()
            .get(&scope_key(scope))
            .and_then(|m| m.get(name))
            .cloned()
    }

    pub async fn put_metric_alarm(&self, scope: &Scope, input: PutMetricAlarmInput) -> Result<()> {
        check_name(&input.alarm_name)?;
        if input
            .alarm_description
            .as_ref()
            .is_some_and(|d| d.chars().count() > 1024)
        {
            return Err(Error::InvalidParameterValue(
                "The parameter AlarmDescription must not be longer than 1024 characters.".into(),
            ));
        }
        let ok_actions = input.ok_actions.clone().unwrap_or_default();
        let alarm_actions = input.alarm_actions.clone().unwrap_or_default();
        let insufficient = input.insufficient_data_actions.clone().unwrap_or_default();
        check_actions(scope, &ok_actions, "OKActions")?;
        check_actions(scope, &alarm_actions, "AlarmActions")?;
        check_actions(scope, &insufficient, "InsufficientDataActions")?;
        let tags = input.tags.clone().unwrap_or_default();
        check_tags(&tags)?;
        if !COMPARISONS.contains(&input.comparison_operator.as_str()) {
            return Err(Error::Validation(format!(
                "1 validation error detected: Value '{}' at 'comparisonOperator' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                input.comparison_operator,
                COMPARISONS.join(", ")
            )));
        }
        let band = input.comparison_operator.contains("Lower")
            || input.comparison_operator.contains("Upper");
        if band {
            return Err(Error::Validation(
                "Anomaly detection band alarms (ThresholdMetricId) are not supported by this server.".into(),
            ));
        }
        if input.threshold.is_none() {
            return Err(Error::Validation(
                "ComparisonOperators for static thresholds require a threshold value.".into(),
            ));
        }
        if let Some(t) = input.threshold
            && !t.is_finite()
        {
            return Err(Error::InvalidParameterValue(
                "The value for parameter Threshold is invalid.".into(),
            ));
        }
        if let Some(t) = &input.treat_missing_data
            && !TREATMENTS.contains(&t.as_str())
        {
            return Err(Error::Validation(format!(
                "The value {t} for parameter TreatMissingData is invalid. Valid values are breaching, notBreaching, ignore and missing."
            )));
        }
        if let Some(e) = &input.evaluate_low_sample_count_percentile
            && e != "evaluate"
            && e != "ignore"
        {
            return Err(Error::Validation(format!(
                "The value {e} for parameter EvaluateLowSampleCountPercentile is invalid."
            )));
        }
        if input.evaluation_periods < 1 {
            return Err(Error::InvalidParameterValue(
                "The parameter EvaluationPeriods must be greater than or equal to 1.".into(),
            ));
        }
        if let Some(m) = input.datapoints_to_alarm
            && (m < 1 || m > input.evaluation_periods)
        {
            return Err(Error::Validation(
                "DatapointsToAlarm must be greater than 0 and less than or equal to EvaluationPeriods.".into(),
            ));
        }
        let metrics = input.metrics.clone().unwrap_or_default();
        let simple = input.metric_name.is_some()
            || input.namespace.is_some()
            || input.statistic.is_some()
            || input.extended_statistic.is_some()
            || !input.dimensions.is_empty()
            || input.period.is_some();
        let period = if !metrics.is_empty() {
            if simple {
                return Err(Error::InvalidParameterCombination(
                    "The parameters MetricName, Namespace, Statistic, ExtendedStatistic, Dimensions and Period cannot be used with Metrics.".into(),
                ));
            }
            check_math_queries(&metrics, true)?;
            let p = math_period(&metrics).ok_or_else(|| {
                Error::Validation("The returned metric of an alarm needs a Period.".into())
            })?;
            check_alarm_period(p)?;
            p
        } else {
            let ns = input.namespace.as_deref().ok_or_else(|| {
                Error::MissingParameter("The parameter Namespace is required.".into())
            })?;
            check_namespace(ns, "Namespace")?;
            if input.metric_name.as_deref().is_none_or(str::is_empty) {
                return Err(Error::MissingParameter(
                    "The parameter MetricName is required.".into(),
                ));
            }
            check_dimensions(&input.dimensions, "Dimensions")?;
            match (&input.statistic, &input.extended_statistic) {
                (Some(_), Some(_)) => {
                    return Err(Error::InvalidParameterCombination(
                        "The parameters Statistic and ExtendedStatistic are mutually exclusive and you have specified both.".into(),
                    ));
                }
                (None, None) => {
                    return Err(Error::MissingParameter(
                        "One of the parameters Statistic and ExtendedStatistic must be specified."
                            .into(),
                    ));
                }
                (Some(s), None) => {
                    if !Statistic::parse(s).is_some_and(|s| s.is_basic()) {
                        return Err(Error::InvalidParameterValue(format!(
                            "The value {s} for parameter Statistic is invalid."
                        )));
                    }
                }
                (None, Some(e)) => {
                    if Statistic::parse_extended(e).is_none() {
                        return Err(Error::InvalidParameterValue(format!(
                            "The value {e} for parameter ExtendedStatistic is invalid."
                        )));
                    }
                }
            }
            if let Some(u) = &input.unit {
                check_unit(u, "Unit")?;
            }
            let p = input.period.ok_or_else(|| {
                Error::MissingParameter("The parameter Period is required.".into())
            })?;
            check_alarm_period(p)?;
            p
        };
        let range = period * input.evaluation_periods;
        if (period < 3600 && range > 86_400) || range > 7 * 86_400 {
            return Err(Error::Validation(
                "The evaluation period (EvaluationPeriods * Period) must not exceed one day for periods under an hour, or seven days.".into(),
            ));
        }
        let now = Timestamp::now();
        let _w = self.alarm_writes.lock().await;
        let existing = self.alarm(scope, &input.alarm_name);
        if let Some(e) = &existing
            && matches!(e.alarm, Alarm::Composite(_))
        {
            return Err(Error::Validation(format!(
                "The alarm {} is a composite alarm and cannot be updated by PutMetricAlarm.",
                input.alarm_name
            )));
        }
        let (state, reason, data, updated, transitioned) = carried_state(existing.as_ref(), now);
        let alarm = Alarm::Metric(MetricAlarm {
            alarm_name: input.alarm_name.clone(),
            alarm_arn: alarm_arn(scope, &input.alarm_name),
            alarm_description: input.alarm_description,
            alarm_configuration_updated_timestamp: now,
            actions_enabled: input.actions_enabled.unwrap_or(true),
            ok_actions,
            alarm_actions,
            insufficient_data_actions: insufficient,
            state_value: state,
            state_reason: reason,
            state_reason_data: data,
            state_updated_timestamp: updated,
            metric_name: input.metric_name,
            namespace: input.namespace,
            statistic: input.statistic,
            extended_statistic: input.extended_statistic,
            dimensions: input.dimensions,
            period: (metrics.is_empty()).then_some(period),
            unit: input.unit,
            evaluation_periods: input.evaluation_periods,
            datapoints_to_alarm: input.datapoints_to_alarm,
            threshold: input.threshold,
            comparison_operator: input.comparison_operator,
            treat_missing_data: input.treat_missing_data,
            evaluate_low_sample_count_percentile: input.evaluate_low_sample_count_percentile,
            metrics,
            threshold_metric_id: input.threshold_metric_id,
            state_transitioned_timestamp: transitioned,
        });
        let tags = match (&existing, input.tags.is_some()) {
            (Some(e), false) => e.tags.clone(),
            _ => tags,
        };
        self.save_new_config(scope, alarm, tags, existing.is_none(), now)
    }

    fn save_new_config(
        &self,
        scope: &Scope,
        alarm: Alarm,
        tags: Vec<Tag>,
        created: bool,
        now: Timestamp,
    ) -> Result<()> {
        let history = config_history(&alarm, created, now)?;
        store::put_alarm(
            &self.meta,
            &scope.account_id,
            &scope.region,
            &alarm,
            &tags,
            std::slice::from_ref(&history),
        )?;
        self.alarms
            .write()
            .entry(scope_key(scope))
            .or_default()
            .insert(
                alarm.name().to_owned(),
                AlarmEntry {
                    alarm,
                    tags,
                    evaluated_ms: 0,
                },
            );
        Ok(())
    }

    pub async fn put_composite_alarm(
        &self,
        scope: &Scope,
        input: PutCompositeAlarmInput,
    ) -> Result<()> {
        check_name(&input.alarm_name)?;
        let ok_actions = input.ok_actions.clone().unwrap_or_default();
        let alarm_actions = input.alarm_actions.clone().unwrap_or_default();
        let insufficient = input.insufficient_data_actions.clone().unwrap_or_default();
        check_actions(scope, &ok_actions, "OKActions")?;
        check_actions(scope, &alarm_actions, "AlarmActions")?;
        check_actions(scope, &insufficient, "InsufficientDataActions")?;
        let tags = input.tags.clone().unwrap_or_default();
        check_tags(&tags)?;
        if input.alarm_rule.is_empty() || input.alarm_rule.len() > 10_240 {
            return Err(Error::Validation(
                "The parameter AlarmRule must be between 1 and 10240 characters long.".into(),
            ));
        }
        let rule = crate::evaluate::parse_rule(&input.alarm_rule)?;
        let referenced: Vec<String> = rule
            .iter()
            .map(|r| crate::evaluate::alarm_name_of(r).to_owned())
            .collect();
        let now = Timestamp::now();
        let _w = self.alarm_writes.lock().await;
        let existing = self.alarm(scope, &input.alarm_name);
        if let Some(e) = &existing
            && matches!(e.alarm, Alarm::Metric(_))
        {
            return Err(Error::Validation(format!(
                "The alarm {} is a metric alarm and cannot be updated by PutCompositeAlarm.",
                input.alarm_name
            )));
        }
        {
            let alarms = self.alarms.read();
            let known = alarms.get(&scope_key(scope));
            let missing: Vec<&String> = referenced
                .iter()
                .filter(|n| **n != input.alarm_name && known.is_none_or(|m| !m.contains_key(*n)))
                .collect();
            if !missing.is_empty() {
                return Err(Error::Validation(format!(
                    "Could not save the composite alarm as alarms [{}] in the alarm rule do not exist",
                    missing
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            // A rule may not reach back to its own alarm through other composites.
            let mut graph: std::collections::HashMap<String, Vec<String>> = known
                .map(|m| {
                    m.iter()
                        .filter_map(|(n, e)| match &e.alarm {
                            Alarm::Composite(c) => {
                                crate::evaluate::parse_rule(&c.alarm_rule).ok().map(|r| {
                                    (
                                        n.clone(),
                                        r.iter()
                                            .map(|x| crate::evaluate::alarm_name_of(x).to_owned())
                                            .collect(),
                                    )
                                })
                            }
                            Alarm::Metric(_) => None,
                        })
                        .collect()
                })
                .unwrap_or_default();
            graph.insert(input.alarm_name.clone(), referenced.clone());
            if let Some(cycle) = crate::evaluate::find_cycle(&graph, &input.alarm_name) {
                return Err(Error::Validation(format!(
                    "The composite alarm rule creates a cycle: {}",
                    cycle.join(" -> ")
                )));
            }
        }
        let (state, reason, data, updated, transitioned) = carried_state(existing.as_ref(), now);
        let alarm = Alarm::Composite(CompositeAlarm {
            alarm_name: input.alarm_name.clone(),
            alarm_arn: alarm_arn(scope, &input.alarm_name),
            alarm_description: input.alarm_description,
            alarm_configuration_updated_timestamp: now,
            actions_enabled: input.actions_enabled.unwrap_or(true),
            ok_actions,
            alarm_actions,
            insufficient_data_actions: insufficient,
            alarm_rule: input.alarm_rule,
            state_value: state,
            state_reason: reason,
            state_reason_data: data,
            state_updated_timestamp: updated,
            state_transitioned_timestamp: transitioned,
            actions_suppressor: input.actions_suppressor,
            actions_suppressor_wait_period: input.actions_suppressor_wait_period,
            actions_suppressor_extension_period: input.actions_suppressor_extension_period,
        });
        let tags = match (&existing, input.tags.is_some()) {
            (Some(e), false) => e.tags.clone(),
            _ => tags,
        };
        self.save_new_config(scope, alarm, tags, existing.is_none(), now)?;
        drop(_w);
        // A composite alarm takes its state from its children at once.
        self.evaluate_composites(&scope_key(scope)).await
    }

    pub async fn delete_alarms(&self, scope: &Scope, names: &[String]) -> Result<()> {
        if names.len() > 100 {
            return Err(Error::InvalidParameterValue(
                "The collection AlarmNames must not have a size greater than 100.".into(),
            ));
        }
        let _w = self.alarm_writes.lock().await;
        let key = scope_key(scope);
        {
            let alarms = self.alarms.read();
            let known = alarms.get(&key);
            let missing: Vec<&String> = names
                .iter()
                .filter(|n| known.is_none_or(|m| !m.contains_key(*n)))
                .collect();
            if !missing.is_empty() {
                return Err(Error::ResourceNotFound(format!(
                    "{} {} not found",
                    if missing.len() == 1 {
                        "Alarm"
                    } else {
                        "Alarms"
                    },
                    missing
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        store::delete_alarms(&self.meta, &scope.account_id, &scope.region, names)?;
        let mut alarms = self.alarms.write();
        if let Some(m) = alarms.get_mut(&key) {
            for n in names {
                m.remove(n);
            }
        }
        Ok(())
    }

    pub async fn set_actions_enabled(
        &self,
        scope: &Scope,
        names: &[String],
        on: bool,
    ) -> Result<()> {
        let _w = self.alarm_writes.lock().await;
        let key = scope_key(scope);
        let changed: Vec<AlarmEntry> = {
            let alarms = self.alarms.read();
            names
                .iter()
                .filter_map(|n| alarms.get(&key).and_then(|m| m.get(n)).cloned())
                .map(|mut e| {
                    e.alarm.set_actions_enabled(on);
                    e
                })
                .collect()
        };
        let rows: Vec<(&Alarm, &[Tag])> = changed
            .iter()
            .map(|e| (&e.alarm, e.tags.as_slice()))
            .collect();
        store::put_alarms(&self.meta, &scope.account_id, &scope.region, &rows, &[])?;
        let mut alarms = self.alarms.write();
        let m = alarms.entry(key).or_default();
        for e in changed {
            if let Some(slot) = m.get_mut(e.alarm.name()) {
                slot.alarm.set_actions_enabled(on);
            }
        }
        Ok(())
    }

    pub async fn set_alarm_state(
        &self,
        scope: &Scope,
        name: &str,
        state: &str,
        reason: String,
        reason_data: Option<String>,
    ) -> Result<()> {
        let value = StateValue::parse(state).ok_or_else(|| {
            Error::Validation(format!(
                "1 validation error detected: Value '{state}' at 'stateValue' failed to satisfy constraint: Member must satisfy enum value set: [INSUFFICIENT_DATA, ALARM, OK]"
            ))
        })?;
        if reason.chars().count() > 1023 {
            return Err(Error::Validation(
                "The parameter StateReason must not be longer than 1023 characters.".into(),
            ));
        }
        if let Some(d) = &reason_data
            && (d.len() > 4000 || serde_json::from_str::<serde_json::Value>(d).is_err())
        {
            return Err(Error::InvalidFormat(
                "The parameter StateReasonData must be valid JSON of at most 4000 characters."
                    .into(),
            ));
        }
        if self.alarm(scope, name).is_none() {
            return Err(Error::ResourceNotFound(format!("Alarm {name} not found")));
        }
        self.transition(&scope_key(scope), name, value, reason, reason_data, true)
            .await?;
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAlarmsInput {
    pub alarm_names: Option<Vec<String>>,
    pub alarm_name_prefix: Option<String>,
    pub alarm_types: Option<Vec<String>>,
    pub children_of_alarm_name: Option<String>,
    pub parents_of_alarm_name: Option<String>,
    pub state_value: Option<String>,
    pub action_prefix: Option<String>,
    pub max_records: Option<i64>,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAlarmsOutput {
    pub composite_alarms: Vec<CompositeAlarm>,
    pub metric_alarms: Vec<MetricAlarm>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

fn page_limit(max: Option<i64>, default: i64) -> Result<usize> {
    match max {
        None => Ok(default as usize),
        Some(n @ 1..=100) => Ok(n as usize),
        Some(n) => Err(Error::InvalidParameterValue(format!(
            "The value {n} for parameter MaxRecords is invalid. It must be between 1 and 100."
        ))),
    }
}

fn offset_token(token: &Option<String>) -> Result<usize> {
    match token {
        None => Ok(0),
        Some(t) => t
            .strip_prefix("o")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| {
                Error::InvalidNextToken("The service cannot process the NextToken.".into())
            }),
    }
}

impl CloudWatch {
    pub fn describe_alarms(
        &self,
        scope: &Scope,
        input: DescribeAlarmsInput,
    ) -> Result<DescribeAlarmsOutput> {
        if input.alarm_names.is_some() && input.alarm_name_prefix.is_some() {
            return Err(Error::InvalidParameterCombination(
                "AlarmNames and AlarmNamePrefix are mutually exclusive.".into(),
            ));
        }
        let limit = page_limit(input.max_records, 50)?;
        let skip = offset_token(&input.next_token)?;
        let types = input
            .alarm_types
            .clone()
            .unwrap_or_else(|| vec!["MetricAlarm".into()]);
        for t in &types {
            if t != "MetricAlarm" && t != "CompositeAlarm" {
                return Err(Error::Validation(format!(
                    "The value {t} for parameter AlarmTypes is invalid."
                )));
            }
        }
        let state = match &input.state_value {
            Some(s) => Some(StateValue::parse(s).ok_or_else(|| {
                Error::Validation(format!(
                    "The value {s} for parameter StateValue is invalid."
                ))
            })?),
            None => None,
        };
        let alarms = self.alarms.read();
        let empty = std::collections::BTreeMap::new();
        let all = alarms.get(&scope_key(scope)).unwrap_or(&empty);
        // Children and parents narrow the set to alarms a composite rule connects.
        let related: Option<Vec<String>> = if let Some(parent) = &input.children_of_alarm_name {
            Some(match all.get(parent).map(|e| &e.alarm) {
                Some(Alarm::Composite(c)) => crate::evaluate::parse_rule(&c.alarm_rule)
                    .map(|r| {
                        r.iter()
                            .map(|x| crate::evaluate::alarm_name_of(x).to_owned())
                            .collect()
                    })
                    .unwrap_or_default(),
                _ => Vec::new(),
            })
        } else {
            input.parents_of_alarm_name.as_ref().map(|child| {
                all.iter()
                    .filter_map(|(n, e)| match &e.alarm {
                        Alarm::Composite(c) => crate::evaluate::parse_rule(&c.alarm_rule)
                            .ok()
                            .filter(|r| {
                                r.iter().any(|x| crate::evaluate::alarm_name_of(x) == child)
                            })
                            .map(|_| n.clone()),
                        Alarm::Metric(_) => None,
                    })
                    .collect()
            })
        };
        let selected: Vec<&AlarmEntry> = all
            .values()
            .filter(|e| types.iter().any(|t| t == e.alarm.type_name()))
            .filter(|e| {
                input
                    .alarm_names
                    .as_ref()
                    .is_none_or(|n| n.iter().any(|x| x == e.alarm.name()))
            })
            .filter(|e| {
                input
                    .alarm_name_prefix
                    .as_deref()
                    .is_none_or(|p| e.alarm.name().starts_with(p))
            })
            .filter(|e| state.is_none_or(|s| e.alarm.state() == s))
            .filter(|e| {
                input
                    .action_prefix
                    .as_deref()
                    .is_none_or(|p| e.alarm.all_actions().any(|a| a.starts_with(p)))
            })
            .filter(|e| {
                related
                    .as_ref()
                    .is_none_or(|r| r.iter().any(|x| x == e.alarm.name()))
            })
            .collect();
        let mut out = DescribeAlarmsOutput::default();
        for e in selected.iter().skip(skip).take(limit) {
            match &e.alarm {
                Alarm::Metric(a) => out.metric_alarms.push(a.clone()),
                Alarm::Composite(a) => out.composite_alarms.push(a.clone()),
            }
        }
        if skip + limit < selected.len() {
            out.next_token = Some(format!("o{}", skip + limit));
        }
        Ok(out)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAlarmsForMetricInput {
    pub metric_name: String,
    pub namespace: String,
    pub statistic: Option<String>,
    pub extended_statistic: Option<String>,
    #[serde(default)]
    pub dimensions: Vec<Dimension>,
    pub period: Option<i64>,
    pub unit: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAlarmsForMetricOutput {
    pub metric_alarms: Vec<MetricAlarm>,
}

impl CloudWatch {
    pub fn describe_alarms_for_metric(
        &self,
        scope: &Scope,
        input: DescribeAlarmsForMetricInput,
    ) -> Result<DescribeAlarmsForMetricOutput> {
        let mut want_dims = input.dimensions.clone();
        want_dims.sort();
        let alarms = self.alarms.read();
        let mut out = Vec::new();
        for e in alarms
            .get(&scope_key(scope))
            .into_iter()
            .flat_map(|m| m.values())
        {
            let Alarm::Metric(a) = &e.alarm else { continue };
            let mut dims = a.dimensions.clone();
            dims.sort();
            let matches = a.metric_name.as_deref() == Some(input.metric_name.as_str())
                && a.namespace.as_deref() == Some(input.namespace.as_str())
                && (input.dimensions.is_empty() || dims == want_dims)
                && input
                    .statistic
                    .as_ref()
                    .is_none_or(|s| a.statistic.as_ref() == Some(s))
                && input
                    .extended_statistic
                    .as_ref()
                    .is_none_or(|s| a.extended_statistic.as_ref() == Some(s))
                && input.period.is_none_or(|p| a.period == Some(p))
                && input
                    .unit
                    .as_ref()
                    .is_none_or(|u| a.unit.as_ref() == Some(u));
            if matches {
                out.push(a.clone());
            }
        }
        Ok(DescribeAlarmsForMetricOutput { metric_alarms: out })
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAlarmHistoryInput {
    pub alarm_name: Option<String>,
    pub alarm_types: Option<Vec<String>>,
    pub history_item_type: Option<String>,
    pub start_date: Option<Timestamp>,
    pub end_date: Option<Timestamp>,
    pub max_records: Option<i64>,
    pub next_token: Option<String>,
    pub scan_by: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAlarmHistoryOutput {
    pub alarm_history_items: Vec<AlarmHistoryItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

const HISTORY_TYPES: &[&str] = &["ConfigurationUpdate", "StateUpdate", "Action"];

impl CloudWatch {
    pub fn describe_alarm_history(
        &self,
        scope: &Scope,
        input: DescribeAlarmHistoryInput,
    ) -> Result<DescribeAlarmHistoryOutput> {
        let limit = page_limit(input.max_records, 100)?;
        let skip = offset_token(&input.next_token)?;
        if let Some(t) = &input.history_item_type
            && !HISTORY_TYPES.contains(&t.as_str())
        {
            return Err(Error::Validation(format!(
                "The value {t} for parameter HistoryItemType is invalid."
            )));
        }
        let descending = match input.scan_by.as_deref() {
            None | Some("TimestampDescending") => true,
            Some("TimestampAscending") => false,
            Some(o) => {
                return Err(Error::Validation(format!(
                    "The value {o} for parameter ScanBy is invalid."
                )));
            }
        };
        let from = input.start_date.map_or(0, |t| t.0.timestamp_millis());
        let to = input.end_date.map_or(i64::MAX, |t| t.0.timestamp_millis());
        let types = input
            .alarm_types
            .clone()
            .unwrap_or_else(|| vec!["MetricAlarm".into(), "CompositeAlarm".into()]);
        let mut items: Vec<AlarmHistoryItem> = store::history(
            &self.meta,
            &scope.account_id,
            &scope.region,
            input.alarm_name.as_deref(),
            from,
            to,
        )?
        .into_iter()
        .filter(|h| types.contains(&h.alarm_type))
        .filter(|h| {
            input
                .history_item_type
                .as_ref()
                .is_none_or(|t| *t == h.history_item_type)
        })
        .collect();
        if descending {
            items.reverse();
        }
        let total = items.len();
        let page: Vec<AlarmHistoryItem> = items.into_iter().skip(skip).take(limit).collect();
        let next = (skip + page.len() < total).then(|| format!("o{}", skip + page.len()));
        Ok(DescribeAlarmHistoryOutput {
            alarm_history_items: page,
            next_token: next,
        })
    }

    /// Tags of an alarm or dashboard ARN; the resource must exist.
    pub fn tags_of(&self, scope: &Scope, arn: &str) -> Result<Vec<Tag>> {
        self.with_tags(scope, arn, |t| {
            let _ = t;
        })
    }

    pub fn tag_resource(&self, scope: &Scope, arn: &str, add: Vec<Tag>) -> Result<()> {
        check_tags(&add)?;
        self.with_tags(scope, arn, |tags| {
            for t in &add {
                match tags.iter_mut().find(|x| x.key == t.key) {
                    Some(x) => x.value.clone_from(&t.value),
                    None => tags.push(t.clone()),
                }
            }
        })
        .map(|_| ())
    }

    pub fn untag_resource(&self, scope: &Scope, arn: &str, keys: Vec<String>) -> Result<()> {
        self.with_tags(scope, arn, |tags| tags.retain(|t| !keys.contains(&t.key)))
            .map(|_| ())
    }

    fn with_tags(
        &self,
        scope: &Scope,
        arn: &str,
        edit: impl FnOnce(&mut Vec<Tag>),
    ) -> Result<Vec<Tag>> {
        let not_found = || Error::TagResourceNotFound(format!("Resource {arn} not found"));
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() != 6 || parts[0] != "arn" || parts[2] != "cloudwatch" {
            return Err(Error::InvalidParameterValue(format!(
                "The value {arn} for parameter ResourceARN is invalid."
            )));
        }
        if parts[4] != scope.account_id {
            return Err(not_found());
        }
        if let Some(name) = parts[5].strip_prefix("alarm:") {
            if parts[3] != scope.region {
                return Err(not_found());
            }
            let key = scope_key(scope);
            let mut entry = self.alarm(scope, name).ok_or_else(not_found)?;
            let before = entry.tags.clone();
            edit(&mut entry.tags);
            if entry.tags != before {
                store::put_alarm(
                    &self.meta,
                    &scope.account_id,
                    &scope.region,
                    &entry.alarm,
                    &entry.tags,
                    &[],
                )?;
                if let Some(slot) = self
                    .alarms
                    .write()
                    .get_mut(&key)
                    .and_then(|m| m.get_mut(name))
                {
                    slot.tags.clone_from(&entry.tags);
                }
            }
            return Ok(entry.tags);
        }
        if let Some(name) = parts[5].strip_prefix("dashboard/") {
            let (d, mut tags) = self
                .dashboards
                .read()
                .get(&scope.account_id)
                .and_then(|m| m.get(name))
                .cloned()
                .ok_or_else(not_found)?;
            let before = tags.clone();
            edit(&mut tags);
            if tags != before {
                store::put_dashboard(&self.meta, &scope.account_id, &d, &tags)?;
                if let Some(slot) = self
                    .dashboards
                    .write()
                    .get_mut(&scope.account_id)
                    .and_then(|m| m.get_mut(name))
                {
                    slot.1.clone_from(&tags);
                }
            }
            return Ok(tags);
        }
        Err(not_found())
    }
}
