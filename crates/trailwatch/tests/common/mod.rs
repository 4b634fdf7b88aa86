//! Starting the real `trailwatch` binary on an ephemeral port, and SDK clients for it.
#![allow(dead_code)]

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::config::{Credentials, Region};
use aws_sdk_cloudwatchlogs::types::{QueryStatus, ResultField};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

/// A running server; killed when dropped.
pub struct Server {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The data directory.
    pub dir: PathBuf,
    /// Whether it runs with `--dev`.
    pub dev: bool,
}

impl Server {
    /// Starts a `--dev` server in a fresh temporary directory.
    pub fn dev(tmp: &tempfile::TempDir) -> Server {
        Server::start(tmp.path(), true, &[])
    }

    /// Starts a server on `dir` and waits until it listens.
    pub fn start(dir: &Path, dev: bool, extra: &[&str]) -> Server {
        Server::start_at(dir, dev, "127.0.0.1:0", extra)
    }

    /// Starts a server on `dir` listening on `listen` (to come back on the same port).
    pub fn start_at(dir: &Path, dev: bool, listen: &str, extra: &[&str]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_trailwatch"));
        cmd.args(["serve", "--listen", listen, "--data-dir"])
            .arg(dir)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if dev {
            cmd.arg("--dev");
        }
        let mut child = cmd.spawn().expect("start trailwatch");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let endpoint = loop {
            let line = lines
                .next()
                .expect("server exited before listening")
                .expect("read stdout");
            if let Some(rest) = line.strip_prefix("Trailwatch listening on ") {
                break rest.split_whitespace().next().expect("address").to_string();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server {
            child: Some(child),
            endpoint,
            dir: dir.to_path_buf(),
            dev,
        }
    }

    /// The admin credentials a first start wrote to `<dir>/credentials`.
    pub fn admin_credentials(&self) -> (String, String) {
        let text = std::fs::read_to_string(self.dir.join("credentials")).expect("credentials file");
        let value = |key: &str| {
            text.lines()
                .find_map(|l| {
                    l.strip_prefix(key)?
                        .trim()
                        .strip_prefix('=')
                        .map(|v| v.trim().to_string())
                })
                .expect("key in credentials file")
        };
        (value("aws_access_key_id"), value("aws_secret_access_key"))
    }

    /// A Logs client: admin credentials on an authenticated server, anything on `--dev`.
    pub fn client(&self) -> Client {
        self.client_in("us-east-1")
    }

    /// A Logs client for another region.
    pub fn client_in(&self, region: &str) -> Client {
        let (id, secret) = if self.dev {
            ("AKIDEXAMPLE".to_string(), "secret".to_string())
        } else {
            self.admin_credentials()
        };
        client_with(&self.endpoint, region, &id, &secret)
    }

    /// A CloudTrail client: admin credentials on an authenticated server, anything on `--dev`.
    pub fn cloudtrail(&self) -> aws_sdk_cloudtrail::Client {
        let (id, secret) = if self.dev {
            ("AKIDEXAMPLE".to_string(), "secret".to_string())
        } else {
            self.admin_credentials()
        };
        let config = aws_sdk_cloudtrail::Config::builder()
            .behavior_version_latest()
            .endpoint_url(&self.endpoint)
            .region(aws_sdk_cloudtrail::config::Region::new("us-east-1"))
            .credentials_provider(Credentials::new(id, secret, None, None, "test"))
            .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
            .build();
        aws_sdk_cloudtrail::Client::from_conf(config)
    }

    /// Sends SIGTERM and waits for a graceful exit.
    pub fn terminate(mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let pid = child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        wait_timeout(&mut child, Duration::from_secs(30))
    }

    /// Kills the server with SIGKILL, as a crash would.
    pub fn kill(mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn wait_timeout(child: &mut Child, limit: Duration) -> ExitStatus {
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("server did not stop within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A Logs client with static credentials and no retries (an error is seen at once).
pub fn client_with(endpoint: &str, region: &str, id: &str, secret: &str) -> Client {
    let config = aws_sdk_cloudwatchlogs::Config::builder()
        .behavior_version_latest()
        .endpoint_url(endpoint)
        .region(Region::new(region.to_string()))
        .credentials_provider(Credentials::new(id, secret, None, None, "test"))
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
        .build();
    Client::from_conf(config)
}

/// The AWS error code and message of a failed SDK call.
pub fn error_of<E, R>(
    result: Result<impl std::fmt::Debug, aws_sdk_cloudwatchlogs::error::SdkError<E, R>>,
) -> (String, String)
where
    E: aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata;
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => (
            e.code().unwrap_or("<no code>").to_string(),
            e.message().unwrap_or("").to_string(),
        ),
    }
}

/// Epoch milliseconds now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
}

/// Runs `trailwatch iam ARGS --output json` with the server's admin credentials.
pub fn iam(server: &Server, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .arg("iam")
        .args(args)
        .args(["--endpoint", &server.endpoint, "--output", "json"])
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            server.dir.join("credentials"),
        )
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "iam {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Polls GetQueryResults until query `id` is no longer scheduled or running.
pub async fn results(c: &Client, id: &str) -> (QueryStatus, Vec<Vec<ResultField>>) {
    for _ in 0..200 {
        let out = c.get_query_results().query_id(id).send().await.unwrap();
        let status = out.status().cloned().unwrap();
        if !matches!(status, QueryStatus::Scheduled | QueryStatus::Running) {
            return (status, out.results().to_vec());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("query {id} did not finish");
}

/// Every file under `dir` (recursively) whose name ends with `suffix`, sorted.
pub fn files_under(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path, suffix));
        } else if path.to_string_lossy().ends_with(suffix) {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The uncompressed bytes of a gzipped file.
pub fn gunzip(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// Polls `probe` every 100 ms until it gives a value; panics after 20 s.
pub async fn wait_for<T>(what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..200 {
        if let Some(v) = probe().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}
