//! Event operations: PutLogEvents, GetLogEvents, FilterLogEvents.

use super::live_tail::Committed;
use super::{Ctx, check_len, check_range, group_name, resolve_group, stream_name};
use crate::error::{ApiError, constraint};
use model::limits::{MAX_BATCH_BYTES, MAX_BATCH_EVENTS, MAX_BATCH_SPAN_MS};
use model::{InputEvent, StoredEvent, time};
use pattern::FilterPattern;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::HashSet;
use std::sync::Arc;
use store::{Cursor, Direction, GroupRow, ReadRequest};

/// Largest page GetLogEvents / FilterLogEvents return, in the same bytes.
const MAX_PAGE_BYTES: usize = 1_048_576;
/// Events further than this in the future are rejected.
const MAX_FUTURE_MS: i64 = 2 * time::HOUR_MS;
/// Events older than this are rejected.
const MAX_AGE_MS: i64 = 14 * time::DAY_MS;
/// `startFromHead=false` is only allowed from this instant on (2024-01-01T00:00:00Z).
const NEWEST_FIRST_SINCE_MS: i64 = 1_704_067_200_000;

#[derive(Deserialize)]
struct RawEvent {
    timestamp: Option<i64>,
    message: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PutInput {
    log_group_name: Option<String>,
    log_stream_name: Option<String>,
    log_events: Option<Vec<RawEvent>>,
}

/// The earliest event time a group keeps now (its retention, and its lifecycle
/// policy's deletion age), if either is set.
fn retention_cutoff(ctx: &Ctx<'_>, group: &GroupRow, now: i64) -> Result<Option<i64>, ApiError> {
    Ok(ctx.state.store.visible_from(group, now)?)
}

fn sequence_token(seq: u64) -> String {
    format!("{seq:056}")
}

pub(crate) async fn put(ctx: &Ctx<'_>, input: PutInput) -> Result<Value, ApiError> {
    append(ctx, input, Some(MAX_AGE_MS)).await
}

/// `Trailwatch_20261127.ImportLogEvents`: PutLogEvents without the 14-day age limit, so
/// imported files keep their own timestamps. Everything else (batch limits, order, span,
/// retention, `logs:PutLogEvents` authorization, durable before the answer) is the same.
pub(crate) async fn import(ctx: &Ctx<'_>, input: PutInput) -> Result<Value, ApiError> {
    append(ctx, input, None).await
}

/// Validates and appends a batch; events older than `max_age_ms` are rejected as too old.
async fn append(
    ctx: &Ctx<'_>,
    input: PutInput,
    max_age_ms: Option<i64>,
) -> Result<Value, ApiError> {
    let group_name = group_name(&input.log_group_name, "logGroupName")?;
    let stream_name = stream_name(&input.log_stream_name, "logStreamName")?;
    let raw = input
        .log_events
        .ok_or_else(|| crate::error::missing("logEvents"))?;
    if raw.is_empty() {
        return Err(constraint(
            "[]",
            "logEvents",
            "Member must have length greater than or equal to 1",
        ));
    }
    if raw.len() > MAX_BATCH_EVENTS {
        return Err(constraint(
            &format!("[{} events]", raw.len()),
            "logEvents",
            "Member must have length less than or equal to 10000",
        ));
    }
    let mut events = Vec::with_capacity(raw.len());
    let mut batch_bytes = 0usize;
    for (i, e) in raw.into_iter().enumerate() {
        let member = |field: &str| format!("logEvents.{}.member.{field}", i + 1);
        let timestamp = e
            .timestamp
            .ok_or_else(|| crate::error::missing(&member("timestamp")))?;
        if timestamp < 0 {
            return Err(constraint(
                &timestamp.to_string(),
                &member("timestamp"),
                "Member must have value greater than or equal to 0",
            ));
        }
        let message = e
            .message
            .ok_or_else(|| crate::error::missing(&member("message")))?;
        if message.is_empty() {
            return Err(constraint(
                "",
                &member("message"),
                "Member must have length greater than or equal to 1",
            ));
        }
        batch_bytes += store::read::event_size(&message);
        events.push(InputEvent { timestamp, message });
    }
    if batch_bytes > MAX_BATCH_BYTES {
        return Err(ApiError::invalid_parameter(format!(
            "Upload too large: {batch_bytes} bytes exceeds limit of {MAX_BATCH_BYTES}"
        )));
    }
    ctx.authorize(
        "PutLogEvents",
        &ctx.scope()
            .log_stream_arn(group_name.as_str(), stream_name.as_str()),
    )?;
    let catalog = ctx.state.store.catalog();
    let group = catalog.group(ctx.scope(), group_name.as_str())?;
    let stream = catalog.stream(group.id, stream_name.as_str())?;
    if events.windows(2).any(|w| w[1].timestamp < w[0].timestamp) {
        return Err(ApiError::invalid_parameter(
            "Log events in a single PutLogEvents request must be in chronological order.",
        ));
    }
    let first = events.first().map_or(0, |e| e.timestamp);
    let last = events.last().map_or(0, |e| e.timestamp);
    if last - first > MAX_BATCH_SPAN_MS {
        return Err(ApiError::invalid_parameter(
            "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.",
        ));
    }

    // Sorted input makes each kind of rejection a contiguous run: too old and expired at
    // the front, too new at the back.
    let now = time::now_ms();
    let too_old_end =
        max_age_ms.map_or(0, |age| events.partition_point(|e| e.timestamp < now - age));
    let expired_end = retention_cutoff(ctx, &group, now)?
        .map_or(0, |cutoff| events.partition_point(|e| e.timestamp < cutoff));
    let too_new_start = events.partition_point(|e| e.timestamp <= now + MAX_FUTURE_MS);
    let mut rejected = Map::new();
    if too_new_start < events.len() {
        rejected.insert("tooNewLogEventStartIndex".into(), json!(too_new_start));
    }
    if too_old_end > 0 {
        rejected.insert("tooOldLogEventEndIndex".into(), json!(too_old_end));
    }
    if expired_end > 0 {
        rejected.insert("expiredLogEventEndIndex".into(), json!(expired_end));
    }
    let keep_from = too_old_end.max(expired_end).min(too_new_start);
    events.truncate(too_new_start);
    events.drain(..keep_from);

    let seq = if events.is_empty() {
        0
    } else {
        // Only a copy for live tail when someone is tailing; the store takes the events.
        let live = ctx.state.live.has_sessions().then(|| events.clone());
        let seq = ctx.state.store.put_events(&group, &stream, events).await?;
        if let Some(events) = live {
            ctx.state.live.publish(Committed {
                group_id: group.id,
                stream: stream.name.clone(),
                ingestion_time: time::now_ms(),
                events,
            });
        }
        seq
    };
    let mut out = Map::new();
    out.insert("nextSequenceToken".into(), json!(sequence_token(seq)));
    if !rejected.is_empty() {
        out.insert("rejectedLogEventsInfo".into(), Value::Object(rejected));
    }
    Ok(Value::Object(out))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GetInput {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_name: Option<String>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    next_token: Option<String>,
    limit: Option<i64>,
    start_from_head: Option<bool>,
}

/// A paging token: `f/…` reads on towards newer events, `b/…` back towards older ones.
fn parse_token(token: &str) -> Result<(Direction, Cursor), ApiError> {
    Cursor::from_token(token, "f")
        .map(|c| (Direction::Forward, c))
        .or_else(|| Cursor::from_token(token, "b").map(|c| (Direction::Backward, c)))
        .ok_or_else(|| ApiError::invalid_parameter("The specified nextToken is invalid."))
}

/// Reads one page of a group, hiding what its retention has expired.
async fn read_page(
    ctx: &Ctx<'_>,
    group: &GroupRow,
    request: ReadRequest,
) -> Result<store::Page, ApiError> {
    Ok(ctx
        .state
        .store
        .read(request, retention_cutoff(ctx, group, time::now_ms())?)
        .await?)
}

pub(crate) async fn get(ctx: &Ctx<'_>, input: GetInput) -> Result<Value, ApiError> {
    check_range(input.limit, "limit", 1, 10_000)?;
    check_range(input.start_time, "startTime", 0, i64::MAX)?;
    check_range(input.end_time, "endTime", 0, i64::MAX)?;
    let stream_name = stream_name(&input.log_stream_name, "logStreamName")?;
    let group = resolve_group(ctx, &input.log_group_name, &input.log_group_identifier)?;
    ctx.authorize(
        "GetLogEvents",
        &ctx.scope()
            .log_stream_arn(&group.name, stream_name.as_str()),
    )?;
    let stream = ctx
        .state
        .store
        .catalog()
        .stream(group.id, stream_name.as_str())?;
    let (direction, after, initial) = match input.next_token.as_deref() {
        Some(t) => {
            let (direction, cursor) = parse_token(t)?;
            (direction, cursor, false)
        }
        None if input.start_from_head.unwrap_or(false) => (Direction::Forward, Cursor::START, true),
        None => (Direction::Backward, Cursor::END, true),
    };
    let limit = input.limit.unwrap_or(10_000) as usize;
    let request = ReadRequest {
        group_id: group.id,
        streams: HashSet::from([stream.id]),
        from: input.start_time.unwrap_or(0),
        // GetLogEvents' end time is exclusive.
        to: input.end_time.map_or(i64::MAX, |t| t.saturating_sub(1)),
        direction,
        after,
        pattern: None,
        limit,
        max_bytes: MAX_PAGE_BYTES,
    };
    let page = read_page(ctx, &group, request).await?;
    let mut events = page.events;
    if direction == Direction::Backward {
        events.reverse();
    }
    // An empty page hands the caller's position back, so clients see the same token
    // twice and stop; a first backward read of an empty stream points forward at the
    // start, so following it picks up whatever arrives later.
    let (forward, backward) = match (events.first(), events.last()) {
        (Some(first), Some(last)) => (Cursor::of(last), Cursor::of(first)),
        _ if initial && direction == Direction::Backward => (Cursor::START, after),
        _ => (after, after),
    };
    let rendered: Vec<Value> = events
        .iter()
        .map(|e| {
            json!({
                "timestamp": e.timestamp,
                "message": e.message,
                "ingestionTime": e.ingestion_time,
            })
        })
        .collect();
    Ok(json!({
        "events": rendered,
        "nextForwardToken": forward.to_token("f"),
        "nextBackwardToken": backward.to_token("b"),
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FilterInput {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_names: Option<Vec<String>>,
    log_stream_name_prefix: Option<String>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    filter_pattern: Option<String>,
    next_token: Option<String>,
    limit: Option<i64>,
    start_from_head: Option<bool>,
}

pub(crate) async fn filter(ctx: &Ctx<'_>, input: FilterInput) -> Result<Value, ApiError> {
    check_range(input.limit, "limit", 1, 10_000)?;
    check_range(input.start_time, "startTime", 0, i64::MAX)?;
    check_range(input.end_time, "endTime", 0, i64::MAX)?;
    check_len(input.filter_pattern.as_deref(), "filterPattern", 0, 1024)?;
    check_len(
        input.log_stream_name_prefix.as_deref(),
        "logStreamNamePrefix",
        1,
        512,
    )?;
    if let Some(names) = &input.log_stream_names {
        if names.is_empty() || names.len() > 100 {
            return Err(constraint(
                &format!("[{}]", names.join(", ")),
                "logStreamNames",
                if names.is_empty() {
                    "Member must have length greater than or equal to 1"
                } else {
                    "Member must have length less than or equal to 100"
                },
            ));
        }
        if input.log_stream_name_prefix.is_some() {
            return Err(ApiError::invalid_parameter(
                "You cannot specify both logStreamNames and logStreamNamePrefix.",
            ));
        }
    }
    let pattern = match input.filter_pattern.as_deref() {
        Some(text) => {
            let p = FilterPattern::parse(text)?;
            (!p.matches_all()).then(|| Arc::new(p))
        }
        None => None,
    };
    let group = resolve_group(ctx, &input.log_group_name, &input.log_group_identifier)?;
    ctx.authorize("FilterLogEvents", &ctx.group_arn(&group.name))?;
    let (direction, after) = match input.next_token.as_deref() {
        Some(t) => parse_token(t)?,
        None if input.start_from_head.unwrap_or(true) => (Direction::Forward, Cursor::START),
        None => {
            if input.start_time.is_some_and(|t| t < NEWEST_FIRST_SINCE_MS) {
                return Err(ApiError::invalid_parameter(
                    "startFromHead=false is only supported for a startTime on or after 2024-01-01T00:00:00Z.",
                ));
            }
            (Direction::Backward, Cursor::END)
        }
    };
    let all = ctx.state.store.catalog().streams(group.id)?;
    let ids: HashSet<i64> = match (&input.log_stream_names, &input.log_stream_name_prefix) {
        (Some(names), _) => all
            .iter()
            .filter(|s| names.contains(&s.name))
            .map(|s| s.id)
            .collect(),
        (None, Some(prefix)) => all
            .iter()
            .filter(|s| s.name.starts_with(prefix.as_str()))
            .map(|s| s.id)
            .collect(),
        (None, None) => all.iter().map(|s| s.id).collect(),
    };
    let limit = input.limit.unwrap_or(10_000) as usize;
    let request = ReadRequest {
        group_id: group.id,
        streams: ids,
        from: input.start_time.unwrap_or(0),
        to: input.end_time.unwrap_or(i64::MAX),
        direction,
        after,
        pattern,
        limit,
        max_bytes: MAX_PAGE_BYTES,
    };
    let page = read_page(ctx, &group, request).await?;
    let rendered: Vec<Value> = page.events.iter().map(filtered_event).collect();
    let mut out = Map::new();
    out.insert("events".into(), Value::Array(rendered));
    out.insert("searchedLogStreams".into(), json!([]));
    if page.more
        && let Some(last) = page.events.last()
    {
        let prefix = match direction {
            Direction::Forward => "f",
            Direction::Backward => "b",
        };
        out.insert("nextToken".into(), json!(Cursor::of(last).to_token(prefix)));
    }
    Ok(Value::Object(out))
}

fn filtered_event(e: &StoredEvent) -> Value {
    json!({
        "logStreamName": e.stream,
        "timestamp": e.timestamp,
        "message": e.message,
        "ingestionTime": e.ingestion_time,
        "eventId": format!("{:020}{:020}", e.timestamp.max(0), e.seq),
    })
}
