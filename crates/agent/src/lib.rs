//! Trailwatch's log shipper, the client side of ingest: what `trailwatch agent` and
//! `trailwatch exec` run.
//!
//! It reads the awslogs agent's INI configuration or the CloudWatch agent's JSON one
//! ([`config`]), follows each file across rotations ([`tailer`]), assembles multi-line
//! events and reads their times ([`timestamp`]), batches them within PutLogEvents'
//! limits and delivers them with retries ([`shipper`]) over SigV4-signed calls
//! ([`client`]) to Trailwatch or AWS, and records how far each file was acknowledged
//! ([`checkpoint`]) so a restart loses nothing. It knows nothing of the server's store.

pub mod checkpoint;
pub mod client;
pub mod config;
pub mod host;
pub mod run;
pub mod shipper;
pub mod tailer;
pub mod timestamp;

pub use client::{CallError, SignedClient};
pub use config::AgentConfig;
pub use run::{run_agent, ship_lines};
pub use shipper::Shipper;

use std::path::PathBuf;

/// Why the agent cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration (or the state file) is not usable.
    #[error("configuration: {0}")]
    Config(String),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// Delivery was given up.
    #[error(transparent)]
    Ship(#[from] shipper::ShipError),
    /// A source's task ended abnormally.
    #[error("a source task failed: {0}")]
    Task(String),
}
