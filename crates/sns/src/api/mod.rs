//! SNS over awsQuery (Version 2010-03-31): the operation table with the topic ARN each
//! call is authorized on, the dispatch onto the engine, and topic policies as resource
//! policies.

mod shapes;

use crate::engine::Sns;
use crate::model::{subscription_topic, topic_arn};
use crate::publish::Target;
use shapes::*;
use sightline_core::Scope;
use sightline_wire::{
    ApiError, CallContext, DeError, OperationDef, Protocol, ResourceCtx, ResourcePolicy,
    ResourcePolicyKind, Service, ServiceDef, Value, any_resource, typed,
};
use std::sync::Arc;

pub const NAMESPACE: &str = "http://sns.amazonaws.com/doc/2010-03-31/";

fn input_str<'a>(v: &'a Value, member: &str) -> Option<&'a str> {
    v.get(member).and_then(Value::as_str)
}

fn one(arn: Option<&str>) -> Vec<String> {
    vec![arn.unwrap_or("*").to_owned()]
}

fn topic(_: &ResourceCtx<'_>, v: &Value) -> Vec<String> {
    one(input_str(v, "TopicArn"))
}

fn new_topic(ctx: &ResourceCtx<'_>, v: &Value) -> Vec<String> {
    match input_str(v, "Name") {
        Some(n) => vec![topic_arn(ctx.region, ctx.account_id, n)],
        None => one(None),
    }
}

fn target(_: &ResourceCtx<'_>, v: &Value) -> Vec<String> {
    one(input_str(v, "TopicArn").or_else(|| input_str(v, "TargetArn")))
}

/// Subscriptions are authorized on their topic, the only SNS resource type IAM names.
fn subscription(_: &ResourceCtx<'_>, v: &Value) -> Vec<String> {
    one(input_str(v, "SubscriptionArn").and_then(subscription_topic))
}

fn resource(_: &ResourceCtx<'_>, v: &Value) -> Vec<String> {
    one(input_str(v, "ResourceArn"))
}

const fn op(
    name: &'static str,
    action: &'static str,
    read_only: bool,
    resources: fn(&ResourceCtx<'_>, &Value) -> Vec<String>,
) -> OperationDef {
    OperationDef::rpc(name, action, read_only, resources)
}

pub static SNS: ServiceDef = ServiceDef {
    signing_name: "sns",
    endpoint_prefix: "sns",
    protocols: &[Protocol::AwsQuery],
    xml_namespace: NAMESPACE,
    target_prefix: None,
    query_compatible: false,
    global_region: None,
    denied_code: Some("AuthorizationError"),
    operations: &[
        op("CreateTopic", "sns:CreateTopic", false, new_topic),
        op("DeleteTopic", "sns:DeleteTopic", false, topic),
        op("ListTopics", "sns:ListTopics", true, any_resource),
        op("GetTopicAttributes", "sns:GetTopicAttributes", true, topic),
        op("SetTopicAttributes", "sns:SetTopicAttributes", false, topic),
        op("Subscribe", "sns:Subscribe", false, topic),
        // The token is what proves the endpoint; it stays out of the trail.
        op(
            "ConfirmSubscription",
            "sns:ConfirmSubscription",
            false,
            topic,
        )
        .audit_only(&["TopicArn", "AuthenticateOnUnsubscribe"]),
        op("Unsubscribe", "sns:Unsubscribe", false, subscription),
        op(
            "ListSubscriptions",
            "sns:ListSubscriptions",
            true,
            any_resource,
        ),
        op(
            "ListSubscriptionsByTopic",
            "sns:ListSubscriptionsByTopic",
            true,
            topic,
        ),
        op(
            "GetSubscriptionAttributes",
            "sns:GetSubscriptionAttributes",
            true,
            subscription,
        ),
        op(
            "SetSubscriptionAttributes",
            "sns:SetSubscriptionAttributes",
            false,
            subscription,
        ),
        // Messages belong to their subscribers, not in the trail's record of the call.
        op("Publish", "sns:Publish", false, target).audit_only(&[
            "TopicArn",
            "TargetArn",
            "Subject",
            "MessageStructure",
        ]),
        op("PublishBatch", "sns:Publish", false, topic).audit_only(&["TopicArn"]),
        op("TagResource", "sns:TagResource", false, resource),
        op("UntagResource", "sns:UntagResource", false, resource),
        op(
            "ListTagsForResource",
            "sns:ListTagsForResource",
            true,
            resource,
        ),
        op("AddPermission", "sns:AddPermission", false, topic),
        op("RemovePermission", "sns:RemovePermission", false, topic),
    ],
};

/// Input that does not fit the shape, in SNS's words.
fn invalid(e: &DeError) -> ApiError {
    let message = match e {
        DeError::Missing(p) => format!("Invalid parameter: {p}"),
        DeError::Invalid { path, message } => {
            format!("Invalid parameter: {path} Reason: {message}")
        }
    };
    ApiError::new(400, "InvalidParameter", message)
}

pub struct SnsService {
    pub sns: Arc<Sns>,
}

impl SnsService {
    pub fn new(sns: Arc<Sns>) -> SnsService {
        SnsService { sns }
    }

    async fn dispatch(
        &self,
        ctx: &CallContext,
        op: &'static OperationDef,
        input: Value,
    ) -> Result<Value, ApiError> {
        let sns = &self.sns;
        let scope = &ctx.scope;
        match op.name {
            "CreateTopic" => {
                typed(input, invalid, |r: CreateTopicIn| async move {
                    let mut attributes = r.attributes.unwrap_or_default();
                    if let Some(p) = r.data_protection_policy {
                        attributes.insert("DataProtectionPolicy".into(), p);
                    }
                    let arn =
                        sns.create_topic(scope, &r.name, attributes, r.tags.unwrap_or_default())?;
                    Ok(TopicArnOut { topic_arn: arn })
                })
                .await
            }
            "DeleteTopic" => {
                typed(input, invalid, |r: TopicArnIn| async move {
                    sns.delete_topic(scope, &r.topic_arn)?;
                    Ok(Empty {})
                })
                .await
            }
            "ListTopics" => {
                typed(input, invalid, |r: NextTokenIn| async move {
                    let (arns, next) = sns.list_topics(scope, r.next_token.as_deref())?;
                    Ok(ListTopicsOut {
                        topics: arns
                            .into_iter()
                            .map(|topic_arn| TopicArnOut { topic_arn })
                            .collect(),
                        next_token: next,
                    })
                })
                .await
            }
            "GetTopicAttributes" => {
                typed(input, invalid, |r: TopicArnIn| async move {
                    Ok(AttributesOut {
                        attributes: sns.topic_attributes(scope, &r.topic_arn)?.into(),
                    })
                })
                .await
            }
            "SetTopicAttributes" => {
                typed(input, invalid, |r: SetTopicAttributesIn| async move {
                    sns.set_topic_attribute(
                        scope,
                        &r.topic_arn,
                        &r.attribute_name,
                        r.attribute_value.as_deref().unwrap_or(""),
                    )?;
                    Ok(Empty {})
                })
                .await
            }
            "Subscribe" => {
                typed(input, invalid, |r: SubscribeIn| async move {
                    let arn = sns.subscribe(
                        scope,
                        &r.topic_arn,
                        &r.protocol,
                        r.endpoint.as_deref(),
                        r.attributes.unwrap_or_default(),
                        r.return_subscription_arn.unwrap_or(false),
                    )?;
                    Ok(SubscriptionArnOut {
                        subscription_arn: arn,
                    })
                })
                .await
            }
            "ConfirmSubscription" => {
                typed(input, invalid, |r: ConfirmIn| async move {
                    let authenticate = r
                        .authenticate_on_unsubscribe
                        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
                    let arn = sns.confirm_subscription(
                        Some(scope),
                        &r.topic_arn,
                        &r.token,
                        authenticate,
                    )?;
                    Ok(SubscriptionArnOut {
                        subscription_arn: arn,
                    })
                })
                .await
            }
            "Unsubscribe" => {
                typed(input, invalid, |r: SubscriptionArnIn| async move {
                    sns.unsubscribe(Some(scope), &r.subscription_arn)?;
                    Ok(Empty {})
                })
                .await
            }
            "ListSubscriptions" => {
                typed(input, invalid, |r: NextTokenIn| async move {
                    let (subs, next) = sns.list_subscriptions(scope, r.next_token.as_deref())?;
                    Ok(list_out(subs, next))
                })
                .await
            }
            "ListSubscriptionsByTopic" => {
                typed(input, invalid, |r: TopicArnIn| async move {
                    let (subs, next) = sns.list_subscriptions_by_topic(
                        scope,
                        &r.topic_arn,
                        r.next_token.as_deref(),
                    )?;
                    Ok(list_out(subs, next))
                })
                .await
            }
            "GetSubscriptionAttributes" => {
                typed(input, invalid, |r: SubscriptionArnIn| async move {
                    Ok(AttributesOut {
                        attributes: sns
                            .subscription_attributes(scope, &r.subscription_arn)?
                            .into(),
                    })
                })
                .await
            }
            "SetSubscriptionAttributes" => {
                typed(
                    input,
                    invalid,
                    |r: SetSubscriptionAttributesIn| async move {
                        sns.set_subscription_attribute(
                            scope,
                            &r.subscription_arn,
                            &r.attribute_name,
                            r.attribute_value.as_deref().unwrap_or(""),
                        )?;
                        Ok(Empty {})
                    },
                )
                .await
            }
            "Publish" => {
                typed(input, invalid, |r: PublishIn| async move {
                    let target = Target {
                        topic_arn: r.topic_arn.clone(),
                        target_arn: r.target_arn.clone(),
                        phone_number: r.phone_number.clone(),
                    };
                    let id = sns.publish(scope, &target, r.message())?;
                    Ok(PublishOut { message_id: id })
                })
                .await
            }
            "PublishBatch" => {
                typed(input, invalid, |r: PublishBatchIn| async move {
                    let entries = r
                        .publish_batch_request_entries
                        .into_iter()
                        .map(BatchEntryIn::entry)
                        .collect();
                    let outcome = sns.publish_batch(scope, &r.topic_arn, entries)?;
                    Ok(PublishBatchOut {
                        successful: outcome
                            .successful
                            .into_iter()
                            .map(|(id, message_id)| BatchOk { id, message_id })
                            .collect(),
                        failed: outcome
                            .failed
                            .into_iter()
                            .map(|f| BatchFailed {
                                id: f.id,
                                code: f.code.to_owned(),
                                message: f.message,
                                sender_fault: true,
                            })
                            .collect(),
                    })
                })
                .await
            }
            "TagResource" => {
                typed(input, invalid, |r: ResourceArnIn| async move {
                    sns.tag(scope, &r.resource_arn, r.tags)?;
                    Ok(Empty {})
                })
                .await
            }
            "UntagResource" => {
                typed(input, invalid, |r: ResourceArnIn| async move {
                    sns.untag(scope, &r.resource_arn, &r.tag_keys)?;
                    Ok(Empty {})
                })
                .await
            }
            "ListTagsForResource" => {
                typed(input, invalid, |r: ResourceArnIn| async move {
                    Ok(TagsOut {
                        tags: sns.tags(scope, &r.resource_arn)?,
                    })
                })
                .await
            }
            "AddPermission" => {
                typed(input, invalid, |r: PermissionIn| async move {
                    sns.add_permission(
                        scope,
                        &r.topic_arn,
                        &r.label,
                        &r.aws_account_id,
                        &r.action_name,
                    )?;
                    Ok(Empty {})
                })
                .await
            }
            "RemovePermission" => {
                typed(input, invalid, |r: PermissionIn| async move {
                    sns.remove_permission(scope, &r.topic_arn, &r.label)?;
                    Ok(Empty {})
                })
                .await
            }
            other => Err(self.def().undispatched(other)),
        }
    }
}

fn list_out(subs: Vec<crate::subscriptions::Listed>, next: Option<String>) -> ListSubscriptionsOut {
    ListSubscriptionsOut {
        subscriptions: subs
            .into_iter()
            .map(|s| SubscriptionOut {
                subscription_arn: s.arn,
                owner: s.owner,
                protocol: s.protocol,
                endpoint: s.endpoint,
                topic_arn: s.topic_arn,
            })
            .collect(),
        next_token: next,
    }
}

#[async_trait::async_trait]
impl Service for SnsService {
    fn def(&self) -> &'static ServiceDef {
        &SNS
    }

    async fn call(
        &self,
        ctx: &CallContext,
        op: &'static OperationDef,
        input: Value,
    ) -> Result<Value, ApiError> {
        self.dispatch(ctx, op, input).await
    }

    /// A topic's policy, combined with identity policies as AWS does for resource
    /// policies: within the account either may grant, across accounts it must.
    async fn resource_policy(&self, _scope: &Scope, arn: &str) -> Option<ResourcePolicy> {
        self.sns.topic_policy(arn).map(|document| ResourcePolicy {
            document,
            kind: ResourcePolicyKind::Resource,
        })
    }
}
