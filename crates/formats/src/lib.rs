//! AWS log file formats, for importing them and querying them with SQL and Insights.
//!
//! Each format parses a file (plain or gzipped, found by walking paths and `AWSLogs/`
//! trees) into records with a typed schema, keeping AWS's field names. A malformed line is
//! an [`Error::Malformed`] naming its file and line, never fatal and never dropped
//! silently. The crate does no storage and no querying: `store`, `query` and the binary
//! build on it.

pub mod cloudtrail;
mod error;
pub mod walk;

pub use error::Error;
