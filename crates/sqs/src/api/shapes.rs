//! Wire shapes of the SQS operations, named as botocore's model names them (the JSON
//! member names; Query requests are renamed to these first, see `api::query`). Output
//! lists and maps are the flattened kind, which Query XML writes as SQS does
//! (`<QueueUrl>` repeated, `<Attribute><Name/><Value/></Attribute>`) and JSON leaves
//! out when empty (a receive of nothing is `{}`).

use crate::message::{Outgoing, RawAttribute};
use crate::model::AttributeValue;
use serde::{Deserialize, Serialize};
use sightline_wire::{Blob, FlatList, FlatMap};
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateQueueIn {
    pub queue_name: String,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    #[serde(default, rename = "tags")]
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueUrlIn {
    pub queue_url: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueuesIn {
    pub queue_name_prefix: Option<String>,
    pub next_token: Option<String>,
    pub max_results: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetQueueUrlIn {
    pub queue_name: String,
    #[serde(rename = "QueueOwnerAWSAccountId")]
    pub owner: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetQueueAttributesIn {
    pub queue_url: String,
    #[serde(default)]
    pub attribute_names: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetQueueAttributesIn {
    pub queue_url: String,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeValueIn {
    pub string_value: Option<String>,
    pub binary_value: Option<Blob>,
    #[serde(default)]
    pub string_list_values: Vec<String>,
    #[serde(default)]
    pub binary_list_values: Vec<Blob>,
    pub data_type: Option<String>,
}

impl AttributeValueIn {
    fn raw(self) -> RawAttribute {
        RawAttribute {
            data_type: self.data_type,
            string: self.string_value,
            binary: self.binary_value.map(|b| b.0),
            lists: !self.string_list_values.is_empty() || !self.binary_list_values.is_empty(),
        }
    }
}

fn outgoing(
    body: Option<String>,
    delay: Option<i64>,
    attributes: BTreeMap<String, AttributeValueIn>,
    system: BTreeMap<String, AttributeValueIn>,
) -> Outgoing {
    Outgoing {
        body: body.unwrap_or_default(),
        delay,
        attributes: attributes.into_iter().map(|(k, v)| (k, v.raw())).collect(),
        system: system.into_iter().map(|(k, v)| (k, v.raw())).collect(),
    }
}

// SendMessage and a SendMessageBatch entry repeat the message members: serde's
// `flatten` would buffer them and lose the Query protocol's lenient numbers.

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendMessageIn {
    pub queue_url: String,
    pub message_body: Option<String>,
    pub delay_seconds: Option<i64>,
    #[serde(default)]
    pub message_attributes: BTreeMap<String, AttributeValueIn>,
    #[serde(default)]
    pub message_system_attributes: BTreeMap<String, AttributeValueIn>,
    pub message_deduplication_id: Option<String>,
}

impl SendMessageIn {
    pub fn outgoing(self) -> Outgoing {
        outgoing(
            self.message_body,
            self.delay_seconds,
            self.message_attributes,
            self.message_system_attributes,
        )
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendBatchEntryIn {
    pub id: String,
    pub message_body: Option<String>,
    pub delay_seconds: Option<i64>,
    #[serde(default)]
    pub message_attributes: BTreeMap<String, AttributeValueIn>,
    #[serde(default)]
    pub message_system_attributes: BTreeMap<String, AttributeValueIn>,
    pub message_deduplication_id: Option<String>,
}

impl SendBatchEntryIn {
    pub fn outgoing(self) -> Outgoing {
        outgoing(
            self.message_body,
            self.delay_seconds,
            self.message_attributes,
            self.message_system_attributes,
        )
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendMessageBatchIn {
    pub queue_url: String,
    #[serde(default)]
    pub entries: Vec<SendBatchEntryIn>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReceiveMessageIn {
    pub queue_url: String,
    #[serde(default)]
    pub attribute_names: Vec<String>,
    #[serde(default)]
    pub message_system_attribute_names: Vec<String>,
    #[serde(default)]
    pub message_attribute_names: Vec<String>,
    pub max_number_of_messages: Option<i64>,
    pub visibility_timeout: Option<i64>,
    pub wait_time_seconds: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteMessageIn {
    pub queue_url: String,
    pub receipt_handle: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteBatchEntryIn {
    pub id: String,
    pub receipt_handle: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteMessageBatchIn {
    pub queue_url: String,
    #[serde(default)]
    pub entries: Vec<DeleteBatchEntryIn>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeVisibilityIn {
    pub queue_url: String,
    pub receipt_handle: String,
    pub visibility_timeout: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeBatchEntryIn {
    pub id: String,
    pub receipt_handle: String,
    pub visibility_timeout: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeVisibilityBatchIn {
    pub queue_url: String,
    #[serde(default)]
    pub entries: Vec<ChangeBatchEntryIn>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagQueueIn {
    pub queue_url: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagQueueIn {
    pub queue_url: String,
    #[serde(default)]
    pub tag_keys: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Empty {}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueUrlOut {
    pub queue_url: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueuesOut {
    pub queue_urls: FlatList<String>,
    pub next_token: Option<String>,
}

/// A string map as SQS writes it: `<Attribute><Name/><Value/></Attribute>` in Query;
/// left out of JSON when empty.
pub fn string_map(
    names: (&'static str, &'static str, &'static str),
    m: BTreeMap<String, String>,
) -> FlatMap<String> {
    FlatMap {
        names,
        entries: m.into_iter().collect(),
    }
}

pub const ATTRIBUTE: (&str, &str, &str) = ("Attribute", "Name", "Value");
pub const TAG: (&str, &str, &str) = ("Tag", "Key", "Value");

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributesOut {
    pub attributes: FlatMap<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagsOut {
    pub tags: FlatMap<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendMessageOut {
    #[serde(rename = "MD5OfMessageBody")]
    pub md5_body: String,
    #[serde(rename = "MD5OfMessageAttributes")]
    pub md5_attributes: Option<String>,
    #[serde(rename = "MD5OfMessageSystemAttributes")]
    pub md5_system: Option<String>,
    pub message_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchSentOut {
    pub id: String,
    pub message_id: String,
    #[serde(rename = "MD5OfMessageBody")]
    pub md5_body: String,
    #[serde(rename = "MD5OfMessageAttributes")]
    pub md5_attributes: Option<String>,
    #[serde(rename = "MD5OfMessageSystemAttributes")]
    pub md5_system: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchErrorOut {
    pub id: String,
    pub sender_fault: bool,
    pub code: String,
    pub message: String,
}

impl BatchErrorOut {
    pub fn new(id: String, e: &crate::Error) -> BatchErrorOut {
        let (_, code, status) = e.codes();
        BatchErrorOut {
            id,
            sender_fault: status < 500,
            code: code.to_owned(),
            message: e.to_string(),
        }
    }
}

/// The failed entries of a batch, as every batch output names them.
pub fn error_entries(items: Vec<BatchErrorOut>) -> FlatList<BatchErrorOut> {
    FlatList {
        item: "BatchResultErrorEntry",
        items,
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendBatchOut {
    pub successful: FlatList<BatchSentOut>,
    pub failed: FlatList<BatchErrorOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct IdOut {
    pub id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct IdsBatchOut {
    pub successful: FlatList<IdOut>,
    pub failed: FlatList<BatchErrorOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeValueOut {
    pub string_value: Option<String>,
    pub binary_value: Option<Blob>,
    pub data_type: String,
}

impl From<AttributeValue> for AttributeValueOut {
    fn from(v: AttributeValue) -> Self {
        AttributeValueOut {
            string_value: v.string,
            binary_value: v.binary.map(Blob),
            data_type: v.data_type,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MessageOut {
    pub message_id: String,
    pub receipt_handle: String,
    #[serde(rename = "MD5OfBody")]
    pub md5_body: String,
    pub body: String,
    pub attributes: FlatMap<String>,
    #[serde(rename = "MD5OfMessageAttributes")]
    pub md5_attributes: Option<String>,
    pub message_attributes: FlatMap<AttributeValueOut>,
}

impl From<crate::receive::Received> for MessageOut {
    fn from(r: crate::receive::Received) -> Self {
        let message_attributes = FlatMap {
            names: ("MessageAttribute", "Name", "Value"),
            entries: r
                .message_attributes
                .into_iter()
                .map(|(k, v)| (k, v.into()))
                .collect(),
        };
        MessageOut {
            message_id: r.message_id,
            receipt_handle: r.receipt_handle,
            md5_body: r.md5_body,
            body: r.body,
            attributes: string_map(ATTRIBUTE, r.attributes),
            md5_attributes: r.md5_attributes,
            message_attributes,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReceiveOut {
    pub messages: FlatList<MessageOut>,
}
