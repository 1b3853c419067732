//! The key service other services encrypt with (S3 SSE-KMS): the KMS engine behind the
//! same authorization the caller's own KMS call would get, identity policies and key
//! policy together, and audited as that KMS call (invoked by the asking service).

use crate::record::{self, RecordParts};
use serde_json::{Value as J, json};
use sightline_core::{AuditSink, DataKey, KeyRequest, KeyService};
use sightline_iam::Identity;
use sightline_kms::Kms;
use sightline_policy::Outcome;
use sightline_wire::{ApiError, ResourcePolicy, ResourcePolicyKind};
use std::collections::BTreeMap;
use std::sync::Arc;

pub struct KmsKeys {
    pub kms: Arc<Kms>,
    pub identity: Arc<Identity>,
    pub audit: Arc<dyn AuditSink>,
}

fn kms_error(e: sightline_kms::Error) -> sightline_core::Error {
    let api: ApiError = e.into();
    sightline_core::Error::Service {
        code: api.code,
        message: api.message,
    }
}

/// The KMS code and message of a failure, for its record.
fn error_parts(e: &sightline_core::Error) -> (String, String) {
    match e {
        sightline_core::Error::AccessDenied(m) => ("AccessDenied".into(), m.clone()),
        sightline_core::Error::Service { code, message } => (code.clone(), message.clone()),
        other => ("KMSInternalException".into(), other.to_string()),
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
        if caller.is_service() {
            // A service principal calls KMS itself, for the resource it acts for.
            conditions.set("aws:PrincipalServiceName", caller.arn.clone());
            conditions.set("aws:SourceAccount", request.scope.account_id.clone());
        } else {
            conditions.set("kms:ViaService", request.via_service.clone());
        }
        if let Some(arn) = request.source_arn {
            conditions.set("aws:SourceArn", arn.to_owned());
        }
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

    /// Writes the KMS event of one use of a key, as AWS does for calls a service makes
    /// on a caller's behalf; the use only counts once its record is durable.
    async fn audit<T>(
        &self,
        request: &KeyRequest<'_>,
        event_name: &str,
        parameters: J,
        key_arn: Option<&str>,
        outcome: &sightline_core::Result<T>,
    ) -> sightline_core::Result<()> {
        let service = request
            .via_service
            .split('.')
            .next()
            .map(|s| format!("{s}.amazonaws.com"))
            .unwrap_or_default();
        let mut identity = record::user_identity(request.caller);
        if let J::Object(m) = &mut identity {
            m.insert("invokedBy".into(), J::String(service.clone()));
        }
        let error = outcome.as_ref().err().map(error_parts);
        let now = chrono::Utc::now();
        let request_id = uuid::Uuid::new_v4().to_string();
        let rec = record::build(RecordParts {
            user_identity: identity,
            time: now,
            event_source: "kms.amazonaws.com".into(),
            event_name,
            region: &request.scope.region,
            source_ip: &service,
            user_agent: &service,
            error: error.as_ref().map(|(c, m)| (c.as_str(), m.as_str())),
            request_parameters: parameters,
            response_elements: J::Null,
            request_id: &request_id,
            read_only: Some(true),
            resources: key_arn.map(|a| vec![a.to_owned()]).unwrap_or_default(),
            recipient_account: &request.scope.account_id,
            tls: request.secure_transport,
        });
        self.audit.record(request.scope, now, rec).await
    }
}

#[async_trait::async_trait]
impl KeyService for KmsKeys {
    async fn generate_data_key(
        &self,
        request: &KeyRequest<'_>,
        key_id: &str,
        context: &BTreeMap<String, String>,
    ) -> sightline_core::Result<DataKey> {
        let scope = request.scope;
        let resolved = self.kms.resolve(scope, key_id).map_err(kms_error);
        let key_arn = resolved.as_ref().ok().cloned();
        let outcome = resolved.and_then(|arn| {
            self.authorize(request, "kms:GenerateDataKey", &arn, context)?;
            // By ARN: the key just authorized, whatever an alias names by now.
            self.kms
                .generate_data_key(scope, &arn, None, Some("AES_256"), context)
                .map_err(kms_error)
        });
        let parameters =
            json!({"keyId": key_id, "keySpec": "AES_256", "encryptionContext": context});
        self.audit(
            request,
            "GenerateDataKey",
            parameters,
            key_arn.as_deref(),
            &outcome,
        )
        .await?;
        let k = outcome?;
        Ok(DataKey {
            key_arn: k.key_arn,
            plaintext: k.plaintext,
            ciphertext: k.ciphertext,
        })
    }

    async fn decrypt(
        &self,
        request: &KeyRequest<'_>,
        ciphertext: &[u8],
        context: &BTreeMap<String, String>,
    ) -> sightline_core::Result<(String, Vec<u8>)> {
        let scope = request.scope;
        let named = self
            .kms
            .blob_key(scope, ciphertext, None)
            .map_err(kms_error);
        let key_arn = named.as_ref().ok().cloned();
        let outcome = named.and_then(|arn| {
            self.authorize(request, "kms:Decrypt", &arn, context)?;
            self.kms
                .decrypt(scope, ciphertext, None, context)
                .map_err(kms_error)
        });
        let parameters =
            json!({"encryptionContext": context, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"});
        self.audit(request, "Decrypt", parameters, key_arn.as_deref(), &outcome)
            .await?;
        let d = outcome?;
        Ok((d.key_arn, d.plaintext))
    }
}
