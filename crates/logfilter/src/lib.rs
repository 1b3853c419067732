//! The CloudWatch Logs filter pattern language, shared by FilterLogEvents, metric filters,
//! subscription filters and TestMetricFilter so that they all accept, refuse and match
//! exactly alike.
//!
//! A pattern's first character picks its grammar: `{` a JSON pattern, `[` a
//! space-delimited pattern, anything else (including nothing) a term pattern. Patterns are
//! compiled once; matching then allocates nothing per event, so a scan over millions of
//! events costs little more than the substring searches themselves.

mod delimited;
mod error;
mod fields;
mod json;
mod jsonscan;
mod lexer;
mod metric;
mod regex;
mod selector;
mod terms;
mod value;

pub use error::Error;
pub use fields::{Captures, FieldValue};
pub use metric::MetricValue;
pub use value::parse_number;

use delimited::DelimitedPattern;
use json::JsonPattern;
use terms::TermPattern;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The API's limit on `filterPattern`.
pub const MAX_PATTERN_LENGTH: usize = 1024;

/// Which of the three grammars a pattern uses; only JSON and space-delimited patterns
/// expose fields for metric values and dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternKind {
    Terms,
    Json,
    Delimited,
}

/// A compiled filter pattern.
#[derive(Debug, Clone)]
pub struct FilterPattern {
    text: String,
    compiled: Compiled,
}

#[derive(Debug, Clone)]
enum Compiled {
    Terms(TermPattern),
    Json(JsonPattern),
    Delimited(DelimitedPattern),
}

impl FilterPattern {
    /// Compiles `text`, refusing it with AWS's wording when AWS would.
    pub fn parse(text: &str) -> Result<FilterPattern> {
        let length = text.chars().count();
        if length > MAX_PATTERN_LENGTH {
            return Err(Error::TooLong {
                length,
                max: MAX_PATTERN_LENGTH,
            });
        }
        let compiled = match text.as_bytes().first() {
            Some(b'{') => Compiled::Json(JsonPattern::parse(text)?),
            Some(b'[') => Compiled::Delimited(DelimitedPattern::parse(text)?),
            _ => Compiled::Terms(TermPattern::parse(text)?),
        };
        Ok(FilterPattern {
            text: text.to_string(),
            compiled,
        })
    }

    pub fn matches(&self, message: &str) -> bool {
        match &self.compiled {
            Compiled::Terms(p) => p.matches(message),
            Compiled::Json(p) => p.matches(message),
            Compiled::Delimited(p) => p.matches(message),
        }
    }

    /// None when the event does not match; otherwise the fields it exposes, for metric
    /// filter values and dimensions.
    pub fn evaluate<'a>(&self, message: &'a str) -> Option<Captures<'a>> {
        match &self.compiled {
            Compiled::Terms(p) => p.matches(message).then(Captures::none),
            Compiled::Json(p) => p
                .matching_root(message)
                .map(|root| Captures::json(root.raw())),
            Compiled::Delimited(p) => {
                let bound = p.evaluate(message)?;
                Some(Captures::delimited(message, bound.spans, bound.names))
            }
        }
    }

    /// True for the empty (or whitespace-only) pattern and others that match every
    /// event, so callers can skip evaluation altogether.
    pub fn matches_everything(&self) -> bool {
        match &self.compiled {
            Compiled::Terms(p) => p.matches_everything(),
            _ => false,
        }
    }

    /// Substrings every matching message must contain (case-sensitive), so a scan can
    /// skip non-candidates before full evaluation (empty when none is known).
    pub fn required_substrings(&self) -> Vec<String> {
        match &self.compiled {
            Compiled::Terms(p) => p.required_substrings(),
            Compiled::Json(p) => p.required_substrings(),
            Compiled::Delimited(p) => p.required_substrings(),
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn kind(&self) -> PatternKind {
        match &self.compiled {
            Compiled::Terms(_) => PatternKind::Terms,
            Compiled::Json(_) => PatternKind::Json,
            Compiled::Delimited(_) => PatternKind::Delimited,
        }
    }

    /// Whether a space-delimited pattern has a slot named `name`.
    pub(crate) fn delimited_field(&self, name: &str) -> bool {
        match &self.compiled {
            Compiled::Delimited(p) => p.has_field(name),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FilterPattern;

    fn assert_send_sync<T: Send + Sync + Clone + std::fmt::Debug>() {}

    #[test]
    fn pattern_is_shareable() {
        assert_send_sync::<FilterPattern>();
    }
}
