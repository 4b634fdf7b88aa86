//! CloudTrail Insights (`reference/aws-formats.md` §4): unusual API call rates and error
//! rates, detected over an account and region's management events and written as
//! `AwsCloudTrailInsight` Start/End record pairs.
//!
//! What is counted, as AWS documents it: `ApiCallRateInsight` counts write management
//! calls, `ApiErrorRateInsight` counts management calls (read or write) that returned an
//! error; both per API (`eventSource`, `eventName`) and per interval (AWS: one minute).
//!
//! AWS does not publish its model, so the rule is ours ([`Rule`]): the baseline of an API
//! is the mean μ and standard deviation σ of its per-interval counts over the baseline
//! window (AWS: the 7 days before the interval, zeros included). An interval is unusual
//! when its count is at least [`Rule::min_count`] and above `factor·μ + deviations·σ`
//! (2·μ + 3·σ). The first unusual interval starts an Insight (eventTime: the interval's
//! start); the first interval that is no longer unusual against that same baseline ends
//! it (eventTime: that interval's start). No Insight starts until a whole baseline window
//! has been observed since Insights were enabled for the scope (AWS: "up to 36 hours").
//!
//! Averages are per minute, as AWS reports them, whatever the interval; durations are
//! whole minutes, rounded up. Counts live in the audit catalog, so baselines survive
//! restarts; Insights events go to their own internal group ([`INSIGHTS_GROUP`]), where
//! LookupEvents (`EventCategory: insight`) and trail delivery read them.

use crate::AuditError;
use crate::catalog::AuditCatalog;
use crate::history::{History, Scan};
use crate::layout;
use crate::record::{EVENT_VERSION, event_time};
use crate::trail::{self, Deliverer, Trail, gzip};
use model::{InputEvent, Scope, time};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use store::read::{Cursor, Direction};

/// The internal group holding an account and region's Insights events.
pub const INSIGHTS_GROUP: &str = "@cloudtrail/insights";
/// Records are read again from this far before the newest one counted: a record's
/// `eventTime` is taken before it is written, so sequence order and time order differ
/// a little.
const SCAN_SLACK_MS: i64 = 60_000;
/// An interval is evaluated this long after it ends, once its records are written.
const SETTLE_MS: i64 = 1_000;
/// Insights events reach a trail's bucket at most this long after their `eventTime`
/// (a Start is written one interval after the interval it names).
const DELIVERY_SLACK_MS: i64 = 24 * 3600 * 1000;
/// Most records read per page.
const PAGE: usize = 10_000;
/// Attributions list at most this many values per attribute, as AWS.
const TOP_VALUES: usize = 5;
/// The attribute name under which the total count of an interval is kept.
const TOTAL: &str = "";
/// The attributions AWS reports, in its order.
const ATTRIBUTES: [&str; 3] = ["userIdentityArn", "userAgent", "errorCode"];

/// The two kinds of Insights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InsightType {
    /// Write management calls per interval.
    ApiCallRate,
    /// Management calls that returned an error, per interval.
    ApiErrorRate,
}

impl InsightType {
    /// The API name (`ApiCallRateInsight`, `ApiErrorRateInsight`).
    pub fn name(self) -> &'static str {
        match self {
            InsightType::ApiCallRate => "ApiCallRateInsight",
            InsightType::ApiErrorRate => "ApiErrorRateInsight",
        }
    }

    /// The type from its API name.
    pub fn parse(name: &str) -> Option<InsightType> {
        match name {
            "ApiCallRateInsight" => Some(InsightType::ApiCallRate),
            "ApiErrorRateInsight" => Some(InsightType::ApiErrorRate),
            _ => None,
        }
    }

    /// Whether a management event's record counts toward this type.
    pub fn counts(self, record: &Value) -> bool {
        match self {
            InsightType::ApiCallRate => {
                record.get("readOnly").and_then(Value::as_bool) == Some(false)
            }
            InsightType::ApiErrorRate => record.get("errorCode").is_some_and(|c| !c.is_null()),
        }
    }
}

/// The types a trail's insight selectors enable on management events (a selector
/// without `EventCategories` means management events, as AWS).
pub fn enabled_types(trail: &Trail) -> BTreeSet<InsightType> {
    trail
        .insight_selectors
        .iter()
        .filter(|s| {
            s.get("EventCategories")
                .and_then(Value::as_array)
                .is_none_or(|c| c.iter().any(|c| c == "Management"))
        })
        .filter_map(|s| s.get("InsightType").and_then(Value::as_str))
        .filter_map(InsightType::parse)
        .collect()
}

/// The per-interval counts of an API over a baseline window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// Mean count per interval.
    pub mean: f64,
    /// Standard deviation of the count per interval.
    pub stddev: f64,
}

impl Baseline {
    /// From the sum and sum of squares of the counts of `intervals` intervals (those with
    /// no calls count as zeros).
    pub fn of(sum: f64, sum_of_squares: f64, intervals: f64) -> Baseline {
        if intervals <= 0.0 {
            return Baseline {
                mean: 0.0,
                stddev: 0.0,
            };
        }
        let mean = sum / intervals;
        let variance = (sum_of_squares / intervals - mean * mean).max(0.0);
        Baseline {
            mean,
            stddev: variance.sqrt(),
        }
    }
}

/// When an interval's count is unusual against a baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    /// Fewer calls than this in an interval are never unusual.
    pub min_count: f64,
    /// How many times the baseline mean a count must exceed…
    pub factor: f64,
    /// …plus how many standard deviations.
    pub deviations: f64,
}

/// The rule Trailwatch uses: at least 10 calls, and above 2·μ + 3·σ.
pub const RULE: Rule = Rule {
    min_count: 10.0,
    factor: 2.0,
    deviations: 3.0,
};

impl Rule {
    /// Whether `count` calls in one interval are unusual against `baseline`.
    pub fn unusual(&self, count: f64, baseline: &Baseline) -> bool {
        count >= self.min_count
            && count > self.factor * baseline.mean + self.deviations * baseline.stddev
    }
}

/// An Insight that started and has not ended yet.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Active {
    shared_event_id: String,
    start_bucket: i64,
    buckets: i64,
    total: i64,
    baseline: Baseline,
    baseline_attributions: BTreeMap<String, Vec<(String, f64)>>,
}

/// What an Insight is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Subject {
    kind: InsightType,
    source: String,
    name: String,
}

/// Where the detector is in a scope.
#[derive(Debug, Clone)]
struct ScopeState {
    since_bucket: i64,
    evaluated_bucket: i64,
    seq: u64,
    newest_ms: i64,
}

/// Detects Insights over management events and writes their records.
pub struct Detector<'a> {
    /// Where trails and their regions are found.
    pub deliverer: Deliverer<'a>,
    /// The length of one interval, ms (AWS: one minute).
    pub interval_ms: i64,
    /// The length of the baseline window, ms (AWS: seven days).
    pub baseline_ms: i64,
}

fn types_text(types: &BTreeSet<InsightType>) -> String {
    types.iter().map(|t| t.name()).collect::<Vec<_>>().join(",")
}

fn per_minute(count: f64, intervals: i64, interval_ms: i64) -> f64 {
    if intervals <= 0 {
        return 0.0;
    }
    count / intervals as f64 * 60_000.0 / interval_ms as f64
}

fn whole_minutes(ms: i64) -> i64 {
    ((ms + 59_999) / 60_000).max(1)
}

impl Detector<'_> {
    fn history(&self) -> &History {
        self.deliverer.history
    }

    fn catalog(&self) -> &AuditCatalog {
        self.deliverer.catalog
    }

    fn window(&self) -> i64 {
        (self.baseline_ms / self.interval_ms).max(1)
    }

    /// The scopes some logging trail enables Insights for, with the types enabled.
    fn enabled_scopes(&self) -> Result<BTreeMap<Scope, BTreeSet<InsightType>>, AuditError> {
        let mut scopes: BTreeMap<Scope, BTreeSet<InsightType>> = BTreeMap::new();
        for trail in self.catalog().list::<Trail>(trail::KIND, None)? {
            let types = enabled_types(&trail);
            if !trail.status.is_logging || types.is_empty() {
                continue;
            }
            for region in self.deliverer.regions(&trail)? {
                scopes
                    .entry(Scope::new(trail.account.clone(), region))
                    .or_default()
                    .extend(types.iter().copied());
            }
        }
        Ok(scopes)
    }

    /// One pass: counts the records written since the last pass, evaluates every closed
    /// interval, writes the Insights events found. Scopes no longer enabled are forgotten
    /// (a baseline starts afresh when Insights are enabled again).
    pub async fn run(&self) -> Result<(), AuditError> {
        let scopes = self.enabled_scopes()?;
        self.catalog().transaction(|tx| {
            let stale: Vec<(String, String)> = {
                let mut stmt = tx.prepare("SELECT account, region FROM insight_scopes")?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect::<rusqlite::Result<Vec<_>>>()?
            };
            for (account, region) in stale {
                if !scopes.contains_key(&Scope::new(account.clone(), region.clone())) {
                    forget_scope(tx, &account, &region)?;
                }
            }
            Ok(())
        })?;
        for (scope, types) in scopes {
            self.run_scope(&scope, &types).await?;
        }
        Ok(())
    }

    async fn run_scope(
        &self,
        scope: &Scope,
        types: &BTreeSet<InsightType>,
    ) -> Result<(), AuditError> {
        let now = time::now_ms();
        let mut state = self.scope_state(scope, types, now)?;
        self.count(scope, types, &mut state).await?;
        let closed = (now - SETTLE_MS).div_euclid(self.interval_ms) - 1;
        let first = (state.evaluated_bucket + 1).max(closed - self.window());
        let mut records = Vec::new();
        for bucket in first..=closed {
            records.extend(self.evaluate(scope, types, &state, bucket)?);
        }
        if !records.is_empty() {
            let mut events: Vec<InputEvent> = records
                .iter()
                .map(|(ms, r)| InputEvent {
                    timestamp: *ms,
                    message: r.to_string(),
                })
                .collect();
            events.sort_by_key(|e| e.timestamp);
            self.history()
                .append_events(scope, INSIGHTS_GROUP, events)
                .await?;
        }
        state.evaluated_bucket = state.evaluated_bucket.max(closed);
        let keep_from = closed - self.window();
        self.catalog().transaction(|tx| {
            tx.execute(
                "UPDATE insight_scopes SET evaluated_bucket = ?3, seq = ?4, newest_ms = ?5
                 WHERE account = ?1 AND region = ?2",
                params![
                    scope.account,
                    scope.region,
                    state.evaluated_bucket,
                    state.seq as i64,
                    state.newest_ms
                ],
            )?;
            tx.execute(
                "DELETE FROM insight_counts WHERE account = ?1 AND region = ?2 AND bucket < ?3",
                params![scope.account, scope.region, keep_from],
            )?;
            Ok(())
        })
    }

    /// The scope's state; a fresh one (counting from the next interval) when the scope is
    /// new or its interval or types changed.
    fn scope_state(
        &self,
        scope: &Scope,
        types: &BTreeSet<InsightType>,
        now: i64,
    ) -> Result<ScopeState, AuditError> {
        let wanted = types_text(types);
        self.catalog().transaction(|tx| {
            let stored = tx
                .query_row(
                    "SELECT interval_ms, types, since_bucket, evaluated_bucket, seq, newest_ms
                     FROM insight_scopes WHERE account = ?1 AND region = ?2",
                    params![scope.account, scope.region],
                    |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, String>(1)?,
                            ScopeState {
                                since_bucket: r.get(2)?,
                                evaluated_bucket: r.get(3)?,
                                seq: r.get::<_, i64>(4)? as u64,
                                newest_ms: r.get(5)?,
                            },
                        ))
                    },
                )
                .optional()?;
            if let Some((interval, stored_types, state)) = stored
                && interval == self.interval_ms
                && stored_types == wanted
            {
                return Ok(state);
            }
            forget_scope(tx, &scope.account, &scope.region)?;
            let current = now.div_euclid(self.interval_ms);
            let state = ScopeState {
                since_bucket: current + 1,
                evaluated_bucket: current,
                seq: 0,
                newest_ms: (current + 1) * self.interval_ms,
            };
            tx.execute(
                "INSERT INTO insight_scopes (account, region, interval_ms, types, since_bucket,
                   evaluated_bucket, seq, newest_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    scope.account,
                    scope.region,
                    self.interval_ms,
                    wanted,
                    state.since_bucket,
                    state.evaluated_bucket,
                    state.seq as i64,
                    state.newest_ms
                ],
            )?;
            Ok(state)
        })
    }

    /// Adds the records written since the last pass to the per-interval counts.
    async fn count(
        &self,
        scope: &Scope,
        types: &BTreeSet<InsightType>,
        state: &mut ScopeState,
    ) -> Result<(), AuditError> {
        let since_ms = state.since_bucket * self.interval_ms;
        loop {
            let from = state.newest_ms.max(since_ms) - SCAN_SLACK_MS;
            let after_seq = state.seq;
            let (found, more) = self
                .history()
                .records_after(scope, from, since_ms, after_seq, PAGE)
                .await?;
            let mut counts: HashMap<(Subject, i64, &'static str, String), i64> = HashMap::new();
            for stored in &found {
                state.seq = state.seq.max(stored.event.seq);
                state.newest_ms = state.newest_ms.max(stored.event.timestamp);
                let r = &stored.record;
                if r.get("eventCategory").and_then(Value::as_str) != Some("Management") {
                    continue;
                }
                let text = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("");
                let bucket = stored.event.timestamp.div_euclid(self.interval_ms);
                let values = [
                    r.get("userIdentity")
                        .and_then(|i| i.get("arn"))
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    text("userAgent").to_string(),
                    r.get("errorCode")
                        .and_then(Value::as_str)
                        .unwrap_or("null")
                        .to_string(),
                ];
                for kind in types.iter().filter(|t| t.counts(r)) {
                    let subject = Subject {
                        kind: *kind,
                        source: text("eventSource").to_string(),
                        name: text("eventName").to_string(),
                    };
                    *counts
                        .entry((subject.clone(), bucket, TOTAL, String::new()))
                        .or_default() += 1;
                    for (attribute, value) in ATTRIBUTES.iter().zip(&values) {
                        *counts
                            .entry((subject.clone(), bucket, attribute, value.clone()))
                            .or_default() += 1;
                    }
                }
            }
            self.catalog().transaction(|tx| {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO insight_counts (account, region, insight_type, event_source,
                       event_name, bucket, attribute, value, count)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                     ON CONFLICT DO UPDATE SET count = count + excluded.count",
                )?;
                for ((subject, bucket, attribute, value), n) in &counts {
                    stmt.execute(params![
                        scope.account,
                        scope.region,
                        subject.kind.name(),
                        subject.source,
                        subject.name,
                        bucket,
                        attribute,
                        value,
                        n
                    ])?;
                }
                Ok(())
            })?;
            if !more {
                return Ok(());
            }
        }
    }

    /// Evaluates one closed interval: the Insights events it starts and ends, with their
    /// `eventTime`s.
    fn evaluate(
        &self,
        scope: &Scope,
        types: &BTreeSet<InsightType>,
        state: &ScopeState,
        bucket: i64,
    ) -> Result<Vec<(i64, Value)>, AuditError> {
        let window = self.window();
        self.catalog().transaction(|tx| {
            let mut subjects: BTreeMap<Subject, i64> = BTreeMap::new();
            {
                let mut stmt = tx.prepare_cached(
                    "SELECT insight_type, event_source, event_name, count FROM insight_counts
                     WHERE account = ?1 AND region = ?2 AND bucket = ?3 AND attribute = ''",
                )?;
                let rows = stmt.query_map(params![scope.account, scope.region, bucket], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                    ))
                })?;
                for row in rows {
                    let (kind, source, name, n) = row?;
                    if let Some(kind) = InsightType::parse(&kind) {
                        subjects.insert(Subject { kind, source, name }, n);
                    }
                }
            }
            let mut active: BTreeMap<Subject, Active> = BTreeMap::new();
            {
                let mut stmt = tx.prepare_cached(
                    "SELECT insight_type, event_source, event_name, body FROM insight_active
                     WHERE account = ?1 AND region = ?2",
                )?;
                let rows = stmt.query_map(params![scope.account, scope.region], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                })?;
                for row in rows {
                    let (kind, source, name, body) = row?;
                    if let Some(kind) = InsightType::parse(&kind) {
                        active.insert(Subject { kind, source, name }, serde_json::from_str(&body)?);
                    }
                }
            }
            let mut out = Vec::new();
            for (subject, mut insight) in active.clone() {
                let n = subjects.get(&subject).copied().unwrap_or(0);
                if RULE.unusual(n as f64, &insight.baseline) {
                    insight.buckets += 1;
                    insight.total += n;
                    save_active(tx, scope, &subject, Some(&insight))?;
                    continue;
                }
                let from = insight.start_bucket;
                let to = from + insight.buckets;
                let attributions = attributions(tx, scope, &subject, (from, to))?;
                let statistics = json!({
                    "baseline": {"average": per_minute(insight.baseline.mean, 1, self.interval_ms)},
                    "insight": {"average": per_minute(insight.total as f64, insight.buckets, self.interval_ms)},
                    "insightDuration": whole_minutes(insight.buckets * self.interval_ms),
                    "baselineDuration": whole_minutes(window * self.interval_ms),
                });
                let time_ms = to * self.interval_ms;
                out.push((
                    time_ms,
                    self.record(scope, &subject, "End", time_ms, &insight, statistics, &attributions),
                ));
                save_active(tx, scope, &subject, None)?;
            }
            if bucket - window < state.since_bucket {
                return Ok(out);
            }
            for (subject, n) in subjects {
                if active.contains_key(&subject) || !types.contains(&subject.kind) {
                    continue;
                }
                let (sum, sum_sq): (f64, f64) = tx.query_row(
                    "SELECT COALESCE(SUM(count), 0), COALESCE(SUM(count * count), 0) FROM insight_counts
                     WHERE account = ?1 AND region = ?2 AND insight_type = ?3 AND event_source = ?4
                       AND event_name = ?5 AND attribute = '' AND bucket >= ?6 AND bucket < ?7",
                    params![
                        scope.account,
                        scope.region,
                        subject.kind.name(),
                        subject.source,
                        subject.name,
                        bucket - window,
                        bucket
                    ],
                    |r| Ok((r.get::<_, i64>(0)? as f64, r.get::<_, i64>(1)? as f64)),
                )?;
                let baseline = Baseline::of(sum, sum_sq, window as f64);
                if !RULE.unusual(n as f64, &baseline) {
                    continue;
                }
                let baseline_attributions =
                    attributions(tx, scope, &subject, (bucket - window, bucket))?;
                let insight = Active {
                    shared_event_id: uuid::Uuid::new_v4().to_string(),
                    start_bucket: bucket,
                    buckets: 1,
                    total: n,
                    baseline,
                    baseline_attributions: baseline_attributions
                        .into_iter()
                        .map(|(k, v)| (k, scale(v, window, self.interval_ms)))
                        .collect(),
                };
                let statistics = json!({
                    "baseline": {"average": per_minute(baseline.mean, 1, self.interval_ms)},
                    "insight": {"average": per_minute(n as f64, 1, self.interval_ms)},
                    "baselineDuration": whole_minutes(window * self.interval_ms),
                });
                let first = attributions(tx, scope, &subject, (bucket, bucket + 1))?;
                let time_ms = bucket * self.interval_ms;
                out.push((
                    time_ms,
                    self.record(scope, &subject, "Start", time_ms, &insight, statistics, &first),
                ));
                save_active(tx, scope, &subject, Some(&insight))?;
            }
            Ok(out)
        })
    }

    /// One Insights event record (`reference/aws-formats.md` §4.3). `insight_counts` are
    /// the attribution totals over the Insight's intervals so far.
    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        scope: &Scope,
        subject: &Subject,
        state: &str,
        time_ms: i64,
        insight: &Active,
        statistics: Value,
        insight_counts: &BTreeMap<String, Vec<(String, f64)>>,
    ) -> Value {
        let intervals = insight.buckets;
        let list = |values: &[(String, f64)]| -> Vec<Value> {
            values
                .iter()
                .take(TOP_VALUES)
                .map(|(value, average)| json!({"value": value, "average": average}))
                .collect()
        };
        let attributions: Vec<Value> = ATTRIBUTES
            .iter()
            .map(|attribute| {
                let insight_values = scale(
                    insight_counts.get(*attribute).cloned().unwrap_or_default(),
                    intervals,
                    self.interval_ms,
                );
                let baseline_values = insight
                    .baseline_attributions
                    .get(*attribute)
                    .cloned()
                    .unwrap_or_default();
                json!({
                    "attribute": attribute,
                    "insight": list(&insight_values),
                    "baseline": list(&baseline_values),
                })
            })
            .collect();
        json!({
            "eventVersion": EVENT_VERSION,
            "eventTime": event_time(time_ms),
            "awsRegion": scope.region,
            "eventID": uuid::Uuid::new_v4().to_string(),
            "eventType": "AwsCloudTrailInsight",
            "recipientAccountId": scope.account,
            "sharedEventID": insight.shared_event_id,
            "insightDetails": {
                "state": state,
                "eventSource": subject.source,
                "eventName": subject.name,
                "insightType": subject.kind.name(),
                "insightContext": {
                    "statistics": statistics,
                    "attributions": attributions,
                },
            },
            "eventCategory": "Insight",
        })
    }
}

/// Totals per attribute value turned into per-minute averages over `intervals`, sorted
/// by average, highest first.
fn scale(totals: Vec<(String, f64)>, intervals: i64, interval_ms: i64) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = totals
        .into_iter()
        .map(|(v, n)| (v, per_minute(n, intervals, interval_ms)))
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

/// The total count of each attribute value of a subject over intervals `[from, to)`.
fn attributions(
    tx: &Transaction<'_>,
    scope: &Scope,
    subject: &Subject,
    (from, to): (i64, i64),
) -> Result<BTreeMap<String, Vec<(String, f64)>>, AuditError> {
    let mut stmt = tx.prepare_cached(
        "SELECT attribute, value, SUM(count) FROM insight_counts
         WHERE account = ?1 AND region = ?2 AND insight_type = ?3 AND event_source = ?4
           AND event_name = ?5 AND attribute <> '' AND bucket >= ?6 AND bucket < ?7
         GROUP BY attribute, value",
    )?;
    let rows = stmt.query_map(
        params![
            scope.account,
            scope.region,
            subject.kind.name(),
            subject.source,
            subject.name,
            from,
            to
        ],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        },
    )?;
    let mut out: BTreeMap<String, Vec<(String, f64)>> = BTreeMap::new();
    for row in rows {
        let (attribute, value, n) = row?;
        out.entry(attribute).or_default().push((value, n as f64));
    }
    Ok(out)
}

fn save_active(
    tx: &Transaction<'_>,
    scope: &Scope,
    subject: &Subject,
    insight: Option<&Active>,
) -> Result<(), AuditError> {
    match insight {
        Some(insight) => tx.execute(
            "INSERT INTO insight_active (account, region, insight_type, event_source, event_name, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT DO UPDATE SET body = excluded.body",
            params![
                scope.account,
                scope.region,
                subject.kind.name(),
                subject.source,
                subject.name,
                serde_json::to_string(insight)?
            ],
        )?,
        None => tx.execute(
            "DELETE FROM insight_active WHERE account = ?1 AND region = ?2 AND insight_type = ?3
               AND event_source = ?4 AND event_name = ?5",
            params![
                scope.account,
                scope.region,
                subject.kind.name(),
                subject.source,
                subject.name
            ],
        )?,
    };
    Ok(())
}

fn forget_scope(tx: &Transaction<'_>, account: &str, region: &str) -> Result<(), AuditError> {
    for table in ["insight_scopes", "insight_counts", "insight_active"] {
        tx.execute(
            &format!("DELETE FROM {table} WHERE account = ?1 AND region = ?2"),
            params![account, region],
        )?;
    }
    Ok(())
}

impl Deliverer<'_> {
    /// Delivers a trail's new Insights events of one region as a gzipped
    /// `{"Records":[...]}` file under `CloudTrail-Insight/` (no digests, as AWS).
    pub(crate) async fn deliver_insights(
        &self,
        trail: &mut Trail,
        region: &str,
    ) -> Result<(), AuditError> {
        let types: BTreeSet<&'static str> = enabled_types(trail)
            .into_iter()
            .map(InsightType::name)
            .collect();
        if types.is_empty() {
            return Ok(());
        }
        let arn = trail.arn();
        let scope = Scope::new(trail.account.clone(), region);
        let start = trail.status.start_logging_ms.unwrap_or(0) / 1000 * 1000;
        let (after_seq, newest) = self
            .catalog
            .transaction(|tx| {
                Ok(tx
                    .query_row(
                        "SELECT seq, newest_ms FROM insight_cursors WHERE trail_arn = ?1 AND region = ?2",
                        params![arn, region],
                        |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)?)),
                    )
                    .optional()?)
            })?
            .unwrap_or((0, start));
        let from = newest.max(start) - DELIVERY_SLACK_MS;
        let (found, _) = self
            .history
            .scan(
                &scope,
                Scan {
                    group: INSIGHTS_GROUP,
                    range: (from, i64::MAX),
                    direction: Direction::Forward,
                    after: Cursor {
                        timestamp: from,
                        seq: 0,
                    },
                    limit: usize::MAX,
                },
                &|_, e| e.seq > after_seq && e.timestamp >= start,
            )
            .await?;
        let Some(last) = found.iter().map(|r| r.event.seq).max() else {
            return Ok(());
        };
        let newest_ts = found
            .iter()
            .map(|r| r.event.timestamp)
            .max()
            .unwrap_or(newest)
            .max(newest);
        let records: Vec<&Value> = found
            .iter()
            .map(|r| &r.record)
            .filter(|r| {
                r.get("insightDetails")
                    .and_then(|d| d.get("insightType"))
                    .and_then(Value::as_str)
                    .is_some_and(|t| types.contains(t))
            })
            .collect();
        if !records.is_empty() {
            let body = serde_json::to_vec(&json!({ "Records": records }))?;
            let delivered_ms = time::now_ms();
            let key = layout::insight_file_key(
                trail.key_prefix.as_deref(),
                &trail.account,
                region,
                delivered_ms,
            );
            self.buckets.put(&trail.bucket, &key, &gzip(&body)?, None)?;
        }
        self.catalog.transaction(|tx| {
            tx.execute(
                "INSERT INTO insight_cursors (trail_arn, region, seq, newest_ms) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (trail_arn, region) DO UPDATE SET seq = excluded.seq, newest_ms = excluded.newest_ms",
                params![arn, region, last as i64, newest_ts],
            )?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steady_rate_is_not_unusual_and_a_burst_is() {
        // Four calls a minute, give or take one.
        let counts = [3.0, 4.0, 5.0, 4.0, 3.0, 5.0, 4.0, 4.0];
        let sum: f64 = counts.iter().sum();
        let sum_sq: f64 = counts.iter().map(|c| c * c).sum();
        let b = Baseline::of(sum, sum_sq, counts.len() as f64);
        assert_eq!(b.mean, 4.0);
        assert!((b.stddev - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-9);
        assert!(!RULE.unusual(5.0, &b));
        assert!(!RULE.unusual(10.0, &b), "2·4 + 3·0.71 = 10.1 is the bar");
        assert!(RULE.unusual(11.0, &b));
        assert!(RULE.unusual(60.0, &b));
    }

    #[test]
    fn few_calls_are_never_unusual() {
        let quiet = Baseline::of(0.0, 0.0, 100.0);
        assert_eq!(
            quiet,
            Baseline {
                mean: 0.0,
                stddev: 0.0
            }
        );
        assert!(!RULE.unusual(9.0, &quiet));
        assert!(RULE.unusual(10.0, &quiet));
    }

    #[test]
    fn a_noisy_baseline_needs_a_bigger_burst() {
        // Alternating 0 and 20: mean 10, stddev 10, bar 2·10 + 3·10 = 50.
        let b = Baseline::of(10.0 * 20.0, 10.0 * 400.0, 20.0);
        assert_eq!((b.mean, b.stddev), (10.0, 10.0));
        assert!(!RULE.unusual(50.0, &b));
        assert!(RULE.unusual(51.0, &b));
    }

    #[test]
    fn what_each_type_counts() {
        let write_ok = json!({"readOnly": false});
        let read_failed = json!({"readOnly": true, "errorCode": "ResourceNotFoundException"});
        assert!(InsightType::ApiCallRate.counts(&write_ok));
        assert!(!InsightType::ApiErrorRate.counts(&write_ok));
        assert!(!InsightType::ApiCallRate.counts(&read_failed));
        assert!(InsightType::ApiErrorRate.counts(&read_failed));
    }

    #[test]
    fn averages_are_per_minute_and_durations_whole_minutes() {
        assert_eq!(per_minute(30.0, 1, 1_000), 1800.0);
        assert_eq!(per_minute(120.0, 2, 60_000), 60.0);
        assert_eq!(whole_minutes(8_000), 1);
        assert_eq!(whole_minutes(7 * 24 * 3600 * 1000), 10_080);
    }
}
