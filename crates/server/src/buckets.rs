//! Writes AWS services make into customers' buckets (CloudTrail's log and digest
//! files), authorized as AWS authorizes a service principal: by the bucket policy alone,
//! with the condition keys AWS's recommended policies test (`aws:SourceArn`,
//! `aws:SourceAccount`, `s3:x-amz-acl`), and encrypted with the service's key use.

use sightline_core::{
    Caller, KeyRequest, ObjectEncryption, ObjectWrite, Scope, ServiceActor, ServiceBuckets,
};
use sightline_iam::Identity;
use sightline_policy::{Context, Outcome};
use sightline_s3::S3;
use sightline_s3::engine::{NewObject, SseRequest};
use sightline_wire::{ResourcePolicy, ResourcePolicyKind};
use std::sync::Arc;

pub struct S3Buckets {
    pub s3: Arc<S3>,
    pub identity: Arc<Identity>,
}

fn s3_error(e: sightline_s3::Error) -> sightline_core::Error {
    match e {
        sightline_s3::Error::NoSuchBucket(b) => sightline_core::Error::NotFound(b),
        sightline_s3::Error::Kms { code, message, .. } if code == "AccessDenied" => {
            sightline_core::Error::AccessDenied(message)
        }
        sightline_s3::Error::Kms { code, message, .. } => sightline_core::Error::Service {
            code: code.trim_start_matches("KMS.").to_owned(),
            message,
        },
        other => sightline_core::Error::Storage(other.to_string()),
    }
}

impl S3Buckets {
    fn conditions(actor: &ServiceActor<'_>) -> Context {
        let now = chrono::Utc::now();
        let mut c = Context::new();
        c.set("aws:SourceArn", actor.source_arn.to_owned());
        c.set("aws:SourceAccount", actor.source_account.to_owned());
        c.set("aws:PrincipalServiceName", actor.service.to_owned());
        c.set("aws:SecureTransport", "true");
        c.set(
            "aws:CurrentTime",
            now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        );
        c.set("aws:EpochTime", now.timestamp().to_string());
        c.set("aws:RequestedRegion", actor.region.to_owned());
        // CloudTrail writes with the canned ACL its recommended policy requires.
        c.set("s3:x-amz-acl", "bucket-owner-full-control");
        c
    }

    fn authorize(
        &self,
        actor: &ServiceActor<'_>,
        action: &str,
        resource: &str,
        bucket: &str,
    ) -> sightline_core::Result<()> {
        let Some((owner, policy)) = self.s3.owner(bucket) else {
            return Err(sightline_core::Error::NotFound(bucket.to_owned()));
        };
        let policy = policy.map(|document| ResourcePolicy {
            document,
            kind: ResourcePolicyKind::Resource,
        });
        let caller = Caller::service(actor.service);
        match self.identity.authorize_owned(
            &caller,
            action,
            resource,
            &Self::conditions(actor),
            policy.as_ref(),
            Some(&owner),
        ) {
            Outcome::Allowed => Ok(()),
            _ => Err(sightline_core::Error::AccessDenied(format!(
                "{} is not authorized to perform: {action} on resource: {resource}",
                actor.service
            ))),
        }
    }
}

#[async_trait::async_trait]
impl ServiceBuckets for S3Buckets {
    async fn check_write(
        &self,
        actor: &ServiceActor<'_>,
        bucket: &str,
        key: &str,
    ) -> sightline_core::Result<()> {
        self.authorize(
            actor,
            "s3:GetBucketAcl",
            &format!("arn:aws:s3:::{bucket}"),
            bucket,
        )?;
        self.authorize(
            actor,
            "s3:PutObject",
            &format!("arn:aws:s3:::{bucket}/{key}"),
            bucket,
        )
    }

    async fn put(
        &self,
        actor: &ServiceActor<'_>,
        object: ObjectWrite<'_>,
    ) -> sightline_core::Result<()> {
        self.check_write(actor, object.bucket, object.key).await?;
        let caller = Caller::service(actor.service);
        let scope = Scope::new(actor.source_account, actor.region);
        let request = KeyRequest {
            caller: &caller,
            scope: &scope,
            source_ip: actor.service,
            secure_transport: true,
            via_service: format!(
                "{}.{}.amazonaws.com",
                actor.service.split('.').next().unwrap_or_default(),
                actor.region
            ),
            source_arn: Some(actor.source_arn),
        };
        let (sse, kms_context) = match object.encryption {
            ObjectEncryption::S3Managed => (SseRequest::S3Managed, Default::default()),
            ObjectEncryption::Kms { key_id, context } => (SseRequest::Kms(key_id), context),
        };
        self.s3
            .put_object(
                &request,
                &scope,
                object.bucket,
                object.key,
                NewObject {
                    body: object.body.into(),
                    content_type: Some(object.content_type.to_owned()),
                    metadata: object.metadata,
                    retention: None,
                    legal_hold: false,
                    sse: Some(sse),
                    kms_context,
                },
            )
            .await
            .map_err(s3_error)?;
        Ok(())
    }
}
