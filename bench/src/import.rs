//! `bench import`: `trailwatch import` of gzipped AWS log files, one per format, beside
//! `zcat FILE | wc -l` of the same file (the cost of merely reading it).
//!
//! The files come from the seeded generators (VPC flow logs, CloudTrail records wrapped
//! in a `{"Records":[...]}` document as trails deliver them, Lambda lines, JSON
//! application logs) plus S3 server access and ALB access lines made here, gzipped as AWS
//! delivers them. Each is imported into a running server (`--endpoint`) and then again,
//! with the server stopped, straight into its data directory (`--data-dir`). Throughput
//! counts the uncompressed text, as `zcat | wc -l` does.

use crate::datagen::{self, Kind, MAX_BATCH_BYTES};
use crate::ingest::{Output, WorkDir, progress};
use crate::report::grid;
use crate::server::{RunArgs, Server};
use anyhow::{Context, bail};
use clap::Args;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Options of `bench import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    #[command(flatten)]
    run: RunArgs,
    /// Raw log text per format: 50MB, 1GB, 5MiB, ...
    #[arg(long, default_value = "50MB", value_parser = crate::parse_size)]
    size: usize,
    /// Seed of the data generators.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// `table` or `json`.
    #[arg(long, value_enum, default_value = "table")]
    output: Output,
}

/// The formats measured, with the `trailwatch import` name of each.
const FORMATS: [&str; 6] = [
    "vpc-flow",
    "cloudtrail",
    "lambda",
    "json",
    "s3-access",
    "alb",
];

/// The generated events end here (2025-01-01T00:00:00Z): well past PutLogEvents' 14
/// days, as imported archives are.
const END_MS: i64 = 1_735_689_600_000;

/// One format's figures.
struct Measured {
    format: &'static str,
    text_bytes: usize,
    gz_bytes: u64,
    lines: u64,
    zcat: Duration,
    remote: Duration,
    local: Duration,
    events: u64,
}

/// Runs `bench import`.
pub fn run(args: ImportArgs) -> anyhow::Result<bool> {
    let bin = args.run.server_bin()?;
    let mut work = WorkDir::create(args.run.work_dir.as_deref(), args.run.keep)?;
    let result = measure(&args, &work.path, &bin);
    if result.is_err() && !work.keep {
        work.keep = true;
        progress(format_args!("kept {} for inspection", work.path.display()));
    }
    let rows = result?;
    report(&args, &rows);
    Ok(true)
}

fn measure(args: &ImportArgs, dir: &Path, bin: &Path) -> anyhow::Result<Vec<Measured>> {
    let mut files = Vec::new();
    for format in FORMATS {
        let text = generate(format, args.size, args.seed);
        let path = dir.join(format!("{format}.log.gz"));
        let mut gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&path)?,
            flate2::Compression::default(),
        );
        gz.write_all(&text)?;
        gz.finish()?;
        progress(format_args!("generated {format}: {} bytes", text.len()));
        files.push((format, path, text.len()));
    }
    let data_dir = dir.join("data");
    let server = Server::start(bin, &data_dir, &args.run.server_args)?;
    let endpoint = format!("http://{}", server.addr);
    let creds = server.creds.clone();
    let mut rows = Vec::new();
    for (format, path, text_bytes) in &files {
        let (zcat, lines) = zcat_wc(path)?;
        let group = format!("/bench/import/{format}");
        let (remote, summary) = import(
            bin,
            &creds,
            format,
            path,
            &group,
            &["--endpoint", &endpoint],
        )?;
        progress(format_args!("{format}: imported over HTTP in {remote:.2?}"));
        rows.push(Measured {
            format,
            text_bytes: *text_bytes,
            gz_bytes: std::fs::metadata(path)?.len(),
            lines,
            zcat,
            remote,
            local: Duration::ZERO,
            events: summary["events"].as_u64().unwrap_or(0),
        });
    }
    server.stop(Duration::from_secs(120))?;
    let data = data_dir.to_string_lossy().into_owned();
    for (row, (format, path, _)) in rows.iter_mut().zip(&files) {
        let group = format!("/bench/import-local/{format}");
        let (local, _) = import(bin, &creds, format, path, &group, &["--data-dir", &data])?;
        progress(format_args!(
            "{format}: imported into the data directory in {local:.2?}"
        ));
        row.local = local;
    }
    Ok(rows)
}

/// `zcat FILE | wc -l`: its time and the line count.
fn zcat_wc(path: &Path) -> anyhow::Result<(Duration, u64)> {
    let started = Instant::now();
    let out = Command::new("sh")
        .arg("-c")
        .arg("zcat \"$1\" | wc -l")
        .arg("sh")
        .arg(path)
        .output()
        .context("cannot run zcat | wc -l")?;
    let elapsed = started.elapsed();
    if !out.status.success() {
        bail!("zcat | wc -l failed on {}", path.display());
    }
    let lines = String::from_utf8_lossy(&out.stdout).trim().parse()?;
    Ok((elapsed, lines))
}

/// One `trailwatch import` run: its wall time and its JSON summary.
fn import(
    bin: &Path,
    creds: &auth::Credentials,
    format: &str,
    path: &Path,
    group: &str,
    target: &[&str],
) -> anyhow::Result<(Duration, Value)> {
    let started = Instant::now();
    let out = Command::new(bin)
        .args(["import", format])
        .arg(path)
        .args(["--group", group, "--stream", "bench", "--output", "json"])
        .args(target)
        .env("AWS_ACCESS_KEY_ID", &creds.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &creds.secret_access_key)
        .output()
        .context("cannot run trailwatch import")?;
    let elapsed = started.elapsed();
    if !out.status.success() {
        bail!(
            "trailwatch import {format} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let summary: Value = serde_json::from_slice(&out.stdout)?;
    if summary["malformedLines"].as_u64() != Some(0) {
        bail!("trailwatch import {format} found malformed lines: {summary}");
    }
    Ok((elapsed, summary))
}

/// About `size` bytes of `format`'s file contents.
fn generate(format: &str, size: usize, seed: u64) -> Vec<u8> {
    let kind = match format {
        "vpc-flow" => Kind::Vpc,
        "cloudtrail" => Kind::Cloudtrail,
        "lambda" => Kind::Lambda,
        "json" => Kind::AppJson,
        _ => return access_logs(format == "alb", size, seed),
    };
    let data = datagen::generate(kind, size, MAX_BATCH_BYTES, seed, END_MS);
    if kind != Kind::Cloudtrail {
        return data.text;
    }
    // One record per line becomes the document a trail delivers.
    let mut doc = Vec::with_capacity(data.text.len() + 16);
    doc.extend_from_slice(b"{\"Records\":[");
    for (i, line) in data
        .text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        if i > 0 {
            doc.push(b',');
        }
        doc.extend_from_slice(line);
    }
    doc.extend_from_slice(b"]}\n");
    doc
}

/// S3 server access log lines, or ALB access log lines, over the hour before [`END_MS`].
fn access_logs(alb: bool, size: usize, seed: u64) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(seed);
    let keys = [
        "index.html",
        "img/logo.png",
        "data/2024/report.csv",
        "static/app.js",
        "api/v1/items",
    ];
    let agents = [
        "aws-cli/2.15.0 Python/3.11.6",
        "Mozilla/5.0 (X11; Linux x86_64)",
        "Boto3/1.34.0",
    ];
    let mut text = String::with_capacity(size + 1024);
    let mut ms = END_MS - 3_600_000;
    while text.len() < size {
        ms += rng.random_range(0..20);
        let time = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
        let key = keys.choose(&mut rng).copied().unwrap_or_default();
        let agent = agents.choose(&mut rng).copied().unwrap_or_default();
        let ip = format!(
            "10.0.{}.{}",
            rng.random_range(0..16),
            rng.random_range(1..255)
        );
        let status = if rng.random_bool(0.95) { 200 } else { 404 };
        let bytes = rng.random_range(100..2_000_000);
        let _ = if alb {
            writeln!(
                text,
                "https {} app/web/50dc6c495c0c9188 {ip}:{} 10.0.1.{}:80 0.000 0.{:03} 0.000 {status} {status} 230 {bytes} \"GET https://shop.example.com:443/{key} HTTP/1.1\" \"{agent}\" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/73e2d6bc24d8a067 \"Root=1-{:08x}-{:024x}\" \"shop.example.com\" \"arn:aws:acm:us-east-1:123456789012:certificate/12345678\" 1 {} \"forward\" \"-\" \"-\" \"10.0.1.7:80\" \"{status}\" \"-\" \"-\" TID_{:032x}",
                time.format("%Y-%m-%dT%H:%M:%S%.6fZ"),
                rng.random_range(1024..65535),
                rng.random_range(1..255),
                rng.random_range(1..999),
                ms / 1000,
                rng.random::<u128>() >> 32,
                time.format("%Y-%m-%dT%H:%M:%S%.6fZ"),
                rng.random::<u128>(),
            )
        } else {
            writeln!(
                text,
                "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be amzn-s3-demo-bucket [{}] {ip} arn:aws:iam::123456789012:user/alice {:016X} REST.GET.OBJECT {key} \"GET /amzn-s3-demo-bucket/{key} HTTP/1.1\" {status} - {bytes} {bytes} {} {} \"-\" \"{agent}\" - {:x}= SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader amzn-s3-demo-bucket.s3.us-west-1.amazonaws.com TLSv1.2 - -",
                time.format("%d/%b/%Y:%H:%M:%S +0000"),
                rng.random::<u64>(),
                rng.random_range(1..200),
                rng.random_range(1..50),
                rng.random::<u128>(),
            )
        };
    }
    text.into_bytes()
}

fn report(args: &ImportArgs, rows: &[Measured]) {
    let rate = |bytes: usize, d: Duration| bytes as f64 / 1e6 / d.as_secs_f64().max(1e-9);
    if args.output == Output::Json {
        let formats: Vec<Value> = rows
            .iter()
            .map(|r| {
                json!({
                    "format": r.format,
                    "textBytes": r.text_bytes,
                    "gzBytes": r.gz_bytes,
                    "lines": r.lines,
                    "events": r.events,
                    "zcatWcMBps": rate(r.text_bytes, r.zcat),
                    "importMBps": rate(r.text_bytes, r.remote),
                    "importDataDirMBps": rate(r.text_bytes, r.local),
                })
            })
            .collect();
        println!(
            "{}",
            json!({ "size": args.size, "seed": args.seed, "formats": formats })
        );
        return;
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let zcat = rate(r.text_bytes, r.zcat);
            let remote = rate(r.text_bytes, r.remote);
            vec![
                r.format.to_string(),
                format!("{:.1}", r.text_bytes as f64 / 1e6),
                format!("{:.1}", r.gz_bytes as f64 / 1e6),
                r.events.to_string(),
                format!("{zcat:.0}"),
                format!("{remote:.1}"),
                format!("{:.1}", rate(r.text_bytes, r.local)),
                crate::report::times(remote / zcat),
            ]
        })
        .collect();
    print!(
        "{}",
        grid(
            &[
                "format",
                "text MB",
                "gz MB",
                "events",
                "zcat|wc -l MB/s",
                "import MB/s",
                "import --data-dir MB/s",
                "import / zcat",
            ],
            &table,
        )
    );
}
