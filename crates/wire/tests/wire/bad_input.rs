//! Input that must be refused, with the message (and member path) a client would see.

use serde::Deserialize;
use sightline_wire::codec::{cbor, json, query, xml};
use sightline_wire::{Blob, DeError, Timestamp, Value, from_value};

#[test]
fn malformed_json() {
    assert_eq!(
        json::decode(b"{"),
        Err("Invalid JSON: EOF while parsing an object at line 1 column 1".into())
    );
    assert_eq!(
        json::decode(br#"{"a":}"#),
        Err("Invalid JSON: expected value at line 1 column 6".into())
    );
    assert_eq!(
        json::decode(br#"{"a":1} trailing"#),
        Err("Invalid JSON: trailing characters at line 1 column 9".into())
    );
    assert_eq!(
        json::decode(b"{'a':1}"),
        Err("Invalid JSON: key must be a string at line 1 column 2".into())
    );
}

#[test]
fn json_must_be_an_object() {
    for body in [&b"[1,2]"[..], b"\"text\"", b"42", b"null", b"true"] {
        assert_eq!(
            json::decode(body),
            Err("Request body must be a JSON object".into()),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn json_deeply_nested_is_refused() {
    let body = format!("{{\"a\":{}1{}}}", "[".repeat(100_000), "]".repeat(100_000));
    let err = json::decode(body.as_bytes()).unwrap_err();
    assert!(
        err.starts_with("Invalid JSON: recursion limit exceeded"),
        "{err}"
    );
}

#[test]
fn json_numbers_out_of_range_are_refused() {
    let err = json::decode(br#"{"a":1e400}"#).unwrap_err();
    assert!(
        err.starts_with("Invalid JSON: number out of range"),
        "{err}"
    );
}

#[test]
fn non_utf8_bodies() {
    assert_eq!(
        json::decode(b"{\"a\":\"\xff\"}"),
        Err("Request body is not valid UTF-8".into())
    );
    assert_eq!(
        query::decode(b"Action=ListUsers&UserName=\xc3\x28", false),
        Err("Request body is not valid UTF-8".into())
    );
    assert_eq!(
        xml::parse(b"<a>\xff</a>"),
        Err("The XML you provided was not well-formed".into())
    );
}

#[test]
fn malformed_cbor() {
    // A truncated map, a reserved initial byte, and a lone break.
    for body in [&[0xa1, 0x61][..], &[0x1c], &[0xff]] {
        let err = cbor::decode(body).unwrap_err();
        assert!(err.starts_with("Invalid CBOR: "), "{body:?}: {err}");
    }
    // Well-formed but not a map.
    assert_eq!(
        cbor::decode(&[0x83, 0x01, 0x02, 0x03]),
        Err("Request body must be a CBOR map".into())
    );
    // {1: 2}
    assert_eq!(
        cbor::decode(&[0xa1, 0x01, 0x02]),
        Err("CBOR map keys must be text".into())
    );
    // {"a": 18446744073709551615}
    assert_eq!(
        cbor::decode(&[
            0xa1, 0x61, b'a', 0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
        ]),
        Err("integer out of range".into())
    );
    // {"a": 1("x")}
    assert_eq!(
        cbor::decode(&[0xa1, 0x61, b'a', 0xc1, 0x61, b'x']),
        Err("timestamp tag must hold a number".into())
    );
    // An empty body is an empty input.
    assert_eq!(cbor::decode(&[]), Ok(Value::map()));
    // {"a": null} — null members are absent members.
    assert_eq!(cbor::decode(&[0xa1, 0x61, b'a', 0xf6]), Ok(Value::map()));
}

#[test]
fn cbor_deeply_nested_is_refused() {
    // {"a": [[[[ … ]]]]} nested far beyond any shape.
    let mut body = vec![0xa1, 0x61, b'a'];
    body.extend(std::iter::repeat_n(0x81, 100_000));
    body.push(0x01);
    assert!(cbor::decode(&body).is_err());
    // The same with nested tags.
    let mut body = vec![0xa1, 0x61, b'a'];
    body.extend(std::iter::repeat_n(0xc6, 100_000));
    body.push(0x01);
    assert!(cbor::decode(&body).is_err());
}

#[test]
fn malformed_xml() {
    let bad = |body: &[u8]| xml::parse(body).unwrap_err();
    assert!(bad(b"<a><b></a>").starts_with("The XML you provided was not well-formed"));
    assert!(bad(b"<a>").starts_with("The XML you provided was not well-formed"));
    assert!(bad(b"").starts_with("The XML you provided was not well-formed"));
    assert!(bad(b"<a>&bogus;</a>").starts_with("The XML you provided was not well-formed"));
}

#[test]
fn malformed_form_names() {
    for name in ["a..b", ".a", "a.", ".", "Tags.member..Key"] {
        let form = format!("Action=X&{name}=1");
        assert_eq!(
            query::decode(form.as_bytes(), false),
            Err(format!("Invalid parameter name '{name}'")),
            "{name}"
        );
    }
    assert_eq!(
        query::decode(b"Action=X&=1", false),
        Err("Invalid parameter name ''".into())
    );
}

#[test]
fn duplicate_form_params() {
    assert_eq!(
        query::decode(b"Action=X&UserName=a&UserName=b", false),
        Err("Duplicate parameter 'UserName'".into())
    );
    assert_eq!(
        query::decode(b"Action=X&Tags.member.1.Key=a&Tags.member.1.Key=b", false),
        Err("Duplicate parameter 'Tags.member.1.Key'".into())
    );
    assert_eq!(
        query::decode(b"Action=X&Filter.1.Name=a&Filter.1.Name=b", true),
        Err("Duplicate parameter 'Filter.1.Name'".into())
    );
    // A name used both as a scalar and as a structure.
    assert_eq!(
        query::decode(b"Action=X&Tags=&Tags.member.1.Key=a", false),
        Err("Parameter 'Tags.member.1.Key' conflicts with a scalar value".into())
    );
    assert_eq!(
        query::decode(b"Action=X&Tags.member.1.Key=a&Tags=", false),
        Err("Duplicate parameter 'Tags'".into())
    );
}

#[test]
fn deeply_nested_form_names_are_refused() {
    // One parameter name with 200 000 segments: refused, not a stack overflow.
    let name = vec!["a"; 200_000].join(".");
    let form = format!("Action=X&{name}=1");
    let err = query::decode(form.as_bytes(), false).unwrap_err();
    assert_eq!(err, "Parameter name nests more than 32 levels deep");
    // 32 levels are fine.
    let name = vec!["a"; 32].join(".");
    assert!(query::decode(format!("Action=X&{name}=1").as_bytes(), false).is_ok());
}

#[test]
fn deeply_nested_xml_is_refused() {
    let body = format!("{}{}", "<a>".repeat(200_000), "</a>".repeat(200_000));
    let err = xml::parse(body.as_bytes()).unwrap_err();
    assert_eq!(
        err,
        "The XML you provided was not well-formed: elements nest more than 64 levels deep"
    );
    let body = format!("{}x{}", "<a>".repeat(64), "</a>".repeat(64));
    assert!(xml::parse(body.as_bytes()).is_ok());
}

// ---------------------------------------------------------------------------------------
// Shapes: missing and invalid members carry their path.

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
struct Tag {
    key: String,
    value: Option<String>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
struct Owner {
    id: String,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
struct Input {
    user_name: String,
    #[serde(default)]
    tags: Vec<Tag>,
    max_items: Option<i32>,
    enabled: Option<bool>,
    ratio: Option<f64>,
    small: Option<u8>,
    when: Option<Timestamp>,
    data: Option<Blob>,
    owner: Option<Owner>,
    kind: Option<Kind>,
}

#[derive(Debug, Deserialize, PartialEq)]
enum Kind {
    Standard,
    Fifo,
}

fn from_query(form: &str) -> Result<Input, DeError> {
    from_value(query::decode(form.as_bytes(), false).unwrap().1)
}

fn from_json(body: &str) -> Result<Input, DeError> {
    from_value(json::decode(body.as_bytes()).unwrap())
}

fn invalid(path: &str, message: &str) -> DeError {
    DeError::Invalid {
        path: path.into(),
        message: message.into(),
    }
}

#[test]
fn missing_required_members() {
    assert_eq!(
        from_query("Action=X"),
        Err(DeError::Missing("UserName".into()))
    );
    assert_eq!(
        from_query("Action=X&UserName=a&Tags.member.1.Key=k&Tags.member.2.Value=v"),
        Err(DeError::Missing("Tags.2.Key".into()))
    );
    let e = from_query("Action=X&UserName=a&Tags.member.1.Value=v").unwrap_err();
    assert_eq!(e, DeError::Missing("Tags.1.Key".into()));
    assert_eq!(e.path(), "Tags.1.Key");
    assert_eq!(e.to_string(), "missing required member 'Tags.1.Key'");
    assert_eq!(
        from_json(r#"{"UserName":"a","Owner":{}}"#),
        Err(DeError::Missing("Owner.Id".into()))
    );
    // An explicit null for a required member is refused as the wrong type.
    assert_eq!(
        from_json(r#"{"UserName":null}"#),
        Err(invalid(
            "UserName",
            "invalid type: unit value, expected a string"
        ))
    );
}

#[test]
fn wrong_types() {
    assert_eq!(
        from_query("Action=X&UserName=a&MaxItems=ten"),
        Err(invalid(
            "MaxItems",
            "invalid type: string \"ten\", expected i32"
        ))
    );
    assert_eq!(
        from_query("Action=X&UserName=a&Enabled=yes"),
        Err(invalid(
            "Enabled",
            "invalid type: string \"yes\", expected a boolean"
        ))
    );
    assert_eq!(
        from_query("Action=X&UserName=a&Ratio=x"),
        Err(invalid("Ratio", "invalid type: string \"x\", expected f64"))
    );
    assert_eq!(
        from_json(r#"{"UserName":"a","Small":300}"#),
        Err(invalid("Small", "invalid type: integer `300`, expected u8"))
    );
    assert_eq!(
        from_json(r#"{"UserName":"a","Small":-1}"#),
        Err(invalid("Small", "invalid type: integer `-1`, expected u8"))
    );
    assert_eq!(
        from_json(r#"{"UserName":"a","MaxItems":1.5}"#),
        Err(invalid(
            "MaxItems",
            "invalid type: floating point `1.5`, expected i32"
        ))
    );
    assert_eq!(
        from_json(r#"{"UserName":7}"#),
        Err(invalid(
            "UserName",
            "invalid type: integer `7`, expected a string"
        ))
    );
    assert_eq!(
        from_json(r#"{"UserName":"a","Tags":{}}"#),
        Err(invalid("Tags", "invalid type: map, expected a sequence"))
    );
    assert_eq!(
        from_json(r#"{"UserName":"a","Tags":[{"Key":"k"},{"Key":["x"]}]}"#),
        Err(invalid(
            "Tags.2.Key",
            "invalid type: sequence, expected a string"
        ))
    );
    assert_eq!(
        from_json(r#"{"UserName":"a","When":"yesterday"}"#),
        Err(invalid("When", "invalid timestamp 'yesterday'"))
    );
    assert_eq!(
        from_json(r#"{"UserName":"a","When":1e300}"#),
        Err(invalid("When", "timestamp out of range"))
    );
    assert_eq!(
        from_json(r#"{"UserName":"a","Data":"not base64!"}"#),
        Err(invalid("Data", "invalid base64"))
    );
    assert_eq!(
        from_json(r#"{"UserName":"a","Kind":"Lifo"}"#),
        Err(invalid(
            "Kind",
            "unknown variant `Lifo`, expected `Standard` or `Fifo`"
        ))
    );
    assert_eq!(
        from_json(r#"{"UserName":"a","Owner":"x"}"#),
        Err(invalid(
            "Owner",
            "invalid type: string \"x\", expected struct Owner"
        ))
    );
    let e = from_query("Action=X&UserName=a&MaxItems=ten").unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid value for 'MaxItems': invalid type: string \"ten\", expected i32"
    );
}

#[test]
fn good_input_still_decodes() {
    let v = from_json(
        r#"{"UserName":"a","Kind":"Fifo","Small":255,"Unknown":{"x":[1]},"Tags":[{"Key":"k","Value":null}]}"#,
    );
    assert_eq!(
        v,
        Ok(Input {
            user_name: "a".into(),
            tags: vec![Tag {
                key: "k".into(),
                value: None
            }],
            max_items: None,
            enabled: None,
            ratio: None,
            small: Some(255),
            when: None,
            data: None,
            owner: None,
            kind: Some(Kind::Fifo),
        })
    );
    // Query input with every member present.
    let v = from_query(
        "Action=X&UserName=a&MaxItems=5&Enabled=true&Ratio=0.5&Small=8&When=1440938160&Data=AAE%3D&Owner.Id=o&Kind=Standard",
    )
    .unwrap();
    assert_eq!(v.data, Some(Blob(vec![0, 1])));
    assert_eq!(v.owner, Some(Owner { id: "o".into() }));
    assert_eq!(v.when.map(|t| t.0.timestamp()), Some(1_440_938_160));
}
