//! `trailwatch archive`: lifecycle policies, archive passes and what is where, through a
//! running server's `Trailwatch_20261127.*` archive operations.
//!
//! - `archive policy --group G --archive-after-days N [--delete-after-days M]`
//! - `archive policy --group G --show | --delete`
//! - `archive run [--group G]`
//! - `archive status [--group G] [--output json]`

use crate::client::{Client, ClientArgs, Output, print_records};
use anyhow::Context;
use clap::{ArgGroup, Args, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};
use std::io::IsTerminal;

/// Options of `trailwatch archive`.
#[derive(Args)]
pub struct ArchiveArgs {
    #[command(subcommand)]
    command: ArchiveCommand,
    #[command(flatten)]
    client: ClientArgs,
}

#[derive(Subcommand)]
enum ArchiveCommand {
    /// Set, show or delete a log group's lifecycle policy.
    Policy(PolicyArgs),
    /// Archive now what the policies say is due (every group with a policy, or one).
    Run(GroupArg),
    /// Per group: the policy, local segments, archived files and the archive location.
    Status(GroupArg),
}

#[derive(Args)]
#[command(group(ArgGroup::new("action").required(true).args(["archive_after_days", "show", "delete"])))]
struct PolicyArgs {
    /// The log group.
    #[arg(short = 'g', long)]
    group: String,
    /// Move hours wholly older than this many days to the archive.
    #[arg(long)]
    archive_after_days: Option<i64>,
    /// Delete events older than this many days, local or archived (more than
    /// --archive-after-days; default: never).
    #[arg(long, requires = "archive_after_days")]
    delete_after_days: Option<i64>,
    /// Print the group's policy.
    #[arg(long)]
    show: bool,
    /// Remove the group's policy (archived files stay, and stay queryable).
    #[arg(long)]
    delete: bool,
}

#[derive(Args)]
struct GroupArg {
    /// Only this log group.
    #[arg(short = 'g', long)]
    group: Option<String>,
}

fn target(op: &str) -> String {
    format!("Trailwatch_20261127.{op}")
}

/// Runs `trailwatch archive`.
pub async fn run(args: ArchiveArgs) -> anyhow::Result<()> {
    let client = Client::new(&args.client.connect)?;
    let output = args.client.output;
    match args.command {
        ArchiveCommand::Policy(p) => policy(&client, output, p).await,
        ArchiveCommand::Run(g) => run_pass(&client, output, g.group).await,
        ArchiveCommand::Status(g) => status(&client, output, g.group).await,
    }
}

async fn call(client: &Client, op: &str, input: Value) -> anyhow::Result<Value> {
    client
        .json("logs", &target(op), &input)
        .await
        .with_context(|| format!("{op} failed"))
}

fn days(v: Option<&Value>) -> String {
    v.and_then(Value::as_i64)
        .map_or_else(|| "never".to_string(), |d| d.to_string())
}

async fn policy(client: &Client, output: Output, p: PolicyArgs) -> anyhow::Result<()> {
    let group = json!({ "logGroupName": p.group });
    if p.delete {
        call(client, "DeleteLifecyclePolicy", group).await?;
        println!("Deleted the lifecycle policy of {}.", p.group);
        return Ok(());
    }
    if p.show {
        let answer = call(client, "GetLifecyclePolicy", group).await?;
        let policy = &answer["lifecyclePolicy"];
        if output == Output::Json {
            println!("{}", serde_json::to_string_pretty(policy)?);
            return Ok(());
        }
        print_records(
            output,
            &["group", "archive_after_days", "delete_after_days"],
            &[vec![
                p.group.clone(),
                days(policy.get("archiveAfterDays")),
                days(policy.get("deleteAfterDays")),
            ]],
        );
        return Ok(());
    }
    let mut input = json!({
        "logGroupName": p.group,
        "archiveAfterDays": p.archive_after_days,
    });
    if let Some(d) = p.delete_after_days {
        input["deleteAfterDays"] = json!(d);
    }
    call(client, "PutLifecyclePolicy", input).await?;
    println!(
        "{}: archive after {} days, delete after {}.",
        p.group,
        days(Some(&json!(p.archive_after_days))),
        p.delete_after_days
            .map_or_else(|| "never".to_string(), |d| format!("{d} days"))
    );
    Ok(())
}

/// `2026-11-27T13` from epoch milliseconds.
fn hour_text(ms: Option<i64>) -> String {
    ms.and_then(model::time::to_datetime)
        .map(|t| t.format("%Y-%m-%dT%H").to_string())
        .unwrap_or_default()
}

/// `2026-11-27` from epoch milliseconds.
fn date_text(ms: Option<i64>) -> String {
    ms.and_then(model::time::to_datetime)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

fn bytes_text(n: i64) -> String {
    indicatif::BinaryBytes(u64::try_from(n).unwrap_or(0)).to_string()
}

async fn run_pass(client: &Client, output: Output, group: Option<String>) -> anyhow::Result<()> {
    // One call per group, so a terminal can show how far the pass is.
    let groups: Vec<String> = match group {
        Some(g) => vec![g],
        None => call(client, "DescribeArchive", json!({}))
            .await?
            .get("logGroups")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|g| g.get("lifecyclePolicy").is_some())
            .filter_map(|g| g["logGroupName"].as_str().map(str::to_string))
            .collect(),
    };
    let bar = if std::io::stderr().is_terminal() {
        let bar =
            ProgressBar::with_draw_target(Some(groups.len() as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {bar:30} {pos}/{len} groups {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut archived = Vec::new();
    let mut orphans = 0;
    let mut location = String::new();
    for name in &groups {
        bar.set_message(name.clone());
        let answer = call(client, "RunArchive", json!({ "logGroupName": name })).await?;
        orphans += answer["orphansRemoved"].as_i64().unwrap_or(0);
        location = answer["location"].as_str().unwrap_or_default().to_string();
        archived.extend(answer["archived"].as_array().cloned().unwrap_or_default());
        bar.inc(1);
    }
    bar.finish_and_clear();
    if output == Output::Json {
        let answer =
            json!({ "location": location, "archived": archived, "orphansRemoved": orphans });
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = archived
        .iter()
        .map(|h| {
            vec![
                h["logGroupName"].as_str().unwrap_or_default().to_string(),
                hour_text(h["hour"].as_i64()),
                h["segments"].to_string(),
                h["events"].to_string(),
                bytes_text(h["bytes"].as_i64().unwrap_or(0)),
                h["path"].as_str().unwrap_or("(no live events)").to_string(),
            ]
        })
        .collect();
    if !rows.is_empty() {
        print_records(
            output,
            &["group", "hour", "segments", "events", "bytes", "path"],
            &rows,
        );
    }
    if output == Output::Table {
        let total: i64 = archived.iter().filter_map(|h| h["bytes"].as_i64()).sum();
        println!(
            "Archived {} hours ({}) of {} groups to {location}; removed {orphans} unfinished uploads.",
            archived.len(),
            bytes_text(total),
            groups.len()
        );
    }
    Ok(())
}

async fn status(client: &Client, output: Output, group: Option<String>) -> anyhow::Result<()> {
    let input = match &group {
        Some(g) => json!({ "logGroupName": g }),
        None => json!({}),
    };
    let answer = call(client, "DescribeArchive", input).await?;
    if output == Output::Json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(());
    }
    let location = answer["location"].as_str().unwrap_or_default();
    let range = |a: String, b: String| {
        if a.is_empty() {
            "-".to_string()
        } else if a == b {
            a
        } else {
            format!("{a} .. {b}")
        }
    };
    let rows: Vec<Vec<String>> = answer["logGroups"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| {
            let policy = match g.get("lifecyclePolicy") {
                Some(p) => format!(
                    "archive {}d, delete {}",
                    p["archiveAfterDays"],
                    p.get("deleteAfterDays")
                        .map_or_else(|| "never".to_string(), |d| format!("{d}d"))
                ),
                None => "-".to_string(),
            };
            let (local, archived) = (&g["local"], &g["archived"]);
            vec![
                g["logGroupName"].as_str().unwrap_or_default().to_string(),
                policy,
                local["files"].to_string(),
                bytes_text(local["bytes"].as_i64().unwrap_or(0)),
                range(
                    hour_text(local["oldestHour"].as_i64()),
                    hour_text(local["newestHour"].as_i64()),
                ),
                archived["files"].to_string(),
                bytes_text(archived["bytes"].as_i64().unwrap_or(0)),
                range(
                    date_text(archived["oldestHour"].as_i64()),
                    date_text(archived["newestHour"].as_i64()),
                ),
                location.to_string(),
            ]
        })
        .collect();
    print_records(
        output,
        &[
            "group",
            "policy",
            "local_files",
            "local_bytes",
            "local_hours",
            "archived_files",
            "archived_bytes",
            "archived_dates",
            "location",
        ],
        &rows,
    );
    Ok(())
}
