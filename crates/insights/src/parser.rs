//! Recursive-descent parser from tokens to the command pipeline.
//!
//! Commands are separated by `|`, or by a line break when the next line starts with a
//! command keyword (the console lets users write one command per line). Expressions
//! follow the usual precedence: `or` < `and` < `not` < comparisons (`=`, `like`, `in`,
//! `=~`, ...) < `+ -` < `* / %` < unary minus < `^`.

use crate::ast::*;
use crate::error::QueryError;
use crate::lexer::{Tok, Token};

/// Every command keyword; the others AWS documents but this engine does not run are
/// listed so that they are refused as unsupported, not as unknown.
const COMMANDS: &[&str] = &[
    "fields", "display", "filter", "stats", "sort", "limit", "parse", "dedup", "unmask", "pattern",
    "diff",
];
const UNSUPPORTED_COMMANDS: &[&str] = &[
    "anomaly",
    "filterindex",
    "unnest",
    "lookup",
    "join",
    "source",
    "addtotals",
];

pub(crate) struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    pos: usize,
}

type PResult<T> = Result<T, QueryError>;

fn is_command_word(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    COMMANDS.contains(&lower.as_str()) || UNSUPPORTED_COMMANDS.contains(&lower.as_str())
}

impl<'a> Parser<'a> {
    pub(crate) fn new(text: &'a str, tokens: Vec<Token>) -> Parser<'a> {
        Parser {
            text,
            tokens,
            pos: 0,
        }
    }

    fn peek(&self) -> &Token {
        let last = self.tokens.len().saturating_sub(1);
        &self.tokens[self.pos.min(last)]
    }

    fn peek_at(&self, offset: usize) -> &Tok {
        let last = self.tokens.len().saturating_sub(1);
        &self.tokens[(self.pos + offset).min(last)].tok
    }

    fn advance(&mut self) -> Token {
        let token = self.peek().clone();
        if self.pos < self.tokens.len() {
            self.pos += 1;
        }
        token
    }

    fn at_keyword(&self, keyword: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(w) if w.eq_ignore_ascii_case(keyword))
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        if self.at_keyword(keyword) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if &self.peek().tok == tok {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn unexpected(&self, expecting: &str) -> QueryError {
        let token = self.peek();
        QueryError::new(
            format!(
                "Unexpected {} (expecting {expecting})",
                token.tok.describe()
            ),
            token.span,
        )
    }

    fn text_of(&self, span: Span) -> String {
        self.text
            .get(span.byte_start..span.byte_end)
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    /// Whether the parser stands at the start of the next command.
    fn at_command_boundary(&self) -> bool {
        let token = self.peek();
        match &token.tok {
            Tok::Pipe | Tok::Eof => true,
            Tok::Ident(word) => token.line_start && is_command_word(word),
            _ => false,
        }
    }

    pub(crate) fn parse_query(&mut self) -> PResult<Vec<Command>> {
        let mut commands = Vec::new();
        if matches!(self.peek().tok, Tok::Eof) {
            return Err(QueryError::new("The query is empty", self.peek().span));
        }
        loop {
            commands.push(self.command()?);
            match &self.peek().tok {
                Tok::Eof => break,
                Tok::Pipe => {
                    self.pos += 1;
                    if matches!(self.peek().tok, Tok::Eof) {
                        return Err(self.unexpected("a command after '|'"));
                    }
                }
                _ if self.at_command_boundary() => {}
                _ => return Err(self.unexpected("'|' or the end of the query")),
            }
        }
        Ok(commands)
    }

    fn command(&mut self) -> PResult<Command> {
        let token = self.advance();
        let Tok::Ident(word) = &token.tok else {
            self.pos -= 1;
            return Err(self.unexpected("a command"));
        };
        let lower = word.to_ascii_lowercase();
        let keyword = token.span;
        let kind = match lower.as_str() {
            "fields" => CommandKind::Fields(self.items()?),
            "display" => CommandKind::Display(self.field_names("display")?),
            "filter" => CommandKind::Filter(self.expr()?),
            "stats" => {
                let items = self.items()?;
                let by = if self.eat_keyword("by") {
                    self.items()?
                } else {
                    Vec::new()
                };
                CommandKind::Stats { items, by }
            }
            "sort" => CommandKind::Sort(self.sort_keys()?),
            "limit" => CommandKind::Limit(self.limit()?),
            "parse" => CommandKind::Parse(self.parse_spec(keyword)?),
            "dedup" => CommandKind::Dedup(self.field_names("dedup")?),
            "pattern" => {
                if self.at_command_boundary() {
                    return Err(QueryError::new(
                        "pattern needs a field or expression to cluster, such as @message",
                        keyword,
                    ));
                }
                CommandKind::Pattern(self.expr()?)
            }
            "diff" => {
                if !self.at_command_boundary() {
                    let token = self.peek();
                    return Err(QueryError::new(
                        format!(
                            "diff takes no arguments; unexpected {}",
                            token.tok.describe()
                        ),
                        token.span,
                    ));
                }
                CommandKind::Diff
            }
            "unmask" => {
                // `unmask` optionally names the field to reveal; nothing is masked here.
                if !self.at_command_boundary() {
                    self.expr()?;
                }
                CommandKind::Unmask
            }
            other if UNSUPPORTED_COMMANDS.contains(&other) => {
                return Err(QueryError::new(
                    format!("The {word} command is not supported"),
                    keyword,
                ));
            }
            _ => {
                return Err(QueryError::new(
                    format!("Unknown command '{word}'"),
                    keyword,
                ));
            }
        };
        Ok(Command { kind, keyword })
    }

    fn items(&mut self) -> PResult<Vec<Item>> {
        let mut items = Vec::new();
        loop {
            let expr = self.expr()?;
            let text = self.text_of(expr.span);
            let alias = if self.eat_keyword("as") {
                Some(self.field_name()?)
            } else {
                None
            };
            items.push(Item { expr, alias, text });
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        Ok(items)
    }

    fn field_name(&mut self) -> PResult<FieldName> {
        let token = self.peek().clone();
        match token.tok {
            Tok::Ident(name) | Tok::Quoted(name) => {
                self.pos += 1;
                Ok(FieldName {
                    name,
                    span: token.span,
                })
            }
            _ => Err(self.unexpected("a field name")),
        }
    }

    fn field_names(&mut self, command: &str) -> PResult<Vec<FieldName>> {
        let mut names = Vec::new();
        loop {
            names.push(self.field_name()?);
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        if !self.at_command_boundary() {
            let token = self.peek();
            return Err(QueryError::new(
                format!(
                    "{command} accepts only a comma-separated list of field names; unexpected {}",
                    token.tok.describe()
                ),
                token.span,
            ));
        }
        Ok(names)
    }

    fn sort_keys(&mut self) -> PResult<Vec<SortKey>> {
        let mut keys = Vec::new();
        loop {
            let expr = self.expr()?;
            let descending = if self.eat_keyword("desc") {
                true
            } else {
                self.eat_keyword("asc");
                false
            };
            keys.push(SortKey { expr, descending });
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        Ok(keys)
    }

    fn limit(&mut self) -> PResult<u64> {
        let token = self.peek().clone();
        match token.tok {
            Tok::Number(n) if n.fract() == 0.0 && (1.0..=10_000.0).contains(&n) => {
                self.pos += 1;
                Ok(n as u64)
            }
            Tok::Number(_) => Err(QueryError::new(
                "limit must be a whole number from 1 to 10000",
                token.span,
            )),
            _ => Err(self.unexpected("a number of rows after limit")),
        }
    }

    fn parse_spec(&mut self, keyword: Span) -> PResult<ParseSpec> {
        // The field is optional and defaults to @message.
        let source = match &self.peek().tok {
            Tok::Ident(_) | Tok::Quoted(_) if !self.at_command_boundary() => {
                let name = self.field_name()?;
                Expr {
                    kind: ExprKind::Field(name.name),
                    span: name.span,
                }
            }
            _ => Expr {
                kind: ExprKind::Field("@message".into()),
                span: keyword,
            },
        };
        let token = self.advance();
        let pattern = match token.tok {
            Tok::Str(glob) => ParsePattern::Glob(glob),
            Tok::Regex(re) => ParsePattern::Regex(re),
            _ => {
                self.pos -= 1;
                return Err(self.unexpected("a quoted glob pattern or a /regular expression/"));
            }
        };
        let mut names = Vec::new();
        if self.eat_keyword("as") {
            loop {
                names.push(self.field_name()?);
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
        }
        Ok(ParseSpec {
            source,
            pattern,
            pattern_span: token.span,
            names,
        })
    }

    pub(crate) fn expr(&mut self) -> PResult<Expr> {
        self.or_expr()
    }

    fn binary(op: BinOp, left: Expr, right: Expr) -> Expr {
        let span = left.span.to(right.span);
        Expr {
            kind: ExprKind::Binary(op, Box::new(left), Box::new(right)),
            span,
        }
    }

    fn or_expr(&mut self) -> PResult<Expr> {
        let mut left = self.and_expr()?;
        while self.eat_keyword("or") {
            let right = self.and_expr()?;
            left = Self::binary(BinOp::Or, left, right);
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> PResult<Expr> {
        let mut left = self.not_expr()?;
        while self.eat_keyword("and") {
            let right = self.not_expr()?;
            left = Self::binary(BinOp::And, left, right);
        }
        Ok(left)
    }

    fn not_expr(&mut self) -> PResult<Expr> {
        if self.at_keyword("not") {
            let start = self.advance().span;
            let inner = self.not_expr()?;
            let span = start.to(inner.span);
            return Ok(Expr {
                kind: ExprKind::Not(Box::new(inner)),
                span,
            });
        }
        self.comparison()
    }

    fn comparison(&mut self) -> PResult<Expr> {
        let left = self.additive()?;
        let op = match self.peek().tok {
            Tok::Eq => Some(BinOp::Eq),
            Tok::Ne => Some(BinOp::Ne),
            Tok::Lt => Some(BinOp::Lt),
            Tok::Le => Some(BinOp::Le),
            Tok::Gt => Some(BinOp::Gt),
            Tok::Ge => Some(BinOp::Ge),
            _ => None,
        };
        if let Some(op) = op {
            self.pos += 1;
            let right = self.additive()?;
            return Ok(Self::binary(op, left, right));
        }
        if self.eat(&Tok::Match) {
            return self.like_rest(left, false);
        }
        let negated = self.at_keyword("not")
            && matches!(self.peek_at(1), Tok::Ident(w) if w.eq_ignore_ascii_case("like") || w.eq_ignore_ascii_case("in"));
        if negated {
            self.pos += 1;
        }
        if self.eat_keyword("like") {
            return self.like_rest(left, negated);
        }
        if self.eat_keyword("in") {
            let list = self.list()?;
            let span = left.span.to(list.span);
            let ExprKind::List(items) = list.kind else {
                return Err(QueryError::new("Expected a list", list.span));
            };
            return Ok(Expr {
                kind: ExprKind::In {
                    subject: Box::new(left),
                    list: items,
                    negated,
                },
                span,
            });
        }
        Ok(left)
    }

    fn like_rest(&mut self, subject: Expr, negated: bool) -> PResult<Expr> {
        let pattern = self.additive()?;
        let span = subject.span.to(pattern.span);
        Ok(Expr {
            kind: ExprKind::Like {
                subject: Box::new(subject),
                pattern: Box::new(pattern),
                negated,
            },
            span,
        })
    }

    fn list(&mut self) -> PResult<Expr> {
        let open = self.peek().span;
        if !self.eat(&Tok::LBracket) {
            return Err(self.unexpected("'[' to start a list"));
        }
        let mut items = Vec::new();
        if !matches!(self.peek().tok, Tok::RBracket) {
            loop {
                items.push(self.expr()?);
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
        }
        let close = self.peek().span;
        if !self.eat(&Tok::RBracket) {
            if matches!(self.peek().tok, Tok::Eof) {
                return Err(QueryError::new("Unclosed '['", open));
            }
            return Err(self.unexpected("',' or ']'"));
        }
        Ok(Expr {
            kind: ExprKind::List(items),
            span: open.to(close),
        })
    }

    fn additive(&mut self) -> PResult<Expr> {
        let mut left = self.multiplicative()?;
        loop {
            let op = match self.peek().tok {
                Tok::Plus => BinOp::Add,
                Tok::Minus => BinOp::Sub,
                _ => break,
            };
            self.pos += 1;
            let right = self.multiplicative()?;
            left = Self::binary(op, left, right);
        }
        Ok(left)
    }

    fn multiplicative(&mut self) -> PResult<Expr> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek().tok {
                Tok::Star => BinOp::Mul,
                Tok::Slash => BinOp::Div,
                Tok::Percent => BinOp::Mod,
                _ => break,
            };
            self.pos += 1;
            let right = self.unary()?;
            left = Self::binary(op, left, right);
        }
        Ok(left)
    }

    fn unary(&mut self) -> PResult<Expr> {
        if matches!(self.peek().tok, Tok::Minus) {
            let start = self.advance().span;
            let inner = self.unary()?;
            let span = start.to(inner.span);
            return Ok(match inner.kind {
                ExprKind::Number(n) => Expr {
                    kind: ExprKind::Number(-n),
                    span,
                },
                kind => Expr {
                    kind: ExprKind::Neg(Box::new(Expr {
                        kind,
                        span: inner.span,
                    })),
                    span,
                },
            });
        }
        self.power()
    }

    fn power(&mut self) -> PResult<Expr> {
        let base = self.primary()?;
        if self.eat(&Tok::Caret) {
            let exponent = self.unary()?;
            return Ok(Self::binary(BinOp::Pow, base, exponent));
        }
        Ok(base)
    }

    fn primary(&mut self) -> PResult<Expr> {
        let token = self.peek().clone();
        let span = token.span;
        let kind = match token.tok {
            Tok::Number(n) => ExprKind::Number(n),
            Tok::Str(s) => ExprKind::Str(s),
            Tok::Regex(r) => ExprKind::Regex(r),
            Tok::Duration(amount, unit) => {
                let Some(unit) = PeriodUnit::from_suffix(&unit) else {
                    return Err(QueryError::new(
                        format!("Invalid time unit '{unit}'; use ms, s, m, h, d, w, mo, q or y"),
                        span,
                    ));
                };
                if amount.fract() != 0.0 || !(1.0..=1e12).contains(&amount) {
                    return Err(QueryError::new(
                        "A time period must be a positive whole number of units",
                        span,
                    ));
                }
                ExprKind::Duration(Period {
                    amount: amount as i64,
                    unit,
                })
            }
            Tok::Quoted(name) => ExprKind::Field(name),
            Tok::Ident(name) => {
                if matches!(self.peek_at(1), Tok::LParen) {
                    return self.call(name, span);
                }
                if ["and", "or", "like", "in", "as", "by"]
                    .iter()
                    .any(|k| name.eq_ignore_ascii_case(k))
                {
                    return Err(self.unexpected("a field, value or function"));
                }
                ExprKind::Field(name)
            }
            Tok::LParen => {
                self.pos += 1;
                let inner = self.expr()?;
                let close = self.peek().span;
                if !self.eat(&Tok::RParen) {
                    if matches!(self.peek().tok, Tok::Eof) {
                        return Err(QueryError::new(
                            "Unbalanced parenthesis: '(' is never closed",
                            span,
                        ));
                    }
                    return Err(self.unexpected("')'"));
                }
                return Ok(Expr {
                    kind: inner.kind,
                    span: span.to(close),
                });
            }
            Tok::LBracket => return self.list(),
            Tok::RParen => {
                return Err(QueryError::new(
                    "Unbalanced parenthesis: ')' without a matching '('",
                    span,
                ));
            }
            _ => return Err(self.unexpected("a field, value or function")),
        };
        self.pos += 1;
        Ok(Expr { kind, span })
    }

    fn call(&mut self, name: String, name_span: Span) -> PResult<Expr> {
        self.pos += 1; // name
        let open = self.advance().span;
        let mut args = Vec::new();
        if !matches!(self.peek().tok, Tok::RParen) {
            loop {
                if matches!(self.peek().tok, Tok::Star)
                    && matches!(self.peek_at(1), Tok::RParen | Tok::Comma)
                {
                    let star = self.advance().span;
                    args.push(Expr {
                        kind: ExprKind::Star,
                        span: star,
                    });
                } else {
                    args.push(self.expr()?);
                }
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
        }
        let close = self.peek().span;
        if !self.eat(&Tok::RParen) {
            if matches!(self.peek().tok, Tok::Eof) {
                return Err(QueryError::new(
                    format!("Unbalanced parenthesis: the call to {name} is never closed"),
                    open,
                ));
            }
            return Err(self.unexpected("',' or ')'"));
        }
        let span = name_span.to(close);
        Ok(Expr {
            kind: ExprKind::Call {
                name: name.to_ascii_lowercase(),
                name_span,
                args,
                text: self.text_of(span),
            },
            span,
        })
    }
}
