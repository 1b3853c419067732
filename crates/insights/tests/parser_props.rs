//! The parser must turn any text into a query or a located error, never a panic, and
//! every error must point inside the text.

use proptest::prelude::*;

fn check(text: &str) {
    if let Err(err) = sightline_insights::parse(text) {
        let chars = text.chars().count();
        assert!(err.start <= err.end, "{err:?} for {text:?}");
        assert!(err.end <= chars, "{err:?} beyond {chars} chars of {text:?}");
    }
}

/// Fragments of the language, so generated text reaches deep into the grammar rather
/// than failing on the first character.
fn fragment() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "fields",
        "filter",
        "stats",
        "sort",
        "limit",
        "parse",
        "dedup",
        "display",
        "unmask",
        "by",
        "as",
        "and",
        "or",
        "not",
        "in",
        "like",
        "asc",
        "desc",
        "count(*)",
        "avg(",
        "pct(",
        "bin(5m)",
        "bin(",
        "5m",
        "1mo",
        "@message",
        "@timestamp",
        "a.b.0",
        "`x y`",
        "\"s\"",
        "'q'",
        "/re/",
        "/(?<n>x)/",
        "(",
        ")",
        "[",
        "]",
        ",",
        "|",
        "\n",
        "#c\n",
        "=",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "=~",
        "+",
        "-",
        "*",
        "/",
        "%",
        "^",
        "1",
        "2.5",
        "1e3",
        "x",
        "é",
        "\"",
        "`",
        "\\",
    ])
    .prop_map(str::to_string)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        check(&text);
    }

    #[test]
    fn language_like_text_never_panics(parts in prop::collection::vec(fragment(), 0..24)) {
        check(&parts.join(" "));
        check(&parts.concat());
    }
}
