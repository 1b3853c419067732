//! Property tests: codec round trips over arbitrary value trees, a query decoder that
//! never panics, and SigV4 sign → verify over arbitrary requests.

use crate::common::Req;
use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use serde::Deserialize;
use sightline_wire::codec::{cbor, json, query};
use sightline_wire::sigv4::{self, Credential};
use sightline_wire::{CommonError, Value, ValueMap, from_value};

/// Doubles that JSON carries as doubles: finite, and not integral below 1e15 (those are
/// written as integers, and come back as `Value::Int`).
fn json_float() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("JSON doubles", |f| {
        f.is_finite() && !(f.fract() == 0.0 && f.abs() < 1e15)
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![3 => "[A-Za-z][A-Za-z0-9]{0,12}", 1 => any::<String>()]
}

fn to_map(entries: Vec<(String, Value)>) -> Value {
    Value::Map(entries.into_iter().collect::<ValueMap>())
}

/// Value trees without timestamps and blobs (JSON has neither) and without null members.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        json_float().prop_map(Value::Float),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(
                prop_oneof![5 => inner.clone(), 1 => Just(Value::Null)],
                0..6
            )
            .prop_map(Value::List),
            prop::collection::vec((key(), inner), 0..6).prop_map(to_map),
        ]
    })
}

/// JSON text with every non-ASCII character of its strings as `\u` escapes, as
/// Python writes it.
fn ascii_escaped(body: &[u8]) -> String {
    let text = std::str::from_utf8(body).unwrap();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

/// Timestamps at millisecond precision, from 1425 to 2514.
fn timestamp() -> impl Strategy<Value = Value> {
    (-(1i64 << 44)..(1i64 << 44))
        .prop_map(|ms| Value::Timestamp(Utc.timestamp_millis_opt(ms).unwrap()))
}

/// Every Value kind CBOR carries; only NaN (not equal to itself) and null members are left out.
fn cbor_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        any::<f64>()
            .prop_filter("NaN", |f| !f.is_nan())
            .prop_map(Value::Float),
        any::<String>().prop_map(Value::String),
        prop::collection::vec(any::<u8>(), 0..32).prop_map(Value::Blob),
        timestamp(),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(
                prop_oneof![5 => inner.clone(), 1 => Just(Value::Null)],
                0..6
            )
            .prop_map(Value::List),
            prop::collection::vec((key(), inner), 0..6).prop_map(to_map),
        ]
    })
}

/// Form strings made of the pieces that matter to the decoder, plus arbitrary text.
fn form() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("member".to_owned()),
        Just("entry".to_owned()),
        Just("key".to_owned()),
        Just("value".to_owned()),
        Just("Name".to_owned()),
        Just("Action".to_owned()),
        "[0-9]{1,3}",
        "[A-Za-z]{1,4}",
        Just(String::new()),
    ];
    let name = prop::collection::vec(piece, 1..6).prop_map(|p| p.join("."));
    let param = (name, prop::option::of("[ -~]{0,6}")).prop_map(|(n, v)| match v {
        Some(v) => format!("{n}={v}"),
        None => n,
    });
    prop_oneof![
        3 => prop::collection::vec(param, 0..12).prop_map(|p| p.join("&")),
        1 => any::<String>(),
        1 => "[.=&%+a-c0-2]{0,40}",
    ]
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code)]
struct AnyInput {
    member: Option<Vec<AnyInput>>,
    entry: Option<std::collections::BTreeMap<String, String>>,
    name: Option<String>,
    key: Option<i32>,
    value: Option<bool>,
}

fn cred() -> Credential {
    Credential {
        access_key_id: "AKIAPROPTEST".into(),
        date: "20240517".into(),
        region: "eu-west-1".into(),
        service: "sqs".into(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn json_round_trip(entries in prop::collection::vec((key(), json_value()), 0..8)) {
        let v = to_map(entries);
        let body = json::encode(&v);
        prop_assert_eq!(json::decode(&body).unwrap(), v);
    }

    /// botocore writes JSON with Python's `json.dumps`: every non-ASCII character as a
    /// `\uXXXX` escape (surrogate pairs beyond the BMP). The decoder must read that
    /// form as exactly the same value.
    #[test]
    fn json_round_trip_ascii_escaped(entries in prop::collection::vec((key(), json_value()), 0..8)) {
        let v = to_map(entries);
        let body = ascii_escaped(&json::encode(&v));
        prop_assert_eq!(json::decode(body.as_bytes()).unwrap(), v);
    }

    #[test]
    fn cbor_round_trip(entries in prop::collection::vec((key(), cbor_value()), 0..8)) {
        let v = to_map(entries);
        let body = cbor::encode(&v);
        prop_assert_eq!(cbor::decode(&body).unwrap(), v);
    }

    #[test]
    fn query_decoder_never_panics(form in form(), ec2 in any::<bool>()) {
        if let Ok((_, v)) = query::decode(form.as_bytes(), ec2) {
            prop_assert!(matches!(v, Value::Map(_)));
            // Decoding into a shape may fail, but must not panic either.
            let _ = from_value::<AnyInput>(v);
        }
    }

    #[test]
    fn query_decoder_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..64), ec2 in any::<bool>()) {
        let _ = query::decode(&bytes, ec2);
    }

    #[test]
    fn sign_then_verify(
        path in "/[ -~]{0,40}",
        query in "[ -~]{0,60}",
        body in prop::collection::vec(any::<u8>(), 0..128),
        target in "[A-Za-z0-9_.]{1,30}",
        skew in -900i64..=900,
    ) {
        let now = Utc.with_ymd_and_hms(2024, 5, 17, 9, 30, 0).unwrap();
        let mut req = Req::new(
            "POST",
            &path,
            &query,
            &[("host", "sqs.eu-west-1.amazonaws.com"), ("x-amz-target", &target), ("content-type", "application/x-amz-json-1.0")],
            &body,
        );
        sigv4::sign(&req.method, &req.path, &req.query, &mut req.headers, &req.body, &cred(), "s3cr3t", now);
        let auth = sigv4::parse(&req.wire()).unwrap().unwrap();
        let key = sigv4::signing_key("s3cr3t", &cred());
        prop_assert_eq!(sigv4::verify(&req.wire(), &auth, &key, false), Ok(()));
        prop_assert_eq!(sigv4::check_time(&auth, now + chrono::Duration::seconds(skew)), Ok(()));

        let wrong = sigv4::signing_key("s3cr3u", &cred());
        prop_assert!(matches!(sigv4::verify(&req.wire(), &auth, &wrong, false), Err(CommonError::SignatureDoesNotMatch(_))));
        if !req.body.is_empty() {
            req.body[0] ^= 0x80;
            prop_assert!(matches!(sigv4::verify(&req.wire(), &auth, &key, false), Err(CommonError::SignatureDoesNotMatch(_))));
        }
    }
}
