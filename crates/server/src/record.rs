//! Builds the CloudTrail record of one call.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value as J, json};
use sightline_core::{Caller, PrincipalKind};
use sightline_wire::timestamp::format_audit;

/// Member names whose values never enter a record.
const SECRET_MEMBERS: &[&str] = &[
    "secretaccesskey",
    "sessiontoken",
    "password",
    "newpassword",
    "oldpassword",
    "privatekey",
    "plaintext",
    "ciphertextblob",
    // Sightline's ingest tokens (CreateIngestToken's answer).
    "token",
];

pub fn redact(v: &mut J) {
    match v {
        J::Object(m) => {
            for (k, val) in m.iter_mut() {
                if SECRET_MEMBERS.contains(&k.to_ascii_lowercase().as_str()) {
                    *val = J::String("HIDDEN_DUE_TO_SECURITY_REASONS".into());
                } else {
                    redact(val);
                }
            }
        }
        J::Array(a) => a.iter_mut().for_each(redact),
        _ => {}
    }
}

pub fn user_identity(caller: &Caller) -> J {
    let mut m = Map::new();
    if caller.is_service() {
        // An AWS service acting on its own is named by what invoked the call.
        m.insert("type".into(), J::String(caller.kind.as_str().into()));
        m.insert("invokedBy".into(), J::String(caller.arn.clone()));
        return J::Object(m);
    }
    m.insert("type".into(), J::String(caller.kind.as_str().into()));
    m.insert("principalId".into(), J::String(caller.principal_id.clone()));
    m.insert("arn".into(), J::String(caller.identity_arn.clone()));
    m.insert("accountId".into(), J::String(caller.account_id.clone()));
    m.insert(
        "accessKeyId".into(),
        J::String(caller.access_key_id.clone()),
    );
    if let Some(u) = &caller.user_name {
        m.insert("userName".into(), J::String(u.clone()));
    }
    if let Some(s) = &caller.session {
        let issuer_type = match s.issuer.kind {
            PrincipalKind::AssumedRole => "Role",
            other => other.as_str(),
        };
        m.insert(
            "sessionContext".into(),
            json!({
                "sessionIssuer": {
                    "type": issuer_type,
                    "principalId": s.issuer.principal_id,
                    "arn": s.issuer.arn,
                    "accountId": s.issuer.account_id,
                    "userName": s.issuer.user_name,
                },
                "attributes": {
                    "creationDate": format_audit(&s.creation_date),
                    "mfaAuthenticated": if s.mfa_authenticated { "true" } else { "false" },
                }
            }),
        );
    }
    J::Object(m)
}

/// A caller we could not identify (unknown or malformed credentials).
pub fn unknown_identity(access_key_id: Option<&str>, account: &str) -> J {
    let mut m = Map::new();
    m.insert("type".into(), J::String("Unknown".into()));
    m.insert("accountId".into(), J::String(account.to_owned()));
    if let Some(k) = access_key_id {
        m.insert("accessKeyId".into(), J::String(k.to_owned()));
    }
    J::Object(m)
}

pub struct RecordParts<'a> {
    pub user_identity: J,
    pub time: DateTime<Utc>,
    pub event_source: String,
    pub event_name: &'a str,
    pub region: &'a str,
    pub source_ip: &'a str,
    pub user_agent: &'a str,
    pub error: Option<(&'a str, &'a str)>,
    pub request_parameters: J,
    pub response_elements: J,
    pub request_id: &'a str,
    pub read_only: Option<bool>,
    pub resources: Vec<String>,
    pub recipient_account: &'a str,
    pub tls: bool,
}

pub fn build(p: RecordParts<'_>) -> J {
    let mut request_parameters = p.request_parameters;
    redact(&mut request_parameters);
    let mut response_elements = p.response_elements;
    redact(&mut response_elements);
    let mut m = Map::new();
    m.insert("eventVersion".into(), J::String("1.11".into()));
    m.insert("userIdentity".into(), p.user_identity);
    m.insert("eventTime".into(), J::String(format_audit(&p.time)));
    let data = sightline_lake::datasets::audit::is_data_event(&p.event_source, p.event_name);
    m.insert("eventSource".into(), J::String(p.event_source));
    m.insert("eventName".into(), J::String(p.event_name.to_owned()));
    m.insert("awsRegion".into(), J::String(p.region.to_owned()));
    m.insert("sourceIPAddress".into(), J::String(p.source_ip.to_owned()));
    m.insert("userAgent".into(), J::String(p.user_agent.to_owned()));
    if let Some((code, message)) = p.error {
        m.insert("errorCode".into(), J::String(code.to_owned()));
        m.insert("errorMessage".into(), J::String(message.to_owned()));
    }
    m.insert("requestParameters".into(), request_parameters);
    m.insert("responseElements".into(), response_elements);
    m.insert("requestID".into(), J::String(p.request_id.to_owned()));
    m.insert(
        "eventID".into(),
        J::String(uuid::Uuid::new_v4().to_string()),
    );
    if let Some(ro) = p.read_only {
        m.insert("readOnly".into(), J::Bool(ro));
    }
    let resources: Vec<J> = p
        .resources
        .iter()
        // Listing calls act on a collection (`…:user/`), not on a named resource.
        .filter(|r| r.starts_with("arn:") && !r.ends_with('/') && !r.ends_with('*'))
        .map(|arn| {
            let account = arn.split(':').nth(4).unwrap_or("");
            json!({ "ARN": arn, "accountId": if account.is_empty() { p.recipient_account } else { account } })
        })
        .collect();
    if !resources.is_empty() {
        m.insert("resources".into(), J::Array(resources));
    }
    m.insert("eventType".into(), J::String("AwsApiCall".into()));
    m.insert("managementEvent".into(), J::Bool(!data));
    m.insert(
        "recipientAccountId".into(),
        J::String(p.recipient_account.to_owned()),
    );
    m.insert(
        "eventCategory".into(),
        J::String(if data { "Data" } else { "Management" }.into()),
    );
    if p.tls {
        m.insert(
            "tlsDetails".into(),
            json!({ "tlsVersion": "TLSv1.3", "clientProvidedHostHeader": null }),
        );
    }
    J::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_at_any_depth() {
        let mut v = json!({"accessKey": {"accessKeyId": "AKIA", "secretAccessKey": "s3cr3t"}, "credentials": [{"sessionToken": "t"}]});
        redact(&mut v);
        let text = v.to_string();
        assert!(
            !text.contains("s3cr3t") && !text.contains("\"t\""),
            "{text}"
        );
        assert!(text.contains("AKIA"));
    }
}
