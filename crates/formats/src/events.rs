//! Log files as batches of log events ready for PutLogEvents: one event per line (per
//! record, for CloudTrail, in its compact original JSON), each at the time it states.
//!
//! Batches keep PutLogEvents' limits (10,000 events, 1,048,576 bytes counting 26 per
//! event, a 24-hour span) and are sorted by time, so a file in any order can be sent as
//! it is read. What cannot become an event is counted with its place, never dropped
//! silently.

use crate::walk::{self, ByteCounter};
use crate::{Error, LineParser, LineReader, cloudtrail};
use model::InputEvent;
use std::path::Path;

/// Most events in one batch.
pub const MAX_BATCH_EVENTS: usize = 10_000;
/// Largest batch, counting each event as its message bytes plus [`EVENT_OVERHEAD`].
pub const MAX_BATCH_BYTES: usize = 1_048_576;
/// Bytes AWS counts for each event on top of its message.
pub const EVENT_OVERHEAD: usize = 26;
/// Longest time span of one batch.
pub const MAX_SPAN_MS: i64 = 24 * model::time::HOUR_MS;
/// How many malformed places a [`FileStats`] keeps.
pub const LISTED_MALFORMED: usize = 10;

/// What reading one file gave.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FileStats {
    /// Lines (CloudTrail: records) read.
    pub lines: u64,
    /// Events handed on.
    pub events: u64,
    /// Bytes of event text, a line break counted for each.
    pub text_bytes: u64,
    /// Malformed lines or records.
    pub malformed: u64,
    /// The first [`LISTED_MALFORMED`] of them as `file:line: reason`.
    pub malformed_places: Vec<String>,
}

impl FileStats {
    fn malformed(&mut self, path: &Path, line: u64, reason: &str) {
        self.malformed += 1;
        if self.malformed_places.len() < LISTED_MALFORMED {
            self.malformed_places
                .push(format!("{}:{line}: {reason}", path.display()));
        }
    }
}

/// Collects events into batches within PutLogEvents' limits and hands them to `send`
/// sorted, cut so that no batch spans more than 24 hours.
pub struct Batcher<F> {
    events: Vec<InputEvent>,
    bytes: usize,
    send: F,
}

impl<F: FnMut(Vec<InputEvent>) -> bool> Batcher<F> {
    /// A batcher handing batches to `send`, which returns false to stop reading.
    pub fn new(send: F) -> Self {
        Batcher {
            events: Vec::new(),
            bytes: 0,
            send,
        }
    }

    /// Adds an event; false once `send` has said stop.
    pub fn push(&mut self, event: InputEvent) -> bool {
        let size = event.message.len() + EVENT_OVERHEAD;
        let full = self.events.len() == MAX_BATCH_EVENTS || self.bytes + size > MAX_BATCH_BYTES;
        if full && !self.flush() {
            return false;
        }
        self.bytes += size;
        self.events.push(event);
        true
    }

    /// Hands on what is collected; false once `send` has said stop.
    pub fn flush(&mut self) -> bool {
        let mut events = std::mem::take(&mut self.events);
        self.bytes = 0;
        events.sort_by_key(|e| e.timestamp);
        while !events.is_empty() {
            let first = events[0].timestamp;
            let cut = events.partition_point(|e| e.timestamp - first <= MAX_SPAN_MS);
            let rest = events.split_off(cut);
            if !(self.send)(events) {
                return false;
            }
            events = rest;
        }
        true
    }
}

/// Reads the file at `path` into batches handed to `send` (which returns false to stop).
/// `parser` reads its lines; `None` for CloudTrail, whose files hold JSON documents. Lines
/// that state no time (Lambda's START/END/REPORT, plain text) take the time of the line
/// before, or `fallback_ms` (the file's modification time) before any.
pub fn read_events(
    parser: Option<Box<dyn LineParser>>,
    path: &Path,
    counter: &ByteCounter,
    fallback_ms: i64,
    send: impl FnMut(Vec<InputEvent>) -> bool,
) -> Result<FileStats, Error> {
    let reader = walk::open(path, counter)?;
    let mut batcher = Batcher::new(send);
    let mut stats = FileStats::default();
    let too_large = |len: usize| len + EVENT_OVERHEAD > MAX_BATCH_BYTES;
    let mut emit = |stats: &mut FileStats, timestamp: i64, message: String| -> bool {
        stats.events += 1;
        stats.text_bytes += message.len() as u64 + 1;
        batcher.push(InputEvent { timestamp, message })
    };
    match parser {
        None => {
            let mut records = cloudtrail::Records::new(reader, path.to_path_buf());
            while let Some(item) = records.next_record() {
                stats.lines += 1;
                let record = match item {
                    Ok(record) => record,
                    Err(Error::Malformed { line, reason, .. }) => {
                        stats.malformed(path, line, &reason);
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                match cloudtrail::event_time_ms(&record.value) {
                    _ if too_large(record.json.len()) => {
                        stats.malformed(path, record.line, "record larger than 1 MiB")
                    }
                    Some(ms) => {
                        if !emit(&mut stats, ms, record.json) {
                            return Ok(stats);
                        }
                    }
                    None => stats.malformed(path, record.line, "no eventTime"),
                }
            }
        }
        Some(parser) => {
            let mut last_ms = fallback_ms;
            let mut lines = LineReader::new(reader, parser, path);
            while let Some(item) = lines.next_line() {
                stats.lines += 1;
                let line = match item {
                    Ok(line) => line,
                    Err(Error::Malformed { line, reason, .. }) => {
                        stats.malformed(path, line, &reason);
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                let Some(record) = line.record else { continue };
                if too_large(line.text.len()) {
                    stats.malformed(path, line.number, "line larger than 1 MiB");
                    continue;
                }
                last_ms = record.timestamp_ms.unwrap_or(last_ms);
                if !emit(&mut stats, last_ms, line.text.to_string()) {
                    return Ok(stats);
                }
            }
        }
    }
    batcher.flush();
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_sorted_and_cut_at_24_hours_and_1_mib() {
        let mut batches = Vec::new();
        let mut batcher = Batcher::new(|b: Vec<InputEvent>| {
            batches.push(b.iter().map(|e| e.timestamp).collect::<Vec<_>>());
            true
        });
        let day = MAX_SPAN_MS;
        for (t, len) in [
            (3 * day, 10),
            (0, 10),
            (day, 10),
            (day + 1, 10),
            (5, 600_000),
            (6, 600_000),
        ] {
            assert!(batcher.push(InputEvent {
                timestamp: t,
                message: "x".repeat(len),
            }));
        }
        assert!(batcher.flush());
        // The first 600 kB event fills a batch that the second cannot join.
        assert_eq!(
            batches,
            [vec![0, 5, day], vec![day + 1], vec![3 * day], vec![6]]
        );
    }

    #[test]
    fn ten_thousand_events_make_a_batch_and_stop_is_heard() {
        let mut sizes = Vec::new();
        let mut batcher = Batcher::new(|b: Vec<InputEvent>| {
            sizes.push(b.len());
            sizes.len() < 2
        });
        let event = |t| InputEvent {
            timestamp: t,
            message: "m".into(),
        };
        let pushed = (0..25_000).take_while(|t| batcher.push(event(*t))).count();
        // The second full batch is refused: pushing stops at the event that would start
        // the third.
        assert_eq!(pushed, 20_000);
        assert_eq!(sizes, [10_000, 10_000]);
    }
}
