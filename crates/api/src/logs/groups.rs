//! Log group operations: create, delete, describe, list, retention.

use super::{Ctx, check_enum, check_len, check_range, empty, group_name, required};
use crate::error::{ApiError, constraint};
use crate::logs::tags::validate_tags;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use store::{GroupRow, NewGroup};

const GROUP_CLASSES: [&str; 4] = ["STANDARD", "INFREQUENT_ACCESS", "DELIVERY", "ESSENTIALS"];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateInput {
    log_group_name: Option<String>,
    kms_key_id: Option<String>,
    tags: Option<BTreeMap<String, String>>,
    log_group_class: Option<String>,
    deletion_protection_enabled: Option<bool>,
}

pub(crate) async fn create(ctx: &Ctx<'_>, input: CreateInput) -> Result<Value, ApiError> {
    let name = group_name(&input.log_group_name, "logGroupName")?;
    if name.as_str().starts_with("aws/") {
        return Err(ApiError::invalid_parameter(
            "Log group names cannot start with 'aws/', which is reserved for AWS.",
        ));
    }
    check_len(input.kms_key_id.as_deref(), "kmsKeyId", 0, 256)?;
    check_enum(
        input.log_group_class.as_deref(),
        "logGroupClass",
        &GROUP_CLASSES,
    )?;
    if let Some(tags) = &input.tags {
        validate_tags(tags, "tags")?;
    }
    ctx.authorize("CreateLogGroup", &ctx.group_arn(name.as_str()))?;
    let new = NewGroup {
        kms_key_id: input.kms_key_id,
        log_group_class: input.log_group_class,
        deletion_protection: input.deletion_protection_enabled.unwrap_or(false),
        tags: input.tags.unwrap_or_default(),
    };
    ctx.state.store.catalog().create_group(
        ctx.scope(),
        name.as_str(),
        model::time::now_ms(),
        &new,
    )?;
    Ok(empty())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NameInput {
    log_group_name: Option<String>,
}

pub(crate) async fn delete(ctx: &Ctx<'_>, input: NameInput) -> Result<Value, ApiError> {
    let name = group_name(&input.log_group_name, "logGroupName")?;
    ctx.authorize("DeleteLogGroup", &ctx.group_arn(name.as_str()))?;
    let group = ctx
        .state
        .store
        .catalog()
        .group(ctx.scope(), name.as_str())?;
    if group.deletion_protection {
        return Err(ApiError::client(
            "ValidationException",
            "Log group deletion protection is enabled. Disable deletion protection to delete the log group.",
        ));
    }
    ctx.state
        .store
        .delete_group(ctx.scope(), name.as_str())
        .await?;
    Ok(empty())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeInput {
    log_group_name_prefix: Option<String>,
    log_group_name_pattern: Option<String>,
    next_token: Option<String>,
    limit: Option<i64>,
    log_group_class: Option<String>,
    log_group_identifiers: Option<Vec<String>>,
}

/// The `LogGroup` structure DescribeLogGroups returns. With a name pattern AWS returns
/// only the identifying members (reference §2.3); `brief` asks for that form.
fn describe_group(ctx: &Ctx<'_>, g: &GroupRow, brief: bool) -> Result<Value, ApiError> {
    let arn = ctx.group_arn(&g.name);
    if brief {
        return Ok(json!({
            "arn": format!("{arn}:*"),
            "creationTime": g.creation_time,
            "logGroupArn": arn,
            "logGroupClass": g.log_group_class,
            "logGroupName": g.name,
            "metricFilterCount": 0,
        }));
    }
    let mut out = Map::new();
    out.insert("logGroupName".into(), json!(g.name));
    out.insert("creationTime".into(), json!(g.creation_time));
    if let Some(days) = g.retention_days {
        out.insert("retentionInDays".into(), json!(days));
    }
    out.insert("metricFilterCount".into(), json!(0));
    out.insert("arn".into(), json!(format!("{arn}:*")));
    out.insert(
        "storedBytes".into(),
        json!(ctx.state.store.stored_bytes(g.id)?),
    );
    if let Some(kms) = &g.kms_key_id {
        out.insert("kmsKeyId".into(), json!(kms));
    }
    out.insert("logGroupClass".into(), json!(g.log_group_class));
    out.insert("logGroupArn".into(), json!(arn));
    out.insert(
        "deletionProtectionEnabled".into(),
        json!(g.deletion_protection),
    );
    Ok(Value::Object(out))
}

pub(crate) async fn describe(ctx: &Ctx<'_>, input: DescribeInput) -> Result<Value, ApiError> {
    if input.log_group_name_prefix.is_some() && input.log_group_name_pattern.is_some() {
        return Err(ApiError::invalid_parameter(
            "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.",
        ));
    }
    check_len(
        input.log_group_name_prefix.as_deref(),
        "logGroupNamePrefix",
        1,
        512,
    )?;
    check_len(
        input.log_group_name_pattern.as_deref(),
        "logGroupNamePattern",
        0,
        512,
    )?;
    check_range(input.limit, "limit", 1, 50)?;
    check_enum(
        input.log_group_class.as_deref(),
        "logGroupClass",
        &GROUP_CLASSES,
    )?;
    ctx.authorize("DescribeLogGroups", &ctx.group_arn("*"))?;
    let limit = input.limit.unwrap_or(50) as usize;
    let catalog = ctx.state.store.catalog();
    if let Some(ids) = &input.log_group_identifiers {
        if ids.is_empty() || ids.len() > 50 {
            return Err(constraint(
                &format!("[{}]", ids.join(", ")),
                "logGroupIdentifiers",
                "Member must have length less than or equal to 50",
            ));
        }
        let mut groups = Vec::new();
        for id in ids {
            let name = if id.starts_with("arn:") {
                match model::parse_log_group_arn(id) {
                    Some((scope, name)) if &scope == ctx.scope() => name,
                    _ => continue,
                }
            } else {
                id.clone()
            };
            match catalog.group(ctx.scope(), &name) {
                Ok(g) => groups.push(describe_group(ctx, &g, false)?),
                Err(store::StoreError::GroupNotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        return Ok(json!({ "logGroups": groups }));
    }
    let prefix = input.log_group_name_prefix.clone().unwrap_or_default();
    let pattern = input.log_group_name_pattern.clone();
    let class = input.log_group_class.clone();
    let after = input.next_token.as_deref().map(decode_token).transpose()?;
    // The class is filtered with the names, before the page is cut, so a page is full
    // whenever more groups follow.
    let keep = |g: &GroupRow| {
        g.name.starts_with(&prefix)
            && pattern.as_deref().is_none_or(|p| g.name.contains(p))
            && class.as_deref().is_none_or(|c| g.log_group_class == c)
    };
    let rows = catalog.groups(ctx.scope(), after.as_deref(), limit + 1, &keep)?;
    let brief = input.log_group_name_pattern.is_some();
    page(rows, limit, |g| describe_group(ctx, g, brief))
}

/// Renders up to `limit` groups, with a `nextToken` when one more exists.
fn page(
    mut rows: Vec<GroupRow>,
    limit: usize,
    render: impl Fn(&GroupRow) -> Result<Value, ApiError>,
) -> Result<Value, ApiError> {
    let more = rows.len() > limit;
    rows.truncate(limit);
    let items = rows.iter().map(render).collect::<Result<Vec<_>, _>>()?;
    let mut out = Map::new();
    out.insert("logGroups".into(), Value::Array(items));
    if more && let Some(last) = rows.last() {
        out.insert("nextToken".into(), json!(encode_token(&last.name)));
    }
    Ok(Value::Object(out))
}

/// Group listings page by the last name returned, hex-encoded so it reads as opaque.
fn encode_token(name: &str) -> String {
    name.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_token(token: &str) -> Result<String, ApiError> {
    let invalid = || ApiError::invalid_parameter("The specified nextToken is invalid.");
    if !token.len().is_multiple_of(2) {
        return Err(invalid());
    }
    let bytes = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2).unwrap_or("zz"), 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| invalid())?;
    String::from_utf8(bytes).map_err(|_| invalid())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListInput {
    log_group_name_pattern: Option<String>,
    log_group_class: Option<String>,
    next_token: Option<String>,
    limit: Option<i64>,
}

/// ListLogGroups' pattern dialect: up to five `|`-separated alternatives of 3–24 name
/// characters, each optionally anchored with `^`; case-sensitive substring match.
fn list_pattern(pattern: &str) -> Result<Vec<(bool, String)>, ApiError> {
    let bad = || {
        constraint(
            pattern,
            "logGroupNamePattern",
            "Member must satisfy regular expression pattern: (\\^?[\\.\\-_\\/#A-Za-z0-9]{3,24})(\\|\\^?[\\.\\-_\\/#A-Za-z0-9]{3,24}){0,4}",
        )
    };
    let alternatives: Vec<&str> = pattern.split('|').collect();
    if alternatives.len() > 5 {
        return Err(bad());
    }
    alternatives
        .into_iter()
        .map(|alt| {
            let (anchored, text) = match alt.strip_prefix('^') {
                Some(rest) => (true, rest),
                None => (false, alt),
            };
            let ok =
                (3..=24).contains(&text.len()) && text.chars().all(model::names::is_group_char);
            ok.then(|| (anchored, text.to_string())).ok_or_else(bad)
        })
        .collect()
}

pub(crate) async fn list(ctx: &Ctx<'_>, input: ListInput) -> Result<Value, ApiError> {
    check_range(input.limit, "limit", 1, 1000)?;
    check_enum(
        input.log_group_class.as_deref(),
        "logGroupClass",
        &GROUP_CLASSES,
    )?;
    let alternatives = input
        .log_group_name_pattern
        .as_deref()
        .map(list_pattern)
        .transpose()?;
    ctx.authorize("ListLogGroups", &ctx.group_arn("*"))?;
    let limit = input.limit.unwrap_or(50) as usize;
    let after = input.next_token.as_deref().map(decode_token).transpose()?;
    let class = input.log_group_class.clone();
    let keep = |g: &GroupRow| {
        let name = g.name.as_str();
        class.as_deref().is_none_or(|c| g.log_group_class == c)
            && alternatives.as_ref().is_none_or(|alts| {
                alts.iter().any(|(anchored, text)| {
                    if *anchored {
                        name.starts_with(text.as_str())
                    } else {
                        name.contains(text.as_str())
                    }
                })
            })
    };
    let rows = ctx
        .state
        .store
        .catalog()
        .groups(ctx.scope(), after.as_deref(), limit + 1, &keep)?;
    page(rows, limit, |g| {
        Ok(json!({
            "logGroupName": g.name,
            "logGroupArn": ctx.group_arn(&g.name),
            "logGroupClass": g.log_group_class,
        }))
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RetentionInput {
    log_group_name: Option<String>,
    retention_in_days: Option<i64>,
}

pub(crate) async fn put_retention(ctx: &Ctx<'_>, input: RetentionInput) -> Result<Value, ApiError> {
    let name = group_name(&input.log_group_name, "logGroupName")?;
    let days = *required(&input.retention_in_days, "retentionInDays")?;
    let Some(days) = i32::try_from(days)
        .ok()
        .filter(|d| model::RETENTION_DAYS.contains(d))
    else {
        let allowed: Vec<String> = model::RETENTION_DAYS
            .iter()
            .map(|d| d.to_string())
            .collect();
        return Err(constraint(
            &days.to_string(),
            "retentionInDays",
            &format!(
                "Member must satisfy enum value set: [{}]",
                allowed.join(", ")
            ),
        ));
    };
    ctx.authorize("PutRetentionPolicy", &ctx.group_arn(name.as_str()))?;
    let catalog = ctx.state.store.catalog();
    let group = catalog.group(ctx.scope(), name.as_str())?;
    catalog.set_retention(group.id, Some(days))?;
    Ok(empty())
}

pub(crate) async fn delete_retention(ctx: &Ctx<'_>, input: NameInput) -> Result<Value, ApiError> {
    let name = group_name(&input.log_group_name, "logGroupName")?;
    ctx.authorize("DeleteRetentionPolicy", &ctx.group_arn(name.as_str()))?;
    let catalog = ctx.state.store.catalog();
    let group = catalog.group(ctx.scope(), name.as_str())?;
    catalog.set_retention(group.id, None)?;
    Ok(empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        let t = encode_token("/aws/lambda/x");
        assert_eq!(decode_token(&t).unwrap(), "/aws/lambda/x");
        assert!(decode_token("zz").is_err());
        assert!(decode_token("abc").is_err());
    }

    #[test]
    fn list_patterns_follow_the_model_regex() {
        assert_eq!(
            list_pattern("^app|web").unwrap(),
            vec![(true, "app".to_string()), (false, "web".to_string())]
        );
        assert!(list_pattern("ab").is_err());
        assert!(list_pattern("a|b|c|d|e|f").is_err());
        assert!(list_pattern("has space").is_err());
    }
}
