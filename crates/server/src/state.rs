//! What every request shares: the services by signing name, identity, the audit sink
//! and the SigV4 signing-key cache.

use parking_lot::RwLock;
use sightline_core::AuditSink;
use sightline_iam::Identity;
use sightline_wire::Service;
use sightline_wire::sigv4::{self, Credential};
use std::collections::HashMap;
use std::sync::Arc;

pub struct AppState {
    pub services: HashMap<&'static str, Arc<dyn Service>>,
    pub identity: Arc<Identity>,
    pub audit: Arc<dyn AuditSink>,
    /// Which record times are still being made (held by each request for its call).
    pub clock: Arc<sightline_core::AuditClock>,
    pub management_account: String,
    pub tokens: Arc<crate::tokens::IngestTokens>,
    /// Answers the unsigned GETs of SNS links.
    pub sns: Option<Arc<sightline_sns::Sns>>,
    /// Derived keys per (key id, date, region, service): four HMACs saved per request.
    key_cache: RwLock<HashMap<ScopeKey, (String, [u8; 32])>>,
}

/// (access key id, date, region, service).
type ScopeKey = (String, String, String, String);

const KEY_CACHE_LIMIT: usize = 10_000;

impl AppState {
    pub fn new(
        services: Vec<Arc<dyn Service>>,
        identity: Arc<Identity>,
        audit: Arc<dyn AuditSink>,
        clock: Arc<sightline_core::AuditClock>,
        management_account: String,
        tokens: Arc<crate::tokens::IngestTokens>,
    ) -> AppState {
        let services = services
            .into_iter()
            .map(|s| (s.def().signing_name, s))
            .collect();
        AppState {
            services,
            identity,
            audit,
            clock,
            management_account,
            tokens,
            sns: None,
            key_cache: RwLock::new(HashMap::new()),
        }
    }

    pub fn signing_key(&self, cred: &Credential, secret: &str) -> [u8; 32] {
        let k = (
            cred.access_key_id.clone(),
            cred.date.clone(),
            cred.region.clone(),
            cred.service.clone(),
        );
        if let Some((s, key)) = self.key_cache.read().get(&k)
            && s == secret
        {
            return *key;
        }
        let key = sigv4::signing_key(secret, cred);
        let mut cache = self.key_cache.write();
        if cache.len() >= KEY_CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(k, (secret.to_owned(), key));
        key
    }
}
