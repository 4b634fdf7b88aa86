//! Tagging: TagResource / UntagResource / ListTagsForResource on group ARNs, and the older
//! TagLogGroup / UntagLogGroup / ListTagsLogGroup on names. Both read and write one tag set.

use super::{Ctx, empty, group_name, required};
use crate::error::{ApiError, constraint};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use store::GroupRow;

/// AWS's limit of tags per resource.
pub(crate) const MAX_TAGS: usize = 50;
const TAG_PATTERN: &str = "^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+)$";

fn tag_char(c: char) -> bool {
    c.is_alphabetic()
        || c.is_numeric()
        || c.is_whitespace()
        || matches!(c, '_' | '.' | ':' | '/' | '=' | '+' | '-' | '@')
}

fn validate_key(key: &str, member: &str) -> Result<(), ApiError> {
    let len = key.chars().count();
    if len == 0 || len > 128 {
        return Err(constraint(
            key,
            member,
            "Member must have length less than or equal to 128",
        ));
    }
    if !key.chars().all(tag_char) {
        return Err(constraint(
            key,
            member,
            &format!("Member must satisfy regular expression pattern: {TAG_PATTERN}"),
        ));
    }
    Ok(())
}

/// Checks a tag map against AWS's key, value and count rules.
pub(crate) fn validate_tags(tags: &BTreeMap<String, String>, member: &str) -> Result<(), ApiError> {
    if tags.is_empty() || tags.len() > MAX_TAGS {
        return Err(constraint(
            &format!("{tags:?}"),
            member,
            "Member must have length less than or equal to 50",
        ));
    }
    for (k, v) in tags {
        validate_key(k, &format!("{member}.{k}.member.key"))?;
        if v.chars().count() > 256 {
            return Err(constraint(
                v,
                &format!("{member}.{k}.member.value"),
                "Member must have length less than or equal to 256",
            ));
        }
        if !v.chars().all(tag_char) {
            return Err(constraint(
                v,
                &format!("{member}.{k}.member.value"),
                "Member must satisfy regular expression pattern: ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$",
            ));
        }
    }
    Ok(())
}

/// The group a tagging ARN names, in the caller's scope.
fn group_of_arn(ctx: &Ctx<'_>, arn: &Option<String>) -> Result<(GroupRow, String), ApiError> {
    let arn = required(arn, "resourceArn")?;
    super::check_len(Some(arn), "resourceArn", 1, 1011)?;
    let name = match model::parse_log_group_arn(arn) {
        Some((scope, name)) if &scope == ctx.scope() => name,
        _ => {
            return Err(ApiError::not_found(
                "The specified resource does not exist.",
            ));
        }
    };
    let group = ctx.state.store.catalog().group(ctx.scope(), &name)?;
    Ok((group, ctx.group_arn(&name)))
}

fn tag(
    ctx: &Ctx<'_>,
    group: &GroupRow,
    tags: &BTreeMap<String, String>,
) -> Result<Value, ApiError> {
    let arn = ctx.group_arn(&group.name);
    ctx.state
        .store
        .catalog()
        .tag(group.id, tags, MAX_TAGS, &arn)?;
    Ok(empty())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TagResourceInput {
    resource_arn: Option<String>,
    tags: Option<BTreeMap<String, String>>,
}

pub(crate) async fn tag_resource(
    ctx: &Ctx<'_>,
    input: TagResourceInput,
) -> Result<Value, ApiError> {
    let tags = required(&input.tags, "tags")?;
    validate_tags(tags, "tags")?;
    let (group, arn) = group_of_arn(ctx, &input.resource_arn)?;
    ctx.authorize("TagResource", &arn)?;
    tag(ctx, &group, tags)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UntagResourceInput {
    resource_arn: Option<String>,
    tag_keys: Option<Vec<String>>,
}

pub(crate) async fn untag_resource(
    ctx: &Ctx<'_>,
    input: UntagResourceInput,
) -> Result<Value, ApiError> {
    let keys = required(&input.tag_keys, "tagKeys")?;
    for k in keys {
        validate_key(k, "tagKeys")?;
    }
    let (group, arn) = group_of_arn(ctx, &input.resource_arn)?;
    ctx.authorize("UntagResource", &arn)?;
    ctx.state.store.catalog().untag(group.id, keys)?;
    Ok(empty())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ResourceInput {
    resource_arn: Option<String>,
}

pub(crate) async fn list_for_resource(
    ctx: &Ctx<'_>,
    input: ResourceInput,
) -> Result<Value, ApiError> {
    let (group, arn) = group_of_arn(ctx, &input.resource_arn)?;
    ctx.authorize("ListTagsForResource", &arn)?;
    Ok(json!({ "tags": ctx.state.store.catalog().tags(group.id)? }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TagLogGroupInput {
    log_group_name: Option<String>,
    tags: Option<BTreeMap<String, String>>,
}

pub(crate) async fn tag_log_group(
    ctx: &Ctx<'_>,
    input: TagLogGroupInput,
) -> Result<Value, ApiError> {
    let name = group_name(&input.log_group_name, "logGroupName")?;
    let tags = required(&input.tags, "tags")?;
    validate_tags(tags, "tags")?;
    ctx.authorize("TagLogGroup", &ctx.group_arn(name.as_str()))?;
    let group = ctx
        .state
        .store
        .catalog()
        .group(ctx.scope(), name.as_str())?;
    tag(ctx, &group, tags)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UntagLogGroupInput {
    log_group_name: Option<String>,
    tags: Option<Vec<String>>,
}

pub(crate) async fn untag_log_group(
    ctx: &Ctx<'_>,
    input: UntagLogGroupInput,
) -> Result<Value, ApiError> {
    let name = group_name(&input.log_group_name, "logGroupName")?;
    let keys = required(&input.tags, "tags")?;
    for k in keys {
        validate_key(k, "tags")?;
    }
    ctx.authorize("UntagLogGroup", &ctx.group_arn(name.as_str()))?;
    let group = ctx
        .state
        .store
        .catalog()
        .group(ctx.scope(), name.as_str())?;
    ctx.state.store.catalog().untag(group.id, keys)?;
    Ok(empty())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListTagsLogGroupInput {
    log_group_name: Option<String>,
}

pub(crate) async fn list_log_group(
    ctx: &Ctx<'_>,
    input: ListTagsLogGroupInput,
) -> Result<Value, ApiError> {
    let name = group_name(&input.log_group_name, "logGroupName")?;
    ctx.authorize("ListTagsLogGroup", &ctx.group_arn(name.as_str()))?;
    let group = ctx
        .state
        .store
        .catalog()
        .group(ctx.scope(), name.as_str())?;
    Ok(json!({ "tags": ctx.state.store.catalog().tags(group.id)? }))
}
