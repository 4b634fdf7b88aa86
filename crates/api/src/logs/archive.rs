//! Trailwatch's lifecycle and archive operations (`Trailwatch_20261127.*`), for
//! `trailwatch archive`:
//! - `PutLifecyclePolicy` / `GetLifecyclePolicy` / `DeleteLifecyclePolicy`: archive a
//!   group's hours older than `archiveAfterDays`, delete events older than
//!   `deleteAfterDays`;
//! - `DescribeArchive`: per group, the policy and what is local and what archived;
//! - `RunArchive`: an archive pass now, answering with what moved.
//!
//! Each is authorized as `logs:<operation>` on the group (`*` for passes over every group).

use super::{Ctx, check_range, empty, group_name, parse, required};
use crate::error::ApiError;
use serde::Deserialize;
use serde_json::{Value, json};
use store::{GroupRow, LifecyclePolicy, Tier, TierSummary};

/// Longest lifecycle period accepted, in days: AWS's longest retention (10 years).
const MAX_DAYS: i64 = 3653;

/// The operations [`handle`] runs.
pub(crate) const OPERATIONS: &[&str] = &[
    "PutLifecyclePolicy",
    "GetLifecyclePolicy",
    "DeleteLifecyclePolicy",
    "DescribeArchive",
    "RunArchive",
];

/// Runs one of [`OPERATIONS`].
pub(crate) async fn handle(ctx: &Ctx<'_>, op: &str, body: &[u8]) -> Result<Value, ApiError> {
    match op {
        "PutLifecyclePolicy" => put_policy(ctx, parse(body)?),
        "GetLifecyclePolicy" => get_policy(ctx, parse(body)?),
        "DeleteLifecyclePolicy" => delete_policy(ctx, parse(body)?),
        "DescribeArchive" => describe(ctx, parse(body)?),
        "RunArchive" => run(ctx, parse(body)?).await,
        _ => Err(ApiError::client("UnknownOperationException", "")),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PolicyInput {
    log_group_name: Option<String>,
    archive_after_days: Option<i64>,
    delete_after_days: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GroupInput {
    log_group_name: Option<String>,
}

fn no_policy() -> ApiError {
    ApiError::not_found("The specified lifecycle policy does not exist.")
}

fn policy_json(group: &str, policy: &LifecyclePolicy) -> Value {
    let mut out = json!({
        "logGroupName": group,
        "archiveAfterDays": policy.archive_after_days,
    });
    if let Some(days) = policy.delete_after_days {
        out["deleteAfterDays"] = json!(days);
    }
    out
}

/// The named group, authorized for `action`.
fn named_group(ctx: &Ctx<'_>, name: &Option<String>, action: &str) -> Result<GroupRow, ApiError> {
    let name = group_name(name, "logGroupName")?;
    ctx.authorize(action, &ctx.group_arn(name.as_str()))?;
    Ok(ctx
        .state
        .store
        .catalog()
        .group(ctx.scope(), name.as_str())?)
}

fn put_policy(ctx: &Ctx<'_>, input: PolicyInput) -> Result<Value, ApiError> {
    let archive = *required(&input.archive_after_days, "archiveAfterDays")?;
    check_range(Some(archive), "archiveAfterDays", 1, MAX_DAYS)?;
    check_range(input.delete_after_days, "deleteAfterDays", 1, MAX_DAYS)?;
    if let Some(delete) = input.delete_after_days
        && delete <= archive
    {
        return Err(ApiError::invalid_parameter(
            "deleteAfterDays must be greater than archiveAfterDays.",
        ));
    }
    let group = named_group(ctx, &input.log_group_name, "PutLifecyclePolicy")?;
    // Both fit: check_range bounded them by MAX_DAYS.
    let policy = LifecyclePolicy {
        archive_after_days: archive as i32,
        delete_after_days: input.delete_after_days.map(|d| d as i32),
    };
    ctx.state.store.catalog().put_lifecycle(group.id, &policy)?;
    Ok(empty())
}

fn get_policy(ctx: &Ctx<'_>, input: GroupInput) -> Result<Value, ApiError> {
    let group = named_group(ctx, &input.log_group_name, "GetLifecyclePolicy")?;
    let policy = ctx
        .state
        .store
        .catalog()
        .lifecycle(group.id)?
        .ok_or_else(no_policy)?;
    Ok(json!({ "lifecyclePolicy": policy_json(&group.name, &policy) }))
}

fn delete_policy(ctx: &Ctx<'_>, input: GroupInput) -> Result<Value, ApiError> {
    let group = named_group(ctx, &input.log_group_name, "DeleteLifecyclePolicy")?;
    if !ctx.state.store.catalog().delete_lifecycle(group.id)? {
        return Err(no_policy());
    }
    Ok(empty())
}

/// The named group, or every group of the caller's scope, authorized for `action`.
fn groups(ctx: &Ctx<'_>, name: &Option<String>, action: &str) -> Result<Vec<GroupRow>, ApiError> {
    if name.is_some() {
        return Ok(vec![named_group(ctx, name, action)?]);
    }
    ctx.authorize(action, &ctx.group_arn("*"))?;
    let mut all: Vec<GroupRow> = ctx
        .state
        .store
        .catalog()
        .all_groups()?
        .into_iter()
        .filter(|g| &g.scope == ctx.scope())
        .collect();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(all)
}

fn tier_json(summary: &TierSummary) -> Value {
    json!({
        "files": summary.files,
        "bytes": summary.bytes,
        "events": summary.rows,
        "oldestHour": summary.oldest_hour,
        "newestHour": summary.newest_hour,
    })
}

fn describe(ctx: &Ctx<'_>, input: GroupInput) -> Result<Value, ApiError> {
    let catalog = ctx.state.store.catalog();
    let mut out = Vec::new();
    for group in groups(ctx, &input.log_group_name, "DescribeArchive")? {
        let mut entry = json!({
            "logGroupName": group.name,
            "local": tier_json(&catalog.tier_summary(group.id, Tier::Local)?),
            "archived": tier_json(&catalog.tier_summary(group.id, Tier::Archive)?),
        });
        if let Some(policy) = catalog.lifecycle(group.id)? {
            entry["lifecyclePolicy"] = policy_json(&group.name, &policy);
        }
        out.push(entry);
    }
    Ok(json!({
        "location": ctx.state.store.archive_location().url(),
        "logGroups": out,
    }))
}

async fn run(ctx: &Ctx<'_>, input: GroupInput) -> Result<Value, ApiError> {
    let targets = groups(ctx, &input.log_group_name, "RunArchive")?;
    let catalog = ctx.state.store.catalog();
    if input.log_group_name.is_some() {
        for group in &targets {
            if catalog.lifecycle(group.id)?.is_none() {
                return Err(no_policy());
            }
        }
    }
    let mut archived = Vec::new();
    let mut orphans = 0;
    for group in targets {
        if catalog.lifecycle(group.id)?.is_none() {
            continue;
        }
        let report = ctx.state.store.run_archive(Some(group.id)).await?;
        orphans += report.orphans_removed;
        archived.extend(report.files.into_iter().map(|h| {
            json!({
                "logGroupName": h.group,
                "hour": h.hour,
                "segments": h.segments,
                "events": h.rows,
                "bytes": h.bytes,
                "path": h.path,
            })
        }));
    }
    Ok(json!({
        "location": ctx.state.store.archive_location().url(),
        "archived": archived,
        "orphansRemoved": orphans,
    }))
}
