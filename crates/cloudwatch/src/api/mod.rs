//! CloudWatch (`monitoring`) over smithy-rpc-v2-cbor, awsJson1_0 and awsQuery: the
//! operation table and the mapping between wire shapes and the engine. The service is
//! query-compatible, so JSON and CBOR errors carry the Query code in
//! `x-amzn-query-error` and every client sees the same codes. Two restJson1 routes
//! take metrics from other senders: Prometheus remote-write and OTLP/HTTP.

mod inputs;
mod shapes;

use crate::alarms::{
    DescribeAlarmHistoryInput, DescribeAlarmsForMetricInput, DescribeAlarmsInput,
    PutCompositeAlarmInput, PutMetricAlarmInput, alarm_arn,
};
use crate::engine::CloudWatch;
use crate::math::GetMetricDataInput;
use crate::query::{GetMetricStatisticsInput, ListMetricsInput};
use shapes::*;
use sightline_wire::{
    ApiError, CallContext, DeError, OperationDef, Protocol, ResourceCtx, Service, ServiceDef,
    Value, any_resource, typed,
};
use std::sync::Arc;

const fn op(name: &'static str, action: &'static str, read_only: bool) -> OperationDef {
    OperationDef::rpc(name, action, read_only, any_resource)
}

fn alarm_resource(ctx: &ResourceCtx<'_>, input: &Value) -> Vec<String> {
    match input.get("AlarmName").and_then(Value::as_str) {
        Some(n) => vec![format!(
            "arn:{}:cloudwatch:{}:{}:alarm:{n}",
            ctx.partition, ctx.region, ctx.account_id
        )],
        None => vec!["*".into()],
    }
}

fn alarm_names_resource(ctx: &ResourceCtx<'_>, input: &Value) -> Vec<String> {
    match input.get("AlarmNames") {
        Some(Value::List(names)) if !names.is_empty() => names
            .iter()
            .filter_map(Value::as_str)
            .map(|n| {
                format!(
                    "arn:{}:cloudwatch:{}:{}:alarm:{n}",
                    ctx.partition, ctx.region, ctx.account_id
                )
            })
            .collect(),
        _ => vec!["*".into()],
    }
}

fn dashboard_resource(ctx: &ResourceCtx<'_>, input: &Value) -> Vec<String> {
    match input.get("DashboardName").and_then(Value::as_str) {
        Some(n) => vec![format!(
            "arn:{}:cloudwatch::{}:dashboard/{n}",
            ctx.partition, ctx.account_id
        )],
        None => vec!["*".into()],
    }
}

fn arn_resource(_: &ResourceCtx<'_>, input: &Value) -> Vec<String> {
    match input.get("ResourceARN").and_then(Value::as_str) {
        Some(a) => vec![a.to_owned()],
        None => vec!["*".into()],
    }
}

pub static MONITORING: ServiceDef = ServiceDef {
    signing_name: "monitoring",
    endpoint_prefix: "monitoring",
    // restJson1 for the push routes only (`POST /api/v1/write`, `POST /v1/metrics`):
    // the RPC protocols are told apart by their headers and content types first.
    protocols: &[
        Protocol::RpcV2Cbor,
        Protocol::AwsJson1_0,
        Protocol::AwsQuery,
        Protocol::RestJson1,
    ],
    xml_namespace: "http://monitoring.amazonaws.com/doc/2010-08-01/",
    target_prefix: Some("GraniteServiceVersion20100801"),
    query_compatible: true,
    global_region: None,
    denied_code: None,
    operations: &[
        op("PutMetricData", "cloudwatch:PutMetricData", false).audit_only(&["Namespace"]),
        op(
            "GetMetricStatistics",
            "cloudwatch:GetMetricStatistics",
            true,
        ),
        op("GetMetricData", "cloudwatch:GetMetricData", true),
        op("ListMetrics", "cloudwatch:ListMetrics", true),
        OperationDef::rpc(
            "PutMetricAlarm",
            "cloudwatch:PutMetricAlarm",
            false,
            alarm_resource,
        ),
        OperationDef::rpc(
            "PutCompositeAlarm",
            "cloudwatch:PutCompositeAlarm",
            false,
            alarm_resource,
        ),
        op("DescribeAlarms", "cloudwatch:DescribeAlarms", true),
        op(
            "DescribeAlarmsForMetric",
            "cloudwatch:DescribeAlarmsForMetric",
            true,
        ),
        OperationDef::rpc(
            "DeleteAlarms",
            "cloudwatch:DeleteAlarms",
            false,
            alarm_names_resource,
        ),
        OperationDef::rpc(
            "SetAlarmState",
            "cloudwatch:SetAlarmState",
            false,
            alarm_resource,
        ),
        op(
            "DescribeAlarmHistory",
            "cloudwatch:DescribeAlarmHistory",
            true,
        ),
        OperationDef::rpc(
            "EnableAlarmActions",
            "cloudwatch:EnableAlarmActions",
            false,
            alarm_names_resource,
        ),
        OperationDef::rpc(
            "DisableAlarmActions",
            "cloudwatch:DisableAlarmActions",
            false,
            alarm_names_resource,
        ),
        OperationDef::rpc(
            "PutDashboard",
            "cloudwatch:PutDashboard",
            false,
            dashboard_resource,
        ),
        OperationDef::rpc(
            "GetDashboard",
            "cloudwatch:GetDashboard",
            true,
            dashboard_resource,
        ),
        op("ListDashboards", "cloudwatch:ListDashboards", true),
        op("DeleteDashboards", "cloudwatch:DeleteDashboards", false),
        op(
            "GetMetricWidgetImage",
            "cloudwatch:GetMetricWidgetImage",
            true,
        ),
        OperationDef::rpc("TagResource", "cloudwatch:TagResource", false, arn_resource),
        OperationDef::rpc(
            "UntagResource",
            "cloudwatch:UntagResource",
            false,
            arn_resource,
        ),
        OperationDef::rpc(
            "ListTagsForResource",
            "cloudwatch:ListTagsForResource",
            true,
            arn_resource,
        ),
        // Same permission as PutMetricData; the bodies are not audited.
        op("RemoteWrite", "cloudwatch:PutMetricData", false)
            .route("POST", "/api/v1/write")
            .raw_request()
            .audit_only(&[]),
        op("ExportMetrics", "cloudwatch:PutMetricData", false)
            .route("POST", "/v1/metrics")
            .raw_request()
            .audit_only(&[]),
    ],
};

pub struct CloudWatchService {
    pub cw: Arc<CloudWatch>,
}

fn invalid(e: &DeError) -> ApiError {
    match e {
        DeError::Missing(p) => ApiError::bad_request(
            "MissingParameter",
            format!("The parameter {p} is required."),
        ),
        DeError::Invalid { path, message } => ApiError::bad_request(
            "InvalidParameterValue",
            format!("The value for parameter {path} is invalid: {message}"),
        ),
    }
}

#[async_trait::async_trait]
impl Service for CloudWatchService {
    fn def(&self) -> &'static ServiceDef {
        &MONITORING
    }

    async fn call(
        &self,
        ctx: &CallContext,
        op: &'static OperationDef,
        input: Value,
    ) -> Result<Value, ApiError> {
        let cw = &self.cw;
        let scope = &ctx.scope;
        match op.name {
            "PutMetricData" => {
                typed(input, invalid, |r: PutMetricDataInput| async move {
                    cw.put_metric_data(scope, &r.namespace, &r.metric_data.unwrap_or_default())
                        .await?;
                    Ok(Empty {})
                })
                .await
            }
            "GetMetricStatistics" => {
                typed(input, invalid, |r: GetMetricStatisticsInput| async move {
                    Ok(cw.get_metric_statistics(scope, r).await?)
                })
                .await
            }
            "GetMetricData" => {
                typed(input, invalid, |r: GetMetricDataInput| async move {
                    Ok(cw.get_metric_data(scope, r).await?)
                })
                .await
            }
            "ListMetrics" => {
                typed(input, invalid, |r: ListMetricsInput| async move {
                    Ok(cw.list_metrics(scope, r)?)
                })
                .await
            }
            "PutMetricAlarm" => {
                typed(input, invalid, |r: PutMetricAlarmInput| async move {
                    cw.put_metric_alarm(scope, r).await?;
                    Ok(Empty {})
                })
                .await
            }
            "PutCompositeAlarm" => {
                typed(input, invalid, |r: PutCompositeAlarmInput| async move {
                    cw.put_composite_alarm(scope, r).await?;
                    Ok(Empty {})
                })
                .await
            }
            "DescribeAlarms" => {
                typed(input, invalid, |r: DescribeAlarmsInput| async move {
                    Ok(cw.describe_alarms(scope, r)?)
                })
                .await
            }
            "DescribeAlarmsForMetric" => {
                typed(
                    input,
                    invalid,
                    |r: DescribeAlarmsForMetricInput| async move {
                        Ok(cw.describe_alarms_for_metric(scope, r)?)
                    },
                )
                .await
            }
            "DeleteAlarms" => {
                typed(input, invalid, |r: AlarmNamesInput| async move {
                    cw.delete_alarms(scope, &r.alarm_names).await?;
                    Ok(Empty {})
                })
                .await
            }
            "EnableAlarmActions" | "DisableAlarmActions" => {
                let on = op.name == "EnableAlarmActions";
                typed(input, invalid, |r: AlarmNamesInput| async move {
                    cw.set_actions_enabled(scope, &r.alarm_names, on).await?;
                    Ok(Empty {})
                })
                .await
            }
            "SetAlarmState" => {
                typed(input, invalid, |r: SetAlarmStateInput| async move {
                    cw.set_alarm_state(
                        scope,
                        &r.alarm_name,
                        &r.state_value,
                        r.state_reason,
                        r.state_reason_data,
                    )
                    .await?;
                    Ok(Empty {})
                })
                .await
            }
            "DescribeAlarmHistory" => {
                typed(input, invalid, |r: DescribeAlarmHistoryInput| async move {
                    Ok(cw.describe_alarm_history(scope, r)?)
                })
                .await
            }
            "PutDashboard" => {
                typed(input, invalid, |r: PutDashboardInput| async move {
                    cw.put_dashboard(scope, &r.dashboard_name, &r.dashboard_body, r.tags)?;
                    Ok(PutDashboardOutput {
                        dashboard_validation_messages: Vec::new(),
                    })
                })
                .await
            }
            "GetDashboard" => {
                typed(input, invalid, |r: DashboardNameInput| async move {
                    let d = cw.get_dashboard(scope, &r.dashboard_name)?;
                    Ok(GetDashboardOutput {
                        dashboard_arn: crate::dashboards::dashboard_arn(&scope.account_id, &d.name),
                        dashboard_body: d.body,
                        dashboard_name: d.name,
                    })
                })
                .await
            }
            "ListDashboards" => {
                typed(input, invalid, |r: ListDashboardsInput| async move {
                    let (entries, next) = cw.list_dashboards(
                        scope,
                        r.dashboard_name_prefix.as_deref(),
                        r.next_token.as_deref(),
                    )?;
                    Ok(ListDashboardsOutput {
                        dashboard_entries: entries,
                        next_token: next,
                    })
                })
                .await
            }
            "DeleteDashboards" => {
                typed(input, invalid, |r: DeleteDashboardsInput| async move {
                    cw.delete_dashboards(scope, &r.dashboard_names)?;
                    Ok(Empty {})
                })
                .await
            }
            "GetMetricWidgetImage" => {
                typed(input, invalid, |r: GetMetricWidgetImageInput| async move {
                    let png = cw
                        .metric_widget_image(scope, &r.metric_widget, r.output_format.as_deref())
                        .await?;
                    Ok(GetMetricWidgetImageOutput {
                        metric_widget_image: sightline_wire::Blob(png),
                    })
                })
                .await
            }
            "TagResource" => {
                typed(input, invalid, |r: TagResourceInput| async move {
                    cw.tag_resource(scope, &r.resource_arn, r.tags)?;
                    Ok(Empty {})
                })
                .await
            }
            "UntagResource" => {
                typed(input, invalid, |r: UntagResourceInput| async move {
                    cw.untag_resource(scope, &r.resource_arn, r.tag_keys)?;
                    Ok(Empty {})
                })
                .await
            }
            "ListTagsForResource" => {
                typed(input, invalid, |r: ResourceArnInput| async move {
                    Ok(ListTagsOutput {
                        tags: cw.tags_of(scope, &r.resource_arn)?,
                    })
                })
                .await
            }
            "RemoteWrite" => inputs::remote_write(cw, scope, input).await,
            "ExportMetrics" => inputs::export_metrics(cw, scope, input).await,
            other => Err(MONITORING.undispatched(other)),
        }
    }
}

/// The ARN CloudWatch gives an alarm (for callers outside the crate, e.g. tests).
pub fn arn_of_alarm(scope: &sightline_core::Scope, name: &str) -> String {
    alarm_arn(scope, name)
}
