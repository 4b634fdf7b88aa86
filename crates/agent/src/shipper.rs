//! Batches within PutLogEvents' limits, and a shipper that delivers them: it creates a
//! missing group and stream, and retries throttling, server faults and network errors
//! with exponential backoff and full jitter, so a batch is never dropped.
//!
//! Events over 256 KiB (the AWS agents' per-event limit, counting the 26 bytes AWS adds)
//! are truncated and end in `[Truncated...]`, as the CloudWatch agent does; empty
//! events are not sent (PutLogEvents refuses empty messages).

use crate::client::{CallError, SignedClient};
use model::InputEvent;
use model::limits::{EVENT_OVERHEAD, MAX_BATCH_SPAN_MS, event_size};
use model::{LogGroupName, LogStreamName};
use rand::Rng;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Largest event sent, counted as PutLogEvents counts it.
pub const MAX_EVENT_BYTES: usize = 262_144;
/// What ends a truncated event.
pub const TRUNCATED_SUFFIX: &str = "[Truncated...]";
/// First retry delay.
const BACKOFF_BASE: Duration = Duration::from_millis(200);
/// Longest retry delay.
const BACKOFF_CAP: Duration = Duration::from_secs(10);

/// Cuts a message to [`MAX_EVENT_BYTES`] (on a character boundary) with the suffix.
pub fn fit_message(mut message: String) -> String {
    let limit = MAX_EVENT_BYTES - EVENT_OVERHEAD;
    if message.len() <= limit {
        return message;
    }
    let mut cut = limit - TRUNCATED_SUFFIX.len();
    while !message.is_char_boundary(cut) {
        cut -= 1;
    }
    message.truncate(cut);
    message.push_str(TRUNCATED_SUFFIX);
    message
}

/// Events collected for one PutLogEvents call.
#[derive(Debug)]
pub struct Batch {
    events: Vec<InputEvent>,
    bytes: usize,
    min_ts: i64,
    max_ts: i64,
    max_count: usize,
    max_bytes: usize,
    started: Option<Instant>,
}

impl Batch {
    /// An empty batch that holds at most `max_count` events and `max_bytes` bytes.
    pub fn new(max_count: usize, max_bytes: usize) -> Batch {
        Batch {
            events: Vec::new(),
            bytes: 0,
            min_ts: i64::MAX,
            max_ts: i64::MIN,
            max_count,
            max_bytes,
            started: None,
        }
    }

    /// Whether `event` can join without breaking a limit (count, bytes, 24 h span).
    pub fn fits(&self, event: &InputEvent) -> bool {
        self.events.is_empty()
            || (self.events.len() < self.max_count
                && self.bytes + event_size(&event.message) <= self.max_bytes
                && self.max_ts.max(event.timestamp) - self.min_ts.min(event.timestamp)
                    <= MAX_BATCH_SPAN_MS)
    }

    /// Adds an event (check [`Batch::fits`] first); `since` is when its first line was read.
    pub fn push(&mut self, event: InputEvent, since: Instant) {
        self.bytes += event_size(&event.message);
        self.min_ts = self.min_ts.min(event.timestamp);
        self.max_ts = self.max_ts.max(event.timestamp);
        self.started.get_or_insert(since);
        self.events.push(event);
    }

    /// Whether the batch holds nothing.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// How long its oldest event has waited.
    pub fn age(&self) -> Duration {
        self.started.map_or(Duration::ZERO, |s| s.elapsed())
    }

    /// Empties the batch, returning its events in time order (a stable sort, so events
    /// of one time keep their order in the file).
    pub fn take(&mut self) -> Vec<InputEvent> {
        let mut events = std::mem::take(&mut self.events);
        *self = Batch::new(self.max_count, self.max_bytes);
        events.sort_by_key(|e| e.timestamp);
        events
    }
}

/// Why a batch was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum ShipError {
    /// Retrying went on past the shipper's deadline.
    #[error("gave up delivering {events} events after {elapsed:?}: {last}")]
    GaveUp {
        /// Events in the batch.
        events: usize,
        /// Time spent trying.
        elapsed: Duration,
        /// The last failure.
        last: CallError,
    },
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct PutInput<'a> {
    log_group_name: &'a str,
    log_stream_name: &'a str,
    log_events: Vec<PutEvent<'a>>,
}

#[derive(serde::Serialize)]
struct PutEvent<'a> {
    timestamp: i64,
    message: &'a str,
}

/// Delivers batches to one stream.
pub struct Shipper {
    client: SignedClient,
    group: LogGroupName,
    stream: LogStreamName,
    give_up_after: Option<Duration>,
}

impl Shipper {
    /// A shipper for `group`/`stream` that retries forever.
    pub fn new(client: SignedClient, group: LogGroupName, stream: LogStreamName) -> Shipper {
        Shipper {
            client,
            group,
            stream,
            give_up_after: None,
        }
    }

    /// Stops retrying one batch after `limit` (for a command that must exit).
    pub fn give_up_after(mut self, limit: Duration) -> Shipper {
        self.give_up_after = Some(limit);
        self
    }

    /// Sends events (in time order) until the service acknowledges them.
    pub async fn put(&self, events: &[InputEvent]) -> Result<(), ShipError> {
        let input = PutInput {
            log_group_name: self.group.as_str(),
            log_stream_name: self.stream.as_str(),
            log_events: events
                .iter()
                .map(|e| PutEvent {
                    timestamp: e.timestamp,
                    message: &e.message,
                })
                .collect(),
        };
        // Serialized once for every attempt; it cannot fail for strings and integers.
        let body = serde_json::to_vec(&input).unwrap_or_default();
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            let error = match self.client.logs_body("PutLogEvents", body.clone()).await {
                Ok(output) => {
                    report_rejected(&output, events.len());
                    return Ok(());
                }
                Err(e) if e.code() == Some("ResourceNotFoundException") => {
                    match self.create().await {
                        // Created: the put can go again at once.
                        Ok(()) => continue,
                        Err(e) => e,
                    }
                }
                Err(e) => e,
            };
            if let Some(limit) = self.give_up_after
                && started.elapsed() >= limit
            {
                return Err(ShipError::GaveUp {
                    events: events.len(),
                    elapsed: started.elapsed(),
                    last: error,
                });
            }
            let delay = backoff(attempt);
            if error.is_transient() {
                tracing::warn!(error = %error, retry_in = ?delay, "PutLogEvents failed; retrying");
            } else {
                tracing::error!(error = %error, retry_in = ?delay, "PutLogEvents refused; retrying (the batch is kept)");
            }
            tokio::time::sleep(delay).await;
            attempt = attempt.saturating_add(1);
        }
    }

    async fn create(&self) -> Result<(), CallError> {
        let exists = |r: Result<Value, CallError>| match r {
            Err(e) if e.code() != Some("ResourceAlreadyExistsException") => Err(e),
            _ => Ok(()),
        };
        exists(
            self.client
                .logs(
                    "CreateLogGroup",
                    &json!({"logGroupName": self.group.as_str()}),
                )
                .await,
        )?;
        exists(
            self.client
                .logs(
                    "CreateLogStream",
                    &json!({"logGroupName": self.group.as_str(), "logStreamName": self.stream.as_str()}),
                )
                .await,
        )?;
        tracing::info!(group = %self.group.as_str(), stream = %self.stream.as_str(), "created the log stream");
        Ok(())
    }
}

/// Exponential backoff with full jitter: a random delay up to `base · 2^attempt`, capped.
fn backoff(attempt: u32) -> Duration {
    let ceiling = BACKOFF_BASE
        .saturating_mul(1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX))
        .min(BACKOFF_CAP);
    let ms = rand::rng().random_range(ceiling.as_millis() as u64 / 2..=ceiling.as_millis() as u64);
    Duration::from_millis(ms)
}

fn report_rejected(output: &Value, total: usize) {
    let info = &output["rejectedLogEventsInfo"];
    if info.is_object() {
        tracing::warn!(
            total,
            too_old_before = info["tooOldLogEventEndIndex"].as_u64(),
            expired_before = info["expiredLogEventEndIndex"].as_u64(),
            too_new_from = info["tooNewLogEventStartIndex"].as_u64(),
            "the service rejected some events for their timestamps"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(ts: i64, message: &str) -> InputEvent {
        InputEvent {
            timestamp: ts,
            message: message.into(),
        }
    }

    #[test]
    fn batches_keep_every_limit() {
        let now = Instant::now();
        let mut batch = Batch::new(2, 1000);
        batch.push(event(5, "a"), now);
        assert!(batch.fits(&event(1, "b")));
        assert!(!batch.fits(&event(5, &"x".repeat(1000))));
        assert!(!batch.fits(&event(5 + MAX_BATCH_SPAN_MS + 1, "late")));
        batch.push(event(1, "b"), now);
        assert!(!batch.fits(&event(5, "c")), "count");
        let taken = batch.take();
        assert_eq!(taken, vec![event(1, "b"), event(5, "a")]);
        assert!(batch.is_empty() && batch.fits(&event(0, &"y".repeat(5000))));
    }

    #[test]
    fn long_messages_are_truncated_like_the_cloudwatch_agent() {
        let long = "é".repeat(MAX_EVENT_BYTES);
        let fitted = fit_message(long);
        assert!(event_size(&fitted) <= MAX_EVENT_BYTES);
        assert!(fitted.ends_with(TRUNCATED_SUFFIX));
        assert_eq!(fit_message("short".into()), "short");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(0) <= BACKOFF_BASE);
        assert!(backoff(40) <= BACKOFF_CAP && backoff(40) >= BACKOFF_CAP / 2);
    }
}
