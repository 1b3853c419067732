//! Organizations over awsJson1_1.

use crate::engine::Identity;
use crate::model::{Account, CreateAccountStatus, Organization};
use serde::{Deserialize, Serialize};
use sightline_wire::{
    ApiError, CallContext, DeError, OperationDef, Protocol, ResourceCtx, Service, ServiceDef,
    Timestamp, Value, any_resource, typed,
};
use std::sync::Arc;

fn account_arn(ctx: &ResourceCtx<'_>, v: &Value) -> Vec<String> {
    match super::input_str(v, "AccountId") {
        Some(a) => vec![format!(
            "arn:{}:organizations::{}:account/*/{a}",
            ctx.partition, ctx.account_id
        )],
        None => vec!["*".into()],
    }
}

pub static ORGANIZATIONS: ServiceDef = ServiceDef {
    signing_name: "organizations",
    endpoint_prefix: "organizations",
    protocols: &[Protocol::AwsJson1_1],
    xml_namespace: "",
    target_prefix: Some("AWSOrganizationsV20161128"),
    query_compatible: false,
    global_region: Some("us-east-1"),
    denied_code: None,
    operations: &[
        OperationDef::rpc(
            "CreateAccount",
            "organizations:CreateAccount",
            false,
            any_resource,
        ),
        OperationDef::rpc(
            "DescribeCreateAccountStatus",
            "organizations:DescribeCreateAccountStatus",
            true,
            any_resource,
        ),
        OperationDef::rpc(
            "DescribeAccount",
            "organizations:DescribeAccount",
            true,
            account_arn,
        ),
        OperationDef::rpc(
            "ListAccounts",
            "organizations:ListAccounts",
            true,
            any_resource,
        ),
        OperationDef::rpc(
            "DescribeOrganization",
            "organizations:DescribeOrganization",
            true,
            any_resource,
        ),
    ],
};

/// JSON services report shape violations with their own exception; Organizations uses
/// `InvalidInputException`.
fn invalid(e: &DeError) -> ApiError {
    let message = match e {
        DeError::Missing(p) => format!("You must specify a value for {p}."),
        DeError::Invalid { path, message } => format!("Invalid value for {path}: {message}"),
    };
    ApiError::new(400, "InvalidInputException", message)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateAccountReq {
    email: String,
    account_name: String,
    role_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StatusReq {
    create_account_request_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AccountReq {
    account_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListReq {
    next_token: Option<String>,
    max_results: Option<i64>,
}

#[derive(Deserialize)]
struct Empty {}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct StatusShape {
    id: String,
    account_name: String,
    state: String,
    requested_timestamp: Timestamp,
    completed_timestamp: Option<Timestamp>,
    account_id: Option<String>,
    failure_reason: Option<String>,
}

impl From<CreateAccountStatus> for StatusShape {
    fn from(c: CreateAccountStatus) -> Self {
        StatusShape {
            id: c.id,
            account_name: c.account_name,
            state: c.state,
            requested_timestamp: c.requested.into(),
            completed_timestamp: c.completed.map(Into::into),
            account_id: c.account_id,
            failure_reason: c.failure_reason,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct StatusResp {
    create_account_status: StatusShape,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AccountShape {
    id: String,
    arn: String,
    email: String,
    name: String,
    status: &'static str,
    joined_method: String,
    joined_timestamp: Timestamp,
}

fn account_shape(org: &Organization, a: Account) -> AccountShape {
    AccountShape {
        arn: org.account_arn(&a.id),
        id: a.id,
        email: a.email,
        name: a.name,
        status: "ACTIVE",
        joined_method: a.joined_method,
        joined_timestamp: a.joined.into(),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AccountResp {
    account: AccountShape,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListResp {
    accounts: Vec<AccountShape>,
    next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyTypeSummary {
    #[serde(rename = "Type")]
    kind: &'static str,
    status: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct OrgShape {
    id: String,
    arn: String,
    feature_set: &'static str,
    master_account_arn: String,
    master_account_id: String,
    master_account_email: String,
    available_policy_types: Vec<PolicyTypeSummary>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct OrgResp {
    organization: OrgShape,
}

pub struct Organizations {
    pub identity: Arc<Identity>,
}

#[async_trait::async_trait]
impl Service for Organizations {
    fn def(&self) -> &'static ServiceDef {
        &ORGANIZATIONS
    }

    async fn call(
        &self,
        ctx: &CallContext,
        op: &'static OperationDef,
        input: Value,
    ) -> Result<Value, ApiError> {
        let id = &self.identity;
        let acct = ctx.caller.account_id.as_str();
        match op.name {
            "CreateAccount" => {
                typed(input, invalid, |r: CreateAccountReq| async move {
                    let status =
                        id.create_account(acct, &r.account_name, &r.email, r.role_name.as_deref())?;
                    // Account creation completes asynchronously, as on AWS.
                    let bg = Arc::clone(id);
                    tokio::spawn(async move {
                        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                        if let Err(e) = bg.complete_pending() {
                            tracing::error!(error = %e, "account creation failed");
                        }
                    });
                    Ok(StatusResp {
                        create_account_status: status.into(),
                    })
                })
                .await
            }
            "DescribeCreateAccountStatus" => {
                typed(input, invalid, |r: StatusReq| async move {
                    Ok(StatusResp {
                        create_account_status: id
                            .describe_create_account_status(acct, &r.create_account_request_id)?
                            .into(),
                    })
                })
                .await
            }
            "DescribeAccount" => {
                typed(input, invalid, |r: AccountReq| async move {
                    let org = id.require_management(acct)?;
                    Ok(AccountResp {
                        account: account_shape(&org, id.describe_account(acct, &r.account_id)?),
                    })
                })
                .await
            }
            "ListAccounts" => {
                typed(input, invalid, |r: ListReq| async move {
                    let org = id.require_management(acct)?;
                    let all = id.list_accounts(acct)?;
                    let start: usize = match &r.next_token {
                        Some(t) => t.parse().map_err(|_| {
                            ApiError::new(
                                400,
                                "InvalidInputException",
                                "You specified an invalid value for nextToken.",
                            )
                        })?,
                        None => 0,
                    };
                    let max = match r.max_results {
                        Some(n) if !(1..=20).contains(&n) => {
                            return Err(ApiError::new(
                                400,
                                "InvalidInputException",
                                "You specified an invalid value for MaxResults.",
                            ));
                        }
                        Some(n) => n as usize,
                        None => 20,
                    };
                    let total = all.len();
                    let accounts: Vec<AccountShape> = all
                        .into_iter()
                        .skip(start)
                        .take(max)
                        .map(|a| account_shape(&org, a))
                        .collect();
                    let next = start + accounts.len();
                    Ok(ListResp {
                        accounts,
                        next_token: (next < total).then(|| next.to_string()),
                    })
                })
                .await
            }
            "DescribeOrganization" => {
                typed(input, invalid, |_: Empty| async move {
                    let org = id.describe_organization(acct)?;
                    Ok(OrgResp {
                        organization: OrgShape {
                            arn: org.arn(),
                            id: org.id.clone(),
                            feature_set: "ALL",
                            master_account_arn: org.account_arn(&org.management_account_id),
                            master_account_id: org.management_account_id.clone(),
                            master_account_email: org.management_email.clone(),
                            available_policy_types: vec![PolicyTypeSummary {
                                kind: "SERVICE_CONTROL_POLICY",
                                status: "ENABLED",
                            }],
                        },
                    })
                })
                .await
            }
            other => Err(self.def().undispatched(other)),
        }
    }
}
