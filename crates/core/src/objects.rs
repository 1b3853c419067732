//! Writes an AWS service makes into a customer's bucket (CloudTrail delivering log and
//! digest files). The service acts as its service principal, so the bucket policy alone
//! decides, exactly as it does for `cloudtrail.amazonaws.com` on AWS.

use crate::Result;
use std::collections::BTreeMap;

/// Who writes and on whose behalf: the condition keys AWS's recommended bucket and key
/// policies test (`aws:SourceArn`, `aws:SourceAccount`).
#[derive(Debug, Clone)]
pub struct ServiceActor<'a> {
    /// e.g. `cloudtrail.amazonaws.com`.
    pub service: &'a str,
    /// The resource the write is for: the trail's ARN.
    pub source_arn: &'a str,
    pub source_account: &'a str,
    /// The region the service acts in.
    pub region: &'a str,
}

/// How the object is encrypted at rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectEncryption {
    /// SSE-S3 (`AES256`).
    S3Managed,
    /// SSE-KMS under this key (id, alias or ARN in the actor's account), with the
    /// service's encryption context pairs on top of S3's `aws:s3:arn`.
    Kms {
        key_id: String,
        context: BTreeMap<String, String>,
    },
}

/// One object to store.
#[derive(Debug, Clone)]
pub struct ObjectWrite<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub body: Vec<u8>,
    pub content_type: &'a str,
    /// `x-amz-meta-*` names without the prefix.
    pub metadata: BTreeMap<String, String>,
    pub encryption: ObjectEncryption,
}

/// Errors: `Error::NotFound` for a missing bucket, `Error::AccessDenied` when the bucket
/// policy does not let the service write (or the key policy does not let it encrypt),
/// `Error::Service` with the KMS code for an unusable key.
#[async_trait::async_trait]
pub trait ServiceBuckets: Send + Sync {
    /// Whether the service could write at `key` in `bucket` now (`s3:GetBucketAcl` on
    /// the bucket and `s3:PutObject` on the key), without writing: the check
    /// CreateTrail makes before it accepts a bucket.
    async fn check_write(&self, actor: &ServiceActor<'_>, bucket: &str, key: &str) -> Result<()>;

    /// Stores the object durably (the bucket's default Object Lock retention applies).
    async fn put(&self, actor: &ServiceActor<'_>, object: ObjectWrite<'_>) -> Result<()>;
}
