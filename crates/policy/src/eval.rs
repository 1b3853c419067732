//! Evaluation of one policy against a request, and AWS's combination of identity and resource
//! policies into a final outcome.

use crate::document::{Effect, Policy, PrincipalEntry, PrincipalSpec, Statement};
use crate::matching::tokens_match;
use crate::request::{Decision, Outcome, Principal, Request};

/// How a statement's `Principal` element matched the caller. Some services (role trust policies,
/// KMS key policies) treat a grant to the caller's account as delegation to identity policies,
/// so the evaluation keeps the difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PrincipalMatch {
    No,
    /// Matched only through an account id / root ARN.
    Account,
    /// Matched the caller itself (ARN, service, `*`), or no `Principal` element applies.
    Direct,
}

/// Everything one policy says about a request.
#[derive(Debug, Clone, Copy, Default)]
struct Evaluation {
    deny: bool,
    allow_direct: bool,
    allow_account: bool,
}

impl Evaluation {
    fn allows(&self) -> bool {
        self.allow_direct || self.allow_account
    }
}

impl Policy {
    /// Evaluates this policy alone: an explicit deny in any matching statement wins over allows.
    pub fn evaluate(&self, request: &Request<'_>) -> Decision {
        let evaluation = self.evaluate_detailed(request);
        if evaluation.deny {
            Decision::Deny
        } else if evaluation.allows() {
            Decision::Allow
        } else {
            Decision::NotApplicable
        }
    }

    fn evaluate_detailed(&self, request: &Request<'_>) -> Evaluation {
        let mut evaluation = Evaluation::default();
        for statement in &self.statements {
            let matched = statement_match(statement, request);
            if matched == PrincipalMatch::No {
                continue;
            }
            match (statement.effect, matched) {
                (Effect::Deny, _) => evaluation.deny = true,
                (Effect::Allow, PrincipalMatch::Direct) => evaluation.allow_direct = true,
                (Effect::Allow, _) => evaluation.allow_account = true,
            }
        }
        evaluation
    }
}

/// Whether a statement applies to the request, and through which kind of principal match.
fn statement_match(statement: &Statement, request: &Request<'_>) -> PrincipalMatch {
    let principal = match &statement.principal {
        None => PrincipalMatch::Direct,
        Some(spec) => principal_match(spec, request.principal),
    };
    if principal == PrincipalMatch::No
        || !action_matches(statement, request.action)
        || !resource_matches(statement, request)
        || !statement
            .conditions
            .iter()
            .all(|condition| condition.evaluate(request.context))
    {
        return PrincipalMatch::No;
    }
    principal
}

fn action_matches(statement: &Statement, action: &str) -> bool {
    let action: Vec<char> = action.to_lowercase().chars().collect();
    let any = statement
        .actions
        .patterns
        .iter()
        .any(|pattern| tokens_match(pattern, &action));
    any != statement.actions.negated
}

fn resource_matches(statement: &Statement, request: &Request<'_>) -> bool {
    let Some(spec) = &statement.resources else {
        return true;
    };
    let resource: Vec<char> = request.resource.chars().collect();
    let any = spec.patterns.iter().any(|template| {
        template
            .pattern(request.context, false)
            .is_some_and(|pattern| tokens_match(&pattern, &resource))
    });
    any != spec.negated
}

fn principal_match(spec: &PrincipalSpec, principal: &Principal) -> PrincipalMatch {
    if spec.negated {
        // NotPrincipal applies to everyone it does not fully name.
        return if fully_named(&spec.entries, principal) {
            PrincipalMatch::No
        } else {
            PrincipalMatch::Direct
        };
    }
    spec.entries
        .iter()
        .map(|entry| entry_match(entry, principal))
        .max()
        .unwrap_or(PrincipalMatch::No)
}

/// AWS evaluates a caller as each identity it holds (its account, its role, its session), so
/// `NotPrincipal` spares the caller only when every one of them is listed; naming just a role
/// session without its account leaves the statement applying.
fn fully_named(entries: &[PrincipalEntry], principal: &Principal) -> bool {
    if entries.contains(&PrincipalEntry::Anyone) {
        return true;
    }
    if let Some(service) = &principal.service {
        return entries
            .iter()
            .any(|e| matches!(e, PrincipalEntry::Service(s) if s.eq_ignore_ascii_case(service)));
    }
    let account_named = |account: &str| {
        entries
            .iter()
            .any(|e| matches!(e, PrincipalEntry::Account(a) if a == account))
    };
    account_named(&principal.account)
        && principal.arns.iter().all(|arn| {
            entries.contains(&PrincipalEntry::Arn(arn.clone()))
                || root_arn_account(arn).is_some_and(account_named)
        })
}

fn root_arn_account(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "iam", "", account, "root"] => Some(account),
        _ => None,
    }
}

fn entry_match(entry: &PrincipalEntry, principal: &Principal) -> PrincipalMatch {
    let matched = match entry {
        PrincipalEntry::Anyone => return PrincipalMatch::Direct,
        PrincipalEntry::Account(account) => {
            if principal.service.is_none() && principal.account == *account {
                return PrincipalMatch::Account;
            }
            false
        }
        PrincipalEntry::Arn(arn) => principal.service.is_none() && principal.arns.contains(arn),
        PrincipalEntry::Service(service) => principal
            .service
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(service)),
        PrincipalEntry::Unmatchable => false,
    };
    if matched {
        PrincipalMatch::Direct
    } else {
        PrincipalMatch::No
    }
}

struct Combined {
    deny: bool,
    identity_allows: bool,
    resource: Option<Evaluation>,
    same_account: bool,
    no_identity: bool,
}

fn combine(
    identity: &[&Policy],
    resource_policy: Option<&Policy>,
    resource_account: &str,
    request: &Request<'_>,
) -> Combined {
    let identity: Vec<Evaluation> = identity
        .iter()
        .map(|policy| policy.evaluate_detailed(request))
        .collect();
    let resource = resource_policy.map(|policy| policy.evaluate_detailed(request));
    Combined {
        deny: identity.iter().chain(resource.iter()).any(|e| e.deny),
        identity_allows: identity.iter().any(Evaluation::allows),
        resource,
        same_account: resource_account == request.principal.account,
        // Services and anonymous callers have no identity policies to consult.
        no_identity: request.principal.is_service() || request.principal.account.is_empty(),
    }
}

/// AWS's combination of identity policies and a resource policy.
///
/// An explicit deny anywhere wins. Within one account either kind of policy can grant; across
/// accounts both must. Service principals and anonymous callers (empty `account`) have no
/// identity policies, so for them the resource policy alone decides, as it does in AWS.
pub fn authorize(
    identity: &[&Policy],
    resource_policy: Option<&Policy>,
    resource_account: &str,
    request: &Request<'_>,
) -> Outcome {
    let combined = combine(identity, resource_policy, resource_account, request);
    if combined.deny {
        return Outcome::ExplicitDeny;
    }
    let resource_allows = combined.resource.is_some_and(|r| r.allows());
    let allowed = if combined.no_identity {
        resource_allows
    } else if combined.same_account {
        combined.identity_allows || resource_allows
    } else {
        combined.identity_allows && resource_allows
    };
    if allowed {
        Outcome::Allowed
    } else {
        Outcome::ImplicitDeny
    }
}

/// The stricter combination AWS applies to role trust policies and KMS key policies: the
/// resource policy must allow the request itself. When it names the caller (or `*`) that is
/// enough in the same account; when it only names the caller's account, the grant is a
/// delegation and an identity policy must allow too. Across accounts both are always required.
/// Without a resource policy this is the same as [`authorize`].
pub fn authorize_strict(
    identity: &[&Policy],
    resource_policy: Option<&Policy>,
    resource_account: &str,
    request: &Request<'_>,
) -> Outcome {
    let combined = combine(identity, resource_policy, resource_account, request);
    if combined.deny {
        return Outcome::ExplicitDeny;
    }
    let Some(resource) = combined.resource else {
        return authorize(identity, None, resource_account, request);
    };
    let allowed = if combined.no_identity {
        resource.allows()
    } else if resource.allow_direct && combined.same_account {
        true
    } else {
        resource.allows() && combined.identity_allows
    };
    if allowed {
        Outcome::Allowed
    } else {
        Outcome::ImplicitDeny
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Context, PolicyKind};

    #[test]
    fn single_policy_decisions() {
        let policy = Policy::parse(
            r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Action":"s3:*","Resource":"*"},
                {"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"}]}"#,
            PolicyKind::Identity,
        );
        let Ok(policy) = policy else {
            panic!("policy should parse: {policy:?}");
        };
        let principal = Principal::default();
        let context = Context::new();
        let decide = |action| {
            policy.evaluate(&Request {
                action,
                resource: "*",
                principal: &principal,
                context: &context,
            })
        };
        assert_eq!(decide("s3:GetObject"), Decision::Allow);
        assert_eq!(decide("s3:DeleteBucket"), Decision::Deny);
        assert_eq!(decide("iam:GetUser"), Decision::NotApplicable);
    }
}
