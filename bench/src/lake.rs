//! The baseline's side of `bench query`: the same events as Parquet files, and DuckDB
//! (from PyPI, through `bench/duckdb_runner.py`) timing SQL over them.

use anyhow::{Context, bail};
use parquet::basic::{Compression, ZstdLevel};
use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use parquet::schema::types::ColumnPath;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

/// Rows per row group: the server's segment files use the same.
const ROW_GROUP_ROWS: usize = 64 * 1024;

/// One event as the Parquet file holds it.
pub struct LakeRow<'a> {
    /// Epoch ms.
    pub timestamp: i64,
    /// The log stream's name.
    pub stream: &'a str,
    /// The raw message.
    pub message: &'a str,
}

/// Writes `rows` (in time order) as a Parquet file with the columns `timestamp`
/// (TIMESTAMP(MILLIS), not adjusted to UTC: DuckDB reads it as `TIMESTAMP`), `stream`
/// and `message` (strings), zstd level 3, row groups of 64 Ki rows with min/max
/// statistics. Returns the file's size.
pub fn write_parquet<'a>(
    path: &Path,
    rows: impl Iterator<Item = LakeRow<'a>>,
) -> anyhow::Result<u64> {
    let schema = Arc::new(parse_message_type(
        "message logs {
            REQUIRED INT64 timestamp (TIMESTAMP(MILLIS, false));
            REQUIRED BYTE_ARRAY stream (STRING);
            REQUIRED BYTE_ARRAY message (STRING);
        }",
    )?);
    // Messages are nearly all distinct, so only the stream gets a dictionary (as in the
    // server's segments).
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
        .set_dictionary_enabled(false)
        .set_column_dictionary_enabled(ColumnPath::from("stream"), true)
        .build();
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut writer = SerializedFileWriter::new(file, schema, Arc::new(props))?;
    let mut rows = rows.peekable();
    let mut timestamps = Vec::with_capacity(ROW_GROUP_ROWS);
    let mut streams = Vec::with_capacity(ROW_GROUP_ROWS);
    let mut messages = Vec::with_capacity(ROW_GROUP_ROWS);
    while rows.peek().is_some() {
        timestamps.clear();
        streams.clear();
        messages.clear();
        for row in rows.by_ref().take(ROW_GROUP_ROWS) {
            timestamps.push(row.timestamp);
            streams.push(ByteArray::from(row.stream));
            messages.push(ByteArray::from(row.message));
        }
        let mut group = writer.next_row_group()?;
        let mut column = group.next_column()?.context("no timestamp column")?;
        column
            .typed::<Int64Type>()
            .write_batch(&timestamps, None, None)?;
        column.close()?;
        for values in [&streams, &messages] {
            let mut column = group.next_column()?.context("missing column")?;
            column
                .typed::<ByteArrayType>()
                .write_batch(values, None, None)?;
            column.close()?;
        }
        group.close()?;
    }
    writer.close()?;
    Ok(std::fs::metadata(path)?.len())
}

/// One query for DuckDB.
pub struct DuckQuery {
    /// The name results come back under.
    pub name: String,
    /// The SQL.
    pub sql: String,
}

/// What DuckDB returned for one query.
#[derive(Debug, Clone)]
pub struct DuckResult {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows of the warm-up run.
    pub rows: Vec<Vec<Value>>,
    /// Wall seconds of each timed run.
    pub wall_s: Vec<f64>,
    /// Process CPU seconds of each timed run.
    pub cpu_s: Vec<f64>,
}

/// Everything the DuckDB run reported.
pub struct DuckRun {
    /// `duckdb.__version__`.
    pub version: String,
    /// DuckDB's `threads` setting.
    pub threads: String,
    /// By query name, in the order given.
    pub results: Vec<(String, DuckResult)>,
}

/// Where the helper script lives: beside this crate's sources (baked in at build time)
/// unless given.
pub fn default_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("duckdb_runner.py")
}

/// How to run the DuckDB helper.
pub struct Duck {
    /// The interpreter that starts the helper (it then re-runs itself in its venv).
    pub python: String,
    /// The helper script.
    pub script: PathBuf,
    /// The venv to make or reuse; the helper's default when `None`.
    pub venv: Option<PathBuf>,
    /// DuckDB's `threads`; its default (every core) when `None`.
    pub threads: Option<usize>,
}

impl Duck {
    /// Runs the helper: it makes (once) a venv with the pinned DuckDB, runs `setup`
    /// statements, then each query once to warm up and `repeat` timed times.
    pub fn run(
        &self,
        work: &Path,
        setup: &[String],
        queries: &[DuckQuery],
        repeat: usize,
    ) -> anyhow::Result<DuckRun> {
        let (python, script, venv, threads) =
            (&self.python, &self.script, &self.venv, self.threads);
        let spec = json!({
            "setup": setup,
            "repeat": repeat,
            "threads": threads,
            "queries": queries.iter().map(|q| json!({"name": q.name, "sql": q.sql})).collect::<Vec<_>>(),
        });
        let spec_path = work.join("duckdb-spec.json");
        std::fs::write(&spec_path, serde_json::to_vec_pretty(&spec)?)?;
        let mut command = Command::new(python);
        command.arg(script);
        if let Some(v) = venv {
            command.arg("--venv").arg(v);
        }
        let output = command
            .arg(&spec_path)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .with_context(|| format!("cannot run {python} {}", script.display()))?;
        if !output.status.success() {
            bail!(
                "{} failed with {} (its messages are above)",
                script.display(),
                output.status
            );
        }
        let report: Value = serde_json::from_slice(&output.stdout)
            .context("the DuckDB helper did not print a JSON report")?;
        let mut results = Vec::new();
        for q in report["queries"]
            .as_array()
            .context("no queries in report")?
        {
            let strings = |v: &Value| -> Vec<String> {
                v.as_array()
                    .map(|a| {
                        a.iter()
                            .map(|x| x.as_str().unwrap_or_default().to_string())
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let floats = |v: &Value| -> Vec<f64> {
                v.as_array()
                    .map(|a| a.iter().filter_map(Value::as_f64).collect())
                    .unwrap_or_default()
            };
            let rows = q["rows"]
                .as_array()
                .map(|rows| {
                    rows.iter()
                        .map(|r| r.as_array().cloned().unwrap_or_default())
                        .collect()
                })
                .unwrap_or_default();
            results.push((
                q["name"].as_str().unwrap_or_default().to_string(),
                DuckResult {
                    columns: strings(&q["columns"]),
                    rows,
                    wall_s: floats(&q["wall_s"]),
                    cpu_s: floats(&q["cpu_s"]),
                },
            ));
        }
        Ok(DuckRun {
            version: report["duckdb_version"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            threads: match &report["threads"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            },
            results,
        })
    }
}
