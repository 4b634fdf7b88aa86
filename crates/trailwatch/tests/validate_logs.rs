//! `trailwatch validate-logs` against a real server's trail output: online (GetTrail and
//! ListPublicKeys of the server) and offline (a copied bucket and a key file), untouched
//! and tampered with.

mod common;

use base64::Engine as _;
use common::Server;
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const ARN: &str = "arn:aws:cloudtrail:us-east-1:123456789012:trail/main";

/// Runs `trailwatch validate-logs ARGS`; returns success, stdout and stderr.
fn validate_logs(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .arg("validate-logs")
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else if path.to_string_lossy().ends_with(".json.gz") {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

async fn wait_for(what: &str, mut probe: impl FnMut() -> bool) {
    for _ in 0..300 {
        if probe() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn validate_logs_checks_a_servers_trail_online_and_offline() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(
        tmp.path(),
        true,
        &["--trail-delivery-secs", "1", "--digest-interval-secs", "2"],
    );
    let start = (chrono::Utc::now().timestamp() - 2).to_string();
    let ct = server.cloudtrail();
    ct.create_trail()
        .name("main")
        .s3_bucket_name("audit-bucket")
        .s3_key_prefix("pfx")
        .enable_log_file_validation(true)
        .send()
        .await
        .unwrap();
    ct.start_logging().name("main").send().await.unwrap();
    let logs = server.client();
    logs.create_log_group()
        .log_group_name("after-start")
        .send()
        .await
        .unwrap();
    let bucket = tmp.path().join("buckets/audit-bucket");
    let log_dir = bucket.join("pfx/AWSLogs/123456789012/CloudTrail");
    let digest_dir = bucket.join("pfx/AWSLogs/123456789012/CloudTrail-Digest");
    wait_for("a log file and two digests", || {
        !files_under(&log_dir).is_empty() && files_under(&digest_dir).len() >= 2
    })
    .await;
    ct.stop_logging().name("main").send().await.unwrap();
    let before = files_under(&digest_dir).len();
    wait_for("the final digest", || {
        files_under(&digest_dir).len() > before
    })
    .await;
    let digests = files_under(&digest_dir).len();
    let log_files = files_under(&log_dir);
    let endpoint = server.endpoint.clone();
    let buckets = tmp.path().join("buckets");
    let online = |extra: &[&str]| {
        let mut args = vec![
            "--endpoint",
            &endpoint,
            "--buckets-root",
            buckets.to_str().unwrap(),
            "--trail-arn",
            ARN,
            "--start-time",
            &start,
        ];
        args.extend_from_slice(extra);
        validate_logs(&args)
    };

    // Online: bucket and prefix from GetTrail, keys from ListPublicKeys.
    let (ok, stdout, stderr) = online(&["--verbose"]);
    assert!(ok, "{stdout}{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    assert!(
        stdout.starts_with(&format!("Validating log files for trail {ARN} between ")),
        "{stdout}"
    );
    assert!(stdout.contains(
        "Digest file\ts3://audit-bucket/pfx/AWSLogs/123456789012/CloudTrail-Digest/us-east-1/"
    ));
    assert!(stdout.contains("\tvalid\n"));
    assert!(
        stdout.contains(&format!("\n{digests}/{digests} digest files valid\n")),
        "{stdout}"
    );
    let (ok, stdout, _) = online(&["--output", "json"]);
    assert!(ok);
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["Valid"], true);
    assert_eq!(summary["DigestFiles"]["Valid"], digests);
    assert_eq!(summary["LogFiles"]["Valid"], log_files.len());

    // Offline: a copy of the bucket and the key as a PEM file.
    let keys = ct.list_public_keys().send().await.unwrap();
    let der = keys.public_key_list()[0].value().unwrap().as_ref().to_vec();
    let pem = format!(
        "-----BEGIN RSA PUBLIC KEY-----\n{}\n-----END RSA PUBLIC KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(&der)
    );
    let key_file = tmp.path().join("key.pem");
    std::fs::write(&key_file, pem).unwrap();
    let copy = tmp.path().join("copy/audit-bucket");
    copy_dir(&bucket, &copy);
    // A log file changed by a byte and gzipped again.
    let tampered = copy.join(log_files[0].strip_prefix(&bucket).unwrap());
    let mut body = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&tampered).unwrap())
        .read_to_end(&mut body)
        .unwrap();
    body.push(b' ');
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut encoder, &body).unwrap();
    std::fs::write(&tampered, encoder.finish().unwrap()).unwrap();
    drop(server);

    let (ok, stdout, stderr) = validate_logs(&[
        "--bucket-dir",
        copy.to_str().unwrap(),
        "--public-key",
        key_file.to_str().unwrap(),
        "--s3-prefix",
        "pfx",
        "--trail-arn",
        ARN,
        "--start-time",
        &start,
    ]);
    assert!(!ok, "{stdout}");
    let key = tampered.strip_prefix(&copy).unwrap().to_str().unwrap();
    assert!(
        stderr.starts_with(&format!(
            "Log file\ts3://audit-bucket/{key}\tINVALID: hash value doesn't match\n\n"
        )),
        "{stderr}"
    );
    assert!(
        stdout.contains(&format!(
            "log files valid, 1/{} log files INVALID",
            log_files.len()
        )),
        "{stdout}"
    );
}
