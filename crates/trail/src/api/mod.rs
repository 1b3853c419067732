//! CloudTrail over awsJson1_1: the operation table and the dispatch onto the event
//! history ([`Trail`]) and the trails ([`Trails`]).

mod lookup;
mod trails;

use crate::engine::Trail;
use crate::trails::Trails;
use sightline_wire::{
    ApiError, CallContext, OperationDef, Protocol, Service, ServiceDef, Value, any_resource, typed,
};
use std::sync::Arc;

const fn op(name: &'static str, action: &'static str, read_only: bool) -> OperationDef {
    OperationDef::rpc(name, action, read_only, any_resource)
}

pub static CLOUDTRAIL: ServiceDef = ServiceDef {
    signing_name: "cloudtrail",
    endpoint_prefix: "cloudtrail",
    protocols: &[Protocol::AwsJson1_1],
    xml_namespace: "",
    target_prefix: Some("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101"),
    query_compatible: false,
    global_region: None,
    denied_code: None,
    operations: &[
        op("LookupEvents", "cloudtrail:LookupEvents", true),
        op("CreateTrail", "cloudtrail:CreateTrail", false),
        op("UpdateTrail", "cloudtrail:UpdateTrail", false),
        op("DeleteTrail", "cloudtrail:DeleteTrail", false),
        op("DescribeTrails", "cloudtrail:DescribeTrails", true),
        op("GetTrail", "cloudtrail:GetTrail", true),
        op("GetTrailStatus", "cloudtrail:GetTrailStatus", true),
        op("StartLogging", "cloudtrail:StartLogging", false),
        op("StopLogging", "cloudtrail:StopLogging", false),
        op("ListTrails", "cloudtrail:ListTrails", true),
        op("ListPublicKeys", "cloudtrail:ListPublicKeys", true),
        op("PutEventSelectors", "cloudtrail:PutEventSelectors", false),
        op("GetEventSelectors", "cloudtrail:GetEventSelectors", true),
    ],
};

pub struct CloudTrail {
    pub trail: Arc<Trail>,
    pub trails: Arc<Trails>,
}

#[async_trait::async_trait]
impl Service for CloudTrail {
    fn def(&self) -> &'static ServiceDef {
        &CLOUDTRAIL
    }

    async fn call(
        &self,
        ctx: &CallContext,
        op: &'static OperationDef,
        input: Value,
    ) -> Result<Value, ApiError> {
        use lookup::invalid;
        let t = &*self.trails;
        let scope = &ctx.scope;
        match op.name {
            "LookupEvents" => lookup::lookup_events(&self.trail, ctx, input).await,
            "CreateTrail" => {
                typed(input, invalid, |r| async move {
                    Ok(trails::create(t, scope, r).await?)
                })
                .await
            }
            "UpdateTrail" => {
                typed(input, invalid, |r| async move {
                    Ok(trails::update(t, scope, r).await?)
                })
                .await
            }
            "DeleteTrail" => {
                typed(input, invalid, |r| async move {
                    Ok(trails::delete(t, scope, r)?)
                })
                .await
            }
            "DescribeTrails" => {
                typed(input, invalid, |r| async move {
                    Ok(trails::describe(t, scope, r)?)
                })
                .await
            }
            "GetTrail" => {
                typed(
                    input,
                    invalid,
                    |r| async move { Ok(trails::get(t, scope, r)?) },
                )
                .await
            }
            "GetTrailStatus" => {
                typed(input, invalid, |r| async move {
                    Ok(trails::status(t, scope, r)?)
                })
                .await
            }
            "StartLogging" => {
                typed(input, invalid, |r| async move {
                    Ok(trails::start(t, scope, r)?)
                })
                .await
            }
            "StopLogging" => {
                typed(
                    input,
                    invalid,
                    |r| async move { Ok(trails::stop(t, scope, r)?) },
                )
                .await
            }
            "ListTrails" => {
                typed(input, invalid, |_: serde_json::Value| async move {
                    Ok(trails::list(t, scope))
                })
                .await
            }
            "ListPublicKeys" => {
                typed(input, invalid, |r| async move {
                    Ok(trails::public_keys(t, scope, r).await?)
                })
                .await
            }
            "PutEventSelectors" => {
                typed(input, invalid, |r| async move {
                    Ok(trails::put_selectors(t, scope, r)?)
                })
                .await
            }
            "GetEventSelectors" => {
                typed(input, invalid, |r| async move {
                    Ok(trails::get_selectors(t, scope, r)?)
                })
                .await
            }
            other => Err(self.def().undispatched(other)),
        }
    }
}
