//! Log file integrity validation against real trail output: the audit crate's own
//! delivery writes log files and a signed digest chain, each test copies the bucket,
//! tampers with the copy as an attacker would, and checks the validator reports exactly
//! the line aws-cli prints.

use audit::layout::{digest_key_end, parse_digest_time};
use audit::record::{Call, Identity};
use audit::selectors::Selectors;
use audit::trail::{Trail, TrailStatus, gzip};
use audit::validate::{
    BucketDir, DigestProblem, Event, LogProblem, PublicKeys, Request, Summary, validate,
};
use audit::{Audit, AuditOptions};
use flate2::read::GzDecoder;
use model::Scope;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;
use store::{Store, StoreOptions};
use tempfile::TempDir;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
const BUCKET: &str = "trail-bucket";
const TRAIL: &str = "audit-trail";
/// Digest keys carry their end time to the second, so digests are made further apart.
const DIGEST_SPACING: Duration = Duration::from_millis(1100);

/// A trail's delivered bucket, the keys that signed its digests, and when it started.
struct Delivered {
    _dir: TempDir,
    bucket_dir: PathBuf,
    keys: Vec<(String, Vec<u8>)>,
    start_ms: i64,
}

fn new_trail() -> Trail {
    Trail {
        name: TRAIL.into(),
        account: ACCOUNT.into(),
        home_region: REGION.into(),
        bucket: BUCKET.into(),
        key_prefix: None,
        sns_topic_name: None,
        include_global_service_events: true,
        multi_region: false,
        log_file_validation: true,
        cloudwatch_logs_group_arn: None,
        cloudwatch_logs_role_arn: None,
        kms_key_id: None,
        selectors: Selectors::default(),
        insight_selectors: Vec::new(),
        tags: BTreeMap::new(),
        status: TrailStatus::default(),
    }
}

async fn record_call(audit: &Audit, name: &str) {
    audit
        .record(&Call {
            scope: Scope::new(ACCOUNT, REGION),
            identity: Identity::Root {
                account: ACCOUNT.into(),
                access_key_id: None,
            },
            event_source: "logs.amazonaws.com",
            event_name: "CreateLogGroup".into(),
            time_ms: model::time::now_ms(),
            source_ip: "127.0.0.1".into(),
            user_agent: None,
            request_parameters: Some(json!({ "logGroupName": name })),
            response_elements: None,
            error: None,
            request_id: format!("request-{name}"),
            resources: Vec::new(),
            tls: None,
        })
        .await
        .unwrap();
}

/// Delivers one chain per entry of `chains`, each of that many digests with a log file
/// plus the final digest StopLogging delivers.
fn deliver(chains: &[usize]) -> Delivered {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let start_ms = model::time::now_ms();
    let keys = runtime.block_on(async {
        let store = Store::open(StoreOptions::new(dir.path().join("data"))).unwrap();
        let options = AuditOptions {
            digest_interval: Duration::from_millis(1000),
            ..AuditOptions::new(dir.path())
        };
        let audit = Audit::open(store, options).unwrap();
        let mut trail = new_trail();
        audit.save_trail(&trail).unwrap();
        for (chain, digests) in chains.iter().enumerate() {
            audit.start_logging(&mut trail).await.unwrap();
            for n in 0..*digests {
                // eventTime has whole seconds: a record of StartLogging's second would
                // be older than the trail's start and not delivered.
                tokio::time::sleep(DIGEST_SPACING).await;
                record_call(&audit, &format!("group-{chain}-{n}")).await;
                audit.deliver_all().await.unwrap();
            }
            audit.stop_logging(&mut trail).await.unwrap();
            tokio::time::sleep(DIGEST_SPACING).await;
            audit.deliver_all().await.unwrap();
            // Delivery saved the trail's status; continue from what was saved.
            trail = audit
                .catalog()
                .list::<Trail>(audit::trail::KIND, None)
                .unwrap()
                .remove(0);
            tokio::time::sleep(DIGEST_SPACING).await;
        }
        audit
            .catalog()
            .keys()
            .unwrap()
            .into_iter()
            .map(|k| (k.fingerprint, k.public_der))
            .collect()
    });
    Delivered {
        bucket_dir: dir.path().join("buckets").join(BUCKET),
        _dir: dir,
        keys,
        start_ms,
    }
}

/// One chain of three digests with log files, and the final one without.
fn one_chain() -> &'static Delivered {
    static DELIVERED: OnceLock<Delivered> = OnceLock::new();
    DELIVERED.get_or_init(|| deliver(&[3]))
}

/// A test's own copy of a delivered bucket, to tamper with.
struct Copy {
    _dir: TempDir,
    bucket_dir: PathBuf,
}

fn copy(delivered: &Delivered) -> Copy {
    let dir = tempfile::tempdir().unwrap();
    let bucket_dir = dir.path().join(BUCKET);
    copy_dir(&delivered.bucket_dir, &bucket_dir);
    Copy {
        _dir: dir,
        bucket_dir,
    }
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Keys of the objects under `AWSLogs/<acct>/<kind>/`, oldest first (keys sort by time).
fn objects(bucket_dir: &Path, kind: &str) -> Vec<String> {
    fn walk(dir: &Path, key: &str, out: &mut Vec<String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            let child = format!("{key}/{name}");
            if entry.file_type().unwrap().is_dir() {
                walk(&entry.path(), &child, out);
            } else if name.ends_with(".json.gz") {
                out.push(child);
            }
        }
    }
    let base = format!("AWSLogs/{ACCOUNT}/{kind}");
    let mut out = Vec::new();
    walk(&bucket_dir.join(&base), &base, &mut out);
    out.sort();
    out
}

fn digests(bucket_dir: &Path) -> Vec<String> {
    objects(bucket_dir, "CloudTrail-Digest")
}

/// Log file keys in delivery order (the order of the digests naming them): their keys
/// sort by minute only.
fn logs(bucket_dir: &Path) -> Vec<String> {
    let logs: Vec<String> = digests(bucket_dir)
        .iter()
        .flat_map(|d| logs_of(bucket_dir, d))
        .collect();
    assert_eq!(logs.len(), objects(bucket_dir, "CloudTrail").len());
    logs
}

fn gunzip(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    GzDecoder::new(fs::File::open(path).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn read_digest(bucket_dir: &Path, key: &str) -> Value {
    serde_json::from_slice(&gunzip(&bucket_dir.join(key))).unwrap()
}

fn time_of(digest: &Value, field: &str) -> i64 {
    parse_digest_time(digest[field].as_str().unwrap()).unwrap()
}

fn public_keys(delivered: &Delivered) -> PublicKeys {
    let mut keys = PublicKeys::new();
    for (fingerprint, der) in &delivered.keys {
        keys.insert(fingerprint, der).unwrap();
    }
    keys
}

fn request(bucket_dir: &Path, start_ms: i64) -> Request {
    Request {
        bucket: BucketDir::new(bucket_dir, None).unwrap(),
        prefix: None,
        account: ACCOUNT.into(),
        regions: vec![REGION.into()],
        trail: TRAIL.into(),
        home_region: REGION.into(),
        start_ms,
        end_ms: model::time::now_ms(),
    }
}

/// Validates a bucket from the start of delivery; returns the findings and the summary.
fn run(delivered: &Delivered, bucket_dir: &Path) -> (Vec<Event>, Summary) {
    run_with(
        &request(bucket_dir, delivered.start_ms),
        &public_keys(delivered),
    )
}

fn run_with(request: &Request, keys: &PublicKeys) -> (Vec<Event>, Summary) {
    let mut events = Vec::new();
    let summary = validate(request, keys, |e| events.push(e.clone())).unwrap();
    (events, summary)
}

fn lines(events: &[Event]) -> Vec<String> {
    events.iter().map(ToString::to_string).collect()
}

fn problems(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.is_problem())
        .map(ToString::to_string)
        .collect()
}

fn valid_digest_line(key: &str) -> String {
    format!("Digest file\ts3://{BUCKET}/{key}\tvalid")
}

fn valid_log_line(key: &str) -> String {
    format!("Log file\ts3://{BUCKET}/{key}\tvalid")
}

/// The log files a digest names, in its order.
fn logs_of(bucket_dir: &Path, digest_key: &str) -> Vec<String> {
    read_digest(bucket_dir, digest_key)["logFiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["s3Object"].as_str().unwrap().to_string())
        .collect()
}

/// Rewrites a digest with one change, gzipped again; its signature is left as it was.
fn edit_digest(bucket_dir: &Path, key: &str, change: impl FnOnce(&mut Value)) {
    let mut digest = read_digest(bucket_dir, key);
    change(&mut digest);
    let bytes = serde_json::to_vec(&digest).unwrap();
    fs::write(bucket_dir.join(key), gzip(&bytes).unwrap()).unwrap();
}

#[test]
fn untouched_output_is_valid_newest_digest_first() {
    let delivered = one_chain();
    let copy = copy(delivered);
    let digests = digests(&copy.bucket_dir);
    let logs = logs(&copy.bucket_dir);
    assert_eq!(digests.len(), 4, "three digests and the final one");
    assert_eq!(logs.len(), 3);

    let (events, summary) = run(delivered, &copy.bucket_dir);

    let mut expected = Vec::new();
    for key in digests.iter().rev() {
        expected.push(valid_digest_line(key));
        expected.extend(
            logs_of(&copy.bucket_dir, key)
                .iter()
                .map(|l| valid_log_line(l)),
        );
    }
    assert_eq!(lines(&events), expected);
    assert!(summary.is_valid());
    assert_eq!((summary.valid_digests, summary.valid_logs), (4, 3));
    let first = read_digest(&copy.bucket_dir, &digests[0]);
    assert!(
        first["previousDigestS3Object"].is_null(),
        "the chain starts"
    );
    assert_eq!(
        summary.found_start_ms,
        Some(time_of(&first, "digestStartTime").max(delivered.start_ms))
    );
    let text = summary.text();
    assert!(
        text.contains("\n4/4 digest files valid\n3/3 log files valid\n"),
        "{text}"
    );
}

#[test]
fn a_changed_log_file_fails_its_hash() {
    let delivered = one_chain();
    let copy = copy(delivered);
    let logs = logs(&copy.bucket_dir);
    // A record edited and the file gzipped again: well-formed, but not what was digested.
    let path = copy.bucket_dir.join(&logs[1]);
    let mut body = gunzip(&path);
    let at = body.len() / 2;
    body[at] ^= 0x01;
    fs::write(&path, gzip(&body).unwrap()).unwrap();
    // A byte of the compressed file flipped: no longer a valid gzip stream.
    let raw = copy.bucket_dir.join(&logs[2]);
    let mut bytes = fs::read(&raw).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0xff;
    fs::write(&raw, bytes).unwrap();

    let (events, summary) = run(delivered, &copy.bucket_dir);

    assert_eq!(
        problems(&events),
        vec![
            format!(
                "Log file\ts3://{BUCKET}/{}\tINVALID: invalid format",
                logs[2]
            ),
            format!(
                "Log file\ts3://{BUCKET}/{}\tINVALID: hash value doesn't match",
                logs[1]
            ),
        ]
    );
    assert!(events.contains(&Event::InvalidLog {
        bucket: BUCKET.into(),
        key: logs[1].clone(),
        problem: LogProblem::HashMismatch,
    }));
    assert_eq!((summary.valid_digests, summary.invalid_digests), (4, 0));
    assert_eq!((summary.valid_logs, summary.invalid_logs), (1, 2));
    assert!(!summary.is_valid());
    assert!(
        summary
            .text()
            .contains("1/3 log files valid, 2/3 log files INVALID")
    );
}

#[test]
fn a_deleted_log_file_is_not_found() {
    let delivered = one_chain();
    let copy = copy(delivered);
    let logs = logs(&copy.bucket_dir);
    fs::remove_file(copy.bucket_dir.join(&logs[0])).unwrap();

    let (events, summary) = run(delivered, &copy.bucket_dir);

    assert_eq!(
        problems(&events),
        vec![format!(
            "Log file\ts3://{BUCKET}/{}\tINVALID: not found",
            logs[0]
        )]
    );
    assert_eq!((summary.valid_logs, summary.invalid_logs), (2, 1));
}

#[test]
fn an_edited_digest_fails_its_signature() {
    let delivered = one_chain();
    let copy = copy(delivered);
    let digests = digests(&copy.bucket_dir);
    let logs = logs(&copy.bucket_dir);
    // An attacker changes a log file and records its new hash in the digest: the digest's
    // signature (the newer digest's previousDigestSignature) no longer verifies.
    let covered = logs_of(&copy.bucket_dir, &digests[1]);
    assert_eq!(covered, vec![logs[1].clone()]);
    let path = copy.bucket_dir.join(&logs[1]);
    let mut body = gunzip(&path);
    body.extend_from_slice(b" ");
    fs::write(&path, gzip(&body).unwrap()).unwrap();
    let new_hash = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(&body))
    };
    edit_digest(&copy.bucket_dir, &digests[1], |d| {
        d["logFiles"][0]["hashValue"] = json!(new_hash);
    });
    // The newest digest, verified with its own metadata, is edited too.
    edit_digest(&copy.bucket_dir, &digests[3], |d| {
        d["newestEventTime"] = json!("2000-01-01T00:00:00Z");
    });

    let (events, summary) = run(delivered, &copy.bucket_dir);

    let failed = |key: &str| {
        format!("Digest file\ts3://{BUCKET}/{key}\tINVALID: signature verification failed")
    };
    assert_eq!(
        problems(&events),
        vec![failed(&digests[3]), failed(&digests[1])]
    );
    // The walk goes on past each invalid digest to the next older one found.
    assert!(lines(&events).contains(&valid_digest_line(&digests[2])));
    assert!(lines(&events).contains(&valid_digest_line(&digests[0])));
    assert_eq!((summary.valid_digests, summary.invalid_digests), (2, 2));
    // An invalid digest's log files are not checked.
    assert_eq!((summary.valid_logs, summary.invalid_logs), (2, 0));
}

fn remove_metadata(bucket_dir: &Path, key: &str) {
    let mut sidecar = bucket_dir.join(key).into_os_string();
    sidecar.push(audit::layout::METADATA_SUFFIX);
    fs::remove_file(sidecar).unwrap();
}

#[test]
fn only_the_newest_digest_needs_its_metadata() {
    let delivered = one_chain();
    let copy = copy(delivered);
    let digests = digests(&copy.bucket_dir);
    // Older digests are verified with the signatures the newer ones recorded.
    for key in &digests[..3] {
        remove_metadata(&copy.bucket_dir, key);
    }
    let (events, summary) = run(delivered, &copy.bucket_dir);
    assert!(problems(&events).is_empty(), "{events:?}");
    assert_eq!(summary.valid_digests, 4);

    // Without the newest one's, it cannot be verified; the next one is then found by
    // listing, as after any invalid digest, and verified with its own metadata.
    let copy = self::copy(delivered);
    remove_metadata(&copy.bucket_dir, &digests[3]);
    let (events, summary) = run(delivered, &copy.bucket_dir);
    assert_eq!(
        problems(&events),
        vec![format!(
            "Digest file\ts3://{BUCKET}/{}\tINVALID: signature verification failed",
            digests[3]
        )]
    );
    assert_eq!((summary.valid_digests, summary.invalid_digests), (3, 1));
}

#[test]
fn a_deleted_digest_is_not_found() {
    let delivered = one_chain();
    let copy = copy(delivered);
    let digests = digests(&copy.bucket_dir);
    fs::remove_file(copy.bucket_dir.join(&digests[2])).unwrap();

    let (events, summary) = run(delivered, &copy.bucket_dir);

    assert_eq!(
        problems(&events),
        vec![format!(
            "Digest file\ts3://{BUCKET}/{}\tINVALID: not found",
            digests[2]
        )]
    );
    let lines = lines(&events);
    assert!(lines.contains(&valid_digest_line(&digests[1])));
    assert!(lines.contains(&valid_digest_line(&digests[0])));
    assert_eq!((summary.valid_digests, summary.invalid_digests), (3, 1));
    assert!(
        summary
            .text()
            .contains("3/4 digest files valid, 1/4 digest files INVALID")
    );
}

#[test]
fn swapped_digests_have_moved() {
    let delivered = one_chain();
    let copy = copy(delivered);
    let digests = digests(&copy.bucket_dir);
    let (a, b) = (
        copy.bucket_dir.join(&digests[1]),
        copy.bucket_dir.join(&digests[2]),
    );
    let (bytes_a, bytes_b) = (fs::read(&a).unwrap(), fs::read(&b).unwrap());
    fs::write(&a, bytes_b).unwrap();
    fs::write(&b, bytes_a).unwrap();

    let (events, summary) = run(delivered, &copy.bucket_dir);

    let moved = |key: &str| {
        format!(
            "Digest file\ts3://{BUCKET}/{key}\tINVALID: has been moved from its original location"
        )
    };
    assert_eq!(
        problems(&events),
        vec![moved(&digests[2]), moved(&digests[1])]
    );
    assert_eq!((summary.valid_digests, summary.invalid_digests), (2, 2));
}

#[test]
fn a_digest_signed_by_an_unknown_key_is_reported() {
    let delivered = one_chain();
    let copy = copy(delivered);
    let digests = digests(&copy.bucket_dir);
    let mut keys = PublicKeys::new();
    keys.insert("00000000000000000000000000000000", &delivered.keys[0].1)
        .unwrap();

    let (events, summary) = run_with(&request(&copy.bucket_dir, delivered.start_ms), &keys);

    let fingerprint = &delivered.keys[0].0;
    let expected: Vec<String> = digests
        .iter()
        .rev()
        .map(|key| {
            format!(
                "Digest file\ts3://{BUCKET}/{key}\tINVALID: public key not found in region {REGION} for fingerprint {fingerprint}"
            )
        })
        .collect();
    assert_eq!(lines(&events), expected);
    assert_eq!(summary.invalid_digests, 4);
    assert!(summary.text().contains("No valid digests found in range\n"));
}

#[test]
fn keys_without_a_fingerprint_get_trailwatchs() {
    let delivered = one_chain();
    let mut keys = PublicKeys::new();
    let derived = keys.insert_derived(&delivered.keys[0].1).unwrap();
    assert_eq!(derived, delivered.keys[0].0);
}

#[test]
fn only_digests_reaching_into_the_range_are_checked() {
    let delivered = one_chain();
    let copy = copy(delivered);
    let digests = digests(&copy.bucket_dir);
    let second = read_digest(&copy.bucket_dir, &digests[1]);
    let start = time_of(&second, "digestStartTime") + 1;

    let (events, summary) = run_with(&request(&copy.bucket_dir, start), &public_keys(delivered));

    let checked: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::Digest { key, .. } => Some(key.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        checked,
        vec![digests[3].clone(), digests[2].clone(), digests[1].clone()]
    );
    assert_eq!(summary.found_start_ms, Some(start));
}

#[test]
fn a_range_without_digests_finds_none() {
    let delivered = one_chain();
    let copy = copy(delivered);
    let later = model::time::now_ms() + 3 * 3_600_000;
    let mut request = request(&copy.bucket_dir, later);
    request.end_ms = later + 1000;
    let (events, summary) = run_with(&request, &public_keys(delivered));
    assert!(events.is_empty());
    assert!(summary.text().ends_with("No digests found\n"));
    request.end_ms = later - 1;
    assert!(validate(&request, &public_keys(delivered), |_| {}).is_err());
}

#[test]
fn a_restarted_trail_leaves_a_gap_between_chains() {
    let delivered = deliver(&[1, 1]);
    let digests = digests(&delivered.bucket_dir);
    assert_eq!(digests.len(), 4, "two chains of a digest and a final one");
    let restart = read_digest(&delivered.bucket_dir, &digests[2]);
    assert!(restart["previousDigestS3Object"].is_null());

    let (events, summary) = run(&delivered, &delivered.bucket_dir);

    let gap = Event::Gap {
        from_ms: digest_key_end(&digests[1]).unwrap(),
        to_ms: time_of(&restart, "digestStartTime"),
    };
    assert_eq!(problems(&events), vec![gap.to_string()]);
    assert!(
        gap.to_string()
            .starts_with("No log files were delivered by CloudTrail between ")
    );
    let position = |line: &str| lines(&events).iter().position(|l| l == line).unwrap();
    let gap_at = position(&gap.to_string());
    assert!(position(&valid_digest_line(&digests[2])) < gap_at);
    assert!(gap_at < position(&valid_digest_line(&digests[1])));
    assert_eq!((summary.valid_digests, summary.invalid_digests), (4, 0));
    assert!(summary.is_valid());
}

#[test]
fn a_digest_problem_names_the_expected_reason() {
    // The problems' texts are aws-cli's, word for word.
    let event = |problem| Event::InvalidDigest {
        bucket: "b".into(),
        key: "k".into(),
        problem,
    };
    assert_eq!(
        event(DigestProblem::InvalidFormat).to_string(),
        "Digest file\ts3://b/k\tINVALID: invalid format"
    );
    assert_eq!(
        Event::InvalidLog {
            bucket: "b".into(),
            key: "k".into(),
            problem: LogProblem::TrailingData
        }
        .to_string(),
        "Log file\ts3://b/k\tINVALID: unexpected data after end of compressed stream"
    );
}
