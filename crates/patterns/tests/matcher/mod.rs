//! Properties of the compiled [`Matcher`]: over random patterns using every operator and
//! random events (nested objects, arrays of scalars and of objects, strings that need
//! escaping), it reports exactly the patterns `Pattern::matches` accepts, whether the
//! event comes decoded or as text, and keeps doing so as patterns are removed and added
//! again. The vocabularies are small so that patterns share automaton states and fields
//! collide, which is where an indexed matcher could go wrong.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use sightline_patterns::{Matcher, Pattern, parse};

const NAMES: [&str; 3] = ["a", "b", "c"];

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(NAMES.to_vec()).prop_map(String::from)
}

const STRINGS: [&str; 12] = [
    "x", "y", "xy", "X", "", "10.0.0.1", "10.1.2.3", "::1", "a*b", "é", "x\"y", "Xy",
];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop::sample::select(STRINGS.to_vec()).prop_map(|s| json!(s)),
        2 => prop::sample::select(vec![0.0, 1.0, 2.5, 5.0, -3.0, 1e9]).prop_map(|n| json!(n)),
        1 => prop::sample::select(vec![0i64, 1, 5, -3]).prop_map(|n| json!(n)),
        1 => any::<bool>().prop_map(|b| json!(b)),
        1 => Just(Value::Null),
    ]
}

fn numeric() -> impl Strategy<Value = Value> {
    prop::sample::select(vec![
        json!([">", 0]),
        json!([">=", 1, "<", 5]),
        json!([">", 1, "<", 1]),
        json!([">=", 5, "<=", 5]),
        json!(["=", 5]),
        json!(["=", 2.5]),
        json!(["<=", -3]),
        json!([">", -3, "<=", 2.5]),
    ])
    .prop_map(|ops| json!({ "numeric": ops }))
}

fn string_op() -> impl Strategy<Value = Value> {
    prop::sample::select(vec![
        json!({"prefix": "x"}),
        json!({"prefix": ""}),
        json!({"prefix": "10."}),
        json!({"prefix": {"equals-ignore-case": "X"}}),
        json!({"suffix": "y"}),
        json!({"suffix": ""}),
        json!({"suffix": {"equals-ignore-case": "Y"}}),
        json!({"equals-ignore-case": "x"}),
        json!({"equals-ignore-case": "XY"}),
        json!({"equals-ignore-case": "É"}),
        json!({"wildcard": "x*"}),
        json!({"wildcard": "*y"}),
        json!({"wildcard": "*"}),
        json!({"wildcard": "x*y"}),
        json!({"wildcard": "a\\*b"}),
        json!({"wildcard": "*x*"}),
        json!({"cidr": "10.0.0.0/8"}),
        json!({"cidr": "10.0.0.1"}),
        json!({"cidr": "10.1.0.0/16"}),
        json!({"cidr": "::/0"}),
        json!({"cidr": "::1/128"}),
        json!({"cidr": "0.0.0.0/0"}),
    ])
}

fn anything_but() -> impl Strategy<Value = Value> {
    prop::sample::select(vec![
        json!("x"),
        json!(5),
        json!(["x", "y", 0]),
        json!({"prefix": "x"}),
        json!({"suffix": "y"}),
        json!({"equals-ignore-case": ["X", "y"]}),
        json!({"wildcard": "x*"}),
    ])
    .prop_map(|operand| json!({ "anything-but": operand }))
}

fn cond() -> impl Strategy<Value = Value> {
    prop_oneof![
        5 => scalar(),
        3 => string_op(),
        2 => numeric(),
        2 => anything_but(),
        2 => any::<bool>().prop_map(|b| json!({"exists": b})),
    ]
}

fn object(depth: u32) -> BoxedStrategy<Map<String, Value>> {
    let leaf = prop::collection::vec(cond(), 1..4).prop_map(Value::Array);
    let field: BoxedStrategy<Value> = if depth == 0 {
        leaf.boxed()
    } else {
        prop_oneof![3 => leaf, 1 => object(depth - 1).prop_map(Value::Object)].boxed()
    };
    let fields = prop::collection::btree_map(name(), field, 1..4);
    let ors = if depth == 0 {
        Just(None).boxed()
    } else {
        prop::option::weighted(0.2, prop::collection::vec(object(depth - 1), 2..4)).boxed()
    };
    (fields, ors)
        .prop_map(|(fields, ors)| {
            let mut map: Map<String, Value> = fields.into_iter().collect();
            if let Some(alts) = ors {
                map.insert(
                    "$or".into(),
                    Value::Array(alts.into_iter().map(Value::Object).collect()),
                );
            }
            map
        })
        .boxed()
}

/// A random valid pattern using every operator, nested objects and `$or` at any level;
/// a third of them put a nested object first, the shape the same-element rule is about.
fn pattern() -> impl Strategy<Value = Value> {
    prop_oneof![
        2 => object(2).prop_map(Value::Object),
        1 => (name(), object(1), object(0)).prop_map(|(n, inner, mut outer)| {
            outer.insert(n, Value::Object(inner));
            Value::Object(outer)
        }),
    ]
}

fn value(depth: u32) -> BoxedStrategy<Value> {
    let scalars = prop::collection::vec(scalar(), 0..4).prop_map(Value::Array);
    if depth == 0 {
        return prop_oneof![4 => scalar(), 1 => scalars].boxed();
    }
    prop_oneof![
        4 => scalar(),
        1 => scalars,
        2 => event_object(depth - 1),
        3 => prop::collection::vec(event_object(depth - 1), 0..4).prop_map(Value::Array),
        1 => prop::collection::vec(value(depth - 1), 0..3).prop_map(Value::Array),
    ]
    .boxed()
}

fn event_object(depth: u32) -> BoxedStrategy<Value> {
    prop::collection::btree_map(name(), value(depth), 0..4)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
        .boxed()
}

/// A random event: nested objects, arrays of scalars, of objects and of arrays.
fn event() -> impl Strategy<Value = Value> {
    event_object(3)
}

fn compile(patterns: &[Value]) -> Vec<Pattern> {
    patterns
        .iter()
        .map(|p| parse(&p.to_string()).expect("generated pattern is valid"))
        .collect()
}

/// Checks `matcher` against matching each live pattern on its own, for the event as a
/// value, as compact text and as pretty-printed text.
fn agree(
    matcher: &Matcher<usize>,
    patterns: &[(usize, Pattern)],
    event: &Value,
) -> Result<(), TestCaseError> {
    let mut want: Vec<usize> = patterns
        .iter()
        .filter(|(_, p)| p.matches(event))
        .map(|(k, _)| *k)
        .collect();
    want.sort_unstable();
    let mut got: Vec<usize> = matcher.matching(event).into_iter().copied().collect();
    got.sort_unstable();
    prop_assert_eq!(&got, &want, "matching on {}", event);
    for text in [
        event.to_string(),
        serde_json::to_string_pretty(event).unwrap_or_default(),
    ] {
        let from_text = matcher
            .matching_str(&text)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut from_text: Vec<usize> = from_text.into_iter().copied().collect();
        from_text.sort_unstable();
        prop_assert_eq!(&from_text, &want, "matching_str on {}", text);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Many random patterns in one matcher give exactly the patterns that match one by
    /// one, in insertion order.
    #[test]
    fn matcher_agrees_with_each_pattern(
        patterns in prop::collection::vec(pattern(), 1..40),
        events in prop::collection::vec(event(), 1..5),
    ) {
        let compiled = compile(&patterns);
        let mut matcher = Matcher::new();
        for (i, p) in compiled.iter().enumerate() {
            matcher.add(i, p.clone());
        }
        prop_assert_eq!(matcher.len(), compiled.len());
        for event in &events {
            let want: Vec<usize> = (0..compiled.len()).filter(|&i| compiled[i].matches(event)).collect();
            let got: Vec<usize> = matcher.matching(event).into_iter().copied().collect();
            prop_assert_eq!(&got, &want, "event {}", event);
            let keyed: Vec<(usize, Pattern)> = compiled.iter().cloned().enumerate().collect();
            agree(&matcher, &keyed, event)?;
        }
    }

    /// Removing keys (shared by several patterns) and adding patterns again keeps the
    /// matcher exact, and `remove` says whether the key was there.
    #[test]
    fn matcher_stays_exact_under_removal(
        patterns in prop::collection::vec((0usize..6, pattern()), 1..30),
        removed in prop::collection::vec(0usize..8, 1..5),
        readded in prop::collection::vec((0usize..6, pattern()), 0..10),
        events in prop::collection::vec(event(), 1..4),
    ) {
        let mut matcher = Matcher::new();
        let mut live: Vec<(usize, Pattern)> = Vec::new();
        for (key, p) in &patterns {
            let p = parse(&p.to_string()).expect("valid");
            matcher.add(*key, p.clone());
            live.push((*key, p));
        }
        for key in &removed {
            let had = live.iter().any(|(k, _)| k == key);
            prop_assert_eq!(matcher.remove(key), had);
            live.retain(|(k, _)| k != key);
            prop_assert_eq!(matcher.len(), live.len());
        }
        for event in &events {
            agree(&matcher, &live, event)?;
        }
        for (key, p) in &readded {
            let p = parse(&p.to_string()).expect("valid");
            matcher.add(*key, p.clone());
            live.push((*key, p));
        }
        for event in &events {
            agree(&matcher, &live, event)?;
        }
        let keys: Vec<usize> = live.iter().map(|(k, _)| *k).collect();
        for key in keys {
            matcher.remove(&key);
        }
        prop_assert!(matcher.is_empty());
        prop_assert_eq!(matcher.state_count(), 1, "every state freed");
    }
}

/// Hundreds of numeric conditions on one field, so the compiled matcher files them by
/// bound, agree with each pattern alone at and around every bound (and at -0).
#[test]
fn numeric_ranges_filed_by_bound_agree_with_each_pattern() {
    let bounds = [-5.0, -0.0, 0.0, 2.5, 5.0];
    let mut patterns = Vec::new();
    for op in [">", ">=", "<", "<=", "="] {
        for b in bounds {
            patterns.push(json!({"n": [{"numeric": [op, b]}]}));
        }
    }
    for lo_op in [">", ">="] {
        for hi_op in ["<", "<="] {
            for lo in bounds {
                for hi in bounds.iter().filter(|&&h| h >= lo) {
                    patterns.push(json!({"n": [{"numeric": [lo_op, lo, hi_op, hi]}]}));
                    // The same lower bound with another upper bound on one leaf.
                    patterns.push(json!({"n": [
                        {"numeric": [lo_op, lo, hi_op, hi]},
                        {"numeric": [lo_op, lo, hi_op, hi + 1.0]},
                    ]}));
                }
            }
        }
    }
    let compiled = compile(&patterns);
    let mut matcher = Matcher::new();
    for (i, p) in compiled.iter().enumerate() {
        matcher.add(i, p.clone());
    }
    for v in [-6.0, -5.0, -0.0, 0.0, 1.0, 2.5, 3.0, 5.0, 6.0, 7.0] {
        for event in [json!({"n": v}), json!({"n": [v, "x"]}), json!({"n": "5"})] {
            let want: Vec<usize> = (0..compiled.len())
                .filter(|&i| compiled[i].matches(&event))
                .collect();
            let got: Vec<usize> = matcher.matching(&event).into_iter().copied().collect();
            assert_eq!(got, want, "event {event}");
        }
    }
    for i in (0..compiled.len()).step_by(2) {
        assert!(matcher.remove(&i));
    }
    let event = json!({"n": 2.5});
    let want: Vec<usize> = (0..compiled.len())
        .filter(|&i| i % 2 == 1 && compiled[i].matches(&event))
        .collect();
    let got: Vec<usize> = matcher.matching(&event).into_iter().copied().collect();
    assert_eq!(got, want);
}

#[test]
fn text_with_a_repeated_key_matches_as_decoded() {
    let mut m = Matcher::new();
    m.add("first", parse(r#"{"a": ["1"]}"#).expect("valid"));
    m.add("last", parse(r#"{"a": ["2"]}"#).expect("valid"));
    let text = r#"{"a": "1", "b": {"a": 3}, "a": "2"}"#;
    let decoded: Value = serde_json::from_str(text).expect("json");
    assert_eq!(m.matching(&decoded), vec![&"last"]);
    assert_eq!(m.matching_str(text).expect("json"), vec![&"last"]);
}

/// Escapes in keys and values (`\u` with surrogate pairs, `\/`, `\n`) are decoded
/// before matching, so the text matches as the decoded event does.
#[test]
fn text_with_escapes_matches_as_decoded() {
    let patterns = [
        r#"{"a": ["1"]}"#,
        r#"{"a/b": ["x\ny"]}"#,
        r#"{"d": {"é": [{"prefix": "😀"}]}}"#,
        r#"{"d": {"k": [{"equals-ignore-case": "ÉTÉ"}]}}"#,
        r#"{"n": [{"numeric": [">", 1.5]}], "t": [true], "z": [null]}"#,
    ];
    let mut m = Matcher::new();
    for (i, p) in patterns.iter().enumerate() {
        m.add(i, parse(p).expect("valid"));
    }
    let text = r#"{"\u0061": "\u0031", "a\/b": "x\ny", "d": {"\u00e9": "\ud83d\ude00!", "k": "\u00e9t\u00e9"},
        "n": 2.5e0, "t": true, "z": null, "skip": {"q": "\" ]}", "r": [1, {"s": "\\"}]}}"#;
    let decoded: Value = serde_json::from_str(text).expect("json");
    let want: Vec<usize> = m.matching(&decoded).into_iter().copied().collect();
    assert_eq!(want, vec![0, 1, 2, 3, 4]);
    let got: Vec<usize> = m
        .matching_str(text)
        .expect("json")
        .into_iter()
        .copied()
        .collect();
    assert_eq!(got, want);
}

#[test]
fn text_that_is_not_json_is_refused() {
    let mut m = Matcher::new();
    m.add((), parse(r#"{"a": ["1"]}"#).expect("valid"));
    for bad in [
        "",
        "{",
        r#"{"a": "1""#,
        r#"{"a" "1"}"#,
        r#"{"a": tru}"#,
        r#"{"a": "1"} x"#,
        r#"{"a": "\q"}"#,
        r#"{"z": [1, 2}"#,
        r#"{"a": "\ud800"}"#,
    ] {
        assert!(m.matching_str(bad).is_err(), "accepted {bad:?}");
    }
    assert_eq!(m.matching_str(r#" {"a" : "1" } "#).expect("json").len(), 1);
    assert_eq!(m.matching_str(r#"{"a": "\u0031"}"#).expect("json").len(), 1);
    assert!(m.matching_str("[1, 2]").expect("json").is_empty());
}

#[test]
fn removing_an_unknown_key_changes_nothing() {
    let mut m = Matcher::new();
    m.add(
        "a".to_string(),
        parse(r#"{"source": ["x"]}"#).expect("valid"),
    );
    assert!(!m.remove(&"b".to_string()));
    assert_eq!(m.len(), 1);
    assert!(m.remove(&"a".to_string()));
    assert!(m.is_empty());
    assert!(m.matching(&json!({"source": "x"})).is_empty());
}
