//! The cryptography of keys and ciphertexts: AES-256-GCM everywhere. Key material is
//! stored only wrapped under the master key (the key's ARN and material version as
//! associated data, so wrapped material cannot be moved to another key), and a ciphertext
//! blob names the key and material version that sealed it, so Decrypt needs no KeyId and
//! rotated keys keep decrypting what older material sealed.

use crate::{Error, Result};
use base64::Engine as _;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use std::collections::BTreeMap;
use std::path::Path;

const TAG_LEN: usize = 16;
/// First byte of every ciphertext blob this server issues.
const BLOB_VERSION: u8 = 1;

/// 32 bytes of key material; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub [u8; 32]);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

pub fn random_bytes(n: usize) -> Result<Vec<u8>> {
    let mut out = vec![0u8; n];
    SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| Error::Crypto("no randomness available".into()))?;
    Ok(out)
}

pub fn random_secret() -> Result<Secret> {
    let mut s = [0u8; 32];
    SystemRandom::new()
        .fill(&mut s)
        .map_err(|_| Error::Crypto("no randomness available".into()))?;
    Ok(Secret(s))
}

fn aead(secret: &Secret) -> Result<LessSafeKey> {
    let key = UnboundKey::new(&AES_256_GCM, &secret.0)
        .map_err(|_| Error::Crypto("bad key length".into()))?;
    Ok(LessSafeKey::new(key))
}

/// nonce ‖ ciphertext ‖ tag.
fn seal(secret: &Secret, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    let key = aead(secret)?;
    let nonce_bytes = random_bytes(NONCE_LEN)?;
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&nonce_bytes);
    let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
    out.extend_from_slice(&nonce);
    let mut body = plaintext.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(aad),
        &mut body,
    )
    .map_err(|_| Error::Crypto("seal failed".into()))?;
    out.extend(body);
    Ok(out)
}

/// `None` when the data was not sealed by this key with this associated data.
fn open(secret: &Secret, aad: &[u8], sealed: &[u8]) -> Result<Option<Vec<u8>>> {
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Ok(None);
    }
    let key = aead(secret)?;
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&sealed[..NONCE_LEN]);
    let mut body = sealed[NONCE_LEN..].to_vec();
    Ok(key
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut body,
        )
        .ok()
        .map(|p| p.to_vec()))
}

/// The key that wraps every key's material at rest.
pub struct MasterKey(Secret);

impl MasterKey {
    /// Reads the master key file (base64 of 32 bytes), creating it with fresh random
    /// bytes and mode 0600 when it does not exist.
    pub fn load_or_create(path: &Path) -> Result<MasterKey> {
        let err = |what: &str| Error::MasterKey(format!("{}: {what}", path.display()));
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(text.trim())
                    .map_err(|_| err("not base64"))?;
                let arr: [u8; 32] = bytes
                    .try_into()
                    .map_err(|_| err("must hold 32 bytes (base64)"))?;
                Ok(MasterKey(Secret(arr)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| err(&e.to_string()))?;
                }
                let secret = random_secret()?;
                let text = base64::engine::general_purpose::STANDARD.encode(secret.0) + "\n";
                write_private(path, text.as_bytes()).map_err(|e| err(&e.to_string()))?;
                tracing::info!(path = %path.display(), "kms master key created");
                Ok(MasterKey(secret))
            }
            Err(e) => Err(err(&e.to_string())),
        }
    }

    pub fn from_secret(secret: Secret) -> MasterKey {
        MasterKey(secret)
    }

    /// Wraps one version of a key's material.
    pub fn wrap(&self, key_arn: &str, version: u32, material: &Secret) -> Result<Vec<u8>> {
        seal(&self.0, &wrap_aad(key_arn, version), &material.0)
    }

    pub fn unwrap(&self, key_arn: &str, version: u32, wrapped: &[u8]) -> Result<Secret> {
        let plain = open(&self.0, &wrap_aad(key_arn, version), wrapped)?.ok_or_else(|| {
            Error::MasterKey(format!(
                "material of {key_arn} does not open under this master key"
            ))
        })?;
        let arr: [u8; 32] = plain
            .try_into()
            .map_err(|_| Error::Crypto("wrapped material has the wrong length".into()))?;
        Ok(Secret(arr))
    }
}

/// Other services' secrets (CloudTrail's digest signing keys) sealed under the same
/// master key, each bound to its label.
impl sightline_core::SecretSealer for MasterKey {
    fn seal(&self, label: &str, plain: &[u8]) -> sightline_core::Result<Vec<u8>> {
        seal(&self.0, &secret_aad(label), plain)
            .map_err(|e| sightline_core::Error::Storage(e.to_string()))
    }

    fn open(&self, label: &str, sealed: &[u8]) -> sightline_core::Result<Vec<u8>> {
        open(&self.0, &secret_aad(label), sealed)
            .map_err(|e| sightline_core::Error::Storage(e.to_string()))?
            .ok_or_else(|| {
                sightline_core::Error::Storage(format!(
                    "secret {label} does not open under this master key"
                ))
            })
    }
}

fn secret_aad(label: &str) -> Vec<u8> {
    format!("sightline-secret:{label}").into_bytes()
}

fn wrap_aad(key_arn: &str, version: u32) -> Vec<u8> {
    format!("sightline-kms-material:{key_arn}:{version}").into_bytes()
}

#[cfg(unix)]
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(data)?;
    f.sync_all()?;
    // The new name must survive a crash too, or the next start makes another key.
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, data)
}

/// An encryption context in its canonical form: pairs sorted by key.
pub type Context = BTreeMap<String, String>;

/// What a ciphertext blob says about itself before it is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobHeader {
    pub key_arn: String,
    pub version: u32,
    /// Where the sealed part starts.
    body_at: usize,
}

/// Seals `plaintext` with one version of a key's material. The blob is
/// `1 ‖ len(arn) u16 ‖ arn ‖ version u32 ‖ nonce ‖ ciphertext ‖ tag`; the header and the
/// canonical encryption context are the associated data.
pub fn encrypt(
    key_arn: &str,
    version: u32,
    material: &Secret,
    plaintext: &[u8],
    context: &Context,
) -> Result<Vec<u8>> {
    let mut header = vec![BLOB_VERSION];
    let len = u16::try_from(key_arn.len()).map_err(|_| Error::Crypto("arn too long".into()))?;
    header.extend_from_slice(&len.to_be_bytes());
    header.extend_from_slice(key_arn.as_bytes());
    header.extend_from_slice(&version.to_be_bytes());
    let sealed = seal(material, &blob_aad(&header, context)?, plaintext)?;
    header.extend(sealed);
    Ok(header)
}

fn blob_aad(header: &[u8], context: &Context) -> Result<Vec<u8>> {
    let mut aad = header.to_vec();
    aad.extend(serde_json::to_vec(context)?);
    Ok(aad)
}

/// Reads a blob's header; `None` for bytes this server never issued.
pub fn parse_blob(blob: &[u8]) -> Option<BlobHeader> {
    if *blob.first()? != BLOB_VERSION {
        return None;
    }
    let len = u16::from_be_bytes(blob.get(1..3)?.try_into().ok()?) as usize;
    let key_arn = std::str::from_utf8(blob.get(3..3 + len)?).ok()?.to_owned();
    let version = u32::from_be_bytes(blob.get(3 + len..7 + len)?.try_into().ok()?);
    let body_at = 7 + len;
    (blob.len() >= body_at + NONCE_LEN + TAG_LEN).then_some(BlobHeader {
        key_arn,
        version,
        body_at,
    })
}

/// Opens a blob whose header was parsed; `None` when it was altered or the context
/// differs from the one it was sealed with.
pub fn decrypt(
    header: &BlobHeader,
    blob: &[u8],
    material: &Secret,
    context: &Context,
) -> Result<Option<Vec<u8>>> {
    let aad = blob_aad(&blob[..header.body_at], context)?;
    open(material, &aad, &blob[header.body_at..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ARN: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    fn ctx(pairs: &[(&str, &str)]) -> Context {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn blobs_open_only_with_their_material_and_context() {
        let m = random_secret().unwrap();
        let c = ctx(&[("bucket", "logs"), ("a", "1")]);
        let blob = encrypt(ARN, 3, &m, b"secret", &c).unwrap();
        let h = parse_blob(&blob).unwrap();
        assert_eq!((h.key_arn.as_str(), h.version), (ARN, 3));
        assert_eq!(decrypt(&h, &blob, &m, &c).unwrap().unwrap(), b"secret");
        assert_eq!(
            decrypt(&h, &blob, &m, &ctx(&[("bucket", "logs")])).unwrap(),
            None
        );
        let other = random_secret().unwrap();
        assert_eq!(decrypt(&h, &blob, &other, &c).unwrap(), None);
        // A header claiming another version is bound into the associated data.
        let mut moved = blob.clone();
        let at = 3 + ARN.len() + 3;
        moved[at] ^= 1;
        let h2 = parse_blob(&moved).unwrap();
        assert_eq!(decrypt(&h2, &moved, &m, &c).unwrap(), None);
    }

    #[test]
    fn wrapped_material_is_bound_to_its_key_and_version() {
        let master = MasterKey::from_secret(random_secret().unwrap());
        let m = random_secret().unwrap();
        let w = master.wrap(ARN, 1, &m).unwrap();
        assert_eq!(master.unwrap(ARN, 1, &w).unwrap(), m);
        assert!(master.unwrap(ARN, 2, &w).is_err());
        assert!(
            master
                .unwrap("arn:aws:kms:us-east-1:123456789012:key/other", 1, &w)
                .is_err()
        );
        assert_eq!(format!("{m:?}"), "Secret(<redacted>)");
    }

    #[test]
    fn the_master_key_file_is_created_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kms").join("master.key");
        let a = MasterKey::load_or_create(&path).unwrap();
        let b = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(a.0, b.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "short").unwrap();
        assert!(MasterKey::load_or_create(&path).is_err());
    }

    proptest! {
        /// Any change to any byte of a blob makes it unopenable (or unparsable).
        #[test]
        fn tampering_is_always_detected(
            plaintext in proptest::collection::vec(any::<u8>(), 1..256),
            at in any::<prop::sample::Index>(),
            flip in 1u8..=255,
        ) {
            let m = Secret([7; 32]);
            let c = ctx(&[("k", "v")]);
            let blob = encrypt(ARN, 1, &m, &plaintext, &c).unwrap();
            let mut bad = blob.clone();
            let i = at.index(bad.len());
            bad[i] ^= flip;
            let opened = match parse_blob(&bad) {
                None => None,
                Some(h) if h.key_arn != ARN => None,
                Some(h) => decrypt(&h, &bad, &m, &c).unwrap(),
            };
            prop_assert_eq!(opened, None);
            let h = parse_blob(&blob).unwrap();
            prop_assert_eq!(decrypt(&h, &blob, &m, &c).unwrap(), Some(plaintext));
        }

        #[test]
        fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = parse_blob(&bytes);
        }
    }
}
