//! Temporary credentials: AssumeRole and GetSessionToken.

use super::{Identity, access_key_id, policy_principal, secret_key, session_token};
use crate::model::*;
use crate::store::{Batch, kind};
use crate::{Error, Result};
use chrono::Utc;
use sightline_core::{Caller, PrincipalKind};
use sightline_policy::{Context, Decision, Request};

fn duration_error(value: i64, bound: &str) -> Error {
    Error::Validation(format!(
        "1 validation error detected: Value '{value}' at 'durationSeconds' failed to satisfy constraint: Member must have value {bound}"
    ))
}

impl Identity {
    /// Issues role credentials after the role's trust policy admits the caller. The
    /// caller's own permission to call sts:AssumeRole was checked before, by the server.
    pub fn assume_role(
        &self,
        caller: &Caller,
        role_arn: &str,
        session_name: &str,
        duration: Option<i64>,
        context: &Context,
    ) -> Result<Session> {
        let ok_name = (2..=64).contains(&session_name.len())
            && session_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
        if !ok_name {
            return Err(Error::Validation(format!(
                "1 validation error detected: Value '{session_name}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
            )));
        }
        let denied = || {
            Error::AccessDenied(format!(
                "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
                caller.identity_arn
            ))
        };
        let (account, name) = parse_role_arn(role_arn)
            .ok_or_else(|| Error::Validation(format!("{role_arn} is invalid")))?;
        let role = self
            .get_entity::<Role>(account, name)
            .map_err(|_| denied())?;
        if role.arn() != role_arn {
            return Err(denied());
        }
        let trust = role.trust.parsed.clone().ok_or_else(denied)?;
        let principal = policy_principal(caller);
        let request = Request {
            action: "sts:AssumeRole",
            resource: role_arn,
            principal: &principal,
            context,
        };
        if trust.evaluate(&request) != Decision::Allow {
            return Err(denied());
        }
        let seconds = duration.unwrap_or(3600);
        if seconds < self.limits.min_session_seconds {
            return Err(duration_error(
                seconds,
                &format!(
                    "greater than or equal to {}",
                    self.limits.min_session_seconds
                ),
            ));
        }
        if seconds > role.max_session_duration {
            return Err(Error::Validation(
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                    .into(),
            ));
        }
        // Role chaining is capped at one hour, as AWS does.
        if caller.kind == PrincipalKind::AssumedRole && seconds > 3600 {
            return Err(Error::Validation(
                "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.".into(),
            ));
        }
        let now = Utc::now();
        let session = Session {
            access_key_id: access_key_id("ASIA"),
            secret: secret_key(),
            token: session_token(),
            account: role.account.clone(),
            kind: SessionKind::AssumedRole {
                role_name: role.name.clone(),
                role_path: role.path.clone(),
                role_id: role.id.clone(),
                session_name: session_name.to_owned(),
            },
            created: now,
            expiration: now + chrono::Duration::seconds(seconds),
            source_arn: caller.identity_arn.clone(),
        };
        self.store_session(session)
    }

    pub fn get_session_token(&self, caller: &Caller, duration: Option<i64>) -> Result<Session> {
        if caller.session.is_some() {
            return Err(Error::AccessDenied(
                "Cannot call GetSessionToken with session credentials".into(),
            ));
        }
        let max = if caller.is_root() { 3600 } else { 129_600 };
        let seconds = duration.unwrap_or(if caller.is_root() { 3600 } else { 43_200 });
        if seconds < self.limits.min_session_seconds {
            return Err(duration_error(
                seconds,
                &format!(
                    "greater than or equal to {}",
                    self.limits.min_session_seconds
                ),
            ));
        }
        if seconds > max {
            return Err(duration_error(
                seconds,
                &format!("less than or equal to {max}"),
            ));
        }
        let owner = match caller.kind {
            PrincipalKind::Root => KeyOwner::Root,
            _ => KeyOwner::User(caller.user_name.clone().unwrap_or_default()),
        };
        let now = Utc::now();
        let session = Session {
            access_key_id: access_key_id("ASIA"),
            secret: secret_key(),
            token: session_token(),
            account: caller.account_id.clone(),
            kind: SessionKind::SessionToken { owner },
            created: now,
            expiration: now + chrono::Duration::seconds(seconds),
            source_arn: caller.identity_arn.clone(),
        };
        self.store_session(session)
    }

    fn store_session(&self, session: Session) -> Result<Session> {
        let mut b = Batch::default();
        b.put(
            kind::SESSION,
            &session.access_key_id,
            &session.account,
            &session,
        )?;
        b.commit(&self.meta)?;
        self.state
            .write()
            .sessions
            .insert(session.access_key_id.clone(), session.clone());
        Ok(session)
    }
}

/// `arn:aws:iam::<account>:role/<path/><name>` → (account, name).
pub fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, res) = rest.split_once(':')?;
    let path_name = res.strip_prefix("role/")?;
    let name = path_name.rsplit('/').next()?;
    (account.len() == 12 && !name.is_empty()).then_some((account, name))
}
