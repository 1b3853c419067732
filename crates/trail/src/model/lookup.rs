//! Lookup attributes and the query they stand for.

use crate::{Error, Result};
use chrono::{DateTime, Utc};

/// One LookupEvents attribute (AWS allows exactly one per call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribute {
    EventId(String),
    EventName(String),
    ReadOnly(bool),
    Username(String),
    ResourceType(String),
    ResourceName(String),
    EventSource(String),
    AccessKeyId(String),
}

impl Attribute {
    pub fn parse(key: &str, value: &str) -> Result<Attribute> {
        if value.is_empty() || value.len() > 2000 {
            return Err(Error::InvalidLookupAttributes(format!(
                "Invalid value for attribute key {key}: the value must be 1 to 2000 characters"
            )));
        }
        let v = value.to_owned();
        Ok(match key {
            "EventId" => Attribute::EventId(v),
            "EventName" => Attribute::EventName(v),
            "ReadOnly" => match value {
                "true" => Attribute::ReadOnly(true),
                "false" => Attribute::ReadOnly(false),
                _ => {
                    return Err(Error::InvalidLookupAttributes(
                        "ReadOnly attribute value must be either true or false".into(),
                    ));
                }
            },
            "Username" => Attribute::Username(v),
            "ResourceType" => Attribute::ResourceType(v),
            "ResourceName" => Attribute::ResourceName(v),
            "EventSource" => Attribute::EventSource(v),
            "AccessKeyId" => Attribute::AccessKeyId(v),
            other => {
                return Err(Error::InvalidLookupAttributes(format!(
                    "Invalid attribute key: {other}"
                )));
            }
        })
    }
}

/// A validated LookupEvents request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub attribute: Option<Attribute>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub max_results: usize,
    /// Identifies the request's parameters as the client sent them (defaulted times are
    /// left out: they move with the clock), so a token is only valid for its request.
    pub fingerprint: String,
}

/// Where the previous page stopped: events are ordered by (time, id), newest first.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PageToken {
    pub time: i64,
    pub id: String,
    /// Fingerprint of the request the token belongs to.
    pub query: String,
}
