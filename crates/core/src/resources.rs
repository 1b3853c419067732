//! One resource model: every managed resource type is served by one provider, which
//! stacks provision through, Config records through and drift detection reads through.

use crate::{Result, Scope};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The identity of a provisioned resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceRef {
    /// CloudFormation type name, e.g. `AWS::IAM::User`.
    pub type_name: String,
    /// The physical id CloudFormation reports (`Ref`): a user name, a role name, an ARN.
    pub physical_id: String,
    pub arn: String,
}

/// Create, read, update and delete one resource type with CloudFormation property
/// shapes (the `Properties` of a template resource).
#[async_trait]
pub trait ResourceProvider: Send + Sync {
    /// The CloudFormation type this provider serves.
    fn type_name(&self) -> &'static str;
    async fn create(&self, scope: &Scope, properties: &serde_json::Value) -> Result<ResourceRef>;
    /// Current actual state in template property shape; `None` when it no longer exists.
    async fn read(&self, scope: &Scope, physical_id: &str) -> Result<Option<serde_json::Value>>;
    async fn update(
        &self,
        scope: &Scope,
        physical_id: &str,
        properties: &serde_json::Value,
    ) -> Result<ResourceRef>;
    async fn delete(&self, scope: &Scope, physical_id: &str) -> Result<()>;
    async fn list(&self, scope: &Scope) -> Result<Vec<ResourceRef>>;
}

/// What changed, for AWS Config's configuration items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeType {
    Create,
    Update,
    Delete,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigurationChange {
    pub resource: ResourceRef,
    pub change: ChangeType,
    pub capture_time: DateTime<Utc>,
    /// Configuration after the change (`null` on delete).
    pub configuration: serde_json::Value,
}

/// Receives every resource change; AWS Config implements it, others ignore it.
#[async_trait]
pub trait ResourceRecorder: Send + Sync {
    async fn record(&self, scope: &Scope, change: ConfigurationChange) -> Result<()>;
}

/// Recorder used before the configuration service is wired in.
pub struct NoopRecorder;

#[async_trait]
impl ResourceRecorder for NoopRecorder {
    async fn record(&self, _scope: &Scope, _change: ConfigurationChange) -> Result<()> {
        Ok(())
    }
}
