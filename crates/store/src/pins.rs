//! Deferred deletion: a segment file that compaction, archiving, retention or a deleted
//! group took out of the catalog is deleted only once no reader can still open it.
//!
//! A reader takes a [`ReadPin`] together with its list of segments (under the view lock);
//! a file leaves the catalog at some epoch; it may go once every pin taken at or before
//! that epoch is dropped. Without this, a query that listed a file a moment before
//! compaction replaced it would fail halfway with "not found".

use crate::SegmentRow;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Default)]
struct State {
    /// Epoch the next pin or retirement gets.
    next: u64,
    /// Live pins by epoch: how many.
    active: BTreeMap<u64, usize>,
    /// Files out of the catalog that some pin may still reach, with their epoch.
    doomed: Vec<(u64, SegmentRow)>,
}

/// Who may still read which segment files.
#[derive(Default)]
pub(crate) struct Pins {
    state: Arc<Mutex<State>>,
}

/// Keeps the segment files a reader listed from being deleted while it lives; cheap to
/// clone, released when the last clone drops.
#[derive(Clone)]
pub struct ReadPin {
    _inner: Arc<PinInner>,
}

struct PinInner {
    epoch: u64,
    state: Arc<Mutex<State>>,
}

impl Drop for PinInner {
    fn drop(&mut self) {
        let mut state = lock(&self.state);
        if let Some(count) = state.active.get_mut(&self.epoch) {
            *count -= 1;
            if *count == 0 {
                state.active.remove(&self.epoch);
            }
        }
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

impl Pins {
    /// A pin for a reader about to list segments.
    pub(crate) fn pin(&self) -> ReadPin {
        let mut state = lock(&self.state);
        let epoch = state.next;
        *state.active.entry(epoch).or_default() += 1;
        ReadPin {
            _inner: Arc::new(PinInner {
                epoch,
                state: self.state.clone(),
            }),
        }
    }

    /// Takes files just removed from the catalog; returns those no reader can reach,
    /// to delete now, and keeps the others for [`Pins::due`].
    pub(crate) fn retire(&self, segments: &[SegmentRow]) -> Vec<SegmentRow> {
        let mut state = lock(&self.state);
        let epoch = state.next;
        state.next += 1;
        if state.active.range(..=epoch).next().is_none() {
            return segments.to_vec();
        }
        state
            .doomed
            .extend(segments.iter().map(|s| (epoch, s.clone())));
        Vec::new()
    }

    /// Retired files whose readers have all finished.
    pub(crate) fn due(&self) -> Vec<SegmentRow> {
        let mut state = lock(&self.state);
        let oldest = state.active.keys().next().copied().unwrap_or(u64::MAX);
        let (due, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut state.doomed)
            .into_iter()
            .partition(|(epoch, _)| *epoch < oldest);
        state.doomed = kept;
        due.into_iter().map(|(_, s)| s).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(id: i64) -> SegmentRow {
        SegmentRow::for_test(id, 1)
    }

    #[test]
    fn files_wait_for_the_readers_that_listed_them() {
        let pins = Pins::default();
        assert_eq!(pins.retire(&[segment(1)]).len(), 1, "no reader: delete now");
        let early = pins.pin();
        let retired = pins.retire(&[segment(2)]);
        assert!(retired.is_empty(), "a reader may hold it");
        let late = pins.pin();
        assert!(pins.due().is_empty());
        drop(early);
        let due = pins.due();
        assert_eq!(due.len(), 1, "a later reader never saw it");
        assert_eq!(due[0].id, 2);
        assert!(pins.due().is_empty());
        drop(late);
    }
}
