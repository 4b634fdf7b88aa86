//! `trailwatch export` against the real server: JSON lines (plain and gzipped) and
//! Parquet files that hold exactly the group's events, in the documented shapes.

mod common;

use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use common::{Server, now_ms};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Value, json};
use std::fs::File;
use std::path::Path;
use std::process::Command;

fn export(server: &Server, args: &[&str], dest: &Path) -> (bool, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .args(["export", "--endpoint", &server.endpoint, "--output", "json"])
        .args(args)
        .arg(dest)
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .output()
        .unwrap();
    let summary = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.success(),
        summary,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn exports_json_lines_and_parquet() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::dev(&tmp);
    let logs = server.client();
    logs.create_log_group()
        .log_group_name("app")
        .send()
        .await
        .unwrap();
    let t0 = now_ms() - 60_000;
    for (stream, offset) in [("web-1", 0), ("worker-1", 1)] {
        logs.create_log_stream()
            .log_group_name("app")
            .log_stream_name(stream)
            .send()
            .await
            .unwrap();
        let events = [
            json!({"level": "ERROR", "n": offset}).to_string(),
            "not json".to_string(),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            InputLogEvent::builder()
                .timestamp(t0 + offset * 10 + i as i64 * 1000)
                .message(m)
                .build()
                .unwrap()
        })
        .collect::<Vec<_>>();
        logs.put_log_events()
            .log_group_name("app")
            .log_stream_name(stream)
            .set_log_events(Some(events))
            .send()
            .await
            .unwrap();
    }

    let dest = tmp.path().join("jsonl");
    let (ok, summary, stderr) = export(&server, &["--group", "app", "--format", "jsonl"], &dest);
    assert!(ok, "{stderr}");
    assert_eq!(summary["events"], 4);
    assert_eq!(summary["files"], 1);
    let text = std::fs::read_to_string(dest.join("part-00000.jsonl")).unwrap();
    assert_eq!(summary["bytes"], text.len());
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["level"], "ERROR");
    assert_eq!(lines[0]["@logStream"], "web-1");
    assert!(lines[0]["@ingestionTime"].is_i64());
    assert!(lines[0]["@timestamp"].as_str().unwrap().ends_with('Z'));
    assert!(lines[0].get("@message").is_none());
    assert_eq!(lines[1]["@logStream"], "worker-1");
    assert_eq!(lines[2]["@message"], "not json");

    // A stream prefix and a time range narrow it; --gzip compresses.
    let dest = tmp.path().join("gz");
    let start = (t0 + 500).to_string();
    let (ok, summary, stderr) = export(
        &server,
        &[
            "--group",
            "app",
            "--format",
            "jsonl",
            "--gzip",
            "--stream-prefix",
            "web",
            "--start",
            &start,
        ],
        &dest,
    );
    assert!(ok, "{stderr}");
    assert_eq!(summary["events"], 1);
    let bytes = std::fs::read(dest.join("part-00000.jsonl.gz")).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
        .unwrap();
    let line: Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(line["@message"], "not json");

    let dest = tmp.path().join("parquet");
    let (ok, summary, stderr) = export(&server, &["--group", "app", "--format", "parquet"], &dest);
    assert!(ok, "{stderr}");
    assert_eq!(summary["events"], 4);
    let reader = ParquetRecordBatchReaderBuilder::try_new(
        File::open(dest.join("part-00000.parquet")).unwrap(),
    )
    .unwrap()
    .build()
    .unwrap();
    let batches: Vec<_> = reader.map(|b| b.unwrap()).collect();
    let schema = batches[0].schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(
        names,
        ["timestamp", "ingestion_time", "log_stream", "message"]
    );
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 4);

    let (ok, _, stderr) = export(
        &server,
        &["--group", "app", "--format", "parquet", "--gzip"],
        &tmp.path().join("never"),
    );
    assert!(!ok);
    assert!(stderr.contains("--gzip is for jsonl"), "{stderr}");
    let (ok, _, stderr) = export(&server, &["--group", "missing", "--format", "jsonl"], &dest);
    assert!(!ok);
    assert!(stderr.contains("ResourceNotFoundException"), "{stderr}");
}
