//! Metric and subscription filters on a log group: the pattern is parsed once when the
//! filter is put, and kept compiled beside the filter for every event that arrives.

use crate::batch::Events;
use crate::engine::{Logs, key, not_found_group};
use crate::model::{MetricFilter, SubscriptionFilter};
use crate::subscriptions::Destination;
use crate::{Error, Result, names, store};
use sightline_core::{MetricDatum, Scope};
use sightline_logfilter::{FilterPattern, MetricValue};
use std::collections::BTreeSet;
use std::sync::Arc;

/// A subscription filter may have at most two per log group, as on AWS.
const MAX_SUBSCRIPTION_FILTERS: usize = 2;
/// Metric filters per log group, as on AWS.
const MAX_METRIC_FILTERS: usize = 100;

impl Logs {
    pub fn put_metric_filter(&self, scope: &Scope, group: &str, f: MetricFilter) -> Result<()> {
        names::group(group, "logGroupName")?;
        names::filter(&f.name)?;
        let pattern = FilterPattern::parse(&f.pattern)?;
        for t in &f.transformations {
            sightline_logfilter::MetricValue::parse(&t.metric_value, &pattern)?;
            if t.default_value.is_some() && !t.dimensions.is_empty() {
                return Err(Error::InvalidParameter(
                    "A metric filter with dimensions cannot have a default value.".into(),
                ));
            }
            if t.dimensions.len() > 3 {
                return Err(Error::InvalidParameter(
                    "A metric filter can have at most 3 dimensions.".into(),
                ));
            }
        }
        self.with_group_mut(scope, group, |g| {
            if !g.metric_filters.contains_key(&f.name)
                && g.metric_filters.len() >= MAX_METRIC_FILTERS
            {
                return Err(Error::LimitExceeded("Resource limit exceeded.".into()));
            }
            let f = MetricFilter {
                group_id: g.info.id.clone(),
                ..f
            };
            store::put_metric_filter(&self.meta, &f)?;
            g.metric_filters
                .insert(f.name.clone(), (f, Arc::new(pattern)));
            Ok(())
        })
    }

    pub fn delete_metric_filter(&self, scope: &Scope, group: &str, name: &str) -> Result<()> {
        names::group(group, "logGroupName")?;
        self.with_group_mut(scope, group, |g| {
            if g.metric_filters.remove(name).is_none() {
                return Err(Error::ResourceNotFound(
                    "The specified metric filter does not exist.".into(),
                ));
            }
            store::delete_metric_filter(&self.meta, &g.info.id, name)
        })
    }

    /// Metric filters with their group's name, optionally of one group, by name prefix,
    /// or by the metric they emit.
    pub fn describe_metric_filters(
        &self,
        scope: &Scope,
        group: Option<&str>,
        prefix: Option<&str>,
        metric: Option<(&str, &str)>,
    ) -> Result<Vec<(String, MetricFilter)>> {
        let state = self.state.read();
        let Some(groups) = state.groups.get(&key(scope)) else {
            return match group {
                Some(_) => Err(not_found_group()),
                None => Ok(Vec::new()),
            };
        };
        if let Some(g) = group
            && !groups.contains_key(g)
        {
            return Err(not_found_group());
        }
        let mut out = Vec::new();
        for (name, g) in groups {
            if group.is_some_and(|w| w != name) {
                continue;
            }
            for (fname, (f, _)) in &g.metric_filters {
                if prefix.is_some_and(|p| !fname.starts_with(p)) {
                    continue;
                }
                if let Some((mname, ns)) = metric
                    && !f
                        .transformations
                        .iter()
                        .any(|t| t.metric_name == mname && t.metric_namespace == ns)
                {
                    continue;
                }
                out.push((name.clone(), f.clone()));
            }
        }
        Ok(out)
    }

    pub async fn put_subscription_filter(
        &self,
        scope: &Scope,
        group: &str,
        f: SubscriptionFilter,
    ) -> Result<()> {
        names::group(group, "logGroupName")?;
        names::filter(&f.name)?;
        let pattern = FilterPattern::parse(&f.pattern)?;
        self.with_group(scope, group, |_| Ok(()))?;
        let destination = Destination::parse(&f.destination_arn)?;
        self.check_destination(&destination).await?;
        // Events stored from now on are delivered; an existing filter keeps its place.
        let start = self.settled_seq();
        self.with_group_mut(scope, group, |g| {
            if !g.subscription_filters.contains_key(&f.name)
                && g.subscription_filters.len() >= MAX_SUBSCRIPTION_FILTERS
            {
                return Err(Error::LimitExceeded("Resource limit exceeded.".into()));
            }
            let cursor = g
                .subscription_filters
                .get(&f.name)
                .map_or(start, |(old, _)| old.cursor);
            let f = SubscriptionFilter {
                group_id: g.info.id.clone(),
                cursor,
                ..f
            };
            store::put_subscription_filter(&self.meta, &f)?;
            g.subscription_filters
                .insert(f.name.clone(), (f, Arc::new(pattern)));
            Ok(())
        })
    }

    pub fn delete_subscription_filter(&self, scope: &Scope, group: &str, name: &str) -> Result<()> {
        names::group(group, "logGroupName")?;
        self.with_group_mut(scope, group, |g| {
            if g.subscription_filters.remove(name).is_none() {
                return Err(Error::ResourceNotFound(
                    "The specified subscription filter does not exist.".into(),
                ));
            }
            store::delete_subscription_filter(&self.meta, &g.info.id, name)
        })
    }

    pub fn describe_subscription_filters(
        &self,
        scope: &Scope,
        group: &str,
        prefix: Option<&str>,
    ) -> Result<Vec<SubscriptionFilter>> {
        self.with_group(scope, group, |g| {
            Ok(g.subscription_filters
                .values()
                .filter(|(f, _)| prefix.is_none_or(|p| f.name.starts_with(p)))
                .map(|(f, _)| f.clone())
                .collect())
        })
    }
}

/// The datapoints a batch of stored events yields through a group's metric filters:
/// one per matching event (with its value and dimensions read from the event), and,
/// for a filter with a default value, one default datapoint for every minute of the
/// batch in which events arrived but none matched.
pub(crate) fn metric_data(
    filters: &[(MetricFilter, Arc<FilterPattern>)],
    events: Events<'_>,
) -> Vec<MetricDatum> {
    let mut out = Vec::new();
    for (f, pattern) in filters {
        for t in &f.transformations {
            let Ok(value) = MetricValue::parse(&t.metric_value, pattern) else {
                continue;
            };
            let mut minutes = BTreeSet::new();
            let mut matched = BTreeSet::new();
            for e in events.iter() {
                let minute = e.timestamp - e.timestamp.rem_euclid(60_000);
                minutes.insert(minute);
                let Some(c) = pattern.evaluate(e.message) else {
                    continue;
                };
                matched.insert(minute);
                let Some(v) = value.value(&c) else {
                    continue;
                };
                let dimensions: Option<Vec<(String, String)>> = t
                    .dimensions
                    .iter()
                    .map(|(name, field)| Some((name.clone(), c.get(field)?.to_string())))
                    .collect();
                let Some(dimensions) = dimensions else {
                    continue;
                };
                out.push(MetricDatum {
                    namespace: t.metric_namespace.clone(),
                    name: t.metric_name.clone(),
                    dimensions,
                    timestamp_ms: e.timestamp,
                    value: v,
                    unit: t.unit.clone(),
                    storage_resolution: 60,
                });
            }
            if let Some(default) = t.default_value {
                for m in minutes.difference(&matched) {
                    out.push(MetricDatum {
                        namespace: t.metric_namespace.clone(),
                        name: t.metric_name.clone(),
                        dimensions: Vec::new(),
                        timestamp_ms: *m,
                        value: default,
                        unit: t.unit.clone(),
                        storage_resolution: 60,
                    });
                }
            }
        }
    }
    out
}
