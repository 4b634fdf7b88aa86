//! Log stream operations: create, delete, describe.

use super::{
    Ctx, check_enum, check_len, check_range, empty, group_name, resolve_group, stream_name,
};
use crate::error::ApiError;
use serde::Deserialize;
use serde_json::{Map, Value, json};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StreamInput {
    log_group_name: Option<String>,
    log_stream_name: Option<String>,
}

pub(crate) async fn create(ctx: &Ctx<'_>, input: StreamInput) -> Result<Value, ApiError> {
    let group = group_name(&input.log_group_name, "logGroupName")?;
    let stream = stream_name(&input.log_stream_name, "logStreamName")?;
    ctx.authorize(
        "CreateLogStream",
        &ctx.scope().log_stream_arn(group.as_str(), stream.as_str()),
    )?;
    let catalog = ctx.state.store.catalog();
    let group = catalog.group(ctx.scope(), group.as_str())?;
    catalog.create_stream(group.id, stream.as_str(), model::time::now_ms())?;
    Ok(empty())
}

pub(crate) async fn delete(ctx: &Ctx<'_>, input: StreamInput) -> Result<Value, ApiError> {
    let group = group_name(&input.log_group_name, "logGroupName")?;
    let stream = stream_name(&input.log_stream_name, "logStreamName")?;
    ctx.authorize(
        "DeleteLogStream",
        &ctx.scope().log_stream_arn(group.as_str(), stream.as_str()),
    )?;
    let catalog = ctx.state.store.catalog();
    let group = catalog.group(ctx.scope(), group.as_str())?;
    let stream = catalog.stream(group.id, stream.as_str())?;
    catalog.delete_stream(stream.id)?;
    Ok(empty())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeInput {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_name_prefix: Option<String>,
    order_by: Option<String>,
    descending: Option<bool>,
    next_token: Option<String>,
    limit: Option<i64>,
}

pub(crate) async fn describe(ctx: &Ctx<'_>, input: DescribeInput) -> Result<Value, ApiError> {
    check_len(
        input.log_stream_name_prefix.as_deref(),
        "logStreamNamePrefix",
        1,
        512,
    )?;
    check_enum(
        input.order_by.as_deref(),
        "orderBy",
        &["LogStreamName", "LastEventTime"],
    )?;
    check_range(input.limit, "limit", 1, 50)?;
    let by_time = input.order_by.as_deref() == Some("LastEventTime");
    if by_time && input.log_stream_name_prefix.is_some() {
        return Err(ApiError::invalid_parameter(
            "Cannot order by LastEventTime with a logStreamNamePrefix.",
        ));
    }
    let group = resolve_group(ctx, &input.log_group_name, &input.log_group_identifier)?;
    ctx.authorize(
        "DescribeLogStreams",
        &ctx.scope().log_stream_arn(&group.name, "*"),
    )?;
    let offset = match &input.next_token {
        None => 0,
        Some(t) => t
            .strip_prefix("streams/")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| ApiError::invalid_parameter("The specified nextToken is invalid."))?,
    };
    let limit = input.limit.unwrap_or(50) as usize;
    let prefix = input.log_stream_name_prefix.unwrap_or_default();
    let mut streams: Vec<_> = ctx
        .state
        .store
        .streams_with_stats(group.id)?
        .into_iter()
        .filter(|(s, _)| s.name.starts_with(&prefix))
        .collect();
    if by_time {
        streams.sort_by(|a, b| {
            (a.1.last_event.unwrap_or(0), &a.0.name).cmp(&(b.1.last_event.unwrap_or(0), &b.0.name))
        });
    }
    if input.descending.unwrap_or(false) {
        streams.reverse();
    }
    let total = streams.len();
    let items: Vec<Value> = streams
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|(s, stats)| {
            let mut out = Map::new();
            out.insert("logStreamName".into(), json!(s.name));
            out.insert("creationTime".into(), json!(s.creation_time));
            if let Some(t) = stats.first_event {
                out.insert("firstEventTimestamp".into(), json!(t));
            }
            if let Some(t) = stats.last_event {
                out.insert("lastEventTimestamp".into(), json!(t));
            }
            if let Some(t) = stats.last_ingestion {
                out.insert("lastIngestionTime".into(), json!(t));
                out.insert("uploadSequenceToken".into(), json!(format!("{t:056}")));
            }
            out.insert(
                "arn".into(),
                json!(ctx.scope().log_stream_arn(&group.name, &s.name)),
            );
            out.insert("storedBytes".into(), json!(0));
            Value::Object(out)
        })
        .collect();
    let mut out = Map::new();
    out.insert("logStreams".into(), Value::Array(items));
    if offset + limit < total {
        out.insert(
            "nextToken".into(),
            json!(format!("streams/{}", offset + limit)),
        );
    }
    Ok(Value::Object(out))
}
