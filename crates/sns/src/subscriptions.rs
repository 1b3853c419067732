//! Subscriptions: Subscribe (endpoint checks per protocol, a confirmation request owed
//! in the same transaction as the pending subscription), ConfirmSubscription by token,
//! Unsubscribe, the listings and the subscription attributes.

use crate::engine::{Sns, page};
use crate::model::{
    Delivery, DeliveryKind, PROTOCOLS, Subscription, Topic, UNSUPPORTED_PROTOCOLS,
    subscription_topic,
};
use crate::retry::{self, RetryPolicy};
use crate::{Error, Result, smtp, store};
use chrono::{Duration, Utc};
use sightline_core::Scope;
use std::collections::BTreeMap;

/// How long a confirmation token stays valid.
const TOKEN_DAYS: i64 = 3;

/// One row of ListSubscriptions(ByTopic).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The ARN, or `PendingConfirmation`.
    pub arn: String,
    pub owner: String,
    pub protocol: String,
    pub endpoint: String,
    pub topic_arn: String,
}

fn listed(s: &Subscription) -> Listed {
    Listed {
        arn: if s.confirmed {
            s.arn.clone()
        } else {
            "PendingConfirmation".into()
        },
        owner: s.owner.clone(),
        protocol: s.protocol.clone(),
        endpoint: s.endpoint.clone(),
        topic_arn: s.topic_arn.clone(),
    }
}

fn new_token() -> String {
    let mut b = [0u8; 64];
    rsa::rand_core::RngCore::fill_bytes(&mut rsa::rand_core::OsRng, &mut b);
    hex::encode(b)
}

/// `arn:aws:sqs:REGION:ACCOUNT:NAME`, its account.
fn queue_account(arn: &str) -> Option<&str> {
    let p: Vec<&str> = arn.split(':').collect();
    (p.len() == 6
        && p[0] == "arn"
        && p[2] == "sqs"
        && !p[3].is_empty()
        && crate::model::is_account_id(p[4])
        && !p[5].is_empty())
    .then_some(p[4])
}

/// Checks one subscription attribute for a subscription of `protocol`; `None` removes it.
fn subscription_attribute(protocol: &str, name: &str, value: &str) -> Result<Option<String>> {
    let http = protocol == "http" || protocol == "https";
    match name {
        "RawMessageDelivery" => {
            let v = value.to_ascii_lowercase();
            if v != "true" && v != "false" {
                return Err(Error::invalid(format!(
                    "Attributes Reason: RawMessageDelivery: Invalid value [{value}]. Must be true or false."
                )));
            }
            if v == "true" && protocol.starts_with("email") {
                return Err(Error::invalid(format!(
                    "Attributes Reason: Delivery protocol [{protocol}] does not support raw message delivery."
                )));
            }
            Ok(Some(v))
        }
        "FilterPolicy" => {
            if value.is_empty() {
                return Ok(None);
            }
            match serde_json::from_str::<serde_json::Value>(value) {
                Ok(serde_json::Value::Object(_)) => Ok(Some(value.to_owned())),
                _ => Err(Error::invalid("FilterPolicy: failed to parse JSON.")),
            }
        }
        "FilterPolicyScope" if value == "MessageAttributes" || value == "MessageBody" => {
            Ok(Some(value.to_owned()))
        }
        "FilterPolicyScope" => Err(Error::invalid(
            "Attributes Reason: FilterPolicyScope: Invalid value. Must be MessageAttributes or MessageBody.",
        )),
        "DeliveryPolicy" if http => {
            if value.is_empty() {
                return Ok(None);
            }
            retry::parse_subscription_policy(value)?;
            Ok(Some(value.to_owned()))
        }
        "DeliveryPolicy" => Err(Error::invalid(format!(
            "DeliveryPolicy: Delivery policy is only supported for HTTP/S subscriptions, not {protocol}"
        ))),
        "RedrivePolicy" => {
            if value.is_empty() {
                return Ok(None);
            }
            match serde_json::from_str::<serde_json::Value>(value) {
                Ok(v)
                    if v.get("deadLetterTargetArn")
                        .and_then(|a| a.as_str())
                        .is_some() =>
                {
                    Ok(Some(value.to_owned()))
                }
                _ => Err(Error::invalid(
                    "RedrivePolicy: Redrive policy must be JSON with a deadLetterTargetArn",
                )),
            }
        }
        "SubscriptionRoleArn" => Err(Error::invalid(
            "Attributes Reason: SubscriptionRoleArn applies to firehose subscriptions only",
        )),
        "ReplayPolicy" => Err(Error::invalid(
            "Attributes Reason: ReplayPolicy applies to FIFO topics only",
        )),
        _ => Err(Error::invalid("AttributeName")),
    }
}

impl Sns {
    fn check_endpoint(&self, protocol: &str, endpoint: Option<&str>) -> Result<String> {
        if UNSUPPORTED_PROTOCOLS.contains(&protocol) {
            return Err(Error::invalid(format!(
                "Protocol Reason: Sightline does not deliver to {protocol} endpoints"
            )));
        }
        if !PROTOCOLS.contains(&protocol) {
            return Err(Error::invalid(format!(
                "Amazon SNS does not support this protocol string: {protocol}"
            )));
        }
        let endpoint = endpoint.unwrap_or("");
        match protocol {
            "http" | "https" => {
                let ok = endpoint.starts_with(&format!("{protocol}://"))
                    && reqwest::Url::parse(endpoint).is_ok_and(|u| u.host().is_some());
                if !ok {
                    return Err(Error::invalid("Endpoint"));
                }
            }
            "email" | "email-json" => {
                if !smtp::valid_address(endpoint) {
                    return Err(Error::invalid("Email address"));
                }
                if self.smtp.is_none() {
                    return Err(Error::invalid(
                        "Protocol Reason: email delivery needs an SMTP relay, and this server has none configured",
                    ));
                }
            }
            _ => {
                if queue_account(endpoint).is_none() {
                    return Err(Error::invalid("SQS endpoint ARN"));
                }
            }
        }
        Ok(endpoint.to_owned())
    }

    /// The retry policy and HTTP content type a delivery to `sub` uses.
    pub(crate) fn delivery_policy(
        topic: &Topic,
        sub: &Subscription,
    ) -> (RetryPolicy, Option<String>) {
        match sub.protocol.as_str() {
            "http" | "https" => retry::effective_http(
                topic.attribute("DeliveryPolicy"),
                sub.attributes.get("DeliveryPolicy").map(String::as_str),
            ),
            "sqs" => (RetryPolicy::QUEUE, None),
            _ => (RetryPolicy::EMAIL, None),
        }
    }

    /// A delivery of `kind` to `sub`, due now.
    pub(crate) fn delivery_to(
        topic: &Topic,
        sub: &Subscription,
        kind: DeliveryKind,
        message_id: String,
        signature_version: u8,
    ) -> Delivery {
        let (retry, content_type) = Self::delivery_policy(topic, sub);
        let now = Utc::now();
        Delivery {
            id: uuid::Uuid::new_v4().to_string(),
            kind,
            message_id,
            topic_arn: topic.arn.clone(),
            region: topic.region.clone(),
            subscription_arn: sub.arn.clone(),
            protocol: sub.protocol.clone(),
            endpoint: sub.endpoint.clone(),
            raw: sub.raw(),
            token: (kind == DeliveryKind::SubscriptionConfirmation).then(|| sub.token.clone()),
            signature_version,
            content_type,
            retry,
            attempts: 0,
            due: now,
            created: now,
            display_name: topic.display_name().to_owned(),
        }
    }

    pub(crate) fn enqueue(&self, deliveries: Vec<Delivery>) {
        if deliveries.is_empty() {
            return;
        }
        let mut q = self.queue.lock();
        for d in deliveries {
            q.deliveries.insert(d.id.clone(), d);
        }
        drop(q);
        self.wake.notify_one();
    }

    pub fn subscribe(
        &self,
        scope: &Scope,
        topic_arn: &str,
        protocol: &str,
        endpoint: Option<&str>,
        attributes: BTreeMap<String, String>,
        return_arn: bool,
    ) -> Result<String> {
        let topic = self.topic(scope, topic_arn)?;
        let endpoint = self.check_endpoint(protocol, endpoint)?;
        let mut attrs = BTreeMap::new();
        for (k, v) in &attributes {
            if let Some(v) = subscription_attribute(protocol, k, v)? {
                attrs.insert(k.clone(), v);
            }
        }
        let answer = |s: &Subscription| {
            if s.confirmed || return_arn {
                s.arn.clone()
            } else {
                "pending confirmation".to_owned()
            }
        };
        let mut state = self.state.write();
        let existing = state
            .subscriptions_of(topic_arn)
            .find(|s| s.protocol == protocol && s.endpoint == endpoint)
            .cloned();
        if let Some(mut s) = existing {
            if attrs.iter().any(|(k, v)| s.attributes.get(k) != Some(v)) {
                return Err(Error::invalid(
                    "Attributes Reason: Subscription already exists with different attributes",
                ));
            }
            if s.confirmed || s.protocol == "sqs" {
                return Ok(answer(&s));
            }
            // Pending: ask again, with the same token made valid anew.
            s.token_issued = Utc::now();
            let d = Self::delivery_to(
                &topic,
                &s,
                DeliveryKind::SubscriptionConfirmation,
                uuid::Uuid::new_v4().to_string(),
                topic.signature_version(),
            );
            store::put_subscription(&self.meta, &s, std::slice::from_ref(&d))?;
            let out = answer(&s);
            state.subscriptions.insert(s.arn.clone(), s);
            drop(state);
            self.enqueue(vec![d]);
            return Ok(out);
        }
        let queue_sender = self.queues.read().is_some();
        let confirmed = protocol == "sqs"
            && queue_sender
            && queue_account(&endpoint) == Some(scope.account_id.as_str());
        let now = Utc::now();
        let sub = Subscription {
            arn: format!("{topic_arn}:{}", uuid::Uuid::new_v4()),
            topic_arn: topic_arn.to_owned(),
            owner: scope.account_id.clone(),
            region: scope.region.clone(),
            protocol: protocol.to_owned(),
            endpoint,
            confirmed,
            token: new_token(),
            token_issued: now,
            authenticated: false,
            attributes: attrs,
            created: now,
        };
        // A queue is asked to confirm only when a sender can reach it.
        let asks = !confirmed && (protocol != "sqs" || queue_sender);
        let deliveries: Vec<Delivery> = asks
            .then(|| {
                Self::delivery_to(
                    &topic,
                    &sub,
                    DeliveryKind::SubscriptionConfirmation,
                    uuid::Uuid::new_v4().to_string(),
                    topic.signature_version(),
                )
            })
            .into_iter()
            .collect();
        store::put_subscription(&self.meta, &sub, &deliveries)?;
        let out = answer(&sub);
        tracing::info!(topic = %topic_arn, subscription = %sub.arn, protocol, confirmed, "subscribed");
        state.subscriptions.insert(sub.arn.clone(), sub);
        drop(state);
        self.enqueue(deliveries);
        Ok(out)
    }

    /// Confirms the subscription of `topic_arn` that `token` was sent for. `scope` is
    /// the signed caller's (None for the unsigned SubscribeURL); `authenticate` is
    /// AuthenticateOnUnsubscribe of a signed call.
    pub fn confirm_subscription(
        &self,
        scope: Option<&Scope>,
        topic_arn: &str,
        token: &str,
        authenticate: bool,
    ) -> Result<String> {
        let parsed =
            crate::model::TopicArn::parse(topic_arn).ok_or_else(|| Error::invalid("TopicArn"))?;
        if scope.is_some_and(|s| s.region != parsed.region) {
            return Err(Error::invalid("TopicArn"));
        }
        let mut state = self.state.write();
        if !state.topics.contains_key(topic_arn) {
            return Err(Error::topic_not_found());
        }
        let sub = state
            .subscriptions_of(topic_arn)
            .find(|s| !token.is_empty() && s.token == token)
            .cloned()
            .ok_or_else(|| Error::invalid("Token"))?;
        if sub.confirmed && (sub.authenticated || !authenticate) {
            return Ok(sub.arn);
        }
        if !sub.confirmed && Utc::now() - sub.token_issued > Duration::days(TOKEN_DAYS) {
            return Err(Error::invalid("Token"));
        }
        let mut next = sub;
        next.confirmed = true;
        next.authenticated |= authenticate;
        store::put_subscription(&self.meta, &next, &[])?;
        tracing::info!(subscription = %next.arn, authenticated = next.authenticated, "subscription confirmed");
        let arn = next.arn.clone();
        state.subscriptions.insert(arn.clone(), next);
        Ok(arn)
    }

    /// The subscription `arn` names. `scope` is the signed caller's (None for the
    /// unsigned UnsubscribeURL).
    fn subscription(&self, scope: Option<&Scope>, arn: &str) -> Result<Subscription> {
        let topic = subscription_topic(arn).ok_or_else(|| Error::invalid("SubscriptionArn"))?;
        if let Some(s) = scope
            && crate::model::TopicArn::parse(topic).is_some_and(|t| t.region != s.region)
        {
            return Err(Error::invalid("SubscriptionArn"));
        }
        self.state
            .read()
            .subscriptions
            .get(arn)
            .cloned()
            .ok_or_else(|| Error::NotFound("Subscription does not exist".into()))
    }

    /// Removes a subscription. Through the unsigned UnsubscribeURL (`scope` None) a
    /// subscription confirmed with AuthenticateOnUnsubscribe stays.
    pub fn unsubscribe(&self, scope: Option<&Scope>, arn: &str) -> Result<()> {
        let sub = self.subscription(scope, arn)?;
        if scope.is_none() && sub.authenticated {
            return Err(Error::Authorization(
                "Unsubscribing this subscription requires an authenticated request".into(),
            ));
        }
        let mut state = self.state.write();
        let topic = state.topics.get(&sub.topic_arn).cloned().map(|mut t| {
            t.subscriptions_deleted += 1;
            t
        });
        store::delete_subscription(&self.meta, arn, topic.as_ref())?;
        state.subscriptions.remove(arn);
        if let Some(t) = topic {
            state.topics.insert(t.arn.clone(), t);
        }
        tracing::info!(subscription = %arn, "unsubscribed");
        Ok(())
    }

    pub fn list_subscriptions(
        &self,
        scope: &Scope,
        token: Option<&str>,
    ) -> Result<(Vec<Listed>, Option<String>)> {
        let state = self.state.read();
        let subs = state
            .subscriptions
            .values()
            .filter(|s| s.owner == scope.account_id && s.region == scope.region);
        let (items, next) = page(subs, |s| s.arn.clone(), token)?;
        Ok((items.into_iter().map(listed).collect(), next))
    }

    pub fn list_subscriptions_by_topic(
        &self,
        scope: &Scope,
        topic_arn: &str,
        token: Option<&str>,
    ) -> Result<(Vec<Listed>, Option<String>)> {
        self.topic(scope, topic_arn)?;
        let state = self.state.read();
        let (items, next) = page(state.subscriptions_of(topic_arn), |s| s.arn.clone(), token)?;
        Ok((items.into_iter().map(listed).collect(), next))
    }

    pub fn subscription_attributes(
        &self,
        scope: &Scope,
        arn: &str,
    ) -> Result<BTreeMap<String, String>> {
        let sub = self.subscription(Some(scope), arn)?;
        let mut out = sub.attributes.clone();
        out.insert("SubscriptionArn".into(), sub.arn.clone());
        out.insert("TopicArn".into(), sub.topic_arn.clone());
        out.insert("Owner".into(), sub.owner.clone());
        out.insert("Protocol".into(), sub.protocol.clone());
        out.insert("Endpoint".into(), sub.endpoint.clone());
        out.insert(
            "ConfirmationWasAuthenticated".into(),
            sub.authenticated.to_string(),
        );
        out.insert("PendingConfirmation".into(), (!sub.confirmed).to_string());
        out.insert("RawMessageDelivery".into(), sub.raw().to_string());
        if out.contains_key("FilterPolicy") {
            out.entry("FilterPolicyScope".into())
                .or_insert_with(|| "MessageAttributes".into());
        }
        out.insert(
            "SubscriptionPrincipal".into(),
            format!("arn:aws:iam::{}:root", sub.owner),
        );
        if sub.is_http()
            && let Some(topic) = self.state.read().topics.get(&sub.topic_arn)
        {
            let (retry, content) = Self::delivery_policy(topic, &sub);
            out.insert(
                "EffectiveDeliveryPolicy".into(),
                retry::effective_subscription_json(&retry, content.as_deref()),
            );
        }
        Ok(out)
    }

    pub fn set_subscription_attribute(
        &self,
        scope: &Scope,
        arn: &str,
        name: &str,
        value: &str,
    ) -> Result<()> {
        let sub = self.subscription(Some(scope), arn)?;
        let value = subscription_attribute(&sub.protocol, name, value)?;
        let mut state = self.state.write();
        let Some(current) = state.subscriptions.get(arn) else {
            return Err(Error::NotFound("Subscription does not exist".into()));
        };
        let mut next = current.clone();
        match value {
            Some(v) => next.attributes.insert(name.to_owned(), v),
            None => next.attributes.remove(name),
        };
        store::put_subscription(&self.meta, &next, &[])?;
        state.subscriptions.insert(arn.to_owned(), next);
        Ok(())
    }
}
