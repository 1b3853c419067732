//! Publish and PublishBatch, and the `TopicPublisher` other services publish through. A
//! message id is returned only after the message and one delivery per confirmed
//! subscription are committed, so an acknowledged message is delivered even if the
//! server stops right after.

use crate::engine::Sns;
use crate::message::{self, AttributeInput, MAX_MESSAGE_BYTES};
use crate::model::{Delivery, DeliveryKind, Published, Topic, TopicArn};
use crate::{Error, Result, policy, store};
use async_trait::async_trait;
use chrono::Utc;
use sightline_core::{Scope, TopicMessage, TopicPublisher};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

const MAX_BATCH: usize = 10;

/// One message as Publish or a PublishBatch entry gives it.
#[derive(Debug, Clone, Default)]
pub struct MessageInput {
    pub message: String,
    pub subject: Option<String>,
    pub message_structure: Option<String>,
    pub attributes: BTreeMap<String, AttributeInput>,
    pub deduplication_id: Option<String>,
}

/// Where Publish sends a message.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub topic_arn: Option<String>,
    pub target_arn: Option<String>,
    pub phone_number: Option<String>,
}

/// What PublishBatch did with its entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// (entry id, message id) of each accepted entry.
    pub successful: Vec<(String, String)>,
    pub failed: Vec<BatchFailure>,
}

/// One refused entry of a PublishBatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchFailure {
    pub id: String,
    pub code: &'static str,
    pub message: String,
}

impl Sns {
    /// The topic a Publish names, checked as SNS checks it.
    fn publish_topic(&self, scope: &Scope, target: &Target) -> Result<Topic> {
        if target.phone_number.is_some() {
            return Err(Error::invalid(
                "PhoneNumber Reason: Sightline does not send SMS",
            ));
        }
        let arn = match (&target.topic_arn, &target.target_arn) {
            (Some(_), Some(_)) => {
                return Err(Error::invalid(
                    "TopicArn or TargetArn Reason: Only one of TopicArn or TargetArn may be specified",
                ));
            }
            (None, None) => {
                return Err(Error::invalid(
                    "TopicArn or TargetArn Reason: no value for required parameter",
                ));
            }
            (Some(t), None) => t,
            (None, Some(t)) => {
                if TopicArn::parse(t).is_none() {
                    return Err(Error::invalid("TargetArn"));
                }
                t
            }
        };
        self.topic(scope, arn)
    }

    /// Validates a message for `topic` and makes it ready to store.
    fn prepare(&self, topic: &Topic, m: MessageInput) -> Result<Published> {
        if m.message.is_empty() {
            return Err(Error::invalid("Empty message"));
        }
        if m.deduplication_id.is_some() {
            return Err(Error::invalid(
                "The request includes MessageDeduplicationId parameter that is not valid for this topic type",
            ));
        }
        let (default, per_protocol) = match m.message_structure.as_deref() {
            None => (m.message.clone(), BTreeMap::new()),
            Some("json") => message::parse_structure(&m.message)?,
            Some(_) => return Err(Error::invalid("MessageStructure")),
        };
        if let Some(s) = &m.subject {
            message::check_subject(s)?;
        }
        let attributes = message::check_attributes(m.attributes)?;
        if message::counted_size(&m.message, &attributes) > MAX_MESSAGE_BYTES {
            return Err(Error::invalid("Message too long"));
        }
        Ok(Published {
            id: uuid::Uuid::new_v4().to_string(),
            topic_arn: topic.arn.clone(),
            region: topic.region.clone(),
            subject: m.subject,
            message: default,
            per_protocol,
            attributes,
            timestamp: Utc::now(),
            signature_version: topic.signature_version(),
            display_name: topic.display_name().to_owned(),
        })
    }

    /// Stores the messages with a delivery per confirmed subscription of their topic,
    /// in one transaction, then queues the deliveries.
    fn accept(&self, topic: &Topic, messages: Vec<Published>) -> Result<()> {
        let state = self.state.read();
        let subs: Vec<_> = state
            .subscriptions_of(&topic.arn)
            .filter(|s| s.confirmed)
            .cloned()
            .collect();
        drop(state);
        if subs.is_empty() {
            return Ok(());
        }
        let batch: Vec<(Published, Vec<Delivery>)> = messages
            .into_iter()
            .map(|m| {
                let deliveries = subs
                    .iter()
                    .map(|s| {
                        Self::delivery_to(
                            topic,
                            s,
                            DeliveryKind::Notification,
                            m.id.clone(),
                            m.signature_version,
                        )
                    })
                    .collect();
                (m, deliveries)
            })
            .collect();
        let refs: Vec<(&Published, Vec<Delivery>)> =
            batch.iter().map(|(m, d)| (m, d.clone())).collect();
        store::put_published(&self.meta, &refs)?;
        let mut all = Vec::new();
        {
            let mut q = self.queue.lock();
            for (m, deliveries) in batch {
                q.messages.insert(m.id.clone(), Arc::new(m));
                all.extend(deliveries);
            }
        }
        self.enqueue(all);
        Ok(())
    }

    /// Publishes one message; its id once it is durably accepted.
    pub fn publish(&self, scope: &Scope, target: &Target, m: MessageInput) -> Result<String> {
        let topic = self.publish_topic(scope, target)?;
        let published = self.prepare(&topic, m)?;
        let id = published.id.clone();
        self.accept(&topic, vec![published])?;
        tracing::debug!(topic = %topic.arn, message_id = %id, "published");
        Ok(id)
    }

    /// Publishes up to ten messages, refusing entries one by one; batch-level problems
    /// refuse the whole call.
    pub fn publish_batch(
        &self,
        scope: &Scope,
        topic_arn: &str,
        entries: Vec<(String, MessageInput)>,
    ) -> Result<BatchOutcome> {
        if entries.is_empty() {
            return Err(Error::EmptyBatchRequest(
                "The batch request doesn't contain any entries".into(),
            ));
        }
        if entries.len() > MAX_BATCH {
            return Err(Error::TooManyEntriesInBatchRequest(
                "The batch request contains more entries than permissible".into(),
            ));
        }
        let mut seen = HashSet::new();
        for (id, _) in &entries {
            let valid = !id.is_empty()
                && id.len() <= 80
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid {
                return Err(Error::InvalidBatchEntryId(
                    "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.".into(),
                ));
            }
            if !seen.insert(id.as_str()) {
                return Err(Error::BatchEntryIdsNotDistinct(
                    "Two or more batch entries in the request have the same Id.".into(),
                ));
            }
        }
        let total: usize = entries.iter().map(|(_, m)| m.message.len()).sum();
        if total > MAX_MESSAGE_BYTES {
            return Err(Error::BatchRequestTooLong(
                "The length of all the messages put together is more than the limit.".into(),
            ));
        }
        let topic = self.topic(scope, topic_arn)?;
        let mut out = BatchOutcome::default();
        let mut accepted = Vec::new();
        for (id, m) in entries {
            match self.prepare(&topic, m) {
                Ok(p) => {
                    out.successful.push((id, p.id.clone()));
                    accepted.push(p);
                }
                Err(e) => out.failed.push(BatchFailure {
                    id,
                    code: e.code().0,
                    message: e.to_string(),
                }),
            }
        }
        self.accept(&topic, accepted)?;
        Ok(out)
    }
}

/// Other services' messages (CloudWatch alarm actions): a topic of the publishing
/// account takes them unless its policy denies the service; a topic of another account
/// only if its policy allows the service.
#[async_trait]
impl TopicPublisher for Sns {
    async fn publish(&self, scope: &Scope, m: TopicMessage) -> sightline_core::Result<String> {
        let Some(parsed) = TopicArn::parse(&m.topic_arn) else {
            return Err(sightline_core::Error::Invalid(format!(
                "Invalid parameter: TopicArn ({})",
                m.topic_arn
            )));
        };
        let topic = self
            .state
            .read()
            .topics
            .get(&m.topic_arn)
            .cloned()
            .ok_or_else(|| sightline_core::Error::NotFound(m.topic_arn.clone()))?;
        let decision = policy::service_publish(
            topic.attribute("Policy").unwrap_or(""),
            &topic.arn,
            &m.service,
            &scope.account_id,
            &m.source_arn,
        );
        let allowed = match decision {
            sightline_policy::Decision::Deny => false,
            sightline_policy::Decision::Allow => true,
            sightline_policy::Decision::NotApplicable => parsed.account == scope.account_id,
        };
        if !allowed {
            return Err(sightline_core::Error::AccessDenied(format!(
                "{} is not authorized to publish to {}",
                m.service, m.topic_arn
            )));
        }
        let input = MessageInput {
            message: if m.message.is_empty() {
                " ".into()
            } else {
                m.message
            },
            subject: m.subject.as_deref().and_then(message::tidy_subject),
            ..MessageInput::default()
        };
        let published = self.prepare(&topic, input)?;
        let id = published.id.clone();
        self.accept(&topic, vec![published])?;
        tracing::debug!(topic = %topic.arn, service = %m.service, message_id = %id, "service published");
        Ok(id)
    }
}
