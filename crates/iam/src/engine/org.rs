//! Organizations: member accounts created asynchronously, each with an admin role that
//! trusts the management account.

use super::{Identity, account_id, create_account_request_id, unique_id};
use crate::model::*;
use crate::store::{Batch, kind};
use crate::{Error, Result};
use chrono::Utc;
use sightline_policy::PolicyKind;
use std::collections::BTreeMap;

fn org_error(code: &'static str, message: impl Into<String>) -> Error {
    Error::Org {
        code,
        message: message.into(),
    }
}

impl Identity {
    pub fn organization(&self) -> Option<Organization> {
        self.state.read().organization.clone()
    }

    /// Only the management account administers the organization.
    pub fn require_management(&self, account: &str) -> Result<Organization> {
        let org = self.organization().ok_or_else(|| {
            org_error(
                "AWSOrganizationsNotInUseException",
                "Your account is not a member of an organization.",
            )
        })?;
        if org.management_account_id != account {
            return Err(org_error(
                "AccessDeniedException",
                "You don't have permissions to access this resource.",
            ));
        }
        Ok(org)
    }

    /// Records the request as IN_PROGRESS; [`Identity::complete_pending`] finishes it.
    pub fn create_account(
        &self,
        caller_account: &str,
        name: &str,
        email: &str,
        role_name: Option<&str>,
    ) -> Result<CreateAccountStatus> {
        self.require_management(caller_account)?;
        if name.is_empty() || name.len() > 50 {
            return Err(org_error(
                "ConstraintViolationException",
                "You provided a value that does not match the required pattern.",
            ));
        }
        if email.len() < 6 || email.len() > 64 {
            return Err(org_error(
                "ConstraintViolationException",
                "You provided a value that does not match the required pattern.",
            ));
        }
        let status = CreateAccountStatus {
            id: create_account_request_id(),
            account_name: name.to_owned(),
            email: email.to_owned(),
            role_name: role_name
                .unwrap_or("OrganizationAccountAccessRole")
                .to_owned(),
            state: "IN_PROGRESS".into(),
            requested: Utc::now(),
            completed: None,
            account_id: None,
            failure_reason: None,
        };
        let mut b = Batch::default();
        b.put(kind::CREATE_ACCOUNT, &status.id, caller_account, &status)?;
        b.commit(&self.meta)?;
        self.state
            .write()
            .create_requests
            .insert(status.id.clone(), status.clone());
        Ok(status)
    }

    /// Completes every IN_PROGRESS request (also those a restart interrupted).
    pub fn complete_pending(&self) -> Result<()> {
        let pending: Vec<CreateAccountStatus> = self
            .state
            .read()
            .create_requests
            .values()
            .filter(|c| c.state == "IN_PROGRESS")
            .cloned()
            .collect();
        for req in pending {
            self.complete(req)?;
        }
        Ok(())
    }

    fn complete(&self, mut req: CreateAccountStatus) -> Result<()> {
        let mut st = self.state.write();
        let org = st
            .organization
            .clone()
            .ok_or_else(|| org_error("AWSOrganizationsNotInUseException", "no organization"))?;
        let now = Utc::now();
        req.completed = Some(now);
        let valid_email = req
            .email
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'));
        let mut b = Batch::default();
        if !valid_email {
            req.state = "FAILED".into();
            req.failure_reason = Some("INVALID_EMAIL".into());
        } else if st
            .accounts
            .values()
            .any(|a| a.email.eq_ignore_ascii_case(&req.email))
        {
            req.state = "FAILED".into();
            req.failure_reason = Some("EMAIL_ALREADY_EXISTS".into());
        } else {
            let mut id = account_id();
            while st.accounts.contains_key(&id) {
                id = account_id();
            }
            let account = Account {
                id: id.clone(),
                name: req.account_name.clone(),
                email: req.email.clone(),
                joined_method: "CREATED".into(),
                joined: now,
            };
            let trust = format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{}:root"}},"Action":"sts:AssumeRole"}}]}}"#,
                org.management_account_id
            );
            let admin = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
            let trust = PolicyDoc::parse(&trust, PolicyKind::Trust)
                .map_err(|e| Error::MalformedPolicyDocument(e.to_string()))?;
            let admin = PolicyDoc::parse(admin, PolicyKind::Identity)
                .map_err(|e| Error::MalformedPolicyDocument(e.to_string()))?;
            let role = Role {
                account: id.clone(),
                name: req.role_name.clone(),
                path: "/".into(),
                id: unique_id("AROA"),
                created: now,
                trust,
                description: None,
                max_session_duration: 3600,
                tags: vec![],
                inline: BTreeMap::from([("AdministratorAccess".to_owned(), admin)]),
                attached: vec![],
            };
            b.put(kind::ACCOUNT, &id, &id, &account)?;
            b.put(kind::ROLE, &format!("{id}/{}", role.name), &id, &role)?;
            req.state = "SUCCEEDED".into();
            req.account_id = Some(id.clone());
            st.accounts.insert(id.clone(), account);
            st.roles.insert((id.clone(), role.name.clone()), role);
            tracing::info!(account = %id, "member account created");
        }
        b.put(
            kind::CREATE_ACCOUNT,
            &req.id,
            &org.management_account_id,
            &req,
        )?;
        b.commit(&self.meta)?;
        st.create_requests.insert(req.id.clone(), req);
        Ok(())
    }

    pub fn describe_create_account_status(
        &self,
        caller_account: &str,
        id: &str,
    ) -> Result<CreateAccountStatus> {
        self.require_management(caller_account)?;
        self.state.read().create_requests.get(id).cloned().ok_or_else(|| {
            org_error("CreateAccountStatusNotFoundException", "We can't find an create account request with the CreateAccountRequestId that you specified.")
        })
    }

    pub fn describe_account(&self, caller_account: &str, id: &str) -> Result<Account> {
        self.require_management(caller_account)?;
        self.state.read().accounts.get(id).cloned().ok_or_else(|| {
            org_error(
                "AccountNotFoundException",
                "You specified an account that doesn't exist.",
            )
        })
    }

    pub fn list_accounts(&self, caller_account: &str) -> Result<Vec<Account>> {
        self.require_management(caller_account)?;
        let mut v: Vec<Account> = self.state.read().accounts.values().cloned().collect();
        v.sort_by_key(|a| a.joined);
        Ok(v)
    }

    /// Any member may describe its organization.
    pub fn describe_organization(&self, caller_account: &str) -> Result<Organization> {
        let org = self.organization();
        match org {
            Some(o) if self.account_exists(caller_account) => Ok(o),
            _ => Err(org_error(
                "AWSOrganizationsNotInUseException",
                "Your account is not a member of an organization.",
            )),
        }
    }
}
