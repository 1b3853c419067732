//! `classify` and `resolve`: which protocol a request speaks, which operation it names,
//! and the CommonError (with the protocol to report it in) when that cannot be decided.

use crate::common::{
    EC2, IAM, LAMBDA, LOGS, MONITORING, Req, S3, SQS, form_post, json_post, list, map, s,
};
use sightline_wire::protocol::{Shape, classify};
use sightline_wire::{
    CommonError, HttpRoute, OperationDef, Protocol, ServiceDef, Value, any_resource,
};

fn ok(r: Result<(Protocol, String, Value), (Protocol, CommonError)>) -> (Protocol, String, Value) {
    r.unwrap_or_else(|e| panic!("expected success, got {e:?}"))
}

#[test]
fn classify_shapes() {
    let cases: [(Req, Shape); 9] = [
        (
            json_post("Logs_20140328.CreateLogGroup", "1.1", "{}"),
            Shape::Json11,
        ),
        (
            json_post("AmazonSQS.SendMessage", "1.0", "{}"),
            Shape::Json10,
        ),
        (
            Req::new("POST", "/", "", &[("x-amz-target", "X.Y")], b"{}"),
            Shape::Json11,
        ),
        (
            Req::new("POST", "/", "", &[("smithy-protocol", "rpc-v2-cbor")], b""),
            Shape::Cbor,
        ),
        (
            Req::new(
                "POST",
                "/service/GraniteServiceVersion20100801/operation/GetMetricData",
                "",
                &[],
                b"",
            ),
            Shape::Cbor,
        ),
        (form_post("Action=ListUsers"), Shape::Query),
        (
            Req::new("GET", "/", "Action=ListUsers&Version=2010-05-08", &[], b""),
            Shape::Query,
        ),
        (
            Req::new("POST", "/", "Action=ListUsers", &[], b""),
            Shape::Rest,
        ),
        (
            Req::new("GET", "/bucket", "list-type=2", &[], b""),
            Shape::Rest,
        ),
    ];
    for (i, (req, shape)) in cases.iter().enumerate() {
        assert_eq!(classify(&req.wire()), *shape, "case {i}");
    }
}

#[test]
fn json_targets() {
    let (p, op, input) = ok(json_post(
        "Logs_20140328.CreateLogGroup",
        "1.1",
        r#"{"logGroupName":"app"}"#,
    )
    .resolve(&LOGS));
    assert_eq!((p, op.as_str()), (Protocol::AwsJson1_1, "CreateLogGroup"));
    assert_eq!(input, map(vec![("logGroupName", s("app"))]));

    let (p, op, input) = ok(json_post("AmazonSQS.SendMessage", "1.0", "").resolve(&SQS));
    assert_eq!(
        (p, op.as_str(), input),
        (Protocol::AwsJson1_0, "SendMessage", Value::map())
    );
}

#[test]
fn unknown_target_prefix() {
    assert_eq!(
        json_post("Logs_20990101.CreateLogGroup", "1.1", "{}").resolve(&LOGS),
        Err((
            Protocol::AwsJson1_1,
            CommonError::UnknownOperation("Logs_20990101.CreateLogGroup".into())
        ))
    );
    assert_eq!(
        json_post("CreateLogGroup", "1.1", "{}").resolve(&LOGS),
        Err((
            Protocol::AwsJson1_1,
            CommonError::UnknownOperation("CreateLogGroup".into())
        ))
    );
    assert_eq!(
        json_post("", "1.1", "{}").resolve(&LOGS),
        Err((
            Protocol::AwsJson1_1,
            CommonError::UnknownOperation(String::new())
        ))
    );
}

#[test]
fn json_version_the_service_does_not_speak() {
    assert_eq!(
        json_post("Logs_20140328.CreateLogGroup", "1.0", "{}").resolve(&LOGS),
        Err((
            Protocol::AwsJson1_1,
            CommonError::UnsupportedMediaType("logs does not speak awsJson1_0".into())
        ))
    );
}

#[test]
fn json_request_to_query_only_service() {
    assert_eq!(
        json_post("AWSIdentityManagementV20100508.ListUsers", "1.1", "{}").resolve(&IAM),
        Err((
            Protocol::AwsQuery,
            CommonError::UnsupportedMediaType("iam does not speak awsJson1_1".into())
        ))
    );
}

#[test]
fn malformed_json_body_is_reported_in_the_request_protocol() {
    assert_eq!(
        json_post("Logs_20140328.CreateLogGroup", "1.1", "{").resolve(&LOGS),
        Err((
            Protocol::AwsJson1_1,
            CommonError::MalformedInput(
                "Invalid JSON: EOF while parsing an object at line 1 column 1".into()
            )
        ))
    );
}

#[test]
fn query_requests() {
    let (p, op, input) =
        ok(form_post("Action=ListUsers&Version=2010-05-08&MaxItems=10").resolve(&IAM));
    assert_eq!((p, op.as_str()), (Protocol::AwsQuery, "ListUsers"));
    assert_eq!(input, map(vec![("MaxItems", s("10"))]));

    // GET with the parameters in the query string; the body is ignored.
    let get = Req::new(
        "GET",
        "/",
        "Action=ListUsers&Version=2010-05-08&PathPrefix=%2Fadmin%2F",
        &[],
        b"ignored=1",
    );
    let (p, op, input) = ok(get.resolve(&IAM));
    assert_eq!((p, op.as_str()), (Protocol::AwsQuery, "ListUsers"));
    assert_eq!(input, map(vec![("PathPrefix", s("/admin/"))]));

    // A service with both JSON and Query picks Query for form bodies.
    let (p, op, _) = ok(form_post("Action=SendMessage&QueueUrl=q&MessageBody=hi").resolve(&SQS));
    assert_eq!((p, op.as_str()), (Protocol::AwsQuery, "SendMessage"));
}

#[test]
fn ec2_requests() {
    let (p, op, input) =
        ok(form_post("Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-1").resolve(&EC2));
    assert_eq!((p, op.as_str()), (Protocol::Ec2Query, "DescribeInstances"));
    assert_eq!(input, map(vec![("InstanceId", list(vec![s("i-1")]))]));
}

#[test]
fn missing_action() {
    assert_eq!(
        form_post("Version=2010-05-08&UserName=a").resolve(&IAM),
        Err((
            Protocol::AwsQuery,
            CommonError::MissingParameter("Action".into())
        ))
    );
    assert_eq!(
        form_post("").resolve(&EC2),
        Err((
            Protocol::Ec2Query,
            CommonError::MissingParameter("Action".into())
        ))
    );
}

#[test]
fn malformed_form() {
    assert_eq!(
        form_post("Action=ListUsers&a..b=1").resolve(&IAM),
        Err((
            Protocol::AwsQuery,
            CommonError::MalformedInput("Invalid parameter name 'a..b'".into())
        ))
    );
}

#[test]
fn query_request_to_json_only_service() {
    assert_eq!(
        form_post("Action=CreateLogGroup&logGroupName=x").resolve(&LOGS),
        Err((
            Protocol::AwsJson1_1,
            CommonError::UnsupportedMediaType("logs does not speak awsQuery".into())
        ))
    );
}

#[test]
fn rest_request_to_rpc_service() {
    let req = Req::new(
        "POST",
        "/",
        "",
        &[("content-type", "application/json")],
        b"{}",
    );
    assert_eq!(
        req.resolve(&IAM),
        Err((
            Protocol::AwsQuery,
            CommonError::UnsupportedMediaType("missing X-Amz-Target or form content type".into())
        ))
    );
}

#[test]
fn cbor_requests() {
    // {"Id": "m1"}
    let body = [0xa1, 0x62, b'I', b'd', 0x62, b'm', b'1'];
    let req = Req::new(
        "POST",
        "/service/GraniteServiceVersion20100801/operation/GetMetricData",
        "",
        &[
            ("smithy-protocol", "rpc-v2-cbor"),
            ("content-type", "application/cbor"),
        ],
        &body,
    );
    let (p, op, input) = ok(req.resolve(&MONITORING));
    assert_eq!((p, op.as_str()), (Protocol::RpcV2Cbor, "GetMetricData"));
    assert_eq!(input, map(vec![("Id", s("m1"))]));
    assert_eq!(
        req.resolve(&LOGS),
        Err((
            Protocol::AwsJson1_1,
            CommonError::UnsupportedMediaType("logs does not speak smithy-rpc-v2-cbor".into())
        ))
    );
    let bad = Req::new(
        "POST",
        "/service/S/operation/GetMetricData",
        "",
        &[("smithy-protocol", "rpc-v2-cbor")],
        &[0x83, 1, 2, 3],
    );
    assert_eq!(
        bad.resolve(&MONITORING),
        Err((
            Protocol::RpcV2Cbor,
            CommonError::MalformedInput("Request body must be a CBOR map".into())
        ))
    );
}

fn rest(method: &str, path: &str, query: &str, body: &[u8]) -> Req {
    Req::new(method, path, query, &[("host", "s3.amazonaws.com")], body)
}

#[test]
fn rest_xml_routes() {
    let (p, op, input) = ok(rest("GET", "/", "", b"").resolve(&S3));
    assert_eq!(
        (p, op.as_str(), input),
        (Protocol::RestXml, "ListBuckets", Value::map())
    );

    let (_, op, input) = ok(rest("PUT", "/media", "", b"").resolve(&S3));
    assert_eq!(
        (op.as_str(), input),
        ("CreateBucket", map(vec![("Bucket", s("media"))]))
    );

    let (_, op, input) = ok(rest(
        "GET",
        "/media",
        "list-type=2&prefix=photos%2F2024&max-keys=10",
        b"",
    )
    .resolve(&S3));
    assert_eq!(op, "ListObjectsV2");
    assert_eq!(
        input,
        map(vec![
            ("list-type", s("2")),
            ("prefix", s("photos/2024")),
            ("max-keys", s("10")),
            ("Bucket", s("media"))
        ])
    );

    // Greedy labels take the rest of the path, slashes included, percent-decoded.
    let (_, op, input) = ok(rest("PUT", "/media/photos/2024/a%20b%2Bc.jpg", "", b"").resolve(&S3));
    assert_eq!(op, "PutObject");
    assert_eq!(
        input,
        map(vec![
            ("Bucket", s("media")),
            ("Key", s("photos/2024/a b+c.jpg"))
        ])
    );
    let (_, op, input) = ok(rest("GET", "/media/k", "", b"").resolve(&S3));
    assert_eq!(
        (op.as_str(), input),
        (
            "GetObject",
            map(vec![("Bucket", s("media")), ("Key", s("k"))])
        )
    );

    // Presigned parameters are not operation input.
    let (_, op, input) = ok(rest(
        "GET",
        "/media/k",
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abc&versionId=3",
        b"",
    )
    .resolve(&S3));
    assert_eq!(
        (op.as_str(), input),
        (
            "GetObject",
            map(vec![
                ("versionId", s("3")),
                ("Bucket", s("media")),
                ("Key", s("k"))
            ])
        )
    );

    // A body is parsed as XML under its root element; labels win over body members.
    let body = br#"<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>eu-west-1</LocationConstraint><Bucket>spoofed</Bucket></CreateBucketConfiguration>"#;
    let (_, op, input) = ok(rest("PUT", "/media", "", body).resolve(&S3));
    assert_eq!(op, "CreateBucket");
    assert_eq!(
        input,
        map(vec![
            ("LocationConstraint", s("eu-west-1")),
            ("Bucket", s("media"))
        ])
    );

    assert_eq!(
        rest("PUT", "/media", "", b"<Create>").resolve(&S3),
        Err((
            Protocol::RestXml,
            CommonError::MalformedInput("The XML you provided was not well-formed".into())
        ))
    );
    assert_eq!(
        rest("PUT", "/media", "", b"<Create>text</Create>").resolve(&S3),
        Err((
            Protocol::RestXml,
            CommonError::MalformedInput("body must be an object".into())
        ))
    );
}

#[test]
fn rest_unknown_routes() {
    for (method, path) in [
        ("DELETE", "/media"),
        ("POST", "/"),
        ("GET", "//k"),
        ("PATCH", "/media/k"),
    ] {
        assert_eq!(
            rest(method, path, "", b"").resolve(&S3),
            Err((
                Protocol::RestXml,
                CommonError::UnknownOperation(format!("{method} {path}"))
            )),
            "{method} {path}"
        );
    }
}

#[test]
fn rest_json_routes() {
    let (p, op, input) = ok(rest("GET", "/2015-03-31/functions/", "", b"").resolve(&LAMBDA));
    assert_eq!(
        (p, op.as_str(), input),
        (Protocol::RestJson1, "ListFunctions", Value::map())
    );

    let (_, op, input) = ok(rest(
        "GET",
        "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Af",
        "Qualifier=1",
        b"",
    )
    .resolve(&LAMBDA));
    assert_eq!(op, "GetFunction");
    assert_eq!(
        input,
        map(vec![
            ("Qualifier", s("1")),
            (
                "FunctionName",
                s("arn:aws:lambda:eu-west-1:123456789012:function:f")
            )
        ])
    );

    let (_, op, input) = ok(rest(
        "POST",
        "/2015-03-31/functions/f/invocations",
        "",
        br#"{"k":[1,2]}"#,
    )
    .resolve(&LAMBDA));
    assert_eq!(op, "Invoke");
    assert_eq!(
        input,
        map(vec![
            ("k", list(vec![Value::Int(1), Value::Int(2)])),
            ("FunctionName", s("f"))
        ])
    );

    assert_eq!(
        rest("POST", "/2015-03-31/functions/f/invocations", "", b"[1]").resolve(&LAMBDA),
        Err((
            Protocol::RestJson1,
            CommonError::MalformedInput("Request body must be a JSON object".into())
        ))
    );
    assert_eq!(
        rest("DELETE", "/2015-03-31/functions/f", "", b"").resolve(&LAMBDA),
        Err((
            Protocol::RestJson1,
            CommonError::UnknownOperation("DELETE /2015-03-31/functions/f".into())
        ))
    );
}

#[test]
fn route_matching() {
    let route = |method, path| HttpRoute {
        method,
        path,
        raw: false,
    };
    let labels = |v: &[(&str, &str)]| {
        Some(
            v.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<Vec<_>>(),
        )
    };

    let obj = route("PUT", "/{Bucket}/{Key+}");
    assert_eq!(
        obj.matches("PUT", "/b/k"),
        labels(&[("Bucket", "b"), ("Key", "k")])
    );
    assert_eq!(
        obj.matches("put", "/b/a/b/c/"),
        labels(&[("Bucket", "b"), ("Key", "a/b/c/")])
    );
    assert_eq!(obj.matches("GET", "/b/k"), None);
    // A greedy label needs at least one character, a plain label a whole segment.
    assert_eq!(obj.matches("PUT", "/b"), None);
    assert_eq!(obj.matches("PUT", "/b/"), None);
    assert_eq!(obj.matches("PUT", "//k"), None);

    let fun = route("POST", "/2015-03-31/functions/{FunctionName}/invocations");
    assert_eq!(
        fun.matches("POST", "/2015-03-31/functions/my%2Dfn/invocations"),
        labels(&[("FunctionName", "my-fn")])
    );
    assert_eq!(
        fun.matches("POST", "/2015-03-31/functions/f/invocations/extra"),
        None
    );
    assert_eq!(fun.matches("POST", "/2015-03-31/functions/f"), None);
    assert_eq!(
        fun.matches("POST", "/2016-01-01/functions/f/invocations"),
        None
    );

    let mid = route("GET", "/{Bucket}/objects/{Key+}");
    assert_eq!(
        mid.matches("GET", "/b/objects/x/y"),
        labels(&[("Bucket", "b"), ("Key", "x/y")])
    );
    assert_eq!(mid.matches("GET", "/b/other/x"), None);

    let root = route("GET", "/");
    assert_eq!(root.matches("GET", "/"), labels(&[]));
    assert_eq!(root.matches("GET", ""), labels(&[]));
    assert_eq!(root.matches("GET", "/x"), None);
}

/// S3 tells operations on one path apart by query parameters; the route naming the most
/// of them wins, and raw operations see their headers and body untouched.
#[test]
fn query_discriminators_and_raw_requests() {
    static DEF: ServiceDef = ServiceDef {
        signing_name: "s3",
        endpoint_prefix: "s3",
        protocols: &[Protocol::RestXml],
        xml_namespace: "http://s3.amazonaws.com/doc/2006-03-01/",
        target_prefix: None,
        query_compatible: false,
        global_region: None,
        denied_code: None,
        operations: &[
            OperationDef::rpc("ListObjects", "s3:ListBucket", true, any_resource)
                .route("GET", "/{Bucket}")
                .raw_request(),
            OperationDef::rpc("ListObjectsV2", "s3:ListBucket", true, any_resource)
                .route("GET", "/{Bucket}?list-type=2")
                .raw_request(),
            OperationDef::rpc(
                "GetBucketVersioning",
                "s3:GetBucketVersioning",
                true,
                any_resource,
            )
            .route("GET", "/{Bucket}?versioning")
            .raw_request(),
            OperationDef::rpc("PutObject", "s3:PutObject", false, any_resource)
                .route("PUT", "/{Bucket}/{Key+}")
                .raw_request(),
        ],
    };
    let op = |method, path, query| ok(rest(method, path, query, b"").resolve(&DEF)).1;
    assert_eq!(op("GET", "/b", ""), "ListObjects");
    assert_eq!(op("GET", "/b", "prefix=a"), "ListObjects");
    assert_eq!(op("GET", "/b", "list-type=2&prefix=a"), "ListObjectsV2");
    // Another value of a discriminating parameter is not that operation.
    assert_eq!(op("GET", "/b", "list-type=1"), "ListObjects");
    assert_eq!(op("GET", "/b", "versioning"), "GetBucketVersioning");
    assert_eq!(op("GET", "/b", "versioning="), "GetBucketVersioning");

    let body = b"<not>xml at all";
    let (_, name, input) = ok(Req::new(
        "PUT",
        "/b/k",
        "",
        &[
            ("host", "s3.amazonaws.com"),
            ("x-amz-meta-Color", "blue"),
            ("content-type", "text/plain"),
        ],
        body,
    )
    .resolve(&DEF));
    assert_eq!(name, "PutObject");
    assert_eq!(input.get("Body"), Some(&Value::Blob(body.to_vec())));
    let h = input.get("$headers").unwrap();
    assert_eq!(h.get("x-amz-meta-color"), Some(&s("blue")));
    assert_eq!(h.get("content-type"), Some(&s("text/plain")));
    assert_eq!(input.get("Key"), Some(&s("k")));
}
