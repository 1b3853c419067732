//! Composite alarm rules (`AlarmRule` of PutCompositeAlarm): parsing with CloudWatch's
//! refusal wording, the alarms a rule watches, evaluation against current alarm states
//! and detection of composite alarms that watch themselves through others.
//!
//! Grammar, loosest first: `OR`, `AND`, `NOT`, then `( rule )`, `TRUE`, `FALSE`,
//! `ALARM(x)`, `OK(x)`, `INSUFFICIENT_DATA(x)` and
//! `AT_LEAST(threshold, [NOT] STATE, (x, y, ...))` where the threshold is a count or a
//! percentage such as `50%`. Keywords are accepted in any case. An alarm is named by
//! name or ARN, double-quoted or bare; a bare one ends at white space, a parenthesis or
//! a comma.

use std::collections::{HashMap, HashSet};
use std::fmt;

use crate::{Error, Result};

/// PutCompositeAlarm's length constraint on `AlarmRule`.
pub const MAX_RULE_LENGTH: usize = 10_240;
/// Distinct alarms one rule may watch.
pub const MAX_ALARMS: usize = 100;
/// Elements (alarm references, TRUE/FALSE, parenthesis pairs) one rule may have.
pub const MAX_ELEMENTS: usize = 500;

/// The state of a watched alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlarmState {
    Ok,
    Alarm,
    InsufficientData,
}

impl AlarmState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmState::Ok => "OK",
            AlarmState::Alarm => "ALARM",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
        }
    }

    /// Reads a state keyword in any case.
    pub fn parse(s: &str) -> Option<AlarmState> {
        match s.to_ascii_uppercase().as_str() {
            "OK" => Some(AlarmState::Ok),
            "ALARM" => Some(AlarmState::Alarm),
            "INSUFFICIENT_DATA" => Some(AlarmState::InsufficientData),
            _ => None,
        }
    }
}

/// How many of an AT_LEAST list must be in the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threshold {
    Count(u32),
    Percent(u32),
}

/// A parsed alarm rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    True,
    False,
    /// `ALARM(x)`, `OK(x)`, `INSUFFICIENT_DATA(x)`.
    State {
        state: AlarmState,
        alarm: String,
    },
    Not(Box<Rule>),
    And(Box<Rule>, Box<Rule>),
    Or(Box<Rule>, Box<Rule>),
    /// `AT_LEAST(threshold, [NOT] state, (alarms))`; `negated` is the `NOT`.
    AtLeast {
        threshold: Threshold,
        negated: bool,
        state: AlarmState,
        alarms: Vec<String>,
    },
}

/// What may start a rule or follow an operator, worded as CloudWatch lists it.
const EXPECT_OPERAND: &str = "'(', 'NOT', AT_LEAST, TRUE or FALSE, ALARM, OK, or INSUFFICIENT_DATA";

/// Parses and validates an alarm rule.
pub fn parse(text: &str) -> Result<Rule> {
    let length = text.chars().count();
    if length > MAX_RULE_LENGTH {
        return Err(Error::RuleTooLong {
            length,
            max: MAX_RULE_LENGTH,
        });
    }
    let mut p = Parser {
        tokens: lex(text)?,
        pos: 0,
        end: length,
        depth: 0,
        elements: 0,
    };
    let rule = p.or()?;
    if let Some(t) = p.tokens.get(p.pos) {
        return Err(p.unsupported(t, Some("AND, OR")));
    }
    let alarms = rule.alarms();
    if alarms.len() > MAX_ALARMS {
        return Err(rule_error(
            format!(
                "The rule references {} alarms; at most {MAX_ALARMS} are allowed",
                alarms.len()
            ),
            None,
        ));
    }
    if p.elements > MAX_ELEMENTS {
        return Err(rule_error(
            format!(
                "The rule has {} elements; at most {MAX_ELEMENTS} are allowed",
                p.elements
            ),
            None,
        ));
    }
    Ok(rule)
}

impl Rule {
    /// The alarms the rule watches, as written, each once, in order of appearance.
    pub fn alarms(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        self.visit(&mut |name| {
            if seen.insert(name.to_string()) {
                out.push(name.to_string());
            }
        });
        out
    }

    fn visit(&self, f: &mut dyn FnMut(&str)) {
        match self {
            Rule::True | Rule::False => {}
            Rule::State { alarm, .. } => f(alarm),
            Rule::Not(r) => r.visit(f),
            Rule::And(a, b) | Rule::Or(a, b) => {
                a.visit(f);
                b.visit(f);
            }
            Rule::AtLeast { alarms, .. } => alarms.iter().for_each(|a| f(a)),
        }
    }

    /// Whether the rule holds, given each watched alarm's state. An alarm whose state is
    /// unknown (`None`: deleted, or not yet evaluated) is in no state: `ALARM(x)` is false
    /// and it counts toward no AT_LEAST threshold.
    pub fn evaluate(&self, state_of: &dyn Fn(&str) -> Option<AlarmState>) -> bool {
        match self {
            Rule::True => true,
            Rule::False => false,
            Rule::State { state, alarm } => state_of(alarm) == Some(*state),
            Rule::Not(r) => !r.evaluate(state_of),
            Rule::And(a, b) => a.evaluate(state_of) && b.evaluate(state_of),
            Rule::Or(a, b) => a.evaluate(state_of) || b.evaluate(state_of),
            Rule::AtLeast {
                threshold,
                negated,
                state,
                alarms,
            } => {
                let matching = alarms
                    .iter()
                    .filter(|a| match state_of(a) {
                        Some(s) => (s == *state) != *negated,
                        None => false,
                    })
                    .count() as u64;
                match threshold {
                    Threshold::Count(n) => matching >= u64::from(*n),
                    Threshold::Percent(p) => matching * 100 >= u64::from(*p) * alarms.len() as u64,
                }
            }
        }
    }
}

/// Prints a rule that parses back to the same tree: names are always quoted, and
/// parentheses appear only where the tree needs them, so the printed rule never has
/// more elements or deeper nesting than any text that parses to it.
impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::True => f.write_str("TRUE"),
            Rule::False => f.write_str("FALSE"),
            Rule::State { state, alarm } => write!(f, "{}(\"{alarm}\")", state.as_str()),
            Rule::Not(r) => {
                f.write_str("NOT ")?;
                operand(f, r, matches!(**r, Rule::And(..) | Rule::Or(..)))
            }
            Rule::And(a, b) => {
                operand(f, a, matches!(**a, Rule::Or(..)))?;
                f.write_str(" AND ")?;
                operand(f, b, matches!(**b, Rule::And(..) | Rule::Or(..)))
            }
            Rule::Or(a, b) => {
                write!(f, "{a} OR ")?;
                operand(f, b, matches!(**b, Rule::Or(..)))
            }
            Rule::AtLeast {
                threshold,
                negated,
                state,
                alarms,
            } => {
                match threshold {
                    Threshold::Count(n) => write!(f, "AT_LEAST({n}, ")?,
                    Threshold::Percent(p) => write!(f, "AT_LEAST({p}%, ")?,
                }
                if *negated {
                    f.write_str("NOT ")?;
                }
                write!(f, "{}, (", state.as_str())?;
                for (i, a) in alarms.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "\"{a}\"")?;
                }
                f.write_str("))")
            }
        }
    }
}

fn operand(f: &mut fmt::Formatter<'_>, r: &Rule, parens: bool) -> fmt::Result {
    if parens {
        write!(f, "({r})")
    } else {
        write!(f, "{r}")
    }
}

/// Finds a composite alarm that depends on itself. `rules` maps each composite alarm to
/// the alarms its rule watches (names or ARNs, normalized by the caller to the same
/// spelling as the keys); references that are not keys are metric alarms and end the
/// path. Returns one cycle as a path that starts and ends with the same alarm.
pub fn find_cycle(rules: &HashMap<String, Vec<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Unseen,
        OnPath,
        Done,
    }
    let mut names: Vec<&String> = rules.keys().collect();
    names.sort();
    let mut marks: HashMap<&str, Mark> = names.iter().map(|n| (n.as_str(), Mark::Unseen)).collect();
    for root in names {
        if marks.get(root.as_str()) != Some(&Mark::Unseen) {
            continue;
        }
        // Iterative depth-first search: (alarm, index of the next child to visit).
        let mut stack: Vec<(&str, usize)> = vec![(root.as_str(), 0)];
        marks.insert(root.as_str(), Mark::OnPath);
        while let Some(top) = stack.last_mut() {
            let (node, index) = *top;
            top.1 += 1;
            let children = rules.get(node).map(Vec::as_slice).unwrap_or(&[]);
            let Some(child) = children.get(index) else {
                marks.insert(node, Mark::Done);
                stack.pop();
                continue;
            };
            match marks.get(child.as_str()) {
                Some(Mark::Unseen) => {
                    marks.insert(child.as_str(), Mark::OnPath);
                    stack.push((child.as_str(), 0));
                }
                Some(Mark::OnPath) => {
                    let from = stack.iter().position(|(n, _)| *n == child)?;
                    let mut cycle: Vec<String> =
                        stack[from..].iter().map(|(n, _)| n.to_string()).collect();
                    cycle.push(child.clone());
                    return Some(cycle);
                }
                _ => {}
            }
        }
    }
    None
}

fn rule_error(message: String, position: Option<usize>) -> Error {
    Error::Rule { message, position }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    Comma,
    Word(String),
    Quoted(String),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    /// The text as written, for error messages.
    raw: String,
    position: usize,
}

fn lex(text: &str) -> Result<Vec<Token>> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let tok = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => Tok::Open,
            ')' => Tok::Close,
            ',' => Tok::Comma,
            '"' => {
                let Some(len) = chars[i + 1..].iter().position(|&c| c == '"') else {
                    return Err(rule_error(
                        format!("Unterminated quoted alarm name at char {start}"),
                        Some(start),
                    ));
                };
                let name: String = chars[i + 1..i + 1 + len].iter().collect();
                i += len + 1;
                Tok::Quoted(name)
            }
            _ => {
                while chars
                    .get(i + 1)
                    .is_some_and(|&c| !c.is_whitespace() && !matches!(c, '(' | ')' | ',' | '"'))
                {
                    i += 1;
                }
                Tok::Word(chars[start..=i].iter().collect())
            }
        };
        i += 1;
        out.push(Token {
            tok,
            raw: chars[start..i].iter().collect(),
            position: start,
        });
    }
    Ok(out)
}

/// Deeper nesting than this is refused instead of risking the stack.
const MAX_DEPTH: usize = 64;

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    end: usize,
    depth: usize,
    elements: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn unsupported(&self, t: &Token, expected: Option<&str>) -> Error {
        let mut message = format!("Unsupported token '{}' at char {}", t.raw, t.position);
        if let Some(e) = expected {
            message.push_str(&format!(", must be: {e}"));
        }
        rule_error(message, Some(t.position))
    }

    /// The error for whatever stands where `expected` should be.
    fn expected(&self, expected: &str) -> Error {
        match self.peek() {
            Some(t) => self.unsupported(t, Some(expected)),
            None => rule_error(
                format!(
                    "Unexpected end of rule at char {}, must be: {expected}",
                    self.end
                ),
                Some(self.end),
            ),
        }
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if self.peek().is_some_and(|t| &t.tok == tok) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, tok: Tok, shown: &str) -> Result<()> {
        if self.eat(&tok) {
            Ok(())
        } else {
            Err(self.expected(shown))
        }
    }

    fn eat_keyword(&mut self, word: &str) -> bool {
        let hit = matches!(self.peek(), Some(Token { tok: Tok::Word(w), .. }) if w.eq_ignore_ascii_case(word));
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let at = self.peek().map_or(self.end, |t| t.position);
            return Err(rule_error(
                format!("The rule is nested too deeply at char {at}"),
                Some(at),
            ));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Rule> {
        let mut left = self.and()?;
        while self.eat_keyword("OR") {
            let right = self.and()?;
            left = Rule::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Rule> {
        let mut left = self.not()?;
        while self.eat_keyword("AND") {
            let right = self.not()?;
            left = Rule::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Rule> {
        if self.eat_keyword("NOT") {
            self.enter()?;
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Rule::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Rule> {
        let Some(token) = self.peek().cloned() else {
            return Err(self.expected(EXPECT_OPERAND));
        };
        match &token.tok {
            Tok::Open => {
                self.pos += 1;
                self.elements += 1;
                self.enter()?;
                let inner = self.or()?;
                self.expect(Tok::Close, "')'")?;
                self.depth -= 1;
                Ok(inner)
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("TRUE") => {
                self.pos += 1;
                self.elements += 1;
                Ok(Rule::True)
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("FALSE") => {
                self.pos += 1;
                self.elements += 1;
                Ok(Rule::False)
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("AT_LEAST") => {
                self.pos += 1;
                self.at_least()
            }
            Tok::Word(w) => {
                let Some(state) = AlarmState::parse(w) else {
                    return Err(self.unsupported(&token, Some(EXPECT_OPERAND)));
                };
                self.pos += 1;
                self.expect(Tok::Open, "'('")?;
                let alarm = self.alarm_name()?;
                self.expect(Tok::Close, "')'")?;
                Ok(Rule::State { state, alarm })
            }
            _ => Err(self.unsupported(&token, Some(EXPECT_OPERAND))),
        }
    }

    fn alarm_name(&mut self) -> Result<String> {
        match self.peek().map(|t| t.tok.clone()) {
            Some(Tok::Word(name) | Tok::Quoted(name)) if !name.is_empty() => {
                self.pos += 1;
                self.elements += 1;
                Ok(name)
            }
            _ => Err(self.expected("an alarm name or ARN")),
        }
    }

    /// After `AT_LEAST`: `(threshold, [NOT] STATE, (alarm, ...))`.
    fn at_least(&mut self) -> Result<Rule> {
        self.expect(Tok::Open, "'('")?;
        let Some(token) = self.peek().cloned() else {
            return Err(self.expected("a count or a percentage"));
        };
        let threshold = match &token.tok {
            Tok::Word(w) => parse_threshold(w),
            _ => None,
        }
        .ok_or_else(|| self.unsupported(&token, Some("a count or a percentage")))?;
        self.pos += 1;
        self.expect(Tok::Comma, "','")?;
        let negated = self.eat_keyword("NOT");
        let state = match self.peek() {
            Some(Token {
                tok: Tok::Word(w), ..
            }) => AlarmState::parse(w),
            _ => None,
        }
        .ok_or_else(|| self.expected("ALARM, OK, or INSUFFICIENT_DATA"))?;
        self.pos += 1;
        self.expect(Tok::Comma, "','")?;
        self.expect(Tok::Open, "'('")?;
        self.elements += 1;
        let mut alarms = vec![self.alarm_name()?];
        while self.eat(&Tok::Comma) {
            alarms.push(self.alarm_name()?);
        }
        self.expect(Tok::Close, "',' or ')'")?;
        self.expect(Tok::Close, "')'")?;
        let valid = match threshold {
            Threshold::Count(n) => n >= 1 && n as usize <= alarms.len(),
            Threshold::Percent(p) => (1..=100).contains(&p),
        };
        if !valid {
            let (what, range) = match threshold {
                Threshold::Count(n) => (n.to_string(), format!("1 and {}", alarms.len())),
                Threshold::Percent(p) => (format!("{p}%"), "1% and 100%".to_string()),
            };
            return Err(rule_error(
                format!(
                    "AT_LEAST threshold {what} at char {} must be between {range}",
                    token.position
                ),
                Some(token.position),
            ));
        }
        Ok(Rule::AtLeast {
            threshold,
            negated,
            state,
            alarms,
        })
    }
}

fn parse_threshold(w: &str) -> Option<Threshold> {
    let digits = |s: &str| {
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse::<u32>().ok()
        } else {
            None
        }
    };
    match w.strip_suffix('%') {
        Some(p) => digits(p).map(Threshold::Percent),
        None => digits(w).map(Threshold::Count),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_wording() {
        let e = parse("()").expect_err("refused");
        assert_eq!(
            e.to_string(),
            "Error in AlarmRule [Unsupported token ')' at char 1, must be: '(', 'NOT', \
             AT_LEAST, TRUE or FALSE, ALARM, OK, or INSUFFICIENT_DATA]"
        );
        let e = parse("ALARM(SampleQueue Oldest Age)").expect_err("refused");
        assert_eq!(
            e.to_string(),
            "Error in AlarmRule [Unsupported token 'Oldest' at char 18, must be: ')']"
        );
    }

    #[test]
    fn deep_nesting_is_refused() {
        assert!(parse(&format!("{}TRUE{}", "(".repeat(2000), ")".repeat(2000))).is_err());
        assert!(parse(&format!("{}TRUE", "NOT ".repeat(2000))).is_err());
        let chain = vec!["ALARM(a)"; 400].join(" AND ");
        let rule = parse(&chain).expect("a long flat chain is fine");
        assert!(!rule.evaluate(&|_| None));
        assert_eq!(rule.alarms(), vec!["a"]);
    }

    #[test]
    fn cycle_path() {
        let mut rules = HashMap::new();
        rules.insert("a".to_string(), vec!["b".to_string(), "m1".to_string()]);
        rules.insert("b".to_string(), vec!["c".to_string()]);
        rules.insert("c".to_string(), vec!["a".to_string()]);
        assert_eq!(
            find_cycle(&rules),
            Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
        );
        rules.insert("c".to_string(), vec!["m2".to_string()]);
        assert_eq!(find_cycle(&rules), None);
    }
}
