//! One event scalar, however it was read. Conditions are evaluated on this type rather
//! than on `serde_json::Value` so that the tree evaluator, the compiled matcher and the
//! raw-JSON scanner share a single definition of what each operator means.

use std::borrow::Cow;

use serde_json::Value;

/// A JSON scalar taken from an event. Strings borrow from the event unless the raw JSON
/// held escapes that had to be decoded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val<'a> {
    Str(Cow<'a, str>),
    /// A number as `f64`, the precision patterns compare at. `NaN` stands for a number
    /// `serde_json` could not widen, which then equals nothing and is in no range.
    Num(f64),
    Bool(bool),
    Null,
}

impl<'a> Val<'a> {
    /// The scalar in `value`, or `None` for arrays and objects.
    pub(crate) fn of(value: &'a Value) -> Option<Self> {
        Some(match value {
            Value::String(s) => Val::Str(Cow::Borrowed(s.as_str())),
            Value::Number(n) => Val::Num(n.as_f64().unwrap_or(f64::NAN)),
            Value::Bool(b) => Val::Bool(*b),
            Value::Null => Val::Null,
            Value::Array(_) | Value::Object(_) => return None,
        })
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }
}
