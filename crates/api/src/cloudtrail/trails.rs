//! Trails: CreateTrail … DeleteTrail, StartLogging / StopLogging / GetTrailStatus,
//! event and insight selectors, and tags (on trails and event data stores alike).

use super::{Ctx, seconds};
use crate::error::ApiError;
use audit::lake::EventDataStore;
use audit::selectors::{EventSelector, Selectors};
use audit::trail::{KIND, Trail, TrailStatus, trail_arn};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct TrailInput {
    name: Option<String>,
    s3_bucket_name: Option<String>,
    s3_key_prefix: Option<String>,
    sns_topic_name: Option<String>,
    include_global_service_events: Option<bool>,
    is_multi_region_trail: Option<bool>,
    enable_log_file_validation: Option<bool>,
    cloud_watch_logs_log_group_arn: Option<String>,
    cloud_watch_logs_role_arn: Option<String>,
    kms_key_id: Option<String>,
    is_organization_trail: Option<bool>,
    tags_list: Option<Vec<Tag>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Tag {
    key: String,
    value: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct NameInput {
    name: Option<String>,
}

fn trail_not_found(name: &str, account: &str) -> ApiError {
    ApiError::client(
        "TrailNotFoundException",
        format!("Unknown trail: {name} for the user: {account}"),
    )
}

/// Checks a trail name against CloudTrail's rules.
fn check_trail_name(name: &str) -> Result<(), ApiError> {
    let invalid = |m: String| Err(ApiError::client("InvalidTrailNameException", m));
    let len = name.chars().count();
    if len < 3 {
        return invalid(format!(
            "Trail name too short. Minimum allowed length: 3 characters. Specified name length: {len} characters."
        ));
    }
    if len > 128 {
        return invalid(format!(
            "Trail name too long. Maximum allowed length: 128 characters. Specified name length: {len} characters."
        ));
    }
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    let ends = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    let adjacent = ["._", "_.", ".-", "-.", "_-", "-_", "..", "--", "__"]
        .iter()
        .any(|p| name.contains(p));
    if !ok_chars || !ends || adjacent {
        return invalid(
            "Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), hyphens (-), and underscores (_).".into(),
        );
    }
    Ok(())
}

/// Finds a trail of the caller's account by name or ARN: one of the region, or a
/// multi-region trail of another region.
pub(crate) fn find_trail(ctx: &Ctx<'_>, name_or_arn: &str) -> Result<Trail, ApiError> {
    let trails: Vec<Trail> = ctx.state.audit.catalog().list(KIND, Some(ctx.account()))?;
    let found = if name_or_arn.starts_with("arn:") {
        trails.into_iter().find(|t| t.arn() == name_or_arn)
    } else {
        let mut candidates: Vec<Trail> = trails
            .into_iter()
            .filter(|t| t.name == name_or_arn)
            .collect();
        candidates.sort_by_key(|t| t.home_region != ctx.region());
        candidates
            .into_iter()
            .find(|t| t.home_region == ctx.region() || t.multi_region)
    };
    found.ok_or_else(|| trail_not_found(name_or_arn, ctx.account()))
}

fn check_bucket(name: &str) -> Result<(), ApiError> {
    if audit::bucket::valid_bucket_name(name) {
        Ok(())
    } else {
        Err(ApiError::client(
            "InvalidS3BucketNameException",
            format!("Bucket name {name} is not valid."),
        ))
    }
}

fn check_group_arn(ctx: &Ctx<'_>, arn: &str) -> Result<(), ApiError> {
    let invalid = || {
        ApiError::client(
            "InvalidCloudWatchLogsLogGroupArnException",
            format!(
                "CloudWatch Logs log group ARN {arn} is not valid or the log group does not exist."
            ),
        )
    };
    match model::parse_log_group_arn(arn) {
        Some((scope, _)) if scope.account == ctx.account() => {}
        _ => return Err(invalid()),
    }
    if !audit::trail::check_log_group(ctx.state.audit.history(), arn)? {
        return Err(invalid());
    }
    Ok(())
}

/// The `Trail` shape.
fn trail_json(t: &Trail) -> Value {
    let mut v = json!({
        "Name": t.name,
        "S3BucketName": t.bucket,
        "IncludeGlobalServiceEvents": t.include_global_service_events,
        "IsMultiRegionTrail": t.multi_region,
        "HomeRegion": t.home_region,
        "TrailARN": t.arn(),
        "LogFileValidationEnabled": t.log_file_validation,
        "HasCustomEventSelectors": !t.selectors.basic.is_empty() || t.selectors.advanced.is_some(),
        "HasInsightSelectors": !t.insight_selectors.is_empty(),
        "IsOrganizationTrail": false,
    });
    let optional = [
        ("S3KeyPrefix", &t.key_prefix),
        ("SnsTopicName", &t.sns_topic_name),
        ("CloudWatchLogsLogGroupArn", &t.cloudwatch_logs_group_arn),
        ("CloudWatchLogsRoleArn", &t.cloudwatch_logs_role_arn),
        ("KmsKeyId", &t.kms_key_id),
    ];
    for (k, value) in optional {
        if let Some(value) = value {
            v[k] = value.clone().into();
        }
    }
    if let Some(topic) = &t.sns_topic_name {
        v["SnsTopicARN"] = format!("arn:aws:sns:{}:{}:{topic}", t.home_region, t.account).into();
    }
    v
}

/// CreateTrail / UpdateTrail's output: the trail without the describe-only members.
fn trail_output(t: &Trail) -> Value {
    let mut v = trail_json(t);
    if let Value::Object(m) = &mut v {
        for k in [
            "HomeRegion",
            "HasCustomEventSelectors",
            "HasInsightSelectors",
        ] {
            m.remove(k);
        }
    }
    v
}

fn too_many_tags() -> ApiError {
    ApiError::client(
        "TagsLimitExceededException",
        "The number of tags per trail, event data store, or channel has exceeded the permitted amount. Currently, the limit is 50.",
    )
}

/// Tags of a request as a map.
pub(crate) fn tag_map(tags: Option<Vec<Tag>>) -> Result<BTreeMap<String, String>, ApiError> {
    let tags = tags.unwrap_or_default();
    if tags.len() > 50 {
        return Err(too_many_tags());
    }
    Ok(tags
        .into_iter()
        .map(|t| (t.key, t.value.unwrap_or_default()))
        .collect())
}

pub(crate) fn create(ctx: &Ctx<'_>, input: TrailInput) -> Result<Value, ApiError> {
    let name = super::super::logs::required(&input.name, "name")?.clone();
    check_trail_name(&name)?;
    let arn = trail_arn(ctx.region(), ctx.account(), &name);
    ctx.authorize("CreateTrail", &arn)?;
    let bucket = super::super::logs::required(&input.s3_bucket_name, "s3BucketName")?.clone();
    check_bucket(&bucket)?;
    let catalog = ctx.state.audit.catalog();
    if catalog
        .get::<Trail>(KIND, ctx.account(), ctx.region(), &name)?
        .is_some()
    {
        return Err(ApiError::client(
            "TrailAlreadyExistsException",
            format!(
                "Trail {name} already exists for customer: {}",
                ctx.account()
            ),
        ));
    }
    if let Some(group) = &input.cloud_watch_logs_log_group_arn {
        check_group_arn(ctx, group)?;
    }
    ctx.state.audit.buckets().ensure(&bucket)?;
    let trail = Trail {
        name,
        account: ctx.account().to_string(),
        home_region: ctx.region().to_string(),
        bucket,
        key_prefix: input.s3_key_prefix.filter(|p| !p.is_empty()),
        sns_topic_name: input.sns_topic_name,
        include_global_service_events: input.include_global_service_events.unwrap_or(true),
        multi_region: input.is_multi_region_trail.unwrap_or(false),
        log_file_validation: input.enable_log_file_validation.unwrap_or(false),
        cloudwatch_logs_group_arn: input.cloud_watch_logs_log_group_arn,
        cloudwatch_logs_role_arn: input.cloud_watch_logs_role_arn,
        kms_key_id: input.kms_key_id,
        selectors: Selectors::default(),
        insight_selectors: Vec::new(),
        tags: tag_map(input.tags_list)?,
        status: TrailStatus::default(),
    };
    if input.is_organization_trail == Some(true) {
        return Err(ApiError::client(
            "OrganizationsNotInUseException",
            "This account is not a member of an organization.",
        ));
    }
    ctx.state.audit.save_trail(&trail)?;
    Ok(trail_output(&trail))
}

pub(crate) fn update(ctx: &Ctx<'_>, input: TrailInput) -> Result<Value, ApiError> {
    let name = super::super::logs::required(&input.name, "name")?;
    let mut trail = find_trail(ctx, name)?;
    ctx.authorize("UpdateTrail", &trail.arn())?;
    if let Some(bucket) = input.s3_bucket_name {
        check_bucket(&bucket)?;
        ctx.state.audit.buckets().ensure(&bucket)?;
        trail.bucket = bucket;
    }
    if let Some(prefix) = input.s3_key_prefix {
        trail.key_prefix = Some(prefix).filter(|p| !p.is_empty());
    }
    if let Some(topic) = input.sns_topic_name {
        trail.sns_topic_name = Some(topic).filter(|t| !t.is_empty());
    }
    if let Some(v) = input.include_global_service_events {
        trail.include_global_service_events = v;
    }
    if let Some(v) = input.is_multi_region_trail {
        trail.multi_region = v;
    }
    if let Some(v) = input.enable_log_file_validation {
        if v && !trail.log_file_validation {
            // Validation switched on: a new chain starts with a starting digest.
            ctx.state.audit.restart_chains(&trail)?;
        }
        trail.log_file_validation = v;
    }
    if let Some(group) = input.cloud_watch_logs_log_group_arn {
        if group.is_empty() {
            trail.cloudwatch_logs_group_arn = None;
        } else {
            check_group_arn(ctx, &group)?;
            trail.cloudwatch_logs_group_arn = Some(group);
        }
    }
    if let Some(role) = input.cloud_watch_logs_role_arn {
        trail.cloudwatch_logs_role_arn = Some(role).filter(|r| !r.is_empty());
    }
    if let Some(key) = input.kms_key_id {
        trail.kms_key_id = Some(key).filter(|k| !k.is_empty());
    }
    ctx.state.audit.save_trail(&trail)?;
    Ok(trail_output(&trail))
}

pub(crate) fn get(ctx: &Ctx<'_>, input: NameInput) -> Result<Value, ApiError> {
    let name = super::super::logs::required(&input.name, "name")?;
    let trail = find_trail(ctx, name)?;
    ctx.authorize("GetTrail", &trail.arn())?;
    Ok(json!({ "Trail": trail_json(&trail) }))
}

#[derive(Deserialize)]
pub(crate) struct DescribeInput {
    #[serde(rename = "trailNameList")]
    names: Option<Vec<String>>,
    #[serde(rename = "includeShadowTrails")]
    include_shadow: Option<bool>,
}

pub(crate) fn describe(ctx: &Ctx<'_>, input: DescribeInput) -> Result<Value, ApiError> {
    ctx.authorize("DescribeTrails", "*")?;
    let include_shadow = input.include_shadow.unwrap_or(true);
    let trails: Vec<Trail> = match input.names.filter(|n| !n.is_empty()) {
        Some(names) => names
            .iter()
            .filter_map(|n| find_trail(ctx, n).ok())
            .collect(),
        None => ctx
            .state
            .audit
            .catalog()
            .list::<Trail>(KIND, Some(ctx.account()))?
            .into_iter()
            .filter(|t| t.home_region == ctx.region() || (include_shadow && t.multi_region))
            .collect(),
    };
    Ok(json!({ "trailList": trails.iter().map(trail_json).collect::<Vec<_>>() }))
}

#[derive(Deserialize)]
pub(crate) struct ListInput {}

pub(crate) fn list(ctx: &Ctx<'_>, _input: ListInput) -> Result<Value, ApiError> {
    ctx.authorize("ListTrails", "*")?;
    let trails: Vec<Value> = ctx
        .state
        .audit
        .catalog()
        .list::<Trail>(KIND, Some(ctx.account()))?
        .iter()
        .map(|t| json!({"TrailARN": t.arn(), "Name": t.name, "HomeRegion": t.home_region}))
        .collect();
    Ok(json!({ "Trails": trails }))
}

pub(crate) fn delete(ctx: &Ctx<'_>, input: NameInput) -> Result<Value, ApiError> {
    let name = super::super::logs::required(&input.name, "name")?;
    let trail = find_trail(ctx, name)?;
    ctx.authorize("DeleteTrail", &trail.arn())?;
    if trail.home_region != ctx.region() {
        return Err(ApiError::client(
            "InvalidHomeRegionException",
            "This operation must be called from the Region in which the trail was created.",
        ));
    }
    ctx.state.audit.forget_trail(&trail)?;
    Ok(json!({}))
}

pub(crate) async fn start_logging(ctx: &Ctx<'_>, input: NameInput) -> Result<Value, ApiError> {
    let name = super::super::logs::required(&input.name, "name")?;
    let mut trail = find_trail(ctx, name)?;
    ctx.authorize("StartLogging", &trail.arn())?;
    ctx.state.audit.start_logging(&mut trail).await?;
    Ok(json!({}))
}

pub(crate) async fn stop_logging(ctx: &Ctx<'_>, input: NameInput) -> Result<Value, ApiError> {
    let name = super::super::logs::required(&input.name, "name")?;
    let mut trail = find_trail(ctx, name)?;
    ctx.authorize("StopLogging", &trail.arn())?;
    ctx.state.audit.stop_logging(&mut trail).await?;
    Ok(json!({}))
}

pub(crate) fn status(ctx: &Ctx<'_>, input: NameInput) -> Result<Value, ApiError> {
    let name = super::super::logs::required(&input.name, "name")?;
    let trail = find_trail(ctx, name)?;
    ctx.authorize("GetTrailStatus", &trail.arn())?;
    let s = &trail.status;
    let mut v = json!({ "IsLogging": s.is_logging });
    let times = [
        ("StartLoggingTime", s.start_logging_ms),
        ("StopLoggingTime", s.stop_logging_ms),
        ("LatestDeliveryTime", s.latest_delivery_ms),
        ("LatestDigestDeliveryTime", s.latest_digest_delivery_ms),
        (
            "LatestCloudWatchLogsDeliveryTime",
            s.latest_cloudwatch_delivery_ms,
        ),
    ];
    for (k, ms) in times {
        if let Some(ms) = ms {
            v[k] = seconds(ms);
        }
    }
    // Members AWS keeps as strings "no longer in use"; older clients still print them.
    let legacy = [
        ("TimeLoggingStarted", s.start_logging_ms),
        ("TimeLoggingStopped", s.stop_logging_ms),
        ("LatestDeliveryAttemptTime", s.latest_delivery_attempt_ms),
        ("LatestDeliveryAttemptSucceeded", s.latest_delivery_ms),
    ];
    for (k, ms) in legacy {
        if let Some(ms) = ms {
            v[k] = audit::record::event_time(ms).into();
        }
    }
    if let Some(e) = &s.latest_delivery_error {
        v["LatestDeliveryError"] = e.clone().into();
    }
    Ok(v)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PutEventSelectorsInput {
    trail_name: Option<String>,
    event_selectors: Option<Vec<EventSelector>>,
    advanced_event_selectors: Option<Vec<Value>>,
}

fn selectors_json(trail: &Trail) -> Value {
    let mut v = json!({ "TrailARN": trail.arn() });
    match &trail.selectors.advanced {
        Some(advanced) => v["AdvancedEventSelectors"] = json!(advanced),
        None if trail.selectors.basic.is_empty() => {
            v["EventSelectors"] = json!([EventSelector::default()])
        }
        None => v["EventSelectors"] = json!(trail.selectors.basic),
    }
    v
}

fn invalid_selectors(message: &str) -> ApiError {
    ApiError::client("InvalidEventSelectorsException", message)
}

/// Checks advanced selectors' shape: a list of `{FieldSelectors: [{Field, ...}]}`.
pub(crate) fn check_advanced(selectors: &[Value]) -> Result<(), ApiError> {
    const FIELDS: [&str; 7] = [
        "eventCategory",
        "eventSource",
        "eventName",
        "readOnly",
        "resources.type",
        "resources.ARN",
        "eventType",
    ];
    for s in selectors {
        let fields = s
            .get("FieldSelectors")
            .and_then(Value::as_array)
            .filter(|f| !f.is_empty())
            .ok_or_else(|| {
                invalid_selectors(
                    "Each advanced event selector must have at least one field selector.",
                )
            })?;
        for f in fields {
            let field = f.get("Field").and_then(Value::as_str).unwrap_or("");
            if !FIELDS.contains(&field) {
                return Err(invalid_selectors(&format!(
                    "Field {field} is not a valid field for an advanced event selector."
                )));
            }
        }
    }
    Ok(())
}

pub(crate) fn put_event_selectors(
    ctx: &Ctx<'_>,
    input: PutEventSelectorsInput,
) -> Result<Value, ApiError> {
    let name = super::super::logs::required(&input.trail_name, "trailName")?;
    let mut trail = find_trail(ctx, name)?;
    ctx.authorize("PutEventSelectors", &trail.arn())?;
    trail.selectors = match (input.event_selectors, input.advanced_event_selectors) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(invalid_selectors(
                "Specify either EventSelectors or AdvancedEventSelectors, but not both.",
            ));
        }
        (Some(basic), None) => {
            if basic.len() > 5 {
                return Err(invalid_selectors(
                    "A trail can have up to 5 event selectors.",
                ));
            }
            for s in &basic {
                if !["ReadOnly", "WriteOnly", "All"].contains(&s.read_write_type.as_str()) {
                    return Err(invalid_selectors(
                        "ReadWriteType must be ReadOnly, WriteOnly or All.",
                    ));
                }
            }
            Selectors {
                basic,
                advanced: None,
            }
        }
        (None, Some(advanced)) => {
            check_advanced(&advanced)?;
            Selectors {
                basic: Vec::new(),
                advanced: Some(advanced),
            }
        }
    };
    ctx.state.audit.save_trail(&trail)?;
    Ok(selectors_json(&trail))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct TrailNameInput {
    trail_name: Option<String>,
}

pub(crate) fn get_event_selectors(ctx: &Ctx<'_>, input: TrailNameInput) -> Result<Value, ApiError> {
    let name = super::super::logs::required(&input.trail_name, "trailName")?;
    let trail = find_trail(ctx, name)?;
    ctx.authorize("GetEventSelectors", &trail.arn())?;
    Ok(selectors_json(&trail))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PutInsightSelectorsInput {
    trail_name: Option<String>,
    insight_selectors: Option<Vec<Value>>,
}

pub(crate) fn put_insight_selectors(
    ctx: &Ctx<'_>,
    input: PutInsightSelectorsInput,
) -> Result<Value, ApiError> {
    let name = super::super::logs::required(&input.trail_name, "trailName")?;
    let mut trail = find_trail(ctx, name)?;
    ctx.authorize("PutInsightSelectors", &trail.arn())?;
    let selectors = input.insight_selectors.unwrap_or_default();
    for s in &selectors {
        match s.get("InsightType").and_then(Value::as_str) {
            Some("ApiCallRateInsight" | "ApiErrorRateInsight") => {}
            _ => {
                return Err(ApiError::client(
                    "InvalidInsightSelectorsException",
                    "InsightType must be ApiCallRateInsight or ApiErrorRateInsight.",
                ));
            }
        }
    }
    trail.insight_selectors = selectors;
    ctx.state.audit.save_trail(&trail)?;
    Ok(json!({ "TrailARN": trail.arn(), "InsightSelectors": trail.insight_selectors }))
}

pub(crate) fn get_insight_selectors(
    ctx: &Ctx<'_>,
    input: TrailNameInput,
) -> Result<Value, ApiError> {
    let name = super::super::logs::required(&input.trail_name, "trailName")?;
    let trail = find_trail(ctx, name)?;
    ctx.authorize("GetInsightSelectors", &trail.arn())?;
    if trail.insight_selectors.is_empty() {
        return Err(ApiError::client(
            "InsightNotEnabledException",
            format!(
                "Trail {} does not have Insights enabled. Edit the trail settings to enable Insights, and then try the operation again.",
                trail.arn()
            ),
        ));
    }
    Ok(json!({ "TrailARN": trail.arn(), "InsightSelectors": trail.insight_selectors }))
}

/// A taggable resource: a trail or an event data store.
enum Taggable {
    Trail(Box<Trail>),
    Store(Box<EventDataStore>),
}

fn taggable(ctx: &Ctx<'_>, arn: &str) -> Result<Taggable, ApiError> {
    if arn.contains(":eventdatastore/") {
        return audit::lake::find(ctx.state.audit.catalog(), ctx.account(), arn)?
            .map(|s| Taggable::Store(Box::new(s)))
            .ok_or_else(|| {
                ApiError::client(
                    "ResourceNotFoundException",
                    format!("The specified resource is not found: {arn}"),
                )
            });
    }
    if !arn.contains(":trail/") {
        return Err(ApiError::client(
            "InvalidTrailNameException",
            format!("Resource id {arn} is not a trail or event data store ARN."),
        ));
    }
    Ok(Taggable::Trail(Box::new(find_trail(ctx, arn)?)))
}

fn edit_tags(
    ctx: &Ctx<'_>,
    arn: &str,
    edit: &dyn Fn(&mut BTreeMap<String, String>),
) -> Result<(), ApiError> {
    match taggable(ctx, arn)? {
        Taggable::Trail(mut t) => {
            edit(&mut t.tags);
            if t.tags.len() > 50 {
                return Err(too_many_tags());
            }
            ctx.state.audit.save_trail(&t)?;
        }
        Taggable::Store(mut s) => {
            edit(&mut s.tags);
            if s.tags.len() > 50 {
                return Err(too_many_tags());
            }
            super::lake::save(ctx, &s)?;
        }
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct TagsInput {
    resource_id: Option<String>,
    tags_list: Option<Vec<Tag>>,
}

pub(crate) fn add_tags(ctx: &Ctx<'_>, input: TagsInput) -> Result<Value, ApiError> {
    let arn = super::super::logs::required(&input.resource_id, "resourceId")?;
    ctx.authorize("AddTags", arn)?;
    let added = tag_map(input.tags_list)?;
    edit_tags(ctx, arn, &|tags| tags.extend(added.clone()))?;
    Ok(json!({}))
}

pub(crate) fn remove_tags(ctx: &Ctx<'_>, input: TagsInput) -> Result<Value, ApiError> {
    let arn = super::super::logs::required(&input.resource_id, "resourceId")?;
    ctx.authorize("RemoveTags", arn)?;
    let removed = tag_map(input.tags_list)?;
    edit_tags(ctx, arn, &|tags| {
        tags.retain(|k, _| !removed.contains_key(k))
    })?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListTagsInput {
    resource_id_list: Option<Vec<String>>,
}

pub(crate) fn list_tags(ctx: &Ctx<'_>, input: ListTagsInput) -> Result<Value, ApiError> {
    let arns = super::super::logs::required(&input.resource_id_list, "resourceIdList")?;
    let mut out = Vec::new();
    for arn in arns {
        ctx.authorize("ListTags", arn)?;
        let tags = match taggable(ctx, arn)? {
            Taggable::Trail(t) => t.tags,
            Taggable::Store(s) => s.tags,
        };
        let list: Vec<Value> = tags
            .iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect();
        out.push(json!({"ResourceId": arn, "TagsList": list}));
    }
    Ok(json!({ "ResourceTagList": out }))
}
