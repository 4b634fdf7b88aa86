//! Trails: their configuration, and delivery of their records as gzipped
//! `{"Records":[...]}` files (and, when configured, into a log group), with hourly signed
//! digest files chaining every delivered file (`reference/aws-formats.md` §1.4, §2).

use crate::AuditError;
use crate::bucket::Buckets;
use crate::catalog::{AuditCatalog, ChainHead, DeliveredFile, PreviousDigest};
use crate::history::{HISTORY_GROUP, History};
use crate::keys::signing_key;
use crate::layout::{self, SIGNATURE_ALGORITHM};
use crate::record::parse_event_time;
use crate::selectors::Selectors;
use flate2::Compression;
use flate2::write::GzEncoder;
use model::{InputEvent, Scope, time};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::io::Write;
use store::StoreError;

/// The catalog kind trails are stored under.
pub const KIND: &str = "trail";
/// Records whose sequence number is past a trail's cursor can carry an `eventTime` this
/// much earlier than the newest delivered one (time is taken before the write).
const CLOCK_SLACK_MS: i64 = 10 * 60 * 1000;
/// Most records in one delivered file.
const RECORDS_PER_FILE: usize = 10_000;

/// A trail's configuration and logging state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trail {
    /// Trail name.
    pub name: String,
    /// Owning account.
    pub account: String,
    /// Region the trail was created in.
    pub home_region: String,
    /// Bucket it delivers to.
    pub bucket: String,
    /// Key prefix inside the bucket.
    pub key_prefix: Option<String>,
    /// SNS topic name, echoed only.
    pub sns_topic_name: Option<String>,
    /// Echoed; Trailwatch has no global services.
    pub include_global_service_events: bool,
    /// Whether every region of the account is delivered, not only the home region.
    pub multi_region: bool,
    /// Whether digests are written.
    pub log_file_validation: bool,
    /// Log group ARN records are also delivered to.
    pub cloudwatch_logs_group_arn: Option<String>,
    /// Role ARN, echoed only.
    pub cloudwatch_logs_role_arn: Option<String>,
    /// KMS key id, echoed only.
    pub kms_key_id: Option<String>,
    /// Which records it takes.
    pub selectors: Selectors,
    /// Insight selectors, as sent.
    pub insight_selectors: Vec<Value>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Logging state and delivery times.
    pub status: TrailStatus,
}

/// What GetTrailStatus reports.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TrailStatus {
    /// Whether records are being delivered.
    pub is_logging: bool,
    /// Epoch ms of the last StartLogging.
    pub start_logging_ms: Option<i64>,
    /// Epoch ms of the last StopLogging.
    pub stop_logging_ms: Option<i64>,
    /// Epoch ms of the last delivered log file.
    pub latest_delivery_ms: Option<i64>,
    /// Epoch ms of the last delivery attempt.
    pub latest_delivery_attempt_ms: Option<i64>,
    /// Epoch ms of the last digest.
    pub latest_digest_delivery_ms: Option<i64>,
    /// Epoch ms of the last delivery into the log group.
    pub latest_cloudwatch_delivery_ms: Option<i64>,
    /// The last delivery error, if the last attempt failed.
    pub latest_delivery_error: Option<String>,
    /// Logging stopped and the last records and final digest are still to be delivered.
    #[serde(default)]
    pub final_delivery_pending: bool,
}

impl Trail {
    /// `arn:aws:cloudtrail:<home-region>:<account>:trail/<name>`.
    pub fn arn(&self) -> String {
        trail_arn(&self.home_region, &self.account, &self.name)
    }
}

/// A trail's ARN.
pub fn trail_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:cloudtrail:{region}:{account}:trail/{name}")
}

/// Delivers trails' records and digests.
pub struct Deliverer<'a> {
    /// Where records are read.
    pub history: &'a History,
    /// Cursors, files and chains.
    pub catalog: &'a AuditCatalog,
    /// Where files go.
    pub buckets: &'a Buckets,
}

impl Deliverer<'_> {
    /// The regions a trail delivers: its home region, or every region the account has
    /// records in.
    pub(crate) fn regions(&self, trail: &Trail) -> Result<Vec<String>, AuditError> {
        if !trail.multi_region {
            return Ok(vec![trail.home_region.clone()]);
        }
        let mut regions: Vec<String> = self
            .history
            .store()
            .catalog()
            .all_groups()?
            .into_iter()
            .filter(|g| g.name == HISTORY_GROUP && g.scope.account == trail.account)
            .map(|g| g.scope.region)
            .collect();
        if !regions.contains(&trail.home_region) {
            regions.push(trail.home_region.clone());
        }
        regions.sort();
        Ok(regions)
    }

    /// Delivers every record of a logging trail not yet delivered, then writes the
    /// digests that are due (all of them, with `force`, as StopLogging does).
    pub async fn run(
        &self,
        trail: &mut Trail,
        digest_interval_ms: i64,
        force_digest: bool,
    ) -> Result<(), AuditError> {
        let now = time::now_ms();
        trail.status.latest_delivery_attempt_ms = Some(now);
        let result = self
            .run_regions(trail, digest_interval_ms, force_digest)
            .await;
        trail.status.latest_delivery_error = result.as_ref().err().map(|e| e.to_string());
        result
    }

    async fn run_regions(
        &self,
        trail: &mut Trail,
        digest_interval_ms: i64,
        force_digest: bool,
    ) -> Result<(), AuditError> {
        for region in self.regions(trail)? {
            self.deliver_region(trail, &region).await?;
            self.deliver_insights(trail, &region).await?;
            if trail.log_file_validation {
                self.digest_region(trail, &region, digest_interval_ms, force_digest)?;
            }
        }
        Ok(())
    }

    async fn deliver_region(&self, trail: &mut Trail, region: &str) -> Result<(), AuditError> {
        let arn = trail.arn();
        let scope = Scope::new(trail.account.clone(), region);
        // Record times have whole seconds: the StartLogging call's own record carries the
        // second logging started in.
        let start = trail.status.start_logging_ms.unwrap_or(0) / 1000 * 1000;
        loop {
            let (after_seq, newest) = match self.catalog.delivery_cursor(&arn, region)? {
                Some(c) => c,
                None => (0, start),
            };
            let from = newest.max(start) - CLOCK_SLACK_MS;
            let (found, more) = self
                .history
                .records_after(&scope, from, start, after_seq, RECORDS_PER_FILE)
                .await?;
            let Some(last) = found.iter().map(|r| r.event.seq).max() else {
                return Ok(());
            };
            let newest_ts = found
                .iter()
                .map(|r| r.event.timestamp)
                .max()
                .unwrap_or(newest);
            let records: Vec<&Value> = found
                .iter()
                .map(|r| &r.record)
                .filter(|r| trail.selectors.wants(r))
                .collect();
            let file = if records.is_empty() {
                None
            } else {
                let file = self.write_log_file(trail, region, &records)?;
                trail.status.latest_delivery_ms = Some(file.delivered_ms);
                if let Some(group_arn) = &trail.cloudwatch_logs_group_arn {
                    self.deliver_to_group(trail, region, group_arn, &records)
                        .await?;
                    trail.status.latest_cloudwatch_delivery_ms = Some(time::now_ms());
                }
                Some(file)
            };
            self.catalog.commit_delivery(
                &arn,
                region,
                last,
                newest_ts.max(newest),
                file.as_ref(),
            )?;
            if !more {
                return Ok(());
            }
        }
    }

    fn write_log_file(
        &self,
        trail: &Trail,
        region: &str,
        records: &[&Value],
    ) -> Result<DeliveredFile, AuditError> {
        let body = serde_json::to_vec(&json!({ "Records": records }))?;
        let times: Vec<i64> = records
            .iter()
            .filter_map(|r| r.get("eventTime").and_then(Value::as_str))
            .filter_map(parse_event_time)
            .collect();
        let delivered_ms = time::now_ms();
        let key = layout::log_file_key(
            trail.key_prefix.as_deref(),
            &trail.account,
            region,
            delivered_ms,
        );
        self.buckets.put(&trail.bucket, &key, &gzip(&body)?, None)?;
        Ok(DeliveredFile {
            bucket: trail.bucket.clone(),
            key,
            sha256: hex::encode(Sha256::digest(&body)),
            oldest_ms: times.iter().copied().min().unwrap_or(delivered_ms),
            newest_ms: times.iter().copied().max().unwrap_or(delivered_ms),
            delivered_ms,
        })
    }

    /// Puts records into the trail's log group, in stream `<acct>_CloudTrail_<region>`.
    async fn deliver_to_group(
        &self,
        trail: &Trail,
        region: &str,
        group_arn: &str,
        records: &[&Value],
    ) -> Result<(), AuditError> {
        let Some((scope, name)) = model::parse_log_group_arn(group_arn) else {
            return Err(AuditError::Delivery(format!(
                "not a log group ARN: {group_arn}"
            )));
        };
        let store = self.history.store();
        let catalog = store.catalog();
        let group = catalog.group(&scope, &name).map_err(|e| match e {
            StoreError::GroupNotFound => {
                AuditError::Delivery(format!("log group {name} does not exist"))
            }
            other => other.into(),
        })?;
        let stream_name = format!("{}_CloudTrail_{region}", trail.account);
        let stream = match catalog.stream(group.id, &stream_name) {
            Ok(s) => s,
            Err(StoreError::StreamNotFound) => {
                match catalog.create_stream(group.id, &stream_name, time::now_ms()) {
                    Ok(_) | Err(StoreError::StreamExists) => {
                        catalog.stream(group.id, &stream_name)?
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
        };
        let mut events: Vec<InputEvent> = records
            .iter()
            .map(|r| InputEvent {
                timestamp: r
                    .get("eventTime")
                    .and_then(Value::as_str)
                    .and_then(parse_event_time)
                    .unwrap_or_else(time::now_ms),
                message: r.to_string(),
            })
            .collect();
        events.sort_by_key(|e| e.timestamp);
        store.put_events(&group, &stream, events).await?;
        Ok(())
    }

    /// Starts a new digest chain at `now` (StartLogging, or validation switched on).
    pub fn restart_chains(&self, trail: &Trail, now: i64) -> Result<(), AuditError> {
        for region in self.regions(trail)? {
            self.catalog.set_chain_head(
                &trail.arn(),
                &region,
                &ChainHead {
                    end_ms: now,
                    previous: None,
                },
                &[],
            )?;
        }
        Ok(())
    }

    fn digest_region(
        &self,
        trail: &mut Trail,
        region: &str,
        interval_ms: i64,
        force: bool,
    ) -> Result<(), AuditError> {
        let arn = trail.arn();
        let now = time::now_ms();
        let head = match self.catalog.chain_head(&arn, region)? {
            Some(h) => h,
            None => {
                let start = trail.status.start_logging_ms.unwrap_or(now);
                let head = ChainHead {
                    end_ms: start,
                    previous: None,
                };
                self.catalog.set_chain_head(&arn, region, &head, &[])?;
                head
            }
        };
        if !force && now - head.end_ms < interval_ms {
            return Ok(());
        }
        // Digest keys name their end to the second: a digest due in the same second as the
        // previous one (a final digest right after a scheduled one) ends a second later
        // rather than overwriting it.
        let now = now.max(head.end_ms / 1000 * 1000 + 1000);
        let files = self.catalog.undigested(&arn, region)?;
        let key = layout::digest_key(
            trail.key_prefix.as_deref(),
            &trail.account,
            region,
            &trail.name,
            &trail.home_region,
            now,
        );
        let signer = signing_key(self.catalog, region)?;
        let end_time = layout::digest_time(now);
        let previous = head.previous.as_ref();
        let newest = files.iter().map(|(_, f)| f.newest_ms).max();
        let oldest = files.iter().map(|(_, f)| f.oldest_ms).min();
        let digest = json!({
            "awsAccountId": trail.account,
            "digestStartTime": layout::digest_time(head.end_ms),
            "digestEndTime": end_time,
            "digestS3Bucket": trail.bucket,
            "digestS3Object": key,
            "digestPublicKeyFingerprint": signer.fingerprint,
            "digestSignatureAlgorithm": SIGNATURE_ALGORITHM,
            "newestEventTime": newest.map(layout::digest_time),
            "oldestEventTime": oldest.map(layout::digest_time),
            "previousDigestS3Bucket": previous.map(|p| &p.bucket),
            "previousDigestS3Object": previous.map(|p| &p.key),
            "previousDigestHashValue": previous.map(|p| &p.sha256),
            "previousDigestHashAlgorithm": previous.map(|_| "SHA-256"),
            "previousDigestSignature": previous.map(|p| &p.signature),
            "logFiles": files.iter().map(|(_, f)| json!({
                "s3Bucket": f.bucket,
                "s3Object": f.key,
                "hashValue": f.sha256,
                "hashAlgorithm": "SHA-256",
                "newestEventTime": layout::digest_time(f.newest_ms),
                "oldestEventTime": layout::digest_time(f.oldest_ms),
            })).collect::<Vec<_>>(),
        });
        let body = serde_json::to_vec(&digest)?;
        let sha256 = hex::encode(Sha256::digest(&body));
        let to_sign = layout::string_to_sign(
            &end_time,
            &trail.bucket,
            &key,
            &sha256,
            previous.map(|p| p.signature.as_str()),
        );
        let signature = signer.sign_hex(to_sign.as_bytes());
        let metadata = BTreeMap::from([
            ("signature".to_string(), signature.clone()),
            (
                "signature-algorithm".to_string(),
                SIGNATURE_ALGORITHM.to_string(),
            ),
        ]);
        self.buckets
            .put(&trail.bucket, &key, &gzip(&body)?, Some(&metadata))?;
        let ids: Vec<i64> = files.iter().map(|(id, _)| *id).collect();
        self.catalog.set_chain_head(
            &arn,
            region,
            &ChainHead {
                end_ms: now,
                previous: Some(PreviousDigest {
                    bucket: trail.bucket.clone(),
                    key,
                    sha256,
                    signature,
                }),
            },
            &ids,
        )?;
        trail.status.latest_digest_delivery_ms = Some(now);
        Ok(())
    }
}

/// Makes sure a log group named by a trail exists (CreateTrail / UpdateTrail check).
pub fn check_log_group(history: &History, arn: &str) -> Result<bool, AuditError> {
    let Some((scope, name)) = model::parse_log_group_arn(arn) else {
        return Ok(false);
    };
    match history.store().catalog().group(&scope, &name) {
        Ok(_) => Ok(true),
        Err(StoreError::GroupNotFound) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Gzips bytes in memory.
pub fn gzip(bytes: &[u8]) -> Result<Vec<u8>, AuditError> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 8), Compression::default());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?)
}
