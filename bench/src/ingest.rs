//! `bench ingest`: durable ingest over HTTP PutLogEvents with concurrent clients, printed
//! beside its baselines measured in the same run:
//!
//! - throughput against a trivial writer appending the same batches to one file with
//!   `fdatasync` (with group commit — the physical limit — and one sync per batch);
//! - stored bytes (Parquet segments after the shutdown flush) against `zstd -3` of the
//!   raw text;
//! - the server's peak RSS against the 512 MiB budget.

use crate::baseline::{self, AppendResult};
use crate::client::{Body, Client};
use crate::datagen::{self, Dataset, Kind};
use crate::report::{Row, mb, mib, table, times};
use crate::server::{self, Server};
use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Targets from DESIGN.md, "Performance targets".
const TARGET_MBPS_PER_CORE: f64 = 50.0;
const TARGET_STORED_VS_ZSTD: f64 = 1.0;
const TARGET_RSS_BYTES: f64 = 512.0 * 1024.0 * 1024.0;

const GROUP: &str = "/bench/ingest";

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// A readable table on stdout.
    Table,
    /// One JSON object on stdout.
    Json,
}

/// Options of `bench ingest`.
#[derive(Args, Debug)]
pub struct IngestArgs {
    #[command(flatten)]
    run: crate::server::RunArgs,
    /// Raw log text to send (message bytes): 200MB, 1GB, 5MiB, ...
    #[arg(long, default_value = "200MB", value_parser = crate::parse_size)]
    size: usize,
    /// Concurrent clients, each with its own log stream and one request in flight.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// PutLogEvents batch size, counting message bytes + 26 per event (at most 1048576).
    #[arg(long, default_value_t = 1_000_000)]
    batch_bytes: usize,
    /// Which logs to generate.
    #[arg(long, value_enum, default_value = "mixed")]
    kind: Kind,
    /// Seed of the data generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// `table` or `json`.
    #[arg(long, value_enum, default_value = "table")]
    output: Output,
    /// Record a `perf` profile (DWARF call graphs) of the server during the ingest phase.
    #[arg(long)]
    perf_record: Option<PathBuf>,
}

/// Runs the benchmark; `Ok(false)` when `--strict` and a target was missed.
pub fn run(args: IngestArgs) -> anyhow::Result<bool> {
    if args.clients == 0 {
        bail!("--clients must be at least 1");
    }
    let server_bin = args.run.server_bin()?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut work = WorkDir::create(args.run.work_dir.as_deref(), args.run.keep)?;
    let result = measure(&args, &work, &server_bin, cores);
    if result.is_err() && !work.keep {
        // Keep the server log and data directory of a failed run for inspection.
        work.keep = true;
        progress(format_args!("kept {} for inspection", work.path.display()));
    }
    result
}

/// Everything after the checks: generate, ingest, stop, measure, compare, print.
fn measure(
    args: &IngestArgs,
    work: &WorkDir,
    server_bin: &Path,
    cores: usize,
) -> anyhow::Result<bool> {
    progress(format_args!(
        "generating {} of {} logs (seed {})",
        mb(args.size as f64),
        args.kind.name(),
        args.seed
    ));
    let started = Instant::now();
    let data = datagen::generate(
        args.kind,
        args.size,
        args.batch_bytes,
        args.seed,
        chrono::Utc::now().timestamp_millis(),
    );
    let bodies = build_bodies(&data, args.clients, cores);
    progress(format_args!(
        "generated {} events in {} batches in {:.1} s",
        data.events.len(),
        data.batches.len(),
        started.elapsed().as_secs_f64()
    ));

    // The server, on a fresh data directory.
    let data_dir = work.path.join("data");
    let server = Server::start(server_bin, &data_dir, &args.run.server_args)?;
    progress(format_args!(
        "server pid {} listening on {}",
        server.pid(),
        server.addr
    ));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = Client::new(&server.addr, server.creds.clone())?;
    runtime.block_on(setup(&client, args.clients))?;

    let perf = match &args.perf_record {
        Some(path) => Some(Perf::start(server.pid(), path)?),
        None => None,
    };
    progress(format_args!(
        "ingesting with {} clients, {} batches of ≤ {} bytes",
        args.clients,
        data.batches.len(),
        args.batch_bytes
    ));
    let server_cpu_before = server.cpu_seconds()?;
    let threads_before = server::thread_cpu_seconds(server.pid());
    let self_cpu_before = server::self_cpu_seconds();
    let machine_before = server::machine_busy_seconds();
    let ingest = runtime.block_on(send_all(&client, bodies, args.clients))?;
    let machine_busy = server::machine_busy_seconds() - machine_before;
    let server_cpu_ingest = server.cpu_seconds()? - server_cpu_before;
    let busiest = busiest_threads(&threads_before, &server::thread_cpu_seconds(server.pid()));
    let client_cpu_ingest = server::self_cpu_seconds() - self_cpu_before;
    // Whatever else ran meanwhile (builds, tests): a noisy run shows here.
    let other_cpu = (machine_busy - server_cpu_ingest - client_cpu_ingest).max(0.0);
    if let Some(perf) = perf {
        perf.stop()?;
    }
    let rss_before_term = server.peak_rss_now()?;
    progress(format_args!(
        "ingested in {:.2} s; stopping the server (flush)",
        ingest.wall.as_secs_f64()
    ));
    let log_path = server.log_path.clone();
    let stopped = server.stop(Duration::from_secs(600))?;
    let storage = Storage::measure(&data_dir)?;

    progress(format_args!("baseline: group-commit fdatasync writer"));
    let gc = baseline::group_commit(&data, args.clients, &work.path.join("baseline-gc.log"))
        .context("group-commit baseline")?;
    progress(format_args!("baseline: fdatasync per batch"));
    let naive =
        baseline::sync_per_batch(&data, args.clients, &work.path.join("baseline-naive.log"))
            .context("sync-per-batch baseline")?;
    progress(format_args!("baseline: zstd -3 of the raw text"));
    let zstd = baseline::zstd3(&data.text).context("zstd baseline")?;
    let zstd_chunks = baseline::zstd3_per_batch(&data).context("zstd per-batch baseline")?;

    let raw = data.message_bytes as f64;
    let rate = |wall: Duration| raw / 1e6 / wall.as_secs_f64();
    let tw_mbps = rate(ingest.wall);
    let gc_mbps = rate(gc.wall);
    let naive_mbps = rate(naive.wall);
    let per_core = |mbps: f64| mbps / cores as f64;
    let stored = storage.parquet_bytes as f64;
    let peak_rss = stopped.peak_rss_bytes.max(rss_before_term) as f64;

    let noisy = other_cpu > 0.1 * ingest.wall.as_secs_f64() * cores as f64;
    if noisy {
        progress(format_args!(
            "warning: other processes used {other_cpu:.1} CPU-seconds during the ingest; throughput figures are noisy"
        ));
    }
    let pass_rate = per_core(tw_mbps) >= TARGET_MBPS_PER_CORE;
    let pass_stored = stored <= zstd.bytes as f64 * TARGET_STORED_VS_ZSTD;
    let pass_rss_ingest = (rss_before_term as f64) < TARGET_RSS_BYTES;
    let pass_rss = peak_rss < TARGET_RSS_BYTES;
    let all_pass = pass_rate && pass_stored && pass_rss;

    let mut lat = ingest.latencies.clone();
    lat.sort_unstable();
    let pct = |p: f64| -> f64 {
        if lat.is_empty() {
            return 0.0;
        }
        let i = ((lat.len() - 1) as f64 * p).round() as usize;
        lat[i].as_secs_f64() * 1000.0
    };

    match args.output {
        Output::Json => {
            let report = json!({
                "benchmark": "ingest",
                "kind": args.kind.name(),
                "seed": args.seed,
                "clients": args.clients,
                "batch_bytes": args.batch_bytes,
                "cores": cores,
                "raw_bytes": data.message_bytes,
                "raw_text_bytes_with_newlines": data.text.len(),
                "events": data.events.len(),
                "batches": data.batches.len(),
                "trailwatch": {
                    "wall_s": ingest.wall.as_secs_f64(),
                    "mb_per_s": tw_mbps,
                    "mb_per_s_per_core": per_core(tw_mbps),
                    "events_per_s": data.events.len() as f64 / ingest.wall.as_secs_f64(),
                    "server_cpu_s": server_cpu_ingest,
                    "server_cpu_utilization": server_cpu_ingest / (ingest.wall.as_secs_f64() * cores as f64),
                    "server_threads_cpu_s": busiest.iter().map(|(name, cpu)| json!({"thread": name, "cpu_s": cpu})).collect::<Vec<_>>(),
                    "mb_per_server_cpu_s": raw / 1e6 / server_cpu_ingest,
                    "client_cpu_s": client_cpu_ingest,
                    "other_processes_cpu_s": other_cpu,
                    "latency_ms": {"p50": pct(0.5), "p95": pct(0.95), "p99": pct(0.99), "max": pct(1.0)},
                    "shutdown_s": stopped.shutdown.as_secs_f64(),
                    "server_cpu_total_s": stopped.cpu_seconds,
                    "peak_rss_bytes_before_sigterm": rss_before_term,
                    "peak_rss_bytes": peak_rss as u64,
                    "stored_parquet_bytes": storage.parquet_bytes,
                    "segment_files": storage.parquet_files,
                    "catalog_segment_bytes": storage.registered.map(|r| r.1),
                    "catalog_segment_files": storage.registered.map(|r| r.0),
                    "wal_leftover_bytes": storage.wal_bytes,
                    "stored_bytes_by_column": storage.columns.iter().map(|(c, b)| (c.clone(), json!(b))).collect::<serde_json::Map<_, _>>(),
                    "catalog_bytes": storage.catalog_bytes,
                },
                "baselines": {
                    "group_commit": append_json(&gc, rate(gc.wall), cores),
                    "fdatasync_per_batch": append_json(&naive, rate(naive.wall), cores),
                    "zstd3": {
                        "implementation": format!("libzstd {} via the zstd crate, level 3, one frame, single thread", zstd::zstd_safe::version_string()),
                        "bytes": zstd.bytes,
                        "compress_s": zstd.wall.as_secs_f64(),
                        "mb_per_s": raw / 1e6 / zstd.wall.as_secs_f64(),
                    },
                    "zstd3_per_batch_bytes": zstd_chunks,
                },
                "targets": [
                    {"metric": "ingest_mb_per_s_per_core", "value": per_core(tw_mbps), "target": format!(">= {TARGET_MBPS_PER_CORE}"), "pass": pass_rate},
                    {"metric": "stored_bytes_vs_zstd3", "value": stored / zstd.bytes as f64, "target": format!("<= {TARGET_STORED_VS_ZSTD}"), "pass": pass_stored},
                    {"metric": "peak_rss_bytes", "value": peak_rss, "target": format!("< {TARGET_RSS_BYTES}"), "pass": pass_rss},
                ],
                "pass": all_pass,
                "server_log": args.run.keep.then(|| log_path.display().to_string()),
            });
            println!("{report}");
        }
        Output::Table => {
            let ratio = |a: f64, b: f64| times(a / b);
            let rows = vec![
                Row::new(
                    "ingest MB/s per core (durable)",
                    format!("{:.1}", per_core(tw_mbps)),
                    format!("{:.1}", per_core(gc_mbps)),
                    ratio(tw_mbps, gc_mbps),
                    format!("≥ {TARGET_MBPS_PER_CORE:.0}"),
                    Some(pass_rate),
                ),
                Row::new(
                    "ingest MB/s, all cores",
                    format!("{tw_mbps:.1}"),
                    format!("{gc_mbps:.1}"),
                    ratio(tw_mbps, gc_mbps),
                    "",
                    None,
                ),
                Row::new(
                    "  vs fdatasync per batch (no group commit)",
                    "",
                    format!("{naive_mbps:.1}"),
                    ratio(tw_mbps, naive_mbps),
                    "",
                    None,
                ),
                Row::new(
                    "stored bytes (Parquet segments)",
                    mb(stored),
                    mb(zstd.bytes as f64),
                    ratio(stored, zstd.bytes as f64),
                    "≤ 1.00× zstd -3",
                    Some(pass_stored),
                ),
                Row::new(
                    "  vs zstd -3 of each batch alone (~1 MB frames)",
                    "",
                    mb(zstd_chunks as f64),
                    ratio(stored, zstd_chunks as f64),
                    "",
                    None,
                ),
                Row::new(
                    "compression ratio (raw / stored)",
                    format!("{:.1}", raw / stored),
                    format!("{:.1}", raw / zstd.bytes as f64),
                    "",
                    "",
                    None,
                ),
                Row::new(
                    "peak RSS, ingest (VmHWM before SIGTERM)",
                    mib(rss_before_term as f64),
                    "",
                    "",
                    "< 512 MiB",
                    Some(pass_rss_ingest),
                ),
                Row::new(
                    "peak RSS, incl. shutdown flush",
                    mib(peak_rss),
                    "",
                    "",
                    "< 512 MiB",
                    Some(pass_rss),
                ),
                Row::new("", "", "", "", "", None),
                Row::info("raw log text (message bytes)", mb(raw)),
                Row::info(
                    "events / batches / clients / cores",
                    format!(
                        "{} / {} / {} / {cores}",
                        data.events.len(),
                        data.batches.len(),
                        args.clients
                    ),
                ),
                Row::info(
                    "wall, first request to last ack",
                    format!("{:.2} s", ingest.wall.as_secs_f64()),
                ),
                Row::info(
                    "events/s",
                    format!(
                        "{:.0}",
                        data.events.len() as f64 / ingest.wall.as_secs_f64()
                    ),
                ),
                Row::info(
                    "server CPU during ingest",
                    format!(
                        "{server_cpu_ingest:.2} s ({:.1} MB per CPU-second)",
                        raw / 1e6 / server_cpu_ingest
                    ),
                ),
                Row::info(
                    "server CPU utilization during ingest",
                    format!(
                        "{:.0}% of {cores} cores",
                        100.0 * server_cpu_ingest / (ingest.wall.as_secs_f64() * cores as f64)
                    ),
                ),
                Row::info(
                    "bench client CPU during ingest",
                    format!("{client_cpu_ingest:.2} s"),
                ),
                Row::info(
                    "other processes' CPU during ingest (noise)",
                    format!(
                        "{other_cpu:.2} s ({:.0}% of the machine)",
                        100.0 * other_cpu / (ingest.wall.as_secs_f64() * cores as f64)
                    ),
                ),
                Row::info(
                    "PutLogEvents latency p50 / p95 / p99 / max",
                    format!(
                        "{:.1} / {:.1} / {:.1} / {:.1} ms",
                        pct(0.5),
                        pct(0.95),
                        pct(0.99),
                        pct(1.0)
                    ),
                ),
                Row::info(
                    "shutdown (SIGTERM to exit, final flush)",
                    format!("{:.2} s", stopped.shutdown.as_secs_f64()),
                ),
                Row::info(
                    "segment files / WAL left / catalog",
                    format!(
                        "{} / {} / {}",
                        storage.parquet_files,
                        mb(storage.wal_bytes as f64),
                        mb(storage.catalog_bytes as f64)
                    ),
                ),
                Row::info(
                    "segments in the catalog (orphan files on disk)",
                    match storage.registered {
                        Some((files, bytes)) => format!(
                            "{files} / {} ({} files / {})",
                            mb(bytes as f64),
                            storage.parquet_files.saturating_sub(files),
                            mb(storage.parquet_bytes.saturating_sub(bytes) as f64)
                        ),
                        None => "unknown (catalog unreadable)".into(),
                    },
                ),
                Row::info(
                    "group commit: fdatasyncs (batches per sync)",
                    format!(
                        "{} ({:.1})",
                        gc.syncs,
                        data.batches.len() as f64 / gc.syncs.max(1) as f64
                    ),
                ),
                Row::info(
                    "zstd -3 (libzstd, 1 thread) speed",
                    format!("{:.1} MB/s", raw / 1e6 / zstd.wall.as_secs_f64()),
                ),
            ];
            println!(
                "Trailwatch ingest benchmark — {} of {} logs, {} clients, batches ≤ {} bytes",
                mb(raw),
                args.kind.name(),
                args.clients,
                args.batch_bytes
            );
            print!("{}", table(&rows));
            println!(
                "Stored bytes by column: {}",
                storage
                    .columns
                    .iter()
                    .map(|(c, b)| format!("{c} {}", mb(*b as f64)))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            println!(
                "Busiest server threads during ingest (CPU s): {}",
                busiest
                    .iter()
                    .take(5)
                    .map(|(name, cpu)| format!("{name} {cpu:.2}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            println!(
                "MB = 10^6 bytes of raw log text (message bytes only); per core = ÷ {cores} available cores.\n\
                 Baseline throughput: the same batches appended to one file by {} threads with fdatasync (group commit), no HTTP.\n\
                 zstd -3: libzstd {} via the zstd crate, level 3, whole newline-joined text as one frame.\n\
                 Overall: {}",
                args.clients,
                zstd::zstd_safe::version_string(),
                if all_pass { "PASS" } else { "FAIL (see rows)" }
            );
        }
    }
    if args.run.keep {
        progress(format_args!(
            "kept {} (server log {})",
            work.path.display(),
            log_path.display()
        ));
    }
    Ok(all_pass || !args.run.strict)
}

fn append_json(r: &AppendResult, mbps: f64, cores: usize) -> serde_json::Value {
    json!({
        "wall_s": r.wall.as_secs_f64(),
        "mb_per_s": mbps,
        "mb_per_s_per_core": mbps / cores as f64,
        "fdatasyncs": r.syncs,
        "bytes_written": r.bytes_written,
    })
}

pub(crate) fn progress(args: std::fmt::Arguments<'_>) {
    eprintln!("bench: {args}");
}

fn stream_name(client: usize) -> String {
    format!("client-{client:03}")
}

/// The PutLogEvents bodies, serialized and hashed before the clock starts, so that the
/// clients measure the server rather than themselves. Index = batch index.
pub(crate) fn build_bodies(data: &Dataset, clients: usize, threads: usize) -> Vec<Body> {
    let n = data.batches.len();
    let chunk = n.div_ceil(threads.max(1)).max(1);
    let mut out: Vec<Option<Body>> = (0..n).map(|_| None).collect();
    std::thread::scope(|scope| {
        for (c, slots) in out.chunks_mut(chunk).enumerate() {
            scope.spawn(move || {
                for (i, slot) in slots.iter_mut().enumerate() {
                    let k = c * chunk + i;
                    *slot = Some(put_body(GROUP, &stream_name(k % clients), data, k));
                }
            });
        }
    });
    out.into_iter()
        .map(|b| b.expect("every body built"))
        .collect()
}

/// The PutLogEvents body of batch `k`, serialized by hand so building it stays cheap.
pub(crate) fn put_body(group: &str, stream: &str, data: &Dataset, k: usize) -> Body {
    let batch = &data.batches[k];
    let mut body = Vec::with_capacity(batch.text.len() + batch.text.len() / 4 + 256);
    body.extend_from_slice(b"{\"logGroupName\":");
    serde_json::to_writer(&mut body, group).expect("write to Vec");
    body.extend_from_slice(b",\"logStreamName\":");
    serde_json::to_writer(&mut body, stream).expect("write to Vec");
    body.extend_from_slice(b",\"logEvents\":[");
    for (i, e) in data.events[batch.events.clone()].iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(b"{\"timestamp\":");
        body.extend_from_slice(e.timestamp.to_string().as_bytes());
        body.extend_from_slice(b",\"message\":");
        serde_json::to_writer(&mut body, data.message(e)).expect("write to Vec");
        body.push(b'}');
    }
    body.extend_from_slice(b"]}");
    Body::new(body)
}

pub(crate) async fn setup(client: &Client, clients: usize) -> anyhow::Result<()> {
    client
        .call_json("CreateLogGroup", &json!({ "logGroupName": GROUP }))
        .await?;
    for c in 0..clients {
        client
            .call_json(
                "CreateLogStream",
                &json!({ "logGroupName": GROUP, "logStreamName": stream_name(c) }),
            )
            .await?;
    }
    Ok(())
}

pub(crate) struct IngestResult {
    pub(crate) wall: Duration,
    pub(crate) latencies: Vec<Duration>,
}

/// Each client sends its batches (k, k + clients, ...) one at a time, waiting for each
/// acknowledgement; the clock runs from the first request to the last acknowledgement.
pub(crate) async fn send_all(
    client: &Client,
    bodies: Vec<Body>,
    clients: usize,
) -> anyhow::Result<IngestResult> {
    let mut per_client: Vec<Vec<Body>> = (0..clients).map(|_| Vec::new()).collect();
    for (k, body) in bodies.into_iter().enumerate() {
        per_client[k % clients].push(body);
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for bodies in per_client {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(bodies.len());
            for body in bodies {
                let t = Instant::now();
                let response = client.call("PutLogEvents", &body).await?;
                latencies.push(t.elapsed());
                if let Some(rejected) = response.get("rejectedLogEventsInfo") {
                    bail!("the server rejected events: {rejected}");
                }
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.context("client task panicked")??);
    }
    Ok(IngestResult {
        wall: started.elapsed(),
        latencies,
    })
}

/// What the data directory holds after the shutdown flush.
struct Storage {
    parquet_bytes: u64,
    parquet_files: u64,
    /// Segment files and bytes the catalog knows; files on disk beyond them are orphans.
    registered: Option<(u64, u64)>,
    /// Compressed bytes per column over every segment file, largest first.
    columns: Vec<(String, u64)>,
    wal_bytes: u64,
    catalog_bytes: u64,
}

impl Storage {
    fn measure(data_dir: &Path) -> anyhow::Result<Storage> {
        let (parquet_bytes, parquet_files) = tree_size(&data_dir.join("segments"), "parquet")?;
        let (wal_bytes, _) = tree_size(&data_dir.join("wal"), "")?;
        let mut catalog_bytes = 0;
        for name in ["catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm"] {
            if let Ok(m) = std::fs::metadata(data_dir.join(name)) {
                catalog_bytes += m.len();
            }
        }
        Ok(Storage {
            parquet_bytes,
            parquet_files,
            registered: catalog_segments(&data_dir.join("catalog.sqlite")),
            columns: column_sizes(&data_dir.join("segments"))?,
            wal_bytes,
            catalog_bytes,
        })
    }
}

/// Compressed bytes of each column summed over the Parquet files under `dir` (from their
/// footers; the rest of a file is footer and page headers).
fn column_sizes(dir: &Path) -> anyhow::Result<Vec<(String, u64)>> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let mut sizes: std::collections::BTreeMap<String, u64> = Default::default();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                let file = std::fs::File::open(&path)?;
                let reader = SerializedFileReader::new(file)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                for rg in reader.metadata().row_groups() {
                    for c in rg.columns() {
                        *sizes.entry(c.column_path().string()).or_default() +=
                            c.compressed_size().max(0) as u64;
                    }
                }
            }
        }
    }
    let mut out: Vec<(String, u64)> = sizes.into_iter().collect();
    out.sort_by_key(|c| std::cmp::Reverse(c.1));
    Ok(out)
}

/// Count and total bytes of the segments the catalog lists (read-only; `None` if its
/// schema is not what this benchmark knows).
fn catalog_segments(path: &Path) -> Option<(u64, u64)> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .ok()?;
    conn.query_row(
        "SELECT count(*), coalesce(sum(bytes), 0) FROM segments",
        [],
        |row| Ok((row.get::<_, i64>(0)? as u64, row.get::<_, i64>(1)? as u64)),
    )
    .ok()
}

/// Server threads by CPU seconds used between two snapshots, busiest first.
fn busiest_threads(
    before: &std::collections::HashMap<u32, (String, f64)>,
    after: &std::collections::HashMap<u32, (String, f64)>,
) -> Vec<(String, f64)> {
    let mut used: Vec<(String, f64)> = after
        .iter()
        .map(|(tid, (name, cpu))| {
            let earlier = before.get(tid).map_or(0.0, |(_, c)| *c);
            (format!("{name}[{tid}]"), cpu - earlier)
        })
        .filter(|(_, cpu)| *cpu > 0.0)
        .collect();
    used.sort_by(|a, b| b.1.total_cmp(&a.1));
    used
}

/// Total size and count of files under `dir` whose extension is `ext` (any when empty).
pub(crate) fn tree_size(dir: &Path, ext: &str) -> anyhow::Result<(u64, u64)> {
    let (mut bytes, mut files) = (0, 0);
    if !dir.exists() {
        return Ok((0, 0));
    }
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            let (b, f) = tree_size(&entry.path(), ext)?;
            bytes += b;
            files += f;
        } else if kind.is_file()
            && (ext.is_empty() || entry.path().extension().is_some_and(|e| e == ext))
        {
            bytes += entry.metadata()?.len();
            files += 1;
        }
    }
    Ok((bytes, files))
}

/// A fresh directory for one run, removed afterwards unless `--keep`.
pub(crate) struct WorkDir {
    pub(crate) path: PathBuf,
    pub(crate) keep: bool,
}

impl WorkDir {
    pub(crate) fn create(parent: Option<&Path>, keep: bool) -> anyhow::Result<WorkDir> {
        let parent = parent.map_or_else(std::env::temp_dir, Path::to_path_buf);
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let path = parent.join(format!("trailwatch-bench-{}-{stamp}", std::process::id()));
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(WorkDir { path, keep })
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// `perf record` attached to the server for the ingest phase.
pub(crate) struct Perf {
    child: std::process::Child,
}

impl Perf {
    pub(crate) fn start(pid: u32, output: &Path) -> anyhow::Result<Perf> {
        let child = std::process::Command::new("perf")
            .args(["record", "-F", "499", "--call-graph", "dwarf,16384", "-p"])
            .arg(pid.to_string())
            .arg("-o")
            .arg(output)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .spawn()
            .context("cannot start `perf record`")?;
        // Give perf a moment to attach before the clock starts.
        std::thread::sleep(Duration::from_millis(500));
        Ok(Perf { child })
    }

    pub(crate) fn stop(mut self) -> anyhow::Result<()> {
        // SAFETY: kill(2) on our own unreaped child.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGINT) };
        self.child.wait()?;
        Ok(())
    }
}
