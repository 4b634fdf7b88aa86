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
    /// `SELECT "@logStream", count(*) FROM "app" GROUP BY 1`.
    query: String,
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

/// Runs an Insights query, polling until it ends, and prints its rows.
pub async fn run(args: QueryArgs) -> anyhow::Result<()> {
    let mut input = json!({ "queryString": args.query, "queryLanguage": "CWLI" });
    if !args.groups.is_empty() {
        input["logGroupNames"] = json!(args.groups);
    }
    execute(&args.client, &args.range, input).await
}

/// Runs a SQL query, polling until it ends, and prints its rows.
pub async fn run_sql(args: SqlArgs) -> anyhow::Result<()> {
    let input = json!({ "queryString": args.query, "queryLanguage": "SQL" });
    execute(&args.client, &args.range, input).await
}

async fn execute(
    client_args: &ClientArgs,
    range: &RangeArgs,
    mut input: Value,
) -> anyhow::Result<()> {
    let client = Client::new(client_args)?;
    let (start, end) = match (&range.start, &range.end) {
        (Some(s), Some(e)) => (parse_time(s)?, parse_time(e)?),
        _ => {
            let now = chrono::Utc::now().timestamp();
            (now - parse_duration(&range.since)?, now)
        }
    };
    input["startTime"] = json!(start);
    input["endTime"] = json!(end);
    if let Some(limit) = range.limit {
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
    let rows = output["results"].as_array().cloned().unwrap_or_default();
    // Columns in the order fields first appear, `@ptr` left out: it is for programs
    // that call GetLogRecord, and they can ask for JSON.
    let mut headers: Vec<String> = Vec::new();
    for row in &rows {
        for cell in row.as_array().into_iter().flatten() {
            if let Some(field) = cell["field"].as_str()
                && field != "@ptr"
                && !headers.iter().any(|h| h == field)
            {
                headers.push(field.to_string());
            }
        }
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            headers
                .iter()
                .map(|h| {
                    row.as_array()
                        .into_iter()
                        .flatten()
                        .find(|c| c["field"].as_str() == Some(h))
                        .and_then(|c| c["value"].as_str())
                        .unwrap_or("")
                        .to_string()
                })
                .collect()
        })
        .collect();
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    print_records(client_args.output, &header_refs, &table);
    if client_args.output == crate::client::Output::Table {
        let stats: &Value = &output["statistics"];
        eprintln!(
            "{} rows; {} records scanned, {} bytes",
            table.len(),
            stats["recordsScanned"].as_f64().unwrap_or(0.0),
            stats["bytesScanned"].as_f64().unwrap_or(0.0)
        );
    }
    Ok(())
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
