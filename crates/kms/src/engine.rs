//! The KMS engine: key lifecycle, aliases, policies, rotation, scheduled deletion and the
//! cryptographic operations. State is in memory behind one lock and written through to
//! SQLite first; time-driven changes (deletion at the end of the waiting period,
//! automatic rotation) are applied lazily on the first call after they fall due.

use crate::crypto::{self, Context, MasterKey, Secret};
use crate::model::{Alias, Key, KeyState, Material, Tag, default_policy};
use crate::{Error, Result, store};
use chrono::{DateTime, Duration, Utc};
use parking_lot::Mutex;
use sightline_core::Scope;
use sightline_meta::Meta;
use std::collections::HashMap;
use std::sync::Arc;

/// AWS bounds for `PendingWindowInDays`.
const PENDING_WINDOW_DAYS: std::ops::RangeInclusive<i64> = 7..=30;
/// AWS bounds for `RotationPeriodInDays`.
pub const ROTATION_PERIOD_DAYS: std::ops::RangeInclusive<i64> = 90..=2560;
const DEFAULT_ROTATION_DAYS: i64 = 365;
/// Largest Encrypt plaintext.
const MAX_PLAINTEXT: usize = 4096;

#[derive(Default)]
struct State {
    keys: HashMap<String, Key>,
    /// By alias ARN.
    aliases: HashMap<String, Alias>,
    /// When the next scheduled deletion or automatic rotation falls due.
    next_due: Option<DateTime<Utc>>,
}

impl State {
    fn recompute_due(&mut self) {
        self.next_due = self
            .keys
            .values()
            .filter_map(|k| match k.state {
                KeyState::PendingDeletion => k.deletion_date,
                _ if k.rotation_enabled => k.next_rotation,
                _ => None,
            })
            .min();
    }
}

pub struct Kms {
    meta: Arc<Meta>,
    master: MasterKey,
    state: Mutex<State>,
}

/// A key as the caller names it, resolved to the key's ARN.
pub fn key_arn(region: &str, account: &str, key_id: &str) -> String {
    format!("arn:aws:kms:{region}:{account}:key/{key_id}")
}

/// What a `KeyId` parameter names before it is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRef {
    Key(String),
    Alias(String),
}

/// Parses a `KeyId` (key id, key ARN, alias name or alias ARN) in the caller's scope.
pub fn parse_key_ref(scope: &Scope, key_id: &str) -> Result<KeyRef> {
    let invalid = || Error::NotFound(format!("Invalid keyId '{key_id}'"));
    if let Some(rest) = key_id.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        let [partition, service, region, account, resource] = parts[..] else {
            return Err(Error::NotFound(format!("Invalid arn {key_id}")));
        };
        if partition != "aws" || service != "kms" || region.is_empty() || account.len() != 12 {
            return Err(Error::NotFound(format!("Invalid arn {key_id}")));
        }
        // Keys are regional: another region's key is not found through this endpoint.
        if region != scope.region {
            return Err(Error::NotFound(format!("Key '{key_id}' does not exist")));
        }
        if let Some(id) = resource.strip_prefix("key/") {
            if uuid::Uuid::parse_str(id).is_err() {
                return Err(invalid());
            }
            return Ok(KeyRef::Key(key_id.to_owned()));
        }
        if resource.starts_with("alias/") {
            return Ok(KeyRef::Alias(key_id.to_owned()));
        }
        return Err(Error::NotFound(format!("Invalid arn {key_id}")));
    }
    if key_id.starts_with("alias/") {
        return Ok(KeyRef::Alias(format!(
            "arn:aws:kms:{}:{}:{key_id}",
            scope.region, scope.account_id
        )));
    }
    if uuid::Uuid::parse_str(key_id).is_err() {
        return Err(invalid());
    }
    Ok(KeyRef::Key(key_arn(
        &scope.region,
        &scope.account_id,
        key_id,
    )))
}

/// The usable state of a key for cryptographic operations.
fn usable(key: &Key) -> Result<()> {
    match key.state {
        KeyState::Enabled => Ok(()),
        KeyState::Disabled => Err(Error::Disabled(format!("{} is disabled.", key.arn))),
        KeyState::PendingDeletion => Err(Error::InvalidState(format!(
            "{} is pending deletion.",
            key.arn
        ))),
    }
}

fn not_pending(key: &Key) -> Result<()> {
    match key.state {
        KeyState::PendingDeletion => Err(Error::InvalidState(format!(
            "{} is pending deletion.",
            key.arn
        ))),
        _ => Ok(()),
    }
}

pub fn validate_alias_name(name: &str) -> Result<()> {
    if !name.starts_with("alias/") {
        return Err(Error::Validation(
            "1 validation error detected: Value at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^alias/[a-zA-Z0-9/_-]+$".into(),
        ));
    }
    let rest = &name["alias/".len()..];
    if rest.is_empty()
        || name.len() > 256
        || !rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-'))
    {
        return Err(Error::Validation(format!(
            "1 validation error detected: Value '{name}' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^alias/[a-zA-Z0-9/_-]+$"
        )));
    }
    if name.starts_with("alias/aws/") {
        return Err(Error::InvalidAliasName(
            "Alias names that begin with alias/aws/ are reserved.".into(),
        ));
    }
    Ok(())
}

/// Checks tags as AWS does before any is stored.
pub fn validate_tags(tags: &[Tag]) -> Result<()> {
    for t in tags {
        if t.key.is_empty() || t.key.chars().count() > 128 || t.value.chars().count() > 256 {
            return Err(Error::Tag(format!("Tag {} has an invalid length", t.key)));
        }
        if t.key.starts_with("aws:") {
            return Err(Error::Tag("Tags beginning with aws: are reserved.".into()));
        }
    }
    Ok(())
}

/// Inputs of CreateKey the engine acts on.
#[derive(Debug, Default)]
pub struct NewKey {
    pub description: String,
    pub policy: Option<String>,
    pub tags: Vec<Tag>,
}

/// What a data key operation hands back.
pub struct DataKey {
    pub key_arn: String,
    pub plaintext: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

pub struct Decrypted {
    pub key_arn: String,
    pub plaintext: Vec<u8>,
}

impl Kms {
    pub fn open(meta: Arc<Meta>, master: MasterKey) -> Result<Kms> {
        store::migrate(&meta)?;
        let mut state = State::default();
        for k in store::load_keys(&meta)? {
            state.keys.insert(k.arn.clone(), k);
        }
        for a in store::load_aliases(&meta)? {
            state.aliases.insert(a.arn(), a);
        }
        state.recompute_due();
        let kms = Kms {
            meta,
            master,
            state: Mutex::new(state),
        };
        // Every stored key must open under this master key: a wrong key file is a
        // configuration error to report at start, not on the first Decrypt.
        for key in kms.state.lock().keys.values() {
            for m in &key.materials {
                kms.master.unwrap(&key.arn, m.version, &m.wrapped)?;
            }
        }
        Ok(kms)
    }

    /// Applies deletions and automatic rotations that have fallen due.
    fn maintain(&self, st: &mut State, now: DateTime<Utc>) -> Result<()> {
        if st.next_due.is_none_or(|d| d > now) {
            return Ok(());
        }
        let due: Vec<String> = st
            .keys
            .values()
            .filter(|k| {
                (k.state == KeyState::PendingDeletion && k.deletion_date.is_some_and(|d| d <= now))
                    || (k.state != KeyState::PendingDeletion
                        && k.rotation_enabled
                        && k.next_rotation.is_some_and(|d| d <= now))
            })
            .map(|k| k.arn.clone())
            .collect();
        for arn in due {
            let Some(key) = st.keys.get(&arn).cloned() else {
                continue;
            };
            if key.state == KeyState::PendingDeletion {
                let aliases: Vec<String> = st
                    .aliases
                    .values()
                    .filter(|a| {
                        a.target_key_id == key.key_id
                            && a.account == key.account
                            && a.region == key.region
                    })
                    .map(Alias::arn)
                    .collect();
                store::delete_key(&self.meta, &key, &aliases)?;
                st.keys.remove(&arn);
                for a in aliases {
                    st.aliases.remove(&a);
                }
                tracing::info!(key = %arn, "kms key deleted after its waiting period");
            } else {
                let mut key = key;
                let mut next = key.next_rotation.unwrap_or(now);
                while next <= now {
                    next += Duration::days(key.rotation_period_days);
                }
                self.add_material(&mut key, "AUTOMATIC", now)?;
                key.next_rotation = Some(next);
                store::put_key(&self.meta, &key)?;
                st.keys.insert(arn, key);
            }
        }
        st.recompute_due();
        Ok(())
    }

    fn add_material(&self, key: &mut Key, rotation: &str, now: DateTime<Utc>) -> Result<()> {
        let version = key.current_material().map(|m| m.version + 1).unwrap_or(1);
        let secret = crypto::random_secret()?;
        key.materials.push(Material {
            version,
            wrapped: self.master.wrap(&key.arn, version, &secret)?,
            created: now,
            rotation_type: (!rotation.is_empty()).then(|| rotation.to_owned()),
        });
        Ok(())
    }

    /// Applies what has fallen due by `now` (the server's calls do this on the way in;
    /// public so that the waiting period and rotation schedule can be exercised).
    pub fn run_due(&self, now: DateTime<Utc>) -> Result<()> {
        let mut st = self.state.lock();
        self.maintain(&mut st, now)
    }

    /// Runs `f` on the state after due maintenance, under the lock.
    fn with<T>(&self, f: impl FnOnce(&mut State) -> Result<T>) -> Result<T> {
        let mut st = self.state.lock();
        self.maintain(&mut st, Utc::now())?;
        f(&mut st)
    }

    /// The ARN of the key a `KeyId` names (through its alias if it is one).
    pub fn resolve(&self, scope: &Scope, key_id: &str) -> Result<String> {
        let r = parse_key_ref(scope, key_id)?;
        self.with(|st| resolve_in(st, &r).map(|k| k.arn.clone()))
    }

    /// The key's policy, for authorization (None when the key does not exist).
    pub fn key_policy(&self, arn: &str) -> Option<String> {
        self.state.lock().keys.get(arn).map(|k| k.policy.clone())
    }

    fn material(&self, key: &Key, version: u32) -> Result<Secret> {
        let m = key
            .material(version)
            .ok_or_else(|| Error::InvalidCiphertext(String::new()))?;
        self.master.unwrap(&key.arn, m.version, &m.wrapped)
    }

    pub fn create_key(&self, scope: &Scope, new: NewKey) -> Result<Key> {
        validate_tags(&new.tags)?;
        let policy = match new.policy {
            Some(p) => {
                validate_policy(&p)?;
                p
            }
            None => default_policy(&scope.account_id),
        };
        let id = uuid::Uuid::new_v4().to_string();
        let now = Utc::now();
        let mut key = Key {
            arn: key_arn(&scope.region, &scope.account_id, &id),
            key_id: id,
            account: scope.account_id.clone(),
            region: scope.region.clone(),
            description: new.description,
            created: now,
            state: KeyState::Enabled,
            deletion_date: None,
            pending_window_days: None,
            policy,
            rotation_enabled: false,
            rotation_period_days: DEFAULT_ROTATION_DAYS,
            next_rotation: None,
            tags: new.tags,
            materials: Vec::new(),
        };
        self.add_material(&mut key, "", now)?;
        self.with(|st| {
            store::put_key(&self.meta, &key)?;
            st.keys.insert(key.arn.clone(), key.clone());
            Ok(key)
        })
    }

    pub fn describe(&self, scope: &Scope, key_id: &str) -> Result<Key> {
        let r = parse_key_ref(scope, key_id)?;
        self.with(|st| resolve_in(st, &r).cloned())
    }

    /// A key of the caller's own account: what management reads (the key policy, its
    /// tags) need, since AWS never serves them across accounts.
    pub fn describe_own(&self, scope: &Scope, key_id: &str) -> Result<Key> {
        let key = self.describe(scope, key_id)?;
        if key.account != scope.account_id {
            return Err(Error::NotFound(format!("Key '{}' does not exist", key.arn)));
        }
        Ok(key)
    }

    /// Keys of the scope, oldest first.
    pub fn list_keys(&self, scope: &Scope) -> Result<Vec<Key>> {
        self.with(|st| {
            let mut keys: Vec<Key> = st
                .keys
                .values()
                .filter(|k| k.account == scope.account_id && k.region == scope.region)
                .cloned()
                .collect();
            keys.sort_by(|a, b| a.created.cmp(&b.created).then(a.key_id.cmp(&b.key_id)));
            Ok(keys)
        })
    }

    /// Changes a key with `f` (which validates and edits), then stores it.
    fn update(
        &self,
        scope: &Scope,
        key_id: &str,
        f: impl FnOnce(&mut Key, DateTime<Utc>) -> Result<()>,
    ) -> Result<Key> {
        let r = parse_key_ref(scope, key_id)?;
        self.with(|st| {
            let mut key = resolve_in(st, &r)?.clone();
            // Only the cryptographic operations and DescribeKey work across accounts.
            if key.account != scope.account_id {
                return Err(Error::NotFound(format!("Key '{}' does not exist", key.arn)));
            }
            f(&mut key, Utc::now())?;
            store::put_key(&self.meta, &key)?;
            st.keys.insert(key.arn.clone(), key.clone());
            st.recompute_due();
            Ok(key)
        })
    }

    pub fn enable(&self, scope: &Scope, key_id: &str) -> Result<Key> {
        self.update(scope, key_id, |k, _| {
            not_pending(k)?;
            k.state = KeyState::Enabled;
            Ok(())
        })
    }

    pub fn disable(&self, scope: &Scope, key_id: &str) -> Result<Key> {
        self.update(scope, key_id, |k, _| {
            not_pending(k)?;
            k.state = KeyState::Disabled;
            Ok(())
        })
    }

    pub fn update_description(&self, scope: &Scope, key_id: &str, d: String) -> Result<Key> {
        self.update(scope, key_id, |k, _| {
            not_pending(k)?;
            k.description = d;
            Ok(())
        })
    }

    pub fn enable_rotation(&self, scope: &Scope, key_id: &str, period: Option<i64>) -> Result<Key> {
        if let Some(p) = period {
            range_check("rotationPeriodInDays", p, &ROTATION_PERIOD_DAYS)?;
        }
        self.update(scope, key_id, |k, now| {
            usable(k)?;
            let period = period.unwrap_or(k.rotation_period_days);
            if !k.rotation_enabled || period != k.rotation_period_days {
                k.next_rotation = Some(now + Duration::days(period));
            }
            k.rotation_enabled = true;
            k.rotation_period_days = period;
            Ok(())
        })
    }

    pub fn disable_rotation(&self, scope: &Scope, key_id: &str) -> Result<Key> {
        self.update(scope, key_id, |k, _| {
            usable(k)?;
            k.rotation_enabled = false;
            k.next_rotation = None;
            Ok(())
        })
    }

    pub fn rotate_on_demand(&self, scope: &Scope, key_id: &str) -> Result<Key> {
        self.update(scope, key_id, |k, now| {
            usable(k)?;
            self.add_material(k, "ON_DEMAND", now)
        })
    }

    pub fn schedule_deletion(
        &self,
        scope: &Scope,
        key_id: &str,
        window: Option<i64>,
    ) -> Result<Key> {
        let window = window.unwrap_or(30);
        range_check("pendingWindowInDays", window, &PENDING_WINDOW_DAYS)?;
        self.update(scope, key_id, |k, now| {
            not_pending(k)?;
            k.state = KeyState::PendingDeletion;
            k.deletion_date = Some(now + Duration::days(window));
            k.pending_window_days = Some(window);
            Ok(())
        })
    }

    pub fn cancel_deletion(&self, scope: &Scope, key_id: &str) -> Result<Key> {
        self.update(scope, key_id, |k, _| {
            if k.state != KeyState::PendingDeletion {
                return Err(Error::InvalidState(format!(
                    "{} is not pending deletion.",
                    k.arn
                )));
            }
            // As in AWS, a key whose deletion is cancelled comes back disabled.
            k.state = KeyState::Disabled;
            k.deletion_date = None;
            k.pending_window_days = None;
            Ok(())
        })
    }

    pub fn put_policy(&self, scope: &Scope, key_id: &str, policy: String) -> Result<Key> {
        validate_policy(&policy)?;
        self.update(scope, key_id, |k, _| {
            not_pending(k)?;
            k.policy = policy;
            Ok(())
        })
    }

    pub fn tag(&self, scope: &Scope, key_id: &str, tags: Vec<Tag>) -> Result<Key> {
        validate_tags(&tags)?;
        self.update(scope, key_id, |k, _| {
            not_pending(k)?;
            for t in tags {
                match k.tags.iter_mut().find(|x| x.key == t.key) {
                    Some(x) => x.value = t.value,
                    None => k.tags.push(t),
                }
            }
            if k.tags.len() > 50 {
                return Err(Error::Tag("A key can have at most 50 tags.".into()));
            }
            Ok(())
        })
    }

    pub fn untag(&self, scope: &Scope, key_id: &str, keys: Vec<String>) -> Result<Key> {
        self.update(scope, key_id, |k, _| {
            not_pending(k)?;
            k.tags.retain(|t| !keys.contains(&t.key));
            Ok(())
        })
    }

    pub fn create_alias(&self, scope: &Scope, name: &str, target: &str) -> Result<()> {
        validate_alias_name(name)?;
        let target = parse_key_ref(scope, target)?;
        let KeyRef::Key(target_arn) = target else {
            return Err(Error::Validation(
                "Aliases must refer to keys. Not aliases".into(),
            ));
        };
        self.with(|st| {
            let key = resolve_in(st, &KeyRef::Key(target_arn))?;
            not_pending(key)?;
            if key.account != scope.account_id || key.region != scope.region {
                return Err(Error::NotFound(format!("Key '{}' does not exist", key.arn)));
            }
            let now = Utc::now();
            let alias = Alias {
                name: name.to_owned(),
                account: scope.account_id.clone(),
                region: scope.region.clone(),
                target_key_id: key.key_id.clone(),
                created: now,
                updated: now,
            };
            if st.aliases.contains_key(&alias.arn()) {
                return Err(Error::AlreadyExists(format!(
                    "An alias with the name {} already exists",
                    alias.arn()
                )));
            }
            store::put_alias(&self.meta, &alias)?;
            st.aliases.insert(alias.arn(), alias);
            Ok(())
        })
    }

    pub fn update_alias(&self, scope: &Scope, name: &str, target: &str) -> Result<()> {
        let target = parse_key_ref(scope, target)?;
        let KeyRef::Key(target_arn) = target else {
            return Err(Error::Validation(
                "Aliases must refer to keys. Not aliases".into(),
            ));
        };
        let arn = format!("arn:aws:kms:{}:{}:{name}", scope.region, scope.account_id);
        self.with(|st| {
            let key = resolve_in(st, &KeyRef::Key(target_arn))?.clone();
            not_pending(&key)?;
            let alias = st
                .aliases
                .get(&arn)
                .ok_or_else(|| Error::NotFound(format!("Alias {arn} is not found.")))?;
            let mut alias = alias.clone();
            alias.target_key_id = key.key_id.clone();
            alias.updated = Utc::now();
            store::put_alias(&self.meta, &alias)?;
            st.aliases.insert(arn, alias);
            Ok(())
        })
    }

    pub fn delete_alias(&self, scope: &Scope, name: &str) -> Result<()> {
        validate_alias_name(name)?;
        let arn = format!("arn:aws:kms:{}:{}:{name}", scope.region, scope.account_id);
        self.with(|st| {
            if !st.aliases.contains_key(&arn) {
                return Err(Error::NotFound(format!("Alias {arn} is not found.")));
            }
            store::delete_alias(&self.meta, &arn)?;
            st.aliases.remove(&arn);
            Ok(())
        })
    }

    /// Aliases of the scope by name, optionally only those of one key.
    pub fn list_aliases(&self, scope: &Scope, key_id: Option<&str>) -> Result<Vec<Alias>> {
        let filter = match key_id {
            Some(k) => Some(self.describe(scope, k)?.key_id),
            None => None,
        };
        self.with(|st| {
            let mut out: Vec<Alias> = st
                .aliases
                .values()
                .filter(|a| a.account == scope.account_id && a.region == scope.region)
                .filter(|a| filter.as_ref().is_none_or(|k| &a.target_key_id == k))
                .cloned()
                .collect();
            out.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(out)
        })
    }

    /// Seals `plaintext` under the key's current material.
    pub fn encrypt(
        &self,
        scope: &Scope,
        key_id: &str,
        plaintext: &[u8],
        context: &Context,
    ) -> Result<(String, Vec<u8>)> {
        if plaintext.is_empty() || plaintext.len() > MAX_PLAINTEXT {
            return Err(Error::Validation(format!(
                "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length {}",
                if plaintext.is_empty() {
                    "greater than or equal to 1"
                } else {
                    "less than or equal to 4096"
                }
            )));
        }
        self.seal(scope, key_id, plaintext, context)
    }

    fn seal(
        &self,
        scope: &Scope,
        key_id: &str,
        plaintext: &[u8],
        context: &Context,
    ) -> Result<(String, Vec<u8>)> {
        let r = parse_key_ref(scope, key_id)?;
        let key = self.with(|st| {
            let key = resolve_in(st, &r)?;
            usable(key)?;
            Ok(key.clone())
        })?;
        let current = key
            .current_material()
            .ok_or_else(|| Error::Crypto(format!("{} has no material", key.arn)))?;
        let secret = self.material(&key, current.version)?;
        let blob = crypto::encrypt(&key.arn, current.version, &secret, plaintext, context)?;
        Ok((key.arn, blob))
    }

    /// The key a ciphertext blob names, checked against an explicit `KeyId`.
    pub fn blob_key(&self, scope: &Scope, blob: &[u8], key_id: Option<&str>) -> Result<String> {
        Ok(self.blob_header(scope, blob, key_id)?.key_arn)
    }

    fn blob_header(
        &self,
        scope: &Scope,
        blob: &[u8],
        key_id: Option<&str>,
    ) -> Result<crypto::BlobHeader> {
        let header =
            crypto::parse_blob(blob).ok_or_else(|| Error::InvalidCiphertext(String::new()))?;
        // A blob naming no key here was altered (or is not ours): that is a bad
        // ciphertext, not a missing key.
        if !self.state.lock().keys.contains_key(&header.key_arn) {
            return Err(Error::InvalidCiphertext(String::new()));
        }
        if let Some(k) = key_id {
            let named = self.resolve(scope, k)?;
            if named != header.key_arn {
                return Err(Error::IncorrectKey(
                    "The key ID in the request does not identify a CMK that can perform this operation.".into(),
                ));
            }
        }
        Ok(header)
    }

    pub fn decrypt(
        &self,
        scope: &Scope,
        blob: &[u8],
        key_id: Option<&str>,
        context: &Context,
    ) -> Result<Decrypted> {
        let header = self.blob_header(scope, blob, key_id)?;
        let key = self.with(|st| {
            let key = resolve_in(st, &KeyRef::Key(header.key_arn.clone()))?;
            usable(key)?;
            Ok(key.clone())
        })?;
        let secret = self.material(&key, header.version)?;
        let plaintext = crypto::decrypt(&header, blob, &secret, context)?
            .ok_or_else(|| Error::InvalidCiphertext(String::new()))?;
        Ok(Decrypted {
            key_arn: key.arn,
            plaintext,
        })
    }

    pub fn generate_data_key(
        &self,
        scope: &Scope,
        key_id: &str,
        number_of_bytes: Option<i64>,
        key_spec: Option<&str>,
        context: &Context,
    ) -> Result<DataKey> {
        let n = match (number_of_bytes, key_spec) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(Error::Validation(
                    "Please specify either number of bytes or key spec.".into(),
                ));
            }
            (Some(n), None) => {
                range_check("numberOfBytes", n, &(1..=1024))?;
                n as usize
            }
            (None, Some("AES_256")) => 32,
            (None, Some("AES_128")) => 16,
            (None, Some(other)) => {
                return Err(Error::Validation(format!(
                    "1 validation error detected: Value '{other}' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]"
                )));
            }
        };
        let plaintext = crypto::random_bytes(n)?;
        let (key_arn, ciphertext) = self.seal(scope, key_id, &plaintext, context)?;
        Ok(DataKey {
            key_arn,
            plaintext,
            ciphertext,
        })
    }

    pub fn generate_random(&self, n: Option<i64>) -> Result<Vec<u8>> {
        let n = n.ok_or_else(|| Error::Validation("NumberOfBytes is required.".into()))?;
        range_check("numberOfBytes", n, &(1..=1024))?;
        crypto::random_bytes(n as usize)
    }
}

fn range_check(member: &str, v: i64, range: &std::ops::RangeInclusive<i64>) -> Result<()> {
    if v < *range.start() {
        return Err(Error::Validation(format!(
            "1 validation error detected: Value '{v}' at '{member}' failed to satisfy constraint: Member must have value greater than or equal to {}",
            range.start()
        )));
    }
    if v > *range.end() {
        return Err(Error::Validation(format!(
            "1 validation error detected: Value '{v}' at '{member}' failed to satisfy constraint: Member must have value less than or equal to {}",
            range.end()
        )));
    }
    Ok(())
}

fn resolve_in<'a>(st: &'a State, r: &KeyRef) -> Result<&'a Key> {
    let arn = match r {
        KeyRef::Key(arn) => arn.clone(),
        KeyRef::Alias(alias_arn) => {
            let alias = st
                .aliases
                .get(alias_arn)
                .ok_or_else(|| Error::NotFound(format!("Alias {alias_arn} is not found.")))?;
            key_arn(&alias.region, &alias.account, &alias.target_key_id)
        }
    };
    st.keys
        .get(&arn)
        .ok_or_else(|| Error::NotFound(format!("Key '{arn}' does not exist")))
}

/// A key policy must parse as a resource policy naming principals.
fn validate_policy(doc: &str) -> Result<sightline_policy::Policy> {
    if doc.len() > 32 * 1024 {
        return Err(Error::Validation(
            "1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to 32768".into(),
        ));
    }
    sightline_policy::Policy::parse(doc, sightline_policy::PolicyKind::Resource)
        .map_err(|e| Error::MalformedPolicy(e.to_string()))
}

/// AWS's policy lockout safety check: a new key policy must let the principal setting it
/// change it again (directly or through its account), unless the caller bypasses the
/// check.
pub fn lockout_check(doc: &str, caller: &sightline_core::Caller) -> Result<()> {
    let policy = validate_policy(doc)?;
    let mut arns = vec![caller.identity_arn.clone()];
    if caller.arn != caller.identity_arn {
        arns.push(caller.arn.clone());
    }
    let principal = sightline_policy::Principal {
        account: caller.account_id.clone(),
        arns,
        service: None,
    };
    let context = sightline_policy::Context::new();
    let request = sightline_policy::Request {
        action: "kms:PutKeyPolicy",
        resource: "*",
        principal: &principal,
        context: &context,
    };
    match policy.evaluate(&request) {
        sightline_policy::Decision::Allow => Ok(()),
        _ => Err(Error::MalformedPolicy(
            "The new key policy will not allow you to update the key policy in the future.".into(),
        )),
    }
}
