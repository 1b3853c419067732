//! The identity engine: in-memory state written through to SQLite, authentication of
//! access keys, and authorization of calls against IAM policies.

mod entities;
mod ids;
mod org;
mod sessions;
pub use sessions::parse_role_arn;

pub use entities::{Entity, EntityKind, ListPage, NewRole};
pub use ids::*;

use crate::model::*;
use crate::store::{self, Batch, kind};
use crate::{Error, Result};
use chrono::Utc;
use parking_lot::RwLock;
use sightline_core::{Caller, PrincipalKind, SessionContext, SessionIssuer};
use sightline_meta::Meta;
use sightline_policy::{Context, Outcome, Policy, PolicyKind, Principal, Request};
use sightline_wire::{ResourcePolicy, ResourcePolicyKind};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

#[derive(Default)]
pub struct State {
    pub(crate) accounts: BTreeMap<String, Account>,
    pub(crate) organization: Option<Organization>,
    pub(crate) create_requests: BTreeMap<String, CreateAccountStatus>,
    pub(crate) users: BTreeMap<(String, String), User>,
    pub(crate) roles: BTreeMap<(String, String), Role>,
    /// Keyed by ARN; AWS managed policies live here too.
    pub(crate) policies: BTreeMap<String, ManagedPolicy>,
    pub(crate) keys: HashMap<String, AccessKey>,
    pub(crate) sessions: HashMap<String, Session>,
}

/// Limits that tests may lower (never raise) to exercise expiry quickly.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub min_session_seconds: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            min_session_seconds: 900,
        }
    }
}

pub struct Identity {
    pub(crate) meta: Arc<Meta>,
    pub(crate) state: RwLock<State>,
    pub(crate) limits: Limits,
}

/// What an access key resolves to.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub secret: String,
    pub caller: Caller,
    /// Session token the request must carry (temporary credentials only).
    pub token: Option<String>,
    pub expiration: Option<chrono::DateTime<Utc>>,
}

impl Identity {
    pub fn open(meta: Arc<Meta>, limits: Limits) -> Result<Identity> {
        store::migrate(&meta)?;
        let mut st = State::default();
        for a in store::load_all::<Account>(&meta, kind::ACCOUNT)? {
            st.accounts.insert(a.id.clone(), a);
        }
        st.organization = store::load_all::<Organization>(&meta, kind::ORGANIZATION)?
            .into_iter()
            .next();
        for c in store::load_all::<CreateAccountStatus>(&meta, kind::CREATE_ACCOUNT)? {
            st.create_requests.insert(c.id.clone(), c);
        }
        for mut u in store::load_all::<User>(&meta, kind::USER)? {
            u.inline
                .values_mut()
                .for_each(|d| d.hydrate(PolicyKind::Identity));
            st.users.insert((u.account.clone(), u.name.clone()), u);
        }
        for mut r in store::load_all::<Role>(&meta, kind::ROLE)? {
            r.inline
                .values_mut()
                .for_each(|d| d.hydrate(PolicyKind::Identity));
            r.trust.hydrate(PolicyKind::Trust);
            st.roles.insert((r.account.clone(), r.name.clone()), r);
        }
        for mut p in store::load_all::<ManagedPolicy>(&meta, kind::POLICY)? {
            p.document.hydrate(PolicyKind::Identity);
            st.policies.insert(p.arn(), p);
        }
        for k in store::load_all::<AccessKey>(&meta, kind::ACCESS_KEY)? {
            st.keys.insert(k.id.clone(), k);
        }
        let now = Utc::now();
        let mut expired = Batch::default();
        for s in store::load_all::<Session>(&meta, kind::SESSION)? {
            if s.expiration + chrono::Duration::hours(1) < now {
                expired.delete(kind::SESSION, &s.access_key_id);
            } else {
                st.sessions.insert(s.access_key_id.clone(), s);
            }
        }
        expired.commit(&meta)?;
        for p in aws_managed_policies() {
            st.policies.insert(p.arn(), p);
        }
        Ok(Identity {
            meta,
            state: RwLock::new(st),
            limits,
        })
    }

    /// Creates the management account, its organization and its root key on first start.
    /// Returns the root key when it was just created.
    pub fn bootstrap(&self) -> Result<Option<AccessKey>> {
        let mut st = self.state.write();
        if st.organization.is_some() {
            return Ok(None);
        }
        let now = Utc::now();
        let account = Account {
            id: account_id(),
            name: "management".into(),
            email: "management@sightline.local".into(),
            joined_method: "CREATED".into(),
            joined: now,
        };
        let org = Organization {
            id: org_id(),
            management_account_id: account.id.clone(),
            management_email: account.email.clone(),
        };
        let key = AccessKey {
            id: access_key_id("AKIA"),
            secret: secret_key(),
            account: account.id.clone(),
            owner: KeyOwner::Root,
            active: true,
            created: now,
        };
        let mut b = Batch::default();
        b.put(kind::ACCOUNT, &account.id, &account.id, &account)?;
        b.put(kind::ORGANIZATION, &org.id, &account.id, &org)?;
        b.put(kind::ACCESS_KEY, &key.id, &account.id, &key)?;
        b.commit(&self.meta)?;
        tracing::info!(account = %account.id, "management account created");
        st.accounts.insert(account.id.clone(), account);
        st.organization = Some(org);
        st.keys.insert(key.id.clone(), key.clone());
        Ok(Some(key))
    }

    pub fn management_account(&self) -> Option<String> {
        self.state
            .read()
            .organization
            .as_ref()
            .map(|o| o.management_account_id.clone())
    }

    /// The management account's first active root key, for rewriting lost client files.
    pub fn management_root_key(&self) -> Option<AccessKey> {
        let st = self.state.read();
        let mgmt = st.organization.as_ref()?.management_account_id.clone();
        let mut keys: Vec<&AccessKey> = st
            .keys
            .values()
            .filter(|k| k.account == mgmt && k.owner == KeyOwner::Root && k.active)
            .collect();
        keys.sort_by_key(|k| k.created);
        keys.first().map(|k| (*k).clone())
    }

    pub fn account_exists(&self, id: &str) -> bool {
        self.state.read().accounts.contains_key(id)
    }

    /// Resolves an access key id to its secret and the caller it stands for.
    pub fn authenticate(&self, access_key_id: &str) -> Option<Resolved> {
        let st = self.state.read();
        if let Some(k) = st.keys.get(access_key_id) {
            if !k.active {
                return None;
            }
            let caller = owner_caller(&st, &k.account, &k.owner, &k.id)?;
            return Some(Resolved {
                secret: k.secret.clone(),
                caller,
                token: None,
                expiration: None,
            });
        }
        let s = st.sessions.get(access_key_id)?;
        let caller = session_caller(&st, s)?;
        Some(Resolved {
            secret: s.secret.clone(),
            caller,
            token: Some(s.token.clone()),
            expiration: Some(s.expiration),
        })
    }

    /// Identity-based policies in force for a caller (inline and attached).
    pub fn identity_policies(&self, caller: &Caller) -> Vec<Arc<Policy>> {
        let st = self.state.read();
        let mut out = Vec::new();
        let mut collect = |inline: &BTreeMap<String, PolicyDoc>, attached: &[String]| {
            out.extend(inline.values().filter_map(|d| d.parsed.clone()));
            out.extend(
                attached
                    .iter()
                    .filter_map(|a| st.policies.get(a))
                    .filter_map(|p| p.document.parsed.clone()),
            );
        };
        match caller.kind {
            PrincipalKind::IAMUser => {
                if let Some(u) = caller
                    .user_name
                    .as_ref()
                    .and_then(|n| st.users.get(&(caller.account_id.clone(), n.clone())))
                {
                    collect(&u.inline, &u.attached);
                }
            }
            PrincipalKind::AssumedRole => {
                let role = caller.session.as_ref().map(|s| s.issuer.user_name.clone());
                if let Some(r) = role.and_then(|n| st.roles.get(&(caller.account_id.clone(), n))) {
                    collect(&r.inline, &r.attached);
                }
            }
            _ => {}
        }
        out
    }

    /// AWS's decision for one action on one resource. The root user may do anything in
    /// its own account; elsewhere only what a resource policy grants it.
    pub fn authorize(
        &self,
        caller: &Caller,
        action: &str,
        resource: &str,
        context: &Context,
        resource_policy: Option<&ResourcePolicy>,
    ) -> Outcome {
        self.authorize_owned(caller, action, resource, context, resource_policy, None)
    }

    /// [`Identity::authorize`] for resources whose ARN names no account (S3 buckets and
    /// objects): `owner` is the account the resource belongs to, which decides whether
    /// the call crosses accounts.
    pub fn authorize_owned(
        &self,
        caller: &Caller,
        action: &str,
        resource: &str,
        context: &Context,
        resource_policy: Option<&ResourcePolicy>,
        owner: Option<&str>,
    ) -> Outcome {
        let principal = policy_principal(caller);
        let request = Request {
            action,
            resource,
            principal: &principal,
            context,
        };
        let resource_account = arn_account(resource)
            .filter(|a| !a.is_empty())
            .or(owner)
            .unwrap_or(&caller.account_id);
        let parsed = match resource_policy {
            None => None,
            Some(rp) => {
                let kind = match rp.kind {
                    ResourcePolicyKind::Trust => PolicyKind::Trust,
                    ResourcePolicyKind::Resource | ResourcePolicyKind::Key => PolicyKind::Resource,
                };
                match Policy::parse(&rp.document, kind) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        // Stored policies were validated when set; one that no longer
                        // parses grants nothing rather than being ignored.
                        tracing::warn!(resource, error = %e, "resource policy does not parse");
                        return Outcome::ImplicitDeny;
                    }
                }
            }
        };
        if caller.is_root() {
            // The root user's implicit identity grant covers its own account only.
            if let Some(rp) = &parsed {
                match rp.evaluate(&request) {
                    sightline_policy::Decision::Deny => return Outcome::ExplicitDeny,
                    sightline_policy::Decision::Allow => return Outcome::Allowed,
                    sightline_policy::Decision::NotApplicable => {}
                }
            }
            // A KMS key policy binds the root user too: only what it grants (directly
            // or to the account) is allowed.
            if resource_policy.is_some_and(|rp| rp.kind == ResourcePolicyKind::Key) {
                return Outcome::ImplicitDeny;
            }
            return if resource_account == caller.account_id || resource_account == AWS_OWNED {
                Outcome::Allowed
            } else {
                Outcome::ImplicitDeny
            };
        }
        // A service principal has no identity policies: resource policies alone decide.
        let policies = if caller.is_service() {
            Vec::new()
        } else {
            self.identity_policies(caller)
        };
        let refs: Vec<&Policy> = policies.iter().map(|p| p.as_ref()).collect();
        match resource_policy {
            Some(rp) if rp.kind != ResourcePolicyKind::Resource => {
                sightline_policy::authorize_strict(
                    &refs,
                    parsed.as_ref(),
                    resource_account,
                    &request,
                )
            }
            _ => sightline_policy::authorize(&refs, parsed.as_ref(), resource_account, &request),
        }
    }
}

/// The principal as policies see it: every ARN it may be named by.
pub fn policy_principal(caller: &Caller) -> Principal {
    if caller.is_service() {
        return Principal {
            account: String::new(),
            arns: Vec::new(),
            service: Some(caller.arn.clone()),
        };
    }
    let mut arns = vec![caller.identity_arn.clone()];
    if caller.arn != caller.identity_arn {
        arns.push(caller.arn.clone());
    }
    Principal {
        account: caller.account_id.clone(),
        arns,
        service: None,
    }
}

/// The account field of an ARN (`arn:partition:service:region:account:resource`).
pub fn arn_account(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    if parts.next()? != "arn" {
        return None;
    }
    parts.nth(3)
}

fn owner_caller(st: &State, account: &str, owner: &KeyOwner, key_id: &str) -> Option<Caller> {
    match owner {
        KeyOwner::Root => Some(Caller {
            kind: PrincipalKind::Root,
            account_id: account.to_owned(),
            arn: format!("arn:{PARTITION}:iam::{account}:root"),
            identity_arn: format!("arn:{PARTITION}:iam::{account}:root"),
            principal_id: account.to_owned(),
            user_name: None,
            access_key_id: key_id.to_owned(),
            session: None,
        }),
        KeyOwner::User(name) => {
            let u = st.users.get(&(account.to_owned(), name.clone()))?;
            Some(Caller {
                kind: PrincipalKind::IAMUser,
                account_id: account.to_owned(),
                arn: u.arn(),
                identity_arn: u.arn(),
                principal_id: u.id.clone(),
                user_name: Some(u.name.clone()),
                access_key_id: key_id.to_owned(),
                session: None,
            })
        }
    }
}

fn session_caller(st: &State, s: &Session) -> Option<Caller> {
    match &s.kind {
        SessionKind::AssumedRole {
            role_name,
            role_path,
            role_id,
            session_name,
        } => {
            let role_arn = format!(
                "arn:{PARTITION}:iam::{}:role{}{}",
                s.account, role_path, role_name
            );
            Some(Caller {
                kind: PrincipalKind::AssumedRole,
                account_id: s.account.clone(),
                arn: role_arn.clone(),
                identity_arn: format!(
                    "arn:{PARTITION}:sts::{}:assumed-role/{}/{}",
                    s.account, role_name, session_name
                ),
                principal_id: format!("{role_id}:{session_name}"),
                user_name: None,
                access_key_id: s.access_key_id.clone(),
                session: Some(SessionContext {
                    issuer: SessionIssuer {
                        kind: PrincipalKind::AssumedRole,
                        principal_id: role_id.clone(),
                        arn: role_arn,
                        account_id: s.account.clone(),
                        user_name: role_name.clone(),
                    },
                    creation_date: s.created,
                    expiration: s.expiration,
                    mfa_authenticated: false,
                }),
            })
        }
        SessionKind::SessionToken { owner } => {
            let mut c = owner_caller(st, &s.account, owner, &s.access_key_id)?;
            c.session = Some(SessionContext {
                issuer: SessionIssuer {
                    kind: c.kind,
                    principal_id: c.principal_id.clone(),
                    arn: c.arn.clone(),
                    account_id: s.account.clone(),
                    user_name: c.user_name.clone().unwrap_or_default(),
                },
                creation_date: s.created,
                expiration: s.expiration,
                mfa_authenticated: false,
            });
            Some(c)
        }
    }
}

fn aws_managed_policies() -> Vec<ManagedPolicy> {
    let epoch = chrono::DateTime::<Utc>::from_timestamp(1_423_267_200, 0).unwrap_or_default();
    let mk = |name: &str, id: &str, doc: &str, desc: &str| {
        let mut document = PolicyDoc {
            text: doc.to_owned(),
            parsed: None,
        };
        document.hydrate(PolicyKind::Identity);
        ManagedPolicy {
            account: AWS_OWNED.into(),
            name: name.into(),
            path: "/".into(),
            id: id.into(),
            description: Some(desc.into()),
            created: epoch,
            updated: epoch,
            document,
            tags: vec![],
        }
    };
    vec![
        mk(
            "AdministratorAccess",
            "ANPAIWMBCKSKIEE64ZLYK",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
            "Provides full access to AWS services and resources.",
        ),
        mk(
            "ReadOnlyAccess",
            "ANPAILL3HVNFSB6DCOWYQ",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["*:Describe*","*:Get*","*:List*","*:Lookup*","*:BatchGet*","*:Select*","*:Filter*","*:Test*","*:Validate*"],"Resource":"*"}]}"#,
            "Provides read-only access to AWS services and resources.",
        ),
        mk(
            "IAMFullAccess",
            "ANPAI7XKCFMBPM3QQRRVQ",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","organizations:DescribeAccount","organizations:DescribeOrganization","organizations:ListAccounts"],"Resource":"*"}]}"#,
            "Provides full access to IAM via the AWS Management Console.",
        ),
        mk(
            "IAMReadOnlyAccess",
            "ANPAJKSO7NDY4T57MWDSQ",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GenerateCredentialReport","iam:Get*","iam:List*","iam:SimulateCustomPolicy","iam:SimulatePrincipalPolicy"],"Resource":"*"}]}"#,
            "Provides read only access to IAM via the AWS Management Console.",
        ),
    ]
}

pub(crate) fn not_found_user(name: &str) -> Error {
    Error::NoSuchEntity(format!("The user with name {name} cannot be found."))
}
