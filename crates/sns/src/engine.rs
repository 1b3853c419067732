//! The SNS engine: topics and subscriptions in memory, written through to SQLite before
//! a change becomes visible; the queue of deliveries still owed; the topic operations
//! (create, delete, list, attributes, tags, permissions).

use crate::model::{
    Delivery, Published, Subscription, Tag, Topic, TopicArn, merge_tags, topic_arn, valid_tags,
    valid_topic_name,
};
use crate::signing::Signing;
use crate::smtp::Relay;
use crate::{Error, Result, policy, retry, store};
use base64::Engine as _;
use chrono::Utc;
use parking_lot::{Mutex, RwLock};
use sightline_core::{Scope, SecretSealer};
use sightline_meta::Meta;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Items per page of the list operations, as SNS pages.
pub const PAGE: usize = 100;
const MAX_TAGS: usize = 50;

/// How deliveries are paced.
#[derive(Debug, Clone)]
pub struct Timing {
    /// The length of one second of a delivery policy: one second in service; tests
    /// shrink it so that AWS's 20-second retries take milliseconds.
    pub policy_second: Duration,
    /// How long one HTTP POST or SMTP session may take (SNS waits about 15 s).
    pub request_timeout: Duration,
    /// How often the delivery task looks for due work when nothing woke it.
    pub idle_poll: Duration,
    /// Deliveries attempted at once.
    pub max_in_flight: usize,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            policy_second: Duration::from_secs(1),
            request_timeout: Duration::from_secs(15),
            idle_poll: Duration::from_secs(1),
            max_in_flight: 16,
        }
    }
}

/// What the server tells SNS about its surroundings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The server's URL as endpoints reach it: SubscribeURL, UnsubscribeURL and
    /// SigningCertURL are made from it.
    pub public_url: String,
    /// `smtp://[user:pass@]host:port` of the relay email subscriptions go through;
    /// without one, email protocols are refused at Subscribe.
    pub smtp_url: Option<String>,
    /// The envelope sender and From address of emails.
    pub email_from: String,
    pub timing: Timing,
}

impl Config {
    pub fn new(public_url: impl Into<String>, smtp_url: Option<String>) -> Config {
        Config {
            public_url: public_url.into(),
            smtp_url,
            email_from: "no-reply@sns.sightline.localhost".into(),
            timing: Timing::default(),
        }
    }
}

/// Delivery to SQS queues, provided by whoever serves SQS. Without one, `sqs`
/// subscriptions are kept pending confirmation and receive nothing.
#[async_trait::async_trait]
pub trait QueueSender: Send + Sync {
    /// Sends `body` to the queue as SNS would (service principal `sns.amazonaws.com`,
    /// `aws:SourceArn` the topic); an error is retried per SNS's queue policy.
    async fn send(
        &self,
        queue_arn: &str,
        topic_arn: &str,
        body: &str,
    ) -> std::result::Result<(), String>;
}

#[derive(Default)]
pub(crate) struct State {
    pub topics: BTreeMap<String, Topic>,
    /// By ARN, which begins with the topic ARN: a topic's subscriptions are one range.
    pub subscriptions: BTreeMap<String, Subscription>,
}

impl State {
    pub fn subscriptions_of<'a>(
        &'a self,
        topic_arn: &str,
    ) -> impl Iterator<Item = &'a Subscription> + 'a {
        let prefix = format!("{topic_arn}:");
        self.subscriptions
            .range(prefix.clone()..)
            .take_while(move |(k, _)| k.starts_with(&prefix))
            .map(|(_, s)| s)
    }
}

#[derive(Default)]
pub(crate) struct Queue {
    pub deliveries: HashMap<String, Delivery>,
    pub messages: HashMap<String, Arc<Published>>,
    pub in_flight: HashSet<String>,
}

pub struct Sns {
    pub(crate) meta: Arc<Meta>,
    pub(crate) config: Config,
    pub(crate) state: RwLock<State>,
    pub(crate) queue: Mutex<Queue>,
    pub(crate) wake: Notify,
    pub(crate) signing: Signing,
    pub(crate) http: reqwest::Client,
    pub(crate) smtp: Option<Relay>,
    pub(crate) queues: RwLock<Option<Arc<dyn QueueSender>>>,
}

impl Sns {
    /// Opens the engine over `meta`, loading topics, subscriptions and the deliveries
    /// still owed (they are sent once [`Sns::spawn`] runs).
    pub fn open(
        meta: Arc<Meta>,
        sealer: Arc<dyn SecretSealer>,
        config: Config,
    ) -> Result<Arc<Sns>> {
        store::migrate(&meta)?;
        let mut state = State::default();
        for t in store::load_topics(&meta)? {
            state.topics.insert(t.arn.clone(), t);
        }
        for s in store::load_subscriptions(&meta)? {
            state.subscriptions.insert(s.arn.clone(), s);
        }
        let mut queue = Queue::default();
        for m in store::load_messages(&meta)? {
            queue.messages.insert(m.id.clone(), Arc::new(m));
        }
        for d in store::load_deliveries(&meta)? {
            queue.deliveries.insert(d.id.clone(), d);
        }
        let smtp = match &config.smtp_url {
            Some(u) => Some(Relay::parse(u).map_err(Error::InvalidParameter)?),
            None => None,
        };
        let http = reqwest::Client::builder()
            .timeout(config.timing.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("Amazon Simple Notification Service Agent")
            .build()
            .map_err(|e| Error::Storage(format!("http client: {e}")))?;
        let mut config = config;
        config.public_url = config.public_url.trim_end_matches('/').to_owned();
        tracing::info!(
            topics = state.topics.len(),
            subscriptions = state.subscriptions.len(),
            pending_deliveries = queue.deliveries.len(),
            "sns opened"
        );
        Ok(Arc::new(Sns {
            signing: Signing::open(meta.clone(), sealer)?,
            meta,
            config,
            state: RwLock::new(state),
            queue: Mutex::new(queue),
            wake: Notify::new(),
            http,
            smtp,
            queues: RwLock::new(None),
        }))
    }

    /// Lets `sqs` subscriptions made from now on be confirmed and delivered.
    pub fn set_queue_sender(&self, sender: Arc<dyn QueueSender>) {
        *self.queues.write() = Some(sender);
    }

    /// Deliveries not yet done (sent, or given up on).
    pub fn pending_deliveries(&self) -> usize {
        self.queue.lock().deliveries.len()
    }

    /// The topic `arn` names, which must be in the caller's region.
    pub(crate) fn topic(&self, scope: &Scope, arn: &str) -> Result<Topic> {
        let parsed = TopicArn::parse(arn).ok_or_else(|| Error::invalid("TopicArn"))?;
        if parsed.region != scope.region {
            return Err(Error::invalid("TopicArn"));
        }
        self.state
            .read()
            .topics
            .get(arn)
            .cloned()
            .ok_or_else(Error::topic_not_found)
    }

    /// Checks one topic attribute as CreateTopic and SetTopicAttributes take it;
    /// `None` removes the attribute.
    fn topic_attribute(name: &str, value: &str) -> Result<Option<String>> {
        let feedback = ["Application", "HTTP", "Lambda", "SQS", "Firehose"]
            .iter()
            .any(|p| {
                name.strip_prefix(p).is_some_and(|rest| {
                    [
                        "SuccessFeedbackRoleArn",
                        "SuccessFeedbackSampleRate",
                        "FailureFeedbackRoleArn",
                    ]
                    .contains(&rest)
                })
            });
        let keep = |v: &str| (!v.is_empty()).then(|| v.to_owned());
        match name {
            "DisplayName" => {
                if value.chars().count() > 100 {
                    return Err(Error::invalid("DisplayName"));
                }
                Ok(keep(value))
            }
            "Policy" => {
                policy::validate(value)?;
                Ok(Some(value.to_owned()))
            }
            "DeliveryPolicy" => {
                if !value.is_empty() {
                    retry::parse_topic_policy(value)?;
                }
                Ok(keep(value))
            }
            "SignatureVersion" if value == "1" || value == "2" => Ok(Some(value.to_owned())),
            "SignatureVersion" => Err(Error::invalid("SignatureVersion")),
            "TracingConfig" if value == "PassThrough" || value == "Active" => {
                Ok(Some(value.to_owned()))
            }
            "TracingConfig" => Err(Error::invalid("TracingConfig")),
            "FifoTopic" if value.eq_ignore_ascii_case("false") => Ok(None),
            "FifoTopic" | "ContentBasedDeduplication" | "ArchivePolicy" | "FifoThroughputScope" => {
                Err(fifo_refused())
            }
            "KmsMasterKeyId" | "DataProtectionPolicy" => Ok(keep(value)),
            _ if feedback => Ok(keep(value)),
            _ => Err(Error::invalid("AttributeName")),
        }
    }

    pub fn create_topic(
        &self,
        scope: &Scope,
        name: &str,
        attributes: BTreeMap<String, String>,
        tags: Vec<Tag>,
    ) -> Result<String> {
        valid_topic_name(name)?;
        if name.ends_with(".fifo") {
            return Err(fifo_refused());
        }
        let mut attrs = BTreeMap::new();
        for (k, v) in &attributes {
            if let Some(v) = Self::topic_attribute(k, v)? {
                attrs.insert(k.clone(), v);
            }
        }
        valid_tags(&tags)?;
        if tags.len() > MAX_TAGS {
            return Err(tag_limit());
        }
        let arn = topic_arn(&scope.region, &scope.account_id, name);
        let mut state = self.state.write();
        if let Some(existing) = state.topics.get(&arn) {
            let same_attributes = attrs
                .iter()
                .all(|(k, v)| existing.attributes.get(k) == Some(v));
            if !same_attributes {
                return Err(Error::invalid(
                    "Attributes Reason: Topic already exists with different attributes",
                ));
            }
            let same_tags =
                tags.is_empty() || tags.iter().all(|t| existing.tags.iter().any(|e| e == t));
            if !same_tags {
                return Err(Error::invalid(
                    "Tags Reason: Topic already exists with different tags",
                ));
            }
            return Ok(arn);
        }
        attrs
            .entry("Policy".into())
            .or_insert_with(|| policy::default_policy(&arn, &scope.account_id));
        let mut topic = Topic {
            arn: arn.clone(),
            name: name.to_owned(),
            account: scope.account_id.clone(),
            region: scope.region.clone(),
            created: Utc::now(),
            attributes: attrs,
            tags: Vec::new(),
            subscriptions_deleted: 0,
        };
        merge_tags(&mut topic.tags, tags);
        store::put_topic(&self.meta, &topic)?;
        state.topics.insert(arn.clone(), topic);
        tracing::info!(topic = %arn, "topic created");
        Ok(arn)
    }

    /// Deletes a topic and its subscriptions; deleting a topic that does not exist is
    /// not an error, as in SNS.
    pub fn delete_topic(&self, scope: &Scope, arn: &str) -> Result<()> {
        let parsed = TopicArn::parse(arn).ok_or_else(|| Error::invalid("TopicArn"))?;
        if parsed.region != scope.region {
            return Err(Error::invalid("TopicArn"));
        }
        let mut state = self.state.write();
        if !state.topics.contains_key(arn) {
            return Ok(());
        }
        store::delete_topic(&self.meta, arn)?;
        state.topics.remove(arn);
        let subs: Vec<String> = state.subscriptions_of(arn).map(|s| s.arn.clone()).collect();
        for s in subs {
            state.subscriptions.remove(&s);
        }
        tracing::info!(topic = %arn, "topic deleted");
        Ok(())
    }

    pub fn list_topics(
        &self,
        scope: &Scope,
        token: Option<&str>,
    ) -> Result<(Vec<String>, Option<String>)> {
        let state = self.state.read();
        let arns = state
            .topics
            .values()
            .filter(|t| t.account == scope.account_id && t.region == scope.region)
            .map(|t| t.arn.clone());
        page(arns, |a| a.clone(), token)
    }

    pub fn topic_attributes(&self, scope: &Scope, arn: &str) -> Result<BTreeMap<String, String>> {
        let topic = self.topic(scope, arn)?;
        let (mut confirmed, mut pending) = (0usize, 0usize);
        for s in self.state.read().subscriptions_of(arn) {
            if s.confirmed {
                confirmed += 1;
            } else {
                pending += 1;
            }
        }
        let mut out = topic.attributes.clone();
        out.insert("TopicArn".into(), topic.arn.clone());
        out.insert("Owner".into(), topic.account.clone());
        out.entry("DisplayName".into()).or_default();
        out.insert("SubscriptionsConfirmed".into(), confirmed.to_string());
        out.insert("SubscriptionsPending".into(), pending.to_string());
        out.insert(
            "SubscriptionsDeleted".into(),
            topic.subscriptions_deleted.to_string(),
        );
        out.insert(
            "EffectiveDeliveryPolicy".into(),
            retry::effective_topic_json(topic.attribute("DeliveryPolicy")),
        );
        Ok(out)
    }

    pub fn set_topic_attribute(
        &self,
        scope: &Scope,
        arn: &str,
        name: &str,
        value: &str,
    ) -> Result<()> {
        self.topic(scope, arn)?;
        if name == "Policy" && value.is_empty() {
            return Err(Error::invalid("Policy"));
        }
        let value = Self::topic_attribute(name, value)?;
        self.update_topic(arn, |t| {
            match &value {
                Some(v) => t.attributes.insert(name.to_owned(), v.clone()),
                None => t.attributes.remove(name),
            };
            Ok(())
        })
    }

    /// Applies `f` to a copy of the topic, stores it, then makes it visible.
    pub(crate) fn update_topic(
        &self,
        arn: &str,
        f: impl FnOnce(&mut Topic) -> Result<()>,
    ) -> Result<()> {
        let mut state = self.state.write();
        let current = state.topics.get(arn).ok_or_else(Error::topic_not_found)?;
        let mut next = current.clone();
        f(&mut next)?;
        store::put_topic(&self.meta, &next)?;
        state.topics.insert(arn.to_owned(), next);
        Ok(())
    }

    /// The topic a tagging call names: a malformed ARN is a parameter error, an unknown
    /// topic `ResourceNotFound`.
    fn tagged_topic(&self, scope: &Scope, arn: &str) -> Result<()> {
        match self.topic(scope, arn) {
            Err(Error::NotFound(_)) => {
                Err(Error::ResourceNotFound("Resource does not exist".into()))
            }
            Err(Error::InvalidParameter(_)) => Err(Error::invalid("ResourceArn")),
            other => other.map(|_| ()),
        }
    }

    pub fn tag(&self, scope: &Scope, arn: &str, tags: Vec<Tag>) -> Result<()> {
        self.tagged_topic(scope, arn)?;
        valid_tags(&tags)?;
        self.update_topic(arn, |t| {
            merge_tags(&mut t.tags, tags);
            if t.tags.len() > MAX_TAGS {
                return Err(tag_limit());
            }
            Ok(())
        })
    }

    pub fn untag(&self, scope: &Scope, arn: &str, keys: &[String]) -> Result<()> {
        self.tagged_topic(scope, arn)?;
        self.update_topic(arn, |t| {
            t.tags.retain(|x| !keys.contains(&x.key));
            Ok(())
        })
    }

    pub fn tags(&self, scope: &Scope, arn: &str) -> Result<Vec<Tag>> {
        self.tagged_topic(scope, arn)?;
        Ok(self.topic(scope, arn)?.tags)
    }

    pub fn add_permission(
        &self,
        scope: &Scope,
        arn: &str,
        label: &str,
        accounts: &[String],
        actions: &[String],
    ) -> Result<()> {
        self.topic(scope, arn)?;
        self.update_topic(arn, |t| {
            let current = t
                .attributes
                .get("Policy")
                .cloned()
                .unwrap_or_else(|| policy::default_policy(arn, &t.account));
            let next = policy::add_permission(&current, arn, label, accounts, actions)?;
            policy::validate(&next)?;
            t.attributes.insert("Policy".into(), next);
            Ok(())
        })
    }

    pub fn remove_permission(&self, scope: &Scope, arn: &str, label: &str) -> Result<()> {
        self.topic(scope, arn)?;
        self.update_topic(arn, |t| {
            let current = t.attributes.get("Policy").cloned().unwrap_or_default();
            let next = policy::remove_permission(&current, label)?;
            t.attributes.insert("Policy".into(), next);
            Ok(())
        })
    }

    /// The policy of the topic `arn` (for authorization), if the topic exists.
    pub fn topic_policy(&self, arn: &str) -> Option<String> {
        self.state
            .read()
            .topics
            .get(arn)
            .and_then(|t| t.attributes.get("Policy").cloned())
    }
}

fn fifo_refused() -> Error {
    Error::invalid("FifoTopic Reason: FIFO topics are not supported by Sightline")
}

fn tag_limit() -> Error {
    Error::TagLimitExceeded("Could not complete request: tag quota of per resource exceeded".into())
}

/// One page of `items` (already in order) after the item a `NextToken` names.
pub(crate) fn page<T>(
    items: impl Iterator<Item = T>,
    key: impl Fn(&T) -> String,
    token: Option<&str>,
) -> Result<(Vec<T>, Option<String>)> {
    let after = match token {
        None | Some("") => None,
        Some(t) => Some(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| Error::invalid("NextToken"))?,
        ),
    };
    let mut out = Vec::new();
    let mut more = false;
    for item in items {
        if after.as_ref().is_some_and(|a| key(&item) <= *a) {
            continue;
        }
        if out.len() == PAGE {
            more = true;
            break;
        }
        out.push(item);
    }
    let next = if more {
        out.last()
            .map(|l| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key(l)))
    } else {
        None
    };
    Ok((out, next))
}
