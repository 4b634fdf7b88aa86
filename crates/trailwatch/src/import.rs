//! `trailwatch import FORMAT PATH... --group G`: reads AWS log files (files, directories,
//! `AWSLogs/` trees, gzipped or not) with the `formats` crate and stores their lines as
//! log events that keep their own timestamps.
//!
//! Against a server the events go through `Trailwatch_20261127.ImportLogEvents` (which,
//! unlike PutLogEvents, takes events older than 14 days); with `--data-dir` they go
//! straight into a stopped server's store. Either way a manifest of imported files
//! (path, size, mtime, SHA-256) in the catalog makes a re-run skip what is already in the
//! group. A file counts as imported only once all its events are acknowledged, so an
//! interrupted file is imported again whole.

use crate::client::{Client, ClientArgs, Output, local_scope, print_records};
use anyhow::{Context, bail};
use clap::Args;
use formats::walk::{self, ByteCounter, InputFile};
use formats::{Format, LineParser, events};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use model::InputEvent;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, UNIX_EPOCH};
use tokio::sync::mpsc;

/// Batches parsed ahead of those being sent, and batches sent at once (the server
/// shares one fsync among concurrent requests): together they bound the importer's memory.
const BATCHES_AHEAD: usize = 4;
const IN_FLIGHT: usize = 4;

/// Options of `trailwatch import`.
#[derive(Args)]
pub struct ImportArgs {
    /// cloudtrail, vpc-flow (vpc), s3-access (s3), alb, route53-resolver (route53),
    /// lambda, json or text.
    #[arg(value_parser = parse_format)]
    format: Format,
    /// Files, directories or `AWSLogs/` trees; `.gz` files are decompressed.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Log group to import into (created if missing).
    #[arg(short = 'g', long, required_unless_present = "event_data_store")]
    group: Option<String>,
    /// With cloudtrail: import into this CloudTrail Lake event data store (id, ARN or
    /// name) instead of a log group; idempotent on each record's eventID.
    #[arg(long, conflicts_with_all = ["group", "stream"])]
    event_data_store: Option<String>,
    /// Log stream to import into (created if missing); default: each file's name.
    #[arg(short = 's', long)]
    stream: Option<String>,
    /// With vpc-flow: the custom format (`${version} ${vpc-id} ...`) of files without a
    /// header line.
    #[arg(long)]
    vpc_format: Option<String>,
    /// Import files again even when the manifest says they are in the group.
    #[arg(long)]
    force: bool,
    /// Write into this data directory instead of calling a server (which must not be
    /// running on it).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// With --data-dir: the account to import into (default: the server's own).
    #[arg(long, requires = "data_dir")]
    account: Option<String>,
    #[command(flatten)]
    client: ClientArgs,
}

fn parse_format(name: &str) -> Result<Format, String> {
    Format::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
        format!("unknown format {name:?} (one of {})", names.join(", "))
    })
}

/// Where imported events go: a server, or a data directory opened here.
enum Sink {
    Remote(Client),
    Local {
        store: store::Store,
        scope: model::Scope,
    },
}

/// A file's manifest identity.
struct FileKey {
    path: String,
    size: i64,
    modified: i64,
}

impl Sink {
    /// Creates the group and stream unless they exist.
    async fn ensure(&self, group: &str, stream: &str) -> anyhow::Result<()> {
        match self {
            Sink::Remote(client) => {
                let calls = [
                    ("CreateLogGroup", json!({ "logGroupName": group })),
                    (
                        "CreateLogStream",
                        json!({ "logGroupName": group, "logStreamName": stream }),
                    ),
                ];
                for (op, input) in calls {
                    match client
                        .json("logs", &format!("Logs_20140328.{op}"), &input)
                        .await
                    {
                        Err(e) if e.to_string().starts_with("ResourceAlreadyExistsException") => {}
                        other => {
                            other?;
                        }
                    }
                }
            }
            Sink::Local { store, scope } => {
                let group_name = model::LogGroupName::parse(group, "logGroupName")?;
                let stream_name = model::LogStreamName::parse(stream, "logStreamName")?;
                let catalog = store.catalog();
                let now = model::time::now_ms();
                let created =
                    catalog.create_group(scope, group_name.as_str(), now, &Default::default());
                if let Err(e) = created
                    && !matches!(e, store::StoreError::GroupExists)
                {
                    return Err(e.into());
                }
                let id = catalog.group(scope, group_name.as_str())?.id;
                match catalog.create_stream(id, stream_name.as_str(), now) {
                    Ok(_) | Err(store::StoreError::StreamExists) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(())
    }

    /// Whether the manifest holds the file: same path, size and mtime, or same content.
    async fn imported(
        &self,
        group: &str,
        key: &FileKey,
        sha256: Option<&str>,
    ) -> anyhow::Result<bool> {
        match self {
            Sink::Remote(client) => {
                let mut input = json!({
                    "logGroupName": group,
                    "path": key.path,
                    "size": key.size,
                    "modifiedTime": key.modified,
                });
                if let Some(sha) = sha256 {
                    input["sha256"] = json!(sha);
                }
                let out = client
                    .json("logs", "Trailwatch_20261127.GetImportedFile", &input)
                    .await;
                match out {
                    Ok(out) => Ok(out.get("importedFile").is_some()),
                    Err(e) if e.to_string().starts_with("ResourceNotFoundException") => Ok(false),
                    Err(e) => Err(e),
                }
            }
            Sink::Local { store, scope } => {
                let group = match store.catalog().group(scope, group) {
                    Ok(g) => g,
                    Err(store::StoreError::GroupNotFound) => return Ok(false),
                    Err(e) => return Err(e.into()),
                };
                Ok(store
                    .catalog()
                    .imported_file(group.id, sha256, &key.path, key.size, key.modified)?
                    .is_some())
            }
        }
    }

    /// Stores one batch (sorted, within PutLogEvents' limits); returns how many events
    /// the server rejected (too far in the future, or past the group's retention).
    async fn put(&self, group: &str, stream: &str, events: Vec<InputEvent>) -> anyhow::Result<u64> {
        match self {
            Sink::Remote(client) => {
                let count = events.len();
                let events: Vec<Value> = events
                    .into_iter()
                    .map(|e| json!({ "timestamp": e.timestamp, "message": e.message }))
                    .collect();
                let input = json!({
                    "logGroupName": group,
                    "logStreamName": stream,
                    "logEvents": events,
                });
                let out = client
                    .json("logs", "Trailwatch_20261127.ImportLogEvents", &input)
                    .await?;
                Ok(rejected(&out["rejectedLogEventsInfo"], count))
            }
            Sink::Local { store, scope } => {
                let group = store.catalog().group(scope, group)?;
                let stream = store.catalog().stream(group.id, stream)?;
                store.put_events(&group, &stream, events).await?;
                Ok(0)
            }
        }
    }

    /// Adds a wholly imported file to the manifest.
    async fn record(
        &self,
        group: &str,
        stream: &str,
        key: &FileKey,
        sha256: &str,
        events: u64,
    ) -> anyhow::Result<()> {
        match self {
            Sink::Remote(client) => {
                let input = json!({
                    "logGroupName": group,
                    "logStreamName": stream,
                    "path": key.path,
                    "size": key.size,
                    "modifiedTime": key.modified,
                    "sha256": sha256,
                    "events": events,
                });
                client
                    .json("logs", "Trailwatch_20261127.PutImportedFile", &input)
                    .await?;
            }
            Sink::Local { store, scope } => {
                let group = store.catalog().group(scope, group)?;
                store.catalog().record_imported_file(
                    group.id,
                    &store::ImportedFile {
                        sha256: sha256.to_string(),
                        path: key.path.clone(),
                        size: key.size,
                        modified: key.modified,
                        stream: stream.to_string(),
                        events: events as i64,
                        imported_at: model::time::now_ms(),
                    },
                )?;
            }
        }
        Ok(())
    }
}

/// Events a PutLogEvents-style answer rejected, from its `rejectedLogEventsInfo`.
fn rejected(info: &Value, count: usize) -> u64 {
    let index = |key: &str| info[key].as_u64();
    let old = index("tooOldLogEventEndIndex")
        .max(index("expiredLogEventEndIndex"))
        .unwrap_or(0);
    let new =
        index("tooNewLogEventStartIndex").map_or(0, |start| (count as u64).saturating_sub(start));
    old + new
}

/// Totals of a run, for the summary.
#[derive(Default)]
struct Totals {
    files: u64,
    skipped: u64,
    failed: Vec<String>,
    lines: u64,
    events: u64,
    rejected: u64,
    malformed: u64,
    malformed_places: Vec<String>,
    disk_bytes: u64,
    text_bytes: u64,
}

/// Runs `trailwatch import`.
pub async fn run(args: ImportArgs) -> anyhow::Result<()> {
    if let Some(eds) = &args.event_data_store {
        if args.format != Format::CloudTrail {
            bail!("--event-data-store takes cloudtrail files only");
        }
        return import_to_event_data_store(&args, eds).await;
    }
    let vpc = match &args.vpc_format {
        Some(_) if args.format != Format::VpcFlow => bail!("--vpc-format goes with vpc-flow only"),
        Some(format) => Some(
            formats::vpc::VpcParser::from_format(format)
                .map_err(|e| anyhow::anyhow!("--vpc-format: {e}"))?,
        ),
        None => None,
    };
    let files = walk::expand(&args.paths, |p| args.format.wants(p))?;
    if files.is_empty() {
        bail!("no {} files under the paths given", args.format.name());
    }
    let (sink, background) = match &args.data_dir {
        Some(dir) => {
            let store = store::Store::open(store::StoreOptions::new(dir)).with_context(|| {
                format!(
                    "cannot open {} (stop the server, or import with --endpoint)",
                    dir.display()
                )
            })?;
            let scope = local_scope(&store, args.account.as_deref(), &args.client)?;
            let background = store.spawn_background();
            (Sink::Local { store, scope }, Some(background))
        }
        None => (Sink::Remote(Client::new(&args.client.connect)?), None),
    };
    let started = Instant::now();
    let counter = ByteCounter::default();
    let progress = Progress::start(&files, &counter);
    let result = import_all(&args, vpc, &sink, &files, &counter).await;
    progress.finish();
    if let (Sink::Local { store, .. }, Some(background)) = (&sink, background) {
        store.stop_background();
        let _ = background.await;
        store.shutdown().await?;
    }
    let totals = result?;
    summarize(args.client.output, &totals, started.elapsed());
    if !totals.failed.is_empty() {
        bail!("{} file(s) could not be read", totals.failed.len());
    }
    Ok(())
}

/// Records sent in one ImportAuditEvents request: well under the 8 MiB request limit for
/// CloudTrail's records (at most a few KiB each).
const RECORDS_PER_REQUEST: usize = 500;

/// What an import into an event data store did.
#[derive(Default, serde::Serialize)]
struct StoreTotals {
    files: u64,
    records: u64,
    added: u64,
    duplicates: u64,
    invalid: u64,
    malformed: Vec<String>,
}

/// `import cloudtrail PATH... --event-data-store ID`: records into a Lake store, through
/// `Trailwatch_20261127.ImportAuditEvents` or straight into a data directory.
async fn import_to_event_data_store(args: &ImportArgs, eds: &str) -> anyhow::Result<()> {
    let files = formats::cloudtrail::files(&args.paths)?;
    if files.is_empty() {
        bail!("no cloudtrail files under the paths given");
    }
    let local = match &args.data_dir {
        Some(dir) => {
            let store = store::Store::open(store::StoreOptions::new(dir)).with_context(|| {
                format!(
                    "cannot open {} (stop the server, or import with --endpoint)",
                    dir.display()
                )
            })?;
            let scope = local_scope(&store, args.account.as_deref(), &args.client)?;
            let audit = audit::Audit::open(store.clone(), audit::AuditOptions::new(dir))?;
            let target = audit::lake::find(audit.catalog(), &scope.account, eds)?
                .with_context(|| format!("event data store {eds} does not exist"))?;
            Some((store, audit, target))
        }
        None => None,
    };
    let client = match local {
        None => Some(Client::new(&args.client.connect)?),
        Some(_) => None,
    };
    let started = Instant::now();
    let counter = ByteCounter::default();
    let progress = Progress::start(&files, &counter);
    let mut totals = StoreTotals::default();
    let send = async |batch: Vec<Value>, totals: &mut StoreTotals| -> anyhow::Result<()> {
        totals.records += batch.len() as u64;
        let (added, duplicates, invalid) = match (&local, &client) {
            (Some((_, audit, target)), _) => {
                let c =
                    audit::lake::import(audit.history(), audit.catalog(), target, &batch).await?;
                (c.added, c.duplicates, c.invalid)
            }
            (None, Some(client)) => {
                let out = client
                    .json(
                        "cloudtrail",
                        "Trailwatch_20261127.ImportAuditEvents",
                        &serde_json::json!({ "EventDataStore": eds, "Records": batch }),
                    )
                    .await?;
                let n = |k: &str| out[k].as_u64().unwrap_or(0);
                (n("Added"), n("Duplicates"), n("Invalid"))
            }
            (None, None) => bail!("no server and no data directory"),
        };
        totals.added += added;
        totals.duplicates += duplicates;
        totals.invalid += invalid;
        Ok(())
    };
    let mut batch = Vec::with_capacity(RECORDS_PER_REQUEST);
    let mut outcome = Ok(());
    'files: for file in &files {
        totals.files += 1;
        let records = match formats::cloudtrail::open(&file.path, &counter) {
            Ok(r) => r,
            Err(e) => {
                totals.malformed.push(e.to_string());
                continue;
            }
        };
        for item in records {
            match item {
                Ok(record) => batch.push(record),
                Err(e) => totals.malformed.push(e.to_string()),
            }
            if batch.len() >= RECORDS_PER_REQUEST
                && let Err(e) = send(std::mem::take(&mut batch), &mut totals).await
            {
                outcome = Err(e);
                break 'files;
            }
        }
    }
    if outcome.is_ok() && !batch.is_empty() {
        outcome = send(batch, &mut totals).await;
    }
    progress.finish();
    if let Some((store, _, _)) = &local {
        store.shutdown().await?;
    }
    outcome?;
    let seconds = started.elapsed().as_secs_f64().max(1e-9);
    if args.client.output == Output::Json {
        println!("{}", serde_json::to_string_pretty(&totals)?);
    } else {
        let rows = vec![vec![
            totals.files.to_string(),
            totals.records.to_string(),
            totals.added.to_string(),
            totals.duplicates.to_string(),
            totals.invalid.to_string(),
            totals.malformed.len().to_string(),
            format!("{:.1}", counter.get() as f64 / 1e6 / seconds),
        ]];
        crate::client::print_records(
            args.client.output,
            &[
                "files",
                "records",
                "added",
                "duplicates",
                "invalid",
                "malformed",
                "MB/s",
            ],
            &rows,
        );
        for m in totals.malformed.iter().take(5) {
            eprintln!("malformed: {m}");
        }
    }
    Ok(())
}

async fn import_all(
    args: &ImportArgs,
    vpc: Option<formats::vpc::VpcParser>,
    sink: &Sink,
    files: &[InputFile],
    counter: &ByteCounter,
) -> anyhow::Result<Totals> {
    let group = args
        .group
        .as_deref()
        .context("name the log group to import into with --group")?;
    let mut totals = Totals::default();
    let mut ensured: Option<String> = None;
    for file in files {
        let stream = match &args.stream {
            Some(s) => s.clone(),
            None => stream_for(&file.path),
        };
        let key = FileKey {
            path: std::fs::canonicalize(&file.path)
                .unwrap_or_else(|_| file.path.clone())
                .to_string_lossy()
                .into_owned(),
            size: file.size as i64,
            modified: file
                .modified
                .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_millis() as i64),
        };
        totals.disk_bytes += file.size;
        if !args.force && sink.imported(group, &key, None).await? {
            totals.skipped += 1;
            counter.add(file.size);
            continue;
        }
        let path = file.path.clone();
        let sha256 = tokio::task::spawn_blocking(move || hash_file(&path)).await??;
        if !args.force && sink.imported(group, &key, Some(&sha256)).await? {
            totals.skipped += 1;
            counter.add(file.size);
            continue;
        }
        if ensured.as_deref() != Some(stream.as_str()) {
            sink.ensure(group, &stream).await?;
            ensured = Some(stream.clone());
        }
        let (tx, rx) = mpsc::channel::<Vec<InputEvent>>(BATCHES_AHEAD);
        let reader = {
            let parser = match &vpc {
                Some(vpc) => Some(Box::new(vpc.clone()) as Box<dyn LineParser>),
                None => args.format.line_parser(),
            };
            let (counter, path, fallback_ms) = (counter.clone(), file.path.clone(), key.modified);
            tokio::task::spawn_blocking(move || {
                events::read_events(parser, &path, &counter, fallback_ms, |batch| {
                    tx.blocking_send(batch).is_ok()
                })
            })
        };
        let batches = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|batch| (batch, rx))
        });
        let mut puts = std::pin::pin!(
            batches
                .map(|batch| sink.put(group, &stream, batch))
                .buffer_unordered(IN_FLIGHT)
        );
        let mut rejected = 0;
        while let Some(put) = puts.next().await {
            rejected += put?;
        }
        let stats = match reader.await? {
            Ok(stats) => stats,
            Err(e) => {
                // An unreadable file (I/O error, broken gzip) is reported and the rest
                // go on; it stays out of the manifest, so a re-run tries it again.
                totals.failed.push(e.to_string());
                continue;
            }
        };
        sink.record(group, &stream, &key, &sha256, stats.events)
            .await?;
        totals.files += 1;
        totals.lines += stats.lines;
        totals.events += stats.events.saturating_sub(rejected);
        totals.rejected += rejected;
        totals.text_bytes += stats.text_bytes;
        totals.malformed += stats.malformed;
        let room = events::LISTED_MALFORMED.saturating_sub(totals.malformed_places.len());
        totals
            .malformed_places
            .extend(stats.malformed_places.into_iter().take(room));
    }
    Ok(totals)
}

/// A stream name from a file name: AWS forbids `:` and `*` in stream names.
fn stream_for(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "import".into());
    name.replace([':', '*'], "_")
        .chars()
        .take(model::names::MAX_NAME_LEN)
        .collect()
}

fn hash_file(path: &Path) -> anyhow::Result<String> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(hex::encode(hasher.finalize()))
}

/// A progress bar in bytes read, on a terminal; plain lines every 10 s otherwise.
struct Progress {
    ticker: tokio::task::JoinHandle<()>,
    bar: ProgressBar,
}

impl Progress {
    fn start(files: &[InputFile], counter: &ByteCounter) -> Progress {
        let total: u64 = files.iter().map(|f| f.size).sum();
        let terminal = std::io::stderr().is_terminal();
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:40} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let (ticker_bar, counter) = (bar.clone(), counter.clone());
        let ticker = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(200));
            let mut last_line = Instant::now();
            loop {
                tick.tick().await;
                let read = counter.get();
                ticker_bar.set_position(read);
                if !terminal && last_line.elapsed() >= Duration::from_secs(10) {
                    last_line = Instant::now();
                    eprintln!("imported {read} of {total} bytes");
                }
            }
        });
        Progress { ticker, bar }
    }

    fn finish(self) {
        self.ticker.abort();
        self.bar.finish_and_clear();
    }
}

fn summarize(output: Output, totals: &Totals, elapsed: Duration) {
    let seconds = elapsed.as_secs_f64().max(1e-9);
    let mb = totals.text_bytes as f64 / 1e6;
    if output == Output::Json {
        let summary = json!({
            "files": totals.files,
            "skippedFiles": totals.skipped,
            "failedFiles": totals.failed,
            "lines": totals.lines,
            "events": totals.events,
            "rejectedEvents": totals.rejected,
            "malformedLines": totals.malformed,
            "malformedLocations": totals.malformed_places,
            "bytesRead": totals.disk_bytes,
            "textBytes": totals.text_bytes,
            "seconds": seconds,
            "megabytesPerSecond": mb / seconds,
        });
        println!("{summary}");
        return;
    }
    let headers = [
        "files",
        "skipped",
        "lines",
        "events",
        "rejected",
        "malformed",
        "MB",
        "seconds",
        "MB/s",
    ];
    let row = vec![
        totals.files.to_string(),
        totals.skipped.to_string(),
        totals.lines.to_string(),
        totals.events.to_string(),
        totals.rejected.to_string(),
        totals.malformed.to_string(),
        format!("{mb:.1}"),
        format!("{seconds:.2}"),
        format!("{:.1}", mb / seconds),
    ];
    print_records(output, &headers, &[row]);
    for place in &totals.malformed_places {
        eprintln!("malformed: {place}");
    }
    if totals.malformed > totals.malformed_places.len() as u64 {
        eprintln!(
            "... and {} more malformed lines",
            totals.malformed - totals.malformed_places.len() as u64
        );
    }
    for failure in &totals.failed {
        eprintln!("failed: {failure}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejected_counts_each_kind() {
        let info = json!({"tooOldLogEventEndIndex": 2, "expiredLogEventEndIndex": 3, "tooNewLogEventStartIndex": 8});
        assert_eq!(rejected(&info, 10), 5);
        assert_eq!(rejected(&Value::Null, 10), 0);
    }

    #[test]
    fn stream_names_from_files() {
        assert_eq!(stream_for(Path::new("/a/b:c*.log.gz")), "b_c_.log.gz");
    }
}
