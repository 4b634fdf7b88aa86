//! `trailwatch agent`, `exec` and `tail` against a real server, through the real binary.
//!
//! Files are rotated (by rename and by copytruncate) while they are shipped, the agent is
//! killed with SIGKILL and restarted, the server is stopped and started again: every line
//! must arrive, in file order, and only the one batch unacknowledged at the kill may
//! arrive twice. Waiting is polling with generous deadlines; no assertion is about speed.

mod common;

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use common::Server;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Longest any wait for shipped lines may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(90);

fn trailwatch() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trailwatch"));
    // Dev servers take any key; no shared files of the machine leak in.
    cmd.env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env_remove("AWS_PROFILE")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_CONFIG_FILE", "/nonexistent");
    cmd
}

fn start_agent(server: &Server, config: &Path, state: &Path, log: &Path) -> Child {
    trailwatch()
        .args(["agent", "--config"])
        .arg(config)
        .arg("--state-file")
        .arg(state)
        .args(["--endpoint", &server.endpoint])
        .stdout(Stdio::null())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .unwrap(),
        )
        .spawn()
        .expect("start the agent")
}

fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .args([&format!("-{sig}"), &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(start.elapsed() < DEADLINE, "process did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every message of a stream, oldest first; empty while the stream does not exist.
async fn messages(client: &Client, group: &str, stream: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = match client
            .get_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .start_from_head(true)
            .set_next_token(token.clone())
            .send()
            .await
        {
            Ok(p) => p,
            Err(_) => return Vec::new(),
        };
        let events = page.events();
        out.extend(
            events
                .iter()
                .filter_map(|e| e.message().map(str::to_string)),
        );
        let next = page.next_forward_token().map(str::to_string);
        if events.is_empty() || next == token {
            return out;
        }
        token = next;
    }
}

/// Polls until `done` holds for the stream's messages; returns them.
async fn wait_for(
    client: &Client,
    group: &str,
    stream: &str,
    done: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let start = Instant::now();
    loop {
        let got = messages(client, group, stream).await;
        if done(&got) {
            return got;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "gave up waiting; {} messages so far, last {:?}",
            got.len(),
            got.last()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Distinct lines in order of first arrival, and how many arrived more than once.
fn first_arrivals(got: &[String]) -> (Vec<String>, usize) {
    let mut seen = std::collections::HashSet::new();
    let mut order = Vec::new();
    for m in got {
        if seen.insert(m.clone()) {
            order.push(m.clone());
        }
    }
    let duplicates = got.len() - order.len();
    (order, duplicates)
}

fn line(i: usize) -> String {
    format!("line-{i:05} some text to make it longer")
}

fn expected(n: usize) -> Vec<String> {
    (0..n).map(line).collect()
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_awslogs_seed_config_works_verbatim() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start(&data, false, &[]);
    let log = tmp.path().join("webapp.log");
    append(&log, "first\nsecond\n");
    let config = tmp.path().join("awslogs.conf");
    let log_path = log.display();
    std::fs::write(
        &config,
        format!(
            "[{log_path}]\nlog_group_name = ApplicationLogs_Group\nlog_stream_name = {{instance_id}}\nfile = {log_path}\n"
        ),
    )
    .unwrap();
    // Credentials from the standard chain: the shared credentials file the server wrote.
    let mut agent = Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .current_dir(tmp.path())
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_PROFILE")
        .env("AWS_SHARED_CREDENTIALS_FILE", data.join("credentials"))
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .args([
            "agent",
            "--config",
            "awslogs.conf",
            "--endpoint",
            &server.endpoint,
        ])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = server.client();
    let stream = loop {
        let streams = client
            .describe_log_streams()
            .log_group_name("ApplicationLogs_Group")
            .send()
            .await;
        if let Some(s) = streams.ok().and_then(|s| {
            s.log_streams()
                .first()
                .and_then(|s| s.log_stream_name().map(str::to_string))
        }) {
            break s;
        }
        assert!(agent.try_wait().unwrap().is_none(), "the agent exited");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // No EC2 metadata service here: {instance_id} is the machine id, else the host name.
    let machine_id = std::fs::read_to_string("/etc/machine-id")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    if let Some(id) = machine_id {
        assert_eq!(stream, id);
    }
    wait_for(&client, "ApplicationLogs_Group", &stream, |m| {
        m == ["first", "second"]
    })
    .await;
    append(&log, "third\n");
    wait_for(&client, "ApplicationLogs_Group", &stream, |m| {
        m == ["first", "second", "third"]
    })
    .await;
    signal(&agent, "TERM");
    assert!(wait_exit(&mut agent).success());
    assert!(tmp.path().join("trailwatch-agent.state").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn rotations_by_rename_and_copytruncate_lose_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::dev(&tmp);
    let dir = tmp.path().join("logs");
    std::fs::create_dir(&dir).unwrap();
    let log = dir.join("app.log");
    let config = tmp.path().join("agent.conf");
    std::fs::write(
        &config,
        format!(
            "[general]\nstate_file = {}\n\n[app]\nfile = {}\nlog_group_name = rot\nlog_stream_name = s\nbuffer_duration = 300\nbatch_count = 25\n",
            tmp.path().join("ignored.state").display(),
            log.display()
        ),
    )
    .unwrap();
    let mut agent = start_agent(
        &server,
        &config,
        &tmp.path().join("state"),
        &tmp.path().join("agent.log"),
    );
    const N: usize = 600;
    let writer = {
        let log = log.clone();
        let dir = dir.clone();
        std::thread::spawn(move || {
            let open = |p: &Path| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .unwrap()
            };
            let mut f = open(&log);
            for i in 0..N {
                if i == 200 {
                    // logrotate's default: rename, then the program opens a new file.
                    std::fs::rename(&log, dir.join("app.log.1")).unwrap();
                    f = open(&log);
                }
                if i == 400 {
                    // copytruncate: the program keeps its descriptor.
                    std::fs::copy(&log, dir.join("app.log.2")).unwrap();
                    std::fs::OpenOptions::new()
                        .write(true)
                        .truncate(true)
                        .open(&log)
                        .unwrap();
                }
                writeln!(f, "{}", line(i)).unwrap();
                if i % 10 == 0 {
                    std::thread::sleep(Duration::from_millis(15));
                }
            }
        })
    };
    writer.join().unwrap();
    let client = server.client();
    let got = wait_for(&client, "rot", "s", |m| first_arrivals(m).0.len() >= N).await;
    assert_eq!(first_arrivals(&got), (expected(N), 0));
    signal(&agent, "TERM");
    assert!(wait_exit(&mut agent).success());
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_and_a_server_restart_lose_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let listen = format!("127.0.0.1:{}", free_port());
    let mut server = Server::start_at(&data, true, &listen, &[]);
    let log = tmp.path().join("app.log");
    let config = tmp.path().join("agent.conf");
    const BATCH: usize = 50;
    std::fs::write(
        &config,
        format!(
            "[app]\nfile = {}\nlog_group_name = crash\nlog_stream_name = s\nbuffer_duration = 200\nbatch_count = {BATCH}\n",
            log.display()
        ),
    )
    .unwrap();
    let state = tmp.path().join("state");
    let agent_log = tmp.path().join("agent.log");
    const N: usize = 4000;
    let writer = {
        let log = log.clone();
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log)
                .unwrap();
            for i in 0..N {
                writeln!(f, "{}", line(i)).unwrap();
                if i % 20 == 0 {
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        })
    };
    let mut agent = start_agent(&server, &config, &state, &agent_log);
    let client = server.client();
    wait_for(&client, "crash", "s", |m| m.len() >= 500).await;
    agent.kill().unwrap();
    agent.wait().unwrap();
    let mut agent = start_agent(&server, &config, &state, &agent_log);
    wait_for(&client, "crash", "s", |m| first_arrivals(m).0.len() >= 1500).await;
    // The server goes away for a while; the agent must hold its lines and retry.
    assert!(server.terminate().success());
    std::thread::sleep(Duration::from_secs(3));
    server = Server::start_at(&data, true, &listen, &[]);
    writer.join().unwrap();
    let client = server.client();
    let got = wait_for(&client, "crash", "s", |m| first_arrivals(m).0.len() >= N).await;
    let (order, duplicates) = first_arrivals(&got);
    assert_eq!(order, expected(N));
    assert!(
        duplicates <= BATCH,
        "{duplicates} duplicates: more than one batch"
    );
    signal(&agent, "TERM");
    assert!(wait_exit(&mut agent).success());
}

#[tokio::test(flavor = "multi_thread")]
async fn multi_line_events_and_datetime_formats() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::dev(&tmp);
    let log = tmp.path().join("app.log");
    let recent = chrono::Utc::now() - chrono::Duration::minutes(5);
    let stamp = |s: i64| {
        (recent + chrono::Duration::seconds(s))
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    append(
        &log,
        &format!(
            "{} ERROR boom\nTraceback:\n  at f()\n{} INFO fine\n",
            stamp(0),
            stamp(1)
        ),
    );
    let config = tmp.path().join("agent.conf");
    std::fs::write(
        &config,
        format!(
            "[app]\nfile = {}\nlog_group_name = ml\nlog_stream_name = s\ndatetime_format = %Y-%m-%d %H:%M:%S\ntime_zone = UTC\nmulti_line_start_pattern = {{datetime_format}}\nbuffer_duration = 300\n",
            log.display()
        ),
    )
    .unwrap();
    let mut agent = start_agent(
        &server,
        &config,
        &tmp.path().join("state"),
        &tmp.path().join("agent.log"),
    );
    let client = server.client();
    let got = wait_for(&client, "ml", "s", |m| m.len() >= 2).await;
    assert_eq!(
        got,
        [
            format!("{} ERROR boom\nTraceback:\n  at f()", stamp(0)),
            format!("{} INFO fine", stamp(1)),
        ]
    );
    let events = client
        .get_log_events()
        .log_group_name("ml")
        .log_stream_name("s")
        .start_from_head(true)
        .send()
        .await
        .unwrap();
    let first = events.events()[0].timestamp().unwrap();
    assert_eq!(first, (recent.timestamp()) * 1000);
    signal(&agent, "TERM");
    assert!(wait_exit(&mut agent).success());
}

fn exec(server: &Server, stream: &str, command: &[&str]) -> Command {
    let mut cmd = trailwatch();
    cmd.args([
        "exec",
        "--group",
        "ex",
        "--stream",
        stream,
        "--buffer-ms",
        "200",
        "--endpoint",
        &server.endpoint,
    ])
    .args(command);
    cmd
}

#[tokio::test(flavor = "multi_thread")]
async fn exec_ships_output_and_passes_the_exit_status_through() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::dev(&tmp);
    let client = server.client();
    let out = exec(
        &server,
        "code",
        &["--", "sh", "-c", "echo hello; echo oops >&2; exit 3"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "oops\n");
    let mut got = messages(&client, "ex", "code").await;
    got.sort();
    assert_eq!(got, ["hello", "oops"], "flushed before exit");

    // A child killed by a signal: 128 + its number.
    let out = exec(
        &server,
        "killed",
        &["--", "sh", "-c", "echo bye; kill -KILL $$"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(137));
    assert_eq!(messages(&client, "ex", "killed").await, ["bye"]);

    // Standard input mode.
    let mut child = exec(&server, "stdin", &["-"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"a\nb\r\nc").unwrap();
    assert!(wait_exit(&mut child).success());
    assert_eq!(messages(&client, "ex", "stdin").await, ["a", "b", "c"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn exec_forwards_signals_to_the_program() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::dev(&tmp);
    let client = server.client();
    for (sig, script, code, last) in [
        (
            "TERM",
            "trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 0.05; done",
            42,
            "got-term",
        ),
        (
            "INT",
            "trap 'echo got-int; exit 7' INT; echo ready; while :; do sleep 0.05; done",
            7,
            "got-int",
        ),
        ("TERM", "echo ready; exec sleep 60", 128 + 15, "ready"),
    ] {
        let stream = format!("sig-{sig}-{code}");
        let mut child = exec(&server, &stream, &["--", "sh", "-c", script])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        assert_eq!(first, "ready\n");
        signal(&child, sig);
        let status = wait_exit(&mut child);
        assert_eq!(status.code(), Some(code), "{script}");
        let got = messages(&client, "ex", &stream).await;
        assert_eq!(got.last().map(String::as_str), Some(last), "{script}");
    }
}

fn put_sample(client: &Client, group: &str, now: i64) -> impl std::future::Future<Output = ()> {
    let client = client.clone();
    let group = group.to_string();
    async move {
        client
            .create_log_group()
            .log_group_name(&group)
            .send()
            .await
            .unwrap();
        for (stream, ts, message) in [
            ("web-1", now - 60_000 + 123, "plain text"),
            ("api-1", now - 30_000, r#"{"level":"ERROR","n":[1,2]}"#),
        ] {
            client
                .create_log_stream()
                .log_group_name(&group)
                .log_stream_name(stream)
                .send()
                .await
                .unwrap();
            client
                .put_log_events()
                .log_group_name(&group)
                .log_stream_name(stream)
                .log_events(
                    InputLogEvent::builder()
                        .timestamp(ts)
                        .message(message)
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .unwrap();
        }
    }
}

fn tail(server: &Server, args: &[&str]) -> String {
    let out = trailwatch()
        .args(["tail", "--endpoint", &server.endpoint])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn iso(ms: i64) -> (String, String) {
    let t = chrono::DateTime::from_timestamp_millis(ms).unwrap();
    let full = if ms % 1000 == 0 {
        t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
    };
    (full, t.format("%Y-%m-%dT%H:%M:%S").to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn tail_prints_like_aws_logs_tail() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::dev(&tmp);
    let client = server.client();
    let now = common::now_ms() / 1000 * 1000;
    put_sample(&client, "tailed", now).await;
    let (web_full, web_short) = iso(now - 60_000 + 123);
    let (api_full, api_short) = iso(now - 30_000);
    assert_eq!(
        tail(&server, &["tailed"]),
        format!(
            "{web_full} web-1 plain text\n{api_full} api-1 {{\"level\":\"ERROR\",\"n\":[1,2]}}\n"
        )
    );
    assert_eq!(
        tail(&server, &["tailed", "--format", "short", "--since", "1h"]),
        format!("{web_short} plain text\n{api_short} {{\"level\":\"ERROR\",\"n\":[1,2]}}\n")
    );
    assert_eq!(
        tail(
            &server,
            &["tailed", "--format", "json", "--log-stream-names", "api-1"]
        ),
        format!(
            "{api_full} api-1 {{\n    \"level\": \"ERROR\",\n    \"n\": [\n        1,\n        2\n    ]\n}}\n"
        )
    );
    assert_eq!(
        tail(
            &server,
            &["tailed", "--filter-pattern", "plain", "--format", "short"]
        ),
        format!("{web_short} plain text\n")
    );
    assert_eq!(tail(&server, &["tailed", "--since", "10s"]), "");
}

#[tokio::test(flavor = "multi_thread")]
async fn tail_follow_prints_events_put_during_the_session() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::dev(&tmp);
    let client = server.client();
    let now = common::now_ms();
    put_sample(&client, "live", now).await;
    let mut child = trailwatch()
        .args([
            "tail",
            "live",
            "--follow",
            "--format",
            "short",
            "--filter-pattern",
            "-skip",
            "--endpoint",
            &server.endpoint,
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut read_line = || {
        let mut l = String::new();
        stdout.read_line(&mut l).unwrap();
        l
    };
    assert!(read_line().ends_with(" plain text\n"));
    assert!(read_line().contains("ERROR"));
    for message in ["skip this one", "new event"] {
        client
            .put_log_events()
            .log_group_name("live")
            .log_stream_name("web-1")
            .log_events(
                InputLogEvent::builder()
                    .timestamp(common::now_ms())
                    .message(message)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    assert!(
        read_line().ends_with(" new event\n"),
        "filtered by the pattern, then live"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_agent_with_the_server_away_resends_on_its_next_start() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let listen = format!("127.0.0.1:{}", free_port());
    let server = Server::start_at(&data, true, &listen, &[]);
    let log = tmp.path().join("app.log");
    append(&log, &format!("{}\n", line(0)));
    let config = tmp.path().join("agent.conf");
    std::fs::write(
        &config,
        format!(
            "[app]\nfile = {}\nlog_group_name = away\nlog_stream_name = s\nbuffer_duration = 200\n",
            log.display()
        ),
    )
    .unwrap();
    let state = tmp.path().join("state");
    let agent_log = tmp.path().join("agent.log");
    let mut agent = start_agent(&server, &config, &state, &agent_log);
    wait_for(&server.client(), "away", "s", |m| m.len() == 1).await;
    assert!(server.terminate().success());
    append(&log, &format!("{}\n{}\n", line(1), line(2)));
    std::thread::sleep(Duration::from_secs(1));
    // Asked to stop while its batch cannot be delivered: it gives up on the batch (after
    // a grace period) without recording it as sent.
    signal(&agent, "TERM");
    assert!(wait_exit(&mut agent).success());
    let server = Server::start_at(&data, true, &listen, &[]);
    let mut agent = start_agent(&server, &config, &state, &agent_log);
    let got = wait_for(&server.client(), "away", "s", |m| m.len() >= 3).await;
    assert_eq!(got, expected(3));
    signal(&agent, "TERM");
    assert!(wait_exit(&mut agent).success());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cloudwatch_agent_json_config_works() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::dev(&tmp);
    let log = tmp.path().join("json.log");
    append(&log, "one\ntwo\n");
    let config = tmp.path().join("amazon-cloudwatch-agent.json");
    let document = serde_json::json!({
        "agent": {"run_as_user": "root"},
        "logs": {
            "force_flush_interval": 1,
            "logs_collected": {"files": {"collect_list": [{
                "file_path": log.display().to_string(),
                "log_group_name": "cwagent",
                "log_stream_name": "{hostname}-json",
                "timezone": "UTC"
            }]}}
        }
    });
    std::fs::write(&config, document.to_string()).unwrap();
    let mut agent = start_agent(
        &server,
        &config,
        &tmp.path().join("state"),
        &tmp.path().join("agent.log"),
    );
    let hostname = Command::new("hostname").output().unwrap();
    let stream = format!("{}-json", String::from_utf8_lossy(&hostname.stdout).trim());
    wait_for(&server.client(), "cwagent", &stream, |m| {
        m == ["one", "two"]
    })
    .await;
    signal(&agent, "TERM");
    assert!(wait_exit(&mut agent).success());
}
