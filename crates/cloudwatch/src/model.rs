//! Domain types of CloudWatch: metric identities and aggregates, statistics, alarms
//! with their state, history items and dashboards. Alarm and query types are also the
//! wire shapes (PascalCase), so what DescribeAlarms returns is what PutMetricAlarm kept.

use crate::sketch::Sketch;
use serde::{Deserialize, Serialize};
use sightline_wire::Timestamp;
use std::sync::Arc;

/// A metric within one (account, region): namespace, name and the canonical JSON of
/// its dimension set (sorted by name).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    pub namespace: Arc<str>,
    pub name: Arc<str>,
    pub dims: Arc<str>,
}

impl SeriesKey {
    pub fn new(namespace: &str, name: &str, dims: &[(String, String)]) -> SeriesKey {
        SeriesKey {
            namespace: namespace.into(),
            name: name.into(),
            dims: sightline_lake::datasets::metrics::dimensions_json(dims).into(),
        }
    }

    /// The dimensions back as (name, value) pairs, sorted by name.
    pub fn dimensions(&self) -> Vec<(String, String)> {
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&self.dims)
            .map(|m| {
                m.into_iter()
                    .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// What a period (or one stored sample) aggregates to.
#[derive(Debug, Clone, PartialEq)]
pub struct Agg {
    pub sum: f64,
    pub count: f64,
    pub min: f64,
    pub max: f64,
    /// The values' distribution; `None` with `percentiles` true means a single value
    /// (`sum`) of weight `count`, which needs no sketch.
    pub sketch: Option<Box<Sketch>>,
    /// False once a statistic set whose values are unknown went in: CloudWatch then
    /// has no percentiles for the period.
    pub percentiles: bool,
    pub unit: Option<Arc<str>>,
}

impl Agg {
    pub fn single(value: f64, unit: Option<Arc<str>>) -> Agg {
        Agg {
            sum: value,
            count: 1.0,
            min: value,
            max: value,
            sketch: None,
            percentiles: true,
            unit,
        }
    }

    /// The sketch of this aggregate, built on demand for single values.
    fn sketch_owned(&self) -> Option<Sketch> {
        match &self.sketch {
            Some(s) => Some((**s).clone()),
            None if self.percentiles && self.min == self.max => {
                Some(Sketch::of(self.min, self.count))
            }
            None => None,
        }
    }

    pub fn merge(&mut self, other: &Agg) {
        let percentiles = self.percentiles && other.percentiles;
        let sketch = if percentiles {
            match (self.sketch_owned(), other.sketch_owned()) {
                (Some(mut a), Some(b)) => {
                    a.merge(&b);
                    Some(Box::new(a))
                }
                _ => None,
            }
        } else {
            None
        };
        self.sum += other.sum;
        self.count += other.count;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.percentiles = percentiles && sketch.is_some();
        self.sketch = sketch;
        if self.unit.is_none() {
            self.unit.clone_from(&other.unit);
        }
    }

    /// Adds `agg` to the aggregate at `key`, or places it there: how samples become
    /// buckets, buckets periods, and seconds minutes.
    pub fn merge_at<K: Ord>(map: &mut std::collections::BTreeMap<K, Agg>, key: K, agg: Agg) {
        match map.entry(key) {
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(agg);
            }
            std::collections::btree_map::Entry::Occupied(mut o) => o.get_mut().merge(&agg),
        }
    }

    pub fn stat(&self, stat: &Statistic) -> Option<f64> {
        if self.count <= 0.0 {
            return None;
        }
        Some(match stat {
            Statistic::SampleCount => self.count,
            Statistic::Sum => self.sum,
            Statistic::Average => self.sum / self.count,
            Statistic::Minimum => self.min,
            Statistic::Maximum => self.max,
            Statistic::Percentile(p) => {
                if !self.percentiles {
                    return None;
                }
                match &self.sketch {
                    Some(s) => s.percentile(*p, self.min, self.max)?,
                    None => self.min,
                }
            }
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Statistic {
    SampleCount,
    Average,
    Sum,
    Minimum,
    Maximum,
    /// `pNN` or `pNN.NN`.
    Percentile(f64),
}

impl Statistic {
    pub fn parse(s: &str) -> Option<Statistic> {
        Some(match s {
            "SampleCount" => Statistic::SampleCount,
            "Average" => Statistic::Average,
            "Sum" => Statistic::Sum,
            "Minimum" => Statistic::Minimum,
            "Maximum" => Statistic::Maximum,
            _ => return Self::parse_extended(s),
        })
    }

    /// `p0`–`p100` with up to two decimals, as ExtendedStatistic accepts.
    pub fn parse_extended(s: &str) -> Option<Statistic> {
        let n = s.strip_prefix('p')?;
        let (int, frac) = n.split_once('.').unwrap_or((n, ""));
        if int.is_empty()
            || int.len() > 3
            || frac.len() > 2
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || (n.contains('.') && frac.is_empty())
        {
            return None;
        }
        let v: f64 = n.parse().ok()?;
        (0.0..=100.0)
            .contains(&v)
            .then_some(Statistic::Percentile(v))
    }

    pub fn is_basic(&self) -> bool {
        !matches!(self, Statistic::Percentile(_))
    }
}

pub const UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "PascalCase")]
pub struct Dimension {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Metric {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric_name: Option<String>,
    #[serde(default)]
    pub dimensions: Vec<Dimension>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct MetricStat {
    pub metric: Metric,
    pub period: i64,
    pub stat: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct MetricDataQuery {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric_stat: Option<MetricStat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_data: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
pub enum StateValue {
    #[serde(rename = "OK")]
    Ok,
    #[serde(rename = "ALARM")]
    Alarm,
    #[serde(rename = "INSUFFICIENT_DATA")]
    InsufficientData,
}

impl StateValue {
    pub fn as_str(self) -> &'static str {
        match self {
            StateValue::Ok => "OK",
            StateValue::Alarm => "ALARM",
            StateValue::InsufficientData => "INSUFFICIENT_DATA",
        }
    }

    pub fn parse(s: &str) -> Option<StateValue> {
        Some(match s {
            "OK" => StateValue::Ok,
            "ALARM" => StateValue::Alarm,
            "INSUFFICIENT_DATA" => StateValue::InsufficientData,
            _ => return None,
        })
    }
}

/// A metric alarm as PutMetricAlarm configures it and DescribeAlarms shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct MetricAlarm {
    pub alarm_name: String,
    pub alarm_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alarm_description: Option<String>,
    pub alarm_configuration_updated_timestamp: Timestamp,
    pub actions_enabled: bool,
    #[serde(rename = "OKActions")]
    pub ok_actions: Vec<String>,
    pub alarm_actions: Vec<String>,
    pub insufficient_data_actions: Vec<String>,
    pub state_value: StateValue,
    pub state_reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_reason_data: Option<String>,
    pub state_updated_timestamp: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statistic: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extended_statistic: Option<String>,
    #[serde(default)]
    pub dimensions: Vec<Dimension>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    pub evaluation_periods: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datapoints_to_alarm: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    pub comparison_operator: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub treat_missing_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluate_low_sample_count_percentile: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<MetricDataQuery>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold_metric_id: Option<String>,
    pub state_transitioned_timestamp: Timestamp,
}

/// A composite alarm as PutCompositeAlarm configures it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct CompositeAlarm {
    pub alarm_name: String,
    pub alarm_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alarm_description: Option<String>,
    pub alarm_configuration_updated_timestamp: Timestamp,
    pub actions_enabled: bool,
    #[serde(rename = "OKActions")]
    pub ok_actions: Vec<String>,
    pub alarm_actions: Vec<String>,
    pub insufficient_data_actions: Vec<String>,
    pub alarm_rule: String,
    pub state_value: StateValue,
    pub state_reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_reason_data: Option<String>,
    pub state_updated_timestamp: Timestamp,
    pub state_transitioned_timestamp: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actions_suppressor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actions_suppressor_wait_period: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actions_suppressor_extension_period: Option<i64>,
}

/// Either kind of alarm (tags are kept beside, as DescribeAlarms omits them). Alarms
/// live in maps, one per name, so the variants' size difference costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum Alarm {
    Metric(MetricAlarm),
    Composite(CompositeAlarm),
}

impl Alarm {
    pub fn name(&self) -> &str {
        match self {
            Alarm::Metric(a) => &a.alarm_name,
            Alarm::Composite(a) => &a.alarm_name,
        }
    }

    pub fn arn(&self) -> &str {
        match self {
            Alarm::Metric(a) => &a.alarm_arn,
            Alarm::Composite(a) => &a.alarm_arn,
        }
    }

    pub fn state(&self) -> StateValue {
        match self {
            Alarm::Metric(a) => a.state_value,
            Alarm::Composite(a) => a.state_value,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Alarm::Metric(_) => "MetricAlarm",
            Alarm::Composite(_) => "CompositeAlarm",
        }
    }

    pub fn actions_enabled(&self) -> bool {
        match self {
            Alarm::Metric(a) => a.actions_enabled,
            Alarm::Composite(a) => a.actions_enabled,
        }
    }

    pub fn set_actions_enabled(&mut self, on: bool) {
        match self {
            Alarm::Metric(a) => a.actions_enabled = on,
            Alarm::Composite(a) => a.actions_enabled = on,
        }
    }

    pub fn actions_for(&self, state: StateValue) -> &[String] {
        let (ok, alarm, insufficient) = match self {
            Alarm::Metric(a) => (
                &a.ok_actions,
                &a.alarm_actions,
                &a.insufficient_data_actions,
            ),
            Alarm::Composite(a) => (
                &a.ok_actions,
                &a.alarm_actions,
                &a.insufficient_data_actions,
            ),
        };
        match state {
            StateValue::Ok => ok,
            StateValue::Alarm => alarm,
            StateValue::InsufficientData => insufficient,
        }
    }

    pub fn all_actions(&self) -> impl Iterator<Item = &String> {
        [
            StateValue::Ok,
            StateValue::Alarm,
            StateValue::InsufficientData,
        ]
        .into_iter()
        .flat_map(|s| self.actions_for(s).iter())
    }

    /// Sets the state; returns false when it was already that value (only the reason
    /// is refreshed then, and no transition happened).
    pub fn set_state(
        &mut self,
        value: StateValue,
        reason: String,
        reason_data: Option<String>,
        now: Timestamp,
    ) -> bool {
        let (v, r, d, updated, transitioned) = match self {
            Alarm::Metric(a) => (
                &mut a.state_value,
                &mut a.state_reason,
                &mut a.state_reason_data,
                &mut a.state_updated_timestamp,
                &mut a.state_transitioned_timestamp,
            ),
            Alarm::Composite(a) => (
                &mut a.state_value,
                &mut a.state_reason,
                &mut a.state_reason_data,
                &mut a.state_updated_timestamp,
                &mut a.state_transitioned_timestamp,
            ),
        };
        let changed = *v != value;
        *v = value;
        *r = reason;
        *d = reason_data;
        *updated = now;
        if changed {
            *transitioned = now;
        }
        changed
    }

    pub fn state_updated(&self) -> Timestamp {
        match self {
            Alarm::Metric(a) => a.state_updated_timestamp,
            Alarm::Composite(a) => a.state_updated_timestamp,
        }
    }

    pub fn state_transitioned(&self) -> Timestamp {
        match self {
            Alarm::Metric(a) => a.state_transitioned_timestamp,
            Alarm::Composite(a) => a.state_transitioned_timestamp,
        }
    }

    pub fn reason(&self) -> (&str, Option<&str>) {
        match self {
            Alarm::Metric(a) => (&a.state_reason, a.state_reason_data.as_deref()),
            Alarm::Composite(a) => (&a.state_reason, a.state_reason_data.as_deref()),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct AlarmHistoryItem {
    pub alarm_name: String,
    pub alarm_type: String,
    pub timestamp: Timestamp,
    pub history_item_type: String,
    pub history_summary: String,
    pub history_data: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Dashboard {
    pub name: String,
    pub body: String,
    pub modified: Timestamp,
}
