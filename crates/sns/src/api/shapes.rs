//! Wire shapes of the SNS operations (botocore's `sns/2010-03-31` model): PascalCase
//! members; string maps answered in Query's `<entry><key/><value/></entry>` form.

use crate::message::AttributeInput;
use crate::model::Tag;
use crate::publish::MessageInput;
use serde::{Deserialize, Serialize};
use sightline_wire::{Blob, WireMap};
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateTopicIn {
    pub name: String,
    pub attributes: Option<BTreeMap<String, String>>,
    pub tags: Option<Vec<Tag>>,
    pub data_protection_policy: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TopicArnIn {
    pub topic_arn: String,
    pub next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NextTokenIn {
    pub next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetTopicAttributesIn {
    pub topic_arn: String,
    pub attribute_name: String,
    pub attribute_value: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubscribeIn {
    pub topic_arn: String,
    pub protocol: String,
    pub endpoint: Option<String>,
    pub attributes: Option<BTreeMap<String, String>>,
    pub return_subscription_arn: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConfirmIn {
    pub topic_arn: String,
    pub token: String,
    pub authenticate_on_unsubscribe: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubscriptionArnIn {
    pub subscription_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetSubscriptionAttributesIn {
    pub subscription_arn: String,
    pub attribute_name: String,
    pub attribute_value: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeIn {
    pub data_type: String,
    pub string_value: Option<String>,
    pub binary_value: Option<Blob>,
}

fn attributes(a: Option<BTreeMap<String, AttributeIn>>) -> BTreeMap<String, AttributeInput> {
    a.unwrap_or_default()
        .into_iter()
        .map(|(k, v)| {
            (
                k,
                AttributeInput {
                    data_type: v.data_type,
                    string_value: v.string_value,
                    binary_value: v.binary_value.map(|b| b.0),
                },
            )
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishIn {
    pub topic_arn: Option<String>,
    pub target_arn: Option<String>,
    pub phone_number: Option<String>,
    pub message: String,
    pub subject: Option<String>,
    pub message_structure: Option<String>,
    pub message_attributes: Option<BTreeMap<String, AttributeIn>>,
    pub message_deduplication_id: Option<String>,
}

impl PublishIn {
    pub fn message(self) -> MessageInput {
        MessageInput {
            message: self.message,
            subject: self.subject,
            message_structure: self.message_structure,
            attributes: attributes(self.message_attributes),
            deduplication_id: self.message_deduplication_id,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchEntryIn {
    pub id: String,
    pub message: String,
    pub subject: Option<String>,
    pub message_structure: Option<String>,
    pub message_attributes: Option<BTreeMap<String, AttributeIn>>,
    pub message_deduplication_id: Option<String>,
}

impl BatchEntryIn {
    pub fn entry(self) -> (String, MessageInput) {
        (
            self.id,
            MessageInput {
                message: self.message,
                subject: self.subject,
                message_structure: self.message_structure,
                attributes: attributes(self.message_attributes),
                deduplication_id: self.message_deduplication_id,
            },
        )
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishBatchIn {
    pub topic_arn: String,
    #[serde(default)]
    pub publish_batch_request_entries: Vec<BatchEntryIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceArnIn {
    pub resource_arn: String,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub tag_keys: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PermissionIn {
    pub topic_arn: String,
    pub label: String,
    #[serde(rename = "AWSAccountId", default)]
    pub aws_account_id: Vec<String>,
    #[serde(default)]
    pub action_name: Vec<String>,
}

// ------------------------------------------------------------------ outputs

#[derive(Serialize)]
pub struct Empty {}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TopicArnOut {
    pub topic_arn: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTopicsOut {
    pub topics: Vec<TopicArnOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributesOut {
    /// A map: Query writes it as `<entry><key/><value/></entry>` items.
    pub attributes: WireMap<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubscriptionArnOut {
    pub subscription_arn: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubscriptionOut {
    pub subscription_arn: String,
    pub owner: String,
    pub protocol: String,
    pub endpoint: String,
    pub topic_arn: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListSubscriptionsOut {
    pub subscriptions: Vec<SubscriptionOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishOut {
    pub message_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchOk {
    pub id: String,
    pub message_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchFailed {
    pub id: String,
    pub code: String,
    pub message: String,
    pub sender_fault: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishBatchOut {
    pub successful: Vec<BatchOk>,
    pub failed: Vec<BatchFailed>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagsOut {
    pub tags: Vec<Tag>,
}
