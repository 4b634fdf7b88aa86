//! Expanding the paths a user names into the log files under them, and opening each one
//! with transparent gzip decompression.
//!
//! Directories are walked recursively (so an `AWSLogs/` tree works as it is delivered),
//! files come back sorted by path so a run is repeatable, and each carries its size so a
//! caller can show progress in bytes before reading anything.

use crate::Error;
use flate2::read::MultiGzDecoder;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

/// One file to read, as found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    /// Its path, as named or as found under a named directory.
    pub path: PathBuf,
    /// Its size on disk in bytes (compressed size for `.gz`).
    pub size: u64,
    /// Its last modification time, where the filesystem keeps one.
    pub modified: Option<SystemTime>,
}

/// Expands `paths` into files: a file is taken as named, whatever its name; a directory is
/// walked and yields the files that `wanted` accepts. The result is sorted and deduplicated.
pub fn expand(paths: &[PathBuf], wanted: impl Fn(&Path) -> bool) -> Result<Vec<InputFile>, Error> {
    let mut files = Vec::new();
    for root in paths {
        let meta = std::fs::metadata(root).map_err(|source| Error::Io {
            path: root.clone(),
            source,
        })?;
        if !meta.is_dir() {
            files.push(input_file(root.clone(), &meta));
            continue;
        }
        for entry in walkdir::WalkDir::new(root).follow_links(true) {
            let entry = entry.map_err(|e| Error::Io {
                path: e.path().unwrap_or(root).to_path_buf(),
                source: e.into(),
            })?;
            if !entry.file_type().is_file() || !wanted(entry.path()) {
                continue;
            }
            let meta = entry.metadata().map_err(|e| Error::Io {
                path: entry.path().to_path_buf(),
                source: e.into(),
            })?;
            files.push(input_file(entry.into_path(), &meta));
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files.dedup_by(|a, b| a.path == b.path);
    Ok(files)
}

fn input_file(path: PathBuf, meta: &std::fs::Metadata) -> InputFile {
    InputFile {
        path,
        size: meta.len(),
        modified: meta.modified().ok(),
    }
}

/// Whether `path` ends with one of `extensions` (each given without the leading dot),
/// optionally followed by `.gz`; hidden files never match.
pub fn has_extension(path: &Path, extensions: &[&str]) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let name = name.strip_suffix(".gz").unwrap_or(name);
    !name.starts_with('.')
        && extensions.iter().any(|ext| {
            name.len() > ext.len()
                && name.ends_with(ext)
                && name[..name.len() - ext.len()].ends_with('.')
        })
}

/// A running total of raw (on-disk) bytes read, shared between readers and a progress bar.
#[derive(Debug, Clone, Default)]
pub struct ByteCounter(Arc<AtomicU64>);

impl ByteCounter {
    /// The bytes read so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Counts `bytes` more, read here or passed over (a file skipped counts as done).
    pub fn add(&self, bytes: u64) {
        self.0.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// A reader that adds what it reads to a [`ByteCounter`].
struct Counted<R> {
    inner: R,
    counter: ByteCounter,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.add(n as u64);
        Ok(n)
    }
}

/// The buffered contents of `path`, decompressed when it is gzip (told by its magic bytes,
/// not its name, since copies get renamed); raw bytes read are added to `counter`.
pub fn open(path: &Path, counter: &ByteCounter) -> Result<Box<dyn BufRead + Send>, Error> {
    let io_error = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io_error)?;
    decoded(Counted {
        inner: file,
        counter: counter.clone(),
    })
    .map_err(io_error)
}

/// Bytes from any source (an object store's, say) read as [`open`] reads a file:
/// gunzipped when they start with gzip's magic bytes.
pub fn decoded(raw: impl Read + Send + 'static) -> std::io::Result<Box<dyn BufRead + Send>> {
    let mut raw = BufReader::with_capacity(256 * 1024, raw);
    let gzip = raw.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    Ok(if gzip {
        Box::new(BufReader::with_capacity(
            256 * 1024,
            MultiGzDecoder::new(raw),
        ))
    } else {
        Box::new(raw)
    })
}
