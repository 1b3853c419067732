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
use sightline_core::Scope;
use sightline_wire::{
    ApiError, CallContext, OperationDef, Permission, Protocol, ResourceCtx, Service, ServiceDef,
    Value,
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
    OperationDef::rpc(name, action, read_only, object_arn)
        .route(method, "/{Bucket}/{Key+}")
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
        object_op("PutObject", "s3:PutObject", false, "PUT"),
        object_op("GetObject", "s3:GetObject", true, "GET"),
        object_op("HeadObject", "s3:GetObject", true, "HEAD"),
        object_op("DeleteObject", "s3:DeleteObject", false, "DELETE"),
    ],
};

pub struct S3Service {
    pub s3: Arc<S3>,
}

impl S3Service {
    fn perms(
        &self,
        op: &'static OperationDef,
        input: &Value,
        declared: Vec<String>,
    ) -> Result<Vec<Permission>> {
        let i = Input(input);
        let versioned = i.query("versionId").is_some();
        let action = match (op.name, versioned) {
            ("GetObject" | "HeadObject", true) => "s3:GetObjectVersion",
            ("DeleteObject", true) => "s3:DeleteObjectVersion",
            _ => op.action,
        };
        if op.name == "DeleteObjects" {
            // Every key named is a delete of that object (or version).
            let bucket = i.label("Bucket")?;
            let request = input::delete_request(&i)?;
            return Ok(request
                .objects
                .iter()
                .map(|(key, version)| Permission {
                    action: if version.is_some() {
                        "s3:DeleteObjectVersion"
                    } else {
                        "s3:DeleteObject"
                    },
                    resource: format!("arn:aws:s3:::{bucket}/{key}"),
                })
                .collect());
        }
        Ok(declared
            .into_iter()
            .map(|resource| Permission { action, resource })
            .collect())
    }

    async fn dispatch(
        &self,
        scope: &Scope,
        op: &'static OperationDef,
        input: &Value,
    ) -> Result<Value> {
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
                let body = i.body_checked()?;
                let v = s3
                    .put_object(
                        scope,
                        bucket,
                        key,
                        NewObject {
                            body,
                            content_type: i.header("content-type").map(str::to_owned),
                            metadata: i.user_metadata(),
                        },
                    )
                    .await?;
                let mut out = Out::empty(200).header("etag", quoted(&v.etag));
                if v.version_id != crate::model::NULL_VERSION {
                    out = out.header("x-amz-version-id", v.version_id);
                }
                Ok(out.into())
            }
            "GetObject" | "HeadObject" => {
                let v = s3.resolve(
                    scope,
                    i.label("Bucket")?,
                    i.label("Key")?,
                    i.query("versionId"),
                )?;
                output::object(s3, &i, &v, op.name == "HeadObject").await
            }
            "DeleteObject" => {
                let d = s3
                    .delete_object(
                        scope,
                        i.label("Bucket")?,
                        i.label("Key")?,
                        i.query("versionId"),
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
                let request = input::delete_request(&i)?;
                let mut results = Vec::new();
                for (key, version) in &request.objects {
                    let r = s3
                        .delete_object(scope, bucket, key, version.as_deref())
                        .await;
                    results.push((key.clone(), version.clone(), r));
                }
                Ok(output::delete_result(results, request.quiet))
            }
            other => Err(Error::InvalidArgument(format!(
                "operation {other} is not implemented"
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
        if !S3_DEF.operations.iter().any(|o| o.name == op.name) {
            return Err(self.def().undispatched(op.name));
        }
        Ok(self.dispatch(&ctx.scope, op, &input).await?)
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
