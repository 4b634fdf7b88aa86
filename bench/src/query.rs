//! `bench query`: typical Logs Insights queries against the real server, each timed
//! beside DuckDB running the same SQL over the same events in Parquet files, with the
//! results of both compared.
//!
//! The data: the four generated kinds, a quarter of `--size` each, in four log groups,
//! spread over `--span-hours` (the server refuses events older than 14 days, so not a
//! whole month). Everything is flushed to segments before the first query.

use crate::client::{Body, Client};
use crate::datagen::{self, Dataset, Kind};
use crate::ingest::{self, Output, WorkDir, progress};
use crate::lake::{self, Duck, DuckQuery, DuckResult, LakeRow};
use crate::queries::{self, Cell, Comparison, Def, GROUPS, Range, Span};
use crate::report::{grid, mb, mib, times};
use crate::server::{self, Server};
use anyhow::{Context, bail};
use clap::Args;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The kinds, in the order of [`GROUPS`].
const KINDS: [Kind; 4] = [Kind::AppJson, Kind::Lambda, Kind::Vpc, Kind::Cloudtrail];
/// PutLogEvents refuses events older than this (the server's default).
const MAX_AGE_MS: i64 = 14 * 24 * 3_600_000;
/// A batch must span at most 24 hours; stay below.
const MAX_BATCH_SPAN_MS: i64 = 23 * 3_600_000;
/// The data ends this long before the run starts.
const END_MARGIN_MS: i64 = 10 * 60_000;
/// An hour query may cost this many times its share of the full range, beyond the
/// fixed cost of a query (measured on an empty hour).
const HOUR_COST_SLACK: f64 = 5.0;

/// Options of `bench query`.
#[derive(Args, Debug)]
pub struct QueryArgs {
    #[command(flatten)]
    run: crate::server::RunArgs,
    /// Raw log text (message bytes) in all, a quarter per kind: 200MB, 1GB, 5MiB, ...
    #[arg(long, default_value = "200MB", value_parser = crate::parse_size)]
    size: usize,
    /// How many hours the events span, ending ten minutes before the run (at most 14
    /// days less a margin: the server refuses older events).
    #[arg(long, default_value_t = 320.0)]
    span_hours: f64,
    /// Concurrent ingest clients; each writes its own stream in every group.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// PutLogEvents batch size, counting message bytes + 26 per event.
    #[arg(long, default_value_t = 1_000_000)]
    batch_bytes: usize,
    /// Timed runs of each query on each side, after one warm-up run (whose rows are
    /// compared); the median is reported.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Run only these queries (repeatable); see the README for the names.
    #[arg(long = "query")]
    only: Vec<String>,
    /// Seed of the data generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// `table` or `json`.
    #[arg(long, value_enum, default_value = "table")]
    output: Output,
    /// The Python that starts the DuckDB helper (which then runs in its own venv).
    #[arg(long, default_value = "python3")]
    python: String,
    /// The DuckDB helper script; by default `bench/duckdb_runner.py` of this checkout.
    #[arg(long)]
    duckdb_script: Option<PathBuf>,
    /// The helper's venv (default: $TRAILWATCH_BENCH_VENV, else <target dir>/bench-venv).
    #[arg(long)]
    duckdb_venv: Option<PathBuf>,
    /// DuckDB's `threads` (default: every core, as the server uses).
    #[arg(long)]
    duckdb_threads: Option<usize>,
    /// Record a `perf` profile (DWARF call graphs) of the server while it runs the
    /// queries (with `--query`, of one query alone).
    #[arg(long)]
    perf_record: Option<PathBuf>,
}

/// Runs the benchmark; `Ok(false)` when `--strict` and a target was missed.
pub fn run(args: QueryArgs) -> anyhow::Result<bool> {
    if args.clients == 0 || args.repeat == 0 {
        bail!("--clients and --repeat must be at least 1");
    }
    if !(1.0..=335.0).contains(&args.span_hours) {
        bail!(
            "--span-hours must be between 1 and 335 (the server refuses events older than 14 days)"
        );
    }
    let server_bin = args.run.server_bin()?;
    let defs: Vec<Def> = {
        let all = queries::all("NEEDLE");
        for name in &args.only {
            if !all.iter().any(|d| d.name == name) {
                bail!(
                    "no query named {name}; the queries are: {}",
                    all.iter().map(|d| d.name).collect::<Vec<_>>().join(", ")
                );
            }
        }
        all
    };
    drop(defs);
    let mut work = WorkDir::create(args.run.work_dir.as_deref(), args.run.keep)?;
    let result = measure(&args, &work, &server_bin);
    if result.is_err() && !work.keep {
        work.keep = true;
        progress(format_args!("kept {} for inspection", work.path.display()));
    }
    result
}

/// One group's generated events and, per batch, the client that sends it.
struct GroupData {
    data: Dataset,
    client_of_batch: Vec<usize>,
}

impl GroupData {
    /// Events in `[from, to]` (timestamps never decrease).
    fn count(&self, from: i64, to: i64) -> usize {
        let ts = |e: &datagen::Event| e.timestamp;
        let lo = self.data.events.partition_point(|e| ts(e) < from);
        let hi = self.data.events.partition_point(|e| ts(e) <= to);
        hi - lo
    }
}

fn stream_name(client: usize) -> String {
    format!("client-{client:03}")
}

/// What one Trailwatch run of a query measured.
pub(crate) struct TwRun {
    pub(crate) wall: Duration,
    server_cpu_s: f64,
    query_duration_ms: Option<f64>,
    records_scanned: f64,
    bytes_scanned: f64,
    pub(crate) rows: Vec<Vec<(String, String)>>,
}

/// Everything about one query.
struct Outcome {
    def: Def,
    range: Range,
    events_in_range: usize,
    trailwatch: Vec<TwRun>,
    warm: TwRun,
    duckdb: DuckResult,
    comparison: Comparison,
}

impl Outcome {
    fn tw_median(&self) -> f64 {
        median(
            self.trailwatch
                .iter()
                .map(|r| r.wall.as_secs_f64())
                .collect(),
        )
    }

    fn duck_median(&self) -> f64 {
        median(self.duckdb.wall_s.clone())
    }

    fn ratio(&self) -> f64 {
        self.tw_median() / self.duck_median()
    }

    fn pass(&self) -> Option<bool> {
        self.def.target.then(|| self.ratio() <= 1.0)
    }
}

pub(crate) fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn measure(args: &QueryArgs, work: &WorkDir, server_bin: &Path) -> anyhow::Result<bool> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let now = chrono::Utc::now().timestamp_millis();
    let end_ms = now - END_MARGIN_MS;
    let span_ms = (args.span_hours * 3_600_000.0) as i64;

    // 1. Data: each kind on its own over the whole span, generated in parallel.
    progress(format_args!(
        "generating {} of logs over {:.0} hours (4 kinds, seed {})",
        mb(args.size as f64),
        args.span_hours,
        args.seed
    ));
    let started = Instant::now();
    let per_kind = (args.size / 4).max(1);
    let datasets: Vec<Dataset> = std::thread::scope(|scope| {
        let handles: Vec<_> = KINDS
            .iter()
            .enumerate()
            .map(|(i, kind)| {
                scope.spawn(move || {
                    datagen::generate_over(
                        *kind,
                        per_kind,
                        args.batch_bytes,
                        args.seed.wrapping_add(i as u64 * 1000),
                        end_ms,
                        span_ms,
                        MAX_BATCH_SPAN_MS,
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("generator panicked"))
            .collect()
    });
    let first_ts = datasets
        .iter()
        .filter_map(|d| d.events.first())
        .map(|e| e.timestamp)
        .min()
        .context("no events generated")?;
    let last_ts = datasets
        .iter()
        .filter_map(|d| d.events.last())
        .map(|e| e.timestamp)
        .max()
        .context("no events generated")?;
    if first_ts < now - MAX_AGE_MS + 30 * 60_000 || last_ts > now + 3_600_000 {
        bail!(
            "the generated events span {} to {}, too close to the server's 14-day / 2-hour limits; use a smaller --span-hours",
            fmt_time(first_ts),
            fmt_time(last_ts)
        );
    }
    // The order batches are sent in: by their first event, so the server sees time
    // advance as a live system would; position k goes to client k mod N.
    let mut schedule: Vec<(usize, usize)> = datasets
        .iter()
        .enumerate()
        .flat_map(|(g, d)| (0..d.batches.len()).map(move |b| (g, b)))
        .collect();
    schedule.sort_by_key(|&(g, b)| {
        (
            datasets[g].events[datasets[g].batches[b].events.start].timestamp,
            g,
        )
    });
    let mut client_of_batch: Vec<Vec<usize>> =
        datasets.iter().map(|d| vec![0; d.batches.len()]).collect();
    for (pos, &(g, b)) in schedule.iter().enumerate() {
        client_of_batch[g][b] = pos % args.clients;
    }
    let groups: Vec<GroupData> = datasets
        .into_iter()
        .zip(client_of_batch)
        .map(|(data, client_of_batch)| GroupData {
            data,
            client_of_batch,
        })
        .collect();
    let total_events: usize = groups.iter().map(|g| g.data.events.len()).sum();
    let raw_bytes: usize = groups.iter().map(|g| g.data.message_bytes).sum();
    progress(format_args!(
        "generated {total_events} events ({}) from {} to {} in {:.1} s",
        mb(raw_bytes as f64),
        fmt_time(first_ts),
        fmt_time(last_ts),
        started.elapsed().as_secs_f64()
    ));

    // 2. The baseline's copy: one Parquet file per group.
    let lake_dir = work.path.join("parquet");
    std::fs::create_dir_all(&lake_dir)?;
    let started = Instant::now();
    let parquet_files: Vec<(PathBuf, u64)> = std::thread::scope(|scope| {
        let handles: Vec<_> = groups
            .iter()
            .zip(GROUPS.iter())
            .map(|(g, def)| {
                let path = lake_dir.join(format!("{}.parquet", def.view));
                scope.spawn(move || {
                    let names: Vec<String> = (0..args.clients).map(stream_name).collect();
                    let rows = g.data.batches.iter().enumerate().flat_map(|(b, batch)| {
                        let stream = names[g.client_of_batch[b]].as_str();
                        g.data.events[batch.events.clone()]
                            .iter()
                            .map(move |e| LakeRow {
                                timestamp: e.timestamp,
                                stream,
                                message: g.data.message(e),
                            })
                    });
                    lake::write_parquet(&path, rows).map(|bytes| (path, bytes))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("parquet writer panicked"))
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    progress(format_args!(
        "wrote {} of Parquet for DuckDB in {:.1} s",
        mb(parquet_files.iter().map(|p| p.1).sum::<u64>() as f64),
        started.elapsed().as_secs_f64()
    ));

    // 3. The server: ingest everything, then wait until it is all in segments.
    let bodies = build_bodies(&groups, &schedule, args.clients);
    let data_dir = work.path.join("data");
    let mut server_args = args.run.server_args.clone();
    if !server_args.iter().any(|a| a.contains("flush-interval")) {
        server_args.push("--flush-interval-secs=5".into());
    }
    let server = Server::start(server_bin, &data_dir, &server_args)?;
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
    progress(format_args!(
        "ingesting {} batches with {} clients",
        bodies.len(),
        args.clients
    ));
    let ingest = runtime.block_on(ingest::send_all(&client, bodies, args.clients))?;
    progress(format_args!(
        "ingested in {:.1} s ({:.1} MB/s); waiting for every event to be in a segment, compacted",
        ingest.wall.as_secs_f64(),
        raw_bytes as f64 / 1e6 / ingest.wall.as_secs_f64()
    ));
    let started = Instant::now();
    // Every event in a segment, and compaction done: the file count held still for 3 s.
    let mut settled: Option<(u64, Instant)> = None;
    let (segments, segment_rows) = loop {
        if let Some((files, rows)) = catalog_segments(&data_dir.join("catalog.sqlite"))
            && rows >= total_events as u64
        {
            match settled {
                Some((count, since)) if count == files => {
                    if since.elapsed() >= Duration::from_secs(3) {
                        break (files, rows);
                    }
                }
                _ => settled = Some((files, Instant::now())),
            }
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("the server had not flushed and compacted every event after 600 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let flush_wait = started.elapsed();
    let (segment_bytes, _) = ingest::tree_size(&data_dir.join("segments"), "parquet")?;
    progress(format_args!(
        "{segment_rows} events in {segments} segments ({}) after {:.1} s",
        mb(segment_bytes as f64),
        flush_wait.as_secs_f64()
    ));

    // 4. The queries.
    let needle = pick_needle(&groups[0].data)?;
    let defs: Vec<Def> = queries::all(&needle)
        .into_iter()
        .filter(|d| args.only.is_empty() || args.only.iter().any(|n| n == d.name))
        .collect();
    let full = Range {
        start_s: first_ts.div_euclid(1000),
        end_s: last_ts.div_euclid(1000),
    };
    let mid_hour = ((first_ts + last_ts) / 2).div_euclid(3_600_000) * 3_600;
    let hour = Range {
        start_s: mid_hour,
        end_s: mid_hour + 3_599,
    };
    let empty_hour = (first_ts.div_euclid(3_600_000) - 48) * 3_600;
    let empty = Range {
        start_s: empty_hour,
        end_s: empty_hour + 3_599,
    };
    let range_of = |span: Span| match span {
        Span::Full => full,
        Span::Hour => hour,
        Span::Empty => empty,
    };
    let mut tw_results = Vec::new();
    let perf = match &args.perf_record {
        Some(path) => Some(ingest::Perf::start(server.pid(), path)?),
        None => None,
    };
    let server_cpu_before = server.cpu_seconds()?;
    let self_cpu_before = server::self_cpu_seconds();
    let machine_before = server::machine_busy_seconds();
    let tw_started = Instant::now();
    for def in &defs {
        let range = range_of(def.span);
        let names: Vec<&str> = def.groups.iter().map(|&g| GROUPS[g].name).collect();
        progress(format_args!(
            "trailwatch: {} ({})",
            def.name,
            def.span.label()
        ));
        let mut runs = Vec::new();
        for _ in 0..=args.repeat {
            runs.push(runtime.block_on(run_insights(
                &client,
                &server,
                &names,
                range,
                &def.insights,
            ))?);
        }
        let warm = runs.remove(0);
        progress(format_args!(
            "trailwatch: {}: {:.3} s median of {}, {} rows, {} records scanned",
            def.name,
            median(runs.iter().map(|r| r.wall.as_secs_f64()).collect()),
            runs.len(),
            warm.rows.len(),
            warm.records_scanned
        ));
        tw_results.push((warm, runs));
    }
    let server_cpu_queries = server.cpu_seconds()? - server_cpu_before;
    let tw_noise = Noise::measure(
        tw_started.elapsed(),
        server::machine_busy_seconds() - machine_before,
        server_cpu_queries + server::self_cpu_seconds() - self_cpu_before,
        cores,
    );
    if let Some(perf) = perf {
        perf.stop()?;
    }
    let rss_queries = server.peak_rss_now()?;
    let log_path = server.log_path.clone();
    server.stop(Duration::from_secs(600))?;

    // 5. DuckDB, with the server stopped.
    let duck = Duck {
        python: args.python.clone(),
        script: args
            .duckdb_script
            .clone()
            .unwrap_or_else(lake::default_script),
        venv: args.duckdb_venv.clone(),
        threads: args.duckdb_threads,
    };
    let mut setup_sql: Vec<String> = GROUPS
        .iter()
        .zip(&parquet_files)
        .map(|(g, (path, _))| {
            format!(
                "CREATE VIEW {} AS SELECT * FROM read_parquet('{}')",
                g.view,
                path.display()
            )
        })
        .collect();
    setup_sql.push(format!(
        "CREATE VIEW {} AS SELECT * FROM read_parquet([{}])",
        queries::ALL_VIEW,
        parquet_files
            .iter()
            .map(|(p, _)| format!("'{}'", p.display()))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let duck_queries: Vec<DuckQuery> = defs
        .iter()
        .map(|d| DuckQuery {
            name: d.name.to_string(),
            sql: d.sql.replace("{range}", &range_of(d.span).sql()),
        })
        .collect();
    progress(format_args!(
        "duckdb: running {} queries",
        duck_queries.len()
    ));
    let machine_before = server::machine_busy_seconds();
    let children_before = children_cpu_seconds();
    let duck_started = Instant::now();
    let duck_run = duck.run(&work.path, &setup_sql, &duck_queries, args.repeat)?;
    let duck_noise = Noise::measure(
        duck_started.elapsed(),
        server::machine_busy_seconds() - machine_before,
        children_cpu_seconds() - children_before,
        cores,
    );
    for (side, noise) in [("Trailwatch", &tw_noise), ("DuckDB", &duck_noise)] {
        if noise.noisy() {
            progress(format_args!(
                "warning: other processes used {:.0}% of the machine while {side} ran; its times are noisy",
                100.0 * noise.share
            ));
        }
    }

    // 6. Compare and report.
    let mut outcomes = Vec::new();
    for (def, (warm, runs)) in defs.into_iter().zip(tw_results) {
        let duckdb = duck_run
            .results
            .iter()
            .find(|(n, _)| n == def.name)
            .map(|(_, r)| r.clone())
            .with_context(|| format!("DuckDB returned nothing for {}", def.name))?;
        let tw_cells: Vec<Vec<Cell>> = warm
            .rows
            .iter()
            .map(|row| {
                def.columns
                    .iter()
                    .map(|(name, col)| {
                        let value = row.iter().find(|(f, _)| f == name).map(|(_, v)| v.as_str());
                        queries::trailwatch_cell(value, *col)
                    })
                    .collect()
            })
            .collect();
        let duck_cells: Vec<Vec<Cell>> = duckdb
            .rows
            .iter()
            .map(|row| {
                def.columns
                    .iter()
                    .enumerate()
                    .map(|(j, (_, col))| {
                        queries::duckdb_cell(row.get(j).unwrap_or(&Value::Null), *col)
                    })
                    .collect()
            })
            .collect();
        let comparison = queries::compare(&def.columns, &tw_cells, &duck_cells);
        if let Some(m) = &comparison.mismatch {
            eprintln!(
                "bench: RESULTS DIFFER for {}: {m}\n  insights: {}\n  sql: {}",
                def.name,
                def.insights,
                def.sql.replace("{range}", &range_of(def.span).sql())
            );
        }
        let range = range_of(def.span);
        let events_in_range = def
            .groups
            .iter()
            .map(|&g| groups[g].count(range.first_ms(), range.last_ms()))
            .sum();
        outcomes.push(Outcome {
            def,
            range,
            events_in_range,
            trailwatch: runs,
            warm,
            duckdb,
            comparison,
        });
    }
    let find = |name: &str| outcomes.iter().find(|o| o.def.name == name);
    let hour_cost = match (
        find("filter-stats-bin"),
        find("filter-stats-bin-1h"),
        find("filter-stats-bin-empty"),
    ) {
        (Some(f), Some(h), Some(e)) => Some(HourCost::new(f, h, e)),
        _ => None,
    };
    let mismatches = outcomes
        .iter()
        .filter(|o| o.comparison.mismatch.is_some())
        .count();
    let speed_pass = outcomes.iter().all(|o| o.pass() != Some(false));
    let hour_pass = hour_cost.as_ref().is_none_or(|h| h.pass());
    let all_pass = speed_pass && hour_pass && mismatches == 0;

    let context = Facts {
        args,
        cores,
        total_events,
        raw_bytes,
        first_ts,
        last_ts,
        groups: &groups,
        parquet_files: &parquet_files,
        ingest_s: ingest.wall.as_secs_f64(),
        flush_wait_s: flush_wait.as_secs_f64(),
        segments,
        segment_bytes,
        server_cpu_queries,
        rss_queries,
        tw_noise,
        duck_noise,
        duck_version: &duck_run.version,
        duck_threads: &duck_run.threads,
    };
    match args.output {
        Output::Json => println!(
            "{}",
            json_report(&context, &outcomes, hour_cost.as_ref(), all_pass)
        ),
        Output::Table => print_table(&context, &outcomes, hour_cost.as_ref(), all_pass),
    }
    if args.run.keep {
        progress(format_args!(
            "kept {} (server log {})",
            work.path.display(),
            log_path.display()
        ));
    }
    if mismatches > 0 {
        bail!(
            "{mismatches} queries returned different results on Trailwatch and DuckDB (see above)"
        );
    }
    Ok(all_pass || !args.run.strict)
}

/// "A one-hour range costs about one hour of data": the same query over the full range,
/// one hour of it, and an empty hour (the fixed cost of any query).
struct HourCost {
    share: f64,
    tw_full: f64,
    tw_hour: f64,
    tw_empty: f64,
    tw_cpu_full: f64,
    tw_cpu_hour: f64,
    duck_full: f64,
    duck_hour: f64,
    records_hour: f64,
    events_hour: usize,
}

impl HourCost {
    fn new(full: &Outcome, hour: &Outcome, empty: &Outcome) -> HourCost {
        let cpu = |o: &Outcome| median(o.trailwatch.iter().map(|r| r.server_cpu_s).collect());
        HourCost {
            share: hour.events_in_range as f64 / full.events_in_range.max(1) as f64,
            tw_full: full.tw_median(),
            tw_hour: hour.tw_median(),
            tw_empty: empty.tw_median(),
            tw_cpu_full: cpu(full),
            tw_cpu_hour: cpu(hour),
            duck_full: full.duck_median(),
            duck_hour: hour.duck_median(),
            records_hour: hour.warm.records_scanned,
            events_hour: hour.events_in_range,
        }
    }

    /// What the hour may cost: the fixed cost plus a few times its share of the full
    /// query's time.
    fn budget(&self) -> f64 {
        self.tw_empty + HOUR_COST_SLACK * self.share * self.tw_full
    }

    fn pass(&self) -> bool {
        self.tw_hour <= self.budget()
    }
}

struct Facts<'a> {
    args: &'a QueryArgs,
    cores: usize,
    total_events: usize,
    raw_bytes: usize,
    first_ts: i64,
    last_ts: i64,
    groups: &'a [GroupData],
    parquet_files: &'a [(PathBuf, u64)],
    ingest_s: f64,
    flush_wait_s: f64,
    segments: u64,
    segment_bytes: u64,
    server_cpu_queries: f64,
    rss_queries: u64,
    tw_noise: Noise,
    duck_noise: Noise,
    duck_version: &'a str,
    duck_threads: &'a str,
}

fn fmt_time(ms: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M:%SZ")
        .to_string()
}

fn secs(s: f64) -> String {
    if s < 0.1 {
        format!("{:.1} ms", s * 1000.0)
    } else {
        format!("{s:.3} s")
    }
}

fn print_table(c: &Facts<'_>, outcomes: &[Outcome], hour: Option<&HourCost>, all_pass: bool) {
    println!(
        "Trailwatch query benchmark — {} of raw logs, {} events in 4 log groups, {:.1} days ({} to {}), {} cores",
        mb(c.raw_bytes as f64),
        c.total_events,
        (c.last_ts - c.first_ts) as f64 / 86_400_000.0,
        fmt_time(c.first_ts),
        fmt_time(c.last_ts),
        c.cores
    );
    let mut rows = Vec::new();
    for o in outcomes {
        rows.push(vec![
            o.def.name.to_string(),
            o.def.span.label().to_string(),
            secs(o.tw_median()),
            secs(o.duck_median()),
            times(o.ratio()),
            if o.def.target { "≤ 1.00×" } else { "" }.to_string(),
            match o.pass() {
                Some(true) => "PASS",
                Some(false) => "FAIL",
                None => "",
            }
            .to_string(),
            format!("{:.0}", o.warm.records_scanned),
            o.events_in_range.to_string(),
            format!(
                "{}/{}",
                o.comparison.trailwatch_rows, o.comparison.duckdb_rows
            ),
            if o.comparison.mismatch.is_some() {
                "MISMATCH"
            } else {
                "same"
            }
            .to_string(),
        ]);
    }
    print!(
        "{}",
        grid(
            &[
                "query",
                "range",
                "trailwatch",
                "duckdb",
                "ratio",
                "target",
                "pass",
                "records scanned",
                "events in range",
                "rows tw/duckdb",
                "results",
            ],
            &rows
        )
    );
    if let Some(h) = hour {
        println!(
            "One-hour range vs full range (filter-stats-bin): the hour holds {:.2}% of the events; \
             Trailwatch {} vs {} = {:.2}% of the time ({:.2}% of the server CPU), fixed cost of a query {} (empty hour); \
             DuckDB {} vs {} = {:.2}%. Records scanned in the hour: {:.0} of its {} events. \
             Target: hour ≤ fixed cost + {HOUR_COST_SLACK:.0} × its share of the full time = {}: {}",
            100.0 * h.share,
            secs(h.tw_hour),
            secs(h.tw_full),
            100.0 * h.tw_hour / h.tw_full,
            100.0 * h.tw_cpu_hour / h.tw_cpu_full.max(1e-9),
            secs(h.tw_empty),
            secs(h.duck_hour),
            secs(h.duck_full),
            100.0 * h.duck_hour / h.duck_full,
            h.records_hour,
            h.events_hour,
            secs(h.budget()),
            if h.pass() { "PASS" } else { "FAIL" }
        );
    }
    let mut detail = Vec::new();
    for o in outcomes {
        let runs = &o.trailwatch;
        detail.push(vec![
            o.def.name.to_string(),
            format!(
                "{} – {}",
                secs(
                    runs.iter()
                        .map(|r| r.wall.as_secs_f64())
                        .fold(f64::INFINITY, f64::min)
                ),
                secs(
                    runs.iter()
                        .map(|r| r.wall.as_secs_f64())
                        .fold(0.0, f64::max)
                )
            ),
            median(runs.iter().filter_map(|r| r.query_duration_ms).collect())
                .to_string()
                .replace("NaN", "-")
                + " ms",
            format!(
                "{:.2} s",
                median(runs.iter().map(|r| r.server_cpu_s).collect())
            ),
            mb(o.warm.bytes_scanned),
            format!(
                "{} – {}",
                secs(
                    o.duckdb
                        .wall_s
                        .iter()
                        .copied()
                        .fold(f64::INFINITY, f64::min)
                ),
                secs(o.duckdb.wall_s.iter().copied().fold(0.0, f64::max))
            ),
            format!("{:.2} s", median(o.duckdb.cpu_s.clone())),
        ]);
    }
    println!();
    print!(
        "{}",
        grid(
            &[
                "query",
                "trailwatch min – max",
                "server queryDuration",
                "server CPU",
                "bytes scanned",
                "duckdb min – max",
                "duckdb CPU",
            ],
            &detail
        )
    );
    println!();
    let mut groups = Vec::new();
    for (i, g) in c.groups.iter().enumerate() {
        groups.push(vec![
            GROUPS[i].name.to_string(),
            KINDS[i].name().to_string(),
            g.data.events.len().to_string(),
            mb(g.data.message_bytes as f64),
            mb(c.parquet_files[i].1 as f64),
        ]);
    }
    print!(
        "{}",
        grid(
            &["log group", "kind", "events", "raw", "duckdb parquet"],
            &groups
        )
    );
    println!(
        "Server: ingest {:.1} s, flush wait {:.1} s, {} segments ({}); {:.1} CPU-s over all query runs; peak RSS {}.",
        c.ingest_s,
        c.flush_wait_s,
        c.segments,
        mb(c.segment_bytes as f64),
        c.server_cpu_queries,
        mib(c.rss_queries as f64)
    );
    println!(
        "Other processes' CPU (noise: builds, tests) while each side ran: Trailwatch {:.0}%, DuckDB {:.0}% of the machine{}.",
        100.0 * c.tw_noise.share,
        100.0 * c.duck_noise.share,
        if c.tw_noise.noisy() || c.duck_noise.noisy() {
            " — above 10%: rerun on a quiet machine before trusting the ratios"
        } else {
            ""
        }
    );
    println!(
        "Times: medians of {} runs after a warm-up, end to end (Trailwatch: StartQuery, then GetQueryResults until Complete; \
         DuckDB {} with {} threads: execute + fetchall in one Python process). Ratio = Trailwatch ÷ DuckDB.",
        c.args.repeat, c.duck_version, c.duck_threads
    );
    println!("Queries (Logs Insights; the SQL is in --output json and the README):");
    for o in outcomes {
        println!("  {:<24} {}", o.def.name, o.def.insights);
    }
    println!(
        "Overall: {}",
        if all_pass { "PASS" } else { "FAIL (see rows)" }
    );
}

fn json_report(
    c: &Facts<'_>,
    outcomes: &[Outcome],
    hour: Option<&HourCost>,
    all_pass: bool,
) -> Value {
    let queries: Vec<Value> = outcomes
        .iter()
        .map(|o| {
            json!({
                "name": o.def.name,
                "what": o.def.what,
                "groups": o.def.groups.iter().map(|&g| GROUPS[g].name).collect::<Vec<_>>(),
                "range": {"span": o.def.span.label(), "start_s": o.range.start_s, "end_s": o.range.end_s},
                "insights": o.def.insights,
                "sql": o.def.sql.replace("{range}", &o.range.sql()),
                "events_in_range": o.events_in_range,
                "trailwatch": {
                    "wall_s": o.trailwatch.iter().map(|r| r.wall.as_secs_f64()).collect::<Vec<_>>(),
                    "median_s": o.tw_median(),
                    "server_cpu_s": o.trailwatch.iter().map(|r| r.server_cpu_s).collect::<Vec<_>>(),
                    "query_duration_ms": o.trailwatch.iter().map(|r| r.query_duration_ms).collect::<Vec<_>>(),
                    "records_scanned": o.warm.records_scanned,
                    "bytes_scanned": o.warm.bytes_scanned,
                    "rows": o.comparison.trailwatch_rows,
                },
                "duckdb": {
                    "wall_s": o.duckdb.wall_s,
                    "median_s": o.duck_median(),
                    "cpu_s": o.duckdb.cpu_s,
                    "rows": o.comparison.duckdb_rows,
                    "columns": o.duckdb.columns,
                },
                "ratio": o.ratio(),
                "target": o.def.target.then_some("<= 1.0"),
                "pass": o.pass(),
                "results_match": o.comparison.mismatch.is_none(),
                "mismatch": o.comparison.mismatch,
            })
        })
        .collect();
    json!({
        "benchmark": "query",
        "seed": c.args.seed,
        "cores": c.cores,
        "raw_bytes": c.raw_bytes,
        "events": c.total_events,
        "first_event": fmt_time(c.first_ts),
        "last_event": fmt_time(c.last_ts),
        "span_hours": (c.last_ts - c.first_ts) as f64 / 3_600_000.0,
        "repeat": c.args.repeat,
        "groups": c.groups.iter().enumerate().map(|(i, g)| json!({
            "name": GROUPS[i].name,
            "kind": KINDS[i].name(),
            "events": g.data.events.len(),
            "raw_bytes": g.data.message_bytes,
            "duckdb_parquet_bytes": c.parquet_files[i].1,
        })).collect::<Vec<_>>(),
        "server": {
            "ingest_s": c.ingest_s,
            "flush_wait_s": c.flush_wait_s,
            "segments": c.segments,
            "segment_bytes": c.segment_bytes,
            "cpu_s_all_query_runs": c.server_cpu_queries,
            "other_processes_cpu_share": c.tw_noise.share,
            "peak_rss_bytes": c.rss_queries,
        },
        "duckdb": {
            "version": c.duck_version,
            "threads": c.duck_threads,
            "other_processes_cpu_share": c.duck_noise.share,
        },
        "queries": queries,
        "hour_vs_full": hour.map(|h| json!({
            "events_share": h.share,
            "trailwatch_full_s": h.tw_full,
            "trailwatch_hour_s": h.tw_hour,
            "trailwatch_empty_hour_s": h.tw_empty,
            "trailwatch_time_share": h.tw_hour / h.tw_full,
            "trailwatch_cpu_share": h.tw_cpu_hour / h.tw_cpu_full.max(1e-9),
            "duckdb_full_s": h.duck_full,
            "duckdb_hour_s": h.duck_hour,
            "duckdb_time_share": h.duck_hour / h.duck_full,
            "budget_s": h.budget(),
            "records_scanned_hour": h.records_hour,
            "events_hour": h.events_hour,
            "pass": h.pass(),
        })),
        "pass": all_pass,
    })
}

/// A request id from the middle of the app logs: it occurs in exactly one event.
fn pick_needle(app: &Dataset) -> anyhow::Result<String> {
    let n = app.events.len();
    for e in app.events.iter().skip(n * 37 / 100) {
        let m = app.message(e);
        if let Some(rest) = m.split("\"request_id\":\"").nth(1)
            && let Some(id) = rest.split('"').next()
        {
            return Ok(id.to_string());
        }
    }
    bail!("no request id in the app logs")
}

/// The PutLogEvents bodies in schedule order, built before the clock starts.
fn build_bodies(groups: &[GroupData], schedule: &[(usize, usize)], clients: usize) -> Vec<Body> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = schedule.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = schedule
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                scope.spawn(move || {
                    part.iter()
                        .enumerate()
                        .map(|(i, &(g, b))| {
                            let pos = c * chunk + i;
                            ingest::put_body(
                                GROUPS[g].name,
                                &stream_name(pos % clients),
                                &groups[g].data,
                                b,
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("body builder panicked"))
            .collect()
    })
}

async fn setup(client: &Client, clients: usize) -> anyhow::Result<()> {
    for g in &GROUPS {
        client
            .call_json("CreateLogGroup", &json!({ "logGroupName": g.name }))
            .await?;
        for c in 0..clients {
            client
                .call_json(
                    "CreateLogStream",
                    &json!({ "logGroupName": g.name, "logStreamName": stream_name(c) }),
                )
                .await?;
        }
    }
    Ok(())
}

/// One query end to end: StartQuery, then GetQueryResults until it is complete.
pub(crate) async fn run_insights(
    client: &Client,
    server: &Server,
    groups: &[&str],
    range: Range,
    text: &str,
) -> anyhow::Result<TwRun> {
    let cpu_before = server.cpu_seconds()?;
    let started = Instant::now();
    let response = client
        .call_json(
            "StartQuery",
            &json!({
                "logGroupNames": groups,
                "startTime": range.start_s,
                "endTime": range.end_s,
                "queryString": text,
                "limit": 10_000,
            }),
        )
        .await?;
    let id = response["queryId"]
        .as_str()
        .context("StartQuery returned no queryId")?
        .to_string();
    // Polls every millisecond for the first 100 ms, then less and less often, down to
    // every 10 ms: short queries are timed to about a millisecond, and long ones are not
    // slowed by a flood of requests.
    let mut delay = Duration::from_millis(1);
    let result = loop {
        let r = client
            .call_json("GetQueryResults", &json!({ "queryId": id }))
            .await?;
        match r["status"].as_str() {
            Some("Complete") => break r,
            Some("Scheduled" | "Running") => {
                tokio::time::sleep(delay).await;
                if started.elapsed() > Duration::from_millis(100) {
                    delay = (delay * 2).min(Duration::from_millis(10));
                }
            }
            other => bail!("query {id} ended {other:?}: {text}"),
        }
    };
    let wall = started.elapsed();
    let server_cpu_s = server.cpu_seconds()? - cpu_before;
    if result.get("nextToken").is_some() {
        bail!("more than one page of results for {text}");
    }
    let rows = result["results"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|row| {
                    row.as_array()
                        .map(|cells| {
                            cells
                                .iter()
                                .map(|c| {
                                    (
                                        c["field"].as_str().unwrap_or_default().to_string(),
                                        c["value"].as_str().unwrap_or_default().to_string(),
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default();
    let described = client
        .call_json("DescribeQueries", &json!({ "maxResults": 50 }))
        .await?;
    let query_duration_ms = described["queries"].as_array().and_then(|qs| {
        qs.iter()
            .find(|q| q["queryId"].as_str() == Some(id.as_str()))
            .and_then(|q| q["queryDuration"].as_f64())
    });
    let stats = &result["statistics"];
    Ok(TwRun {
        wall,
        server_cpu_s,
        query_duration_ms,
        records_scanned: stats["recordsScanned"].as_f64().unwrap_or(0.0),
        bytes_scanned: stats["bytesScanned"].as_f64().unwrap_or(0.0),
        rows,
    })
}

/// CPU used by other processes while one side ran: the machine's busy time less that
/// of the side's own processes, as a share of the machine.
struct Noise {
    share: f64,
}

impl Noise {
    fn measure(wall: Duration, machine_busy: f64, own: f64, cores: usize) -> Noise {
        let capacity = wall.as_secs_f64() * cores as f64;
        Noise {
            share: ((machine_busy - own) / capacity.max(1e-9)).max(0.0),
        }
    }

    fn noisy(&self) -> bool {
        self.share > 0.1
    }
}

/// User + system CPU seconds of this process's finished (waited-for) children.
fn children_cpu_seconds() -> f64 {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) } != 0 {
        return 0.0;
    }
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// Segment files and rows the catalog lists (read-only; `None` while it cannot be read).
fn catalog_segments(path: &Path) -> Option<(u64, u64)> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .ok()?;
    conn.query_row(
        "SELECT count(*), coalesce(sum(rows), 0) FROM segments",
        [],
        |row| Ok((row.get::<_, i64>(0)? as u64, row.get::<_, i64>(1)? as u64)),
    )
    .ok()
}
