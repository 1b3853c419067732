//! The Logs Insights operations: StartQuery, GetQueryResults, StopQuery and
//! DescribeQueries, between their wire shapes and the engine's query registry.

use super::shapes::*;
use super::{group_name_of, invalid, page_by_key};
use crate::engine::Logs;
use crate::kms::Reader;
use crate::{Error, Result};
use sightline_core::Scope;
use sightline_wire::{ApiError, Value, typed};
use std::sync::Arc;

pub(super) async fn call(
    logs: &Arc<Logs>,
    scope: &Scope,
    reader: &Reader<'_>,
    op: &str,
    input: Value,
) -> Result<Value, ApiError> {
    let l = &**logs;
    match op {
            "StartQuery" => {
                typed(input, invalid, |r: StartQuery| async move {
                    if r.query_language.as_deref().is_some_and(|q| q != "CWLI") {
                        return Err(Error::InvalidParameter(
                            "Sightline runs Logs Insights queries (queryLanguage CWLI) only."
                                .into(),
                        )
                        .into());
                    }
                    let mut groups: Vec<String> = Vec::new();
                    if let Some(g) = r.log_group_name {
                        groups.push(g);
                    }
                    groups.extend(r.log_group_names.unwrap_or_default());
                    for i in r.log_group_identifiers.unwrap_or_default() {
                        groups.push(group_name_of(&i).unwrap_or(&i).to_owned());
                    }
                    let limit = match r.limit {
                        None => None,
                        Some(n @ 1..=100_000) => Some(n as usize),
                        Some(n) => {
                            return Err(Error::InvalidParameter(format!(
                                "1 validation error detected: Value '{n}' at 'limit' failed to satisfy constraint: Member must have value between 1 and 100000"
                            ))
                            .into());
                        }
                    };
                    let id = logs
                        .start_query(
                            scope,
                            reader,
                            crate::queries::StartQuery {
                                groups,
                                start_s: r.start_time,
                                end_s: r.end_time,
                                text: &r.query_string,
                                limit,
                            },
                        )
                        .await?;
                    Ok(StartQueryOut { query_id: id })
                })
                .await
            }
            "GetQueryResults" => {
                typed(input, invalid, |r: QueryId| async move {
                    let q = l.query_results(scope, &r.query_id)?;
                    Ok(GetQueryResultsOut {
                        query_language: "CWLI",
                        results: q
                            .output
                            .rows
                            .into_iter()
                            .map(|row| {
                                row.into_iter()
                                    .map(|(field, value)| ResultField { field, value })
                                    .collect()
                            })
                            .collect(),
                        statistics: QueryStatistics {
                            records_matched: q.output.records_matched,
                            records_scanned: q.output.records_scanned,
                            bytes_scanned: q.output.bytes_scanned,
                        },
                        status: q.status.as_str(),
                    })
                })
                .await
            }
            "StopQuery" => {
                typed(input, invalid, |r: QueryId| async move {
                    Ok(StopQueryOut {
                        success: l.stop_query(scope, &r.query_id)?,
                    })
                })
                .await
            }
            "DescribeQueries" => {
                typed(input, invalid, |r: DescribeQueries| async move {
                    let max = match r.max_results {
                        None => 1000,
                        Some(n @ 1..=1000) => n as usize,
                        Some(n) => {
                            return Err(Error::InvalidParameter(format!(
                                "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 1000"
                            ))
                            .into());
                        }
                    };
                    let all = l.describe_queries(
                        scope,
                        r.log_group_name.as_deref(),
                        r.status.as_deref(),
                    );
                    let (items, next) = page_by_key(
                        all,
                        |q| format!("{:020}:{}", i64::MAX - q.created_ms, q.id),
                        r.next_token.as_deref(),
                        max,
                    );
                    Ok(DescribeQueriesOut {
                        queries: items
                            .into_iter()
                            .map(|q| QueryInfo {
                                query_language: "CWLI",
                                query_id: q.id,
                                query_string: q.text,
                                status: q.status.as_str(),
                                create_time: q.created_ms,
                                log_group_name: q.groups.first().cloned(),
                                query_duration: q.duration_ms,
                                bytes_scanned: q.output.bytes_scanned,
                            })
                            .collect(),
                        next_token: next,
                    })
                })
                .await
            }
            other => Err(super::LOGS.undispatched(other)),
    }
}
