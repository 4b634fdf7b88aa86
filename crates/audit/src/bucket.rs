//! Buckets trails deliver to: directories under a configured root, or buckets of the
//! server's S3-compatible store (`trailwatch serve --trail-buckets s3`).
//!
//! In a directory, an object is a file at its key, written durably (temporary file,
//! fsync, rename, fsync of the directories) so a crash never leaves half a log file or
//! digest under its real name. S3 keeps a digest's signature in the object's user
//! metadata (`x-amz-meta-signature`, `x-amz-meta-signature-algorithm`), where AWS puts
//! it. A filesystem has no such place, so there the metadata map is written as JSON
//! beside the object, in a file named `<key>` +
//! [`METADATA_SUFFIX`](crate::layout::METADATA_SUFFIX) — readable by anyone who copies
//! the tree; [`mirror_s3`] turns an S3 bucket into exactly that form.

use crate::AuditError;
use crate::layout::METADATA_SUFFIX;
use futures::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{Attribute, Attributes, ObjectStore, ObjectStoreExt, PutOptions};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::future::Future;
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use store::objects::{S3Settings, s3_bucket};

/// Where trail buckets live.
#[derive(Debug, Clone)]
pub struct Buckets {
    root: PathBuf,
    s3: Option<S3Settings>,
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
        Buckets {
            root: root.into(),
            s3: None,
        }
    }

    /// Buckets are buckets of the S3-compatible store `settings` reach.
    pub fn s3(settings: S3Settings) -> Buckets {
        Buckets {
            root: PathBuf::new(),
            s3: Some(settings),
        }
    }

    /// The S3 settings, when buckets are S3 buckets.
    pub fn s3_settings(&self) -> Option<&S3Settings> {
        self.s3.as_ref()
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

    /// Makes sure a bucket can be delivered to: a directory is created, an S3 bucket
    /// must already exist (as AWS requires of a trail's bucket).
    pub fn ensure(&self, bucket: &str) -> Result<(), AuditError> {
        let Some(settings) = &self.s3 else {
            fs::create_dir_all(self.bucket_dir(bucket))?;
            return Ok(());
        };
        let store = open_s3(bucket, settings)?;
        run_blocking(async move {
            match store.list_with_delimiter(None).await {
                Ok(_) => Ok(()),
                // object_store reports a failed listing as a generic error; S3's own error
                // code in the response body is what tells a missing bucket apart.
                Err(e) if e.to_string().contains("NoSuchBucket") => {
                    Err(AuditError::BucketNotFound(bucket.to_string()))
                }
                Err(e) => Err(s3_error(bucket, e)),
            }
        })
    }

    /// Writes an object (and its metadata, if any) durably: on S3 in one PUT with the
    /// metadata as user metadata, in a directory with a sidecar.
    pub fn put(
        &self,
        bucket: &str,
        key: &str,
        bytes: &[u8],
        metadata: Option<&BTreeMap<String, String>>,
    ) -> Result<(), AuditError> {
        if let Some(settings) = &self.s3 {
            return put_s3(settings, bucket, key, bytes, metadata);
        }
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

fn open_s3(bucket: &str, settings: &S3Settings) -> Result<object_store::aws::AmazonS3, AuditError> {
    if !valid_bucket_name(bucket) {
        return Err(AuditError::InvalidKey(bucket.to_string()));
    }
    s3_bucket(bucket, settings).map_err(AuditError::from)
}

fn s3_error(bucket: &str, e: object_store::Error) -> AuditError {
    AuditError::Delivery(format!("S3 bucket {bucket}: {e}"))
}

fn put_s3(
    settings: &S3Settings,
    bucket: &str,
    key: &str,
    bytes: &[u8],
    metadata: Option<&BTreeMap<String, String>>,
) -> Result<(), AuditError> {
    let store = open_s3(bucket, settings)?;
    let mut attributes = Attributes::new();
    for (name, value) in metadata.into_iter().flatten() {
        attributes.insert(
            Attribute::Metadata(name.clone().into()),
            value.clone().into(),
        );
    }
    let options = PutOptions {
        attributes,
        ..PutOptions::default()
    };
    let payload = bytes.to_vec();
    run_blocking(async move {
        store
            .put_opts(&ObjectPath::from(key), payload.into(), options)
            .await
            .map_err(|e| s3_error(bucket, e))?;
        Ok(())
    })
}

/// Runs S3 requests to completion for synchronous callers (delivery writes block like
/// the directory backend's fsyncs do) on a thread of their own: the caller may be a
/// task of the server's runtime, where blocking on a future is not allowed.
fn run_blocking<T: Send>(
    work: impl Future<Output = Result<T, AuditError>> + Send,
) -> Result<T, AuditError> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?
                    .block_on(work)
            })
            .join()
            .unwrap_or_else(|_| Err(AuditError::Delivery("S3 request thread panicked".into())))
    })
}

/// Copies the objects of an S3 bucket under `prefix` whose keys `keep` accepts into
/// `dest`, as a directory bucket: each object at its key, its user metadata (if any) in
/// the sidecar [`read_metadata`] reads. Returns how many objects were copied.
pub async fn mirror_s3(
    settings: &S3Settings,
    bucket: &str,
    prefix: &str,
    dest: &Path,
    keep: impl Fn(&str) -> bool,
) -> Result<usize, AuditError> {
    let store = open_s3(bucket, settings)?;
    let prefix = ObjectPath::from(prefix);
    let listed: Vec<_> = store
        .list(Some(&prefix))
        .try_collect()
        .await
        .map_err(|e| s3_error(bucket, e))?;
    // The copy is itself a directory bucket named like `dest`, so the validator's
    // sibling-bucket lookups keep working on it.
    let name = dest
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| AuditError::InvalidKey(dest.display().to_string()))?;
    let local = Buckets::new(dest.parent().unwrap_or(Path::new(".")));
    let mut copied = 0;
    for meta in listed {
        let key = meta.location.as_ref();
        if !keep(key) || key.ends_with(METADATA_SUFFIX) {
            continue;
        }
        let result = store
            .get(&meta.location)
            .await
            .map_err(|e| s3_error(bucket, e))?;
        let user: BTreeMap<String, String> = result
            .attributes
            .iter()
            .filter_map(|(name, value)| match name {
                Attribute::Metadata(name) => Some((name.to_string(), value.to_string())),
                _ => None,
            })
            .collect();
        let bytes = result.bytes().await.map_err(|e| s3_error(bucket, e))?;
        local.put(name, key, &bytes, (!user.is_empty()).then_some(&user))?;
        copied += 1;
    }
    Ok(copied)
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
