//! The S3 engine: bucket lifecycle and ownership, object versions, reads with ranges,
//! deletes with delete markers, and listings. Bytes are stored before the version row
//! that names them is committed, so an acknowledged write is complete and a crash
//! leaves at most an unreferenced blob.

use crate::model::{
    Bucket, DefaultRetention, Encryption, LockMode, NULL_VERSION, ObjectVersion, Retention,
    Versioning,
};
use crate::{Error, Result, store};
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use md5::{Digest, Md5};
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt};
use parking_lot::RwLock;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use sightline_core::Scope;
use sightline_core::{KeyRequest, KeyService};
use sightline_meta::Meta;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

pub struct S3 {
    meta: Arc<Meta>,
    store: Arc<dyn ObjectStore>,
    keys: Arc<dyn KeyService>,
    /// When objects live in a local directory: its root, so each new blob (and its
    /// directory entry) is fsynced before the version that names it is committed;
    /// object_store's `LocalFileSystem` renames into place without syncing.
    local_root: Option<std::path::PathBuf>,
    buckets: RwLock<HashMap<String, Bucket>>,
    /// Held from reading a version's lock state to writing the change it allows
    /// (retention, legal hold, deleting a version), so no check acts on stale state.
    lock_state: parking_lot::Mutex<()>,
}

/// Server-side encryption a PutObject asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseRequest {
    S3Managed,
    /// `aws:kms` with the key to use.
    Kms(String),
}

/// The encryption context S3 binds to an object's data key, as AWS does by default.
fn object_context(
    bucket: &str,
    key: &str,
    extra: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut c = extra.clone();
    c.insert(
        "aws:s3:arn".to_owned(),
        format!("arn:aws:s3:::{bucket}/{key}"),
    );
    c
}

fn aead(key: &[u8]) -> Result<LessSafeKey> {
    let k = UnboundKey::new(&AES_256_GCM, key)
        .map_err(|_| Error::Storage("data key of the wrong length".into()))?;
    Ok(LessSafeKey::new(k))
}

/// nonce ‖ ciphertext ‖ tag under a data key.
fn seal(key: &[u8], plain: &[u8]) -> Result<Vec<u8>> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| Error::Storage("no randomness available".into()))?;
    let mut body = plain.to_vec();
    aead(key)?
        .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut body)
        .map_err(|_| Error::Storage("seal failed".into()))?;
    let mut out = nonce.to_vec();
    out.extend(body);
    Ok(out)
}

fn open_sealed(key: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
    if sealed.len() < NONCE_LEN {
        return Err(Error::Storage("sealed object too short".into()));
    }
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&sealed[..NONCE_LEN]);
    let mut body = sealed[NONCE_LEN..].to_vec();
    let plain = aead(key)?
        .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut body)
        .map_err(|_| Error::Storage("stored object fails its authentication tag".into()))?;
    Ok(plain.to_vec())
}

/// What a DeleteObject did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deleted {
    pub version_id: Option<String>,
    pub delete_marker: bool,
}

/// A new object's bytes and attributes.
#[derive(Debug, Default)]
pub struct NewObject {
    pub body: Bytes,
    pub content_type: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// Explicit retention (`x-amz-object-lock-mode` + `-retain-until-date`); without
    /// it a lock-enabled bucket applies its default.
    pub retention: Option<Retention>,
    pub legal_hold: bool,
    pub sse: Option<SseRequest>,
    /// Encryption context pairs added to S3's own for SSE-KMS.
    pub kms_context: BTreeMap<String, String>,
}

/// One page of a listing: objects (or versions) and the common prefixes rolled up by
/// the delimiter, in key order, and whether more follow.
#[derive(Debug, Default)]
pub struct Listing {
    pub items: Vec<ObjectVersion>,
    pub prefixes: Vec<String>,
    pub truncated: bool,
    /// The last key (or prefix) returned, where the next page starts.
    pub last: Option<String>,
    /// The version id of the last item when it was a version (not a prefix): the
    /// version marker of the next page.
    pub last_version: Option<String>,
}

/// What a listing asks for: keys under `prefix` after `after` (a key marker, start-after
/// or continuation key), rolled up by `delimiter`, at most `max` entries; for versions,
/// also the version marker within the `after` key.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListQuery<'a> {
    pub prefix: &'a str,
    pub delimiter: Option<&'a str>,
    pub after: &'a str,
    pub version_marker: Option<&'a str>,
    pub max: usize,
}

/// The rules S3 applies to bucket names (general purpose buckets).
pub fn validate_bucket_name(name: &str) -> Result<()> {
    let bad = || Error::InvalidBucketName(name.to_owned());
    let b = name.as_bytes();
    if !(3..=63).contains(&b.len()) {
        return Err(bad());
    }
    let ok_char = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-';
    let edge = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !b.iter().all(|c| ok_char(*c)) || !edge(b[0]) || !edge(b[b.len() - 1]) {
        return Err(bad());
    }
    if name.contains("..")
        || name.starts_with("xn--")
        || name.starts_with("sthree-")
        || name.ends_with("-s3alias")
        || name.ends_with("--ol-s3")
        || name.parse::<std::net::Ipv4Addr>().is_ok()
    {
        return Err(bad());
    }
    Ok(())
}

pub fn validate_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > 1024 {
        return Err(Error::InvalidArgument(
            "Object key must be between 1 and 1024 bytes long".into(),
        ));
    }
    Ok(())
}

impl S3 {
    pub fn open(
        meta: Arc<Meta>,
        store: Arc<dyn ObjectStore>,
        keys: Arc<dyn KeyService>,
        local_root: Option<std::path::PathBuf>,
    ) -> Result<S3> {
        store::migrate(&meta)?;
        let buckets = store::load_buckets(&meta)?
            .into_iter()
            .map(|b| (b.name.clone(), b))
            .collect();
        Ok(S3 {
            meta,
            store,
            keys,
            local_root,
            buckets: RwLock::new(buckets),
            lock_state: parking_lot::Mutex::new(()),
        })
    }

    /// A bucket by name. Whether the caller may use it was decided before the call:
    /// another account's bucket only through its bucket policy (see [`S3::owner`]).
    pub fn bucket(&self, _scope: &Scope, name: &str) -> Result<Bucket> {
        self.buckets
            .read()
            .get(name)
            .cloned()
            .ok_or_else(|| Error::NoSuchBucket(name.to_owned()))
    }

    /// The account owning a bucket, and its policy: what authorization needs.
    pub fn owner(&self, name: &str) -> Option<(String, Option<String>)> {
        self.buckets
            .read()
            .get(name)
            .map(|b| (b.account.clone(), b.policy.clone()))
    }

    fn save_bucket(&self, b: Bucket) -> Result<()> {
        store::put_bucket(&self.meta, &b)?;
        self.buckets.write().insert(b.name.clone(), b);
        Ok(())
    }

    pub fn set_policy(&self, scope: &Scope, name: &str, policy: Option<String>) -> Result<()> {
        if let Some(p) = &policy {
            if !p.trim_start().starts_with('{') {
                return Err(Error::MalformedPolicy(
                    "Policies must be valid JSON and the first byte must be '{'".into(),
                ));
            }
            sightline_policy::Policy::parse(p, sightline_policy::PolicyKind::Resource)
                .map_err(|e| Error::MalformedPolicy(e.to_string()))?;
        }
        let mut b = self.bucket(scope, name)?;
        b.policy = policy;
        self.save_bucket(b)
    }

    /// PutObjectLockConfiguration: only on buckets created with Object Lock.
    pub fn set_lock_configuration(
        &self,
        scope: &Scope,
        name: &str,
        default: Option<DefaultRetention>,
    ) -> Result<()> {
        let mut b = self.bucket(scope, name)?;
        if !b.object_lock {
            return Err(Error::InvalidBucketState);
        }
        b.default_retention = default;
        self.save_bucket(b)
    }

    /// A version's current lock state allows deleting it (or shortening its retention)
    /// now: no legal hold, no compliance retention in force, governance only with the
    /// bypass (whose permission was checked before the call).
    fn unlocked(v: &ObjectVersion, bypass: bool, now: DateTime<Utc>) -> Result<()> {
        if v.legal_hold {
            return Err(Error::AccessDenied);
        }
        match v.retention {
            Some(r) if r.until > now => match r.mode {
                LockMode::Compliance => Err(Error::AccessDenied),
                LockMode::Governance if bypass => Ok(()),
                LockMode::Governance => Err(Error::AccessDenied),
            },
            _ => Ok(()),
        }
    }

    /// The version whose lock state a call reads or changes; only lock-enabled buckets
    /// have one.
    pub fn version_for_lock(
        &self,
        scope: &Scope,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<ObjectVersion> {
        let b = self.bucket(scope, bucket)?;
        if !b.object_lock {
            return Err(Error::InvalidRequest(
                "Bucket is missing Object Lock Configuration".into(),
            ));
        }
        self.resolve(scope, bucket, key, version_id)
    }

    /// PutObjectRetention: extending is always allowed; shortening, removing or
    /// weakening needs the version to be unlocked (governance with the bypass).
    pub fn set_retention(
        &self,
        scope: &Scope,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        new: Option<Retention>,
        bypass: bool,
    ) -> Result<()> {
        let now = Utc::now();
        if let Some(r) = &new
            && r.until <= now
        {
            return Err(Error::InvalidArgument(
                "The retain until date must be in the future!".into(),
            ));
        }
        let _held = self.lock_state.lock();
        let mut v = self.version_for_lock(scope, bucket, key, version_id)?;
        let weaker = match (v.retention, new) {
            (None, _) => false,
            (Some(old), None) => old.until > now,
            (Some(old), Some(n)) => {
                n.until < old.until
                    || (old.mode == LockMode::Compliance && n.mode == LockMode::Governance)
            }
        };
        if weaker {
            let mut held = v.clone();
            held.legal_hold = false;
            Self::unlocked(&held, bypass, now)?;
        }
        v.retention = new;
        store::update_version(&self.meta, bucket, &v)
    }

    pub fn set_legal_hold(
        &self,
        scope: &Scope,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        on: bool,
    ) -> Result<()> {
        let _held = self.lock_state.lock();
        let mut v = self.version_for_lock(scope, bucket, key, version_id)?;
        v.legal_hold = on;
        store::update_version(&self.meta, bucket, &v)
    }

    pub fn create_bucket(&self, scope: &Scope, name: &str, object_lock: bool) -> Result<Bucket> {
        validate_bucket_name(name)?;
        let mut buckets = self.buckets.write();
        if let Some(existing) = buckets.get(name) {
            return Err(if existing.account == scope.account_id {
                Error::BucketAlreadyOwnedByYou(name.to_owned())
            } else {
                Error::BucketAlreadyExists(name.to_owned())
            });
        }
        let bucket = Bucket {
            name: name.to_owned(),
            account: scope.account_id.clone(),
            region: scope.region.clone(),
            created: Utc::now(),
            versioning: if object_lock {
                Versioning::Enabled
            } else {
                Versioning::Unversioned
            },
            object_lock,
            default_retention: None,
            policy: None,
        };
        store::put_bucket(&self.meta, &bucket)?;
        buckets.insert(name.to_owned(), bucket.clone());
        Ok(bucket)
    }

    /// The caller's buckets by name.
    pub fn list_buckets(&self, scope: &Scope) -> Vec<Bucket> {
        let mut out: Vec<Bucket> = self
            .buckets
            .read()
            .values()
            .filter(|b| b.account == scope.account_id)
            .cloned()
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    pub fn delete_bucket(&self, scope: &Scope, name: &str) -> Result<()> {
        self.bucket(scope, name)?;
        if !store::delete_bucket_if_empty(&self.meta, name)? {
            return Err(Error::BucketNotEmpty(name.to_owned()));
        }
        self.buckets.write().remove(name);
        Ok(())
    }

    pub fn set_versioning(&self, scope: &Scope, name: &str, enabled: bool) -> Result<()> {
        let mut b = self.bucket(scope, name)?;
        if !enabled && b.object_lock {
            return Err(Error::InvalidArgument(
                "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.".into(),
            ));
        }
        b.versioning = match (enabled, b.versioning) {
            (true, _) => Versioning::Enabled,
            (false, _) => Versioning::Suspended,
        };
        store::put_bucket(&self.meta, &b)?;
        self.buckets.write().insert(name.to_owned(), b);
        Ok(())
    }

    fn new_version_id(bucket: &Bucket) -> String {
        match bucket.versioning {
            Versioning::Enabled => uuid::Uuid::new_v4().simple().to_string(),
            _ => NULL_VERSION.to_owned(),
        }
    }

    /// Makes a stored blob durable (local directory stores only): nothing is
    /// acknowledged before its bytes would survive a power loss.
    fn sync_blob(&self, blob: &str) -> Result<()> {
        let Some(root) = &self.local_root else {
            return Ok(());
        };
        let path = root.join(blob);
        let io = |e: std::io::Error| Error::Storage(format!("sync {}: {e}", path.display()));
        std::fs::File::open(&path)
            .and_then(|f| f.sync_all())
            .map_err(io)?;
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir)
                .and_then(|f| f.sync_all())
                .map_err(io)?;
        }
        Ok(())
    }

    async fn free(&self, blobs: Vec<String>) {
        for b in blobs {
            if let Err(e) = self.store.delete(&StorePath::from(b.as_str())).await {
                tracing::warn!(blob = %b, error = %e, "s3 blob not deleted");
            }
        }
    }

    pub async fn put_object(
        &self,
        caller: &KeyRequest<'_>,
        scope: &Scope,
        bucket: &str,
        key: &str,
        obj: NewObject,
    ) -> Result<ObjectVersion> {
        validate_key(key)?;
        let b = self.bucket(scope, bucket)?;
        if !b.object_lock && (obj.retention.is_some() || obj.legal_hold) {
            return Err(Error::InvalidRequest(
                "Bucket is missing Object Lock Configuration".into(),
            ));
        }
        let now = Utc::now();
        let retention = match (obj.retention, b.default_retention) {
            (Some(r), _) => Some(r),
            (None, None) => None,
            (None, Some(d)) => {
                let days = d.days.unwrap_or(0) + 365 * d.years.unwrap_or(0).min(100);
                let until = now
                    .checked_add_signed(Duration::days(days.min(36_500)))
                    .ok_or_else(|| Error::InvalidArgument("retention period too long".into()))?;
                Some(Retention {
                    mode: d.mode,
                    until,
                })
            }
        };
        let blob = format!("{bucket}/{}", uuid::Uuid::new_v4().simple());
        let etag = hex::encode(Md5::digest(&obj.body));
        let size = obj.body.len() as u64;
        let (encryption, stored) = match &obj.sse {
            None => (None, obj.body),
            Some(SseRequest::S3Managed) => (Some(Encryption::S3Managed), obj.body),
            Some(SseRequest::Kms(key_id)) => {
                let dk = self
                    .keys
                    .generate_data_key(
                        caller,
                        key_id,
                        &object_context(bucket, key, &obj.kms_context),
                    )
                    .await?;
                let sealed = seal(&dk.plaintext, &obj.body)?;
                (
                    Some(Encryption::Kms {
                        key_arn: dk.key_arn,
                        data_key: dk.ciphertext,
                        context: obj.kms_context.clone(),
                    }),
                    Bytes::from(sealed),
                )
            }
        };
        self.store
            .put(&StorePath::from(blob.as_str()), stored.into())
            .await?;
        self.sync_blob(&blob)?;
        let v = ObjectVersion {
            key: key.to_owned(),
            version_id: Self::new_version_id(&b),
            delete_marker: false,
            size,
            etag,
            content_type: obj.content_type,
            metadata: obj.metadata,
            last_modified: now,
            blob: Some(blob),
            retention,
            legal_hold: obj.legal_hold,
            encryption,
            latest: true,
        };
        let Some(freed) = store::add_version(&self.meta, bucket, &v)? else {
            // The bucket was deleted while the bytes were stored.
            self.free(vec![blob_path(&v)]).await;
            return Err(Error::NoSuchBucket(bucket.to_owned()));
        };
        self.free(freed).await;
        Ok(v)
    }

    /// The version a read names: the latest (404 if it is a delete marker) or the given
    /// one (405 if that is a delete marker).
    pub fn resolve(
        &self,
        scope: &Scope,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<ObjectVersion> {
        self.bucket(scope, bucket)?;
        match version_id {
            None => match store::latest(&self.meta, bucket, key)? {
                Some(v) if v.delete_marker => Err(Error::DeleteMarker {
                    named: false,
                    version_id: v.version_id,
                }),
                Some(v) => Ok(v),
                None => Err(Error::NoSuchKey(key.to_owned())),
            },
            Some(id) => match store::version(&self.meta, bucket, key, id)? {
                Some(v) if v.delete_marker => Err(Error::DeleteMarker {
                    named: true,
                    version_id: v.version_id,
                }),
                Some(v) => Ok(v),
                None => Err(Error::NoSuchVersion(id.to_owned())),
            },
        }
    }

    /// Bytes `range` (inclusive start, exclusive end) of a resolved version.
    /// Bytes `range` of a resolved version. A KMS-encrypted version is opened with its
    /// data key, which the caller must be allowed to decrypt.
    pub async fn read(
        &self,
        caller: &KeyRequest<'_>,
        bucket: &str,
        v: &ObjectVersion,
        range: std::ops::Range<u64>,
    ) -> Result<Bytes> {
        let Some(blob) = &v.blob else {
            return Ok(Bytes::new());
        };
        let path = StorePath::from(blob.as_str());
        if let Some(Encryption::Kms {
            data_key, context, ..
        }) = &v.encryption
        {
            let (_, key) = self
                .keys
                .decrypt(caller, data_key, &object_context(bucket, &v.key, context))
                .await?;
            let sealed = self.store.get(&path).await?.bytes().await?;
            let plain = open_sealed(&key, &sealed)?;
            let (a, b) = (range.start as usize, (range.end as usize).min(plain.len()));
            return Ok(Bytes::from(plain).slice(a.min(b)..b));
        }
        if range.is_empty() {
            return Ok(Bytes::new());
        }
        Ok(self.store.get_range(&path, range).await?)
    }

    /// Deletes a version (when `version_id` is given; refused while it is locked) or
    /// the key (a delete marker in versioned buckets, which a lock never prevents).
    pub async fn delete_object(
        &self,
        scope: &Scope,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        bypass_governance: bool,
    ) -> Result<Deleted> {
        let b = self.bucket(scope, bucket)?;
        if let Some(id) = version_id {
            let (marker, freed) = {
                let _held = self.lock_state.lock();
                let existing = store::version(&self.meta, bucket, key, id)?;
                if let Some(v) = &existing {
                    Self::unlocked(v, bypass_governance, Utc::now())?;
                }
                let marker = existing.as_ref().is_some_and(|v| v.delete_marker);
                (marker, store::delete_version(&self.meta, bucket, key, id)?)
            };
            if let Some(Some(blob)) = freed {
                self.free(vec![blob]).await;
            }
            return Ok(Deleted {
                version_id: Some(id.to_owned()),
                delete_marker: marker,
            });
        }
        match b.versioning {
            Versioning::Unversioned => {
                if let Some(Some(blob)) =
                    store::delete_version(&self.meta, bucket, key, NULL_VERSION)?
                {
                    self.free(vec![blob]).await;
                }
                Ok(Deleted {
                    version_id: None,
                    delete_marker: false,
                })
            }
            _ => {
                let marker = ObjectVersion {
                    key: key.to_owned(),
                    version_id: Self::new_version_id(&b),
                    delete_marker: true,
                    size: 0,
                    etag: String::new(),
                    content_type: None,
                    metadata: BTreeMap::new(),
                    last_modified: Utc::now(),
                    blob: None,
                    retention: None,
                    legal_hold: false,
                    encryption: None,
                    latest: true,
                };
                let freed = store::add_version(&self.meta, bucket, &marker)?
                    .ok_or_else(|| Error::NoSuchBucket(bucket.to_owned()))?;
                self.free(freed).await;
                Ok(Deleted {
                    version_id: Some(marker.version_id),
                    delete_marker: true,
                })
            }
        }
    }

    /// Live objects, the latest version of each key.
    pub fn list_objects(&self, scope: &Scope, bucket: &str, q: ListQuery<'_>) -> Result<Listing> {
        self.bucket(scope, bucket)?;
        let mut out = Listing::default();
        let mut cursor = q.after.to_owned();
        'scan: loop {
            let rows = store::list_latest(&self.meta, bucket, q.prefix, &cursor, q.max.max(1) + 1)?;
            if rows.is_empty() {
                break;
            }
            for v in rows {
                cursor = v.key.clone();
                match out.offer(v, &q) {
                    Offer::Skipped | Offer::Taken => {}
                    Offer::Full => break 'scan,
                    Offer::RolledUp(p) => {
                        cursor = past(&p);
                        continue 'scan;
                    }
                }
            }
        }
        Ok(out)
    }

    /// Versions in (key, newest first) order after the markers.
    pub fn list_versions(&self, scope: &Scope, bucket: &str, q: ListQuery<'_>) -> Result<Listing> {
        self.bucket(scope, bucket)?;
        let after_seq = match q.version_marker {
            None => None,
            Some(_) if q.after.is_empty() => {
                return Err(Error::InvalidArgument(
                    "A version-id marker cannot be specified without a key marker.".into(),
                ));
            }
            Some(id) => Some(
                store::version_seq(&self.meta, bucket, q.after, id)?
                    .ok_or_else(|| Error::InvalidArgument("Invalid version id specified".into()))?,
            ),
        };
        let mut out = Listing::default();
        let (mut key_cursor, mut seq_cursor) = (q.after.to_owned(), after_seq);
        'scan: loop {
            let rows = store::list_versions(
                &self.meta,
                bucket,
                q.prefix,
                &key_cursor,
                seq_cursor,
                q.max.max(1) + 1,
            )?;
            if rows.is_empty() {
                break;
            }
            for (seq, v) in rows {
                key_cursor = v.key.clone();
                seq_cursor = Some(seq);
                match out.offer(v, &q) {
                    Offer::Skipped | Offer::Taken => {}
                    Offer::Full => break 'scan,
                    Offer::RolledUp(p) => {
                        key_cursor = past(&p);
                        seq_cursor = None;
                        continue 'scan;
                    }
                }
            }
        }
        Ok(out)
    }
}

/// What a listing did with one row.
enum Offer {
    /// Under a prefix already listed (or at or before the marker).
    Skipped,
    /// The page is full: the listing is truncated here.
    Full,
    /// Rolled up into this new common prefix: the scan continues past it.
    RolledUp(String),
    Taken,
}

impl Listing {
    fn offer(&mut self, v: ObjectVersion, q: &ListQuery<'_>) -> Offer {
        let rolled = rolled_up(&v.key, q.prefix, q.delimiter);
        if let Some(p) = &rolled
            && (self.prefixes.last() == Some(p) || p.as_str() <= q.after)
        {
            return Offer::Skipped;
        }
        if self.items.len() + self.prefixes.len() == q.max {
            self.truncated = true;
            return Offer::Full;
        }
        match rolled {
            Some(p) => {
                self.last = Some(p.clone());
                self.last_version = None;
                self.prefixes.push(p.clone());
                Offer::RolledUp(p)
            }
            None => {
                self.last = Some(v.key.clone());
                self.last_version = Some(v.version_id.clone());
                self.items.push(v);
                Offer::Taken
            }
        }
    }
}

/// The first key after every key under `prefix`.
fn past(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

fn blob_path(v: &ObjectVersion) -> String {
    v.blob.clone().unwrap_or_default()
}

/// The common prefix a key rolls up into under `delimiter`, if any.
fn rolled_up(key: &str, prefix: &str, delimiter: Option<&str>) -> Option<String> {
    let d = delimiter.filter(|d| !d.is_empty())?;
    let rest = key.strip_prefix(prefix)?;
    let at = rest.find(d)?;
    Some(format!("{prefix}{}", &rest[..at + d.len()]))
}
