//! Where records live: internal log groups of the store, so a record is as durable as a
//! log event (WAL + fsync before the call's response), flushed to the same Parquet
//! segments, and readable by the same scans.
//!
//! Each account and region has one history group ([`HISTORY_GROUP`]) that every call's
//! record goes to; LookupEvents, trails and event data stores read it. Records imported
//! into an event data store go to that store's own group ([`eds_group`]), so foreign
//! events never show up in the account's own history.

use crate::AuditError;
use crate::record::parse_event_time;
use model::{InputEvent, Scope, StoredEvent, time};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use store::read::{Cursor, Direction, ReadRequest};
use store::{GroupRow, NewGroup, Store, StoreError, StreamRow};

/// The internal group holding an account and region's call records.
pub const HISTORY_GROUP: &str = "@cloudtrail";
/// The one stream of an internal group.
pub const RECORD_STREAM: &str = "records";
/// How far back LookupEvents reaches.
pub const LOOKUP_WINDOW_MS: i64 = 90 * 24 * 3600 * 1000;

/// The internal group of an event data store's imported records.
pub fn eds_group(eds_id: &str) -> String {
    format!("{HISTORY_GROUP}/eds/{eds_id}")
}

/// Appends records to, and reads records from, the internal groups.
pub struct History {
    store: Store,
    targets: Mutex<HashMap<(Scope, String), (GroupRow, StreamRow)>>,
}

/// Which records a [`History::scan`] reads.
#[derive(Debug, Clone, Copy)]
pub struct Scan<'a> {
    /// The internal group.
    pub group: &'a str,
    /// Event times, epoch ms, inclusive.
    pub range: (i64, i64),
    /// Oldest or newest first.
    pub direction: Direction,
    /// Only records past this position.
    pub after: Cursor,
    /// Stop once this many are kept.
    pub limit: usize,
}

/// One record read back, with its position.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    /// The record.
    pub record: Value,
    /// The store's event: timestamp (= `eventTime`), sequence number, raw text.
    pub event: StoredEvent,
}

impl History {
    /// Records go to `store`.
    pub fn new(store: Store) -> History {
        History {
            store,
            targets: Mutex::new(HashMap::new()),
        }
    }

    /// The store records live in.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The group and stream of an internal group, created on first use.
    pub fn target(&self, scope: &Scope, group: &str) -> Result<(GroupRow, StreamRow), AuditError> {
        let key = (scope.clone(), group.to_string());
        if let Some(t) = self.lock().get(&key) {
            return Ok(t.clone());
        }
        let catalog = self.store.catalog();
        let group_row = match catalog.group(scope, group) {
            Ok(g) => g,
            Err(StoreError::GroupNotFound) => {
                match catalog.create_group(scope, group, time::now_ms(), &NewGroup::default()) {
                    Ok(_) | Err(StoreError::GroupExists) => catalog.group(scope, group)?,
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
        };
        let stream = match catalog.stream(group_row.id, RECORD_STREAM) {
            Ok(s) => s,
            Err(StoreError::StreamNotFound) => {
                match catalog.create_stream(group_row.id, RECORD_STREAM, time::now_ms()) {
                    Ok(_) | Err(StoreError::StreamExists) => {
                        catalog.stream(group_row.id, RECORD_STREAM)?
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
        };
        let target = (group_row, stream);
        self.lock().insert(key, target.clone());
        Ok(target)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Scope, String), (GroupRow, StreamRow)>> {
        self.targets.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets the cached group ids (after a `--dev` reset wiped them).
    pub fn forget_targets(&self) {
        self.lock().clear();
    }

    /// Durably appends one call's record to its account and region's history.
    pub async fn append(&self, scope: &Scope, record: &Value) -> Result<(), AuditError> {
        let timestamp = record
            .get("eventTime")
            .and_then(Value::as_str)
            .and_then(parse_event_time)
            .unwrap_or_else(time::now_ms);
        self.append_events(
            scope,
            HISTORY_GROUP,
            vec![InputEvent {
                timestamp,
                message: record.to_string(),
            }],
        )
        .await
    }

    /// Durably appends events (in time order) to an internal group.
    pub async fn append_events(
        &self,
        scope: &Scope,
        group: &str,
        events: Vec<InputEvent>,
    ) -> Result<(), AuditError> {
        let (g, s) = self.target(scope, group)?;
        match self.store.put_events(&g, &s, events.clone()).await {
            // The group was wiped under the cache (`--dev` reset): make it again, once.
            Err(StoreError::GroupNotFound | StoreError::StreamNotFound) => {
                self.forget_targets();
                let (g, s) = self.target(scope, group)?;
                self.store.put_events(&g, &s, events).await?;
            }
            other => {
                other?;
            }
        }
        Ok(())
    }

    /// The account and region's records a consumer (trail delivery, the Insights
    /// detector) has not seen: sequence numbers past `after_seq`, event times from
    /// `since`, read from `from` on (a little before the newest time seen, since
    /// records of concurrent calls land slightly out of time order). At most `limit`,
    /// and whether more may follow.
    pub async fn records_after(
        &self,
        scope: &Scope,
        from: i64,
        since: i64,
        after_seq: u64,
        limit: usize,
    ) -> Result<(Vec<StoredRecord>, bool), AuditError> {
        self.scan(
            scope,
            Scan {
                group: HISTORY_GROUP,
                range: (from, i64::MAX),
                direction: Direction::Forward,
                after: Cursor {
                    timestamp: from,
                    seq: 0,
                },
                limit,
            },
            &|_, e| e.seq > after_seq && e.timestamp >= since,
        )
        .await
    }

    /// Reads records of an internal group as `scan` says, keeping those `keep` accepts,
    /// until `scan.limit` are kept. Returns them and whether more may follow.
    pub async fn scan(
        &self,
        scope: &Scope,
        scan: Scan<'_>,
        keep: &(dyn Fn(&Value, &StoredEvent) -> bool + Sync),
    ) -> Result<(Vec<StoredRecord>, bool), AuditError> {
        const PAGE: usize = 1000;
        let Scan {
            group,
            range,
            direction,
            mut after,
            limit,
        } = scan;
        let (g, s) = self.target(scope, group)?;
        let mut out = Vec::new();
        loop {
            let page = self
                .store
                .read(
                    ReadRequest {
                        group_id: g.id,
                        streams: HashSet::from([s.id]),
                        from: range.0,
                        to: range.1,
                        direction,
                        after,
                        pattern: None,
                        limit: PAGE,
                        max_bytes: usize::MAX,
                    },
                    None,
                )
                .await?;
            for event in page.events {
                after = Cursor::of(&event);
                let Ok(record) = serde_json::from_str::<Value>(&event.message) else {
                    tracing::warn!(seq = event.seq, "skipping an unreadable audit record");
                    continue;
                };
                if keep(&record, &event) {
                    out.push(StoredRecord { record, event });
                    if out.len() >= limit {
                        return Ok((out, true));
                    }
                }
            }
            if !page.more {
                return Ok((out, false));
            }
        }
    }
}
