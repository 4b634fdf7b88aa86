//! `trailwatch validate-logs`: checks a trail's log files against its signed digest
//! chain, as `aws cloudtrail validate-logs` does, printing aws-cli's lines.
//!
//! Online (the default), the trail's bucket and prefix come from GetTrail and the public
//! keys from ListPublicKeys of a running server, and the bucket is read from the server's
//! buckets directory or, with `--trail-buckets s3`, from the S3-compatible store itself
//! (as aws-cli reads S3): the trail's objects in the range's days are copied, with their
//! signature metadata, into a temporary directory bucket that is then validated.
//! Offline (`--bucket-dir` with `--public-key`), no server is asked:
//! the bucket is a directory (a copy will do) and the keys are files.

use crate::client::{Client, ClientArgs, Output};
use crate::s3::{S3Args, TrailBuckets};
use anyhow::{Context, anyhow, bail};
use audit::layout::digest_time;
use audit::validate::{self, BucketDir, Event, PublicKeys, Request, Summary};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use clap::Args;
use model::time::{DAY_MS, HOUR_MS};
use serde_json::{Value, json};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// The CloudTrail JSON 1.1 target prefix.
const TARGET: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101";

/// Options of `trailwatch validate-logs`.
#[derive(Args)]
pub struct ValidateLogsArgs {
    /// The trail: `arn:aws:cloudtrail:<home-region>:<account>:trail/<name>`.
    #[arg(long)]
    trail_arn: String,
    /// Check log files delivered from this time on: ISO 8601 (`2026-11-27T10:00:00Z`) or
    /// epoch seconds.
    #[arg(long)]
    start_time: String,
    /// Check log files delivered up to this time (default: now).
    #[arg(long)]
    end_time: Option<String>,
    /// Print valid digest and log files too, not only invalid ones.
    #[arg(long)]
    verbose: bool,
    /// The bucket the digests are in, when it is not the trail's (GetTrail is then not
    /// called); offline, the bucket's name when it is not the directory's.
    #[arg(long)]
    s3_bucket: Option<String>,
    /// The digests' key prefix, with `--s3-bucket` or offline.
    #[arg(long)]
    s3_prefix: Option<String>,
    /// Validate every region the bucket has digests of (multi-region trails), not only
    /// `--region` (default: the trail's home region).
    #[arg(long)]
    all_regions: bool,
    /// The server's buckets directory (its `--buckets-dir`; default:
    /// `trailwatch-data/buckets`).
    #[arg(long, alias = "buckets-dir", conflicts_with = "bucket_dir")]
    buckets_root: Option<PathBuf>,
    /// Where the trail's bucket is: under --buckets-root (`directory`) or in the
    /// S3-compatible store (`s3`, with --s3-endpoint ... and the standard AWS credentials).
    #[arg(long, value_enum, default_value = "directory")]
    trail_buckets: TrailBuckets,
    #[command(flatten)]
    s3: S3Args,
    /// Offline: the bucket's directory, the one holding `AWSLogs/`.
    #[arg(long, requires = "public_key")]
    bucket_dir: Option<PathBuf>,
    /// Offline: a public key file, DER or PEM (PKCS#1 or SPKI), as `FILE` or
    /// `FINGERPRINT=FILE` (without one, Trailwatch's fingerprint is derived). Repeatable.
    #[arg(long, requires = "bucket_dir")]
    public_key: Vec<String>,
    #[command(flatten)]
    client: ClientArgs,
}

/// What a trail ARN says.
struct TrailArn {
    home_region: String,
    account: String,
    name: String,
}

/// Validates the trail's logs; fails when anything is invalid.
pub async fn run(args: ValidateLogsArgs) -> anyhow::Result<()> {
    let arn = parse_trail_arn(&args.trail_arn)?;
    let start_ms = parse_time(&args.start_time)?;
    let end_ms = match &args.end_time {
        Some(t) => parse_time(t)?,
        None => model::time::now_ms(),
    };
    if start_ms > end_ms {
        bail!(validate::ValidateError::InvalidRange);
    }
    let region = args
        .client
        .connect
        .region
        .clone()
        .unwrap_or_else(|| arn.home_region.clone());
    let (bucket, prefix, keys) = match &args.bucket_dir {
        Some(dir) => {
            let bucket = BucketDir::new(dir, args.s3_bucket.as_deref())?;
            (
                bucket,
                args.s3_prefix.clone(),
                Some(key_files(&args.public_key)?),
            )
        }
        None => {
            let (bucket, prefix) = server_bucket(&args, &arn).await?;
            (bucket, prefix, None)
        }
    };
    // Holds the copy of an S3 bucket until validation is done.
    let (bucket, _copy) = match args.trail_buckets {
        TrailBuckets::S3 if args.bucket_dir.is_none() => {
            let copy = copy_s3_bucket(
                &args.s3,
                bucket.name(),
                prefix.as_deref(),
                &arn.account,
                start_ms,
                end_ms,
            )
            .await?;
            (
                BucketDir::new(copy.path().join(bucket.name()), Some(bucket.name()))?,
                Some(copy),
            )
        }
        _ => (bucket, None),
    };
    let regions = if args.all_regions {
        let found = validate::digest_regions(&bucket, prefix.as_deref(), &arn.account)?;
        if found.is_empty() {
            vec![region]
        } else {
            found
        }
    } else {
        vec![region]
    };
    // A server keeps keys per region: each region validated is asked for its own.
    let keys = match keys {
        Some(keys) => keys,
        None => server_keys(&args.client, &regions, start_ms, end_ms).await?,
    };
    let request = Request {
        bucket,
        prefix,
        account: arn.account,
        regions,
        trail: arn.name,
        home_region: arn.home_region,
        start_ms,
        end_ms,
    };
    let summary = if args.client.output == Output::Json {
        let mut problems = Vec::new();
        let summary = validate::validate(&request, &keys, |e| {
            problems.extend(problem_json(e));
        })?;
        println!("{}", summary_json(&args.trail_arn, &summary, problems));
        summary
    } else {
        print!(
            "Validating log files for trail {} between {} and {}\n\n",
            args.trail_arn,
            digest_time(start_ms),
            digest_time(end_ms)
        );
        let mut printer = Printer {
            verbose: args.verbose,
            double_spaced: true,
            progress: (!args.verbose && std::io::stderr().is_terminal()).then_some(0),
        };
        let summary = validate::validate(&request, &keys, |e| printer.event(e))?;
        printer.clear_progress();
        if !printer.double_spaced {
            println!();
        }
        print!("{}", summary.text());
        summary
    };
    if !summary.is_valid() {
        bail!(
            "INVALID: {} digest file(s), {} log file(s)",
            summary.invalid_digests,
            summary.invalid_logs
        );
    }
    Ok(())
}

/// The trail's bucket (in the server's buckets directory) and key prefix: GetTrail's, or
/// `--s3-bucket` and `--s3-prefix`.
async fn server_bucket(
    args: &ValidateLogsArgs,
    arn: &TrailArn,
) -> anyhow::Result<(BucketDir, Option<String>)> {
    let (bucket, prefix) = match &args.s3_bucket {
        Some(bucket) => (bucket.clone(), args.s3_prefix.clone()),
        None => {
            let client = client_for(&args.client, &arn.home_region)?;
            let answer = client
                .json(
                    "cloudtrail",
                    &format!("{TARGET}.GetTrail"),
                    &json!({ "Name": args.trail_arn }),
                )
                .await?;
            let trail = &answer["Trail"];
            let bucket = trail["S3BucketName"]
                .as_str()
                .ok_or_else(|| anyhow!("GetTrail returned no S3BucketName"))?;
            let prefix = trail["S3KeyPrefix"].as_str().map(str::to_string);
            (bucket.to_string(), prefix)
        }
    };
    if args.trail_buckets == TrailBuckets::S3 {
        // Only the name matters: the objects are copied from S3 by the caller.
        return Ok((BucketDir::new(&bucket, Some(&bucket))?, prefix));
    }
    let root = args
        .buckets_root
        .clone()
        .unwrap_or_else(|| Path::new(crate::serve::DEFAULT_DATA_DIR).join("buckets"));
    let dir = root.join(&bucket);
    if !dir.is_dir() {
        bail!(
            "bucket {bucket} is not in {} (give the server's buckets directory with \
             --buckets-root)",
            root.display()
        );
    }
    Ok((BucketDir::new(dir, Some(&bucket))?, prefix))
}

/// Copies the trail's objects from the S3 bucket into a temporary directory, as the
/// bucket directory `<tmp>/<bucket>`: every object under `<prefix>/AWSLogs/<account>/`
/// delivered a day or less around the range (digests are read up to an hour past it and
/// name log files delivered within their hour).
async fn copy_s3_bucket(
    s3: &S3Args,
    bucket: &str,
    prefix: Option<&str>,
    account: &str,
    start_ms: i64,
    end_ms: i64,
) -> anyhow::Result<tempfile::TempDir> {
    let copy = tempfile::tempdir().context("cannot create a temporary directory")?;
    let under = match prefix {
        Some(p) => format!("{}/AWSLogs/{account}/", p.trim_end_matches('/')),
        None => format!("AWSLogs/{account}/"),
    };
    let first = day_of(start_ms - DAY_MS);
    let last = day_of(end_ms + DAY_MS);
    let copied = audit::bucket::mirror_s3(
        &s3.settings(),
        bucket,
        &under,
        &copy.path().join(bucket),
        |key| {
            // `<kind>/<region>/YYYY/MM/DD/<file>` after the account; keys that do not
            // parse are kept, so nothing the chain names is left behind.
            let parts: Vec<&str> = key[under.len().min(key.len())..].split('/').collect();
            match parts.get(2..5).map(|d| d.join("-")) {
                Some(day) if NaiveDate::parse_from_str(&day, "%Y-%m-%d").is_ok() => {
                    (first.as_str()..=last.as_str()).contains(&day.as_str())
                }
                _ => true,
            }
        },
    )
    .await
    .with_context(|| format!("cannot read bucket {bucket} from the S3 store"))?;
    if copied == 0 {
        bail!("bucket {bucket} has no objects under {under}");
    }
    Ok(copy)
}

/// The UTC day of an epoch-ms time, `YYYY-MM-DD`.
fn day_of(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

fn client_for(args: &ClientArgs, region: &str) -> anyhow::Result<Client> {
    Client::new(&crate::client::ConnectArgs {
        region: Some(region.to_string()),
        ..args.connect.clone()
    })
}

/// Every region's public keys for the range (and two hours past it, as aws-cli asks).
async fn server_keys(
    args: &ClientArgs,
    regions: &[String],
    start_ms: i64,
    end_ms: i64,
) -> anyhow::Result<PublicKeys> {
    let mut keys = PublicKeys::new();
    for region in regions {
        let client = client_for(args, region)?;
        let mut input = json!({
            "StartTime": start_ms / 1000,
            "EndTime": (end_ms + 2 * HOUR_MS) / 1000,
        });
        loop {
            let answer = client
                .json("cloudtrail", &format!("{TARGET}.ListPublicKeys"), &input)
                .await?;
            for key in answer["PublicKeyList"].as_array().into_iter().flatten() {
                let (Some(fingerprint), Some(value)) =
                    (key["Fingerprint"].as_str(), key["Value"].as_str())
                else {
                    bail!("ListPublicKeys returned a key without Fingerprint or Value");
                };
                let der = STANDARD
                    .decode(value)
                    .with_context(|| format!("public key {fingerprint} is not base64"))?;
                keys.insert(fingerprint, &der)?;
            }
            match answer["NextToken"].as_str() {
                Some(token) => input["NextToken"] = json!(token),
                None => break,
            }
        }
    }
    Ok(keys)
}

/// Reads `--public-key` files: `FILE` or `FINGERPRINT=FILE`, DER or PEM.
fn key_files(specs: &[String]) -> anyhow::Result<PublicKeys> {
    let mut keys = PublicKeys::new();
    for spec in specs {
        let (fingerprint, path) = match spec.split_once('=') {
            Some((print, path))
                if print.len() == 32 && print.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                (Some(print), path)
            }
            _ => (None, spec.as_str()),
        };
        let bytes = std::fs::read(path).with_context(|| format!("cannot read {path}"))?;
        let der = pem_body(&bytes)
            .with_context(|| format!("{path} is not a PEM public key"))?
            .unwrap_or(bytes);
        match fingerprint {
            Some(print) => keys.insert(print, &der),
            None => keys.insert_derived(&der).map(|_| ()),
        }
        .with_context(|| path.to_string())?;
    }
    Ok(keys)
}

/// The DER inside a PEM file (`-----BEGIN ... PUBLIC KEY-----`), or `None` for a file
/// that is not PEM.
fn pem_body(bytes: &[u8]) -> anyhow::Result<Option<Vec<u8>>> {
    let Some(text) = std::str::from_utf8(bytes)
        .ok()
        .filter(|t| t.trim_start().starts_with("-----BEGIN"))
    else {
        return Ok(None);
    };
    let body: String = text
        .lines()
        .map(str::trim)
        .skip_while(|l| !l.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    Ok(Some(STANDARD.decode(body)?))
}

/// aws-cli's check: `arn:<partition>:cloudtrail:<region>:<12 digits>:trail/<name>`.
fn parse_trail_arn(text: &str) -> anyhow::Result<TrailArn> {
    let invalid = || anyhow!("Invalid trail ARN provided: {text}");
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    let [arn, partition, service, region, account, resource] = parts[..] else {
        return Err(invalid());
    };
    let name = resource.strip_prefix("trail/").ok_or_else(invalid)?;
    if arn != "arn"
        || partition.is_empty()
        || service != "cloudtrail"
        || region.is_empty()
        || account.len() != 12
        || !account.bytes().all(|b| b.is_ascii_digit())
        || name.is_empty()
    {
        return Err(invalid());
    }
    Ok(TrailArn {
        home_region: region.to_string(),
        account: account.to_string(),
        // aws-cli takes the name after the last `/`.
        name: name.rsplit('/').next().unwrap_or(name).to_string(),
    })
}

/// Epoch ms of a time given as epoch seconds or ISO 8601 (UTC unless it says otherwise).
fn parse_time(text: &str) -> anyhow::Result<i64> {
    let text = text.trim();
    if text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && let Ok(seconds) = text.parse::<f64>()
    {
        return Ok((seconds * 1000.0).round() as i64);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp_millis());
    }
    let naive = text.strip_suffix('Z').unwrap_or(text);
    const FORMATS: [&str; 5] = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%Y%m%dT%H%M%S",
    ];
    FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(naive, f).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(naive, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
        .map(|t| t.and_utc().timestamp_millis())
        .ok_or_else(|| {
            anyhow!("Unable to parse date value: {text} (ISO 8601 such as 2026-11-27T10:00:00Z, or epoch seconds)")
        })
}

/// aws-cli's way of printing findings: problems always, to stderr, set off by blank
/// lines; valid files only with `--verbose`, to stdout.
struct Printer {
    verbose: bool,
    /// Whether the last thing printed ended with a blank line.
    double_spaced: bool,
    /// Files checked so far, when a count is kept on a terminal's stderr (without
    /// `--verbose`, nothing else shows that the walk goes on).
    progress: Option<usize>,
}

impl Printer {
    fn event(&mut self, event: &Event) {
        if event.is_problem() {
            self.clear_progress();
            let lead = if self.double_spaced { "" } else { "\n" };
            eprint!("{lead}{event}\n\n");
            self.double_spaced = true;
        } else if self.verbose {
            println!("{event}");
            self.double_spaced = false;
        }
        if let Some(checked) = self.progress.as_mut()
            && !matches!(event, Event::Gap { .. })
        {
            *checked += 1;
            eprint!("\r{checked} files checked");
        }
    }

    /// Erases the progress count, if one is shown, so aws-cli's lines stay as they are.
    fn clear_progress(&self) {
        if self.progress.is_some_and(|n| n > 0) {
            eprint!("\r\x1b[K");
        }
    }
}

/// An invalid file or a gap, for `--output json`; `None` for a valid file.
fn problem_json(event: &Event) -> Option<Value> {
    Some(match event {
        Event::InvalidDigest {
            bucket,
            key,
            problem,
        } => json!({"type": "digest", "bucket": bucket, "key": key, "reason": problem.to_string()}),
        Event::InvalidLog {
            bucket,
            key,
            problem,
        } => json!({"type": "log", "bucket": bucket, "key": key, "reason": problem.to_string()}),
        Event::Gap { from_ms, to_ms } => {
            json!({"type": "gap", "from": digest_time(*from_ms), "to": digest_time(*to_ms)})
        }
        Event::Digest { .. } | Event::Log { .. } => return None,
    })
}

/// The `--output json` document: counts, the range found, and every problem.
fn summary_json(arn: &str, summary: &Summary, problems: Vec<Value>) -> Value {
    json!({
        "TrailARN": arn,
        "RequestedStartTime": digest_time(summary.start_ms),
        "RequestedEndTime": digest_time(summary.end_ms),
        "FoundStartTime": summary.found_start_ms.map(digest_time),
        "FoundEndTime": summary.found_end_ms.map(digest_time),
        "Valid": summary.is_valid(),
        "DigestFiles": {"Valid": summary.valid_digests, "Invalid": summary.invalid_digests},
        "LogFiles": {"Valid": summary.valid_logs, "Invalid": summary.invalid_logs},
        "Problems": problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_iso_8601_or_epoch_seconds() {
        let ms = 1_764_237_600_000; // 2025-11-27T10:00:00Z
        for text in [
            "2025-11-27T10:00:00Z",
            "2025-11-27T10:00:00",
            "2025-11-27T11:00:00+01:00",
            "2025-11-27 10:00:00",
            "2025-11-27T10:00Z",
            "20251127T100000Z",
            "1764237600",
        ] {
            assert_eq!(parse_time(text).unwrap(), ms, "{text}");
        }
        assert_eq!(parse_time("2025-11-27").unwrap(), ms - 10 * HOUR_MS);
        assert_eq!(parse_time("1764237600.5").unwrap(), ms + 500);
        assert!(parse_time("yesterday").is_err());
    }

    #[test]
    fn trail_arns_are_checked_like_aws_clis() {
        let arn = parse_trail_arn("arn:aws:cloudtrail:us-east-2:123456789012:trail/t").unwrap();
        assert_eq!(
            (
                arn.home_region.as_str(),
                arn.account.as_str(),
                arn.name.as_str()
            ),
            ("us-east-2", "123456789012", "t")
        );
        for bad in [
            "arn:aws:cloudtrail:us-east-2:1234:trail/t",
            "arn:aws:logs:us-east-2:123456789012:trail/t",
            "arn:aws:cloudtrail:us-east-2:123456789012:t",
            "t",
        ] {
            assert!(parse_trail_arn(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pem_files_hold_base64_der() {
        let pem = b"-----BEGIN PUBLIC KEY-----\nAAEC\nAw==\n-----END PUBLIC KEY-----\n";
        assert_eq!(pem_body(pem).unwrap(), Some(vec![0, 1, 2, 3]));
        assert_eq!(pem_body(&[0x30, 0x82]).unwrap(), None);
    }
}
