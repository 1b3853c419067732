//! The key service other services encrypt with (S3 SSE-KMS): the KMS engine behind the
//! same authorization the caller's own KMS call would get, identity policies and key
//! policy together.

use sightline_core::{DataKey, KeyRequest, KeyService};
use sightline_iam::Identity;
use sightline_kms::Kms;
use sightline_policy::Outcome;
use sightline_wire::{ApiError, ResourcePolicy, ResourcePolicyKind};
use std::collections::BTreeMap;
use std::sync::Arc;

pub struct KmsKeys {
    pub kms: Arc<Kms>,
    pub identity: Arc<Identity>,
}

fn kms_error(e: sightline_kms::Error) -> sightline_core::Error {
    let api: ApiError = e.into();
    sightline_core::Error::Service {
        code: api.code,
        message: api.message,
    }
}

impl KmsKeys {
    fn authorize(
        &self,
        request: &KeyRequest<'_>,
        action: &str,
        key_arn: &str,
        context: &BTreeMap<String, String>,
    ) -> sightline_core::Result<()> {
        let policy = self.kms.key_policy(key_arn).map(|document| ResourcePolicy {
            document,
            kind: ResourcePolicyKind::Key,
        });
        let caller = request.caller;
        let mut conditions = crate::pipeline::global_context(
            caller,
            request.source_ip,
            request.secure_transport,
            &request.scope.region,
            chrono::Utc::now(),
        );
        conditions.set("kms:ViaService", request.via_service.clone());
        conditions.set("kms:CallerAccount", caller.account_id.clone());
        for (k, v) in context {
            conditions.set(&format!("kms:EncryptionContext:{k}"), v.clone());
        }
        match self
            .identity
            .authorize(caller, action, key_arn, &conditions, policy.as_ref())
        {
            Outcome::Allowed => Ok(()),
            _ => Err(sightline_core::Error::AccessDenied(format!(
                "User: {} is not authorized to perform: {action} on resource: {key_arn}",
                caller.identity_arn
            ))),
        }
    }
}

impl KeyService for KmsKeys {
    fn generate_data_key(
        &self,
        request: &KeyRequest<'_>,
        key_id: &str,
        context: &BTreeMap<String, String>,
    ) -> sightline_core::Result<DataKey> {
        let scope = request.scope;
        let arn = self.kms.resolve(scope, key_id).map_err(kms_error)?;
        self.authorize(request, "kms:GenerateDataKey", &arn, context)?;
        // By ARN: the key just authorized, whatever an alias names by now.
        let k = self
            .kms
            .generate_data_key(scope, &arn, None, Some("AES_256"), context)
            .map_err(kms_error)?;
        Ok(DataKey {
            key_arn: k.key_arn,
            plaintext: k.plaintext,
            ciphertext: k.ciphertext,
        })
    }

    fn decrypt(
        &self,
        request: &KeyRequest<'_>,
        ciphertext: &[u8],
        context: &BTreeMap<String, String>,
    ) -> sightline_core::Result<(String, Vec<u8>)> {
        let scope = request.scope;
        let arn = self
            .kms
            .blob_key(scope, ciphertext, None)
            .map_err(kms_error)?;
        self.authorize(request, "kms:Decrypt", &arn, context)?;
        let d = self
            .kms
            .decrypt(scope, ciphertext, None, context)
            .map_err(kms_error)?;
        Ok((d.key_arn, d.plaintext))
    }
}
