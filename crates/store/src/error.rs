//! The store's typed errors; the API layer maps each to an AWS error shape.

use thiserror::Error;

/// Everything the store can refuse or fail at.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The named log group does not exist in the caller's account and region.
    #[error("The specified log group does not exist.")]
    GroupNotFound,
    /// A log group of that name already exists.
    #[error("The specified log group already exists")]
    GroupExists,
    /// The named log stream does not exist in the group.
    #[error("The specified log stream does not exist.")]
    StreamNotFound,
    /// A log stream of that name already exists in the group.
    #[error("The specified log stream already exists")]
    StreamExists,
    /// A paging token the store did not issue, or for another listing.
    #[error("The specified nextToken is invalid.")]
    InvalidToken,
    /// A resource would carry more tags than AWS allows.
    #[error("Exceeded the maximum number of tags allowed for the resource: 50")]
    TooManyTags {
        /// The ARN of the resource.
        resource: String,
    },
    /// An IAM user or key that does not exist.
    #[error("The user with name {0} cannot be found.")]
    UserNotFound(String),
    /// An IAM user that already exists.
    #[error("User with name {0} already exists.")]
    UserExists(String),
    /// Another process holds the data directory.
    #[error("the data directory {0} is in use by another Trailwatch process")]
    Locked(String),
    /// The store is shutting down and takes no more writes.
    #[error("the store is shutting down")]
    ShuttingDown,
    /// A file the store wrote is not what it should be.
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// Disk or file-system failure (full disk included).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The SQLite catalog failed.
    #[error("catalog error: {0}")]
    Catalog(#[from] rusqlite::Error),
    /// Reading or writing a Parquet segment failed.
    #[error("segment error: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// Building an Arrow batch failed.
    #[error("segment error: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// A location URL that names no store Trailwatch can reach.
    #[error("invalid location: {0}")]
    InvalidLocation(String),
    /// The object store (local directory or S3-compatible bucket) failed.
    #[error("object store error: {0}")]
    ObjectStore(#[from] object_store::Error),
}

/// Shorthand for the store's results.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
