//! Why an expression, search or alarm rule was refused or could not be evaluated, worded
//! so that the API layer can hand the text straight back as a `ValidationError`.

/// Everything this crate refuses.
///
/// Positions are 0-based character offsets into the text that was parsed, the way
/// CloudWatch counts them in its own "at char N" messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Malformed metric math; GetMetricData and PutMetricAlarm report these before any
    /// data is read.
    #[error("Syntax error at char {position}: {message}")]
    Syntax { message: String, position: usize },
    /// A name called like a function that metric math does not have at all.
    #[error("Unknown function: {0}")]
    UnknownFunction(String),
    /// A documented CloudWatch function this implementation does not provide (anomaly
    /// bands, Contributor Insights, service quotas, ...), kept apart from typos so the
    /// caller can say "not supported" rather than "does not exist".
    #[error("Function {0} is not supported")]
    Unsupported(String),
    /// A call with the wrong number of arguments, caught while parsing.
    #[error("Function {function} expects {expected} argument(s) but got {got}")]
    Arity {
        function: String,
        expected: &'static str,
        got: usize,
    },
    /// An id that names no query of the request.
    #[error("Unrecognized id: {0}")]
    UnknownId(String),
    /// A well-formed expression whose operands have the wrong kind (a string divided, a
    /// scalar where an array is needed, an unknown sort order, ...).
    #[error("{0}")]
    Type(String),
    /// A malformed SEARCH query string.
    #[error("Invalid search expression: {message} at char {position}")]
    Search { message: String, position: usize },
    /// A malformed or over-limit composite alarm rule, in the form PutCompositeAlarm
    /// answers with.
    #[error("Error in AlarmRule [{message}]")]
    Rule {
        message: String,
        position: Option<usize>,
    },
    /// The rule is longer than the API's length constraint; AWS checks this before
    /// parsing and words it as a request-validation failure.
    #[error(
        "1 validation error detected: Value at 'alarmRule' failed to satisfy constraint: \
         Member must have length less than or equal to {max}"
    )]
    RuleTooLong { length: usize, max: usize },
}

impl Error {
    /// The message for a failed MetricDataQuery, naming the query the way GetMetricData
    /// and PutMetricAlarm do, so a request with many expressions points at the culprit.
    pub fn in_expression(&self, id: &str) -> String {
        format!("Error in expression {id}: {self}")
    }

    /// The character offset the error points at, when it points anywhere.
    pub fn position(&self) -> Option<usize> {
        match self {
            Error::Syntax { position, .. } | Error::Search { position, .. } => Some(*position),
            Error::Rule { position, .. } => *position,
            _ => None,
        }
    }

    pub(crate) fn syntax(message: impl Into<String>, position: usize) -> Error {
        Error::Syntax {
            message: message.into(),
            position,
        }
    }

    pub(crate) fn type_error(message: impl Into<String>) -> Error {
        Error::Type(message.into())
    }
}

#[cfg(test)]
mod tests {
    use super::Error;

    #[test]
    fn wording() {
        let e = Error::UnknownId("m3".into());
        assert_eq!(
            e.in_expression("e1"),
            "Error in expression e1: Unrecognized id: m3"
        );
        let e = Error::Rule {
            message: "Unsupported token ')' at char 1".into(),
            position: Some(1),
        };
        assert_eq!(
            e.to_string(),
            "Error in AlarmRule [Unsupported token ')' at char 1]"
        );
        assert_eq!(e.position(), Some(1));
        assert_eq!(Error::syntax("x", 3).position(), Some(3));
        assert_eq!(Error::type_error("bad").position(), None);
    }
}
