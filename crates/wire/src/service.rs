//! The interface between the server and a service: the server authenticates, decodes,
//! authorizes and audits; the service only runs operations on typed input.

use crate::error::ApiError;
use crate::operation::{OperationDef, ServiceDef};
use crate::value::Value;
use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sightline_core::{Caller, Scope};

/// Everything an operation may know about the request it serves.
#[derive(Debug, Clone)]
pub struct CallContext {
    pub caller: Caller,
    pub scope: Scope,
    pub request_id: String,
    pub source_ip: String,
    pub user_agent: String,
    pub secure_transport: bool,
    /// What authorization allowed, resolved: a service acts on exactly these resources
    /// (a KMS alias resolved to the key that was authorized, not resolved again).
    pub permissions: Vec<Permission>,
}

#[async_trait]
pub trait Service: Send + Sync {
    fn def(&self) -> &'static ServiceDef;

    async fn call(
        &self,
        ctx: &CallContext,
        op: &'static OperationDef,
        input: Value,
    ) -> Result<Value, ApiError>;

    /// The permissions a call needs, decided before it runs: by default the operation's
    /// action on each resource its table declares. Services refine this where the
    /// resource depends on state (a KMS alias names a key, a ciphertext names the key
    /// that sealed it) or a call needs several actions (KMS ReEncrypt); an error here
    /// (an unknown key) is the call's answer.
    async fn permissions(
        &self,
        _scope: &Scope,
        op: &'static OperationDef,
        _input: &Value,
        declared: Vec<String>,
    ) -> Result<Vec<Permission>, ApiError> {
        Ok(declared
            .into_iter()
            .map(|resource| Permission {
                action: op.action,
                resource,
            })
            .collect())
    }

    /// The account a resource belongs to when its ARN does not say (S3 buckets and
    /// objects); authorization needs it to tell a cross-account call. `None` for a
    /// resource the call creates.
    async fn resource_owner(&self, _op: &'static OperationDef, _arn: &str) -> Option<String> {
        None
    }

    /// The resource-based policy attached to `arn` (a role's trust policy, a bucket
    /// policy), consulted by authorization; most resources have none.
    async fn resource_policy(&self, _scope: &Scope, _arn: &str) -> Option<ResourcePolicy> {
        None
    }
}

/// One permission a call needs: an IAM action on a resource ARN (or `*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    pub action: &'static str,
    pub resource: String,
}

/// A resource-based policy document and how AWS combines it with identity policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePolicy {
    pub document: String,
    pub kind: ResourcePolicyKind,
}

/// Which rules a resource policy is written under and how it combines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourcePolicyKind {
    /// A bucket policy and the like: within the account, it or an identity policy may
    /// grant; across accounts both must.
    Resource,
    /// A role's trust policy (IAM's document rules, no `Resource`). A grant to a whole
    /// account only delegates to that account's identity policies.
    Trust,
    /// A KMS key policy (resource-policy document rules). It must allow the call itself;
    /// a grant to a whole account only delegates, as for trust policies.
    Key,
}

/// How a service reports an input that does not fit the shape: the code and message
/// depend on the service (IAM says `ValidationError`, JSON services `ValidationException`).
pub type InvalidInput = fn(&crate::DeError) -> ApiError;

/// Decodes the input into the operation's request type, runs it, encodes the output.
pub async fn typed<Req, Resp, F, Fut>(
    input: Value,
    invalid: InvalidInput,
    f: F,
) -> Result<Value, ApiError>
where
    Req: DeserializeOwned,
    Resp: Serialize,
    F: FnOnce(Req) -> Fut,
    Fut: std::future::Future<Output = Result<Resp, ApiError>>,
{
    // A raw member (RawJson) is only found, not checked, by the codec: malformed text
    // in it is a malformed body, answered as the codec answers one. Raw members come
    // from awsJson bodies only, and both versions word a malformed body alike.
    let input = input.into_plain().map_err(|m| {
        crate::CommonError::MalformedInput(m).to_api_error(crate::Protocol::AwsJson1_1)
    })?;
    let req: Req = crate::from_value(input).map_err(|e| invalid(&e))?;
    let resp = f(req).await?;
    crate::to_value(&resp).map_err(|e| ApiError::internal(format!("response encoding failed: {e}")))
}
