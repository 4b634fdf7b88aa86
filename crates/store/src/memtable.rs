//! Events acknowledged but not yet in a segment, per log group, readable at once.
//!
//! The active memtable takes inserts from the WAL writer; a flush freezes it (the WAL
//! moves to a new file in the same instant) and readers keep seeing the frozen one until
//! its segments are committed to the catalog.

use crate::catalog::StreamStats;
use std::collections::HashMap;
use std::sync::Arc;

/// Per-row bookkeeping beside the message bytes, counted against the memory budget.
const ROW_OVERHEAD: usize = 80;

/// One event in memory.
#[derive(Debug, Clone)]
pub struct Row {
    /// Catalog id of the stream.
    pub stream_id: i64,
    /// Stream name, shared by the rows of one batch.
    pub stream: Arc<str>,
    /// Event time, epoch ms.
    pub timestamp: i64,
    /// Ingestion time, epoch ms.
    pub ingestion: i64,
    /// Ingest sequence number.
    pub seq: u64,
    /// The event text.
    pub message: String,
}

/// The rows of one group, in arrival order, with their streams' statistics.
#[derive(Debug, Default)]
pub struct GroupRows {
    /// Rows in acknowledgement order (not time order).
    pub rows: Vec<Row>,
    /// Statistics per stream id over `rows`.
    pub stats: HashMap<i64, StreamStats>,
    /// Approximate memory used.
    pub bytes: usize,
}

/// Rows of every group.
#[derive(Debug, Default)]
pub struct Memtable {
    /// Keyed by group id.
    pub groups: HashMap<i64, GroupRows>,
    /// Approximate memory used by all groups.
    pub bytes: usize,
}

impl Memtable {
    /// Adds acknowledged rows of one group.
    pub fn insert(&mut self, group_id: i64, rows: Vec<Row>) {
        let group = self.groups.entry(group_id).or_default();
        for row in rows {
            let size = row.message.len() + ROW_OVERHEAD;
            group.bytes += size;
            self.bytes += size;
            group
                .stats
                .entry(row.stream_id)
                .or_default()
                .add(row.timestamp, row.ingestion);
            group.rows.push(row);
        }
    }

    /// Drops a deleted group's rows.
    pub fn remove_group(&mut self, group_id: i64) {
        if let Some(g) = self.groups.remove(&group_id) {
            self.bytes -= g.bytes;
        }
    }
}

/// The active memtable and the frozen ones still being flushed.
#[derive(Debug, Default)]
pub struct MemState {
    /// Takes new rows.
    pub active: Memtable,
    /// Frozen by a rotation, waiting for their segments to commit.
    pub frozen: Vec<Arc<Memtable>>,
}

impl MemState {
    /// Memory held by all memtables.
    pub fn bytes(&self) -> usize {
        self.active.bytes + self.frozen.iter().map(|m| m.bytes).sum::<usize>()
    }

    /// Every memtable, active first.
    pub fn tables(&self) -> impl Iterator<Item = &Memtable> {
        std::iter::once(&self.active).chain(self.frozen.iter().map(|m| m.as_ref()))
    }

    /// Statistics of a group's streams over all memtables.
    pub fn stream_stats(&self, group_id: i64) -> HashMap<i64, StreamStats> {
        let mut out: HashMap<i64, StreamStats> = HashMap::new();
        for table in self.tables() {
            if let Some(g) = table.groups.get(&group_id) {
                for (id, st) in &g.stats {
                    out.entry(*id).or_default().merge(st);
                }
            }
        }
        out
    }

    /// Bytes of a group's rows over all memtables.
    pub fn group_bytes(&self, group_id: i64) -> usize {
        self.tables()
            .filter_map(|t| t.groups.get(&group_id))
            .map(|g| g.bytes)
            .sum()
    }
}
