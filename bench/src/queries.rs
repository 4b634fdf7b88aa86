//! The query set of `bench query`: typical Logs Insights queries, each with the DuckDB
//! SQL doing the same work over the same events in Parquet, and the comparison of their
//! results.
//!
//! "The same work": both sides get only the raw message and parse fields out of it at
//! query time — Insights discovers JSON fields (`json_as_text`) or applies `parse`
//! (a regular expression), and the SQL calls `json_extract_string` or `regexp_extract`
//! with the regular expression Trailwatch's planner builds. Both restrict to the same
//! time range, which both can prune with (segment hours and row-group statistics in
//! Trailwatch, row-group statistics in DuckDB).

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

/// The log groups, by index: what each holds and its DuckDB view.
pub const GROUPS: [GroupDef; 4] = [
    GroupDef {
        name: "/bench/app",
        view: "app_logs",
    },
    GroupDef {
        name: "/aws/lambda/bench-ingest",
        view: "lambda_logs",
    },
    GroupDef {
        name: "/bench/vpc-flow-logs",
        view: "vpc_logs",
    },
    GroupDef {
        name: "/bench/cloudtrail",
        view: "trail_logs",
    },
];
/// The DuckDB view over all four groups.
pub const ALL_VIEW: &str = "all_logs";
const APP: usize = 0;
const LAMBDA: usize = 1;
const VPC: usize = 2;
const TRAIL: usize = 3;

/// A log group of the benchmark.
pub struct GroupDef {
    /// Its name in Trailwatch.
    pub name: &'static str,
    /// Its view in DuckDB.
    pub view: &'static str,
}

/// Which time range a query covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// Every event.
    Full,
    /// One hour in the middle of the data.
    Hour,
    /// One hour before the data: nothing to read, so only the fixed cost of a query.
    Empty,
}

impl Span {
    /// As reports show it.
    pub fn label(self) -> &'static str {
        match self {
            Span::Full => "full",
            Span::Hour => "1 h",
            Span::Empty => "1 h, empty",
        }
    }
}

/// How a result column is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    /// A time: Insights prints `YYYY-MM-DD HH:MM:SS.mmm` (UTC), the SQL returns epoch ms.
    Time,
    /// A number compared exactly (counts, ports).
    Int,
    /// A number compared to a relative 1e-6 (averages, sums of floats).
    Float,
    /// Text compared exactly.
    Text,
}

/// One query of the set.
pub struct Def {
    /// Short name (also what `--query` selects).
    pub name: &'static str,
    /// What kind of query it is.
    pub what: &'static str,
    /// Indices into [`GROUPS`].
    pub groups: Vec<usize>,
    /// Time range.
    pub span: Span,
    /// The Logs Insights query.
    pub insights: String,
    /// The DuckDB SQL; `{range}` stands for the time-range condition.
    pub sql: String,
    /// Result columns: the Insights field and the SQL column in the same place.
    pub columns: Vec<(&'static str, Col)>,
    /// Whether "no slower than DuckDB" applies (not to the empty range, which only
    /// measures the fixed cost of a query).
    pub target: bool,
}

/// `parse @message "* * ..."` over a VPC flow log line (version 2, 14 fields).
const VPC_FIELDS: [&str; 14] = [
    "version",
    "account",
    "eni",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "flow_start",
    "flow_end",
    "action",
    "log_status",
];

/// The regular expression Trailwatch's planner makes of a `parse` glob: every `*` but
/// the last lazy, the text between them escaped, `(?s)` in front.
fn glob_regex(glob: &str) -> String {
    let parts: Vec<&str> = glob.split('*').collect();
    let mut regex = String::from("(?s)");
    for (i, part) in parts.iter().enumerate() {
        for c in part.chars() {
            if "\\.+*?()|[]{}^$#&-~".contains(c) {
                regex.push('\\');
            }
            regex.push(c);
        }
        if i + 1 < parts.len() {
            regex.push_str(if i + 2 == parts.len() {
                "(.*)"
            } else {
                "(.*?)"
            });
        }
    }
    regex
}

fn sql_list(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    format!("[{}]", quoted.join(", "))
}

/// Every query; `needle` is a request id that occurs once in the data.
pub fn all(needle: &str) -> Vec<Def> {
    let json = |path: &str| format!("json_extract_string(message, '$.{path}')");
    let filter_stats_insights = "filter level = \"ERROR\" \
         | stats count(*) as errors, avg(latency_ms) as avg_latency by bin(1h) as hour"
        .to_string();
    let filter_stats_sql = format!(
        "SELECT epoch_ms(date_trunc('hour', timestamp)) AS hour, count(*) AS errors, \
         avg(TRY_CAST({} AS DOUBLE)) AS avg_latency \
         FROM app_logs WHERE {{range}} AND {} = 'ERROR' GROUP BY 1",
        json("latency_ms"),
        json("level")
    );
    let filter_stats_columns = vec![
        ("hour", Col::Time),
        ("errors", Col::Int),
        ("avg_latency", Col::Float),
    ];
    let vpc_glob = vec!["*"; VPC_FIELDS.len()].join(" ");
    let lambda_regex = "Duration: ([0-9.]+) ms\\tBilled Duration: ([0-9]+) ms\\tMemory Size: ([0-9]+) MB\\tMax Memory Used: ([0-9]+) MB";
    let lambda_named = "Duration: (?<duration>[0-9.]+) ms\\tBilled Duration: (?<billed>[0-9]+) ms\\tMemory Size: (?<memory>[0-9]+) MB\\tMax Memory Used: (?<used>[0-9]+) MB";
    let listing_columns = vec![
        ("@timestamp", Col::Time),
        ("@logStream", Col::Text),
        ("@message", Col::Text),
    ];
    vec![
        Def {
            name: "filter-stats-bin",
            what: "filter + stats by bin(1h), app JSON",
            groups: vec![APP],
            span: Span::Full,
            insights: filter_stats_insights.clone(),
            sql: filter_stats_sql.clone(),
            columns: filter_stats_columns.clone(),
            target: true,
        },
        Def {
            name: "parse-stats",
            what: "parse (glob) + filter + stats, VPC flow",
            groups: vec![VPC],
            span: Span::Full,
            insights: format!(
                "parse @message \"{vpc_glob}\" as {} \
                 | filter action = \"REJECT\" \
                 | stats count(*) as flows, sum(bytes) as total_bytes by dstport \
                 | sort flows desc, dstport asc | limit 20",
                VPC_FIELDS.join(", ")
            ),
            sql: format!(
                "SELECT f.dstport AS dstport, count(*) AS flows, \
                 sum(TRY_CAST(f.bytes AS DOUBLE)) AS total_bytes \
                 FROM (SELECT regexp_extract(message, '{}', {}) AS f FROM vpc_logs WHERE {{range}}) \
                 WHERE f.action = 'REJECT' GROUP BY 1 \
                 ORDER BY flows DESC, TRY_CAST(dstport AS DOUBLE) ASC LIMIT 20",
                glob_regex(&vpc_glob),
                sql_list(&VPC_FIELDS)
            ),
            columns: vec![
                ("dstport", Col::Text),
                ("flows", Col::Int),
                ("total_bytes", Col::Float),
            ],
            target: true,
        },
        Def {
            name: "regex-stats",
            what: "like + parse (regex) + stats, Lambda REPORT",
            groups: vec![LAMBDA],
            span: Span::Full,
            insights: format!(
                "filter @message like \"REPORT RequestId\" \
                 | parse @message /{lambda_named}/ \
                 | stats count(*) as invocations, avg(duration) as avg_duration, \
                 max(used) as max_used by memory"
            ),
            sql: format!(
                "SELECT f.memory AS memory, count(*) AS invocations, \
                 avg(TRY_CAST(f.duration AS DOUBLE)) AS avg_duration, \
                 max(TRY_CAST(f.used AS DOUBLE)) AS max_used \
                 FROM (SELECT regexp_extract(message, '{lambda_regex}', {}) AS f FROM lambda_logs \
                 WHERE {{range}} AND contains(message, 'REPORT RequestId')) GROUP BY 1",
                sql_list(&["duration", "billed", "memory", "used"])
            ),
            columns: vec![
                ("memory", Col::Text),
                ("invocations", Col::Int),
                ("avg_duration", Col::Float),
                ("max_used", Col::Float),
            ],
            target: true,
        },
        Def {
            name: "top-n",
            what: "top 10 by a nested JSON field, CloudTrail",
            groups: vec![TRAIL],
            span: Span::Full,
            insights: "stats count(*) as calls by userIdentity.arn as principal \
                       | sort calls desc, principal asc | limit 10"
                .to_string(),
            sql: format!(
                "SELECT {} AS principal, count(*) AS calls FROM trail_logs WHERE {{range}} \
                 GROUP BY 1 ORDER BY calls DESC, principal ASC LIMIT 10",
                json("userIdentity.arn")
            ),
            columns: vec![("principal", Col::Text), ("calls", Col::Int)],
            target: true,
        },
        Def {
            name: "needle",
            what: "needle (one request id), all groups",
            groups: vec![APP, LAMBDA, VPC, TRAIL],
            span: Span::Full,
            insights: format!(
                "filter @message like \"{needle}\" | fields @timestamp, @logStream, @message | limit 20"
            ),
            sql: format!(
                "SELECT epoch_ms(timestamp) AS \"@timestamp\", stream AS \"@logStream\", \
                 message AS \"@message\" FROM {ALL_VIEW} \
                 WHERE {{range}} AND contains(message, '{needle}') \
                 ORDER BY timestamp DESC LIMIT 20"
            ),
            columns: listing_columns.clone(),
            target: true,
        },
        Def {
            name: "latest-20",
            what: "newest 20 events, all groups",
            groups: vec![APP, LAMBDA, VPC, TRAIL],
            span: Span::Full,
            insights: "fields @timestamp, @logStream, @message | sort @timestamp desc | limit 20"
                .to_string(),
            sql: format!(
                "SELECT epoch_ms(timestamp) AS \"@timestamp\", stream AS \"@logStream\", \
                 message AS \"@message\" FROM {ALL_VIEW} WHERE {{range}} \
                 ORDER BY timestamp DESC LIMIT 20"
            ),
            columns: listing_columns.clone(),
            target: true,
        },
        Def {
            name: "filter-stats-bin-1h",
            what: "filter + stats by bin(1h), one hour",
            groups: vec![APP],
            span: Span::Hour,
            insights: filter_stats_insights.clone(),
            sql: filter_stats_sql.clone(),
            columns: filter_stats_columns.clone(),
            target: true,
        },
        Def {
            name: "latest-100-1h",
            what: "newest 100 events of one hour, all groups",
            groups: vec![APP, LAMBDA, VPC, TRAIL],
            span: Span::Hour,
            insights: "fields @timestamp, @logStream, @message | sort @timestamp desc | limit 100"
                .to_string(),
            sql: format!(
                "SELECT epoch_ms(timestamp) AS \"@timestamp\", stream AS \"@logStream\", \
                 message AS \"@message\" FROM {ALL_VIEW} WHERE {{range}} \
                 ORDER BY timestamp DESC LIMIT 100"
            ),
            columns: listing_columns,
            target: true,
        },
        Def {
            name: "filter-stats-bin-empty",
            what: "the same over an hour with no data (fixed cost)",
            groups: vec![APP],
            span: Span::Empty,
            insights: filter_stats_insights,
            sql: filter_stats_sql,
            columns: filter_stats_columns,
            target: false,
        },
    ]
}

/// A time range as both sides take it: Insights' whole seconds, its end inclusive to
/// the last millisecond of that second.
#[derive(Debug, Clone, Copy)]
pub struct Range {
    /// StartQuery's `startTime`, epoch seconds.
    pub start_s: i64,
    /// StartQuery's `endTime`, epoch seconds (inclusive).
    pub end_s: i64,
}

impl Range {
    /// First millisecond.
    pub fn first_ms(self) -> i64 {
        self.start_s * 1000
    }

    /// Last millisecond.
    pub fn last_ms(self) -> i64 {
        self.end_s * 1000 + 999
    }

    /// The SQL condition on `timestamp`.
    pub fn sql(self) -> String {
        format!(
            "timestamp BETWEEN TIMESTAMP '{}' AND TIMESTAMP '{}'",
            sql_time(self.first_ms()),
            sql_time(self.last_ms())
        )
    }
}

fn sql_time(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M:%S%.3f")
        .to_string()
}

/// A normalized result cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Absent (Insights leaves the field out; SQL returns NULL).
    Null,
    /// A number (times as epoch ms).
    Num(f64),
    /// Text.
    Text(String),
}

impl Cell {
    fn sort_key(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Num(x) => format!("{x:+.6e}"),
            Cell::Text(t) => t.clone(),
        }
    }

    fn matches(&self, other: &Cell, col: Col) -> bool {
        match (self, other) {
            (Cell::Num(a), Cell::Num(b)) if col == Col::Float => {
                (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
            }
            (a, b) => a == b,
        }
    }

    fn show(&self) -> String {
        match self {
            Cell::Null => "null".into(),
            Cell::Num(x) => format!("{x}"),
            Cell::Text(t) if t.chars().count() > 80 => {
                format!("{:?}…", t.chars().take(80).collect::<String>())
            }
            Cell::Text(t) => format!("{t:?}"),
        }
    }
}

/// A Trailwatch value (GetQueryResults' text) as a cell.
pub fn trailwatch_cell(value: Option<&str>, col: Col) -> Cell {
    let Some(v) = value else {
        return Cell::Null;
    };
    match col {
        Col::Time => NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S%.3f")
            .map(|t| Cell::Num(t.and_utc().timestamp_millis() as f64))
            .unwrap_or_else(|_| Cell::Text(v.to_string())),
        Col::Int | Col::Float => v
            .parse::<f64>()
            .map(Cell::Num)
            .unwrap_or_else(|_| Cell::Text(v.to_string())),
        Col::Text => Cell::Text(v.to_string()),
    }
}

/// A DuckDB value (JSON from the helper) as a cell.
pub fn duckdb_cell(value: &Value, col: Col) -> Cell {
    match value {
        Value::Null => Cell::Null,
        Value::Number(n) => match col {
            Col::Text => Cell::Text(n.to_string()),
            _ => n.as_f64().map_or(Cell::Null, Cell::Num),
        },
        Value::String(s) => match col {
            Col::Text => Cell::Text(s.clone()),
            _ => s
                .parse::<f64>()
                .map(Cell::Num)
                .unwrap_or_else(|_| Cell::Text(s.clone())),
        },
        Value::Bool(b) => Cell::Num(f64::from(u8::from(*b))),
        other => Cell::Text(other.to_string()),
    }
}

/// How two result sets compare.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Rows Trailwatch returned.
    pub trailwatch_rows: usize,
    /// Rows DuckDB returned.
    pub duckdb_rows: usize,
    /// `None` when they agree; else the first difference.
    pub mismatch: Option<String>,
}

/// Compares two result sets as multisets of rows (both sorted the same way first, as
/// neither an aggregation's order nor equal sort keys are fixed).
pub fn compare(
    columns: &[(&str, Col)],
    trailwatch: &[Vec<Cell>],
    duckdb: &[Vec<Cell>],
) -> Comparison {
    let sorted = |rows: &[Vec<Cell>]| -> Vec<Vec<Cell>> {
        let mut rows = rows.to_vec();
        rows.sort_by(|a, b| {
            a.iter()
                .map(Cell::sort_key)
                .cmp(b.iter().map(Cell::sort_key))
        });
        rows
    };
    let (tw, dk) = (sorted(trailwatch), sorted(duckdb));
    let mut mismatch = None;
    if tw.len() != dk.len() {
        mismatch = Some(format!(
            "Trailwatch returned {} rows, DuckDB {}",
            tw.len(),
            dk.len()
        ));
    }
    for (i, (a, b)) in tw.iter().zip(&dk).enumerate() {
        if mismatch.is_some() {
            break;
        }
        for (j, (col, kind)) in columns.iter().enumerate() {
            let (x, y) = (
                a.get(j).unwrap_or(&Cell::Null),
                b.get(j).unwrap_or(&Cell::Null),
            );
            if !x.matches(y, *kind) {
                mismatch = Some(format!(
                    "row {i} (sorted), column {col}: Trailwatch {} vs DuckDB {}",
                    x.show(),
                    y.show()
                ));
                break;
            }
        }
    }
    Comparison {
        trailwatch_rows: trailwatch.len(),
        duckdb_rows: duckdb.len(),
        mismatch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_regex_matches_the_planners() {
        assert_eq!(glob_regex("* *"), "(?s)(.*?) (.*)");
        assert_eq!(glob_regex("a.* [*]"), "(?s)a\\.(.*?) \\[(.*)\\]");
    }

    #[test]
    fn cells_compare_across_engines() {
        let t = trailwatch_cell(Some("2026-01-02 03:00:00.000"), Col::Time);
        let d = duckdb_cell(&serde_json::json!(1_767_322_800_000i64), Col::Time);
        assert_eq!(t, d);
        let a = trailwatch_cell(Some("12.345678901"), Col::Float);
        let b = duckdb_cell(&serde_json::json!(12.3456789), Col::Float);
        assert!(a.matches(&b, Col::Float));
        let columns = [("k", Col::Text), ("n", Col::Int)];
        let row = |k: &str, n: f64| vec![Cell::Text(k.into()), Cell::Num(n)];
        let ok = compare(
            &columns,
            &[row("a", 1.0), row("b", 2.0)],
            &[row("b", 2.0), row("a", 1.0)],
        );
        assert!(ok.mismatch.is_none());
        let bad = compare(&columns, &[row("a", 1.0)], &[row("a", 2.0)]);
        assert!(bad.mismatch.is_some());
    }
}
