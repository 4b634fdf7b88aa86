//! Compaction: an hour that was flushed several times (a quiet group flushes every few
//! minutes, a backfill writes into old hours) becomes one segment file per few MiB.
//!
//! Each file is a partition a query opens, reads the footer of, and schedules, so a year
//! of five-minute flushes would cost a one-year query a hundred thousand opens. A pass
//! takes the hours that ended more than [`SETTLE`] ago, merges runs of their local
//! segments (at most [`MERGED_BYTES`] of files at a time, so memory stays bounded) as
//! the archive merges hours, writes the result, swaps the catalog rows under the view lock,
//! and only then deletes the old files — crash-safe the same way a flush is.

use crate::catalog::{NewSegment, Tier};
use crate::{Result, SegmentRow, Store};
use model::time;
use object_store::{ObjectStoreExt, PutPayload, path::Path as ObjectPath};
use std::collections::BTreeMap;

/// An hour is compacted once it ended this long ago: late flushes of it are rare by then.
const SETTLE: i64 = 15 * 60 * 1000;

/// Most bytes of segment files merged into one: about what a flush writes per file
/// (a few times this once decompressed), and what a merge holds in memory.
const MERGED_BYTES: i64 = 4 << 20;

/// What a compaction pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactReport {
    /// Segment files replaced.
    pub merged: usize,
    /// Files written in their place.
    pub written: usize,
}

impl Store {
    /// Merges the small local segments of every settled hour. Skipped (an empty report)
    /// while an archive pass runs, since that pass merges the oldest hours itself.
    pub async fn compact(&self) -> Result<CompactReport> {
        let Ok(_pass) = self.inner.archive_lock.try_lock() else {
            return Ok(CompactReport::default());
        };
        // Retention may take a listed file out of the catalog meanwhile; the pin keeps
        // it readable until the pass is done.
        let pin = self.inner.pins.pin();
        let limit = time::now_ms() - SETTLE;
        let mut report = CompactReport::default();
        for group_id in self.inner.catalog.groups_with_split_hours(limit)? {
            let Some(group) = self.inner.catalog.group_by_id(group_id)? else {
                continue;
            };
            let mut hours: BTreeMap<i64, Vec<SegmentRow>> = BTreeMap::new();
            for s in self.inner.catalog.local_segments_before(group.id, limit)? {
                hours.entry(s.hour).or_default().push(s);
            }
            for segments in hours.into_values() {
                // One file alone is already compact.
                for run in runs(segments, MERGED_BYTES)
                    .into_iter()
                    .filter(|r| r.len() > 1)
                {
                    if let Some(written) = self.merge_run(&group, run.clone()).await? {
                        report.merged += run.len();
                        report.written += usize::from(written);
                    }
                }
            }
        }
        // The files this pass replaced waited only for it (and readers older than it).
        drop(pin);
        self.sweep_retired().await;
        Ok(report)
    }

    /// Replaces one run of an hour's segments by their merge; `None` if the run changed
    /// under the pass, else whether a file was written (none when no live row is left).
    async fn merge_run(
        &self,
        group: &crate::GroupRow,
        run: Vec<SegmentRow>,
    ) -> Result<Option<bool>> {
        let written: Option<NewSegment> = match self.merge_segments(group.id, &run).await? {
            None => None,
            Some((mut new, data)) => {
                new.group_id = group.id;
                new.hour = run[0].hour;
                new.path = crate::segment_path(&group.scope, group.id, new.hour, new.max_seq);
                self.inner
                    .objects
                    .put(&ObjectPath::from(new.path.as_str()), PutPayload::from(data))
                    .await?;
                crate::sync_tree(&self.inner.segments_dir, &new.path)?;
                Some(new)
            }
        };
        let ids: Vec<i64> = run.iter().map(|s| s.id).collect();
        let committed = {
            let _view = self.inner.view.write().unwrap_or_else(|e| e.into_inner());
            self.inner
                .catalog
                .replace_segments(&ids, written.as_ref(), Tier::Local)?
        };
        if !committed {
            if let Some(new) = &written {
                // Never named by the catalog: the next start would remove it anyway.
                let _ = self
                    .inner
                    .objects
                    .delete(&ObjectPath::from(new.path.as_str()))
                    .await;
            }
            return Ok(None);
        }
        self.remove_segment_files(&run).await;
        Ok(Some(written.is_some()))
    }
}

/// Splits an hour's segments into runs to merge: consecutive files up to `max_bytes`
/// together (a file larger than that alone).
pub(crate) fn runs(segments: Vec<SegmentRow>, max_bytes: i64) -> Vec<Vec<SegmentRow>> {
    let mut runs = Vec::new();
    let mut run: Vec<SegmentRow> = Vec::new();
    let mut bytes = 0;
    for s in segments {
        if !run.is_empty() && bytes + s.bytes > max_bytes {
            runs.push(std::mem::take(&mut run));
            bytes = 0;
        }
        bytes += s.bytes;
        run.push(s);
    }
    if !run.is_empty() {
        runs.push(run);
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(id: i64, bytes: i64) -> SegmentRow {
        SegmentRow::for_test(id, bytes)
    }

    #[test]
    fn runs_group_consecutive_files_up_to_the_limit() {
        let ids = |runs: Vec<Vec<SegmentRow>>| -> Vec<Vec<i64>> {
            runs.into_iter()
                .map(|r| r.into_iter().map(|s| s.id).collect())
                .collect()
        };
        let small = 1 << 20;
        let limit = 4 * small;
        assert_eq!(
            ids(runs(
                vec![segment(1, small), segment(2, small), segment(3, small)],
                limit
            )),
            [vec![1, 2, 3]]
        );
        assert_eq!(
            ids(runs(
                vec![
                    segment(1, limit),
                    segment(2, small),
                    segment(3, small),
                    segment(4, 3 * small),
                    segment(5, 2 * limit)
                ],
                limit
            )),
            [vec![1], vec![2, 3], vec![4], vec![5]]
        );
        assert!(runs(Vec::new(), limit).is_empty());
    }
}
