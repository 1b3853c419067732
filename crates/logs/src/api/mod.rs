//! CloudWatch Logs over awsJson1_1 (`Logs_20140328`): the operation table and the
//! mapping between wire shapes and the engine.

mod otlp;
mod queries;
mod shapes;

use crate::batch::EventBatch;
use crate::engine::{Logs, NewGroup, StreamListing, StreamOrder, group_name_of};
use crate::ingest::InputEvent;
use crate::kms::Reader;
use crate::model::{MetricFilter, MetricTransformation, SubscriptionFilter};
use crate::read::{GroupRead, StreamRead};
use crate::{Error, Result};
use shapes::*;
use sightline_wire::{
    ApiError, CallContext, DeError, OperationDef, Protocol, Service, ServiceDef, Value,
    any_resource, typed,
};
use std::sync::Arc;

const fn op(name: &'static str, action: &'static str, read_only: bool) -> OperationDef {
    OperationDef::rpc(name, action, read_only, any_resource)
}

pub static LOGS: ServiceDef = ServiceDef {
    signing_name: "logs",
    endpoint_prefix: "logs",
    // restJson1 for OTLP/HTTP (`POST /v1/logs`), the one route outside the JSON RPCs.
    protocols: &[Protocol::AwsJson1_1, Protocol::RestJson1],
    xml_namespace: "",
    target_prefix: Some("Logs_20140328"),
    query_compatible: false,
    global_region: None,
    denied_code: None,
    operations: &[
        op("CreateLogGroup", "logs:CreateLogGroup", false),
        op("DeleteLogGroup", "logs:DeleteLogGroup", false),
        op("DescribeLogGroups", "logs:DescribeLogGroups", true),
        op("CreateLogStream", "logs:CreateLogStream", false),
        op("DeleteLogStream", "logs:DeleteLogStream", false),
        op("DescribeLogStreams", "logs:DescribeLogStreams", true),
        op("PutLogEvents", "logs:PutLogEvents", false)
            .audit_only(&["logGroupName", "logStreamName"])
            .raw_json("logEvents"),
        op("GetLogEvents", "logs:GetLogEvents", true),
        op("FilterLogEvents", "logs:FilterLogEvents", true),
        op("PutRetentionPolicy", "logs:PutRetentionPolicy", false),
        op("DeleteRetentionPolicy", "logs:DeleteRetentionPolicy", false),
        op("TagLogGroup", "logs:TagLogGroup", false),
        op("UntagLogGroup", "logs:UntagLogGroup", false),
        op("ListTagsLogGroup", "logs:ListTagsLogGroup", true),
        op("TagResource", "logs:TagResource", false),
        op("UntagResource", "logs:UntagResource", false),
        op("ListTagsForResource", "logs:ListTagsForResource", true),
        op("PutMetricFilter", "logs:PutMetricFilter", false),
        op("DescribeMetricFilters", "logs:DescribeMetricFilters", true),
        op("DeleteMetricFilter", "logs:DeleteMetricFilter", false),
        op("TestMetricFilter", "logs:TestMetricFilter", true),
        op("PutSubscriptionFilter", "logs:PutSubscriptionFilter", false),
        op(
            "DescribeSubscriptionFilters",
            "logs:DescribeSubscriptionFilters",
            true,
        ),
        op(
            "DeleteSubscriptionFilter",
            "logs:DeleteSubscriptionFilter",
            false,
        ),
        op("AssociateKmsKey", "logs:AssociateKmsKey", false),
        op("StartQuery", "logs:StartQuery", true),
        op("GetQueryResults", "logs:GetQueryResults", true),
        op("StopQuery", "logs:StopQuery", false),
        op("DescribeQueries", "logs:DescribeQueries", true),
        op("ExportLogs", "logs:PutLogEvents", false)
            .route("POST", "/v1/logs")
            .raw_request()
            .audit_only(&[]),
        op("DisassociateKmsKey", "logs:DisassociateKmsKey", false),
    ],
};

pub struct LogsService {
    pub logs: Arc<Logs>,
}

fn invalid(e: &DeError) -> ApiError {
    let message = match e {
        DeError::Missing(p) => format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            member_path(p)
        ),
        DeError::Invalid { path, message } => {
            format!("Invalid value for {}: {message}", member_path(path))
        }
    };
    ApiError::bad_request("InvalidParameterException", message)
}

/// A member path as AWS's validation messages write it: a list element's members
/// follow `.member` (`logEvents.1.member.message`).
fn member_path(path: &str) -> String {
    let parts: Vec<&str> = path.split('.').collect();
    let mut out = String::with_capacity(path.len() + 8);
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        out.push_str(part);
        if i + 1 < parts.len() && part.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(".member");
        }
    }
    out
}

/// The group named by `logGroupName` or `logGroupIdentifier` (a name or an ARN).
fn group_ref(name: Option<String>, identifier: Option<String>) -> Result<String> {
    match (name, identifier) {
        (Some(_), Some(_)) => Err(Error::InvalidParameter(
            "LogGroup name and LogGroup ARN are mutually exclusive parameters.".into(),
        )),
        (Some(n), None) => {
            crate::names::group(&n, "logGroupName")?;
            Ok(n)
        }
        (None, Some(i)) => Ok(group_name_of(&i).unwrap_or(&i).to_owned()),
        (None, None) => Err(Error::InvalidParameter(
            "Either logGroupName or logGroupIdentifier should be provided.".into(),
        )),
    }
}

fn describe_limit(limit: Option<i64>) -> Result<usize> {
    match limit {
        None => Ok(50),
        Some(n @ 1..=50) => Ok(n as usize),
        Some(n) => Err(Error::InvalidParameter(format!(
            "1 validation error detected: Value '{n}' at 'limit' failed to satisfy constraint: Member must have value {} 50",
            if n < 1 {
                "greater than or equal to 1, and less than or equal to"
            } else {
                "less than or equal to"
            }
        ))),
    }
}

fn events_limit(limit: Option<i64>) -> Result<Option<usize>> {
    match limit {
        None => Ok(None),
        Some(n @ 1..=10_000) => Ok(Some(n as usize)),
        Some(n) => Err(Error::InvalidParameter(format!(
            "1 validation error detected: Value '{n}' at 'limit' failed to satisfy constraint: Member must have value {}",
            if n < 1 {
                "greater than or equal to 1"
            } else {
                "less than or equal to 10000"
            }
        ))),
    }
}

/// Pages a sorted list by the key of its last item.
fn page_by_key<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    token: Option<&str>,
    limit: usize,
) -> (Vec<T>, Option<String>) {
    let mut out: Vec<T> = items
        .into_iter()
        .filter(|i| token.is_none_or(|t| key(i).as_str() > t))
        .collect();
    let next = if out.len() > limit {
        out.truncate(limit);
        out.last().map(&key)
    } else {
        None
    };
    (out, next)
}

fn metric_out(group: String, f: MetricFilter) -> MetricFilterOut {
    MetricFilterOut {
        filter_name: f.name,
        filter_pattern: f.pattern,
        metric_transformations: f
            .transformations
            .into_iter()
            .map(|t| shapes::MetricTransformation {
                metric_name: t.metric_name,
                metric_namespace: t.metric_namespace,
                metric_value: t.metric_value,
                default_value: t.default_value,
                dimensions: t.dimensions,
                unit: t.unit,
            })
            .collect(),
        creation_time: f.created_ms,
        log_group_name: group,
    }
}

/// A PutLogEvents request in the form clients send, read without decoding its events
/// into a tree: the names as strings and the events as their JSON text
/// ([`OperationDef::raw_json`]). `None` for anything else, which is decoded the
/// general way and refused, if it must be, with the usual errors.
fn plain_put(input: &Value) -> Option<(String, String, EventBatch)> {
    let group = input.get("logGroupName")?.as_str()?;
    let stream = input.get("logStreamName")?.as_str()?;
    let Value::RawJson(events) = input.get("logEvents")? else {
        return None;
    };
    let batch = EventBatch::from_json(events)?;
    Some((group.to_owned(), stream.to_owned(), batch))
}

impl LogsService {
    async fn dispatch(&self, ctx: &CallContext, op: &str, input: Value) -> Result<Value, ApiError> {
        let l = &*self.logs;
        let scope = &ctx.scope;
        let reader = Reader {
            caller: &ctx.caller,
            source_ip: &ctx.source_ip,
            secure_transport: ctx.secure_transport,
        };
        let reader = &reader;
        match op {
            "CreateLogGroup" => {
                typed(input, invalid, |r: CreateLogGroup| async move {
                    l.create_group(
                        scope,
                        NewGroup {
                            name: r.log_group_name,
                            kms_key_id: r.kms_key_id,
                            tags: r.tags,
                            class: r.log_group_class,
                            deletion_protection: r.deletion_protection_enabled,
                        },
                    )
                    .await?;
                    Ok(Empty {})
                })
                .await
            }
            "DeleteLogGroup" => {
                typed(input, invalid, |r: GroupName| async move {
                    l.delete_group(scope, &r.log_group_name)?;
                    Ok(Empty {})
                })
                .await
            }
            "DescribeLogGroups" => {
                typed(input, invalid, |r: DescribeLogGroups| async move {
                    let limit = describe_limit(r.limit)?;
                    let page = l.describe_groups(
                        scope,
                        r.log_group_name_prefix.as_deref(),
                        r.log_group_name_pattern.as_deref(),
                        r.log_group_identifiers.as_deref(),
                        r.next_token.as_deref(),
                        limit,
                    )?;
                    Ok(DescribeLogGroupsOut {
                        log_groups: page
                            .items
                            .into_iter()
                            .map(|v| {
                                let kms_key = v.info.kms_key_arn().map(str::to_owned);
                                LogGroupOut {
                                arn: v.info.arn_with_streams(),
                                log_group_arn: v.info.arn(),
                                log_group_name: v.info.name,
                                creation_time: v.info.created_ms,
                                retention_in_days: v.info.retention_days,
                                metric_filter_count: v.metric_filter_count,
                                stored_bytes: v.stored_bytes,
                                kms_key_id: kms_key,
                                log_group_class: v.info.class,
                                deletion_protection_enabled: v.info.deletion_protection,
                                }
                            })
                            .collect(),
                        next_token: page.next,
                    })
                })
                .await
            }
            "CreateLogStream" => {
                typed(input, invalid, |r: StreamName| async move {
                    l.create_stream(scope, &r.log_group_name, &r.log_stream_name)?;
                    Ok(Empty {})
                })
                .await
            }
            "DeleteLogStream" => {
                typed(input, invalid, |r: StreamName| async move {
                    l.delete_stream(scope, &r.log_group_name, &r.log_stream_name)?;
                    Ok(Empty {})
                })
                .await
            }
            "DescribeLogStreams" => {
                typed(input, invalid, |r: DescribeLogStreams| async move {
                    let group = group_ref(r.log_group_name, r.log_group_identifier)?;
                    let order = match r.order_by.as_deref() {
                        None | Some("LogStreamName") => StreamOrder::Name,
                        Some("LastEventTime") => StreamOrder::LastEventTime,
                        Some(other) => {
                            return Err(Error::InvalidParameter(format!(
                                "1 validation error detected: Value '{other}' at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LastEventTime, LogStreamName]"
                            ))
                            .into());
                        }
                    };
                    let limit = describe_limit(r.limit)?;
                    let (g, page) = l.describe_streams(
                        scope,
                        &group,
                        &StreamListing {
                            prefix: r.log_stream_name_prefix.as_deref(),
                            order,
                            descending: r.descending,
                            token: r.next_token.as_deref(),
                            limit,
                        },
                    )?;
                    Ok(DescribeLogStreamsOut {
                        log_streams: page
                            .items
                            .into_iter()
                            .map(|s| LogStreamOut {
                                arn: g.stream_arn(&s.name),
                                log_stream_name: s.name,
                                creation_time: s.created_ms,
                                first_event_timestamp: s.first_event_ms,
                                last_event_timestamp: s.last_event_ms,
                                last_ingestion_time: s.last_ingestion_ms,
                                stored_bytes: s.stored_bytes,
                            })
                            .collect(),
                        next_token: page.next,
                    })
                })
                .await
            }
            "PutLogEvents" => {
                let put = |group: String, stream: String, batch: EventBatch| async move {
                    let out = l.put_events(scope, &group, &stream, &batch).await?;
                    let rej = out.rejected;
                    Ok(PutLogEventsOut {
                        next_sequence_token: out.next_token,
                        rejected_log_events_info: rej.any().then_some(RejectedOut {
                            too_new_log_event_start_index: rej.too_new_start,
                            too_old_log_event_end_index: rej.too_old_end,
                            expired_log_event_end_index: rej.expired_end,
                        }),
                    })
                };
                match plain_put(&input) {
                    Some((group, stream, batch)) => {
                        let out = put(group, stream, batch).await?;
                        sightline_wire::to_value(&out).map_err(|e| {
                            ApiError::internal(format!("response encoding failed: {e}"))
                        })
                    }
                    None => {
                        typed(input, invalid, |r: PutLogEvents| async move {
                            let events: Vec<InputEvent> = r
                                .log_events
                                .into_iter()
                                .map(|e| InputEvent {
                                    timestamp: e.timestamp,
                                    message: e.message,
                                })
                                .collect();
                            put(r.log_group_name, r.log_stream_name, events.into()).await
                        })
                        .await
                    }
                }
            }
            "GetLogEvents" => {
                typed(input, invalid, |r: GetLogEvents| async move {
                    let group = group_ref(r.log_group_name, r.log_group_identifier)?;
                    let page = l
                        .get_events(
                            scope,
                            reader,
                            StreamRead {
                                group: &group,
                                stream: &r.log_stream_name,
                                start: r.start_time,
                                end: r.end_time,
                                token: r.next_token.as_deref(),
                                limit: events_limit(r.limit)?,
                                from_head: r.start_from_head,
                            },
                        )
                        .await?;
                    Ok(GetLogEventsOut {
                        events: page
                            .events
                            .into_iter()
                            .map(|e| OutputLogEvent {
                                timestamp: e.timestamp,
                                message: e.message,
                                ingestion_time: e.ingestion,
                            })
                            .collect(),
                        next_forward_token: page.forward,
                        next_backward_token: page.backward,
                    })
                })
                .await
            }
            "FilterLogEvents" => {
                typed(input, invalid, |r: FilterLogEvents| async move {
                    let group = group_ref(r.log_group_name, r.log_group_identifier)?;
                    let page = l
                        .filter_events(
                            scope,
                            reader,
                            GroupRead {
                                group: &group,
                                streams: r.log_stream_names.as_deref(),
                                stream_prefix: r.log_stream_name_prefix.as_deref(),
                                start: r.start_time,
                                end: r.end_time,
                                pattern: r.filter_pattern.as_deref(),
                                token: r.next_token.as_deref(),
                                limit: events_limit(r.limit)?,
                            },
                        )
                        .await?;
                    Ok(FilterLogEventsOut {
                        events: page
                            .events
                            .into_iter()
                            .map(|e| FilteredLogEvent {
                                event_id: e.id(),
                                log_stream_name: e.stream,
                                timestamp: e.timestamp,
                                message: e.message,
                                ingestion_time: e.ingestion,
                            })
                            .collect(),
                        searched_log_streams: page
                            .searched
                            .into_iter()
                            .map(|(s, c)| SearchedLogStream {
                                log_stream_name: s,
                                searched_completely: c,
                            })
                            .collect(),
                        next_token: page.next,
                    })
                })
                .await
            }
            "PutRetentionPolicy" => {
                typed(input, invalid, |r: PutRetentionPolicy| async move {
                    l.put_retention(scope, &r.log_group_name, r.retention_in_days)?;
                    Ok(Empty {})
                })
                .await
            }
            "DeleteRetentionPolicy" => {
                typed(input, invalid, |r: GroupName| async move {
                    l.delete_retention(scope, &r.log_group_name)?;
                    Ok(Empty {})
                })
                .await
            }
            "TagLogGroup" => {
                typed(input, invalid, |r: TagLogGroup| async move {
                    l.tag_group(scope, &r.log_group_name, &r.tags)?;
                    Ok(Empty {})
                })
                .await
            }
            "UntagLogGroup" => {
                typed(input, invalid, |r: UntagLogGroup| async move {
                    l.untag_group(scope, &r.log_group_name, &r.tags)?;
                    Ok(Empty {})
                })
                .await
            }
            "ListTagsLogGroup" => {
                typed(input, invalid, |r: GroupName| async move {
                    Ok(TagsOut {
                        tags: l.group_tags(scope, &r.log_group_name)?,
                    })
                })
                .await
            }
            "TagResource" => {
                typed(input, invalid, |r: TagResource| async move {
                    let g = l.group_of_arn(scope, &r.resource_arn)?;
                    l.tag_group(scope, &g, &r.tags)?;
                    Ok(Empty {})
                })
                .await
            }
            "UntagResource" => {
                typed(input, invalid, |r: UntagResource| async move {
                    let g = l.group_of_arn(scope, &r.resource_arn)?;
                    l.untag_group(scope, &g, &r.tag_keys)?;
                    Ok(Empty {})
                })
                .await
            }
            "ListTagsForResource" => {
                typed(input, invalid, |r: ResourceArn| async move {
                    let g = l.group_of_arn(scope, &r.resource_arn)?;
                    Ok(TagsOut {
                        tags: l.group_tags(scope, &g)?,
                    })
                })
                .await
            }
            "PutMetricFilter" => {
                typed(input, invalid, |r: PutMetricFilter| async move {
                    if r.metric_transformations.len() != 1 {
                        return Err(Error::InvalidParameter(format!(
                            "1 validation error detected: Value at 'metricTransformations' failed to satisfy constraint: Member must have length {} 1",
                            if r.metric_transformations.is_empty() { "greater than or equal to" } else { "less than or equal to" }
                        ))
                        .into());
                    }
                    l.put_metric_filter(
                        scope,
                        &r.log_group_name,
                        MetricFilter {
                            group_id: String::new(),
                            name: r.filter_name,
                            pattern: r.filter_pattern,
                            transformations: r
                                .metric_transformations
                                .into_iter()
                                .map(|t| MetricTransformation {
                                    metric_name: t.metric_name,
                                    metric_namespace: t.metric_namespace,
                                    metric_value: t.metric_value,
                                    default_value: t.default_value,
                                    dimensions: t.dimensions,
                                    unit: t.unit,
                                })
                                .collect(),
                            created_ms: crate::engine::now_ms(),
                        },
                    )?;
                    Ok(Empty {})
                })
                .await
            }
            "DescribeMetricFilters" => {
                typed(input, invalid, |r: DescribeMetricFilters| async move {
                    let limit = describe_limit(r.limit)?;
                    let metric = match (&r.metric_name, &r.metric_namespace) {
                        (Some(n), Some(ns)) => Some((n.as_str(), ns.as_str())),
                        (None, None) => None,
                        _ => {
                            return Err(Error::InvalidParameter(
                                "metricName and metricNamespace must be specified together."
                                    .into(),
                            )
                            .into());
                        }
                    };
                    if r.filter_name_prefix.is_some() && r.log_group_name.is_none() {
                        return Err(Error::InvalidParameter(
                            "filterNamePrefix requires logGroupName.".into(),
                        )
                        .into());
                    }
                    let all = l.describe_metric_filters(
                        scope,
                        r.log_group_name.as_deref(),
                        r.filter_name_prefix.as_deref(),
                        metric,
                    )?;
                    let (items, next) = page_by_key(
                        all,
                        |(g, f)| format!("{g}:{}", f.name),
                        r.next_token.as_deref(),
                        limit,
                    );
                    Ok(DescribeMetricFiltersOut {
                        metric_filters: items.into_iter().map(|(g, f)| metric_out(g, f)).collect(),
                        next_token: next,
                    })
                })
                .await
            }
            "DeleteMetricFilter" => {
                typed(input, invalid, |r: FilterName| async move {
                    l.delete_metric_filter(scope, &r.log_group_name, &r.filter_name)?;
                    Ok(Empty {})
                })
                .await
            }
            "TestMetricFilter" => {
                typed(input, invalid, |r: TestMetricFilter| async move {
                    Ok(test_metric_filter(&r)?)
                })
                .await
            }
            "PutSubscriptionFilter" => {
                typed(input, invalid, |r: PutSubscriptionFilter| async move {
                    let distribution = match r.distribution.as_deref() {
                        None => "ByLogStream".to_owned(),
                        Some(d @ ("Random" | "ByLogStream")) => d.to_owned(),
                        Some(other) => {
                            return Err(Error::InvalidParameter(format!(
                                "1 validation error detected: Value '{other}' at 'distribution' failed to satisfy constraint: Member must satisfy enum value set: [Random, ByLogStream]"
                            ))
                            .into());
                        }
                    };
                    l.put_subscription_filter(
                        scope,
                        &r.log_group_name,
                        SubscriptionFilter {
                            group_id: String::new(),
                            name: r.filter_name,
                            pattern: r.filter_pattern,
                            destination_arn: r.destination_arn,
                            role_arn: r.role_arn,
                            distribution,
                            created_ms: crate::engine::now_ms(),
                            cursor: 0,
                        },
                    )
                    .await?;
                    Ok(Empty {})
                })
                .await
            }
            "DescribeSubscriptionFilters" => {
                typed(input, invalid, |r: DescribeSubscriptionFilters| async move {
                    let limit = describe_limit(r.limit)?;
                    let all = l.describe_subscription_filters(
                        scope,
                        &r.log_group_name,
                        r.filter_name_prefix.as_deref(),
                    )?;
                    let (items, next) =
                        page_by_key(all, |f| f.name.clone(), r.next_token.as_deref(), limit);
                    let group = r.log_group_name;
                    Ok(DescribeSubscriptionFiltersOut {
                        subscription_filters: items
                            .into_iter()
                            .map(|f| SubscriptionFilterOut {
                                filter_name: f.name,
                                log_group_name: group.clone(),
                                filter_pattern: f.pattern,
                                destination_arn: f.destination_arn,
                                role_arn: f.role_arn,
                                distribution: f.distribution,
                                creation_time: f.created_ms,
                            })
                            .collect(),
                        next_token: next,
                    })
                })
                .await
            }
            "AssociateKmsKey" => {
                typed(input, invalid, |r: AssociateKmsKey| async move {
                    let group = r.log_group_name.ok_or_else(|| {
                        Error::InvalidParameter(
                            "Sightline associates KMS keys with log groups only: logGroupName is required.".into(),
                        )
                    })?;
                    l.associate_key(scope, &group, &r.kms_key_id).await?;
                    Ok(Empty {})
                })
                .await
            }
            "DisassociateKmsKey" => {
                typed(input, invalid, |r: DisassociateKmsKey| async move {
                    let group = r.log_group_name.ok_or_else(|| {
                        Error::InvalidParameter(
                            "Sightline associates KMS keys with log groups only: logGroupName is required.".into(),
                        )
                    })?;
                    l.disassociate_key(scope, &group)?;
                    Ok(Empty {})
                })
                .await
            }
            "ExportLogs" => otlp::export(l, scope, input).await.map_err(ApiError::from),
            "StartQuery" | "GetQueryResults" | "StopQuery" | "DescribeQueries" => {
                queries::call(&self.logs, scope, reader, op, input).await
            }
            "DeleteSubscriptionFilter" => {
                typed(input, invalid, |r: FilterName| async move {
                    l.delete_subscription_filter(scope, &r.log_group_name, &r.filter_name)?;
                    Ok(Empty {})
                })
                .await
            }
            other => Err(LOGS.undispatched(other)),
        }
    }
}

/// TestMetricFilter: which of the messages (numbered from 1) the pattern matches, with
/// the values it extracts from each.
fn test_metric_filter(r: &TestMetricFilter) -> Result<TestMetricFilterOut> {
    if r.log_event_messages.is_empty() || r.log_event_messages.len() > 50 {
        return Err(Error::InvalidParameter(format!(
            "1 validation error detected: Value at 'logEventMessages' failed to satisfy constraint: Member must have length {}",
            if r.log_event_messages.is_empty() {
                "greater than or equal to 1"
            } else {
                "less than or equal to 50"
            }
        )));
    }
    let pattern = sightline_logfilter::FilterPattern::parse(&r.filter_pattern)?;
    let mut matches = Vec::new();
    for (i, m) in r.log_event_messages.iter().enumerate() {
        if let Some(c) = pattern.evaluate(m) {
            matches.push(MetricFilterMatch {
                event_number: i + 1,
                event_message: m.clone(),
                extracted_values: c.extracted(),
            });
        }
    }
    Ok(TestMetricFilterOut { matches })
}

#[async_trait::async_trait]
impl Service for LogsService {
    fn def(&self) -> &'static ServiceDef {
        &LOGS
    }

    async fn call(
        &self,
        ctx: &CallContext,
        op: &'static OperationDef,
        input: Value,
    ) -> Result<Value, ApiError> {
        self.dispatch(ctx, op.name, input).await
    }
}
