//! Lifecycle and archive: per log group, hours wholly older than N days leave the data
//! directory for an object store, and everything older than M days is deleted.
//!
//! An archive pass, for each group with a [`LifecyclePolicy`]:
//! 1. flushes the memtables, so old events just imported are archived too, and deletes
//!    what is past retention or the policy's deletion age;
//! 2. deletes the group's archive objects no catalog row names: the uploads of a pass
//!    that died before its commit, so no outside reader (Spark, DuckDB) counts them twice;
//! 3. for each hour, merges the hour's local segments into Parquet files in the segment
//!    schema (rows sorted by stream, time, sequence as segments are; rows of deleted
//!    streams dropped) — one file per [`StoreOptions::archive_file_bytes`] of segments,
//!    since a merge holds its rows in memory — uploads each, then swaps its segments'
//!    catalog rows for it in one transaction under the view lock, so a reader sees
//!    either those segments or the archived file, never both or neither; only then are
//!    the local files deleted (a crash here leaves files that the next start removes, as
//!    it removes any file the catalog does not name).
//!
//! Archived files are laid out as Hive partitions:
//! `account=<acct>/region=<region>/log_group=<name>/date=YYYY-MM-DD/hour=HH/<seq>-<uuid>.parquet`,
//! the group name escaped as Spark's `escapePathName` does (`/` becomes `%2F`). Their
//! columns are the segment schema (see [`crate::segment`]): `stream_id`, `stream`,
//! `timestamp` and `ingestion_time` (epoch ms), `seq`, `message`. Catalog rows of tier
//! `archive` keep hour and min/max timestamps, so time ranges prune archived files as
//! they prune segments, and every reader goes through [`Store::segment_bytes`] unchanged.

use crate::catalog::{NewSegment, Tier};
use crate::memtable::Row;
use crate::objects::Location;
use crate::{Catalog, GroupRow, LifecyclePolicy, Result, Store, StoreError, StoreOptions, segment};
use bytes::Bytes;
use futures::TryStreamExt;
use model::{Scope, time};
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, path::Path as ObjectPath};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// Catalog `meta` key remembering where archived files were written.
const LOCATION_KEY: &str = "archive_location";

/// The archive location, connected.
pub(crate) struct Archive {
    location: Location,
    objects: Arc<dyn ObjectStore>,
}

impl Archive {
    /// Connects to the configured location. Refuses a location other than the one
    /// archived files were written to, since their catalog rows name keys there.
    pub(crate) fn open(opts: &StoreOptions, catalog: &Catalog) -> Result<Archive> {
        let location = match &opts.archive_location {
            Some(text) => Location::parse(text)?,
            None => Location::Local(opts.data_dir.join("archive")),
        };
        let url = location.url();
        match catalog.meta(LOCATION_KEY)? {
            Some(previous)
                if previous != url && !catalog.segment_paths(Tier::Archive)?.is_empty() =>
            {
                return Err(StoreError::InvalidLocation(format!(
                    "{url}: this data directory's archived segments are in {previous}; \
                     move them there and pass --archive-location {previous}"
                )));
            }
            Some(previous) if previous == url => {}
            _ => catalog.set_meta(LOCATION_KEY, &url)?,
        }
        let objects = location.open(&opts.s3)?;
        Ok(Archive { location, objects })
    }

    /// The store archived files live in.
    pub(crate) fn objects(&self) -> &Arc<dyn ObjectStore> {
        &self.objects
    }

    /// The object key of an archived file's catalog path. `Path::parse` keeps the `%`
    /// of escaped group names as it is, where `Path::from` would escape it again.
    pub(crate) fn key(&self, path: &str) -> Result<ObjectPath> {
        let prefix = self.location.prefix();
        let full = if prefix.as_ref().is_empty() {
            path.to_string()
        } else {
            format!("{}/{path}", prefix.as_ref())
        };
        ObjectPath::parse(&full)
            .map_err(|e| StoreError::Corrupt(format!("archive path {full}: {e}")))
    }

    /// The catalog path of an object key, `None` if the key is outside the prefix.
    fn path_of(&self, key: &ObjectPath) -> Option<String> {
        let prefix = self.location.prefix();
        if prefix.as_ref().is_empty() {
            return Some(key.as_ref().to_string());
        }
        key.as_ref()
            .strip_prefix(prefix.as_ref())
            .and_then(|rest| rest.strip_prefix('/'))
            .map(str::to_string)
    }
}

/// One run of an hour's local segments moved to the archive by a pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedRun {
    /// The group's name.
    pub group: String,
    /// Start of the hour, epoch ms.
    pub hour: i64,
    /// Local segment files merged.
    pub segments: usize,
    /// Events written (rows of deleted streams are dropped).
    pub rows: i64,
    /// Bytes of the archived file.
    pub bytes: i64,
    /// Its path under the archive location; `None` if no live event was left.
    pub path: Option<String>,
}

/// What one archive pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArchiveReport {
    /// Files archived, oldest hour first per group.
    pub files: Vec<ArchivedRun>,
    /// Objects of interrupted passes deleted.
    pub orphans_removed: usize,
}

/// Escapes a Hive partition value as Spark's `ExternalCatalogUtils.escapePathName` does,
/// so Spark, Trino and Athena read the original value back.
pub fn escape_path_name(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        let escape = matches!(
            c,
            '\u{1}'
                ..='\u{1f}'
                    | '"'
                    | '#'
                    | '%'
                    | '\''
                    | '*'
                    | '/'
                    | ':'
                    | '='
                    | '?'
                    | '\\'
                    | '\u{7f}'
                    | '{'
                    | '['
                    | ']'
                    | '^'
        );
        if escape {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// The partition directory of a group's archived files.
fn group_dir(scope: &Scope, group: &str) -> String {
    format!(
        "account={}/region={}/log_group={}",
        escape_path_name(&scope.account),
        escape_path_name(&scope.region),
        escape_path_name(group)
    )
}

/// The path of a new archived file of one hour.
fn archive_path(scope: &Scope, group: &str, hour: i64, max_seq: u64) -> String {
    let partition = time::to_datetime(hour)
        .map(|t| t.format("date=%Y-%m-%d/hour=%H").to_string())
        .unwrap_or_else(|| format!("date=unknown/hour={hour}"));
    format!(
        "{}/{partition}/{max_seq:020}-{}.parquet",
        group_dir(scope, group),
        uuid::Uuid::new_v4().simple()
    )
}

impl Store {
    /// Where archived segments go.
    pub fn archive_location(&self) -> &Location {
        &self.inner.archive.location
    }

    /// The earliest event time a group still shows: its retention and its lifecycle
    /// policy's deletion age together; `None` if it keeps everything.
    pub fn visible_from(&self, group: &GroupRow, now: i64) -> Result<Option<i64>> {
        let retention = group
            .retention_days
            .map(|d| now - i64::from(d) * time::DAY_MS);
        let deletion = self
            .inner
            .catalog
            .lifecycle(group.id)?
            .and_then(|p| p.delete_after_days)
            .map(|d| now - i64::from(d) * time::DAY_MS);
        Ok(retention.max(deletion))
    }

    /// Runs one archive pass over every group with a lifecycle policy, or over one group.
    pub async fn run_archive(&self, group_id: Option<i64>) -> Result<ArchiveReport> {
        let _pass = self.inner.archive_lock.lock().await;
        let mut groups: Vec<(GroupRow, LifecyclePolicy)> = Vec::new();
        for group in self.inner.catalog.all_groups()? {
            if group_id.is_some_and(|id| id != group.id) {
                continue;
            }
            if let Some(policy) = self.inner.catalog.lifecycle(group.id)? {
                groups.push((group, policy));
            }
        }
        let mut report = ArchiveReport::default();
        if groups.is_empty() {
            return Ok(report);
        }
        self.flush().await?;
        self.enforce_retention().await?;
        // As for any reader: files listed below stay readable until the pass is done.
        let pin = self.inner.pins.pin();
        let known = self.inner.catalog.segment_paths(Tier::Archive)?;
        let now = time::now_ms();
        for (group, policy) in groups {
            report.orphans_removed += self.remove_archive_orphans(&group, &known).await?;
            let limit = now - i64::from(policy.archive_after_days) * time::DAY_MS;
            let mut hours: BTreeMap<i64, Vec<crate::SegmentRow>> = BTreeMap::new();
            for s in self.inner.catalog.local_segments_before(group.id, limit)? {
                hours.entry(s.hour).or_default().push(s);
            }
            for (hour, segments) in hours {
                let runs = crate::compact::runs(segments, self.inner.opts.archive_file_bytes);
                for run in runs {
                    if let Some(done) = self.archive_run(&group, hour, run).await? {
                        report.files.push(done);
                    }
                }
            }
        }
        // The files this pass replaced waited only for it (and readers older than it).
        drop(pin);
        self.sweep_retired().await;
        Ok(report)
    }

    /// Deletes the objects under a group's archive directory that no catalog row names.
    async fn remove_archive_orphans(
        &self,
        group: &GroupRow,
        known: &HashSet<String>,
    ) -> Result<usize> {
        let archive = &self.inner.archive;
        let dir = archive.key(&group_dir(&group.scope, &group.name))?;
        let listed: Vec<_> = archive.objects.list(Some(&dir)).try_collect().await?;
        let mut removed = 0;
        for object in listed {
            let Some(path) = archive.path_of(&object.location) else {
                continue;
            };
            if !known.contains(&path) {
                tracing::info!(path = %path, "removing an archived file no pass committed");
                archive.objects.delete(&object.location).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Merges a run of one hour's local segments into an archived file and swaps them in
    /// the catalog; `None` if the segments changed under the pass (nothing is swapped
    /// then).
    async fn archive_run(
        &self,
        group: &GroupRow,
        hour: i64,
        segments: Vec<crate::SegmentRow>,
    ) -> Result<Option<ArchivedRun>> {
        let archived = match self.merge_segments(group.id, &segments).await? {
            None => None,
            Some((mut new, data)) => {
                new.group_id = group.id;
                new.hour = hour;
                new.path = archive_path(&group.scope, &group.name, hour, new.max_seq);
                let key = self.inner.archive.key(&new.path)?;
                self.inner
                    .archive
                    .objects
                    .put(&key, PutPayload::from(data))
                    .await?;
                if let Location::Local(dir) = &self.inner.archive.location {
                    // A local key is the file's path under the directory, escapes and all.
                    crate::sync_tree(dir, key.as_ref())?;
                }
                Some((new, key))
            }
        };
        let ids: Vec<i64> = segments.iter().map(|s| s.id).collect();
        let committed = {
            let _view = self.inner.view.write().unwrap_or_else(|e| e.into_inner());
            self.inner.catalog.replace_segments(
                &ids,
                archived.as_ref().map(|(new, _)| new),
                Tier::Archive,
            )?
        };
        if !committed {
            if let Some((_, key)) = &archived {
                self.inner.archive.objects.delete(key).await?;
            }
            return Ok(None);
        }
        self.remove_segment_files(&segments).await;
        Ok(Some(ArchivedRun {
            group: group.name.clone(),
            hour,
            segments: segments.len(),
            rows: archived.as_ref().map_or(0, |(n, _)| n.rows),
            bytes: archived.as_ref().map_or(0, |(n, _)| n.bytes),
            path: archived.map(|(n, _)| n.path),
        }))
    }
}

impl Store {
    /// Reads a group's segments and merges their rows of live streams into one file
    /// (see [`merge`]) off the async workers; `None` if no live row is left. The file's
    /// group, hour and path are the caller's to fill in.
    pub(crate) async fn merge_segments(
        &self,
        group_id: i64,
        segments: &[crate::SegmentRow],
    ) -> Result<Option<(NewSegment, Vec<u8>)>> {
        let live = self.inner.catalog.live_stream_ids(group_id)?;
        let mut files = Vec::with_capacity(segments.len());
        for s in segments {
            files.push(self.segment_bytes(s).await?);
        }
        let level = self.inner.opts.zstd_level;
        tokio::task::spawn_blocking(move || merge(files, &live, level))
            .await
            .map_err(|e| StoreError::Corrupt(format!("segment merge panicked: {e}")))?
    }
}

/// Decodes segment files, keeps the rows of live streams, sorts them as a flush does
/// and encodes them as one Parquet file; `None` if no row is left.
fn merge(
    files: Vec<Bytes>,
    live: &HashSet<i64>,
    zstd_level: i32,
) -> Result<Option<(NewSegment, Vec<u8>)>> {
    let mut rows: Vec<Row> = Vec::new();
    let mut names: BTreeMap<String, Arc<str>> = BTreeMap::new();
    for data in files {
        segment::scan(data, i64::MIN, i64::MAX, live, |r| {
            if !live.contains(&r.stream_id) {
                return;
            }
            let stream = names
                .entry(r.stream.to_string())
                .or_insert_with(|| Arc::from(r.stream))
                .clone();
            rows.push(Row {
                stream_id: r.stream_id,
                stream,
                timestamp: r.timestamp,
                ingestion: r.ingestion,
                seq: r.seq,
                message: r.message.to_string(),
            });
        })?;
    }
    if rows.is_empty() {
        return Ok(None);
    }
    rows.sort_by_key(|r| (r.stream_id, r.timestamp, r.seq));
    let refs: Vec<&Row> = rows.iter().collect();
    let data = segment::encode(&refs, zstd_level)?;
    let segment = NewSegment {
        group_id: 0,
        path: String::new(),
        hour: 0,
        min_ts: rows.iter().map(|r| r.timestamp).min().unwrap_or(0),
        max_ts: rows.iter().map(|r| r.timestamp).max().unwrap_or(0),
        max_seq: rows.iter().map(|r| r.seq).max().unwrap_or(0),
        rows: rows.len() as i64,
        bytes: data.len() as i64,
    };
    Ok(Some((segment, data)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_spark_does() {
        assert_eq!(
            escape_path_name("/aws/lambda/app#1"),
            "%2Faws%2Flambda%2Fapp%231"
        );
        assert_eq!(escape_path_name("plain-name_1.x"), "plain-name_1.x");
        assert_eq!(escape_path_name("a=b:c%"), "a%3Db%3Ac%25");
    }
}
