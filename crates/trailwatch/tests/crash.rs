//! Crash consistency: `kill -9` the real server while PutLogEvents calls are in flight,
//! restart it on the same data directory, and check the store's promise.
//!
//! - every acknowledged event is read back exactly once, with its timestamp and message;
//! - a batch whose call failed or was cut off is all there or not there at all;
//! - nothing that was never sent appears, and nothing appears twice;
//! - events come back in `(timestamp, arrival)` order;
//! - FilterLogEvents sees exactly what GetLogEvents sees.
//!
//! Cycles vary the memtable budget and flush interval so kills also land in the middle of
//! flushes (segment writes, catalog commits, WAL deletion; after each kill the test reports
//! which traces it left). The second test appends garbage to the newest WAL file between
//! a kill and a restart (a torn tail).
//!
//! Set `CRASH_SEED=<n>` to repeat a run's random choices (the kill timing still varies).

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::config::retry::RetryConfig;
use aws_sdk_cloudwatchlogs::config::timeout::TimeoutConfig;
use aws_sdk_cloudwatchlogs::config::{Credentials, Region};
use aws_sdk_cloudwatchlogs::error::SdkError;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Crash cycles of the main test (`CRASH_CYCLES` overrides, for longer soak runs).
const CYCLES: usize = 12;
/// Concurrent writer tasks per cycle; writer `w` owns stream `writer-{w}`.
const WRITERS: usize = 6;
/// The two groups; writer `w` writes to `GROUPS[w % 2]`.
const GROUPS: [&str; 2] = ["crash-a", "crash-b"];
/// A writer stops after this many batches in one cycle even if the server is still up.
const MAX_BATCHES_PER_CYCLE: usize = 400;
/// Each writer sends at most about this many events a second.
const WRITER_EVENTS_PER_SEC: f64 = 1000.0;
/// Longest a server may take to start listening (it replays the WAL first).
const START_TIMEOUT: Duration = Duration::from_secs(60);

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

/// The instant one batch in five puts all its events at: half an hour before the first
/// call, the same for every writer and cycle.
fn shared_ts() -> i64 {
    static SHARED: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *SHARED.get_or_init(|| now_ms() - 1_800_000)
}

fn seed() -> u64 {
    std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().next_u64())
}

// ---------------------------------------------------------------------------------------
// The server process
// ---------------------------------------------------------------------------------------

/// Flags of one server start.
#[derive(Debug, Clone, Copy, Default)]
struct ServerFlags {
    flush_interval_secs: Option<u64>,
    memtable_mib: Option<usize>,
}

/// A running `trailwatch serve`; killed with SIGKILL when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    /// Starts the server on `data` and waits for its "listening" line. Its stderr (the
    /// tracing log) is appended to `log`.
    async fn start(data: &Path, log: &Path, flags: ServerFlags) -> Server {
        let stderr = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("open server log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_trailwatch"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--dev", "--data-dir"])
            .arg(data)
            .env("TRAILWATCH_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .kill_on_drop(true);
        if let Some(secs) = flags.flush_interval_secs {
            cmd.args(["--flush-interval-secs", &secs.to_string()]);
        }
        if let Some(mib) = flags.memtable_mib {
            cmd.args(["--memtable-mib", &mib.to_string()]);
        }
        let mut child = cmd.spawn().expect("spawn trailwatch");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let found = tokio::time::timeout(START_TIMEOUT, async {
            while let Some(line) = lines.next_line().await.expect("read server stdout") {
                if let Some(rest) = line.strip_prefix("Trailwatch listening on ") {
                    return Some(rest.split_whitespace().next()?.to_string());
                }
            }
            None
        })
        .await;
        let url = match found {
            Ok(Some(url)) => url,
            Ok(None) => {
                let status = child.wait().await;
                panic!(
                    "server exited before listening ({status:?}); log:\n{}",
                    log_tail(log)
                );
            }
            Err(_) => {
                let _ = child.kill().await;
                panic!(
                    "server did not listen within {START_TIMEOUT:?}; log:\n{}",
                    log_tail(log)
                );
            }
        };
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "unexpected address {url}"
        );
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Server { child, url }
    }

    /// SIGKILL, as a crash would, and reap the process.
    async fn kill(mut self) {
        self.child.kill().await.expect("kill -9 the server");
    }
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// A Logs client for the server. `retries: false` for puts, so an answer is the answer.
fn client(url: &str, retries: bool) -> Client {
    let config = aws_sdk_cloudwatchlogs::Config::builder()
        .behavior_version_latest()
        .endpoint_url(url)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKID", "secret", None, None, "test"))
        .retry_config(if retries {
            RetryConfig::standard()
        } else {
            RetryConfig::disabled()
        })
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_timeout(Duration::from_secs(60))
                .build(),
        )
        .build();
    Client::from_conf(config)
}

async fn create_streams(client: &Client, writers: usize) {
    for group in GROUPS {
        client
            .create_log_group()
            .log_group_name(group)
            .send()
            .await
            .expect("CreateLogGroup");
    }
    for w in 0..writers {
        client
            .create_log_stream()
            .log_group_name(GROUPS[w % 2])
            .log_stream_name(stream_name(w))
            .send()
            .await
            .expect("CreateLogStream");
    }
}

fn stream_name(writer: usize) -> String {
    format!("writer-{writer}")
}

// ---------------------------------------------------------------------------------------
// What was sent
// ---------------------------------------------------------------------------------------

/// One PutLogEvents call and what came of it.
struct Sent {
    /// `c{cycle}-w{writer}-b{batch}`; event `i` has message `{key}-{i} {padding}`.
    key: String,
    writer: usize,
    /// Cycle and batch number: at equal timestamps, events come back in this order.
    order: (usize, usize),
    events: Vec<(i64, String)>,
    /// 200 OK came back.
    acked: bool,
}

/// Everything sent to one data directory, by batch key.
#[derive(Default)]
struct Ledger {
    batches: HashMap<String, Sent>,
    /// Error responses the server sent (not connection failures): none are expected.
    service_errors: Vec<String>,
}

impl Ledger {
    fn add(&mut self, sent: Vec<Sent>) {
        for s in sent {
            let old = self.batches.insert(s.key.clone(), s);
            assert!(old.is_none(), "batch key used twice");
        }
    }

    fn acked_events(&self) -> usize {
        self.batches
            .values()
            .filter(|b| b.acked)
            .map(|b| b.events.len())
            .sum()
    }
}

const PAD_CHARS: &[char] = &[
    'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'x', 'y', 'z', '0', '1', '2', '9', ' ', '"', '\\', 'é',
    '€', '{', '}', ':', '/', '\t',
];

/// A batch of events for one PutLogEvents call: chronological, sometimes equal
/// timestamps, spread over the last few hours (so flushes write several hourly segments),
/// mostly small but sometimes hundreds of events or one large message. One batch in five
/// puts every event at `shared_ts`, the same instant for every writer and cycle, so many
/// events tie on timestamp and only their arrival order tells them apart.
fn make_batch(rng: &mut StdRng, key: &str, shared_ts: i64) -> Vec<(i64, String)> {
    let count = match rng.random_range(0..100) {
        0..65 => rng.random_range(1..=20),
        65..95 => rng.random_range(20..=120),
        _ => rng.random_range(200..=800),
    };
    let max_pad = if count <= 3 && rng.random_bool(0.1) {
        60_000
    } else if count > 200 {
        100
    } else {
        400
    };
    let shared = rng.random_bool(0.2);
    let mut ts = if shared {
        shared_ts
    } else {
        now_ms() - rng.random_range(0..3 * 3_600_000)
    };
    let mut events = Vec::with_capacity(count);
    for i in 0..count {
        if !shared {
            ts += rng.random_range(0..3);
        }
        let pad_len = rng.random_range(0..=max_pad);
        let mut message = format!("{key}-{i} ");
        for _ in 0..pad_len {
            message.push(PAD_CHARS[rng.random_range(0..PAD_CHARS.len())]);
        }
        events.push((ts, message));
    }
    events
}

/// Puts batches to the writer's stream until a call fails (the server was killed) or the
/// cycle's cap is reached. Returns every batch it tried to send.
async fn writer(
    client: Client,
    cycle: usize,
    w: usize,
    seed: u64,
    shared_ts: i64,
) -> (Vec<Sent>, Vec<String>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut sent = Vec::new();
    let mut service_errors = Vec::new();
    let started = Instant::now();
    let mut events_sent = 0usize;
    for b in 0..MAX_BATCHES_PER_CYCLE {
        let key = format!("c{cycle}-w{w}-b{b}");
        let events = make_batch(&mut rng, &key, shared_ts);
        let input: Vec<InputLogEvent> = events
            .iter()
            .map(|(ts, m)| {
                InputLogEvent::builder()
                    .timestamp(*ts)
                    .message(m.clone())
                    .build()
                    .expect("event")
            })
            .collect();
        let result = client
            .put_log_events()
            .log_group_name(GROUPS[w % 2])
            .log_stream_name(stream_name(w))
            .set_log_events(Some(input))
            .send()
            .await;
        let acked = match result {
            Ok(out) => {
                assert!(
                    out.rejected_log_events_info().is_none(),
                    "{key}: events rejected: {:?}",
                    out.rejected_log_events_info()
                );
                true
            }
            Err(SdkError::ServiceError(e)) => {
                service_errors.push(format!("{key}: {:?}", e.err()));
                false
            }
            Err(_) => false,
        };
        sent.push(Sent {
            key,
            writer: w,
            order: (cycle, b),
            events,
            acked,
        });
        if !acked {
            break;
        }
        // Pace the writer so the data (and the read-back) stay bounded on a fast machine.
        events_sent += sent.last().map_or(0, |s| s.events.len());
        let due = Duration::from_secs_f64(events_sent as f64 / WRITER_EVENTS_PER_SEC);
        let pause = due
            .saturating_sub(started.elapsed())
            .max(Duration::from_millis(rng.random_range(0..5)));
        tokio::time::sleep(pause).await;
    }
    (sent, service_errors)
}

// ---------------------------------------------------------------------------------------
// Reading back and checking
// ---------------------------------------------------------------------------------------

/// Every event of a stream, GetLogEvents from the head, following nextForwardToken until
/// it repeats.
async fn read_stream(client: &Client, group: &str, stream: &str) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..100_000 {
        let page = client
            .get_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .start_from_head(true)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("GetLogEvents {group}/{stream}: {e:?}"));
        for e in page.events() {
            out.push((
                e.timestamp().expect("timestamp"),
                e.message().expect("message").to_string(),
            ));
        }
        let next = page.next_forward_token().expect("nextForwardToken");
        if token.as_deref() == Some(next) {
            assert!(
                page.events().is_empty(),
                "a repeated token came with events"
            );
            return out;
        }
        token = Some(next.to_string());
    }
    panic!("GetLogEvents {group}/{stream} never repeated its token");
}

/// Every event of a group through FilterLogEvents, following nextToken: the message ids,
/// and the eventIds the server gave more than one event.
async fn filter_group(client: &Client, group: &str) -> (Vec<String>, Vec<String>) {
    let mut ids = Vec::new();
    let mut event_ids = HashSet::new();
    let mut shared_event_ids = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..100_000 {
        let page = client
            .filter_log_events()
            .log_group_name(group)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("FilterLogEvents {group}: {e:?}"));
        for e in page.events() {
            let message = e.message().expect("message");
            ids.push(event_id(message).to_string());
            let server_id = e.event_id().expect("eventId");
            if !event_ids.insert(server_id.to_string()) {
                shared_event_ids.push(server_id.to_string());
            }
        }
        match page.next_token() {
            Some(next) => token = Some(next.to_string()),
            None => return (ids, shared_event_ids),
        }
    }
    panic!("FilterLogEvents {group} never ended");
}

/// `c1-w2-b3-4` of a message `c1-w2-b3-4 padding`.
fn event_id(message: &str) -> &str {
    message.split_once(' ').map_or(message, |(id, _)| id)
}

/// `("c1-w2-b3", 4)` of an event id.
fn split_id(id: &str) -> Option<(&str, usize)> {
    let (batch, i) = id.rsplit_once('-')?;
    Some((batch, i.parse().ok()?))
}

/// What a check found, for the report.
#[derive(Debug, Default)]
struct Summary {
    events_read: usize,
    acked_batches: usize,
    acked_events: usize,
    unacked_batches: usize,
    unacked_present: usize,
    filter_checked: bool,
}

/// Reads every stream back and checks the ledger against it; panics with every problem
/// found (up to a limit) otherwise.
async fn verify(client: &Client, ledger: &Ledger, writers: usize, with_filter: bool) -> Summary {
    let mut problems: Vec<String> = Vec::new();
    // (batch key) -> how many times each event index was seen.
    let mut seen: HashMap<&str, Vec<u32>> = HashMap::new();
    let mut per_group_ids: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut summary = Summary::default();
    for w in 0..writers {
        let group = GROUPS[w % 2];
        let stream = stream_name(w);
        let events = read_stream(client, group, &stream).await;
        summary.events_read += events.len();
        // Order: timestamps never go back, and within a batch events keep their order.
        // At equal timestamps, events keep their arrival order: a writer sends a batch only
        // after the previous one was acknowledged, and a restart numbers new events after
        // every old one, so (cycle, batch, index) must rise.
        let mut last_ts = i64::MIN;
        let mut last_order = (0, 0, 0);
        let mut last_index: HashMap<&str, usize> = HashMap::new();
        for (n, (ts, message)) in events.iter().enumerate() {
            let id = event_id(message);
            per_group_ids.entry(group).or_default().push(id.to_string());
            if *ts < last_ts {
                problems.push(format!(
                    "{stream}: event #{n} {id} at {ts} comes after one at {last_ts}"
                ));
            }
            let prev_ts = std::mem::replace(&mut last_ts, *ts);
            let Some((key, i)) = split_id(id) else {
                problems.push(format!("{stream}: event #{n} has an unknown message {id}"));
                continue;
            };
            let Some((key, batch)) = ledger.batches.get_key_value(key) else {
                problems.push(format!("{stream}: event {id} belongs to no batch sent"));
                continue;
            };
            if batch.writer != w || i >= batch.events.len() {
                problems.push(format!("{stream}: event {id} is not one of this stream's"));
                continue;
            }
            let order = (batch.order.0, batch.order.1, i);
            if *ts == prev_ts && order <= last_order {
                problems.push(format!(
                    "{stream}: at timestamp {ts}, event {id} comes after a later arrival {last_order:?}"
                ));
            }
            last_order = order;
            let (want_ts, want_message) = &batch.events[i];
            if want_ts != ts || want_message != message {
                problems.push(format!(
                    "{stream}: event {id} came back altered (timestamp {ts}, want {want_ts}; \
                     {} message bytes, want {})",
                    message.len(),
                    want_message.len()
                ));
            }
            if let Some(prev) = last_index.insert(key.as_str(), i)
                && prev >= i
            {
                problems.push(format!(
                    "{stream}: within batch {key}, event {i} comes after event {prev}"
                ));
            }
            seen.entry(key.as_str())
                .or_insert_with(|| vec![0; batch.events.len()])[i] += 1;
        }
    }
    let mut keys: Vec<&String> = ledger.batches.keys().collect();
    keys.sort();
    for key in keys {
        let batch = &ledger.batches[key];
        let counts = seen.get(key.as_str());
        let present = counts.map_or(0, |c| c.iter().filter(|&&n| n > 0).count());
        let duplicated: Vec<usize> = counts.map_or_else(Vec::new, |c| {
            c.iter()
                .enumerate()
                .filter(|(_, n)| **n > 1)
                .map(|(i, _)| i)
                .collect()
        });
        if !duplicated.is_empty() {
            problems.push(format!(
                "batch {key} ({}): events {duplicated:?} appear more than once",
                if batch.acked { "acked" } else { "not acked" }
            ));
        }
        if batch.acked {
            summary.acked_batches += 1;
            summary.acked_events += batch.events.len();
            if present != batch.events.len() {
                problems.push(format!(
                    "acknowledged batch {key}: {present} of {} events present",
                    batch.events.len()
                ));
            }
        } else {
            summary.unacked_batches += 1;
            if present == batch.events.len() {
                summary.unacked_present += 1;
            } else if present != 0 {
                problems.push(format!(
                    "unacknowledged batch {key} is torn: {present} of {} events present",
                    batch.events.len()
                ));
            }
        }
    }
    if with_filter {
        summary.filter_checked = true;
        for (group, mut from_get) in per_group_ids {
            let (mut from_filter, shared_event_ids) = filter_group(client, group).await;
            if !shared_event_ids.is_empty() {
                problems.push(format!(
                    "{group}: {} eventIds name more than one event (sequence numbers reused?), e.g. {:?}",
                    shared_event_ids.len(),
                    &shared_event_ids[..shared_event_ids.len().min(3)]
                ));
            }
            if from_filter.len() != from_get.len() {
                problems.push(format!(
                    "{group}: FilterLogEvents returned {} events, GetLogEvents {}",
                    from_filter.len(),
                    from_get.len()
                ));
            }
            from_filter.sort();
            from_get.sort();
            if from_filter != from_get {
                let a: HashSet<&String> = from_filter.iter().collect();
                let b: HashSet<&String> = from_get.iter().collect();
                problems.push(format!(
                    "{group}: FilterLogEvents and GetLogEvents differ: {} only in filter, {} only in get",
                    a.difference(&b).count(),
                    b.difference(&a).count()
                ));
            }
        }
    }
    if !problems.is_empty() {
        let total = problems.len();
        problems.truncate(60);
        panic!(
            "{total} problem(s) after a crash:\n  {}\n{summary:?}",
            problems.join("\n  ")
        );
    }
    summary
}

// ---------------------------------------------------------------------------------------
// WAL helpers
// ---------------------------------------------------------------------------------------

/// `DIR/wal/*.wal`, by number.
fn wal_files(data: &Path) -> Vec<(u64, PathBuf)> {
    let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(data.join("wal"))
        .expect("read the WAL directory")
        .filter_map(|e| {
            let path = e.ok()?.path();
            let number = path
                .file_name()?
                .to_str()?
                .strip_suffix(".wal")?
                .parse()
                .ok()?;
            Some((number, path))
        })
        .collect();
    files.sort();
    files
}

fn wal_bytes(data: &Path) -> u64 {
    wal_files(data)
        .iter()
        .map(|(_, p)| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum()
}

/// Waits until a flush has moved everything out of the WAL (only empty files left).
async fn wait_wal_drained(data: &Path, limit: Duration) {
    let start = Instant::now();
    while wal_bytes(data) > 0 {
        assert!(
            start.elapsed() < limit,
            "the WAL still holds {} bytes after {limit:?}",
            wal_bytes(data)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn count_segments(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                count_segments(&path)
            } else {
                usize::from(path.extension().is_some_and(|x| x == "parquet"))
            }
        })
        .sum()
}

/// Where a kill left the flush machinery, read from the data directory while no server
/// runs: segment files no catalog row names (killed between writing segments and
/// committing them), and WAL files a committed flush covers that are still there (killed
/// between the commit and the WAL deletion).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct FlushTraces {
    segment_files: usize,
    catalog_segments: usize,
    flushed_wal: u64,
    stale_wal_files: usize,
}

fn flush_traces(data: &Path) -> FlushTraces {
    let catalog = store::Catalog::open(&data.join("catalog.sqlite")).expect("open the catalog");
    let mut catalog_segments = 0;
    for group in catalog.all_groups().expect("groups") {
        for segment in catalog
            .segments(group.id, i64::MIN, i64::MAX)
            .expect("segments")
        {
            catalog_segments += 1;
            // A committed segment must be on disk, or reads of its hour fail.
            let path = data.join("segments").join(&segment.path);
            assert!(
                path.is_file(),
                "the catalog names segment {} but the file is missing",
                segment.path
            );
        }
    }
    let flushed_wal: u64 = catalog
        .meta("flushed_wal")
        .expect("meta")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    FlushTraces {
        segment_files: count_segments(&data.join("segments")),
        catalog_segments,
        flushed_wal,
        stale_wal_files: wal_files(data)
            .iter()
            .filter(|(n, _)| *n <= flushed_wal)
            .count(),
    }
}

// ---------------------------------------------------------------------------------------
// One crash cycle
// ---------------------------------------------------------------------------------------

/// Starts writers against `server`, kills it after `kill_after`, and records the outcome.
async fn crash_cycle(
    server: Server,
    ledger: &mut Ledger,
    cycle: usize,
    writers: usize,
    kill_after: Duration,
    rng: &mut StdRng,
) -> (usize, usize) {
    let put_client = client(&server.url, false);
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let seed = rng.next_u64();
            tokio::spawn(writer(put_client.clone(), cycle, w, seed, shared_ts()))
        })
        .collect();
    tokio::time::sleep(kill_after).await;
    server.kill().await;
    let mut acked = 0;
    let mut unacked = 0;
    for task in tasks {
        let (sent, errors) = tokio::time::timeout(Duration::from_secs(90), task)
            .await
            .expect("a writer did not stop after the kill")
            .expect("writer task");
        acked += sent.iter().filter(|s| s.acked).count();
        unacked += sent.iter().filter(|s| !s.acked).count();
        ledger.service_errors.extend(errors);
        ledger.add(sent);
    }
    (acked, unacked)
}

fn flags_for(cycle: usize) -> ServerFlags {
    match cycle % 3 {
        // Defaults: everything stays in the WAL and the memtable.
        0 => ServerFlags::default(),
        // Small budget and a 1 s flush interval: flushes, segment writes and WAL deletion
        // all the time.
        1 => ServerFlags {
            flush_interval_secs: Some(1),
            memtable_mib: Some(8),
        },
        // Small budget only: flushes triggered by size, and writers waiting for them.
        _ => ServerFlags {
            flush_interval_secs: None,
            memtable_mib: Some(8),
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_puts_survive_kill_9() {
    let started = Instant::now();
    let seed = seed();
    println!("crash test seed {seed} (CRASH_SEED={seed} to repeat)");
    let mut rng = StdRng::seed_from_u64(seed);
    let data = tempfile::tempdir().expect("temp dir");
    let logs = tempfile::tempdir().expect("temp dir");
    let log = logs.path().join("server.log");
    let mut ledger = Ledger::default();

    let cycles = std::env::var("CRASH_CYCLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(CYCLES);
    let mut orphaned_by_kill = 0;
    let mut killed_before_wal_deletion = 0;
    let mut orphans = 0;
    for cycle in 0..cycles {
        let flags = flags_for(cycle);
        let t = Instant::now();
        let server = Server::start(data.path(), &log, flags).await;
        let start_ms = t.elapsed().as_millis();
        if cycle == 0 {
            create_streams(&client(&server.url, true), WRITERS).await;
        }
        if cycle == cycles / 2 {
            // Halfway: everything so far must already be back.
            let summary = verify(&client(&server.url, true), &ledger, WRITERS, false).await;
            println!("halfway check: {summary:?}");
        }
        // With a 1 s flush interval, aim half the kills at the first flush.
        let kill_after = Duration::from_millis(
            if flags.flush_interval_secs == Some(1) && rng.random_bool(0.5) {
                rng.random_range(950..=1500)
            } else {
                rng.random_range(50..=1500)
            },
        );
        let (acked, unacked) =
            crash_cycle(server, &mut ledger, cycle, WRITERS, kill_after, &mut rng).await;
        let traces = flush_traces(data.path());
        let now_orphans = traces.segment_files.saturating_sub(traces.catalog_segments);
        if now_orphans > orphans {
            orphaned_by_kill += 1;
        }
        orphans = now_orphans;
        if traces.stale_wal_files > 0 {
            killed_before_wal_deletion += 1;
        }
        println!(
            "cycle {cycle:2}: {flags:?}, started in {start_ms} ms, killed after {} ms: \
             {acked} batches acked, {unacked} cut off; WAL {} KiB in {} files; {traces:?}",
            kill_after.as_millis(),
            wal_bytes(data.path()) / 1024,
            wal_files(data.path()).len(),
        );
    }
    println!(
        "kills between segment write and catalog commit: {orphaned_by_kill}; \
         between catalog commit and WAL deletion: {killed_before_wal_deletion}"
    );
    assert!(
        ledger.service_errors.is_empty(),
        "the server answered puts with errors:\n{}",
        ledger.service_errors.join("\n")
    );
    println!(
        "{} batches sent, {} acknowledged events",
        ledger.batches.len(),
        ledger.acked_events()
    );

    // 1. Restart with the defaults: the WAL is replayed on top of whatever segments the
    //    flushing cycles committed.
    let t = Instant::now();
    let server = Server::start(data.path(), &log, ServerFlags::default()).await;
    // Opening the store removes segment files that a killed flush wrote but never
    // committed: after a restart, disk and catalog agree.
    let traces = flush_traces(data.path());
    assert_eq!(
        traces.segment_files, traces.catalog_segments,
        "uncommitted segment files survived a restart: {traces:?}"
    );
    let summary = verify(&client(&server.url, true), &ledger, WRITERS, true).await;
    println!(
        "after restart: {summary:?} in {} ms",
        t.elapsed().as_millis()
    );
    server.kill().await;

    // 2. Restart with a 1 s flush interval, wait until a flush has moved everything into
    //    segments and emptied the WAL, and read it all again from segments.
    let server = Server::start(
        data.path(),
        &log,
        ServerFlags {
            flush_interval_secs: Some(1),
            memtable_mib: Some(8),
        },
    )
    .await;
    let t = Instant::now();
    wait_wal_drained(data.path(), Duration::from_secs(60)).await;
    println!("WAL drained in {} ms", t.elapsed().as_millis());
    let t = Instant::now();
    let segments = count_segments(&data.path().join("segments"));
    let again = verify(&client(&server.url, true), &ledger, WRITERS, true).await;
    println!(
        "after a full flush ({segments} segment files): {again:?} in {} ms",
        t.elapsed().as_millis()
    );
    assert_eq!(summary.events_read, again.events_read);
    server.kill().await;

    assert!(summary.acked_events > 0, "no put was ever acknowledged");
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    println!(
        "server log: {} torn-tail truncations, {} flush errors; total {:.1} s",
        log_text.matches("truncating torn WAL tail").count(),
        log_text.matches("flush failed").count(),
        started.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------
// Torn tail
// ---------------------------------------------------------------------------------------

/// Garbage of a few shapes a torn write could leave.
fn garbage(rng: &mut StdRng, round: usize) -> Vec<u8> {
    match round % 4 {
        // Random bytes.
        0 => {
            let mut g = vec![0u8; rng.random_range(1..4096)];
            rng.fill_bytes(&mut g);
            g
        }
        // A frame header promising more payload than there is.
        1 => {
            let mut g = Vec::new();
            g.extend_from_slice(&5000u32.to_le_bytes());
            g.extend_from_slice(&rng.next_u32().to_le_bytes());
            g.extend_from_slice(&[1u8; 100]);
            g
        }
        // A complete frame whose CRC does not match its payload.
        2 => {
            let mut g = Vec::new();
            let payload = vec![1u8; 64];
            g.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            g.extend_from_slice(&0xdead_beefu32.to_le_bytes());
            g.extend_from_slice(&payload);
            g
        }
        // A few zero bytes: a half-written header / a zero-length frame.
        _ => vec![0u8; rng.random_range(1..12)],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn torn_wal_tail_is_cut_off() {
    let seed = seed();
    println!("torn-tail test seed {seed}");
    let mut rng = StdRng::seed_from_u64(seed ^ 0x7041_1a11);
    let data = tempfile::tempdir().expect("temp dir");
    let logs = tempfile::tempdir().expect("temp dir");
    let log = logs.path().join("server.log");
    let writers = 3;
    let mut ledger = Ledger::default();
    let rounds = 4;
    // The WAL file the last round appended garbage to, and its length before that.
    let mut torn: Option<(PathBuf, u64)> = None;
    // After a start, the garbage must be gone: the file is back to at most its old length.
    let check_cut = |torn: &Option<(PathBuf, u64)>| {
        if let Some((path, before)) = torn
            && let Ok(meta) = std::fs::metadata(path)
        {
            assert!(
                meta.len() <= *before,
                "{} is {} bytes after a restart; the garbage began at {before}",
                path.display(),
                meta.len()
            );
        }
    };
    for round in 0..rounds {
        let server = Server::start(data.path(), &log, ServerFlags::default()).await;
        check_cut(&torn);
        if round == 0 {
            create_streams(&client(&server.url, true), writers).await;
        } else {
            // Everything acknowledged before the torn tail is back.
            verify(&client(&server.url, true), &ledger, writers, false).await;
        }
        let kill_after = Duration::from_millis(rng.random_range(200..=800));
        let (acked, unacked) = crash_cycle(
            server,
            &mut ledger,
            1000 + round,
            writers,
            kill_after,
            &mut rng,
        )
        .await;
        let (number, newest) = wal_files(data.path())
            .pop()
            .expect("a WAL file after the kill");
        let before = std::fs::metadata(&newest).expect("WAL file").len();
        let bytes = garbage(&mut rng, round);
        OpenOptions::new()
            .append(true)
            .open(&newest)
            .expect("open the newest WAL file")
            .write_all(&bytes)
            .expect("append garbage");
        println!(
            "round {round}: {acked} acked, {unacked} cut off; appended {} garbage bytes to \
             WAL file {number} ({before} bytes)",
            bytes.len()
        );
        torn = Some((newest, before));
    }
    assert!(
        ledger.service_errors.is_empty(),
        "{:?}",
        ledger.service_errors
    );

    let server = Server::start(data.path(), &log, ServerFlags::default()).await;
    check_cut(&torn);
    let summary = verify(&client(&server.url, true), &ledger, writers, true).await;
    println!("after the torn tails: {summary:?}");
    assert!(summary.acked_events > 0, "no put was ever acknowledged");
    server.kill().await;
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    println!(
        "server log: {} torn-tail truncations",
        log_text.matches("truncating torn WAL tail").count()
    );
}
