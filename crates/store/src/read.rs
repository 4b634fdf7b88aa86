//! Reading events back: one ordered page from memtables and segments together.
//!
//! Events are ordered by `(timestamp, seq)`. A page is the first `limit` events after a
//! cursor in one direction; work stops at the first hour past a full page, so a page
//! costs about the hours it covers, not the whole group.

use model::StoredEvent;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashSet};

/// Which way a page runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Oldest first.
    Forward,
    /// Newest first.
    Backward,
}

/// A position between two events in `(timestamp, seq)` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    /// Event time.
    pub timestamp: i64,
    /// Sequence number.
    pub seq: u64,
}

impl Cursor {
    /// Before every event.
    pub const START: Cursor = Cursor {
        timestamp: i64::MIN,
        seq: 0,
    };
    /// After every event.
    pub const END: Cursor = Cursor {
        timestamp: i64::MAX,
        seq: u64::MAX,
    };

    /// The cursor at an event.
    pub fn of(event: &StoredEvent) -> Cursor {
        Cursor {
            timestamp: event.timestamp,
            seq: event.seq,
        }
    }

    /// Renders as `<prefix>/` and 56 decimal digits, the shape AWS's tokens have.
    pub fn to_token(self, prefix: &str) -> String {
        let ts = (self.timestamp as u64) ^ (1 << 63);
        format!("{prefix}/{ts:020}{:020}{:016}", self.seq, 0)
    }

    /// Parses a token made by [`Cursor::to_token`] with the same prefix.
    pub fn from_token(token: &str, prefix: &str) -> Option<Cursor> {
        let digits = token.strip_prefix(prefix)?.strip_prefix('/')?;
        if digits.len() != 56 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let ts: u64 = digits[0..20].parse().ok()?;
        let seq: u64 = digits[20..40].parse().ok()?;
        Some(Cursor {
            timestamp: (ts ^ (1 << 63)) as i64,
            seq,
        })
    }
}

/// One page request.
pub struct ReadRequest {
    /// Group to read.
    pub group_id: i64,
    /// Ids of the streams to read.
    pub streams: HashSet<i64>,
    /// Earliest timestamp, inclusive.
    pub from: i64,
    /// Latest timestamp, inclusive.
    pub to: i64,
    /// Direction of the page.
    pub direction: Direction,
    /// Only events strictly past this position (in `direction`).
    pub after: Cursor,
    /// Only messages this pattern matches.
    pub pattern: Option<std::sync::Arc<pattern::FilterPattern>>,
    /// At most this many events.
    pub limit: usize,
    /// At most this many bytes (message bytes + 26 per event, as AWS counts).
    pub max_bytes: usize,
}

/// One page of events, in the request's direction.
#[derive(Debug)]
pub struct Page {
    /// The events.
    pub events: Vec<StoredEvent>,
    /// Whether more events lie past the last one.
    pub more: bool,
}

struct Ranked {
    key: i128,
    event: StoredEvent,
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

/// Keeps the `k` events that come first in a direction, without holding the rest.
pub struct TopK {
    k: usize,
    direction: Direction,
    after: i128,
    heap: BinaryHeap<Ranked>,
}

impl TopK {
    /// An empty selection of `k` events past `after`.
    pub fn new(k: usize, direction: Direction, after: Cursor) -> TopK {
        let mut top = TopK {
            k,
            direction,
            after: 0,
            heap: BinaryHeap::new(),
        };
        top.after = top.rank(after.timestamp, after.seq);
        top
    }

    /// Position in direction order: smaller comes first.
    fn rank(&self, timestamp: i64, seq: u64) -> i128 {
        let key = ((timestamp as i128) << 64) | seq as i128;
        match self.direction {
            Direction::Forward => key,
            Direction::Backward => -key,
        }
    }

    /// Whether an event at this position would be kept; check before building it.
    pub fn wants(&self, timestamp: i64, seq: u64) -> bool {
        let rank = self.rank(timestamp, seq);
        rank > self.after
            && (self.heap.len() < self.k || self.heap.peek().is_some_and(|w| rank < w.key))
    }

    /// Offers an event.
    pub fn push(&mut self, event: StoredEvent) {
        if !self.wants(event.timestamp, event.seq) {
            return;
        }
        let key = self.rank(event.timestamp, event.seq);
        self.heap.push(Ranked { key, event });
        if self.heap.len() > self.k {
            self.heap.pop();
        }
    }

    /// Whether nothing at or past `timestamp` (in direction order) can enter any more.
    pub fn full_before(&self, timestamp: i64) -> bool {
        if self.heap.len() < self.k {
            return false;
        }
        let bound = match self.direction {
            Direction::Forward => self.rank(timestamp, 0),
            Direction::Backward => self.rank(timestamp, u64::MAX),
        };
        self.heap.peek().is_some_and(|w| w.key < bound)
    }

    /// The kept events in direction order.
    pub fn into_sorted(self) -> Vec<StoredEvent> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|r| r.event)
            .collect()
    }
}

/// The size AWS counts for an event in a batch or a page.
pub fn event_size(message: &str) -> usize {
    model::limits::event_size(message)
}

/// Cuts `events` (one past the limit when more exist) down to a page.
pub fn into_page(mut events: Vec<StoredEvent>, limit: usize, max_bytes: usize) -> Page {
    let mut more = events.len() > limit;
    events.truncate(limit);
    let mut bytes = 0usize;
    let mut keep = events.len();
    for (i, e) in events.iter().enumerate() {
        bytes += event_size(&e.message);
        if bytes > max_bytes && i > 0 {
            keep = i;
            more = true;
            break;
        }
    }
    events.truncate(keep);
    Page { events, more }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(ts: i64, seq: u64) -> StoredEvent {
        StoredEvent {
            stream: "s".into(),
            timestamp: ts,
            ingestion_time: 0,
            seq,
            message: format!("{ts}-{seq}"),
        }
    }

    #[test]
    fn tokens_round_trip() {
        for c in [
            Cursor::START,
            Cursor::END,
            Cursor {
                timestamp: 1_700_000_000_000,
                seq: 42,
            },
        ] {
            let t = c.to_token("f");
            assert_eq!(t.len(), 58);
            assert_eq!(Cursor::from_token(&t, "f"), Some(c));
            assert_eq!(Cursor::from_token(&t, "b"), None);
        }
        assert_eq!(Cursor::from_token("f/123", "f"), None);
    }

    #[test]
    fn topk_keeps_first_in_each_direction() {
        let mut fwd = TopK::new(2, Direction::Forward, Cursor::START);
        let mut back = TopK::new(2, Direction::Backward, Cursor::END);
        for (ts, seq) in [(5, 1), (1, 2), (3, 3), (1, 4), (9, 5)] {
            fwd.push(ev(ts, seq));
            back.push(ev(ts, seq));
        }
        let f: Vec<_> = fwd.into_sorted().iter().map(|e| e.seq).collect();
        let b: Vec<_> = back.into_sorted().iter().map(|e| e.seq).collect();
        assert_eq!(f, vec![2, 4]);
        assert_eq!(b, vec![5, 1]);
    }

    #[test]
    fn topk_respects_cursor() {
        let mut fwd = TopK::new(
            10,
            Direction::Forward,
            Cursor {
                timestamp: 3,
                seq: 3,
            },
        );
        for (ts, seq) in [(1, 2), (3, 3), (3, 4), (9, 5)] {
            fwd.push(ev(ts, seq));
        }
        let f: Vec<_> = fwd.into_sorted().iter().map(|e| e.seq).collect();
        assert_eq!(f, vec![4, 5]);
    }

    #[test]
    fn pages_cut_at_bytes() {
        let events: Vec<_> = (0..5).map(|i| ev(i, i as u64)).collect();
        let page = into_page(events, 10, 2 * event_size("0-0"));
        assert_eq!(page.events.len(), 2);
        assert!(page.more);
    }
}
