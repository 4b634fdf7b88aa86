//! SQL tables over files: `CREATE EXTERNAL TABLE name [(columns)] STORED AS format
//! [PARTITIONED BY (...)] LOCATION 'dir'`, kept in the catalog so every later query of the
//! account and region sees the table.
//!
//! `PARQUET`, `JSON` (one object per line) and `CSV` are DataFusion's listing tables, with
//! Hive-style `key=value` partitions pruned by predicates on them: the statement is
//! replayed from the catalog at each query. `CLOUDTRAIL` reads CloudTrail files (an
//! `AWSLogs/` tree, gzipped or not) through the `formats` crate into a fixed schema in
//! the style of Athena's CloudTrail table — lower-case names, so `userIdentity.userName`
//! in a query resolves; free-form members (`requestParameters`, ...) as JSON text — with
//! the partition columns `account`, `region`, `year`, `month` and `day` taken from each
//! file's `AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/` path; predicates on them
//! skip whole files before any is opened.

use crate::engine::QueryError;
use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use datafusion::catalog::streaming::StreamingTable;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{DFSchema, TableReference};
use datafusion::datasource::TableType;
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::expr_rewriter::unnormalize_col;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::prelude::{SQLOptions, SessionContext};
use datafusion::sql::parser::{DFParser, Statement};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};
use store::ExternalTable;

/// The format name of CloudTrail tables in `STORED AS`.
pub const CLOUDTRAIL: &str = "CLOUDTRAIL";

/// Formats DataFusion reads itself.
const LISTING_FORMATS: [&str; 3] = ["PARQUET", "JSON", "CSV"];

/// The partition columns of a CloudTrail table, in path order.
const PARTITIONS: [&str; 5] = ["account", "region", "year", "month", "day"];

/// Rows decoded per batch.
const BATCH_ROWS: usize = 4096;

/// The table a `CREATE EXTERNAL TABLE` statement defines; `None` for any other text.
pub fn parse_create(text: &str, now_ms: i64) -> Result<Option<ExternalTable>, QueryError> {
    let whole = crate::insights::Span {
        start: 0,
        end: text.len(),
    };
    let malformed = |message: String| {
        QueryError::Malformed(crate::insights::ParseError::new(text, whole, message))
    };
    let Ok(mut statements) = DFParser::parse_sql(text) else {
        return Ok(None);
    };
    let (Some(Statement::CreateExternalTable(create)), None) =
        (statements.pop_front(), statements.pop_front())
    else {
        return Ok(None);
    };
    let format = create.file_type.to_ascii_uppercase();
    if format != CLOUDTRAIL && !LISTING_FORMATS.contains(&format.as_str()) {
        return Err(malformed(format!(
            "STORED AS {format} is not supported (use {CLOUDTRAIL}, {})",
            LISTING_FORMATS.join(", ")
        )));
    }
    let [location] = create.locations.as_slice() else {
        return Err(malformed("give exactly one LOCATION".into()));
    };
    if format == CLOUDTRAIL
        && !(create.columns.is_empty() && create.table_partition_cols.is_empty())
    {
        return Err(malformed(format!(
            "a {CLOUDTRAIL} table has a fixed schema: give no columns and no PARTITIONED BY"
        )));
    }
    Ok(Some(ExternalTable {
        name: TableReference::from(create.name.to_string())
            .table()
            .to_string(),
        format,
        location: location.clone(),
        statement: text.trim().to_string(),
        creation_time: now_ms,
    }))
}

/// Makes `table` readable as a table of `ctx`.
pub async fn register(ctx: &SessionContext, table: &ExternalTable) -> Result<(), QueryError> {
    if table.format == CLOUDTRAIL {
        let provider = CloudTrailTable::open(Path::new(&table.location))?;
        ctx.register_table(
            TableReference::bare(table.name.as_str()),
            Arc::new(provider),
        )?;
        return Ok(());
    }
    let options = SQLOptions::new()
        .with_allow_ddl(true)
        .with_allow_dml(false)
        .with_allow_statements(false);
    ctx.sql_with_options(&table.statement, options).await?;
    Ok(())
}

/// The CloudTrail table's columns, in the style of Athena's documented CloudTrail table.
pub static CLOUDTRAIL_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let text = |name: &str| Field::new(name, DataType::Utf8, true);
    let object = |name: &str, fields: Vec<Field>| {
        Field::new(name, DataType::Struct(Fields::from(fields)), true)
    };
    let mut fields = vec![
        text("eventversion"),
        object(
            "useridentity",
            vec![
                text("type"),
                text("principalid"),
                text("arn"),
                text("accountid"),
                text("invokedby"),
                text("accesskeyid"),
                text("username"),
                object(
                    "sessioncontext",
                    vec![
                        object(
                            "attributes",
                            vec![text("mfaauthenticated"), text("creationdate")],
                        ),
                        object(
                            "sessionissuer",
                            vec![
                                text("type"),
                                text("principalid"),
                                text("arn"),
                                text("accountid"),
                                text("username"),
                            ],
                        ),
                        text("ec2roledelivery"),
                        text("sourceidentity"),
                    ],
                ),
                text("identityprovider"),
            ],
        ),
        text("eventtime"),
        text("eventsource"),
        text("eventname"),
        text("awsregion"),
        text("sourceipaddress"),
        text("useragent"),
        text("errorcode"),
        text("errormessage"),
        text("requestparameters"),
        text("responseelements"),
        text("additionaleventdata"),
        text("requestid"),
        text("eventid"),
        text("eventtype"),
        text("apiversion"),
        Field::new("readonly", DataType::Boolean, true),
        Field::new("managementevent", DataType::Boolean, true),
        Field::new(
            "resources",
            DataType::List(Arc::new(Field::new(
                "item",
                DataType::Struct(Fields::from(vec![
                    text("arn"),
                    text("accountid"),
                    text("type"),
                ])),
                true,
            ))),
            true,
        ),
        text("recipientaccountid"),
        text("serviceeventdetails"),
        text("sharedeventid"),
        text("vpcendpointid"),
        text("eventcategory"),
        object(
            "addendum",
            vec![
                text("reason"),
                text("updatedfields"),
                text("originalrequestid"),
                text("originaleventid"),
            ],
        ),
        text("sessioncredentialfromconsole"),
        text("edgedevicedetails"),
        object(
            "tlsdetails",
            vec![
                text("tlsversion"),
                text("ciphersuite"),
                text("clientprovidedhostheader"),
            ],
        ),
    ];
    fields.extend(PARTITIONS.iter().map(|p| text(p)));
    Arc::new(Schema::new(fields))
});

/// The record columns: the schema without the partition columns.
fn record_schema() -> SchemaRef {
    let fields = &CLOUDTRAIL_SCHEMA.fields()[..CLOUDTRAIL_SCHEMA.fields().len() - PARTITIONS.len()];
    Arc::new(Schema::new(fields.to_vec()))
}

/// One CloudTrail file and its partition values.
#[derive(Debug, Clone)]
struct TrailFile {
    path: PathBuf,
    partition: [Option<String>; 5],
}

/// The partition values of a file under `AWSLogs/[o-org/]<account>/CloudTrail/<region>/YYYY/MM/DD/`.
fn partition_of(path: &Path) -> [Option<String>; 5] {
    let parts: Vec<String> = path
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let Some(start) = parts.iter().position(|p| p == "AWSLogs") else {
        return Default::default();
    };
    let mut rest = &parts[start + 1..];
    if rest.first().is_some_and(|p| p.starts_with("o-")) {
        rest = &rest[1..];
    }
    match rest {
        [account, service, region, year, month, day, ..] if service.starts_with("CloudTrail") => [
            Some(account.clone()),
            Some(region.clone()),
            Some(year.clone()),
            Some(month.clone()),
            Some(day.clone()),
        ],
        _ => Default::default(),
    }
}

/// CloudTrail files as one table.
#[derive(Debug)]
struct CloudTrailTable {
    files: Vec<TrailFile>,
}

impl CloudTrailTable {
    fn open(location: &Path) -> Result<CloudTrailTable, QueryError> {
        let files = formats::cloudtrail::files(&[location.to_path_buf()])
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        Ok(CloudTrailTable {
            files: files
                .into_iter()
                .map(|f| TrailFile {
                    partition: partition_of(&f.path),
                    path: f.path,
                })
                .collect(),
        })
    }

    /// The files whose partition values pass every filter.
    fn prune(
        &self,
        state: &dyn Session,
        filters: &[Expr],
    ) -> Result<Vec<TrailFile>, DataFusionError> {
        if filters.is_empty() || self.files.is_empty() {
            return Ok(self.files.clone());
        }
        let schema = Arc::new(Schema::new(
            PARTITIONS
                .iter()
                .map(|p| Field::new(*p, DataType::Utf8, true))
                .collect::<Vec<_>>(),
        ));
        let columns: Vec<ArrayRef> = (0..PARTITIONS.len())
            .map(|i| {
                Arc::new(StringArray::from(
                    self.files
                        .iter()
                        .map(|f| f.partition[i].clone())
                        .collect::<Vec<_>>(),
                )) as ArrayRef
            })
            .collect();
        let batch = RecordBatch::try_new(schema.clone(), columns)?;
        let df_schema = DFSchema::try_from(schema.as_ref().clone())?;
        let mut keep = vec![true; self.files.len()];
        for filter in filters {
            let expr = state.create_physical_expr(unnormalize_col(filter.clone()), &df_schema)?;
            let result = expr.evaluate(&batch)?.into_array(batch.num_rows())?;
            let passed = result
                .as_any()
                .downcast_ref::<BooleanArray>()
                .ok_or_else(|| {
                    DataFusionError::Internal("a partition filter is not boolean".into())
                })?;
            for (i, k) in keep.iter_mut().enumerate() {
                *k &= passed.is_valid(i) && passed.value(i);
            }
        }
        Ok(self
            .files
            .iter()
            .zip(keep)
            .filter(|(_, k)| *k)
            .map(|(f, _)| f.clone())
            .collect())
    }
}

/// Whether `expr` reads only partition columns.
fn on_partitions(expr: &Expr) -> bool {
    let columns = expr.column_refs();
    !columns.is_empty()
        && columns
            .iter()
            .all(|c| PARTITIONS.contains(&c.name.as_str()))
}

#[async_trait::async_trait]
impl TableProvider for CloudTrailTable {
    fn schema(&self) -> SchemaRef {
        CLOUDTRAIL_SCHEMA.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>, DataFusionError> {
        // Inexact: DataFusion still applies the filter; pruning only skips files.
        Ok(filters
            .iter()
            .map(|f| {
                if on_partitions(f) {
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
        let partition_filters: Vec<Expr> = filters
            .iter()
            .filter(|f| on_partitions(f))
            .cloned()
            .collect();
        let files = self.prune(state, &partition_filters)?;
        let stream = Arc::new(TrailStream { files }) as Arc<dyn PartitionStream>;
        StreamingTable::try_new(CLOUDTRAIL_SCHEMA.clone(), vec![stream])?
            .scan(state, projection, &[], limit)
            .await
    }
}

/// The files of one scan, read in order on a blocking thread.
#[derive(Debug)]
struct TrailStream {
    files: Vec<TrailFile>,
}

impl PartitionStream for TrailStream {
    fn schema(&self) -> &SchemaRef {
        &CLOUDTRAIL_SCHEMA
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let files = self.files.clone();
        // A short channel: a large tree is never held decoded in memory at once.
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<RecordBatch, DataFusionError>>(2);
        tokio::task::spawn_blocking(move || {
            for file in files {
                if let Err(e) = read_file(&file, &tx) {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        });
        let stream =
            futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) });
        Box::pin(RecordBatchStreamAdapter::new(
            CLOUDTRAIL_SCHEMA.clone(),
            stream,
        ))
    }
}

/// Decodes one file's records into batches on `tx`. Records that are not valid JSON are
/// left out, as Athena leaves out rows it cannot read; `trailwatch import` lists them.
fn read_file(
    file: &TrailFile,
    tx: &tokio::sync::mpsc::Sender<Result<RecordBatch, DataFusionError>>,
) -> Result<(), DataFusionError> {
    let external = |e: formats::Error| DataFusionError::External(Box::new(e));
    let records = formats::cloudtrail::open(&file.path, &formats::walk::ByteCounter::default())
        .map_err(external)?;
    let record_schema = record_schema();
    let record_type = DataType::Struct(record_schema.fields().clone());
    let mut rows = Vec::with_capacity(BATCH_ROWS);
    let mut records = records.peekable();
    while records.peek().is_some() {
        rows.clear();
        for item in records.by_ref() {
            match item {
                Ok(record) => rows.push(conform(&record, &record_type)),
                Err(e) if e.is_malformed() => continue,
                Err(e) => return Err(external(e)),
            }
            if rows.len() == BATCH_ROWS {
                break;
            }
        }
        if rows.is_empty() {
            continue;
        }
        let mut decoder = datafusion::arrow::json::ReaderBuilder::new(record_schema.clone())
            .with_batch_size(BATCH_ROWS)
            .build_decoder()?;
        decoder.serialize(&rows)?;
        let Some(batch) = decoder.flush()? else {
            continue;
        };
        let n = batch.num_rows();
        let mut columns = batch.columns().to_vec();
        for value in &file.partition {
            columns.push(Arc::new(StringArray::from(vec![value.clone(); n])));
        }
        let batch = RecordBatch::try_new(CLOUDTRAIL_SCHEMA.clone(), columns)?;
        if tx.blocking_send(Ok(batch)).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// `value` shaped to `ty`: object keys matched without regard to case (and renamed to the
/// column's lower-case name), objects and arrays in a text column kept as JSON text, so
/// no record can fail the decoder on a type.
fn conform(value: &Value, ty: &DataType) -> Value {
    match (ty, value) {
        (_, Value::Null) => Value::Null,
        (DataType::Struct(fields), Value::Object(object)) => {
            let mut out = Map::with_capacity(fields.len());
            for (key, child) in object {
                let lower = key.to_ascii_lowercase();
                if let Some(field) = fields.iter().find(|f| *f.name() == lower) {
                    out.insert(lower, conform(child, field.data_type()));
                }
            }
            Value::Object(out)
        }
        (DataType::List(item), Value::Array(items)) => {
            Value::Array(items.iter().map(|v| conform(v, item.data_type())).collect())
        }
        (DataType::Utf8, Value::String(_)) => value.clone(),
        (DataType::Utf8, other) => Value::String(other.to_string()),
        (DataType::Boolean, Value::Bool(_)) => value.clone(),
        (DataType::Boolean, Value::String(s)) => match s.as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::Null,
        },
        _ => Value::Null,
    }
}

/// A result column's name as the query wrote it: `userIdentity.userName` comes back from
/// DataFusion as `useridentity[username]`, and is shown as `userName`, as the Lake does.
pub fn display_name(name: &str, text: &str) -> String {
    let last = name
        .rsplit_once('[')
        .and_then(|(_, rest)| rest.strip_suffix(']'))
        .unwrap_or(name);
    let last = last.rsplit('.').next().unwrap_or(last);
    let lower = text.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut from = 0;
    while let Some(at) = lower[from..].find(last).map(|i| i + from) {
        let end = at + last.len();
        let bounded =
            (at == 0 || !is_word(bytes[at - 1])) && (end == bytes.len() || !is_word(bytes[end]));
        if bounded {
            return text[at..end].to_string();
        }
        from = at + 1;
    }
    last.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_from_awslogs_paths() {
        let p = partition_of(Path::new(
            "/d/AWSLogs/o-abc/111122223333/CloudTrail/us-east-2/2015/08/01/f.json.gz",
        ));
        assert_eq!(p[0].as_deref(), Some("111122223333"));
        assert_eq!(p[4].as_deref(), Some("01"));
        assert_eq!(
            partition_of(Path::new("/tmp/x.json")),
            <[Option<String>; 5]>::default()
        );
    }

    #[test]
    fn names_as_the_query_wrote_them() {
        let q = "SELECT eventName, userIdentity.userName, count(*) FROM t";
        assert_eq!(display_name("t.useridentity[username]", q), "userName");
        assert_eq!(display_name("eventname", q), "eventName");
        assert_eq!(display_name("count(*)", q), "count(*)");
    }

    #[test]
    fn conform_keeps_free_form_members_as_text() {
        let record = serde_json::json!({"eventName": "A", "requestParameters": {"x": [1]}, "readOnly": "true", "resources": [{"ARN": "a", "other": 1}]});
        let ty = DataType::Struct(record_schema().fields().clone());
        let out = conform(&record, &ty);
        assert_eq!(out["eventname"], "A");
        assert_eq!(out["requestparameters"], r#"{"x":[1]}"#);
        assert_eq!(out["readonly"], true);
        assert_eq!(out["resources"][0], serde_json::json!({"arn": "a"}));
    }
}
