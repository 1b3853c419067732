//! The delivery task: sends what is due (confirmation requests and notifications) to
//! HTTP(S) endpoints, through the SMTP relay, or to the queue sender; a delivery leaves
//! storage only once it is done (the endpoint took it, refused it for good, or its
//! retry policy ran out), so deliveries interrupted by a stop run again at the next
//! start: an endpoint may see a message twice, never miss one.
//!
//! HTTP(S): a 2xx answer is delivered; other answers below 500 are refusals SNS does not
//! retry; 5xx answers, timeouts and connection failures are retried.

use crate::engine::Sns;
use crate::message::Envelope;
use crate::model::{Delivery, DeliveryKind, Published};
use crate::smtp::{self, SmtpError};
use crate::{Error, Result, store};
use chrono::Utc;
use std::sync::Arc;
use std::time::Duration;

/// How long a delivery whose outcome could not be stored waits before it runs again.
const STORAGE_BACKOFF: chrono::Duration = chrono::Duration::seconds(30);

/// How an attempt ended, when it did not deliver.
#[derive(Debug)]
enum Failure {
    /// Worth another attempt (5xx, timeout, connection refused).
    Retry(String),
    /// Never going to work (the endpoint refused it, the subscription is gone).
    Drop(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Retry(e.to_string())
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

impl Sns {
    pub(crate) fn subscribe_url(&self, topic_arn: &str, token: &str) -> String {
        format!(
            "{}/?{}",
            self.config.public_url,
            form(&[
                ("Action", "ConfirmSubscription"),
                ("TopicArn", topic_arn),
                ("Token", token)
            ])
        )
    }

    pub(crate) fn unsubscribe_url(&self, subscription_arn: &str) -> String {
        format!(
            "{}/?{}",
            self.config.public_url,
            form(&[
                ("Action", "Unsubscribe"),
                ("SubscriptionArn", subscription_arn)
            ])
        )
    }

    pub(crate) fn cert_url(&self, id: &str) -> String {
        format!(
            "{}/sightline/sns/SimpleNotificationService-{id}.pem",
            self.config.public_url
        )
    }

    /// Runs deliveries until `shutdown` changes. Attempts still running then are
    /// abandoned, not lost: their rows stay and run again after the next start.
    pub fn spawn(
        self: &Arc<Self>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let sns = self.clone();
        tokio::spawn(async move {
            let mut running = tokio::task::JoinSet::new();
            loop {
                let room = sns
                    .config
                    .timing
                    .max_in_flight
                    .saturating_sub(running.len());
                for (d, m) in sns.take_due(room) {
                    let s = sns.clone();
                    running.spawn(async move { s.attempt(d, m).await });
                }
                let wait = sns.until_next_due();
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = sns.wake.notified() => {}
                    Some(_) = running.join_next(), if !running.is_empty() => {}
                    _ = shutdown.changed() => break,
                }
            }
            running.abort_all();
            while running.join_next().await.is_some() {}
            tracing::info!(pending = sns.pending_deliveries(), "sns delivery stopped");
        })
    }

    /// Due deliveries not already running, oldest due first, marked as running.
    fn take_due(&self, room: usize) -> Vec<(Delivery, Option<Arc<Published>>)> {
        let now = Utc::now();
        let mut q = self.queue.lock();
        let mut due: Vec<&Delivery> = q
            .deliveries
            .values()
            .filter(|d| d.due <= now && !q.in_flight.contains(&d.id))
            .collect();
        due.sort_by_key(|d| d.due);
        let picked: Vec<(Delivery, Option<Arc<Published>>)> = due
            .into_iter()
            .take(room)
            .map(|d| (d.clone(), q.messages.get(&d.message_id).cloned()))
            .collect();
        for (d, _) in &picked {
            q.in_flight.insert(d.id.clone());
        }
        picked
    }

    fn until_next_due(&self) -> Duration {
        let idle = self.config.timing.idle_poll;
        let q = self.queue.lock();
        let next = q
            .deliveries
            .values()
            .filter(|d| !q.in_flight.contains(&d.id))
            .map(|d| d.due)
            .min();
        match next {
            None => idle,
            Some(t) => (t - Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(idle),
        }
    }

    async fn attempt(&self, mut d: Delivery, message: Option<Arc<Published>>) {
        let outcome = self.send(&d, message.as_deref()).await;
        let result = match outcome {
            Ok(()) => {
                tracing::debug!(delivery = %d.id, endpoint = %d.endpoint, kind = d.kind.as_str(), "delivered");
                self.finish(&d)
            }
            Err(Failure::Drop(why)) => {
                tracing::warn!(delivery = %d.id, endpoint = %d.endpoint, reason = %why, "delivery dropped");
                self.finish(&d)
            }
            Err(Failure::Retry(why)) if d.attempts >= d.retry.num_retries => {
                tracing::warn!(delivery = %d.id, endpoint = %d.endpoint, attempts = d.attempts + 1, reason = %why, "delivery policy exhausted, message discarded");
                self.finish(&d)
            }
            Err(Failure::Retry(why)) => {
                d.attempts += 1;
                let delay = self.config.timing.policy_second * d.retry.delay_before(d.attempts);
                d.due = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
                tracing::info!(delivery = %d.id, endpoint = %d.endpoint, attempt = d.attempts, retry_in_ms = delay.as_millis() as u64, reason = %why, "delivery failed, will retry");
                self.reschedule(d)
            }
        };
        if let Err(e) = result {
            // The row keeps its last stored state; the attempt runs again after a
            // restart, or when storage recovers.
            tracing::error!(error = %e, "recording a delivery outcome failed");
        }
    }

    fn finish(&self, d: &Delivery) -> Result<()> {
        let stored = store::finish_delivery(&self.meta, d);
        let mut q = self.queue.lock();
        q.in_flight.remove(&d.id);
        if stored.is_ok() {
            q.deliveries.remove(&d.id);
            if !q.deliveries.values().any(|o| o.message_id == d.message_id) {
                q.messages.remove(&d.message_id);
            }
        } else {
            Self::back_off(&mut q, &d.id);
        }
        stored
    }

    fn reschedule(&self, d: Delivery) -> Result<()> {
        let stored = store::update_delivery(&self.meta, &d);
        let mut q = self.queue.lock();
        q.in_flight.remove(&d.id);
        if stored.is_ok() {
            q.deliveries.insert(d.id.clone(), d);
        } else {
            Self::back_off(&mut q, &d.id);
        }
        drop(q);
        self.wake.notify_one();
        stored
    }

    /// When an outcome could not be stored the delivery stays as it was; it waits a
    /// while before its next attempt, rather than hammering its endpoint meanwhile.
    fn back_off(q: &mut crate::engine::Queue, id: &str) {
        if let Some(d) = q.deliveries.get_mut(id) {
            d.due = Utc::now() + STORAGE_BACKOFF;
        }
    }

    /// Whether the subscription a delivery serves still wants it.
    fn still_wanted(&self, d: &Delivery) -> bool {
        let state = self.state.read();
        match state.subscriptions.get(&d.subscription_arn) {
            None => false,
            Some(s) => match d.kind {
                DeliveryKind::Notification => s.confirmed,
                DeliveryKind::SubscriptionConfirmation => !s.confirmed,
            },
        }
    }

    /// The signed JSON document of a delivery.
    async fn document(&self, d: &Delivery, m: Option<&Published>) -> Result<String> {
        let key = self.signing.key(&d.region).await?;
        let subscribe_url = d
            .token
            .as_deref()
            .map(|t| self.subscribe_url(&d.topic_arn, t));
        let unsubscribe_url = self.unsubscribe_url(&d.subscription_arn);
        let confirm_text = format!(
            "You have chosen to subscribe to the topic {}.\nTo confirm the subscription, visit the SubscribeURL included in this message.",
            d.topic_arn
        );
        let envelope = match (d.kind, m) {
            (DeliveryKind::Notification, Some(m)) => Envelope {
                kind: d.kind.as_str(),
                message_id: &m.id,
                topic_arn: &d.topic_arn,
                subject: m.subject.as_deref(),
                message: m.message_for(&d.protocol),
                timestamp: m.timestamp,
                token: None,
                subscribe_url: None,
                unsubscribe_url: Some(&unsubscribe_url),
                attributes: Some(&m.attributes),
            },
            (DeliveryKind::Notification, None) => {
                return Err(Error::Storage(format!(
                    "message {} of delivery {} is missing",
                    d.message_id, d.id
                )));
            }
            (DeliveryKind::SubscriptionConfirmation, _) => Envelope {
                kind: d.kind.as_str(),
                message_id: &d.message_id,
                topic_arn: &d.topic_arn,
                subject: None,
                message: &confirm_text,
                timestamp: d.created,
                token: d.token.as_deref(),
                subscribe_url: subscribe_url.as_deref(),
                unsubscribe_url: None,
                attributes: None,
            },
        };
        let signature = self
            .signing
            .sign(&key, d.signature_version, &envelope.string_to_sign())?;
        Ok(envelope.to_json(d.signature_version, &signature, &self.cert_url(&key.id)))
    }

    async fn send(&self, d: &Delivery, m: Option<&Published>) -> Result<(), Failure> {
        if !self.still_wanted(d) {
            return Err(Failure::Drop("the subscription no longer wants it".into()));
        }
        if d.kind == DeliveryKind::Notification && m.is_none() {
            return Err(Failure::Drop(format!(
                "message {} is missing",
                d.message_id
            )));
        }
        match d.protocol.as_str() {
            "http" | "https" => self.send_http(d, m).await,
            "email" | "email-json" => self.send_email(d, m).await,
            "sqs" => self.send_queue(d, m).await,
            other => Err(Failure::Drop(format!("no delivery for protocol {other}"))),
        }
    }

    async fn send_http(&self, d: &Delivery, m: Option<&Published>) -> Result<(), Failure> {
        let (body, message_id) = match (d.kind, m) {
            (DeliveryKind::Notification, Some(m)) if d.raw => {
                (m.message_for(&d.protocol).to_owned(), m.id.clone())
            }
            (_, m) => (
                self.document(d, m).await?,
                m.map_or(d.message_id.clone(), |m| m.id.clone()),
            ),
        };
        let mut req = self
            .http
            .post(&d.endpoint)
            .header("x-amz-sns-message-type", d.kind.as_str())
            .header("x-amz-sns-message-id", &message_id)
            .header("x-amz-sns-topic-arn", &d.topic_arn)
            .header(
                "content-type",
                d.content_type
                    .as_deref()
                    .unwrap_or("text/plain; charset=UTF-8"),
            )
            .body(body);
        if d.kind == DeliveryKind::Notification {
            req = req.header("x-amz-sns-subscription-arn", &d.subscription_arn);
            if d.raw {
                req = req.header("x-amz-sns-rawdelivery", "true");
            }
        }
        let resp = req
            .send()
            .await
            .map_err(|e| Failure::Retry(format!("{}: {e}", d.endpoint)))?;
        let status = resp.status().as_u16();
        match status {
            200..=299 => Ok(()),
            500.. => Err(Failure::Retry(format!("{} answered {status}", d.endpoint))),
            _ => Err(Failure::Drop(format!("{} answered {status}", d.endpoint))),
        }
    }

    async fn send_email(&self, d: &Delivery, m: Option<&Published>) -> Result<(), Failure> {
        let Some(relay) = &self.smtp else {
            return Err(Failure::Retry("no SMTP relay is configured".into()));
        };
        let from_name = if d.display_name.is_empty() {
            "AWS Notifications"
        } else {
            d.display_name.as_str()
        };
        let (subject, body) = match (d.kind, m) {
            (DeliveryKind::SubscriptionConfirmation, _) => {
                let subject = "AWS Notification - Subscription Confirmation".to_owned();
                let body = if d.protocol == "email-json" {
                    self.document(d, None).await?
                } else {
                    let url = self.subscribe_url(&d.topic_arn, d.token.as_deref().unwrap_or(""));
                    format!(
                        "You have chosen to subscribe to the topic:\n{}\n\nTo confirm this subscription, click or visit the link below (If this was in error no action is necessary):\nConfirm subscription: {url}\n\nPlease do not reply directly to this email.\n",
                        d.topic_arn
                    )
                };
                (subject, body)
            }
            (DeliveryKind::Notification, Some(m)) => {
                let subject = m
                    .subject
                    .clone()
                    .unwrap_or_else(|| "AWS Notification Message".into());
                let body = if d.protocol == "email-json" {
                    self.document(d, Some(m)).await?
                } else {
                    format!(
                        "{}\n\n--\nIf you wish to stop receiving notifications from this topic, please click or visit the link below to unsubscribe:\n{}\n\nPlease do not reply directly to this email.\n",
                        m.message_for(&d.protocol),
                        self.unsubscribe_url(&d.subscription_arn)
                    )
                };
                (subject, body)
            }
            (DeliveryKind::Notification, None) => {
                return Err(Failure::Drop(format!(
                    "message {} is missing",
                    d.message_id
                )));
            }
        };
        let from = &self.config.email_from;
        let data = smtp::compose(from_name, from, &d.endpoint, &subject, &body);
        relay
            .send(from, &d.endpoint, &data, self.config.timing.request_timeout)
            .await
            .map_err(|e| match e {
                SmtpError::Transient(m) => Failure::Retry(m),
                SmtpError::Permanent(m) => Failure::Drop(m),
            })
    }

    async fn send_queue(&self, d: &Delivery, m: Option<&Published>) -> Result<(), Failure> {
        let Some(sender) = self.queues.read().clone() else {
            return Err(Failure::Retry("no queue sender is available".into()));
        };
        let body = match (d.kind, m) {
            (DeliveryKind::Notification, Some(m)) if d.raw => m.message_for("sqs").to_owned(),
            (_, m) => self.document(d, m).await?,
        };
        sender
            .send(&d.endpoint, &d.topic_arn, &body)
            .await
            .map_err(Failure::Retry)
    }
}
