//! Users, roles, managed policies and access keys. Users and roles share inline
//! policies, attachments and tags through the [`Entity`] trait.

use super::{Identity, State, access_key_id, not_found_user, secret_key, unique_id};
use crate::model::*;
use crate::store::{Batch, kind};
use crate::{Error, Result};
use chrono::Utc;
use sightline_policy::PolicyKind;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityKind {
    User,
    Role,
}

/// What users and roles have in common.
pub trait Entity: Clone + serde::Serialize {
    const KIND: EntityKind;
    const STORE: &'static str;
    fn map(st: &State) -> &BTreeMap<(String, String), Self>;
    fn map_mut(st: &mut State) -> &mut BTreeMap<(String, String), Self>;
    fn name(&self) -> &str;
    fn account(&self) -> &str;
    fn inline(&mut self) -> &mut BTreeMap<String, PolicyDoc>;
    fn attached(&mut self) -> &mut Vec<String>;
    fn tags(&mut self) -> &mut Vec<Tag>;
    fn not_found(name: &str) -> Error;
}

/// Users and roles expose the same fields under the same names.
macro_rules! entity_accessors {
    ($map:ident) => {
        fn map(st: &State) -> &BTreeMap<(String, String), Self> {
            &st.$map
        }
        fn map_mut(st: &mut State) -> &mut BTreeMap<(String, String), Self> {
            &mut st.$map
        }
        fn name(&self) -> &str {
            &self.name
        }
        fn account(&self) -> &str {
            &self.account
        }
        fn inline(&mut self) -> &mut BTreeMap<String, PolicyDoc> {
            &mut self.inline
        }
        fn attached(&mut self) -> &mut Vec<String> {
            &mut self.attached
        }
        fn tags(&mut self) -> &mut Vec<Tag> {
            &mut self.tags
        }
    };
}

impl Entity for User {
    const KIND: EntityKind = EntityKind::User;
    const STORE: &'static str = kind::USER;
    entity_accessors!(users);
    fn not_found(name: &str) -> Error {
        not_found_user(name)
    }
}

impl Entity for Role {
    const KIND: EntityKind = EntityKind::Role;
    const STORE: &'static str = kind::ROLE;
    entity_accessors!(roles);
    fn not_found(name: &str) -> Error {
        Error::NoSuchEntity(format!("The role with name {name} cannot be found."))
    }
}

fn key(account: &str, name: &str) -> (String, String) {
    (account.to_owned(), name.to_owned())
}

/// What CreateRole (and the role provider) asks for.
pub struct NewRole<'a> {
    pub name: &'a str,
    pub path: Option<&'a str>,
    pub trust: &'a str,
    pub description: Option<String>,
    pub max_session_duration: Option<i64>,
    pub tags: Vec<Tag>,
}

/// One page of a Marker/MaxItems listing.
#[derive(Debug, Clone)]
pub struct ListPage<T> {
    pub items: Vec<T>,
    pub marker: Option<String>,
}

impl<T> ListPage<T> {
    /// Markers are offsets into a stable (sorted) listing, opaque to clients.
    pub fn paginate(
        all: Vec<T>,
        marker: Option<&str>,
        max_items: Option<i64>,
    ) -> Result<ListPage<T>> {
        let start = match marker {
            Some(m) => m
                .parse::<usize>()
                .map_err(|_| Error::InvalidInput("Invalid Marker.".into()))?,
            None => 0,
        };
        let max = match max_items {
            Some(n) if !(1..=1000).contains(&n) => {
                return Err(Error::Validation(format!(
                    "1 validation error detected: Value '{n}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000"
                )));
            }
            Some(n) => n as usize,
            None => 100,
        };
        let total = all.len();
        let items: Vec<T> = all.into_iter().skip(start).take(max).collect();
        let next = start + items.len();
        Ok(ListPage {
            items,
            marker: (next < total).then(|| next.to_string()),
        })
    }
}

/// Names of users, roles and policies: `[\w+=,.@-]+` within a length range.
pub fn validate_name(field: &str, value: &str, max: usize) -> Result<()> {
    let ok = !value.is_empty()
        && value.len() <= max
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::Validation(format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
        )))
    }
}

pub fn validate_path(path: &str) -> Result<()> {
    let ok = path == "/"
        || (path.len() <= 512
            && path.starts_with('/')
            && path.ends_with('/')
            && path.chars().all(|c| ('\u{21}'..='\u{7e}').contains(&c)));
    if ok {
        Ok(())
    } else {
        Err(Error::Validation(format!(
            "1 validation error detected: Value '{path}' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)"
        )))
    }
}

pub fn parse_identity_policy(text: &str) -> Result<PolicyDoc> {
    PolicyDoc::parse(text, PolicyKind::Identity)
        .map_err(|e| Error::MalformedPolicyDocument(e.to_string()))
}

fn validate_tags(tags: &[Tag]) -> Result<()> {
    for t in tags {
        if t.key.is_empty() || t.key.len() > 128 || t.value.len() > 256 {
            return Err(Error::Validation(format!(
                "1 validation error detected: Value '{}' at 'tags.member.key' failed to satisfy constraint: Member must have length between 1 and 128",
                t.key
            )));
        }
    }
    Ok(())
}

impl Identity {
    fn persist<T: Entity>(&self, e: &T) -> Result<()> {
        let mut b = Batch::default();
        b.put(
            T::STORE,
            &format!("{}/{}", e.account(), e.name()),
            e.account(),
            e,
        )?;
        b.commit(&self.meta)
    }

    /// Applies `f` to a copy, writes it through, then makes it visible.
    fn update_entity<T: Entity, R>(
        &self,
        account: &str,
        name: &str,
        f: impl FnOnce(&mut T, &State) -> Result<R>,
    ) -> Result<R> {
        let mut st = self.state.write();
        let mut e = T::map(&st)
            .get(&key(account, name))
            .cloned()
            .ok_or_else(|| T::not_found(name))?;
        let out = f(&mut e, &st)?;
        self.persist(&e)?;
        T::map_mut(&mut st).insert(key(account, name), e);
        Ok(out)
    }

    pub fn get_entity<T: Entity>(&self, account: &str, name: &str) -> Result<T> {
        T::map(&self.state.read())
            .get(&key(account, name))
            .cloned()
            .ok_or_else(|| T::not_found(name))
    }

    pub fn create_user(
        &self,
        account: &str,
        name: &str,
        path: Option<&str>,
        tags: Vec<Tag>,
    ) -> Result<User> {
        validate_name("userName", name, 64)?;
        let path = path.unwrap_or("/");
        validate_path(path)?;
        validate_tags(&tags)?;
        let mut st = self.state.write();
        if st
            .users
            .keys()
            .any(|(a, n)| a == account && n.eq_ignore_ascii_case(name))
        {
            return Err(Error::EntityAlreadyExists(format!(
                "User with name {name} already exists."
            )));
        }
        let user = User {
            account: account.to_owned(),
            name: name.to_owned(),
            path: path.to_owned(),
            id: unique_id("AIDA"),
            created: Utc::now(),
            tags,
            inline: BTreeMap::new(),
            attached: vec![],
        };
        self.persist(&user)?;
        st.users.insert(key(account, name), user.clone());
        Ok(user)
    }

    pub fn list_users(&self, account: &str, path_prefix: Option<&str>) -> Vec<User> {
        let prefix = path_prefix.unwrap_or("/");
        self.state
            .read()
            .users
            .values()
            .filter(|u| u.account == account && u.path.starts_with(prefix))
            .cloned()
            .collect()
    }

    pub fn delete_user(&self, account: &str, name: &str) -> Result<()> {
        let mut st = self.state.write();
        let u = st
            .users
            .get(&key(account, name))
            .ok_or_else(|| not_found_user(name))?;
        let owner = KeyOwner::User(name.to_owned());
        if st
            .keys
            .values()
            .any(|k| k.account == account && k.owner == owner)
        {
            return Err(Error::DeleteConflict(
                "Cannot delete entity, must delete access keys first.".into(),
            ));
        }
        if !u.inline.is_empty() {
            return Err(Error::DeleteConflict(
                "Cannot delete entity, must delete policies first.".into(),
            ));
        }
        if !u.attached.is_empty() {
            return Err(Error::DeleteConflict(
                "Cannot delete entity, must detach all policies first.".into(),
            ));
        }
        let mut b = Batch::default();
        b.delete(kind::USER, &format!("{account}/{name}"));
        b.commit(&self.meta)?;
        st.users.remove(&key(account, name));
        Ok(())
    }

    pub fn create_role(&self, account: &str, spec: NewRole<'_>) -> Result<Role> {
        let NewRole {
            name,
            path,
            trust,
            description,
            max_session_duration,
            tags,
        } = spec;
        validate_name("roleName", name, 64)?;
        let path = path.unwrap_or("/");
        validate_path(path)?;
        validate_tags(&tags)?;
        let max = max_session_duration.unwrap_or(3600);
        if !(3600..=43200).contains(&max) {
            return Err(Error::Validation(format!(
                "1 validation error detected: Value '{max}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value less than or equal to 43200"
            )));
        }
        let trust = PolicyDoc::parse(trust, PolicyKind::Trust)
            .map_err(|e| Error::MalformedPolicyDocument(e.to_string()))?;
        let mut st = self.state.write();
        if st
            .roles
            .keys()
            .any(|(a, n)| a == account && n.eq_ignore_ascii_case(name))
        {
            return Err(Error::EntityAlreadyExists(format!(
                "Role with name {name} already exists."
            )));
        }
        let role = Role {
            account: account.to_owned(),
            name: name.to_owned(),
            path: path.to_owned(),
            id: unique_id("AROA"),
            created: Utc::now(),
            trust,
            description,
            max_session_duration: max,
            tags,
            inline: BTreeMap::new(),
            attached: vec![],
        };
        self.persist(&role)?;
        st.roles.insert(key(account, name), role.clone());
        Ok(role)
    }

    pub fn list_roles(&self, account: &str, path_prefix: Option<&str>) -> Vec<Role> {
        let prefix = path_prefix.unwrap_or("/");
        self.state
            .read()
            .roles
            .values()
            .filter(|r| r.account == account && r.path.starts_with(prefix))
            .cloned()
            .collect()
    }

    pub fn update_role_trust(&self, account: &str, name: &str, trust: &str) -> Result<()> {
        let doc = PolicyDoc::parse(trust, PolicyKind::Trust)
            .map_err(|e| Error::MalformedPolicyDocument(e.to_string()))?;
        self.update_entity::<Role, _>(account, name, |r, _| {
            r.trust = doc;
            Ok(())
        })
    }

    pub fn delete_role(&self, account: &str, name: &str) -> Result<()> {
        let mut st = self.state.write();
        let r = st
            .roles
            .get(&key(account, name))
            .ok_or_else(|| Role::not_found(name))?;
        if !r.inline.is_empty() {
            return Err(Error::DeleteConflict(
                "Cannot delete entity, must delete policies first.".into(),
            ));
        }
        if !r.attached.is_empty() {
            return Err(Error::DeleteConflict(
                "Cannot delete entity, must detach all policies first.".into(),
            ));
        }
        let mut b = Batch::default();
        b.delete(kind::ROLE, &format!("{account}/{name}"));
        b.commit(&self.meta)?;
        st.roles.remove(&key(account, name));
        Ok(())
    }

    pub fn put_inline_policy<T: Entity>(
        &self,
        account: &str,
        entity: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<()> {
        validate_name("policyName", policy_name, 128)?;
        let doc = parse_identity_policy(document)?;
        self.update_entity::<T, _>(account, entity, |e, _| {
            e.inline().insert(policy_name.to_owned(), doc);
            Ok(())
        })
    }

    pub fn get_inline_policy<T: Entity>(
        &self,
        account: &str,
        entity: &str,
        policy_name: &str,
    ) -> Result<String> {
        let mut e: T = self.get_entity(account, entity)?;
        let kind = if T::KIND == EntityKind::User {
            "user"
        } else {
            "role"
        };
        e.inline()
            .get(policy_name)
            .map(|d| d.text.clone())
            .ok_or_else(|| {
                Error::NoSuchEntity(format!(
                    "The {kind} policy with name {policy_name} cannot be found."
                ))
            })
    }

    pub fn list_inline_policies<T: Entity>(
        &self,
        account: &str,
        entity: &str,
    ) -> Result<Vec<String>> {
        let mut e: T = self.get_entity(account, entity)?;
        Ok(e.inline().keys().cloned().collect())
    }

    pub fn delete_inline_policy<T: Entity>(
        &self,
        account: &str,
        entity: &str,
        policy_name: &str,
    ) -> Result<()> {
        let kind = if T::KIND == EntityKind::User {
            "user"
        } else {
            "role"
        };
        self.update_entity::<T, _>(account, entity, |e, _| {
            e.inline().remove(policy_name).map(|_| ()).ok_or_else(|| {
                Error::NoSuchEntity(format!(
                    "The {kind} policy with name {policy_name} cannot be found."
                ))
            })
        })
    }

    pub fn attach_policy<T: Entity>(
        &self,
        account: &str,
        entity: &str,
        policy_arn: &str,
    ) -> Result<()> {
        self.update_entity::<T, _>(account, entity, |e, st| {
            let p = st
                .policies
                .get(policy_arn)
                .filter(|p| p.account == account || p.account == AWS_OWNED);
            if p.is_none() {
                return Err(Error::NoSuchEntity(format!(
                    "Policy {policy_arn} does not exist or is not attachable."
                )));
            }
            if !e.attached().iter().any(|a| a == policy_arn) {
                if e.attached().len() >= 20 {
                    return Err(Error::LimitExceeded(
                        "Cannot exceed quota for PoliciesPerUser: 20".into(),
                    ));
                }
                e.attached().push(policy_arn.to_owned());
            }
            Ok(())
        })
    }

    pub fn detach_policy<T: Entity>(
        &self,
        account: &str,
        entity: &str,
        policy_arn: &str,
    ) -> Result<()> {
        self.update_entity::<T, _>(account, entity, |e, _| {
            let before = e.attached().len();
            e.attached().retain(|a| a != policy_arn);
            if e.attached().len() == before {
                return Err(Error::NoSuchEntity(format!(
                    "Policy {policy_arn} was not found."
                )));
            }
            Ok(())
        })
    }

    /// Attached policies as (name, ARN).
    pub fn list_attached<T: Entity>(
        &self,
        account: &str,
        entity: &str,
    ) -> Result<Vec<(String, String)>> {
        let mut e: T = self.get_entity(account, entity)?;
        let st = self.state.read();
        Ok(e.attached()
            .iter()
            .filter_map(|a| st.policies.get(a).map(|p| (p.name.clone(), a.clone())))
            .collect())
    }

    pub fn tag<T: Entity>(&self, account: &str, entity: &str, tags: Vec<Tag>) -> Result<()> {
        validate_tags(&tags)?;
        self.update_entity::<T, _>(account, entity, |e, _| {
            for t in tags {
                match e.tags().iter_mut().find(|x| x.key == t.key) {
                    Some(x) => x.value = t.value,
                    None => e.tags().push(t),
                }
            }
            if e.tags().len() > 50 {
                return Err(Error::LimitExceeded(
                    "The number of tags has reached the maximum limit.".into(),
                ));
            }
            Ok(())
        })
    }

    pub fn untag<T: Entity>(&self, account: &str, entity: &str, keys: &[String]) -> Result<()> {
        self.update_entity::<T, _>(account, entity, |e, _| {
            e.tags().retain(|t| !keys.contains(&t.key));
            Ok(())
        })
    }

    pub fn create_policy(
        &self,
        account: &str,
        name: &str,
        path: Option<&str>,
        document: &str,
        description: Option<String>,
        tags: Vec<Tag>,
    ) -> Result<ManagedPolicy> {
        validate_name("policyName", name, 128)?;
        let path = path.unwrap_or("/");
        validate_path(path)?;
        validate_tags(&tags)?;
        let document = parse_identity_policy(document)?;
        let now = Utc::now();
        let p = ManagedPolicy {
            account: account.to_owned(),
            name: name.to_owned(),
            path: path.to_owned(),
            id: unique_id("ANPA"),
            description,
            created: now,
            updated: now,
            document,
            tags,
        };
        let mut st = self.state.write();
        if st
            .policies
            .values()
            .any(|x| x.account == account && x.name == name)
        {
            return Err(Error::EntityAlreadyExists(format!(
                "A policy called {name} already exists. Duplicate names are not allowed."
            )));
        }
        let mut b = Batch::default();
        b.put(kind::POLICY, &p.arn(), account, &p)?;
        b.commit(&self.meta)?;
        st.policies.insert(p.arn(), p.clone());
        Ok(p)
    }

    /// A managed policy visible to the account (its own or AWS managed).
    pub fn get_policy(&self, account: &str, arn: &str) -> Result<ManagedPolicy> {
        self.state
            .read()
            .policies
            .get(arn)
            .filter(|p| p.account == account || p.account == AWS_OWNED)
            .cloned()
            .ok_or_else(|| {
                Error::NoSuchEntity(format!("Policy {arn} does not exist or is not attachable."))
            })
    }

    pub fn attachment_count(&self, arn: &str) -> usize {
        let st = self.state.read();
        st.users
            .values()
            .filter(|u| u.attached.iter().any(|a| a == arn))
            .count()
            + st.roles
                .values()
                .filter(|r| r.attached.iter().any(|a| a == arn))
                .count()
    }

    /// `scope`: All, AWS or Local, as ListPolicies takes it.
    pub fn list_policies(
        &self,
        account: &str,
        scope: &str,
        only_attached: bool,
        path_prefix: Option<&str>,
    ) -> Vec<ManagedPolicy> {
        let prefix = path_prefix.unwrap_or("/");
        let all: Vec<ManagedPolicy> = self
            .state
            .read()
            .policies
            .values()
            .filter(|p| match scope {
                "AWS" => p.account == AWS_OWNED,
                "Local" => p.account == account,
                _ => p.account == account || p.account == AWS_OWNED,
            })
            .filter(|p| p.path.starts_with(prefix))
            .cloned()
            .collect();
        if only_attached {
            all.into_iter()
                .filter(|p| self.attachment_count_in(account, &p.arn()) > 0)
                .collect()
        } else {
            all
        }
    }

    fn attachment_count_in(&self, account: &str, arn: &str) -> usize {
        let st = self.state.read();
        st.users
            .values()
            .filter(|u| u.account == account && u.attached.iter().any(|a| a == arn))
            .count()
            + st.roles
                .values()
                .filter(|r| r.account == account && r.attached.iter().any(|a| a == arn))
                .count()
    }

    pub fn delete_policy(&self, account: &str, arn: &str) -> Result<()> {
        let p = self.get_policy(account, arn)?;
        if p.account == AWS_OWNED {
            return Err(Error::InvalidInput(format!("ARN {arn} is not valid.")));
        }
        if self.attachment_count(arn) > 0 {
            return Err(Error::DeleteConflict(
                "Cannot delete a policy attached to entities.".into(),
            ));
        }
        let mut st = self.state.write();
        let mut b = Batch::default();
        b.delete(kind::POLICY, arn);
        b.commit(&self.meta)?;
        st.policies.remove(arn);
        Ok(())
    }

    pub fn create_access_key(&self, account: &str, owner: KeyOwner) -> Result<AccessKey> {
        let mut st = self.state.write();
        if let KeyOwner::User(name) = &owner
            && !st.users.contains_key(&key(account, name))
        {
            return Err(not_found_user(name));
        }
        if st
            .keys
            .values()
            .filter(|k| k.account == account && k.owner == owner)
            .count()
            >= 2
        {
            return Err(Error::LimitExceeded(
                "Cannot exceed quota for AccessKeysPerUser: 2".into(),
            ));
        }
        let k = AccessKey {
            id: access_key_id("AKIA"),
            secret: secret_key(),
            account: account.to_owned(),
            owner,
            active: true,
            created: Utc::now(),
        };
        let mut b = Batch::default();
        b.put(kind::ACCESS_KEY, &k.id, account, &k)?;
        b.commit(&self.meta)?;
        st.keys.insert(k.id.clone(), k.clone());
        Ok(k)
    }

    pub fn list_access_keys(&self, account: &str, owner: &KeyOwner) -> Result<Vec<AccessKey>> {
        let st = self.state.read();
        if let KeyOwner::User(name) = owner
            && !st.users.contains_key(&key(account, name))
        {
            return Err(not_found_user(name));
        }
        let mut keys: Vec<AccessKey> = st
            .keys
            .values()
            .filter(|k| k.account == account && &k.owner == owner)
            .cloned()
            .collect();
        keys.sort_by_key(|k| k.created);
        Ok(keys)
    }

    fn owned_key(st: &State, account: &str, owner: &KeyOwner, id: &str) -> Result<AccessKey> {
        if let KeyOwner::User(name) = owner
            && !st.users.contains_key(&key(account, name))
        {
            return Err(not_found_user(name));
        }
        st.keys
            .get(id)
            .filter(|k| k.account == account && &k.owner == owner)
            .cloned()
            .ok_or_else(|| {
                Error::NoSuchEntity(format!("The Access Key with id {id} cannot be found."))
            })
    }

    pub fn update_access_key(
        &self,
        account: &str,
        owner: &KeyOwner,
        id: &str,
        active: bool,
    ) -> Result<()> {
        let mut st = self.state.write();
        let mut k = Self::owned_key(&st, account, owner, id)?;
        k.active = active;
        let mut b = Batch::default();
        b.put(kind::ACCESS_KEY, &k.id, account, &k)?;
        b.commit(&self.meta)?;
        st.keys.insert(k.id.clone(), k);
        Ok(())
    }

    pub fn delete_access_key(&self, account: &str, owner: &KeyOwner, id: &str) -> Result<()> {
        let mut st = self.state.write();
        Self::owned_key(&st, account, owner, id)?;
        let mut b = Batch::default();
        b.delete(kind::ACCESS_KEY, id);
        b.commit(&self.meta)?;
        st.keys.remove(id);
        Ok(())
    }
}
