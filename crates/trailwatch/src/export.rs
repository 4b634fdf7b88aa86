//! `trailwatch export --group G --format jsonl|parquet DEST`: copies a log group's events
//! to files Spark, DuckDB, Athena or `jq` read without Trailwatch.
//!
//! Export is a client of the Logs API: it pages through FilterLogEvents with the signed
//! client, so it works against any endpoint (AWS itself too) and needs no access to the
//! server's data directory. DEST is a directory or `s3://bucket/prefix` of the
//! S3-compatible store the `--s3-*` flags (or the standard AWS variables) name. Files are
//! `part-NNNNN.jsonl[.gz]` or `part-NNNNN.parquet`, each written whole (a reader never
//! sees half a file).
//!
//! JSON lines: a message that is a JSON object is exported as its own fields plus
//! `@timestamp` (ISO 8601, UTC), `@logStream` and `@ingestionTime` (epoch ms), so
//! `spark.read.json(DEST).filter("level = 'ERROR'")` works on JSON application logs;
//! any other message as `{"@timestamp", "@logStream", "@ingestionTime", "@message"}`.
//! Parquet: the columns `timestamp` and `ingestion_time` (epoch ms, bigint), `log_stream`
//! and `message` (strings), like the archive's.

use crate::client::{Client, ClientArgs, Output, print_records};
use crate::s3::S3Args;
use anyhow::{Context, bail};
use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::{Args, ValueEnum};
use flate2::Compression;
use flate2::write::GzEncoder;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression as ParquetCompression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde_json::{Map, Value, json};
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use store::objects::Location;

/// Events per exported file: files stay a few tens of MB, enough for readers to split
/// work across them.
const EVENTS_PER_FILE: usize = 200_000;

/// File formats of an export.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// One JSON object per line.
    Jsonl,
    /// Apache Parquet (zstd).
    Parquet,
}

/// Options of `trailwatch export`.
#[derive(Args)]
pub struct ExportArgs {
    /// The log group (name or ARN).
    #[arg(long)]
    group: String,
    /// First event time: ISO 8601 or epoch ms (default: the beginning).
    #[arg(long, conflicts_with = "since")]
    start: Option<String>,
    /// Events before this time: ISO 8601 or epoch ms (default: now).
    #[arg(long)]
    end: Option<String>,
    /// Instead of --start: this far back (`30m`, `2h`, `7d`, `1w`).
    #[arg(long)]
    since: Option<String>,
    /// Only streams whose names start with this.
    #[arg(long)]
    stream_prefix: Option<String>,
    /// File format.
    #[arg(long, value_enum)]
    format: ExportFormat,
    /// Gzip JSON lines files (`.jsonl.gz`); Parquet is always compressed.
    #[arg(long)]
    gzip: bool,
    /// A directory or `s3://bucket/prefix`.
    dest: String,
    #[command(flatten)]
    s3: S3Args,
    #[command(flatten)]
    client: ClientArgs,
}

/// What an export wrote.
#[derive(Default)]
struct Totals {
    events: u64,
    bytes: u64,
    files: u64,
}

/// Exports the events; prints a summary (a table, or JSON with `--output json`).
pub async fn run(args: ExportArgs) -> anyhow::Result<()> {
    if args.gzip && args.format == ExportFormat::Parquet {
        bail!("--gzip is for jsonl; Parquet files are compressed already");
    }
    let now = Utc::now().timestamp_millis();
    let start = match (&args.start, &args.since) {
        (Some(t), _) => parse_time(t)?,
        (None, Some(span)) => crate::tail::parse_since(span, Utc::now())?,
        (None, None) => 0,
    };
    let end = match &args.end {
        Some(t) => parse_time(t)?,
        None => now,
    };
    if start >= end {
        bail!("the start must be before the end");
    }
    let location = Location::parse(&args.dest)?;
    let objects = location.open(&args.s3.settings())?;
    let client = Client::new(&args.client.connect)?;
    let progress = progress_bar(end - start);
    let mut writer = Writer {
        objects,
        prefix: location.prefix(),
        format: args.format,
        gzip: args.gzip,
        pending: Vec::new(),
        totals: Totals::default(),
    };
    let mut token: Option<String> = None;
    loop {
        let mut input = json!({
            "logGroupIdentifier": args.group,
            "startTime": start,
            "endTime": end - 1,
            "interleaved": true,
        });
        if let Some(p) = &args.stream_prefix {
            input["logStreamNamePrefix"] = json!(p);
        }
        if let Some(t) = &token {
            input["nextToken"] = json!(t);
        }
        let page = client.signed().logs("FilterLogEvents", &input).await?;
        for e in page["events"].as_array().into_iter().flatten() {
            let event = Event {
                timestamp: e["timestamp"].as_i64().unwrap_or_default(),
                ingestion_time: e["ingestionTime"].as_i64().unwrap_or_default(),
                stream: e["logStreamName"].as_str().unwrap_or_default().to_string(),
                message: e["message"].as_str().unwrap_or_default().to_string(),
            };
            progress.set_position((event.timestamp - start).clamp(0, end - start) as u64);
            writer.push(event).await?;
        }
        progress.set_message(format!(
            "{} events",
            writer.totals.events + writer.pending.len() as u64
        ));
        match page["nextToken"].as_str() {
            Some(t) if Some(t) != token.as_deref() => token = Some(t.to_string()),
            _ => break,
        }
    }
    writer.flush().await?;
    progress.finish_and_clear();
    let totals = writer.totals;
    if args.client.output == Output::Json {
        println!(
            "{}",
            json!({
                "destination": location.url(),
                "events": totals.events,
                "bytes": totals.bytes,
                "files": totals.files,
            })
        );
    } else {
        print_records(
            args.client.output,
            &["destination", "events", "bytes", "files"],
            &[vec![
                location.url(),
                totals.events.to_string(),
                totals.bytes.to_string(),
                totals.files.to_string(),
            ]],
        );
    }
    Ok(())
}

/// One exported event.
struct Event {
    timestamp: i64,
    ingestion_time: i64,
    stream: String,
    message: String,
}

/// Gathers events into files and writes each whole.
struct Writer {
    objects: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    format: ExportFormat,
    gzip: bool,
    pending: Vec<Event>,
    totals: Totals,
}

impl Writer {
    async fn push(&mut self, event: Event) -> anyhow::Result<()> {
        self.pending.push(event);
        if self.pending.len() >= EVENTS_PER_FILE {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> anyhow::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let events = std::mem::take(&mut self.pending);
        let (bytes, extension) = match self.format {
            ExportFormat::Jsonl => {
                let mut text = Vec::new();
                for e in &events {
                    serde_json::to_writer(&mut text, &json_line(e))?;
                    text.push(b'\n');
                }
                if self.gzip {
                    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
                    gz.write_all(&text)?;
                    (gz.finish()?, "jsonl.gz")
                } else {
                    (text, "jsonl")
                }
            }
            ExportFormat::Parquet => (parquet_file(&events)?, "parquet"),
        };
        let name = format!("part-{:05}.{extension}", self.totals.files);
        let path = self.prefix.clone().join(name.as_str());
        let size = bytes.len() as u64;
        self.objects
            .put(&path, bytes.into())
            .await
            .with_context(|| format!("cannot write {path}"))?;
        self.totals.files += 1;
        self.totals.bytes += size;
        self.totals.events += events.len() as u64;
        Ok(())
    }
}

/// The JSON object one event is exported as.
fn json_line(e: &Event) -> Value {
    let mut object = match serde_json::from_str::<Value>(&e.message) {
        Ok(Value::Object(fields)) => fields,
        _ => {
            let mut plain = Map::new();
            plain.insert("@message".into(), json!(e.message));
            plain
        }
    };
    object.insert("@timestamp".into(), json!(iso(e.timestamp)));
    object.insert("@logStream".into(), json!(e.stream));
    object.insert("@ingestionTime".into(), json!(e.ingestion_time));
    Value::Object(object)
}

/// `2026-11-27T10:00:00.123Z`.
fn iso(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// One Parquet file of events.
fn parquet_file(events: &[Event]) -> anyhow::Result<Vec<u8>> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("timestamp", DataType::Int64, false),
        Field::new("ingestion_time", DataType::Int64, false),
        Field::new("log_stream", DataType::Utf8, false),
        Field::new("message", DataType::Utf8, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(
            events.iter().map(|e| e.timestamp),
        )),
        Arc::new(Int64Array::from_iter_values(
            events.iter().map(|e| e.ingestion_time),
        )),
        Arc::new(StringArray::from_iter_values(
            events.iter().map(|e| e.stream.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            events.iter().map(|e| e.message.as_str()),
        )),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    let properties = WriterProperties::builder()
        .set_compression(ParquetCompression::ZSTD(ZstdLevel::try_new(3)?))
        .build();
    let mut bytes = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut bytes, schema, Some(properties))?;
    writer.write(&batch)?;
    writer.close()?;
    Ok(bytes)
}

/// ISO 8601 or epoch milliseconds.
fn parse_time(text: &str) -> anyhow::Result<i64> {
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    Ok(DateTime::parse_from_rfc3339(text)
        .with_context(|| format!("{text:?}: expected an ISO 8601 time or epoch milliseconds"))?
        .timestamp_millis())
}

/// A bar over the exported time range, on a terminal only.
fn progress_bar(range_ms: i64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(range_ms as u64), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {percent}% of the time range, {msg} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(message: &str) -> Event {
        Event {
            timestamp: 1_700_000_000_123,
            ingestion_time: 1_700_000_001_000,
            stream: "app".into(),
            message: message.into(),
        }
    }

    #[test]
    fn json_objects_keep_their_fields_and_other_messages_are_wrapped() {
        assert_eq!(
            json_line(&event(r#"{"level":"ERROR","n":1}"#)),
            json!({"level": "ERROR", "n": 1, "@timestamp": "2023-11-14T22:13:20.123Z",
                   "@logStream": "app", "@ingestionTime": 1_700_000_001_000i64})
        );
        assert_eq!(
            json_line(&event("[1,2]")),
            json!({"@message": "[1,2]", "@timestamp": "2023-11-14T22:13:20.123Z",
                   "@logStream": "app", "@ingestionTime": 1_700_000_001_000i64})
        );
    }
}
