//! How commands reach an S3-compatible store: the flags `serve` and every client command
//! that reads or writes `s3://` locations share.

use clap::{Args, ValueEnum};
use store::objects::S3Settings;

/// The S3-compatible store `s3://` locations name.
#[derive(Args, Clone, Debug, Default)]
pub struct S3Args {
    /// Endpoint of the S3-compatible store that `s3://` locations name (default: AWS S3).
    #[arg(long, env = "TRAILWATCH_S3_ENDPOINT")]
    s3_endpoint: Option<String>,
    /// Signing region of that store (default: AWS_REGION, then us-east-1).
    #[arg(long, env = "TRAILWATCH_S3_REGION")]
    s3_region: Option<String>,
    /// Address buckets as ENDPOINT/BUCKET (what MinIO, moto and most self-hosted stores need).
    #[arg(long, env = "TRAILWATCH_S3_PATH_STYLE")]
    s3_path_style: bool,
    /// Access key id for that store (default: AWS_ACCESS_KEY_ID).
    #[arg(long, env = "TRAILWATCH_S3_ACCESS_KEY_ID", hide_env_values = true)]
    s3_access_key_id: Option<String>,
    /// Secret access key for that store (default: AWS_SECRET_ACCESS_KEY).
    #[arg(long, env = "TRAILWATCH_S3_SECRET_ACCESS_KEY", hide_env_values = true)]
    s3_secret_access_key: Option<String>,
}

impl S3Args {
    /// The connection settings these flags give.
    pub fn settings(&self) -> S3Settings {
        S3Settings {
            endpoint: self.s3_endpoint.clone(),
            region: self.s3_region.clone(),
            path_style: self.s3_path_style,
            access_key_id: self.s3_access_key_id.clone(),
            secret_access_key: self.s3_secret_access_key.clone(),
            // A temporary credential's token comes from AWS_SESSION_TOKEN, read by the
            // S3 client itself.
            session_token: None,
        }
    }
}

/// Where trail bucket names point.
#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TrailBuckets {
    /// A bucket is a directory under the buckets directory.
    #[default]
    Directory,
    /// A bucket is a bucket of the S3-compatible store (`--s3-endpoint` ...).
    S3,
}
