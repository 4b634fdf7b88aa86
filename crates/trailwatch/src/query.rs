//! `trailwatch query` and `trailwatch sql`: run a Logs Insights or SQL query on a server
//! (Trailwatch, or AWS for Insights) and print its rows.

use crate::client::{Client, ClientArgs, print_records};
use anyhow::{Context, bail};
use clap::Args;
use serde_json::{Value, json};
use std::time::Duration;

/// Options of `trailwatch query`.
#[derive(Args)]
pub struct QueryArgs {
    /// Log group to query (repeat for several); omit when the query starts with SOURCE.
    #[arg(short = 'g', long = "group")]
    groups: Vec<String>,
    #[command(flatten)]
    range: RangeArgs,
    /// The query, e.g. `fields @timestamp, @message | filter @message like /ERROR/`.
    query: String,
    #[command(flatten)]
    client: ClientArgs,
}

/// Options of `trailwatch sql`.
#[derive(Args)]
pub struct SqlArgs {
    #[command(flatten)]
    range: RangeArgs,
    /// A SELECT over log groups as tables, e.g.
    /// `SELECT "@logStream", count(*) FROM "app" GROUP BY 1`; or `CREATE EXTERNAL TABLE
    /// name STORED AS CLOUDTRAIL|PARQUET|JSON|CSV LOCATION 'dir'`, kept in the catalog;
    /// with `--lake`, over CloudTrail event data stores (by id or name) in the Lake's
    /// columns.
    query: String,
    /// Query CloudTrail Lake event data stores instead of log groups.
    #[arg(long)]
    lake: bool,
    #[command(flatten)]
    client: ClientArgs,
}

/// The time range and row limit both query commands take.
#[derive(Args)]
struct RangeArgs {
    /// How far back to look: `90s`, `15m`, `1h`, `7d`.
    #[arg(long, default_value = "1h", conflicts_with_all = ["start", "end"])]
    since: String,
    /// Start of the range: epoch seconds or RFC 3339 (`2026-11-27T10:00:00Z`).
    #[arg(long, requires = "end")]
    start: Option<String>,
    /// End of the range: epoch seconds or RFC 3339.
    #[arg(long, requires = "start")]
    end: Option<String>,
    /// Most rows to return.
    #[arg(long)]
    limit: Option<u32>,
    /// Read this data directory directly instead of calling a server (which must not be
    /// running on it).
    #[arg(long)]
    data_dir: Option<std::path::PathBuf>,
    /// With --data-dir: the account whose groups to read (default: the one the server
    /// created on its first start; `--dev` servers keep data in 123456789012).
    #[arg(long, requires = "data_dir")]
    account: Option<String>,
}

/// Parses `90s`, `15m`, `1h`, `2d`, `1w` into seconds.
fn parse_duration(text: &str) -> anyhow::Result<i64> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (amount, unit) = text.split_at(split);
    let amount: i64 = amount
        .parse()
        .with_context(|| format!("invalid duration {text:?}"))?;
    let unit = match unit {
        "s" | "" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => bail!("invalid duration unit in {text:?} (use s, m, h, d or w)"),
    };
    Ok(amount * unit)
}

/// Parses epoch seconds or an RFC 3339 time into epoch seconds.
fn parse_time(text: &str) -> anyhow::Result<i64> {
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(seconds);
    }
    Ok(chrono::DateTime::parse_from_rfc3339(text)
        .with_context(|| format!("invalid time {text:?} (epoch seconds or RFC 3339)"))?
        .timestamp())
}

/// What to run, however it is reached.
struct Job {
    sql: bool,
    text: String,
    groups: Vec<String>,
}

/// Runs an Insights query and prints its rows.
pub async fn run(args: QueryArgs) -> anyhow::Result<()> {
    let job = Job {
        sql: false,
        text: args.query,
        groups: args.groups,
    };
    execute(&args.client, &args.range, job).await
}

/// Runs a SQL query and prints its rows.
pub async fn run_sql(args: SqlArgs) -> anyhow::Result<()> {
    if args.lake {
        return run_lake(&args).await;
    }
    let job = Job {
        sql: true,
        text: args.query,
        groups: Vec::new(),
    };
    execute(&args.client, &args.range, job).await
}

/// A result: rows of `(field, value)`, and the records and bytes scanned.
type Outcome = (Vec<Vec<(String, String)>>, f64, f64);

async fn execute(client_args: &ClientArgs, range: &RangeArgs, job: Job) -> anyhow::Result<()> {
    let (start, end) = match (&range.start, &range.end) {
        (Some(s), Some(e)) => (parse_time(s)?, parse_time(e)?),
        _ => {
            let now = chrono::Utc::now().timestamp();
            (now - parse_duration(&range.since)?, now)
        }
    };
    let (rows, scanned, bytes) = match &range.data_dir {
        Some(dir) => run_local(dir, client_args, range, &job, start, end).await?,
        None => run_remote(client_args, range.limit, &job, start, end).await?,
    };
    // Columns in the order fields first appear, `@ptr` left out: it is for programs
    // that call GetLogRecord, and they can ask the API for it.
    let mut headers: Vec<String> = Vec::new();
    for row in &rows {
        for (field, _) in row {
            if field != "@ptr" && !headers.contains(field) {
                headers.push(field.clone());
            }
        }
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            headers
                .iter()
                .map(|h| {
                    row.iter()
                        .find(|(f, _)| f == h)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect();
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    print_records(client_args.output, &header_refs, &table);
    if client_args.output == crate::client::Output::Table {
        eprintln!(
            "{} rows; {scanned} records scanned, {bytes} bytes",
            table.len()
        );
    }
    Ok(())
}

/// A CloudTrail Lake query: on a data directory, or through CloudTrail's StartQuery and
/// GetQueryResults.
async fn run_lake(args: &SqlArgs) -> anyhow::Result<()> {
    let (columns, rows) = match &args.range.data_dir {
        Some(dir) => {
            let store = store::Store::open(store::StoreOptions::new(dir)).with_context(|| {
                format!(
                    "cannot open {} (stop the server, or query it with --endpoint)",
                    dir.display()
                )
            })?;
            let scope =
                crate::client::local_scope(&store, args.range.account.as_deref(), &args.client)?;
            let audit = audit::Audit::open(store.clone(), audit::AuditOptions::new(dir))?;
            let tables = audit::lake::tables_for(&audit, &scope.account, &args.query)?;
            let result = query::lake::run_lake_sql(&args.query, tables).await?;
            (result.columns, result.rows)
        }
        None => lake_remote(&args.client, &args.query).await?,
    };
    let table: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| r.into_iter().map(Option::unwrap_or_default).collect())
        .collect();
    let headers: Vec<&str> = columns.iter().map(String::as_str).collect();
    print_records(args.client.output, &headers, &table);
    Ok(())
}

/// Runs a Lake query on a server; the column names and rows (NULLs as `None`).
async fn lake_remote(
    client_args: &ClientArgs,
    statement: &str,
) -> anyhow::Result<(Vec<String>, Vec<Vec<Option<String>>>)> {
    const TARGET: &str = "CloudTrail_20131101";
    let client = Client::new(&client_args.connect)?;
    let started = client
        .json(
            "cloudtrail",
            &format!("{TARGET}.StartQuery"),
            &json!({ "QueryStatement": statement }),
        )
        .await?;
    let id = started["QueryId"]
        .as_str()
        .context("no QueryId in the answer")?
        .to_string();
    let mut delay = Duration::from_millis(50);
    let mut columns: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut input = json!({ "QueryId": id });
        if let Some(t) = &token {
            input["NextToken"] = t.clone().into();
        }
        let out = client
            .json("cloudtrail", &format!("{TARGET}.GetQueryResults"), &input)
            .await?;
        match out["QueryStatus"].as_str() {
            Some("QUEUED" | "RUNNING") => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(1));
                continue;
            }
            Some("FINISHED") => {}
            other => bail!(
                "query {id} ended with status {}: {}",
                other.unwrap_or("Unknown"),
                out["ErrorMessage"].as_str().unwrap_or("")
            ),
        }
        for row in out["QueryResultRows"].as_array().into_iter().flatten() {
            let cells: Vec<(String, String)> = row
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|cell| {
                    let (k, v) = cell.as_object()?.iter().next()?;
                    Some((k.clone(), v.as_str().unwrap_or_default().to_string()))
                })
                .collect();
            for (k, _) in &cells {
                if !columns.contains(k) {
                    columns.push(k.clone());
                }
            }
            rows.push(
                columns
                    .iter()
                    .map(|c| cells.iter().find(|(k, _)| k == c).map(|(_, v)| v.clone()))
                    .collect::<Vec<_>>(),
            );
        }
        match out["NextToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    for row in &mut rows {
        row.resize(columns.len(), None);
    }
    Ok((columns, rows))
}

/// Runs one SQL statement on a server (no time range: for statements over external
/// tables and definitions); its rows.
pub async fn remote_sql(
    client_args: &ClientArgs,
    text: &str,
) -> anyhow::Result<Vec<Vec<(String, String)>>> {
    let job = Job {
        sql: true,
        text: text.to_string(),
        groups: Vec::new(),
    };
    Ok(run_remote(client_args, None, &job, 0, 0).await?.0)
}

/// StartQuery, then GetQueryResults until the query ends.
async fn run_remote(
    client_args: &ClientArgs,
    limit: Option<u32>,
    job: &Job,
    start: i64,
    end: i64,
) -> anyhow::Result<Outcome> {
    let client = Client::new(&client_args.connect)?;
    let mut input = json!({
        "queryString": job.text,
        "queryLanguage": if job.sql { "SQL" } else { "CWLI" },
        "startTime": start,
        "endTime": end,
    });
    if !job.groups.is_empty() {
        input["logGroupNames"] = json!(job.groups);
    }
    if let Some(limit) = limit {
        input["limit"] = json!(limit);
    }
    let started = client
        .json("logs", "Logs_20140328.StartQuery", &input)
        .await?;
    let id = started["queryId"]
        .as_str()
        .context("no queryId in the answer")?
        .to_string();
    let mut delay = Duration::from_millis(50);
    let output = loop {
        let out = client
            .json(
                "logs",
                "Logs_20140328.GetQueryResults",
                &json!({ "queryId": id }),
            )
            .await?;
        match out["status"].as_str() {
            Some("Scheduled" | "Running") => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(1));
            }
            Some("Complete") => break out,
            other => bail!(
                "query {id} ended with status {}",
                other.unwrap_or("Unknown")
            ),
        }
    };
    let rows = output["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|row| {
            row.as_array()
                .into_iter()
                .flatten()
                .filter_map(|cell| {
                    Some((
                        cell["field"].as_str()?.to_string(),
                        cell["value"].as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .collect();
    let stats: &Value = &output["statistics"];
    Ok((
        rows,
        stats["recordsScanned"].as_f64().unwrap_or(0.0),
        stats["bytesScanned"].as_f64().unwrap_or(0.0),
    ))
}

/// Opens the data directory and runs the engine in this process.
async fn run_local(
    dir: &std::path::Path,
    client_args: &ClientArgs,
    range: &RangeArgs,
    job: &Job,
    start: i64,
    end: i64,
) -> anyhow::Result<Outcome> {
    let store = store::Store::open(store::StoreOptions::new(dir)).with_context(|| {
        format!(
            "cannot open {} (stop the server, or query it with --endpoint)",
            dir.display()
        )
    })?;
    let scope = crate::client::local_scope(&store, range.account.as_deref(), client_args)?;
    let limit = range.limit.unwrap_or(10_000) as usize;
    let (start_ms, end_ms) = (start * 1000, end * 1000 + 999);
    let output = if job.sql {
        if let Some(table) = query::engine::create_external_table(&store, &scope, &job.text).await?
        {
            let row = vec![
                ("table".to_string(), table.name),
                ("format".to_string(), table.format),
                ("location".to_string(), table.location),
            ];
            return Ok((vec![row], 0.0, 0.0));
        }
        let tables = query::engine::check_sql(&store, &scope, &job.text)?;
        query::engine::run_sql(&store, &tables, &job.text, start_ms, end_ms, limit).await?
    } else {
        let prepared = query::engine::prepare(&job.text, start_ms, end_ms, limit)?;
        let groups = match (prepared.source(), job.groups.is_empty()) {
            (Some(source), _) => query::engine::source_groups(&store, &scope, source)?,
            (None, true) => bail!("name a log group with -g, or start the query with SOURCE"),
            (None, false) => job
                .groups
                .iter()
                .map(|g| {
                    store
                        .catalog()
                        .group(&scope, g)
                        .with_context(|| format!("log group {g}"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?,
        };
        query::engine::run_prepared(
            &store,
            &groups,
            prepared,
            query::engine::Parallelism::BySize,
        )
        .await?
    };
    Ok((
        output.rows,
        output.records_scanned as f64,
        output.bytes_scanned as f64,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_times() {
        assert_eq!(parse_duration("90s").unwrap(), 90);
        assert_eq!(parse_duration("2h").unwrap(), 7200);
        assert!(parse_duration("2y").is_err());
        assert_eq!(parse_time("1700000000").unwrap(), 1_700_000_000);
        assert_eq!(parse_time("2023-11-14T22:13:20Z").unwrap(), 1_700_000_000);
        assert!(parse_time("yesterday").is_err());
    }
}
