//! GetMetricData: MetricStat queries read per period, SEARCH expressions resolved
//! against the metric catalog, metric math evaluated in dependency order, and the
//! results paged by datapoints as CloudWatch pages them.

use crate::engine::{CloudWatch, now_ms, scope_key};
use crate::evaluate::parse_expression;
use crate::hot::ScopeKey;
use crate::model::{MetricDataQuery, SeriesKey, Statistic};
use crate::query::{align_start, check_range, timestamp, valid_period};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use sightline_core::Scope;
use sightline_metricmath::{Context, Output, Search, Series};
use sightline_wire::Timestamp;
use std::collections::HashMap;

/// One query's result before paging; an expression yielding many series gives many.
#[derive(Debug, Clone)]
pub struct QueryResult {
    pub id: String,
    pub label: String,
    pub points: Vec<(i64, f64)>,
    pub return_data: bool,
    pub status: &'static str,
    pub messages: Vec<(String, String)>,
}

struct Ctx<'a> {
    done: &'a HashMap<String, Vec<Series>>,
    stats: &'a [(String, Series)],
    periods: &'a HashMap<String, i64>,
    grid: Vec<i64>,
    searches: &'a HashMap<String, Vec<Series>>,
}

impl Context for Ctx<'_> {
    fn series(&self, id: &str) -> Option<Vec<Series>> {
        self.done.get(id).cloned()
    }
    fn all_metrics(&self) -> Vec<(String, Series)> {
        self.stats.to_vec()
    }
    fn period(&self, id: &str) -> Option<i64> {
        self.periods.get(id).copied()
    }
    fn grid(&self) -> Vec<i64> {
        self.grid.clone()
    }
    fn search(&self, search: &Search) -> sightline_metricmath::Result<Vec<Series>> {
        Ok(self
            .searches
            .get(&format!("{search:?}"))
            .cloned()
            .unwrap_or_default())
    }
}

fn series_of(label: &str, points: &[(i64, f64)]) -> Series {
    Series::from_points(label, points.to_vec())
}

fn search_label(k: &SeriesKey) -> String {
    let dims = k.dimensions();
    if dims.is_empty() {
        k.name.to_string()
    } else {
        let values: Vec<String> = dims.into_iter().map(|(_, v)| v).collect();
        format!("{} {}", values.join(" "), k.name)
    }
}

impl CloudWatch {
    /// Runs a set of queries over `[start, end)`. `period` overrides the grid's period
    /// (an alarm's), otherwise the smallest period among the queries sets it.
    pub async fn run_queries(
        &self,
        scope: &ScopeKey,
        queries: &[MetricDataQuery],
        start: i64,
        end: i64,
        period: Option<i64>,
    ) -> Result<Vec<QueryResult>> {
        let now_s = now_ms() / 1000;
        let mut periods: HashMap<String, i64> = HashMap::new();
        for q in queries {
            if let Some(p) = q.metric_stat.as_ref().map(|s| s.period).or(q.period) {
                periods.insert(q.id.clone(), p);
            }
        }
        let grid_period = period
            .or_else(|| periods.values().min().copied())
            .unwrap_or(60)
            .max(1);
        let first = align_start(start, grid_period, now_s);
        let grid: Vec<i64> = (0..)
            .map(|i| first + i * grid_period)
            .take_while(|t| *t < end)
            .take(100_800)
            .collect();
        let mut done: HashMap<String, Vec<Series>> = HashMap::new();
        let mut stats: Vec<(String, Series)> = Vec::new();
        let mut results: Vec<QueryResult> = Vec::new();
        let mut order: HashMap<String, usize> = HashMap::new();
        for (i, q) in queries.iter().enumerate() {
            order.insert(q.id.clone(), i);
            let Some(s) = &q.metric_stat else { continue };
            let stat = Statistic::parse(&s.stat).ok_or_else(|| {
                Error::Validation(format!(
                    "The value {} for parameter Stat is invalid.",
                    s.stat
                ))
            })?;
            let dims: Vec<(String, String)> = s
                .metric
                .dimensions
                .iter()
                .map(|d| (d.name.clone(), d.value.clone()))
                .collect();
            let key = SeriesKey::new(
                s.metric.namespace.as_deref().unwrap_or_default(),
                s.metric.metric_name.as_deref().unwrap_or_default(),
                &dims,
            );
            let p = period.unwrap_or(s.period);
            let points = self
                .stat_series(scope, &key, &stat, s.unit.as_deref(), (start, end, p))
                .await?;
            let label = q
                .label
                .clone()
                .unwrap_or_else(|| s.metric.metric_name.clone().unwrap_or_default());
            let series = series_of(&label, &points);
            done.insert(q.id.clone(), vec![series.clone()]);
            stats.push((q.id.clone(), series));
            results.push(QueryResult {
                id: q.id.clone(),
                label,
                points,
                return_data: q.return_data != Some(false),
                status: "Complete",
                messages: Vec::new(),
            });
        }
        // Expressions run once everything they reference is done.
        let mut pending: Vec<(&MetricDataQuery, sightline_metricmath::Expr)> = Vec::new();
        for q in queries {
            if let Some(e) = &q.expression {
                pending.push((q, parse_expression(&q.id, e)?));
            }
        }
        let mut searches: HashMap<String, Vec<Series>> = HashMap::new();
        for (q, expr) in &pending {
            for s in expr.searches() {
                let key = format!("{s:?}");
                if searches.contains_key(&key) {
                    continue;
                }
                let stat = Statistic::parse(&s.stat).ok_or_else(|| {
                    Error::Validation(format!(
                        "Error in expression {}: the statistic {} is invalid",
                        q.id, s.stat
                    ))
                })?;
                let p = s.period.or(q.period).unwrap_or(grid_period);
                if !valid_period(p) {
                    return Err(Error::Validation(format!(
                        "Error in expression {}: the period {p} is invalid",
                        q.id
                    )));
                }
                let mut found = Vec::new();
                for k in self.metrics_since(scope, now_ms() - 14 * 86_400_000) {
                    let dims = k.dimensions();
                    if !s.query.matches(&k.namespace, &k.name, &dims) {
                        continue;
                    }
                    let points = self
                        .stat_series(scope, &k, &stat, None, (start, end, p))
                        .await?;
                    found.push(series_of(&search_label(&k), &points));
                    if found.len() >= 500 {
                        break;
                    }
                }
                searches.insert(key, found);
            }
        }
        let mut progress = true;
        while !pending.is_empty() && progress {
            progress = false;
            let mut rest = Vec::new();
            for (q, expr) in pending {
                let ready = expr
                    .references()
                    .iter()
                    .all(|r| done.contains_key(r) || !order.contains_key(r));
                if !ready {
                    rest.push((q, expr));
                    continue;
                }
                progress = true;
                let ctx = Ctx {
                    done: &done,
                    stats: &stats,
                    periods: &periods,
                    grid: grid.clone(),
                    searches: &searches,
                };
                let label = q.label.clone().unwrap_or_else(|| q.id.clone());
                match sightline_metricmath::evaluate(&expr, &ctx) {
                    Ok(Output::Series(list)) => {
                        let many = list.len() > 1;
                        for s in &list {
                            results.push(QueryResult {
                                id: q.id.clone(),
                                // Many series keep their own labels (SEARCH results).
                                label: if many { s.label.clone() } else { label.clone() },
                                points: s
                                    .timestamps
                                    .iter()
                                    .copied()
                                    .zip(s.values.iter().copied())
                                    .collect(),
                                return_data: q.return_data != Some(false),
                                status: "Complete",
                                messages: Vec::new(),
                            });
                        }
                        done.insert(q.id.clone(), list);
                    }
                    Ok(Output::Scalar(v)) => {
                        let points: Vec<(i64, f64)> = grid.iter().map(|t| (*t, v)).collect();
                        done.insert(q.id.clone(), vec![series_of(&label, &points)]);
                        results.push(QueryResult {
                            id: q.id.clone(),
                            label,
                            points,
                            return_data: q.return_data != Some(false),
                            status: "Complete",
                            messages: Vec::new(),
                        });
                    }
                    Err(e) => {
                        done.insert(q.id.clone(), Vec::new());
                        results.push(QueryResult {
                            id: q.id.clone(),
                            label,
                            points: Vec::new(),
                            return_data: q.return_data != Some(false),
                            status: "InternalError",
                            messages: vec![("InternalError".into(), e.in_expression(&q.id))],
                        });
                    }
                }
            }
            pending = rest;
        }
        if let Some((q, _)) = pending.first() {
            let unknown: Vec<String> = pending
                .iter()
                .flat_map(|(_, e)| e.references())
                .filter(|r| !order.contains_key(r))
                .collect();
            return Err(Error::Validation(if unknown.is_empty() {
                format!(
                    "Error in expression {}: Circular dependency between expressions",
                    q.id
                )
            } else {
                format!(
                    "Error in expression {}: Unrecognized id: {}",
                    q.id, unknown[0]
                )
            }));
        }
        // Keep the request's order of queries.
        results.sort_by_key(|r| order.get(&r.id).copied().unwrap_or(usize::MAX));
        Ok(results)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetMetricDataInput {
    pub metric_data_queries: Vec<MetricDataQuery>,
    pub start_time: Timestamp,
    pub end_time: Timestamp,
    pub next_token: Option<String>,
    pub scan_by: Option<String>,
    pub max_datapoints: Option<i64>,
    pub label_options: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MessageData {
    pub code: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricDataResult {
    pub id: String,
    pub label: String,
    pub timestamps: Vec<Timestamp>,
    pub values: Vec<f64>,
    pub status_code: String,
    pub messages: Vec<MessageData>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetMetricDataOutput {
    pub metric_data_results: Vec<MetricDataResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    pub messages: Vec<MessageData>,
}

impl CloudWatch {
    pub async fn get_metric_data(
        &self,
        scope: &Scope,
        input: GetMetricDataInput,
    ) -> Result<GetMetricDataOutput> {
        crate::alarms::check_math_queries(&input.metric_data_queries, false)?;
        let descending = match input.scan_by.as_deref() {
            None | Some("TimestampDescending") => true,
            Some("TimestampAscending") => false,
            Some(o) => {
                return Err(Error::Validation(format!(
                    "The value {o} for parameter ScanBy is invalid."
                )));
            }
        };
        let max = match input.max_datapoints {
            None => 100_800,
            Some(n) if n >= 1 => n as usize,
            Some(n) => {
                return Err(Error::InvalidParameterValue(format!(
                    "The value {n} for parameter MaxDatapoints is invalid."
                )));
            }
        };
        for q in &input.metric_data_queries {
            if q.metric_stat.is_none() && q.period.is_some_and(|p| !valid_period(p)) {
                return Err(Error::Validation(
                    "The parameter Period must be 1, 5, 10, 30, or a multiple of 60.".into(),
                ));
            }
        }
        let probe = input
            .metric_data_queries
            .iter()
            .filter_map(|q| q.metric_stat.as_ref().map(|s| s.period).or(q.period))
            .min()
            .unwrap_or(60);
        let (start, end) = check_range(&input.start_time, &input.end_time, probe)?;
        let skip = match &input.next_token {
            None => 0usize,
            Some(t) => t
                .strip_prefix("d")
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| {
                    Error::InvalidNextToken("The service cannot process the NextToken.".into())
                })?,
        };
        let results = self
            .run_queries(
                &scope_key(scope),
                &input.metric_data_queries,
                start,
                end,
                None,
            )
            .await?;
        let mut out = Vec::new();
        let mut seen = 0usize;
        let mut emitted = 0usize;
        let mut more = false;
        for r in results.into_iter().filter(|r| r.return_data) {
            let mut points = r.points;
            if descending {
                points.reverse();
            }
            let total = points.len();
            // Points before `skip` (counted over all results) went out on earlier pages.
            let from = skip.saturating_sub(seen).min(total);
            let room = max - emitted;
            let take = (total - from).min(room);
            let first_page_result = skip == 0 || (seen + total > skip);
            seen += total;
            if !first_page_result && take == 0 {
                continue;
            }
            if take < total - from {
                more = true;
            }
            emitted += take;
            out.push(MetricDataResult {
                id: r.id,
                label: r.label,
                timestamps: points[from..from + take]
                    .iter()
                    .map(|(t, _)| timestamp(*t))
                    .collect(),
                values: points[from..from + take].iter().map(|(_, v)| *v).collect(),
                status_code: if take < total - from {
                    "PartialData".into()
                } else {
                    r.status.into()
                },
                messages: r
                    .messages
                    .into_iter()
                    .map(|(code, value)| MessageData { code, value })
                    .collect(),
            });
        }
        Ok(GetMetricDataOutput {
            metric_data_results: out,
            next_token: more.then(|| format!("d{}", skip + emitted)),
            messages: Vec::new(),
        })
    }
}
