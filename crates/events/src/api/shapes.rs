//! Request and response shapes of the AWSEvents operations, named as in the service
//! model (members in PascalCase). Targets, connection auth parameters and replay
//! destinations reuse the model types, whose serde names are the wire names.

use crate::model::{ConnectionAuth, ReplayDestination, Tag, Target};
use serde::{Deserialize, Serialize};
use sightline_wire::Timestamp;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NameIn {
    pub name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OptionalNameIn {
    pub name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateEventBusIn {
    pub name: String,
    pub event_source_name: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateEventBusOut {
    pub event_bus_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BusOut {
    pub name: String,
    pub arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creation_time: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_modified_time: Option<Timestamp>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListIn {
    pub name_prefix: Option<String>,
    pub next_token: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListEventBusesOut {
    pub event_buses: Vec<BusOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutEventsEntryIn {
    pub time: Option<Timestamp>,
    pub source: Option<String>,
    #[serde(default)]
    pub resources: Vec<String>,
    pub detail_type: Option<String>,
    pub detail: Option<String>,
    pub event_bus_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutEventsIn {
    pub entries: Vec<PutEventsEntryIn>,
    pub endpoint_id: Option<String>,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct PutEventsResultEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutEventsOut {
    pub failed_entry_count: usize,
    pub entries: Vec<PutEventsResultEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRuleIn {
    pub name: String,
    pub schedule_expression: Option<String>,
    pub event_pattern: Option<String>,
    pub state: Option<String>,
    pub description: Option<String>,
    pub role_arn: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    pub event_bus_name: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRuleOut {
    pub rule_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RuleIn {
    pub name: String,
    pub event_bus_name: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RuleOut {
    pub name: String,
    pub arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_pattern: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule_expression: Option<String>,
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    pub event_bus_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRulesIn {
    pub name_prefix: Option<String>,
    pub event_bus_name: Option<String>,
    pub next_token: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRulesOut {
    pub rules: Vec<RuleOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutTargetsIn {
    pub rule: String,
    pub event_bus_name: Option<String>,
    pub targets: Vec<Target>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemoveTargetsIn {
    pub rule: String,
    pub event_bus_name: Option<String>,
    pub ids: Vec<String>,
    #[serde(default)]
    pub force: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TargetFailureOut {
    pub target_id: String,
    pub error_code: String,
    pub error_message: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TargetsResultOut {
    pub failed_entry_count: usize,
    pub failed_entries: Vec<TargetFailureOut>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTargetsByRuleIn {
    pub rule: String,
    pub event_bus_name: Option<String>,
    pub next_token: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTargetsByRuleOut {
    pub targets: Vec<Target>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRuleNamesByTargetIn {
    pub target_arn: String,
    pub event_bus_name: Option<String>,
    pub next_token: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRuleNamesByTargetOut {
    pub rule_names: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TestEventPatternIn {
    pub event_pattern: String,
    pub event: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TestEventPatternOut {
    pub result: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConditionIn {
    #[serde(rename = "Type")]
    pub kind: String,
    pub key: String,
    pub value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutPermissionIn {
    pub event_bus_name: Option<String>,
    pub action: Option<String>,
    pub principal: Option<String>,
    pub statement_id: Option<String>,
    pub condition: Option<ConditionIn>,
    pub policy: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemovePermissionIn {
    pub statement_id: Option<String>,
    #[serde(default)]
    pub remove_all_permissions: bool,
    pub event_bus_name: Option<String>,
}

#[derive(Deserialize)]
pub struct TagResourceIn {
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
    #[serde(rename = "Tags")]
    pub tags: Vec<Tag>,
}

#[derive(Deserialize)]
pub struct UntagResourceIn {
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
    #[serde(rename = "TagKeys")]
    pub tag_keys: Vec<String>,
}

#[derive(Deserialize)]
pub struct ResourceArnIn {
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagsOut {
    pub tags: Vec<Tag>,
}

#[derive(Serialize)]
pub struct Empty {}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateConnectionIn {
    pub name: String,
    pub description: Option<String>,
    pub authorization_type: String,
    pub auth_parameters: ConnectionAuth,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateConnectionIn {
    pub name: String,
    pub description: Option<String>,
    pub authorization_type: Option<String>,
    pub auth_parameters: Option<ConnectionAuth>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConnectionStateOut {
    pub connection_arn: String,
    pub connection_state: String,
    pub creation_time: Timestamp,
    pub last_modified_time: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_authorized_time: Option<Timestamp>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConnectionOut {
    pub connection_arn: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub connection_state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_reason: Option<String>,
    pub authorization_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_parameters: Option<ConnectionAuth>,
    pub creation_time: Timestamp,
    pub last_modified_time: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_authorized_time: Option<Timestamp>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListConnectionsIn {
    pub name_prefix: Option<String>,
    pub connection_state: Option<String>,
    pub next_token: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListConnectionsOut {
    pub connections: Vec<ConnectionOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateApiDestinationIn {
    pub name: String,
    pub description: Option<String>,
    pub connection_arn: String,
    pub invocation_endpoint: String,
    pub http_method: String,
    pub invocation_rate_limit_per_second: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateApiDestinationIn {
    pub name: String,
    pub description: Option<String>,
    pub connection_arn: Option<String>,
    pub invocation_endpoint: Option<String>,
    pub http_method: Option<String>,
    pub invocation_rate_limit_per_second: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiDestinationStateOut {
    pub api_destination_arn: String,
    pub api_destination_state: String,
    pub creation_time: Timestamp,
    pub last_modified_time: Timestamp,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiDestinationOut {
    pub api_destination_arn: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub api_destination_state: String,
    pub connection_arn: String,
    pub invocation_endpoint: String,
    pub http_method: String,
    pub invocation_rate_limit_per_second: i64,
    pub creation_time: Timestamp,
    pub last_modified_time: Timestamp,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListApiDestinationsIn {
    pub name_prefix: Option<String>,
    pub connection_arn: Option<String>,
    pub next_token: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListApiDestinationsOut {
    pub api_destinations: Vec<ApiDestinationOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateArchiveIn {
    pub archive_name: String,
    pub event_source_arn: String,
    pub description: Option<String>,
    pub event_pattern: Option<String>,
    pub retention_days: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateArchiveIn {
    pub archive_name: String,
    pub description: Option<String>,
    pub event_pattern: Option<String>,
    pub retention_days: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ArchiveNameIn {
    pub archive_name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ArchiveStateOut {
    pub archive_arn: String,
    pub state: String,
    pub creation_time: Timestamp,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ArchiveOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive_arn: Option<String>,
    pub archive_name: String,
    pub event_source_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_pattern: Option<String>,
    pub state: String,
    pub retention_days: i64,
    pub size_bytes: i64,
    pub event_count: i64,
    pub creation_time: Timestamp,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListArchivesIn {
    pub name_prefix: Option<String>,
    pub event_source_arn: Option<String>,
    pub state: Option<String>,
    pub next_token: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListArchivesOut {
    pub archives: Vec<ArchiveOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartReplayIn {
    pub replay_name: String,
    pub description: Option<String>,
    pub event_source_arn: String,
    pub event_start_time: Timestamp,
    pub event_end_time: Timestamp,
    pub destination: ReplayDestination,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplayNameIn {
    pub replay_name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplayStateOut {
    pub replay_arn: String,
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay_start_time: Option<Timestamp>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplayOut {
    pub replay_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_reason: Option<String>,
    pub event_source_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<ReplayDestination>,
    pub event_start_time: Timestamp,
    pub event_end_time: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_last_replayed_time: Option<Timestamp>,
    pub replay_start_time: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay_end_time: Option<Timestamp>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListReplaysIn {
    pub name_prefix: Option<String>,
    pub state: Option<String>,
    pub event_source_arn: Option<String>,
    pub next_token: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListReplaysOut {
    pub replays: Vec<ReplayOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}
