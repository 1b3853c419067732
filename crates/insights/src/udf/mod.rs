//! The engine's own DataFusion functions: everything the language needs that
//! DataFusion's built-ins do not do the Insights way (JSON field discovery, `parse`,
//! dynamic comparisons, natural sort order, time buckets, IP checks, `@ptr`).
//!
//! All of them are one [`Udf`] type dispatching on [`Op`]; the parameters fixed by the
//! query (a JSON path, a compiled regex, a period) live in the function itself rather
//! than arriving as literal arguments, so they are prepared once per query rather than
//! once per batch.

mod dynamic;
mod ip;
mod lambda;
mod parse;
mod pct;
mod strings;
pub(crate) mod time;

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanBuilder, StringViewBuilder};
use datafusion::arrow::datatypes::{DataType, Int64Type, TimeUnit, TimestampMillisecondType};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{
    AggregateUDF, ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use memchr::memmem;

pub(crate) use dynamic::{CmpOp, format_number, format_timestamp, parse_number};
pub(crate) use ip::Family;
pub(crate) use lambda::FIELDS as LAMBDA_FIELDS;
pub(crate) use parse::Glob;

use crate::ast::Period;
use crate::json_fields;
use crate::ptr::encode_ptr;
use crate::regex_util::{self, CompiledRegex};
use strings::{SliceBuilder, Strings};

/// What a [`Udf`] computes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Op {
    /// The discovered JSON field at this flattened path of the message.
    JsonField(String),
    /// A discovered Lambda platform field (`@duration`, ...).
    LambdaField(String),
    ToNumber,
    NumberText,
    TimeText,
    Compare(CmpOp),
    /// Substring test: `like "text"` and `strcontains`.
    Contains,
    /// Regex search: `like /re/` and `=~ /re/`.
    RegexMatch(String),
    SortKey,
    Round {
        period: Period,
        up: bool,
    },
    ParseGlob(String),
    /// A regex `parse`; the second part lists the capture group of each output.
    ParseRegex(String, Vec<usize>),
    ValidIp(Family),
    InSubnet(Family),
    /// `@ptr` from group id, stream, timestamp and sequence number.
    Ptr,
}

#[derive(Debug)]
pub(crate) struct Udf {
    op: Op,
    name: String,
    signature: Signature,
    output: DataType,
    regex: Option<Arc<CompiledRegex>>,
    glob: Option<Glob>,
}

impl PartialEq for Udf {
    fn eq(&self, other: &Udf) -> bool {
        self.op == other.op
    }
}

impl Eq for Udf {}

impl Hash for Udf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.op.hash(state);
    }
}

pub(crate) fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

impl Udf {
    fn new(op: Op) -> Result<Udf> {
        let mut regex = None;
        let mut glob = None;
        let (name, output) = match &op {
            Op::JsonField(path) => (format!("json_field[{path}]"), DataType::Utf8View),
            Op::LambdaField(name) => (format!("lambda_field[{name}]"), DataType::Utf8View),
            Op::ToNumber => ("to_number".into(), DataType::Float64),
            Op::NumberText => ("number_text".into(), DataType::Utf8View),
            Op::TimeText => ("time_text".into(), DataType::Utf8View),
            Op::Compare(op) => (format!("dyn_compare[{op:?}]"), DataType::Boolean),
            Op::Contains => ("contains_text".into(), DataType::Boolean),
            Op::RegexMatch(pattern) => {
                regex = Some(Arc::new(compile(pattern)?));
                (format!("regex_match[{pattern}]"), DataType::Boolean)
            }
            Op::SortKey => ("natural_sort_key".into(), DataType::Binary),
            Op::Round { period, up } => (
                format!(
                    "{}[{}{:?}]",
                    if *up { "dateceil" } else { "datefloor" },
                    period.amount,
                    period.unit
                ),
                timestamp_type(),
            ),
            Op::ParseGlob(pattern) => {
                let parsed = Glob::new(pattern);
                let output = parse::output_type(parsed.outputs());
                glob = Some(parsed);
                (format!("parse_glob[{pattern}]"), output)
            }
            Op::ParseRegex(pattern, groups) => {
                regex = Some(Arc::new(compile(pattern)?));
                (
                    format!("parse_regex[{pattern}]{groups:?}"),
                    parse::output_type(groups.len()),
                )
            }
            Op::ValidIp(family) => (format!("is_valid_ip[{family:?}]"), DataType::Boolean),
            Op::InSubnet(family) => (format!("is_ip_in_subnet[{family:?}]"), DataType::Boolean),
            Op::Ptr => ("ptr".into(), DataType::Utf8View),
        };
        Ok(Udf {
            op,
            name,
            signature: Signature::variadic_any(Volatility::Immutable),
            output,
            regex,
            glob,
        })
    }

    fn regex(&self) -> Result<&CompiledRegex> {
        match &self.regex {
            Some(regex) => Ok(regex),
            None => exec_err!("{} has no compiled regex", self.name),
        }
    }
}

fn compile(pattern: &str) -> Result<CompiledRegex> {
    regex_util::compile(pattern).map_err(datafusion::error::DataFusionError::Plan)
}

/// An expression calling the engine function `op` on `args`.
pub(crate) fn call(op: Op, args: Vec<Expr>) -> Result<Expr> {
    Ok(ScalarUDF::new_from_impl(Udf::new(op)?).call(args))
}

/// The `pct` aggregate for one percentile.
pub(crate) fn pct(percentile: f64, arg: Expr) -> Expr {
    AggregateUDF::new_from_impl(pct::Pct::new(percentile)).call(vec![arg])
}

fn arg(arrays: &[ArrayRef], index: usize) -> Result<&ArrayRef> {
    match arrays.get(index) {
        Some(array) => Ok(array),
        None => exec_err!("missing argument {index}"),
    }
}

impl ScalarUDFImpl for Udf {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.output.clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        // Comparisons against one number are the hot path of most filters.
        if let (Op::Compare(op), [left, ColumnarValue::Scalar(ScalarValue::Float64(Some(n)))]) =
            (&self.op, args.args.as_slice())
        {
            let left = left.to_array(args.number_rows)?;
            return Ok(ColumnarValue::Array(dynamic::compare_with_number(
                *op, &left, *n,
            )?));
        }
        if let (Op::Contains, [hay, ColumnarValue::Scalar(needle)]) =
            (&self.op, args.args.as_slice())
        {
            let hay = hay.to_array(args.number_rows)?;
            let needle = match needle {
                ScalarValue::Utf8(s) | ScalarValue::Utf8View(s) | ScalarValue::LargeUtf8(s) => {
                    s.clone()
                }
                _ => None,
            };
            return Ok(ColumnarValue::Array(contains_fixed(
                &hay,
                needle.as_deref(),
            )?));
        }
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let result = match &self.op {
            Op::JsonField(path) => json_column(arg(&arrays, 0)?, path)?,
            Op::LambdaField(name) => lambda::column(arg(&arrays, 0)?, name)?,
            Op::ToNumber => dynamic::to_number(arg(&arrays, 0)?)?,
            Op::NumberText => dynamic::number_to_text(arg(&arrays, 0)?)?,
            Op::TimeText => dynamic::time_to_text(arg(&arrays, 0)?)?,
            Op::Compare(op) => dynamic::compare_columns(*op, arg(&arrays, 0)?, arg(&arrays, 1)?)?,
            Op::Contains => contains_columns(arg(&arrays, 0)?, arg(&arrays, 1)?)?,
            Op::RegexMatch(_) => regex_column(self.regex()?, arg(&arrays, 0)?)?,
            Op::SortKey => dynamic::sort_keys(arg(&arrays, 0)?)?,
            Op::Round { period, up } => time::round_column(arg(&arrays, 0)?, *period, *up)?,
            Op::ParseGlob(_) => match &self.glob {
                Some(glob) => parse::run_glob(glob, arg(&arrays, 0)?)?,
                None => return exec_err!("parse glob was not prepared"),
            },
            Op::ParseRegex(_, groups) => parse::run_regex(self.regex()?, groups, arg(&arrays, 0)?)?,
            Op::ValidIp(family) => ip::is_valid(arg(&arrays, 0)?, *family)?,
            Op::InSubnet(family) => ip::subnet_column(arg(&arrays, 0)?, arg(&arrays, 1)?, *family)?,
            Op::Ptr => ptr_column(&arrays)?,
        };
        Ok(ColumnarValue::Array(result))
    }
}

fn json_column(messages: &ArrayRef, path: &str) -> Result<ArrayRef> {
    let strings = Strings::new(messages)?;
    let mut out = SliceBuilder::new(&strings);
    for row in 0..strings.len() {
        let Some(message) = strings.get(row) else {
            out.append_null();
            continue;
        };
        match json_fields::find(message, path) {
            Some(found) if found.escaped => out.append_value(&found.text(message)),
            Some(found) => out.append_slice(row, found.start, found.end)?,
            None => out.append_null(),
        }
    }
    Ok(out.finish())
}

fn contains_fixed(hay: &ArrayRef, needle: Option<&str>) -> Result<ArrayRef> {
    let strings = Strings::new(hay)?;
    let mut out = BooleanBuilder::with_capacity(strings.len());
    let Some(needle) = needle else {
        out.append_nulls(strings.len());
        return Ok(Arc::new(out.finish()));
    };
    let finder = memmem::Finder::new(needle.as_bytes());
    for i in 0..strings.len() {
        match strings.get(i) {
            Some(text) => out.append_value(finder.find(text.as_bytes()).is_some()),
            None => out.append_null(),
        }
    }
    Ok(Arc::new(out.finish()))
}

fn contains_columns(hay: &ArrayRef, needle: &ArrayRef) -> Result<ArrayRef> {
    let hay = Strings::new(hay)?;
    let needle = Strings::new(needle)?;
    let mut out = BooleanBuilder::with_capacity(hay.len());
    for i in 0..hay.len() {
        match (hay.get(i), needle.get(i)) {
            (Some(h), Some(n)) => {
                out.append_value(memmem::find(h.as_bytes(), n.as_bytes()).is_some())
            }
            _ => out.append_null(),
        }
    }
    Ok(Arc::new(out.finish()))
}

fn regex_column(regex: &CompiledRegex, array: &ArrayRef) -> Result<ArrayRef> {
    let strings = Strings::new(array)?;
    let mut out = BooleanBuilder::with_capacity(strings.len());
    for i in 0..strings.len() {
        match strings.get(i) {
            Some(text) => out.append_value(regex.regex.is_match(text)),
            None => out.append_null(),
        }
    }
    Ok(Arc::new(out.finish()))
}

fn ptr_column(arrays: &[ArrayRef]) -> Result<ArrayRef> {
    let groups = Strings::new(arg(arrays, 0)?)?;
    let streams = Strings::new(arg(arrays, 1)?)?;
    let Some(times) = arg(arrays, 2)?.as_primitive_opt::<TimestampMillisecondType>() else {
        return exec_err!("@ptr needs the event timestamp");
    };
    let Some(seqs) = arg(arrays, 3)?.as_primitive_opt::<Int64Type>() else {
        return exec_err!("@ptr needs the event sequence number");
    };
    let mut out = StringViewBuilder::with_capacity(groups.len());
    for i in 0..groups.len() {
        let ptr = encode_ptr(
            groups.get(i).unwrap_or_default(),
            streams.get(i).unwrap_or_default(),
            if times.is_null(i) { 0 } else { times.value(i) },
            if seqs.is_null(i) { 0 } else { seqs.value(i) },
        );
        out.append_value(ptr);
    }
    Ok(Arc::new(out.finish()))
}
