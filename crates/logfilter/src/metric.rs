//! A metric filter's `metricValue`: a constant published per match, or a reference to a
//! field of the matching event (`$.latency` for JSON patterns, `$bytes` for
//! space-delimited ones), validated against the pattern it belongs to.

use crate::fields::Captures;
use crate::selector::Selector;
use crate::value::parse_number;
use crate::{Error, FilterPattern, PatternKind, Result};

/// The API's limit on `MetricTransformation.metricValue`.
const MAX_LEN: usize = 100;

#[derive(Debug, Clone, PartialEq)]
pub enum MetricValue {
    Constant(f64),
    /// A `$.selector` or `$name`, as written.
    Field(String),
}

impl MetricValue {
    /// Validates `text` against `pattern`: a field reference must be of the pattern's kind
    /// (`$.x` needs a JSON pattern, `$name` a space-delimited one naming that field, or
    /// `$N` for its N-th field), and term patterns expose no fields at all.
    pub fn parse(text: &str, pattern: &FilterPattern) -> Result<MetricValue> {
        let text = text.trim();
        if text.is_empty() {
            return Err(Error::MetricValue(
                "the metric value must not be empty".into(),
            ));
        }
        if text.chars().count() > MAX_LEN {
            return Err(Error::MetricValue(format!(
                "the metric value must be at most {MAX_LEN} characters"
            )));
        }
        let Some(reference) = text.strip_prefix('$') else {
            return parse_number(text).map(MetricValue::Constant).ok_or_else(|| {
                Error::MetricValue(format!(
                    "'{text}' is neither a number nor a field reference such as $.field or $field"
                ))
            });
        };
        match pattern.kind() {
            PatternKind::Json => {
                let selector = Selector::parse_str(text).map_err(|_| {
                    Error::MetricValue(format!(
                        "'{text}' is not a JSON property selector such as $.field"
                    ))
                })?;
                if selector.has_wildcard() {
                    return Err(Error::MetricValue(format!(
                        "'{text}' must name a single property, without wildcards"
                    )));
                }
            }
            PatternKind::Delimited => {
                let named = pattern.delimited_field(reference);
                let positional = reference.parse::<usize>().is_ok_and(|n| n >= 1);
                if !named && !positional {
                    return Err(Error::MetricValue(format!(
                        "'{text}' does not name a field of the space-delimited filter pattern"
                    )));
                }
            }
            PatternKind::Terms => {
                return Err(Error::MetricValue(format!(
                    "'{text}' refers to a field, but only JSON and space-delimited filter \
                     patterns have fields"
                )));
            }
        }
        Ok(MetricValue::Field(text.to_string()))
    }

    /// The value to publish for one matching event; `None` when the referenced field is
    /// missing or not numeric, in which case nothing is published for that event.
    pub fn value(&self, captures: &Captures<'_>) -> Option<f64> {
        match self {
            MetricValue::Constant(n) => Some(*n),
            MetricValue::Field(selector) => captures.get(selector)?.as_number(),
        }
    }
}
