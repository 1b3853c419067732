//! S3 over restXml: the operation table (routes with their query discriminators), the
//! permissions each call needs, and the dispatch. Requests arrive with their headers
//! (`$headers`) and raw body (`Body`); responses set their status, headers and raw body
//! through the `$status`/`$headers`/`$body` output members the wire layer writes as is.

mod input;
mod output;

use crate::engine::{NewObject, S3};
use crate::{Error, Result};
use input::Input;
use output::{Out, quoted};
use sightline_core::{KeyRequest, Scope};
use sightline_wire::{
    ApiError, CallContext, OperationDef, Permission, Protocol, ResourceCtx, ResourcePolicy,
    Service, ServiceDef, Value,
};
use std::sync::Arc;

fn bucket_arn(_: &ResourceCtx<'_>, input: &Value) -> Vec<String> {
    match input.get("Bucket").and_then(Value::as_str) {
        Some(b) => vec![format!("arn:aws:s3:::{b}")],
        None => vec!["*".into()],
    }
}

fn object_arn(_: &ResourceCtx<'_>, input: &Value) -> Vec<String> {
    let b = input.get("Bucket").and_then(Value::as_str).unwrap_or("");
    let k = input.get("Key").and_then(Value::as_str).unwrap_or("");
    vec![format!("arn:aws:s3:::{b}/{k}")]
}

fn all(_: &ResourceCtx<'_>, _: &Value) -> Vec<String> {
    vec!["*".into()]
}

const fn bucket_op(
    name: &'static str,
    action: &'static str,
    read_only: bool,
    method: &'static str,
    path: &'static str,
) -> OperationDef {
    OperationDef::rpc(name, action, read_only, bucket_arn)
        .route(method, path)
        .raw_request()
}

const fn object_op(
    name: &'static str,
    action: &'static str,
    read_only: bool,
    method: &'static str,
) -> OperationDef {
    object_sub(name, action, read_only, method, "/{Bucket}/{Key+}")
}

const fn object_sub(
    name: &'static str,
    action: &'static str,
    read_only: bool,
    method: &'static str,
    path: &'static str,
) -> OperationDef {
    OperationDef::rpc(name, action, read_only, object_arn)
        .route(method, path)
        .raw_request()
}

pub static S3_DEF: ServiceDef = ServiceDef {
    signing_name: "s3",
    endpoint_prefix: "s3",
    protocols: &[Protocol::RestXml],
    xml_namespace: "http://s3.amazonaws.com/doc/2006-03-01/",
    target_prefix: None,
    query_compatible: false,
    global_region: None,
    denied_code: None,
    operations: &[
        OperationDef::rpc("ListBuckets", "s3:ListAllMyBuckets", true, all)
            .route("GET", "/")
            .raw_request(),
        bucket_op("CreateBucket", "s3:CreateBucket", false, "PUT", "/{Bucket}"),
        bucket_op("HeadBucket", "s3:ListBucket", true, "HEAD", "/{Bucket}"),
        bucket_op(
            "DeleteBucket",
            "s3:DeleteBucket",
            false,
            "DELETE",
            "/{Bucket}",
        ),
        bucket_op(
            "GetBucketLocation",
            "s3:GetBucketLocation",
            true,
            "GET",
            "/{Bucket}?location",
        ),
        bucket_op(
            "GetBucketVersioning",
            "s3:GetBucketVersioning",
            true,
            "GET",
            "/{Bucket}?versioning",
        ),
        bucket_op(
            "PutBucketVersioning",
            "s3:PutBucketVersioning",
            false,
            "PUT",
            "/{Bucket}?versioning",
        ),
        bucket_op("ListObjects", "s3:ListBucket", true, "GET", "/{Bucket}"),
        bucket_op(
            "ListObjectsV2",
            "s3:ListBucket",
            true,
            "GET",
            "/{Bucket}?list-type=2",
        ),
        bucket_op(
            "ListObjectVersions",
            "s3:ListBucketVersions",
            true,
            "GET",
            "/{Bucket}?versions",
        ),
        bucket_op(
            "DeleteObjects",
            "s3:DeleteObject",
            false,
            "POST",
            "/{Bucket}?delete",
        ),
        bucket_op(
            "GetBucketPolicy",
            "s3:GetBucketPolicy",
            true,
            "GET",
            "/{Bucket}?policy",
        ),
        bucket_op(
            "PutBucketPolicy",
            "s3:PutBucketPolicy",
            false,
            "PUT",
            "/{Bucket}?policy",
        ),
        bucket_op(
            "DeleteBucketPolicy",
            "s3:DeleteBucketPolicy",
            false,
            "DELETE",
            "/{Bucket}?policy",
        ),
        bucket_op(
            "GetObjectLockConfiguration",
            "s3:GetBucketObjectLockConfiguration",
            true,
            "GET",
            "/{Bucket}?object-lock",
        ),
        bucket_op(
            "PutObjectLockConfiguration",
            "s3:PutBucketObjectLockConfiguration",
            false,
            "PUT",
            "/{Bucket}?object-lock",
        ),
        object_sub(
            "GetObjectRetention",
            "s3:GetObjectRetention",
            true,
            "GET",
            "/{Bucket}/{Key+}?retention",
        ),
        object_sub(
            "PutObjectRetention",
            "s3:PutObjectRetention",
            false,
            "PUT",
            "/{Bucket}/{Key+}?retention",
        ),
        object_sub(
            "GetObjectLegalHold",
            "s3:GetObjectLegalHold",
            true,
            "GET",
            "/{Bucket}/{Key+}?legal-hold",
        ),
        object_sub(
            "PutObjectLegalHold",
            "s3:PutObjectLegalHold",
            false,
            "PUT",
            "/{Bucket}/{Key+}?legal-hold",
        ),
        object_op("PutObject", "s3:PutObject", false, "PUT"),
        object_op("GetObject", "s3:GetObject", true, "GET"),
        object_op("HeadObject", "s3:GetObject", true, "HEAD"),
        object_op("DeleteObject", "s3:DeleteObject", false, "DELETE"),
    ],
};

pub struct S3Service {
    pub s3: Arc<S3>,
}

/// S3 subresources: a request naming one selects another operation than its path and
/// method alone would. Those this server does not implement must be refused, never
/// served as the bare operation (`PUT /b/k?tagging` is not a PutObject).
const SUBRESOURCES: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "attributes",
    "cors",
    "delete",
    "encryption",
    "intelligent-tiering",
    "inventory",
    "legal-hold",
    "lifecycle",
    "list-type",
    "location",
    "logging",
    "metadataTable",
    "metrics",
    "notification",
    "object-lock",
    "ownershipControls",
    "partNumber",
    "policy",
    "policyStatus",
    "publicAccessBlock",
    "replication",
    "requestPayment",
    "restore",
    "retention",
    "select",
    "select-type",
    "session",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versioning",
    "versions",
    "website",
];

/// Refuses what the chosen route does not really implement: an unknown subresource in
/// the query, a copy source header, a body that does not match its signed hash.
fn vet(op: &'static OperationDef, i: &Input<'_>) -> Result<()> {
    let template = op.http.map(|r| r.path).unwrap_or("");
    let named = template.split_once('?').map(|(_, q)| q).unwrap_or("");
    if let Value::Map(m) = i.0 {
        for (k, _) in m.iter() {
            if SUBRESOURCES.contains(&k.as_str())
                && !named
                    .split('&')
                    .any(|n| n.split('=').next() == Some(k.as_str()))
            {
                return Err(Error::NotImplemented(format!(
                    "A request with the '{k}' subresource is not implemented by this server"
                )));
            }
        }
    }
    if i.header("x-amz-copy-source").is_some() {
        return Err(Error::NotImplemented(
            "CopyObject and UploadPartCopy are not implemented by this server".into(),
        ));
    }
    i.check_body()?;
    Ok(())
}

/// The caller's request as KMS sees it when S3 uses a key on their behalf.
fn key_request(ctx: &CallContext) -> KeyRequest<'_> {
    KeyRequest {
        caller: &ctx.caller,
        scope: &ctx.scope,
        source_ip: &ctx.source_ip,
        secure_transport: ctx.secure_transport,
        via_service: format!("s3.{}.amazonaws.com", ctx.scope.region),
        source_arn: None,
    }
}

impl S3Service {
    fn perms(
        &self,
        op: &'static OperationDef,
        input: &Value,
        declared: Vec<String>,
    ) -> Result<Vec<Permission>> {
        let i = Input(input);
        vet(op, &i)?;
        let versioned = i.query("versionId").is_some();
        let action = match (op.name, versioned) {
            ("GetObject" | "HeadObject", true) => "s3:GetObjectVersion",
            ("DeleteObject", true) => "s3:DeleteObjectVersion",
            _ => op.action,
        };
        // The bypass header is only honoured for callers allowed to bypass.
        let bypass = input::bypass_governance(&i);
        if op.name == "DeleteObjects" {
            // Every key named is a delete of that object (or version).
            let bucket = i.label("Bucket")?;
            let request = input::delete_request(&i)?;
            let mut out = Vec::new();
            for (key, version) in &request.objects {
                let resource = format!("arn:aws:s3:::{bucket}/{key}");
                if bypass {
                    out.push(Permission {
                        action: "s3:BypassGovernanceRetention",
                        resource: resource.clone(),
                    });
                }
                out.push(Permission {
                    action: if version.is_some() {
                        "s3:DeleteObjectVersion"
                    } else {
                        "s3:DeleteObject"
                    },
                    resource,
                });
            }
            return Ok(out);
        }
        let mut out: Vec<Permission> = declared
            .into_iter()
            .map(|resource| Permission { action, resource })
            .collect();
        // Setting a lock on upload needs the lock permissions too, as in AWS.
        let mut extra_actions = Vec::new();
        if bypass && matches!(op.name, "DeleteObject" | "PutObjectRetention") {
            extra_actions.push("s3:BypassGovernanceRetention");
        }
        if op.name == "PutObject" {
            if i.header("x-amz-object-lock-mode").is_some()
                || i.header("x-amz-object-lock-retain-until-date").is_some()
            {
                extra_actions.push("s3:PutObjectRetention");
            }
            if i.header("x-amz-object-lock-legal-hold").is_some() {
                extra_actions.push("s3:PutObjectLegalHold");
            }
        }
        let extra: Vec<Permission> = out
            .iter()
            .flat_map(|p| {
                extra_actions.iter().map(|action| Permission {
                    action,
                    resource: p.resource.clone(),
                })
            })
            .collect();
        out.extend(extra);
        Ok(out)
    }

    async fn dispatch(
        &self,
        ctx: &CallContext,
        op: &'static OperationDef,
        input: &Value,
    ) -> Result<Value> {
        let scope = &ctx.scope;
        let i = Input(input);
        let s3 = &self.s3;
        match op.name {
            "ListBuckets" => Ok(output::list_buckets(scope, &s3.list_buckets(scope))),
            "CreateBucket" => {
                let name = i.label("Bucket")?;
                if let Some(loc) = input::location_constraint(&i)?
                    && !loc.is_empty()
                    && loc != scope.region
                {
                    return Err(Error::InvalidArgument(format!(
                        "The {loc} location constraint is incompatible for the region specific endpoint this request was sent to."
                    )));
                }
                let lock = i
                    .header("x-amz-bucket-object-lock-enabled")
                    .is_some_and(|v| v.eq_ignore_ascii_case("true"));
                match s3.create_bucket(scope, name, lock) {
                    Ok(_) => {}
                    // us-east-1 answers a repeated CreateBucket by its owner with 200.
                    Err(Error::BucketAlreadyOwnedByYou(_)) if scope.region == "us-east-1" => {}
                    Err(e) => return Err(e),
                }
                Ok(Out::empty(200)
                    .header("location", format!("/{name}"))
                    .into())
            }
            "HeadBucket" => {
                let b = s3.bucket(scope, i.label("Bucket")?)?;
                Ok(Out::empty(200)
                    .header("x-amz-bucket-region", b.region)
                    .into())
            }
            "DeleteBucket" => {
                s3.delete_bucket(scope, i.label("Bucket")?)?;
                Ok(Out::empty(204).into())
            }
            "GetBucketLocation" => {
                let b = s3.bucket(scope, i.label("Bucket")?)?;
                let loc = if b.region == "us-east-1" {
                    String::new()
                } else {
                    b.region
                };
                Ok(output::text_doc("LocationConstraint", loc))
            }
            "GetBucketVersioning" => {
                let b = s3.bucket(scope, i.label("Bucket")?)?;
                Ok(output::versioning(&b))
            }
            "PutBucketVersioning" => {
                let enabled = input::versioning_status(&i)?;
                s3.set_versioning(scope, i.label("Bucket")?, enabled)?;
                Ok(Out::empty(200).into())
            }
            "ListObjects" | "ListObjectsV2" => {
                output::list_objects(s3, scope, &i, op.name == "ListObjectsV2")
            }
            "ListObjectVersions" => output::list_versions(s3, scope, &i),
            "PutObject" => {
                let bucket = i.label("Bucket")?;
                let key = i.label("Key")?;
                // Checked against its hashes before authorization (`vet`).
                let body = i.body();
                let v = s3
                    .put_object(
                        &key_request(ctx),
                        scope,
                        bucket,
                        key,
                        NewObject {
                            body,
                            content_type: i.header("content-type").map(str::to_owned),
                            metadata: i.user_metadata(),
                            retention: input::lock_headers(&i)?,
                            legal_hold: i.header("x-amz-object-lock-legal-hold") == Some("ON"),
                            sse: input::sse(&i)?,
                            kms_context: Default::default(),
                        },
                    )
                    .await?;
                let mut out =
                    output::encryption_headers(Out::empty(200).header("etag", quoted(&v.etag)), &v);
                if v.version_id != crate::model::NULL_VERSION {
                    out = out.header("x-amz-version-id", v.version_id);
                }
                Ok(out.into())
            }
            "GetObject" | "HeadObject" => {
                let (bucket, key) = (i.label("Bucket")?, i.label("Key")?);
                let on_behalf = key_request(ctx);
                let target = output::Target {
                    caller: &on_behalf,
                    bucket,
                };
                let head = op.name == "HeadObject";
                let v = s3.resolve(scope, bucket, key, i.query("versionId"))?;
                match output::object(s3, &target, &i, &v, head).await {
                    // A concurrent overwrite or delete freed the blob between resolving
                    // and reading: answer from the version that is current now.
                    Err(Error::Storage(e)) => {
                        tracing::debug!(bucket, key, error = %e, "s3 read retried");
                        let v = s3.resolve(scope, bucket, key, i.query("versionId"))?;
                        output::object(s3, &target, &i, &v, head).await
                    }
                    other => other,
                }
            }
            "DeleteObject" => {
                let d = s3
                    .delete_object(
                        scope,
                        i.label("Bucket")?,
                        i.label("Key")?,
                        i.query("versionId"),
                        input::bypass_governance(&i),
                    )
                    .await?;
                let mut out = Out::empty(204);
                if d.delete_marker {
                    out = out.header("x-amz-delete-marker", "true".into());
                }
                if let Some(v) = d.version_id.filter(|v| v != crate::model::NULL_VERSION) {
                    out = out.header("x-amz-version-id", v);
                }
                Ok(out.into())
            }
            "DeleteObjects" => {
                let bucket = i.label("Bucket")?;
                let bypass = input::bypass_governance(&i);
                let request = input::delete_request(&i)?;
                let mut results = Vec::new();
                for (key, version) in &request.objects {
                    let r = s3
                        .delete_object(scope, bucket, key, version.as_deref(), bypass)
                        .await;
                    results.push((key.clone(), version.clone(), r));
                }
                Ok(output::delete_result(results, request.quiet))
            }
            "GetBucketPolicy" | "PutBucketPolicy" | "DeleteBucketPolicy"
                if s3.bucket(scope, i.label("Bucket")?)?.account != ctx.caller.account_id =>
            {
                // Only the owner's account manages a bucket's policy, whatever it grants.
                Err(Error::MethodNotAllowed)
            }
            "GetBucketPolicy" => {
                let b = s3.bucket(scope, i.label("Bucket")?)?;
                let policy = b.policy.ok_or(Error::NoSuchBucketPolicy)?;
                Ok(Out::body(200, "application/json", policy.into_bytes()).into())
            }
            "PutBucketPolicy" => {
                let text = String::from_utf8(i.body().to_vec()).map_err(|_| {
                    Error::MalformedPolicy(
                        "Policies must be valid JSON and the first byte must be '{'".into(),
                    )
                })?;
                s3.set_policy(scope, i.label("Bucket")?, Some(text))?;
                Ok(Out::empty(204).into())
            }
            "DeleteBucketPolicy" => {
                s3.set_policy(scope, i.label("Bucket")?, None)?;
                Ok(Out::empty(204).into())
            }
            "GetObjectLockConfiguration" => {
                let b = s3.bucket(scope, i.label("Bucket")?)?;
                if !b.object_lock {
                    return Err(Error::ObjectLockConfigurationNotFound);
                }
                Ok(output::lock_configuration(&b))
            }
            "PutObjectLockConfiguration" => {
                let default = input::lock_configuration(&i)?;
                s3.set_lock_configuration(scope, i.label("Bucket")?, default)?;
                Ok(Out::empty(200).into())
            }
            "GetObjectRetention" => {
                let v = s3.version_for_lock(
                    scope,
                    i.label("Bucket")?,
                    i.label("Key")?,
                    i.query("versionId"),
                )?;
                let r = v.retention.ok_or(Error::NoSuchObjectLockConfiguration)?;
                Ok(output::retention(&r))
            }
            "PutObjectRetention" => {
                let r = input::retention(&i)?;
                s3.set_retention(
                    scope,
                    i.label("Bucket")?,
                    i.label("Key")?,
                    i.query("versionId"),
                    r,
                    input::bypass_governance(&i),
                )?;
                Ok(Out::empty(200).into())
            }
            "GetObjectLegalHold" => {
                let v = s3.version_for_lock(
                    scope,
                    i.label("Bucket")?,
                    i.label("Key")?,
                    i.query("versionId"),
                )?;
                Ok(output::legal_hold(v.legal_hold))
            }
            "PutObjectLegalHold" => {
                let on = input::legal_hold(&i)?;
                s3.set_legal_hold(
                    scope,
                    i.label("Bucket")?,
                    i.label("Key")?,
                    i.query("versionId"),
                    on,
                )?;
                Ok(Out::empty(200).into())
            }
            // Declared in the table but not dispatched: S3's answer for what it lacks.
            other => Err(Error::NotImplemented(format!(
                "{other} is not implemented by this server"
            ))),
        }
    }
}

#[async_trait::async_trait]
impl Service for S3Service {
    fn def(&self) -> &'static ServiceDef {
        &S3_DEF
    }

    async fn call(
        &self,
        ctx: &CallContext,
        op: &'static OperationDef,
        input: Value,
    ) -> Result<Value, ApiError> {
        Ok(self.dispatch(ctx, op, &input).await?)
    }

    async fn resource_owner(&self, op: &'static OperationDef, arn: &str) -> Option<String> {
        // A bucket being created is the caller's; an existing name is answered by the
        // call (BucketAlreadyExists), not by authorization.
        if op.name == "CreateBucket" {
            return None;
        }
        let bucket = arn.strip_prefix("arn:aws:s3:::")?.split('/').next()?;
        self.s3.owner(bucket).map(|(account, _)| account)
    }

    /// The bucket policy governs the bucket and every object in it.
    async fn resource_policy(&self, _scope: &Scope, arn: &str) -> Option<ResourcePolicy> {
        let bucket = arn.strip_prefix("arn:aws:s3:::")?.split('/').next()?;
        let (_, policy) = self.s3.owner(bucket)?;
        Some(ResourcePolicy {
            document: policy?,
            kind: sightline_wire::ResourcePolicyKind::Resource,
        })
    }

    async fn permissions(
        &self,
        _scope: &Scope,
        op: &'static OperationDef,
        input: &Value,
        declared: Vec<String>,
    ) -> Result<Vec<Permission>, ApiError> {
        Ok(self.perms(op, input, declared)?)
    }
}
