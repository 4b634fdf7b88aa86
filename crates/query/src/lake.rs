//! CloudTrail Lake SQL: event data stores as tables with the Lake's schema, and queries
//! over them as the Lake runs and answers them.
//!
//! Records are stored as JSON text, one per event, in internal log groups. A
//! [`LakeTable`] reads some groups (each over its own time range) and decodes each record
//! into the Lake's columns (aws-formats §5.2). Columns are lower case, as the Lake's are,
//! so DataFusion's identifier normalization makes `userIdentity.userName` in users' SQL
//! resolve verbatim; result columns are named as the Lake names them.

use crate::engine::format_value;
use crate::table::{self, ScanCounters};
use arrow_json::ReaderBuilder;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, RecordBatchOptions};
use datafusion::arrow::compute::kernels::cast_utils::string_to_datetime;
use datafusion::arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::streaming::StreamingTable;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{Column, ScalarValue, TableReference};
use datafusion::datasource::TableType;
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{
    BinaryExpr, ColumnarValue, Expr, Operator, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature, TableProviderFilterPushDown, Volatility,
};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::prelude::{SQLOptions, SessionContext};
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::{self, SelectItem, SetExpr};
use datafusion::sql::sqlparser::parser::ParserError;
use futures::StreamExt;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use store::Store;

/// Column of the event's time.
pub const EVENT_TIME: &str = "eventtime";
/// Column of the record as stored.
pub const EVENT_JSON: &str = "eventjson";
/// Column of the hex SHA-256 of [`EVENT_JSON`].
pub const EVENT_JSON_CHECKSUM: &str = "eventjsonchecksum";

/// The Lake's schema for CloudTrail events (aws-formats §5.2). Every column is nullable:
/// records carry only the fields that apply to them.
pub static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let identity = [
        text("type"),
        text("principalid"),
        text("arn"),
        text("accountid"),
        text("username"),
    ];
    let session_context = record(
        "sessioncontext",
        vec![
            record(
                "attributes",
                vec![time("creationdate"), text("mfaauthenticated")],
            ),
            record("sessionissuer", identity.to_vec()),
            record(
                "webidfederationdata",
                vec![text("federatedprovider"), map("attributes")],
            ),
            text("sourceidentity"),
            text("ec2roledelivery"),
            text("ec2issuedinvpc"),
        ],
    );
    let mut user_identity = identity[..4].to_vec();
    user_identity.extend([
        text("accesskeyid"),
        text("username"),
        session_context,
        text("invokedby"),
        text("identityprovider"),
    ]);
    let resource = Fields::from(vec![
        text("accountid"),
        text("type"),
        text("arn"),
        text("arnprefix"),
    ]);
    Arc::new(Schema::new(vec![
        text("eventversion"),
        record("useridentity", user_identity),
        time(EVENT_TIME),
        text("eventsource"),
        text("eventname"),
        text("awsregion"),
        text("sourceipaddress"),
        text("useragent"),
        text("errorcode"),
        text("errormessage"),
        map("requestparameters"),
        map("responseelements"),
        map("additionaleventdata"),
        text("requestid"),
        text("eventid"),
        Field::new("readonly", DataType::Boolean, true),
        Field::new_list(
            "resources",
            Field::new_list_field(DataType::Struct(resource), true),
            true,
        ),
        text("eventtype"),
        text("apiversion"),
        Field::new("managementevent", DataType::Boolean, true),
        text("recipientaccountid"),
        text("sharedeventid"),
        text("annotation"),
        text("vpcendpointid"),
        map("serviceeventdetails"),
        map("addendum"),
        map("edgedevicedetails"),
        map("insightdetails"),
        text("eventcategory"),
        record(
            "tlsdetails",
            vec![
                text("tlsversion"),
                text("ciphersuite"),
                text("clientprovidedhostheader"),
            ],
        ),
        text("sessioncredentialfromconsole"),
        text(EVENT_JSON),
        text(EVENT_JSON_CHECKSUM),
    ]))
});

fn text(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

fn time(name: &str) -> Field {
    Field::new(name, DataType::Timestamp(TimeUnit::Millisecond, None), true)
}

fn record(name: &str, fields: Vec<Field>) -> Field {
    Field::new(name, DataType::Struct(Fields::from(fields)), true)
}

/// `map<string,string>`.
fn map(name: &str) -> Field {
    let entries = Field::new(
        "entries",
        DataType::Struct(Fields::from(vec![
            Field::new("key", DataType::Utf8, false),
            Field::new("value", DataType::Utf8, true),
        ])),
        false,
    );
    Field::new(name, DataType::Map(Arc::new(entries), false), true)
}

/// Why a Lake query did not run.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    /// The statement is not a query (`InvalidQueryStatementException`).
    #[error("Only SELECT statements are allowed.")]
    NotSelect,
    /// The text does not parse; the message locates the problem by line and column.
    #[error("{0}")]
    Syntax(String),
    /// A table the query reads is none of the event data stores it may read.
    #[error("Event data store {0} does not exist.")]
    UnknownTable(String),
    /// It parses but cannot be planned: unknown column, wrong types, ...
    #[error("{0}")]
    Invalid(String),
    /// It failed while running (the query's status becomes `FAILED`).
    #[error("query failed: {0}")]
    Execution(#[from] DataFusionError),
}

/// A predicate on a parsed record: which records a table shows (an event data store's
/// selectors, say).
pub type RecordFilter = Arc<dyn Fn(&Value) -> bool + Send + Sync>;

/// One group of a table, the time range (epoch ms, inclusive) it is read over, and which
/// of its records the table shows — an event data store shows its selectors' share of the
/// account's history but everything imported into it.
#[derive(Clone)]
pub struct LakeSource {
    /// The group's catalog id.
    pub group_id: i64,
    /// Start, epoch ms, inclusive.
    pub from_ms: i64,
    /// End, epoch ms, inclusive.
    pub to_ms: i64,
    /// The records shown (all when `None`).
    pub keep: Option<RecordFilter>,
}

impl fmt::Debug for LakeSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LakeSource")
            .field("group_id", &self.group_id)
            .field("from_ms", &self.from_ms)
            .field("to_ms", &self.to_ms)
            .field("filtered", &self.keep.is_some())
            .finish()
    }
}

/// An event data store as a table: the records of some groups, decoded into the Lake's
/// columns. A group's event timestamps must be its records' `eventTime` (as the history
/// and imports store them): `eventtime` filters narrow the groups' scans.
pub struct LakeTable {
    store: Store,
    sources: Vec<LakeSource>,
    /// What each scan of the table read, summed for the statistics.
    scans: Mutex<Vec<Arc<ScanCounters>>>,
    /// Records that are not JSON objects, left out.
    skipped: Arc<AtomicU64>,
}

impl fmt::Debug for LakeTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LakeTable")
            .field("sources", &self.sources)
            .finish()
    }
}

impl LakeTable {
    /// A table over `sources`.
    pub fn new(store: &Store, sources: Vec<LakeSource>) -> Self {
        Self {
            store: store.clone(),
            sources,
            scans: Mutex::default(),
            skipped: Arc::default(),
        }
    }

    /// Events and message bytes read so far.
    fn scanned(&self) -> (u64, u64) {
        let scans = self.scans.lock().unwrap_or_else(PoisonError::into_inner);
        scans.iter().fold((0, 0), |(events, bytes), c| {
            (
                events + c.records.load(Ordering::Relaxed),
                bytes + c.bytes.load(Ordering::Relaxed),
            )
        })
    }
}

#[async_trait::async_trait]
impl TableProvider for LakeTable {
    fn schema(&self) -> SchemaRef {
        SCHEMA.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>, DataFusionError> {
        // Inexact: the range only narrows the scan, DataFusion still applies the filter.
        Ok(filters
            .iter()
            .map(|f| {
                if time_bounds(f).is_some() {
                    TableProviderFilterPushDown::Inexact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>, DataFusionError> {
        let (from, to) = filters
            .iter()
            .filter_map(time_bounds)
            .fold((i64::MIN, i64::MAX), |(a, b), (c, d)| (a.max(c), b.min(d)));
        let schema = match projection {
            Some(p) => Arc::new(SCHEMA.project(p)?),
            None => SCHEMA.clone(),
        };
        let message = table::SCHEMA.index_of(table::MESSAGE)?;
        let mut partitions: Vec<Arc<dyn PartitionStream>> = Vec::new();
        for source in &self.sources {
            let (from, to) = (source.from_ms.max(from), source.to_ms.min(to));
            if from > to {
                continue;
            }
            // A group deleted since the caller looked has no records left to show.
            let Some(group) = self
                .store
                .catalog()
                .group_by_id(source.group_id)
                .map_err(|e| DataFusionError::External(Box::new(e)))?
            else {
                continue;
            };
            let (groups, counters) = table::log_table(&self.store, &[group], from, to)?;
            self.scans
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(counters);
            let input = groups.scan(state, Some(&vec![message]), &[], None).await?;
            let decoder = Arc::new(Decoder {
                schema: schema.clone(),
                keep: source.keep.clone(),
                skipped: self.skipped.clone(),
            });
            for partition in 0..input.properties().partitioning.partition_count() {
                partitions.push(Arc::new(LakePartition {
                    input: input.clone(),
                    partition,
                    decoder: decoder.clone(),
                }));
            }
        }
        if partitions.is_empty() {
            return Ok(Arc::new(EmptyExec::new(schema)));
        }
        StreamingTable::try_new(schema, partitions)?
            .scan(state, None, &[], limit)
            .await
    }
}

/// The `eventtime` range (epoch ms, inclusive) a filter keeps, when it compares
/// `eventtime` with a constant. Event times are whole milliseconds, so the bounds are exact.
fn time_bounds(filter: &Expr) -> Option<(i64, i64)> {
    let is_time = |e: &Expr| matches!(e, Expr::Column(Column { name, .. }) if name == EVENT_TIME);
    match filter {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            let (op, (floor, ceil)) = if is_time(left) {
                (*op, millis(right)?)
            } else if is_time(right) {
                (op.swap()?, millis(left)?)
            } else {
                return None;
            };
            match op {
                Operator::Gt => Some((floor.saturating_add(1), i64::MAX)),
                Operator::GtEq => Some((ceil, i64::MAX)),
                Operator::Lt => Some((i64::MIN, ceil.saturating_sub(1))),
                Operator::LtEq => Some((i64::MIN, floor)),
                Operator::Eq => Some((ceil, floor)),
                _ => None,
            }
        }
        Expr::Between(between) if !between.negated && is_time(&between.expr) => {
            Some((millis(&between.low)?.1, millis(&between.high)?.0))
        }
        _ => None,
    }
}

/// A timestamp constant in epoch ms, rounded down and up.
fn millis(expr: &Expr) -> Option<(i64, i64)> {
    let Expr::Literal(value, _) = expr else {
        return None;
    };
    let (v, per_ms) = match value {
        ScalarValue::TimestampSecond(Some(v), _) => (v.checked_mul(1000)?, 1),
        ScalarValue::TimestampMillisecond(Some(v), _) => (*v, 1),
        ScalarValue::TimestampMicrosecond(Some(v), _) => (*v, 1_000),
        ScalarValue::TimestampNanosecond(Some(v), _) => (*v, 1_000_000),
        _ => return None,
    };
    let floor = v.div_euclid(per_ms);
    Some((
        floor,
        if v.rem_euclid(per_ms) == 0 {
            floor
        } else {
            floor + 1
        },
    ))
}

/// Turns batches of stored messages into batches of Lake columns.
struct Decoder {
    /// The columns wanted.
    schema: SchemaRef,
    keep: Option<RecordFilter>,
    skipped: Arc<AtomicU64>,
}

impl Decoder {
    /// Decodes one batch whose only column is the messages.
    fn decode(&self, batch: &RecordBatch) -> Result<RecordBatch, DataFusionError> {
        let messages = batch
            .columns()
            .first()
            .and_then(|c| c.as_string_opt::<i32>())
            .ok_or_else(|| DataFusionError::Internal("lake scan without messages".into()))?;
        let mut rows = Vec::with_capacity(messages.len());
        for message in messages.iter().flatten() {
            match serde_json::from_str::<Value>(message) {
                Ok(Value::Object(record)) => {
                    let record = Value::Object(record);
                    if self.keep.as_ref().is_none_or(|keep| keep(&record)) {
                        rows.push(self.conform(message, record));
                    }
                }
                _ => {
                    self.skipped.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        if self.schema.fields().is_empty() {
            // COUNT(*) and the like read no column, only the row count.
            let options = RecordBatchOptions::new().with_row_count(Some(rows.len()));
            return Ok(RecordBatch::try_new_with_options(
                self.schema.clone(),
                vec![],
                &options,
            )?);
        }
        // Type mismatches the conforming leaves (a string where a timestamp belongs, an
        // object where a string does) become NULLs rather than failing the batch.
        let mut decoder = ReaderBuilder::new(self.schema.clone())
            .with_coerce_primitive(true)
            .with_ignore_type_conflicts(true)
            .build_decoder()?;
        decoder.serialize(&rows)?;
        Ok(decoder
            .flush()?
            .unwrap_or_else(|| RecordBatch::new_empty(self.schema.clone())))
    }

    /// The record reshaped for the wanted columns: keys matched case-insensitively to the
    /// (lower-case) schema, plus the raw text and its checksum.
    fn conform(&self, message: &str, record: Value) -> Value {
        let mut row = conform(record, self.schema.fields());
        if let Value::Object(row) = &mut row {
            for field in self.schema.fields() {
                match field.name().as_str() {
                    EVENT_JSON => {
                        row.insert(EVENT_JSON.into(), message.into());
                    }
                    EVENT_JSON_CHECKSUM => {
                        let digest = Sha256::digest(message.as_bytes());
                        row.insert(EVENT_JSON_CHECKSUM.into(), hex::encode(digest).into());
                    }
                    _ => {}
                }
            }
        }
        row
    }
}

/// An object with the keys of `fields` (matched case-insensitively) and nothing else,
/// each value conformed to its field's type; anything but an object is NULL.
fn conform(value: Value, fields: &Fields) -> Value {
    let Value::Object(object) = value else {
        return Value::Null;
    };
    let mut out = serde_json::Map::new();
    for (key, value) in object {
        if let Some(field) = fields.iter().find(|f| f.name().eq_ignore_ascii_case(&key)) {
            out.insert(
                field.name().clone(),
                conform_value(value, field.data_type()),
            );
        }
    }
    Value::Object(out)
}

fn conform_value(value: Value, data_type: &DataType) -> Value {
    match (data_type, value) {
        (DataType::Struct(fields), value) => conform(value, fields),
        (DataType::List(item), Value::Array(items)) => Value::Array(
            items
                .into_iter()
                .map(|v| conform_value(v, item.data_type()))
                .collect(),
        ),
        // Map values are strings: nested objects, arrays and numbers keep their JSON text,
        // as the Lake shows them.
        (DataType::Map(..), Value::Object(entries)) => Value::Object(
            entries
                .into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(_) | Value::Null => v,
                        other => Value::String(other.to_string()),
                    };
                    (k, v)
                })
                .collect(),
        ),
        (DataType::Map(..) | DataType::List(_), _) => Value::Null,
        // A time the JSON reader would refuse is NULL, as a type conflict.
        (DataType::Timestamp(..), Value::String(s))
            if string_to_datetime(&chrono::Utc, &s).is_err() =>
        {
            Value::Null
        }
        (_, value) => value,
    }
}

/// One partition of a group scan, decoded.
struct LakePartition {
    input: Arc<dyn ExecutionPlan>,
    partition: usize,
    decoder: Arc<Decoder>,
}

impl fmt::Debug for LakePartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LakePartition({})", self.partition)
    }
}

impl PartitionStream for LakePartition {
    fn schema(&self) -> &SchemaRef {
        &self.decoder.schema
    }

    fn execute(&self, ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let schema = self.decoder.schema.clone();
        let input = match self.input.execute(self.partition, ctx) {
            Ok(input) => input,
            Err(e) => {
                return Box::pin(RecordBatchStreamAdapter::new(
                    schema,
                    futures::stream::once(async move { Err(e) }),
                ));
            }
        };
        let decoder = self.decoder.clone();
        let decoded = input.map(move |batch| batch.and_then(|b| decoder.decode(&b)));
        Box::pin(RecordBatchStreamAdapter::new(schema, decoded))
    }
}

/// A finished Lake query: what GetQueryResults and DescribeQuery report.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct LakeResult {
    /// Result column names, as the Lake names them.
    pub columns: Vec<String>,
    /// Rows, one value per column; `None` for NULL.
    pub rows: Vec<Vec<Option<String>>>,
    /// Events read.
    pub events_scanned: u64,
    /// Bytes of the records read.
    pub bytes_scanned: u64,
    /// Records left out because they are not JSON objects.
    pub events_skipped: u64,
}

/// The tables a Lake query reads, as [`run_lake_sql`] expects them named (unquoted names
/// lower case, event data store ids usable unquoted), so the caller can look them up
/// before running; also refuses malformed and non-SELECT text at once.
pub fn lake_tables(sql: &str) -> Result<Vec<String>, LakeError> {
    let state = SessionContext::new().state();
    let (statement, _) = parse(&state, sql)?;
    let references = state
        .resolve_table_references(&statement)
        .map_err(|e| LakeError::Invalid(e.strip_backtrace()))?;
    let mut names: Vec<String> = Vec::new();
    for reference in references {
        let name = reference.table().to_string();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    Ok(names)
}

/// Runs a Lake query over `tables` (each named as [`lake_tables`] names it). Only a
/// single query (SELECT, with UNION, JOIN, WITH, ...) runs. `element_at(map, key)`
/// returns the value, as in Trino.
pub async fn run_lake_sql(
    sql: &str,
    tables: Vec<(String, LakeTable)>,
) -> Result<LakeResult, LakeError> {
    let ctx = SessionContext::new();
    ctx.register_udf(ScalarUDF::from(ElementAt::new()));
    let mut registered = Vec::with_capacity(tables.len());
    for (name, table) in tables {
        let table = Arc::new(table);
        ctx.register_table(TableReference::bare(name.as_str()), table.clone())?;
        registered.push((name, table));
    }
    let state = ctx.state();
    let (statement, items) = parse(&state, sql)?;
    let references = state
        .resolve_table_references(&statement)
        .map_err(|e| LakeError::Invalid(e.strip_backtrace()))?;
    for reference in references {
        let name = reference.table();
        if !registered.iter().any(|(n, _)| n == name) {
            return Err(LakeError::UnknownTable(name.to_string()));
        }
    }
    let plan = state
        .statement_to_plan(statement)
        .await
        .map_err(|e| LakeError::Invalid(e.strip_backtrace()))?;
    // Defense in depth: whatever parsed as a query must plan as one, writing nothing.
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
        .verify_plan(&plan)
        .map_err(|_| LakeError::NotSelect)?;
    let frame = ctx.execute_logical_plan(plan).await?;
    let fields: Vec<String> = frame
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let columns = column_names(&items, &fields);
    let mut rows = Vec::new();
    for batch in frame.collect().await? {
        for i in 0..batch.num_rows() {
            rows.push(
                batch
                    .columns()
                    .iter()
                    .map(|c| lake_value(c.as_ref(), i))
                    .collect(),
            );
        }
    }
    let mut result = LakeResult {
        columns,
        rows,
        ..LakeResult::default()
    };
    for (_, table) in &registered {
        let (events, bytes) = table.scanned();
        result.events_scanned += events;
        result.bytes_scanned += bytes;
        result.events_skipped += table.skipped.load(Ordering::Relaxed);
    }
    Ok(result)
}

/// Parses one query, returning it and the select list its result columns come from.
fn parse(
    state: &datafusion::execution::SessionState,
    sql: &str,
) -> Result<(DfStatement, Vec<SelectItem>), LakeError> {
    let sql = quote_ids(sql);
    let statement = state
        .sql_to_statement(&sql, &datafusion::config::Dialect::Generic)
        .map_err(|e| match e {
            DataFusionError::SQL(e, _) => LakeError::Syntax(match *e {
                ParserError::ParserError(m) | ParserError::TokenizerError(m) => m,
                other => other.to_string(),
            }),
            other => LakeError::Syntax(other.strip_backtrace()),
        })?;
    let items = match &statement {
        DfStatement::Statement(inner) => match &**inner {
            ast::Statement::Query(query) if !has_into(&query.body) => select_items(&query.body),
            _ => return Err(LakeError::NotSelect),
        },
        _ => return Err(LakeError::NotSelect),
    };
    Ok((statement, items))
}

/// Event data store ids are UUIDs, which users write unquoted (`FROM 3b1c...-...`) but
/// which do not parse as identifiers: quote them (lower case, as ids are). Text inside
/// quotes and comments is left alone.
fn quote_ids(sql: &str) -> Cow<'_, str> {
    let bytes = sql.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    while i < bytes.len() {
        let rest = &sql[i..];
        let skip = if let Some(quote) = rest.chars().next().filter(|c| "'\"`".contains(*c)) {
            // A doubled quote inside is an escaped one: the next scan restarts there.
            rest[1..].find(quote).map_or(rest.len(), |end| end + 2)
        } else if rest.starts_with("--") {
            rest.find('\n').unwrap_or(rest.len())
        } else if rest.starts_with("/*") {
            rest.find("*/").map_or(rest.len(), |end| end + 2)
        } else if word(bytes[i]) {
            // Scanning stops only between words, so this is a whole one.
            let len = rest.bytes().take_while(|b| word(*b)).count();
            if is_uuid(&rest[..len]) {
                out.push_str(&sql[copied..i]);
                out.push('"');
                out.push_str(&rest[..len].to_ascii_lowercase());
                out.push('"');
                copied = i + len;
            }
            len
        } else {
            rest.chars().next().map_or(1, char::len_utf8)
        };
        i += skip;
    }
    if copied == 0 {
        return Cow::Borrowed(sql);
    }
    out.push_str(&sql[copied..]);
    Cow::Owned(out)
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// Whether a SELECT of the query writes a table (`SELECT ... INTO t`).
fn has_into(body: &SetExpr) -> bool {
    match body {
        SetExpr::Select(select) => select.into.is_some(),
        SetExpr::Query(query) => has_into(&query.body),
        SetExpr::SetOperation { left, right, .. } => has_into(left) || has_into(right),
        _ => false,
    }
}

/// The select list of the query's first SELECT, which names the result's columns.
fn select_items(body: &SetExpr) -> Vec<SelectItem> {
    match body {
        SetExpr::Select(select) => select.projection.clone(),
        SetExpr::Query(query) => select_items(&query.body),
        SetExpr::SetOperation { left, .. } => select_items(left),
        _ => Vec::new(),
    }
}

/// Result column names as the Lake gives them: an alias, or the last identifier of a
/// column reference as written (`userIdentity.userName` → `userName`), or `_colN` (N the
/// column's position) for other expressions. A wildcard's columns keep the schema's
/// names: they are matched to the output by position from both ends, so with several
/// wildcards the items between them do too.
fn column_names(items: &[SelectItem], fields: &[String]) -> Vec<String> {
    let named: Vec<Option<String>> = items.iter().map(item_name).collect();
    let front = items.iter().take_while(|i| !is_wildcard(i)).count();
    let back = items.iter().rev().take_while(|i| !is_wildcard(i)).count();
    let mut names: Vec<Option<String>> = vec![None; fields.len()];
    if front == items.len() && items.len() == fields.len() {
        names = named;
    } else if front + back <= fields.len() {
        names[..front].clone_from_slice(&named[..front]);
        let tail = fields.len() - back;
        names[tail..].clone_from_slice(&named[items.len() - back..]);
        for (i, field) in fields.iter().enumerate().take(tail).skip(front) {
            names[i] = Some(field.clone());
        }
    }
    names
        .into_iter()
        .enumerate()
        .map(|(i, n)| n.unwrap_or_else(|| format!("_col{i}")))
        .collect()
}

fn is_wildcard(item: &SelectItem) -> bool {
    matches!(
        item,
        SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
    )
}

/// The name an item gives its column, `None` for an unnamed expression.
fn item_name(item: &SelectItem) -> Option<String> {
    match item {
        SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.clone()),
        SelectItem::UnnamedExpr(ast::Expr::Identifier(ident)) => Some(ident.value.clone()),
        SelectItem::UnnamedExpr(ast::Expr::CompoundIdentifier(idents)) => {
            idents.last().map(|i| i.value.clone())
        }
        SelectItem::UnnamedExpr(ast::Expr::CompoundFieldAccess { access_chain, .. }) => {
            match access_chain.last() {
                Some(ast::AccessExpr::Dot(ast::Expr::Identifier(ident))) => {
                    Some(ident.value.clone())
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// One cell as the Lake returns it: times as `YYYY-MM-DD HH:MM:SS.mmm`, booleans as
/// `true`/`false`, maps and structs as `{key=value, ...}`, arrays as `[a, b]`.
fn lake_value(column: &dyn Array, i: usize) -> Option<String> {
    if column.is_null(i) {
        return None;
    }
    Some(match column.data_type() {
        DataType::Boolean => column.as_boolean().value(i).to_string(),
        DataType::Struct(fields) => {
            let parts = column.as_struct().columns().iter().zip(fields.iter());
            let parts: Vec<String> = parts
                .map(|(c, f)| format!("{}={}", f.name(), nested_value(c.as_ref(), i)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        DataType::Map(..) => {
            let entries = column.as_map().value(i);
            let (keys, values) = (entries.column(0), entries.column(1));
            let parts: Vec<String> = (0..entries.len())
                .map(|j| {
                    format!(
                        "{}={}",
                        nested_value(keys.as_ref(), j),
                        nested_value(values.as_ref(), j)
                    )
                })
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        DataType::List(_) => {
            let items = column.as_list::<i32>().value(i);
            list_text(&items)
        }
        DataType::LargeList(_) => {
            let items = column.as_list::<i64>().value(i);
            list_text(&items)
        }
        _ => return format_value(column, i),
    })
}

fn list_text(items: &ArrayRef) -> String {
    let parts: Vec<String> = (0..items.len())
        .map(|j| nested_value(items.as_ref(), j))
        .collect();
    format!("[{}]", parts.join(", "))
}

/// A value inside a map, struct or array: NULL spelled out.
fn nested_value(column: &dyn Array, i: usize) -> String {
    lake_value(column, i).unwrap_or_else(|| "null".to_string())
}

/// Trino's `element_at`: a map's value for a key (NULL when absent), or an array's
/// element by 1-based index. DataFusion's own returns a map value as a one-item list.
#[derive(Debug, PartialEq, Eq, Hash)]
struct ElementAt {
    signature: Signature,
    map: Arc<ScalarUDF>,
    array: Arc<ScalarUDF>,
}

impl ElementAt {
    fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
            map: datafusion::functions_nested::map_extract::map_extract_udf(),
            array: datafusion::functions_nested::extract::array_element_udf(),
        }
    }
}

impl ScalarUDFImpl for ElementAt {
    fn name(&self) -> &str {
        "element_at"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>, DataFusionError> {
        match arg_types {
            [DataType::Map(..), _] => self.map.coerce_types(arg_types),
            // array_element declares an array signature rather than coercing itself.
            [array, index] if index.is_integer() => Ok(vec![array.clone(), DataType::Int64]),
            _ => Err(DataFusionError::Plan(
                "element_at takes a map and a key, or an array and an index".into(),
            )),
        }
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType, DataFusionError> {
        match arg_types.first() {
            Some(DataType::Map(entries, _)) => match entries.data_type() {
                DataType::Struct(fields) if fields.len() == 2 => Ok(fields[1].data_type().clone()),
                other => Err(DataFusionError::Internal(format!(
                    "map entries of type {other}"
                ))),
            },
            _ => self.array.return_type(arg_types),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue, DataFusionError> {
        let is_map =
            matches!(args.args.first(), Some(v) if matches!(v.data_type(), DataType::Map(..)));
        if !is_map {
            return self.array.invoke_with_args(args);
        }
        let rows = args.number_rows;
        let scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let types: Vec<DataType> = args
            .arg_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let list = Field::new(self.name(), self.map.return_type(&types)?, true);
        let args = ScalarFunctionArgs {
            return_field: Arc::new(list),
            ..args
        };
        // map_extract gives each row a list of exactly one item: the value, or NULL.
        let lists = self.map.invoke_with_args(args)?.into_array(rows)?;
        let values = lists
            .as_list_opt::<i32>()
            .ok_or_else(|| DataFusionError::Internal("map_extract returned no list".into()))?
            .values()
            .clone();
        if scalar {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
                &values, 0,
            )?));
        }
        Ok(ColumnarValue::Array(values))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_unquoted_eds_ids_only() {
        let id = "3B1C2D3E-1111-2222-3333-444455556666";
        let sql = format!("SELECT 'x {id}' FROM {id} -- {id}\nWHERE \"{id}\" = a-b");
        assert_eq!(
            quote_ids(&sql),
            format!(
                "SELECT 'x {id}' FROM \"{}\" -- {id}\nWHERE \"{id}\" = a-b",
                id.to_ascii_lowercase()
            )
        );
        assert!(matches!(
            quote_ids("SELECT 1 FROM t"),
            Cow::Borrowed("SELECT 1 FROM t")
        ));
    }

    #[test]
    fn time_filters_bound_the_scan() {
        use datafusion::prelude::{col, lit};
        let t = |ms| lit(ScalarValue::TimestampMillisecond(Some(ms), None));
        assert_eq!(time_bounds(&col(EVENT_TIME).gt(t(5))), Some((6, i64::MAX)));
        assert_eq!(time_bounds(&t(5).gt(col(EVENT_TIME))), Some((i64::MIN, 4)));
        assert_eq!(
            time_bounds(&col(EVENT_TIME).lt_eq(t(5))),
            Some((i64::MIN, 5))
        );
        let us = lit(ScalarValue::TimestampMicrosecond(Some(5_500), None));
        assert_eq!(
            time_bounds(&col(EVENT_TIME).gt(us.clone())),
            Some((6, i64::MAX))
        );
        assert_eq!(time_bounds(&col(EVENT_TIME).lt(us)), Some((i64::MIN, 5)));
        assert_eq!(
            time_bounds(&col(EVENT_TIME).between(t(1), t(9))),
            Some((1, 9))
        );
        assert_eq!(time_bounds(&col("eventname").gt(t(5))), None);
    }
}
