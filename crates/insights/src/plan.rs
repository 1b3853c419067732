//! Builds and runs the DataFusion plan for a checked query.
//!
//! The pipeline is applied command by command to a DataFrame over the caller's events.
//! Field names resolve through a scope: names defined by `fields ... as`, `parse` and
//! `stats` map to columns; system fields map to the event columns; any other name is a
//! discovered JSON field, extracted where it is used. Until the first `stats` every row
//! is an event; after it, rows are groups and only that `stats`' results are in scope.
//!
//! Ordering follows the documentation: events come newest first unless sorted
//! (`dedup`'s page states the default descending `@timestamp` order), and at most
//! 10,000 rows are returned. `stats` results with no `sort` come in ascending order of
//! their group keys so results are deterministic.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::AsArray;
use datafusion::arrow::compute::cast as cast_array;
use datafusion::arrow::datatypes::DataType;
use datafusion::functions;
use datafusion::functions_aggregate::expr_fn as agg;
use datafusion::functions_window::expr_fn::row_number;
use datafusion::logical_expr::expr::NullTreatment;
use datafusion::logical_expr::expr::Sort;
use datafusion::logical_expr::{Expr, ExprFunctionExt, case, cast, col, lit};
use datafusion::prelude::{DataFrame, SessionContext};
use futures::StreamExt;

use crate::Result;
use crate::ast::{self, CommandKind, ExprKind, ParsePattern};
use crate::compile::{Env, Kind, Typed, compile, text_lit};
use crate::counting::{Counter, CountingTable};
use crate::patterns;
use crate::regex_util;
use crate::udf::{self, LAMBDA_FIELDS, Op, timestamp_type};

/// Rows returned when the query has no `limit`, as StartQuery's default.
pub(crate) const DEFAULT_LIMIT: usize = 10_000;

/// The event columns as the plan names them (the input relation's own names).
pub(crate) mod columns {
    pub const TIME: &str = "event_time";
    pub const INGESTION: &str = "ingestion_time";
    pub const SEQ: &str = "seq";
    pub const GROUP_ID: &str = "group_id";
    pub const GROUP: &str = "log_group";
    pub const STREAM: &str = "log_stream";
    pub const MESSAGE: &str = "message";
    pub const ACCOUNT: &str = "account_id";
}

#[derive(Debug, Clone)]
struct Binding {
    column: String,
    kind: Kind,
}

/// What the result rows show.
#[derive(Debug, Default)]
struct Output {
    /// Fields named by `fields` since the last `stats`, in first-mention order.
    fields: Vec<String>,
    /// The last `display`, which wins over everything else.
    display: Option<Vec<String>>,
    /// The last `stats`' results: group keys, then aggregates.
    stats: Vec<String>,
}

pub(crate) struct Planned {
    pub frame: DataFrame,
    /// Result field names, in order, matching the frame's first columns.
    pub names: Vec<String>,
    /// Whether the last column is `@ptr` (event rows, not `stats` groups).
    pub has_ptr: bool,
}

pub(crate) struct Counters {
    pub scanned: Arc<Counter>,
    pub matched: Arc<Counter>,
}

pub(crate) struct Planner<'a> {
    ctx: &'a SessionContext,
    df: DataFrame,
    scope: HashMap<String, Binding>,
    /// Whether rows are still events (no `stats` yet).
    events: bool,
    /// After `stats`, the time column `bin()` and `earliest`/`latest` use.
    time: Option<String>,
    order: Vec<Sort>,
    output: Output,
    next_id: usize,
}

/// Where the matched-records counter goes: before the first command that drops
/// matching events for reasons other than filtering.
fn match_boundary(commands: &[ast::Command]) -> usize {
    commands
        .iter()
        .position(|c| {
            matches!(
                c.kind,
                CommandKind::Stats { .. }
                    | CommandKind::Pattern(_)
                    | CommandKind::Diff
                    | CommandKind::Limit(_)
                    | CommandKind::Dedup(_)
            )
        })
        .unwrap_or(commands.len())
}

async fn counted(ctx: &SessionContext, df: DataFrame, counter: Arc<Counter>) -> Result<DataFrame> {
    let plan = df.create_physical_plan().await?;
    Ok(ctx.read_table(Arc::new(CountingTable::new(plan, counter)))?)
}

fn default_event_order() -> Vec<Sort> {
    vec![
        col(columns::TIME).sort(false, false),
        col(columns::SEQ).sort(false, false),
        col(columns::GROUP_ID).sort(true, false),
        col(columns::STREAM).sort(true, false),
    ]
}

/// Sorts a value of any kind: text in the documented natural order, others natively.
fn sort_expr(typed: Typed, ascending: bool) -> Result<Sort> {
    let expr = match typed.kind {
        Kind::Text => udf::call(Op::SortKey, vec![typed.expr])?,
        _ => typed.expr,
    };
    Ok(expr.sort(ascending, false))
}

impl<'a> Planner<'a> {
    fn new(ctx: &'a SessionContext, df: DataFrame) -> Planner<'a> {
        Planner {
            ctx,
            df,
            scope: HashMap::new(),
            events: true,
            time: None,
            order: default_event_order(),
            output: Output::default(),
            next_id: 0,
        }
    }

    /// `previous` holds the events of the period before the query's, which `diff`
    /// compares with; without it that period counts as empty.
    pub(crate) async fn run(
        ctx: &'a SessionContext,
        events: DataFrame,
        previous: Option<DataFrame>,
        commands: &[ast::Command],
        counters: &Counters,
    ) -> Result<Planned> {
        let df = counted(ctx, events, Arc::clone(&counters.scanned)).await?;
        let mut planner = Planner::new(ctx, normalize(df)?);
        let boundary = match_boundary(commands);
        for (index, command) in commands.iter().enumerate() {
            if index == boundary {
                planner.count_matches(counters).await?;
            }
            let next_is_diff = matches!(
                commands.get(index + 1).map(|c| &c.kind),
                Some(CommandKind::Diff)
            );
            let after_pattern = index
                .checked_sub(1)
                .and_then(|i| commands.get(i))
                .is_some_and(|c| matches!(c.kind, CommandKind::Pattern(_)));
            let prefix = commands.get(..index).unwrap_or_default();
            match &command.kind {
                CommandKind::Pattern(expr) => {
                    let mut shapes = patterns::Shapes::new(if next_is_diff { 2 } else { 1 });
                    if let (Some(df), true) = (&previous, next_is_diff) {
                        Self::earlier_values(ctx, df.clone(), prefix, expr, &mut shapes).await?;
                    }
                    planner.pattern(expr, shapes).await?;
                }
                // The pattern before it already compared the periods.
                CommandKind::Diff if after_pattern => {}
                CommandKind::Diff => {
                    let message = ast::Expr {
                        kind: ExprKind::Field("@message".into()),
                        span: command.keyword,
                    };
                    let mut shapes = patterns::Shapes::new(2);
                    if let Some(df) = &previous {
                        Self::earlier_values(ctx, df.clone(), prefix, &message, &mut shapes)
                            .await?;
                    }
                    planner.pattern(&message, shapes).await?;
                }
                _ => planner.command(command)?,
            }
        }
        if boundary == commands.len() {
            planner.count_matches(counters).await?;
        }
        planner.finish()
    }

    /// Adds the values `expr` takes over the previous period's events after `prefix`,
    /// the commands before the `pattern` or `diff` (the checker allows no aggregation
    /// there), to `shapes` as its second set.
    async fn earlier_values(
        ctx: &'a SessionContext,
        events: DataFrame,
        prefix: &[ast::Command],
        expr: &ast::Expr,
        shapes: &mut patterns::Shapes,
    ) -> Result<()> {
        let mut planner = Planner::new(ctx, normalize(events)?);
        for command in prefix {
            planner.command(command)?;
        }
        planner.values(expr, shapes, 1).await
    }

    /// Adds every present value of `expr` at this point of the pipeline, as text, to
    /// `shapes` as set `set`, batch by batch: no value is kept.
    async fn values(
        &mut self,
        expr: &ast::Expr,
        shapes: &mut patterns::Shapes,
        set: usize,
    ) -> Result<()> {
        let value = compile(expr, &mut RowEnv(self))?.into_text()?;
        let mut stream = self
            .df
            .clone()
            .select(vec![value.alias("__value")])?
            .execute_stream()
            .await?;
        while let Some(batch) = stream.next().await {
            let column = cast_array(batch?.column(0), &DataType::Utf8)?;
            for value in column.as_string::<i32>().iter().flatten() {
                shapes.add(set, value);
            }
        }
        Ok(())
    }

    /// `pattern` (and `diff`, when `shapes` already holds the previous period's values
    /// as a second set): the rows become patterns, and only the pattern fields are in
    /// scope.
    async fn pattern(&mut self, expr: &ast::Expr, mut shapes: patterns::Shapes) -> Result<()> {
        self.values(expr, &mut shapes, 0).await?;
        let table = patterns::table(shapes)?;
        self.df = self.ctx.read_batch(table.batch)?;
        self.scope = table
            .names
            .iter()
            .enumerate()
            .map(|(index, (name, kind))| {
                let binding = Binding {
                    column: format!("__pat{index}"),
                    kind: *kind,
                };
                (name.to_string(), binding)
            })
            .collect();
        self.events = false;
        self.time = None;
        self.order = vec![col(patterns::RANK).sort(true, false)];
        self.output = Output {
            stats: table.names.iter().map(|(n, _)| n.to_string()).collect(),
            ..Output::default()
        };
        Ok(())
    }

    async fn count_matches(&mut self, counters: &Counters) -> Result<()> {
        let df = self.df.clone();
        self.df = counted(self.ctx, df, Arc::clone(&counters.matched)).await?;
        Ok(())
    }

    fn fresh(&mut self) -> String {
        self.next_id += 1;
        format!("__c{}", self.next_id)
    }

    fn replace_df(
        &mut self,
        f: impl FnOnce(DataFrame) -> datafusion::error::Result<DataFrame>,
    ) -> Result<()> {
        let df = self.df.clone();
        self.df = f(df)?;
        Ok(())
    }

    /// Gives `typed` a column of its own (unless it already is one) and binds `name`.
    fn bind(&mut self, name: &str, typed: Typed) -> Result<()> {
        let column = match &typed.expr {
            Expr::Column(c) => c.name.clone(),
            expr => {
                let id = self.fresh();
                let expr = expr.clone();
                self.replace_df(|df| df.with_column(&id, expr))?;
                id
            }
        };
        self.scope.insert(
            name.to_string(),
            Binding {
                column,
                kind: typed.kind,
            },
        );
        Ok(())
    }

    /// The value of a field at the current point of the pipeline.
    fn field(&self, name: &str) -> Result<Typed> {
        if let Some(binding) = self.scope.get(name) {
            return Ok(Typed::new(col(binding.column.as_str()), binding.kind));
        }
        if !self.events {
            return Ok(match (&self.time, name) {
                (Some(time), "@timestamp") => Typed::new(col(time.as_str()), Kind::Time),
                _ => Typed::null(),
            });
        }
        let message = || col(columns::MESSAGE);
        Ok(match name {
            "@timestamp" => Typed::new(col(columns::TIME), Kind::Time),
            "@message" => Typed::new(message(), Kind::Text),
            "@logStream" => Typed::new(col(columns::STREAM), Kind::Text),
            "@log" => Typed::new(
                functions::string::concat().call(vec![
                    col(columns::ACCOUNT),
                    text_lit(Some(":")),
                    col(columns::GROUP),
                ]),
                Kind::Text,
            ),
            "@ingestionTime" => {
                Typed::new(cast(col(columns::INGESTION), timestamp_type()), Kind::Time)
            }
            "@ptr" => Typed::new(ptr_expr()?, Kind::Text),
            _ if LAMBDA_FIELDS.contains(&name) => Typed::new(
                udf::call(Op::LambdaField(name.to_string()), vec![message()])?,
                Kind::Text,
            ),
            // A JSON key that starts with `@` is shown, and named, with another `@`.
            _ if name.starts_with("@@") => json_field(&name[1..])?,
            _ if name.starts_with('@') => Typed::null(),
            _ => json_field(name)?,
        })
    }

    fn time_value(&self) -> Result<Typed> {
        match (self.events, &self.time) {
            (true, _) => Ok(Typed::new(col(columns::TIME), Kind::Time)),
            (false, Some(time)) => Ok(Typed::new(col(time.as_str()), Kind::Time)),
            (false, None) => Ok(Typed::new(
                datafusion::logical_expr::lit(
                    datafusion::common::ScalarValue::TimestampMillisecond(None, Some("UTC".into())),
                ),
                Kind::Time,
            )),
        }
    }

    fn command(&mut self, command: &ast::Command) -> Result<()> {
        match &command.kind {
            CommandKind::Fields(items) => {
                for item in items {
                    let typed = compile(&item.expr, &mut RowEnv(self))?;
                    let name = item.name().to_string();
                    self.bind(&name, typed)?;
                    if !self.output.fields.contains(&name) {
                        self.output.fields.push(name);
                    }
                }
            }
            CommandKind::Display(names) => {
                let mut shown = Vec::new();
                for name in names {
                    let typed = self.field(&name.name)?;
                    self.bind(&name.name, typed)?;
                    shown.push(name.name.clone());
                }
                self.output.display = Some(shown);
            }
            CommandKind::Filter(expr) => {
                let predicate = compile(expr, &mut RowEnv(self))?.into_bool()?;
                self.replace_df(|df| df.filter(predicate))?;
            }
            CommandKind::Parse(spec) => self.parse(spec)?,
            CommandKind::Stats { items, by } => self.stats(items, by)?,
            CommandKind::Sort(keys) => {
                let mut order = Vec::new();
                for key in keys {
                    let typed = compile(&key.expr, &mut RowEnv(self))?;
                    order.push(sort_expr(typed, !key.descending)?);
                }
                // Ties keep the order they had.
                order.extend(self.order.iter().cloned());
                self.order = order;
            }
            CommandKind::Limit(n) => {
                let order = self.order.clone();
                let n = usize::try_from(*n).unwrap_or(DEFAULT_LIMIT);
                self.replace_df(|df| sorted(df, order)?.limit(0, Some(n)))?;
            }
            CommandKind::Dedup(names) => self.dedup(names)?,
            CommandKind::Unmask => {}
            CommandKind::Pattern(_) | CommandKind::Diff => {
                return Err(datafusion::error::DataFusionError::Plan(
                    "pattern and diff cannot come before the pattern diff compares".into(),
                )
                .into());
            }
        }
        Ok(())
    }

    fn parse(&mut self, spec: &ast::ParseSpec) -> Result<()> {
        let source = compile(&spec.source, &mut RowEnv(self))?.into_text()?;
        let names: Vec<String>;
        let op = match &spec.pattern {
            ParsePattern::Glob(glob) => {
                names = spec.names.iter().map(|n| n.name.clone()).collect();
                Op::ParseGlob(glob.clone())
            }
            ParsePattern::Regex(re) => {
                let compiled =
                    regex_util::compile(re).map_err(datafusion::error::DataFusionError::Plan)?;
                let groups: Vec<usize>;
                if spec.names.is_empty() {
                    let named: Vec<(usize, String)> = compiled
                        .names
                        .iter()
                        .enumerate()
                        .filter_map(|(i, n)| n.clone().map(|n| (i + 1, n)))
                        .collect();
                    groups = named.iter().map(|(i, _)| *i).collect();
                    names = named.into_iter().map(|(_, n)| n).collect();
                } else {
                    groups = (1..=spec.names.len()).collect();
                    names = spec.names.iter().map(|n| n.name.clone()).collect();
                }
                Op::ParseRegex(re.clone(), groups)
            }
        };
        let captures = self.fresh();
        let call = udf::call(op, vec![source])?;
        self.replace_df(|df| df.with_column(&captures, call))?;
        for (index, name) in names.iter().enumerate() {
            let value = functions::core::get_field()
                .call(vec![col(captures.as_str()), lit(index.to_string())]);
            self.bind(name, Typed::new(value, Kind::Text))?;
        }
        Ok(())
    }

    fn stats(&mut self, items: &[ast::Item], by: &[ast::Item]) -> Result<()> {
        let mut group_exprs = Vec::new();
        let mut groups: Vec<(Vec<String>, Binding)> = Vec::new();
        for item in by {
            let typed = compile(&item.expr, &mut RowEnv(self))?;
            let id = self.fresh();
            group_exprs.push(typed.expr.alias(id.as_str()));
            let mut names = vec![item.name().to_string()];
            if item.text != item.name() {
                names.push(item.text.clone());
            }
            groups.push((
                names,
                Binding {
                    column: id,
                    kind: typed.kind,
                },
            ));
        }
        let mut env = StatsEnv {
            planner: self,
            groups: &groups,
            results: HashMap::new(),
            aggregates: Vec::new(),
        };
        let mut results = Vec::new();
        for item in items {
            let typed = compile(&item.expr, &mut env)?;
            env.results.insert(item.name().to_string(), typed.clone());
            results.push((item.name().to_string(), typed));
        }
        let aggregates = std::mem::take(&mut env.aggregates);
        self.replace_df(|df| df.aggregate(group_exprs, aggregates))?;

        let mut projection: Vec<Expr> =
            groups.iter().map(|(_, b)| col(b.column.as_str())).collect();
        let mut scope = HashMap::new();
        let mut shown = Vec::new();
        let mut order = Vec::new();
        for (names, binding) in &groups {
            for name in names {
                scope.insert(name.clone(), binding.clone());
            }
            shown.push(names[0].clone());
            order.push(sort_expr(
                Typed::new(col(binding.column.as_str()), binding.kind),
                true,
            )?);
        }
        for (name, typed) in results {
            let id = self.fresh();
            projection.push(typed.expr.alias(id.as_str()));
            scope.insert(
                name.clone(),
                Binding {
                    column: id,
                    kind: typed.kind,
                },
            );
            if !shown.contains(&name) {
                shown.push(name);
            }
        }
        self.replace_df(|df| df.select(projection))?;
        self.time = groups
            .iter()
            .find(|(_, b)| b.kind == Kind::Time)
            .map(|(_, b)| b.column.clone());
        self.scope = scope;
        self.events = false;
        self.order = order;
        self.output = Output {
            stats: shown,
            ..Output::default()
        };
        Ok(())
    }

    fn dedup(&mut self, names: &[ast::FieldName]) -> Result<()> {
        let mut keys = Vec::new();
        for name in names {
            keys.push(self.field(&name.name)?.expr);
        }
        let rank = self.fresh();
        let window = row_number()
            .partition_by(keys.clone())
            .order_by(self.order.clone())
            .build()?
            .alias(rank.as_str());
        let mut keep = col(rank.as_str()).eq(lit(1u64));
        for key in keys {
            keep = keep.or(key.is_null());
        }
        self.replace_df(|df| df.window(vec![window])?.filter(keep))?;
        Ok(())
    }

    fn finish(mut self) -> Result<Planned> {
        let names = if let Some(display) = self.output.display.take() {
            display
        } else if !self.output.fields.is_empty() {
            std::mem::take(&mut self.output.fields)
        } else if !self.events {
            std::mem::take(&mut self.output.stats)
        } else {
            vec!["@timestamp".to_string(), "@message".to_string()]
        };
        let mut projection = Vec::new();
        for (index, name) in names.iter().enumerate() {
            projection.push(self.field(name)?.expr.alias(format!("__out{index}")));
        }
        // Event rows carry `@ptr` last, unless the query shows it itself.
        let has_ptr = self.events && !names.iter().any(|n| n == "@ptr");
        if has_ptr {
            projection.push(ptr_expr()?.alias("__ptr"));
        }
        let order = std::mem::take(&mut self.order);
        let frame = sorted(self.df, order)?
            .limit(0, Some(DEFAULT_LIMIT))?
            .select(projection)?;
        Ok(Planned {
            frame,
            names,
            has_ptr,
        })
    }
}

/// `df` in `order`; an empty order (a `stats` without groups) leaves it as it is.
fn sorted(df: DataFrame, order: Vec<Sort>) -> datafusion::error::Result<DataFrame> {
    if order.is_empty() {
        Ok(df)
    } else {
        df.sort(order)
    }
}

fn ptr_expr() -> Result<Expr> {
    Ok(udf::call(
        Op::Ptr,
        vec![
            col(columns::GROUP_ID),
            col(columns::STREAM),
            col(columns::TIME),
            col(columns::SEQ),
        ],
    )?)
}

fn json_field(path: &str) -> Result<Typed> {
    Ok(Typed::new(
        udf::call(Op::JsonField(path.to_string()), vec![col(columns::MESSAGE)])?,
        Kind::Text,
    ))
}

/// Brings the caller's columns to the types the plan expects, whatever string or
/// timestamp layout they arrive in.
fn normalize(df: DataFrame) -> Result<DataFrame> {
    use columns::*;
    let text = |name: &str| cast(col(name), DataType::Utf8View).alias(name);
    Ok(df.select(vec![
        cast(col(TIME), timestamp_type()).alias(TIME),
        cast(col(INGESTION), DataType::Int64).alias(INGESTION),
        cast(col(SEQ), DataType::Int64).alias(SEQ),
        text(GROUP_ID),
        text(GROUP),
        text(STREAM),
        text(MESSAGE),
        text(ACCOUNT),
    ])?)
}

/// Expressions evaluated per row.
struct RowEnv<'p, 'a>(&'p mut Planner<'a>);

impl Env for RowEnv<'_, '_> {
    fn field(&mut self, name: &str) -> Result<Typed> {
        self.0.field(name)
    }

    fn time(&mut self) -> Result<Typed> {
        self.0.time_value()
    }

    /// After `stats`, `count(*)` in a later command names that result.
    fn aggregate(&mut self, _name: &str, _args: &[ast::Expr], text: &str) -> Result<Typed> {
        self.0.field(text)
    }
}

/// A `stats` result: field names are group keys or earlier results, and aggregate
/// calls become aggregate columns whose arguments are evaluated per row.
struct StatsEnv<'p, 'a, 'g> {
    planner: &'p mut Planner<'a>,
    groups: &'g [(Vec<String>, Binding)],
    results: HashMap<String, Typed>,
    aggregates: Vec<Expr>,
}

impl StatsEnv<'_, '_, '_> {
    fn add(&mut self, aggregate: Expr) -> Expr {
        let id = self.planner.fresh();
        self.aggregates.push(aggregate.alias(id.as_str()));
        col(id.as_str())
    }

    fn argument(&mut self, args: &[ast::Expr]) -> Result<Typed> {
        match args.first() {
            Some(arg) if !matches!(arg.kind, ExprKind::Star) => {
                compile(arg, &mut RowEnv(self.planner))
            }
            _ => Ok(Typed::new(lit(1.0), Kind::Num)),
        }
    }

    fn first_by(&mut self, value: Expr, order: Sort) -> Result<Expr> {
        Ok(
            datafusion::functions_aggregate::first_last::first_value_udaf()
                .call(vec![value])
                .order_by(vec![order])
                .null_treatment(NullTreatment::IgnoreNulls)
                .build()?,
        )
    }
}

impl Env for StatsEnv<'_, '_, '_> {
    fn field(&mut self, name: &str) -> Result<Typed> {
        if let Some(result) = self.results.get(name) {
            return Ok(result.clone());
        }
        for (names, binding) in self.groups {
            if names.iter().any(|n| n == name) {
                return Ok(Typed::new(col(binding.column.as_str()), binding.kind));
            }
        }
        Ok(Typed::null())
    }

    fn time(&mut self) -> Result<Typed> {
        self.planner.time_value()
    }

    fn aggregate(&mut self, name: &str, args: &[ast::Expr], _text: &str) -> Result<Typed> {
        let arg = self.argument(args)?;
        let kind = arg.kind;
        Ok(match name {
            "count" => Typed::new(self.add(agg::count(arg.expr)), Kind::Num),
            "count_distinct" => Typed::new(self.add(agg::count_distinct(arg.expr)), Kind::Num),
            "sum" => Typed::new(self.add(agg::sum(arg.into_num()?)), Kind::Num),
            "avg" => Typed::new(self.add(agg::avg(arg.into_num()?)), Kind::Num),
            "stddev" => Typed::new(self.add(agg::stddev(arg.into_num()?)), Kind::Num),
            "pct" => {
                let percentile = match args.get(1).map(|a| &a.kind) {
                    Some(ExprKind::Number(p)) => *p,
                    _ => 50.0,
                };
                Typed::new(self.add(udf::pct(percentile, arg.into_num()?)), Kind::Num)
            }
            "min" | "max" => {
                let is_min = name == "min";
                let extreme = |e: Expr| if is_min { agg::min(e) } else { agg::max(e) };
                match kind {
                    Kind::Text => {
                        // Numeric when every present value is a number, else textual.
                        let numbers = udf::call(Op::ToNumber, vec![arg.expr.clone()])?;
                        let numeric = self.add(extreme(numbers.clone()));
                        let numeric_count = self.add(agg::count(numbers));
                        let count = self.add(agg::count(arg.expr.clone()));
                        let textual = self.add(extreme(arg.expr));
                        let numeric_text = udf::call(Op::NumberText, vec![numeric])?;
                        Typed::new(
                            case(numeric_count.eq(count))
                                .when(lit(true), numeric_text)
                                .otherwise(textual)?,
                            Kind::Text,
                        )
                    }
                    Kind::Bool => Typed::new(self.add(extreme(arg.into_num()?)), Kind::Num),
                    _ => Typed::new(self.add(extreme(arg.expr)), kind),
                }
            }
            "earliest" | "latest" => {
                let time = self.planner.time_value()?.expr;
                let order = time.sort(name == "earliest", false);
                let first = self.first_by(arg.expr, order)?;
                Typed::new(self.add(first), kind)
            }
            "sortsfirst" | "sortslast" => {
                let ascending = name == "sortsfirst";
                let order = sort_expr(arg.clone(), ascending)?;
                let first = self.first_by(arg.expr, order)?;
                Typed::new(self.add(first), kind)
            }
            other => {
                return Err(datafusion::error::DataFusionError::Plan(format!(
                    "unknown aggregate {other}"
                ))
                .into());
            }
        })
    }
}
