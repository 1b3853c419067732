//! The CloudWatch Logs Insights query language: parsing, checking and execution on
//! Apache DataFusion.
//!
//! [`parse`] turns query text into a checked [`Query`], refusing malformed queries with
//! the character offsets StartQuery reports in `queryCompileError`. [`Query::execute`]
//! runs it over a DataFrame of log events as one DataFusion plan (filters, aggregates,
//! sorts and limits run in parallel inside DataFusion; JSON field discovery and `parse`
//! run as this crate's functions) and returns rows the way GetQueryResults shows them.
//!
//! Semantics the documentation leaves open are settled in the modules that implement
//! them: dynamic typing in `udf::dynamic`, ordering and limits in `plan`, `parse` globs
//! in `udf::parse`, `pct` in `udf::pct`, `pattern` and `diff` in `patterns`, and `@ptr`
//! in [`RecordPointer`].

mod ast;
mod compile;
mod counting;
mod error;
mod functions;
mod json_fields;
mod lexer;
mod parser;
mod patterns;
mod plan;
mod ptr;
mod regex_util;
mod results;
mod udf;

use std::collections::BTreeSet;
use std::sync::Arc;

use datafusion::prelude::{DataFrame, SessionContext};

pub use error::{Error, QueryError};
pub use ptr::RecordPointer;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Rows returned when a query has no `limit` command (StartQuery's default).
pub const DEFAULT_LIMIT: usize = plan::DEFAULT_LIMIT;

/// A parsed and checked query, ready to run any number of times.
#[derive(Debug, Clone)]
pub struct Query {
    text: Arc<str>,
    commands: Arc<[ast::Command]>,
}

/// Parses and checks `text`.
pub fn parse(text: &str) -> Result<Query, QueryError> {
    let tokens = lexer::tokenize(text)?;
    let commands = parser::Parser::new(text, tokens).parse_query()?;
    functions::check(&commands)?;
    Ok(Query {
        text: Arc::from(text),
        commands: commands.into(),
    })
}

/// What a query returned, as GetQueryResults reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryOutput {
    /// Each row's `(field, value)` pairs in output order; fields without a value are
    /// left out, as AWS leaves them out.
    pub rows: Vec<Vec<(String, String)>>,
    /// Events that passed the query's filters.
    pub records_matched: f64,
    /// Events read.
    pub records_scanned: f64,
    /// Bytes of event messages read.
    pub bytes_scanned: f64,
}

impl Query {
    /// The query text as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Runs the query over `events`, one row per log event with the columns
    /// `event_time` (Timestamp(ms, UTC)), `ingestion_time`, `seq` (Int64), `group_id`,
    /// `log_group`, `log_stream`, `message` and `account_id` (strings), already
    /// restricted to the queried log groups and time range.
    ///
    /// Dropping the returned future cancels the query: all work happens in DataFusion
    /// streams polled by it.
    pub async fn execute(&self, ctx: &SessionContext, events: DataFrame) -> Result<QueryOutput> {
        self.execute_with_previous(ctx, events, None).await
    }

    /// Whether the query compares its time range with the period of the same length just
    /// before it (`diff`), so the caller should pass that period's events to
    /// [`Query::execute_with_previous`].
    pub fn compares_previous_period(&self) -> bool {
        self.commands
            .iter()
            .any(|c| matches!(c.kind, ast::CommandKind::Diff))
    }

    /// [`Query::execute`], with the events of the previous period (same columns) that
    /// `diff` compares with; `None` counts that period as empty. Statistics count the
    /// query's own period only.
    pub async fn execute_with_previous(
        &self,
        ctx: &SessionContext,
        events: DataFrame,
        previous: Option<DataFrame>,
    ) -> Result<QueryOutput> {
        let counters = plan::Counters {
            scanned: Arc::default(),
            matched: Arc::default(),
        };
        let planned = plan::Planner::run(ctx, events, previous, &self.commands, &counters).await?;
        let batches = planned.frame.collect().await?;
        let rows = results::rows(&batches, &planned.names, planned.has_ptr)?;
        Ok(QueryOutput {
            rows,
            records_matched: counters.matched.rows() as f64,
            records_scanned: counters.scanned.rows() as f64,
            bytes_scanned: counters.scanned.bytes() as f64,
        })
    }

    /// Every field name the query mentions (system fields, discovered fields and names
    /// it defines), sorted; a caller can use it to decide what it needs to read.
    pub fn referenced_fields(&self) -> Vec<String> {
        let mut names = BTreeSet::new();
        for command in self.commands.iter() {
            ast::visit_fields(command, &mut |name| {
                names.insert(name.to_string());
            });
        }
        names.into_iter().collect()
    }
}

/// Compile-time guarantees the service relies on: queries are shared between tasks and
/// their execution can be spawned onto a multi-threaded runtime.
#[cfg(test)]
mod guarantees {
    use super::*;

    fn is_shareable<T: Clone + Send + Sync + 'static>() {}

    #[allow(dead_code)]
    fn execution_is_send<'a>(
        query: &'a Query,
        ctx: &'a SessionContext,
        events: DataFrame,
    ) -> impl std::future::Future<Output = Result<QueryOutput>> + Send + 'a {
        query.execute(ctx, events)
    }

    #[test]
    fn query_is_shareable() {
        is_shareable::<Query>();
    }

    #[test]
    fn referenced_fields_lists_every_name() {
        let query =
            parse("filter a.b = 1 | parse @message \"x=*\" as x | stats count(*) by x, `y z`");
        assert_eq!(
            query.map(|q| q.referenced_fields()).ok(),
            Some(vec![
                "@message".to_string(),
                "a.b".to_string(),
                "x".to_string(),
                "y z".to_string()
            ])
        );
    }
}
