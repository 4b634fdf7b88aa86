//! Buckets trails deliver to. A bucket is a directory under a configured root; an object
//! is a file at its key, written durably (temporary file, fsync, rename, fsync of the
//! directories) so a crash never leaves half a log file or digest under its real name.
//!
//! S3 keeps a digest's signature in the object's user metadata. A filesystem has no such
//! place, so the metadata map is written as JSON beside the object, in a file named
//! `<key>` + [`METADATA_SUFFIX`](crate::layout::METADATA_SUFFIX) — readable by anyone
//! who copies the tree.

use crate::AuditError;
use crate::layout::METADATA_SUFFIX;
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Component, Path, PathBuf};

/// The directory holding every bucket.
#[derive(Debug, Clone)]
pub struct Buckets {
    root: PathBuf,
}

/// Whether a name is a valid S3 bucket name (3–63 characters of lower-case letters,
/// digits, `.` and `-`, starting and ending with a letter or digit).
pub fn valid_bucket_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (3..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'.' || *b == b'-')
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && !name.contains("..")
}

impl Buckets {
    /// Buckets are directories under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Buckets {
        Buckets { root: root.into() }
    }

    /// The directory of a bucket.
    pub fn bucket_dir(&self, bucket: &str) -> PathBuf {
        self.root.join(bucket)
    }

    /// The file of an object. Keys with `..` or absolute parts are refused.
    pub fn object_path(&self, bucket: &str, key: &str) -> Result<PathBuf, AuditError> {
        let relative = Path::new(key);
        if !valid_bucket_name(bucket)
            || relative
                .components()
                .any(|c| !matches!(c, Component::Normal(_)))
        {
            return Err(AuditError::InvalidKey(format!("{bucket}/{key}")));
        }
        Ok(self.bucket_dir(bucket).join(relative))
    }

    /// Makes sure a bucket's directory exists.
    pub fn ensure(&self, bucket: &str) -> Result<(), AuditError> {
        fs::create_dir_all(self.bucket_dir(bucket))?;
        Ok(())
    }

    /// Writes an object (and its metadata, if any) durably.
    pub fn put(
        &self,
        bucket: &str,
        key: &str,
        bytes: &[u8],
        metadata: Option<&BTreeMap<String, String>>,
    ) -> Result<(), AuditError> {
        let path = self.object_path(bucket, key)?;
        if let Some(meta) = metadata {
            let mut meta_path = path.clone().into_os_string();
            meta_path.push(METADATA_SUFFIX);
            write_durably(
                &self.root,
                Path::new(&meta_path),
                serde_json::to_string(meta)?.as_bytes(),
            )?;
        }
        write_durably(&self.root, &path, bytes)
    }
}

/// Reads an object's metadata sidecar, if it has one.
pub fn read_metadata(object: &Path) -> Option<BTreeMap<String, String>> {
    let mut meta_path = object.to_path_buf().into_os_string();
    meta_path.push(METADATA_SUFFIX);
    serde_json::from_slice(&fs::read(meta_path).ok()?).ok()
}

fn write_durably(root: &Path, path: &Path, bytes: &[u8]) -> Result<(), AuditError> {
    let dir = path
        .parent()
        .ok_or_else(|| AuditError::InvalidKey(path.display().to_string()))?;
    fs::create_dir_all(dir)?;
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    {
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    // New directories and the rename must reach the disk too.
    for ancestor in dir.ancestors().take_while(|a| a.starts_with(root)) {
        File::open(ancestor)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_and_metadata_land_beside_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let buckets = Buckets::new(dir.path());
        let meta = BTreeMap::from([("signature".to_string(), "ab".to_string())]);
        buckets
            .put("my-bucket", "AWSLogs/1/x.json.gz", b"data", Some(&meta))
            .unwrap();
        let path = buckets
            .object_path("my-bucket", "AWSLogs/1/x.json.gz")
            .unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"data");
        assert_eq!(read_metadata(&path), Some(meta));
        assert!(buckets.object_path("my-bucket", "../escape").is_err());
        assert!(buckets.object_path("Bad_Bucket", "k").is_err());
    }

    #[test]
    fn bucket_names_follow_s3_rules() {
        assert!(valid_bucket_name("my-trail-bucket.1"));
        assert!(!valid_bucket_name("ab"));
        assert!(!valid_bucket_name("UPPER"));
        assert!(!valid_bucket_name("-start"));
    }
}
