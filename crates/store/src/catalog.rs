//! The SQLite catalog: log groups, streams, tags, segments and the store's own bookkeeping.
//!
//! Everything that is not an event lives here. SQLite runs in WAL mode with
//! `synchronous=FULL`, so a committed change (a new group, a segment row) is on disk when
//! the call returns, the same promise the event WAL makes.

use crate::error::{Result, StoreError};
use model::Scope;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS log_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    creation_time INTEGER NOT NULL,
    retention_days INTEGER,
    kms_key_id TEXT,
    log_group_class TEXT NOT NULL,
    deletion_protection INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account, region, name)
);
CREATE TABLE IF NOT EXISTS log_streams (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id INTEGER NOT NULL REFERENCES log_groups(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    creation_time INTEGER NOT NULL,
    first_event INTEGER,
    last_event INTEGER,
    last_ingestion INTEGER,
    UNIQUE (group_id, name)
);
CREATE TABLE IF NOT EXISTS tags (
    group_id INTEGER NOT NULL REFERENCES log_groups(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (group_id, key)
);
CREATE TABLE IF NOT EXISTS segments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id INTEGER NOT NULL,
    path TEXT NOT NULL,
    hour INTEGER NOT NULL,
    min_ts INTEGER NOT NULL,
    max_ts INTEGER NOT NULL,
    max_seq INTEGER NOT NULL,
    rows INTEGER NOT NULL,
    bytes INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS segments_by_group ON segments (group_id, hour);
CREATE TABLE IF NOT EXISTS lifecycle_policies (
    group_id INTEGER PRIMARY KEY REFERENCES log_groups(id) ON DELETE CASCADE,
    archive_after_days INTEGER NOT NULL,
    delete_after_days INTEGER
);
CREATE TABLE IF NOT EXISTS query_definitions (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    query_string TEXT NOT NULL,
    log_group_names TEXT NOT NULL,
    last_modified INTEGER NOT NULL,
    query_language TEXT NOT NULL DEFAULT 'CWLI',
    parameters TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS imported_files (
    group_id INTEGER NOT NULL REFERENCES log_groups(id) ON DELETE CASCADE,
    sha256 TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    modified INTEGER NOT NULL,
    stream TEXT NOT NULL,
    events INTEGER NOT NULL,
    imported_at INTEGER NOT NULL,
    PRIMARY KEY (group_id, sha256)
);
CREATE INDEX IF NOT EXISTS imported_files_by_path ON imported_files (group_id, path);
CREATE TABLE IF NOT EXISTS external_tables (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    format TEXT NOT NULL,
    location TEXT NOT NULL,
    statement TEXT NOT NULL,
    creation_time INTEGER NOT NULL,
    PRIMARY KEY (account, region, name)
);
CREATE TABLE IF NOT EXISTS iam_users (
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    user_id TEXT NOT NULL,
    creation_time INTEGER NOT NULL,
    PRIMARY KEY (account, name)
);
CREATE TABLE IF NOT EXISTS iam_access_keys (
    access_key_id TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    account TEXT NOT NULL,
    user_name TEXT NOT NULL,
    status TEXT NOT NULL,
    creation_time INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS iam_user_policies (
    account TEXT NOT NULL,
    user_name TEXT NOT NULL,
    policy_name TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (account, user_name, policy_name)
);
"#;

/// A log group row.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRow {
    /// Catalog id; never reused, so WAL records of a deleted group stay dead.
    pub id: i64,
    /// Owner of the group.
    pub scope: Scope,
    /// Group name.
    pub name: String,
    /// Epoch milliseconds.
    pub creation_time: i64,
    /// Days events are kept, `None` for never expire.
    pub retention_days: Option<i32>,
    /// KMS key named at creation, kept and echoed only.
    pub kms_key_id: Option<String>,
    /// `STANDARD`, `INFREQUENT_ACCESS`, ...
    pub log_group_class: String,
    /// Whether DeleteLogGroup is refused.
    pub deletion_protection: bool,
}

/// A log stream row, with the event statistics of its flushed segments.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamRow {
    /// Catalog id; never reused.
    pub id: i64,
    /// Owning group.
    pub group_id: i64,
    /// Stream name.
    pub name: String,
    /// Epoch milliseconds.
    pub creation_time: i64,
    /// Earliest event timestamp stored, if any.
    pub first_event: Option<i64>,
    /// Latest event timestamp stored, if any.
    pub last_event: Option<i64>,
    /// Latest ingestion time, if any.
    pub last_ingestion: Option<i64>,
}

/// A Parquet segment of one group and one hour.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentRow {
    /// Catalog id.
    pub id: i64,
    /// Owning group.
    pub group_id: i64,
    /// Object-store path of the Parquet file.
    pub path: String,
    /// Start of the hour the segment covers, epoch milliseconds.
    pub hour: i64,
    /// Smallest event timestamp inside.
    pub min_ts: i64,
    /// Largest event timestamp inside.
    pub max_ts: i64,
    /// Largest ingest sequence number inside.
    pub max_seq: u64,
    /// Number of events.
    pub rows: i64,
    /// File size.
    pub bytes: i64,
    /// Which object store holds the file.
    pub tier: Tier,
}

#[cfg(test)]
impl SegmentRow {
    /// A local segment row of the given id and size, for unit tests of code that only
    /// looks at ids and sizes.
    pub(crate) fn for_test(id: i64, bytes: i64) -> SegmentRow {
        SegmentRow {
            id,
            group_id: 1,
            path: format!("{id}.parquet"),
            hour: 0,
            min_ts: 0,
            max_ts: 0,
            max_seq: 0,
            rows: 1,
            bytes,
            tier: Tier::Local,
        }
    }
}

/// Where a segment file lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// The data directory's `segments/`.
    Local,
    /// The archive location (`serve --archive-location`).
    Archive,
}

impl Tier {
    /// The catalog's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Local => "local",
            Tier::Archive => "archive",
        }
    }
}

/// A log group's lifecycle: archive after some days, maybe delete later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifecyclePolicy {
    /// Hours wholly older than this many days move to the archive.
    pub archive_after_days: i32,
    /// Events older than this many days are deleted, wherever they are.
    pub delete_after_days: Option<i32>,
}

/// Files of one tier of a group: what `archive status` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TierSummary {
    /// Segment files.
    pub files: i64,
    /// Their bytes.
    pub bytes: i64,
    /// Their events.
    pub rows: i64,
    /// Earliest hour held, epoch ms.
    pub oldest_hour: Option<i64>,
    /// Latest hour held, epoch ms.
    pub newest_hour: Option<i64>,
}

/// A segment about to be committed, before the catalog gives it an id.
#[derive(Debug, Clone)]
pub struct NewSegment {
    /// See [`SegmentRow`].
    pub group_id: i64,
    /// See [`SegmentRow`].
    pub path: String,
    /// See [`SegmentRow`].
    pub hour: i64,
    /// See [`SegmentRow`].
    pub min_ts: i64,
    /// See [`SegmentRow`].
    pub max_ts: i64,
    /// See [`SegmentRow`].
    pub max_seq: u64,
    /// See [`SegmentRow`].
    pub rows: i64,
    /// See [`SegmentRow`].
    pub bytes: i64,
}

/// Per-stream statistics a flush folds into the stream rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamStats {
    /// Earliest event timestamp.
    pub first_event: Option<i64>,
    /// Latest event timestamp.
    pub last_event: Option<i64>,
    /// Latest ingestion time.
    pub last_ingestion: Option<i64>,
}

impl StreamStats {
    /// Widens these statistics with one event.
    pub fn add(&mut self, timestamp: i64, ingestion: i64) {
        self.first_event = Some(self.first_event.map_or(timestamp, |t| t.min(timestamp)));
        self.last_event = Some(self.last_event.map_or(timestamp, |t| t.max(timestamp)));
        self.last_ingestion = Some(self.last_ingestion.map_or(ingestion, |t| t.max(ingestion)));
    }

    /// Widens these statistics with another set.
    pub fn merge(&mut self, other: &StreamStats) {
        fn pick(a: Option<i64>, b: Option<i64>, f: fn(i64, i64) -> i64) -> Option<i64> {
            match (a, b) {
                (Some(a), Some(b)) => Some(f(a, b)),
                (a, b) => a.or(b),
            }
        }
        self.first_event = pick(self.first_event, other.first_event, i64::min);
        self.last_event = pick(self.last_event, other.last_event, i64::max);
        self.last_ingestion = pick(self.last_ingestion, other.last_ingestion, i64::max);
    }
}

/// A saved Insights query (PutQueryDefinition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryDefinition {
    /// `queryDefinitionId`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The query text.
    pub query_string: String,
    /// Groups it runs over by default.
    pub log_group_names: Vec<String>,
    /// Epoch milliseconds.
    pub last_modified: i64,
    /// `CWLI`, `SQL` or `PPL`.
    pub query_language: String,
    /// The `{{name}}` placeholders of the text, with their defaults.
    pub parameters: Vec<QueryParameter>,
}

/// A placeholder of a saved query (`{{name}}` in its text), as PutQueryDefinition takes
/// it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryParameter {
    /// The name the text refers to.
    pub name: String,
    /// The value used when a run gives none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_value: Option<String>,
    /// What it is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A file `trailwatch import` has wholly imported into a group: the manifest row that
/// makes a re-run skip it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedFile {
    /// Hex SHA-256 of the file's bytes as on disk (compressed, for `.gz`).
    pub sha256: String,
    /// The path it was imported from.
    pub path: String,
    /// Its size in bytes.
    pub size: i64,
    /// Its modification time, epoch milliseconds.
    pub modified: i64,
    /// The stream its events went to.
    pub stream: String,
    /// How many events it gave.
    pub events: i64,
    /// When the import finished, epoch milliseconds.
    pub imported_at: i64,
}

/// A SQL table over files (`CREATE EXTERNAL TABLE`), kept so every later query sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalTable {
    /// The table's name, as SQL names it (lower case unless quoted).
    pub name: String,
    /// `STORED AS`, upper case: `PARQUET`, `JSON`, `CSV`, `CLOUDTRAIL`, ...
    pub format: String,
    /// The directory (or file) it reads.
    pub location: String,
    /// The `CREATE EXTERNAL TABLE` statement as given.
    pub statement: String,
    /// Epoch milliseconds.
    pub creation_time: i64,
}

/// Fields of a new log group.
#[derive(Debug, Clone, Default)]
pub struct NewGroup {
    /// KMS key id to echo back.
    pub kms_key_id: Option<String>,
    /// Defaults to `STANDARD`.
    pub log_group_class: Option<String>,
    /// Whether deletion is refused.
    pub deletion_protection: bool,
    /// Tags set at creation.
    pub tags: BTreeMap<String, String>,
}

/// The SQLite catalog. One connection behind a mutex: every statement is short.
pub struct Catalog {
    conn: Mutex<Connection>,
}

/// Prepared statements the catalog's connection keeps (see [`Catalog::open`]).
const STATEMENT_CACHE: usize = 64;
const GROUP_COLUMNS: &str = "id, account, region, name, creation_time, retention_days, kms_key_id, log_group_class, deletion_protection";
const STREAM_COLUMNS: &str =
    "id, group_id, name, creation_time, first_event, last_event, last_ingestion";
const SEGMENT_COLUMNS: &str =
    "id, group_id, path, hour, min_ts, max_ts, max_seq, rows, bytes, tier";

fn group_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<GroupRow> {
    Ok(GroupRow {
        id: row.get(0)?,
        scope: Scope::new(row.get::<_, String>(1)?, row.get::<_, String>(2)?),
        name: row.get(3)?,
        creation_time: row.get(4)?,
        retention_days: row.get(5)?,
        kms_key_id: row.get(6)?,
        log_group_class: row.get(7)?,
        deletion_protection: row.get(8)?,
    })
}

fn stream_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StreamRow> {
    Ok(StreamRow {
        id: row.get(0)?,
        group_id: row.get(1)?,
        name: row.get(2)?,
        creation_time: row.get(3)?,
        first_event: row.get(4)?,
        last_event: row.get(5)?,
        last_ingestion: row.get(6)?,
    })
}

fn segment_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<SegmentRow> {
    Ok(SegmentRow {
        id: row.get(0)?,
        group_id: row.get(1)?,
        path: row.get(2)?,
        hour: row.get(3)?,
        min_ts: row.get(4)?,
        max_ts: row.get(5)?,
        max_seq: row.get::<_, i64>(6)? as u64,
        rows: row.get(7)?,
        bytes: row.get(8)?,
        tier: if row.get::<_, String>(9)? == "archive" {
            Tier::Archive
        } else {
            Tier::Local
        },
    })
}

fn is_unique_violation(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(e, _) if e.code == rusqlite::ErrorCode::ConstraintViolation
    )
}

/// Brings a catalog written by an older Trailwatch up to date, in place.
fn migrate(conn: &Connection) -> Result<()> {
    let has_tier: bool = conn.query_row(
        "SELECT COUNT(*) > 0 FROM pragma_table_info('segments') WHERE name = 'tier'",
        [],
        |r| r.get(0),
    )?;
    if !has_tier {
        // Every segment written before archiving existed is local.
        conn.execute_batch("ALTER TABLE segments ADD COLUMN tier TEXT NOT NULL DEFAULT 'local';")?;
    }
    let has_language: bool = conn.query_row(
        "SELECT COUNT(*) > 0 FROM pragma_table_info('query_definitions') WHERE name = 'query_language'",
        [],
        |r| r.get(0),
    )?;
    if !has_language {
        // Definitions saved before SQL and parameters were kept are Insights queries.
        conn.execute_batch(
            "ALTER TABLE query_definitions ADD COLUMN query_language TEXT NOT NULL DEFAULT 'CWLI';
             ALTER TABLE query_definitions ADD COLUMN parameters TEXT NOT NULL DEFAULT '[]';",
        )?;
    }
    Ok(())
}

impl Catalog {
    /// Opens (creating if needed) the catalog at `path`.
    pub fn open(path: &Path) -> Result<Catalog> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // The statements every request or query runs are cached, and there are more of
        // them than rusqlite's default 16 keeps: beyond that they would be parsed again.
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        conn.execute_batch(SCHEMA)?;
        migrate(&conn)?;
        Ok(Catalog {
            conn: Mutex::new(conn),
        })
    }

    /// The connection; a poisoned lock still holds a usable connection, because every
    /// write is one transaction that SQLite rolls back on its own.
    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A bookkeeping value.
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// Sets a bookkeeping value.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn().execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// Creates a log group; `GroupExists` if the name is taken in that scope.
    pub fn create_group(&self, scope: &Scope, name: &str, now: i64, new: &NewGroup) -> Result<i64> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let inserted = tx.execute(
            "INSERT INTO log_groups (account, region, name, creation_time, kms_key_id, log_group_class, deletion_protection) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                scope.account,
                scope.region,
                name,
                now,
                new.kms_key_id,
                new.log_group_class.as_deref().unwrap_or("STANDARD"),
                new.deletion_protection
            ],
        );
        match inserted {
            Err(e) if is_unique_violation(&e) => return Err(StoreError::GroupExists),
            other => other?,
        };
        let id = tx.last_insert_rowid();
        for (k, v) in &new.tags {
            tx.execute(
                "INSERT INTO tags (group_id, key, value) VALUES (?1, ?2, ?3)",
                params![id, k, v],
            )?;
        }
        tx.commit()?;
        Ok(id)
    }

    /// Looks a group up by name.
    pub fn group(&self, scope: &Scope, name: &str) -> Result<GroupRow> {
        self.conn()
            .prepare_cached(&format!(
                "SELECT {GROUP_COLUMNS} FROM log_groups WHERE account = ?1 AND region = ?2 AND name = ?3"
            ))?
            .query_row(params![scope.account, scope.region, name], group_from_row)
            .optional()?
            .ok_or(StoreError::GroupNotFound)
    }

    /// Looks a group up by id, if it still exists.
    pub fn group_by_id(&self, id: i64) -> Result<Option<GroupRow>> {
        Ok(self
            .conn()
            .prepare_cached(&format!(
                "SELECT {GROUP_COLUMNS} FROM log_groups WHERE id = ?1"
            ))?
            .query_row([id], group_from_row)
            .optional()?)
    }

    /// Users' groups of a scope (internal ones left out) that `keep` accepts and whose
    /// names sort after `after`, in name order, at most `limit` of them.
    pub fn groups(
        &self,
        scope: &Scope,
        after: Option<&str>,
        limit: usize,
        keep: &dyn Fn(&GroupRow) -> bool,
    ) -> Result<Vec<GroupRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {GROUP_COLUMNS} FROM log_groups WHERE account = ?1 AND region = ?2 AND name > ?3 AND substr(name, 1, 1) != ?4 ORDER BY name"
        ))?;
        let rows = stmt.query_map(
            params![
                scope.account,
                scope.region,
                after.unwrap_or(""),
                model::INTERNAL_GROUP_PREFIX.to_string()
            ],
            group_from_row,
        )?;
        let mut out = Vec::new();
        for row in rows {
            let row = row?;
            if keep(&row) {
                out.push(row);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Every group, for background tasks.
    pub fn all_groups(&self) -> Result<Vec<GroupRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!("SELECT {GROUP_COLUMNS} FROM log_groups"))?;
        let rows = stmt.query_map([], group_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Deletes a group with its streams and tags, returning its segments for removal.
    pub fn delete_group(&self, id: i64) -> Result<Vec<SegmentRow>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let segments = {
            let mut stmt = tx.prepare(&format!(
                "SELECT {SEGMENT_COLUMNS} FROM segments WHERE group_id = ?1"
            ))?;
            stmt.query_map([id], segment_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?
        };
        tx.execute("DELETE FROM segments WHERE group_id = ?1", [id])?;
        tx.execute("DELETE FROM log_groups WHERE id = ?1", [id])?;
        tx.commit()?;
        Ok(segments)
    }

    /// Sets or clears a group's retention.
    pub fn set_retention(&self, id: i64, days: Option<i32>) -> Result<()> {
        self.conn().execute(
            "UPDATE log_groups SET retention_days = ?2 WHERE id = ?1",
            params![id, days],
        )?;
        Ok(())
    }

    /// Creates a stream; `StreamExists` if the name is taken in the group.
    pub fn create_stream(&self, group_id: i64, name: &str, now: i64) -> Result<i64> {
        let conn = self.conn();
        let inserted = conn.execute(
            "INSERT INTO log_streams (group_id, name, creation_time) VALUES (?1, ?2, ?3)",
            params![group_id, name, now],
        );
        match inserted {
            Err(e) if is_unique_violation(&e) => Err(StoreError::StreamExists),
            Err(e) => Err(e.into()),
            Ok(_) => Ok(conn.last_insert_rowid()),
        }
    }

    /// Looks a stream up by name.
    pub fn stream(&self, group_id: i64, name: &str) -> Result<StreamRow> {
        self.conn()
            .prepare_cached(&format!(
                "SELECT {STREAM_COLUMNS} FROM log_streams WHERE group_id = ?1 AND name = ?2"
            ))?
            .query_row(params![group_id, name], stream_from_row)
            .optional()?
            .ok_or(StoreError::StreamNotFound)
    }

    /// Every stream of a group, in name order.
    pub fn streams(&self, group_id: i64) -> Result<Vec<StreamRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {STREAM_COLUMNS} FROM log_streams WHERE group_id = ?1 ORDER BY name"
        ))?;
        let rows = stmt.query_map([group_id], stream_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Ids of a group's streams: the rows a read may show, since a deleted stream's
    /// events stay in segment files until they are rewritten.
    pub fn live_stream_ids(&self, group_id: i64) -> Result<HashSet<i64>> {
        Ok(self.streams(group_id)?.into_iter().map(|s| s.id).collect())
    }

    /// Deletes a stream; its events become invisible at once and leave disk with their segments.
    pub fn delete_stream(&self, id: i64) -> Result<()> {
        self.conn()
            .execute("DELETE FROM log_streams WHERE id = ?1", [id])?;
        Ok(())
    }

    /// A group's tags.
    pub fn tags(&self, group_id: i64) -> Result<BTreeMap<String, String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT key, value FROM tags WHERE group_id = ?1")?;
        let rows = stmt.query_map([group_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Adds or overwrites tags, refusing to go past `max` tags in all.
    pub fn tag(
        &self,
        group_id: i64,
        tags: &BTreeMap<String, String>,
        max: usize,
        arn: &str,
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for (k, v) in tags {
            tx.execute(
                "INSERT INTO tags (group_id, key, value) VALUES (?1, ?2, ?3) ON CONFLICT(group_id, key) DO UPDATE SET value = excluded.value",
                params![group_id, k, v],
            )?;
        }
        let count: i64 = tx.query_row(
            "SELECT COUNT(*) FROM tags WHERE group_id = ?1",
            [group_id],
            |r| r.get(0),
        )?;
        if count as usize > max {
            return Err(StoreError::TooManyTags {
                resource: arn.to_string(),
            });
        }
        tx.commit()?;
        Ok(())
    }

    /// Removes tags by key; absent keys are ignored, as AWS does.
    pub fn untag(&self, group_id: i64, keys: &[String]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for k in keys {
            tx.execute(
                "DELETE FROM tags WHERE group_id = ?1 AND key = ?2",
                params![group_id, k],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Segments of a group overlapping `[from, to]` (inclusive), by hour.
    pub fn segments(&self, group_id: i64, from: i64, to: i64) -> Result<Vec<SegmentRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {SEGMENT_COLUMNS} FROM segments WHERE group_id = ?1 AND max_ts >= ?2 AND min_ts <= ?3 ORDER BY hour, id"
        ))?;
        let rows = stmt.query_map(params![group_id, from, to], segment_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Paths of every committed segment of a tier.
    pub fn segment_paths(&self, tier: Tier) -> Result<HashSet<String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT path FROM segments WHERE tier = ?1")?;
        let rows = stmt.query_map([tier.as_str()], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A group's local segments of hours that end at or before `limit`, by hour.
    pub fn local_segments_before(&self, group_id: i64, limit: i64) -> Result<Vec<SegmentRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {SEGMENT_COLUMNS} FROM segments WHERE group_id = ?1 AND tier = 'local' AND hour + 3600000 <= ?2 ORDER BY hour, id"
        ))?;
        let rows = stmt.query_map(params![group_id, limit], segment_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Groups with an hour ended by `limit` that is held in more than one local
    /// segment: what compaction has to do, found in one query however many groups exist.
    pub fn groups_with_split_hours(&self, limit: i64) -> Result<Vec<i64>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT DISTINCT group_id FROM (SELECT group_id FROM segments WHERE tier = 'local' AND hour + 3600000 <= ?1 GROUP BY group_id, hour HAVING COUNT(*) > 1)",
        )?;
        let rows = stmt.query_map([limit], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Files, bytes and hours of a group's segments in one tier.
    pub fn tier_summary(&self, group_id: i64, tier: Tier) -> Result<TierSummary> {
        Ok(self.conn().query_row(
            "SELECT COUNT(*), COALESCE(SUM(bytes), 0), COALESCE(SUM(rows), 0), MIN(hour), MAX(hour) FROM segments WHERE group_id = ?1 AND tier = ?2",
            params![group_id, tier.as_str()],
            |r| {
                Ok(TierSummary {
                    files: r.get(0)?,
                    bytes: r.get(1)?,
                    rows: r.get(2)?,
                    oldest_hour: r.get(3)?,
                    newest_hour: r.get(4)?,
                })
            },
        )?)
    }

    /// Swaps local segments for the file of `tier` that merges them (an archived file,
    /// or a compacted local one), in one transaction. Returns false, changing nothing, if
    /// any of them is gone (retention, a deleted group or another merge got there first):
    /// the merged file then names rows no one may see.
    pub fn replace_segments(
        &self,
        replaced: &[i64],
        merged: Option<&NewSegment>,
        tier: Tier,
    ) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for id in replaced {
            if tx.execute(
                "DELETE FROM segments WHERE id = ?1 AND tier = 'local'",
                [id],
            )? == 0
            {
                return Ok(false);
            }
        }
        if let Some(s) = merged {
            tx.execute(
                "INSERT INTO segments (group_id, path, hour, min_ts, max_ts, max_seq, rows, bytes, tier)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![s.group_id, s.path, s.hour, s.min_ts, s.max_ts, s.max_seq as i64, s.rows, s.bytes, tier.as_str()],
            )?;
        }
        tx.commit()?;
        Ok(true)
    }

    /// Sets a group's lifecycle policy, replacing any.
    pub fn put_lifecycle(&self, group_id: i64, policy: &LifecyclePolicy) -> Result<()> {
        self.conn().execute(
            "INSERT INTO lifecycle_policies (group_id, archive_after_days, delete_after_days) VALUES (?1, ?2, ?3)
             ON CONFLICT(group_id) DO UPDATE SET archive_after_days = excluded.archive_after_days, delete_after_days = excluded.delete_after_days",
            params![group_id, policy.archive_after_days, policy.delete_after_days],
        )?;
        Ok(())
    }

    /// A group's lifecycle policy, if it has one.
    pub fn lifecycle(&self, group_id: i64) -> Result<Option<LifecyclePolicy>> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT archive_after_days, delete_after_days FROM lifecycle_policies WHERE group_id = ?1",
            )?
            .query_row(
                [group_id],
                |r| {
                    Ok(LifecyclePolicy {
                        archive_after_days: r.get(0)?,
                        delete_after_days: r.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    /// Removes a group's lifecycle policy; false if it had none.
    pub fn delete_lifecycle(&self, group_id: i64) -> Result<bool> {
        Ok(self.conn().execute(
            "DELETE FROM lifecycle_policies WHERE group_id = ?1",
            [group_id],
        )? > 0)
    }

    /// Bytes of a group's segments.
    pub fn stored_bytes(&self, group_id: i64) -> Result<i64> {
        Ok(self
            .conn()
            .prepare_cached("SELECT COALESCE(SUM(bytes), 0) FROM segments WHERE group_id = ?1")?
            .query_row([group_id], |r| r.get(0))?)
    }

    /// The largest sequence number any segment holds.
    pub fn max_segment_seq(&self) -> Result<u64> {
        let max: i64 =
            self.conn()
                .query_row("SELECT COALESCE(MAX(max_seq), 0) FROM segments", [], |r| {
                    r.get(0)
                })?;
        Ok(max as u64)
    }

    /// Commits a flush in one transaction: the new segments, the streams' widened
    /// statistics, and the WAL file number the flush covered. Returns the paths of
    /// segments whose group was deleted while they were written, for removal.
    pub fn commit_flush(
        &self,
        segments: &[NewSegment],
        stats: &[(i64, StreamStats)],
        flushed_wal: u64,
    ) -> Result<Vec<String>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut orphans = Vec::new();
        for s in segments {
            let inserted = tx.execute(
                "INSERT INTO segments (group_id, path, hour, min_ts, max_ts, max_seq, rows, bytes)
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 WHERE EXISTS (SELECT 1 FROM log_groups WHERE id = ?1)",
                params![s.group_id, s.path, s.hour, s.min_ts, s.max_ts, s.max_seq as i64, s.rows, s.bytes],
            )?;
            if inserted == 0 {
                orphans.push(s.path.clone());
            }
        }
        for (stream_id, st) in stats {
            tx.execute(
                "UPDATE log_streams SET
                    first_event = CASE WHEN first_event IS NULL OR ?2 < first_event THEN ?2 ELSE first_event END,
                    last_event = CASE WHEN last_event IS NULL OR ?3 > last_event THEN ?3 ELSE last_event END,
                    last_ingestion = CASE WHEN last_ingestion IS NULL OR ?4 > last_ingestion THEN ?4 ELSE last_ingestion END
                 WHERE id = ?1",
                params![stream_id, st.first_event, st.last_event, st.last_ingestion],
            )?;
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('flushed_wal', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [flushed_wal.to_string()],
        )?;
        tx.commit()?;
        Ok(orphans)
    }

    /// Segments of a group that end before `cutoff`: wholly expired.
    pub fn expired_segments(&self, group_id: i64, cutoff: i64) -> Result<Vec<SegmentRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {SEGMENT_COLUMNS} FROM segments WHERE group_id = ?1 AND max_ts < ?2"
        ))?;
        let rows = stmt.query_map(params![group_id, cutoff], segment_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Forgets segments whose files are about to be removed.
    pub fn delete_segments(&self, ids: &[i64]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for id in ids {
            tx.execute("DELETE FROM segments WHERE id = ?1", [id])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Creates or replaces a saved Insights query.
    pub fn put_query_definition(&self, scope: &Scope, def: &QueryDefinition) -> Result<()> {
        let parameters = serde_json::to_string(&def.parameters)
            .map_err(|e| StoreError::Corrupt(format!("query parameters: {e}")))?;
        self.conn().execute(
            "INSERT INTO query_definitions (id, account, region, name, query_string, log_group_names,
                 last_modified, query_language, parameters)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT(id) DO UPDATE SET name = excluded.name, query_string = excluded.query_string,
                 log_group_names = excluded.log_group_names, last_modified = excluded.last_modified,
                 query_language = excluded.query_language, parameters = excluded.parameters",
            params![
                def.id,
                scope.account,
                scope.region,
                def.name,
                def.query_string,
                def.log_group_names.join("\n"),
                def.last_modified,
                def.query_language,
                parameters,
            ],
        )?;
        Ok(())
    }

    /// Saved queries of a scope whose names start with `prefix`, by name.
    pub fn query_definitions(&self, scope: &Scope, prefix: &str) -> Result<Vec<QueryDefinition>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT id, name, query_string, log_group_names, last_modified, query_language, parameters
             FROM query_definitions WHERE account = ?1 AND region = ?2 ORDER BY name, id",
        )?;
        let rows = stmt.query_map(params![scope.account, scope.region], |r| {
            let groups: String = r.get(3)?;
            let parameters: String = r.get(6)?;
            let parameters = serde_json::from_str(&parameters).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    6,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })?;
            Ok(QueryDefinition {
                id: r.get(0)?,
                name: r.get(1)?,
                query_string: r.get(2)?,
                log_group_names: groups
                    .split('\n')
                    .filter(|g| !g.is_empty())
                    .map(str::to_string)
                    .collect(),
                last_modified: r.get(4)?,
                query_language: r.get(5)?,
                parameters,
            })
        })?;
        let all: Vec<QueryDefinition> = rows.collect::<rusqlite::Result<_>>()?;
        Ok(all
            .into_iter()
            .filter(|d| d.name.starts_with(prefix))
            .collect())
    }

    /// Deletes a saved query; whether it existed.
    pub fn delete_query_definition(&self, scope: &Scope, id: &str) -> Result<bool> {
        let deleted = self.conn().execute(
            "DELETE FROM query_definitions WHERE id = ?1 AND account = ?2 AND region = ?3",
            params![id, scope.account, scope.region],
        )?;
        Ok(deleted > 0)
    }

    /// The manifest row of a file already imported into a group: the same content
    /// (`sha256`), or the same path, size and modification time.
    pub fn imported_file(
        &self,
        group_id: i64,
        sha256: Option<&str>,
        path: &str,
        size: i64,
        modified: i64,
    ) -> Result<Option<ImportedFile>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT sha256, path, size, modified, stream, events, imported_at FROM imported_files
                 WHERE group_id = ?1 AND (sha256 = ?2 OR (path = ?3 AND size = ?4 AND modified = ?5))
                 LIMIT 1",
                params![group_id, sha256, path, size, modified],
                |r| {
                    Ok(ImportedFile {
                        sha256: r.get(0)?,
                        path: r.get(1)?,
                        size: r.get(2)?,
                        modified: r.get(3)?,
                        stream: r.get(4)?,
                        events: r.get(5)?,
                        imported_at: r.get(6)?,
                    })
                },
            )
            .optional()?)
    }

    /// Records a file as wholly imported into a group.
    pub fn record_imported_file(&self, group_id: i64, file: &ImportedFile) -> Result<()> {
        self.conn().execute(
            "INSERT INTO imported_files (group_id, sha256, path, size, modified, stream, events, imported_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT(group_id, sha256) DO UPDATE SET path = excluded.path, size = excluded.size,
                 modified = excluded.modified, stream = excluded.stream, events = excluded.events,
                 imported_at = excluded.imported_at",
            params![
                group_id,
                file.sha256,
                file.path,
                file.size,
                file.modified,
                file.stream,
                file.events,
                file.imported_at
            ],
        )?;
        Ok(())
    }

    /// Creates or replaces an external table of a scope.
    pub fn put_external_table(&self, scope: &Scope, table: &ExternalTable) -> Result<()> {
        self.conn().execute(
            "INSERT INTO external_tables (account, region, name, format, location, statement, creation_time)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT(account, region, name) DO UPDATE SET format = excluded.format,
                 location = excluded.location, statement = excluded.statement,
                 creation_time = excluded.creation_time",
            params![
                scope.account,
                scope.region,
                table.name,
                table.format,
                table.location,
                table.statement,
                table.creation_time
            ],
        )?;
        Ok(())
    }

    /// The external table `name` of a scope, if there is one.
    pub fn external_table(&self, scope: &Scope, name: &str) -> Result<Option<ExternalTable>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT name, format, location, statement, creation_time FROM external_tables
                 WHERE account = ?1 AND region = ?2 AND name = ?3",
                params![scope.account, scope.region, name],
                |r| {
                    Ok(ExternalTable {
                        name: r.get(0)?,
                        format: r.get(1)?,
                        location: r.get(2)?,
                        statement: r.get(3)?,
                        creation_time: r.get(4)?,
                    })
                },
            )
            .optional()?)
    }

    /// Wipes every table (the `--dev` reset).
    pub fn wipe(&self) -> Result<Vec<SegmentRow>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let segments = {
            let mut stmt = tx.prepare(&format!("SELECT {SEGMENT_COLUMNS} FROM segments"))?;
            stmt.query_map([], segment_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?
        };
        tx.execute_batch(
            "DELETE FROM segments; DELETE FROM tags; DELETE FROM imported_files; DELETE FROM external_tables; DELETE FROM log_streams; DELETE FROM log_groups; DELETE FROM query_definitions;",
        )?;
        tx.commit()?;
        Ok(segments)
    }
}
