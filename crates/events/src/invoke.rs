//! Invoking one target for one event: what kind of target an ARN names, the body it
//! receives, and each kind's delivery (queue, topic, log group, bus, API destination,
//! remediation command), with failures classified as retryable or not as EventBridge
//! does (a missing resource or a refusal is final; timeouts, throttling and 5xx retry).

use crate::engine::Events;
use crate::model::Delivery;
use crate::names;
use crate::transform::{self, Context};
use serde_json::Value;
use sightline_core::{QueueMessage, Scope, TopicMessage};
use std::sync::Arc;
use std::time::Duration;

/// What a target ARN names.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Bus {
        account: String,
        region: String,
    },
    ApiDestination,
    LogGroup {
        name: String,
    },
    Topic,
    Queue,
    /// `arn:aws:sightline:<region>:<account>:remediation/<command>`: a command from the
    /// server configuration's allow-list.
    Remediation {
        name: String,
    },
    Unsupported(String),
}

pub fn classify(arn: &str) -> Kind {
    let Some((service, region, account, rest)) = names::split_arn(arn) else {
        return Kind::Unsupported("unknown".into());
    };
    match service {
        "events" if rest.starts_with("event-bus/") => Kind::Bus {
            account: account.to_owned(),
            region: region.to_owned(),
        },
        "events" if rest.starts_with("api-destination/") => Kind::ApiDestination,
        "logs" => match rest.strip_prefix("log-group:") {
            Some(g) => Kind::LogGroup {
                name: g.strip_suffix(":*").unwrap_or(g).to_owned(),
            },
            None => Kind::Unsupported("logs".into()),
        },
        "sns" => Kind::Topic,
        "sqs" => Kind::Queue,
        "sightline" => match rest.strip_prefix("remediation/") {
            Some(n) if !n.is_empty() => Kind::Remediation { name: n.to_owned() },
            _ => Kind::Unsupported("sightline".into()),
        },
        other => Kind::Unsupported(other.to_owned()),
    }
}

/// Why an invocation did not succeed.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The destination's invocation rate is used up; try again after this long.
    Throttled(Duration),
    Failed {
        code: String,
        message: String,
        retryable: bool,
    },
}

pub(crate) fn fail(code: &str, message: impl Into<String>, retryable: bool) -> Failure {
    Failure::Failed {
        code: code.into(),
        message: message.into(),
        retryable,
    }
}

fn from_core(e: sightline_core::Error) -> Failure {
    use sightline_core::Error as C;
    match e {
        C::NotFound(m) => fail("ResourceNotFoundException", m, false),
        C::AccessDenied(m) => fail("AccessDeniedException", m, false),
        C::Invalid(m) => fail("ValidationException", m, false),
        C::Service { code, message } => fail(&code, message, false),
        C::AlreadyExists(m) => fail("ValidationException", m, false),
        C::Storage(m) => fail("InternalException", m, true),
    }
}

pub(crate) async fn invoke(me: &Arc<Events>, d: &Delivery) -> Result<(), Failure> {
    let Some(sinks) = me.sinks.get() else {
        return Err(fail("InternalException", "targets are not ready", true));
    };
    let event: Value = serde_json::from_str(&d.event)
        .map_err(|e| fail("InternalException", e.to_string(), false))?;
    let ingestion = chrono::DateTime::from_timestamp_millis(d.ingestion_ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default();
    let body = transform::render(
        &d.target,
        &Context {
            event: &event,
            rule_arn: &d.rule_arn,
            rule_name: &d.rule_name,
            ingestion_time: &ingestion,
        },
    );
    let scope = Scope::new(d.account.clone(), d.region.clone());
    match classify(&d.target.arn) {
        Kind::Queue => sinks
            .queues
            .send(
                &scope,
                QueueMessage {
                    queue_arn: d.target.arn.clone(),
                    body,
                    attributes: Default::default(),
                    service: "events.amazonaws.com".into(),
                    source_arn: d.rule_arn.clone(),
                },
            )
            .await
            .map(|_| ())
            .map_err(from_core),
        Kind::Topic => sinks
            .topics
            .publish(
                &scope,
                TopicMessage {
                    topic_arn: d.target.arn.clone(),
                    subject: None,
                    message: body,
                    service: "events.amazonaws.com".into(),
                    source_arn: d.rule_arn.clone(),
                },
            )
            .await
            .map(|_| ())
            .map_err(from_core),
        Kind::LogGroup { name } => {
            let time = event
                .get("time")
                .and_then(Value::as_str)
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.timestamp_millis())
                .unwrap_or(d.ingestion_ms);
            let stream = event
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or(&d.id)
                .to_owned();
            sinks
                .logs
                .write(&scope, &name, &stream, vec![(time, body)])
                .await
                .map_err(from_core)
        }
        Kind::Bus { account, region } => forward(me, d, &account, &region, event).await,
        Kind::ApiDestination => crate::connections::call(me, d, &event, body).await,
        Kind::Remediation { name } => crate::remediation::run(me, d, &name, body).await,
        Kind::Unsupported(service) => Err(fail(
            "ValidationException",
            format!("Sightline does not deliver to {service} targets."),
            false,
        )),
    }
}

/// Puts the event on another bus; one in another account must allow the rule's account.
async fn forward(
    me: &Arc<Events>,
    d: &Delivery,
    account: &str,
    region: &str,
    event: Value,
) -> Result<(), Failure> {
    let arn = d.target.arn.as_str();
    let name = crate::engine::bus_name(arn);
    let exists = name == names::DEFAULT_BUS || me.state.read().buses.contains_key(arn);
    if !exists {
        return Err(fail(
            "ResourceNotFoundException",
            format!("Event bus {name} does not exist."),
            false,
        ));
    }
    if account != d.account {
        let policy = me.bus_policy(arn);
        if !crate::policy::allows_account(policy.as_deref(), arn, &d.account, &d.rule_arn) {
            return Err(fail(
                "AccessDeniedException",
                format!(
                    "Account {} is not authorized to put events on {arn}.",
                    d.account
                ),
                false,
            ));
        }
    }
    if region != d.region {
        return Err(fail(
            "ValidationException",
            "Cross-region event bus targets are not supported.",
            false,
        ));
    }
    me.inject(arn, event, None, true)
        .await
        .map_err(|e| fail("InternalException", e.to_string(), true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_name_their_target_kind() {
        assert_eq!(
            classify("arn:aws:events:us-east-1:123456789012:event-bus/ops"),
            Kind::Bus {
                account: "123456789012".into(),
                region: "us-east-1".into()
            }
        );
        assert_eq!(
            classify("arn:aws:logs:us-east-1:123456789012:log-group:/aws/events/x:*"),
            Kind::LogGroup {
                name: "/aws/events/x".into()
            }
        );
        assert_eq!(
            classify("arn:aws:sqs:us-east-1:123456789012:q"),
            Kind::Queue
        );
        assert_eq!(
            classify("arn:aws:sns:us-east-1:123456789012:t"),
            Kind::Topic
        );
        assert_eq!(
            classify("arn:aws:sightline:us-east-1:123456789012:remediation/restart"),
            Kind::Remediation {
                name: "restart".into()
            }
        );
        assert_eq!(
            classify("arn:aws:lambda:us-east-1:123456789012:function:f"),
            Kind::Unsupported("lambda".into())
        );
    }
}
