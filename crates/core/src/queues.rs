//! Messages that services send to SQS queues (SNS `sqs` subscriptions, EventBridge
//! targets and dead-letter queues), through this trait so that no service depends on SQS.

use crate::{Result, Scope};
use async_trait::async_trait;
use std::collections::BTreeMap;

/// One message attribute, as SQS types them (`String`, `Number`, `Binary`, with an
/// optional custom suffix such as `Number.int`).
#[derive(Debug, Clone, PartialEq)]
pub struct QueueAttribute {
    pub data_type: String,
    /// The string form; for `Binary` the base64 text.
    pub value: String,
}

/// One message a service sends to a queue on behalf of an account.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueMessage {
    pub queue_arn: String,
    pub body: String,
    pub attributes: BTreeMap<String, QueueAttribute>,
    /// The AWS service principal sending (`events.amazonaws.com`, `sns.amazonaws.com`):
    /// the queue's policy must allow it `sqs:SendMessage`, as on AWS.
    pub service: String,
    /// The resource on whose behalf the message is sent (the rule, the topic), for the
    /// queue policy's `aws:SourceArn`.
    pub source_arn: String,
}

/// Accepts a message durably and returns its message id. An unknown queue is
/// `NotFound`; a queue whose policy does not allow the service is `AccessDenied`;
/// a message SQS would refuse (size, characters) is `Invalid`.
#[async_trait]
pub trait QueueSink: Send + Sync {
    async fn send(&self, scope: &Scope, message: QueueMessage) -> Result<String>;
}

/// Sink used where no SQS is wired in: every queue is unknown.
pub struct NoQueues;

#[async_trait]
impl QueueSink for NoQueues {
    async fn send(&self, _scope: &Scope, message: QueueMessage) -> Result<String> {
        Err(crate::Error::NotFound(message.queue_arn))
    }
}
