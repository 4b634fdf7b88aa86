//! Where each source has got to: the file (device and inode, plus a CRC-32 of its first
//! bytes, since inodes are reused) and the offset after the last acknowledged event.
//!
//! The state file is JSON, replaced atomically (write a temporary file, fsync it, rename
//! it over the old one, fsync the directory), so a crash leaves the old state or the new
//! one, never a torn one.

use crate::Error;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A position in one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilePosition {
    /// The path the file had when it was opened.
    pub path: PathBuf,
    /// Device of the file.
    pub dev: u64,
    /// Inode of the file.
    pub ino: u64,
    /// CRC-32 of the first `fingerprint_len` bytes.
    pub fingerprint: u32,
    /// How many bytes the fingerprint covers (files shorter than the maximum are
    /// fingerprinted as far as they go).
    pub fingerprint_len: u64,
    /// Bytes already delivered.
    pub offset: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Document {
    version: u32,
    sources: BTreeMap<String, FilePosition>,
}

/// The agent's state file, shared by all sources.
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
    doc: Mutex<Document>,
}

impl StateFile {
    /// Reads the state file; a missing one is an empty state.
    pub fn load(path: &Path) -> Result<StateFile, Error> {
        let doc = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::Config(format!(
                    "state file {} is not readable: {e}",
                    path.display()
                ))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Document {
                version: 1,
                ..Default::default()
            },
            Err(source) => {
                return Err(Error::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        Ok(StateFile {
            path: path.to_path_buf(),
            doc: Mutex::new(doc),
        })
    }

    /// Where a source had got to.
    pub fn get(&self, source: &str) -> Option<FilePosition> {
        self.lock().sources.get(source).cloned()
    }

    /// Records a source's position durably.
    pub fn save(&self, source: &str, position: FilePosition) -> Result<(), Error> {
        let mut doc = self.lock();
        doc.sources.insert(source.to_string(), position);
        let bytes = serde_json::to_vec_pretty(&*doc).map_err(|e| Error::Config(e.to_string()))?;
        let io = |source| Error::Io {
            path: self.path.clone(),
            source,
        };
        let tmp = self.path.with_extension("tmp");
        let mut file = std::fs::File::create(&tmp).map_err(io)?;
        file.write_all(&bytes).map_err(io)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)?;
        let dir = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io)?;
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Document> {
        // A panic elsewhere cannot leave the map half-updated: inserts are single steps.
        self.doc.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_survive_a_reload() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        let state = StateFile::load(&path).unwrap();
        assert_eq!(state.get("a"), None);
        let pos = FilePosition {
            path: "/x".into(),
            dev: 1,
            ino: 2,
            fingerprint: 3,
            fingerprint_len: 4,
            offset: 5,
        };
        state.save("a", pos.clone()).unwrap();
        assert_eq!(StateFile::load(&path).unwrap().get("a"), Some(pos));
        assert!(!path.with_extension("tmp").exists());
    }
}
