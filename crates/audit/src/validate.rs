//! Log file integrity validation: walks a trail's digest chain newest → oldest as
//! `aws cloudtrail validate-logs` does (`reference/aws-formats.md` §2.5) and checks every
//! log file a valid digest names, reporting each finding as an [`Event`] whose text is
//! the line aws-cli prints.
//!
//! The bucket is a directory (a bucket of [`Buckets`], or a copy of one); objects of
//! other buckets a chain names are looked up in sibling directories.
//!
//! One deliberate difference from aws-cli, following AWS's description of the chain: a
//! digest reached through its newer digest's `previousDigest*` link is verified with the
//! `previousDigestSignature` that newer (already verified) digest recorded, so every link
//! is bound by a signature and only the newest digest of a chain needs its metadata
//! sidecar. aws-cli reads every digest's signature from that digest's own metadata.

use crate::bucket::{Buckets, read_metadata};
use crate::keys::{fingerprint, public_key_from_der, verify_hex};
use crate::layout::{digest_dir, digest_key_end, digest_time, parse_digest_time, string_to_sign};
use flate2::bufread::GzDecoder;
use model::time::HOUR_MS;
use rsa::RsaPublicKey;
use rsa::pkcs1::EncodeRsaPublicKey;
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Keys a digest must have before it is validated (aws-cli's `required_digest_keys`).
const REQUIRED_DIGEST_KEYS: [&str; 6] = [
    "digestPublicKeyFingerprint",
    "digestS3Bucket",
    "digestS3Object",
    "previousDigestSignature",
    "digestEndTime",
    "digestStartTime",
];

/// Why a validation could not run at all (findings are [`Event`]s, not errors).
#[derive(Debug, Error)]
pub enum ValidateError {
    /// The range ends before it starts.
    #[error("Invalid time range specified: start-time must occur before end-time")]
    InvalidRange,
    /// No key to verify any digest with.
    #[error("No public keys found between {0} and {1}")]
    NoPublicKeys(String, String),
    /// A public key that is not an RSA public key in DER.
    #[error("invalid public key: {0}")]
    InvalidPublicKey(String),
    /// A bucket name or digest directory that cannot be a path.
    #[error("invalid bucket or prefix: {0}")]
    InvalidLocation(String),
    /// The digest directory could not be listed.
    #[error("cannot list {path}: {source}")]
    List {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

/// A bucket kept in a directory.
#[derive(Debug, Clone)]
pub struct BucketDir {
    dir: PathBuf,
    name: String,
}

impl BucketDir {
    /// The bucket in `dir`, named `name` or, without one, after the directory.
    pub fn new(dir: impl Into<PathBuf>, name: Option<&str>) -> Result<BucketDir, ValidateError> {
        let dir = dir.into();
        let name = match name {
            Some(n) => n.to_string(),
            None => dir
                .file_name()
                .and_then(|n| n.to_str())
                .map(str::to_string)
                .ok_or_else(|| {
                    ValidateError::InvalidLocation(format!(
                        "{} has no bucket name; give one",
                        dir.display()
                    ))
                })?,
        };
        Ok(BucketDir { dir, name })
    }

    /// The bucket's name: what digests must name as their own bucket.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file of an object in this bucket or, for another bucket, in the directory of
    /// that name beside this one (where [`Buckets`] keeps it).
    fn object_path(&self, bucket: &str, key: &str) -> Result<PathBuf, ValidateError> {
        let parent = self.dir.parent().unwrap_or(Path::new("."));
        // `object_path` refuses bucket names and keys that are not plain paths; for this
        // bucket only the key matters, as the directory may be a copy under another name.
        let sibling = Buckets::new(parent)
            .object_path(bucket, key)
            .map_err(|e| ValidateError::InvalidLocation(e.to_string()))?;
        Ok(if bucket == self.name {
            self.dir.join(key)
        } else {
            sibling
        })
    }
}

/// Public keys digests are verified with, by fingerprint.
#[derive(Debug, Clone, Default)]
pub struct PublicKeys {
    by_fingerprint: BTreeMap<String, RsaPublicKey>,
}

impl PublicKeys {
    /// No keys.
    pub fn new() -> PublicKeys {
        PublicKeys::default()
    }

    /// Adds a DER key (PKCS#1 or SPKI) under the fingerprint ListPublicKeys gave it.
    pub fn insert(&mut self, fingerprint: &str, der: &[u8]) -> Result<(), ValidateError> {
        let key =
            public_key_from_der(der).map_err(|e| ValidateError::InvalidPublicKey(e.to_string()))?;
        self.by_fingerprint.insert(fingerprint.to_string(), key);
        Ok(())
    }

    /// Adds a DER key (PKCS#1 or SPKI) under the fingerprint Trailwatch gives keys (hex
    /// MD5 of the PKCS#1 DER), for key files that come without one; returns it.
    pub fn insert_derived(&mut self, der: &[u8]) -> Result<String, ValidateError> {
        let key =
            public_key_from_der(der).map_err(|e| ValidateError::InvalidPublicKey(e.to_string()))?;
        let pkcs1 = key
            .to_pkcs1_der()
            .map_err(|e| ValidateError::InvalidPublicKey(e.to_string()))?;
        let print = fingerprint(pkcs1.as_bytes());
        self.by_fingerprint.insert(print.clone(), key);
        Ok(print)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_fingerprint.is_empty()
    }
}

/// What to validate: one trail's digests in a bucket, for some regions, in a time range.
#[derive(Debug, Clone)]
pub struct Request {
    /// Where the trail's bucket is.
    pub bucket: BucketDir,
    /// The trail's key prefix, if any.
    pub prefix: Option<String>,
    /// The account the digests are of.
    pub account: String,
    /// Delivering regions whose chains are walked, in this order.
    pub regions: Vec<String>,
    /// The trail's name.
    pub trail: String,
    /// The trail's home region.
    pub home_region: String,
    /// Start of the range, epoch ms: digests ending from here on are checked.
    pub start_ms: i64,
    /// End of the range, epoch ms (digests up to an hour later are read, as aws-cli does).
    pub end_ms: i64,
}

/// Why a digest is invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DigestProblem {
    /// The chain names it but it is not there.
    NotFound,
    /// Not gzipped JSON with the required keys.
    InvalidFormat,
    /// The signature (or its metadata) does not verify.
    SignatureFailed,
    /// It names another bucket or key than where it is.
    Moved,
    /// Signed with a key that is not among the public keys.
    UnknownKey {
        /// The trail's home region, which aws-cli names.
        region: String,
        /// The digest's `digestPublicKeyFingerprint`.
        fingerprint: String,
    },
    /// It could not be read or its times parsed.
    Other(String),
}

impl fmt::Display for DigestProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DigestProblem::NotFound => f.write_str("not found"),
            DigestProblem::InvalidFormat => f.write_str("invalid format"),
            DigestProblem::SignatureFailed => f.write_str("signature verification failed"),
            DigestProblem::Moved => f.write_str("has been moved from its original location"),
            DigestProblem::UnknownKey {
                region,
                fingerprint,
            } => write!(
                f,
                "public key not found in region {region} for fingerprint {fingerprint}"
            ),
            DigestProblem::Other(message) => f.write_str(message),
        }
    }
}

/// Why a log file is invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogProblem {
    /// A valid digest names it but it is not there.
    NotFound,
    /// Its uncompressed bytes do not hash to the digest's `hashValue`.
    HashMismatch,
    /// Not a gzip stream (or unreadable).
    InvalidFormat,
    /// Bytes follow the gzip stream.
    TrailingData,
}

impl fmt::Display for LogProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogProblem::NotFound => "not found",
            LogProblem::HashMismatch => "hash value doesn't match",
            LogProblem::InvalidFormat => "invalid format",
            LogProblem::TrailingData => "unexpected data after end of compressed stream",
        })
    }
}

/// One finding, in the order aws-cli reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A digest verified.
    Digest {
        /// Its bucket.
        bucket: String,
        /// Its key.
        key: String,
        /// Its `digestStartTime`, epoch ms.
        start_ms: i64,
        /// Its `digestEndTime`, epoch ms.
        end_ms: i64,
    },
    /// A digest is missing or invalid.
    InvalidDigest {
        /// Its bucket.
        bucket: String,
        /// Its key.
        key: String,
        /// Why.
        problem: DigestProblem,
    },
    /// A log file matches its digest.
    Log {
        /// Its bucket.
        bucket: String,
        /// Its key.
        key: String,
    },
    /// A log file is missing or does not match its digest.
    InvalidLog {
        /// Its bucket.
        bucket: String,
        /// Its key.
        key: String,
        /// Why.
        problem: LogProblem,
    },
    /// A chain starts with no link to the older digests found: nothing was delivered
    /// (logging or validation was off) from `from_ms` to `to_ms`.
    Gap {
        /// End of the older digest found, epoch ms.
        from_ms: i64,
        /// Start of the digest that starts the newer chain, epoch ms.
        to_ms: i64,
    },
}

impl Event {
    /// Whether aws-cli prints it always (to stderr), not only with `--verbose`.
    pub fn is_problem(&self) -> bool {
        !matches!(self, Event::Digest { .. } | Event::Log { .. })
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Digest { bucket, key, .. } => {
                write!(f, "Digest file\ts3://{bucket}/{key}\tvalid")
            }
            Event::InvalidDigest {
                bucket,
                key,
                problem,
            } => write!(f, "Digest file\ts3://{bucket}/{key}\tINVALID: {problem}"),
            Event::Log { bucket, key } => write!(f, "Log file\ts3://{bucket}/{key}\tvalid"),
            Event::InvalidLog {
                bucket,
                key,
                problem,
            } => write!(f, "Log file\ts3://{bucket}/{key}\tINVALID: {problem}"),
            Event::Gap { from_ms, to_ms } => write!(
                f,
                "No log files were delivered by CloudTrail between {} and {}",
                digest_time(*from_ms),
                digest_time(*to_ms)
            ),
        }
    }
}

/// Counts of a validation and the time range its valid digests cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Start of the requested range, epoch ms.
    pub start_ms: i64,
    /// End of the requested range, epoch ms.
    pub end_ms: i64,
    /// Digests that verified.
    pub valid_digests: usize,
    /// Digests missing or invalid.
    pub invalid_digests: usize,
    /// Log files that matched.
    pub valid_logs: usize,
    /// Log files missing or not matching.
    pub invalid_logs: usize,
    /// Earliest start of a valid digest, clamped to the range.
    pub found_start_ms: Option<i64>,
    /// Latest end of a valid digest, clamped to the range.
    pub found_end_ms: Option<i64>,
}

impl Summary {
    fn new(start_ms: i64, end_ms: i64) -> Summary {
        Summary {
            start_ms,
            end_ms,
            valid_digests: 0,
            invalid_digests: 0,
            valid_logs: 0,
            invalid_logs: 0,
            found_start_ms: None,
            found_end_ms: None,
        }
    }

    fn count(&mut self, event: &Event) {
        match event {
            Event::Digest {
                start_ms, end_ms, ..
            } => {
                self.valid_digests += 1;
                let start = (*start_ms).max(self.start_ms);
                let end = (*end_ms).min(self.end_ms);
                self.found_start_ms = Some(self.found_start_ms.map_or(start, |s| s.min(start)));
                self.found_end_ms = Some(self.found_end_ms.map_or(end, |e| e.max(end)));
            }
            Event::InvalidDigest { .. } => self.invalid_digests += 1,
            Event::Log { .. } => self.valid_logs += 1,
            Event::InvalidLog { .. } => self.invalid_logs += 1,
            Event::Gap { .. } => {}
        }
    }

    /// Whether nothing was found invalid.
    pub fn is_valid(&self) -> bool {
        self.invalid_digests == 0 && self.invalid_logs == 0
    }

    /// aws-cli's closing text, from `Results requested for ...` to the final newline.
    pub fn text(&self) -> String {
        let mut out = format!(
            "Results requested for {} to {}\n",
            digest_time(self.start_ms),
            digest_time(self.end_ms)
        );
        if self.valid_digests + self.invalid_digests == 0 {
            out.push_str("No digests found\n");
            return out;
        }
        match (self.found_start_ms, self.found_end_ms) {
            (Some(start), Some(end)) => out.push_str(&format!(
                "Results found for {} to {}:\n",
                digest_time(start),
                digest_time(end)
            )),
            _ => out.push_str("No valid digests found in range\n"),
        }
        for (valid, invalid, name) in [
            (self.valid_digests, self.invalid_digests, "digest"),
            (self.valid_logs, self.invalid_logs, "log"),
        ] {
            let total = valid + invalid;
            if total > 0 {
                out.push_str(&format!("\n{valid}/{total} {name} files valid"));
                if invalid > 0 {
                    out.push_str(&format!(", {invalid}/{total} {name} files INVALID"));
                }
            }
        }
        out.push('\n');
        out
    }
}

/// Validates a trail's digests and log files, calling `on_event` with each finding as
/// it is made; returns the counts.
pub fn validate(
    request: &Request,
    keys: &PublicKeys,
    mut on_event: impl FnMut(&Event),
) -> Result<Summary, ValidateError> {
    if request.start_ms > request.end_ms {
        return Err(ValidateError::InvalidRange);
    }
    if keys.is_empty() {
        // aws-cli asks ListPublicKeys for this range and stops when it is empty.
        return Err(ValidateError::NoPublicKeys(
            digest_time(request.start_ms),
            digest_time(request.end_ms + 2 * HOUR_MS),
        ));
    }
    let mut walk = Walk {
        request,
        keys,
        summary: Summary::new(request.start_ms, request.end_ms),
        on_event: &mut on_event,
    };
    for region in &request.regions {
        walk.region(region)?;
    }
    Ok(walk.summary)
}

/// The delivering regions a bucket has digests of for an account (the directory names
/// under `AWSLogs/<account>/CloudTrail-Digest/`), sorted.
pub fn digest_regions(
    bucket: &BucketDir,
    prefix: Option<&str>,
    account: &str,
) -> Result<Vec<String>, ValidateError> {
    // The digest directory of the region "" is the directory of all regions.
    let dir = bucket.object_path(&bucket.name, &digest_dir(prefix, account, ""))?;
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(ValidateError::List { path: dir, source }),
    };
    let mut regions = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| ValidateError::List {
            path: dir.clone(),
            source,
        })?;
        if entry.path().is_dir()
            && let Some(name) = entry.file_name().to_str()
        {
            regions.push(name.to_string());
        }
    }
    regions.sort();
    Ok(regions)
}

/// Where the signature of the digest about to be checked comes from.
enum SignatureSource {
    /// Its own metadata sidecar: the newest digest, or one found by listing after a break.
    Metadata,
    /// The newer digest's `previousDigestSignature`.
    Chained(Option<String>),
}

/// A digest that verified: what the walk needs of it.
struct ValidDigest {
    start_ms: i64,
    end_ms: i64,
    /// `previousDigestS3Bucket`, `previousDigestS3Object` and `previousDigestSignature`,
    /// when the digest links to an older one.
    previous: Option<(String, String, Option<String>)>,
    log_files: Vec<Value>,
}

/// One validation in progress.
struct Walk<'a> {
    request: &'a Request,
    keys: &'a PublicKeys,
    summary: Summary,
    on_event: &'a mut dyn FnMut(&Event),
}

impl Walk<'_> {
    fn emit(&mut self, event: Event) {
        self.summary.count(&event);
        (self.on_event)(&event);
    }

    /// aws-cli's `_traverse_digest_chain` for one delivering region.
    fn region(&mut self, region: &str) -> Result<(), ValidateError> {
        let mut bucket = self.request.bucket.name.clone();
        let mut listed = self.list_digests(&bucket, region)?;
        let Some((mut last_start, newest)) = listed.pop() else {
            return Ok(());
        };
        let mut next = Some((newest, SignatureSource::Metadata));
        while let Some((key, signature)) = next.take() {
            if self.request.start_ms > last_start {
                break;
            }
            let digest = match self.load(&bucket, &key, signature) {
                Ok(digest) => digest,
                Err(problem) => {
                    self.emit(Event::InvalidDigest {
                        bucket: bucket.clone(),
                        key: key.clone(),
                        problem,
                    });
                    next =
                        next_listed(&mut listed, &key).map(|(_, k)| (k, SignatureSource::Metadata));
                    continue;
                }
            };
            last_start = digest.start_ms;
            self.emit(Event::Digest {
                bucket: bucket.clone(),
                key: key.clone(),
                start_ms: digest.start_ms,
                end_ms: digest.end_ms,
            });
            for log in &digest.log_files {
                let event = self.check_log(log);
                self.emit(event);
            }
            match digest.previous {
                Some((previous_bucket, previous_key, signature)) => {
                    if previous_bucket != bucket {
                        listed = self.list_digests(&previous_bucket, region)?;
                        bucket = previous_bucket;
                    }
                    next = Some((previous_key, SignatureSource::Chained(signature)));
                }
                None => {
                    // The chain starts here; older digests, if any, start another one.
                    next = next_listed(&mut listed, &key).map(|(end_ms, k)| {
                        self.emit(Event::Gap {
                            from_ms: end_ms,
                            to_ms: last_start,
                        });
                        (k, SignatureSource::Metadata)
                    });
                }
            }
        }
        Ok(())
    }

    /// The trail's digest keys of a region in a bucket whose key time is within the range
    /// (up to an hour past its end), oldest first, with that time.
    fn list_digests(
        &self,
        bucket: &str,
        region: &str,
    ) -> Result<Vec<(i64, String)>, ValidateError> {
        let request = self.request;
        let dir_key = digest_dir(request.prefix.as_deref(), &request.account, region);
        let dir = request.bucket.object_path(bucket, &dir_key)?;
        let name_start = format!(
            "{}_CloudTrail-Digest_{region}_{}_{}_",
            request.account, request.trail, request.home_region
        );
        // aws-cli compares key times at second precision, as `YYYYMMDDTHHMMSSZ` text.
        let from = request.start_ms - request.start_ms.rem_euclid(1000);
        let until = request.end_ms + HOUR_MS;
        let until = until - until.rem_euclid(1000);
        let mut found = Vec::new();
        for relative in files_under(&dir)? {
            let key = format!("{dir_key}/{relative}");
            if !is_trail_digest(&relative, &name_start) {
                continue;
            }
            if let Some(end) = digest_key_end(&key).filter(|t| (from..=until).contains(t)) {
                found.push((end, key));
            }
        }
        found.sort();
        Ok(found)
    }

    /// aws-cli's `_load_and_validate_digest`.
    fn load(
        &self,
        bucket: &str,
        key: &str,
        signature: SignatureSource,
    ) -> Result<ValidDigest, DigestProblem> {
        let path = self
            .request
            .bucket
            .object_path(bucket, key)
            .map_err(|e| DigestProblem::Other(e.to_string()))?;
        let compressed = fs::read(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => DigestProblem::NotFound,
            _ => DigestProblem::Other(e.to_string()),
        })?;
        let mut inflated = Vec::new();
        GzDecoder::new(compressed.as_slice())
            .read_to_end(&mut inflated)
            .map_err(|_| DigestProblem::InvalidFormat)?;
        let digest: Value =
            serde_json::from_slice(&inflated).map_err(|_| DigestProblem::InvalidFormat)?;
        let signature = match signature {
            SignatureSource::Metadata => read_metadata(&path)
                .filter(|m| m.contains_key("signature-algorithm"))
                .and_then(|mut m| m.remove("signature"))
                .ok_or(DigestProblem::SignatureFailed)?,
            SignatureSource::Chained(signature) => {
                signature.ok_or(DigestProblem::SignatureFailed)?
            }
        };
        let fields = digest.as_object().ok_or(DigestProblem::InvalidFormat)?;
        if REQUIRED_DIGEST_KEYS
            .iter()
            .any(|k| !fields.contains_key(*k))
        {
            return Err(DigestProblem::InvalidFormat);
        }
        if text(fields, "digestS3Bucket") != Some(bucket)
            || text(fields, "digestS3Object") != Some(key)
        {
            return Err(DigestProblem::Moved);
        }
        let print = &fields["digestPublicKeyFingerprint"];
        let print = print
            .as_str()
            .map_or_else(|| print.to_string(), str::to_string);
        let Some(public_key) = self.keys.by_fingerprint.get(&print) else {
            return Err(DigestProblem::UnknownKey {
                region: self.request.home_region.clone(),
                fingerprint: print,
            });
        };
        let end_time = text(fields, "digestEndTime").ok_or(DigestProblem::SignatureFailed)?;
        let previous_signature = match &fields["previousDigestSignature"] {
            Value::Null => None,
            Value::String(s) => Some(s.as_str()),
            _ => return Err(DigestProblem::SignatureFailed),
        };
        let to_sign = string_to_sign(
            end_time,
            bucket,
            key,
            &hex::encode(Sha256::digest(&inflated)),
            previous_signature,
        );
        if !verify_hex(public_key, to_sign.as_bytes(), &signature) {
            return Err(DigestProblem::SignatureFailed);
        }
        let time = |name: &str| {
            let value = text(fields, name).unwrap_or_default();
            parse_digest_time(value)
                .ok_or_else(|| DigestProblem::Other(format!("Unable to parse date value: {value}")))
        };
        let previous = match (
            text(fields, "previousDigestS3Bucket"),
            text(fields, "previousDigestS3Object"),
        ) {
            (Some(b), Some(k)) => Some((
                b.to_string(),
                k.to_string(),
                previous_signature.map(str::to_string),
            )),
            _ => None,
        };
        Ok(ValidDigest {
            end_ms: time("digestEndTime")?,
            start_ms: time("digestStartTime")?,
            previous,
            log_files: fields
                .get("logFiles")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        })
    }

    /// aws-cli's `_download_log`: the SHA-256 of the inflated log file against its
    /// `hashValue`.
    fn check_log(&self, log: &Value) -> Event {
        let bucket = log
            .get("s3Bucket")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let key = log
            .get("s3Object")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let problem = match self.hash_log(bucket, key) {
            Ok(hash) if Some(hash.as_str()) == log.get("hashValue").and_then(Value::as_str) => {
                return Event::Log {
                    bucket: bucket.to_string(),
                    key: key.to_string(),
                };
            }
            Ok(_) => LogProblem::HashMismatch,
            Err(problem) => problem,
        };
        Event::InvalidLog {
            bucket: bucket.to_string(),
            key: key.to_string(),
            problem,
        }
    }

    fn hash_log(&self, bucket: &str, key: &str) -> Result<String, LogProblem> {
        let path = self
            .request
            .bucket
            .object_path(bucket, key)
            .map_err(|_| LogProblem::InvalidFormat)?;
        let file = File::open(path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => LogProblem::NotFound,
            _ => LogProblem::InvalidFormat,
        })?;
        let mut decoder = GzDecoder::new(BufReader::new(file));
        let mut hasher = Sha256::new();
        io::copy(&mut decoder, &mut hasher).map_err(|_| LogProblem::InvalidFormat)?;
        // The decoder stops at the end of the first gzip member; anything after it is
        // not covered by the hash.
        if !decoder
            .into_inner()
            .fill_buf()
            .map_err(|_| LogProblem::InvalidFormat)?
            .is_empty()
        {
            return Err(LogProblem::TrailingData);
        }
        Ok(hex::encode(hasher.finalize()))
    }
}

/// The newest listed digest older than `before` (aws-cli's `_get_last_digest`), taken off
/// the list with every newer one.
fn next_listed(listed: &mut Vec<(i64, String)>, before: &str) -> Option<(i64, String)> {
    let before = digest_key_end(before)?;
    while let Some((end, key)) = listed.pop() {
        if end < before {
            return Some((end, key));
        }
    }
    None
}

/// Whether a key below a region's digest directory is one of the trail's digests: aws-cli's
/// `\d+/\d+/\d+/<acct>_CloudTrail-Digest_<region>_<trail>_<home>_.+\.json\.gz`.
fn is_trail_digest(relative: &str, name_start: &str) -> bool {
    let mut parts = relative.splitn(4, '/');
    let date_ok = (0..3).all(|_| {
        parts
            .next()
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    });
    date_ok
        && parts.next().is_some_and(|name| {
            name.strip_prefix(name_start)
                .and_then(|rest| rest.strip_suffix(".json.gz"))
                .is_some_and(|middle| !middle.is_empty())
        })
}

/// Every file below `dir`, as `/`-separated paths relative to it; none if it is absent.
fn files_under(dir: &Path) -> Result<Vec<String>, ValidateError> {
    let mut files = Vec::new();
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((path, relative)) = pending.pop() {
        let entries = match fs::read_dir(&path) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(source) => return Err(ValidateError::List { path, source }),
        };
        for entry in entries {
            let entry = entry.map_err(|source| ValidateError::List {
                path: path.clone(),
                source,
            })?;
            // Keys are UTF-8; a name that is not cannot be a digest.
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let child = if relative.is_empty() {
                name
            } else {
                format!("{relative}/{name}")
            };
            let is_dir = entry
                .file_type()
                .map_err(|source| ValidateError::List {
                    path: entry.path(),
                    source,
                })?
                .is_dir();
            // Symbolic links are not followed: S3 has none, and a loop would never end.
            if is_dir {
                pending.push((entry.path(), child));
            } else {
                files.push(child);
            }
        }
    }
    Ok(files)
}

fn text<'a>(fields: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    fields.get(name).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_keys_match_only_the_trails_own() {
        let start = "1_CloudTrail-Digest_r_t_h_";
        assert!(is_trail_digest(
            "2026/11/27/1_CloudTrail-Digest_r_t_h_20261127T100000Z.json.gz",
            start
        ));
        assert!(!is_trail_digest(
            "2026/11/27/1_CloudTrail-Digest_r_t_h_20261127T100000Z.json.gz.metadata.json",
            start
        ));
        assert!(!is_trail_digest(
            "2026/11/27/1_CloudTrail-Digest_r_other_h_20261127T100000Z.json.gz",
            start
        ));
        assert!(!is_trail_digest(
            "2026/xx/27/1_CloudTrail-Digest_r_t_h_20261127T100000Z.json.gz",
            start
        ));
        assert!(!is_trail_digest(
            "2026/11/27/1_CloudTrail-Digest_r_t_h_.json.gz",
            start
        ));
    }

    #[test]
    fn next_listed_skips_digests_not_older() {
        let mut listed = vec![
            (1000, "a_19700101T000001Z.json.gz".to_string()),
            (2000, "b_19700101T000002Z.json.gz".to_string()),
            (3000, "c_19700101T000003Z.json.gz".to_string()),
        ];
        assert_eq!(
            next_listed(&mut listed, "x_19700101T000003Z.json.gz").map(|(t, _)| t),
            Some(2000)
        );
        assert_eq!(next_listed(&mut listed, "x_19700101T000001Z.json.gz"), None);
    }

    #[test]
    fn summary_text_is_aws_clis() {
        let mut summary = Summary::new(0, 7_200_000);
        summary.count(&Event::Digest {
            bucket: "b".into(),
            key: "k".into(),
            start_ms: -5,
            end_ms: 3_600_000,
        });
        summary.count(&Event::InvalidLog {
            bucket: "b".into(),
            key: "l".into(),
            problem: LogProblem::NotFound,
        });
        assert_eq!(
            summary.text(),
            "Results requested for 1970-01-01T00:00:00Z to 1970-01-01T02:00:00Z\n\
             Results found for 1970-01-01T00:00:00Z to 1970-01-01T01:00:00Z:\n\
             \n1/1 digest files valid\n0/1 log files valid, 1/1 log files INVALID\n"
        );
        assert!(!summary.is_valid());
        assert_eq!(
            Summary::new(0, 0).text(),
            "Results requested for 1970-01-01T00:00:00Z to 1970-01-01T00:00:00Z\nNo digests found\n"
        );
    }
}
