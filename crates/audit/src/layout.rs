//! Object keys, time formats and the signature sidecar of trail output, exactly as
//! AWS lays them out (`reference/aws-formats.md` §1.4, §2.1, §2.3).

use chrono::{DateTime, Utc};
use rand::Rng;
use rand::distr::Alphanumeric;

/// Suffix of the file beside a digest on a filesystem bucket that holds what S3 would
/// keep as the object's user metadata: `{"signature": hex, "signature-algorithm":
/// "SHA256withRSA"}`.
pub const METADATA_SUFFIX: &str = ".metadata.json";

/// The signature algorithm every digest names.
pub const SIGNATURE_ALGORITHM: &str = "SHA256withRSA";

fn utc(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default()
}

fn prefixed(prefix: Option<&str>, rest: String) -> String {
    match prefix
        .map(|p| p.trim_matches('/'))
        .filter(|p| !p.is_empty())
    {
        Some(p) => format!("{p}/{rest}"),
        None => rest,
    }
}

/// `[prefix/]AWSLogs/<acct>/CloudTrail/<region>/YYYY/MM/DD/<acct>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 chars>.json.gz`.
pub fn log_file_key(
    prefix: Option<&str>,
    account: &str,
    region: &str,
    delivered_ms: i64,
) -> String {
    delivered_file_key("CloudTrail", prefix, account, region, delivered_ms)
}

/// `[prefix/]AWSLogs/<acct>/CloudTrail-Insight/<region>/YYYY/MM/DD/<acct>_CloudTrail-Insight_<region>_<YYYYMMDDTHHmmZ>_<16 chars>.json.gz`.
pub fn insight_file_key(
    prefix: Option<&str>,
    account: &str,
    region: &str,
    delivered_ms: i64,
) -> String {
    delivered_file_key("CloudTrail-Insight", prefix, account, region, delivered_ms)
}

fn delivered_file_key(
    kind: &str,
    prefix: Option<&str>,
    account: &str,
    region: &str,
    delivered_ms: i64,
) -> String {
    let t = utc(delivered_ms);
    let unique: String = rand::rng()
        .sample_iter(Alphanumeric)
        .take(16)
        .map(char::from)
        .collect();
    prefixed(
        prefix,
        format!(
            "AWSLogs/{account}/{kind}/{region}/{}/{account}_{kind}_{region}_{}_{unique}.json.gz",
            t.format("%Y/%m/%d"),
            t.format("%Y%m%dT%H%MZ"),
        ),
    )
}

/// `[prefix/]AWSLogs/<acct>/CloudTrail-Digest/<region>/YYYY/MM/DD/<acct>_CloudTrail-Digest_<region>_<trail>_<home-region>_<YYYYMMDDTHHMMSSZ>.json.gz`.
pub fn digest_key(
    prefix: Option<&str>,
    account: &str,
    region: &str,
    trail: &str,
    home_region: &str,
    end_ms: i64,
) -> String {
    let t = utc(end_ms);
    prefixed(
        prefix,
        format!(
            "AWSLogs/{account}/CloudTrail-Digest/{region}/{}/{account}_CloudTrail-Digest_{region}_{trail}_{home_region}_{}.json.gz",
            t.format("%Y/%m/%d"),
            t.format("%Y%m%dT%H%M%SZ"),
        ),
    )
}

/// The directory (under the bucket) holding a trail's digests for a region.
pub fn digest_dir(prefix: Option<&str>, account: &str, region: &str) -> String {
    prefixed(
        prefix,
        format!("AWSLogs/{account}/CloudTrail-Digest/{region}"),
    )
}

/// A digest's time fields: `YYYY-MM-DDTHH:MM:SSZ`.
pub fn digest_time(ms: i64) -> String {
    utc(ms).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Parses a digest time field back to epoch ms.
pub fn parse_digest_time(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// The end time encoded in a digest key (the 16 characters before `.json.gz`), epoch ms.
pub fn digest_key_end(key: &str) -> Option<i64> {
    let stem = key.strip_suffix(".json.gz")?;
    let stamp = stem.get(stem.len().checked_sub(16)?..)?;
    chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ")
        .ok()
        .map(|t| t.and_utc().timestamp_millis())
}

/// The string a digest's signature covers (§2.4): end time, `bucket/key`, hex SHA-256
/// of the uncompressed digest, and the previous signature (`null` for the first).
pub fn string_to_sign(
    end_time: &str,
    bucket: &str,
    key: &str,
    digest_sha256: &str,
    previous_signature: Option<&str>,
) -> String {
    format!(
        "{end_time}\n{bucket}/{key}\n{digest_sha256}\n{}",
        previous_signature.unwrap_or("null")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_aws_layout() {
        let ms = 1_439_823_691_000; // 2015-08-17T15:01:31Z
        let key = log_file_key(None, "111122223333", "us-east-2", ms);
        assert!(key.starts_with(
            "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/17/111122223333_CloudTrail_us-east-2_20150817T1501Z_"
        ));
        assert_eq!(
            key.len() - key.rfind('_').unwrap() - 1,
            16 + ".json.gz".len()
        );
        let insight = insight_file_key(Some("p"), "111122223333", "us-east-2", ms);
        assert!(insight.starts_with(
            "p/AWSLogs/111122223333/CloudTrail-Insight/us-east-2/2015/08/17/111122223333_CloudTrail-Insight_us-east-2_20150817T1501Z_"
        ));
        assert_eq!(insight.len(), key.len() + 2 * "-Insight".len() + 2);
        assert_eq!(
            digest_key(
                Some("p/"),
                "111122223333",
                "us-east-2",
                "t",
                "us-east-2",
                ms
            ),
            "p/AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_t_us-east-2_20150817T150131Z.json.gz"
        );
        assert_eq!(
            digest_key_end(&digest_key(None, "1", "r", "t", "r", ms)),
            Some(ms)
        );
        assert_eq!(digest_time(ms), "2015-08-17T15:01:31Z");
        assert_eq!(parse_digest_time("2015-08-17T15:01:31Z"), Some(ms));
    }

    #[test]
    fn the_first_digest_signs_null() {
        assert_eq!(
            string_to_sign("2015-08-17T15:01:31Z", "b", "k.json.gz", "ab", None),
            "2015-08-17T15:01:31Z\nb/k.json.gz\nab\nnull"
        );
    }
}
