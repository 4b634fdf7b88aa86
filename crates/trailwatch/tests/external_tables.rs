//! `trailwatch sql` with `CREATE EXTERNAL TABLE` over a CloudTrail tree, against the real
//! server and on a stopped server's data directory.

mod common;

use common::Server;
use std::path::PathBuf;
use std::process::Command;

/// Runs `trailwatch sql TEXT --output json` with `target` options; the rows as JSON.
fn sql(target: &[&str], text: &str) -> (bool, serde_json::Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .arg("sql")
        .args(target)
        .args(["--output", "json", text])
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .output()
        .unwrap();
    (
        out.status.success(),
        serde_json::from_slice(&out.stdout).unwrap_or_default(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const LAKE_QUERY: &str = "SELECT eventName, eventSource, userIdentity.userName, errorCode FROM cloudtrail_logs WHERE errorCode IS NOT NULL LIMIT 100;";

#[tokio::test]
async fn the_lake_query_over_an_awslogs_tree_remote_and_local() {
    let tree =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/cloudtrail/AWSLogs");
    if !tree.is_dir() {
        eprintln!("note: {} is absent; skipping", tree.display());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::dev(&tmp);
    let remote = ["--endpoint", server.endpoint.as_str()];
    let ddl = format!(
        "CREATE EXTERNAL TABLE cloudtrail_logs STORED AS CLOUDTRAIL LOCATION '{}'",
        tree.display()
    );
    let (ok, rows, stderr) = sql(&remote, &ddl);
    assert!(ok, "{stderr}");
    assert_eq!(rows[0]["table"], "cloudtrail_logs");
    let (ok, rows, stderr) = sql(&remote, LAKE_QUERY);
    assert!(ok, "{stderr}");
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 100);
    assert!(
        rows.iter()
            .all(|r| r["errorCode"].is_string() && r["eventName"].is_string())
    );
    assert!(rows.iter().any(|r| r["userName"].is_string()), "{rows:?}");
    let (ok, _, stderr) = sql(&remote, "SELECT count(*) FROM no_such_table");
    assert!(!ok);
    assert!(
        stderr.starts_with("error: ResourceNotFoundException"),
        "{stderr}"
    );
    let (ok, _, stderr) = sql(
        &remote,
        "CREATE EXTERNAL TABLE t STORED AS CLOUDTRAIL LOCATION '/no/such/dir'",
    );
    assert!(!ok);
    assert!(stderr.contains("/no/such/dir"), "{stderr}");

    // `catalog crawl` recognises the tree and defines a second table over it.
    let out = Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .args([
            "catalog",
            "crawl",
            tree.to_str().unwrap(),
            "--table",
            "crawled",
        ])
        .args(remote)
        .args(["--output", "json"])
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("STORED AS CLOUDTRAIL"));
    let columns: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        columns
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["column"] == "errorcode")
    );
    let (ok, rows, stderr) = sql(
        &remote,
        "SELECT count(*) AS n FROM crawled WHERE errorCode IS NOT NULL",
    );
    assert!(ok, "{stderr}");
    assert!(rows[0]["n"].as_str().unwrap().parse::<u64>().unwrap() > 100);

    // The table is in the catalog: the stopped server's data directory still has it.
    server.terminate();
    let local = [
        "--data-dir",
        tmp.path().to_str().unwrap(),
        "--account",
        "123456789012",
    ];
    let (ok, rows, stderr) = sql(
        &local,
        "SELECT count(*) AS n FROM cloudtrail_logs WHERE year = '2023' AND month = '07'",
    );
    assert!(ok, "{stderr}");
    assert_eq!(rows[0]["n"], "2900");
}
