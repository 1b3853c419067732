//! STS over awsQuery.

use super::query_invalid;
use crate::engine::Identity;
use crate::model::Session;
use serde::{Deserialize, Serialize};
use sightline_core::PrincipalKind;
use sightline_wire::{
    ApiError, CallContext, OperationDef, Protocol, ResourceCtx, ResourcePolicy, Service,
    ServiceDef, Timestamp, Value, any_resource, typed,
};
use std::sync::Arc;

fn role_arn(_: &ResourceCtx<'_>, input: &Value) -> Vec<String> {
    vec![super::input_str(input, "RoleArn").unwrap_or("*").to_owned()]
}

pub static STS: ServiceDef = ServiceDef {
    signing_name: "sts",
    endpoint_prefix: "sts",
    protocols: &[Protocol::AwsQuery],
    xml_namespace: "https://sts.amazonaws.com/doc/2011-06-15/",
    target_prefix: None,
    query_compatible: false,
    global_region: None,
    denied_code: None,
    operations: &[
        OperationDef::rpc(
            "GetCallerIdentity",
            "sts:GetCallerIdentity",
            true,
            any_resource,
        )
        .public(),
        OperationDef::rpc("AssumeRole", "sts:AssumeRole", false, role_arn),
        // AWS: no permission is needed to get a session token for oneself.
        OperationDef::rpc("GetSessionToken", "sts:GetSessionToken", true, any_resource).public(),
    ],
};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Empty {}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CallerIdentity {
    user_id: String,
    account: String,
    arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AssumeRoleRequest {
    role_arn: String,
    role_session_name: String,
    duration_seconds: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Credentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    expiration: Timestamp,
}

impl From<&Session> for Credentials {
    fn from(s: &Session) -> Self {
        Credentials {
            access_key_id: s.access_key_id.clone(),
            secret_access_key: s.secret.clone(),
            session_token: s.token.clone(),
            expiration: s.expiration.into(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AssumedRoleUser {
    assumed_role_id: String,
    arn: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AssumeRoleResponse {
    credentials: Credentials,
    assumed_role_user: AssumedRoleUser,
    packed_policy_size: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetSessionTokenRequest {
    duration_seconds: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetSessionTokenResponse {
    credentials: Credentials,
}

pub struct Sts {
    pub identity: Arc<Identity>,
}

#[async_trait::async_trait]
impl Service for Sts {
    fn def(&self) -> &'static ServiceDef {
        &STS
    }

    async fn call(
        &self,
        ctx: &CallContext,
        op: &'static OperationDef,
        input: Value,
    ) -> Result<Value, ApiError> {
        let id = &self.identity;
        let caller = &ctx.caller;
        match op.name {
            "GetCallerIdentity" => {
                typed(input, query_invalid, |_: Empty| async {
                    Ok(CallerIdentity {
                        user_id: caller.principal_id.clone(),
                        account: caller.account_id.clone(),
                        arn: caller.identity_arn.clone(),
                    })
                })
                .await
            }
            "AssumeRole" => {
                typed(input, query_invalid, |r: AssumeRoleRequest| async move {
                    let mut context = sightline_policy::Context::new();
                    context.set("aws:SourceIp", ctx.source_ip.clone());
                    context.set("aws:PrincipalArn", caller.arn.clone());
                    context.set("aws:PrincipalAccount", caller.account_id.clone());
                    let s = id.assume_role(
                        caller,
                        &r.role_arn,
                        &r.role_session_name,
                        r.duration_seconds,
                        &context,
                    )?;
                    let crate::model::SessionKind::AssumedRole {
                        role_name,
                        role_id,
                        session_name,
                        ..
                    } = &s.kind
                    else {
                        return Err(ApiError::internal("unexpected session kind"));
                    };
                    Ok(AssumeRoleResponse {
                        credentials: (&s).into(),
                        assumed_role_user: AssumedRoleUser {
                            assumed_role_id: format!("{role_id}:{session_name}"),
                            arn: format!(
                                "arn:aws:sts::{}:assumed-role/{role_name}/{session_name}",
                                s.account
                            ),
                        },
                        packed_policy_size: 0,
                    })
                })
                .await
            }
            "GetSessionToken" => {
                typed(
                    input,
                    query_invalid,
                    |r: GetSessionTokenRequest| async move {
                        if caller.kind == PrincipalKind::AssumedRole {
                            return Err(crate::Error::AccessDenied(
                                "Cannot call GetSessionToken with session credentials".into(),
                            )
                            .into());
                        }
                        let s = id.get_session_token(caller, r.duration_seconds)?;
                        Ok(GetSessionTokenResponse {
                            credentials: (&s).into(),
                        })
                    },
                )
                .await
            }
            other => Err(self.def().undispatched(other)),
        }
    }

    async fn resource_policy(
        &self,
        _scope: &sightline_core::Scope,
        arn: &str,
    ) -> Option<ResourcePolicy> {
        let (account, name) = crate::engine::parse_role_arn(arn)?;
        let role = self
            .identity
            .get_entity::<crate::model::Role>(account, name)
            .ok()?;
        Some(ResourcePolicy {
            document: role.trust.text,
            kind: sightline_wire::ResourcePolicyKind::Trust,
        })
    }
}
