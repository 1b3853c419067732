//! The unsigned GETs endpoints make, as on AWS: the SubscribeURL
//! (`/?Action=ConfirmSubscription&TopicArn=…&Token=…`), the UnsubscribeURL
//! (`/?Action=Unsubscribe&SubscriptionArn=…`) and the signing certificate
//! (`/sightline/sns/SimpleNotificationService-<id>.pem`). The server routes unsigned
//! GETs here and answers what this returns.

use crate::engine::Sns;
use crate::{Error, api};
use sightline_wire::codec::query;
use sightline_wire::{Value, ValueMap};

/// An answer to an unsigned GET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicResponse {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

const CERT_PREFIX: &str = "/sightline/sns/SimpleNotificationService-";
const XML: &str = "text/xml";

fn error_response(request_id: &str, e: &Error) -> PublicResponse {
    let (code, status) = e.code();
    PublicResponse {
        status,
        content_type: XML,
        body: query::encode_error(
            api::NAMESPACE,
            request_id,
            code,
            &e.to_string(),
            status < 500,
        ),
    }
}

impl Sns {
    /// Answers an unsigned GET of `path` with `query` (the raw query string, without
    /// `?`); `None` when the request is not one of SNS's public URLs.
    pub async fn public_get(&self, path: &str, query: &str) -> Option<PublicResponse> {
        if let Some(rest) = path.strip_prefix(CERT_PREFIX) {
            let id = rest.strip_suffix(".pem")?;
            return Some(match self.signing.certificate(id) {
                Some(pem) => PublicResponse {
                    status: 200,
                    content_type: "application/x-pem-file",
                    body: pem.into_bytes(),
                },
                None => PublicResponse {
                    status: 404,
                    content_type: "text/plain",
                    body: b"no such certificate\n".to_vec(),
                },
            });
        }
        if !path.is_empty() && path != "/" {
            return None;
        }
        let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let action = get("Action")?;
        let request_id = uuid::Uuid::new_v4().to_string();
        let (operation, result) = match action {
            "ConfirmSubscription" => {
                let r = match (get("TopicArn"), get("Token")) {
                    (Some(t), Some(k)) => self.confirm_subscription(None, t, k, false),
                    (None, _) => Err(Error::invalid("TopicArn")),
                    (_, None) => Err(Error::invalid("Token")),
                };
                let out = r.map(|arn| {
                    let mut m = ValueMap::new();
                    m.insert("SubscriptionArn".into(), Value::String(arn));
                    Value::Map(m)
                });
                ("ConfirmSubscription", out)
            }
            "Unsubscribe" => {
                let r = match get("SubscriptionArn") {
                    Some(arn) => self.unsubscribe(None, arn),
                    None => Err(Error::invalid("SubscriptionArn")),
                };
                ("Unsubscribe", r.map(|()| Value::map()))
            }
            _ => return None,
        };
        Some(match result {
            Ok(v) => PublicResponse {
                status: 200,
                content_type: XML,
                body: query::encode(operation, api::NAMESPACE, &request_id, &v),
            },
            Err(e) => {
                tracing::info!(action, error = %e, "public sns request refused");
                error_response(&request_id, &e)
            }
        })
    }
}
