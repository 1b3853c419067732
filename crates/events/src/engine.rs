//! The EventBridge engine: state in memory (loaded from SQLite at start), the lake that
//! keeps archived events, the services targets reach through core traits, and the
//! background tasks (dispatcher, schedules, replays, metrics, archive retention).

use crate::deliver::Dispatcher;
use crate::journal::Journal;
use crate::model::{ApiDestination, Archive, Bus, Connection, Replay, Rule};
use crate::names::{self, DEFAULT_BUS};
use crate::store::{self, Table};
use crate::{Error, Result};
use parking_lot::{Mutex, RwLock};
use sightline_core::{
    AuditSink, LogSink, MetricSink, QueueSink, Scope, SecretSealer, TopicPublisher,
};
use sightline_lake::Lake;
use sightline_meta::Meta;
use sightline_patterns::{Matcher, Pattern};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// A command the remediation target may run, from the server configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct RemediationCommand {
    pub name: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub remediation: Vec<RemediationCommand>,
    /// The first retry's delay; each later one doubles, up to `retry_cap`, with jitter.
    pub retry_base: Duration,
    pub retry_cap: Duration,
    /// Invocations in flight at once.
    pub concurrency: usize,
    /// How often `AWS/Events` counters are written as metrics.
    pub metrics_interval: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            remediation: Vec::new(),
            retry_base: Duration::from_secs(1),
            retry_cap: Duration::from_secs(300),
            concurrency: 256,
            metrics_interval: Duration::from_secs(10),
        }
    }
}

/// The other services targets deliver into, given once the server has made them.
pub struct Sinks {
    pub queues: Arc<dyn QueueSink>,
    pub topics: Arc<dyn TopicPublisher>,
    pub logs: Arc<dyn LogSink>,
    pub metrics: Arc<dyn MetricSink>,
    /// Where remediation runs are audited.
    pub audit: Arc<dyn AuditSink>,
}

/// An archive of a bus: where its copies go in the lake (its ARN and its own account
/// and region) and the pattern its events must match (all events when `None`).
pub(crate) struct ArchiveFilter {
    pub arn: String,
    pub account: String,
    pub region: String,
    pub pattern: Option<Arc<Pattern>>,
}

#[derive(Default)]
pub(crate) struct State {
    pub buses: BTreeMap<String, Bus>,
    pub rules: BTreeMap<String, Rule>,
    /// Per bus ARN, the enabled rules with patterns, keyed by rule ARN.
    pub matchers: HashMap<String, Arc<Matcher<String>>>,
    pub connections: BTreeMap<String, Connection>,
    pub destinations: BTreeMap<String, ApiDestination>,
    pub archives: BTreeMap<String, Archive>,
    /// Per source bus ARN, the archives with their compiled patterns.
    pub archive_patterns: HashMap<String, Vec<ArchiveFilter>>,
    pub replays: BTreeMap<String, Replay>,
    /// Some enabled rule wants read-only API calls too.
    pub read_only_calls: bool,
}

pub struct Events {
    pub(crate) meta: Arc<Meta>,
    /// Where archived events are kept (`archived_events`).
    pub(crate) lake: Arc<Lake>,
    /// (account, region) scopes with archives deleted since the last retention pass,
    /// whose rows the next pass removes; the pass runs soon after one is added.
    pub(crate) deleted_archives: Mutex<BTreeSet<(String, String)>>,
    pub(crate) state: RwLock<State>,
    pub(crate) journal: Journal,
    pub(crate) sinks: OnceLock<Sinks>,
    pub(crate) options: Options,
    pub(crate) sealer: Arc<dyn SecretSealer>,
    pub(crate) dispatcher: Dispatcher,
    pub(crate) http: reqwest::Client,
    /// OAuth access tokens by connection ARN, with their expiry (ms).
    pub(crate) tokens: Mutex<HashMap<String, (String, i64)>>,
    /// API destination token buckets by ARN: (tokens, last refill ms).
    pub(crate) buckets: Mutex<HashMap<String, (f64, i64)>>,
    pub(crate) counters: Mutex<crate::deliver::Counters>,
}

impl Events {
    /// Opens the engine over `meta` (its state) and `lake` (archived events);
    /// invocations still owed are resumed by [`Events::spawn`].
    pub fn open(
        meta: Arc<Meta>,
        lake: Arc<Lake>,
        sealer: Arc<dyn SecretSealer>,
        options: Options,
    ) -> Result<Arc<Events>> {
        store::migrate(&meta)?;
        let mut state = State::default();
        for b in store::load::<Bus>(&meta, Table::Buses)? {
            state.buses.insert(b.arn.clone(), b);
        }
        for r in store::load::<Rule>(&meta, Table::Rules)? {
            state.rules.insert(r.arn.clone(), r);
        }
        for mut c in store::load::<Connection>(&meta, Table::Connections)? {
            c.auth = crate::connections::open_auth(sealer.as_ref(), &c)?;
            state.connections.insert(c.arn.clone(), c);
        }
        for d in store::load::<ApiDestination>(&meta, Table::ApiDestinations)? {
            state.destinations.insert(d.arn.clone(), d);
        }
        for a in store::load::<Archive>(&meta, Table::Archives)? {
            state.archives.insert(a.arn.clone(), a);
        }
        for r in store::load::<Replay>(&meta, Table::Replays)? {
            state.replays.insert(r.arn.clone(), r);
        }
        let bus_arns: Vec<String> = state
            .rules
            .values()
            .map(|r| names::bus_arn(&r.region, &r.account, &r.bus))
            .chain(state.archives.values().map(|a| a.source_arn.clone()))
            .collect();
        for arn in bus_arns {
            rebuild(&mut state, &arn);
        }
        let dispatcher = Dispatcher::default();
        for d in store::load_deliveries(&meta)? {
            dispatcher.push(d);
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("Amazon/EventBridge/ApiDestinations")
            .build()
            .map_err(|e| Error::Storage(format!("http client: {e}")))?;
        Ok(Arc::new(Events {
            journal: Journal::start(meta.clone()),
            meta,
            lake,
            deleted_archives: Mutex::new(BTreeSet::new()),
            state: RwLock::new(state),
            sinks: OnceLock::new(),
            options,
            sealer,
            dispatcher,
            http,
            tokens: Mutex::new(HashMap::new()),
            buckets: Mutex::new(HashMap::new()),
            counters: Mutex::new(Default::default()),
        }))
    }

    /// Gives the engine the services its targets deliver into; invocations wait until
    /// this is called.
    pub fn set_sinks(&self, sinks: Sinks) {
        let _ = self.sinks.set(sinks);
    }

    /// Invocations not yet done (delivered or given up).
    pub fn pending(&self) -> usize {
        self.dispatcher.len()
    }

    /// Starts the dispatcher, the scheduler, replays and the metrics writer; they stop
    /// when `shutdown` turns true.
    pub fn spawn(
        self: &Arc<Self>,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let dispatch = tokio::spawn(crate::deliver::run(me.clone(), shutdown.clone()));
            let schedule = tokio::spawn(crate::schedules::run(me.clone(), shutdown.clone()));
            let background = tokio::spawn(crate::archives::run(me.clone(), shutdown.clone()));
            let metrics = tokio::spawn(crate::deliver::flush_metrics(me.clone(), shutdown));
            let _ = dispatch.await;
            let _ = schedule.await;
            let _ = background.await;
            let _ = metrics.await;
        })
    }

    /// A bus of the caller's own account (rules, archives, permissions are managed only
    /// there), which must exist.
    pub(crate) fn own_bus(&self, scope: &Scope, name: Option<&str>) -> Result<String> {
        let arn = self.resolve_bus(scope, name)?;
        if names::split_arn(&arn).map(|(_, _, account, _)| account)
            != Some(scope.account_id.as_str())
        {
            return Err(Error::AccessDenied(format!(
                "{arn} is not an event bus of account {}.",
                scope.account_id
            )));
        }
        Ok(arn)
    }

    /// The bus a request names (by name or ARN), which must exist.
    pub(crate) fn resolve_bus(&self, scope: &Scope, name: Option<&str>) -> Result<String> {
        let (owner, name) = match name {
            None => (None, DEFAULT_BUS.to_owned()),
            Some(n) => names::bus_ref(n)?,
        };
        let account = match owner {
            // A bus is reached only in the region the call is signed for; a policy of
            // another region's bus must not open this one.
            Some((region, _)) if region != scope.region => {
                return Err(Error::ResourceNotFound(format!(
                    "Event bus {name} does not exist."
                )));
            }
            Some((_, account)) => account,
            None => scope.account_id.clone(),
        };
        let arn = names::bus_arn(&scope.region, &account, &name);
        if name == DEFAULT_BUS || self.state.read().buses.contains_key(&arn) {
            Ok(arn)
        } else {
            Err(Error::ResourceNotFound(format!(
                "Event bus {name} does not exist."
            )))
        }
    }
}

/// The rule state that also routes read-only API calls to the rule.
pub const ALL_MANAGEMENT_EVENTS: &str = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS";

/// The bus name in a bus ARN.
pub(crate) fn bus_name(arn: &str) -> &str {
    arn.rsplit_once("event-bus/").map(|(_, n)| n).unwrap_or(arn)
}

/// Recompiles the matcher of one bus (its enabled pattern rules) and its archives'
/// patterns after a change.
pub(crate) fn rebuild(state: &mut State, bus_arn: &str) {
    state.read_only_calls = state
        .rules
        .values()
        .any(|r| r.state == ALL_MANAGEMENT_EVENTS);
    let mut matcher = Matcher::new();
    for r in state.rules.values() {
        if !r.enabled() || names::bus_arn(&r.region, &r.account, &r.bus) != bus_arn {
            continue;
        }
        if let Some(p) = r
            .event_pattern
            .as_deref()
            .and_then(|p| sightline_patterns::parse(p).ok())
        {
            matcher.add(r.arn.clone(), p);
        }
    }
    state.matchers.insert(bus_arn.to_owned(), Arc::new(matcher));
    let archives: Vec<ArchiveFilter> = state
        .archives
        .values()
        .filter(|a| a.source_arn == bus_arn && a.state == "ENABLED")
        .map(|a| ArchiveFilter {
            arn: a.arn.clone(),
            account: a.account.clone(),
            region: a.region.clone(),
            pattern: a
                .event_pattern
                .as_deref()
                .and_then(|p| sightline_patterns::parse(p).ok())
                .map(Arc::new),
        })
        .collect();
    state.archive_patterns.insert(bus_arn.to_owned(), archives);
}
