//! Notification signing: one RSA-2048 key per region, made when the region first sends
//! a message, its private half sealed under the server's master key, its public half in
//! a self-signed X.509 certificate served at the SigningCertURL. Signature version 1 is
//! SHA1withRSA, version 2 SHA256withRSA (PKCS #1 v1.5), as SNS signs.

use crate::model::SigningKey;
use crate::{Error, Result, store};
use base64::Engine as _;
use chrono::Utc;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs1v15::SigningKey as RsaSigner;
use rsa::pkcs8::EncodePublicKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Digest;
use sightline_core::SecretSealer;
use sightline_meta::Meta;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::{EncodePem, pem::LineEnding};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::Validity;

const KEY_BITS: usize = 2048;
/// The certificate outlives any realistic deployment, so keys are never rotated and a
/// stored message's SigningCertURL keeps answering.
const VALIDITY: std::time::Duration = std::time::Duration::from_secs(20 * 365 * 86_400);

pub struct Signing {
    meta: Arc<Meta>,
    sealer: Arc<dyn SecretSealer>,
    keys: parking_lot::Mutex<Vec<SigningKey>>,
    open: parking_lot::Mutex<HashMap<String, Arc<OpenKey>>>,
    /// One generation at a time, so a region gets one key, not one per delivery.
    generating: tokio::sync::Mutex<()>,
}

/// A key's private half, ready to sign in either version.
struct OpenKey {
    v1: RsaSigner<sha1::Sha1>,
    v2: RsaSigner<sha2::Sha256>,
}

impl OpenKey {
    fn new(private: RsaPrivateKey) -> OpenKey {
        OpenKey {
            v1: RsaSigner::new(private.clone()),
            v2: RsaSigner::new(private),
        }
    }
}

fn label(k: &SigningKey) -> String {
    format!("sns-signing-key:{}:{}", k.region, k.id)
}

fn err(e: impl std::fmt::Display) -> Error {
    Error::Signing(e.to_string())
}

/// A self-signed certificate for the key, as PEM.
fn certificate(private: &RsaPrivateKey, region: &str) -> Result<String> {
    let public_der = RsaPublicKey::from(private)
        .to_public_key_der()
        .map_err(err)?;
    let spki = SubjectPublicKeyInfoOwned::try_from(public_der.as_bytes()).map_err(err)?;
    let mut serial = [0u8; 16];
    rsa::rand_core::RngCore::fill_bytes(&mut rsa::rand_core::OsRng, &mut serial);
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    let serial = SerialNumber::new(&serial).map_err(err)?;
    let validity = Validity::from_now(VALIDITY).map_err(err)?;
    let subject = Name::from_str(&format!(
        "CN=sns.amazonaws.com,OU=Sightline SNS {region},O=Sightline"
    ))
    .map_err(err)?;
    let signer = RsaSigner::<sha2::Sha256>::new(private.clone());
    let builder = CertificateBuilder::new(Profile::Root, serial, validity, subject, spki, &signer)
        .map_err(err)?;
    let cert = builder.build::<rsa::pkcs1v15::Signature>().map_err(err)?;
    cert.to_pem(LineEnding::LF).map_err(err)
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

    fn find(&self, region: &str) -> Option<SigningKey> {
        self.keys
            .lock()
            .iter()
            .find(|k| k.region == region)
            .cloned()
    }

    /// The region's key, made when there is none yet.
    pub async fn key(&self, region: &str) -> Result<SigningKey> {
        if let Some(k) = self.find(region) {
            return Ok(k);
        }
        let _g = self.generating.lock().await;
        if let Some(k) = self.find(region) {
            return Ok(k);
        }
        let owned = region.to_owned();
        let (private, pem) = tokio::task::spawn_blocking(move || {
            let private = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, KEY_BITS).map_err(err)?;
            let pem = certificate(&private, &owned)?;
            Ok::<_, Error>((private, pem))
        })
        .await
        .map_err(err)??;
        let public_der = RsaPublicKey::from(&private)
            .to_public_key_der()
            .map_err(err)?;
        let digest = sha2::Sha256::digest(public_der.as_bytes());
        let private_der = private.to_pkcs1_der().map_err(err)?;
        let mut key = SigningKey {
            region: region.to_owned(),
            id: hex::encode(&digest[..16]),
            sealed_private: Vec::new(),
            certificate_pem: pem,
            created: Utc::now(),
        };
        key.sealed_private = self
            .sealer
            .seal(&label(&key), private_der.as_bytes())
            .map_err(err)?;
        store::put_signing_key(&self.meta, &key)?;
        self.open
            .lock()
            .insert(key.id.clone(), Arc::new(OpenKey::new(private)));
        self.keys.lock().push(key.clone());
        tracing::info!(region, key = %key.id, "sns signing key created");
        Ok(key)
    }

    fn opened(&self, key: &SigningKey) -> Result<Arc<OpenKey>> {
        if let Some(p) = self.open.lock().get(&key.id) {
            return Ok(p.clone());
        }
        let der = self
            .sealer
            .open(&label(key), &key.sealed_private)
            .map_err(err)?;
        let opened = Arc::new(OpenKey::new(
            RsaPrivateKey::from_pkcs1_der(&der).map_err(err)?,
        ));
        self.open.lock().insert(key.id.clone(), opened.clone());
        Ok(opened)
    }

    /// The base64 signature of `text` in the given signature version.
    pub fn sign(&self, key: &SigningKey, version: u8, text: &str) -> Result<String> {
        let opened = self.opened(key)?;
        let sig = if version == 2 {
            opened.v2.sign(text.as_bytes()).to_vec()
        } else {
            opened.v1.sign(text.as_bytes()).to_vec()
        };
        Ok(base64::engine::general_purpose::STANDARD.encode(sig))
    }

    /// The certificate named `id`, whichever region it signs for.
    pub fn certificate(&self, id: &str) -> Option<String> {
        self.keys
            .lock()
            .iter()
            .find(|k| k.id == id)
            .map(|k| k.certificate_pem.clone())
    }
}
