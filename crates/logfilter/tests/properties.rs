//! Property tests: the parser and matchers never panic on arbitrary input, generated
//! patterns match the messages built to satisfy them, and term patterns agree with a
//! deliberately naive reference matcher.

use proptest::prelude::*;
use sightline_logfilter::FilterPattern;

/// Pattern-ish text: heavy on the characters the three grammars give meaning to.
fn syntax_soup() -> impl Strategy<Value = String> {
    prop::string::string_regex(r#"[{}\[\]$.=!<>&|()"%*?,\\' a-z0-9_\-é\t]{0,48}"#)
        .expect("valid generator regex")
}

fn exercise(pattern: &str, messages: &[String]) {
    if let Ok(p) = FilterPattern::parse(pattern) {
        for m in messages {
            let matched = p.matches(m);
            assert_eq!(
                matched,
                p.evaluate(m).is_some(),
                "matches/evaluate disagree on {m:?}"
            );
            if matched {
                for needle in p.required_substrings() {
                    assert!(
                        m.contains(&needle),
                        "{pattern:?} matched {m:?} without {needle:?}"
                    );
                }
            }
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(pattern in any::<String>(), message in any::<String>()) {
        exercise(&pattern, &[message]);
    }

    #[test]
    fn syntax_soup_never_panics(
        pattern in syntax_soup(),
        messages in prop::collection::vec(syntax_soup(), 0..4),
    ) {
        exercise(&pattern, &messages);
        exercise(&format!("{{ {pattern} }}"), &messages);
        exercise(&format!("[{pattern}]"), &messages);
    }

    #[test]
    fn json_ish_messages_never_panic(
        pattern in syntax_soup(),
        message in r#"\{("[a-z]{1,3}": ?(-?[0-9]{1,3}(\.[0-9])?|"[a-z\\" ]{0,4}"|true|null|\[[0-9, ]{0,6}\]|\{\}),? ?){0,4}\}?"#,
    ) {
        exercise(&format!("{{ $.{pattern} }}"), std::slice::from_ref(&message));
        exercise("{ $.a = * || $.b[*] > 1 || $.* IS NULL }", &[message]);
    }

    #[test]
    fn generated_terms_match_messages_that_contain_them(
        words in prop::collection::vec("[A-Za-z0-9_]{1,8}", 0..4),
        phrases in prop::collection::vec("[a-zA-Z0-9 :.,;!@#()\\[\\]{}-]{1,12}", 0..3),
        filler in "[a-z ]{0,6}",
    ) {
        let phrases: Vec<String> = phrases.into_iter().filter(|p| !p.trim().is_empty()).collect();
        let mut pattern: Vec<String> = words.clone();
        pattern.extend(phrases.iter().map(|p| format!("\"{p}\"")));
        let mut message = filler.clone();
        for piece in words.iter().rev().chain(phrases.iter()) {
            message.push_str(piece);
            message.push_str(&filler);
        }
        let pattern = pattern.join(" ");
        let parsed = FilterPattern::parse(&pattern);
        prop_assert!(parsed.is_ok(), "{pattern:?} refused: {parsed:?}");
        if let Ok(p) = parsed {
            prop_assert!(p.matches(&message), "{pattern:?} does not match {message:?}");
        }
    }

    #[test]
    fn term_patterns_agree_with_reference(
        terms in prop::collection::vec((prop::sample::select(vec!["", "?", "-"]), "[ab]{1,2}"), 0..5),
        messages in prop::collection::vec("[ab ]{0,10}", 1..6),
    ) {
        let pattern = terms
            .iter()
            .map(|(prefix, word)| format!("{prefix}{word}"))
            .collect::<Vec<_>>()
            .join(" ");
        let p = FilterPattern::parse(&pattern).map_err(|e| TestCaseError::fail(e.to_string()))?;
        for message in &messages {
            let required: Vec<&str> = terms.iter().filter(|(p, _)| p.is_empty()).map(|(_, w)| w.as_str()).collect();
            let excluded: Vec<&str> = terms.iter().filter(|(p, _)| *p == "-").map(|(_, w)| w.as_str()).collect();
            let optional: Vec<&str> = terms.iter().filter(|(p, _)| *p == "?").map(|(_, w)| w.as_str()).collect();
            let expected = if !required.is_empty() || !excluded.is_empty() {
                required.iter().all(|w| message.contains(w)) && !excluded.iter().any(|w| message.contains(w))
            } else if !optional.is_empty() {
                optional.iter().any(|w| message.contains(w))
            } else {
                true
            };
            prop_assert_eq!(p.matches(message), expected, "{:?} on {:?}", pattern, message);
        }
    }

    #[test]
    fn json_equality_on_generated_objects(
        entries in prop::collection::btree_map("[a-z][a-z0-9_-]{0,5}", "[a-zA-Z0-9 .]{0,8}", 1..6),
        pick in any::<prop::sample::Index>(),
    ) {
        let object: serde_json::Map<String, serde_json::Value> =
            entries.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect();
        let message = serde_json::Value::Object(object).to_string();
        let (key, value) = pick.get(&entries.iter().collect::<Vec<_>>()).to_owned();
        let eq = FilterPattern::parse(&format!("{{ $.{key} = \"{value}\" }}")).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let ne = FilterPattern::parse(&format!("{{ $.{key} != \"{value}\" }}")).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(eq.matches(&message), "{} on {}", eq.text(), message);
        prop_assert!(!ne.matches(&message), "{} on {}", ne.text(), message);
        let captured = eq.evaluate(&message).and_then(|c| c.get(&format!("$.{key}")));
        prop_assert_eq!(captured, Some(sightline_logfilter::FieldValue::String(value.clone())));
    }

    #[test]
    fn delimited_fields_bind_in_order(
        fields in prop::collection::vec("[a-z0-9.]{1,6}", 1..8),
        pick in any::<prop::sample::Index>(),
    ) {
        let message = fields.join(" ");
        let i = pick.index(fields.len());
        let slots: Vec<String> = (0..fields.len())
            .map(|k| if k == i { format!("f{k} = \"{}\"", fields[k]) } else { format!("f{k}") })
            .collect();
        let exact = FilterPattern::parse(&format!("[{}]", slots.join(", "))).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let captures = exact.evaluate(&message);
        prop_assert!(captures.is_some(), "{} on {}", exact.text(), message);
        if let Some(c) = captures {
            prop_assert_eq!(c.get(&format!("$f{i}")), Some(sightline_logfilter::FieldValue::String(fields[i].clone())));
        }
        let tail = FilterPattern::parse(&format!("[..., {}]", slots[i..].join(", "))).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(tail.matches(&message));
        let longer = FilterPattern::parse(&format!("[{}, extra]", slots.join(", "))).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(!longer.matches(&message));
    }
}
