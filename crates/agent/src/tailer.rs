//! Reading one source's files line by line, across rotations.
//!
//! Of the files matching the source's glob, the newest (by modification time) is the one
//! written to, as the awslogs agent assumes. At the end of the file being read the tailer
//! looks again:
//! - the path now names another file (rotation by rename, or a newer file matching the
//!   glob): the old file is read to its end, then the new one from its start;
//! - the same file got shorter than what was read, or its first bytes changed (rotation
//!   by copytruncate): the copy is looked for beside it (same first bytes, long enough)
//!   and read on from where the original was left, then the truncated original from its
//!   start. Without a copy, lines written between the last read and the truncation are
//!   lost, as with every tailer.

use crate::checkpoint::FilePosition;
use crate::config::InitialPosition;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

/// How many first bytes of a file identify it beside its device and inode.
const FINGERPRINT_BYTES: u64 = 1024;
/// A line longer than this is cut; the rest of it, up to its newline, is skipped.
pub const MAX_LINE_BYTES: usize = crate::shipper::MAX_EVENT_BYTES;

/// The identity of an open file at some moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRef {
    /// Its path when opened.
    pub path: PathBuf,
    /// Device.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
    /// CRC-32 of its first `fingerprint_len` bytes.
    pub fingerprint: u32,
    /// Bytes the fingerprint covers.
    pub fingerprint_len: u64,
}

impl FileRef {
    /// A checkpoint at `offset` in this file.
    pub fn at(&self, offset: u64) -> FilePosition {
        FilePosition {
            path: self.path.clone(),
            dev: self.dev,
            ino: self.ino,
            fingerprint: self.fingerprint,
            fingerprint_len: self.fingerprint_len,
            offset,
        }
    }
}

/// Lines read from one file.
#[derive(Debug)]
pub struct Chunk {
    /// The file they come from.
    pub file: Arc<FileRef>,
    /// Each line without its newline, and the file offset just past it.
    pub lines: Vec<(Vec<u8>, u64)>,
    /// The tailer has left this file: an event still being assembled is complete.
    pub left_file: bool,
}

struct Open {
    file: File,
    id: Arc<FileRef>,
    /// Bytes read from the file so far.
    read_pos: u64,
    /// Bytes read but not yet part of a complete line.
    partial: Vec<u8>,
    /// Dropping the rest of an over-long line.
    skipping: bool,
    /// The path moved on to another file: read this one to its end, then switch.
    finishing: bool,
}

/// Follows the newest file matching a glob.
pub struct Tailer {
    pattern: String,
    initial: InitialPosition,
    resume: Option<FilePosition>,
    open: Option<Open>,
    buf: Vec<u8>,
}

impl Tailer {
    /// A tailer for `pattern`, resuming at `resume` when that file can still be found.
    pub fn new(pattern: &str, initial: InitialPosition, resume: Option<FilePosition>) -> Tailer {
        Tailer {
            pattern: pattern.to_string(),
            initial,
            resume,
            open: None,
            buf: vec![0; 256 * 1024],
        }
    }

    /// Reads complete lines, about `max_bytes` of them; `None` when there is nothing new.
    pub fn poll(&mut self, max_bytes: usize) -> std::io::Result<Option<Chunk>> {
        if self.open.is_none() && !self.open_first()? {
            return Ok(None);
        }
        // Each pass either returns or changes state (starts finishing, swaps file,
        // rewinds); three passes cover the longest chain (copy found → finish → switch).
        for _ in 0..4 {
            let Some(open) = self.open.as_mut() else {
                return Ok(None);
            };
            // Checked before reading, so a truncated file that has grown again is not read
            // from the middle.
            let meta = open.file.metadata()?;
            let truncated = !open.finishing
                && (meta.len() < open.read_pos || !fingerprint_holds(&open.file, &open.id)?);
            if truncated {
                let copy = find_copy(
                    &self.pattern,
                    &open.id,
                    open.read_pos - open.partial.len() as u64,
                );
                match copy {
                    Some(path) => {
                        let resume_at = open.read_pos - open.partial.len() as u64;
                        let mut copy = open_at(&path, resume_at)?;
                        copy.finishing = true;
                        tracing::info!(file = %path.display(), "copytruncate: finishing the copy");
                        self.open = Some(copy);
                    }
                    None => {
                        tracing::warn!(file = %open.id.path.display(), "file truncated; reading it again from the start");
                        let path = open.id.path.clone();
                        self.open = Some(open_at(&path, 0)?);
                    }
                }
                continue;
            }
            let lines = read_lines(open, &mut self.buf, max_bytes)?;
            if !lines.is_empty() {
                return Ok(Some(Chunk {
                    file: open.id.clone(),
                    lines,
                    left_file: false,
                }));
            }
            if open.finishing {
                let newest = newest_match(&self.pattern);
                let Some((path, _)) = newest.filter(|(_, m)| !same_file(m, &open.id)) else {
                    return Ok(None);
                };
                let mut lines = Vec::new();
                if !open.partial.is_empty() && !open.skipping {
                    // The last line of a finished file may lack its newline.
                    lines.push((std::mem::take(&mut open.partial), open.read_pos));
                }
                let old = open.id.clone();
                self.open = Some(open_at(&path, 0)?);
                return Ok(Some(Chunk {
                    file: old,
                    lines,
                    left_file: true,
                }));
            }
            let meta = open.file.metadata()?;
            if meta.len() > open.id.fingerprint_len && open.id.fingerprint_len < FINGERPRINT_BYTES {
                open.id = Arc::new(identify(&open.file, &open.id.path)?);
            }
            match newest_match(&self.pattern) {
                Some((_, m)) if !same_file(&m, &open.id) => {
                    tracing::info!(file = %open.id.path.display(), "rotated: finishing the old file");
                    open.finishing = true;
                }
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    /// Opens the file to start with: the checkpointed one if it still exists, else the
    /// newest match (from its start after a checkpoint, else per `initial_position`).
    fn open_first(&mut self) -> std::io::Result<bool> {
        let newest = newest_match(&self.pattern);
        if let Some(pos) = self.resume.take() {
            // After a checkpoint every file is new to us: read from its start.
            self.initial = InitialPosition::StartOfFile;
            if let Some(path) = find_checkpointed(&self.pattern, &pos) {
                let mut open = open_at(&path, pos.offset)?;
                open.finishing = newest
                    .as_ref()
                    .is_some_and(|(_, m)| !same_file(m, &open.id));
                self.open = Some(open);
                return Ok(true);
            }
            tracing::warn!(file = %pos.path.display(), "the checkpointed file is gone; starting the newest from its start");
            if let Some((path, _)) = newest {
                self.open = Some(open_at(&path, 0)?);
                return Ok(true);
            }
            return Ok(false);
        }
        let Some((path, meta)) = newest else {
            return Ok(false);
        };
        let offset = match self.initial {
            InitialPosition::StartOfFile => 0,
            InitialPosition::EndOfFile => meta.len(),
        };
        // Files that appear later are new, so they are read from their start.
        self.initial = InitialPosition::StartOfFile;
        self.open = Some(open_at(&path, offset)?);
        Ok(true)
    }
}

fn read_lines(
    open: &mut Open,
    buf: &mut [u8],
    max_bytes: usize,
) -> std::io::Result<Vec<(Vec<u8>, u64)>> {
    let mut lines = Vec::new();
    let mut got = 0usize;
    while got < max_bytes {
        let n = open.file.read(buf)?;
        if n == 0 {
            break;
        }
        got += n;
        let start = open.read_pos;
        open.read_pos += n as u64;
        let mut from = 0;
        for i in memchr::memchr_iter(b'\n', &buf[..n]) {
            let end = start + i as u64 + 1;
            if open.skipping {
                open.skipping = false;
                open.partial.clear();
            } else {
                let mut line = std::mem::take(&mut open.partial);
                line.extend_from_slice(&buf[from..i]);
                lines.push((line, end));
            }
            from = i + 1;
        }
        if !open.skipping {
            open.partial.extend_from_slice(&buf[from..n]);
            if open.partial.len() >= MAX_LINE_BYTES {
                open.partial.truncate(MAX_LINE_BYTES);
                let line = std::mem::take(&mut open.partial);
                lines.push((line, open.read_pos));
                open.skipping = true;
            }
        }
    }
    Ok(lines)
}

fn open_at(path: &Path, offset: u64) -> std::io::Result<Open> {
    let mut file = File::open(path)?;
    let id = identify(&file, path)?;
    let offset = offset.min(file.metadata()?.len());
    file.seek(SeekFrom::Start(offset))?;
    Ok(Open {
        file,
        id: Arc::new(id),
        read_pos: offset,
        partial: Vec::new(),
        skipping: false,
        finishing: false,
    })
}

fn identify(file: &File, path: &Path) -> std::io::Result<FileRef> {
    let meta = file.metadata()?;
    let len = meta.len().min(FINGERPRINT_BYTES);
    Ok(FileRef {
        path: path.to_path_buf(),
        dev: meta.dev(),
        ino: meta.ino(),
        fingerprint: crc_of(file, len)?,
        fingerprint_len: len,
    })
}

fn crc_of(file: &File, len: u64) -> std::io::Result<u32> {
    let mut head = vec![0u8; len as usize];
    let mut filled = 0;
    while filled < head.len() {
        let n = file.read_at(&mut head[filled..], filled as u64)?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    head.truncate(filled);
    Ok(crc32fast::hash(&head))
}

/// Whether the file still starts with the bytes it was identified by.
fn fingerprint_holds(file: &File, id: &FileRef) -> std::io::Result<bool> {
    Ok(file.metadata()?.len() >= id.fingerprint_len
        && crc_of(file, id.fingerprint_len)? == id.fingerprint)
}

fn same_file(meta: &std::fs::Metadata, id: &FileRef) -> bool {
    meta.dev() == id.dev && meta.ino() == id.ino
}

/// The newest regular file matching the glob.
fn newest_match(pattern: &str) -> Option<(PathBuf, std::fs::Metadata)> {
    let paths = glob::glob(pattern).ok()?;
    paths
        .filter_map(Result::ok)
        .filter_map(|p| {
            let meta = std::fs::metadata(&p).ok()?;
            meta.is_file().then_some((p, meta))
        })
        .max_by_key(|(p, m)| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), p.clone()))
}

/// Files a rotated file may now be: the glob's matches and every file beside them.
fn candidates(pattern: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    let literal: PathBuf = Path::new(pattern)
        .components()
        .take_while(|c| !c.as_os_str().to_string_lossy().contains(['*', '?', '[']))
        .collect();
    if let Some(parent) = literal.parent() {
        dirs.push(parent.to_path_buf());
    }
    let mut out: Vec<PathBuf> = glob::glob(pattern)
        .map(|g| g.filter_map(Result::ok).collect())
        .unwrap_or_default();
    for p in &out {
        if let Some(parent) = p.parent()
            && !dirs.iter().any(|d| d == parent)
        {
            dirs.push(parent.to_path_buf());
        }
    }
    for dir in dirs {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            out.extend(entries.filter_map(Result::ok).map(|e| e.path()));
        }
    }
    out
}

fn find_checkpointed(pattern: &str, pos: &FilePosition) -> Option<PathBuf> {
    let mut paths = vec![pos.path.clone()];
    paths.extend(candidates(pattern));
    paths.into_iter().find(|p| {
        let Ok(file) = File::open(p) else {
            return false;
        };
        let Ok(meta) = file.metadata() else {
            return false;
        };
        meta.is_file()
            && meta.dev() == pos.dev
            && meta.ino() == pos.ino
            && meta.len() >= pos.offset
            && meta.len() >= pos.fingerprint_len
            && crc_of(&file, pos.fingerprint_len).ok() == Some(pos.fingerprint)
    })
}

/// The copy a copytruncate rotation made: another file that starts like `id` and holds
/// at least `at` bytes.
fn find_copy(pattern: &str, id: &FileRef, at: u64) -> Option<PathBuf> {
    candidates(pattern)
        .into_iter()
        .filter_map(|p| {
            let file = File::open(&p).ok()?;
            let meta = file.metadata().ok()?;
            let matches = meta.is_file()
                && !same_file(&meta, id)
                && meta.len() >= at
                && meta.len() >= id.fingerprint_len
                && crc_of(&file, id.fingerprint_len).ok()? == id.fingerprint;
            matches.then(|| (meta.modified().unwrap_or(SystemTime::UNIX_EPOCH), p))
        })
        .max()
        .map(|(_, p)| p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn drain(t: &mut Tailer) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(chunk) = t.poll(1 << 20).unwrap() {
            out.extend(
                chunk
                    .lines
                    .into_iter()
                    .map(|(l, _)| String::from_utf8(l).unwrap()),
            );
        }
        out
    }

    fn append(path: &Path, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn follows_rename_and_copytruncate_rotations() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        append(&log, "a\nb\npart");
        let mut t = Tailer::new(log.to_str().unwrap(), InitialPosition::StartOfFile, None);
        assert_eq!(drain(&mut t), ["a", "b"]);
        append(&log, "ial\nc\n");
        std::fs::rename(&log, dir.path().join("app.log.1")).unwrap();
        append(&log, "d\n");
        assert_eq!(drain(&mut t), ["partial", "c", "d"]);
        // copytruncate: the copy holds what was not read yet.
        append(&log, "e\n");
        std::fs::copy(&log, dir.path().join("app.log.2")).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&log)
            .unwrap();
        append(&log, "f\n");
        assert_eq!(drain(&mut t), ["e", "f"]);
    }

    #[test]
    fn resumes_at_a_checkpoint_and_honours_end_of_file() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        append(&log, "old\n");
        let mut t = Tailer::new(log.to_str().unwrap(), InitialPosition::EndOfFile, None);
        assert!(drain(&mut t).is_empty());
        append(&log, "new1\nnew2\n");
        let chunk = t.poll(1 << 20).unwrap().unwrap();
        let (_, end) = chunk.lines[0].clone();
        let pos = chunk.file.at(end);
        let mut again = Tailer::new(
            log.to_str().unwrap(),
            InitialPosition::StartOfFile,
            Some(pos),
        );
        assert_eq!(drain(&mut again), ["new2"]);
    }

    #[test]
    fn over_long_lines_are_cut() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("big.log");
        append(
            &log,
            &format!("{}\nnext\n", "x".repeat(MAX_LINE_BYTES + 10)),
        );
        let mut t = Tailer::new(log.to_str().unwrap(), InitialPosition::StartOfFile, None);
        let lines = drain(&mut t);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), MAX_LINE_BYTES);
        assert_eq!(lines[1], "next");
    }
}
