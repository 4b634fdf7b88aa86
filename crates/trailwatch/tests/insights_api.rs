//! Logs Insights through the API with the official AWS SDK for Rust.

mod common;

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::types::{InputLogEvent, QueryStatus, ResultField};
use common::{Server, error_of, now_ms, results};

async fn seed(c: &Client) -> i64 {
    c.create_log_group()
        .log_group_name("app")
        .send()
        .await
        .unwrap();
    c.create_log_stream()
        .log_group_name("app")
        .log_stream_name("web")
        .send()
        .await
        .unwrap();
    let t = now_ms() - 600_000;
    let events = (0..20)
        .map(|i| {
            let level = if i % 4 == 0 { "ERROR" } else { "INFO" };
            InputLogEvent::builder()
                .timestamp(t + i * 1000)
                .message(format!(
                    r#"{{"level":"{level}","latency":{},"i":{i}}}"#,
                    i * 10
                ))
                .build()
                .unwrap()
        })
        .collect();
    c.put_log_events()
        .log_group_name("app")
        .log_stream_name("web")
        .set_log_events(Some(events))
        .send()
        .await
        .unwrap();
    t
}

/// Starts `text` over the last hour of group `app`; returns the query id.
async fn start_on_app(c: &Client, text: &str) -> String {
    let now = now_ms() / 1000;
    c.start_query()
        .log_group_name("app")
        .start_time(now - 3600)
        .end_time(now)
        .query_string(text)
        .send()
        .await
        .unwrap()
        .query_id()
        .unwrap()
        .to_string()
}

fn value<'a>(row: &'a [ResultField], field: &str) -> Option<&'a str> {
    row.iter()
        .find(|f| f.field() == Some(field))
        .and_then(|f| f.value())
}

#[tokio::test]
async fn start_query_runs_in_the_background_and_returns_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::dev(&tmp);
    let c = server.client();
    let t = seed(&c).await;
    let now = now_ms() / 1000;
    let id = c
        .start_query()
        .log_group_name("app")
        .start_time(now - 3600)
        .end_time(now)
        .query_string("fields @timestamp, level, latency | filter level = 'ERROR' | sort latency desc | limit 3")
        .send()
        .await
        .unwrap()
        .query_id()
        .unwrap()
        .to_string();
    let (status, rows) = results(&c, &id).await;
    assert_eq!(status, QueryStatus::Complete);
    let latencies: Vec<_> = rows.iter().map(|r| value(r, "latency").unwrap()).collect();
    assert_eq!(latencies, ["160", "120", "80"]);
    assert!(value(&rows[0], "@timestamp").unwrap().len() == "2026-01-01 00:00:00.000".len());
    let ptr = value(&rows[0], "@ptr")
        .expect("@ptr on every row")
        .to_string();

    let record = c
        .get_log_record()
        .log_record_pointer(&ptr)
        .send()
        .await
        .unwrap();
    let record = record.log_record().unwrap();
    assert_eq!(
        record.get("@message").map(String::as_str),
        Some(r#"{"level":"ERROR","latency":160,"i":16}"#)
    );
    assert_eq!(
        record.get("@timestamp").map(String::as_str),
        Some((t + 16_000).to_string().as_str())
    );

    let stats = c.get_query_results().query_id(&id).send().await.unwrap();
    let s = stats.statistics().unwrap();
    assert_eq!(s.records_scanned(), 20.0);
    assert_eq!(
        s.records_matched(),
        5.0,
        "every ERROR event matched; limit 3 returned three"
    );
    assert!(s.bytes_scanned() > 0.0);

    let agg = c
        .start_query()
        .log_group_identifiers("arn:aws:logs:us-east-1:123456789012:log-group:app")
        .start_time(now - 3600)
        .end_time(now)
        .query_string("stats count(*) as n, avg(latency) as avg by level | sort level")
        .send()
        .await
        .unwrap();
    let (_, rows) = results(&c, agg.query_id().unwrap()).await;
    let got: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                value(r, "level").unwrap(),
                value(r, "n").unwrap(),
                value(r, "avg").unwrap(),
            )
        })
        .collect();
    assert_eq!(got, [("ERROR", "5", "80"), ("INFO", "15", "100")]);

    let listed = c
        .describe_queries()
        .log_group_name("app")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.queries().len(), 2);
    assert!(
        listed
            .queries()
            .iter()
            .all(|q| q.status() == Some(&QueryStatus::Complete))
    );
    assert!(!c.stop_query().query_id(&id).send().await.unwrap().success());
}

#[tokio::test]
async fn malformed_queries_and_bad_requests_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::dev(&tmp);
    let c = server.client();
    seed(&c).await;
    let now = now_ms() / 1000;
    let err = c
        .start_query()
        .log_group_name("app")
        .start_time(now - 60)
        .end_time(now)
        .query_string("fields @message\n| stats count(*) by")
        .send()
        .await
        .unwrap_err();
    let service = err.into_service_error();
    assert!(service.is_malformed_query_exception(), "{service:?}");
    let aws_sdk_cloudwatchlogs::operation::start_query::StartQueryError::MalformedQueryException(m) =
        service
    else {
        unreachable!()
    };
    let location = m
        .query_compile_error()
        .and_then(|e| e.location())
        .expect("location");
    assert_eq!(location.end_char_offset(), Some(35));
    assert!(m.message().unwrap().contains("line 2"), "{:?}", m.message());

    let (code, msg) = error_of(
        c.start_query()
            .log_group_name("missing")
            .start_time(now - 60)
            .end_time(now)
            .query_string("fields @message")
            .send()
            .await,
    );
    assert_eq!(code, "ResourceNotFoundException");
    assert!(
        msg.starts_with("Log group 'missing' does not exist"),
        "{msg}"
    );
    let (code, _) = error_of(
        c.start_query()
            .log_group_name("app")
            .start_time(now)
            .end_time(now - 10)
            .query_string("fields @message")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterException");
    let (code, _) = error_of(c.get_query_results().query_id("nope").send().await);
    assert_eq!(code, "ResourceNotFoundException");

    // SOURCE picks groups by name prefix.
    let id = c
        .start_query()
        .start_time(now - 3600)
        .end_time(now)
        .query_string("SOURCE logGroups(namePrefix: ['ap']) | stats count(*) as n")
        .send()
        .await
        .unwrap();
    let (_, rows) = results(&c, id.query_id().unwrap()).await;
    assert_eq!(value(&rows[0], "n"), Some("20"));
}

#[tokio::test]
async fn query_definitions_are_saved_listed_replaced_and_deleted() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::dev(&tmp);
    let c = server.client();
    let id = c
        .put_query_definition()
        .name("errors/by-level")
        .query_string("stats count(*) by level")
        .log_group_names("app")
        .send()
        .await
        .unwrap()
        .query_definition_id()
        .unwrap()
        .to_string();
    c.put_query_definition()
        .name("other")
        .query_string("fields @message")
        .send()
        .await
        .unwrap();
    let listed = c
        .describe_query_definitions()
        .query_definition_name_prefix("errors/")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.query_definitions().len(), 1);
    assert_eq!(listed.query_definitions()[0].log_group_names(), ["app"]);
    c.put_query_definition()
        .query_definition_id(&id)
        .name("errors/by-level")
        .query_string("stats count(*) by level | sort level")
        .send()
        .await
        .unwrap();
    let listed = c.describe_query_definitions().send().await.unwrap();
    assert_eq!(listed.query_definitions().len(), 2);
    let replaced = listed
        .query_definitions()
        .iter()
        .find(|d| d.query_definition_id() == Some(&id))
        .unwrap();
    assert_eq!(
        replaced.query_string(),
        Some("stats count(*) by level | sort level")
    );
    assert!(
        replaced.log_group_names().is_empty(),
        "omitted fields are cleared"
    );
    assert!(
        c.delete_query_definition()
            .query_definition_id(&id)
            .send()
            .await
            .unwrap()
            .success()
    );
    let (code, _) = error_of(
        c.delete_query_definition()
            .query_definition_id(&id)
            .send()
            .await,
    );
    assert_eq!(code, "ResourceNotFoundException");

    // A SQL definition keeps its language and parameters, and lists filter by language.
    use aws_sdk_cloudwatchlogs::types::{QueryLanguage, QueryParameter};
    let parameter = QueryParameter::builder()
        .name("level")
        .default_value("ERROR")
        .description("which level to count")
        .build()
        .unwrap();
    c.put_query_definition()
        .name("sql/by-level")
        .query_language(QueryLanguage::Sql)
        .query_string("SELECT count(*) FROM app WHERE level = '{{level}}'")
        .parameters(parameter.clone())
        .send()
        .await
        .unwrap();
    let sql = c
        .describe_query_definitions()
        .query_language(QueryLanguage::Sql)
        .send()
        .await
        .unwrap();
    assert_eq!(sql.query_definitions().len(), 1);
    let saved = &sql.query_definitions()[0];
    assert_eq!(saved.query_language(), Some(&QueryLanguage::Sql));
    assert_eq!(saved.parameters(), [parameter]);
    let cwli = c
        .describe_query_definitions()
        .query_language(QueryLanguage::Cwli)
        .send()
        .await
        .unwrap();
    assert_eq!(cwli.query_definitions().len(), 1);
    assert_eq!(cwli.query_definitions()[0].name(), Some("other"));
    let bad_name = QueryParameter::builder().name("1st").build().unwrap();
    let (code, _) = error_of(
        c.put_query_definition()
            .name("bad")
            .query_string("fields @message")
            .parameters(bad_name)
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterException");
}

#[tokio::test]
async fn the_query_command_prints_tables_json_and_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::dev(&tmp);
    seed(&server.client()).await;
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_trailwatch"))
            .arg("query")
            .args(["--endpoint", &server.endpoint, "-g", "app", "--since", "1h"])
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
    };
    let (ok, stdout, _) = run(&[
        "--output",
        "json",
        "stats count(*) as n by level | sort level",
    ]);
    assert!(ok);
    assert_eq!(
        stdout.trim(),
        r#"[{"level":"ERROR","n":"5"},{"level":"INFO","n":"15"}]"#
    );
    let (ok, stdout, _) = run(&[
        "--output",
        "csv",
        "stats count(*) as n by level | sort level",
    ]);
    assert!(ok);
    assert_eq!(stdout, "level,n\nERROR,5\nINFO,15\n");
    let (ok, stdout, _) = run(&["fields level, latency | filter latency >= 180"]);
    assert!(ok);
    assert_eq!(
        stdout,
        "level  latency\n-----  -------\nINFO   190\nINFO   180\n"
    );
    let (ok, _, stderr) = run(&["stats count( by"]);
    assert!(!ok);
    assert!(
        stderr.starts_with("error: MalformedQueryException: "),
        "{stderr}"
    );

    // An explicit range (epoch seconds and RFC 3339) over a group given twice: each
    // event counts once.
    let c = server.client();
    c.create_log_group()
        .log_group_name("other")
        .send()
        .await
        .unwrap();
    let now = now_ms() / 1000;
    let end = chrono::DateTime::from_timestamp(now, 0)
        .unwrap()
        .to_rfc3339();
    let ranged = |groups: &[&str], start: i64| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_trailwatch"));
        cmd.arg("query").args(["--endpoint", &server.endpoint]);
        for g in groups {
            cmd.args(["-g", g]);
        }
        let out = cmd
            .args(["--start", &start.to_string(), "--end", &end])
            .args(["--output", "csv", "stats count(*) as n"])
            .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", "secret")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    assert_eq!(ranged(&["app", "app", "other"], now - 3600), "n\n20\n");
}

#[tokio::test]
async fn sql_reads_the_same_tables() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::dev(&tmp);
    let c = server.client();
    seed(&c).await;
    let now = now_ms() / 1000;
    let id = c
        .start_query()
        .query_language(aws_sdk_cloudwatchlogs::types::QueryLanguage::Sql)
        .start_time(now - 3600)
        .end_time(now)
        .query_string(
            r#"SELECT json_get_str("@message", 'level') AS level, count(*) AS n, avg(json_get_int("@message", 'latency')) AS avg
               FROM app GROUP BY 1 ORDER BY 1"#,
        )
        .send()
        .await
        .unwrap();
    let (status, rows) = results(&c, id.query_id().unwrap()).await;
    assert_eq!(status, QueryStatus::Complete);
    let got: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                value(r, "level").unwrap(),
                value(r, "n").unwrap(),
                value(r, "avg").unwrap(),
            )
        })
        .collect();
    // The same answer Insights gave for `stats count(*), avg(latency) by level`.
    assert_eq!(got, [("ERROR", "5", "80"), ("INFO", "15", "100")]);

    let (code, _) = error_of(
        c.start_query()
            .query_language(aws_sdk_cloudwatchlogs::types::QueryLanguage::Sql)
            .start_time(now - 60)
            .end_time(now)
            .query_string("SELECT * FROM missing")
            .send()
            .await,
    );
    assert_eq!(code, "ResourceNotFoundException");
    let (code, _) = error_of(
        c.start_query()
            .query_language(aws_sdk_cloudwatchlogs::types::QueryLanguage::Sql)
            .start_time(now - 60)
            .end_time(now)
            .query_string("SELEC * FROM app")
            .send()
            .await,
    );
    assert_eq!(code, "MalformedQueryException");
    let (code, msg) = error_of(
        c.start_query()
            .query_language(aws_sdk_cloudwatchlogs::types::QueryLanguage::Sql)
            .start_time(now - 60)
            .end_time(now)
            .query_string("DROP TABLE app")
            .send()
            .await,
    );
    assert_eq!(code, "MalformedQueryException");
    assert!(msg.starts_with("Only SELECT queries are allowed"), "{msg}");

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .args([
            "sql",
            "--endpoint",
            &server.endpoint,
            "--since",
            "1h",
            "--output",
            "csv",
        ])
        .arg(r#"SELECT "@logStream" AS stream, count(*) AS n FROM app GROUP BY 1"#)
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "stream,n\nweb,20\n");
}

#[tokio::test]
async fn queries_run_directly_on_a_stopped_servers_data_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::dev(&tmp);
    seed(&server.client()).await;
    assert!(server.terminate().success());
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_trailwatch"))
            .args(args)
            .arg("--data-dir")
            .arg(tmp.path())
            // No --account: a --dev server's data lives in the account it bootstrapped.
            .args(["--since", "1h", "--output", "csv"])
            .output()
            .unwrap()
    };
    let out = run(&[
        "query",
        "-g",
        "app",
        "stats count(*) as n by level | sort level",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "level,n\nERROR,5\nINFO,15\n"
    );
    let out = run(&["sql", "SELECT count(*) AS n FROM app"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "n\n20\n");
}

#[tokio::test]
async fn finished_queries_keep_their_results_across_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::dev(&tmp);
    let c = server.client();
    seed(&c).await;
    let id = start_on_app(&c, "stats count(*) as n by level | sort level").await;
    let (status, before) = results(&c, &id).await;
    assert_eq!(status, QueryStatus::Complete);
    assert_eq!(server.terminate().code(), Some(0));

    let server = Server::dev(&tmp);
    let c = server.client();
    let after = c.get_query_results().query_id(&id).send().await.unwrap();
    assert_eq!(after.status(), Some(&QueryStatus::Complete));
    assert_eq!(after.results(), before.as_slice());
    let counts: Vec<_> = after
        .results()
        .iter()
        .map(|r| (value(r, "level").unwrap(), value(r, "n").unwrap()))
        .collect();
    assert_eq!(counts, [("ERROR", "5"), ("INFO", "15")]);
    assert_eq!(after.statistics().unwrap().records_scanned(), 20.0);
    let listed = c.describe_queries().send().await.unwrap();
    let q = listed
        .queries()
        .iter()
        .find(|q| q.query_id() == Some(id.as_str()))
        .expect("the kept query is listed");
    assert_eq!(q.status(), Some(&QueryStatus::Complete));
    assert_eq!(q.log_group_name(), Some("app"));
}

#[tokio::test]
async fn kept_results_expire_after_the_configured_time() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), true, &["--query-results-secs", "1"]);
    let c = server.client();
    seed(&c).await;
    let id = start_on_app(&c, "stats count(*)").await;
    assert_eq!(results(&c, &id).await.0, QueryStatus::Complete);
    assert_eq!(server.terminate().code(), Some(0));
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;

    let server = Server::start(tmp.path(), true, &["--query-results-secs", "1"]);
    let err = error_of(
        server
            .client()
            .get_query_results()
            .query_id(&id)
            .send()
            .await,
    );
    assert_eq!(err.0, "ResourceNotFoundException");
    assert_eq!(
        std::fs::read_dir(tmp.path().join("queries"))
            .unwrap()
            .count(),
        0,
        "the expired result file is deleted"
    );
}

#[test]
fn printing_into_a_closed_pipe_ends_quietly() {
    use std::io::{BufRead, BufReader};
    let tmp = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .args(["sql", "--data-dir"])
        .arg(tmp.path().join("data"))
        .args([
            "--account",
            "123456789012",
            "SELECT * FROM unnest(range(1, 500000)) AS t(x)",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert_eq!(first.trim(), "x");
    // The reader is gone, as after `| head -1`.
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    use std::os::unix::process::ExitStatusExt;
    assert!(
        out.status.signal() == Some(libc::SIGPIPE) || out.status.success(),
        "{:?}",
        out.status
    );
}

/// Fills group `slow` with 60,000 events: enough that a regex over all of them takes a
/// debug build well over the few milliseconds the tests below need a query to run.
async fn seed_slow(c: &Client) {
    c.create_log_group()
        .log_group_name("slow")
        .send()
        .await
        .unwrap();
    c.create_log_stream()
        .log_group_name("slow")
        .log_stream_name("s")
        .send()
        .await
        .unwrap();
    let t = now_ms() - 600_000;
    for batch in 0..6 {
        let events = (0..10_000)
            .map(|i| {
                InputLogEvent::builder()
                    .timestamp(t + batch * 10_000 + i)
                    .message(format!("user=u{} path=/p/{} status={}", i % 97, i, i % 5))
                    .build()
                    .unwrap()
            })
            .collect();
        c.put_log_events()
            .log_group_name("slow")
            .log_stream_name("s")
            .set_log_events(Some(events))
            .send()
            .await
            .unwrap();
    }
}

const SLOW_QUERY: &str = r"parse @message /user=(?<user>\w+) path=(?<path>\S+)/ | stats count_distinct(path) as paths by user, sha256(path) as h";

async fn start_slow(c: &Client) -> String {
    let now = now_ms() / 1000;
    c.start_query()
        .log_group_name("slow")
        .start_time(now - 3600)
        .end_time(now)
        .query_string(SLOW_QUERY)
        .send()
        .await
        .unwrap()
        .query_id()
        .unwrap()
        .to_string()
}

async fn status_of(c: &Client, id: &str) -> QueryStatus {
    let out = c.get_query_results().query_id(id).send().await.unwrap();
    out.status().cloned().unwrap()
}

#[tokio::test]
async fn queries_beyond_the_limit_wait_and_running_ones_can_be_stopped() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), true, &["--query-concurrency", "1"]);
    let c = server.client();
    seed(&c).await;
    seed_slow(&c).await;
    let running = start_slow(&c).await;
    for _ in 0..200 {
        if status_of(&c, &running).await != QueryStatus::Scheduled {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(status_of(&c, &running).await, QueryStatus::Running);
    let waiting = start_on_app(&c, "stats count(*) as n").await;
    assert_eq!(status_of(&c, &waiting).await, QueryStatus::Scheduled);
    let listed = c
        .describe_queries()
        .status(QueryStatus::Scheduled)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.queries().len(), 1);
    assert_eq!(listed.queries()[0].query_id(), Some(waiting.as_str()));
    use aws_sdk_cloudwatchlogs::types::QueryLanguage;
    let sql = c
        .describe_queries()
        .query_language(QueryLanguage::Sql)
        .send()
        .await
        .unwrap();
    assert!(sql.queries().is_empty());
    let cwli = c
        .describe_queries()
        .query_language(QueryLanguage::Cwli)
        .send()
        .await
        .unwrap();
    assert_eq!(cwli.queries().len(), 2);

    let stopped = c.stop_query().query_id(&running).send().await.unwrap();
    assert!(stopped.success());
    assert_eq!(status_of(&c, &running).await, QueryStatus::Cancelled);
    // Its slot is free: the waiting query runs.
    let (status, rows) = results(&c, &waiting).await;
    assert_eq!(status, QueryStatus::Complete);
    assert_eq!(value(&rows[0], "n"), Some("20"));
    // Stopping a query that has ended does nothing.
    let again = c.stop_query().query_id(&running).send().await.unwrap();
    assert!(!again.success());
}

#[tokio::test]
async fn a_query_running_past_the_timeout_ends_as_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), true, &["--query-timeout-secs", "0.05"]);
    let c = server.client();
    seed_slow(&c).await;
    let id = start_slow(&c).await;
    let (status, rows) = results(&c, &id).await;
    assert_eq!(status, QueryStatus::Timeout);
    assert!(rows.is_empty());
}

#[tokio::test]
async fn results_page_and_start_query_checks_its_input() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::dev(&tmp);
    let c = server.client();
    seed(&c).await;
    let id = start_on_app(&c, "fields i | sort i asc").await;
    let (_, all) = results(&c, &id).await;
    assert_eq!(all.len(), 20);
    let mut paged = Vec::new();
    let mut token = None;
    loop {
        let page = c
            .get_query_results()
            .query_id(&id)
            .max_items(7)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        assert!(page.results().len() <= 7);
        paged.extend(page.results().iter().cloned());
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(paged, all);

    let now = now_ms() / 1000;
    let start = |text: &str, limit: i32| {
        c.start_query()
            .log_group_name("app")
            .start_time(now - 3600)
            .end_time(now)
            .query_string(text)
            .limit(limit)
            .send()
    };
    let (code, _) = error_of(start("fields @message", 100_001).await);
    assert_eq!(code, "InvalidParameterException");
    // Mistakes that only planning finds are refused up front, not failed later.
    for bad in [
        r#"fields parseDate(@message, "yyyy VV")"#,
        r#"fields formatDate(@timestamp, "%Q")"#,
        "stats count(*) by bin(2mo)",
    ] {
        let (code, _) = error_of(start(bad, 10).await);
        assert_eq!(code, "MalformedQueryException", "{bad}");
    }
    // A group named twice, by name and by ARN, is read once.
    let arn = c
        .describe_log_groups()
        .log_group_name_prefix("app")
        .send()
        .await
        .unwrap()
        .log_groups()[0]
        .arn()
        .unwrap()
        .to_string();
    let id = c
        .start_query()
        .log_group_identifiers("app")
        .log_group_identifiers(arn.trim_end_matches(":*"))
        .start_time(now - 3600)
        .end_time(now)
        .query_string("stats count(*) as n")
        .send()
        .await
        .unwrap()
        .query_id()
        .unwrap()
        .to_string();
    let (_, rows) = results(&c, &id).await;
    assert_eq!(value(&rows[0], "n"), Some("20"));
}
