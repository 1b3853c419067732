//! The SQS engine: every queue with its messages in memory under one lock, each change
//! handed to the writer under that lock (so SQLite sees changes in memory's order) and
//! awaited before the call answers; the queue operations (create, delete, list, URLs,
//! attributes, tags, purge). Messages are sent in `send`, received in `receive`.

use crate::attributes::{self, Checks, Counts};
use crate::model::{Message, Queue, QueueArn, check_name, parse_queue_url, queue_arn};
use crate::store::{self, Op, Pending, Writer};
use crate::{Error, Result};
use base64::Engine as _;
use parking_lot::Mutex;
use sightline_core::Scope;
use sightline_meta::Meta;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

/// Epoch milliseconds; tests replace it to age messages without waiting.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// How long a deleted queue's name stays taken, and how often a queue may be purged.
const QUIET_MS: i64 = 60_000;
const MAX_TAGS: usize = 50;
/// ListQueues' largest page.
const MAX_LIST: usize = 1000;

/// What the server tells SQS about its surroundings.
#[derive(Clone)]
pub struct Config {
    /// The server's URL as clients reach it; queue URLs are made from it.
    pub public_url: String,
    /// How often expired messages are removed (reads never return them either way).
    pub sweep_interval: Duration,
    pub clock: Clock,
}

impl Config {
    pub fn new(public_url: impl Into<String>) -> Config {
        Config {
            public_url: public_url.into().trim_end_matches('/').to_owned(),
            sweep_interval: Duration::from_secs(10),
            clock: Arc::new(|| chrono::Utc::now().timestamp_millis()),
        }
    }
}

/// A queue with its messages.
pub(crate) struct QueueState {
    pub queue: Queue,
    pub messages: HashMap<u64, Message>,
    /// Every message by (visible from, seq): receives take from the front.
    pub ready: BTreeSet<(i64, u64)>,
    /// Woken when a message may have become receivable (a send, a visibility change).
    pub notify: Arc<Notify>,
    /// Messages up to this sequence number were purged; a send committed late must not
    /// bring one back.
    pub purged_through: u64,
    pub last_purge: Option<i64>,
}

impl QueueState {
    fn new(queue: Queue) -> QueueState {
        QueueState {
            queue,
            messages: HashMap::new(),
            ready: BTreeSet::new(),
            notify: Arc::new(Notify::new()),
            purged_through: 0,
            last_purge: None,
        }
    }

    pub fn insert(&mut self, m: Message) {
        self.ready.insert((m.visible_at, m.seq));
        self.messages.insert(m.seq, m);
    }

    pub fn remove(&mut self, seq: u64) -> Option<Message> {
        let m = self.messages.remove(&seq)?;
        self.ready.remove(&(m.visible_at, seq));
        Some(m)
    }

    /// Applies `f` to a message, keeping the index in step with its visibility.
    pub fn update(&mut self, seq: u64, f: impl FnOnce(&mut Message)) -> Option<&Message> {
        let m = self.messages.get_mut(&seq)?;
        self.ready.remove(&(m.visible_at, seq));
        f(m);
        self.ready.insert((m.visible_at, seq));
        Some(m)
    }

    pub fn expired(&self, m: &Message, now: i64) -> bool {
        m.content.sent + self.queue.retention_ms() <= now
    }

    fn counts(&self, now: i64) -> Counts {
        let mut c = Counts::default();
        for m in self.messages.values() {
            if self.expired(m, now) {
                continue;
            }
            if m.in_flight(now) {
                c.not_visible += 1;
            } else if m.delayed(now) {
                c.delayed += 1;
            } else {
                c.visible += 1;
            }
        }
        c
    }
}

#[derive(Default)]
pub(crate) struct State {
    pub queues: BTreeMap<String, QueueState>,
    /// When each recently deleted queue went, by ARN.
    pub deleted: HashMap<String, i64>,
}

impl State {
    pub fn queue(&self, arn: &str) -> Result<&QueueState> {
        self.queues.get(arn).ok_or(Error::QueueDoesNotExist)
    }

    pub fn queue_mut(&mut self, arn: &str) -> Result<&mut QueueState> {
        self.queues.get_mut(arn).ok_or(Error::QueueDoesNotExist)
    }
}

pub struct Sqs {
    pub(crate) config: Config,
    pub(crate) state: Mutex<State>,
    pub(crate) writer: Writer,
    pub(crate) next_seq: AtomicU64,
    /// Set at shutdown: long polls answer at once instead of holding the server up.
    pub(crate) closing: AtomicBool,
    pub(crate) closed: Notify,
}

impl Sqs {
    /// Opens the engine over `meta`, loading queues and their messages.
    pub fn open(meta: Arc<Meta>, config: Config) -> Result<Arc<Sqs>> {
        store::migrate(&meta)?;
        let mut state = State::default();
        for q in store::load_queues(&meta)? {
            state.queues.insert(q.arn.clone(), QueueState::new(q));
        }
        let ids: HashMap<String, String> = state
            .queues
            .values()
            .map(|q| (q.queue.id.clone(), q.queue.arn.clone()))
            .collect();
        let mut last = 0;
        let mut count = 0usize;
        for m in store::load_messages(&meta)? {
            last = last.max(m.seq);
            if let Some(q) = ids.get(&m.queue).and_then(|arn| state.queues.get_mut(arn)) {
                q.insert(m);
                count += 1;
            }
        }
        tracing::info!(queues = state.queues.len(), messages = count, "sqs opened");
        let mut config = config;
        config.public_url = config.public_url.trim_end_matches('/').to_owned();
        Ok(Arc::new(Sqs {
            config,
            state: Mutex::new(state),
            writer: Writer::start(meta)?,
            next_seq: AtomicU64::new(last + 1),
            closing: AtomicBool::new(false),
            closed: Notify::new(),
        }))
    }

    pub fn now(&self) -> i64 {
        (self.config.clock)()
    }

    pub(crate) fn next_seq(&self) -> u64 {
        self.next_seq.fetch_add(1, Ordering::Relaxed)
    }

    pub fn url_of(&self, queue: &Queue) -> String {
        queue.url(&self.config.public_url)
    }

    /// The ARN of the queue a URL names, in the caller's region.
    pub fn arn_of_url(url: &str, region: &str) -> Result<String> {
        let (account, name) = parse_queue_url(url)?;
        Ok(queue_arn(region, &account, &name))
    }

    pub async fn create_queue(
        &self,
        scope: &Scope,
        name: &str,
        given: &BTreeMap<String, String>,
        tags: BTreeMap<String, String>,
    ) -> Result<String> {
        let (url, pending) = self.create_locked(scope, name, given, tags)?;
        pending.wait().await?;
        Ok(url)
    }

    /// CreateQueue's checks and change, under the lock; an existing queue with the same
    /// attributes is the answer itself (nothing to write).
    fn create_locked(
        &self,
        scope: &Scope,
        name: &str,
        given: &BTreeMap<String, String>,
        tags: BTreeMap<String, String>,
    ) -> Result<(String, Pending)> {
        check_name(name)?;
        let mut given = given.clone();
        if given
            .remove("FifoQueue")
            .is_some_and(|v| !v.eq_ignore_ascii_case("false"))
        {
            return Err(Error::UnsupportedOperation(
                "FIFO queues are not supported by Sightline".into(),
            ));
        }
        check_tags(&tags)?;
        if tags.len() > MAX_TAGS {
            return Err(too_many_tags(name));
        }
        let arn = queue_arn(&scope.region, &scope.account_id, name);
        let now = self.now();
        let mut state = self.state.lock();
        let exists = |a: &str| state.queues.contains_key(a);
        let checked = attributes::check_all(
            &given,
            &Checks {
                queue_arn: &arn,
                queue_exists: &exists,
            },
        )?;
        if let Some(existing) = state.queues.get(&arn) {
            if let Some(differs) = attributes::first_difference(&existing.queue, &checked) {
                return Err(Error::QueueNameExists(format!(
                    "A queue already exists with the same name and a different value for attribute {differs}"
                )));
            }
            return Ok((self.url_of(&existing.queue), self.writer.submit(Vec::new())));
        }
        if state
            .deleted
            .get(&arn)
            .is_some_and(|at| now - at < QUIET_MS)
        {
            return Err(Error::QueueDeletedRecently);
        }
        let queue = Queue {
            id: uuid::Uuid::new_v4().to_string(),
            arn: arn.clone(),
            name: name.to_owned(),
            account: scope.account_id.clone(),
            region: scope.region.clone(),
            created: now / 1000,
            modified: now / 1000,
            attributes: attributes::initial(&checked),
            tags,
        };
        let url = self.url_of(&queue);
        let pending = self.writer.submit(vec![Op::put_queue(&queue)?]);
        state.deleted.remove(&arn);
        state.queues.insert(arn.clone(), QueueState::new(queue));
        tracing::info!(queue = %arn, "queue created");
        Ok((url, pending))
    }

    pub async fn delete_queue(&self, arn: &str) -> Result<()> {
        let pending = {
            let mut state = self.state.lock();
            let q = state.queues.remove(arn).ok_or(Error::QueueDoesNotExist)?;
            let now = self.now();
            state.deleted.retain(|_, at| now - *at < QUIET_MS);
            state.deleted.insert(arn.to_owned(), now);
            // Long polls on it end now (with the queue gone).
            q.notify.notify_waiters();
            tracing::info!(queue = %arn, messages = q.messages.len(), "queue deleted");
            self.writer.submit(vec![Op::DeleteQueue {
                arn: arn.to_owned(),
                id: q.queue.id.clone(),
            }])
        };
        pending.wait().await
    }

    /// One page of the caller's queue URLs (up to 1000 without `max`; with `max`, a
    /// token for the rest).
    pub fn list_queues(
        &self,
        scope: &Scope,
        prefix: Option<&str>,
        max: Option<i64>,
        token: Option<&str>,
    ) -> Result<(Vec<String>, Option<String>)> {
        let limit = match max {
            None => MAX_LIST,
            Some(n) => usize::try_from(n)
                .ok()
                .filter(|n| (1..=MAX_LIST).contains(n))
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "Value {n} for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000."
                    ))
                })?,
        };
        let after = match token.filter(|t| !t.is_empty()) {
            None => None,
            Some(t) => Some(
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(t)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| Error::invalid("Invalid NextToken value."))?,
            ),
        };
        let state = self.state.lock();
        let mut page = Vec::new();
        let mut more = false;
        let mut last = None;
        let names = state.queues.values().map(|q| &q.queue).filter(|q| {
            q.account == scope.account_id
                && q.region == scope.region
                && prefix.is_none_or(|p| q.name.starts_with(p))
                && after.as_ref().is_none_or(|a| q.name.as_str() > a.as_str())
        });
        for q in names {
            if page.len() == limit {
                more = true;
                break;
            }
            page.push(self.url_of(q));
            last = Some(q.name.clone());
        }
        let next = (more && max.is_some())
            .then(|| last.map(|l| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(l)))
            .flatten();
        Ok((page, next))
    }

    /// GetQueueUrl: the queue of `account` (the caller's unless another is named).
    pub fn queue_url(&self, region: &str, account: &str, name: &str) -> Result<String> {
        let arn = queue_arn(region, account, name);
        let state = self.state.lock();
        Ok(self.url_of(&state.queue(&arn)?.queue))
    }

    pub fn get_attributes(&self, arn: &str, names: &[String]) -> Result<BTreeMap<String, String>> {
        attributes::check_names(names)?;
        let now = self.now();
        let state = self.state.lock();
        let q = state.queue(arn)?;
        Ok(attributes::report(&q.queue, q.counts(now), names))
    }

    pub async fn set_attributes(&self, arn: &str, given: &BTreeMap<String, String>) -> Result<()> {
        let pending = {
            let mut state = self.state.lock();
            state.queue(arn)?;
            let exists = |a: &str| state.queues.contains_key(a);
            let checked = attributes::check_all(
                given,
                &Checks {
                    queue_arn: arn,
                    queue_exists: &exists,
                },
            )?;
            let now = self.now();
            let qs = state.queue_mut(arn)?;
            for (k, v) in checked {
                match v {
                    Some(v) => qs.queue.attributes.insert(k, v),
                    None => qs.queue.attributes.remove(&k),
                };
            }
            qs.queue.modified = now / 1000;
            // A shorter delay or retention may change what a waiting receive finds.
            qs.notify.notify_waiters();
            self.writer.submit(vec![Op::put_queue(&qs.queue)?])
        };
        pending.wait().await
    }

    pub async fn tag(&self, arn: &str, tags: BTreeMap<String, String>) -> Result<()> {
        check_tags(&tags)?;
        self.update_queue(arn, |q| {
            q.tags.extend(tags);
            if q.tags.len() > MAX_TAGS {
                return Err(too_many_tags(&q.name));
            }
            Ok(())
        })
        .await
    }

    pub async fn untag(&self, arn: &str, keys: &[String]) -> Result<()> {
        self.update_queue(arn, |q| {
            q.tags.retain(|k, _| !keys.contains(k));
            Ok(())
        })
        .await
    }

    pub fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>> {
        Ok(self.state.lock().queue(arn)?.queue.tags.clone())
    }

    /// Applies `f` to a copy of the queue; the copy replaces it once `f` accepts.
    async fn update_queue(
        &self,
        arn: &str,
        f: impl FnOnce(&mut Queue) -> Result<()>,
    ) -> Result<()> {
        let pending = {
            let mut state = self.state.lock();
            let qs = state.queue_mut(arn)?;
            let mut next = qs.queue.clone();
            f(&mut next)?;
            let op = Op::put_queue(&next)?;
            qs.queue = next;
            self.writer.submit(vec![op])
        };
        pending.wait().await
    }

    /// Deletes every message the queue holds now (in flight ones too); once a minute.
    pub async fn purge(&self, arn: &str) -> Result<()> {
        let pending = {
            let now = self.now();
            let through = self.next_seq.load(Ordering::Relaxed).saturating_sub(1);
            let mut state = self.state.lock();
            let qs = state.queue_mut(arn)?;
            if qs.last_purge.is_some_and(|at| now - at < QUIET_MS) {
                return Err(Error::PurgeQueueInProgress(format!(
                    "Only one PurgeQueue operation on {} is allowed every 60 seconds.",
                    qs.queue.name
                )));
            }
            qs.last_purge = Some(now);
            qs.purged_through = through;
            let n = qs.messages.len();
            qs.messages.clear();
            qs.ready.clear();
            tracing::info!(queue = %arn, messages = n, "queue purged");
            self.writer.submit(vec![Op::Purge {
                queue: qs.queue.id.clone(),
                through: i64::try_from(through).unwrap_or(i64::MAX),
            }])
        };
        pending.wait().await
    }

    /// The policy of the queue `arn` (for authorization), if it exists and has one.
    pub fn queue_policy(&self, arn: &str) -> Option<String> {
        let state = self.state.lock();
        state.queues.get(arn)?.queue.policy().map(str::to_owned)
    }

    /// The queue `arn` names, if the ARN is a queue ARN at all.
    pub fn queue(&self, arn: &str) -> Option<Queue> {
        QueueArn::parse(arn)?;
        self.state.lock().queues.get(arn).map(|q| q.queue.clone())
    }
}

fn check_tags(tags: &BTreeMap<String, String>) -> Result<()> {
    for (k, v) in tags {
        if k.is_empty() || k.chars().count() > 128 {
            return Err(Error::invalid(
                "Tag keys must be between 1 and 128 characters in length.",
            ));
        }
        if v.chars().count() > 256 {
            return Err(Error::invalid(
                "Tag values may only be up to 256 characters in length.",
            ));
        }
    }
    Ok(())
}

fn too_many_tags(name: &str) -> Error {
    Error::invalid(format!("Too many tags added for queue {name}."))
}
