//! Logs Insights queries: StartQuery parses and checks the query, then runs it in the
//! background over the lake's `log_events` of the chosen groups and time range
//! (sealed messages opened with the caller's keys); GetQueryResults reports its state
//! and rows, StopQuery cancels it (the task is aborted, so its scan stops), and
//! DescribeQueries lists recent ones. The language itself is `sightline-insights`.

use crate::crypt::{Keyring, OpenUdf};
use crate::engine::{Logs, now_ms};
use crate::kms::Reader;
use crate::{Error, Result};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Expr, col, lit};
use sightline_core::Scope;
use sightline_insights::{Query, QueryOutput};
use sightline_lake::datasets::logs as dataset;
use std::collections::HashMap;
use std::sync::Arc;

/// Queries an account may have running at once, as on AWS.
const MAX_CONCURRENT: usize = 30;
/// Log groups one query may name, as on AWS.
const MAX_GROUPS: usize = 50;
/// A query still running after this long ends as `Timeout`, as on AWS.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60 * 60);
/// Finished queries kept per account for GetQueryResults and DescribeQueries.
const KEEP: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Scheduled,
    Running,
    Complete,
    Failed,
    Cancelled,
    Timeout,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Scheduled => "Scheduled",
            Status::Running => "Running",
            Status::Complete => "Complete",
            Status::Failed => "Failed",
            Status::Cancelled => "Cancelled",
            Status::Timeout => "Timeout",
        }
    }

    fn finished(self) -> bool {
        !matches!(self, Status::Scheduled | Status::Running)
    }
}

/// One query, as GetQueryResults and DescribeQueries show it.
#[derive(Debug, Clone)]
pub struct QueryRecord {
    pub id: String,
    pub account: String,
    pub region: String,
    pub text: String,
    pub groups: Vec<String>,
    pub created_ms: i64,
    pub status: Status,
    pub output: QueryOutput,
    pub duration_ms: i64,
    abort: Option<tokio::task::AbortHandle>,
}

#[derive(Default)]
pub(crate) struct Registry {
    queries: HashMap<String, QueryRecord>,
}

pub struct StartQuery<'a> {
    pub groups: Vec<String>,
    pub start_s: i64,
    pub end_s: i64,
    pub text: &'a str,
    pub limit: Option<usize>,
}

fn ts(ms: i64) -> Expr {
    lit(ScalarValue::TimestampMillisecond(
        Some(ms),
        Some("UTC".into()),
    ))
}

impl Logs {
    pub async fn start_query(
        self: &Arc<Self>,
        scope: &Scope,
        reader: &Reader<'_>,
        q: StartQuery<'_>,
    ) -> Result<String> {
        if q.groups.is_empty() {
            return Err(Error::InvalidParameter(
                "Either logGroupName, logGroupNames or logGroupIdentifiers must be specified."
                    .into(),
            ));
        }
        if q.groups.len() > MAX_GROUPS {
            return Err(Error::InvalidParameter(format!(
                "A query can name at most {MAX_GROUPS} log groups."
            )));
        }
        if q.end_s < q.start_s {
            return Err(Error::InvalidParameter(
                "End time must not be before the start time.".into(),
            ));
        }
        let query = sightline_insights::parse(q.text).map_err(Error::MalformedQuery)?;
        let mut ids = Vec::new();
        let mut keys = Keyring::new();
        for name in &q.groups {
            let info = self.group_info(scope, name).map_err(|_| {
                Error::ResourceNotFound(format!("Log group '{name}' does not exist"))
            })?;
            for (k, v) in self.read_keys(scope, &info, Some(reader)).await?.iter() {
                keys.insert(k.clone(), v.clone());
            }
            ids.push(info.id);
        }
        let id = uuid::Uuid::new_v4().to_string();
        {
            let mut reg = self.queries.lock();
            let running = reg
                .queries
                .values()
                .filter(|r| r.account == scope.account_id && !r.status.finished())
                .count();
            if running >= MAX_CONCURRENT {
                return Err(Error::LimitExceeded(format!(
                    "Account maximum query concurrency limit of [{MAX_CONCURRENT}] reached."
                )));
            }
            reg.queries.insert(
                id.clone(),
                QueryRecord {
                    id: id.clone(),
                    account: scope.account_id.clone(),
                    region: scope.region.clone(),
                    text: q.text.to_owned(),
                    groups: q.groups.clone(),
                    created_ms: now_ms(),
                    status: Status::Scheduled,
                    output: QueryOutput::default(),
                    duration_ms: 0,
                    abort: None,
                },
            );
            prune(&mut reg, &scope.account_id);
        }
        let window = (
            q.start_s.saturating_mul(1000),
            q.end_s.saturating_mul(1000).saturating_add(999),
        );
        let run = Run {
            scope: scope.clone(),
            query,
            group_ids: ids,
            keys: Arc::new(keys),
            window,
            limit: q.limit,
        };
        let logs = self.clone();
        let qid = id.clone();
        let task = tokio::spawn(async move {
            let started = std::time::Instant::now();
            logs.set_status(&qid, Status::Running, None, 0);
            let outcome = tokio::time::timeout(TIMEOUT, logs.run_query(&run)).await;
            let elapsed = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
            match outcome {
                Ok(Ok(out)) => logs.set_status(&qid, Status::Complete, Some(out), elapsed),
                Ok(Err(e)) => {
                    tracing::warn!(query = %qid, error = %e, "logs insights query failed");
                    logs.set_status(&qid, Status::Failed, None, elapsed);
                }
                Err(_) => logs.set_status(&qid, Status::Timeout, None, elapsed),
            }
        });
        if let Some(r) = self.queries.lock().queries.get_mut(&id) {
            r.abort = Some(task.abort_handle());
        }
        Ok(id)
    }

    fn set_status(&self, id: &str, status: Status, output: Option<QueryOutput>, elapsed: i64) {
        let mut reg = self.queries.lock();
        if let Some(r) = reg.queries.get_mut(id) {
            // A cancelled query stays cancelled, whatever its task got to.
            if r.status == Status::Cancelled {
                return;
            }
            r.status = status;
            if let Some(o) = output {
                r.output = o;
            }
            if status.finished() {
                r.duration_ms = elapsed;
                r.abort = None;
            }
        }
    }

    async fn run_query(&self, run: &Run) -> Result<QueryOutput> {
        let ctx = self.lake.context(datafusion::prelude::SessionConfig::new());
        let df = self.events(&ctx, run, run.window).await?;
        // `diff` compares with the period of the same length just before the query's.
        let previous = if run.query.compares_previous_period() {
            let length = run.window.1.saturating_sub(run.window.0).saturating_add(1);
            let window = (
                run.window.0.saturating_sub(length),
                run.window.0.saturating_sub(1),
            );
            Some(self.events(&ctx, run, window).await?)
        } else {
            None
        };
        let mut out = run
            .query
            .execute_with_previous(&ctx, df, previous)
            .await
            .map_err(|e| Error::QueryFailed(e.to_string()))?;
        if let Some(n) = run.limit {
            out.rows.truncate(n);
        }
        Ok(out)
    }

    /// The queried groups' events in `window` (inclusive milliseconds), opened with the
    /// caller's keys, in the columns the query engine expects.
    async fn events(
        &self,
        ctx: &datafusion::prelude::SessionContext,
        run: &Run,
        window: (i64, i64),
    ) -> Result<datafusion::prelude::DataFrame> {
        let table = self
            .lake
            .snapshot(
                dataset::NAME,
                &run.scope.account_id,
                Some(&run.scope.region),
                window.0,
                window.1,
            )
            .await?;
        let mut df = ctx.read_table(Arc::new(table))?;
        if !run.keys.is_empty() {
            df = df.with_column(
                "message",
                OpenUdf::call(
                    run.keys.clone(),
                    col("message"),
                    col("group_id"),
                    col("key_id"),
                ),
            )?;
        }
        let groups: Vec<Expr> = run.group_ids.iter().map(|g| lit(g.clone())).collect();
        Ok(df
            .filter(
                col("group_id")
                    .in_list(groups, false)
                    .and(col("event_time").gt_eq(ts(window.0)))
                    .and(col("event_time").lt_eq(ts(window.1))),
            )?
            .select_columns(&[
                "event_time",
                "ingestion_time",
                "seq",
                "group_id",
                "log_group",
                "log_stream",
                "message",
                "account_id",
            ])?)
    }

    pub fn query_results(&self, scope: &Scope, id: &str) -> Result<QueryRecord> {
        let reg = self.queries.lock();
        reg.queries
            .get(id)
            .filter(|r| r.account == scope.account_id && r.region == scope.region)
            .cloned()
            .ok_or_else(|| Error::ResourceNotFound(format!("Query {id} does not exist")))
    }

    /// Cancels a query; true when it was still scheduled or running.
    pub fn stop_query(&self, scope: &Scope, id: &str) -> Result<bool> {
        let mut reg = self.queries.lock();
        let r = reg
            .queries
            .get_mut(id)
            .filter(|r| r.account == scope.account_id && r.region == scope.region)
            .ok_or_else(|| Error::ResourceNotFound(format!("Query {id} does not exist")))?;
        if r.status.finished() {
            return Ok(false);
        }
        if let Some(a) = r.abort.take() {
            a.abort();
        }
        r.status = Status::Cancelled;
        Ok(true)
    }

    /// Recent queries of the caller's account and region, newest first.
    pub fn describe_queries(
        &self,
        scope: &Scope,
        group: Option<&str>,
        status: Option<&str>,
    ) -> Vec<QueryRecord> {
        let reg = self.queries.lock();
        let mut out: Vec<QueryRecord> = reg
            .queries
            .values()
            .filter(|r| r.account == scope.account_id && r.region == scope.region)
            .filter(|r| group.is_none_or(|g| r.groups.iter().any(|x| x == g)))
            .filter(|r| status.is_none_or(|s| r.status.as_str() == s))
            .cloned()
            .collect();
        out.sort_by(|a, b| b.created_ms.cmp(&a.created_ms).then(a.id.cmp(&b.id)));
        out
    }
}

struct Run {
    scope: Scope,
    query: Query,
    group_ids: Vec<String>,
    keys: Arc<Keyring>,
    window: (i64, i64),
    limit: Option<usize>,
}

/// Drops the oldest finished queries of an account beyond what is kept.
fn prune(reg: &mut Registry, account: &str) {
    let mut finished: Vec<(i64, String)> = reg
        .queries
        .values()
        .filter(|r| r.account == account && r.status.finished())
        .map(|r| (r.created_ms, r.id.clone()))
        .collect();
    if finished.len() <= KEEP {
        return;
    }
    finished.sort();
    let excess = finished.len() - KEEP;
    for (_, id) in finished.into_iter().take(excess) {
        reg.queries.remove(&id);
    }
}
