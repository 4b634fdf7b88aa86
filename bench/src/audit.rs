//! `bench audit`: what CloudTrail recording costs, and how fast `validate-logs` checks a
//! trail.
//!
//! - Recording: `bench ingest` twice on the same data, with recording on and with
//!   `--no-audit`; MB/s, MB/s per core and MB per server CPU second of both, and their
//!   ratio (every PutLogEvents call is one durable record when recording is on).
//! - validate-logs: a trail with log file validation delivering every second, with digests
//!   every second, while concurrent clients make management calls; then the server stops
//!   and `trailwatch validate-logs` checks the bucket offline with the signing key. Its
//!   throughput is the delivered bytes (log files and digests, as stored) over its wall
//!   time.

use crate::client::Client;
use crate::ingest::{Output, WorkDir, progress};
use crate::report::{grid, mb};
use crate::server::Server;
use anyhow::{Context, bail};
use base64::Engine;
use clap::Args;
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TRAIL: &str = "bench";
const BUCKET: &str = "bench-trail";

/// Options of `bench audit`.
#[derive(Args, Debug)]
pub struct AuditArgs {
    #[command(flatten)]
    run: crate::server::RunArgs,
    /// Raw log text each ingest run sends (with and without recording).
    #[arg(long, default_value = "200MB", value_parser = crate::parse_size)]
    size: usize,
    /// How long the trail records calls before validate-logs checks it, in seconds.
    #[arg(long, default_value_t = 60)]
    trail_secs: u64,
    /// Concurrent clients making management calls for the trail.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// `table` or `json`.
    #[arg(long, value_enum, default_value = "table")]
    output: Output,
}

/// What one `bench ingest` run reported.
struct Ingest {
    mb_per_s: f64,
    mb_per_s_per_core: f64,
    mb_per_cpu_s: f64,
}

/// What the validate-logs run measured.
struct Validation {
    calls: usize,
    log_files: usize,
    digests: usize,
    bytes: u64,
    wall: Duration,
}

/// Runs both measurements and prints them.
pub fn run(args: AuditArgs) -> anyhow::Result<bool> {
    let bin = args.run.server_bin()?;
    let on = ingest(&args, &bin, false)?;
    let off = ingest(&args, &bin, true)?;
    let mut work = WorkDir::create(args.run.work_dir.as_deref(), args.run.keep)?;
    let validation = match validate(&args, &work.path, &bin) {
        Ok(v) => v,
        Err(e) => {
            work.keep = true;
            progress(format_args!("kept {} for inspection", work.path.display()));
            return Err(e);
        }
    };
    let mbps = validation.bytes as f64 / 1e6 / validation.wall.as_secs_f64();
    match args.output {
        Output::Json => println!(
            "{}",
            json!({
                "benchmark": "audit",
                "raw_bytes": args.size,
                "ingest_recording_on": {"mb_per_s": on.mb_per_s, "mb_per_s_per_core": on.mb_per_s_per_core, "mb_per_server_cpu_s": on.mb_per_cpu_s},
                "ingest_recording_off": {"mb_per_s": off.mb_per_s, "mb_per_s_per_core": off.mb_per_s_per_core, "mb_per_server_cpu_s": off.mb_per_cpu_s},
                "recording_on_over_off": on.mb_per_s / off.mb_per_s,
                "validate_logs": {
                    "calls_recorded": validation.calls,
                    "log_files": validation.log_files,
                    "digests": validation.digests,
                    "delivered_bytes": validation.bytes,
                    "wall_s": validation.wall.as_secs_f64(),
                    "mb_per_s": mbps,
                },
            })
        ),
        Output::Table => {
            let row = |name: &str, i: &Ingest| {
                vec![
                    name.to_string(),
                    format!("{:.1}", i.mb_per_s),
                    format!("{:.1}", i.mb_per_s_per_core),
                    format!("{:.1}", i.mb_per_cpu_s),
                ]
            };
            println!(
                "Ingest of {} with CloudTrail recording on and off\n{}",
                mb(args.size as f64),
                grid(
                    &["recording", "MB/s", "MB/s/core", "MB/server CPU s"],
                    &[row("on", &on), row("off (--no-audit)", &off)],
                )
            );
            println!(
                "on / off: {:.2} of the throughput, {:.2} of the MB per server CPU second\n",
                on.mb_per_s / off.mb_per_s,
                on.mb_per_cpu_s / off.mb_per_cpu_s
            );
            println!(
                "validate-logs (offline) over a trail of {} recorded calls\n{}",
                validation.calls,
                grid(
                    &["log files", "digests", "delivered", "seconds", "MB/s"],
                    &[vec![
                        validation.log_files.to_string(),
                        validation.digests.to_string(),
                        mb(validation.bytes as f64),
                        format!("{:.2}", validation.wall.as_secs_f64()),
                        format!("{mbps:.1}"),
                    ]],
                )
            );
        }
    }
    Ok(true)
}

/// Runs `bench ingest --output json` (this executable) and reads its figures.
fn ingest(args: &AuditArgs, bin: &Path, no_audit: bool) -> anyhow::Result<Ingest> {
    progress(format_args!(
        "ingest with recording {}",
        if no_audit { "off" } else { "on" }
    ));
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("ingest")
        .arg("--size")
        .arg(args.size.to_string())
        .arg("--output")
        .arg("json")
        .arg("--server-bin")
        .arg(bin);
    if let Some(dir) = &args.run.work_dir {
        cmd.arg("--work-dir").arg(dir);
    }
    for extra in &args.run.server_args {
        cmd.arg(format!("--server-arg={extra}"));
    }
    if no_audit {
        cmd.arg("--server-arg=--no-audit");
    }
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run bench ingest")?;
    if !out.status.success() {
        bail!("bench ingest failed ({})", out.status);
    }
    let report: Value =
        serde_json::from_slice(&out.stdout).context("bench ingest did not print JSON")?;
    let figure = |key: &str| {
        report["trailwatch"][key]
            .as_f64()
            .with_context(|| format!("bench ingest reported no {key}"))
    };
    Ok(Ingest {
        mb_per_s: figure("mb_per_s")?,
        mb_per_s_per_core: figure("mb_per_s_per_core")?,
        mb_per_cpu_s: figure("mb_per_server_cpu_s")?,
    })
}

/// Records calls on a validating trail, stops the server, times validate-logs offline.
fn validate(args: &AuditArgs, work: &Path, bin: &Path) -> anyhow::Result<Validation> {
    let data_dir = work.join("data");
    let mut server_args = args.run.server_args.clone();
    server_args
        .extend(["--trail-delivery-secs", "1", "--digest-interval-secs", "1"].map(str::to_string));
    let server = Server::start(bin, &data_dir, &server_args)?;
    let client = Client::new(&server.addr, server.creds.clone())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let start_secs = chrono::Utc::now().timestamp();
    let (calls, public_key) = runtime.block_on(async {
        let trail = json!({"Name": TRAIL});
        client
            .cloudtrail(
                "CreateTrail",
                &json!({"Name": TRAIL, "S3BucketName": BUCKET, "EnableLogFileValidation": true}),
            )
            .await?;
        client.cloudtrail("StartLogging", &trail).await?;
        progress(format_args!(
            "recording management calls from {} clients for {} s",
            args.clients, args.trail_secs
        ));
        let until = Instant::now() + Duration::from_secs(args.trail_secs);
        let mut workers = tokio::task::JoinSet::new();
        for c in 0..args.clients {
            let client = client.clone();
            workers.spawn(async move {
                let mut calls = 0;
                while Instant::now() < until {
                    let group = json!({"logGroupName": format!("/bench/audit/{c}-{calls}")});
                    client.call_json("CreateLogGroup", &group).await?;
                    client.call_json("DeleteLogGroup", &group).await?;
                    calls += 2;
                }
                anyhow::Ok(calls)
            });
        }
        let mut calls = 0;
        while let Some(done) = workers.join_next().await {
            calls += done??;
        }
        client.cloudtrail("StopLogging", &trail).await?;
        let keys = client.cloudtrail("ListPublicKeys", &json!({})).await?;
        let key = keys["PublicKeyList"][0]["Value"]
            .as_str()
            .context("ListPublicKeys returned no key")?
            .to_string();
        anyhow::Ok((calls, key))
    })?;
    // SIGTERM delivers what is pending and the final digest.
    server.stop(Duration::from_secs(120))?;
    let key_path = work.join("public-key.der");
    std::fs::write(
        &key_path,
        base64::engine::general_purpose::STANDARD.decode(public_key)?,
    )?;
    let bucket = data_dir.join("buckets").join(BUCKET);
    let (mut log_files, mut digests, mut bytes) = (0, 0, 0);
    for file in files_under(&bucket.join("AWSLogs"))? {
        let name = file.to_string_lossy();
        if !name.ends_with(".json.gz") {
            continue;
        }
        if name.contains("/CloudTrail-Digest/") {
            digests += 1;
        } else {
            log_files += 1;
        }
        bytes += std::fs::metadata(&file)?.len();
    }
    progress(format_args!(
        "validate-logs over {log_files} log files and {digests} digests ({})",
        mb(bytes as f64)
    ));
    let arn = format!(
        "arn:aws:cloudtrail:us-east-1:{}:trail/{TRAIL}",
        account_of(&data_dir)?
    );
    let started = Instant::now();
    let out = Command::new(bin)
        .args(["validate-logs", "--trail-arn", &arn, "--start-time"])
        .arg((start_secs - 60).to_string())
        .arg("--bucket-dir")
        .arg(&bucket)
        .arg("--public-key")
        .arg(&key_path)
        .stdin(Stdio::null())
        .output()
        .context("cannot run trailwatch validate-logs")?;
    let wall = started.elapsed();
    if !out.status.success() {
        bail!(
            "validate-logs found the trail invalid ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(Validation {
        calls,
        log_files,
        digests,
        bytes,
        wall,
    })
}

/// The account the server created on its first start (the admin key's account).
fn account_of(data_dir: &Path) -> anyhow::Result<String> {
    let catalog = rusqlite::Connection::open(data_dir.join("catalog.sqlite"))?;
    Ok(
        catalog.query_row("SELECT value FROM meta WHERE key = 'account_id'", [], |r| {
            r.get(0)
        })?,
    )
}

fn files_under(dir: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("no {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(files_under(&path)?);
        } else {
            out.push(path);
        }
    }
    Ok(out)
}
