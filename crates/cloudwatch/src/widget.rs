//! GetMetricWidgetImage: the widget's metrics and expressions are read like a
//! GetMetricData request over the widget's range, then drawn as a PNG chart.

use crate::engine::{CloudWatch, now_ms, scope_key};
use crate::model::{Dimension, Metric, MetricDataQuery, MetricStat};
use crate::{Error, Result};
use sightline_chart::{Axis, SeriesData};
use sightline_core::Scope;

impl CloudWatch {
    pub async fn metric_widget_image(
        &self,
        scope: &Scope,
        widget_json: &str,
        format: Option<&str>,
    ) -> Result<Vec<u8>> {
        match format {
            None | Some("") | Some("png") | Some("image/png") => {}
            Some(other) => {
                return Err(Error::Validation(format!(
                    "The value {other} for parameter OutputFormat is invalid. Valid values are png and \"\"."
                )));
            }
        }
        let widget = sightline_chart::parse_widget(widget_json)
            .map_err(|e| Error::Validation(e.to_string()))?;
        let now = now_ms() / 1000;
        let range = widget
            .time_range(now)
            .map_err(|e| Error::Validation(e.to_string()))?;
        let specs = widget.metrics();
        let mut queries = Vec::with_capacity(specs.len());
        let mut styles = Vec::with_capacity(specs.len());
        for (i, m) in specs.iter().enumerate() {
            let id = m.id.clone().unwrap_or_else(|| {
                if m.is_expression() {
                    format!("expr{i}")
                } else {
                    format!("m{i}")
                }
            });
            let q = match &m.expression {
                Some(e) => MetricDataQuery {
                    id: id.clone(),
                    metric_stat: None,
                    expression: Some(e.clone()),
                    label: m.label.clone(),
                    return_data: Some(m.visible),
                    period: Some(m.period),
                    account_id: None,
                },
                None => MetricDataQuery {
                    id: id.clone(),
                    metric_stat: Some(MetricStat {
                        metric: Metric {
                            namespace: Some(m.namespace.clone()),
                            metric_name: Some(m.metric_name.clone()),
                            dimensions: m
                                .dimensions
                                .iter()
                                .map(|(name, value)| Dimension {
                                    name: name.clone(),
                                    value: value.clone(),
                                })
                                .collect(),
                        },
                        period: m.period,
                        stat: m.stat.clone(),
                        unit: None,
                    }),
                    expression: None,
                    label: m.label.clone(),
                    return_data: Some(m.visible),
                    period: None,
                    account_id: None,
                },
            };
            styles.push((id, m.color.clone(), m.y_axis == Axis::Right));
            queries.push(q);
        }
        let series = if queries.is_empty() {
            Vec::new()
        } else {
            crate::alarms::check_math_queries(&queries, false)?;
            self.run_queries(&scope_key(scope), &queries, range.0, range.1, None)
                .await?
                .into_iter()
                .filter(|r| r.return_data)
                .map(|r| {
                    let style = styles.iter().find(|(id, ..)| *id == r.id);
                    SeriesData {
                        label: r.label,
                        timestamps: r.points.iter().map(|(t, _)| *t).collect(),
                        values: r.points.iter().map(|(_, v)| *v).collect(),
                        color: style.and_then(|s| s.1.clone()),
                        right_axis: style.is_some_and(|s| s.2),
                    }
                })
                .collect()
        };
        sightline_chart::render_png(&widget, range, &series)
            .map_err(|e| Error::Validation(e.to_string()))
    }
}
