//! Checkpoints in the C2SP tlog-checkpoint format, as signed notes with Ed25519: the
//! text `<origin>\n<size>\n<base64 root>\n`, a blank line, and one line per signature,
//! `— <key name> <base64(key id ‖ signature)>`, the key id being the first four bytes
//! of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key).

use crate::tree::Hash;
use crate::{Error, Result};
use base64::Engine as _;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use sha2::{Digest, Sha256};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
/// The signature-type byte of Ed25519 in signed notes.
const ALG_ED25519: u8 = 0x01;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// The note text the signatures cover.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        )
    }

    fn parse_body(body: &str) -> Result<Checkpoint> {
        let bad = |why: &str| Error::Checkpoint(format!("malformed checkpoint: {why}"));
        let mut lines = body.split('\n');
        let origin = lines
            .next()
            .filter(|o| !o.is_empty())
            .ok_or_else(|| bad("no origin"))?;
        let size = lines
            .next()
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| bad("no tree size"))?;
        let root: Hash = lines
            .next()
            .and_then(|r| B64.decode(r).ok())
            .and_then(|r| r.try_into().ok())
            .ok_or_else(|| bad("no root hash"))?;
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
        })
    }
}

fn key_id(name: &str, public: &[u8]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ALG_ED25519]);
    h.update(public);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

pub struct Signer {
    name: String,
    key: Ed25519KeyPair,
}

impl Signer {
    /// A new key; returns the signer and its PKCS#8 document to store.
    pub fn generate(name: &str) -> Result<(Signer, Vec<u8>)> {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|_| Error::Key("key generation failed".into()))?;
        let signer = Signer::from_pkcs8(name, pkcs8.as_ref())?;
        Ok((signer, pkcs8.as_ref().to_vec()))
    }

    pub fn from_pkcs8(name: &str, pkcs8: &[u8]) -> Result<Signer> {
        if name.is_empty() || name.contains([' ', '+', '\n']) {
            return Err(Error::Key(format!("invalid key name '{name}'")));
        }
        let key = Ed25519KeyPair::from_pkcs8(pkcs8)
            .map_err(|_| Error::Key("not an Ed25519 PKCS#8 key".into()))?;
        Ok(Signer {
            name: name.to_owned(),
            key,
        })
    }

    pub fn verifier(&self) -> Verifier {
        Verifier {
            name: self.name.clone(),
            public: self.key.public_key().as_ref().to_vec(),
        }
    }

    /// The signed note of a checkpoint.
    pub fn sign(&self, c: &Checkpoint) -> String {
        let body = c.body();
        let sig = self.key.sign(body.as_bytes());
        let mut blob = key_id(&self.name, self.key.public_key().as_ref()).to_vec();
        blob.extend_from_slice(sig.as_ref());
        format!("{body}\n\u{2014} {} {}\n", self.name, B64.encode(blob))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    pub name: String,
    pub public: Vec<u8>,
}

impl Verifier {
    /// The note verifier key: `<name>+<key id hex>+<base64(0x01 ‖ public key)>`.
    pub fn encode(&self) -> String {
        let id = key_id(&self.name, &self.public);
        let mut k = vec![ALG_ED25519];
        k.extend_from_slice(&self.public);
        format!(
            "{}+{}+{}",
            self.name,
            id.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            B64.encode(k)
        )
    }

    pub fn decode(s: &str) -> Result<Verifier> {
        let bad = || Error::Key(format!("malformed verifier key '{s}'"));
        let mut parts = s.trim().splitn(3, '+');
        let (name, id, key) = (
            parts.next().ok_or_else(bad)?,
            parts.next().ok_or_else(bad)?,
            parts.next().ok_or_else(bad)?,
        );
        let key = B64.decode(key).map_err(|_| bad())?;
        let (alg, public) = key.split_first().ok_or_else(bad)?;
        if *alg != ALG_ED25519 || public.len() != 32 {
            return Err(Error::Key(format!(
                "unsupported verifier key algorithm in '{s}'"
            )));
        }
        let v = Verifier {
            name: name.to_owned(),
            public: public.to_vec(),
        };
        let want: String = key_id(name, public)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if want != id {
            return Err(bad());
        }
        Ok(v)
    }

    /// Opens a signed note: the checkpoint, if this key signed it.
    pub fn open(&self, note: &str) -> Result<Checkpoint> {
        let (body, sigs) = note
            .split_once("\n\n")
            .ok_or_else(|| Error::Checkpoint("malformed note: no signature block".into()))?;
        let body = format!("{body}\n");
        let id = key_id(&self.name, &self.public);
        for line in sigs.lines() {
            let Some(rest) = line.strip_prefix("\u{2014} ") else {
                continue;
            };
            let Some((name, sig)) = rest.split_once(' ') else {
                continue;
            };
            if name != self.name {
                continue;
            }
            let Ok(blob) = B64.decode(sig) else { continue };
            if blob.len() != 4 + 64 || blob[..4] != id {
                continue;
            }
            let key = UnparsedPublicKey::new(&ED25519, &self.public);
            if key.verify(body.as_bytes(), &blob[4..]).is_ok() {
                return Checkpoint::parse_body(&body);
            }
            return Err(Error::Checkpoint(format!(
                "signature by {} does not verify",
                self.name
            )));
        }
        Err(Error::Checkpoint(format!("no signature by {}", self.name)))
    }
}
