//! AWS IAM policy language: parsing, validation and evaluation of identity, resource and trust policies.
//!
//! The crate stands alone (no other sightline crate) so that IAM, S3 bucket policies and KMS key
//! policies all share one implementation of the documented AWS semantics.
//!
//! Root-user special cases (the account root bypassing identity policies) belong to the caller:
//! this crate only answers what the policies themselves say.

mod condition;
mod document;
mod eval;
pub mod matching;
mod request;
mod service;
mod variables;

pub use document::{Policy, PolicyKind};
pub use eval::{authorize, authorize_strict};
pub use request::{Context, Decision, Outcome, Principal, Request};
pub use service::{service_decision, statements_mut};

/// The single error type of the crate; every variant maps onto AWS's `MalformedPolicyDocument`,
/// and the message is the reason AWS would put in that error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Malformed(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn malformed(message: impl Into<String>) -> Error {
    Error::Malformed(message.into())
}

/// AWS's answer for anything that is not well-formed JSON or does not fit the policy grammar.
pub(crate) const SYNTAX_ERROR: &str = "Syntax errors in policy.";
