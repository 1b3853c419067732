//! Writing S3 responses: raw ones (status, headers, bytes) through the `$status`,
//! `$headers` and `$body` members, and the XML documents of the listings.

use super::input::{Input, byte_range};
use crate::engine::{Deleted, ListQuery, S3};
use crate::model::{Bucket, Encryption, NULL_VERSION, ObjectVersion, Retention, Versioning};
use crate::{Error, Result};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use sightline_core::{KeyRequest, Scope};
use sightline_wire::{Value, ValueMap};

/// A response that is not (only) an XML document.
pub struct Out {
    status: u16,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

impl Out {
    pub fn empty(status: u16) -> Out {
        Out {
            status,
            headers: Vec::new(),
            body: None,
        }
    }

    /// A raw body with its content type.
    pub fn body(status: u16, content_type: &str, body: Vec<u8>) -> Out {
        Out {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: Some(body),
        }
    }

    pub fn header(mut self, name: &str, value: String) -> Out {
        self.headers.push((name.to_owned(), value));
        self
    }
}

impl From<Out> for Value {
    fn from(o: Out) -> Value {
        let mut m = ValueMap::new();
        m.insert("$status".into(), Value::Int(o.status.into()));
        let mut h = ValueMap::new();
        for (k, v) in o.headers {
            h.insert(k, Value::String(v));
        }
        m.insert("$headers".into(), Value::Map(h));
        if let Some(b) = o.body {
            m.insert("$body".into(), Value::Blob(b));
        }
        Value::Map(m)
    }
}

pub fn quoted(etag: &str) -> String {
    format!("\"{etag}\"")
}

pub fn http_date(t: &DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn s(v: impl Into<String>) -> Value {
    Value::String(v.into())
}

fn obj(pairs: Vec<(&str, Value)>) -> Value {
    let mut m = ValueMap::new();
    for (k, v) in pairs {
        m.insert(k.to_owned(), v);
    }
    Value::Map(m)
}

/// `<root xmlns=…>members</root>`.
pub fn xml_doc(root: &str, members: Vec<(&str, Value)>) -> Value {
    obj(vec![(root, obj(members))])
}

/// `<root xmlns=…>text</root>`.
pub fn text_doc(root: &str, text: String) -> Value {
    obj(vec![(root, s(text))])
}

fn owner(account: &str) -> Value {
    obj(vec![("ID", s(account)), ("DisplayName", s(account))])
}

pub fn list_buckets(scope: &Scope, buckets: &[Bucket]) -> Value {
    let list = buckets
        .iter()
        .map(|b| {
            obj(vec![
                ("Name", s(&b.name)),
                ("CreationDate", Value::Timestamp(b.created)),
                ("BucketRegion", s(&b.region)),
            ])
        })
        .collect();
    xml_doc(
        "ListAllMyBucketsResult",
        vec![
            ("Owner", owner(&scope.account_id)),
            ("Buckets", obj(vec![("Bucket", Value::List(list))])),
        ],
    )
}

pub fn versioning(b: &Bucket) -> Value {
    let members = match b.versioning {
        Versioning::Unversioned => vec![],
        Versioning::Enabled => vec![("Status", s("Enabled"))],
        Versioning::Suspended => vec![("Status", s("Suspended"))],
    };
    xml_doc("VersioningConfiguration", members)
}

fn max_keys(i: &Input<'_>) -> Result<usize> {
    match i.query("max-keys") {
        None => Ok(1000),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(|n| (n as usize).min(1000))
            .ok_or_else(|| {
                Error::InvalidArgument(
                    "Provided max-keys not an integer or within integer range".into(),
                )
            }),
    }
}

fn contents(v: &ObjectVersion, with_owner: Option<&str>) -> Value {
    let mut m = vec![
        ("Key", s(&v.key)),
        ("LastModified", Value::Timestamp(v.last_modified)),
        ("ETag", s(quoted(&v.etag))),
        ("Size", Value::Int(v.size as i64)),
        ("StorageClass", s("STANDARD")),
    ];
    if let Some(o) = with_owner {
        m.push(("Owner", owner(o)));
    }
    obj(m)
}

fn prefixes(list: &[String]) -> Value {
    Value::List(list.iter().map(|p| obj(vec![("Prefix", s(p))])).collect())
}

pub fn list_objects(s3: &S3, scope: &Scope, i: &Input<'_>, v2: bool) -> Result<Value> {
    let bucket = i.label("Bucket")?;
    let prefix = i.query("prefix").unwrap_or("");
    let delimiter = i.query("delimiter").filter(|d| !d.is_empty());
    let max = max_keys(i)?;
    let token = match i.query("continuation-token") {
        Some(t) if v2 => Some(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    Error::InvalidArgument("The continuation token provided is incorrect".into())
                })?,
        ),
        _ => None,
    };
    let after = match (v2, &token) {
        (true, Some(t)) => t.clone(),
        (true, None) => i.query("start-after").unwrap_or("").to_owned(),
        (false, _) => i.query("marker").unwrap_or("").to_owned(),
    };
    let q = ListQuery {
        prefix,
        delimiter,
        after: &after,
        version_marker: None,
        max,
    };
    let page = s3.list_objects(scope, bucket, q)?;
    let fetch_owner = !v2 || i.query("fetch-owner") == Some("true");
    let owner_id = fetch_owner.then_some(scope.account_id.as_str());
    let mut m = vec![("Name", s(bucket)), ("Prefix", s(prefix))];
    if v2 {
        if let Some(t) = i.query("continuation-token") {
            m.push(("ContinuationToken", s(t)));
        }
        if let Some(sa) = i.query("start-after") {
            m.push(("StartAfter", s(sa)));
        }
        m.push((
            "KeyCount",
            Value::Int((page.items.len() + page.prefixes.len()) as i64),
        ));
    } else {
        m.push(("Marker", s(&after)));
    }
    m.push(("MaxKeys", Value::Int(max as i64)));
    if let Some(d) = delimiter {
        m.push(("Delimiter", s(d)));
    }
    m.push(("IsTruncated", Value::Bool(page.truncated)));
    if page.truncated
        && let Some(last) = &page.last
    {
        if v2 {
            m.push((
                "NextContinuationToken",
                s(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(last)),
            ));
        } else if delimiter.is_some() {
            m.push(("NextMarker", s(last)));
        }
    }
    m.push((
        "Contents",
        Value::List(page.items.iter().map(|v| contents(v, owner_id)).collect()),
    ));
    m.push(("CommonPrefixes", prefixes(&page.prefixes)));
    Ok(xml_doc("ListBucketResult", m))
}

pub fn list_versions(s3: &S3, scope: &Scope, i: &Input<'_>) -> Result<Value> {
    let bucket = i.label("Bucket")?;
    let prefix = i.query("prefix").unwrap_or("");
    let delimiter = i.query("delimiter").filter(|d| !d.is_empty());
    let max = max_keys(i)?;
    let key_marker = i.query("key-marker").unwrap_or("");
    let version_marker = i.query("version-id-marker");
    let q = ListQuery {
        prefix,
        delimiter,
        after: key_marker,
        version_marker,
        max,
    };
    let page = s3.list_versions(scope, bucket, q)?;
    let next_version = page.last_version.clone();
    let mut m = vec![
        ("Name", s(bucket)),
        ("Prefix", s(prefix)),
        ("KeyMarker", s(key_marker)),
        ("VersionIdMarker", s(version_marker.unwrap_or(""))),
        ("MaxKeys", Value::Int(max as i64)),
    ];
    if let Some(d) = delimiter {
        m.push(("Delimiter", s(d)));
    }
    m.push(("IsTruncated", Value::Bool(page.truncated)));
    if page.truncated {
        if let Some(last) = &page.last {
            m.push(("NextKeyMarker", s(last)));
        }
        if let Some(v) = &next_version {
            m.push(("NextVersionIdMarker", s(v)));
        }
    }
    let mut versions = Vec::new();
    let mut markers = Vec::new();
    for v in &page.items {
        let mut e = vec![
            ("Key", s(&v.key)),
            ("VersionId", s(&v.version_id)),
            ("IsLatest", Value::Bool(v.latest)),
            ("LastModified", Value::Timestamp(v.last_modified)),
        ];
        if v.delete_marker {
            e.push(("Owner", owner(&scope.account_id)));
            markers.push(obj(e));
        } else {
            e.push(("ETag", s(quoted(&v.etag))));
            e.push(("Size", Value::Int(v.size as i64)));
            e.push(("StorageClass", s("STANDARD")));
            e.push(("Owner", owner(&scope.account_id)));
            versions.push(obj(e));
        }
    }
    m.push(("Version", Value::List(versions)));
    m.push(("DeleteMarker", Value::List(markers)));
    m.push(("CommonPrefixes", prefixes(&page.prefixes)));
    Ok(xml_doc("ListVersionsResult", m))
}

/// GetObject and HeadObject: the object's headers, and for GET its bytes (or the
/// requested range, with 206).
/// Who reads an object, and where: an encrypted object's data key is opened for them.
pub struct Target<'a> {
    pub caller: &'a KeyRequest<'a>,
    pub bucket: &'a str,
}

/// `x-amz-server-side-encryption` (and the KMS key) of a version.
pub fn encryption_headers(out: Out, v: &ObjectVersion) -> Out {
    match &v.encryption {
        None => out,
        Some(Encryption::S3Managed) => out.header("x-amz-server-side-encryption", "AES256".into()),
        Some(Encryption::Kms { key_arn, .. }) => out
            .header("x-amz-server-side-encryption", "aws:kms".into())
            .header(
                "x-amz-server-side-encryption-aws-kms-key-id",
                key_arn.clone(),
            ),
    }
}

pub async fn object(
    s3: &S3,
    target: &Target<'_>,
    i: &Input<'_>,
    v: &ObjectVersion,
    head: bool,
) -> Result<Value> {
    let range = byte_range(i.header("range"), v.size)?;
    let (status, span) = match &range {
        Some(r) => (206, r.clone()),
        None => (200, 0..v.size),
    };
    let mut out = Out::empty(status)
        .header("etag", quoted(&v.etag))
        .header("last-modified", http_date(&v.last_modified))
        .header("accept-ranges", "bytes".into())
        .header(
            "content-type",
            v.content_type
                .clone()
                .unwrap_or_else(|| "binary/octet-stream".into()),
        )
        .header("content-length", (span.end - span.start).to_string());
    if v.version_id != NULL_VERSION {
        out = out.header("x-amz-version-id", v.version_id.clone());
    }
    if let Some(r) = &range {
        out = out.header(
            "content-range",
            format!("bytes {}-{}/{}", r.start, r.end.saturating_sub(1), v.size),
        );
    }
    if let Some(r) = &v.retention {
        out = out
            .header("x-amz-object-lock-mode", r.mode.as_str().into())
            .header(
                "x-amz-object-lock-retain-until-date",
                r.until.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            );
    }
    if v.legal_hold {
        out = out.header("x-amz-object-lock-legal-hold", "ON".into());
    }
    out = encryption_headers(out, v);
    for (k, val) in &v.metadata {
        out = out.header(&format!("x-amz-meta-{k}"), val.clone());
    }
    if !head {
        let bytes = s3.read(target.caller, target.bucket, v, span).await?;
        out.body = Some(bytes.to_vec());
    }
    Ok(out.into())
}

pub fn lock_configuration(b: &Bucket) -> Value {
    let mut m = vec![("ObjectLockEnabled", s("Enabled"))];
    if let Some(d) = &b.default_retention {
        let mut r = vec![("Mode", s(d.mode.as_str()))];
        if let Some(days) = d.days {
            r.push(("Days", Value::Int(days)));
        }
        if let Some(years) = d.years {
            r.push(("Years", Value::Int(years)));
        }
        m.push(("Rule", obj(vec![("DefaultRetention", obj(r))])));
    }
    xml_doc("ObjectLockConfiguration", m)
}

pub fn retention(r: &Retention) -> Value {
    xml_doc(
        "Retention",
        vec![
            ("Mode", s(r.mode.as_str())),
            ("RetainUntilDate", Value::Timestamp(r.until)),
        ],
    )
}

pub fn legal_hold(on: bool) -> Value {
    xml_doc(
        "LegalHold",
        vec![("Status", s(if on { "ON" } else { "OFF" }))],
    )
}

pub fn delete_result(
    results: Vec<(String, Option<String>, Result<Deleted>)>,
    quiet: bool,
) -> Value {
    let mut deleted = Vec::new();
    let mut errors = Vec::new();
    for (key, version, r) in results {
        match r {
            Ok(d) => {
                if quiet {
                    continue;
                }
                let mut e = vec![("Key", s(&key))];
                if let Some(v) = &version {
                    e.push(("VersionId", s(v)));
                }
                if d.delete_marker {
                    e.push(("DeleteMarker", Value::Bool(true)));
                    if let Some(id) = d.version_id.filter(|id| id != NULL_VERSION) {
                        e.push(("DeleteMarkerVersionId", s(id)));
                    }
                }
                deleted.push(obj(e));
            }
            Err(err) => {
                let (_, code) = err.status_code();
                let mut e = vec![("Key", s(&key))];
                if let Some(v) = &version {
                    e.push(("VersionId", s(v)));
                }
                e.push(("Code", s(code)));
                e.push(("Message", s(err.to_string())));
                errors.push(obj(e));
            }
        }
    }
    xml_doc(
        "DeleteResult",
        vec![
            ("Deleted", Value::List(deleted)),
            ("Error", Value::List(errors)),
        ],
    )
}
