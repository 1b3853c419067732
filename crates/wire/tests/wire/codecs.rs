//! Codecs: typed shapes through every body format and back, query decoding, and the
//! exact wire output of each protocol (insta snapshots in `tests/snapshots/`).

use crate::common::{
    EC2, IAM, LAMBDA, LOGS, MONITORING, S3, SQS, list, map, render, response_headers, s,
};
use crate::{snap, snap_debug};
use chrono::{TimeZone, Utc};
use serde::{Deserialize, Serialize};
use sightline_wire::codec::{cbor, json, query, xml};
use sightline_wire::protocol::encode_output;
use sightline_wire::{
    Blob, EncodeCtx, FlatList, FlatMap, Protocol, ServiceDef, Timestamp, Value, from_value,
    to_value,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Tag {
    key: String,
    value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Owner {
    id: String,
    display_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Shape {
    name: String,
    description: Option<String>,
    absent: Option<String>,
    count: i64,
    big: i64,
    negative: i32,
    ratio: f64,
    whole_ratio: f64,
    enabled: bool,
    created: Timestamp,
    expires: Option<Timestamp>,
    payload: Blob,
    empty_payload: Blob,
    tags: Vec<Tag>,
    no_tags: Vec<Tag>,
    names: Vec<String>,
    owner: Owner,
    maybe_owner: Option<Owner>,
}

fn ts(millis: i64) -> Timestamp {
    Timestamp(Utc.timestamp_millis_opt(millis).unwrap())
}

fn sample() -> Shape {
    Shape {
        name: "alice <&> \"quoted\" 'single' ünïcödé 🚀".into(),
        description: Some(String::new()),
        absent: None,
        count: 42,
        big: i64::MAX,
        negative: -7,
        ratio: 0.1,
        whole_ratio: 3.0,
        enabled: true,
        created: ts(1_440_938_160_123),
        expires: Some(ts(-86_400_500)),
        payload: Blob(vec![0, 1, 2, 0xfe, 0xff]),
        empty_payload: Blob(vec![]),
        tags: vec![
            Tag {
                key: "team".into(),
                value: Some("core".into()),
            },
            Tag {
                key: "empty".into(),
                value: None,
            },
        ],
        no_tags: vec![],
        names: vec!["a".into(), "b".into()],
        owner: Owner {
            id: "123456789012".into(),
            display_name: None,
        },
        maybe_owner: Some(Owner {
            id: "x".into(),
            display_name: Some("X".into()),
        }),
    }
}

#[test]
fn to_value_shape() {
    let v = to_value(&sample()).unwrap();
    let Value::Map(m) = &v else {
        panic!("a struct becomes a map: {v:?}")
    };
    // `None` members are dropped; everything else keeps declaration order.
    let keys: Vec<&str> = m.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "Name",
            "Description",
            "Count",
            "Big",
            "Negative",
            "Ratio",
            "WholeRatio",
            "Enabled",
            "Created",
            "Expires",
            "Payload",
            "EmptyPayload",
            "Tags",
            "NoTags",
            "Names",
            "Owner",
            "MaybeOwner"
        ]
    );
    assert_eq!(
        m.get("Created"),
        Some(&Value::Timestamp(ts(1_440_938_160_123).0))
    );
    assert_eq!(
        m.get("Payload"),
        Some(&Value::Blob(vec![0, 1, 2, 0xfe, 0xff]))
    );
    assert_eq!(m.get("Big"), Some(&Value::Int(i64::MAX)));
    assert_eq!(m.get("WholeRatio"), Some(&Value::Float(3.0)));
    assert_eq!(m.get("NoTags"), Some(&list(vec![])));
    assert_eq!(
        m.get("Tags"),
        Some(&list(vec![
            map(vec![("Key", s("team")), ("Value", s("core"))]),
            map(vec![("Key", s("empty"))])
        ]))
    );
    assert_eq!(m.get("Owner"), Some(&map(vec![("Id", s("123456789012"))])));
}

#[test]
fn json_round_trip() {
    let v = to_value(&sample()).unwrap();
    let body = json::encode(&v);
    let back: Shape = from_value(json::decode(&body).unwrap()).unwrap();
    assert_eq!(back, sample());
}

#[test]
fn cbor_round_trip() {
    let v = to_value(&sample()).unwrap();
    let body = cbor::encode(&v);
    let decoded = cbor::decode(&body).unwrap();
    // CBOR keeps every Value kind, so the tree itself survives.
    assert_eq!(decoded, v);
    let back: Shape = from_value(decoded).unwrap();
    assert_eq!(back, sample());
}

#[test]
fn json_body_snapshot() {
    let body = json::encode(&to_value(&sample()).unwrap());
    snap!("json_typed_shape", String::from_utf8(body).unwrap());
}

#[test]
fn cbor_body_snapshot() {
    let body = cbor::encode(&to_value(&sample()).unwrap());
    let raw: ciborium::Value = ciborium::from_reader(body.as_slice()).unwrap();
    snap_debug!("cbor_typed_shape", raw);
}

#[test]
fn json_numbers() {
    let v = map(vec![
        ("Whole", Value::Float(3.0)),
        ("Half", Value::Float(0.5)),
        ("Huge", Value::Float(1e300)),
        ("NaN", Value::Float(f64::NAN)),
        ("Inf", Value::Float(f64::INFINITY)),
        ("NegInf", Value::Float(f64::NEG_INFINITY)),
        ("Min", Value::Int(i64::MIN)),
        (
            "Epoch",
            Value::Timestamp(Utc.timestamp_opt(1_440_938_160, 0).unwrap()),
        ),
        (
            "EpochMillis",
            Value::Timestamp(Utc.timestamp_millis_opt(1_440_938_160_250).unwrap()),
        ),
        ("Null", Value::Null),
    ]);
    assert_eq!(
        String::from_utf8(json::encode(&v)).unwrap(),
        r#"{"Whole":3,"Half":0.5,"Huge":1e+300,"NaN":"NaN","Inf":"Infinity","NegInf":"-Infinity","Min":-9223372036854775808,"Epoch":1440938160,"EpochMillis":1440938160.25,"Null":null}"#
    );
    // The AWS spellings of non-finite doubles are read back into f64 members.
    #[derive(Deserialize)]
    struct F {
        #[serde(rename = "NaN")]
        nan: f64,
        #[serde(rename = "Inf")]
        inf: f64,
        #[serde(rename = "NegInf")]
        neg_inf: f64,
    }
    let f: F = from_value(
        json::decode(br#"{"NaN":"NaN","Inf":"Infinity","NegInf":"-Infinity"}"#).unwrap(),
    )
    .unwrap();
    assert!(f.nan.is_nan());
    assert_eq!((f.inf, f.neg_inf), (f64::INFINITY, f64::NEG_INFINITY));
}

#[test]
fn json_doubles_survive_exactly() {
    // Found by the JSON property test: without correctly rounded parsing the last digit moved.
    for f in [
        8.638220672985613e149,
        0.1 + 0.2,
        5e-324,
        f64::MAX,
        -1.7976931348623157e308,
        2.2250738585072014e-308,
    ] {
        let v = map(vec![("F", Value::Float(f))]);
        assert_eq!(json::decode(&json::encode(&v)).unwrap(), v, "{f:e}");
    }
}

#[test]
fn json_decode_values() {
    assert_eq!(json::decode(b"").unwrap(), Value::map());
    assert_eq!(json::decode(b" \n\t").unwrap(), Value::map());
    assert_eq!(
        json::decode(
            br#"{"a":1,"b":-2.5,"c":"x","d":[true,null],"e":{},"f":18446744073709551615}"#
        )
        .unwrap(),
        map(vec![
            ("a", Value::Int(1)),
            ("b", Value::Float(-2.5)),
            ("c", s("x")),
            ("d", list(vec![Value::Bool(true), Value::Null])),
            ("e", Value::map()),
            ("f", Value::Float(18446744073709551615.0)),
        ])
    );
}

#[test]
fn timestamps_accept_every_client_form() {
    #[derive(Debug, Deserialize, PartialEq)]
    struct T {
        t: Timestamp,
    }
    let want = ts(1_440_938_160_000);
    for form in [
        map(vec![("t", Value::Int(1_440_938_160))]),
        map(vec![("t", Value::Float(1_440_938_160.0))]),
        map(vec![("t", s("1440938160"))]),
        map(vec![("t", s("2015-08-30T12:36:00Z"))]),
        map(vec![("t", s("2015-08-30T12:36:00.000Z"))]),
        map(vec![("t", s("2015-08-30T14:36:00+02:00"))]),
        map(vec![("t", s("2015-08-30T12:36:00"))]),
        map(vec![("t", s("20150830T123600Z"))]),
        map(vec![("t", s("Sun, 30 Aug 2015 12:36:00 GMT"))]),
        map(vec![("t", Value::Timestamp(want.0))]),
    ] {
        assert_eq!(
            from_value::<T>(form.clone()).map(|t| t.t),
            Ok(want),
            "{form:?}"
        );
    }
    // Fractions are kept to the millisecond.
    let t: T = from_value(map(vec![("t", Value::Float(1_440_938_160.123_4))])).unwrap();
    assert_eq!(t.t, ts(1_440_938_160_123));
}

#[test]
fn xml_parse_values() {
    let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <LocationConstraint>eu-west-1</LocationConstraint>
  <Tags><Tag><Key>a</Key><Value>1 &amp; 2&#x21;</Value></Tag><Tag><Key> spaced key </Key><Value><![CDATA[<x>]]></Value></Tag></Tags>
  <Empty/>
  <Blank></Blank>
</CreateBucketConfiguration>"#;
    let (root, v) = xml::parse(body).unwrap();
    assert_eq!(root, "CreateBucketConfiguration");
    assert_eq!(
        v,
        map(vec![
            ("LocationConstraint", s("eu-west-1")),
            (
                "Tags",
                map(vec![(
                    "Tag",
                    list(vec![
                        map(vec![("Key", s("a")), ("Value", s("1 & 2!"))]),
                        map(vec![("Key", s(" spaced key ")), ("Value", s("<x>"))])
                    ])
                )])
            ),
            ("Empty", s("")),
            ("Blank", s("")),
        ])
    );
}

#[test]
fn rest_xml_round_trip() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Config {
        location_constraint: String,
        created: Timestamp,
        versioned: bool,
        max_keys: i32,
        token: Blob,
    }
    let cfg = Config {
        location_constraint: "eu-west-1".into(),
        created: ts(1_440_938_160_123),
        versioned: true,
        max_keys: 1000,
        token: Blob(b"opaque".to_vec()),
    };
    let out = map(vec![("CreateBucketConfiguration", to_value(&cfg).unwrap())]);
    let resp = encode_output(Protocol::RestXml, &ctx(&S3, "CreateBucket"), &out);
    let (root, v) = xml::parse(&resp.body).unwrap();
    assert_eq!(root, "CreateBucketConfiguration");
    assert_eq!(from_value::<Config>(v).unwrap(), cfg);
}

// ---------------------------------------------------------------------------------------
// Query input.

fn q(form: &str) -> Value {
    let (action, v) = query::decode(form.as_bytes(), false).unwrap();
    assert_eq!(action.as_deref(), Some("Test"));
    v
}

fn ec2(form: &str) -> Value {
    query::decode(form.as_bytes(), true).unwrap().1
}

#[test]
fn query_envelope_and_scalars() {
    let (action, v) = query::decode(
        b"Action=CreateUser&Version=2010-05-08&UserName=alice&Path=%2Fdivision%2F&Note=a+b%2Bc\
          &X-Amz-Date=20240517T093000Z&X-Amz-Security-Token=tok&AWSAccessKeyId=AKID&Empty=",
        false,
    )
    .unwrap();
    assert_eq!(action.as_deref(), Some("CreateUser"));
    assert_eq!(
        v,
        map(vec![
            ("UserName", s("alice")),
            ("Path", s("/division/")),
            ("Note", s("a b+c")),
            ("Empty", s(""))
        ])
    );
    assert_eq!(query::decode(b"", false).unwrap(), (None, Value::map()));
}

#[test]
fn query_member_lists() {
    let v = q("Action=Test&UserName=bob\
               &Tags.member.2.Key=k2&Tags.member.2.Value=v2\
               &Tags.member.1.Key=k1&Tags.member.1.Value=v1\
               &Tags.member.10.Key=k10\
               &Names.member.1=x&Names.member.2=y");
    assert_eq!(
        v,
        map(vec![
            ("UserName", s("bob")),
            (
                "Tags",
                list(vec![
                    map(vec![("Key", s("k1")), ("Value", s("v1"))]),
                    map(vec![("Key", s("k2")), ("Value", s("v2"))]),
                    map(vec![("Key", s("k10"))]),
                ])
            ),
            ("Names", list(vec![s("x"), s("y")])),
        ])
    );

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct TagUser {
        user_name: String,
        tags: Vec<Tag>,
        names: Vec<String>,
    }
    assert_eq!(
        from_value::<TagUser>(v).unwrap(),
        TagUser {
            user_name: "bob".into(),
            tags: vec![
                Tag {
                    key: "k1".into(),
                    value: Some("v1".into())
                },
                Tag {
                    key: "k2".into(),
                    value: Some("v2".into())
                },
                Tag {
                    key: "k10".into(),
                    value: None
                },
            ],
            names: vec!["x".into(), "y".into()],
        }
    );
}

#[test]
fn query_entry_maps() {
    let v = q("Action=Test&QueueName=q\
               &Attributes.entry.2.key=VisibilityTimeout&Attributes.entry.2.value=30\
               &Attributes.entry.1.key=Policy&Attributes.entry.1.value=%7B%22Version%22%3A%222012-10-17%22%7D\
               &Attributes.entry.3.key=DelaySeconds");
    assert_eq!(
        v,
        map(vec![
            ("QueueName", s("q")),
            (
                "Attributes",
                map(vec![
                    ("Policy", s(r#"{"Version":"2012-10-17"}"#)),
                    ("VisibilityTimeout", s("30")),
                    ("DelaySeconds", Value::Null),
                ])
            ),
        ])
    );
    // SNS and SQS spell the entry members `Name`/`Value` in some operations.
    let v =
        q("Action=Test&Attributes.entry.1.Name=RawMessageDelivery&Attributes.entry.1.Value=true");
    assert_eq!(
        v,
        map(vec![(
            "Attributes",
            map(vec![("RawMessageDelivery", s("true"))])
        )])
    );

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct SetAttributes {
        attributes: std::collections::BTreeMap<String, String>,
    }
    let typed: SetAttributes =
        from_value(q("Action=Test&Attributes.entry.1.key=A&Attributes.entry.1.value=1&Attributes.entry.2.key=B&Attributes.entry.2.value=2"))
            .unwrap();
    assert_eq!(
        typed.attributes.into_iter().collect::<Vec<_>>(),
        [("A".into(), "1".into()), ("B".into(), "2".into())]
    );
}

#[test]
fn query_empty_list() {
    let v = q("Action=Test&UserName=bob&Tags=");
    assert_eq!(v, map(vec![("UserName", s("bob")), ("Tags", s(""))]));
    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct TagUser {
        user_name: String,
        tags: Vec<Tag>,
        #[serde(default)]
        names: Vec<String>,
    }
    assert_eq!(
        from_value::<TagUser>(v).unwrap(),
        TagUser {
            user_name: "bob".into(),
            tags: vec![],
            names: vec![]
        }
    );
}

#[test]
fn ec2_lists() {
    let v = ec2("Action=DescribeInstances&Version=2016-11-15\
                 &Filter.1.Name=instance-state-name&Filter.1.Value.1=running&Filter.1.Value.2=stopped\
                 &Filter.2.Name=tag%3AEnv&Filter.2.Value.1=prod\
                 &InstanceId.2=i-2&InstanceId.1=i-1&MaxResults=5");
    assert_eq!(
        v,
        map(vec![
            (
                "Filter",
                list(vec![
                    map(vec![
                        ("Name", s("instance-state-name")),
                        ("Value", list(vec![s("running"), s("stopped")]))
                    ]),
                    map(vec![
                        ("Name", s("tag:Env")),
                        ("Value", list(vec![s("prod")]))
                    ]),
                ])
            ),
            ("InstanceId", list(vec![s("i-1"), s("i-2")])),
            ("MaxResults", s("5")),
        ])
    );

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Filter {
        name: String,
        value: Vec<String>,
    }
    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Describe {
        filter: Vec<Filter>,
        instance_id: Vec<String>,
        max_results: u32,
    }
    let d: Describe = from_value(v).unwrap();
    assert_eq!(
        d.filter[1],
        Filter {
            name: "tag:Env".into(),
            value: vec!["prod".into()]
        }
    );
    assert_eq!(d.instance_id, ["i-1", "i-2"]);
    assert_eq!(d.max_results, 5);

    // Numbered children only make a list in the ec2 dialect.
    assert_eq!(
        q("Action=Test&Foo.1=a"),
        map(vec![("Foo", map(vec![("1", s("a"))]))])
    );
}

#[test]
fn query_lenient_scalars() {
    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Page {
        max_items: i32,
        is_truncated: bool,
        only_attached: bool,
        ratio: f64,
        marker: Option<String>,
        when: Timestamp,
        data: Blob,
    }
    let p: Page = from_value(q(
        "Action=Test&MaxItems=%2010&IsTruncated=TRUE&OnlyAttached=false&Ratio=2.5\
                                &When=2015-08-30T12%3A36%3A00Z&Data=b3BhcXVl",
    ))
    .unwrap();
    assert_eq!(
        p,
        Page {
            max_items: 10,
            is_truncated: true,
            only_attached: false,
            ratio: 2.5,
            marker: None,
            when: ts(1_440_938_160_000),
            data: Blob(b"opaque".to_vec()),
        }
    );
}

// ---------------------------------------------------------------------------------------
// Wire output, per protocol.

fn ctx<'a>(service: &'a ServiceDef, operation: &'a str) -> EncodeCtx<'a> {
    EncodeCtx {
        service,
        operation,
        request_id: "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE",
    }
}

fn list_users_output() -> Value {
    map(vec![
        (
            "Users",
            list(vec![
                map(vec![
                    ("Path", s("/")),
                    ("UserName", s("alice")),
                    ("UserId", s("AIDACKCEVSQ6C2EXAMPLE")),
                    ("Arn", s("arn:aws:iam::123456789012:user/alice")),
                    (
                        "CreateDate",
                        Value::Timestamp(Utc.with_ymd_and_hms(2015, 8, 30, 12, 36, 0).unwrap()),
                    ),
                ]),
                map(vec![
                    ("Path", s("/division_abc/subdivision_xyz/")),
                    ("UserName", s("bob & <carol>")),
                    ("UserId", s("AIDACKCEVSQ6C3EXAMPLE")),
                    (
                        "Arn",
                        s("arn:aws:iam::123456789012:user/division_abc/subdivision_xyz/bob"),
                    ),
                    (
                        "CreateDate",
                        Value::Timestamp(Utc.timestamp_millis_opt(1_440_938_160_123).unwrap()),
                    ),
                ]),
            ]),
        ),
        ("IsTruncated", Value::Bool(false)),
    ])
}

#[test]
fn aws_query_output() {
    let resp = encode_output(
        Protocol::AwsQuery,
        &ctx(&IAM, "ListUsers"),
        &list_users_output(),
    );
    snap!("query_list_users", render(&resp));
}

#[test]
fn aws_query_empty_output() {
    let resp = encode_output(Protocol::AwsQuery, &ctx(&IAM, "DeleteUser"), &Value::map());
    assert_eq!(
        String::from_utf8(resp.body).unwrap(),
        "<DeleteUserResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
         <ResponseMetadata><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ResponseMetadata>\
         </DeleteUserResponse>"
    );
}

#[test]
fn aws_query_nested_output() {
    // GetUser: a nested structure with an empty list and a float.
    let out = map(vec![(
        "User",
        map(vec![
            ("UserName", s("alice")),
            ("Tags", list(vec![])),
            (
                "PermissionsBoundary",
                map(vec![("PermissionsBoundaryType", s("Policy"))]),
            ),
            ("Score", Value::Float(0.25)),
            ("Count", Value::Int(-3)),
            ("Blob", Value::Blob(b"hi".to_vec())),
        ]),
    )]);
    let resp = encode_output(Protocol::AwsQuery, &ctx(&IAM, "GetUser"), &out);
    snap!("query_get_user", render(&resp));
}

/// SQS's flattened output shapes: repeated elements straight in the result in Query,
/// plain lists and maps in JSON and in audit records.
#[test]
fn flattened_lists_and_maps() {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Message {
        body: String,
        attributes: FlatMap<String>,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Out {
        messages: FlatList<Message>,
        queue_urls: FlatList<String>,
    }
    let mut attributes = FlatMap::new(("Attribute", "Name", "Value"));
    attributes.entries.push(("SenderId".into(), "AIDA".into()));
    attributes
        .entries
        .push(("SentTimestamp".into(), "1".into()));
    let out = to_value(&Out {
        messages: FlatList {
            item: "Message",
            items: vec![Message {
                body: "a & b".into(),
                attributes,
            }],
        },
        queue_urls: FlatList {
            item: "QueueUrl",
            items: vec!["u1".into(), "u2".into()],
        },
    })
    .unwrap();
    let xml = encode_output(Protocol::AwsQuery, &ctx(&SQS, "ReceiveMessage"), &out);
    assert_eq!(
        String::from_utf8(xml.body).unwrap(),
        "<ReceiveMessageResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\">\
         <ReceiveMessageResult><Message><Body>a &amp; b</Body>\
         <Attribute><Name>SenderId</Name><Value>AIDA</Value></Attribute>\
         <Attribute><Name>SentTimestamp</Name><Value>1</Value></Attribute></Message>\
         <QueueUrl>u1</QueueUrl><QueueUrl>u2</QueueUrl></ReceiveMessageResult>\
         <ResponseMetadata><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ResponseMetadata>\
         </ReceiveMessageResponse>"
    );
    let expected = serde_json::json!({
        "Messages": [{"Body": "a & b", "Attributes": {"SenderId": "AIDA", "SentTimestamp": "1"}}],
        "QueueUrls": ["u1", "u2"],
    });
    let body = encode_output(Protocol::AwsJson1_0, &ctx(&SQS, "ReceiveMessage"), &out).body;
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
        expected
    );
    let audit = out.to_audit_json();
    assert_eq!(audit["queueUrls"], serde_json::json!(["u1", "u2"]));
    // Empty, they are left out of JSON (as SQS answers a receive of nothing: `{}`), but
    // Query still writes the result element its clients look for.
    let empty = to_value(&Out {
        messages: FlatList {
            item: "Message",
            items: vec![],
        },
        queue_urls: FlatList {
            item: "QueueUrl",
            items: vec![],
        },
    })
    .unwrap();
    let body = encode_output(Protocol::AwsJson1_0, &ctx(&SQS, "ReceiveMessage"), &empty).body;
    assert_eq!(body, b"{}");
    let xml = encode_output(Protocol::AwsQuery, &ctx(&SQS, "ReceiveMessage"), &empty).body;
    assert!(
        String::from_utf8(xml)
            .unwrap()
            .contains("<ReceiveMessageResult></ReceiveMessageResult>")
    );
    let cbor_body = cbor::encode(&out);
    let back = cbor::decode(&cbor_body).unwrap();
    assert_eq!(back.get("QueueUrls"), Some(&list(vec![s("u1"), s("u2")])));
}

#[test]
fn ec2_output() {
    let out = map(vec![(
        "reservationSet",
        list(vec![map(vec![
            ("reservationId", s("r-1234567890abcdef0")),
            ("ownerId", s("123456789012")),
            (
                "instancesSet",
                list(vec![map(vec![
                    ("instanceId", s("i-1234567890abcdef0")),
                    (
                        "instanceState",
                        map(vec![("code", Value::Int(16)), ("name", s("running"))]),
                    ),
                    (
                        "launchTime",
                        Value::Timestamp(Utc.with_ymd_and_hms(2015, 8, 30, 12, 36, 0).unwrap()),
                    ),
                    (
                        "tagSet",
                        list(vec![map(vec![("key", s("Name")), ("value", s("web"))])]),
                    ),
                    ("ebsOptimized", Value::Bool(false)),
                ])]),
            ),
        ])]),
    )]);
    let resp = encode_output(Protocol::Ec2Query, &ctx(&EC2, "DescribeInstances"), &out);
    snap!("ec2_describe_instances", render(&resp));
}

#[test]
fn rest_xml_output() {
    let bucket = |name: &str, secs: i64| {
        map(vec![
            ("Name", s(name)),
            (
                "CreationDate",
                Value::Timestamp(Utc.timestamp_opt(secs, 0).unwrap()),
            ),
        ])
    };
    let out = map(vec![(
        "ListAllMyBucketsResult",
        map(vec![
            (
                "Owner",
                map(vec![
                    (
                        "ID",
                        s("79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"),
                    ),
                    ("DisplayName", s("alice")),
                ]),
            ),
            (
                "Buckets",
                map(vec![(
                    "Bucket",
                    list(vec![
                        bucket("logs", 1_440_938_160),
                        bucket("media & more", 1_440_938_161),
                    ]),
                )]),
            ),
        ]),
    )]);
    let resp = encode_output(Protocol::RestXml, &ctx(&S3, "ListBuckets"), &out);
    snap!("rest_xml_list_buckets", render(&resp));

    // Flattened lists repeat the member's own element, as ListObjectsV2's Contents.
    let out = map(vec![(
        "ListBucketResult",
        map(vec![
            ("Name", s("logs")),
            ("KeyCount", Value::Int(2)),
            ("IsTruncated", Value::Bool(false)),
            (
                "Contents",
                list(vec![
                    map(vec![
                        ("Key", s("a.txt")),
                        ("Size", Value::Int(3)),
                        ("ETag", s("\"900150983cd24fb0d6963f7d28e17f72\"")),
                    ]),
                    map(vec![
                        ("Key", s("dir/b.txt")),
                        ("Size", Value::Int(0)),
                        ("ETag", s("\"d41d8cd98f00b204e9800998ecf8427e\"")),
                    ]),
                ]),
            ),
        ]),
    )]);
    let resp = encode_output(Protocol::RestXml, &ctx(&S3, "ListObjectsV2"), &out);
    snap!("rest_xml_list_objects", render(&resp));
}

#[test]
fn json_family_output() {
    let out = map(vec![
        (
            "logGroups",
            list(vec![map(vec![
                ("logGroupName", s("app")),
                ("creationTime", Value::Int(1_440_938_160_000)),
            ])]),
        ),
        ("nextToken", s("tok/+=")),
    ]);
    let resp = encode_output(Protocol::AwsJson1_1, &ctx(&LOGS, "DescribeLogGroups"), &out);
    snap!("json11_describe_log_groups", render(&resp));
    let resp = encode_output(
        Protocol::AwsJson1_0,
        &ctx(&MONITORING, "GetMetricData"),
        &out,
    );
    assert_eq!(resp.content_type, "application/x-amz-json-1.0");
    let resp = encode_output(
        Protocol::RestJson1,
        &ctx(&LAMBDA, "GetFunction"),
        &map(vec![(
            "Configuration",
            map(vec![
                ("FunctionName", s("f")),
                ("MemorySize", Value::Int(128)),
                ("Timeout", Value::Float(2.5)),
            ]),
        )]),
    );
    snap!("rest_json_get_function", render(&resp));
}

#[test]
fn cbor_output() {
    let out = map(vec![
        (
            "MetricDataResults",
            list(vec![map(vec![
                ("Id", s("m1")),
                (
                    "Timestamps",
                    list(vec![Value::Timestamp(
                        Utc.timestamp_millis_opt(1_440_938_160_500).unwrap(),
                    )]),
                ),
                ("Values", list(vec![Value::Float(1.5), Value::Int(2)])),
                ("StatusCode", s("Complete")),
            ])]),
        ),
        ("Token", Value::Blob(vec![1, 2, 3])),
        ("Done", Value::Bool(true)),
    ]);
    let resp = encode_output(
        Protocol::RpcV2Cbor,
        &ctx(&MONITORING, "GetMetricData"),
        &out,
    );
    assert_eq!(resp.status, 200);
    assert_eq!(resp.content_type, "application/cbor");
    assert_eq!(
        response_headers(&resp),
        [
            ("smithy-protocol", "rpc-v2-cbor".to_owned()),
            (
                "x-amzn-requestid",
                "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE".to_owned()
            )
        ]
    );
    let raw: ciborium::Value = ciborium::from_reader(resp.body.as_slice()).unwrap();
    snap_debug!("cbor_get_metric_data", raw);
    assert_eq!(cbor::decode(&resp.body).unwrap(), out);
}
