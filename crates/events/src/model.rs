//! EventBridge domain types as stored: buses, rules with their targets, connections,
//! API destinations, archives, replays and the invocations still owed. Targets keep the
//! wire shape (PascalCase) because PutTargets and ListTargetsByRule carry them verbatim.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bus {
    pub name: String,
    pub arn: String,
    pub account: String,
    pub region: String,
    pub description: Option<String>,
    /// The resource policy PutPermission builds (who else may PutEvents here).
    pub policy: Option<String>,
    pub created_ms: i64,
    pub modified_ms: i64,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub name: String,
    pub arn: String,
    pub bus: String,
    pub account: String,
    pub region: String,
    pub event_pattern: Option<String>,
    pub schedule: Option<String>,
    /// ENABLED, DISABLED or ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS.
    pub state: String,
    pub description: Option<String>,
    pub role_arn: Option<String>,
    pub tags: Vec<Tag>,
    pub targets: Vec<Target>,
    pub created_ms: i64,
    /// When the rule was last enabled: `rate()` schedules count from here.
    pub enabled_ms: i64,
    /// The last due time a schedule fired for, so a restart fires no due time twice.
    pub last_fired_ms: Option<i64>,
}

impl Rule {
    pub fn enabled(&self) -> bool {
        self.state != "DISABLED"
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Target {
    pub id: String,
    pub arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_transformer: Option<InputTransformer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_parameters: Option<HttpParameters>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sqs_parameters: Option<SqsParameters>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_letter_config: Option<DeadLetterConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_policy: Option<RetryPolicy>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InputTransformer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_paths_map: Option<BTreeMap<String, String>>,
    pub input_template: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HttpParameters {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_parameter_values: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header_parameters: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_string_parameters: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SqsParameters {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_group_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeadLetterConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RetryPolicy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_retry_attempts: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_event_age_in_seconds: Option<i64>,
}

/// AWS's defaults: 185 retries within 24 hours.
pub const DEFAULT_RETRY_ATTEMPTS: i64 = 185;
pub const DEFAULT_EVENT_AGE_SECONDS: i64 = 86_400;

impl Target {
    pub fn max_retries(&self) -> i64 {
        self.retry_policy
            .as_ref()
            .and_then(|p| p.maximum_retry_attempts)
            .unwrap_or(DEFAULT_RETRY_ATTEMPTS)
    }

    pub fn max_age_ms(&self) -> i64 {
        self.retry_policy
            .as_ref()
            .and_then(|p| p.maximum_event_age_in_seconds)
            .unwrap_or(DEFAULT_EVENT_AGE_SECONDS)
            * 1000
    }

    pub fn dead_letter_arn(&self) -> Option<&str> {
        self.dead_letter_config.as_ref()?.arn.as_deref()
    }
}

/// A header, query-string or body parameter a connection adds to every invocation.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Parameter {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_value_secret: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HttpExtras {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header_parameters: Option<Vec<Parameter>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_string_parameters: Option<Vec<Parameter>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_parameters: Option<Vec<Parameter>>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiKeyAuth {
    pub api_key_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key_value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BasicAuth {
    pub username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OAuthClient {
    #[serde(rename = "ClientID")]
    pub client_id: String,
    #[serde(rename = "ClientSecret", skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OAuthAuth {
    pub client_parameters: OAuthClient,
    pub authorization_endpoint: String,
    pub http_method: String,
    #[serde(
        rename = "OAuthHttpParameters",
        skip_serializing_if = "Option::is_none"
    )]
    pub oauth_http_parameters: Option<HttpExtras>,
}

/// A connection's authorization, secrets included: kept sealed at rest and shown
/// without secrets.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConnectionAuth {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basic_auth_parameters: Option<BasicAuth>,
    #[serde(rename = "OAuthParameters", skip_serializing_if = "Option::is_none")]
    pub oauth_parameters: Option<OAuthAuth>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key_auth_parameters: Option<ApiKeyAuth>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invocation_http_parameters: Option<HttpExtras>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    pub name: String,
    pub arn: String,
    pub account: String,
    pub region: String,
    pub description: Option<String>,
    pub authorization_type: String,
    /// The auth parameters sealed under the server's master key (base64).
    pub sealed_auth: String,
    #[serde(skip)]
    pub auth: ConnectionAuth,
    pub state: String,
    pub state_reason: Option<String>,
    pub created_ms: i64,
    pub modified_ms: i64,
    pub last_authorized_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiDestination {
    pub name: String,
    pub arn: String,
    pub account: String,
    pub region: String,
    pub description: Option<String>,
    pub connection_arn: String,
    pub endpoint: String,
    pub method: String,
    pub rate_limit: Option<i64>,
    pub created_ms: i64,
    pub modified_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Archive {
    pub name: String,
    pub arn: String,
    pub account: String,
    pub region: String,
    pub source_arn: String,
    pub description: Option<String>,
    pub event_pattern: Option<String>,
    /// 0 keeps events indefinitely.
    pub retention_days: i64,
    pub state: String,
    pub created_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplayDestination {
    pub arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_arns: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replay {
    pub name: String,
    pub arn: String,
    pub account: String,
    pub region: String,
    pub description: Option<String>,
    pub archive_arn: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub destination: ReplayDestination,
    pub state: String,
    pub state_reason: Option<String>,
    pub replay_start_ms: i64,
    pub replay_end_ms: Option<i64>,
    pub last_replayed_ms: Option<i64>,
    /// The last archived event replayed, in the archive's (time, event id) order, so a
    /// restart resumes after it. (Rows of an earlier format carried `cursor`, an
    /// SQLite sequence number; it is ignored.)
    #[serde(default)]
    pub resume_after: Option<ReplayCursor>,
}

/// A position in an archive: the archive time and id of an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayCursor {
    pub time_ms: i64,
    pub event_id: String,
}

/// One invocation of one target for one event, owed until it succeeds or is given up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: String,
    pub account: String,
    pub region: String,
    pub rule_arn: String,
    pub rule_name: String,
    pub bus: String,
    pub target: Target,
    /// The event as the rule saw it (JSON text of the envelope).
    pub event: String,
    pub ingestion_ms: i64,
    /// Invocations made so far.
    pub attempts: u32,
    pub due_ms: i64,
}

impl Delivery {
    /// The first invocation of `target` for `event` (JSON text), due now.
    pub fn owed(rule: &Rule, target: &Target, event: &str, ingestion_ms: i64) -> Delivery {
        Delivery {
            id: uuid::Uuid::new_v4().to_string(),
            account: rule.account.clone(),
            region: rule.region.clone(),
            rule_arn: rule.arn.clone(),
            rule_name: rule.name.clone(),
            bus: rule.bus.clone(),
            target: target.clone(),
            event: event.to_owned(),
            ingestion_ms,
            attempts: 0,
            due_ms: ingestion_ms,
        }
    }
}
