//! Shared fixtures: header maps, requests and a handful of service definitions shaped
//! like real AWS services, one per protocol family.

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use sightline_wire::protocol::resolve;
use sightline_wire::{
    CommonError, OperationDef, Protocol, ServiceDef, Value, WireRequest, WireResponse, any_resource,
};

/// Builds a header map, keeping repeated names as separate values in order.
pub fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        let name = HeaderName::from_bytes(k.as_bytes()).expect("valid header name");
        let value = HeaderValue::from_str(v).expect("valid header value");
        h.append(name, value);
    }
    h
}

/// An owned request, so tests can build one and then borrow it as a [`WireRequest`].
pub struct Req {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Req {
    pub fn new(
        method: &str,
        path: &str,
        query: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Req {
        Req {
            method: Method::from_bytes(method.as_bytes()).expect("method"),
            path: path.to_owned(),
            query: query.to_owned(),
            headers: self::headers(headers),
            body: body.to_vec(),
        }
    }

    pub fn wire(&self) -> WireRequest<'_> {
        WireRequest {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &self.headers,
            body: &self.body,
        }
    }

    pub fn resolve(
        &self,
        service: &ServiceDef,
    ) -> Result<(Protocol, String, Value), (Protocol, CommonError)> {
        resolve(service, &self.wire())
    }
}

/// A form-encoded POST, as awsQuery and ec2 clients send it.
pub fn form_post(body: &str) -> Req {
    Req::new(
        "POST",
        "/",
        "",
        &[
            ("host", "iam.amazonaws.com"),
            (
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
        ],
        body.as_bytes(),
    )
}

/// An awsJson request with the given target and content type version.
pub fn json_post(target: &str, version: &str, body: &str) -> Req {
    let ct = format!("application/x-amz-json-{version}");
    Req::new(
        "POST",
        "/",
        "",
        &[("x-amz-target", target), ("content-type", &ct)],
        body.as_bytes(),
    )
}

/// Shorthand for building [`Value`] trees in expectations.
pub fn s(v: &str) -> Value {
    Value::String(v.to_owned())
}

pub fn map(entries: Vec<(&str, Value)>) -> Value {
    Value::Map(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

pub fn list(items: Vec<Value>) -> Value {
    Value::List(items)
}

/// Renders a response the way a reviewer reads it: status, headers, then the body.
pub fn render(resp: &WireResponse) -> String {
    let mut out = format!(
        "status: {}\ncontent-type: {}\n",
        resp.status, resp.content_type
    );
    for (k, v) in &resp.headers {
        out.push_str(&format!("{k}: {v}\n"));
    }
    out.push('\n');
    out.push_str(std::str::from_utf8(&resp.body).expect("text body"));
    out
}

/// Response headers in a comparable form.
pub fn response_headers(resp: &WireResponse) -> Vec<(&str, String)> {
    resp.headers
        .iter()
        .map(|(k, v)| (k.as_ref(), v.clone()))
        .collect()
}

/// The package directory as cargo gives it to the running test. The compile-time
/// `env!("CARGO_MANIFEST_DIR")` would name the checkout that built the binary, which is
/// another one when a shared target directory reuses it.
pub fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// Snapshots live in `tests/snapshots/`, named without the module path.
#[macro_export]
macro_rules! snap {
    ($name:expr, $value:expr) => {
        insta::with_settings!({
            snapshot_path => $crate::common::manifest_dir().join("tests/snapshots"),
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_snapshot!($name, $value);
        })
    };
}

#[macro_export]
macro_rules! snap_debug {
    ($name:expr, $value:expr) => {
        insta::with_settings!({
            snapshot_path => $crate::common::manifest_dir().join("tests/snapshots"),
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_debug_snapshot!($name, $value);
        })
    };
}

const fn op(name: &'static str, action: &'static str) -> OperationDef {
    OperationDef::rpc(name, action, false, any_resource)
}

/// IAM: awsQuery only.
pub static IAM: ServiceDef = ServiceDef {
    signing_name: "iam",
    endpoint_prefix: "iam",
    protocols: &[Protocol::AwsQuery],
    xml_namespace: "https://iam.amazonaws.com/doc/2010-05-08/",
    target_prefix: None,
    query_compatible: false,
    global_region: Some("us-east-1"),
    denied_code: None,
    operations: &[
        op("ListUsers", "iam:ListUsers"),
        op("CreateUser", "iam:CreateUser"),
        op("TagUser", "iam:TagUser"),
        op("DeleteUser", "iam:DeleteUser"),
    ],
};

/// EC2: the ec2 query dialect.
pub static EC2: ServiceDef = ServiceDef {
    signing_name: "ec2",
    endpoint_prefix: "ec2",
    protocols: &[Protocol::Ec2Query],
    xml_namespace: "http://ec2.amazonaws.com/doc/2016-11-15/",
    target_prefix: None,
    query_compatible: false,
    global_region: None,
    denied_code: None,
    operations: &[op("DescribeInstances", "ec2:DescribeInstances")],
};

/// CloudWatch Logs: awsJson1_1 only.
pub static LOGS: ServiceDef = ServiceDef {
    signing_name: "logs",
    endpoint_prefix: "logs",
    protocols: &[Protocol::AwsJson1_1],
    xml_namespace: "",
    target_prefix: Some("Logs_20140328"),
    query_compatible: false,
    global_region: None,
    denied_code: None,
    operations: &[
        op("CreateLogGroup", "logs:CreateLogGroup"),
        op("DescribeLogGroups", "logs:DescribeLogGroups"),
    ],
};

/// SQS: awsJson1_0 and, for old clients, awsQuery; JSON errors carry the Query code.
pub static SQS: ServiceDef = ServiceDef {
    signing_name: "sqs",
    endpoint_prefix: "sqs",
    protocols: &[Protocol::AwsJson1_0, Protocol::AwsQuery],
    xml_namespace: "http://queue.amazonaws.com/doc/2012-11-05/",
    target_prefix: Some("AmazonSQS"),
    query_compatible: true,
    global_region: None,
    denied_code: None,
    operations: &[op("SendMessage", "sqs:SendMessage")],
};

/// CloudWatch: smithy-rpc-v2-cbor first, then awsJson1_0 and awsQuery.
pub static MONITORING: ServiceDef = ServiceDef {
    signing_name: "monitoring",
    endpoint_prefix: "monitoring",
    protocols: &[
        Protocol::RpcV2Cbor,
        Protocol::AwsJson1_0,
        Protocol::AwsQuery,
    ],
    xml_namespace: "http://monitoring.amazonaws.com/doc/2010-08-01/",
    target_prefix: Some("GraniteServiceVersion20100801"),
    query_compatible: true,
    global_region: None,
    denied_code: None,
    operations: &[
        op("GetMetricData", "cloudwatch:GetMetricData"),
        op("PutMetricData", "cloudwatch:PutMetricData"),
    ],
};

/// S3: restXml. `PutObject` and `GetObject` come before `CreateBucket` and
/// `ListObjectsV2` on purpose, so a greedy label that matched nothing would steal
/// `PUT /bucket` and `GET /bucket`.
pub static S3: ServiceDef = ServiceDef {
    signing_name: "s3",
    endpoint_prefix: "s3",
    protocols: &[Protocol::RestXml],
    xml_namespace: "http://s3.amazonaws.com/doc/2006-03-01/",
    target_prefix: None,
    query_compatible: false,
    global_region: None,
    denied_code: None,
    operations: &[
        op("ListBuckets", "s3:ListAllMyBuckets").route("GET", "/"),
        op("PutObject", "s3:PutObject").route("PUT", "/{Bucket}/{Key+}"),
        op("GetObject", "s3:GetObject").route("GET", "/{Bucket}/{Key+}"),
        op("CreateBucket", "s3:CreateBucket").route("PUT", "/{Bucket}"),
        op("ListObjectsV2", "s3:ListBucket").route("GET", "/{Bucket}"),
    ],
};

/// Lambda: restJson1.
pub static LAMBDA: ServiceDef = ServiceDef {
    signing_name: "lambda",
    endpoint_prefix: "lambda",
    protocols: &[Protocol::RestJson1],
    xml_namespace: "",
    target_prefix: None,
    query_compatible: false,
    global_region: None,
    denied_code: None,
    operations: &[
        op("ListFunctions", "lambda:ListFunctions").route("GET", "/2015-03-31/functions/"),
        op("GetFunction", "lambda:GetFunction")
            .route("GET", "/2015-03-31/functions/{FunctionName}"),
        op("Invoke", "lambda:InvokeFunction")
            .route("POST", "/2015-03-31/functions/{FunctionName}/invocations"),
    ],
};

pub const ALL_PROTOCOLS: [Protocol; 7] = [
    Protocol::AwsJson1_0,
    Protocol::AwsJson1_1,
    Protocol::AwsQuery,
    Protocol::Ec2Query,
    Protocol::RpcV2Cbor,
    Protocol::RestJson1,
    Protocol::RestXml,
];
