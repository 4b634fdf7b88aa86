//! `trailwatch import` against the real server (and on a stopped server's data
//! directory), checked through the AWS SDK for Rust.

mod common;

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::types::{InputLogEvent, QueryStatus};
use common::{Server, client_with, iam, results};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

fn shared(path: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if dir.is_dir() {
        Some(dir.join(path))
    } else {
        eprintln!(
            "note: {} is absent; skipping the real-sample test",
            dir.display()
        );
        None
    }
}

/// Runs `trailwatch import ARGS --output json`; the exit status and the summary (or stderr).
fn import(target: &[&str], args: &[&str]) -> (bool, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .arg("import")
        .args(args)
        .args(target)
        .args(["--output", "json"])
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.success(),
        summary,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Rows of an Insights query over `group` for all time, as (field, value) pairs.
async fn insights(client: &Client, group: &str, query: &str) -> Vec<Vec<(String, String)>> {
    let started = client
        .start_query()
        .log_group_name(group)
        .start_time(0)
        .end_time(common::now_ms() / 1000)
        .query_string(query)
        .send()
        .await
        .unwrap();
    let (status, rows) = results(client, started.query_id().unwrap()).await;
    assert_eq!(status, QueryStatus::Complete, "{query}");
    rows.iter()
        .map(|row| {
            row.iter()
                .filter(|f| f.field() != Some("@ptr"))
                .map(|f| {
                    (
                        f.field().unwrap_or_default().to_string(),
                        f.value().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .collect()
}

fn gzip(path: &Path, text: &str) {
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(path).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(text.as_bytes()).unwrap();
    gz.finish().unwrap();
}

#[tokio::test]
async fn cloudtrail_trees_keep_their_own_times_and_reimports_are_skipped() {
    let Some(tree) = shared("cloudtrail/AWSLogs") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::dev(&tmp);
    let client = server.client();
    let target = ["--endpoint", server.endpoint.as_str()];

    // The public API refuses events this old; the import keeps them.
    client
        .create_log_group()
        .log_group_name("ct")
        .send()
        .await
        .unwrap();
    client
        .create_log_stream()
        .log_group_name("ct")
        .log_stream_name("by-hand")
        .send()
        .await
        .unwrap();
    let old = InputLogEvent::builder()
        .timestamp(1_688_990_400_000)
        .message("{}")
        .build()
        .unwrap();
    let put = client
        .put_log_events()
        .log_group_name("ct")
        .log_stream_name("by-hand")
        .log_events(old)
        .send()
        .await
        .unwrap();
    assert_eq!(
        put.rejected_log_events_info()
            .unwrap()
            .too_old_log_event_end_index(),
        Some(1)
    );

    let tree = tree.to_str().unwrap();
    let (ok, summary, stderr) = import(
        &target,
        &["cloudtrail", tree, "--group", "ct", "--stream", "trail"],
    );
    assert!(ok, "{stderr}");
    assert_eq!(summary["files"], 55);
    assert_eq!(summary["events"], 2900);
    assert_eq!(summary["malformedLines"], 0);

    let events = client
        .get_log_events()
        .log_group_name("ct")
        .log_stream_name("trail")
        .start_from_head(true)
        .limit(1)
        .send()
        .await
        .unwrap();
    let first = &events.events()[0];
    // 2023-07-10, the day the files were written, not the day of the import.
    assert!((1_688_947_200_000..1_689_033_600_000).contains(&first.timestamp().unwrap()));
    let record: Value = serde_json::from_str(first.message().unwrap()).unwrap();
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(record["eventTime"].as_str().unwrap())
            .unwrap()
            .timestamp_millis(),
        first.timestamp().unwrap()
    );

    let rows = insights(
        &client,
        "ct",
        "filter ispresent(errorCode) | stats count(*) as n by userIdentity.type | sort n desc | limit 1",
    )
    .await;
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0]
            .iter()
            .any(|(f, v)| f == "userIdentity.type" && !v.is_empty()),
        "{rows:?}"
    );

    // Again: every file is in the manifest. A copy under another name is the same content.
    let (ok, summary, _) = import(
        &target,
        &["cloudtrail", tree, "--group", "ct", "--stream", "trail"],
    );
    assert!(ok);
    assert_eq!(
        (summary["skippedFiles"].as_u64(), summary["events"].as_u64()),
        (Some(55), Some(0))
    );
    let first_file =
        std::fs::read_dir(Path::new(tree).join("218007301253/CloudTrail/us-east-1/2023/07/10"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
    let copy = tmp.path().join("copy.json.gz");
    std::fs::copy(first_file, &copy).unwrap();
    let (ok, summary, _) = import(
        &target,
        &["cloudtrail", copy.to_str().unwrap(), "--group", "ct"],
    );
    assert!(ok);
    assert_eq!(summary["skippedFiles"], 1);
    // --force imports it again, under its own stream.
    let (ok, summary, _) = import(
        &target,
        &[
            "cloudtrail",
            copy.to_str().unwrap(),
            "--group",
            "ct",
            "--force",
        ],
    );
    assert!(ok);
    assert_eq!(summary["files"], 1);
    let streams = client
        .describe_log_streams()
        .log_group_name("ct")
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = streams
        .log_streams()
        .iter()
        .filter_map(|s| s.log_stream_name())
        .collect();
    assert_eq!(names, ["by-hand", "copy.json.gz", "trail"]);
}

#[tokio::test]
async fn flow_logs_with_a_header_are_queryable_by_their_fields_and_bad_lines_are_located() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::dev(&tmp);
    let client = server.client();
    let dir = tmp
        .path()
        .join("AWSLogs/123456789012/vpcflowlogs/us-east-1/2021/03/26");
    std::fs::create_dir_all(&dir).unwrap();
    // A v5 layout in AWS's documented order, as the S3 header names it.
    let header = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path";
    let line = |start: i64, action: &str, service: &str| {
        format!(
            "5 123456789012 eni-1 10.0.0.71 52.95.128.179 34210 443 6 7 471 {start} {} {action} OK vpc-1 subnet-1 i-1 3 IPv4 10.0.0.71 52.95.128.179 us-east-1 use1-az1 - - - {service} egress 8",
            start + 60
        )
    };
    let text = [
        header.to_string(),
        line(1_616_729_292, "ACCEPT", "S3"),
        "5 123456789012 truncated".to_string(),
        line(1_616_729_352, "REJECT", "DYNAMODB"),
        line(1_616_729_412, "ACCEPT", "S3"),
    ]
    .join("\n");
    gzip(
        &dir.join("123456789012_vpcflowlogs_us-east-1_fl-1_20210326T0300Z_abc.log.gz"),
        &text,
    );

    let root = tmp.path().join("AWSLogs");
    let target = ["--endpoint", server.endpoint.as_str()];
    let (ok, summary, stderr) = import(
        &target,
        &["vpc", root.to_str().unwrap(), "--group", "flows"],
    );
    assert!(ok, "{stderr}");
    assert_eq!(summary["lines"], 5);
    assert_eq!(summary["events"], 3);
    assert_eq!(summary["malformedLines"], 1);
    let place = summary["malformedLocations"][0].as_str().unwrap();
    assert!(
        place.ends_with("_abc.log.gz:3: 3 fields where the format has 29"),
        "{place}"
    );

    let rows = insights(
        &client,
        "flows",
        "stats count(*) as n, sum(bytes) as b by pktDstAwsService, action | sort pktDstAwsService",
    )
    .await;
    let row = |service: &str| {
        rows.iter()
            .find(|r| r.contains(&("pktDstAwsService".into(), service.into())))
            .cloned()
            .unwrap_or_default()
    };
    assert!(row("S3").contains(&("n".into(), "2".into())), "{rows:?}");
    assert!(row("S3").contains(&("b".into(), "942".into())), "{rows:?}");
    assert!(
        row("DYNAMODB").contains(&("action".into(), "REJECT".into())),
        "{rows:?}"
    );
    let rows = insights(
        &client,
        "flows",
        "filter flowDirection = 'egress' and trafficPath = 8 | stats count(*) as n",
    )
    .await;
    assert_eq!(rows, [vec![("n".to_string(), "3".to_string())]]);
}

#[tokio::test]
async fn imports_write_a_stopped_servers_data_directory() {
    let Some(s3) = shared("s3access") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // A first start creates the directory and its admin key; then the server stops.
    Server::start(&data, false, &[]).terminate();
    let target = ["--data-dir", data.to_str().unwrap()];
    let (ok, summary, stderr) = import(
        &target,
        &["s3-access", s3.to_str().unwrap(), "--group", "s3"],
    );
    assert!(ok, "{stderr}");
    assert_eq!(
        (summary["files"].as_u64(), summary["events"].as_u64()),
        (Some(2), Some(24))
    );
    let (ok, summary, _) = import(
        &target,
        &["s3-access", s3.to_str().unwrap(), "--group", "s3"],
    );
    assert!(ok);
    assert_eq!(summary["skippedFiles"], 2);

    let server = Server::start(&data, false, &[]);
    let events = server
        .client()
        .filter_log_events()
        .log_group_name("s3")
        .start_time(0)
        .send()
        .await
        .unwrap();
    assert_eq!(events.events().len(), 24);
    // Ordered by time: the 2021 records before the 2023 ones.
    assert!(
        events.events()[0]
            .message()
            .unwrap()
            .contains("[13/Dec/2021:09:29:20 +0000]")
    );
}

#[tokio::test]
async fn importing_needs_put_log_events() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), false, &[]);
    let logs = tmp.path().join("app.log");
    std::fs::write(&logs, "2020-01-01T00:00:00Z started\nplain line\n").unwrap();
    iam(&server, &["create-user", "reader"]);
    let key: Value = serde_json::from_str(&iam(
        &server,
        &["create-access-key", "--user-name", "reader"],
    ))
    .unwrap();
    iam(
        &server,
        &[
            "put-user-policy",
            "--user-name",
            "reader",
            "--policy-name",
            "read",
            "--policy-document",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:Describe*","logs:Create*"],"Resource":"*"}]}"#,
        ],
    );
    let run = |id: &str, secret: &str| {
        Command::new(env!("CARGO_BIN_EXE_trailwatch"))
            .args(["import", "text", logs.to_str().unwrap(), "--group", "app"])
            .args(["--endpoint", &server.endpoint])
            .env("AWS_ACCESS_KEY_ID", id)
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .output()
            .unwrap()
    };
    let denied = run(
        key["AccessKeyId"].as_str().unwrap(),
        key["SecretAccessKey"].as_str().unwrap(),
    );
    assert!(!denied.status.success());
    let stderr = String::from_utf8_lossy(&denied.stderr);
    assert!(
        stderr.starts_with("error: AccessDeniedException: ")
            && stderr.contains("logs:PutLogEvents"),
        "{stderr}"
    );
    let (id, secret) = server.admin_credentials();
    let allowed = run(&id, &secret);
    assert!(
        allowed.status.success(),
        "{}",
        String::from_utf8_lossy(&allowed.stderr)
    );
    let admin = client_with(&server.endpoint, "us-east-1", &id, &secret);
    let events = admin
        .filter_log_events()
        .log_group_name("app")
        .start_time(0)
        .send()
        .await
        .unwrap();
    // The line without a time of its own takes the one before it.
    let times: Vec<i64> = events
        .events()
        .iter()
        .filter_map(|e| e.timestamp())
        .collect();
    assert_eq!(times, [1_577_836_800_000, 1_577_836_800_000]);
}
