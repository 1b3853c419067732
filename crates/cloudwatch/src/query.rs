//! Reading metrics: GetMetricStatistics and the MetricStat queries of GetMetricData
//! (periods aligned as CloudWatch aligns them, served from the recent window in memory
//! or from the lake for older ranges), and ListMetrics over the catalog.

use crate::engine::{CloudWatch, now_ms, scope_key};
use crate::hot::{HOT_SECONDS, ScopeKey};
use crate::ingest::{check_dimensions, check_namespace, check_unit};
use crate::model::{Agg, Dimension, Metric, SeriesKey, Statistic};
use crate::{Error, Result};
use serde::Deserialize;
use sightline_core::Scope;
use std::collections::BTreeMap;

/// The most datapoints GetMetricStatistics returns.
pub const MAX_DATAPOINTS: i64 = 1440;

/// Whether CloudWatch accepts `period` for reading (1, 5, 10, 30 or minutes).
pub fn valid_period(period: i64) -> bool {
    matches!(period, 1 | 5 | 10 | 30) || (period >= 60 && period % 60 == 0)
}

/// The first bucket of a range: CloudWatch rounds the start down to the minute (to the
/// period for high-resolution periods), to five minutes past 15 days and to the hour
/// past 63 days.
pub fn align_start(start_s: i64, period: i64, now_s: i64) -> i64 {
    let age = now_s - start_s;
    let unit = if period < 60 {
        period.max(1)
    } else if age > 63 * 86_400 {
        3600
    } else if age > 15 * 86_400 {
        300
    } else {
        60
    };
    start_s - start_s.rem_euclid(unit)
}

fn unit_matches(agg: &Agg, unit: Option<&str>) -> bool {
    match unit {
        None => true,
        Some(u) => agg.unit.as_deref().unwrap_or("None") == u,
    }
}

impl CloudWatch {
    /// Aggregates of one metric per period, keyed by bucket start (epoch seconds).
    pub async fn period_aggs(
        &self,
        scope: &ScopeKey,
        key: &SeriesKey,
        unit: Option<&str>,
        start_s: i64,
        end_s: i64,
        period: i64,
    ) -> Result<BTreeMap<i64, Agg>> {
        let now_s = now_ms() / 1000;
        let first = align_start(start_s, period, now_s);
        let mut out: BTreeMap<i64, Agg> = BTreeMap::new();
        let mut add = |t: i64, a: &Agg| {
            if t < first || t >= end_s || !unit_matches(a, unit) {
                return;
            }
            let b = first + (t - first).div_euclid(period) * period;
            Agg::merge_at(&mut out, b, a.clone());
        };
        if first >= now_s - HOT_SECONDS {
            self.hot.for_each(scope, key, first, end_s, add);
        } else {
            for (_, t, _, a) in self
                .lake_period_rows(scope, key, first, end_s, period)
                .await?
            {
                add(t, &a);
            }
        }
        Ok(out)
    }

    /// One statistic of a metric per period: (bucket start, value), oldest first.
    /// `window` is (start, end, period) in seconds.
    pub async fn stat_series(
        &self,
        scope: &ScopeKey,
        key: &SeriesKey,
        stat: &Statistic,
        unit: Option<&str>,
        window: (i64, i64, i64),
    ) -> Result<Vec<(i64, f64)>> {
        let (start_s, end_s, period) = window;
        Ok(self
            .period_aggs(scope, key, unit, start_s, end_s, period)
            .await?
            .into_iter()
            .filter_map(|(t, a)| a.stat(stat).map(|v| (t, v)))
            .collect())
    }

    /// Metrics of a scope that had data since `since_ms`, in catalog order.
    pub fn metrics_since(&self, scope: &ScopeKey, since_ms: i64) -> Vec<SeriesKey> {
        self.catalog
            .read()
            .get(scope)
            .map(|m| {
                m.iter()
                    .filter(|(_, e)| e.last_seen >= since_ms)
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetMetricStatisticsInput {
    pub namespace: String,
    pub metric_name: String,
    #[serde(default)]
    pub dimensions: Vec<Dimension>,
    pub start_time: sightline_wire::Timestamp,
    pub end_time: sightline_wire::Timestamp,
    pub period: i64,
    pub statistics: Option<Vec<String>>,
    pub extended_statistics: Option<Vec<String>>,
    pub unit: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Datapoint {
    pub timestamp: sightline_wire::Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_count: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub average: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sum: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum: Option<f64>,
    pub unit: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extended_statistics: Option<sightline_wire::WireMap<f64>>,
}

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetMetricStatisticsOutput {
    pub label: String,
    pub datapoints: Vec<Datapoint>,
}

pub fn timestamp(s: i64) -> sightline_wire::Timestamp {
    sightline_wire::Timestamp(chrono::DateTime::from_timestamp(s, 0).unwrap_or_default())
}

/// Checks a read range and period; returns (start, end) in seconds.
pub fn check_range(
    start: &sightline_wire::Timestamp,
    end: &sightline_wire::Timestamp,
    period: i64,
) -> Result<(i64, i64)> {
    if !valid_period(period) {
        return Err(Error::InvalidParameterValue(
            "The parameter Period must be 1, 5, 10, 30, or a multiple of 60.".into(),
        ));
    }
    let (s, e) = (start.0.timestamp(), end.0.timestamp());
    if s >= e {
        return Err(Error::InvalidParameterValue(
            "The parameter StartTime must be less than the parameter EndTime.".into(),
        ));
    }
    Ok((s, e))
}

impl CloudWatch {
    pub async fn get_metric_statistics(
        &self,
        scope: &Scope,
        input: GetMetricStatisticsInput,
    ) -> Result<GetMetricStatisticsOutput> {
        check_namespace(&input.namespace, "Namespace")?;
        let dims = check_dimensions(&input.dimensions, "Dimensions")?;
        if let Some(u) = &input.unit {
            check_unit(u, "Unit")?;
        }
        let basic = input.statistics.clone().unwrap_or_default();
        let extended = input.extended_statistics.clone().unwrap_or_default();
        match (basic.is_empty(), extended.is_empty()) {
            (true, true) => {
                return Err(Error::InvalidParameterCombination(
                    "Must specify either Statistics or ExtendedStatistics.".into(),
                ));
            }
            (false, false) => {
                return Err(Error::InvalidParameterCombination(
                    "The parameters Statistics and ExtendedStatistics are mutually exclusive and you have specified both.".into(),
                ));
            }
            _ => {}
        }
        if basic.len() > 5 {
            return Err(Error::InvalidParameterValue(
                "The collection Statistics must not have a size greater than 5.".into(),
            ));
        }
        if extended.len() > 10 {
            return Err(Error::InvalidParameterValue(
                "The collection ExtendedStatistics must not have a size greater than 10.".into(),
            ));
        }
        let mut stats = Vec::new();
        for (i, s) in basic.iter().enumerate() {
            match Statistic::parse(s) {
                Some(st) if st.is_basic() => stats.push((s.clone(), st)),
                _ => {
                    return Err(Error::InvalidParameterValue(format!(
                        "The value {s} for parameter Statistics.member.{} is invalid.",
                        i + 1
                    )));
                }
            }
        }
        for (i, s) in extended.iter().enumerate() {
            match Statistic::parse_extended(s) {
                Some(st) => stats.push((s.clone(), st)),
                None => {
                    return Err(Error::InvalidParameterValue(format!(
                        "The value {s} for parameter ExtendedStatistics.member.{} is invalid.",
                        i + 1
                    )));
                }
            }
        }
        let (start, end) = check_range(&input.start_time, &input.end_time, input.period)?;
        // Counted over the range asked for: a day at one minute is 1,440 datapoints
        // even when the start is then rounded down to its minute.
        let wanted = (end - start + input.period - 1) / input.period;
        if wanted > MAX_DATAPOINTS {
            return Err(Error::InvalidParameterCombination(format!(
                "You have requested up to {wanted} datapoints, which exceeds the limit of {MAX_DATAPOINTS}. You may reduce the datapoints requested by increasing Period, or decreasing the time range."
            )));
        }
        let key = SeriesKey::new(&input.namespace, &input.metric_name, &dims);
        let aggs = self
            .period_aggs(
                &scope_key(scope),
                &key,
                input.unit.as_deref(),
                start,
                end,
                input.period,
            )
            .await?;
        let datapoints = aggs
            .into_iter()
            .map(|(t, a)| {
                let get = |st: Statistic| {
                    stats
                        .iter()
                        .any(|(_, s)| *s == st)
                        .then(|| a.stat(&st))
                        .flatten()
                };
                let ext: Vec<(String, f64)> = stats
                    .iter()
                    .filter(|(_, s)| !s.is_basic())
                    .filter_map(|(n, s)| a.stat(s).map(|v| (n.clone(), v)))
                    .collect();
                Datapoint {
                    timestamp: timestamp(t),
                    sample_count: get(Statistic::SampleCount),
                    average: get(Statistic::Average),
                    sum: get(Statistic::Sum),
                    minimum: get(Statistic::Minimum),
                    maximum: get(Statistic::Maximum),
                    unit: a.unit.as_deref().unwrap_or("None").to_owned(),
                    extended_statistics: (!extended.is_empty())
                        .then_some(sightline_wire::WireMap(ext)),
                }
            })
            .collect();
        Ok(GetMetricStatisticsOutput {
            label: input.metric_name,
            datapoints,
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DimensionFilter {
    pub name: String,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ListMetricsInput {
    pub namespace: Option<String>,
    pub metric_name: Option<String>,
    #[serde(default)]
    pub dimensions: Vec<DimensionFilter>,
    pub next_token: Option<String>,
    pub recently_active: Option<String>,
    pub include_linked_accounts: Option<bool>,
    pub owning_account: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListMetricsOutput {
    pub metrics: Vec<Metric>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

const LIST_PAGE: usize = 500;

pub fn metric_of(k: &SeriesKey) -> Metric {
    Metric {
        namespace: Some(k.namespace.to_string()),
        metric_name: Some(k.name.to_string()),
        dimensions: k
            .dimensions()
            .into_iter()
            .map(|(name, value)| Dimension { name, value })
            .collect(),
    }
}

impl CloudWatch {
    pub fn list_metrics(
        &self,
        scope: &Scope,
        input: ListMetricsInput,
    ) -> Result<ListMetricsOutput> {
        if input.dimensions.len() > 10 {
            return Err(Error::InvalidParameterValue(
                "The collection Dimensions must not have a size greater than 10.".into(),
            ));
        }
        let since = match input.recently_active.as_deref() {
            None => now_ms() - 14 * 86_400_000,
            Some("PT3H") => now_ms() - 3 * 3_600_000,
            Some(other) => {
                return Err(Error::InvalidParameterValue(format!(
                    "The value {other} for parameter RecentlyActive is invalid."
                )));
            }
        };
        let skip = match &input.next_token {
            None => 0,
            Some(t) => t
                .strip_prefix("m")
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| Error::InvalidNextToken("Invalid NextToken".into()))?,
        };
        let all: Vec<SeriesKey> = self
            .metrics_since(&scope_key(scope), since)
            .into_iter()
            .filter(|k| {
                input
                    .namespace
                    .as_deref()
                    .is_none_or(|n| *k.namespace == *n)
            })
            .filter(|k| input.metric_name.as_deref().is_none_or(|n| *k.name == *n))
            .filter(|k| {
                if input.dimensions.is_empty() {
                    return true;
                }
                let dims = k.dimensions();
                input.dimensions.iter().all(|f| {
                    dims.iter().any(|(n, v)| {
                        *n == f.name && f.value.as_deref().is_none_or(|want| want == v)
                    })
                })
            })
            .collect();
        let page: Vec<Metric> = all
            .iter()
            .skip(skip)
            .take(LIST_PAGE)
            .map(metric_of)
            .collect();
        let next = (skip + page.len() < all.len()).then(|| format!("m{}", skip + page.len()));
        Ok(ListMetricsOutput {
            metrics: page,
            next_token: next,
        })
    }
}
