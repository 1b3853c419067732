//! Splits query text into tokens, each with its position, and drops `#` comments.
//!
//! `/` is ambiguous in this language: it divides (`bytes / 1024`) and it delimits regular
//! expressions (`like /Exception/`). As in JavaScript, a `/` that follows an operand is a
//! division and any other `/` opens a regex; the one exception is the pattern of `parse`,
//! which directly follows the field being parsed.

use crate::ast::Span;
use crate::error::QueryError;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Ident(String),
    /// A `backtick-quoted` field name, never a keyword.
    Quoted(String),
    Number(f64),
    /// A number with a unit suffix (`5m`, `100ms`); the unit is checked by the parser.
    Duration(f64, String),
    Str(String),
    Regex(String),
    Pipe,
    Comma,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Match,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Caret,
    Eof,
}

impl Tok {
    /// Whether this token ends an operand, after which `/` means division.
    fn is_operand(&self) -> bool {
        match self {
            Tok::Ident(word) => !is_operator_word(word),
            Tok::Quoted(_)
            | Tok::Number(_)
            | Tok::Duration(..)
            | Tok::Str(_)
            | Tok::Regex(_)
            | Tok::RParen
            | Tok::RBracket => true,
            _ => false,
        }
    }

    /// How the token reads in an error message.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("'{s}'"),
            Tok::Quoted(s) => format!("'`{s}`'"),
            Tok::Number(n) => format!("'{n}'"),
            Tok::Duration(n, u) => format!("'{n}{u}'"),
            Tok::Str(s) => format!("string \"{s}\""),
            Tok::Regex(s) => format!("regex /{s}/"),
            Tok::Pipe => "'|'".into(),
            Tok::Comma => "','".into(),
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::LBracket => "'['".into(),
            Tok::RBracket => "']'".into(),
            Tok::Eq => "'='".into(),
            Tok::Ne => "'!='".into(),
            Tok::Lt => "'<'".into(),
            Tok::Le => "'<='".into(),
            Tok::Gt => "'>'".into(),
            Tok::Ge => "'>='".into(),
            Tok::Match => "'=~'".into(),
            Tok::Plus => "'+'".into(),
            Tok::Minus => "'-'".into(),
            Tok::Star => "'*'".into(),
            Tok::Slash => "'/'".into(),
            Tok::Percent => "'%'".into(),
            Tok::Caret => "'^'".into(),
            Tok::Eof => "end of query".into(),
        }
    }
}

/// Words after which an operand is expected, so a following `/` opens a regex.
fn is_operator_word(word: &str) -> bool {
    ["like", "and", "or", "not", "in", "filter", "by", "as"]
        .iter()
        .any(|k| word.eq_ignore_ascii_case(k))
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub span: Span,
    /// True for the first token on its line: a command keyword there starts a new
    /// command even without a `|`, as in the console's multi-line editor.
    pub line_start: bool,
}

struct Lexer<'a> {
    text: &'a str,
    chars: Vec<(usize, char)>,
    pos: usize,
    tokens: Vec<Token>,
    line_start: bool,
}

pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, QueryError> {
    let mut lexer = Lexer {
        text,
        chars: text.char_indices().collect(),
        pos: 0,
        tokens: Vec::new(),
        line_start: true,
    };
    lexer.run()?;
    let end = lexer.span(lexer.chars.len(), lexer.chars.len());
    lexer.tokens.push(Token {
        tok: Tok::Eof,
        span: end,
        line_start: true,
    });
    Ok(lexer.tokens)
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == '@' || c == '$'
}

fn is_ident_continue(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '@' | '.' | '$')
}

impl Lexer<'_> {
    fn peek(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).map(|&(_, c)| c)
    }

    fn byte_at(&self, char_pos: usize) -> usize {
        self.chars
            .get(char_pos)
            .map_or(self.text.len(), |&(byte, _)| byte)
    }

    fn span(&self, start: usize, end: usize) -> Span {
        Span {
            start,
            end,
            byte_start: self.byte_at(start),
            byte_end: self.byte_at(end),
        }
    }

    fn push(&mut self, tok: Tok, start: usize) {
        let span = self.span(start, self.pos);
        self.tokens.push(Token {
            tok,
            span,
            line_start: self.line_start,
        });
        self.line_start = false;
    }

    fn slash_opens_regex(&self) -> bool {
        let n = self.tokens.len();
        let Some(prev) = self.tokens.last() else {
            return true;
        };
        if n >= 2
            && matches!(&self.tokens[n - 2].tok, Tok::Ident(w) if w.eq_ignore_ascii_case("parse"))
            && matches!(prev.tok, Tok::Ident(_) | Tok::Quoted(_))
        {
            return true;
        }
        !prev.tok.is_operand()
    }

    fn run(&mut self) -> Result<(), QueryError> {
        while let Some(c) = self.peek(0) {
            let start = self.pos;
            match c {
                '\n' => {
                    self.pos += 1;
                    self.line_start = true;
                }
                c if c.is_whitespace() => self.pos += 1,
                '#' => {
                    while self.peek(0).is_some_and(|c| c != '\n') {
                        self.pos += 1;
                    }
                }
                '"' | '\'' => {
                    let s = self.quoted(c)?;
                    self.push(Tok::Str(s), start);
                }
                '`' => {
                    let s = self.quoted('`')?;
                    self.push(Tok::Quoted(s), start);
                }
                '/' if self.slash_opens_regex() => {
                    let re = self.regex()?;
                    self.push(Tok::Regex(re), start);
                }
                c if c.is_ascii_digit()
                    || (c == '.' && self.peek(1).is_some_and(|d| d.is_ascii_digit())) =>
                {
                    let tok = self.number()?;
                    self.push(tok, start);
                }
                c if is_ident_start(c) => {
                    while self.peek(0).is_some_and(is_ident_continue) {
                        self.pos += 1;
                    }
                    let text = self.slice(start, self.pos).to_string();
                    self.push(Tok::Ident(text), start);
                }
                _ => {
                    let tok = self.operator(c)?;
                    self.push(tok, start);
                }
            }
        }
        Ok(())
    }

    fn slice(&self, start: usize, end: usize) -> &str {
        self.text
            .get(self.byte_at(start)..self.byte_at(end))
            .unwrap_or_default()
    }

    fn operator(&mut self, c: char) -> Result<Tok, QueryError> {
        let next = self.peek(1);
        let (tok, width) = match (c, next) {
            ('!', Some('=')) => (Tok::Ne, 2),
            ('<', Some('=')) => (Tok::Le, 2),
            ('>', Some('=')) => (Tok::Ge, 2),
            ('=', Some('~')) => (Tok::Match, 2),
            ('=', Some('=')) => (Tok::Eq, 2),
            ('<', Some('>')) => (Tok::Ne, 2),
            ('|', _) => (Tok::Pipe, 1),
            (',', _) => (Tok::Comma, 1),
            ('(', _) => (Tok::LParen, 1),
            (')', _) => (Tok::RParen, 1),
            ('[', _) => (Tok::LBracket, 1),
            (']', _) => (Tok::RBracket, 1),
            ('=', _) => (Tok::Eq, 1),
            ('<', _) => (Tok::Lt, 1),
            ('>', _) => (Tok::Gt, 1),
            ('+', _) => (Tok::Plus, 1),
            ('-', _) => (Tok::Minus, 1),
            ('*', _) => (Tok::Star, 1),
            ('/', _) => (Tok::Slash, 1),
            ('%', _) => (Tok::Percent, 1),
            ('^', _) => (Tok::Caret, 1),
            _ => {
                return Err(QueryError::new(
                    format!("Unexpected character '{c}'"),
                    self.span(self.pos, self.pos + 1),
                ));
            }
        };
        self.pos += width;
        Ok(tok)
    }

    /// A string or backtick name. Backslash escapes the delimiter, backslash itself and
    /// the usual `\n`/`\t`/`\r`; any other escape is kept verbatim so that text meant
    /// for a regex survives.
    fn quoted(&mut self, delim: char) -> Result<String, QueryError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek(0) {
                None => {
                    let what = if delim == '`' {
                        "Unterminated backtick-quoted field name"
                    } else {
                        "Unterminated string literal"
                    };
                    return Err(QueryError::new(what, self.span(start, self.pos)));
                }
                Some(c) if c == delim => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('\\') => {
                    match self.peek(1) {
                        Some(c) if c == delim || c == '\\' => out.push(c),
                        Some('n') => out.push('\n'),
                        Some('t') => out.push('\t'),
                        Some('r') => out.push('\r'),
                        Some(c) => {
                            out.push('\\');
                            out.push(c);
                        }
                        None => {
                            return Err(QueryError::new(
                                "Unterminated string literal",
                                self.span(start, self.pos + 1),
                            ));
                        }
                    }
                    self.pos += 2;
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// A `/regex/`; `\/` stands for a slash and every other escape is left for the
    /// regex engine.
    fn regex(&mut self) -> Result<String, QueryError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek(0) {
                None => {
                    return Err(QueryError::new(
                        "Unterminated regular expression",
                        self.span(start, self.pos),
                    ));
                }
                Some('/') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('\\') => match self.peek(1) {
                    Some('/') => {
                        out.push('/');
                        self.pos += 2;
                    }
                    Some(c) => {
                        out.push('\\');
                        out.push(c);
                        self.pos += 2;
                    }
                    None => {
                        return Err(QueryError::new(
                            "Unterminated regular expression",
                            self.span(start, self.pos + 1),
                        ));
                    }
                },
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn number(&mut self) -> Result<Tok, QueryError> {
        let start = self.pos;
        while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        if self.peek(0) == Some('.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
            while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1;
            }
        }
        // An exponent, but only when digits follow: `1e5` is a number, `1e` is not.
        if matches!(self.peek(0), Some('e' | 'E')) {
            let sign = usize::from(matches!(self.peek(1), Some('+' | '-')));
            if self.peek(1 + sign).is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1 + sign;
                while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                    self.pos += 1;
                }
            }
        }
        let digits_end = self.pos;
        let text = self.slice(start, digits_end).to_string();
        let value: f64 = text.parse().map_err(|_| {
            QueryError::new(
                format!("Invalid number '{text}'"),
                self.span(start, digits_end),
            )
        })?;
        if self.peek(0).is_some_and(|c| c.is_alphabetic()) {
            while self
                .peek(0)
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
            {
                self.pos += 1;
            }
            let unit = self.slice(digits_end, self.pos).to_string();
            return Ok(Tok::Duration(value, unit));
        }
        Ok(Tok::Number(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<Tok> {
        tokenize(text)
            .map(|t| t.into_iter().map(|t| t.tok).collect())
            .unwrap_or_default()
    }

    #[test]
    fn slash_is_division_after_operand_and_regex_otherwise() {
        assert_eq!(
            toks("a / 2"),
            vec![
                Tok::Ident("a".into()),
                Tok::Slash,
                Tok::Number(2.0),
                Tok::Eof
            ]
        );
        assert_eq!(
            toks("like /a\\/b/"),
            vec![
                Tok::Ident("like".into()),
                Tok::Regex("a/b".into()),
                Tok::Eof
            ]
        );
        assert_eq!(
            toks("parse @message /x/"),
            vec![
                Tok::Ident("parse".into()),
                Tok::Ident("@message".into()),
                Tok::Regex("x".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn offsets_count_characters_not_bytes() {
        let tokens = tokenize("\"é\" x").unwrap_or_default();
        assert_eq!(tokens[1].span.start, 4);
        assert_eq!(tokens[1].span.byte_start, 5);
    }

    #[test]
    fn unterminated_string_points_at_its_quote() {
        let err = tokenize("filter a = \"abc").err();
        assert_eq!(err.map(|e| (e.start, e.end)), Some((11, 15)));
    }
}
