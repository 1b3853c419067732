//! Why a filter pattern or metric value was refused, worded like CloudWatch Logs' own
//! `InvalidParameterException` messages so that clients that match on them keep working.

/// A refused filter pattern or metric value.
///
/// Positions are 0-based character offsets into the pattern text, so a console can point
/// at the offending character whatever the encoding of the request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// AWS checks the length before parsing and words it as a request-validation failure.
    #[error(
        "1 validation error detected: Value at 'filterPattern' failed to satisfy constraint: \
         Member must have length less than or equal to {max}"
    )]
    TooLong { length: usize, max: usize },
    /// The text AWS returns for a term holding characters it does not accept unquoted.
    #[error("Invalid character(s) in term '{term}'")]
    InvalidCharacters { term: String, position: usize },
    #[error("If a filter pattern starts with '{{' it must end with '}}'")]
    UnclosedJson,
    #[error("If a filter pattern starts with '[' it must end with ']'")]
    UnclosedDelimited,
    /// Any other malformed pattern; AWS answers these with a bare "Invalid filter
    /// pattern", to which the detail is appended.
    #[error("Invalid filter pattern: {message} at position {position}")]
    Syntax { message: String, position: usize },
    /// A documented quota (regex or wildcard-selector count) was exceeded.
    #[error("Invalid filter pattern: {0}")]
    Limit(String),
    #[error("Invalid metric value: {0}")]
    MetricValue(String),
}

impl Error {
    /// The same message as PutMetricFilter and TestMetricFilter word it: they say
    /// "Invalid metric filter pattern" where FilterLogEvents says "Invalid filter pattern".
    pub fn metric_filter_message(&self) -> String {
        let text = self.to_string();
        match text.strip_prefix("Invalid filter pattern") {
            Some(rest) => format!("Invalid metric filter pattern{rest}"),
            None => text,
        }
    }

    /// The character offset the error points at, when it points anywhere.
    pub fn position(&self) -> Option<usize> {
        match self {
            Error::InvalidCharacters { position, .. } | Error::Syntax { position, .. } => {
                Some(*position)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Error;

    #[test]
    fn metric_filter_wording() {
        let e = Error::Syntax {
            message: "unbalanced parentheses".into(),
            position: 2,
        };
        assert_eq!(
            e.metric_filter_message(),
            "Invalid metric filter pattern: unbalanced parentheses at position 2"
        );
        let e = Error::InvalidCharacters {
            term: ":".into(),
            position: 0,
        };
        assert_eq!(
            e.metric_filter_message(),
            "Invalid character(s) in term ':'"
        );
    }
}
