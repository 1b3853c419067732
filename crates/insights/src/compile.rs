//! Translation of query expressions into DataFusion expressions under Insights'
//! dynamic typing (see `udf::dynamic` for the rules).
//!
//! Every compiled expression carries a [`Kind`]: discovered and parsed fields are
//! `Text` that may hold numbers, arithmetic yields `Num`, comparisons and predicates
//! `Bool`, and `@timestamp`/`bin()` `Time`. Conversions between kinds are inserted where
//! an operator needs them, so DataFusion sees a statically typed plan and runs native
//! kernels wherever both sides already agree (a string field against a string literal,
//! numbers against numbers).

use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::functions;
use datafusion::logical_expr::{Expr, Operator, binary_expr, case, cast, lit, not};

use crate::Result;
use crate::ast::{self, BinOp, ExprKind};
use crate::udf::{self, CmpOp, Family, Op, timestamp_type};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    Num,
    Bool,
    Time,
}

#[derive(Debug, Clone)]
pub(crate) struct Typed {
    pub expr: Expr,
    pub kind: Kind,
}

pub(crate) fn text_lit(value: Option<&str>) -> Expr {
    lit(ScalarValue::Utf8View(value.map(str::to_string)))
}

impl Typed {
    pub(crate) fn new(expr: Expr, kind: Kind) -> Typed {
        Typed { expr, kind }
    }

    pub(crate) fn null() -> Typed {
        Typed::new(text_lit(None), Kind::Text)
    }

    fn is_literal(&self) -> bool {
        matches!(self.expr, Expr::Literal(..))
    }

    pub(crate) fn into_text(self) -> Result<Expr> {
        Ok(match self.kind {
            Kind::Text => self.expr,
            Kind::Num => udf::call(Op::NumberText, vec![self.expr])?,
            Kind::Time => udf::call(Op::TimeText, vec![self.expr])?,
            Kind::Bool => case(self.expr)
                .when(lit(true), text_lit(Some("true")))
                .when(lit(false), text_lit(Some("false")))
                .end()?,
        })
    }

    pub(crate) fn into_num(self) -> Result<Expr> {
        Ok(match self.kind {
            Kind::Num => self.expr,
            Kind::Text => udf::call(Op::ToNumber, vec![self.expr])?,
            Kind::Bool => cast(self.expr, DataType::Float64),
            Kind::Time => cast(cast(self.expr, DataType::Int64), DataType::Float64),
        })
    }

    pub(crate) fn into_bool(self) -> Result<Expr> {
        Ok(match self.kind {
            Kind::Bool => self.expr,
            Kind::Num => self.expr.not_eq(lit(0.0)),
            Kind::Text => self.expr.not_eq(text_lit(Some(""))),
            Kind::Time => self.expr.is_not_null(),
        })
    }

    pub(crate) fn into_time(self) -> Result<Expr> {
        Ok(match self.kind {
            Kind::Time => self.expr,
            _ => cast(cast(self.into_num()?, DataType::Int64), timestamp_type()),
        })
    }
}

/// How names and aggregates resolve where an expression is compiled.
pub(crate) trait Env {
    fn field(&mut self, name: &str) -> Result<Typed>;

    /// The event time that `bin()` rounds.
    fn time(&mut self) -> Result<Typed>;

    /// An aggregate call: a `stats` result computes it; elsewhere it can only name an
    /// earlier `stats` result by its text (the checker guarantees one of the two).
    fn aggregate(&mut self, name: &str, args: &[ast::Expr], text: &str) -> Result<Typed> {
        let _ = (args, text);
        Err(datafusion::error::DataFusionError::Plan(format!(
            "aggregate function {name} outside stats"
        ))
        .into())
    }
}

pub(crate) fn compile(expr: &ast::Expr, env: &mut dyn Env) -> Result<Typed> {
    Ok(match &expr.kind {
        ExprKind::Field(name) => env.field(name)?,
        ExprKind::Number(n) => Typed::new(lit(*n), Kind::Num),
        ExprKind::Str(s) => Typed::new(text_lit(Some(s)), Kind::Text),
        ExprKind::Neg(inner) => Typed::new(
            Expr::Negative(Box::new(compile(inner, env)?.into_num()?)),
            Kind::Num,
        ),
        ExprKind::Not(inner) => Typed::new(not(compile(inner, env)?.into_bool()?), Kind::Bool),
        ExprKind::Binary(op, left, right) => binary(*op, left, right, env)?,
        ExprKind::Like {
            subject,
            pattern,
            negated,
        } => {
            let subject = compile(subject, env)?.into_text()?;
            let matched = match &pattern.kind {
                ExprKind::Regex(re) => udf::call(Op::RegexMatch(re.clone()), vec![subject])?,
                _ => {
                    let needle = compile(pattern, env)?.into_text()?;
                    udf::call(Op::Contains, vec![subject, needle])?
                }
            };
            Typed::new(if *negated { not(matched) } else { matched }, Kind::Bool)
        }
        ExprKind::In {
            subject,
            list,
            negated,
        } => membership(subject, list, *negated, env)?,
        ExprKind::Call {
            name, args, text, ..
        } => call(name, args, text, env)?,
        ExprKind::Regex(_) | ExprKind::Duration(_) | ExprKind::Star | ExprKind::List(_) => {
            return Err(datafusion::error::DataFusionError::Plan(format!(
                "unexpected {:?} in an expression",
                expr.kind
            ))
            .into());
        }
    })
}

fn binary(op: BinOp, left: &ast::Expr, right: &ast::Expr, env: &mut dyn Env) -> Result<Typed> {
    let l = compile(left, env)?;
    let r = compile(right, env)?;
    if op.is_comparison() {
        return comparison(op, l, r);
    }
    let (l, r) = match op {
        BinOp::And | BinOp::Or => {
            let (l, r) = (l.into_bool()?, r.into_bool()?);
            let combined = if op == BinOp::And { l.and(r) } else { l.or(r) };
            return Ok(Typed::new(combined, Kind::Bool));
        }
        _ => (l.into_num()?, r.into_num()?),
    };
    // Division and remainder by zero have no value rather than failing the query.
    let nonzero = |e: Expr| functions::core::nullif().call(vec![e, lit(0.0)]);
    let expr = match op {
        BinOp::Add => l + r,
        BinOp::Sub => l - r,
        BinOp::Mul => l * r,
        BinOp::Div => l / nonzero(r),
        BinOp::Mod => l % nonzero(r),
        _ => functions::math::power().call(vec![l, r]),
    };
    Ok(Typed::new(expr, Kind::Num))
}

fn cmp_op(op: BinOp) -> (CmpOp, Operator) {
    match op {
        BinOp::Eq => (CmpOp::Eq, Operator::Eq),
        BinOp::Ne => (CmpOp::Ne, Operator::NotEq),
        BinOp::Lt => (CmpOp::Lt, Operator::Lt),
        BinOp::Le => (CmpOp::Le, Operator::LtEq),
        BinOp::Gt => (CmpOp::Gt, Operator::Gt),
        _ => (CmpOp::Ge, Operator::GtEq),
    }
}

fn flipped(op: BinOp) -> BinOp {
    match op {
        BinOp::Lt => BinOp::Gt,
        BinOp::Le => BinOp::Ge,
        BinOp::Gt => BinOp::Lt,
        BinOp::Ge => BinOp::Le,
        other => other,
    }
}

/// A text literal read as a time: epoch milliseconds, or a date and time in one of the
/// usual ISO-like layouts (UTC).
fn literal_time(text: &str) -> Option<i64> {
    if let Some(n) = udf::parse_number(text) {
        return Some(n as i64);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_millis());
    }
    for layout in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, layout) {
            return Some(t.and_utc().timestamp_millis());
        }
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
}

pub(crate) fn comparison(op: BinOp, l: Typed, r: Typed) -> Result<Typed> {
    let (dyn_op, native) = cmp_op(op);
    let native_cmp = |a: Expr, b: Expr| Typed::new(binary_expr(a, native, b), Kind::Bool);
    Ok(match (l.kind, r.kind) {
        (Kind::Num, Kind::Num) | (Kind::Time, Kind::Time) | (Kind::Bool, Kind::Bool) => {
            native_cmp(l.expr, r.expr)
        }
        (Kind::Time, Kind::Text) | (Kind::Text, Kind::Time) => {
            let (time, text, op) = if l.kind == Kind::Time {
                (l, r, op)
            } else {
                (r, l, flipped(op))
            };
            let literal = match &text.expr {
                Expr::Literal(ScalarValue::Utf8View(Some(s)), _) => literal_time(s),
                _ => None,
            };
            match literal {
                Some(millis) => {
                    let (_, native) = cmp_op(op);
                    let value = lit(ScalarValue::TimestampMillisecond(
                        Some(millis),
                        Some("UTC".into()),
                    ));
                    Typed::new(binary_expr(time.expr, native, value), Kind::Bool)
                }
                None => {
                    let (dyn_op, _) = cmp_op(op);
                    let time = time.into_text()?;
                    Typed::new(
                        udf::call(Op::Compare(dyn_op), vec![time, text.expr])?,
                        Kind::Bool,
                    )
                }
            }
        }
        (Kind::Text, Kind::Text) if l.is_literal() || r.is_literal() => native_cmp(l.expr, r.expr),
        (Kind::Text, Kind::Text) | (Kind::Text, Kind::Num) => Typed::new(
            udf::call(Op::Compare(dyn_op), vec![l.expr, r.expr])?,
            Kind::Bool,
        ),
        (Kind::Num, Kind::Text) => {
            let (dyn_op, _) = cmp_op(flipped(op));
            Typed::new(
                udf::call(Op::Compare(dyn_op), vec![r.expr, l.expr])?,
                Kind::Bool,
            )
        }
        _ => native_cmp(l.into_num()?, r.into_num()?),
    })
}

fn membership(
    subject: &ast::Expr,
    list: &[ast::Expr],
    negated: bool,
    env: &mut dyn Env,
) -> Result<Typed> {
    let subject = compile(subject, env)?;
    let items = list
        .iter()
        .map(|item| compile(item, env))
        .collect::<Result<Vec<_>>>()?;
    let uniform = items
        .iter()
        .all(|item| item.is_literal() && item.kind == subject.kind);
    if uniform && matches!(subject.kind, Kind::Text | Kind::Num) {
        let values = items.into_iter().map(|item| item.expr).collect();
        return Ok(Typed::new(
            subject.expr.in_list(values, negated),
            Kind::Bool,
        ));
    }
    let mut any: Option<Expr> = None;
    for item in items {
        let test = comparison(BinOp::Eq, subject.clone(), item)?.expr;
        any = Some(match any {
            Some(previous) => previous.or(test),
            None => test,
        });
    }
    let any = any.unwrap_or_else(|| lit(false));
    Ok(Typed::new(if negated { not(any) } else { any }, Kind::Bool))
}

fn args_of(args: &[ast::Expr], env: &mut dyn Env) -> Result<Vec<Typed>> {
    args.iter().map(|a| compile(a, env)).collect()
}

fn texts(args: &[ast::Expr], env: &mut dyn Env) -> Result<Vec<Expr>> {
    args_of(args, env)?
        .into_iter()
        .map(Typed::into_text)
        .collect()
}

fn nums(args: &[ast::Expr], env: &mut dyn Env) -> Result<Vec<Expr>> {
    args_of(args, env)?
        .into_iter()
        .map(Typed::into_num)
        .collect()
}

fn one(mut values: Vec<Expr>) -> Expr {
    if values.is_empty() {
        lit(ScalarValue::Null)
    } else {
        values.swap_remove(0)
    }
}

fn period_arg(args: &[ast::Expr], index: usize) -> Result<ast::Period> {
    match args.get(index).map(|a| &a.kind) {
        Some(ExprKind::Duration(period)) => Ok(*period),
        _ => Err(datafusion::error::DataFusionError::Plan("expected a time period".into()).into()),
    }
}

fn call(name: &str, args: &[ast::Expr], written: &str, env: &mut dyn Env) -> Result<Typed> {
    use functions::{core, math, string, unicode};
    let num = |e: Expr| Typed::new(e, Kind::Num);
    let boolean = |e: Expr| Typed::new(e, Kind::Bool);
    let text = |e: Expr| Typed::new(e, Kind::Text);
    Ok(match name {
        "abs" => num(math::abs().call(nums(args, env)?)),
        "ceil" => num(math::ceil().call(nums(args, env)?)),
        "floor" => num(math::floor().call(nums(args, env)?)),
        "log" => {
            let x = one(nums(args, env)?);
            num(case(x.clone().gt(lit(0.0)))
                .when(lit(true), math::ln().call(vec![x]))
                .end()?)
        }
        "sqrt" => {
            let x = one(nums(args, env)?);
            num(case(x.clone().gt_eq(lit(0.0)))
                .when(lit(true), math::sqrt().call(vec![x]))
                .end()?)
        }
        "greatest" => num(core::greatest().call(nums(args, env)?)),
        "least" => num(core::least().call(nums(args, env)?)),
        "bin" => {
            let period = period_arg(args, 0)?;
            let time = env.time()?.into_time()?;
            Typed::new(
                udf::call(Op::Round { period, up: false }, vec![time])?,
                Kind::Time,
            )
        }
        "datefloor" | "dateceil" => {
            let period = period_arg(args, 1)?;
            let time = compile(&args[0], env)?.into_time()?;
            let up = name == "dateceil";
            Typed::new(udf::call(Op::Round { period, up }, vec![time])?, Kind::Time)
        }
        "frommillis" => Typed::new(compile(&args[0], env)?.into_time()?, Kind::Time),
        "tomillis" => {
            let time = Typed::new(compile(&args[0], env)?.into_time()?, Kind::Time);
            num(time.into_num()?)
        }
        "ispresent" => boolean(compile(&args[0], env)?.expr.is_not_null()),
        "coalesce" => {
            let values = args_of(args, env)?;
            let kind = values.first().map_or(Kind::Text, |v| v.kind);
            if values.iter().all(|v| v.kind == kind) {
                Typed::new(
                    core::coalesce().call(values.into_iter().map(|v| v.expr).collect()),
                    kind,
                )
            } else {
                let values = values
                    .into_iter()
                    .map(Typed::into_text)
                    .collect::<Result<Vec<_>>>()?;
                text(core::coalesce().call(values))
            }
        }
        "unmask" => compile(&args[0], env)?,
        "isvalidip" | "isvalidipv4" | "isvalidipv6" => {
            let family = match name {
                "isvalidipv4" => Family::V4,
                "isvalidipv6" => Family::V6,
                _ => Family::Any,
            };
            boolean(udf::call(Op::ValidIp(family), texts(args, env)?)?)
        }
        "isipinsubnet" | "isipv4insubnet" | "isipv6insubnet" => {
            let family = match name {
                "isipv4insubnet" => Family::V4,
                "isipv6insubnet" => Family::V6,
                _ => Family::Any,
            };
            boolean(udf::call(Op::InSubnet(family), texts(args, env)?)?)
        }
        "isempty" => {
            let x = one(texts(args, env)?);
            boolean(x.clone().is_null().or(x.eq(text_lit(Some("")))))
        }
        "isblank" => {
            let x = one(texts(args, env)?);
            let trimmed = string::btrim().call(vec![x.clone(), text_lit(Some(" \t\r\n"))]);
            boolean(x.is_null().or(trimmed.eq(text_lit(Some("")))))
        }
        "concat" => text(string::concat().call(texts(args, env)?)),
        "ltrim" => text(trim_call(string::ltrim(), args, env)?),
        "rtrim" => text(trim_call(string::rtrim(), args, env)?),
        "trim" => text(trim_call(string::btrim(), args, env)?),
        "strlen" => num(cast(
            unicode::character_length().call(texts(args, env)?),
            DataType::Float64,
        )),
        "toupper" => text(string::upper().call(texts(args, env)?)),
        "tolower" => text(string::lower().call(texts(args, env)?)),
        "substr" => {
            let mut values = args_of(args, env)?.into_iter();
            let (Some(s), Some(start)) = (values.next(), values.next()) else {
                return Ok(Typed::null());
            };
            let s = s.into_text()?;
            // Insights counts from 0, DataFusion from 1.
            let start = cast(start.into_num()? + lit(1.0), DataType::Int64);
            let mut call_args = vec![s, start];
            if let Some(length) = values.next() {
                call_args.push(cast(length.into_num()?, DataType::Int64));
            }
            text(unicode::substr().call(call_args))
        }
        "replace" => text(string::replace().call(texts(args, env)?)),
        "strcontains" => {
            let found = udf::call(Op::Contains, texts(args, env)?)?;
            num(cast(found, DataType::Float64))
        }
        _ => env.aggregate(name, args, written)?,
    })
}

fn trim_call(
    function: std::sync::Arc<datafusion::logical_expr::ScalarUDF>,
    args: &[ast::Expr],
    env: &mut dyn Env,
) -> Result<Expr> {
    let mut values = texts(args, env)?;
    if values.len() == 1 {
        values.push(text_lit(Some(" \t\r\n")));
    }
    Ok(function.call(values))
}
