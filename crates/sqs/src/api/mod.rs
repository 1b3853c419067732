//! SQS (`AmazonSQS`, API version 2012-11-05) over awsJson1_0, the protocol current SDKs
//! speak, and awsQuery, which older CLIs (Debian's aws v2.9) still send. The service is
//! query-compatible: JSON errors name the error shape and carry the Query code in
//! `x-amzn-query-error`, which botocore reports as the code. Every queue operation is
//! authorized on the ARN its QueueUrl names, so a queue policy can grant other accounts.

mod query;
mod shapes;

use crate::engine::Sqs;
use crate::model::queue_arn;
use crate::receive::ReceiveOptions;
use crate::send::{check_batch, check_batch_size};
use crate::{Error, Result};
use shapes::*;
use sightline_core::Scope;
use sightline_wire::{
    ApiError, CallContext, DeError, FlatList, OperationDef, Protocol, ResourceCtx, ResourcePolicy,
    ResourcePolicyKind, Service, ServiceDef, Value, any_resource, typed,
};
use std::sync::Arc;

pub const NAMESPACE: &str = "http://queue.amazonaws.com/doc/2012-11-05/";

fn input_str<'a>(v: &'a Value, member: &str) -> Option<&'a str> {
    v.get(member).and_then(Value::as_str)
}

/// The queue a QueueUrl names, in the caller's region (`*` for a malformed URL: the
/// operation itself then refuses it).
fn queue(ctx: &ResourceCtx<'_>, v: &Value) -> Vec<String> {
    let arn = input_str(v, "QueueUrl").and_then(|u| Sqs::arn_of_url(u, ctx.region).ok());
    vec![arn.unwrap_or_else(|| "*".to_owned())]
}

fn new_queue(ctx: &ResourceCtx<'_>, v: &Value) -> Vec<String> {
    match input_str(v, "QueueName") {
        Some(n) => vec![queue_arn(ctx.region, ctx.account_id, n)],
        None => vec!["*".into()],
    }
}

/// GetQueueUrl: the named queue of the caller's account or of QueueOwnerAWSAccountId.
fn named_queue(ctx: &ResourceCtx<'_>, v: &Value) -> Vec<String> {
    let account = input_str(v, "QueueOwnerAWSAccountId").unwrap_or(ctx.account_id);
    match input_str(v, "QueueName") {
        Some(n) => vec![queue_arn(ctx.region, account, n)],
        None => vec!["*".into()],
    }
}

const fn op(
    name: &'static str,
    action: &'static str,
    read_only: bool,
    resources: fn(&ResourceCtx<'_>, &Value) -> Vec<String>,
) -> OperationDef {
    OperationDef::rpc(name, action, read_only, resources)
}

pub static SQS: ServiceDef = ServiceDef {
    signing_name: "sqs",
    endpoint_prefix: "sqs",
    protocols: &[Protocol::AwsJson1_0, Protocol::AwsQuery],
    xml_namespace: NAMESPACE,
    target_prefix: Some("AmazonSQS"),
    query_compatible: true,
    global_region: None,
    denied_code: Some("AccessDenied"),
    operations: &[
        op("CreateQueue", "sqs:CreateQueue", false, new_queue),
        op("DeleteQueue", "sqs:DeleteQueue", false, queue),
        op("ListQueues", "sqs:ListQueues", true, any_resource),
        op("GetQueueUrl", "sqs:GetQueueUrl", true, named_queue),
        op("GetQueueAttributes", "sqs:GetQueueAttributes", true, queue),
        op("SetQueueAttributes", "sqs:SetQueueAttributes", false, queue),
        // Messages belong to their receivers, not in the trail's record of the call.
        op("SendMessage", "sqs:SendMessage", false, queue)
            .audit_only(&["QueueUrl", "DelaySeconds"]),
        op("SendMessageBatch", "sqs:SendMessage", false, queue).audit_only(&["QueueUrl"]),
        // Read-only in the trail's sense: its output (the messages) stays out of it.
        op("ReceiveMessage", "sqs:ReceiveMessage", true, queue).audit_only(&[
            "QueueUrl",
            "MaxNumberOfMessages",
            "VisibilityTimeout",
            "WaitTimeSeconds",
        ]),
        // Receipt handles are what lets a holder delete a message: kept out too.
        op("DeleteMessage", "sqs:DeleteMessage", false, queue).audit_only(&["QueueUrl"]),
        op("DeleteMessageBatch", "sqs:DeleteMessage", false, queue).audit_only(&["QueueUrl"]),
        op(
            "ChangeMessageVisibility",
            "sqs:ChangeMessageVisibility",
            false,
            queue,
        )
        .audit_only(&["QueueUrl", "VisibilityTimeout"]),
        op(
            "ChangeMessageVisibilityBatch",
            "sqs:ChangeMessageVisibility",
            false,
            queue,
        )
        .audit_only(&["QueueUrl"]),
        op("PurgeQueue", "sqs:PurgeQueue", false, queue),
        op("TagQueue", "sqs:TagQueue", false, queue),
        op("UntagQueue", "sqs:UntagQueue", false, queue),
        op("ListQueueTags", "sqs:ListQueueTags", true, queue),
    ],
};

/// Input that does not fit the shape, in SQS's words.
fn invalid(e: &DeError) -> ApiError {
    match e {
        DeError::Missing(p) => ApiError::bad_request(
            "MissingParameter",
            format!("The request must contain the parameter {p}."),
        ),
        DeError::Invalid { path, message } => ApiError::bad_request(
            "InvalidParameterValue",
            format!("Value for parameter {path} is invalid. Reason: {message}."),
        ),
    }
}

pub struct SqsService {
    pub sqs: Arc<Sqs>,
}

impl SqsService {
    pub fn new(sqs: Arc<Sqs>) -> SqsService {
        SqsService { sqs }
    }
}

/// The ARN of the queue a request's URL names.
fn arn(scope: &Scope, url: &str) -> Result<String> {
    Sqs::arn_of_url(url, &scope.region)
}

fn refuse_fifo_members(dedup: &Option<String>) -> Result<()> {
    if dedup.is_some() {
        return Err(Error::invalid(
            "The request include parameter that is not valid for this queue type",
        ));
    }
    Ok(())
}

impl SqsService {
    async fn dispatch(
        &self,
        ctx: &CallContext,
        op: &'static OperationDef,
        input: Value,
    ) -> Result<Value, ApiError> {
        let sqs = &self.sqs;
        let scope = &ctx.scope;
        let input = query::normalize(input);
        match op.name {
            "CreateQueue" => {
                typed(input, invalid, |r: CreateQueueIn| async move {
                    let url = sqs
                        .create_queue(scope, &r.queue_name, &r.attributes, r.tags)
                        .await?;
                    Ok(QueueUrlOut { queue_url: url })
                })
                .await
            }
            "DeleteQueue" => {
                typed(input, invalid, |r: QueueUrlIn| async move {
                    sqs.delete_queue(&arn(scope, &r.queue_url)?).await?;
                    Ok(Empty {})
                })
                .await
            }
            "ListQueues" => {
                typed(input, invalid, |r: ListQueuesIn| async move {
                    let (urls, next) = sqs.list_queues(
                        scope,
                        r.queue_name_prefix.as_deref(),
                        r.max_results,
                        r.next_token.as_deref(),
                    )?;
                    Ok(ListQueuesOut {
                        queue_urls: FlatList {
                            item: "QueueUrl",
                            items: urls,
                        },
                        next_token: next,
                    })
                })
                .await
            }
            "GetQueueUrl" => {
                typed(input, invalid, |r: GetQueueUrlIn| async move {
                    let account = r.owner.as_deref().unwrap_or(&scope.account_id);
                    let url = sqs.queue_url(&scope.region, account, &r.queue_name)?;
                    Ok(QueueUrlOut { queue_url: url })
                })
                .await
            }
            "GetQueueAttributes" => {
                typed(input, invalid, |r: GetQueueAttributesIn| async move {
                    let attrs =
                        sqs.get_attributes(&arn(scope, &r.queue_url)?, &r.attribute_names)?;
                    Ok(AttributesOut {
                        attributes: string_map(ATTRIBUTE, attrs),
                    })
                })
                .await
            }
            "SetQueueAttributes" => {
                typed(input, invalid, |r: SetQueueAttributesIn| async move {
                    sqs.set_attributes(&arn(scope, &r.queue_url)?, &r.attributes)
                        .await?;
                    Ok(Empty {})
                })
                .await
            }
            "SendMessage" => {
                let sender = ctx.caller.principal_id.clone();
                typed(input, invalid, |r: SendMessageIn| async move {
                    let arn = arn(scope, &r.queue_url)?;
                    refuse_fifo_members(&r.message_deduplication_id)?;
                    let sent = sqs.send_one(&arn, r.outgoing(), &sender).await?;
                    Ok(SendMessageOut {
                        md5_body: sent.md5_body,
                        md5_attributes: sent.md5_attributes,
                        md5_system: sent.md5_system,
                        message_id: sent.message_id,
                    })
                })
                .await
            }
            "SendMessageBatch" => {
                let sender = ctx.caller.principal_id.clone();
                typed(input, invalid, |r: SendMessageBatchIn| async move {
                    self.send_batch(scope, r, &sender).await
                })
                .await
            }
            "ReceiveMessage" => {
                typed(input, invalid, |r: ReceiveMessageIn| async move {
                    let arn = arn(scope, &r.queue_url)?;
                    let mut system_names = r.attribute_names;
                    system_names.extend(r.message_system_attribute_names);
                    let opts = ReceiveOptions {
                        max: r.max_number_of_messages,
                        visibility: r.visibility_timeout,
                        wait: r.wait_time_seconds,
                        system_names,
                        attribute_names: r.message_attribute_names,
                    };
                    let got = sqs.receive(&arn, &opts).await?;
                    Ok(ReceiveOut {
                        messages: FlatList {
                            item: "Message",
                            items: got.into_iter().map(MessageOut::from).collect(),
                        },
                    })
                })
                .await
            }
            "DeleteMessage" => {
                typed(input, invalid, |r: DeleteMessageIn| async move {
                    sqs.delete_message(&arn(scope, &r.queue_url)?, &r.receipt_handle)
                        .await?;
                    Ok(Empty {})
                })
                .await
            }
            "DeleteMessageBatch" => {
                typed(input, invalid, |r: DeleteMessageBatchIn| async move {
                    let arn = arn(scope, &r.queue_url)?;
                    check_batch(
                        r.entries.iter().map(|e| e.id.as_str()),
                        "DeleteMessageBatchRequestEntry",
                    )?;
                    let entries: Vec<(String, String)> = r
                        .entries
                        .into_iter()
                        .map(|e| (e.id, e.receipt_handle))
                        .collect();
                    let outcomes = sqs.delete_messages(&arn, &entries).await?;
                    let ids = entries.into_iter().map(|(id, _)| id);
                    Ok(ids_out("DeleteMessageBatchResultEntry", ids, outcomes))
                })
                .await
            }
            "ChangeMessageVisibility" => {
                typed(input, invalid, |r: ChangeVisibilityIn| async move {
                    sqs.change_visibility(
                        &arn(scope, &r.queue_url)?,
                        &r.receipt_handle,
                        r.visibility_timeout,
                    )
                    .await?;
                    Ok(Empty {})
                })
                .await
            }
            "ChangeMessageVisibilityBatch" => {
                typed(input, invalid, |r: ChangeVisibilityBatchIn| async move {
                    self.change_batch(scope, r).await
                })
                .await
            }
            "PurgeQueue" => {
                typed(input, invalid, |r: QueueUrlIn| async move {
                    sqs.purge(&arn(scope, &r.queue_url)?).await?;
                    Ok(Empty {})
                })
                .await
            }
            "TagQueue" => {
                typed(input, invalid, |r: TagQueueIn| async move {
                    sqs.tag(&arn(scope, &r.queue_url)?, r.tags).await?;
                    Ok(Empty {})
                })
                .await
            }
            "UntagQueue" => {
                typed(input, invalid, |r: UntagQueueIn| async move {
                    sqs.untag(&arn(scope, &r.queue_url)?, &r.tag_keys).await?;
                    Ok(Empty {})
                })
                .await
            }
            "ListQueueTags" => {
                typed(input, invalid, |r: QueueUrlIn| async move {
                    Ok(TagsOut {
                        tags: string_map(TAG, sqs.tags(&arn(scope, &r.queue_url)?)?),
                    })
                })
                .await
            }
            other => Err(self.def().undispatched(other)),
        }
    }

    async fn send_batch(
        &self,
        scope: &Scope,
        r: SendMessageBatchIn,
        sender: &str,
    ) -> Result<SendBatchOut, ApiError> {
        let arn = arn(scope, &r.queue_url)?;
        check_batch(
            r.entries.iter().map(|e| e.id.as_str()),
            "SendMessageBatchRequestEntry",
        )?;
        let mut ids = Vec::new();
        let mut messages = Vec::new();
        let mut refused = Vec::new();
        for e in r.entries {
            if let Err(err) = refuse_fifo_members(&e.message_deduplication_id) {
                refused.push(BatchErrorOut::new(e.id, &err));
                continue;
            }
            ids.push(e.id.clone());
            messages.push(e.outgoing());
        }
        check_batch_size(&messages)?;
        let outcomes = self.sqs.send(&arn, messages, sender).await?;
        let mut successful = Vec::new();
        let mut failed = refused;
        for (id, outcome) in ids.into_iter().zip(outcomes) {
            match outcome {
                Ok(s) => successful.push(BatchSentOut {
                    id,
                    message_id: s.message_id,
                    md5_body: s.md5_body,
                    md5_attributes: s.md5_attributes,
                    md5_system: s.md5_system,
                }),
                Err(e) => failed.push(BatchErrorOut::new(id, &e)),
            }
        }
        Ok(SendBatchOut {
            successful: FlatList {
                item: "SendMessageBatchResultEntry",
                items: successful,
            },
            failed: error_entries(failed),
        })
    }

    async fn change_batch(
        &self,
        scope: &Scope,
        r: ChangeVisibilityBatchIn,
    ) -> Result<IdsBatchOut, ApiError> {
        let arn = arn(scope, &r.queue_url)?;
        check_batch(
            r.entries.iter().map(|e| e.id.as_str()),
            "ChangeMessageVisibilityBatchRequestEntry",
        )?;
        let mut ids = Vec::new();
        let mut entries = Vec::new();
        let mut missing = Vec::new();
        for e in r.entries {
            match e.visibility_timeout {
                Some(t) => {
                    ids.push(e.id);
                    entries.push((e.receipt_handle, t));
                }
                None => missing.push(e.id),
            }
        }
        let outcomes = self.sqs.change_visibilities(&arn, &entries).await?;
        let mut out = ids_out(
            "ChangeMessageVisibilityBatchResultEntry",
            ids.into_iter(),
            outcomes,
        );
        for id in missing {
            let e = Error::MissingParameter(
                "The request must contain the parameter VisibilityTimeout.".into(),
            );
            out.failed.items.push(BatchErrorOut::new(id, &e));
        }
        Ok(out)
    }
}

fn ids_out(
    item: &'static str,
    ids: impl Iterator<Item = String>,
    outcomes: Vec<Result<()>>,
) -> IdsBatchOut {
    let mut successful = Vec::new();
    let mut failed_entries = Vec::new();
    for (id, outcome) in ids.zip(outcomes) {
        match outcome {
            Ok(()) => successful.push(IdOut { id }),
            Err(e) => failed_entries.push(BatchErrorOut::new(id, &e)),
        }
    }
    IdsBatchOut {
        successful: FlatList {
            item,
            items: successful,
        },
        failed: error_entries(failed_entries),
    }
}

#[async_trait::async_trait]
impl Service for SqsService {
    fn def(&self) -> &'static ServiceDef {
        &SQS
    }

    async fn call(
        &self,
        ctx: &CallContext,
        op: &'static OperationDef,
        input: Value,
    ) -> Result<Value, ApiError> {
        self.dispatch(ctx, op, input).await
    }

    /// A queue's policy, combined with identity policies as AWS does for resource
    /// policies: within the account either may grant, across accounts it must.
    async fn resource_policy(&self, _scope: &Scope, arn: &str) -> Option<ResourcePolicy> {
        self.sqs.queue_policy(arn).map(|document| ResourcePolicy {
            document,
            kind: ResourcePolicyKind::Resource,
        })
    }
}
