//! Per-account ingest tokens: a bearer secret an agent can send instead of SigV4 when
//! it only pushes telemetry: OTLP logs (`POST /v1/logs`), OTLP metrics
//! (`POST /v1/metrics`) and Prometheus remote-write (`POST /api/v1/write`). A token
//! acts as the principal that created it (through the access key it was created with),
//! so IAM still decides what it may write, and on each of those paths it is good for
//! that path's one operation only (the table is in the pipeline). Only a hash of the
//! secret is stored.

use base64::Engine;
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sightline_meta::Meta;
use sightline_meta::rusqlite::params;
use std::collections::HashMap;
use std::sync::Arc;

const MIGRATIONS: &[&str] = &["CREATE TABLE ingest_tokens (
        id TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        body TEXT NOT NULL
    )"];

/// Tokens an account may hold at once.
const MAX_PER_ACCOUNT: usize = 20;
const PREFIX: &str = "slt_";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenRecord {
    pub id: String,
    pub account: String,
    pub region: String,
    /// The access key the token acts through.
    pub access_key_id: String,
    pub created_by: String,
    pub created_ms: i64,
    #[serde(default)]
    pub description: String,
    /// Hex SHA-256 of the secret.
    pub secret_hash: String,
}

pub struct IngestTokens {
    meta: Arc<Meta>,
    tokens: RwLock<HashMap<String, TokenRecord>>,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{0}")]
    Limit(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("storage: {0}")]
    Meta(#[from] sightline_meta::Error),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

impl IngestTokens {
    pub fn open(meta: Arc<Meta>) -> Result<IngestTokens, TokenError> {
        meta.migrate("ingest_tokens", MIGRATIONS)?;
        let tokens = meta
            .load_json::<TokenRecord>("ingest_tokens")?
            .into_iter()
            .map(|t| (t.id.clone(), t))
            .collect();
        Ok(IngestTokens {
            meta,
            tokens: RwLock::new(tokens),
        })
    }

    /// A new token for the caller; the returned string is the only copy of its secret.
    pub fn create(
        &self,
        caller: &sightline_core::Caller,
        region: &str,
        description: String,
    ) -> Result<(TokenRecord, String), TokenError> {
        if caller.access_key_id.is_empty() {
            return Err(TokenError::Invalid(
                "Ingest tokens are created with an access key.".into(),
            ));
        }
        if description.chars().count() > 256 {
            return Err(TokenError::Invalid(
                "Description is longer than 256 characters.".into(),
            ));
        }
        let held = self
            .tokens
            .read()
            .values()
            .filter(|t| t.account == caller.account_id)
            .count();
        if held >= MAX_PER_ACCOUNT {
            return Err(TokenError::Limit(format!(
                "An account may hold at most {MAX_PER_ACCOUNT} ingest tokens."
            )));
        }
        let mut raw = [0u8; 32];
        rand::fill(&mut raw);
        let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
        let id = hex::encode(&uuid::Uuid::new_v4().as_bytes()[..8]);
        let record = TokenRecord {
            id: id.clone(),
            account: caller.account_id.clone(),
            region: region.to_owned(),
            access_key_id: caller.access_key_id.clone(),
            created_by: caller.identity_arn.clone(),
            created_ms: chrono::Utc::now().timestamp_millis(),
            description,
            secret_hash: hash(&secret),
        };
        let body = serde_json::to_string(&record)?;
        self.meta.write(|t| {
            t.execute(
                "INSERT INTO ingest_tokens (id, account, body) VALUES (?1, ?2, ?3)",
                params![record.id, record.account, body],
            )
        })?;
        self.tokens.write().insert(id.clone(), record.clone());
        Ok((record, format!("{PREFIX}{id}_{secret}")))
    }

    pub fn list(&self, account: &str) -> Vec<TokenRecord> {
        let mut out: Vec<TokenRecord> = self
            .tokens
            .read()
            .values()
            .filter(|t| t.account == account)
            .cloned()
            .collect();
        out.sort_by(|a, b| a.created_ms.cmp(&b.created_ms).then(a.id.cmp(&b.id)));
        out
    }

    pub fn delete(&self, account: &str, id: &str) -> Result<(), TokenError> {
        let known = self
            .tokens
            .read()
            .get(id)
            .is_some_and(|t| t.account == account);
        if !known {
            return Err(TokenError::NotFound(format!(
                "Ingest token {id} does not exist."
            )));
        }
        self.meta
            .write(|t| t.execute("DELETE FROM ingest_tokens WHERE id = ?1", params![id]))?;
        self.tokens.write().remove(id);
        Ok(())
    }

    /// The token a bearer string names, when its secret is right.
    pub fn resolve(&self, bearer: &str) -> Option<TokenRecord> {
        let rest = bearer.strip_prefix(PREFIX)?;
        let (id, secret) = rest.split_once('_')?;
        let tokens = self.tokens.read();
        let t = tokens.get(id)?;
        let want = t.secret_hash.as_bytes();
        let got = hash(secret);
        // Constant-time comparison of the two hex digests.
        let same = want.len() == got.len()
            && want
                .iter()
                .zip(got.as_bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        same.then(|| t.clone())
    }
}
