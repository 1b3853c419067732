//! Messages other services send (SNS `sqs` subscriptions, EventBridge targets) as
//! their service principal. As on AWS, the queue's own policy decides: it must allow
//! the service `sqs:SendMessage`, with `aws:SourceArn` (the topic, the rule) and
//! `aws:SourceAccount` available to its conditions; a queue without a policy takes
//! nothing from services.

use crate::engine::Sqs;
use crate::message::{Outgoing, RawAttribute};
use crate::model::QueueArn;
use crate::{Error, Result};
use async_trait::async_trait;
use base64::Engine as _;
use sightline_core::{QueueMessage, QueueSink, Scope};
use sightline_policy::Decision;

/// What a queue policy says about `service` sending on behalf of `source_account`
/// because of `source_arn`.
pub fn service_send(
    policy: &str,
    queue_arn: &str,
    service: &str,
    source_account: &str,
    source_arn: &str,
) -> Decision {
    sightline_policy::service_decision(
        policy,
        "sqs:SendMessage",
        queue_arn,
        service,
        source_account,
        source_arn,
        &[],
    )
}

fn attribute(a: &sightline_core::QueueAttribute) -> Result<RawAttribute> {
    let binary = a.data_type.starts_with("Binary");
    Ok(RawAttribute {
        data_type: Some(a.data_type.clone()),
        string: (!binary).then(|| a.value.clone()),
        binary: binary
            .then(|| {
                base64::engine::general_purpose::STANDARD
                    .decode(&a.value)
                    .map_err(|_| Error::invalid("A Binary message attribute is not base64."))
            })
            .transpose()?,
        lists: false,
    })
}

impl Sqs {
    /// Sends a service's message if the queue's policy allows the service.
    pub async fn send_as_service(&self, scope: &Scope, message: QueueMessage) -> Result<String> {
        if QueueArn::parse(&message.queue_arn).is_none() {
            return Err(Error::QueueDoesNotExist);
        }
        let policy = {
            let state = self.state.lock();
            state
                .queue(&message.queue_arn)?
                .queue
                .policy()
                .map(str::to_owned)
        };
        let allowed = policy.is_some_and(|p| {
            service_send(
                &p,
                &message.queue_arn,
                &message.service,
                &scope.account_id,
                &message.source_arn,
            ) == Decision::Allow
        });
        if !allowed {
            tracing::info!(queue = %message.queue_arn, service = %message.service, source = %message.source_arn, "service send refused by the queue policy");
            return Err(Error::AccessDenied(format!(
                "The queue policy of {} does not allow {} to send messages",
                message.queue_arn, message.service
            )));
        }
        let mut attributes = std::collections::BTreeMap::new();
        for (name, a) in &message.attributes {
            attributes.insert(name.clone(), attribute(a)?);
        }
        let outgoing = Outgoing {
            body: message.body,
            delay: None,
            attributes,
            system: Default::default(),
        };
        let sent = self
            .send_one(&message.queue_arn, outgoing, &message.service)
            .await?;
        Ok(sent.message_id)
    }
}

#[async_trait]
impl QueueSink for Sqs {
    async fn send(&self, scope: &Scope, message: QueueMessage) -> sightline_core::Result<String> {
        Ok(self.send_as_service(scope, message).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const QUEUE: &str = "arn:aws:sqs:us-east-1:111111111111:inbox";
    const TOPIC: &str = "arn:aws:sns:us-east-1:111111111111:alerts";

    fn policy(condition: serde_json::Value) -> String {
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": QUEUE,
                "Condition": condition
            }]
        })
        .to_string()
    }

    #[test]
    fn a_service_is_allowed_only_as_the_policy_says() {
        let by_topic = policy(json!({"ArnEquals": {"aws:SourceArn": TOPIC}}));
        let send = |p: &str, service: &str, source: &str| {
            service_send(p, QUEUE, service, "111111111111", source)
        };
        assert_eq!(send(&by_topic, "sns.amazonaws.com", TOPIC), Decision::Allow);
        assert_ne!(
            send(
                &by_topic,
                "sns.amazonaws.com",
                "arn:aws:sns:us-east-1:111111111111:other"
            ),
            Decision::Allow
        );
        assert_ne!(
            send(&by_topic, "events.amazonaws.com", TOPIC),
            Decision::Allow
        );
        let by_account = policy(json!({"StringEquals": {"aws:SourceAccount": "222222222222"}}));
        assert_ne!(
            send(&by_account, "sns.amazonaws.com", TOPIC),
            Decision::Allow
        );
    }
}
