//! The one error type of the crate: a file that cannot be read, or a line or record in it
//! that does not parse. Both name the file, so a report can point at the exact place.

use std::io;
use std::path::PathBuf;

/// Why reading a log file failed, or why one of its lines or records was refused.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file (or directory) could not be opened or read; reading that file stops here.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory that failed.
        path: PathBuf,
        /// What the operating system (or the gzip decoder) said.
        source: io::Error,
    },
    /// One line or record is not in the expected format; the rest of the file is still read.
    #[error("{}:{line}: {reason}", path.display())]
    Malformed {
        /// The file holding the line.
        path: PathBuf,
        /// The 1-based line number where the line or record starts.
        line: u64,
        /// What is wrong with it.
        reason: String,
    },
}

impl Error {
    /// Whether reading may go on after this error (a bad line), or the file is done (I/O).
    pub fn is_malformed(&self) -> bool {
        matches!(self, Error::Malformed { .. })
    }
}
