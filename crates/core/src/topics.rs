//! Notifications that services send to SNS topics (alarm actions, event targets),
//! through this trait so that no service depends on SNS.

use crate::{Result, Scope};
use async_trait::async_trait;

/// One message a service publishes to a topic on behalf of an account.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicMessage {
    pub topic_arn: String,
    pub subject: Option<String>,
    pub message: String,
    /// The AWS service principal publishing (`cloudwatch.amazonaws.com`): a topic in
    /// the same account takes it; a topic elsewhere only if its policy allows it.
    pub service: String,
    /// The ARN of the resource that caused the message (the alarm), for the topic
    /// policy's `aws:SourceArn`.
    pub source_arn: String,
}

/// Accepts a message durably (it will be delivered to every subscription, retried as
/// SNS retries) and returns its message id; an unknown topic is `NotFound`, a topic
/// whose policy refuses the service is `AccessDenied`.
#[async_trait]
pub trait TopicPublisher: Send + Sync {
    async fn publish(&self, scope: &Scope, message: TopicMessage) -> Result<String>;
}

/// Publisher used where no SNS is wired in: every topic is unknown.
pub struct NoTopics;

#[async_trait]
impl TopicPublisher for NoTopics {
    async fn publish(&self, _scope: &Scope, message: TopicMessage) -> Result<String> {
        Err(crate::Error::NotFound(message.topic_arn))
    }
}
