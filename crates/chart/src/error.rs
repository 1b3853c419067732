//! Why a widget document or a render request was refused.
//!
//! Validation problems are worded the way CloudWatch's JSON-schema validation words them
//! for dashboard bodies ("Should have required property 'metrics'", "Should be <= 2000")
//! and are listed with a `dataPath`, so that clients that show or match on CloudWatch's
//! messages keep working against Sightline.

use std::fmt;

/// One validation problem: where in the document (a JSON pointer such as
/// `/metrics/0/2`; empty for the document itself) and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub data_path: String,
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.data_path, self.message)
    }
}

/// A refused document or render request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The document is not JSON at all.
    #[error("The MetricWidget parameter is not valid JSON: {0}")]
    Json(String),
    /// The document is JSON but breaks the widget's rules; every problem found is listed.
    #[error("{}", invalid_message(.0))]
    Invalid(Vec<Issue>),
    /// The resolved time range is empty or inverted.
    #[error("Invalid time range: {0}")]
    Range(String),
    /// A series handed to the renderer is inconsistent.
    #[error("Invalid series #{index}: {message}")]
    Series { index: usize, message: String },
    /// The PNG encoder failed (it writes to memory, so this means a bug or exhaustion).
    #[error("could not encode the image: {0}")]
    Encode(String),
}

impl Error {
    /// The validation problems, if this is a validation failure.
    pub fn issues(&self) -> &[Issue] {
        match self {
            Error::Invalid(issues) => issues,
            _ => &[],
        }
    }
}

/// Formats like CloudWatch's "The dashboard body is invalid, there are N validation
/// errors: [...]", the JSON array pretty-printed with two-space indents.
fn invalid_message(issues: &[Issue]) -> String {
    let list: Vec<serde_json::Value> = issues
        .iter()
        .map(|i| serde_json::json!({ "dataPath": i.data_path, "message": i.message }))
        .collect();
    let body = serde_json::to_string_pretty(&list).unwrap_or_default();
    format!(
        "The metric widget is invalid, there are {} validation errors:\n{body}",
        issues.len()
    )
}
