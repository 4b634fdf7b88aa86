//! Running an Insights query against the store: plan, execute, render rows as AWS does.

use crate::insights::{self, ParseError};
use crate::table::{self, GROUP_ID, SEQ};
use chrono::{TimeZone, Utc};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{
    DataType, Float64Type, Int64Type, TimeUnit, TimestampMillisecondType,
};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, DFSchemaRef};
use datafusion::datasource::provider_as_source;
use datafusion::error::DataFusionError;
use datafusion::execution::{SessionState, SessionStateBuilder, TaskContext};
use datafusion::logical_expr::{EmptyRelation, LogicalPlan, LogicalPlanBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use store::{ExternalTable, GroupRow, Store};

/// Why a query did not run.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The text is not a valid query (`MalformedQueryException`).
    #[error(transparent)]
    Malformed(#[from] ParseError),
    /// It failed while running (the query's status becomes `Failed`).
    #[error("query failed: {0}")]
    Execution(#[from] DataFusionError),
    /// A SQL query names a table that is no log group (nor external table) of the caller.
    #[error("Log group '{0}' does not exist")]
    UnknownGroup(String),
    /// A SOURCE command selects more groups than a query may read.
    #[error("The SOURCE command selected more than {MAX_SOURCE_GROUPS} log groups.")]
    TooManyGroups,
}

/// One result row: `(field, value)` pairs in display order, absent values left out.
pub type Row = Vec<(String, String)>;

/// A finished query's rows and what it cost.
#[derive(Debug, Default, Clone)]
pub struct QueryOutput {
    /// Result rows.
    pub rows: Vec<Row>,
    /// Events read.
    pub records_scanned: u64,
    /// Events that reached the result (before aggregation).
    pub records_matched: u64,
    /// Message bytes read.
    pub bytes_scanned: u64,
}

/// What to run: query text over some groups and an inclusive time range.
#[derive(Debug, Clone, Copy)]
pub struct QueryRequest<'a> {
    /// Insights query text.
    pub text: &'a str,
    /// Groups to read.
    pub groups: &'a [GroupRow],
    /// Start, epoch ms, inclusive.
    pub start_ms: i64,
    /// End, epoch ms, inclusive.
    pub end_ms: i64,
    /// Most rows returned.
    pub limit: usize,
}

/// The most log groups a SOURCE command may select, as in AWS.
pub const MAX_SOURCE_GROUPS: usize = 10_000;

/// The groups of `scope` a SOURCE command selects: by name prefix and log class.
pub fn source_groups(
    store: &Store,
    scope: &model::Scope,
    source: &insights::Source,
) -> Result<Vec<GroupRow>, QueryError> {
    let keep = |g: &GroupRow| {
        (source.name_prefixes.is_empty()
            || source
                .name_prefixes
                .iter()
                .any(|p| g.name.starts_with(p.as_str())))
            && (source.classes.is_empty()
                || source
                    .classes
                    .iter()
                    .any(|c| c.as_str() == g.log_group_class))
    };
    let groups = store
        .catalog()
        .groups(scope, None, MAX_SOURCE_GROUPS + 1, &keep)
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
    if groups.len() > MAX_SOURCE_GROUPS {
        return Err(QueryError::TooManyGroups);
    }
    Ok(groups)
}

/// A query planned before its data is known: the Insights plan over a stand-in for the
/// log table, to run over any groups by [`run_prepared`]. StartQuery prepares a query
/// to refuse a malformed one at once, and its task then runs that same plan instead of
/// planning again.
pub struct Prepared {
    query: insights::Query,
    planned: insights::plan::Planned,
    /// The stand-in's schema, the log table's own: the scan takes its place by identity.
    stand_in: DFSchemaRef,
    matched: Arc<AtomicU64>,
    /// The range planned for, epoch ms, inclusive: the range the scan reads.
    start_ms: i64,
    end_ms: i64,
}

impl Prepared {
    /// The query's SOURCE command, if it selects its groups itself.
    pub fn source(&self) -> Option<&insights::Source> {
        self.query.source.as_ref()
    }
}

/// Parses and plans a query over `[start_ms, end_ms]` (epoch ms, inclusive) returning at
/// most `limit` rows, without reading data. Some mistakes only planning finds (a regex
/// or date pattern that does not compile, a bin period too long): they are refused here,
/// before the query is accepted, as AWS refuses them.
pub fn prepare(
    text: &str,
    start_ms: i64,
    end_ms: i64,
    limit: usize,
) -> Result<Prepared, QueryError> {
    let query = insights::parse(text)?;
    // Qualified as the scan is, so that the plan's schemas hold when it takes the place.
    let stand_in = Arc::new(DFSchema::try_from_qualified_schema(
        LOGS_TABLE,
        table::SCHEMA.as_ref(),
    )?);
    let nothing = LogicalPlan::EmptyRelation(EmptyRelation {
        produce_one_row: false,
        schema: stand_in.clone(),
    });
    let matched = Arc::new(AtomicU64::new(0));
    let planned = insights::plan::plan(
        &query,
        nothing,
        &insights::plan::Context {
            text,
            start_ms,
            end_ms,
            limit,
            matched: matched.clone(),
        },
    )?;
    Ok(Prepared {
        query,
        planned,
        stand_in,
        matched,
        start_ms,
        end_ms,
    })
}

/// Runs a query to completion.
pub async fn run(store: &Store, request: QueryRequest<'_>) -> Result<QueryOutput, QueryError> {
    run_with(store, request, Parallelism::BySize).await
}

/// How many partitions a query's plan has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parallelism {
    /// One for scans under [`SMALL_SCAN_BYTES`], one per core above.
    BySize,
    /// One per core whatever the size: the plan of large scans, for tests to check on
    /// small data that it gives the answers of the one-partition plan.
    PerCore,
}

/// Runs a query to completion, planned with `parallelism`.
pub async fn run_with(
    store: &Store,
    request: QueryRequest<'_>,
    parallelism: Parallelism,
) -> Result<QueryOutput, QueryError> {
    let prepared = prepare(
        request.text,
        request.start_ms,
        request.end_ms,
        request.limit,
    )?;
    run_prepared(store, request.groups, prepared, parallelism).await
}

/// The name the log table has in plans.
const LOGS_TABLE: &str = "logs";

/// Runs a prepared query over `groups` in the range it was prepared for, planned with
/// `parallelism`.
pub async fn run_prepared(
    store: &Store,
    groups: &[GroupRow],
    prepared: Prepared,
    parallelism: Parallelism,
) -> Result<QueryOutput, QueryError> {
    let (table, counters) = table::log_table(store, groups, prepared.start_ms, prepared.end_ms)?;
    let scan_bytes = match parallelism {
        Parallelism::BySize => table.size_bytes(),
        Parallelism::PerCore => u64::MAX,
    };
    let state = insights_session(scan_bytes);
    let scan =
        LogicalPlanBuilder::scan(LOGS_TABLE, provider_as_source(Arc::new(table)), None)?.build()?;
    let Prepared {
        planned,
        stand_in,
        matched,
        ..
    } = prepared;
    let plan = planned
        .plan
        .transform_up(|node| match &node {
            LogicalPlan::EmptyRelation(e) if Arc::ptr_eq(&e.schema, &stand_in) => {
                Ok(Transformed::yes(scan.clone()))
            }
            _ => Ok(Transformed::no(node)),
        })?
        .data;
    let physical = state.create_physical_plan(&plan).await?;
    let task = Arc::new(TaskContext::from(state));
    let batches = datafusion::physical_plan::collect(physical.clone(), task).await?;
    // `TRAILWATCH_LOG=query=debug` shows where a query spent its time.
    tracing::debug!(
        plan = %datafusion::physical_plan::display::DisplayableExecutionPlan::with_metrics(
            physical.as_ref()
        )
        .indent(true),
        "Insights query ran"
    );
    let mut rows = Vec::new();
    for batch in &batches {
        render(batch, &planned.fields, planned.aggregated, &mut rows);
    }
    let records_scanned = counters.records.load(Ordering::Relaxed);
    Ok(QueryOutput {
        records_matched: matched.load(Ordering::Relaxed),
        rows,
        records_scanned,
        bytes_scanned: counters.bytes.load(Ordering::Relaxed),
    })
}

/// Scans smaller than this (compressed segment bytes) are planned for one partition
/// with one optimizer pass. Such a query (an hour out of weeks) runs in a millisecond or
/// two, so planning is most of its cost: repartitioning for a parallel aggregation and
/// the optimizer's second and third passes took half of an empty hour's 1.8 ms, and
/// buy nothing when there is little to read. The scan itself still reads its files in
/// parallel.
pub const SMALL_SCAN_BYTES: u64 = 16 << 20;

/// A DataFusion session for a query that reads `scan_bytes` (`None`: unknown, as for
/// external tables).
fn session(scan_bytes: Option<u64>) -> SessionContext {
    let mut config = SessionConfig::new();
    if scan_bytes.is_some_and(|bytes| bytes < SMALL_SCAN_BYTES) {
        config = config.with_target_partitions(1);
        config.options_mut().optimizer.max_passes = 1;
    }
    SessionContext::new_with_config(config)
}

/// The DataFusion session an Insights plan over a scan of `scan_bytes` is optimized and
/// run in. There are two, each made once: making one registers every built-in function,
/// a cost an hour's query would otherwise pay each time. Insights plans never call
/// `now()`, so the session's fixed query start time changes no answer.
fn insights_session(scan_bytes: u64) -> &'static SessionState {
    static SMALL: LazyLock<SessionState> = LazyLock::new(|| insights_state(0));
    static LARGE: LazyLock<SessionState> = LazyLock::new(|| insights_state(SMALL_SCAN_BYTES));
    if scan_bytes < SMALL_SCAN_BYTES {
        &SMALL
    } else {
        &LARGE
    }
}

/// Optimizer rules an Insights session goes without.
///
/// - `extract_leaf_expressions`, `push_down_leaf_projections`: JSON functions declare
///   themselves cheap leaf extractions, but on raw messages each is a parse, and moved
///   below a filter it runs for every event instead of only the matching ones.
/// - The rest rewrite joins, subqueries and unions, which Insights plans never have:
///   they would only walk the plan.
const INSIGHTS_SKIPPED_RULES: [&str; 13] = [
    "extract_leaf_expressions",
    "push_down_leaf_projections",
    "rewrite_set_comparison",
    "optimize_unions",
    "unions_to_filter",
    "eliminate_join",
    "decorrelate_predicate_subquery",
    "scalar_subquery_to_join",
    "decorrelate_lateral_join",
    "extract_equijoin_predicate",
    "eliminate_cross_join",
    "filter_null_join_keys",
    "eliminate_outer_join",
];

/// Physical optimizer rules an Insights session goes without: the join rules.
const INSIGHTS_SKIPPED_PHYSICAL_RULES: [&str; 2] = ["join_selection", "HashJoinBuffering"];

/// The physical rule a one-partition session also goes without: merging partial and
/// final aggregation, which never has a pair to merge there.
const ONE_PARTITION_SKIPPED_PHYSICAL_RULE: &str = "CombinePartialFinalAggregate";

fn skips_physical_rule(name: &str, one_partition: bool) -> bool {
    INSIGHTS_SKIPPED_PHYSICAL_RULES.contains(&name)
        || (one_partition && name == ONE_PARTITION_SKIPPED_PHYSICAL_RULE)
}

/// A session for Insights plans over a scan of `scan_bytes`.
fn insights_state(scan_bytes: u64) -> SessionState {
    let ctx = session(Some(scan_bytes));
    for rule in INSIGHTS_SKIPPED_RULES {
        ctx.remove_optimizer_rule(rule);
    }
    let state = ctx.state();
    let one_partition = state.config().target_partitions() == 1;
    let physical = state
        .physical_optimizers()
        .iter()
        .filter(|rule| !skips_physical_rule(rule.name(), one_partition))
        .cloned()
        .collect();
    SessionStateBuilder::new_from_existing(state)
        .with_physical_optimizer_rules(physical)
        .build()
}

/// The tables a SQL query reads: log groups, and external tables over files.
#[derive(Debug, Clone, Default)]
pub struct SqlTables {
    /// Log groups named as tables.
    pub groups: Vec<GroupRow>,
    /// External tables (`CREATE EXTERNAL TABLE`) named.
    pub external: Vec<ExternalTable>,
}

/// Checks SQL (`queryLanguage = "SQL"`) and finds the tables it reads: each group of
/// `scope` is a table named by its name (quote names with `/`: `SELECT * FROM
/// "/aws/lambda/f"`), and so is each external table of `scope`.
pub fn check_sql(store: &Store, scope: &model::Scope, text: &str) -> Result<SqlTables, QueryError> {
    let whole = insights::Span {
        start: 0,
        end: text.len(),
    };
    let state = SessionContext::new().state();
    let statement = state
        .sql_to_statement(text, &datafusion::config::Dialect::Generic)
        .map_err(|e| ParseError::new(text, whole, e.to_string()))?;
    let is_query = matches!(
        &statement,
        datafusion::sql::parser::Statement::Statement(inner)
            if matches!(**inner, datafusion::sql::sqlparser::ast::Statement::Query(_))
    );
    if !is_query {
        return Err(ParseError::new(text, whole, "Only SELECT queries are allowed").into());
    }
    let references = state
        .resolve_table_references(&statement)
        .map_err(|e| ParseError::new(text, whole, e.to_string()))?;
    let catalog_error =
        |e: store::StoreError| QueryError::Execution(DataFusionError::External(Box::new(e)));
    let mut tables = SqlTables::default();
    for reference in references {
        let name = reference.table().to_string();
        match store.catalog().group(scope, &name) {
            Ok(g) if !tables.groups.iter().any(|known| known.id == g.id) => tables.groups.push(g),
            Ok(_) => {}
            Err(store::StoreError::GroupNotFound) => {
                match store
                    .catalog()
                    .external_table(scope, &name)
                    .map_err(catalog_error)?
                {
                    Some(t) if !tables.external.iter().any(|known| known.name == t.name) => {
                        tables.external.push(t)
                    }
                    Some(_) => {}
                    None => return Err(QueryError::UnknownGroup(name)),
                }
            }
            Err(e) => return Err(catalog_error(e)),
        }
    }
    Ok(tables)
}

/// Defines the external table of a `CREATE EXTERNAL TABLE` statement in `scope` (replacing
/// one of that name), after checking it can be read; `None` when `text` is no such
/// statement.
pub async fn create_external_table(
    store: &Store,
    scope: &model::Scope,
    text: &str,
) -> Result<Option<ExternalTable>, QueryError> {
    let Some(table) = crate::external::parse_create(text, model::time::now_ms())? else {
        return Ok(None);
    };
    crate::external::register(&SessionContext::new(), &table, store.s3_settings()).await?;
    store
        .catalog()
        .put_external_table(scope, &table)
        .map_err(|e| QueryError::Execution(DataFusionError::External(Box::new(e))))?;
    Ok(Some(table))
}

/// Crawls `location` into an external table named `table` of `scope` (see
/// [`crate::external::crawl_statement`]); returns the statement and the table's columns
/// with their types.
pub async fn crawl(
    store: &Store,
    scope: &model::Scope,
    location: &std::path::Path,
    table: &str,
) -> Result<(String, Vec<(String, String)>), QueryError> {
    let statement = crate::external::crawl_statement(
        &location.display().to_string(),
        table,
        store.s3_settings(),
    )
    .await?;
    let defined = create_external_table(store, scope, &statement)
        .await?
        .ok_or_else(|| DataFusionError::Internal(format!("not a definition: {statement}")))?;
    Ok((
        statement,
        external_columns(&defined, store.s3_settings()).await?,
    ))
}

/// The columns of an external table with their types, as DataFusion prints them.
pub async fn external_columns(
    table: &ExternalTable,
    s3: &store::objects::S3Settings,
) -> Result<Vec<(String, String)>, QueryError> {
    let ctx = SessionContext::new();
    crate::external::register(&ctx, table, s3).await?;
    let frame = ctx.table(table.name.as_str()).await?;
    Ok(frame
        .schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().to_string()))
        .collect())
}

/// Runs SQL over `tables` (from [`check_sql`]): each group a table with the columns
/// `@timestamp`, `@ingestionTime`, `@logStream`, `@log` and `@message`, read between
/// `start_ms` and `end_ms`; each external table over its files, whatever their times. The JSON functions of `datafusion-functions-json`
/// (`json_get_str("@message", 'level')`, ...) read fields. Only queries are allowed.
pub async fn run_sql(
    store: &Store,
    tables: &SqlTables,
    text: &str,
    start_ms: i64,
    end_ms: i64,
    limit: usize,
) -> Result<QueryOutput, QueryError> {
    use datafusion::prelude::SQLOptions;
    let mut logs = Vec::new();
    for group in &tables.groups {
        let (table, c) = table::log_table(store, std::slice::from_ref(group), start_ms, end_ms)?;
        logs.push((group.name.as_str(), table, c));
    }
    let scan_bytes = logs.iter().map(|(_, table, _)| table.size_bytes()).sum();
    let mut ctx = session(tables.external.is_empty().then_some(scan_bytes));
    datafusion_functions_json::register_all(&mut ctx)?;
    for table in &tables.external {
        crate::external::register(&ctx, table, store.s3_settings()).await?;
    }
    let mut counters = Vec::new();
    for (name, table, c) in logs {
        ctx.register_table(
            datafusion::common::TableReference::bare(name),
            Arc::new(table),
        )?;
        counters.push(c);
    }
    let options = SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    let whole = insights::Span {
        start: 0,
        end: text.len(),
    };
    let frame = ctx
        .sql_with_options(text, options)
        .await
        .map_err(|e| match e {
            DataFusionError::SQL(..)
            | DataFusionError::Plan(_)
            | DataFusionError::SchemaError(..) => {
                QueryError::Malformed(ParseError::new(text, whole, e.to_string()))
            }
            other => QueryError::Execution(other),
        })?
        .limit(0, Some(limit))?;
    let fields: Vec<String> = frame
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .filter(|n| n != SEQ && n != GROUP_ID)
        .collect();
    let mut rows = Vec::new();
    for batch in frame.collect().await? {
        render(&batch, &fields, true, &mut rows);
    }
    if !tables.external.is_empty() {
        for row in &mut rows {
            for (field, _) in row.iter_mut() {
                *field = crate::external::display_name(field, text);
            }
        }
    }
    let records_scanned = counters
        .iter()
        .map(|c| c.records.load(Ordering::Relaxed))
        .sum();
    Ok(QueryOutput {
        records_matched: rows.len() as u64,
        rows,
        records_scanned,
        bytes_scanned: counters
            .iter()
            .map(|c| c.bytes.load(Ordering::Relaxed))
            .sum(),
    })
}

/// Flattens JSON into `(dotted.path, text)` pairs, arrays by index, as Insights names
/// discovered fields (`requestParameters.items.0.id`).
fn flatten(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, String)>) {
    let join = |key: &str| {
        if prefix.is_empty() {
            key.to_string()
        } else {
            format!("{prefix}.{key}")
        }
    };
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                flatten(&join(k), v, out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&join(&i.to_string()), v, out);
            }
        }
        serde_json::Value::Null => {}
        serde_json::Value::String(s) => out.push((prefix.to_string(), s.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

/// `@ptr`: which group and event a row came from, for GetLogRecord.
pub fn pointer(group_id: i64, seq: i64) -> String {
    format!("{group_id:x}-{seq:x}")
}

/// Parses a pointer made by [`pointer`].
pub fn parse_pointer(ptr: &str) -> Option<(i64, i64)> {
    let (g, s) = ptr.split_once('-')?;
    Some((
        i64::from_str_radix(g, 16).ok()?,
        i64::from_str_radix(s, 16).ok()?,
    ))
}

fn render(batch: &RecordBatch, fields: &[String], aggregated: bool, rows: &mut Vec<Row>) {
    let seq = batch
        .column_by_name(SEQ)
        .map(|c| c.as_primitive::<Int64Type>().clone());
    let group = batch
        .column_by_name(GROUP_ID)
        .map(|c| c.as_primitive::<Int64Type>().clone());
    for i in 0..batch.num_rows() {
        let mut row = Vec::with_capacity(fields.len() + 1);
        for name in fields {
            if let Some(column) = batch.column_by_name(name)
                && let Some(value) = format_value(column.as_ref(), i)
            {
                row.push((name.clone(), value));
            }
        }
        if !aggregated && let (Some(s), Some(g)) = (&seq, &group) {
            row.push(("@ptr".to_string(), pointer(g.value(i), s.value(i))));
        }
        rows.push(row);
    }
}

/// One cell as Insights shows it: times as `YYYY-MM-DD HH:MM:SS.mmm` (UTC), booleans as
/// 1/0, whole numbers without a decimal point.
pub fn format_value(column: &dyn Array, i: usize) -> Option<String> {
    if column.is_null(i) {
        return None;
    }
    Some(match column.data_type() {
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            let ms = column.as_primitive::<TimestampMillisecondType>().value(i);
            Utc.timestamp_millis_opt(ms)
                .single()
                .map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f").to_string())
                .unwrap_or_else(|| ms.to_string())
        }
        DataType::Timestamp(_, _) => {
            let casted = datafusion::arrow::compute::cast(
                &column.slice(i, 1),
                &DataType::Timestamp(TimeUnit::Millisecond, None),
            )
            .ok()?;
            return format_value(casted.as_ref(), 0);
        }
        DataType::Boolean => if column.as_boolean().value(i) {
            "1"
        } else {
            "0"
        }
        .to_string(),
        DataType::Float64 => format_number(column.as_primitive::<Float64Type>().value(i)),
        DataType::Int64 => column.as_primitive::<Int64Type>().value(i).to_string(),
        DataType::Utf8 => column.as_string::<i32>().value(i).to_string(),
        DataType::Utf8View => column.as_string_view().value(i).to_string(),
        DataType::LargeUtf8 => column.as_string::<i64>().value(i).to_string(),
        _ => {
            let text =
                datafusion::arrow::compute::cast(&column.slice(i, 1), &DataType::Utf8).ok()?;
            return format_value(text.as_ref(), 0);
        }
    })
}

fn format_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// The event a `@ptr` names, as GetLogRecord returns it: system fields, times in epoch
/// milliseconds; `None` when it no longer exists.
pub async fn log_record(
    store: &Store,
    group: &GroupRow,
    seq: i64,
) -> Result<Option<Vec<(String, String)>>, QueryError> {
    use datafusion::prelude::{ident, lit};
    let (table, _) = table::log_table(store, std::slice::from_ref(group), i64::MIN, i64::MAX)?;
    let ctx = SessionContext::new();
    let frame = ctx
        .read_table(Arc::new(table))?
        .filter(ident(SEQ).eq(lit(seq)))?
        .limit(0, Some(1))?;
    for batch in frame.collect().await? {
        if batch.num_rows() == 0 {
            continue;
        }
        let mut record = Vec::new();
        for name in [
            table::TIMESTAMP,
            table::INGESTION_TIME,
            table::LOG_STREAM,
            table::LOG,
            table::MESSAGE,
        ] {
            if let Some(column) = batch.column_by_name(name) {
                let value = match column.data_type() {
                    DataType::Timestamp(_, _) => column
                        .as_primitive::<TimestampMillisecondType>()
                        .value(0)
                        .to_string(),
                    _ => format_value(column.as_ref(), 0).unwrap_or_default(),
                };
                record.push((name.to_string(), value));
            }
        }
        // All the event's fields, as AWS returns them: the system fields, and for a JSON
        // message every field discovered in it, flattened with dots.
        if let Some((_, message)) = record.iter().find(|(k, _)| k == table::MESSAGE)
            && let Ok(serde_json::Value::Object(object)) = serde_json::from_str(message)
        {
            let mut fields = Vec::new();
            flatten("", &serde_json::Value::Object(object), &mut fields);
            record.extend(fields);
        }
        return Ok(Some(record));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rule renamed in a DataFusion upgrade would silently stay in: every name skipped
    /// must be one DataFusion has, and be gone from the Insights sessions.
    #[test]
    fn insights_sessions_skip_rules_datafusion_has() {
        let full = SessionContext::new().state();
        let logical: Vec<&str> = full.optimizers().iter().map(|r| r.name()).collect();
        let physical: Vec<&str> = full
            .physical_optimizers()
            .iter()
            .map(|r| r.name())
            .collect();
        for name in INSIGHTS_SKIPPED_RULES {
            assert!(logical.contains(&name), "no optimizer rule {name}");
        }
        for name in INSIGHTS_SKIPPED_PHYSICAL_RULES
            .into_iter()
            .chain([ONE_PARTITION_SKIPPED_PHYSICAL_RULE])
        {
            assert!(
                physical.contains(&name),
                "no physical optimizer rule {name}"
            );
        }
        assert_eq!(insights_session(0).config().target_partitions(), 1);
        for bytes in [0, SMALL_SCAN_BYTES] {
            let state = insights_session(bytes);
            let one_partition = state.config().target_partitions() == 1;
            assert!(
                state
                    .optimizers()
                    .iter()
                    .all(|r| !INSIGHTS_SKIPPED_RULES.contains(&r.name()))
            );
            assert!(
                state
                    .physical_optimizers()
                    .iter()
                    .all(|r| !skips_physical_rule(r.name(), one_partition))
            );
        }
    }
}
