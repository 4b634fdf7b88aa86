//! The audit catalog (`<data-dir>/audit.sqlite`): trails, event data stores, signing keys,
//! delivered files and digest chains.
//!
//! Trails and event data stores are kept as JSON documents (their shapes change with AWS's
//! APIs; nothing queries inside them); what the delivery loop updates often has columns.

use crate::AuditError;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS documents (
    kind TEXT NOT NULL,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, account, region, name)
);
CREATE TABLE IF NOT EXISTS delivery_cursors (
    trail_arn TEXT NOT NULL,
    region TEXT NOT NULL,
    seq INTEGER NOT NULL,
    newest_ms INTEGER NOT NULL,
    PRIMARY KEY (trail_arn, region)
);
CREATE TABLE IF NOT EXISTS delivered_files (
    id INTEGER PRIMARY KEY,
    trail_arn TEXT NOT NULL,
    region TEXT NOT NULL,
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    oldest_ms INTEGER NOT NULL,
    newest_ms INTEGER NOT NULL,
    delivered_ms INTEGER NOT NULL,
    digested INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS delivered_files_pending ON delivered_files (trail_arn, region, digested);
CREATE TABLE IF NOT EXISTS digest_chains (
    trail_arn TEXT NOT NULL,
    region TEXT NOT NULL,
    end_ms INTEGER NOT NULL,
    bucket TEXT,
    key TEXT,
    sha256 TEXT,
    signature TEXT,
    PRIMARY KEY (trail_arn, region)
);
CREATE TABLE IF NOT EXISTS signing_keys (
    region TEXT NOT NULL,
    fingerprint TEXT NOT NULL PRIMARY KEY,
    private_der BLOB NOT NULL,
    public_der BLOB NOT NULL,
    valid_from_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS eds_events (
    eds_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (eds_id, event_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS insight_scopes (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    interval_ms INTEGER NOT NULL,
    types TEXT NOT NULL,
    since_bucket INTEGER NOT NULL,
    evaluated_bucket INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    newest_ms INTEGER NOT NULL,
    PRIMARY KEY (account, region)
);
CREATE TABLE IF NOT EXISTS insight_counts (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    insight_type TEXT NOT NULL,
    event_source TEXT NOT NULL,
    event_name TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    attribute TEXT NOT NULL,
    value TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (account, region, insight_type, event_source, event_name, attribute, bucket, value)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS insight_active (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    insight_type TEXT NOT NULL,
    event_source TEXT NOT NULL,
    event_name TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (account, region, insight_type, event_source, event_name)
);
CREATE TABLE IF NOT EXISTS insight_cursors (
    trail_arn TEXT NOT NULL,
    region TEXT NOT NULL,
    seq INTEGER NOT NULL,
    newest_ms INTEGER NOT NULL,
    PRIMARY KEY (trail_arn, region)
);
"#;

/// A file a trail delivered, as its digest lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveredFile {
    /// Bucket it went to.
    pub bucket: String,
    /// Its object key.
    pub key: String,
    /// Hex SHA-256 of its uncompressed bytes.
    pub sha256: String,
    /// Earliest `eventTime` in it, epoch ms.
    pub oldest_ms: i64,
    /// Latest `eventTime` in it, epoch ms.
    pub newest_ms: i64,
    /// When it was written, epoch ms.
    pub delivered_ms: i64,
}

/// The newest link of a trail's digest chain in one region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    /// End of the period the newest digest covers, epoch ms.
    pub end_ms: i64,
    /// Where the newest digest is, and its hash and signature; `None` right after a
    /// (re)start, so the next digest starts a new chain.
    pub previous: Option<PreviousDigest>,
}

/// The previous digest a new one links to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousDigest {
    /// Its bucket.
    pub bucket: String,
    /// Its key.
    pub key: String,
    /// Hex SHA-256 of its uncompressed bytes.
    pub sha256: String,
    /// Its hex signature.
    pub signature: String,
}

/// A stored RSA signing key.
#[derive(Debug, Clone)]
pub struct StoredKey {
    /// The region it signs for.
    pub region: String,
    /// Hex MD5 of the PKCS#1 DER public key.
    pub fingerprint: String,
    /// PKCS#1 DER private key.
    pub private_der: Vec<u8>,
    /// PKCS#1 DER public key.
    pub public_der: Vec<u8>,
    /// When it started signing, epoch ms.
    pub valid_from_ms: i64,
}

/// The audit catalog.
pub struct AuditCatalog {
    conn: Mutex<Connection>,
}

impl AuditCatalog {
    /// Opens (creating if needed) `<dir>/audit.sqlite`.
    pub fn open(dir: &Path) -> Result<AuditCatalog, AuditError> {
        let conn = Connection::open(dir.join("audit.sqlite"))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(SCHEMA)?;
        Ok(AuditCatalog {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores a document (a trail, an event data store) under its kind and name.
    pub fn put<T: Serialize>(
        &self,
        kind: &str,
        account: &str,
        region: &str,
        name: &str,
        doc: &T,
    ) -> Result<(), AuditError> {
        let body = serde_json::to_string(doc)?;
        self.conn().execute(
            "INSERT INTO documents (kind, account, region, name, body) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (kind, account, region, name) DO UPDATE SET body = excluded.body",
            params![kind, account, region, name, body],
        )?;
        Ok(())
    }

    /// One document, if it exists.
    pub fn get<T: DeserializeOwned>(
        &self,
        kind: &str,
        account: &str,
        region: &str,
        name: &str,
    ) -> Result<Option<T>, AuditError> {
        let body: Option<String> = self
            .conn()
            .query_row(
                "SELECT body FROM documents WHERE kind = ?1 AND account = ?2 AND region = ?3 AND name = ?4",
                params![kind, account, region, name],
                |r| r.get(0),
            )
            .optional()?;
        body.map(|b| serde_json::from_str(&b).map_err(AuditError::from))
            .transpose()
    }

    /// Every document of a kind, optionally of one account, in name order.
    pub fn list<T: DeserializeOwned>(
        &self,
        kind: &str,
        account: Option<&str>,
    ) -> Result<Vec<T>, AuditError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT body FROM documents WHERE kind = ?1 AND (?2 IS NULL OR account = ?2) ORDER BY region, name",
        )?;
        let bodies = stmt
            .query_map(params![kind, account], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        bodies
            .iter()
            .map(|b| serde_json::from_str(b).map_err(AuditError::from))
            .collect()
    }

    /// Deletes a document; whether it existed.
    pub fn delete(
        &self,
        kind: &str,
        account: &str,
        region: &str,
        name: &str,
    ) -> Result<bool, AuditError> {
        Ok(self.conn().execute(
            "DELETE FROM documents WHERE kind = ?1 AND account = ?2 AND region = ?3 AND name = ?4",
            params![kind, account, region, name],
        )? > 0)
    }

    /// The sequence number up to which a trail has delivered a region's records, and
    /// the newest event time it delivered.
    pub fn delivery_cursor(
        &self,
        trail_arn: &str,
        region: &str,
    ) -> Result<Option<(u64, i64)>, AuditError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT seq, newest_ms FROM delivery_cursors WHERE trail_arn = ?1 AND region = ?2",
                params![trail_arn, region],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)),
            )
            .optional()?)
    }

    /// Records a delivered file and moves the cursor past its records, in one transaction.
    pub fn commit_delivery(
        &self,
        trail_arn: &str,
        region: &str,
        seq: u64,
        newest_ms: i64,
        file: Option<&DeliveredFile>,
    ) -> Result<(), AuditError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        if let Some(f) = file {
            tx.execute(
                "INSERT INTO delivered_files (trail_arn, region, bucket, key, sha256, oldest_ms, newest_ms, delivered_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![trail_arn, region, f.bucket, f.key, f.sha256, f.oldest_ms, f.newest_ms, f.delivered_ms],
            )?;
        }
        tx.execute(
            "INSERT INTO delivery_cursors (trail_arn, region, seq, newest_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (trail_arn, region) DO UPDATE SET seq = excluded.seq, newest_ms = excluded.newest_ms",
            params![trail_arn, region, seq as i64, newest_ms],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Files delivered and not yet in a digest, oldest first.
    pub fn undigested(
        &self,
        trail_arn: &str,
        region: &str,
    ) -> Result<Vec<(i64, DeliveredFile)>, AuditError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT id, bucket, key, sha256, oldest_ms, newest_ms, delivered_ms FROM delivered_files
             WHERE trail_arn = ?1 AND region = ?2 AND digested = 0 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![trail_arn, region], |r| {
            Ok((
                r.get(0)?,
                DeliveredFile {
                    bucket: r.get(1)?,
                    key: r.get(2)?,
                    sha256: r.get(3)?,
                    oldest_ms: r.get(4)?,
                    newest_ms: r.get(5)?,
                    delivered_ms: r.get(6)?,
                },
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The head of a trail's digest chain in a region.
    pub fn chain_head(
        &self,
        trail_arn: &str,
        region: &str,
    ) -> Result<Option<ChainHead>, AuditError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT end_ms, bucket, key, sha256, signature FROM digest_chains WHERE trail_arn = ?1 AND region = ?2",
                params![trail_arn, region],
                |r| {
                    let previous = match (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?) {
                        (Some(bucket), Some(key), Some(sha256), Some(signature)) => {
                            Some(PreviousDigest { bucket, key, sha256, signature })
                        }
                        _ => None,
                    };
                    Ok(ChainHead { end_ms: r.get(0)?, previous })
                },
            )
            .optional()?)
    }

    /// Sets a chain's head: after a digest is written (with it), or to start a new chain
    /// at `end_ms` (without).
    pub fn set_chain_head(
        &self,
        trail_arn: &str,
        region: &str,
        head: &ChainHead,
        digested_ids: &[i64],
    ) -> Result<(), AuditError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let p = head.previous.as_ref();
        tx.execute(
            "INSERT INTO digest_chains (trail_arn, region, end_ms, bucket, key, sha256, signature)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (trail_arn, region) DO UPDATE SET end_ms = excluded.end_ms, bucket = excluded.bucket,
               key = excluded.key, sha256 = excluded.sha256, signature = excluded.signature",
            params![
                trail_arn,
                region,
                head.end_ms,
                p.map(|p| &p.bucket),
                p.map(|p| &p.key),
                p.map(|p| &p.sha256),
                p.map(|p| &p.signature)
            ],
        )?;
        for id in digested_ids {
            tx.execute(
                "UPDATE delivered_files SET digested = 1 WHERE id = ?1",
                [id],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Forgets a trail's cursors, files and chains (DeleteTrail).
    pub fn forget_trail(&self, trail_arn: &str) -> Result<(), AuditError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for table in [
            "delivery_cursors",
            "delivered_files",
            "digest_chains",
            "insight_cursors",
        ] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE trail_arn = ?1"),
                [trail_arn],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Every signing key, oldest first.
    pub fn keys(&self) -> Result<Vec<StoredKey>, AuditError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT region, fingerprint, private_der, public_der, valid_from_ms FROM signing_keys ORDER BY valid_from_ms",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(StoredKey {
                region: r.get(0)?,
                fingerprint: r.get(1)?,
                private_der: r.get(2)?,
                public_der: r.get(3)?,
                valid_from_ms: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Stores a new signing key.
    pub fn add_key(&self, key: &StoredKey) -> Result<(), AuditError> {
        self.conn().execute(
            "INSERT INTO signing_keys (region, fingerprint, private_der, public_der, valid_from_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![key.region, key.fingerprint, key.private_der, key.public_der, key.valid_from_ms],
        )?;
        Ok(())
    }

    /// Which of `ids` an event data store already holds.
    pub fn seen_event_ids(&self, eds_id: &str, ids: &[&str]) -> Result<Vec<bool>, AuditError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached("SELECT 1 FROM eds_events WHERE eds_id = ?1 AND event_id = ?2")?;
        ids.iter()
            .map(|id| Ok(stmt.exists(params![eds_id, id])?))
            .collect()
    }

    /// Marks event ids as held by an event data store, once their events are durable.
    pub fn mark_event_ids(&self, eds_id: &str, ids: &[&str]) -> Result<(), AuditError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT OR IGNORE INTO eds_events (eds_id, event_id) VALUES (?1, ?2)",
            )?;
            for id in ids {
                stmt.execute(params![eds_id, id])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Forgets an event data store's seen ids (DeleteEventDataStore).
    pub fn forget_event_ids(&self, eds_id: &str) -> Result<(), AuditError> {
        self.conn()
            .execute("DELETE FROM eds_events WHERE eds_id = ?1", [eds_id])?;
        Ok(())
    }

    /// Runs `f` in one transaction of the catalog's connection (the Insights detector's
    /// counts and state, whose SQL lives in [`crate::insights`]).
    pub(crate) fn transaction<R>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<R, AuditError>,
    ) -> Result<R, AuditError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Wipes everything but the signing keys (the `--dev` reset).
    pub fn wipe(&self) -> Result<(), AuditError> {
        self.conn().execute_batch(
            "DELETE FROM documents; DELETE FROM delivery_cursors; DELETE FROM delivered_files;
             DELETE FROM digest_chains; DELETE FROM eds_events; DELETE FROM insight_scopes;
             DELETE FROM insight_counts; DELETE FROM insight_active; DELETE FROM insight_cursors;",
        )?;
        Ok(())
    }
}
