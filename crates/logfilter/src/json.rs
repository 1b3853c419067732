//! JSON filter patterns, `{ $.a = "x" && ($.b > 1 || $.c IS NULL) }`: parsing into an
//! expression tree and evaluating it against JSON log events.
//!
//! Semantics follow the AWS guide: `&&` binds tighter than `||`; a selector must reach a
//! value node, so comparisons against a missing field, an object or an array never match
//! (`!=` included); a message that is not a JSON object matches nothing, `NOT EXISTS`
//! included; wildcard selectors match when any node they reach does.

use crate::jsonscan::{self, Node};
use crate::lexer::{Cursor, char_position};
use crate::regex::RegexBudget;
use crate::selector::Selector;
use crate::value::{Comparison, Op};
use crate::{Error, Result};

/// AWS allows "up to three wildcard selectors in a filter pattern".
const MAX_WILDCARD_SELECTORS: usize = 3;

#[derive(Debug, Clone)]
pub(crate) struct JsonPattern {
    expr: Expr,
}

#[derive(Debug, Clone)]
enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Cond(Cond),
}

#[derive(Debug, Clone)]
struct Cond {
    selector: Selector,
    test: Test,
}

#[derive(Debug, Clone)]
enum Test {
    Compare(Comparison),
    IsNull,
    IsBool(bool),
    NotExists,
}

struct Parser<'a> {
    cur: Cursor<'a>,
    regexes: RegexBudget,
    wildcard_selectors: usize,
}

impl JsonPattern {
    /// Parses `text`, which starts with `{`.
    pub fn parse(text: &str) -> Result<JsonPattern> {
        if !text.ends_with('}') || text.len() < 2 {
            return Err(Error::UnclosedJson);
        }
        let mut p = Parser {
            cur: Cursor::new(text, 1, text.len() - 1),
            regexes: RegexBudget::default(),
            wildcard_selectors: 0,
        };
        p.cur.skip_ws();
        if p.cur.at_end() {
            return Err(p
                .cur
                .syntax("a JSON filter pattern needs at least one condition"));
        }
        let expr = p.or()?;
        p.cur.skip_ws();
        if !p.cur.at_end() {
            return Err(p.unexpected());
        }
        Ok(JsonPattern { expr })
    }

    pub fn matches(&self, message: &str) -> bool {
        self.matching_root(message).is_some()
    }

    /// The event's root object when the event matches, so captures need not re-validate.
    pub fn matching_root<'a>(&self, message: &'a str) -> Option<Node<'a>> {
        jsonscan::root_object(message).filter(|root| self.expr.eval(*root))
    }

    /// Substrings every matching message contains: only the opening brace, since values
    /// may be spelled with JSON escapes in the event.
    pub fn required_substrings(&self) -> Vec<String> {
        vec!["{".to_string()]
    }
}

impl Parser<'_> {
    fn or(&mut self) -> Result<Expr> {
        let mut terms = vec![self.and()?];
        loop {
            self.cur.skip_ws();
            if !self.cur.eat("||") {
                break;
            }
            terms.push(self.and()?);
        }
        Ok(collapse(terms, Expr::Or))
    }

    fn and(&mut self) -> Result<Expr> {
        let mut terms = vec![self.unary()?];
        loop {
            self.cur.skip_ws();
            if !self.cur.eat("&&") {
                break;
            }
            terms.push(self.unary()?);
        }
        Ok(collapse(terms, Expr::And))
    }

    fn unary(&mut self) -> Result<Expr> {
        self.cur.skip_ws();
        match self.cur.peek() {
            Some(b'(') => {
                let open = self.cur.pos();
                self.cur.bump(1);
                let inner = self.or()?;
                self.cur.skip_ws();
                if !self.cur.eat(")") {
                    if self.cur.at_end() {
                        return Err(self.cur.syntax_at(open, "unbalanced parentheses"));
                    }
                    return Err(self.unexpected());
                }
                Ok(inner)
            }
            Some(b'$') => Ok(Expr::Cond(self.cond()?)),
            None => Err(self.cur.syntax("expected a condition")),
            Some(_) => Err(self.unexpected()),
        }
    }

    fn cond(&mut self) -> Result<Cond> {
        let selector = Selector::read(&mut self.cur)?;
        if selector.has_wildcard() {
            self.wildcard_selectors += 1;
            if self.wildcard_selectors > MAX_WILDCARD_SELECTORS {
                return Err(Error::Limit(format!(
                    "a filter pattern can contain at most {MAX_WILDCARD_SELECTORS} wildcard selectors"
                )));
            }
        }
        self.cur.skip_ws();
        if let Some(op) = Op::read(&mut self.cur) {
            let comparison = Comparison::read_operand(op, &mut self.cur, &mut self.regexes)?;
            return Ok(Cond {
                selector,
                test: Test::Compare(comparison),
            });
        }
        let test = self.keyword_test()?;
        Ok(Cond { selector, test })
    }

    /// `IS NULL`, `IS TRUE`, `IS FALSE` and `NOT EXISTS`; AWS documents `IS NOT` and a
    /// bare `EXISTS` as unsupported, so they are refused by name.
    fn keyword_test(&mut self) -> Result<Test> {
        let start = self.cur.pos();
        let word = self.cur.take_while(|c| c.is_ascii_alphabetic());
        if word.eq_ignore_ascii_case("IS") {
            self.cur.skip_ws();
            let at = self.cur.pos();
            let what = self.cur.take_while(|c| c.is_ascii_alphabetic());
            return match what.to_ascii_uppercase().as_str() {
                "NULL" => Ok(Test::IsNull),
                "TRUE" => Ok(Test::IsBool(true)),
                "FALSE" => Ok(Test::IsBool(false)),
                "NOT" => Err(self.cur.syntax_at(at, "'IS NOT' is not supported")),
                _ => Err(self
                    .cur
                    .syntax_at(at, "expected NULL, TRUE or FALSE after 'IS'")),
            };
        }
        if word.eq_ignore_ascii_case("NOT") {
            self.cur.skip_ws();
            let at = self.cur.pos();
            let what = self.cur.take_while(|c| c.is_ascii_alphabetic());
            if what.eq_ignore_ascii_case("EXISTS") {
                return Ok(Test::NotExists);
            }
            return Err(self.cur.syntax_at(at, "expected EXISTS after 'NOT'"));
        }
        if word.eq_ignore_ascii_case("EXISTS") {
            return Err(self
                .cur
                .syntax_at(start, "'EXISTS' is not supported; use 'NOT EXISTS'"));
        }
        if word.is_empty() && self.cur.at_end() {
            return Err(self
                .cur
                .syntax("expected an operator after the property selector"));
        }
        self.cur.set_pos(start);
        Err(self.unexpected())
    }

    /// AWS reports stray characters as an invalid term, quoting the offending token.
    fn unexpected(&mut self) -> Error {
        let start = self.cur.pos();
        let token = self.cur.take_token(|c| matches!(c, '(' | ')'));
        let token = if token.is_empty() {
            self.cur.bump_char();
            self.cur.slice_from(start)
        } else {
            token
        };
        Error::InvalidCharacters {
            term: token.to_string(),
            position: char_position(self.cur.source(), start),
        }
    }
}

/// A one-term list is the term itself; longer lists become `wrap(list)`.
pub(crate) fn collapse<T>(mut terms: Vec<T>, wrap: fn(Vec<T>) -> T) -> T {
    if terms.len() == 1
        && let Some(only) = terms.pop()
    {
        return only;
    }
    wrap(terms)
}

impl Expr {
    fn eval(&self, root: Node<'_>) -> bool {
        match self {
            Expr::Or(terms) => terms.iter().any(|t| t.eval(root)),
            Expr::And(terms) => terms.iter().all(|t| t.eval(root)),
            Expr::Cond(cond) => cond.eval(root),
        }
    }
}

impl Cond {
    fn eval(&self, root: Node<'_>) -> bool {
        let steps = &self.selector.steps;
        match &self.test {
            Test::NotExists => !jsonscan::select(root, steps, &mut |_| true),
            Test::IsNull => jsonscan::select(root, steps, &mut |n| n.is_null()),
            Test::IsBool(want) => {
                jsonscan::select(root, steps, &mut |n| n.as_bool() == Some(*want))
            }
            Test::Compare(cmp) => jsonscan::select(root, steps, &mut |n| {
                n.subject().is_some_and(|s| cmp.holds(&s))
            }),
        }
    }
}
