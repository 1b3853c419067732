//! Why a schedule expression was refused. EventBridge itself says only
//! `Parameter ScheduleExpression is not valid.` whatever the fault, so the detail here is
//! for logs and for people; the API layer answers with [`Error::api_message`].

use std::fmt;

/// The message EventBridge's `ValidationException` carries for any invalid
/// `ScheduleExpression`.
pub const API_MESSAGE: &str = "Parameter ScheduleExpression is not valid.";

/// A refused schedule expression. `Display` gives the detailed reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("schedule expression must be `rate(value unit)` or `cron(fields)`")]
    UnknownKind,
    #[error("rate expression must be `rate(value unit)`, got {0} word(s)")]
    RateShape(usize),
    #[error("rate value {0:?} is not a positive integer")]
    RateValue(String),
    #[error("rate unit {0:?} is not one of minute(s), hour(s), day(s)")]
    RateUnit(String),
    #[error("rate unit {unit:?} does not agree with value {value}: use {expected:?}")]
    RateAgreement {
        value: u32,
        unit: String,
        expected: &'static str,
    },
    #[error(
        "cron expression needs 6 fields (Minutes Hours Day-of-month Month Day-of-week Year), \
         got {0}"
    )]
    FieldCount(usize),
    #[error("{field} field {text:?}: {reason}")]
    Field {
        field: Field,
        text: String,
        reason: String,
    },
    #[error(
        "exactly one of the Day-of-month and Day-of-week fields must be `?`, \
         got {day_of_month:?} and {day_of_week:?}"
    )]
    DayFields {
        day_of_month: String,
        day_of_week: String,
    },
}

impl Error {
    /// What the EventBridge API answers for this error: the same text for every kind.
    pub fn api_message(&self) -> &'static str {
        API_MESSAGE
    }

    pub(crate) fn field(field: Field, text: &str, reason: impl Into<String>) -> Self {
        Self::Field {
            field,
            text: text.to_owned(),
            reason: reason.into(),
        }
    }
}

/// One of the six fields of a cron expression, in their order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Minutes,
    Hours,
    DayOfMonth,
    Month,
    DayOfWeek,
    Year,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Minutes => "Minutes",
            Field::Hours => "Hours",
            Field::DayOfMonth => "Day-of-month",
            Field::Month => "Month",
            Field::DayOfWeek => "Day-of-week",
            Field::Year => "Year",
        })
    }
}
