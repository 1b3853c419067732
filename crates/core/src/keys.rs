//! Envelope keys for services that encrypt at rest (S3 SSE-KMS today, KMS-keyed log
//! groups later): a service asks for a data key under a KMS key on behalf of the
//! caller, and later for that data key back. Each request is authorized exactly as the
//! caller's own KMS call would be (identity policies and the key policy).

use crate::{Caller, Result, Scope};
use std::collections::BTreeMap;

/// A data key: its plaintext for immediate use, and the KMS ciphertext to store.
pub struct DataKey {
    pub key_arn: String,
    pub plaintext: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKey")
            .field("key_arn", &self.key_arn)
            .field("plaintext", &"<redacted>")
            .finish()
    }
}

/// The request a key is used for: the caller's own request to the service that asks
/// (its source, transport), and that service, so key policies can use the same
/// conditions as on a direct KMS call (`aws:SourceIp`, `aws:SecureTransport`,
/// `kms:ViaService`, `kms:EncryptionContext:…`).
#[derive(Debug, Clone)]
pub struct KeyRequest<'a> {
    pub caller: &'a Caller,
    pub scope: &'a Scope,
    pub source_ip: &'a str,
    pub secure_transport: bool,
    /// e.g. `s3.us-east-1.amazonaws.com`.
    pub via_service: String,
    /// The resource a service principal acts for (`aws:SourceArn`: a trail's ARN), so
    /// a key policy can confine a service to one trail as AWS's recommended policies do.
    pub source_arn: Option<&'a str>,
}

/// Errors are `Error::AccessDenied` when the caller may not use the key, and
/// `Error::Service` with the KMS code (`NotFoundException`, `DisabledException`,
/// `KMSInvalidStateException`, `InvalidCiphertextException`) otherwise.
/// Each call is also audited as the KMS event it is (invoked by the asking service)
/// before it returns.
#[async_trait::async_trait]
pub trait KeyService: Send + Sync {
    /// A new 256-bit data key under `key_id` (id, ARN or alias), as the caller's
    /// `kms:GenerateDataKey`.
    async fn generate_data_key(
        &self,
        request: &KeyRequest<'_>,
        key_id: &str,
        context: &BTreeMap<String, String>,
    ) -> Result<DataKey>;

    /// The plaintext of a stored data key, as the caller's `kms:Decrypt`; also the ARN
    /// of the key that sealed it.
    async fn decrypt(
        &self,
        request: &KeyRequest<'_>,
        ciphertext: &[u8],
        context: &BTreeMap<String, String>,
    ) -> Result<(String, Vec<u8>)>;
}
