//! Digest signing keys: one RSA key pair per region, as CloudTrail has, generated when a
//! region first needs one, valid for a year, the private half sealed under the server's
//! master key and the public half served by ListPublicKeys.

use crate::digest::fingerprint;
use crate::model::SigningKey;
use crate::{Error, Result, store};
use chrono::{DateTime, Duration, Utc};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::pkcs1v15::SigningKey as RsaSigner;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sightline_core::SecretSealer;
use sightline_meta::Meta;
use std::collections::HashMap;
use std::sync::Arc;

const KEY_BITS: usize = 2048;
const VALIDITY_DAYS: i64 = 365;

pub struct Signing {
    meta: Arc<Meta>,
    sealer: Arc<dyn SecretSealer>,
    keys: parking_lot::Mutex<Vec<SigningKey>>,
    /// Opened private keys by fingerprint.
    open: parking_lot::Mutex<HashMap<String, Arc<RsaSigner<sha2::Sha256>>>>,
    /// Serializes key generation so a region gets one new key, not one per caller.
    generating: tokio::sync::Mutex<()>,
}

fn label(k: &SigningKey) -> String {
    format!("cloudtrail-digest-key:{}:{}", k.region, k.fingerprint)
}

impl Signing {
    pub fn open(meta: Arc<Meta>, sealer: Arc<dyn SecretSealer>) -> Result<Signing> {
        let keys = store::load_signing_keys(&meta)?;
        Ok(Signing {
            meta,
            sealer,
            keys: parking_lot::Mutex::new(keys),
            open: parking_lot::Mutex::new(HashMap::new()),
            generating: tokio::sync::Mutex::new(()),
        })
    }

    fn valid_at(&self, region: &str, at: DateTime<Utc>) -> Option<SigningKey> {
        self.keys
            .lock()
            .iter()
            .filter(|k| k.region == region && k.valid_from <= at && at < k.valid_to)
            .max_by_key(|k| k.valid_from)
            .cloned()
    }

    /// The region's key in force now, made when there is none.
    pub async fn current(&self, region: &str) -> Result<SigningKey> {
        let now = Utc::now();
        if let Some(k) = self.valid_at(region, now) {
            return Ok(k);
        }
        let _g = self.generating.lock().await;
        if let Some(k) = self.valid_at(region, now) {
            return Ok(k);
        }
        let private = tokio::task::spawn_blocking(|| {
            RsaPrivateKey::new(&mut rsa::rand_core::OsRng, KEY_BITS)
        })
        .await
        .map_err(|e| Error::Signing(format!("key generation: {e}")))?
        .map_err(|e| Error::Signing(format!("key generation: {e}")))?;
        let public_der = RsaPublicKey::from(&private)
            .to_pkcs1_der()
            .map_err(|e| Error::Signing(e.to_string()))?
            .as_bytes()
            .to_vec();
        let private_der = private
            .to_pkcs1_der()
            .map_err(|e| Error::Signing(e.to_string()))?;
        let mut key = SigningKey {
            region: region.to_owned(),
            fingerprint: fingerprint(&public_der),
            public_der,
            sealed_private: Vec::new(),
            valid_from: now,
            valid_to: now + Duration::days(VALIDITY_DAYS),
        };
        key.sealed_private = self
            .sealer
            .seal(&label(&key), private_der.as_bytes())
            .map_err(|e| Error::Signing(e.to_string()))?;
        store::put_signing_key(&self.meta, &key)?;
        self.open.lock().insert(
            key.fingerprint.clone(),
            Arc::new(RsaSigner::<sha2::Sha256>::new(private)),
        );
        self.keys.lock().push(key.clone());
        tracing::info!(region, fingerprint = %key.fingerprint, "digest signing key created");
        Ok(key)
    }

    /// SHA256withRSA (PKCS #1 v1.5) signature of `message` under `key`.
    pub fn sign(&self, key: &SigningKey, message: &[u8]) -> Result<Vec<u8>> {
        let signer = self.open.lock().get(&key.fingerprint).cloned();
        let signer = match signer {
            Some(s) => s,
            None => {
                let der = self
                    .sealer
                    .open(&label(key), &key.sealed_private)
                    .map_err(|e| Error::Signing(e.to_string()))?;
                let private = RsaPrivateKey::from_pkcs1_der(&der)
                    .map_err(|e| Error::Signing(e.to_string()))?;
                let s = Arc::new(RsaSigner::<sha2::Sha256>::new(private));
                self.open.lock().insert(key.fingerprint.clone(), s.clone());
                s
            }
        };
        Ok(signer.sign(message).to_vec())
    }

    /// The region's keys valid at some point in `[start, end]`, newest first.
    pub fn public_keys(
        &self,
        region: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Vec<SigningKey> {
        let mut out: Vec<SigningKey> = self
            .keys
            .lock()
            .iter()
            .filter(|k| k.region == region && k.valid_from <= end && start < k.valid_to)
            .cloned()
            .collect();
        out.sort_by_key(|k| std::cmp::Reverse(k.valid_from));
        out
    }
}
