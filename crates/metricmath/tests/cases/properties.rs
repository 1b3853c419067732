//! Property tests: no parser panics on arbitrary input, printed expressions and rules
//! parse back to the same tree, evaluation never panics, and partial matching agrees
//! with the tokens a name is made of.

use proptest::prelude::*;
use sightline_metricmath::rule::{self, AlarmState, Rule, Threshold};
use sightline_metricmath::search::parse_query;
use sightline_metricmath::{BinaryOp, Context, Expr, Search, Series, evaluate, parse};

/// Text heavy on the characters the three grammars give meaning to.
fn syntax_soup() -> impl Strategy<Value = String> {
    prop::string::string_regex(
        r#"[a-zA-Z0-9_ (){}\[\],.'"=!<>&|^*/+\-%\\:]{0,60}|(SUM|IF|FILL|SEARCH|ALARM|AT_LEAST|NOT|AND|OR|m1|REPEAT|\(|\)|,|'|"| )*"#,
    )
    .expect("valid generator regex")
}

fn op() -> impl Strategy<Value = BinaryOp> {
    prop::sample::select(vec![
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Pow,
        BinaryOp::Eq,
        BinaryOp::Ne,
        BinaryOp::Le,
        BinaryOp::Ge,
        BinaryOp::Lt,
        BinaryOp::Gt,
        BinaryOp::And,
        BinaryOp::Or,
    ])
}

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        (0.0..1e9f64).prop_map(Expr::Number),
        (0u32..1000).prop_map(|n| Expr::Number(f64::from(n))),
        prop::sample::select(vec!["m1", "m2", "e1", "and", "x_9", "unknown"])
            .prop_map(|s| Expr::Id(s.to_string())),
        prop::sample::select(vec!["REPEAT", "LINEAR", "ASC", "DESC", "SUM", "AVG"])
            .prop_map(|s| Expr::Keyword(s.to_string())),
        "[a-z0-9 ]{0,6}".prop_map(Expr::Str),
        Just(Expr::Call {
            name: "METRICS".into(),
            args: vec![]
        }),
    ]
}

fn expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(4, 48, 4, |inner| {
        prop_oneof![
            (op(), inner.clone(), inner.clone()).prop_map(|(op, l, r)| Expr::Binary {
                op,
                left: Box::new(l),
                right: Box::new(r)
            }),
            inner.clone().prop_map(|e| Expr::Neg(Box::new(e))),
            inner.clone().prop_map(|e| Expr::Not(Box::new(e))),
            prop::collection::vec(inner.clone(), 0..3).prop_map(Expr::Array),
            (
                prop::sample::select(vec![
                    "ABS",
                    "AVG",
                    "SUM",
                    "MIN",
                    "MAX",
                    "STDDEV",
                    "RATE",
                    "DIFF",
                    "DIFF_TIME",
                    "RUNNING_SUM",
                    "FIRST",
                    "LAST",
                    "CEIL",
                    "FLOOR",
                    "LOG",
                    "LOG10",
                    "SQRT",
                    "DATAPOINT_COUNT",
                    "METRIC_COUNT",
                    "REMOVE_EMPTY",
                    "TIME_SERIES",
                    "HOUR",
                    "METRICS",
                    "PERIOD",
                ]),
                inner.clone()
            )
                .prop_map(|(name, arg)| Expr::Call {
                    name: name.to_string(),
                    args: vec![arg]
                }),
            (
                prop::sample::select(vec!["FILL", "IF", "SLICE"]),
                inner.clone(),
                inner.clone()
            )
                .prop_map(|(name, a, b)| Expr::Call {
                    name: name.to_string(),
                    args: vec![a, b]
                }),
            (inner.clone(), inner.clone(), inner.clone()).prop_map(|(a, b, c)| Expr::Call {
                name: "IF".into(),
                args: vec![a, b, c]
            }),
            (inner.clone(), inner.clone(), inner).prop_map(|(a, b, c)| Expr::Call {
                name: "SORT".into(),
                args: vec![a, b, c]
            }),
        ]
    })
}

/// A fixed request for evaluating generated expressions.
struct Fixed;

impl Context for Fixed {
    fn series(&self, id: &str) -> Option<Vec<Series>> {
        match id {
            "m1" => Some(vec![Series::new(
                "m1",
                vec![0, 60, 180],
                vec![1.0, -2.0, 0.0],
            )]),
            "m2" => Some(vec![Series::new("m2", vec![60, 120], vec![0.0, 1e300])]),
            "e1" => Some(vec![
                Series::new("a", vec![0], vec![5.0]),
                Series::new("b", vec![], vec![]),
            ]),
            "and" => Some(vec![]),
            _ => None,
        }
    }

    fn all_metrics(&self) -> Vec<(String, Series)> {
        ["m1", "m2"]
            .iter()
            .filter_map(|id| Some((id.to_string(), self.series(id)?.pop()?)))
            .collect()
    }

    fn period(&self, id: &str) -> Option<i64> {
        id.starts_with('m').then_some(60)
    }

    fn grid(&self) -> Vec<i64> {
        (0..300).step_by(60).collect()
    }

    fn search(&self, _: &Search) -> sightline_metricmath::Result<Vec<Series>> {
        Ok(vec![Series::new("s", vec![0], vec![1.0])])
    }
}

fn alarm_name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9 _:/.()-]{1,12}"
}

fn state() -> impl Strategy<Value = AlarmState> {
    prop::sample::select(vec![
        AlarmState::Ok,
        AlarmState::Alarm,
        AlarmState::InsufficientData,
    ])
}

fn at_least() -> impl Strategy<Value = Rule> {
    (
        prop::collection::vec(alarm_name(), 1..5),
        state(),
        any::<bool>(),
        any::<bool>(),
        1u32..=100,
    )
        .prop_map(|(alarms, state, negated, percent, n)| {
            let threshold = if percent {
                Threshold::Percent(n)
            } else {
                Threshold::Count(1 + n % alarms.len() as u32)
            };
            Rule::AtLeast {
                threshold,
                negated,
                state,
                alarms,
            }
        })
}

fn rule_tree() -> impl Strategy<Value = Rule> {
    let leaf = prop_oneof![
        Just(Rule::True),
        Just(Rule::False),
        (state(), alarm_name()).prop_map(|(state, alarm)| Rule::State { state, alarm }),
        at_least(),
    ];
    leaf.prop_recursive(5, 40, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|r| Rule::Not(Box::new(r))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Rule::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| Rule::Or(Box::new(a), Box::new(b))),
        ]
    })
}

fn name_soup() -> impl Strategy<Value = String> {
    prop::string::string_regex(r"[A-Za-z0-9/_.:\- ]{0,24}").expect("valid generator regex")
}

proptest! {
    // Failures are reported with their minimal input; this module is not at the root of
    // the test crate, where proptest would look to store them.
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let _ = parse(&text);
        let _ = parse_query(&text);
        let _ = rule::parse(&text);
    }

    #[test]
    fn syntax_soup_never_panics(text in syntax_soup()) {
        if let Ok(e) = parse(&text) {
            let _ = evaluate(&e, &Fixed);
            prop_assert_eq!(parse(&e.to_string()), Ok(e));
        }
        if let Ok(q) = parse_query(&text) {
            let _ = q.matches("AWS/EC2", "CPUUtilization", &[("InstanceId".into(), "i-1".into())]);
        }
        if let Ok(r) = rule::parse(&text) {
            prop_assert_eq!(rule::parse(&r.to_string()), Ok(r));
        }
    }

    #[test]
    fn printed_expressions_parse_back(e in expr()) {
        let printed = e.to_string();
        prop_assert_eq!(parse(&printed), Ok(e), "printed as {}", printed);
    }

    #[test]
    fn evaluation_never_panics(e in expr()) {
        if let Ok(out) = evaluate(&e, &Fixed) {
            let _ = out.into_series();
        }
    }

    #[test]
    fn printed_rules_parse_back(r in rule_tree()) {
        let printed = r.to_string();
        prop_assert_eq!(rule::parse(&printed), Ok(r), "printed as {}", printed);
    }

    #[test]
    fn rules_evaluate_like_their_negation(r in rule_tree(), states in prop::collection::vec(state(), 1..4)) {
        let lookup = |name: &str| states.get(name.len() % states.len()).copied();
        let negated = Rule::Not(Box::new(r.clone()));
        prop_assert_eq!(negated.evaluate(&lookup), !r.evaluate(&lookup));
    }

    #[test]
    fn names_match_their_own_words(name in name_soup(), ns in name_soup()) {
        let query = parse_query(&format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\"")));
        if let Ok(q) = query {
            prop_assert!(q.matches(&ns, &name, &[]));
        }
        for word in name.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()) {
            let q = parse_query(&format!("MetricName={word}"));
            prop_assert!(q.is_ok(), "{:?}", q);
            if let Ok(q) = q {
                prop_assert!(q.matches(&ns, &name, &[]), "{} should match {}", word, name);
            }
        }
    }
}
