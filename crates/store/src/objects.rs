//! Where Trailwatch keeps objects outside its data directory: a local directory or a
//! bucket of an S3-compatible store (AWS S3, MinIO, moto, Ceph...).
//!
//! A location is written as a URL — `/var/lib/archive`, `file:///var/lib/archive` or
//! `s3://bucket/prefix` — and S3 connection settings ([`S3Settings`]) come from the
//! server's configuration, so the same location string works on any endpoint. Everything
//! above this module sees one `ObjectStore` and a key prefix.

use crate::{Result, StoreError};
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use std::path::PathBuf;
use std::sync::Arc;

/// How to reach an S3-compatible store. Unset fields fall back to the standard `AWS_*`
/// environment variables, as every AWS tool does.
#[derive(Debug, Clone, Default)]
pub struct S3Settings {
    /// Endpoint URL (`http://127.0.0.1:9000`); unset means AWS S3 itself.
    pub endpoint: Option<String>,
    /// Signing region; unset means `AWS_REGION`/`AWS_DEFAULT_REGION`, then `us-east-1`.
    pub region: Option<String>,
    /// Address buckets as `endpoint/bucket/key` instead of `bucket.endpoint/key`; what
    /// most self-hosted S3 servers need.
    pub path_style: bool,
    /// Access key id; unset means `AWS_ACCESS_KEY_ID`.
    pub access_key_id: Option<String>,
    /// Secret access key; unset means `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: Option<String>,
    /// Session token of temporary credentials.
    pub session_token: Option<String>,
}

/// A parsed location: which store, and the key prefix inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A directory on the local file system.
    Local(PathBuf),
    /// A bucket of an S3-compatible store, with a key prefix (no leading or trailing `/`).
    S3 {
        /// The bucket name.
        bucket: String,
        /// Keys start with this (empty for the whole bucket).
        prefix: String,
    },
}

impl Location {
    /// Parses `s3://bucket[/prefix]`, `file:///dir` or a plain directory path.
    pub fn parse(text: &str) -> Result<Location> {
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(StoreError::InvalidLocation(format!(
                    "{text}: an s3:// location needs a bucket name"
                )));
            }
            return Ok(Location::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.trim_matches('/').to_string(),
            });
        }
        if let Some(path) = text.strip_prefix("file://") {
            return Ok(Location::Local(PathBuf::from(path)));
        }
        if text.contains("://") {
            return Err(StoreError::InvalidLocation(format!(
                "{text}: only s3:// and file:// locations and directory paths are supported"
            )));
        }
        Ok(Location::Local(PathBuf::from(text)))
    }

    /// The location written back as a URL (`s3://...` or a directory path).
    pub fn url(&self) -> String {
        match self {
            Location::Local(dir) => dir.display().to_string(),
            Location::S3 { bucket, prefix } if prefix.is_empty() => format!("s3://{bucket}"),
            Location::S3 { bucket, prefix } => format!("s3://{bucket}/{prefix}"),
        }
    }

    /// The key prefix inside the store [`Location::open`] returns.
    pub fn prefix(&self) -> ObjectPath {
        match self {
            Location::Local(_) => ObjectPath::default(),
            Location::S3 { prefix, .. } => ObjectPath::from(prefix.as_str()),
        }
    }

    /// Connects to the location. A local directory is created if missing; nothing is
    /// sent to an S3 store until the first request.
    pub fn open(&self, s3: &S3Settings) -> Result<Arc<dyn ObjectStore>> {
        match self {
            Location::Local(dir) => {
                std::fs::create_dir_all(dir)?;
                Ok(Arc::new(LocalFileSystem::new_with_prefix(dir)?))
            }
            Location::S3 { bucket, .. } => Ok(Arc::new(s3_bucket(bucket, s3)?)),
        }
    }
}

/// A client for one bucket of the configured S3-compatible store.
pub fn s3_bucket(bucket: &str, s3: &S3Settings) -> Result<object_store::aws::AmazonS3> {
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    let region = s3
        .region
        .clone()
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .unwrap_or_else(|| "us-east-1".to_string());
    builder = builder.with_region(region);
    if let Some(endpoint) = &s3.endpoint {
        builder = builder
            .with_endpoint(endpoint)
            .with_allow_http(endpoint.starts_with("http://"));
    }
    builder = builder.with_virtual_hosted_style_request(!s3.path_style);
    if let Some(key) = &s3.access_key_id {
        builder = builder.with_access_key_id(key);
    }
    if let Some(secret) = &s3.secret_access_key {
        builder = builder.with_secret_access_key(secret);
    }
    if let Some(token) = &s3.session_token {
        builder = builder.with_token(token);
    }
    Ok(builder.build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_locations() {
        assert_eq!(
            Location::parse("s3://logs/archive/").ok(),
            Some(Location::S3 {
                bucket: "logs".into(),
                prefix: "archive".into()
            })
        );
        assert_eq!(
            Location::parse("s3://logs").ok().map(|l| l.url()),
            Some("s3://logs".to_string())
        );
        assert_eq!(
            Location::parse("file:///tmp/a").ok(),
            Some(Location::Local(PathBuf::from("/tmp/a")))
        );
        assert_eq!(
            Location::parse("archive").ok(),
            Some(Location::Local(PathBuf::from("archive")))
        );
        assert!(Location::parse("s3://").is_err());
        assert!(Location::parse("gs://bucket").is_err());
    }
}
