//! CloudTrail for Trailwatch: every API call becomes a CloudTrail record; records are
//! looked up (event history), delivered by trails as gzipped files with signed hourly
//! digests, validated, and collected by event data stores for SQL.
//!
//! Where things are:
//! - [`record`]: one call → one record, with AWS's fields and classification;
//! - [`history`]: records stored durably in internal log groups of the store;
//! - [`lookup`]: LookupEvents over the history;
//! - [`trail`], [`selectors`], [`layout`], [`bucket`], [`keys`]: trails, their delivery,
//!   digest files and signing keys;
//! - [`insights`]: CloudTrail Insights, unusual call and error rates;
//! - [`lake`]: event data stores and imports of exported CloudTrail files;
//! - [`catalog`]: the audit catalog (`audit.sqlite`) all of the above keep state in.
//!
//! The API layer (`api::cloudtrail`) only parses requests and calls [`Audit`].

pub mod bucket;
pub mod catalog;
pub mod history;
pub mod insights;
pub mod keys;
pub mod lake;
pub mod layout;
pub mod lookup;
pub mod record;
pub mod selectors;
pub mod trail;
pub mod validate;

use bucket::Buckets;
use catalog::AuditCatalog;
use history::History;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use store::Store;
use thiserror::Error;
use trail::{Deliverer, Trail};

/// Everything the audit crate can fail at.
#[derive(Debug, Error)]
pub enum AuditError {
    /// The log store failed.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// The audit catalog failed.
    #[error("audit catalog error: {0}")]
    Catalog(#[from] rusqlite::Error),
    /// A file could not be read or written.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A stored document or record is not the JSON it should be.
    #[error("JSON error: {0}")]
    Json(#[from] serde_json::Error),
    /// Key generation or signing failed.
    #[error("signing key error: {0}")]
    Key(String),
    /// An object key or bucket that cannot be a path.
    #[error("invalid bucket or object key: {0}")]
    InvalidKey(String),
    /// A trail could not deliver.
    #[error("delivery failed: {0}")]
    Delivery(String),
    /// A trail names an S3 bucket the store does not have.
    #[error("S3 bucket {0} does not exist")]
    BucketNotFound(String),
}

impl From<rsa::Error> for AuditError {
    fn from(e: rsa::Error) -> Self {
        AuditError::Key(e.to_string())
    }
}

impl From<rsa::pkcs1::Error> for AuditError {
    fn from(e: rsa::pkcs1::Error) -> Self {
        AuditError::Key(e.to_string())
    }
}

/// How the audit service runs.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// Whether calls are recorded at all (off only to measure what recording costs).
    pub record: bool,
    /// The directory buckets are directories of.
    pub buckets_root: PathBuf,
    /// Trail buckets are buckets of the store's S3-compatible object store (its
    /// `s3_settings`) instead of directories under `buckets_root`.
    pub s3_buckets: bool,
    /// How often logging trails deliver (AWS: about every 5 minutes).
    pub delivery_interval: Duration,
    /// How long a digest covers (AWS: one hour).
    pub digest_interval: Duration,
    /// The interval Insights count calls in and are evaluated every (AWS: one minute).
    pub insights_interval: Duration,
    /// How far back an Insights baseline reaches (AWS: seven days).
    pub insights_baseline: Duration,
}

impl AuditOptions {
    /// AWS's timings, with buckets under `<data-dir>/buckets`.
    pub fn new(data_dir: &std::path::Path) -> AuditOptions {
        AuditOptions {
            record: true,
            buckets_root: data_dir.join("buckets"),
            s3_buckets: false,
            delivery_interval: Duration::from_secs(300),
            digest_interval: Duration::from_secs(3600),
            insights_interval: Duration::from_secs(60),
            insights_baseline: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// The audit service: history, trails, keys and event data stores of one data directory.
#[derive(Clone)]
pub struct Audit {
    inner: Arc<Inner>,
}

struct Inner {
    history: History,
    catalog: AuditCatalog,
    buckets: Buckets,
    options: AuditOptions,
    /// One delivery pass at a time: the background loop and StopLogging never interleave.
    delivering: tokio::sync::Mutex<()>,
}

impl Audit {
    /// Opens the audit catalog beside the store's.
    pub fn open(store: Store, options: AuditOptions) -> Result<Audit, AuditError> {
        let catalog = AuditCatalog::open(store.data_dir())?;
        let buckets = if options.s3_buckets {
            Buckets::s3(store.s3_settings().clone())
        } else {
            Buckets::new(&options.buckets_root)
        };
        Ok(Audit {
            inner: Arc::new(Inner {
                history: History::new(store),
                catalog,
                buckets,
                options,
                delivering: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// The record store.
    pub fn history(&self) -> &History {
        &self.inner.history
    }

    /// The audit catalog.
    pub fn catalog(&self) -> &AuditCatalog {
        &self.inner.catalog
    }

    /// The buckets trails deliver to.
    pub fn buckets(&self) -> &Buckets {
        &self.inner.buckets
    }

    /// The options the service runs with.
    pub fn options(&self) -> &AuditOptions {
        &self.inner.options
    }

    /// Records one call durably; returns once the record is fsync'd.
    pub async fn record(&self, call: &record::Call) -> Result<(), AuditError> {
        if !self.inner.options.record {
            return Ok(());
        }
        self.inner
            .history
            .append(&call.scope, &call.to_record())
            .await
    }

    fn deliverer(&self) -> Deliverer<'_> {
        Deliverer {
            history: &self.inner.history,
            catalog: &self.inner.catalog,
            buckets: &self.inner.buckets,
        }
    }

    fn digest_interval_ms(&self) -> i64 {
        self.inner.options.digest_interval.as_millis() as i64
    }

    /// One delivery pass over every logging trail.
    pub async fn deliver_all(&self) -> Result<(), AuditError> {
        let _one = self.inner.delivering.lock().await;
        for mut trail in self.inner.catalog.list::<Trail>(trail::KIND, None)? {
            let last_pass = trail.status.final_delivery_pending;
            if !trail.status.is_logging && !last_pass {
                continue;
            }
            match self
                .deliverer()
                .run(&mut trail, self.digest_interval_ms(), last_pass)
                .await
            {
                Ok(()) => trail.status.final_delivery_pending = false,
                Err(e) => {
                    tracing::warn!(trail = %trail.arn(), error = %e, "trail delivery failed")
                }
            }
            self.save_trail(&trail)?;
        }
        Ok(())
    }

    /// Stores a trail document.
    pub fn save_trail(&self, trail: &Trail) -> Result<(), AuditError> {
        self.inner.catalog.put(
            trail::KIND,
            &trail.account,
            &trail.home_region,
            &trail.name,
            trail,
        )
    }

    /// Starts logging: a new digest chain begins now.
    pub async fn start_logging(&self, trail: &mut Trail) -> Result<(), AuditError> {
        let _one = self.inner.delivering.lock().await;
        let now = model::time::now_ms();
        if !trail.status.is_logging {
            trail.status.is_logging = true;
            trail.status.start_logging_ms = Some(now);
            self.deliverer().restart_chains(trail, now)?;
        }
        self.save_trail(trail)
    }

    /// Stops logging. The next delivery pass delivers what is pending — the StopLogging
    /// call's own record included, which is written after this returns — and a final
    /// digest.
    pub async fn stop_logging(&self, trail: &mut Trail) -> Result<(), AuditError> {
        let _one = self.inner.delivering.lock().await;
        if trail.status.is_logging {
            trail.status.is_logging = false;
            trail.status.final_delivery_pending = true;
            trail.status.stop_logging_ms = Some(model::time::now_ms());
        }
        self.save_trail(trail)
    }

    /// Starts new digest chains for a trail now (log file validation switched on).
    pub fn restart_chains(&self, trail: &Trail) -> Result<(), AuditError> {
        self.deliverer()
            .restart_chains(trail, model::time::now_ms())
    }

    /// Forgets a trail's delivery state (DeleteTrail).
    pub fn forget_trail(&self, trail: &Trail) -> Result<(), AuditError> {
        self.inner.catalog.forget_trail(&trail.arn())?;
        self.inner
            .catalog
            .delete(trail::KIND, &trail.account, &trail.home_region, &trail.name)?;
        Ok(())
    }

    /// One Insights detection pass over every scope a logging trail enables Insights for.
    pub async fn detect_insights(&self) -> Result<(), AuditError> {
        let options = &self.inner.options;
        insights::Detector {
            deliverer: self.deliverer(),
            interval_ms: (options.insights_interval.as_millis() as i64).max(1000),
            baseline_ms: options.insights_baseline.as_millis() as i64,
        }
        .run()
        .await
    }

    /// Runs trail delivery every `delivery_interval` and Insights detection every
    /// `insights_interval` until the task is aborted.
    pub fn spawn_delivery(&self) -> tokio::task::JoinHandle<()> {
        let audit = self.clone();
        tokio::spawn(async move {
            let deliver = async {
                let mut tick = tokio::time::interval(audit.inner.options.delivery_interval);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    if let Err(e) = audit.deliver_all().await {
                        tracing::warn!(error = %e, "trail delivery pass failed");
                    }
                }
            };
            let detect = async {
                let mut tick = tokio::time::interval(audit.inner.options.insights_interval);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    if let Err(e) = audit.detect_insights().await {
                        tracing::warn!(error = %e, "Insights detection pass failed");
                    }
                }
            };
            tokio::join!(deliver, detect);
        })
    }

    /// Wipes trails, event data stores and delivery state (the `--dev` reset).
    pub fn reset(&self) -> Result<(), AuditError> {
        self.inner.history.forget_targets();
        self.inner.catalog.wipe()
    }
}
