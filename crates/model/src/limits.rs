//! PutLogEvents' batch limits (`reference/aws-formats.md` §8.4), shared by the server that
//! enforces them and the agent that keeps within them.

use crate::time::HOUR_MS;

/// Largest PutLogEvents batch, counting each event as its UTF-8 bytes plus [`EVENT_OVERHEAD`].
pub const MAX_BATCH_BYTES: usize = 1_048_576;
/// Most events in one PutLogEvents batch.
pub const MAX_BATCH_EVENTS: usize = 10_000;
/// Bytes AWS adds to each event's message when it counts a batch's size.
pub const EVENT_OVERHEAD: usize = 26;
/// Longest time span one batch may cover.
pub const MAX_BATCH_SPAN_MS: i64 = 24 * HOUR_MS;

/// An event's size as PutLogEvents counts it: message bytes plus [`EVENT_OVERHEAD`].
pub fn event_size(message: &str) -> usize {
    message.len() + EVENT_OVERHEAD
}
