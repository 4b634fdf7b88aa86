//! `trailwatch archive` against the real server with a local archive directory: policies,
//! passes, the Hive layout on disk, identical answers before and after, restarts,
//! deletion after M days, bad input, and the calls recorded in CloudTrail.

mod common;

use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::types::{InputLogEvent, QueryStatus};
use common::{Server, files_under, now_ms, results};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const GROUP: &str = "/app/api";
const GROUP_DIR: &str = "account=123456789012/region=us-east-1/log_group=%2Fapp%2Fapi";
const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// Runs `trailwatch ARGS --endpoint E --output json`: exit status, stdout as JSON, stderr.
fn cli(server: &Server, args: &[&str]) -> (bool, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .args(args)
        .args(["--endpoint", &server.endpoint, "--output", "json"])
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    (
        out.status.success(),
        serde_json::from_str(&stdout).unwrap_or(Value::String(stdout.into_owned())),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Three hours of events twelve days ago on two streams, and one recent event each.
async fn seed(logs: &Client, old: i64) {
    logs.create_log_group()
        .log_group_name(GROUP)
        .send()
        .await
        .unwrap();
    for stream in ["a", "b"] {
        logs.create_log_stream()
            .log_group_name(GROUP)
            .log_stream_name(stream)
            .send()
            .await
            .unwrap();
        let mut events: Vec<InputLogEvent> = (0..60)
            .map(|i| {
                let level = if i % 4 == 0 { "ERROR" } else { "INFO" };
                InputLogEvent::builder()
                    .timestamp(old + i * 3 * 60_000 + i64::from(stream == "b"))
                    .message(format!(
                        r#"{{"level":"{level}","stream":"{stream}","i":{i}}}"#
                    ))
                    .build()
                    .unwrap()
            })
            .collect();
        logs.put_log_events()
            .log_group_name(GROUP)
            .log_stream_name(stream)
            .set_log_events(Some(events.clone()))
            .send()
            .await
            .unwrap();
        events.clear();
        logs.put_log_events()
            .log_group_name(GROUP)
            .log_stream_name(stream)
            .log_events(
                InputLogEvent::builder()
                    .timestamp(now_ms() - 60_000)
                    .message(format!(
                        r#"{{"level":"ERROR","stream":"{stream}","recent":true}}"#
                    ))
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
}

/// Rows of an Insights query over the group for all time, without `@ptr`.
async fn insights(logs: &Client, query: &str) -> Vec<Vec<(String, String)>> {
    let id = logs
        .start_query()
        .log_group_name(GROUP)
        .start_time(0)
        .end_time(now_ms() / 1000 + 60)
        .query_string(query)
        .send()
        .await
        .unwrap()
        .query_id()
        .unwrap()
        .to_string();
    let (status, rows) = results(logs, &id).await;
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

/// Everything a reader can see of the group: Insights, SQL, GetLogEvents, FilterLogEvents.
async fn answers(server: &Server) -> Vec<String> {
    let logs = server.client();
    let mut out = vec![
        format!(
            "{:?}",
            insights(&logs, "stats count(*) as n by level | sort level").await
        ),
        format!(
            "{:?}",
            insights(
                &logs,
                "fields @timestamp, @logStream, @message | sort @timestamp asc | limit 500"
            )
            .await
        ),
        format!("{:?}", {
            // Groups come in no particular order.
            let mut rows = insights(
                &logs,
                "filter level = 'ERROR' | stats count(*) as n by bin(1h)",
            )
            .await;
            rows.sort();
            rows
        }),
    ];
    let (ok, rows, stderr) = cli(
        server,
        &[
            "sql",
            "--since",
            "30d",
            r#"SELECT "@logStream" AS s, count(*) AS n, min("@timestamp") AS first FROM "/app/api" GROUP BY 1 ORDER BY 1"#,
        ],
    );
    assert!(ok, "{stderr}");
    out.push(rows.to_string());
    for stream in ["a", "b"] {
        for from_head in [true, false] {
            let page = logs
                .get_log_events()
                .log_group_name(GROUP)
                .log_stream_name(stream)
                .start_from_head(from_head)
                .limit(50)
                .send()
                .await
                .unwrap();
            let events: Vec<String> = page
                .events()
                .iter()
                .map(|e| format!("{:?} {:?}", e.timestamp(), e.message()))
                .collect();
            out.push(format!("{stream} {from_head} {events:?}"));
        }
    }
    let filtered = logs
        .filter_log_events()
        .log_group_name(GROUP)
        .start_time(0)
        .filter_pattern("{ $.level = \"ERROR\" }")
        .send()
        .await
        .unwrap();
    let events: Vec<String> = filtered
        .events()
        .iter()
        .map(|e| {
            format!(
                "{:?} {:?} {:?}",
                e.timestamp(),
                e.log_stream_name(),
                e.message()
            )
        })
        .collect();
    out.push(format!("{events:?}"));
    out
}

/// Asserts two sets of answers are equal, naming the first that differs and where.
fn same(after: &[String], before: &[String]) {
    assert_eq!(after.len(), before.len());
    for (i, (a, b)) in after.iter().zip(before).enumerate() {
        if a != b {
            let at = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
            let tail = |t: &str| {
                t.chars()
                    .skip(at.saturating_sub(80))
                    .take(240)
                    .collect::<String>()
            };
            panic!(
                "answer {i} differs at {at}:\n after: {}\nbefore: {}",
                tail(a),
                tail(b)
            );
        }
    }
}

fn status(server: &Server) -> Value {
    let (ok, status, stderr) = cli(server, &["archive", "status", "--group", GROUP]);
    assert!(ok, "{stderr}");
    status["logGroups"][0].clone()
}

/// Local segment files of an hour (`2026-11-15T09`), of any group.
fn local_segments(dir: &Path, hour: &str) -> usize {
    files_under(&dir.join("segments"), ".parquet")
        .iter()
        .filter(|f| f.to_string_lossy().contains(&format!("/hour={hour}/")))
        .count()
}

#[tokio::test]
async fn old_hours_move_to_the_archive_and_answers_stay_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let archive = tmp.path().join("archive");
    let location = archive.to_str().unwrap().to_string();
    let extra = ["--archive-location", location.as_str()];
    let server = Server::start(&data, true, &extra);
    let logs = server.client();
    // Just after midnight, so that the three hours share one date whatever the time.
    let old = (now_ms() - 12 * DAY_MS) / DAY_MS * DAY_MS + 60_000;
    seed(&logs, old).await;
    let before = answers(&server).await;
    assert!(before[0].contains(r#"("n", "32")"#), "{}", before[0]);

    // Bad input, with AWS's error codes.
    for (args, code) in [
        (
            vec!["--archive-after-days", "10", "--delete-after-days", "10"],
            "InvalidParameterException",
        ),
        (
            vec!["--archive-after-days", "0"],
            "InvalidParameterException",
        ),
        (vec!["--show"], "ResourceNotFoundException"),
        (vec!["--delete"], "ResourceNotFoundException"),
    ] {
        let mut all = vec!["archive", "policy", "--group", GROUP];
        all.extend(args);
        let (ok, _, stderr) = cli(&server, &all);
        assert!(!ok && stderr.contains(code), "{all:?}: {stderr}");
    }
    let (ok, _, stderr) = cli(
        &server,
        &[
            "archive",
            "policy",
            "--group",
            "nope",
            "--archive-after-days",
            "7",
        ],
    );
    assert!(
        !ok && stderr.contains("ResourceNotFoundException"),
        "{stderr}"
    );
    let (ok, _, stderr) = cli(&server, &["archive", "run", "--group", GROUP]);
    assert!(
        !ok && stderr.contains("ResourceNotFoundException"),
        "{stderr}"
    );

    let (ok, _, stderr) = cli(
        &server,
        &[
            "archive",
            "policy",
            "--group",
            GROUP,
            "--archive-after-days",
            "7",
        ],
    );
    assert!(ok, "{stderr}");
    let (ok, policy, stderr) = cli(&server, &["archive", "policy", "--group", GROUP, "--show"]);
    assert!(ok, "{stderr}");
    assert_eq!(policy["archiveAfterDays"], 7);
    assert!(policy.get("deleteAfterDays").is_none());
    let st = status(&server);
    assert_eq!(st["archived"]["files"], 0);
    assert!(st["lifecyclePolicy"].is_object());

    let (ok, run, stderr) = cli(&server, &["archive", "run"]);
    assert!(ok, "{stderr}");
    let hours = run["archived"].as_array().unwrap();
    assert_eq!(hours.len(), 3, "{run}");
    assert_eq!(
        hours
            .iter()
            .map(|h| h["events"].as_i64().unwrap())
            .sum::<i64>(),
        120
    );

    // The Hive layout, one file per hour; only the recent hour stays local.
    let files = files_under(&archive, ".parquet");
    assert_eq!(files.len(), 3, "{files:?}");
    let day = chrono::DateTime::from_timestamp_millis(old)
        .unwrap()
        .format("%Y-%m-%d")
        .to_string();
    for (i, f) in files.iter().enumerate() {
        let rel = f.strip_prefix(&archive).unwrap().to_str().unwrap();
        let hour = chrono::DateTime::from_timestamp_millis(old + i as i64 * HOUR_MS)
            .unwrap()
            .format("%H")
            .to_string();
        assert!(
            rel.starts_with(&format!("{GROUP_DIR}/date={day}/hour={hour}/")),
            "{rel}"
        );
    }
    let st = status(&server);
    assert_eq!(st["archived"]["files"], 3);
    assert_eq!(st["archived"]["events"], 120);
    assert_eq!(st["local"]["events"], 2);
    for i in 0..3 {
        let hour = chrono::DateTime::from_timestamp_millis(old + i * HOUR_MS)
            .unwrap()
            .format("%Y-%m-%dT%H")
            .to_string();
        assert_eq!(local_segments(&data, &hour), 0, "{hour}");
    }
    same(&answers(&server).await, &before);

    // The calls are in CloudTrail under their own names.
    let recorded = server
        .cloudtrail()
        .lookup_events()
        .lookup_attributes(
            LookupAttribute::builder()
                .attribute_key(LookupAttributeKey::EventName)
                .attribute_value("RunArchive")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert!(!recorded.events().is_empty());

    // A restart keeps everything where it is.
    assert!(server.terminate().success());
    let server = Server::start(&data, true, &extra);
    same(&answers(&server).await, &before);
    assert_eq!(files_under(&archive, ".parquet").len(), 3);

    // Deleting after 11 days removes the archived objects; the recent events stay.
    let (ok, _, stderr) = cli(
        &server,
        &[
            "archive",
            "policy",
            "--group",
            GROUP,
            "--archive-after-days",
            "7",
            "--delete-after-days",
            "11",
        ],
    );
    assert!(ok, "{stderr}");
    let (ok, _, stderr) = cli(&server, &["archive", "run", "--group", GROUP]);
    assert!(ok, "{stderr}");
    assert!(files_under(&archive, ".parquet").is_empty());
    let logs = server.client();
    assert_eq!(
        insights(&logs, "stats count(*) as n").await,
        vec![vec![("n".to_string(), "2".to_string())]]
    );
    let st = status(&server);
    assert_eq!(st["archived"]["files"], 0);
    assert_eq!(st["lifecyclePolicy"]["deleteAfterDays"], 11);
    let (ok, _, stderr) = cli(
        &server,
        &["archive", "policy", "--group", GROUP, "--delete"],
    );
    assert!(ok, "{stderr}");
}

#[tokio::test]
async fn the_server_archives_on_its_own_schedule() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let archive = tmp.path().join("archive");
    let location = archive.to_str().unwrap().to_string();
    let server = Server::start(
        &data,
        true,
        &[
            "--archive-location",
            &location,
            "--archive-interval-secs",
            "1",
        ],
    );
    let logs = server.client();
    seed(&logs, (now_ms() - 12 * DAY_MS) / HOUR_MS * HOUR_MS).await;
    let (ok, _, stderr) = cli(
        &server,
        &[
            "archive",
            "policy",
            "--group",
            GROUP,
            "--archive-after-days",
            "7",
        ],
    );
    assert!(ok, "{stderr}");
    let archived = common::wait_for("the scheduled archive pass", async || {
        let st = status(&server);
        (st["archived"]["events"] == 120).then_some(st)
    })
    .await;
    assert_eq!(archived["archived"]["files"], 3);
    assert_eq!(files_under(&archive, ".parquet").len(), 3);
    assert_eq!(
        insights(&logs, "stats count(*) as n").await,
        vec![vec![("n".to_string(), "122".to_string())]]
    );
}
