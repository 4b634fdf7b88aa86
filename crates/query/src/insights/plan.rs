//! Compiles a parsed Insights query into a DataFusion logical plan over the log table.
//!
//! Insights fields are dynamically typed; the planner decides types from use:
//! a field compared with a number, or used in arithmetic or a numeric aggregate, is read
//! as a number (`NULL` when it is not one), otherwise as text. Fields the table does not
//! have are discovered lazily from JSON messages, only where a query names them.

use super::ParseError;
use super::ast::{
    BinaryOp, Command, Expr, LikePattern, ParsePattern, Period, PeriodUnit, Projection, Query,
    Regex as AstRegex, SortOrder, Span, UnaryOp,
};
use super::functions::Function;
use super::udf::{self, Op};
use crate::table::{LOG, LOG_STREAM, MESSAGE, TIMESTAMP};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Column, DFSchemaRef, ScalarValue, UnnestOptions};
use datafusion::functions::expr_fn as f;
use datafusion::functions_aggregate::expr_fn as agg;
use datafusion::logical_expr::Operator;
use datafusion::logical_expr::{
    Expr as DfExpr, ExprSchemable, LogicalPlan, LogicalPlanBuilder, SortExpr, binary_expr, cast,
    expr::ScalarFunction, ident, lit, try_cast,
};
use std::ops::Not;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

/// A plan and the fields its rows show, in order.
pub struct Planned {
    /// The DataFusion plan.
    pub plan: LogicalPlan,
    /// Fields each result row shows (hidden columns such as `@ptr`'s parts excluded).
    pub fields: Vec<String>,
    /// Whether the query aggregates (then rows have no `@ptr`).
    pub aggregated: bool,
}

/// What the planner knows about the query's surroundings.
pub struct Context<'a> {
    /// The query text, for error positions.
    pub text: &'a str,
    /// Query start, epoch ms (inclusive).
    pub start_ms: i64,
    /// Query end, epoch ms (inclusive).
    pub end_ms: i64,
    /// The most rows a result may hold.
    pub limit: usize,
    /// Where the plan counts the events it matched (`recordsMatched`).
    pub matched: Arc<AtomicU64>,
}

type PlanResult<T> = Result<T, ParseError>;

struct Planner<'a> {
    ctx: &'a Context<'a>,
    builder: LogicalPlanBuilder,
    /// Fields `fields` commands asked for, in order; what rows show without `display`.
    shown: Vec<String>,
    display: Option<Vec<String>>,
    aggregated: bool,
    sorted: bool,
    /// The keys of the last sort, which `unnest` applies again: DataFusion drops a sort
    /// that only an unnest follows, as an unnest does not promise to keep row order.
    order: Vec<SortExpr>,
    /// Hidden columns holding each `unnest`'s element positions, to keep the elements
    /// of one event in list order.
    positions: Vec<String>,
    stats_count: usize,
    /// Every filter condition so far, for the matched-events counter.
    conditions: Vec<DfExpr>,
    /// Whether the counter is in the plan yet.
    counted: bool,
}

fn df_error(ctx: &Context<'_>, span: Span, e: impl std::fmt::Display) -> ParseError {
    ParseError::new(ctx.text, span, e.to_string())
}

/// Plans `query` on top of `scan`, a plan producing the log table's columns for the rows
/// of `ctx`'s time range only.
pub fn plan(query: &Query, scan: LogicalPlan, ctx: &Context<'_>) -> PlanResult<Planned> {
    let whole = Span {
        start: 0,
        end: ctx.text.len(),
    };
    // No filter on the time range: the scan yields only rows inside it (see
    // `table::log_table`), and a filter here would compare every row's time again.
    let builder = LogicalPlanBuilder::from(scan);
    let mut planner = Planner {
        ctx,
        builder,
        shown: Vec::new(),
        display: None,
        aggregated: false,
        sorted: false,
        order: Vec::new(),
        positions: Vec::new(),
        stats_count: 0,
        conditions: Vec::new(),
        counted: false,
    };
    let mut limit = ctx.limit;
    for command in &query.commands {
        match command {
            Command::Limit(n) => {
                planner.count_matched(whole)?;
                limit = limit.min(usize::try_from(*n).unwrap_or(usize::MAX));
                planner.sort_default(whole)?;
                planner.apply(whole, |b| b.limit(0, Some(limit)))?;
            }
            other => planner.command(other, whole)?,
        }
    }
    planner.count_matched(whole)?;
    planner.sort_default(whole)?;
    planner.finish(limit, whole)
}

fn timestamp_lit(ms: i64) -> DfExpr {
    lit(ScalarValue::TimestampMillisecond(Some(ms), None))
}

impl Planner<'_> {
    fn schema(&self) -> DFSchemaRef {
        self.builder.schema().clone()
    }

    fn has_column(&self, name: &str) -> bool {
        self.schema().field_with_unqualified_name(name).is_ok()
    }

    fn apply(
        &mut self,
        span: Span,
        step: impl FnOnce(LogicalPlanBuilder) -> datafusion::error::Result<LogicalPlanBuilder>,
    ) -> PlanResult<()> {
        let builder = std::mem::replace(&mut self.builder, LogicalPlanBuilder::empty(false));
        self.builder = step(builder).map_err(|e| df_error(self.ctx, span, e))?;
        Ok(())
    }

    /// Without a `sort`, Insights returns the newest events first.
    fn sort_default(&mut self, span: Span) -> PlanResult<()> {
        if self.sorted || self.aggregated || !self.has_column(TIMESTAMP) {
            return Ok(());
        }
        self.sorted = true;
        let mut keys = vec![ident(TIMESTAMP).sort(false, false)];
        keys.extend(self.positions.iter().map(|p| ident(p).sort(true, false)));
        self.order = keys.clone();
        self.apply(span, |b| b.sort(keys))
    }

    /// Counts the events that passed every filter so far, once, where the query stops
    /// looking at single events (stats, dedup, pattern, unnest, limit, or the end).
    fn count_matched(&mut self, span: Span) -> PlanResult<()> {
        if self.counted {
            return Ok(());
        }
        self.counted = true;
        let all = self
            .conditions
            .iter()
            .cloned()
            .reduce(|a, b| a.and(b))
            .unwrap_or_else(|| lit(true));
        let counter = super::matched::counting(all, self.ctx.matched.clone());
        self.apply(span, |b| b.filter(counter))
    }

    fn command(&mut self, command: &Command, span: Span) -> PlanResult<()> {
        if matches!(
            command,
            Command::Stats { .. }
                | Command::Dedup(_)
                | Command::Pattern(_)
                | Command::Unnest { .. }
        ) {
            self.count_matched(span)?;
        }
        match command {
            Command::Filter(e) => {
                let mut condition = self.condition(e)?;
                let mut guards = Vec::new();
                self.text_guards(e, &mut guards)?;
                if let Some(guard) = guards.into_iter().reduce(DfExpr::and) {
                    condition = guard.and(condition);
                }
                if !self.counted {
                    self.conditions.push(condition.clone());
                }
                self.apply(span, |b| b.filter(condition))
            }
            Command::Fields(items) => {
                let names = self.add_columns(items)?;
                for n in names {
                    if !self.shown.contains(&n) {
                        self.shown.push(n);
                    }
                }
                Ok(())
            }
            Command::Display(items) => {
                let names = self.add_columns(items)?;
                self.display = Some(names);
                Ok(())
            }
            Command::Stats { aggregations, by } => self.stats(aggregations, by, span),
            Command::Sort(keys) => {
                let mut sort = Vec::with_capacity(keys.len());
                for key in keys {
                    let e = self.value(&key.expr)?;
                    let ascending = key.order != Some(SortOrder::Descending);
                    sort.extend(self.sort_keys(e, ascending));
                }
                self.sorted = true;
                self.order = sort.clone();
                self.apply(span, |b| b.sort(sort))
            }
            Command::Parse {
                source,
                pattern,
                names,
            } => self.parse(source, pattern, names, span),
            Command::Dedup(fields) => self.dedup(fields, span),
            Command::Limit(_) => Ok(()),
            Command::Unnest { field, into } => self.unnest(field, into, span),
            Command::Pattern(source) => self.pattern(source, span),
        }
    }

    /// The keys `sort` orders a value by. Text that holds numbers sorts by value
    /// (`latency` 80 before 160), and the rest by text after them. `sortsFirst` and
    /// `sortsLast` pick by the same keys, so they agree with `sort`.
    fn sort_keys(&self, e: DfExpr, ascending: bool) -> Vec<SortExpr> {
        if self.type_of(&e) != DataType::Utf8 {
            return vec![SortExpr::new(e, ascending, !ascending)];
        }
        // The text key is written so it is null for numbers: DataFusion treats a plain
        // second key `e` after `try_cast(e)` as implied by the first and drops it.
        let number = try_cast(e.clone(), DataType::Float64);
        let text_only = DfExpr::Case(datafusion::logical_expr::Case::new(
            None,
            vec![(Box::new(number.clone().is_null()), Box::new(e))],
            None,
        ));
        vec![
            SortExpr::new(number, ascending, false),
            SortExpr::new(text_only, ascending, !ascending),
        ]
    }

    /// `dedup`: keeps the first row of each combination of values in the current order
    /// (newest first by default); rows where a value is missing are never duplicates.
    fn dedup(&mut self, fields: &[Expr], span: Span) -> PlanResult<()> {
        use datafusion::logical_expr::ExprFunctionExt;
        self.sort_default(span)?;
        let on = fields
            .iter()
            .map(|e| self.value(e))
            .collect::<PlanResult<Vec<_>>>()?;
        let columns: Vec<DfExpr> = self
            .schema()
            .fields()
            .iter()
            .map(|f| ident(f.name()))
            .collect();
        let rank = datafusion::functions_window::expr_fn::row_number()
            .partition_by(on.clone())
            .order_by(self.order.clone())
            .build()
            .map_err(|e| df_error(self.ctx, span, e))?
            .alias("__dedup_rank");
        let keep = on
            .iter()
            .map(|e| e.clone().is_null())
            .fold(ident("__dedup_rank").eq(lit(1u64)), |a, b| a.or(b));
        let order = self.order.clone();
        self.apply(span, |b| {
            let b = b.window(vec![rank])?.filter(keep)?;
            let b = if order.is_empty() { b } else { b.sort(order)? };
            b.project(columns)
        })
    }

    /// `pattern`: clusters events by their message with the variable parts masked
    /// (`udf::log_pattern`), one row per cluster, most frequent first, with
    /// `@sampleCount`, `@ratio` of all events and `@severityLabel`.
    fn pattern(&mut self, source: &Expr, span: Span) -> PlanResult<()> {
        use super::udf::{Op, call};
        let text = self.text(source)?;
        let pattern = call(Op::LogPattern, vec![text.clone()]).alias("@pattern");
        let severity = call(Op::Severity, vec![text]);
        self.apply(span, |b| {
            b.aggregate(
                vec![pattern],
                vec![
                    agg::count(lit(1i64)).alias("@sampleCount"),
                    agg::max(severity).alias("@severityLabel"),
                ],
            )
        })?;
        let total = DfExpr::from(datafusion::logical_expr::expr::WindowFunction::new(
            datafusion::functions_aggregate::sum::sum_udaf(),
            vec![ident("@sampleCount")],
        ))
        .alias("__total");
        self.apply(span, |b| b.window(vec![total]))?;
        let ratio = binary_expr(
            cast(ident("@sampleCount"), DataType::Float64),
            Operator::Divide,
            cast(ident("__total"), DataType::Float64),
        )
        .alias("@ratio");
        self.apply(span, |b| {
            b.project(vec![
                ident("@pattern"),
                ratio,
                ident("@sampleCount"),
                ident("@severityLabel"),
            ])?
            .sort(vec![
                ident("@sampleCount").sort(false, false),
                ident("@pattern").sort(true, false),
            ])
        })?;
        self.aggregated = true;
        self.sorted = true;
        self.display = None;
        self.shown = ["@pattern", "@ratio", "@sampleCount", "@severityLabel"]
            .map(String::from)
            .to_vec();
        Ok(())
    }

    /// Adds computed columns for `items`, keeping every existing column; returns the
    /// names they are shown under.
    fn add_columns(&mut self, items: &[Projection]) -> PlanResult<Vec<String>> {
        let mut names = Vec::new();
        let mut new = Vec::new();
        let mut new_names = Vec::new();
        for item in items {
            let name = item.alias.clone().unwrap_or_else(|| item.expr.to_string());
            if item.alias.is_none() && self.has_column(&name) {
                names.push(name);
                continue;
            }
            let e = self.value(&item.expr)?;
            new.push(e.alias(&name));
            new_names.push(name.clone());
            names.push(name);
        }
        if !new.is_empty() {
            let mut exprs: Vec<DfExpr> = self
                .schema()
                .fields()
                .iter()
                .filter(|f| !new_names.contains(f.name()))
                .map(|f| ident(f.name()))
                .collect();
            exprs.extend(new);
            let span = Span::default();
            self.apply(span, |b| b.project(exprs))?;
        }
        Ok(names)
    }

    fn parse(
        &mut self,
        source: &Expr,
        pattern: &ParsePattern,
        names: &[String],
        span: Span,
    ) -> PlanResult<()> {
        let (regex, names): (String, Vec<String>) = match pattern {
            ParsePattern::Glob(glob) => {
                let parts: Vec<&str> = glob.split('*').collect();
                let mut regex = String::new();
                for (i, part) in parts.iter().enumerate() {
                    regex.push_str(&regex_escape(part));
                    if i + 1 < parts.len() {
                        // Every wildcard but the last takes as little as it can, so the
                        // literal text between wildcards anchors each field.
                        regex.push_str(if i + 2 == parts.len() {
                            "(.*)"
                        } else {
                            "(.*?)"
                        });
                    }
                }
                (format!("(?s){regex}"), names.to_vec())
            }
            ParsePattern::Regex(r) => {
                let compiled = regex::Regex::new(&r.pattern).map_err(|e| {
                    ParseError::new(self.ctx.text, span, format!("Invalid regex: {e}"))
                })?;
                let mut groups = Vec::new();
                for (i, name) in compiled.capture_names().enumerate().skip(1) {
                    groups.push(name.map_or_else(|| format!("__group{i}"), str::to_string));
                }
                (with_flags(r), groups)
            }
        };
        let source = self.text(source)?;
        let matched = f::regexp_match(source, lit(regex), None);
        let mut exprs: Vec<DfExpr> = self
            .schema()
            .fields()
            .iter()
            .filter(|f| !names.contains(f.name()))
            .map(|f| ident(f.name()))
            .collect();
        for (i, name) in names.iter().enumerate() {
            if name.starts_with("__group") {
                continue;
            }
            let element = datafusion::functions_nested::expr_fn::array_element(
                matched.clone(),
                lit(i as i64 + 1),
            );
            exprs.push(element.alias(name));
        }
        self.apply(span, |b| b.project(exprs))
    }

    /// `unnest field into name`: a row for each element of a `split` list or a JSON
    /// array, any other value counting as a list of one. A missing value or an empty
    /// list has no elements, so its row goes.
    fn unnest(&mut self, field: &Expr, into: &str, span: Span) -> PlanResult<()> {
        let v = self.value(field)?;
        let list = match self.type_of(&v) {
            DataType::List(_) => v,
            _ => udf::call(Op::JsonElements, vec![self.as_text(v)]),
        };
        let position = format!("@unnest{}", self.positions.len());
        let keep = |planner: &Self| -> Vec<DfExpr> {
            planner
                .schema()
                .fields()
                .iter()
                .filter(|f| f.name() != into)
                .map(|f| ident(f.name()))
                .collect()
        };
        let mut exprs = keep(self);
        exprs.push(list.alias(into));
        self.apply(span, |b| b.project(exprs))?;
        // Unnested side by side, the list and 0, 1, 2... give each element its position.
        let mut exprs = keep(self);
        exprs.push(ident(into));
        let count = cast(
            datafusion::functions_nested::expr_fn::cardinality(ident(into)),
            DataType::Int64,
        );
        exprs.push(
            datafusion::functions_nested::expr_fn::range(lit(0i64), count, lit(1i64))
                .alias(&position),
        );
        let columns = vec![
            Column::new_unqualified(into),
            Column::new_unqualified(&position),
        ];
        let options = UnnestOptions::new().with_preserve_nulls(false);
        self.apply(span, |b| {
            b.project(exprs)?
                .unnest_columns_with_options(columns, options)
        })?;
        let order_position = ident(&position).sort(true, false);
        self.positions.push(position);
        if self.sorted {
            let mut keys = std::mem::take(&mut self.order);
            keys.push(order_position);
            self.order = keys.clone();
            self.apply(span, |b| b.sort(keys))?;
        }
        Ok(())
    }

    fn stats(
        &mut self,
        aggregations: &[Projection],
        by: &[Projection],
        span: Span,
    ) -> PlanResult<()> {
        self.stats_count += 1;
        let mut group = Vec::new();
        let mut group_names = Vec::new();
        for item in by {
            let name = item.alias.clone().unwrap_or_else(|| item.expr.to_string());
            group.push(self.value(&item.expr)?.alias(&name));
            group_names.push(name);
        }
        let mut aggregates = Vec::new();
        let mut finals = Vec::new();
        let mut known: Vec<String> = Vec::new();
        for item in aggregations {
            let name = item.alias.clone().unwrap_or_else(|| item.expr.to_string());
            let e = self.aggregate_expr(&item.expr, &mut aggregates, &known)?;
            finals.push(e.alias(&name));
            known.push(name);
        }
        self.apply(span, |b| b.aggregate(group, aggregates))?;
        let mut projection: Vec<DfExpr> = group_names.iter().map(ident).collect();
        projection.extend(finals);
        self.apply(span, |b| b.project(projection))?;
        self.aggregated = true;
        self.sorted = false;
        let mut fields = group_names;
        fields.extend(known);
        self.shown = fields;
        self.display = None;
        Ok(())
    }

    /// Translates a stats item: aggregate calls become hidden aggregate columns, and what
    /// surrounds them (arithmetic, earlier aliases) is computed after the aggregation.
    fn aggregate_expr(
        &self,
        e: &Expr,
        aggregates: &mut Vec<DfExpr>,
        known: &[String],
    ) -> PlanResult<DfExpr> {
        match e {
            Expr::Call {
                function,
                args,
                span,
            } if function.is_aggregate() => {
                let a = self.aggregate_call(*function, args, *span)?;
                let name = format!("__agg{}", aggregates.len());
                // The column is not in the plan yet, so its type is written on it: what
                // surrounds it (`count(*) > 1`, `round(avg(x), 2)`) reads it by type.
                let typed = cast(ident(&name), self.type_of(&a));
                aggregates.push(a.alias(&name));
                Ok(typed)
            }
            Expr::Field { name, .. } if known.contains(name) => Ok(ident(name)),
            Expr::Binary { op, lhs, rhs } => {
                let l = self.aggregate_expr(lhs, aggregates, known)?;
                let r = self.aggregate_expr(rhs, aggregates, known)?;
                Ok(self.combine(*op, lhs, rhs, l, r))
            }
            Expr::Integer(i) => Ok(lit(*i as f64)),
            Expr::Float(x) => Ok(lit(*x)),
            Expr::Unary { op, expr } => {
                let v = self.aggregate_expr(expr, aggregates, known)?;
                Ok(self.unary(*op, v))
            }
            Expr::Call {
                function,
                args,
                span,
            } => {
                let inner = args
                    .iter()
                    .map(|a| self.aggregate_expr(a, aggregates, known))
                    .collect::<PlanResult<Vec<_>>>()?;
                self.scalar_call(*function, inner, args, *span)
            }
            other => self.value(other),
        }
    }

    fn aggregate_call(&self, function: Function, args: &[Expr], span: Span) -> PlanResult<DfExpr> {
        let arg = |i: usize| -> PlanResult<&Expr> {
            args.get(i).ok_or_else(|| {
                ParseError::new(
                    self.ctx.text,
                    span,
                    format!("{} needs an argument", function.name()),
                )
            })
        };
        let number = |i: usize| -> PlanResult<DfExpr> { self.number(arg(i)?) };
        let by_time = || vec![ident(TIMESTAMP).sort(true, false)];
        Ok(match function {
            Function::Count => match args.first() {
                None | Some(Expr::Star) => agg::count(lit(1i64)),
                Some(e) => agg::count(self.value(e)?),
            },
            Function::CountDistinct => agg::count_distinct(self.value(arg(0)?)?),
            Function::Sum => agg::sum(number(0)?),
            Function::Avg => agg::avg(number(0)?),
            Function::Stddev => agg::stddev(number(0)?),
            Function::Min | Function::Max => {
                let e = self.comparable(arg(0)?)?;
                if function == Function::Min {
                    agg::min(e)
                } else {
                    agg::max(e)
                }
            }
            Function::SortsFirst | Function::SortsLast => {
                use datafusion::functions_aggregate::first_last::{
                    first_value_udaf, last_value_udaf,
                };
                use datafusion::logical_expr::ExprFunctionExt;
                use datafusion::logical_expr::expr::NullTreatment;
                let v = self.value(arg(0)?)?;
                let keys = self.sort_keys(v.clone(), true);
                let pick = if function == Function::SortsFirst {
                    first_value_udaf()
                } else {
                    last_value_udaf()
                };
                // Events without the field have no value to pick, wherever they sort.
                pick.call(vec![v])
                    .order_by(keys)
                    .null_treatment(NullTreatment::IgnoreNulls)
                    .build()
                    .map_err(|e| df_error(self.ctx, span, e))?
            }
            Function::Earliest => agg::first_value(self.value(arg(0)?)?, by_time()),
            Function::Latest => agg::last_value(self.value(arg(0)?)?, by_time()),
            Function::Pct => {
                let percent = match arg(1)? {
                    Expr::Integer(i) => *i as f64,
                    Expr::Float(x) => *x,
                    _ => 50.0,
                };
                agg::approx_percentile_cont(
                    number(0)?.sort(true, false),
                    lit(percent / 100.0),
                    None,
                )
            }
            other => {
                return Err(ParseError::new(
                    self.ctx.text,
                    span,
                    format!("{} is not an aggregate function", other.name()),
                ));
            }
        })
    }

    /// Cheap conditions implied by a filter `e`, to run before it: for each
    /// `field = "text"` it must hold, with `field` read from `@message` (a JSON member, a
    /// flow-log or Route 53 value), the message contains the text — unless it holds a
    /// backslash, behind which JSON may escape it. A substring search is many times
    /// cheaper than parsing the message, and DataFusion evaluates the rest of an `and`
    /// only for the rows its first part keeps, so most events are never parsed. Only
    /// the top-level `and`s of a filter are looked at: under `not` or `or` a guard would
    /// not be implied.
    fn text_guards(&self, e: &Expr, guards: &mut Vec<DfExpr>) -> PlanResult<()> {
        let Expr::Binary { op, lhs, rhs } = e else {
            return Ok(());
        };
        match op {
            BinaryOp::And => {
                self.text_guards(lhs, guards)?;
                self.text_guards(rhs, guards)
            }
            BinaryOp::Eq => {
                let (field, text) = match (lhs.as_ref(), rhs.as_ref()) {
                    (f @ Expr::Field { .. }, Expr::String(t))
                    | (Expr::String(t), f @ Expr::Field { .. }) => (f, t),
                    _ => return Ok(()),
                };
                // Maps and lists compare as JSON text that parsing may have rewritten.
                if text.is_empty() || text.starts_with(['{', '[']) {
                    return Ok(());
                }
                let value = self.value(field)?;
                let from_message = !matches!(
                    self.type_of(&value),
                    DataType::List(_) | DataType::Timestamp(_, _)
                ) && {
                    let columns = value.column_refs();
                    !columns.is_empty() && columns.iter().all(|c| c.name == MESSAGE)
                };
                if from_message {
                    let message = ident(MESSAGE);
                    guards.push(
                        f::contains(message.clone(), lit(text.as_str()))
                            .or(f::contains(message, lit("\\"))),
                    );
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// An expression used as a filter condition (see [`Planner::as_condition`]).
    fn condition(&self, e: &Expr) -> PlanResult<DfExpr> {
        Ok(self.as_condition(self.value(e)?))
    }

    /// A translated value as a condition: booleans as they are, numbers as `!= 0`,
    /// anything else as "is present".
    fn as_condition(&self, v: DfExpr) -> DfExpr {
        match self.type_of(&v) {
            DataType::Boolean => v,
            t if t.is_numeric() => v.not_eq(lit(0)),
            _ => v.is_not_null(),
        }
    }

    fn type_of(&self, e: &DfExpr) -> DataType {
        e.get_type(self.schema().as_ref()).unwrap_or(DataType::Utf8)
    }

    /// An expression read as a number (see [`Planner::as_number`]).
    fn number(&self, e: &Expr) -> PlanResult<DfExpr> {
        Ok(self.as_number(self.value(e)?))
    }

    /// A translated value read as a number (Float64), `NULL` where it is not one.
    fn as_number(&self, v: DfExpr) -> DfExpr {
        match self.type_of(&v) {
            DataType::Float64 => v,
            DataType::Timestamp(_, _) => cast(cast(v, DataType::Int64), DataType::Float64),
            // Lists are null for number functions (see `as_text`).
            DataType::List(_) => lit(ScalarValue::Float64(None)),
            t if t.is_numeric() => cast(v, DataType::Float64),
            _ => try_cast(v, DataType::Float64),
        }
    }

    /// An expression read as text (see [`Planner::as_text`]).
    fn text(&self, e: &Expr) -> PlanResult<DfExpr> {
        Ok(self.as_text(self.value(e)?))
    }

    /// For min/max: times and numbers keep their order; text that holds numbers is
    /// compared as numbers.
    fn comparable(&self, e: &Expr) -> PlanResult<DfExpr> {
        let v = self.value(e)?;
        Ok(match self.type_of(&v) {
            DataType::Timestamp(_, _) => v,
            t if t.is_numeric() => v,
            _ => try_cast(v, DataType::Float64),
        })
    }

    fn field(&self, name: &str) -> DfExpr {
        if self.has_column(name) {
            return ident(name);
        }
        if let Some(member) = self.column_member(name) {
            return member;
        }
        if let Some(lambda) = super::discovered::lambda_field(name) {
            return lambda;
        }
        // A discovered field: a path into a JSON message, and for the names of line
        // formats (flow logs, Route 53 query logs) a value of such a line.
        let json = match super::discovered::json_key(name) {
            Some(key) => json_path(ident(MESSAGE), &key.split('.').collect::<Vec<_>>()),
            None => lit(ScalarValue::Utf8(None)),
        };
        match super::discovered::line_field(name) {
            Some(line) => f::coalesce(vec![json, line]),
            None => json,
        }
    }

    /// `m.a.b` where a text field `m` exists (say `jsonParse(@message) as m`, or what
    /// `unnest` filled): a path into its JSON. The parser joins backticked keys with
    /// dots, so `` m.`a.b` `` arrives as `m.a.b` too; see [`key_paths`].
    fn column_member(&self, name: &str) -> Option<DfExpr> {
        let segments: Vec<&str> = name.split('.').collect();
        (1..segments.len()).rev().find_map(|n| {
            let column = segments[..n].join(".");
            if !self.has_column(&column) || self.type_of(&ident(&column)) != DataType::Utf8 {
                return None;
            }
            Some(json_path(ident(&column), &segments[n..]))
        })
    }

    /// `list[i]`, counting from 0: an element of a `split` list or of a JSON array.
    fn index(&self, list: &Expr, index: &Expr) -> PlanResult<DfExpr> {
        let v = self.value(list)?;
        let literal = match index {
            Expr::Integer(i) => Some(*i),
            Expr::Unary {
                op: UnaryOp::Neg,
                expr,
            } => match **expr {
                Expr::Integer(i) => i.checked_neg(),
                _ => None,
            },
            _ => None,
        };
        if matches!(self.type_of(&v), DataType::List(_)) {
            // `array_element` counts from 1, and from the end when negative.
            let position = match literal {
                Some(i) if i >= 0 => lit(i.saturating_add(1)),
                Some(i) => lit(i),
                None => {
                    let i = try_cast(self.number(index)?, DataType::Int64);
                    DfExpr::Case(datafusion::logical_expr::Case::new(
                        None,
                        vec![(
                            Box::new(i.clone().gt_eq(lit(0i64))),
                            Box::new(binary_expr(i.clone(), Operator::Plus, lit(1i64))),
                        )],
                        Some(Box::new(i)),
                    ))
                }
            };
            return Ok(datafusion::functions_nested::expr_fn::array_element(
                v, position,
            ));
        }
        let key = match literal {
            Some(i) => lit(i),
            None => try_cast(self.number(index)?, DataType::Int64),
        };
        Ok(json_step(self.as_text(v), key))
    }

    /// `value.key` on something other than a plain field, e.g. `jsonParse(m).a`.
    fn member(&self, map: &Expr, key: &str) -> PlanResult<DfExpr> {
        let v = self.value(map)?;
        if matches!(self.type_of(&v), DataType::List(_)) {
            return Ok(lit(ScalarValue::Utf8(None)));
        }
        Ok(json_step(self.as_text(v), lit(key)))
    }

    /// A translated value read as text. A `split` list is null here, as AWS documents
    /// maps and lists to be for string functions and comparisons (a comparison with
    /// null is false); JSON functions read lists through `json_arg` instead.
    fn as_text(&self, v: DfExpr) -> DfExpr {
        match self.type_of(&v) {
            DataType::Utf8 => v,
            DataType::List(_) => lit(ScalarValue::Utf8(None)),
            _ => cast(v, DataType::Utf8),
        }
    }

    /// A JSON function's translated argument: JSON text, a `split` list written as a
    /// JSON array.
    fn json_arg(&self, v: Option<DfExpr>) -> DfExpr {
        match v {
            None => lit(ScalarValue::Utf8(None)),
            Some(v) if matches!(self.type_of(&v), DataType::List(_)) => {
                udf::call(Op::ListToJson, vec![v])
            }
            Some(v) => self.as_text(v),
        }
    }

    /// A boolean argument such as `strcontains`'s `caseInsensitive`. The language has
    /// no boolean literals, so the parser reads `true` and `false` as field names; where
    /// no such field exists they mean themselves, as do the strings "true" and "false".
    /// Anything else is a condition (`1`, `0`, a comparison); `translated` is `written`
    /// translated.
    fn flag(&self, written: &Expr, translated: DfExpr) -> DfExpr {
        let word = match written {
            Expr::Field { name, .. } if !self.has_column(name) => Some(name.as_str()),
            Expr::String(s) => Some(s.as_str()),
            _ => None,
        };
        match word {
            Some(w) if w.eq_ignore_ascii_case("true") => lit(true),
            Some(w) if w.eq_ignore_ascii_case("false") => lit(false),
            _ => self.as_condition(translated),
        }
    }

    /// `toInt`/`toLong` before the range check: text holding a whole number read
    /// exactly (a 64-bit integer does not survive a trip through a double), anything
    /// else read as a number with its fraction dropped (`toLong("3.7")` is 3), `NULL`
    /// when it is no number or past 64 bits.
    fn whole_number(&self, value: DfExpr, number: DfExpr) -> DfExpr {
        let truncated = try_cast(number, DataType::Int64);
        if self.type_of(&value) == DataType::Utf8 {
            f::coalesce(vec![try_cast(value, DataType::Int64), truncated])
        } else {
            truncated
        }
    }

    /// An argument that must be written as a string, such as a date pattern.
    fn literal_text(&self, e: Option<&Expr>, span: Span, what: &str) -> PlanResult<String> {
        match e {
            Some(Expr::String(s)) => Ok(s.clone()),
            _ => Err(ParseError::new(
                self.ctx.text,
                span,
                format!("{what} must be a string"),
            )),
        }
    }

    /// The optional time zone of `parseDate`/`formatDate`; a written one is checked now.
    fn zone(&self, e: Option<&Expr>, span: Span) -> PlanResult<DfExpr> {
        match e {
            None => Ok(lit(ScalarValue::Utf8(None))),
            Some(Expr::String(s)) if udf::Zone::parse(s).is_none() => Err(ParseError::new(
                self.ctx.text,
                span,
                format!("Unknown time zone '{s}'"),
            )),
            Some(e) => self.text(e),
        }
    }

    /// Translates an expression as a value.
    fn value(&self, e: &Expr) -> PlanResult<DfExpr> {
        // After `stats`, an expression is referred to by the name it was given, so
        // `sort bin(5m)` or `sort count(*)` name the aggregated columns.
        if !matches!(e, Expr::Field { .. }) {
            let name = e.to_string();
            if self.has_column(&name) {
                return Ok(ident(name));
            }
        }
        Ok(match e {
            Expr::Field { name, .. } => self.field(name),
            Expr::String(s) => lit(s.as_str()),
            Expr::Integer(i) => lit(*i),
            Expr::Float(x) => lit(*x),
            Expr::Period(p) => lit(period_ms(*p)),
            Expr::Regex(r) => lit(with_flags(r)),
            Expr::Star => lit(1i64),
            Expr::Unary { op, expr } => self.unary(*op, self.value(expr)?),
            Expr::Binary { op, lhs, rhs } => {
                self.combine(*op, lhs, rhs, self.value(lhs)?, self.value(rhs)?)
            }
            Expr::Like {
                expr,
                pattern,
                negated,
            } => {
                let text = self.text(expr)?;
                let matched = match pattern {
                    LikePattern::Text(t) => f::strpos(text, lit(t.as_str())).gt(lit(0)),
                    LikePattern::Regex(r) => regex_like(text, r),
                };
                if *negated { matched.not() } else { matched }
            }
            Expr::Matches { expr, regex } => regex_like(self.text(expr)?, regex),
            Expr::In {
                expr,
                list,
                negated,
            } => {
                let numeric = list
                    .iter()
                    .all(|e| matches!(e, Expr::Integer(_) | Expr::Float(_)));
                let (subject, items) = if numeric {
                    (
                        self.number(expr)?,
                        list.iter()
                            .map(|e| self.number(e))
                            .collect::<PlanResult<Vec<_>>>()?,
                    )
                } else {
                    (
                        self.text(expr)?,
                        list.iter()
                            .map(|e| self.text(e))
                            .collect::<PlanResult<Vec<_>>>()?,
                    )
                };
                subject.in_list(items, *negated)
            }
            Expr::Call {
                function,
                args,
                span,
            } => {
                if function.is_aggregate() {
                    return Err(ParseError::new(
                        self.ctx.text,
                        *span,
                        format!(
                            "The aggregate function {} can only be used in stats",
                            function.name()
                        ),
                    ));
                }
                let translated = args
                    .iter()
                    .map(|a| self.value(a))
                    .collect::<PlanResult<Vec<_>>>()?;
                self.scalar_call(*function, translated, args, *span)?
            }
            Expr::Index { expr, index } => self.index(expr, index)?,
            Expr::Member { expr, key } => self.member(expr, key)?,
        })
    }

    /// `-v` or `not v`, `v` translated.
    fn unary(&self, op: UnaryOp, v: DfExpr) -> DfExpr {
        match op {
            UnaryOp::Not => self.as_condition(v).not(),
            UnaryOp::Neg => DfExpr::Negative(Box::new(self.as_number(v))),
        }
    }

    /// `lhs op rhs`, given as written (a number written makes the comparison numeric)
    /// and translated, `l` and `r`.
    fn combine(&self, op: BinaryOp, lhs: &Expr, rhs: &Expr, l: DfExpr, r: DfExpr) -> DfExpr {
        let is_number = |e: &Expr| matches!(e, Expr::Integer(_) | Expr::Float(_));
        match op {
            BinaryOp::And => self.as_condition(l).and(self.as_condition(r)),
            BinaryOp::Or => self.as_condition(l).or(self.as_condition(r)),
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge => {
                let (lt, rt) = (self.type_of(&l), self.type_of(&r));
                let (l, r) =
                    if is_number(lhs) || is_number(rhs) || (lt.is_numeric() && rt.is_numeric()) {
                        (self.as_number(l), self.as_number(r))
                    } else if matches!(lt, DataType::Timestamp(_, _)) && rt == DataType::Utf8 {
                        (l, cast(r, lt))
                    } else if lt == DataType::Utf8 || rt == DataType::Utf8 {
                        (self.as_text(l), self.as_text(r))
                    } else {
                        (l, r)
                    };
                let operator = match op {
                    BinaryOp::Eq => Operator::Eq,
                    BinaryOp::Ne => Operator::NotEq,
                    BinaryOp::Lt => Operator::Lt,
                    BinaryOp::Le => Operator::LtEq,
                    BinaryOp::Gt => Operator::Gt,
                    _ => Operator::GtEq,
                };
                binary_expr(l, operator, r)
            }
            arith => arithmetic(arith, self.as_number(l), self.as_number(r)),
        }
    }

    /// A call of a scalar function: `a` are its arguments translated (in `stats`, with
    /// aggregates already columns, so `round(avg(x), 2)` works), `raw` as written, for
    /// what must be literal (periods, date patterns) or is read as a word (`true`).
    fn scalar_call(
        &self,
        function: Function,
        a: Vec<DfExpr>,
        raw: &[Expr],
        span: Span,
    ) -> PlanResult<DfExpr> {
        let arg = |i: usize| a.get(i).cloned().unwrap_or(lit(ScalarValue::Null));
        let num = |i: usize| match a.get(i) {
            Some(v) => self.as_number(v.clone()),
            None => lit(ScalarValue::Float64(None)),
        };
        let txt = |i: usize| match a.get(i) {
            Some(v) => self.as_text(v.clone()),
            None => lit(ScalarValue::Utf8(None)),
        };
        let cond = |i: usize| self.as_condition(arg(i));
        Ok(match function {
            Function::Abs => f::abs(num(0)),
            Function::Ceil => f::ceil(num(0)),
            Function::Floor => f::floor(num(0)),
            Function::Sqrt => f::sqrt(num(0)),
            Function::Log => f::ln(num(0)),
            Function::Round => match a.get(1) {
                Some(_) => f::round(vec![num(0), cast(num(1), DataType::Int64)]),
                None => f::round(vec![num(0)]),
            },
            Function::Greatest | Function::Least => {
                let nums = (0..a.len()).map(num).collect();
                if function == Function::Greatest {
                    f::greatest(nums)
                } else {
                    f::least(nums)
                }
            }
            Function::ToNumber | Function::ToDouble => num(0),
            Function::ToInt | Function::ToLong => {
                let whole = self.whole_number(arg(0), num(0));
                if function == Function::ToInt {
                    // 32-bit: out of range is no value. AWS does not say what it
                    // gives; a wrapped or clamped number would pass for a real one.
                    cast(try_cast(whole, DataType::Int32), DataType::Int64)
                } else {
                    whole
                }
            }
            Function::Strlen => f::character_length(txt(0)),
            Function::ToUpper => f::upper(txt(0)),
            Function::ToLower => f::lower(txt(0)),
            Function::Concat => f::concat((0..a.len()).map(txt).collect()),
            Function::Substr => {
                let start = binary_expr(cast(num(1), DataType::Int64), Operator::Plus, lit(1i64));
                match a.get(2) {
                    Some(_) => f::substring(txt(0), start, cast(num(2), DataType::Int64)),
                    None => f::substr(txt(0), start),
                }
            }
            Function::Replace => f::replace(txt(0), txt(1), txt(2)),
            Function::Trim | Function::Ltrim | Function::Rtrim => {
                let chars = if a.len() > 1 { txt(1) } else { lit(WHITESPACE) };
                let args = vec![txt(0), chars];
                match function {
                    Function::Trim => f::btrim(args),
                    Function::Ltrim => f::ltrim(args),
                    _ => f::rtrim(args),
                }
            }
            Function::StrContains => {
                let (s, needle) = (txt(0), txt(1));
                let exact = f::strpos(s.clone(), needle.clone()).gt(lit(0));
                match raw.get(2) {
                    None => bool_to_int(exact),
                    Some(written) => {
                        let ignoring_case = f::strpos(f::lower(s), f::lower(needle)).gt(lit(0));
                        bool_to_int(DfExpr::Case(datafusion::logical_expr::Case::new(
                            None,
                            vec![(
                                Box::new(self.flag(written, arg(2))),
                                Box::new(ignoring_case),
                            )],
                            Some(Box::new(exact)),
                        )))
                    }
                }
            }
            Function::StartsWith => bool_to_int(f::starts_with(txt(0), txt(1))),
            Function::EndsWith => bool_to_int(f::ends_with(txt(0), txt(1))),
            Function::IsEmpty => {
                let t = txt(0);
                bool_to_int(t.clone().is_null().or(t.eq(lit(""))))
            }
            Function::IsBlank => {
                let t = txt(0);
                bool_to_int(
                    t.clone()
                        .is_null()
                        .or(f::btrim(vec![t, lit(WHITESPACE)]).eq(lit(""))),
                )
            }
            Function::IsPresent => bool_to_int(arg(0).is_not_null()),
            Function::Coalesce => f::coalesce(a),
            Function::If => DfExpr::Case(datafusion::logical_expr::Case::new(
                None,
                vec![(Box::new(cond(0)), Box::new(arg(1)))],
                Some(Box::new(arg(2))),
            )),
            Function::Case => {
                let whens = (0..a.len() / 2)
                    .map(|i| (Box::new(cond(2 * i)), Box::new(arg(2 * i + 1))))
                    .collect();
                let otherwise = (a.len() % 2 == 1).then(|| Box::new(arg(a.len() - 1)));
                DfExpr::Case(datafusion::logical_expr::Case::new(None, whens, otherwise))
            }
            Function::Bin => {
                let Some(Expr::Period(p)) = raw.first() else {
                    return Err(ParseError::new(
                        self.ctx.text,
                        span,
                        "bin needs a period such as 5m",
                    ));
                };
                self.bin(ident(TIMESTAMP), p.capped_for_bin(), span)?
            }
            Function::DateFloor | Function::DateCeil => {
                let Some(Expr::Period(p)) = raw.get(1) else {
                    return Err(ParseError::new(
                        self.ctx.text,
                        span,
                        "the second argument must be a period such as 5m",
                    ));
                };
                let ts = arg(0);
                let floor = self.bin(ts.clone(), *p, span)?;
                if function == Function::DateFloor {
                    floor
                } else {
                    // The ceiling is the floor, unless the time lies past it.
                    let step = datafusion::logical_expr::Case::new(
                        None,
                        vec![(Box::new(floor.clone().eq(ts)), Box::new(floor.clone()))],
                        Some(Box::new(binary_expr(floor, Operator::Plus, interval(*p)))),
                    );
                    DfExpr::Case(step)
                }
            }
            Function::FromMillis => f::to_timestamp_millis(vec![cast(num(0), DataType::Int64)]),
            Function::ToMillis => {
                let v = arg(0);
                match self.type_of(&v) {
                    DataType::Timestamp(_, _) => cast(cast(v, DataType::Int64), DataType::Float64),
                    _ => num(0),
                }
            }
            Function::Now => lit((model::time::now_ms() / 1000) as f64),
            Function::QueryStartTime => lit(self.ctx.start_ms as f64),
            Function::QueryEndTime => lit(self.ctx.end_ms as f64),
            Function::QueryTimeRange => lit((self.ctx.end_ms - self.ctx.start_ms) as f64),
            Function::MessageSize => f::octet_length(txt(0)),
            Function::Md5 => f::md5(txt(0)),
            Function::Sha256 => f::encode(f::sha256(txt(0)), lit("hex")),
            Function::RegexReplace => f::regexp_replace(txt(0), txt(1), txt(2), Some(lit("g"))),
            Function::IsValidIp => udf::call(Op::IsValidIp, vec![txt(0)]),
            Function::IsValidIpV4 => udf::call(Op::IsValidIpV4, vec![txt(0)]),
            Function::IsValidIpV6 => udf::call(Op::IsValidIpV6, vec![txt(0)]),
            Function::IsIpInSubnet => udf::call(Op::IsIpInSubnet, vec![txt(0), txt(1)]),
            Function::IsIpv4InSubnet => udf::call(Op::IsIpv4InSubnet, vec![txt(0), txt(1)]),
            Function::IsIpv6InSubnet => udf::call(Op::IsIpv6InSubnet, vec![txt(0), txt(1)]),
            Function::Ipv4ToNumber => udf::call(Op::Ipv4ToNumber, vec![txt(0)]),
            Function::IsPrivateIp => udf::call(Op::IsPrivateIp, vec![txt(0)]),
            Function::IsPublicIp => udf::call(Op::IsPublicIp, vec![txt(0)]),
            Function::IsReservedIp => udf::call(Op::IsReservedIp, vec![txt(0)]),
            Function::IsNumeric => udf::call(Op::IsNumeric, vec![txt(0)]),
            Function::UrlEncode => udf::call(Op::UrlEncode, vec![txt(0)]),
            Function::UrlDecode => udf::call(Op::UrlDecode, vec![txt(0)]),
            Function::Base64Encode => udf::call(Op::Base64Encode, vec![txt(0)]),
            Function::Base64Decode => udf::call(Op::Base64Decode, vec![txt(0)]),
            Function::Split => udf::call(Op::Split, vec![txt(0), txt(1)]),
            Function::HexToAscii => udf::call(Op::HexToAscii, vec![txt(0)]),
            Function::HexToDec => udf::call(Op::HexToDec, vec![txt(0)]),
            Function::DecToHex => udf::call(Op::DecToHex, vec![num(0)]),
            Function::JsonParse => {
                udf::call(Op::JsonParse, vec![self.json_arg(a.first().cloned())])
            }
            Function::JsonStringify => {
                udf::call(Op::JsonStringify, vec![self.json_arg(a.first().cloned())])
            }
            Function::JsonArraySize => {
                udf::call(Op::JsonArraySize, vec![self.json_arg(a.first().cloned())])
            }
            Function::JsonArrayContains => udf::call(
                Op::JsonArrayContains,
                vec![self.json_arg(a.first().cloned()), txt(1)],
            ),
            Function::ParseDate => {
                let pattern = self.literal_text(raw.get(1), span, "The parseDate pattern")?;
                let format = udf::java_pattern_to_strftime(&pattern)
                    .map_err(|e| ParseError::new(self.ctx.text, span, e))?;
                let zone = self.zone(raw.get(2), span)?;
                udf::call(Op::ParseDate, vec![txt(0), lit(format), zone])
            }
            Function::FormatDate | Function::Strftime => {
                let format = self.literal_text(raw.get(1), span, "The date format")?;
                udf::check_strftime(&format)
                    .map_err(|e| ParseError::new(self.ctx.text, span, e))?;
                let zone = self.zone(raw.get(2), span)?;
                udf::call(Op::FormatDate, vec![num(0), lit(format), zone])
            }
            Function::Haversine => udf::call(Op::Haversine, (0..4).map(num).collect()),
            other => {
                return Err(ParseError::new(
                    self.ctx.text,
                    span,
                    format!("{} is not a scalar function", other.name()),
                ));
            }
        })
    }

    /// `ts` rounded down to a multiple of `period` (UTC): calendar months, quarters and
    /// years from their first day, weeks from Monday, shorter periods from the epoch.
    fn bin(&self, ts: DfExpr, period: Period, span: Span) -> PlanResult<DfExpr> {
        if let Some(months) = calendar_months(period.unit) {
            let unit = match months {
                1 => "month",
                3 => "quarter",
                _ => "year",
            };
            if period.amount != 1 {
                return Err(ParseError::new(
                    self.ctx.text,
                    span,
                    "Calendar periods (months, quarters, years) must have an amount of 1",
                ));
            }
            return Ok(f::date_trunc(lit(unit), ts));
        }
        // The epoch was a Thursday; weeks start on Monday, as in ISO 8601 and
        // `date_trunc('week')`, so that `bin(1w)` gives calendar weeks.
        let origin = if period.unit == PeriodUnit::Week {
            FIRST_MONDAY_MS
        } else {
            0
        };
        Ok(f::date_bin(interval(period), ts, timestamp_lit(origin)))
    }

    fn finish(mut self, limit: usize, span: Span) -> PlanResult<Planned> {
        let fields = match self.display.take() {
            Some(d) => d,
            None if !self.shown.is_empty() => self.shown.clone(),
            None => vec![
                TIMESTAMP.into(),
                MESSAGE.into(),
                LOG_STREAM.into(),
                LOG.into(),
            ],
        };
        let mut exprs: Vec<DfExpr> = fields
            .iter()
            .map(|name| self.field(name).alias(name))
            .collect();
        if !self.aggregated {
            for hidden in [crate::table::SEQ, crate::table::GROUP_ID] {
                if self.has_column(hidden) {
                    exprs.push(ident(hidden));
                }
            }
        }
        let mut deduped = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for e in exprs {
            if seen.insert(e.schema_name().to_string()) {
                deduped.push(e);
            }
        }
        self.apply(span, |b| b.project(deduped)?.limit(0, Some(limit)))?;
        let plan = self
            .builder
            .build()
            .map_err(|e| df_error(self.ctx, span, e))?;
        Ok(Planned {
            plan,
            fields,
            aggregated: self.aggregated,
        })
    }
}

fn arithmetic(op: BinaryOp, l: DfExpr, r: DfExpr) -> DfExpr {
    match op {
        BinaryOp::Add => binary_expr(l, Operator::Plus, r),
        BinaryOp::Sub => binary_expr(l, Operator::Minus, r),
        BinaryOp::Mul => binary_expr(l, Operator::Multiply, r),
        BinaryOp::Div => binary_expr(l, Operator::Divide, r),
        BinaryOp::Mod => binary_expr(l, Operator::Modulo, r),
        _ => f::power(l, r),
    }
}

/// The ways to read dotted segments as a path of keys, for the JSON path a dotted name
/// denotes: every dot a step first, then with ever more neighbours joined into one key
/// (a key containing dots). Past [`MAX_SPLIT_SEGMENTS`] segments only the two extremes
/// are tried, as the ways grow as 2^n.
fn key_paths(segments: &[&str]) -> Vec<Vec<String>> {
    let gaps = segments.len().saturating_sub(1);
    // For each way, whether each gap between segments joins them.
    let mut ways: Vec<Vec<bool>> = if segments.len() <= MAX_SPLIT_SEGMENTS {
        (0..1usize << gaps)
            .map(|mask| (0..gaps).map(|gap| mask & (1 << gap) != 0).collect())
            .collect()
    } else {
        vec![vec![false; gaps], vec![true; gaps]]
    };
    ways.sort_by_key(|joins| joins.iter().filter(|j| **j).count());
    ways.into_iter()
        .map(|joins| {
            let mut keys = vec![segments.first().copied().unwrap_or_default().to_string()];
            for (segment, join) in segments.iter().skip(1).zip(joins) {
                match keys.last_mut() {
                    Some(last) if join => {
                        last.push('.');
                        last.push_str(segment);
                    }
                    _ => keys.push(segment.to_string()),
                }
            }
            keys
        })
        .collect()
}

/// See [`key_paths`].
const MAX_SPLIT_SEGMENTS: usize = 5;

/// The value at the path the dotted `segments` name in JSON text `json`: the first of the
/// readings of [`key_paths`] that leads to one. Flattening joins keys with dots, so a key
/// may hold dots itself: `{"k.dot": 1}` is `k.dot` as `{"k": {"dot": 1}}` is.
fn json_path(json: DfExpr, segments: &[&str]) -> DfExpr {
    let mut ways = key_paths(segments).into_iter();
    let read = |keys: &[String]| {
        let mut args = vec![json.clone()];
        args.extend(keys.iter().map(|k| path_key(k)));
        json_as_text(args)
    };
    let Some(plain) = ways.next() else {
        return lit(ScalarValue::Utf8(None));
    };
    let plain = read(&plain);
    // Keys holding dots are rare, and each way of reading them is a parse of its own:
    // they are tried only on texts that hold such a key, quoted, so that every other
    // event is parsed once.
    let mut dotted = Vec::new();
    let mut holds_one: Option<DfExpr> = None;
    for keys in ways {
        let holds_all = keys
            .iter()
            .filter(|k| k.contains('.'))
            .map(|k| f::contains(json.clone(), lit(format!("\"{k}\""))))
            .reduce(DfExpr::and);
        if let Some(holds) = holds_all {
            holds_one = Some(match holds_one {
                Some(any) => any.or(holds),
                None => holds,
            });
        }
        dotted.push(read(&keys));
    }
    match holds_one {
        None => plain,
        Some(holds) => {
            let mut tries = vec![plain.clone()];
            tries.extend(dotted);
            DfExpr::Case(datafusion::logical_expr::Case::new(
                None,
                vec![(Box::new(holds), Box::new(f::coalesce(tries)))],
                Some(Box::new(plain)),
            ))
        }
    }
}

/// A step of a JSON path: numbers index arrays, anything else names a member.
fn path_key(part: &str) -> DfExpr {
    match part.parse::<i64>() {
        Ok(i) => lit(i),
        Err(_) => lit(part),
    }
}

/// `json_as_text(json, key...)`: the value at a path, strings unquoted and maps and
/// lists as JSON text.
fn json_as_text(args: Vec<DfExpr>) -> DfExpr {
    DfExpr::ScalarFunction(ScalarFunction::new_udf(
        datafusion_functions_json::udfs::json_as_text_udf(),
        args,
    ))
}

/// One step further into JSON text. Steps by literal keys join the `json_as_text` call
/// they follow, so the text is parsed once and a string value is never mistaken for
/// JSON of its own.
fn json_step(json: DfExpr, key: DfExpr) -> DfExpr {
    if let DfExpr::ScalarFunction(call) = &json
        && call.func.name() == datafusion_functions_json::udfs::json_as_text_udf().name()
        && matches!(key, DfExpr::Literal(..))
        && call
            .args
            .iter()
            .skip(1)
            .all(|a| matches!(a, DfExpr::Literal(..)))
    {
        let mut args = call.args.clone();
        args.push(key);
        return json_as_text(args);
    }
    json_as_text(vec![json, key])
}

fn bool_to_int(e: DfExpr) -> DfExpr {
    DfExpr::Case(datafusion::logical_expr::Case::new(
        None,
        vec![(Box::new(e), Box::new(lit(1i64)))],
        Some(Box::new(lit(0i64))),
    ))
}

fn with_flags(r: &AstRegex) -> String {
    if r.case_insensitive {
        format!("(?i){}", r.pattern)
    } else {
        r.pattern.clone()
    }
}

fn regex_like(text: DfExpr, r: &AstRegex) -> DfExpr {
    f::regexp_like(text, lit(with_flags(r)), None)
}

fn regex_escape(text: &str) -> String {
    regex::escape(text)
}

/// A period's length in ms, the value of a bare period. Calendar units have no fixed
/// length and count as 30, 91 and 365 days here; time arithmetic uses [`interval`].
fn period_ms(p: Period) -> i64 {
    let unit: i64 = match p.unit {
        PeriodUnit::Millisecond => 1,
        PeriodUnit::Second => 1_000,
        PeriodUnit::Minute => 60_000,
        PeriodUnit::Hour => 3_600_000,
        PeriodUnit::Day => 86_400_000,
        PeriodUnit::Week => 7 * 86_400_000,
        PeriodUnit::Month => 30 * 86_400_000,
        PeriodUnit::Quarter => 91 * 86_400_000,
        PeriodUnit::Year => 365 * 86_400_000,
    };
    unit.saturating_mul(p.amount as i64)
}

/// What `trim`, `ltrim` and `rtrim` remove without a `trimChars`, and what `isblank`
/// counts as blank: ASCII whitespace, where DataFusion's trims take spaces only.
const WHITESPACE: &str = " \t\n\r\x0B\x0C";

/// 1970-01-05 00:00 UTC, the first Monday after the epoch, in epoch ms.
const FIRST_MONDAY_MS: i64 = 4 * 86_400_000;

/// How many calendar months a unit is, for the units whose length varies.
fn calendar_months(unit: PeriodUnit) -> Option<u64> {
    match unit {
        PeriodUnit::Month => Some(1),
        PeriodUnit::Quarter => Some(3),
        PeriodUnit::Year => Some(12),
        _ => None,
    }
}

/// `p` as an interval to add to a time: calendar units in months, so that a month
/// after January 1st is February 1st whatever the month's length; the others exactly.
fn interval(p: Period) -> DfExpr {
    use datafusion::arrow::datatypes::IntervalMonthDayNano;
    let value = match calendar_months(p.unit) {
        Some(months) => IntervalMonthDayNano::new(
            i32::try_from(months.saturating_mul(p.amount)).unwrap_or(i32::MAX),
            0,
            0,
        ),
        None => IntervalMonthDayNano::new(0, 0, period_ms(p).saturating_mul(1_000_000)),
    };
    lit(ScalarValue::IntervalMonthDayNano(Some(value)))
}

#[cfg(test)]
mod tests {
    use super::key_paths;

    #[test]
    fn dotted_names_read_as_paths_then_as_keys_with_dots() {
        let paths = |segments: &[&str]| -> Vec<String> {
            key_paths(segments)
                .into_iter()
                .map(|keys| keys.join(" / "))
                .collect()
        };
        assert_eq!(paths(&["a"]), ["a"]);
        assert_eq!(paths(&["a", "b"]), ["a / b", "a.b"]);
        assert_eq!(
            paths(&["a", "b", "c"]),
            ["a / b / c", "a.b / c", "a / b.c", "a.b.c"]
        );
        assert_eq!(key_paths(&["a", "b", "c", "d", "e"]).len(), 16);
        let many = ["k"; 40];
        assert_eq!(
            paths(&many[..]),
            [vec!["k"; 40].join(" / "), vec!["k"; 40].join(".")]
        );
    }
}
