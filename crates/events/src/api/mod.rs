//! EventBridge over awsJson1_1 (`AWSEvents`): the operation table with the ARNs each
//! call is authorized on, bus policies as resource policies (another account's
//! PutEvents), and the mapping between wire shapes and the engine.

mod shapes;

use crate::engine::Events;
use crate::model::{ApiDestination, Archive, Bus, Connection, Replay, Rule};
use crate::names::{self, DEFAULT_BUS};
use crate::policy::Grant;
use crate::put::{Entry, Outcome};
use crate::rules::{RuleSpec, TargetFailure};
use crate::{Error, Result};
use shapes::*;
use sightline_core::Scope;
use sightline_wire::{
    ApiError, CallContext, DeError, OperationDef, Protocol, ResourceCtx, ResourcePolicy,
    ResourcePolicyKind, Service, ServiceDef, Timestamp, Value, any_resource, typed,
};
use std::sync::Arc;

fn input_str<'a>(v: &'a Value, member: &str) -> Option<&'a str> {
    v.get(member).and_then(Value::as_str)
}

/// The bus a member names, as an ARN (the caller's account unless an ARN says otherwise).
fn bus_of(ctx: &ResourceCtx<'_>, name: Option<&str>) -> String {
    match name {
        Some(n) if n.starts_with("arn:") => n.to_owned(),
        Some(n) => names::bus_arn(ctx.region, ctx.account_id, n),
        None => names::bus_arn(ctx.region, ctx.account_id, DEFAULT_BUS),
    }
}

fn bus_name_member(ctx: &ResourceCtx<'_>, v: &Value) -> Vec<String> {
    vec![bus_of(ctx, input_str(v, "EventBusName"))]
}

fn bus_by_name(ctx: &ResourceCtx<'_>, v: &Value) -> Vec<String> {
    vec![bus_of(ctx, input_str(v, "Name"))]
}

/// Every bus a PutEvents call puts onto.
fn put_events_buses(ctx: &ResourceCtx<'_>, v: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if let Some(Value::List(entries)) = v.get("Entries") {
        for e in entries {
            let arn = bus_of(ctx, input_str(e, "EventBusName"));
            if !out.contains(&arn) {
                out.push(arn);
            }
        }
    }
    if out.is_empty() {
        out.push(bus_of(ctx, None));
    }
    out
}

fn rule_of(ctx: &ResourceCtx<'_>, v: &Value, member: &str) -> Vec<String> {
    let Some(name) = input_str(v, member) else {
        return vec!["*".into()];
    };
    let bus = input_str(v, "EventBusName")
        .map(|b| {
            names::bus_ref(b)
                .map(|(_, n)| n)
                .unwrap_or_else(|_| b.to_owned())
        })
        .unwrap_or_else(|| DEFAULT_BUS.to_owned());
    vec![names::rule_arn(ctx.region, ctx.account_id, &bus, name)]
}

fn rule_by_name(ctx: &ResourceCtx<'_>, v: &Value) -> Vec<String> {
    rule_of(ctx, v, "Name")
}

fn rule_by_rule(ctx: &ResourceCtx<'_>, v: &Value) -> Vec<String> {
    rule_of(ctx, v, "Rule")
}

fn resource_arn(_: &ResourceCtx<'_>, v: &Value) -> Vec<String> {
    vec![input_str(v, "ResourceARN").unwrap_or("*").to_owned()]
}

const fn op(
    name: &'static str,
    action: &'static str,
    read_only: bool,
    resources: fn(&ResourceCtx<'_>, &Value) -> Vec<String>,
) -> OperationDef {
    OperationDef::rpc(name, action, read_only, resources)
}

pub static EVENTS: ServiceDef = ServiceDef {
    signing_name: "events",
    endpoint_prefix: "events",
    protocols: &[Protocol::AwsJson1_1],
    xml_namespace: "",
    target_prefix: Some("AWSEvents"),
    query_compatible: false,
    global_region: None,
    denied_code: None,
    operations: &[
        op(
            "CreateEventBus",
            "events:CreateEventBus",
            false,
            bus_by_name,
        ),
        op(
            "DeleteEventBus",
            "events:DeleteEventBus",
            false,
            bus_by_name,
        ),
        op(
            "DescribeEventBus",
            "events:DescribeEventBus",
            true,
            bus_by_name,
        ),
        op(
            "ListEventBuses",
            "events:ListEventBuses",
            true,
            any_resource,
        ),
        // The events themselves belong on the bus, not in the trail's record of the call.
        op("PutEvents", "events:PutEvents", false, put_events_buses).audit_only(&[]),
        op("PutRule", "events:PutRule", false, rule_by_name),
        op("DescribeRule", "events:DescribeRule", true, rule_by_name),
        op("ListRules", "events:ListRules", true, any_resource),
        op("DeleteRule", "events:DeleteRule", false, rule_by_name),
        op("EnableRule", "events:EnableRule", false, rule_by_name),
        op("DisableRule", "events:DisableRule", false, rule_by_name),
        op("PutTargets", "events:PutTargets", false, rule_by_rule),
        op("RemoveTargets", "events:RemoveTargets", false, rule_by_rule),
        op(
            "ListTargetsByRule",
            "events:ListTargetsByRule",
            true,
            rule_by_rule,
        ),
        op(
            "ListRuleNamesByTarget",
            "events:ListRuleNamesByTarget",
            true,
            any_resource,
        ),
        op(
            "TestEventPattern",
            "events:TestEventPattern",
            true,
            any_resource,
        ),
        op(
            "PutPermission",
            "events:PutPermission",
            false,
            bus_name_member,
        ),
        op(
            "RemovePermission",
            "events:RemovePermission",
            false,
            bus_name_member,
        ),
        op("TagResource", "events:TagResource", false, resource_arn),
        op("UntagResource", "events:UntagResource", false, resource_arn),
        op(
            "ListTagsForResource",
            "events:ListTagsForResource",
            true,
            resource_arn,
        ),
        // Connection secrets stay out of the trail.
        op(
            "CreateConnection",
            "events:CreateConnection",
            false,
            any_resource,
        )
        .audit_only(&["Name", "Description", "AuthorizationType"]),
        op(
            "UpdateConnection",
            "events:UpdateConnection",
            false,
            any_resource,
        )
        .audit_only(&["Name", "Description", "AuthorizationType"]),
        op(
            "DescribeConnection",
            "events:DescribeConnection",
            true,
            any_resource,
        ),
        op(
            "ListConnections",
            "events:ListConnections",
            true,
            any_resource,
        ),
        op(
            "DeleteConnection",
            "events:DeleteConnection",
            false,
            any_resource,
        ),
        op(
            "DeauthorizeConnection",
            "events:DeauthorizeConnection",
            false,
            any_resource,
        ),
        op(
            "CreateApiDestination",
            "events:CreateApiDestination",
            false,
            any_resource,
        ),
        op(
            "UpdateApiDestination",
            "events:UpdateApiDestination",
            false,
            any_resource,
        ),
        op(
            "DescribeApiDestination",
            "events:DescribeApiDestination",
            true,
            any_resource,
        ),
        op(
            "ListApiDestinations",
            "events:ListApiDestinations",
            true,
            any_resource,
        ),
        op(
            "DeleteApiDestination",
            "events:DeleteApiDestination",
            false,
            any_resource,
        ),
        op("CreateArchive", "events:CreateArchive", false, any_resource),
        op(
            "DescribeArchive",
            "events:DescribeArchive",
            true,
            any_resource,
        ),
        op("ListArchives", "events:ListArchives", true, any_resource),
        op("UpdateArchive", "events:UpdateArchive", false, any_resource),
        op("DeleteArchive", "events:DeleteArchive", false, any_resource),
        op("StartReplay", "events:StartReplay", false, any_resource),
        op(
            "DescribeReplay",
            "events:DescribeReplay",
            true,
            any_resource,
        ),
        op("ListReplays", "events:ListReplays", true, any_resource),
        op("CancelReplay", "events:CancelReplay", false, any_resource),
    ],
};

fn invalid(e: &DeError) -> ApiError {
    let message = match e {
        DeError::Missing(p) => format!(
            "1 validation error detected: Value null at '{p}' failed to satisfy constraint: Member must not be null"
        ),
        DeError::Invalid { path, message } => format!("Invalid value for {path}: {message}"),
    };
    ApiError::bad_request("ValidationException", message)
}

fn ts(ms: i64) -> Timestamp {
    Timestamp(chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default())
}

/// Pages a list already in order by a key, with the last key returned as the token.
fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    token: Option<&str>,
    limit: Option<i64>,
) -> Result<(Vec<T>, Option<String>)> {
    let limit = match limit {
        None => 100,
        Some(n @ 1..=100) => n as usize,
        Some(n) => {
            return Err(Error::Validation(format!(
                "1 validation error detected: Value '{n}' at 'limit' failed to satisfy constraint: Member must have value {}",
                if n < 1 {
                    "greater than or equal to 1"
                } else {
                    "less than or equal to 100"
                }
            )));
        }
    };
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
    Ok((out, next))
}

/// The default bus has no times until something about it is stored.
fn bus_out(b: Bus) -> BusOut {
    BusOut {
        name: b.name,
        arn: b.arn,
        description: b.description,
        policy: b.policy,
        creation_time: (b.created_ms > 0).then(|| ts(b.created_ms)),
        last_modified_time: (b.modified_ms > 0).then(|| ts(b.modified_ms)),
    }
}

fn rule_out(r: Rule) -> RuleOut {
    RuleOut {
        name: r.name,
        arn: r.arn,
        event_pattern: r.event_pattern,
        schedule_expression: r.schedule,
        state: r.state,
        description: r.description,
        role_arn: r.role_arn,
        event_bus_name: r.bus,
        created_by: Some(r.account),
    }
}

fn failures_out(f: Vec<TargetFailure>) -> TargetsResultOut {
    TargetsResultOut {
        failed_entry_count: f.len(),
        failed_entries: f
            .into_iter()
            .map(|f| TargetFailureOut {
                target_id: f.target_id,
                error_code: f.code,
                error_message: f.message,
            })
            .collect(),
    }
}

fn connection_state(c: &Connection) -> ConnectionStateOut {
    ConnectionStateOut {
        connection_arn: c.arn.clone(),
        connection_state: c.state.clone(),
        creation_time: ts(c.created_ms),
        last_modified_time: ts(c.modified_ms),
        last_authorized_time: c.last_authorized_ms.map(ts),
    }
}

fn connection_out(c: Connection, detailed: bool) -> ConnectionOut {
    let secret_arn = detailed.then(|| {
        format!(
            "arn:aws:secretsmanager:{}:{}:secret:events!connection/{}/{}",
            c.region,
            c.account,
            c.name,
            c.arn.rsplit('/').next().unwrap_or("")
        )
    });
    ConnectionOut {
        auth_parameters: detailed.then(|| crate::connections::public_auth(&c.auth)),
        secret_arn,
        connection_arn: c.arn,
        name: c.name,
        description: if detailed { c.description } else { None },
        connection_state: c.state,
        state_reason: c.state_reason,
        authorization_type: c.authorization_type,
        creation_time: ts(c.created_ms),
        last_modified_time: ts(c.modified_ms),
        last_authorized_time: c.last_authorized_ms.map(ts),
    }
}

fn destination_state(d: ApiDestination) -> ApiDestinationStateOut {
    ApiDestinationStateOut {
        api_destination_arn: d.arn,
        api_destination_state: "ACTIVE".into(),
        creation_time: ts(d.created_ms),
        last_modified_time: ts(d.modified_ms),
    }
}

fn archive_state(a: Archive) -> ArchiveStateOut {
    ArchiveStateOut {
        archive_arn: a.arn,
        state: a.state,
        creation_time: ts(a.created_ms),
    }
}

fn destination_out(d: ApiDestination) -> ApiDestinationOut {
    ApiDestinationOut {
        api_destination_arn: d.arn,
        name: d.name,
        description: d.description,
        api_destination_state: "ACTIVE".into(),
        connection_arn: d.connection_arn,
        invocation_endpoint: d.endpoint,
        http_method: d.method,
        invocation_rate_limit_per_second: d.rate_limit.unwrap_or(300),
        creation_time: ts(d.created_ms),
        last_modified_time: ts(d.modified_ms),
    }
}

fn archive_out(a: Archive, count: i64, bytes: i64, with_arn: bool) -> ArchiveOut {
    ArchiveOut {
        archive_arn: with_arn.then_some(a.arn),
        archive_name: a.name,
        event_source_arn: a.source_arn,
        description: if with_arn { a.description } else { None },
        event_pattern: if with_arn { a.event_pattern } else { None },
        state: a.state,
        retention_days: a.retention_days,
        size_bytes: bytes,
        event_count: count,
        creation_time: ts(a.created_ms),
    }
}

fn replay_out(r: Replay, detailed: bool) -> ReplayOut {
    ReplayOut {
        replay_name: r.name,
        replay_arn: detailed.then_some(r.arn),
        description: if detailed { r.description } else { None },
        state: r.state,
        state_reason: r.state_reason,
        event_source_arn: r.archive_arn,
        destination: detailed.then_some(r.destination),
        event_start_time: ts(r.start_ms),
        event_end_time: ts(r.end_ms),
        event_last_replayed_time: r.last_replayed_ms.map(ts),
        replay_start_time: ts(r.replay_start_ms),
        replay_end_time: r.replay_end_ms.map(ts),
    }
}

pub struct EventsService {
    pub events: Arc<Events>,
}

impl EventsService {
    async fn dispatch(&self, scope: &Scope, op: &str, input: Value) -> Result<Value, ApiError> {
        let ev = &*self.events;
        match op {
            "CreateEventBus" => {
                typed(input, invalid, |r: CreateEventBusIn| async move {
                    if r.event_source_name.is_some() {
                        return Err(Error::Validation(
                            "Partner event sources are not supported.".into(),
                        )
                        .into());
                    }
                    let arn = ev.create_bus(scope, &r.name, r.description.clone(), r.tags)?;
                    Ok(CreateEventBusOut {
                        event_bus_arn: arn,
                        description: r.description,
                    })
                })
                .await
            }
            "DeleteEventBus" => {
                typed(input, invalid, |r: NameIn| async move {
                    ev.delete_bus(scope, &r.name)?;
                    Ok(Empty {})
                })
                .await
            }
            "DescribeEventBus" => {
                typed(input, invalid, |r: OptionalNameIn| async move {
                    Ok(bus_out(ev.bus(scope, r.name.as_deref())?))
                })
                .await
            }
            "ListEventBuses" => {
                typed(input, invalid, |r: ListIn| async move {
                    let all = ev.list_buses(scope, r.name_prefix.as_deref());
                    let (buses, next) =
                        page(all, |b| b.name.clone(), r.next_token.as_deref(), r.limit)?;
                    Ok(ListEventBusesOut {
                        event_buses: buses.into_iter().map(bus_out).collect(),
                        next_token: next,
                    })
                })
                .await
            }
            "PutEvents" => {
                typed(input, invalid, |r: PutEventsIn| async move {
                    if r.endpoint_id.is_some() {
                        return Err(Error::Validation(
                            "Global endpoints are not supported.".into(),
                        )
                        .into());
                    }
                    let entries = r
                        .entries
                        .into_iter()
                        .map(|e| Entry {
                            time: e.time.map(|t| t.0),
                            source: e.source,
                            resources: e.resources,
                            detail_type: e.detail_type,
                            detail: e.detail,
                            bus: e.event_bus_name,
                        })
                        .collect();
                    let outcomes = ev.put_events(scope, entries).await?;
                    let failed = outcomes
                        .iter()
                        .filter(|o| matches!(o, Outcome::Failed { .. }))
                        .count();
                    Ok(PutEventsOut {
                        failed_entry_count: failed,
                        entries: outcomes
                            .into_iter()
                            .map(|o| match o {
                                Outcome::Accepted(id) => PutEventsResultEntry {
                                    event_id: Some(id),
                                    ..Default::default()
                                },
                                Outcome::Failed { code, message } => PutEventsResultEntry {
                                    error_code: Some(code),
                                    error_message: Some(message),
                                    ..Default::default()
                                },
                            })
                            .collect(),
                    })
                })
                .await
            }
            "PutRule" => {
                typed(input, invalid, |r: PutRuleIn| async move {
                    let arn = ev.put_rule(
                        scope,
                        RuleSpec {
                            name: r.name,
                            bus: r.event_bus_name,
                            event_pattern: r.event_pattern,
                            schedule: r.schedule_expression,
                            state: r.state,
                            description: r.description,
                            role_arn: r.role_arn,
                            tags: r.tags,
                        },
                    )?;
                    Ok(PutRuleOut { rule_arn: arn })
                })
                .await
            }
            "DescribeRule" => {
                typed(input, invalid, |r: RuleIn| async move {
                    Ok(rule_out(ev.rule(
                        scope,
                        &r.name,
                        r.event_bus_name.as_deref(),
                    )?))
                })
                .await
            }
            "ListRules" => {
                typed(input, invalid, |r: ListRulesIn| async move {
                    let all = ev.list_rules(
                        scope,
                        r.name_prefix.as_deref(),
                        r.event_bus_name.as_deref(),
                    )?;
                    let (rules, next) =
                        page(all, |r| r.name.clone(), r.next_token.as_deref(), r.limit)?;
                    Ok(ListRulesOut {
                        rules: rules.into_iter().map(rule_out).collect(),
                        next_token: next,
                    })
                })
                .await
            }
            "DeleteRule" => {
                typed(input, invalid, |r: RuleIn| async move {
                    ev.delete_rule(scope, &r.name, r.event_bus_name.as_deref())?;
                    Ok(Empty {})
                })
                .await
            }
            "EnableRule" | "DisableRule" => {
                let enable = op == "EnableRule";
                typed(input, invalid, |r: RuleIn| async move {
                    ev.set_rule_state(scope, &r.name, r.event_bus_name.as_deref(), enable)?;
                    Ok(Empty {})
                })
                .await
            }
            "PutTargets" => {
                typed(input, invalid, |r: PutTargetsIn| async move {
                    let f =
                        ev.put_targets(scope, &r.rule, r.event_bus_name.as_deref(), r.targets)?;
                    Ok(failures_out(f))
                })
                .await
            }
            "RemoveTargets" => {
                typed(input, invalid, |r: RemoveTargetsIn| async move {
                    let _ = r.force;
                    let f =
                        ev.remove_targets(scope, &r.rule, r.event_bus_name.as_deref(), &r.ids)?;
                    Ok(failures_out(f))
                })
                .await
            }
            "ListTargetsByRule" => {
                typed(input, invalid, |r: ListTargetsByRuleIn| async move {
                    let rule = ev.rule(scope, &r.rule, r.event_bus_name.as_deref())?;
                    let mut targets = rule.targets;
                    targets.sort_by(|a, b| a.id.cmp(&b.id));
                    let (targets, next) =
                        page(targets, |t| t.id.clone(), r.next_token.as_deref(), r.limit)?;
                    Ok(ListTargetsByRuleOut {
                        targets,
                        next_token: next,
                    })
                })
                .await
            }
            "ListRuleNamesByTarget" => {
                typed(input, invalid, |r: ListRuleNamesByTargetIn| async move {
                    let all =
                        ev.rule_names_by_target(scope, &r.target_arn, r.event_bus_name.as_deref())?;
                    let (names, next) = page(all, Clone::clone, r.next_token.as_deref(), r.limit)?;
                    Ok(ListRuleNamesByTargetOut {
                        rule_names: names,
                        next_token: next,
                    })
                })
                .await
            }
            "TestEventPattern" => {
                typed(input, invalid, |r: TestEventPatternIn| async move {
                    crate::rules::check_pattern(&r.event_pattern)?;
                    let pattern = sightline_patterns::parse(&r.event_pattern).map_err(|e| {
                        Error::InvalidEventPattern(format!(
                            "Event pattern is not valid. Reason: {e}"
                        ))
                    })?;
                    let event = test_event(&r.event)?;
                    Ok(TestEventPatternOut {
                        result: pattern.matches(&event),
                    })
                })
                .await
            }
            "PutPermission" => {
                typed(input, invalid, |r: PutPermissionIn| async move {
                    let condition = r
                        .condition
                        .as_ref()
                        .map(|c| (c.kind.as_str(), c.key.as_str(), c.value.as_str()));
                    let grant = match (&r.statement_id, &r.principal, &r.action) {
                        (Some(sid), Some(principal), Some(action)) => Some(Grant {
                            statement_id: sid,
                            principal,
                            action,
                            condition,
                        }),
                        _ => None,
                    };
                    ev.put_permission(
                        scope,
                        r.event_bus_name.as_deref(),
                        grant,
                        r.policy.as_deref(),
                    )?;
                    Ok(Empty {})
                })
                .await
            }
            "RemovePermission" => {
                typed(input, invalid, |r: RemovePermissionIn| async move {
                    ev.remove_permission(
                        scope,
                        r.event_bus_name.as_deref(),
                        r.statement_id.as_deref(),
                        r.remove_all_permissions,
                    )?;
                    Ok(Empty {})
                })
                .await
            }
            "TagResource" => {
                typed(input, invalid, |r: TagResourceIn| async move {
                    ev.tag(scope, &r.resource_arn, r.tags)?;
                    Ok(Empty {})
                })
                .await
            }
            "UntagResource" => {
                typed(input, invalid, |r: UntagResourceIn| async move {
                    ev.untag(scope, &r.resource_arn, &r.tag_keys)?;
                    Ok(Empty {})
                })
                .await
            }
            "ListTagsForResource" => {
                typed(input, invalid, |r: ResourceArnIn| async move {
                    Ok(TagsOut {
                        tags: ev.tags(scope, &r.resource_arn)?,
                    })
                })
                .await
            }
            _ => self.dispatch_integrations(scope, op, input).await,
        }
    }

    /// Connections, API destinations, archives and replays.
    async fn dispatch_integrations(
        &self,
        scope: &Scope,
        op: &str,
        input: Value,
    ) -> Result<Value, ApiError> {
        let ev = &*self.events;
        match op {
            "CreateConnection" => {
                typed(input, invalid, |r: CreateConnectionIn| async move {
                    let c = ev.create_connection(
                        scope,
                        &r.name,
                        r.description,
                        &r.authorization_type,
                        r.auth_parameters,
                    )?;
                    Ok(connection_state(&c))
                })
                .await
            }
            "UpdateConnection" => {
                typed(input, invalid, |r: UpdateConnectionIn| async move {
                    let c = ev.update_connection(
                        scope,
                        &r.name,
                        r.description,
                        r.authorization_type.as_deref(),
                        r.auth_parameters,
                    )?;
                    Ok(connection_state(&c))
                })
                .await
            }
            "DescribeConnection" => {
                typed(input, invalid, |r: NameIn| async move {
                    Ok(connection_out(ev.connection(scope, &r.name)?, true))
                })
                .await
            }
            "ListConnections" => {
                typed(input, invalid, |r: ListConnectionsIn| async move {
                    let all = ev.list_connections(
                        scope,
                        r.name_prefix.as_deref(),
                        r.connection_state.as_deref(),
                    );
                    let (list, next) =
                        page(all, |c| c.name.clone(), r.next_token.as_deref(), r.limit)?;
                    Ok(ListConnectionsOut {
                        connections: list.into_iter().map(|c| connection_out(c, false)).collect(),
                        next_token: next,
                    })
                })
                .await
            }
            "DeleteConnection" => {
                typed(input, invalid, |r: NameIn| async move {
                    Ok(connection_state(&ev.delete_connection(scope, &r.name)?))
                })
                .await
            }
            "DeauthorizeConnection" => {
                typed(input, invalid, |r: NameIn| async move {
                    Ok(connection_state(
                        &ev.deauthorize_connection(scope, &r.name)?,
                    ))
                })
                .await
            }
            "CreateApiDestination" => {
                typed(input, invalid, |r: CreateApiDestinationIn| async move {
                    let d = ev.create_api_destination(
                        scope,
                        &r.name,
                        r.description,
                        &r.connection_arn,
                        &r.invocation_endpoint,
                        &r.http_method,
                        r.invocation_rate_limit_per_second,
                    )?;
                    Ok(destination_state(d))
                })
                .await
            }
            "UpdateApiDestination" => {
                typed(input, invalid, |r: UpdateApiDestinationIn| async move {
                    let d = ev.update_api_destination(
                        scope,
                        &r.name,
                        r.description,
                        r.connection_arn,
                        r.invocation_endpoint,
                        r.http_method,
                        r.invocation_rate_limit_per_second,
                    )?;
                    Ok(destination_state(d))
                })
                .await
            }
            "DescribeApiDestination" => {
                typed(input, invalid, |r: NameIn| async move {
                    Ok(destination_out(ev.api_destination(scope, &r.name)?))
                })
                .await
            }
            "ListApiDestinations" => {
                typed(input, invalid, |r: ListApiDestinationsIn| async move {
                    let all = ev.list_api_destinations(
                        scope,
                        r.name_prefix.as_deref(),
                        r.connection_arn.as_deref(),
                    );
                    let (list, next) =
                        page(all, |d| d.name.clone(), r.next_token.as_deref(), r.limit)?;
                    Ok(ListApiDestinationsOut {
                        api_destinations: list.into_iter().map(destination_out).collect(),
                        next_token: next,
                    })
                })
                .await
            }
            "DeleteApiDestination" => {
                typed(input, invalid, |r: NameIn| async move {
                    ev.delete_api_destination(scope, &r.name)?;
                    Ok(Empty {})
                })
                .await
            }
            "CreateArchive" => {
                typed(input, invalid, |r: CreateArchiveIn| async move {
                    let a = ev.create_archive(
                        scope,
                        &r.archive_name,
                        &r.event_source_arn,
                        r.description,
                        r.event_pattern,
                        r.retention_days,
                    )?;
                    Ok(archive_state(a))
                })
                .await
            }
            "UpdateArchive" => {
                typed(input, invalid, |r: UpdateArchiveIn| async move {
                    let a = ev.update_archive(
                        scope,
                        &r.archive_name,
                        r.description,
                        r.event_pattern,
                        r.retention_days,
                    )?;
                    Ok(archive_state(a))
                })
                .await
            }
            "DescribeArchive" => {
                typed(input, invalid, |r: ArchiveNameIn| async move {
                    let (a, c, b) = ev.archive(scope, &r.archive_name).await?;
                    Ok(archive_out(a, c, b, true))
                })
                .await
            }
            "ListArchives" => {
                typed(input, invalid, |r: ListArchivesIn| async move {
                    let all = ev
                        .list_archives(
                            scope,
                            r.name_prefix.as_deref(),
                            r.event_source_arn.as_deref(),
                            r.state.as_deref(),
                        )
                        .await?;
                    let (list, next) =
                        page(all, |a| a.0.name.clone(), r.next_token.as_deref(), r.limit)?;
                    Ok(ListArchivesOut {
                        archives: list
                            .into_iter()
                            .map(|(a, c, b)| archive_out(a, c, b, false))
                            .collect(),
                        next_token: next,
                    })
                })
                .await
            }
            "DeleteArchive" => {
                typed(input, invalid, |r: ArchiveNameIn| async move {
                    ev.delete_archive(scope, &r.archive_name)?;
                    Ok(Empty {})
                })
                .await
            }
            "StartReplay" => {
                typed(input, invalid, |r: StartReplayIn| async move {
                    let rp = ev.start_replay(
                        scope,
                        &r.replay_name,
                        r.description,
                        &r.event_source_arn,
                        r.event_start_time.0.timestamp_millis(),
                        r.event_end_time.0.timestamp_millis(),
                        r.destination,
                    )?;
                    Ok(ReplayStateOut {
                        replay_arn: rp.arn,
                        state: rp.state,
                        state_reason: rp.state_reason,
                        replay_start_time: Some(ts(rp.replay_start_ms)),
                    })
                })
                .await
            }
            "DescribeReplay" => {
                typed(input, invalid, |r: ReplayNameIn| async move {
                    Ok(replay_out(ev.replay(scope, &r.replay_name)?, true))
                })
                .await
            }
            "ListReplays" => {
                typed(input, invalid, |r: ListReplaysIn| async move {
                    let mut all = ev.list_replays(
                        scope,
                        r.name_prefix.as_deref(),
                        r.state.as_deref(),
                        r.event_source_arn.as_deref(),
                    );
                    all.sort_by(|a, b| a.name.cmp(&b.name));
                    let (list, next) =
                        page(all, |r| r.name.clone(), r.next_token.as_deref(), r.limit)?;
                    Ok(ListReplaysOut {
                        replays: list.into_iter().map(|r| replay_out(r, false)).collect(),
                        next_token: next,
                    })
                })
                .await
            }
            "CancelReplay" => {
                typed(input, invalid, |r: ReplayNameIn| async move {
                    let rp = ev.cancel_replay(scope, &r.replay_name)?;
                    Ok(ReplayStateOut {
                        replay_arn: rp.arn,
                        state: rp.state,
                        state_reason: rp.state_reason,
                        replay_start_time: None,
                    })
                })
                .await
            }
            other => Err(ApiError::bad_request(
                "UnknownOperationException",
                format!("Unknown operation {other}"),
            )),
        }
    }
}

/// TestEventPattern's event: JSON with the envelope fields EventBridge requires.
fn test_event(text: &str) -> Result<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(text)
        .map_err(|_| Error::Validation("Parameter Event is not valid.".into()))?;
    for field in ["id", "account", "source", "time", "region", "detail-type"] {
        if v.get(field).is_none() {
            return Err(Error::Validation(format!(
                "Parameter Event is not valid. Reason: Provided Event is missing required field \"{field}\"."
            )));
        }
    }
    Ok(v)
}

#[async_trait::async_trait]
impl Service for EventsService {
    fn def(&self) -> &'static ServiceDef {
        &EVENTS
    }

    async fn call(
        &self,
        ctx: &CallContext,
        op: &'static OperationDef,
        input: Value,
    ) -> Result<Value, ApiError> {
        self.dispatch(&ctx.scope, op.name, input).await
    }

    async fn resource_policy(&self, _scope: &Scope, arn: &str) -> Option<ResourcePolicy> {
        self.events.bus_policy(arn).map(|document| ResourcePolicy {
            document,
            kind: ResourcePolicyKind::Resource,
        })
    }
}
