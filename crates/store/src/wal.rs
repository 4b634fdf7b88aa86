//! The write-ahead log: append-only files of CRC-checked records, written by one thread
//! that shares a single `fdatasync` among every request waiting at that moment (group
//! commit). A request is answered only after its bytes are synced, and its events are in
//! the memtable before the answer, so an acknowledged write is both durable and visible.
//!
//! Frame: `u32 payload length | u32 CRC-32 of payload | payload`, little-endian.
//! Payload: `u8 kind (1 = events) | u64 first seq | i64 ingestion ms | i64 group id |
//! i64 stream id | u32 len + stream name | u32 count | count × (i64 ts | u32 len + message)`.

use crate::error::{Result, StoreError};
use crate::memtable::{MemState, Row};
use model::InputEvent;
use std::fs::{self, File, OpenOptions};
use std::io::{IoSlice, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, mpsc};
use tokio::sync::oneshot;

const KIND_EVENTS: u8 = 1;
const FRAME_HEADER: usize = 8;
const SEQ_OFFSET: usize = 1;
/// A group commit stops taking more requests past this many bytes, so one sync never waits
/// on an unbounded write.
const MAX_GROUP_BYTES: usize = 32 << 20;

/// One PutLogEvents batch on its way to the WAL, already encoded by the caller's thread.
pub struct Batch {
    pub(crate) payload: Vec<u8>,
    pub(crate) group_id: i64,
    pub(crate) stream_id: i64,
    pub(crate) stream: Arc<str>,
    pub(crate) ingestion: i64,
    pub(crate) events: Vec<InputEvent>,
}

impl Batch {
    /// Encodes `events` for the WAL; the sequence number is filled in by the writer.
    pub fn new(
        group_id: i64,
        stream_id: i64,
        stream: &str,
        ingestion: i64,
        events: Vec<InputEvent>,
    ) -> Batch {
        let size: usize = 1
            + 8 * 4
            + 4
            + stream.len()
            + 4
            + events.iter().map(|e| 12 + e.message.len()).sum::<usize>();
        let mut p = Vec::with_capacity(size);
        p.push(KIND_EVENTS);
        p.extend_from_slice(&0u64.to_le_bytes());
        p.extend_from_slice(&ingestion.to_le_bytes());
        p.extend_from_slice(&group_id.to_le_bytes());
        p.extend_from_slice(&stream_id.to_le_bytes());
        p.extend_from_slice(&(stream.len() as u32).to_le_bytes());
        p.extend_from_slice(stream.as_bytes());
        p.extend_from_slice(&(events.len() as u32).to_le_bytes());
        for e in &events {
            p.extend_from_slice(&e.timestamp.to_le_bytes());
            p.extend_from_slice(&(e.message.len() as u32).to_le_bytes());
            p.extend_from_slice(e.message.as_bytes());
        }
        Batch {
            payload: p,
            group_id,
            stream_id,
            stream: Arc::from(stream),
            ingestion,
            events,
        }
    }

    fn into_rows(self, first_seq: u64) -> (i64, Vec<Row>) {
        let stream = self.stream;
        let rows = self
            .events
            .into_iter()
            .enumerate()
            .map(|(i, e)| Row {
                stream_id: self.stream_id,
                stream: stream.clone(),
                timestamp: e.timestamp,
                ingestion: self.ingestion,
                seq: first_seq + i as u64,
                message: e.message,
            })
            .collect();
        (self.group_id, rows)
    }
}

enum Command {
    Append(Batch, oneshot::Sender<Result<u64>>),
    Rotate(oneshot::Sender<Result<u64>>),
}

/// The handle requests use to reach the writer thread.
pub struct Wal {
    tx: std::sync::Mutex<Option<mpsc::Sender<Command>>>,
    thread: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

fn file_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{number:020}.wal"))
}

/// WAL files present in `dir`, by number.
pub fn list_files(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let number = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".wal"))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(number) = number {
            files.push((number, path));
        }
    }
    files.sort();
    Ok(files)
}

/// Syncs a directory so that a file created or removed in it survives a crash.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)?.sync_all()?;
    Ok(())
}

/// One decoded WAL record.
pub struct Record {
    /// Group the events were put to.
    pub group_id: i64,
    /// The stream's id and the rows, sequence numbers filled in.
    pub rows: Vec<Row>,
}

fn decode(payload: &[u8]) -> Option<Record> {
    let mut r = Reader { buf: payload };
    if r.u8()? != KIND_EVENTS {
        return None;
    }
    let first_seq = r.u64()?;
    let ingestion = r.u64()? as i64;
    let group_id = r.u64()? as i64;
    let stream_id = r.u64()? as i64;
    let stream: Arc<str> = Arc::from(r.str()?);
    let count = r.u32()? as usize;
    let mut rows = Vec::with_capacity(count.min(10_000));
    for i in 0..count {
        let timestamp = r.u64()? as i64;
        let message = r.str()?.to_string();
        rows.push(Row {
            stream_id,
            stream: stream.clone(),
            timestamp,
            ingestion,
            seq: first_seq + i as u64,
            message,
        });
    }
    Some(Record { group_id, rows })
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.buf.len() < n {
            return None;
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn str(&mut self) -> Option<&'a str> {
        let len = self.u32()? as usize;
        std::str::from_utf8(self.take(len)?).ok()
    }
}

/// Reads one WAL file, truncating a torn or corrupt tail in place; returns its records.
pub fn replay_file(path: &Path) -> Result<Vec<Record>> {
    let data = fs::read(path)?;
    let mut records = Vec::new();
    let mut offset = 0usize;
    while offset < data.len() {
        let good = (|| {
            let header = data.get(offset..offset + FRAME_HEADER)?;
            let len = u32::from_le_bytes(header[0..4].try_into().ok()?) as usize;
            let crc = u32::from_le_bytes(header[4..8].try_into().ok()?);
            let payload = data.get(offset + FRAME_HEADER..offset + FRAME_HEADER + len)?;
            if crc32fast::hash(payload) != crc {
                return None;
            }
            Some((len, decode(payload)?))
        })();
        match good {
            Some((len, record)) => {
                records.push(record);
                offset += FRAME_HEADER + len;
            }
            None => {
                tracing::warn!(
                    file = %path.display(),
                    offset,
                    dropped = data.len() - offset,
                    "truncating torn WAL tail"
                );
                let file = OpenOptions::new().write(true).open(path)?;
                file.set_len(offset as u64)?;
                file.sync_all()?;
                break;
            }
        }
    }
    Ok(records)
}

/// `write_all` for several buffers, tolerating short writes.
fn write_all_vectored(file: &mut File, mut slices: &mut [IoSlice<'_>]) -> std::io::Result<()> {
    IoSlice::advance_slices(&mut slices, 0);
    while !slices.is_empty() {
        match file.write_vectored(slices) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

struct Writer {
    dir: PathBuf,
    number: u64,
    file: File,
    len: u64,
    next_seq: Arc<AtomicU64>,
    mem: Arc<RwLock<MemState>>,
}

impl Writer {
    fn open_file(dir: &Path, number: u64) -> Result<File> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(file_path(dir, number))?;
        sync_dir(dir)?;
        Ok(file)
    }

    fn rotate(&mut self) -> Result<u64> {
        let sealed = self.number;
        let file = Self::open_file(&self.dir, sealed + 1)?;
        self.file = file;
        self.number = sealed + 1;
        self.len = 0;
        Ok(sealed)
    }

    fn write_group(&mut self, group: &mut [(Batch, u64)]) -> Result<()> {
        let total: usize = group
            .iter()
            .map(|(b, _)| FRAME_HEADER + b.payload.len())
            .sum();
        let mut headers = Vec::with_capacity(group.len());
        for (batch, seq) in group.iter_mut() {
            *seq = self
                .next_seq
                .fetch_add(batch.events.len() as u64, Ordering::SeqCst);
            batch.payload[SEQ_OFFSET..SEQ_OFFSET + 8].copy_from_slice(&seq.to_le_bytes());
            let mut header = [0u8; FRAME_HEADER];
            header[..4].copy_from_slice(&(batch.payload.len() as u32).to_le_bytes());
            header[4..].copy_from_slice(&crc32fast::hash(&batch.payload).to_le_bytes());
            headers.push(header);
        }
        // Headers and payloads go to the kernel as they are, with no group buffer copy.
        let mut slices: Vec<IoSlice<'_>> = headers
            .iter()
            .zip(group.iter())
            .flat_map(|(h, (b, _))| [IoSlice::new(h), IoSlice::new(&b.payload)])
            .collect();
        let written =
            write_all_vectored(&mut self.file, &mut slices).and_then(|_| self.file.sync_data());
        if let Err(e) = written {
            // A failed write or sync leaves the tail unknown; cut it back so later records
            // never sit behind garbage that replay would stop at, or move to a new file.
            let repaired = self
                .file
                .set_len(self.len)
                .and_then(|_| self.file.seek(SeekFrom::End(0)).map(|_| ()))
                .and_then(|_| self.file.sync_all());
            if repaired.is_err() {
                self.rotate()?;
            }
            return Err(e.into());
        }
        self.len += total as u64;
        Ok(())
    }

    fn run(mut self, rx: mpsc::Receiver<Command>) {
        while let Ok(first) = rx.recv() {
            let mut pending = Vec::new();
            let mut rotate = None;
            let mut bytes = 0usize;
            let mut next = Some(first);
            while let Some(cmd) = next.take() {
                match cmd {
                    Command::Append(batch, reply) => {
                        bytes += batch.payload.len();
                        pending.push(((batch, 0u64), reply));
                    }
                    Command::Rotate(reply) => {
                        rotate = Some(reply);
                        break;
                    }
                }
                if bytes < MAX_GROUP_BYTES {
                    next = rx.try_recv().ok();
                }
            }
            if !pending.is_empty() {
                let (mut group, replies): (Vec<_>, Vec<_>) = pending.into_iter().unzip();
                match self.write_group(&mut group) {
                    Ok(()) => {
                        let mut seqs = Vec::with_capacity(group.len());
                        {
                            let mut mem = self.mem.write().unwrap_or_else(|e| e.into_inner());
                            for (batch, seq) in group {
                                seqs.push(seq);
                                let (group_id, rows) = batch.into_rows(seq);
                                mem.active.insert(group_id, rows);
                            }
                        }
                        for (reply, seq) in replies.into_iter().zip(seqs) {
                            let _ = reply.send(Ok(seq));
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "WAL write failed; the batch was not acknowledged");
                        let msg = e.to_string();
                        for reply in replies {
                            let _ =
                                reply.send(Err(StoreError::Io(std::io::Error::other(msg.clone()))));
                        }
                    }
                }
            }
            if let Some(reply) = rotate {
                let result = self.rotate().inspect(|_| {
                    let mut mem = self.mem.write().unwrap_or_else(|e| e.into_inner());
                    let frozen = Arc::new(std::mem::take(&mut mem.active));
                    mem.frozen.push(frozen);
                });
                let _ = reply.send(result);
            }
        }
    }
}

impl Wal {
    /// Starts the writer on a new file numbered `number` in `dir`.
    pub fn start(
        dir: &Path,
        number: u64,
        next_seq: Arc<AtomicU64>,
        mem: Arc<RwLock<MemState>>,
    ) -> Result<Wal> {
        let file = Writer::open_file(dir, number)?;
        let len = file.metadata()?.len();
        let writer = Writer {
            dir: dir.to_path_buf(),
            number,
            file,
            len,
            next_seq,
            mem,
        };
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("wal-writer".into())
            .spawn(move || writer.run(rx))?;
        Ok(Wal {
            tx: std::sync::Mutex::new(Some(tx)),
            thread: std::sync::Mutex::new(Some(thread)),
        })
    }

    fn send(&self, cmd: Command) -> Result<()> {
        let tx = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        tx.as_ref()
            .ok_or(StoreError::ShuttingDown)?
            .send(cmd)
            .map_err(|_| StoreError::ShuttingDown)
    }

    /// Appends a batch; resolves to its first sequence number once it is synced and visible.
    pub async fn append(&self, batch: Batch) -> Result<u64> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Append(batch, reply))?;
        rx.await.map_err(|_| StoreError::ShuttingDown)?
    }

    /// Moves to a new WAL file and freezes the active memtable in the same instant;
    /// returns the number of the last file the frozen memtables cover.
    pub async fn rotate(&self) -> Result<u64> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Rotate(reply))?;
        rx.await.map_err(|_| StoreError::ShuttingDown)?
    }

    /// Refuses new requests, lets the writer finish the queued ones, and waits for it.
    pub fn stop(&self) {
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
        let handle = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}
