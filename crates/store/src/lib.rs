//! Trailwatch's durable log store.
//!
//! A write goes `put_events` → WAL (group commit, `fdatasync`) → memtable → acknowledged.
//! A background flusher turns memtables into Parquet segments (zstd, one file per group
//! and hour) through `object_store`, commits them to the SQLite catalog together with the
//! WAL position they cover, and only then deletes the covered WAL files. On open, the WAL
//! past that position is replayed; a torn tail is cut off, never fatal. Reads merge
//! memtables and segments into pages ordered by `(timestamp, seq)`.
//!
//! One process owns a data directory (`LOCK`); memory is bounded by the memtable budget,
//! past which writers wait for the flusher.
//!
//! Each catalog segment row names its tier: `local` (under `segments/`) or `archive`
//! (under the archive location, where [`archive`] moves the hours a group's lifecycle
//! policy says are old, in a Hive layout other engines read). Readers go through
//! [`Store::snapshot`], [`Store::read`] and [`Store::segment_bytes`], which fetch each
//! file from its tier, so they never tell the two apart.

pub mod archive;
pub mod catalog;
pub mod compact;
pub mod error;
pub mod iam;
pub mod memtable;
pub mod objects;
mod pins;
pub mod read;
pub mod segment;
pub mod wal;

pub use catalog::{
    Catalog, ExternalTable, GroupRow, ImportedFile, LifecyclePolicy, NewGroup, QueryDefinition,
    QueryParameter, SegmentRow, StreamRow, StreamStats, Tier, TierSummary,
};
pub use error::{Result, StoreError};
pub use pins::ReadPin;
pub use read::{Cursor, Direction, Page, ReadRequest};

use bytes::Bytes;
use catalog::NewSegment;
use memtable::{MemState, Memtable, Row};
use model::{InputEvent, Scope, StoredEvent, time};
use object_store::{
    ObjectStore, ObjectStoreExt, PutPayload, local::LocalFileSystem, path::Path as ObjectPath,
};
use read::TopK;
use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::{Mutex as AsyncMutex, Notify};
use wal::Wal;

/// How a store is laid out and how much memory it may use.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Data directory: `wal/`, `segments/`, `catalog.sqlite`, `LOCK`.
    pub data_dir: PathBuf,
    /// Flush once the active memtable holds this many bytes.
    pub flush_bytes: usize,
    /// Writers wait while all memtables together hold more than this.
    pub max_memtable_bytes: usize,
    /// Flush at least this often when there is anything to flush.
    pub flush_interval: Duration,
    /// How often expired segments are looked for.
    pub retention_interval: Duration,
    /// zstd level of segment pages.
    pub zstd_level: i32,
    /// How to reach the S3-compatible store that `s3://` locations (archive, trail
    /// buckets, external tables) name.
    pub s3: objects::S3Settings,
    /// Where archived segments go (a directory, `file://` or `s3://` URL); `None` means
    /// `<data_dir>/archive`.
    pub archive_location: Option<String>,
    /// How often groups with a lifecycle policy are archived.
    pub archive_interval: Duration,
    /// Most bytes of local segment files an archive pass merges into one archived file.
    /// A merge holds its rows in memory (a few times this once decompressed), so an
    /// hour with more becomes several files.
    pub archive_file_bytes: i64,
}

impl StoreOptions {
    /// Defaults for a data directory: 32 MiB flushes, 128 MiB memtable budget (a flush
    /// briefly holds about twice what it writes, so this keeps ingest well under 512 MiB).
    pub fn new(data_dir: impl Into<PathBuf>) -> StoreOptions {
        StoreOptions {
            data_dir: data_dir.into(),
            flush_bytes: 32 << 20,
            max_memtable_bytes: 128 << 20,
            flush_interval: Duration::from_secs(300),
            retention_interval: Duration::from_secs(60),
            zstd_level: 6,
            s3: objects::S3Settings::default(),
            archive_location: None,
            archive_interval: Duration::from_secs(3600),
            archive_file_bytes: 16 << 20,
        }
    }
}

/// What [`Store::snapshot`] returns.
pub struct Snapshot {
    /// Segments overlapping the range; their rows still need [`segment::visible`].
    pub segments: Vec<SegmentRow>,
    /// Unflushed rows in the range, in the segment schema (deleted streams included).
    pub memtable: arrow_array::RecordBatch,
    /// Keeps `segments`' files from being deleted while the reader holds it.
    pub pin: ReadPin,
}

/// The store; cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    opts: StoreOptions,
    wal_dir: PathBuf,
    segments_dir: PathBuf,
    catalog: Catalog,
    objects: Arc<dyn ObjectStore>,
    archive: archive::Archive,
    /// One archive pass at a time: a pass deletes the objects no catalog row names.
    archive_lock: AsyncMutex<()>,
    /// Segment files out of the catalog wait here for the readers that listed them.
    pins: pins::Pins,
    mem: Arc<RwLock<MemState>>,
    wal: Wal,
    /// Readers take it shared while they pick segments and memtables; a flush takes it
    /// exclusively to swap a frozen memtable for its segments, so no read sees both.
    view: RwLock<()>,
    flush_lock: AsyncMutex<()>,
    flushed: Notify,
    want_flush: Notify,
    stop_background: Notify,
    _lock: File,
}

impl Store {
    /// Opens the data directory, replaying whatever the WAL holds past the last flush.
    pub fn open(opts: StoreOptions) -> Result<Store> {
        let dir = &opts.data_dir;
        let wal_dir = dir.join("wal");
        let segments_dir = dir.join("segments");
        fs::create_dir_all(&wal_dir)?;
        fs::create_dir_all(&segments_dir)?;
        let lock = File::create(dir.join("LOCK"))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Locked(dir.display().to_string()));
            }
            Err(fs::TryLockError::Error(e)) => return Err(e.into()),
        }
        let catalog = Catalog::open(&dir.join("catalog.sqlite"))?;
        // We hold LOCK and no flush runs yet: any file the catalog does not name was
        // written by a flush that died before its commit, and its rows are still in the WAL.
        remove_uncommitted_segments(&segments_dir, &catalog.segment_paths(Tier::Local)?)?;
        let flushed: u64 = catalog
            .meta("flushed_wal")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut mem = MemState::default();
        let mut max_seq = catalog.max_segment_seq()?;
        let mut last_number = flushed;
        let mut replayed = 0usize;
        for (number, path) in wal::list_files(&wal_dir)? {
            last_number = last_number.max(number);
            if number <= flushed {
                fs::remove_file(&path)?;
                continue;
            }
            for record in wal::replay_file(&path)? {
                if let Some(last) = record.rows.last() {
                    max_seq = max_seq.max(last.seq);
                }
                replayed += record.rows.len();
                mem.active.insert(record.group_id, record.rows);
            }
        }
        if replayed > 0 {
            tracing::info!(events = replayed, "replayed the write-ahead log");
        }
        let mem = Arc::new(RwLock::new(mem));
        let next_seq = Arc::new(AtomicU64::new(max_seq + 1));
        let wal = Wal::start(&wal_dir, last_number + 1, next_seq, mem.clone())?;
        let objects: Arc<dyn ObjectStore> =
            Arc::new(LocalFileSystem::new_with_prefix(&segments_dir)?);
        let archive = archive::Archive::open(&opts, &catalog)?;
        Ok(Store {
            inner: Arc::new(Inner {
                opts,
                wal_dir,
                segments_dir,
                catalog,
                objects,
                archive,
                archive_lock: AsyncMutex::new(()),
                pins: pins::Pins::default(),
                mem,
                wal,
                view: RwLock::new(()),
                flush_lock: AsyncMutex::new(()),
                flushed: Notify::new(),
                want_flush: Notify::new(),
                stop_background: Notify::new(),
                _lock: lock,
            }),
        })
    }

    /// The catalog, for metadata the API reads and writes directly.
    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    /// The data directory, where other parts of Trailwatch keep their own files.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.inner.opts.data_dir
    }

    /// How to reach the configured S3-compatible store.
    pub fn s3_settings(&self) -> &objects::S3Settings {
        &self.inner.opts.s3
    }

    fn mem(&self) -> std::sync::RwLockReadGuard<'_, MemState> {
        self.inner.mem.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Bytes a group holds: segment files plus unflushed events.
    pub fn stored_bytes(&self, group_id: i64) -> Result<i64> {
        Ok(self.inner.catalog.stored_bytes(group_id)? + self.mem().group_bytes(group_id) as i64)
    }

    /// A group's streams with their statistics, segments and memtables together. The
    /// memtables are read once for the whole group, not once per stream.
    pub fn streams_with_stats(&self, group_id: i64) -> Result<Vec<(StreamRow, StreamStats)>> {
        let streams = self.inner.catalog.streams(group_id)?;
        let unflushed = self.mem().stream_stats(group_id);
        Ok(streams
            .into_iter()
            .map(|s| {
                let mut stats = StreamStats {
                    first_event: s.first_event,
                    last_event: s.last_event,
                    last_ingestion: s.last_ingestion,
                };
                if let Some(mem) = unflushed.get(&s.id) {
                    stats.merge(mem);
                }
                (s, stats)
            })
            .collect())
    }

    /// Deletes a group, its streams, its unflushed events and its segment files.
    pub async fn delete_group(&self, scope: &Scope, name: &str) -> Result<()> {
        let group = self.inner.catalog.group(scope, name)?;
        let segments = self.inner.catalog.delete_group(group.id)?;
        self.inner
            .mem
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .active
            .remove_group(group.id);
        self.remove_segment_files(&segments).await;
        Ok(())
    }

    /// Removes the files of segments the catalog no longer names, each from its tier.
    /// Deletes files just taken out of the catalog, now or, if a reader may still open
    /// them, once it is done (see [`pins`]).
    async fn remove_segment_files(&self, segments: &[SegmentRow]) {
        let now = self.inner.pins.retire(segments);
        self.delete_segment_files(&now).await;
    }

    /// Deletes the files replaced earlier whose readers have all finished.
    async fn sweep_retired(&self) {
        let due = self.inner.pins.due();
        self.delete_segment_files(&due).await;
    }

    async fn delete_segment_files(&self, segments: &[SegmentRow]) {
        for s in segments {
            let removed = match self.object_of(s.tier, &s.path) {
                Ok((store, key)) => store.delete(&key).await.map_err(StoreError::from),
                Err(e) => Err(e),
            };
            if let Err(e) = removed {
                tracing::warn!(path = %s.path, error = %e, "could not remove a segment file");
            }
        }
    }

    /// The object store and key of a segment file.
    fn object_of(&self, tier: Tier, path: &str) -> Result<(&Arc<dyn ObjectStore>, ObjectPath)> {
        Ok(match tier {
            Tier::Local => (&self.inner.objects, ObjectPath::from(path)),
            Tier::Archive => (self.inner.archive.objects(), self.inner.archive.key(path)?),
        })
    }

    /// Durably appends events (already validated and in time order) to a stream; returns
    /// once they are fsync'd and readable.
    pub async fn put_events(
        &self,
        group: &GroupRow,
        stream: &StreamRow,
        events: Vec<InputEvent>,
    ) -> Result<u64> {
        loop {
            let waiting = self.inner.flushed.notified();
            if self.mem().bytes() <= self.inner.opts.max_memtable_bytes {
                break;
            }
            self.inner.want_flush.notify_one();
            let _ = tokio::time::timeout(Duration::from_millis(200), waiting).await;
        }
        let batch = wal::Batch::new(group.id, stream.id, &stream.name, time::now_ms(), events);
        let seq = self.inner.wal.append(batch).await?;
        if self.mem().active.bytes >= self.inner.opts.flush_bytes {
            self.inner.want_flush.notify_one();
        }
        Ok(seq)
    }

    /// A consistent view of a group for a full scan: the segments overlapping
    /// `[from, to]`, and the unflushed rows in that range as one segment-schema batch.
    /// Taken under the view lock, so no event is in both or in neither.
    pub fn snapshot(&self, group_id: i64, from: i64, to: i64) -> Result<Snapshot> {
        let _view = self.inner.view.read().unwrap_or_else(|e| e.into_inner());
        let pin = self.inner.pins.pin();
        let segments = self.inner.catalog.segments(group_id, from, to)?;
        let mem = self.mem();
        let rows: Vec<&Row> = mem
            .tables()
            .filter_map(|t| t.groups.get(&group_id))
            .flat_map(|g| g.rows.iter())
            .filter(|r| r.timestamp >= from && r.timestamp <= to)
            .collect();
        let memtable = segment::to_batch(&rows)?;
        Ok(Snapshot {
            segments,
            memtable,
            pin,
        })
    }

    /// The bytes of a segment file on the local disk, read on the calling thread; `None`
    /// for an archived segment, which only [`Store::segment_bytes`] fetches. For the
    /// query threads, which decode segments inline anyway: a read from the page cache
    /// costs less than the two hand-offs to tokio's blocking pool of an object-store read.
    pub fn local_segment_bytes(&self, segment: &SegmentRow) -> Option<Result<Bytes>> {
        (segment.tier == Tier::Local).then(|| {
            Ok(Bytes::from(fs::read(
                self.inner.segments_dir.join(&segment.path),
            )?))
        })
    }

    /// The bytes of a segment file.
    pub async fn segment_bytes(&self, segment: &SegmentRow) -> Result<Bytes> {
        let (store, key) = self.object_of(segment.tier, &segment.path)?;
        Ok(store.get(&key).await?.bytes().await?)
    }

    /// Reads one page. `cutoff` hides events older than a retention period.
    pub async fn read(&self, req: ReadRequest, cutoff: Option<i64>) -> Result<Page> {
        let from = cutoff.map_or(req.from, |c| req.from.max(c));
        let to = req.to;
        let mut top = TopK::new(req.limit + 1, req.direction, req.after);
        if from > to {
            return Ok(read::into_page(Vec::new(), req.limit, req.max_bytes));
        }
        let (segments, _pin) = {
            let _view = self.inner.view.read().unwrap_or_else(|e| e.into_inner());
            let pin = self.inner.pins.pin();
            let segments = self.inner.catalog.segments(req.group_id, from, to)?;
            let mem = self.mem();
            for table in mem.tables() {
                let Some(group) = table.groups.get(&req.group_id) else {
                    continue;
                };
                for row in &group.rows {
                    if row.timestamp < from
                        || row.timestamp > to
                        || !req.streams.contains(&row.stream_id)
                        || !top.wants(row.timestamp, row.seq)
                        || req
                            .pattern
                            .as_ref()
                            .is_some_and(|p| !p.matches(&row.message))
                    {
                        continue;
                    }
                    top.push(stored(row));
                }
            }
            (segments, pin)
        };
        let mut hours: BTreeMap<i64, Vec<SegmentRow>> = BTreeMap::new();
        for s in segments {
            hours.entry(s.hour).or_default().push(s);
        }
        let ordered: Vec<(i64, Vec<SegmentRow>)> = match req.direction {
            Direction::Forward => hours.into_iter().collect(),
            Direction::Backward => hours.into_iter().rev().collect(),
        };
        let streams = Arc::new(req.streams);
        for (hour, segs) in ordered {
            let edge = match req.direction {
                Direction::Forward => hour,
                Direction::Backward => hour + time::HOUR_MS - 1,
            };
            if top.full_before(edge) {
                break;
            }
            for seg in segs {
                let data = self.segment_bytes(&seg).await?;
                let pattern = req.pattern.clone();
                let streams = streams.clone();
                top = tokio::task::spawn_blocking(move || {
                    scan_segment(data, from, to, &streams, pattern.as_deref(), &mut top)
                        .map(|_| top)
                })
                .await
                .map_err(|e| StoreError::Corrupt(format!("segment scan panicked: {e}")))??;
            }
        }
        Ok(read::into_page(top.into_sorted(), req.limit, req.max_bytes))
    }

    /// Freezes the memtable, writes its segments, commits them, and drops the WAL they cover.
    pub async fn flush(&self) -> Result<()> {
        let _flushing = self.inner.flush_lock.lock().await;
        let sealed = self.inner.wal.rotate().await?;
        // Every frozen table, not only the one just frozen: a table whose earlier flush
        // failed is still unwritten, and the WAL files about to go cover it too.
        let frozen: Vec<Arc<Memtable>> = self.mem().frozen.clone();
        let mut segments = Vec::new();
        let mut stats = Vec::new();
        for table in &frozen {
            let (s, st) = self.write_segments(table).await.inspect_err(|e| {
                tracing::error!(error = %e, "flush failed; the rows stay in memory and the WAL");
            })?;
            segments.extend(s);
            stats.extend(st);
        }
        let orphans = {
            let _view = self.inner.view.write().unwrap_or_else(|e| e.into_inner());
            let orphans = self.inner.catalog.commit_flush(&segments, &stats, sealed)?;
            let mut mem = self.inner.mem.write().unwrap_or_else(|e| e.into_inner());
            mem.frozen
                .retain(|m| !frozen.iter().any(|f| Arc::ptr_eq(m, f)));
            orphans
        };
        for p in &orphans {
            if let Err(e) = self
                .inner
                .objects
                .delete(&ObjectPath::from(p.as_str()))
                .await
            {
                tracing::warn!(path = %p, error = %e, "could not remove a segment file");
            }
        }
        for (number, path) in wal::list_files(&self.inner.wal_dir)? {
            if number <= sealed {
                fs::remove_file(path)?;
            }
        }
        self.inner.flushed.notify_waiters();
        Ok(())
    }

    async fn write_segments(
        &self,
        frozen: &Arc<Memtable>,
    ) -> Result<(Vec<NewSegment>, Vec<(i64, StreamStats)>)> {
        let mut segments = Vec::new();
        let mut stats = Vec::new();
        for (&group_id, group) in &frozen.groups {
            let Some(row) = self.inner.catalog.group_by_id(group_id)? else {
                continue;
            };
            let live = self.inner.catalog.live_stream_ids(group_id)?;
            stats.extend(
                group
                    .stats
                    .iter()
                    .filter(|(id, _)| live.contains(id))
                    .map(|(id, s)| (*id, *s)),
            );
            // Sorting and compressing are CPU work: keep them off the async workers.
            let table = frozen.clone();
            let level = self.inner.opts.zstd_level;
            let encoded =
                tokio::task::spawn_blocking(move || encode_group(&table, group_id, &live, level))
                    .await
                    .map_err(|e| {
                        StoreError::Corrupt(format!("segment encoding panicked: {e}"))
                    })??;
            for (mut segment, data) in encoded {
                segment.path = segment_path(&row.scope, group_id, segment.hour, segment.max_seq);
                self.inner
                    .objects
                    .put(
                        &ObjectPath::from(segment.path.as_str()),
                        PutPayload::from(data),
                    )
                    .await?;
                sync_tree(&self.inner.segments_dir, &segment.path)?;
                segments.push(segment);
            }
        }
        Ok((segments, stats))
    }

    /// Deletes segments, local or archived, wholly past their group's retention or its
    /// lifecycle policy's deletion age.
    pub async fn enforce_retention(&self) -> Result<usize> {
        self.sweep_retired().await;
        let now = time::now_ms();
        let mut expired = Vec::new();
        for group in self.inner.catalog.all_groups()? {
            if let Some(cutoff) = self.visible_from(&group, now)? {
                expired.extend(self.inner.catalog.expired_segments(group.id, cutoff)?);
            }
        }
        if expired.is_empty() {
            return Ok(0);
        }
        {
            let _view = self.inner.view.write().unwrap_or_else(|e| e.into_inner());
            let ids: Vec<i64> = expired.iter().map(|s| s.id).collect();
            self.inner.catalog.delete_segments(&ids)?;
        }
        self.remove_segment_files(&expired).await;
        Ok(expired.len())
    }

    /// Asks the background task to end after the flush or sweep it may be running; await
    /// its handle before [`Store::shutdown`], so no flush is cut off halfway.
    pub fn stop_background(&self) {
        self.inner.stop_background.notify_one();
    }

    /// Runs the flusher, the retention sweeper, compaction and archive passes until
    /// [`Store::stop_background`].
    pub fn spawn_background(&self) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        tokio::spawn(async move {
            let mut flush_tick = tokio::time::interval(store.inner.opts.flush_interval);
            let mut retention_tick = tokio::time::interval(store.inner.opts.retention_interval);
            let mut archive_tick = tokio::time::interval(store.inner.opts.archive_interval);
            flush_tick.tick().await;
            loop {
                tokio::select! {
                    _ = store.inner.stop_background.notified() => break,
                    _ = store.inner.want_flush.notified() => store.flush_logged().await,
                    _ = flush_tick.tick() => {
                        if store.mem().active.bytes > 0 {
                            store.flush_logged().await;
                        }
                    }
                    _ = retention_tick.tick() => {
                        match store.enforce_retention().await {
                            Ok(0) => {}
                            Ok(n) => tracing::info!(segments = n, "removed expired segments"),
                            Err(e) => tracing::warn!(error = %e, "retention sweep failed"),
                        }
                        store.spawn_compaction();
                    }
                    _ = archive_tick.tick() => {
                        // A pass can take long; flushes must go on meanwhile, or writers
                        // would wait on a full memtable until it ends.
                        let store = store.clone();
                        tokio::spawn(async move {
                            match store.run_archive(None).await {
                                Ok(r) if r.files.is_empty() && r.orphans_removed == 0 => {}
                                Ok(r) => tracing::info!(
                                    files = r.files.len(),
                                    orphans = r.orphans_removed,
                                    "archived segments"
                                ),
                                Err(e) => tracing::warn!(error = %e, "archive pass failed"),
                            }
                        });
                    }
                }
            }
        })
    }

    async fn flush_logged(&self) {
        if let Err(e) = self.flush().await {
            tracing::error!(error = %e, "flush failed");
        }
        // A flush into settled hours (a backfill) leaves them in pieces.
        self.spawn_compaction();
    }

    /// Runs a compaction pass beside the flusher, as archive passes run: merging takes a
    /// while, and writers must not wait for it. A pass already running makes it a no-op.
    fn spawn_compaction(&self) {
        let store = self.clone();
        tokio::spawn(async move {
            match store.compact().await {
                Ok(r) if r.merged == 0 => {}
                Ok(r) => {
                    tracing::info!(merged = r.merged, written = r.written, "compacted segments")
                }
                Err(e) => tracing::warn!(error = %e, "compaction failed"),
            }
        });
    }

    /// Flushes everything and stops the WAL writer; the last step of a graceful shutdown.
    pub async fn shutdown(&self) -> Result<()> {
        let flushed = self.flush().await;
        let store = self.clone();
        let _ = tokio::task::spawn_blocking(move || store.inner.wal.stop()).await;
        flushed
    }

    /// Wipes every log group, stream, event and segment (the `--dev` reset).
    pub async fn reset(&self) -> Result<()> {
        let _flushing = self.inner.flush_lock.lock().await;
        let sealed = self.inner.wal.rotate().await?;
        let segments = {
            let _view = self.inner.view.write().unwrap_or_else(|e| e.into_inner());
            let segments = self.inner.catalog.wipe()?;
            self.inner
                .catalog
                .set_meta("flushed_wal", &sealed.to_string())?;
            let mut mem = self.inner.mem.write().unwrap_or_else(|e| e.into_inner());
            *mem = MemState::default();
            segments
        };
        self.remove_segment_files(&segments).await;
        for (number, path) in wal::list_files(&self.inner.wal_dir)? {
            if number <= sealed {
                fs::remove_file(path)?;
            }
        }
        Ok(())
    }
}

/// A chunk's position in the flush, its catalog row and its file bytes.
type EncodedChunk = (usize, NewSegment, Vec<u8>);

/// Rows of one segment file at most, by message bytes: big enough to compress well,
/// small enough that a flush splits into pieces the cores can encode side by side.
const SEGMENT_CHUNK_BYTES: usize = 12 << 20;

/// Sorts one group's live rows by stream and time and encodes them as Parquet files, one
/// or more per hour, on as many threads as there are cores; paths are left for the
/// caller to fill in.
fn encode_group(
    table: &Memtable,
    group_id: i64,
    live: &HashSet<i64>,
    zstd_level: i32,
) -> Result<Vec<(NewSegment, Vec<u8>)>> {
    let Some(group) = table.groups.get(&group_id) else {
        return Ok(Vec::new());
    };
    let mut by_hour: BTreeMap<i64, Vec<&Row>> = BTreeMap::new();
    for r in group.rows.iter().filter(|r| live.contains(&r.stream_id)) {
        by_hour
            .entry(time::hour_floor(r.timestamp))
            .or_default()
            .push(r);
    }
    let mut chunks: Vec<(i64, Vec<&Row>)> = Vec::new();
    for (hour, mut rows) in by_hour {
        // Each stream's rows together, in time order: a stream's lines resemble each
        // other far more than lines of the same second do, so they compress better, and
        // a one-stream read touches one run of the file.
        rows.sort_by_key(|r| (r.stream_id, r.timestamp, r.seq));
        let mut chunk = Vec::new();
        let mut bytes = 0;
        for r in rows {
            bytes += r.message.len();
            chunk.push(r);
            if bytes >= SEGMENT_CHUNK_BYTES {
                chunks.push((hour, std::mem::take(&mut chunk)));
                bytes = 0;
            }
        }
        if !chunk.is_empty() {
            chunks.push((hour, chunk));
        }
    }
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(chunks.len());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let encoded: Vec<Result<Vec<EncodedChunk>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((hour, rows)) = chunks.get(i) else {
                            return Ok(done);
                        };
                        let data = segment::encode(rows, zstd_level)?;
                        let segment = NewSegment {
                            group_id,
                            path: String::new(),
                            hour: *hour,
                            min_ts: rows.iter().map(|r| r.timestamp).min().unwrap_or(0),
                            max_ts: rows.iter().map(|r| r.timestamp).max().unwrap_or(0),
                            max_seq: rows.iter().map(|r| r.seq).max().unwrap_or(0),
                            rows: rows.len() as i64,
                            bytes: data.len() as i64,
                        };
                        done.push((i, segment, data));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(StoreError::Corrupt("segment encoder panicked".into())))
            })
            .collect()
    });
    let mut out = Vec::new();
    for part in encoded {
        out.extend(part?);
    }
    out.sort_by_key(|(i, _, _)| *i);
    Ok(out.into_iter().map(|(_, s, d)| (s, d)).collect())
}

fn stored(row: &Row) -> StoredEvent {
    StoredEvent {
        stream: row.stream.to_string(),
        timestamp: row.timestamp,
        ingestion_time: row.ingestion,
        seq: row.seq,
        message: row.message.clone(),
    }
}

fn scan_segment(
    data: Bytes,
    from: i64,
    to: i64,
    streams: &HashSet<i64>,
    pattern: Option<&pattern::FilterPattern>,
    top: &mut TopK,
) -> Result<()> {
    segment::scan(data, from, to, streams, |r| {
        if !streams.contains(&r.stream_id)
            || !top.wants(r.timestamp, r.seq)
            || pattern.is_some_and(|p| !p.matches(r.message))
        {
            return;
        }
        top.push(StoredEvent {
            stream: r.stream.to_string(),
            timestamp: r.timestamp,
            ingestion_time: r.ingestion,
            seq: r.seq,
            message: r.message.to_string(),
        });
    })
}

fn segment_path(scope: &Scope, group_id: i64, hour: i64, max_seq: u64) -> String {
    let hour_text = time::to_datetime(hour)
        .map(|t| t.format("%Y-%m-%dT%H").to_string())
        .unwrap_or_else(|| hour.to_string());
    format!(
        "account={}/region={}/group={group_id}/hour={hour_text}/{max_seq:020}-{}.parquet",
        scope.account,
        scope.region,
        uuid::Uuid::new_v4().simple()
    )
}

/// Deletes segment files no catalog row names.
fn remove_uncommitted_segments(root: &Path, known: &HashSet<String>) -> Result<()> {
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let relative = path
                .strip_prefix(root)
                .ok()
                .and_then(|p| p.to_str())
                .map(|p| p.replace('\\', "/"));
            if relative.is_some_and(|r| !known.contains(&r)) {
                tracing::info!(file = %path.display(), "removing a segment no flush committed");
                fs::remove_file(&path)?;
            }
        }
    }
    Ok(())
}

/// Makes a freshly written segment and the directories leading to it durable.
pub(crate) fn sync_tree(root: &Path, relative: &str) -> Result<()> {
    let full = root.join(relative);
    File::open(&full)?.sync_all()?;
    let mut dir = full.parent();
    while let Some(d) = dir {
        wal::sync_dir(d)?;
        if d == root {
            break;
        }
        dir = d.parent();
    }
    Ok(())
}
