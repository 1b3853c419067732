//! IAM over awsQuery.

use super::shapes::{PolicyShape, RoleShape, UserShape, encode_document};
use super::{iam_arn, input_str, query_invalid};
use crate::engine::{Entity, Identity, ListPage, NewRole};
use crate::model::{KeyOwner, Role, Tag, User};
use serde::{Deserialize, Serialize};
use sightline_core::PrincipalKind;
use sightline_wire::{
    ApiError, CallContext, OperationDef, Protocol, ResourceCtx, Service, ServiceDef, Timestamp,
    Value, typed,
};
use std::sync::Arc;

fn user(ctx: &ResourceCtx<'_>, v: &Value) -> Vec<String> {
    iam_arn(ctx, "user", v, "UserName")
}
fn role(ctx: &ResourceCtx<'_>, v: &Value) -> Vec<String> {
    iam_arn(ctx, "role", v, "RoleName")
}
fn policy(_: &ResourceCtx<'_>, v: &Value) -> Vec<String> {
    vec![input_str(v, "PolicyArn").unwrap_or("*").to_owned()]
}
fn new_policy(ctx: &ResourceCtx<'_>, v: &Value) -> Vec<String> {
    iam_arn(ctx, "policy", v, "PolicyName")
}
fn users(ctx: &ResourceCtx<'_>, _: &Value) -> Vec<String> {
    vec![format!(
        "arn:{}:iam::{}:user/",
        ctx.partition, ctx.account_id
    )]
}
fn roles(ctx: &ResourceCtx<'_>, _: &Value) -> Vec<String> {
    vec![format!(
        "arn:{}:iam::{}:role/",
        ctx.partition, ctx.account_id
    )]
}
fn policies(ctx: &ResourceCtx<'_>, _: &Value) -> Vec<String> {
    vec![format!(
        "arn:{}:iam::{}:policy/",
        ctx.partition, ctx.account_id
    )]
}

pub static IAM: ServiceDef = ServiceDef {
    signing_name: "iam",
    endpoint_prefix: "iam",
    protocols: &[Protocol::AwsQuery],
    xml_namespace: "https://iam.amazonaws.com/doc/2010-05-08/",
    target_prefix: None,
    query_compatible: false,
    global_region: Some("us-east-1"),
    denied_code: None,
    operations: &[
        OperationDef::rpc("CreateUser", "iam:CreateUser", false, user),
        OperationDef::rpc("GetUser", "iam:GetUser", true, user),
        OperationDef::rpc("ListUsers", "iam:ListUsers", true, users),
        OperationDef::rpc("DeleteUser", "iam:DeleteUser", false, user),
        OperationDef::rpc("CreateAccessKey", "iam:CreateAccessKey", false, user),
        OperationDef::rpc("ListAccessKeys", "iam:ListAccessKeys", true, user),
        OperationDef::rpc("UpdateAccessKey", "iam:UpdateAccessKey", false, user),
        OperationDef::rpc("DeleteAccessKey", "iam:DeleteAccessKey", false, user),
        OperationDef::rpc("CreateRole", "iam:CreateRole", false, role),
        OperationDef::rpc("GetRole", "iam:GetRole", true, role),
        OperationDef::rpc("ListRoles", "iam:ListRoles", true, roles),
        OperationDef::rpc("DeleteRole", "iam:DeleteRole", false, role),
        OperationDef::rpc(
            "UpdateAssumeRolePolicy",
            "iam:UpdateAssumeRolePolicy",
            false,
            role,
        ),
        OperationDef::rpc("PutUserPolicy", "iam:PutUserPolicy", false, user),
        OperationDef::rpc("GetUserPolicy", "iam:GetUserPolicy", true, user),
        OperationDef::rpc("ListUserPolicies", "iam:ListUserPolicies", true, user),
        OperationDef::rpc("DeleteUserPolicy", "iam:DeleteUserPolicy", false, user),
        OperationDef::rpc("PutRolePolicy", "iam:PutRolePolicy", false, role),
        OperationDef::rpc("GetRolePolicy", "iam:GetRolePolicy", true, role),
        OperationDef::rpc("ListRolePolicies", "iam:ListRolePolicies", true, role),
        OperationDef::rpc("DeleteRolePolicy", "iam:DeleteRolePolicy", false, role),
        OperationDef::rpc("CreatePolicy", "iam:CreatePolicy", false, new_policy),
        OperationDef::rpc("GetPolicy", "iam:GetPolicy", true, policy),
        OperationDef::rpc("GetPolicyVersion", "iam:GetPolicyVersion", true, policy),
        OperationDef::rpc("ListPolicies", "iam:ListPolicies", true, policies),
        OperationDef::rpc("DeletePolicy", "iam:DeletePolicy", false, policy),
        OperationDef::rpc("AttachUserPolicy", "iam:AttachUserPolicy", false, user),
        OperationDef::rpc("DetachUserPolicy", "iam:DetachUserPolicy", false, user),
        OperationDef::rpc(
            "ListAttachedUserPolicies",
            "iam:ListAttachedUserPolicies",
            true,
            user,
        ),
        OperationDef::rpc("AttachRolePolicy", "iam:AttachRolePolicy", false, role),
        OperationDef::rpc("DetachRolePolicy", "iam:DetachRolePolicy", false, role),
        OperationDef::rpc(
            "ListAttachedRolePolicies",
            "iam:ListAttachedRolePolicies",
            true,
            role,
        ),
        OperationDef::rpc("TagUser", "iam:TagUser", false, user),
        OperationDef::rpc("UntagUser", "iam:UntagUser", false, user),
        OperationDef::rpc("ListUserTags", "iam:ListUserTags", true, user),
        OperationDef::rpc("TagRole", "iam:TagRole", false, role),
        OperationDef::rpc("UntagRole", "iam:UntagRole", false, role),
        OperationDef::rpc("ListRoleTags", "iam:ListRoleTags", true, role),
    ],
};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct NameReq {
    user_name: Option<String>,
    role_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateUserReq {
    user_name: String,
    path: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListReq {
    path_prefix: Option<String>,
    marker: Option<String>,
    max_items: Option<i64>,
    user_name: Option<String>,
    role_name: Option<String>,
    scope: Option<String>,
    only_attached: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateRoleReq {
    role_name: String,
    path: Option<String>,
    assume_role_policy_document: String,
    description: Option<String>,
    max_session_duration: Option<i64>,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UpdateTrustReq {
    role_name: String,
    policy_document: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AccessKeyReq {
    user_name: Option<String>,
    access_key_id: Option<String>,
    status: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InlinePolicyReq {
    user_name: Option<String>,
    role_name: Option<String>,
    policy_name: String,
    policy_document: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreatePolicyReq {
    policy_name: String,
    path: Option<String>,
    policy_document: String,
    description: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyArnReq {
    policy_arn: String,
    user_name: Option<String>,
    role_name: Option<String>,
    version_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagReq {
    user_name: Option<String>,
    role_name: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    tag_keys: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AccessKeyShape {
    user_name: String,
    access_key_id: String,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_access_key: Option<String>,
    create_date: Timestamp,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AttachedPolicy {
    policy_name: String,
    policy_arn: String,
}

fn required(v: Option<String>, member: &str) -> Result<String, ApiError> {
    v.ok_or_else(|| {
        ApiError::new(
            400,
            "ValidationError",
            format!("1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null", super::member_name(member)),
        )
    })
}

/// Builds `{ <list_name>: [...], IsTruncated, Marker? }`.
fn page<T: Serialize>(
    list_name: &str,
    items: Vec<T>,
    marker: Option<&str>,
    max: Option<i64>,
) -> Result<Value, ApiError> {
    let p = ListPage::paginate(items, marker, max)?;
    let mut m = sightline_wire::ValueMap::new();
    m.insert(
        list_name.to_owned(),
        sightline_wire::to_value(&p.items).map_err(|e| ApiError::internal(e.to_string()))?,
    );
    m.insert("IsTruncated".into(), Value::Bool(p.marker.is_some()));
    if let Some(mk) = p.marker {
        m.insert("Marker".into(), Value::String(mk));
    }
    Ok(Value::Map(m))
}

fn one<T: Serialize>(name: &str, item: T) -> Result<Value, ApiError> {
    let mut m = sightline_wire::ValueMap::new();
    m.insert(
        name.to_owned(),
        sightline_wire::to_value(&item).map_err(|e| ApiError::internal(e.to_string()))?,
    );
    Ok(Value::Map(m))
}

fn empty() -> Value {
    Value::map()
}

pub struct Iam {
    pub identity: Arc<Identity>,
}

impl Iam {
    /// Access key calls without UserName act on the caller's own keys.
    fn key_owner(ctx: &CallContext, user: Option<String>) -> Result<KeyOwner, ApiError> {
        match user {
            Some(u) => Ok(KeyOwner::User(u)),
            None => match ctx.caller.kind {
                PrincipalKind::Root => Ok(KeyOwner::Root),
                PrincipalKind::IAMUser => Ok(KeyOwner::User(
                    ctx.caller.user_name.clone().unwrap_or_default(),
                )),
                _ => Err(ApiError::new(
                    400,
                    "ValidationError",
                    "Must specify userName when calling with non-User credentials",
                )),
            },
        }
    }

    fn list_inline<T: Entity>(
        &self,
        acct: &str,
        name: String,
        r: &ListReq,
    ) -> Result<Value, ApiError> {
        let names = self.identity.list_inline_policies::<T>(acct, &name)?;
        page("PolicyNames", names, r.marker.as_deref(), r.max_items)
    }

    fn list_attached<T: Entity>(
        &self,
        acct: &str,
        name: String,
        r: &ListReq,
    ) -> Result<Value, ApiError> {
        let items: Vec<AttachedPolicy> = self
            .identity
            .list_attached::<T>(acct, &name)?
            .into_iter()
            .map(|(policy_name, policy_arn)| AttachedPolicy {
                policy_name,
                policy_arn,
            })
            .collect();
        page("AttachedPolicies", items, r.marker.as_deref(), r.max_items)
    }

    async fn dispatch(&self, ctx: &CallContext, op: &str, input: Value) -> Result<Value, ApiError> {
        let id = &self.identity;
        let acct = ctx.caller.account_id.as_str();
        macro_rules! with {
            ($ty:ty, |$r:ident| $body:expr) => {
                typed(input, query_invalid, |$r: $ty| async move { $body }).await
            };
        }
        match op {
            "CreateUser" => with!(CreateUserReq, |r| {
                let u = id.create_user(acct, &r.user_name, r.path.as_deref(), r.tags)?;
                one("User", UserShape::new(&u, true))
            }),
            "GetUser" => with!(NameReq, |r| {
                let name = match r.user_name.or_else(|| ctx.caller.user_name.clone()) {
                    Some(n) => n,
                    None if ctx.caller.is_root() => {
                        // GetUser as root describes the root user.
                        let mut m = sightline_wire::ValueMap::new();
                        let mut u = sightline_wire::ValueMap::new();
                        u.insert("Path".into(), Value::String("/".into()));
                        u.insert("UserName".into(), Value::String(String::new()));
                        u.insert("UserId".into(), Value::String(acct.to_owned()));
                        u.insert("Arn".into(), Value::String(ctx.caller.arn.clone()));
                        u.insert("CreateDate".into(), Value::Timestamp(chrono::Utc::now()));
                        m.insert("User".into(), Value::Map(u));
                        return Ok(Value::Map(m));
                    }
                    None => {
                        return Err(ApiError::new(
                            400,
                            "ValidationError",
                            "Must specify userName when calling with non-User credentials",
                        ));
                    }
                };
                let u: User = id.get_entity(acct, &name)?;
                one("User", UserShape::new(&u, true))
            }),
            "ListUsers" => with!(ListReq, |r| {
                let users: Vec<UserShape> = id
                    .list_users(acct, r.path_prefix.as_deref())
                    .iter()
                    .map(|u| UserShape::new(u, false))
                    .collect();
                page("Users", users, r.marker.as_deref(), r.max_items)
            }),
            "DeleteUser" => with!(NameReq, |r| {
                id.delete_user(acct, &required(r.user_name, "UserName")?)?;
                Ok(empty())
            }),
            "CreateAccessKey" => with!(AccessKeyReq, |r| {
                let owner = Self::key_owner(ctx, r.user_name)?;
                let k = id.create_access_key(acct, owner.clone())?;
                one(
                    "AccessKey",
                    AccessKeyShape {
                        user_name: owner_name(&owner),
                        access_key_id: k.id,
                        status: "Active",
                        secret_access_key: Some(k.secret),
                        create_date: k.created.into(),
                    },
                )
            }),
            "ListAccessKeys" => with!(ListReq, |r| {
                let owner = Self::key_owner(ctx, r.user_name.clone())?;
                let keys: Vec<AccessKeyShape> = id
                    .list_access_keys(acct, &owner)?
                    .into_iter()
                    .map(|k| AccessKeyShape {
                        user_name: owner_name(&owner),
                        access_key_id: k.id,
                        status: if k.active { "Active" } else { "Inactive" },
                        secret_access_key: None,
                        create_date: k.created.into(),
                    })
                    .collect();
                page("AccessKeyMetadata", keys, r.marker.as_deref(), r.max_items)
            }),
            "UpdateAccessKey" => with!(AccessKeyReq, |r| {
                let owner = Self::key_owner(ctx, r.user_name)?;
                let key_id = required(r.access_key_id, "AccessKeyId")?;
                let active = match required(r.status, "Status")?.as_str() {
                    "Active" => true,
                    "Inactive" => false,
                    other => {
                        return Err(ApiError::new(
                            400,
                            "ValidationError",
                            format!(
                                "1 validation error detected: Value '{other}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]"
                            ),
                        ));
                    }
                };
                id.update_access_key(acct, &owner, &key_id, active)?;
                Ok(empty())
            }),
            "DeleteAccessKey" => with!(AccessKeyReq, |r| {
                let owner = Self::key_owner(ctx, r.user_name)?;
                id.delete_access_key(acct, &owner, &required(r.access_key_id, "AccessKeyId")?)?;
                Ok(empty())
            }),
            "CreateRole" => with!(CreateRoleReq, |r| {
                let role = id.create_role(
                    acct,
                    NewRole {
                        name: &r.role_name,
                        path: r.path.as_deref(),
                        trust: &r.assume_role_policy_document,
                        description: r.description,
                        max_session_duration: r.max_session_duration,
                        tags: r.tags,
                    },
                )?;
                one("Role", RoleShape::new(&role, true))
            }),
            "GetRole" => with!(NameReq, |r| {
                let role: Role = id.get_entity(acct, &required(r.role_name, "RoleName")?)?;
                one("Role", RoleShape::new(&role, true))
            }),
            "ListRoles" => with!(ListReq, |r| {
                let roles: Vec<RoleShape> = id
                    .list_roles(acct, r.path_prefix.as_deref())
                    .iter()
                    .map(|x| RoleShape::new(x, false))
                    .collect();
                page("Roles", roles, r.marker.as_deref(), r.max_items)
            }),
            "DeleteRole" => with!(NameReq, |r| {
                id.delete_role(acct, &required(r.role_name, "RoleName")?)?;
                Ok(empty())
            }),
            "UpdateAssumeRolePolicy" => with!(UpdateTrustReq, |r| {
                id.update_role_trust(acct, &r.role_name, &r.policy_document)?;
                Ok(empty())
            }),
            "PutUserPolicy" => with!(InlinePolicyReq, |r| {
                let doc = required(r.policy_document, "PolicyDocument")?;
                id.put_inline_policy::<User>(
                    acct,
                    &required(r.user_name, "UserName")?,
                    &r.policy_name,
                    &doc,
                )?;
                Ok(empty())
            }),
            "PutRolePolicy" => with!(InlinePolicyReq, |r| {
                let doc = required(r.policy_document, "PolicyDocument")?;
                id.put_inline_policy::<Role>(
                    acct,
                    &required(r.role_name, "RoleName")?,
                    &r.policy_name,
                    &doc,
                )?;
                Ok(empty())
            }),
            "GetUserPolicy" => with!(InlinePolicyReq, |r| {
                let name = required(r.user_name, "UserName")?;
                let doc = id.get_inline_policy::<User>(acct, &name, &r.policy_name)?;
                inline_policy_value("UserName", name, r.policy_name, &doc)
            }),
            "GetRolePolicy" => with!(InlinePolicyReq, |r| {
                let name = required(r.role_name, "RoleName")?;
                let doc = id.get_inline_policy::<Role>(acct, &name, &r.policy_name)?;
                inline_policy_value("RoleName", name, r.policy_name, &doc)
            }),
            "ListUserPolicies" => with!(ListReq, |r| {
                let name = required(r.user_name.clone(), "UserName")?;
                self.list_inline::<User>(acct, name, &r)
            }),
            "ListRolePolicies" => with!(ListReq, |r| {
                let name = required(r.role_name.clone(), "RoleName")?;
                self.list_inline::<Role>(acct, name, &r)
            }),
            "DeleteUserPolicy" => with!(InlinePolicyReq, |r| {
                id.delete_inline_policy::<User>(
                    acct,
                    &required(r.user_name, "UserName")?,
                    &r.policy_name,
                )?;
                Ok(empty())
            }),
            "DeleteRolePolicy" => with!(InlinePolicyReq, |r| {
                id.delete_inline_policy::<Role>(
                    acct,
                    &required(r.role_name, "RoleName")?,
                    &r.policy_name,
                )?;
                Ok(empty())
            }),
            "CreatePolicy" => with!(CreatePolicyReq, |r| {
                let p = id.create_policy(
                    acct,
                    &r.policy_name,
                    r.path.as_deref(),
                    &r.policy_document,
                    r.description,
                    r.tags,
                )?;
                one("Policy", PolicyShape::new(&p, 0))
            }),
            "GetPolicy" => with!(PolicyArnReq, |r| {
                let p = id.get_policy(acct, &r.policy_arn)?;
                one(
                    "Policy",
                    PolicyShape::new(&p, id.attachment_count(&r.policy_arn)),
                )
            }),
            "GetPolicyVersion" => with!(PolicyArnReq, |r| {
                let p = id.get_policy(acct, &r.policy_arn)?;
                let version = required(r.version_id, "VersionId")?;
                if version != "v1" {
                    return Err(crate::Error::NoSuchEntity(format!(
                        "Policy {} version {version} does not exist or is not attachable.",
                        r.policy_arn
                    ))
                    .into());
                }
                let mut v = sightline_wire::ValueMap::new();
                v.insert(
                    "Document".into(),
                    Value::String(encode_document(&p.document.text)),
                );
                v.insert("VersionId".into(), Value::String("v1".into()));
                v.insert("IsDefaultVersion".into(), Value::Bool(true));
                v.insert("CreateDate".into(), Value::Timestamp(p.created));
                let mut m = sightline_wire::ValueMap::new();
                m.insert("PolicyVersion".into(), Value::Map(v));
                Ok(Value::Map(m))
            }),
            "ListPolicies" => with!(ListReq, |r| {
                let scope = r.scope.clone().unwrap_or_else(|| "All".into());
                if !["All", "AWS", "Local"].contains(&scope.as_str()) {
                    return Err(ApiError::new(
                        400,
                        "ValidationError",
                        format!(
                            "1 validation error detected: Value '{scope}' at 'scope' failed to satisfy constraint: Member must satisfy enum value set: [All, AWS, Local]"
                        ),
                    ));
                }
                let items: Vec<PolicyShape> = id
                    .list_policies(
                        acct,
                        &scope,
                        r.only_attached.unwrap_or(false),
                        r.path_prefix.as_deref(),
                    )
                    .iter()
                    .map(|p| PolicyShape::new(p, id.attachment_count(&p.arn())))
                    .collect();
                page("Policies", items, r.marker.as_deref(), r.max_items)
            }),
            "DeletePolicy" => with!(PolicyArnReq, |r| {
                id.delete_policy(acct, &r.policy_arn)?;
                Ok(empty())
            }),
            "AttachUserPolicy" => with!(PolicyArnReq, |r| {
                id.attach_policy::<User>(acct, &required(r.user_name, "UserName")?, &r.policy_arn)?;
                Ok(empty())
            }),
            "AttachRolePolicy" => with!(PolicyArnReq, |r| {
                id.attach_policy::<Role>(acct, &required(r.role_name, "RoleName")?, &r.policy_arn)?;
                Ok(empty())
            }),
            "DetachUserPolicy" => with!(PolicyArnReq, |r| {
                id.detach_policy::<User>(acct, &required(r.user_name, "UserName")?, &r.policy_arn)?;
                Ok(empty())
            }),
            "DetachRolePolicy" => with!(PolicyArnReq, |r| {
                id.detach_policy::<Role>(acct, &required(r.role_name, "RoleName")?, &r.policy_arn)?;
                Ok(empty())
            }),
            "ListAttachedUserPolicies" => with!(ListReq, |r| {
                let name = required(r.user_name.clone(), "UserName")?;
                self.list_attached::<User>(acct, name, &r)
            }),
            "ListAttachedRolePolicies" => with!(ListReq, |r| {
                let name = required(r.role_name.clone(), "RoleName")?;
                self.list_attached::<Role>(acct, name, &r)
            }),
            "TagUser" => with!(TagReq, |r| {
                id.tag::<User>(acct, &required(r.user_name, "UserName")?, r.tags)?;
                Ok(empty())
            }),
            "TagRole" => with!(TagReq, |r| {
                id.tag::<Role>(acct, &required(r.role_name, "RoleName")?, r.tags)?;
                Ok(empty())
            }),
            "UntagUser" => with!(TagReq, |r| {
                id.untag::<User>(acct, &required(r.user_name, "UserName")?, &r.tag_keys)?;
                Ok(empty())
            }),
            "UntagRole" => with!(TagReq, |r| {
                id.untag::<Role>(acct, &required(r.role_name, "RoleName")?, &r.tag_keys)?;
                Ok(empty())
            }),
            "ListUserTags" => with!(ListReq, |r| {
                let u: User = id.get_entity(acct, &required(r.user_name.clone(), "UserName")?)?;
                page("Tags", u.tags, r.marker.as_deref(), r.max_items)
            }),
            "ListRoleTags" => with!(ListReq, |r| {
                let x: Role = id.get_entity(acct, &required(r.role_name.clone(), "RoleName")?)?;
                page("Tags", x.tags, r.marker.as_deref(), r.max_items)
            }),
            other => Err(self.def().undispatched(other)),
        }
    }
}

fn owner_name(owner: &KeyOwner) -> String {
    match owner {
        KeyOwner::Root => String::new(),
        KeyOwner::User(n) => n.clone(),
    }
}

fn inline_policy_value(
    entity_member: &str,
    entity: String,
    policy_name: String,
    doc: &str,
) -> Result<Value, ApiError> {
    let mut m = sightline_wire::ValueMap::new();
    m.insert(entity_member.to_owned(), Value::String(entity));
    m.insert("PolicyName".into(), Value::String(policy_name));
    m.insert("PolicyDocument".into(), Value::String(encode_document(doc)));
    Ok(Value::Map(m))
}

#[async_trait::async_trait]
impl Service for Iam {
    fn def(&self) -> &'static ServiceDef {
        &IAM
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
