//! Event data stores (CloudTrail Lake): what each collects, and imports of exported
//! CloudTrail records into one.
//!
//! A store collects the account's own records from the history (those its selectors take,
//! from its creation on, while ingestion is on) plus the records imported into it, which
//! live in its own internal group ([`eds_group`]). Imports are idempotent on `eventID`.

use crate::AuditError;
use crate::catalog::AuditCatalog;
use crate::history::{HISTORY_GROUP, History, eds_group};
use crate::record::parse_event_time;
use crate::selectors::Selectors;
use model::{InputEvent, Scope};
use query::lake::{LakeError, LakeSource, LakeTable};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The catalog kind event data stores are stored under.
pub const KIND: &str = "eds";
/// AWS's default retention, in days (seven years).
pub const DEFAULT_RETENTION_DAYS: i64 = 2557;

/// An event data store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventDataStore {
    /// The id: the last part of the ARN, and a SQL table name.
    pub id: String,
    /// The name.
    pub name: String,
    /// Owning account.
    pub account: String,
    /// Region it was created in.
    pub region: String,
    /// `ENABLED`, `STOPPED_INGESTION` or `PENDING_DELETION`.
    pub status: String,
    /// Which of the account's records it collects.
    pub selectors: Selectors,
    /// Whether records of every region are collected.
    pub multi_region: bool,
    /// Echoed.
    pub organization_enabled: bool,
    /// Days records are kept.
    pub retention_days: i64,
    /// Whether DeleteEventDataStore is refused.
    pub termination_protection: bool,
    /// Echoed.
    pub billing_mode: String,
    /// Echoed.
    pub kms_key_id: Option<String>,
    /// Epoch ms.
    pub created_ms: i64,
    /// Epoch ms.
    pub updated_ms: i64,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

impl EventDataStore {
    /// `arn:aws:cloudtrail:<region>:<account>:eventdatastore/<id>`.
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:cloudtrail:{}:{}:eventdatastore/{}",
            self.region, self.account, self.id
        )
    }

    /// The scope its records belong to.
    pub fn scope(&self) -> Scope {
        Scope::new(self.account.clone(), self.region.clone())
    }

    /// Records older than this (epoch ms) are past retention.
    pub fn retention_cutoff(&self, now_ms: i64) -> i64 {
        now_ms - self.retention_days * 24 * 3600 * 1000
    }
}

/// Looks a store up by id, ARN or name in an account.
pub fn find(
    catalog: &AuditCatalog,
    account: &str,
    id_arn_or_name: &str,
) -> Result<Option<EventDataStore>, AuditError> {
    let id = id_arn_or_name
        .rsplit_once("eventdatastore/")
        .map_or(id_arn_or_name, |(_, id)| id);
    Ok(catalog
        .list::<EventDataStore>(KIND, Some(account))?
        .into_iter()
        .find(|s| s.id == id || s.name == id_arn_or_name))
}

/// What one import did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ImportCounts {
    /// Records added.
    pub added: u64,
    /// Records skipped because the store already had their `eventID`.
    pub duplicates: u64,
    /// Records without an `eventID` or `eventTime`, which cannot be imported.
    pub invalid: u64,
}

/// Imports records into a store: new `eventID`s only, each record kept verbatim (fields
/// Trailwatch does not know included), timestamped with its `eventTime`.
pub async fn import(
    history: &History,
    catalog: &AuditCatalog,
    eds: &EventDataStore,
    records: &[Value],
) -> Result<ImportCounts, AuditError> {
    let mut counts = ImportCounts::default();
    let mut keyed: Vec<(&str, i64, &Value)> = Vec::with_capacity(records.len());
    for record in records {
        let id = record.get("eventID").and_then(Value::as_str);
        let time = record
            .get("eventTime")
            .and_then(Value::as_str)
            .and_then(parse_event_time);
        match (id, time) {
            (Some(id), Some(time)) => keyed.push((id, time, record)),
            _ => counts.invalid += 1,
        }
    }
    let ids: Vec<&str> = keyed.iter().map(|(id, _, _)| *id).collect();
    let seen = catalog.seen_event_ids(&eds.id, &ids)?;
    let mut batch_ids = std::collections::HashSet::new();
    let mut fresh: Vec<(&str, i64, &Value)> = Vec::new();
    for (entry, seen) in keyed.into_iter().zip(seen) {
        // A batch can repeat an id too (CloudTrail may deliver an event twice).
        if seen || !batch_ids.insert(entry.0) {
            counts.duplicates += 1;
        } else {
            fresh.push(entry);
        }
    }
    fresh.sort_by_key(|(_, time, _)| *time);
    if fresh.is_empty() {
        return Ok(counts);
    }
    let events = fresh
        .iter()
        .map(|(_, time, record)| InputEvent {
            timestamp: *time,
            message: record.to_string(),
        })
        .collect();
    // Durable first, then marked: a crash in between repeats records on re-import
    // rather than losing them.
    history
        .append_events(&eds.scope(), &eds_group(&eds.id), events)
        .await?;
    let fresh_ids: Vec<&str> = fresh.iter().map(|(id, _, _)| *id).collect();
    catalog.mark_event_ids(&eds.id, &fresh_ids)?;
    counts.added = fresh.len() as u64;
    Ok(counts)
}

/// The table an event data store is: its regions' history since its creation and within
/// its retention, through its selectors, plus everything imported into it.
pub fn table(history: &History, eds: &EventDataStore) -> Result<LakeTable, AuditError> {
    let now = model::time::now_ms();
    let cutoff = eds.retention_cutoff(now);
    let mut sources = Vec::new();
    for group in history.store().catalog().all_groups()? {
        if group.scope.account != eds.account {
            continue;
        }
        if group.name == HISTORY_GROUP && (eds.multi_region || group.scope.region == eds.region) {
            let selectors = eds.selectors.clone();
            sources.push(LakeSource {
                group_id: group.id,
                // Records have whole-second times; the creating second counts.
                from_ms: cutoff.max(eds.created_ms / 1000 * 1000),
                to_ms: i64::MAX,
                keep: Some(Arc::new(move |r: &Value| selectors.wants(r))),
            });
        } else if group.name == eds_group(&eds.id) {
            sources.push(LakeSource {
                group_id: group.id,
                from_ms: cutoff,
                to_ms: i64::MAX,
                keep: None,
            });
        }
    }
    Ok(LakeTable::new(history.store(), sources))
}

/// Why a Lake query's tables could not be found.
#[derive(Debug, thiserror::Error)]
pub enum TablesError {
    /// The statement does not parse or is not a SELECT.
    #[error(transparent)]
    Query(#[from] LakeError),
    /// A table names no event data store of the account.
    #[error("Event data store {0} does not exist.")]
    NotFound(String),
    /// The audit catalog failed.
    #[error(transparent)]
    Audit(#[from] AuditError),
}

/// The stores a Lake query names (by id, or by name in any case), in the order named.
pub fn stores_named(
    catalog: &AuditCatalog,
    account: &str,
    sql: &str,
) -> Result<Vec<(String, EventDataStore)>, TablesError> {
    let stores: Vec<EventDataStore> = catalog.list(KIND, Some(account))?;
    query::lake::lake_tables(sql)?
        .into_iter()
        .map(|name| {
            let eds = stores
                .iter()
                .find(|s| s.id == name || s.name.eq_ignore_ascii_case(&name))
                .cloned()
                .ok_or_else(|| TablesError::NotFound(name.clone()))?;
            Ok((name, eds))
        })
        .collect()
}

/// The tables of a Lake query over an account's event data stores, ready for
/// [`query::lake::run_lake_sql`].
pub fn tables_for(
    audit: &crate::Audit,
    account: &str,
    sql: &str,
) -> Result<Vec<(String, LakeTable)>, TablesError> {
    stores_named(audit.catalog(), account, sql)?
        .into_iter()
        .map(|(name, eds)| Ok((name, table(audit.history(), &eds)?)))
        .collect()
}
