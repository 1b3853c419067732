//! KMS over awsJson1_1 (`TrentService`): the operation table, the wire shapes, the
//! permissions each call needs (resolved through aliases and ciphertext headers before
//! authorization) and the dispatch onto the engine.

mod shapes;

use crate::engine::{Kms, NewKey, lockout_check};
use crate::model::Tag;
use crate::{Error, Result};
use shapes::*;
use sightline_core::Scope;
use sightline_wire::{
    ApiError, Blob, CallContext, DeError, OperationDef, Permission, Protocol, ResourcePolicy,
    Service, ServiceDef, Timestamp, Value, any_resource, typed,
};
use std::sync::Arc;

const fn op(name: &'static str, action: &'static str, read_only: bool) -> OperationDef {
    OperationDef::rpc(name, action, read_only, any_resource)
}

pub static KMS: ServiceDef = ServiceDef {
    signing_name: "kms",
    endpoint_prefix: "kms",
    protocols: &[Protocol::AwsJson1_1],
    xml_namespace: "",
    target_prefix: Some("TrentService"),
    query_compatible: false,
    global_region: None,
    denied_code: None,
    operations: &[
        op("CreateKey", "kms:CreateKey", false),
        op("DescribeKey", "kms:DescribeKey", true),
        op("ListKeys", "kms:ListKeys", true),
        op("EnableKey", "kms:EnableKey", false),
        op("DisableKey", "kms:DisableKey", false),
        op("UpdateKeyDescription", "kms:UpdateKeyDescription", false),
        op("CreateAlias", "kms:CreateAlias", false),
        op("UpdateAlias", "kms:UpdateAlias", false),
        op("DeleteAlias", "kms:DeleteAlias", false),
        op("ListAliases", "kms:ListAliases", true),
        op("Encrypt", "kms:Encrypt", true),
        op("Decrypt", "kms:Decrypt", true),
        op("ReEncrypt", "kms:ReEncryptFrom", true),
        op("GenerateDataKey", "kms:GenerateDataKey", true),
        op(
            "GenerateDataKeyWithoutPlaintext",
            "kms:GenerateDataKeyWithoutPlaintext",
            true,
        ),
        op("GenerateRandom", "kms:GenerateRandom", true),
        op("EnableKeyRotation", "kms:EnableKeyRotation", false),
        op("DisableKeyRotation", "kms:DisableKeyRotation", false),
        op("GetKeyRotationStatus", "kms:GetKeyRotationStatus", true),
        op("RotateKeyOnDemand", "kms:RotateKeyOnDemand", false),
        op("ScheduleKeyDeletion", "kms:ScheduleKeyDeletion", false),
        op("CancelKeyDeletion", "kms:CancelKeyDeletion", false),
        op("GetKeyPolicy", "kms:GetKeyPolicy", true),
        op("PutKeyPolicy", "kms:PutKeyPolicy", false),
        op("ListKeyPolicies", "kms:ListKeyPolicies", true),
        op("TagResource", "kms:TagResource", false),
        op("UntagResource", "kms:UntagResource", false),
        op("ListResourceTags", "kms:ListResourceTags", true),
    ],
};

fn invalid(e: &DeError) -> ApiError {
    let message = match e {
        DeError::Missing(p) => format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            lower_first(p)
        ),
        DeError::Invalid { path, message } => format!("Invalid value for {path}: {message}"),
    };
    ApiError::bad_request("ValidationException", message)
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

// ------------------------------------------------------------------ helpers

fn algorithm(a: &Option<String>) -> Result<()> {
    match a.as_deref() {
        None | Some("SYMMETRIC_DEFAULT") => Ok(()),
        Some(other) => Err(Error::InvalidKeyUsage(format!(
            "The encryption algorithm {other} is not supported by symmetric keys."
        ))),
    }
}

/// One page of `items` after the item whose id is `marker`, as KMS list calls page.
fn page<T>(
    items: Vec<T>,
    id: impl Fn(&T) -> String,
    limit: Option<i64>,
    default: i64,
    max: i64,
    marker: Option<&str>,
) -> Result<(Vec<T>, Option<String>)> {
    let limit = limit.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(Error::Validation(format!(
            "1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value between 1 and {max}"
        )));
    }
    let start = match marker {
        None => 0,
        Some(m) => {
            items
                .iter()
                .position(|x| id(x) == m)
                .ok_or_else(|| Error::InvalidMarker("Invalid marker".into()))?
                + 1
        }
    };
    let rest: Vec<T> = items.into_iter().skip(start).collect();
    let more = rest.len() > limit as usize;
    let page: Vec<T> = rest.into_iter().take(limit as usize).collect();
    let next = if more { page.last().map(&id) } else { None };
    Ok((page, next))
}

fn str_field<'a>(input: &'a Value, name: &str) -> Option<&'a str> {
    input.get(name).and_then(Value::as_str)
}

fn blob_field(input: &Value, name: &str) -> Option<Vec<u8>> {
    match input.get(name)? {
        Value::Blob(b) => Some(b.clone()),
        Value::String(s) => {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.decode(s).ok()
        }
        _ => None,
    }
}

pub struct KmsService {
    pub kms: Arc<Kms>,
}

impl KmsService {
    fn key_perm(&self, scope: &Scope, action: &'static str, key_id: &str) -> Result<Permission> {
        Ok(Permission {
            action,
            resource: self.kms.resolve(scope, key_id)?,
        })
    }

    fn perms(
        &self,
        scope: &Scope,
        op: &'static OperationDef,
        input: &Value,
    ) -> Result<Vec<Permission>> {
        let star = || {
            vec![Permission {
                action: op.action,
                resource: "*".into(),
            }]
        };
        let alias_arn =
            |name: &str| format!("arn:aws:kms:{}:{}:{name}", scope.region, scope.account_id);
        Ok(match op.name {
            "CreateKey" | "ListKeys" | "ListAliases" | "GenerateRandom" => star(),
            "CreateAlias" | "UpdateAlias" | "DeleteAlias" => {
                let Some(name) = str_field(input, "AliasName") else {
                    return Ok(star());
                };
                let mut out = vec![Permission {
                    action: op.action,
                    resource: alias_arn(name),
                }];
                if op.name != "CreateAlias"
                    && let Some(current) = self
                        .kms
                        .list_aliases(scope, None)?
                        .into_iter()
                        .find(|a| a.name == name)
                {
                    out.push(Permission {
                        action: op.action,
                        resource: crate::engine::key_arn(
                            &current.region,
                            &current.account,
                            &current.target_key_id,
                        ),
                    });
                }
                if let Some(target) = str_field(input, "TargetKeyId") {
                    out.push(self.key_perm(scope, op.action, target)?);
                }
                out
            }
            "Decrypt" => match blob_field(input, "CiphertextBlob") {
                Some(b) => vec![Permission {
                    action: op.action,
                    resource: self.kms.blob_key(scope, &b, str_field(input, "KeyId"))?,
                }],
                None => star(),
            },
            "ReEncrypt" => {
                let mut out = Vec::new();
                if let Some(b) = blob_field(input, "CiphertextBlob") {
                    out.push(Permission {
                        action: "kms:ReEncryptFrom",
                        resource: self
                            .kms
                            .blob_key(scope, &b, str_field(input, "SourceKeyId"))?,
                    });
                }
                if let Some(d) = str_field(input, "DestinationKeyId") {
                    out.push(self.key_perm(scope, "kms:ReEncryptTo", d)?);
                }
                if out.is_empty() { star() } else { out }
            }
            _ => match str_field(input, "KeyId") {
                Some(k) => vec![self.key_perm(scope, op.action, k)?],
                None => star(),
            },
        })
    }

    async fn dispatch(
        &self,
        ctx: &CallContext,
        op: &'static OperationDef,
        input: Value,
    ) -> Result<Value, ApiError> {
        let kms = &self.kms;
        let scope = &ctx.scope;
        match op.name {
            "CreateKey" => typed(input, invalid, |r: CreateKeyIn| async move {
                if let Some(spec) = r.key_spec.as_deref().or(r.customer_master_key_spec.as_deref())
                    && spec != "SYMMETRIC_DEFAULT"
                {
                    return Err(Error::Unsupported(format!("KeySpec {spec} is not supported by this server; only SYMMETRIC_DEFAULT keys are.")).into());
                }
                if let Some(u) = r.key_usage.as_deref()
                    && u != "ENCRYPT_DECRYPT"
                {
                    return Err(Error::Validation(format!("The operation failed because the KeyUsage value of the KMS key is {u}. Symmetric keys support only ENCRYPT_DECRYPT.")).into());
                }
                if let Some(o) = r.origin.as_deref()
                    && o != "AWS_KMS"
                {
                    return Err(Error::Unsupported(format!("Origin {o} is not supported by this server.")).into());
                }
                if r.multi_region == Some(true) {
                    return Err(Error::Unsupported("Multi-Region keys are not supported by this server.".into()).into());
                }
                if let Some(p) = &r.policy
                    && !r.bypass_policy_lockout_safety_check
                {
                    lockout_check(p, &ctx.caller)?;
                }
                let key = kms.create_key(
                    scope,
                    NewKey {
                        description: r.description.unwrap_or_default(),
                        policy: r.policy,
                        tags: r.tags.into_iter().map(Tag::from).collect(),
                    },
                )?;
                Ok(KeyMetadataOut { key_metadata: metadata(&key) })
            })
            .await,
            "DescribeKey" => typed(input, invalid, |r: KeyIdIn| async move {
                Ok(KeyMetadataOut { key_metadata: metadata(&kms.describe(scope, &r.key_id)?) })
            })
            .await,
            "ListKeys" => typed(input, invalid, |r: PageIn| async move {
                let keys = kms.list_keys(scope)?;
                let (keys, next) = page(keys, |k| k.key_id.clone(), r.limit, 100, 1000, r.marker.as_deref())?;
                Ok(ListKeysOut {
                    truncated: next.is_some(),
                    next_marker: next,
                    keys: keys.into_iter().map(|k| KeyListEntry { key_id: k.key_id, key_arn: k.arn }).collect(),
                })
            })
            .await,
            "EnableKey" | "DisableKey" | "CancelKeyDeletion" | "DisableKeyRotation" | "RotateKeyOnDemand" => {
                typed(input, invalid, |r: KeyIdIn| async move {
                    let key = match op.name {
                        "EnableKey" => kms.enable(scope, &r.key_id)?,
                        "DisableKey" => kms.disable(scope, &r.key_id)?,
                        "DisableKeyRotation" => kms.disable_rotation(scope, &r.key_id)?,
                        "RotateKeyOnDemand" => kms.rotate_on_demand(scope, &r.key_id)?,
                        _ => kms.cancel_deletion(scope, &r.key_id)?,
                    };
                    Ok(match op.name {
                        "CancelKeyDeletion" | "RotateKeyOnDemand" => Some(KeyIdOut { key_id: key.arn }),
                        _ => None,
                    })
                })
                .await
            }
            "UpdateKeyDescription" => typed(input, invalid, |r: DescriptionIn| async move {
                kms.update_description(scope, &r.key_id, r.description)?;
                Ok(Empty {})
            })
            .await,
            "CreateAlias" | "UpdateAlias" => typed(input, invalid, |r: AliasIn| async move {
                let target = r.target_key_id.ok_or_else(|| Error::Validation(
                    "1 validation error detected: Value null at 'targetKeyId' failed to satisfy constraint: Member must not be null".into(),
                ))?;
                if op.name == "CreateAlias" {
                    kms.create_alias(scope, &r.alias_name, &target)?;
                } else {
                    kms.update_alias(scope, &r.alias_name, &target)?;
                }
                Ok(Empty {})
            })
            .await,
            "DeleteAlias" => typed(input, invalid, |r: AliasIn| async move {
                kms.delete_alias(scope, &r.alias_name)?;
                Ok(Empty {})
            })
            .await,
            "ListAliases" => typed(input, invalid, |r: PageIn| async move {
                let aliases = kms.list_aliases(scope, r.key_id.as_deref())?;
                let (aliases, next) = page(aliases, |a| a.name.clone(), r.limit, 50, 100, r.marker.as_deref())?;
                Ok(ListAliasesOut {
                    truncated: next.is_some(),
                    next_marker: next,
                    aliases: aliases
                        .into_iter()
                        .map(|a| AliasEntry {
                            alias_arn: a.arn(),
                            alias_name: a.name,
                            target_key_id: a.target_key_id,
                            creation_date: Timestamp(a.created),
                            last_updated_date: Timestamp(a.updated),
                        })
                        .collect(),
                })
            })
            .await,
            "Encrypt" => typed(input, invalid, |r: EncryptIn| async move {
                algorithm(&r.encryption_algorithm)?;
                let context = r.encryption_context.unwrap_or_default();
                let (arn, blob) = kms.encrypt(scope, &r.key_id, &r.plaintext.0, &context)?;
                Ok(EncryptOut { ciphertext_blob: Blob(blob), key_id: arn, encryption_algorithm: "SYMMETRIC_DEFAULT" })
            })
            .await,
            "Decrypt" => typed(input, invalid, |r: DecryptIn| async move {
                algorithm(&r.encryption_algorithm)?;
                let context = r.encryption_context.unwrap_or_default();
                let d = kms.decrypt(scope, &r.ciphertext_blob.0, r.key_id.as_deref(), &context)?;
                Ok(DecryptOut { key_id: d.key_arn, plaintext: Blob(d.plaintext), encryption_algorithm: "SYMMETRIC_DEFAULT" })
            })
            .await,
            "ReEncrypt" => typed(input, invalid, |r: ReEncryptIn| async move {
                algorithm(&r.source_encryption_algorithm)?;
                algorithm(&r.destination_encryption_algorithm)?;
                let source_context = r.source_encryption_context.unwrap_or_default();
                let d = kms.decrypt(scope, &r.ciphertext_blob.0, r.source_key_id.as_deref(), &source_context)?;
                let dest_context = r.destination_encryption_context.unwrap_or_default();
                let (arn, blob) = kms.encrypt(scope, &r.destination_key_id, &d.plaintext, &dest_context)?;
                Ok(ReEncryptOut {
                    ciphertext_blob: Blob(blob),
                    source_key_id: d.key_arn,
                    key_id: arn,
                    source_encryption_algorithm: "SYMMETRIC_DEFAULT",
                    destination_encryption_algorithm: "SYMMETRIC_DEFAULT",
                })
            })
            .await,
            "GenerateDataKey" | "GenerateDataKeyWithoutPlaintext" => typed(input, invalid, |r: DataKeyIn| async move {
                let context = r.encryption_context.unwrap_or_default();
                let k = kms.generate_data_key(scope, &r.key_id, r.number_of_bytes, r.key_spec.as_deref(), &context)?;
                Ok(DataKeyOut {
                    ciphertext_blob: Blob(k.ciphertext),
                    plaintext: (op.name == "GenerateDataKey").then_some(Blob(k.plaintext)),
                    key_id: k.key_arn,
                })
            })
            .await,
            "GenerateRandom" => typed(input, invalid, |r: RandomIn| async move {
                Ok(RandomOut { plaintext: Blob(kms.generate_random(r.number_of_bytes)?) })
            })
            .await,
            "EnableKeyRotation" => typed(input, invalid, |r: RotationIn| async move {
                kms.enable_rotation(scope, &r.key_id, r.rotation_period_in_days)?;
                Ok(Empty {})
            })
            .await,
            "GetKeyRotationStatus" => typed(input, invalid, |r: KeyIdIn| async move {
                let k = kms.describe(scope, &r.key_id)?;
                let on_demand = k
                    .materials
                    .iter()
                    .filter(|m| m.rotation_type.as_deref() == Some("ON_DEMAND"))
                    .map(|m| m.created)
                    .max();
                Ok(RotationStatusOut {
                    key_rotation_enabled: k.rotation_enabled,
                    key_id: k.arn,
                    rotation_period_in_days: k.rotation_enabled.then_some(k.rotation_period_days),
                    next_rotation_date: k.next_rotation.map(Timestamp),
                    on_demand_rotation_start_date: on_demand.map(Timestamp),
                })
            })
            .await,
            "ScheduleKeyDeletion" => typed(input, invalid, |r: ScheduleIn| async move {
                let k = kms.schedule_deletion(scope, &r.key_id, r.pending_window_in_days)?;
                Ok(ScheduleOut {
                    key_id: k.arn,
                    deletion_date: k.deletion_date.map(Timestamp),
                    key_state: k.state.as_str(),
                    pending_window_in_days: k.pending_window_days,
                })
            })
            .await,
            "GetKeyPolicy" => typed(input, invalid, |r: PolicyIn| async move {
                policy_name(&r.policy_name)?;
                Ok(PolicyOut { policy: kms.describe_own(scope, &r.key_id)?.policy, policy_name: "default" })
            })
            .await,
            "PutKeyPolicy" => typed(input, invalid, |r: PolicyIn| async move {
                policy_name(&r.policy_name)?;
                let policy = r.policy.ok_or_else(|| Error::Validation(
                    "1 validation error detected: Value null at 'policy' failed to satisfy constraint: Member must not be null".into(),
                ))?;
                if !r.bypass_policy_lockout_safety_check {
                    lockout_check(&policy, &ctx.caller)?;
                }
                kms.put_policy(scope, &r.key_id, policy)?;
                Ok(Empty {})
            })
            .await,
            "ListKeyPolicies" => typed(input, invalid, |r: KeyIdIn| async move {
                kms.describe_own(scope, &r.key_id)?;
                Ok(PolicyNamesOut { policy_names: ["default"], truncated: false })
            })
            .await,
            "TagResource" | "UntagResource" => typed(input, invalid, |r: TagIn| async move {
                if op.name == "TagResource" {
                    kms.tag(scope, &r.key_id, r.tags.into_iter().map(Tag::from).collect())?;
                } else {
                    kms.untag(scope, &r.key_id, r.tag_keys)?;
                }
                Ok(Empty {})
            })
            .await,
            "ListResourceTags" => typed(input, invalid, |r: PageIn| async move {
                let key_id = r.key_id.ok_or_else(|| Error::Validation(
                    "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null".into(),
                ))?;
                let tags = kms.describe_own(scope, &key_id)?.tags;
                let (tags, next) = page(tags, |t| t.key.clone(), r.limit, 50, 50, r.marker.as_deref())?;
                Ok(TagsOut {
                    truncated: next.is_some(),
                    next_marker: next,
                    tags: tags.into_iter().map(|t| TagWire { tag_key: t.key, tag_value: t.value }).collect(),
                })
            })
            .await,
            other => Err(self.def().undispatched(other)),
        }
    }
}

/// Replaces the key parameters of the input with the key ARNs authorization allowed, so
/// an alias retargeted meanwhile cannot make the call act on another key.
fn pin_keys(ctx: &CallContext, op: &'static OperationDef, mut input: Value) -> Value {
    let is_key = |r: &str| r.starts_with("arn:aws:kms:") && r.contains(":key/");
    let authorized = |action: &str| {
        ctx.permissions
            .iter()
            .rev()
            .find(|p| p.action == action && is_key(&p.resource))
            .map(|p| p.resource.clone())
    };
    let (member, action) = match op.name {
        "ReEncrypt" => ("DestinationKeyId", "kms:ReEncryptTo"),
        "CreateAlias" | "UpdateAlias" => ("TargetKeyId", op.action),
        _ => ("KeyId", op.action),
    };
    if let (Value::Map(m), Some(arn)) = (&mut input, authorized(action))
        && m.get(member).is_some()
    {
        m.insert(member.to_owned(), Value::String(arn));
    }
    input
}

fn policy_name(name: &Option<String>) -> Result<()> {
    match name.as_deref() {
        None | Some("default") => Ok(()),
        Some(_) => Err(Error::NotFound("No such policy exists".into())),
    }
}

#[async_trait::async_trait]
impl Service for KmsService {
    fn def(&self) -> &'static ServiceDef {
        &KMS
    }

    async fn call(
        &self,
        ctx: &CallContext,
        op: &'static OperationDef,
        input: Value,
    ) -> Result<Value, ApiError> {
        self.dispatch(ctx, op, pin_keys(ctx, op, input)).await
    }

    async fn permissions(
        &self,
        scope: &Scope,
        op: &'static OperationDef,
        input: &Value,
        _declared: Vec<String>,
    ) -> Result<Vec<Permission>, ApiError> {
        Ok(self.perms(scope, op, input)?)
    }

    /// A key's policy decides first: it names whom it trusts, and a grant to the account
    /// only delegates to that account's IAM policies.
    async fn resource_policy(&self, _scope: &Scope, arn: &str) -> Option<ResourcePolicy> {
        self.kms.key_policy(arn).map(|document| ResourcePolicy {
            document,
            kind: sightline_wire::ResourcePolicyKind::Key,
        })
    }
}
