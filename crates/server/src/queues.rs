//! SNS `sqs` subscriptions delivered through SQS's [`QueueSink`]: SNS names the queue
//! and the topic, and the message goes in as `sns.amazonaws.com` on behalf of the
//! topic's account, with the topic as `aws:SourceArn`, so the queue's policy decides as
//! it does on AWS. SNS knows nothing of SQS; this adapter is the only joint.

use async_trait::async_trait;
use sightline_core::{QueueMessage, QueueSink, Scope};
use std::collections::BTreeMap;
use std::sync::Arc;

pub struct SnsQueues {
    pub sink: Arc<dyn QueueSink>,
}

/// The region and account of `arn:aws:sns:REGION:ACCOUNT:NAME`.
fn topic_scope(topic_arn: &str) -> Option<Scope> {
    match topic_arn.split(':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "sns", region, account, name]
            if !region.is_empty() && !account.is_empty() && !name.is_empty() =>
        {
            Some(Scope::new(*account, *region))
        }
        _ => None,
    }
}

#[async_trait]
impl sightline_sns::QueueSender for SnsQueues {
    async fn send(&self, queue_arn: &str, topic_arn: &str, body: &str) -> Result<(), String> {
        let scope =
            topic_scope(topic_arn).ok_or_else(|| format!("not a topic ARN: {topic_arn}"))?;
        let message = QueueMessage {
            queue_arn: queue_arn.to_owned(),
            body: body.to_owned(),
            attributes: BTreeMap::new(),
            service: "sns.amazonaws.com".to_owned(),
            source_arn: topic_arn.to_owned(),
        };
        self.sink
            .send(&scope, message)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sightline_sns::QueueSender;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Recording(Mutex<Vec<(Scope, QueueMessage)>>);

    #[async_trait]
    impl QueueSink for Recording {
        async fn send(&self, scope: &Scope, m: QueueMessage) -> sightline_core::Result<String> {
            if let Ok(mut seen) = self.0.lock() {
                seen.push((scope.clone(), m));
            }
            Ok("id".into())
        }
    }

    #[tokio::test]
    async fn sns_sends_as_its_service_for_the_topic_account() {
        let sink = Arc::new(Recording::default());
        let adapter = SnsQueues { sink: sink.clone() };
        let topic = "arn:aws:sns:eu-west-1:111111111111:alerts";
        let queue = "arn:aws:sqs:eu-west-1:222222222222:inbox";
        adapter.send(queue, topic, "{}").await.unwrap();
        assert!(adapter.send(queue, "not-a-topic", "{}").await.is_err());
        let seen = sink.0.lock().unwrap();
        assert_eq!(seen.len(), 1);
        let (scope, m) = &seen[0];
        assert_eq!(scope, &Scope::new("111111111111", "eu-west-1"));
        assert_eq!(m.service, "sns.amazonaws.com");
        assert_eq!(m.source_arn, topic);
        assert_eq!(m.queue_arn, queue);
    }
}
