//! SQL tables over files: `CREATE EXTERNAL TABLE name [(columns)] STORED AS format
//! [PARTITIONED BY (...)] LOCATION 'dir'`, kept in the catalog so every later query of the
//! account and region sees the table.
//!
//! `PARQUET`, `JSON` (one object per line) and `CSV` are DataFusion's listing tables, with
//! Hive-style `key=value` partitions pruned by predicates on them: the statement is
//! replayed from the catalog at each query. AWS's formats are read through the `formats`
//! crate (files or trees, gzipped or not):
//! - `CLOUDTRAIL`: a fixed schema in the style of Athena's CloudTrail table — lower-case
//!   names, so `userIdentity.userName` in a query resolves; free-form members
//!   (`requestParameters`, ...) as JSON text;
//! - `VPC_FLOW` (`OPTIONS ('format' '${version} ${vpc-id} ...')` for a custom layout; S3
//!   header lines are followed), `S3_ACCESS`, `ALB`, `ROUTE53_RESOLVER`, `LAMBDA`: each
//!   format's typed schema; malformed lines are left out.
//!
//! Both get the partition columns `account`, `region`, `year`, `month` and `day` from each
//! file's path (`AWSLogs/<account>/<service>/<region>/YYYY/MM/DD/`, or the Hive-style
//! `aws-account-id=`, `aws-region=`, `year=`, ... of VPC flow log delivery); predicates on
//! them skip whole files before any is opened.

use crate::engine::QueryError;
use datafusion::arrow::array::{
    Array, ArrayBuilder, ArrayRef, BooleanArray, Float64Builder, Int64Builder, RecordBatch,
    StringArray, StringBuilder, TimestampMillisecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
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
use formats::{Format, LineParser, LineReader};
use futures::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};
use store::ExternalTable;
use store::objects::{Location, S3Settings};

/// A location that is not one.
fn store_error(e: store::StoreError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

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
    let aws = aws_format(&format);
    if aws.is_none() && !LISTING_FORMATS.contains(&format.as_str()) {
        let mut names: Vec<String> = Format::ALL
            .iter()
            .filter(|f| !matches!(f, Format::Json | Format::Text))
            .map(|f| f.name().to_ascii_uppercase().replace('-', "_"))
            .collect();
        names.extend(LISTING_FORMATS.iter().map(|f| f.to_string()));
        return Err(malformed(format!(
            "STORED AS {format} is not supported (use {})",
            names.join(", ")
        )));
    }
    let [location] = create.locations.as_slice() else {
        return Err(malformed("give exactly one LOCATION".into()));
    };
    if aws.is_some() && !(create.columns.is_empty() && create.table_partition_cols.is_empty()) {
        return Err(malformed(format!(
            "a {format} table has its format's schema: give no columns and no PARTITIONED BY"
        )));
    }
    if let Some(layout) = vpc_layout(&create.options) {
        formats::vpc::VpcParser::from_format(&layout)
            .map_err(|e| malformed(format!("format: {e}")))?;
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

/// The AWS format `STORED AS` names (`VPC_FLOW`, `"vpc-flow"`), if it names one of
/// the line formats or CloudTrail.
fn aws_format(stored_as: &str) -> Option<Format> {
    let name = stored_as.to_ascii_lowercase().replace('_', "-");
    Format::from_name(&name).filter(|f| !matches!(f, Format::Json | Format::Text))
}

/// The `format` option: a VPC flow log layout string.
fn vpc_layout(options: &[(String, datafusion::sql::sqlparser::ast::Value)]) -> Option<String> {
    use datafusion::sql::sqlparser::ast::Value as V;
    options
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("format"))
        .and_then(|(_, v)| match v {
            V::SingleQuotedString(s) | V::DoubleQuotedString(s) => Some(s.clone()),
            _ => None,
        })
}

/// Makes `table` readable as a table of `ctx`; an `s3://bucket/prefix` location is read
/// from the S3-compatible store `s3` reaches.
pub async fn register(
    ctx: &SessionContext,
    table: &ExternalTable,
    s3: &S3Settings,
) -> Result<(), QueryError> {
    if let Some(format) = aws_format(&table.format) {
        let source = if format == Format::CloudTrail {
            Source::CloudTrail
        } else {
            // The statement was checked when the table was made; its layout option is read
            // again from it here.
            let layout = match DFParser::parse_sql(&table.statement)?.pop_front() {
                Some(Statement::CreateExternalTable(create)) => vpc_layout(&create.options),
                _ => None,
            };
            let vpc = match layout {
                Some(layout) if format == Format::VpcFlow => Some(
                    formats::vpc::VpcParser::from_format(&layout)
                        .map_err(|e| DataFusionError::Plan(format!("format: {e}")))?,
                ),
                _ => None,
            };
            Source::Lines { format, vpc }
        };
        let provider = FileTable::open(source, &table.location, s3).await?;
        ctx.register_table(
            TableReference::bare(table.name.as_str()),
            Arc::new(provider),
        )?;
        return Ok(());
    }
    if let s3_location @ Location::S3 { bucket, .. } =
        &Location::parse(&table.location).map_err(store_error)?
    {
        // DataFusion's listing tables reach `s3://bucket/...` through the store registered
        // for the bucket.
        let url =
            datafusion::execution::object_store::ObjectStoreUrl::parse(format!("s3://{bucket}"))?;
        ctx.register_object_store(url.as_ref(), s3_location.open(s3).map_err(store_error)?);
    }
    let options = SQLOptions::new()
        .with_allow_ddl(true)
        .with_allow_dml(false)
        .with_allow_statements(false);
    ctx.sql_with_options(&table.statement, options).await?;
    Ok(())
}

/// The `CREATE EXTERNAL TABLE` statement a crawl of `location` arrives at, as a Glue
/// crawler would: CloudTrail trees (files holding a `Records` document) become a
/// `CLOUDTRAIL` table; otherwise the most common of Parquet, CSV and JSON files decides
/// the format (gzip for `.gz` JSON), `key=value` folders shared by every file become
/// partition columns, and DataFusion infers the columns — nested objects as structs,
/// arrays as lists, a field's types across records and files widened to one.
/// `location` is a directory (or file) or `s3://bucket/prefix` of the store `s3` reaches.
pub async fn crawl_statement(
    location: &str,
    table: &str,
    s3: &S3Settings,
) -> Result<String, QueryError> {
    let kinds = ["parquet", "csv", "json", "ndjson", "jsonl"];
    let parsed = Location::parse(location).map_err(store_error)?;
    let files = list_files(&parsed, s3, |p| formats::walk::has_extension(p, &kinds)).await?;
    let (root, dir) = match &parsed {
        Location::Local(path) if path.is_dir() => (
            path.clone(),
            format!("{}/", path.display().to_string().trim_end_matches('/')),
        ),
        Location::Local(path) => (path.clone(), path.display().to_string()),
        s3_location => (
            PathBuf::from(s3_location.prefix().as_ref()),
            format!("{}/", s3_location.url()),
        ),
    };
    let table = table.to_string();
    // Reading objects blocks on the runtime, which only a blocking thread may do.
    tokio::task::spawn_blocking(move || statement_for(&files, &root, &dir, &table))
        .await
        .map_err(|e| DataFusionError::External(Box::new(e)))?
}

/// The files of a location that `wanted` accepts, sorted: a directory's walked, a
/// bucket prefix's listed.
async fn list_files(
    location: &Location,
    s3: &S3Settings,
    wanted: impl Fn(&Path) -> bool,
) -> Result<Vec<PartFile>, QueryError> {
    Ok(match location {
        Location::Local(dir) => formats::walk::expand(std::slice::from_ref(dir), wanted)
            .map_err(|e| DataFusionError::External(Box::new(e)))?
            .into_iter()
            .map(|f| PartFile {
                partition: partition_of(&f.path),
                path: f.path,
                object: None,
            })
            .collect(),
        s3_location @ Location::S3 { .. } => {
            let object = s3_location.open(s3).map_err(store_error)?;
            let mut keys: Vec<PathBuf> = object
                .list(Some(&s3_location.prefix()))
                .map_ok(|meta| PathBuf::from(meta.location.as_ref()))
                .try_collect::<Vec<_>>()
                .await
                .map_err(DataFusionError::from)?
                .into_iter()
                .filter(|key| wanted(key))
                .collect();
            keys.sort();
            keys.into_iter()
                .map(|key| PartFile {
                    partition: partition_of(&key),
                    path: key,
                    object: Some(object.clone()),
                })
                .collect()
        }
    })
}

/// [`crawl_statement`] once the files are known; `dir` is the LOCATION to write.
fn statement_for(
    files: &[PartFile],
    location: &Path,
    dir: &str,
    table: &str,
) -> Result<String, QueryError> {
    let Some(first) = files.first() else {
        return Err(
            DataFusionError::Plan(format!("no Parquet, CSV or JSON files under {dir}")).into(),
        );
    };
    let count = |exts: &[&str]| {
        files
            .iter()
            .filter(|f| formats::walk::has_extension(&f.path, exts))
            .count()
    };
    let (parquet, csv) = (count(&["parquet"]), count(&["csv"]));
    let json = files.len() - parquet - csv;
    let quoted = |text: &str| text.replace('\'', "''");
    if json >= parquet.max(csv) && holds_records_document(first)? {
        return Ok(format!(
            "CREATE EXTERNAL TABLE {table} STORED AS CLOUDTRAIL LOCATION '{}'",
            quoted(dir)
        ));
    }
    let (format, mut options) = if parquet > csv.max(json) {
        ("PARQUET", Vec::new())
    } else if csv > json {
        ("CSV", vec!["'format.has_header' 'true'".to_string()])
    } else {
        ("JSON", Vec::new())
    };
    if format != "PARQUET"
        && files
            .iter()
            .all(|f| f.path.extension().is_some_and(|e| e == "gz"))
    {
        options.push("'format.compression' 'gzip'".to_string());
    }
    let partitions = shared_partition_keys(location, files);
    let mut statement = format!("CREATE EXTERNAL TABLE {table}");
    if format == "JSON" {
        // DataFusion infers each file alone and cannot merge `1` in one with `1.5` in
        // another; reading every record into one inference widens them as a crawler does.
        let mut columns: Vec<String> = infer_json(files)?
            .fields()
            .iter()
            .map(|f| {
                format!(
                    "\"{}\" {}",
                    f.name().replace('"', "\"\""),
                    sql_type(f.data_type())
                )
            })
            .collect();
        columns.extend(partitions.iter().map(|p| format!("\"{p}\" VARCHAR")));
        statement += &format!(" ({})", columns.join(", "));
    }
    statement += &format!(" STORED AS {format}");
    if !partitions.is_empty() {
        statement += &format!(" PARTITIONED BY ({})", partitions.join(", "));
    }
    statement += &format!(" LOCATION '{}'", quoted(dir));
    if !options.is_empty() {
        statement += &format!(" OPTIONS ({})", options.join(", "));
    }
    Ok(statement)
}

/// Records read per file when inferring a JSON schema.
const INFER_RECORDS_PER_FILE: usize = 10_000;

/// One schema for every file's records (up to [`INFER_RECORDS_PER_FILE`] each), types
/// widened across all of them.
fn infer_json(files: &[PartFile]) -> Result<Schema, QueryError> {
    use datafusion::arrow::error::ArrowError;
    use std::io::BufRead;
    let mut values: Vec<Value> = Vec::new();
    for file in files {
        let reader = file.open()?;
        let lines = reader
            .lines()
            .map_while(Result::ok)
            .filter(|l| !l.trim().is_empty())
            .take(INFER_RECORDS_PER_FILE);
        // A line that is not a JSON object is left out here, as at query time.
        values.extend(
            lines
                .filter_map(|l| serde_json::from_str::<Value>(&l).ok())
                .filter(Value::is_object),
        );
    }
    Ok(
        datafusion::arrow::json::reader::infer_json_schema_from_iterator(
            values.iter().map(Ok::<_, ArrowError>),
        )
        .map_err(DataFusionError::from)?,
    )
}

/// The SQL spelling of an inferred type, for a `CREATE EXTERNAL TABLE` column list.
fn sql_type(ty: &DataType) -> String {
    match ty {
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Int64 => "BIGINT".into(),
        DataType::Float64 => "DOUBLE".into(),
        DataType::List(item) => format!("{}[]", sql_type(item.data_type())),
        DataType::Struct(fields) => {
            let members: Vec<String> = fields
                .iter()
                .map(|f| {
                    format!(
                        "\"{}\" {}",
                        f.name().replace('"', "\"\""),
                        sql_type(f.data_type())
                    )
                })
                .collect();
            format!("STRUCT<{}>", members.join(", "))
        }
        _ => "VARCHAR".into(),
    }
}

/// Whether a JSON file's first value is a `{"Records":[...]}` document (CloudTrail's).
fn holds_records_document(file: &PartFile) -> Result<bool, QueryError> {
    use std::io::Read;
    let reader = file.open()?;
    let mut head = Vec::with_capacity(64);
    reader
        .take(64)
        .read_to_end(&mut head)
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
    let text = String::from_utf8_lossy(&head);
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    Ok(compact.starts_with("{\"Records\":["))
}

/// The `key=value` folder keys every file has, in path order, relative to `location`.
fn shared_partition_keys(location: &Path, files: &[PartFile]) -> Vec<String> {
    let keys_of = |path: &Path| -> Vec<String> {
        path.strip_prefix(location)
            .unwrap_or(path)
            .parent()
            .into_iter()
            .flat_map(Path::components)
            .filter_map(|c| {
                let part = c.as_os_str().to_string_lossy();
                let (key, _) = part.split_once('=')?;
                Some(key.to_string())
            })
            .collect()
    };
    let mut files = files.iter();
    let Some(first) = files.next() else {
        return Vec::new();
    };
    let keys = keys_of(&first.path);
    if files.all(|f| keys_of(&f.path) == keys) {
        keys
    } else {
        Vec::new()
    }
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

/// What a file table reads.
#[derive(Debug, Clone)]
enum Source {
    /// CloudTrail record files.
    CloudTrail,
    /// Files of one line format; for VPC flow logs, the layout if not the default.
    Lines {
        format: Format,
        vpc: Option<formats::vpc::VpcParser>,
    },
}

impl Source {
    /// A fresh parser for one file (a flow-log header changes the parser it is read by).
    fn parser(&self) -> Option<Box<dyn LineParser>> {
        match self {
            Source::CloudTrail => None,
            Source::Lines { vpc: Some(vpc), .. } => Some(Box::new(vpc.clone())),
            Source::Lines { format, .. } => format.line_parser(),
        }
    }

    /// The table's columns, partition columns last; names in lower case, so that a query's
    /// unquoted `srcAddr` (which SQL folds to `srcaddr`) finds its column.
    fn schema(&self) -> SchemaRef {
        let Some(parser) = self.parser() else {
            return CLOUDTRAIL_SCHEMA.clone();
        };
        let mut fields: Vec<Field> = parser
            .schema()
            .iter()
            .map(|f| Field::new(f.name.to_ascii_lowercase(), arrow_type(f.ty), true))
            .collect();
        fields.extend(
            PARTITIONS
                .iter()
                .map(|p| Field::new(*p, DataType::Utf8, true)),
        );
        Arc::new(Schema::new(fields))
    }
}

/// The Arrow type of a format field.
fn arrow_type(ty: formats::FieldType) -> DataType {
    match ty {
        formats::FieldType::Int => DataType::Int64,
        formats::FieldType::Float => DataType::Float64,
        formats::FieldType::Timestamp => DataType::Timestamp(TimeUnit::Millisecond, None),
        formats::FieldType::String | formats::FieldType::Json => DataType::Utf8,
    }
}

/// One file and its partition values.
#[derive(Debug, Clone)]
struct PartFile {
    /// Its path, or its key in `object`.
    path: PathBuf,
    /// The object store it is in; `None` for a local file.
    object: Option<Arc<dyn ObjectStore>>,
    partition: [Option<String>; 5],
}

impl PartFile {
    /// Its bytes, gunzipped if need be. An object is fetched whole (objects are log
    /// files of a few MB); the caller is a blocking thread of the runtime.
    fn open(&self) -> Result<Box<dyn std::io::BufRead + Send>, DataFusionError> {
        let Some(object) = &self.object else {
            return formats::walk::open(&self.path, &formats::walk::ByteCounter::default())
                .map_err(external);
        };
        let key = ObjectPath::from(self.path.to_string_lossy().as_ref());
        let bytes = tokio::runtime::Handle::current()
            .block_on(async { object.get(&key).await?.bytes().await })?;
        formats::walk::decoded(std::io::Cursor::new(bytes))
            .map_err(|e| DataFusionError::External(Box::new(e)))
    }
}

/// The partition values of a file under `AWSLogs/[o-org/]<account>/<service>/<region>/YYYY/MM/DD/`,
/// or under Hive-style `aws-account-id=`, `aws-region=`, `year=`, `month=`, `day=` folders.
fn partition_of(path: &Path) -> [Option<String>; 5] {
    let parts: Vec<String> = path
        .parent()
        .into_iter()
        .flat_map(Path::components)
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let mut out: [Option<String>; 5] = Default::default();
    for part in &parts {
        if let Some((key, value)) = part.split_once('=') {
            let key = match key {
                "aws-account-id" => "account",
                "aws-region" => "region",
                other => other,
            };
            if let Some(i) = PARTITIONS.iter().position(|p| *p == key) {
                out[i] = Some(value.to_string());
            }
        }
    }
    if out.iter().any(Option::is_some) {
        return out;
    }
    let Some(start) = parts.iter().position(|p| p == "AWSLogs") else {
        return out;
    };
    let mut rest = &parts[start + 1..];
    if rest.first().is_some_and(|p| p.starts_with("o-")) {
        rest = &rest[1..];
    }
    if let [account, _service, region, year, month, day, ..] = rest {
        out = [account, region, year, month, day].map(|v| Some(v.clone()));
    }
    out
}

/// Files of one format as one table.
#[derive(Debug)]
struct FileTable {
    source: Source,
    schema: SchemaRef,
    files: Vec<PartFile>,
}

impl FileTable {
    async fn open(
        source: Source,
        location: &str,
        s3: &S3Settings,
    ) -> Result<FileTable, QueryError> {
        let format = match &source {
            Source::CloudTrail => Format::CloudTrail,
            Source::Lines { format, .. } => *format,
        };
        let location = Location::parse(location).map_err(store_error)?;
        let files = list_files(&location, s3, |p| format.wants(p)).await?;
        Ok(FileTable {
            schema: source.schema(),
            source,
            files,
        })
    }

    /// The files whose partition values pass every filter.
    fn prune(
        &self,
        state: &dyn Session,
        filters: &[Expr],
    ) -> Result<Vec<PartFile>, DataFusionError> {
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
impl TableProvider for FileTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
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
        let stream = Arc::new(FileStream {
            source: self.source.clone(),
            schema: self.schema.clone(),
            files: self.prune(state, &partition_filters)?,
        }) as Arc<dyn PartitionStream>;
        StreamingTable::try_new(self.schema.clone(), vec![stream])?
            .scan(state, projection, &[], limit)
            .await
    }
}

/// The files of one scan, read in order on a blocking thread.
#[derive(Debug)]
struct FileStream {
    source: Source,
    schema: SchemaRef,
    files: Vec<PartFile>,
}

type BatchSender = tokio::sync::mpsc::Sender<Result<RecordBatch, DataFusionError>>;

impl PartitionStream for FileStream {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let (source, schema, files) =
            (self.source.clone(), self.schema.clone(), self.files.clone());
        // A short channel: a large tree is never held decoded in memory at once.
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        tokio::task::spawn_blocking(move || {
            for file in files {
                let read = match source.parser() {
                    None => read_records(&file, &tx),
                    Some(parser) => read_lines(&file, parser, &schema, &tx),
                };
                if let Err(e) = read {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        });
        let stream =
            futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) });
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), stream))
    }
}

fn external(e: formats::Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// `columns` followed by the file's partition values, sent on `tx` as one batch; false
/// when the query no longer wants rows.
fn send(
    file: &PartFile,
    schema: &SchemaRef,
    mut columns: Vec<ArrayRef>,
    rows: usize,
    tx: &BatchSender,
) -> Result<bool, DataFusionError> {
    for value in &file.partition {
        columns.push(Arc::new(StringArray::from(vec![value.clone(); rows])));
    }
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    Ok(tx.blocking_send(Ok(batch)).is_ok())
}

/// Decodes one CloudTrail file's records into batches on `tx`. Records that are not valid
/// JSON are left out, as Athena leaves out rows it cannot read; `trailwatch import` lists
/// them.
fn read_records(file: &PartFile, tx: &BatchSender) -> Result<(), DataFusionError> {
    let records = formats::cloudtrail::Records::new(file.open()?, file.path.clone());
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
        if !send(
            file,
            &CLOUDTRAIL_SCHEMA,
            batch.columns().to_vec(),
            batch.num_rows(),
            tx,
        )? {
            return Ok(());
        }
    }
    Ok(())
}

/// Parses one file's lines into batches on `tx`, each value put in the table column of
/// its field's name (a flow-log header may reorder fields); malformed lines are left out.
fn read_lines(
    file: &PartFile,
    parser: Box<dyn LineParser>,
    schema: &SchemaRef,
    tx: &BatchSender,
) -> Result<(), DataFusionError> {
    let mut lines = LineReader::new(file.open()?, parser, &file.path);
    let columns = schema.fields().len() - PARTITIONS.len();
    let new_builders = || -> Vec<Box<dyn ArrayBuilder>> {
        schema.fields()[..columns]
            .iter()
            .map(|f| -> Box<dyn ArrayBuilder> {
                match f.data_type() {
                    DataType::Int64 => Box::new(Int64Builder::new()),
                    DataType::Float64 => Box::new(Float64Builder::new()),
                    DataType::Timestamp(..) => Box::new(TimestampMillisecondBuilder::new()),
                    _ => Box::new(StringBuilder::new()),
                }
            })
            .collect()
    };
    let mut builders = new_builders();
    let mut rows = 0;
    // Where each table column is in the parser's layout, which a header may change.
    let layout = |names: &[formats::Field]| -> Vec<Option<usize>> {
        schema.fields()[..columns]
            .iter()
            .map(|f| {
                names
                    .iter()
                    .position(|n| n.name.eq_ignore_ascii_case(f.name()))
            })
            .collect()
    };
    let mut mapping = layout(lines.parser().schema());
    while let Some(item) = lines.next_line() {
        let record = match item {
            Ok(line) => line.record,
            Err(e) if e.is_malformed() => continue,
            Err(e) => return Err(external(e)),
        };
        let Some(record) = record else {
            mapping = layout(lines.parser().schema());
            continue;
        };
        for (builder, at) in builders.iter_mut().zip(&mapping) {
            let value = at
                .and_then(|i| record.values.get(i))
                .unwrap_or(&formats::Value::Null);
            append(builder.as_mut(), value);
        }
        rows += 1;
        if rows == BATCH_ROWS {
            let arrays = builders.iter_mut().map(|b| b.finish()).collect();
            if !send(file, schema, arrays, rows, tx)? {
                return Ok(());
            }
            rows = 0;
        }
    }
    if rows > 0 {
        let arrays = builders.iter_mut().map(|b| b.finish()).collect();
        send(file, schema, arrays, rows, tx)?;
    }
    Ok(())
}

/// Appends one value to a column builder of the matching type; a value of another type
/// becomes null.
fn append(builder: &mut dyn ArrayBuilder, value: &formats::Value) {
    use formats::Value as V;
    let any = builder.as_any_mut();
    if let Some(b) = any.downcast_mut::<Int64Builder>() {
        b.append_option(match value {
            V::Int(n) => Some(*n),
            _ => None,
        });
    } else if let Some(b) = any.downcast_mut::<Float64Builder>() {
        b.append_option(match value {
            V::Float(x) => Some(*x),
            V::Int(n) => Some(*n as f64),
            _ => None,
        });
    } else if let Some(b) = any.downcast_mut::<TimestampMillisecondBuilder>() {
        b.append_option(match value {
            V::Timestamp(ms) => Some(*ms),
            _ => None,
        });
    } else if let Some(b) = any.downcast_mut::<StringBuilder>() {
        match value {
            V::Null => b.append_null(),
            V::Str(s) => b.append_value(s),
            V::Json(j) => b.append_value(j.to_string()),
            V::Int(n) => b.append_value(n.to_string()),
            V::Float(x) => b.append_value(x.to_string()),
            V::Timestamp(ms) => b.append_value(ms.to_string()),
        }
    }
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
