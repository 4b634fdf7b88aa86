//! `bench archive`: the same Logs Insights queries on hot data (local segments) and on
//! the same events once archived (a local archive directory, one merged Parquet file per
//! hour), with the ratio archived/hot and a check that both return the same rows.
//!
//! The data: generated app JSON events spread over the hours (by default five days) that
//! end at the hour eight days ago (PutLogEvents takes up to 14 days back), so a policy of
//! seven days archives all. `--hours 1` puts everything in one hour: the pass's worst
//! case for memory, which the peak RSS of the pass shows.

use crate::client::{Body, Client};
use crate::datagen::{self, Kind};
use crate::ingest::{self, Output, WorkDir, progress, tree_size};
use crate::queries::{self, Cell, Col, Range};
use crate::query::{TwRun, median, run_insights};
use crate::report::{grid, mb, times};
use crate::server::Server;
use anyhow::{Context, bail};
use clap::Args;
use serde_json::json;
use std::time::{Duration, Instant};

/// The group `ingest::setup` creates and fills.
const GROUP: &str = "/bench/ingest";
const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// The queries timed on both tiers (a full scan with stats, a filter with a float
/// average, a sorted listing), with their result columns.
/// A query's name, its Insights text, and its result columns.
type Query = (&'static str, &'static str, &'static [(&'static str, Col)]);

const QUERIES: [Query; 4] = [
    ("count", "stats count(*) as n", &[("n", Col::Int)]),
    (
        "filter-stats-bin",
        "filter level = \"ERROR\" | stats count(*) as errors, avg(latency_ms) as avg_latency by bin(1h) as hour | sort hour",
        &[
            ("hour", Col::Time),
            ("errors", Col::Int),
            ("avg_latency", Col::Float),
        ],
    ),
    (
        "stats-by-field",
        "stats count(*) as n by level | sort level",
        &[("level", Col::Text), ("n", Col::Int)],
    ),
    (
        "latest-20",
        "fields @timestamp, @logStream, @message | sort @timestamp desc | limit 20",
        &[
            ("@timestamp", Col::Time),
            ("@logStream", Col::Text),
            ("@message", Col::Text),
        ],
    ),
];

/// A run's rows as cells of `columns`, for [`queries::compare`].
fn cells(run: &TwRun, columns: &[(&str, Col)]) -> Vec<Vec<Cell>> {
    run.rows
        .iter()
        .map(|row| {
            columns
                .iter()
                .map(|(name, col)| {
                    let value = row.iter().find(|(f, _)| f == name).map(|(_, v)| v.as_str());
                    queries::trailwatch_cell(value, *col)
                })
                .collect()
        })
        .collect()
}

/// Options of `bench archive`.
#[derive(Args, Debug)]
pub struct ArchiveArgs {
    #[command(flatten)]
    run: crate::server::RunArgs,
    /// Raw log text (message bytes): 5MB, 1GB, ...
    #[arg(long, default_value = "200MB", value_parser = crate::parse_size)]
    size: usize,
    /// Concurrent ingest clients.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// Timed runs of each query on each tier, after one warm-up run; the median is reported.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Seed of the data generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Hours the events are spread over (1 to 120).
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(i64).range(1..=120))]
    hours: i64,
    /// `table` or `json`.
    #[arg(long, value_enum, default_value = "table")]
    output: Output,
}

/// Runs the benchmark.
pub fn run(args: ArchiveArgs) -> anyhow::Result<bool> {
    if args.clients == 0 || args.repeat == 0 {
        bail!("--clients and --repeat must be at least 1");
    }
    let server_bin = args.run.server_bin()?;
    let mut work = WorkDir::create(args.run.work_dir.as_deref(), args.run.keep)?;
    let data_dir = work.path.join("data");
    let archive_dir = work.path.join("archive");
    let mut server_args = args.run.server_args.clone();
    server_args.extend([
        "--archive-location".to_string(),
        archive_dir.display().to_string(),
    ]);
    let now = chrono::Utc::now().timestamp_millis();
    progress(format_args!(
        "generating {} of app JSON",
        mb(args.size as f64)
    ));
    let data = datagen::generate_over(
        Kind::AppJson,
        args.size,
        1_000_000,
        args.seed,
        (now - 8 * DAY_MS).div_euclid(HOUR_MS) * HOUR_MS - 1,
        args.hours * HOUR_MS - 1,
        23 * HOUR_MS,
    );
    let server = Server::start(&server_bin, &data_dir, &server_args)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = Client::new(&server.addr, server.creds.clone())?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    runtime.block_on(ingest::setup(&client, args.clients))?;
    let bodies = ingest::build_bodies(&data, args.clients, threads);
    progress(format_args!("ingesting {} events", data.events.len()));
    runtime.block_on(ingest::send_all(&client, bodies, args.clients))?;
    let range = Range {
        start_s: (now - 14 * DAY_MS) / 1000,
        end_s: now / 1000,
    };
    let time_all = |tier: &str| -> anyhow::Result<Vec<(TwRun, Vec<f64>)>> {
        let mut out = Vec::new();
        for (name, text, _) in QUERIES {
            progress(format_args!("{tier}: {name}"));
            let warm = runtime.block_on(run_insights(&client, &server, &[GROUP], range, text))?;
            let mut walls = Vec::new();
            for _ in 0..args.repeat {
                let run =
                    runtime.block_on(run_insights(&client, &server, &[GROUP], range, text))?;
                walls.push(run.wall.as_secs_f64());
            }
            out.push((warm, walls));
        }
        Ok(out)
    };
    // The archive pass flushes first; flush the hot side the same way so both read files.
    let extension = |op: &str, body: serde_json::Value| {
        runtime.block_on(client.extension(op, &Body::new(body.to_string().into_bytes())))
    };
    extension(
        "PutLifecyclePolicy",
        json!({ "logGroupName": GROUP, "archiveAfterDays": 365 }),
    )?;
    extension("RunArchive", json!({ "logGroupName": GROUP }))?;
    let hot = time_all("hot")?;
    let (local_bytes, local_files) = tree_size(&data_dir.join("segments"), "parquet")?;
    extension(
        "PutLifecyclePolicy",
        json!({ "logGroupName": GROUP, "archiveAfterDays": 7 }),
    )?;
    server.reset_peak_rss()?;
    let rss_before = crate::server::proc_status_kb(server.pid(), "VmRSS").unwrap_or(0) * 1024;
    let started = Instant::now();
    let report = extension("RunArchive", json!({ "logGroupName": GROUP }))?;
    let archive_wall = started.elapsed();
    let archive_rss = server.peak_rss_now()?;
    let hours = report["archived"].as_array().map_or(0, |files| {
        files
            .iter()
            .filter_map(|f| f["hour"].as_i64())
            .collect::<std::collections::HashSet<_>>()
            .len()
    });
    let (archive_bytes, archive_files) = tree_size(&archive_dir, "parquet")?;
    let archived = time_all("archived")?;
    server.stop(Duration::from_secs(600))?;

    let mut same = true;
    let mut rows = Vec::new();
    let mut results = Vec::new();
    for (((name, _, columns), (hot_warm, hot_walls)), (arch_warm, arch_walls)) in
        QUERIES.iter().zip(&hot).zip(&archived)
    {
        // Averages are float sums, whose last digits follow the order rows are read in.
        let comparison = queries::compare(
            columns,
            &cells(hot_warm, columns),
            &cells(arch_warm, columns),
        );
        if let Some(m) = &comparison.mismatch {
            progress(format_args!("{name}: {m}"));
        }
        let equal = comparison.mismatch.is_none();
        same &= equal;
        let (h, a) = (median(hot_walls.clone()), median(arch_walls.clone()));
        rows.push(vec![
            name.to_string(),
            format!("{:.3}", h),
            format!("{:.3}", a),
            times(a / h),
            if equal { "same" } else { "DIFFERENT" }.to_string(),
        ]);
        results.push(json!({
            "query": name, "hot_s": h, "archived_s": a, "ratio": a / h, "same_rows": equal,
        }));
    }
    let events = data.events.len();
    match args.output {
        Output::Json => println!(
            "{}",
            json!({
                "events": events,
                "message_bytes": data.message_bytes,
                "local_segments": { "files": local_files, "bytes": local_bytes },
                "archive": { "files": archive_files, "bytes": archive_bytes, "hours": hours,
                             "pass_s": archive_wall.as_secs_f64(),
                             "pass_peak_rss_bytes": archive_rss,
                             "rss_before_pass_bytes": rss_before },
                "queries": results,
            })
        ),
        Output::Table => {
            println!(
                "{events} events, {} of text; hot: {local_files} segment files ({}); archived: {archive_files} files ({}) for {hours} hours, written in {:.2} s; server peak RSS during the pass {:.0} MiB ({:.0} MiB before it)",
                mb(data.message_bytes as f64),
                mb(local_bytes as f64),
                mb(archive_bytes as f64),
                archive_wall.as_secs_f64(),
                archive_rss as f64 / 1_048_576.0,
                rss_before as f64 / 1_048_576.0
            );
            print!(
                "{}",
                grid(
                    &["query", "hot s", "archived s", "archived/hot", "rows"],
                    &rows
                )
            );
            println!(
                "Median of {} runs after a warm-up, wall time of StartQuery to Complete.",
                args.repeat
            );
        }
    }
    if !same {
        work.keep = true;
        progress(format_args!("rows differ; kept {}", work.path.display()));
        return Err(anyhow::anyhow!("archived data answered differently")).context("bench archive");
    }
    Ok(true)
}
