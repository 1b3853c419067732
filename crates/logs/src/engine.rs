//! The registry of log groups, streams and filters: in memory for every request,
//! written through to the meta store before a change is acknowledged. Stream
//! statistics change on every PutLogEvents and are saved in batches by a background
//! task (and at shutdown).

use crate::model::{LogGroup, LogStream, MetricFilter, SubscriptionFilter};
use crate::{Error, Result, names, store};
use parking_lot::RwLock;
use sightline_core::{KeyService, MetricSink, Scope};
use sightline_lake::Lake;
use sightline_logfilter::FilterPattern;
use sightline_meta::Meta;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

const MAX_TAGS: usize = 50;

pub(crate) type ScopeKey = (String, String);

pub(crate) fn key(scope: &Scope) -> ScopeKey {
    (scope.account_id.clone(), scope.region.clone())
}

pub(crate) struct Group {
    pub info: LogGroup,
    pub streams: BTreeMap<String, LogStream>,
    /// Streams whose statistics changed since they were last saved.
    pub dirty: BTreeSet<String>,
    pub metric_filters: BTreeMap<String, (MetricFilter, Arc<FilterPattern>)>,
    pub subscription_filters: BTreeMap<String, (SubscriptionFilter, Arc<FilterPattern>)>,
    /// The highest sequence number stored in the group, so deliveries skip groups with
    /// nothing new (unknown after a restart: the first round looks).
    pub last_seq: i64,
}

impl Group {
    pub fn stored_bytes(&self) -> u64 {
        self.streams.values().map(|s| s.stored_bytes).sum()
    }
}

#[derive(Default)]
pub(crate) struct State {
    pub groups: HashMap<ScopeKey, BTreeMap<String, Group>>,
}

pub struct Logs {
    pub(crate) meta: Arc<Meta>,
    pub(crate) lake: Arc<Lake>,
    /// Where metric filters put their datapoints.
    pub(crate) metrics: Arc<dyn MetricSink>,
    pub(crate) state: RwLock<State>,
    /// The last event sequence number handed out; starts from the clock so numbers
    /// keep growing across restarts.
    seq: AtomicI64,
    /// Wakes the retention pass early: a retention period was shortened or a group
    /// deleted.
    pub(crate) retention_wanted: tokio::sync::Notify,
    /// First sequence numbers of appends in progress: deliveries read only below the
    /// oldest, so an event still being written is never passed over.
    pub(crate) inflight: parking_lot::Mutex<BTreeMap<i64, usize>>,
    pub(crate) http: reqwest::Client,
    /// The event bus subscription filters with bus destinations deliver to, once wired.
    pub(crate) bus: std::sync::OnceLock<Arc<dyn sightline_core::EventPublisher>>,
    pub(crate) keys: Arc<dyn KeyService>,
    pub(crate) queries: parking_lot::Mutex<crate::queries::Registry>,
    /// Plaintext data keys the service has opened, by (group id, key id).
    pub(crate) data_keys: parking_lot::Mutex<HashMap<(String, u32), Arc<crate::crypt::MessageKey>>>,
    /// Ids of deleted groups whose events still sit in the lake (also in the meta store,
    /// until the retention pass removed them).
    pub(crate) deleted: parking_lot::Mutex<HashMap<ScopeKey, BTreeSet<String>>>,
}

pub(crate) fn not_found_group() -> Error {
    Error::ResourceNotFound("The specified log group does not exist.".into())
}

pub(crate) fn not_found_stream() -> Error {
    Error::ResourceNotFound("The specified log stream does not exist.".into())
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// What DescribeLogGroups shows of a group.
#[derive(Debug, Clone)]
pub struct GroupView {
    pub info: LogGroup,
    pub stored_bytes: u64,
    pub metric_filter_count: usize,
}

/// A page of a listing, with the token for the next page.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamOrder {
    Name,
    LastEventTime,
}

/// What DescribeLogStreams asks for.
#[derive(Debug, Clone, Copy)]
pub struct StreamListing<'a> {
    pub prefix: Option<&'a str>,
    pub order: StreamOrder,
    pub descending: bool,
    pub token: Option<&'a str>,
    pub limit: usize,
}

pub struct NewGroup {
    pub name: String,
    pub kms_key_id: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub class: Option<String>,
    pub deletion_protection: bool,
}

impl Logs {
    pub fn open(
        meta: Arc<Meta>,
        lake: Arc<Lake>,
        metrics: Arc<dyn MetricSink>,
        keys: Arc<dyn KeyService>,
    ) -> Result<Logs> {
        store::migrate(&meta)?;
        let loaded = store::load_all(&meta)?;
        let mut state = State::default();
        let mut by_id: HashMap<String, (ScopeKey, String)> = HashMap::new();
        for g in loaded.groups {
            let k = (g.account.clone(), g.region.clone());
            by_id.insert(g.id.clone(), (k.clone(), g.name.clone()));
            state.groups.entry(k).or_default().insert(
                g.name.clone(),
                Group {
                    info: g,
                    streams: BTreeMap::new(),
                    dirty: BTreeSet::new(),
                    metric_filters: BTreeMap::new(),
                    subscription_filters: BTreeMap::new(),
                    last_seq: i64::MAX,
                },
            );
        }
        fn group_of<'a>(
            state: &'a mut State,
            by_id: &HashMap<String, (ScopeKey, String)>,
            id: &str,
        ) -> Option<&'a mut Group> {
            let (k, name) = by_id.get(id)?;
            state.groups.get_mut(k)?.get_mut(name)
        }
        for s in loaded.streams {
            if let Some(g) = group_of(&mut state, &by_id, &s.group_id) {
                g.streams.insert(s.name.clone(), s);
            }
        }
        for f in loaded.metric_filters {
            let p = FilterPattern::parse(&f.pattern)?;
            if let Some(g) = group_of(&mut state, &by_id, &f.group_id) {
                g.metric_filters.insert(f.name.clone(), (f, Arc::new(p)));
            }
        }
        for f in loaded.subscription_filters {
            let p = FilterPattern::parse(&f.pattern)?;
            if let Some(g) = group_of(&mut state, &by_id, &f.group_id) {
                g.subscription_filters
                    .insert(f.name.clone(), (f, Arc::new(p)));
            }
        }
        let start = chrono::Utc::now().timestamp_micros().saturating_mul(256);
        let mut deleted: HashMap<ScopeKey, BTreeSet<String>> = HashMap::new();
        for (account, region, id) in loaded.deleted {
            deleted.entry((account, region)).or_default().insert(id);
        }
        Ok(Logs {
            meta,
            lake,
            metrics,
            state: RwLock::new(state),
            seq: AtomicI64::new(start),
            retention_wanted: tokio::sync::Notify::new(),
            inflight: parking_lot::Mutex::new(BTreeMap::new()),
            keys,
            data_keys: parking_lot::Mutex::new(HashMap::new()),
            queries: parking_lot::Mutex::new(crate::queries::Registry::default()),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .map_err(|e| Error::InvalidParameter(format!("http client: {e}")))?,
            deleted: parking_lot::Mutex::new(deleted),
            bus: std::sync::OnceLock::new(),
        })
    }

    /// Gives subscription filters with event bus destinations the bus to deliver to.
    pub fn set_event_bus(&self, bus: Arc<dyn sightline_core::EventPublisher>) {
        let _ = self.bus.set(bus);
    }

    /// Reserves `n` consecutive sequence numbers; returns the first.
    pub(crate) fn next_seq(&self, n: usize) -> i64 {
        let n = i64::try_from(n).unwrap_or(i64::MAX / 2);
        let floor = chrono::Utc::now().timestamp_micros().saturating_mul(256);
        let mut cur = self.seq.load(Ordering::Relaxed);
        loop {
            let first = cur.max(floor) + 1;
            match self
                .seq
                .compare_exchange(cur, first + n - 1, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return first,
                Err(actual) => cur = actual,
            }
        }
    }

    /// The sequence number below which every event is durable: just below the oldest
    /// append in flight, or the last number handed out.
    pub(crate) fn settled_seq(&self) -> i64 {
        let m = self.inflight.lock();
        match m.keys().next() {
            Some(first) => first - 1,
            None => self.seq.load(Ordering::Acquire),
        }
    }

    pub(crate) fn with_group<T>(
        &self,
        scope: &Scope,
        name: &str,
        f: impl FnOnce(&Group) -> Result<T>,
    ) -> Result<T> {
        let state = self.state.read();
        let g = state
            .groups
            .get(&key(scope))
            .and_then(|m| m.get(name))
            .ok_or_else(not_found_group)?;
        f(g)
    }

    pub(crate) fn with_group_mut<T>(
        &self,
        scope: &Scope,
        name: &str,
        f: impl FnOnce(&mut Group) -> Result<T>,
    ) -> Result<T> {
        let mut state = self.state.write();
        let g = state
            .groups
            .get_mut(&key(scope))
            .and_then(|m| m.get_mut(name))
            .ok_or_else(not_found_group)?;
        f(g)
    }

    pub async fn create_group(&self, scope: &Scope, req: NewGroup) -> Result<()> {
        names::group(&req.name, "logGroupName")?;
        names::tags(req.tags.iter())?;
        if req.tags.len() > MAX_TAGS {
            return Err(Error::InvalidParameter(format!(
                "A maximum of {MAX_TAGS} tags can be added to a log group"
            )));
        }
        let class = req.class.unwrap_or_else(|| "STANDARD".to_owned());
        let exists = |s: &State| {
            s.groups
                .get(&key(scope))
                .is_some_and(|g| g.contains_key(&req.name))
        };
        if exists(&self.state.read()) {
            return Err(Error::ResourceAlreadyExists(
                "The specified log group already exists".into(),
            ));
        }
        let id = uuid::Uuid::new_v4().to_string();
        // The data key comes first: a key the group may not use refuses the group.
        let arn = format!(
            "arn:aws:logs:{}:{}:log-group:{}",
            scope.region, scope.account_id, req.name
        );
        let sealed = match &req.kms_key_id {
            Some(k) => Some(self.new_data_key(scope, &arn, k, 1).await?),
            None => None,
        };
        let mut state = self.state.write();
        let groups = state.groups.entry(key(scope)).or_default();
        if groups.contains_key(&req.name) {
            return Err(Error::ResourceAlreadyExists(
                "The specified log group already exists".into(),
            ));
        }
        let info = LogGroup {
            id,
            account: scope.account_id.clone(),
            region: scope.region.clone(),
            name: req.name.clone(),
            created_ms: now_ms(),
            retention_days: None,
            class,
            deletion_protection: req.deletion_protection,
            tags: req.tags,
            active_key: sealed.as_ref().map(|(r, _)| r.id),
            data_keys: sealed.iter().map(|(r, _)| r.clone()).collect(),
        };
        store::put_group(&self.meta, &info)?;
        if let Some((r, k)) = sealed {
            self.data_keys.lock().insert((info.id.clone(), r.id), k);
        }
        groups.insert(
            req.name,
            Group {
                info,
                streams: BTreeMap::new(),
                dirty: BTreeSet::new(),
                metric_filters: BTreeMap::new(),
                subscription_filters: BTreeMap::new(),
                last_seq: 0,
            },
        );
        Ok(())
    }

    pub fn delete_group(&self, scope: &Scope, name: &str) -> Result<()> {
        names::group(name, "logGroupName")?;
        let mut state = self.state.write();
        let groups = state
            .groups
            .get_mut(&key(scope))
            .ok_or_else(not_found_group)?;
        let g = groups.get(name).ok_or_else(not_found_group)?;
        if g.info.deletion_protection {
            return Err(Error::OperationAborted(
                "Log group deletion is protected. Disable deletion protection before deleting the log group.".into(),
            ));
        }
        store::delete_group(&self.meta, &g.info)?;
        self.deleted
            .lock()
            .entry(key(scope))
            .or_default()
            .insert(g.info.id.clone());
        groups.remove(name);
        self.retention_wanted.notify_one();
        Ok(())
    }

    pub fn describe_groups(
        &self,
        scope: &Scope,
        prefix: Option<&str>,
        pattern: Option<&str>,
        identifiers: Option<&[String]>,
        token: Option<&str>,
        limit: usize,
    ) -> Result<Page<GroupView>> {
        if prefix.is_some() && pattern.is_some() {
            return Err(Error::InvalidParameter(
                "LogGroupNamePrefix and LogGroupNamePattern are mutually exclusive.".into(),
            ));
        }
        if let Some(p) = prefix {
            names::group(p, "logGroupNamePrefix")?;
        }
        let pattern = pattern.map(str::to_lowercase);
        let wanted: Option<BTreeSet<String>> = identifiers.map(|ids| {
            ids.iter()
                .map(|i| group_name_of(i).unwrap_or(i).to_owned())
                .collect()
        });
        let state = self.state.read();
        let Some(groups) = state.groups.get(&key(scope)) else {
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        };
        let mut items = Vec::new();
        let mut next = None;
        let start = token.map(|t| std::ops::Bound::Excluded(t.to_owned()));
        let range = groups.range::<String, _>((
            start.unwrap_or(std::ops::Bound::Unbounded),
            std::ops::Bound::Unbounded,
        ));
        for (name, g) in range {
            if prefix.is_some_and(|p| !name.starts_with(p))
                || pattern
                    .as_deref()
                    .is_some_and(|p| !name.to_lowercase().contains(p))
                || wanted.as_ref().is_some_and(|w| !w.contains(name))
            {
                continue;
            }
            if items.len() == limit {
                next = items.last().map(|v: &GroupView| v.info.name.clone());
                break;
            }
            items.push(GroupView {
                info: g.info.clone(),
                stored_bytes: g.stored_bytes(),
                metric_filter_count: g.metric_filters.len(),
            });
        }
        Ok(Page { items, next })
    }

    pub fn put_retention(&self, scope: &Scope, name: &str, days: i64) -> Result<()> {
        names::group(name, "logGroupName")?;
        let days = names::retention(days)?;
        self.with_group_mut(scope, name, |g| {
            let mut info = g.info.clone();
            info.retention_days = Some(days);
            store::put_group(&self.meta, &info)?;
            g.info = info;
            self.retention_wanted.notify_one();
            Ok(())
        })
    }

    pub fn delete_retention(&self, scope: &Scope, name: &str) -> Result<()> {
        names::group(name, "logGroupName")?;
        self.with_group_mut(scope, name, |g| {
            let mut info = g.info.clone();
            info.retention_days = None;
            store::put_group(&self.meta, &info)?;
            g.info = info;
            Ok(())
        })
    }

    pub fn tag_group(
        &self,
        scope: &Scope,
        name: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<()> {
        names::tags(tags.iter())?;
        self.with_group_mut(scope, name, |g| {
            let mut info = g.info.clone();
            info.tags
                .extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
            if info.tags.len() > MAX_TAGS {
                return Err(Error::TooManyTags(format!(
                    "A maximum of {MAX_TAGS} tags can be added to a log group"
                )));
            }
            store::put_group(&self.meta, &info)?;
            g.info = info;
            Ok(())
        })
    }

    pub fn untag_group(&self, scope: &Scope, name: &str, keys: &[String]) -> Result<()> {
        self.with_group_mut(scope, name, |g| {
            let mut info = g.info.clone();
            for k in keys {
                info.tags.remove(k);
            }
            store::put_group(&self.meta, &info)?;
            g.info = info;
            Ok(())
        })
    }

    pub fn group_tags(&self, scope: &Scope, name: &str) -> Result<BTreeMap<String, String>> {
        self.with_group(scope, name, |g| Ok(g.info.tags.clone()))
    }

    /// The group a resource ARN names, for the newer tagging operations. Only log
    /// groups carry tags here.
    pub fn group_of_arn(&self, scope: &Scope, arn: &str) -> Result<String> {
        let parts: Vec<&str> = arn.splitn(7, ':').collect();
        let ok = parts.len() >= 7
            && parts[0] == "arn"
            && parts[2] == "logs"
            && parts[3] == scope.region
            && parts[4] == scope.account_id
            && parts[5] == "log-group";
        if !ok {
            return Err(Error::ResourceNotFound(format!(
                "The specified resource '{arn}' does not exist."
            )));
        }
        let name = parts[6].strip_suffix(":*").unwrap_or(parts[6]);
        let exists = self.with_group(scope, name, |_| Ok(())).is_ok();
        if exists {
            Ok(name.to_owned())
        } else {
            Err(not_found_group())
        }
    }

    pub fn create_stream(&self, scope: &Scope, group: &str, name: &str) -> Result<()> {
        names::group(group, "logGroupName")?;
        names::stream(name, "logStreamName")?;
        self.with_group_mut(scope, group, |g| {
            if g.streams.contains_key(name) {
                return Err(Error::ResourceAlreadyExists(
                    "The specified log stream already exists".into(),
                ));
            }
            let s = LogStream {
                group_id: g.info.id.clone(),
                name: name.to_owned(),
                created_ms: now_ms(),
                ..LogStream::default()
            };
            store::put_streams(&self.meta, std::slice::from_ref(&s))?;
            g.streams.insert(name.to_owned(), s);
            Ok(())
        })
    }

    pub fn delete_stream(&self, scope: &Scope, group: &str, name: &str) -> Result<()> {
        names::group(group, "logGroupName")?;
        names::stream(name, "logStreamName")?;
        self.with_group_mut(scope, group, |g| {
            if !g.streams.contains_key(name) {
                return Err(not_found_stream());
            }
            store::delete_stream(&self.meta, &g.info.id, name)?;
            g.streams.remove(name);
            g.dirty.remove(name);
            Ok(())
        })
    }

    pub fn describe_streams(
        &self,
        scope: &Scope,
        group: &str,
        q: &StreamListing<'_>,
    ) -> Result<(LogGroup, Page<LogStream>)> {
        let StreamListing {
            prefix,
            order,
            descending,
            token,
            limit,
        } = *q;
        if prefix.is_some() && order == StreamOrder::LastEventTime {
            return Err(Error::InvalidParameter(
                "Cannot order by LastEventTime with a logStreamNamePrefix.".into(),
            ));
        }
        self.with_group(scope, group, |g| {
            let sort_key = |s: &LogStream| -> (i64, String) {
                match order {
                    StreamOrder::Name => (0, s.name.clone()),
                    StreamOrder::LastEventTime => {
                        (s.last_event_ms.unwrap_or(s.created_ms), s.name.clone())
                    }
                }
            };
            let after = token.map(parse_stream_token).transpose()?;
            let mut all: Vec<&LogStream> = g
                .streams
                .values()
                .filter(|s| prefix.is_none_or(|p| s.name.starts_with(p)))
                .collect();
            all.sort_by_cached_key(|s| sort_key(s));
            if descending {
                all.reverse();
            }
            let mut items = Vec::new();
            let mut next = None;
            for s in all {
                let k = sort_key(s);
                if let Some(a) = &after {
                    let past = if descending { &k < a } else { &k > a };
                    if !past {
                        continue;
                    }
                }
                if items.len() == limit {
                    next = items.last().map(|l: &LogStream| stream_token(&sort_key(l)));
                    break;
                }
                items.push(s.clone());
            }
            Ok((g.info.clone(), Page { items, next }))
        })
    }

    /// Saves the statistics of streams that received events since the last save.
    pub fn save_stream_stats(&self) -> Result<usize> {
        let changed: Vec<LogStream> = {
            let mut state = self.state.write();
            let mut out = Vec::new();
            for groups in state.groups.values_mut() {
                for g in groups.values_mut() {
                    for name in std::mem::take(&mut g.dirty) {
                        if let Some(s) = g.streams.get(&name) {
                            out.push(s.clone());
                        }
                    }
                }
            }
            out
        };
        store::put_streams(&self.meta, &changed)?;
        Ok(changed.len())
    }

    /// Saves stream statistics every couple of seconds until shutdown, then once more;
    /// removes expired events at start (with those of groups whose deletion a restart
    /// interrupted), hourly, and at once when a retention period is set or a group
    /// deleted.
    pub fn spawn(
        self: &Arc<Self>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let logs = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
            let mut retention = tokio::time::interval(std::time::Duration::from_secs(3600));
            loop {
                let purge = tokio::select! {
                    _ = tick.tick() => {
                        if let Err(e) = logs.deliver_subscriptions().await {
                            tracing::warn!(error = %e, "subscription delivery failed");
                        }
                        false
                    }
                    _ = retention.tick() => true,
                    _ = logs.retention_wanted.notified() => true,
                    _ = shutdown.changed() => break,
                };
                if let Err(e) = logs.save_stream_stats() {
                    tracing::warn!(error = %e, "saving log stream statistics failed");
                }
                if purge && let Err(e) = logs.apply_retention().await {
                    tracing::warn!(error = %e, "log retention failed");
                }
            }
            if let Err(e) = logs.save_stream_stats() {
                tracing::warn!(error = %e, "saving log stream statistics failed");
            }
        })
    }
}

/// The group name in a log group ARN (`arn:aws:logs:R:A:log-group:NAME[:*]`).
pub(crate) fn group_name_of(identifier: &str) -> Option<&str> {
    let rest = identifier.strip_prefix("arn:")?;
    let mut parts = rest.splitn(5, ':');
    let (_, _, _, _) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let tail = parts.next()?;
    let name = tail.strip_prefix("log-group:")?;
    Some(name.strip_suffix(":*").unwrap_or(name))
}

fn stream_token(k: &(i64, String)) -> String {
    format!("{}:{}", k.0, k.1)
}

fn parse_stream_token(t: &str) -> Result<(i64, String)> {
    let bad = || Error::InvalidParameter("The specified nextToken is invalid.".into());
    let (a, b) = t.split_once(':').ok_or_else(bad)?;
    Ok((a.parse().map_err(|_| bad())?, b.to_owned()))
}
