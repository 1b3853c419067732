//! Error bodies for every protocol, and how each `CommonError` maps to a code and status.

use crate::common::{
    ALL_PROTOCOLS, EC2, IAM, LAMBDA, LOGS, MONITORING, S3, SQS, render, response_headers,
};
use crate::snap;
use sightline_wire::protocol::encode_error;
use sightline_wire::{ApiError, CommonError, Protocol, ServiceDef};

const RID: &str = "4442587FB7D0A2F9";

fn access_denied() -> CommonError {
    CommonError::AccessDenied(
        "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: iam:ListUsers on resource: \
         arn:aws:iam::123456789012:user/ because no identity-based policy allows the iam:ListUsers action"
            .into(),
    )
}

fn service_for(p: Protocol) -> &'static ServiceDef {
    match p {
        Protocol::AwsJson1_0 => &SQS,
        Protocol::AwsJson1_1 => &LOGS,
        Protocol::AwsQuery => &IAM,
        Protocol::Ec2Query => &EC2,
        Protocol::RpcV2Cbor => &MONITORING,
        Protocol::RestJson1 => &LAMBDA,
        Protocol::RestXml => &S3,
    }
}

#[test]
fn error_bodies() {
    for p in [
        Protocol::AwsJson1_1,
        Protocol::RestJson1,
        Protocol::AwsQuery,
        Protocol::Ec2Query,
        Protocol::RestXml,
    ] {
        let err = access_denied().to_api_error(p);
        let resp = encode_error(p, Some(service_for(p)), RID, &err);
        snap!(format!("error_{}", p.name()), render(&resp));
    }
}

#[test]
fn query_compatible_json_error() {
    // SQS speaks awsJson1_0 but old SDKs still read the Query code from a header.
    let err = ApiError::bad_request(
        "AWS.SimpleQueueService.NonExistentQueue",
        "The specified queue does not exist.",
    );
    let resp = encode_error(Protocol::AwsJson1_0, Some(&SQS), RID, &err);
    snap!("error_awsJson1_0_query_compatible", render(&resp));

    let err = ApiError::internal("boom");
    let resp = encode_error(Protocol::AwsJson1_0, Some(&SQS), RID, &err);
    assert_eq!(resp.status, 500);
    assert!(
        response_headers(&resp)
            .contains(&("x-amzn-query-error", "InternalFailure;Receiver".to_owned()))
    );

    // Without a service (before one is known) nothing service-specific is added.
    let resp = encode_error(Protocol::AwsJson1_0, None, RID, &err);
    assert_eq!(
        response_headers(&resp),
        [
            ("x-amzn-requestid", RID.to_owned()),
            ("x-amzn-errortype", "InternalFailure".to_owned())
        ]
    );
}

#[test]
fn a_service_may_name_its_query_code_itself() {
    // SQS's JSON error type and its Query code differ.
    let err = ApiError::bad_request("QueueDoesNotExist", "The specified queue does not exist.")
        .with_header(
            "x-amzn-query-error",
            "AWS.SimpleQueueService.NonExistentQueue;Sender",
        );
    let resp = encode_error(Protocol::AwsJson1_0, Some(&SQS), RID, &err);
    let headers = response_headers(&resp);
    let query: Vec<_> = headers
        .iter()
        .filter(|(k, _)| *k == "x-amzn-query-error")
        .collect();
    assert_eq!(
        query,
        [&(
            "x-amzn-query-error",
            "AWS.SimpleQueueService.NonExistentQueue;Sender".to_owned()
        )]
    );
    let body: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(body["__type"], "QueueDoesNotExist");
    // Query clients read the Query code in the body, and get no header.
    let resp = encode_error(Protocol::AwsQuery, Some(&SQS), RID, &err);
    let text = String::from_utf8(resp.body.clone()).unwrap();
    assert!(
        text.contains("<Code>AWS.SimpleQueueService.NonExistentQueue</Code>"),
        "{text}"
    );
    assert!(
        response_headers(&resp)
            .iter()
            .all(|(k, _)| *k != "x-amzn-query-error")
    );
}

#[test]
fn cbor_error_body() {
    let err = CommonError::MalformedInput("Invalid CBOR".into()).to_api_error(Protocol::RpcV2Cbor);
    let resp = encode_error(Protocol::RpcV2Cbor, Some(&MONITORING), RID, &err);
    assert_eq!(resp.status, 400);
    assert_eq!(resp.content_type, "application/cbor");
    assert_eq!(
        response_headers(&resp),
        [
            ("x-amzn-requestid", RID.to_owned()),
            ("smithy-protocol", "rpc-v2-cbor".to_owned()),
            (
                "x-amzn-query-error",
                "SerializationException;Sender".to_owned()
            ),
        ]
    );
    let raw: ciborium::Value = ciborium::from_reader(resp.body.as_slice()).unwrap();
    crate::snap_debug!("error_cbor", raw);
}

#[test]
fn error_text_is_escaped() {
    let err = ApiError::bad_request("Bad<Code>", "a < b && c > \"d\" 'e'\r\n");
    let q = encode_error(Protocol::AwsQuery, Some(&IAM), "r&1", &err);
    assert_eq!(
        String::from_utf8(q.body).unwrap(),
        "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type>\
         <Code>Bad&lt;Code&gt;</Code><Message>a &lt; b &amp;&amp; c &gt; &quot;d&quot; &apos;e&apos;&#xD;\n</Message>\
         </Error><RequestId>r&amp;1</RequestId></ErrorResponse>"
    );
    let j = encode_error(Protocol::AwsJson1_1, Some(&LOGS), RID, &err);
    assert_eq!(
        String::from_utf8(j.body).unwrap(),
        r#"{"__type":"Bad<Code>","message":"a < b && c > \"d\" 'e'\r\n"}"#
    );
    let server = ApiError::internal("x");
    let q = encode_error(Protocol::AwsQuery, Some(&IAM), RID, &server);
    assert!(
        String::from_utf8(q.body)
            .unwrap()
            .contains("<Type>Receiver</Type>")
    );
}

fn all_common_errors() -> Vec<CommonError> {
    vec![
        CommonError::MissingAuthenticationToken,
        CommonError::IncompleteSignature("m".into()),
        CommonError::InvalidClientTokenId,
        CommonError::SignatureDoesNotMatch("m".into()),
        CommonError::SignatureExpired("m".into()),
        CommonError::ExpiredToken,
        CommonError::AccessDenied("m".into()),
        CommonError::UnknownOperation("Op".into()),
        CommonError::MalformedInput("m".into()),
        CommonError::MissingParameter("m".into()),
        CommonError::InvalidParameter("m".into()),
        CommonError::PayloadTooLarge,
        CommonError::UnsupportedMediaType("m".into()),
        CommonError::UnknownService("svc".into()),
    ]
}

/// The whole `CommonError` × protocol matrix as a table, one row per error.
#[test]
fn common_error_matrix() {
    let mut out = String::new();
    for e in all_common_errors() {
        let name = format!("{e:?}");
        out.push_str(&format!("{}\n", name.split('(').next().unwrap()));
        for p in ALL_PROTOCOLS {
            let a = e.to_api_error(p);
            assert_eq!(a.sender_fault, a.status < 500);
            out.push_str(&format!(
                "  {:<20} {} {:<38} {}\n",
                p.name(),
                a.status,
                a.code,
                a.message
            ));
        }
    }
    snap!("common_error_matrix", out);
}

#[test]
fn common_errors_spot_checks() {
    let q = CommonError::MissingAuthenticationToken.to_api_error(Protocol::AwsQuery);
    assert_eq!(
        (q.status, q.code.as_str()),
        (403, "MissingAuthenticationToken")
    );
    assert_eq!(q.message, "Request is missing Authentication Token");
    let j = CommonError::InvalidClientTokenId.to_api_error(Protocol::AwsJson1_1);
    assert_eq!(
        (j.status, j.code.as_str()),
        (400, "UnrecognizedClientException")
    );
    let s3 = CommonError::InvalidClientTokenId.to_api_error(Protocol::RestXml);
    assert_eq!((s3.status, s3.code.as_str()), (403, "InvalidAccessKeyId"));
    let ec2 = CommonError::SignatureExpired("x".into()).to_api_error(Protocol::Ec2Query);
    assert_eq!(
        (ec2.status, ec2.code.as_str(), ec2.message.as_str()),
        (400, "RequestExpired", "Request has expired.")
    );
    let s3 = CommonError::SignatureExpired("x".into()).to_api_error(Protocol::RestXml);
    assert_eq!((s3.status, s3.code.as_str()), (403, "RequestTimeTooSkewed"));
    let op = CommonError::UnknownOperation("Frobnicate".into()).to_api_error(Protocol::AwsQuery);
    assert_eq!(
        (op.code.as_str(), op.message.as_str()),
        (
            "InvalidAction",
            "Could not find operation Frobnicate for version"
        )
    );
    let big = CommonError::PayloadTooLarge.to_api_error(Protocol::AwsJson1_0);
    assert_eq!(
        (big.status, big.code.as_str()),
        (413, "RequestEntityTooLarge")
    );
}
