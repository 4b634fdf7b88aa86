//! StartLiveTail: events reach open sessions as they are committed, framed as an
//! `application/vnd.amazon.eventstream` response (`reference/logs-api.md` §5).
//!
//! PutLogEvents publishes each acknowledged batch on a broadcast channel ([`LiveHub`]);
//! every session subscribes before its response starts, filters what it receives, and
//! writes one `sessionUpdate` per second, with empty results when nothing matched, so a
//! client can tell a quiet group from a dead connection.

use super::{Ctx, check_len, resolve_group};
use crate::error::{ApiError, constraint, missing};
use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use model::{InputEvent, eventstream};
use pattern::FilterPattern;
use serde::Deserialize;
use serde_json::{Value, json};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, watch};

/// Most log groups one session may follow.
const MAX_GROUPS: usize = 10;
/// Most stream names or prefixes one session may give.
const MAX_STREAM_FILTERS: usize = 100;
/// Most events in one `sessionUpdate`; more in a second are sampled down to this.
const MAX_EVENTS_PER_UPDATE: usize = 500;
/// How long a session lasts before `SessionTimeoutException`.
const SESSION_LIMIT: Duration = Duration::from_secs(3 * 3600);
/// How often a session writes a `sessionUpdate`.
const UPDATE_EVERY: Duration = Duration::from_secs(1);
/// Updates buffered for a slow reader (AWS buffers 10, then drops the oldest).
const BUFFERED_UPDATES: usize = 10;
/// Committed batches a lagging session may fall behind before it loses some.
const HUB_CAPACITY: usize = 1024;

/// One acknowledged PutLogEvents batch, as live-tail sessions see it.
#[derive(Debug)]
pub struct Committed {
    /// The group's catalog id.
    pub group_id: i64,
    /// The stream the events were put to.
    pub stream: String,
    /// When the server accepted the batch, epoch milliseconds.
    pub ingestion_time: i64,
    /// The events stored, in time order.
    pub events: Vec<InputEvent>,
}

/// Where committed batches are published to live-tail sessions.
#[derive(Clone)]
pub struct LiveHub {
    events: broadcast::Sender<Arc<Committed>>,
    closing: watch::Sender<bool>,
}

impl Default for LiveHub {
    fn default() -> Self {
        LiveHub {
            events: broadcast::channel(HUB_CAPACITY).0,
            closing: watch::channel(false).0,
        }
    }
}

impl LiveHub {
    /// Whether any session is listening; when none is, publishing costs nothing.
    pub fn has_sessions(&self) -> bool {
        self.events.receiver_count() > 0
    }

    /// Hands a committed batch to every session.
    pub fn publish(&self, batch: Committed) {
        // No receiver is not an error: sessions come and go.
        let _ = self.events.send(Arc::new(batch));
    }

    /// Ends every session, so that a server shutting down does not wait on them.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StartInput {
    log_group_identifiers: Option<Vec<String>>,
    log_stream_names: Option<Vec<String>>,
    log_stream_name_prefixes: Option<Vec<String>>,
    log_event_filter_pattern: Option<String>,
}

/// What one session follows.
struct Selection {
    /// `(group id, identifier as the caller gave it)`.
    groups: Vec<(i64, String)>,
    stream_names: Option<Vec<String>>,
    stream_prefixes: Option<Vec<String>>,
    pattern: Option<FilterPattern>,
}

impl Selection {
    fn group(&self, id: i64) -> Option<&str> {
        self.groups
            .iter()
            .find(|(g, _)| *g == id)
            .map(|(_, identifier)| identifier.as_str())
    }

    fn stream_matches(&self, stream: &str) -> bool {
        match (&self.stream_names, &self.stream_prefixes) {
            (Some(names), _) => names.iter().any(|n| n == stream),
            (None, Some(prefixes)) => prefixes.iter().any(|p| stream.starts_with(p.as_str())),
            (None, None) => true,
        }
    }
}

fn check_stream_list(list: &Option<Vec<String>>, member: &str) -> Result<(), ApiError> {
    let Some(items) = list else { return Ok(()) };
    if items.is_empty() || items.len() > MAX_STREAM_FILTERS {
        return Err(constraint(
            &format!("[{}]", items.join(", ")),
            member,
            if items.is_empty() {
                "Member must have length greater than or equal to 1"
            } else {
                "Member must have length less than or equal to 100"
            },
        ));
    }
    for item in items {
        check_len(Some(item), member, 1, model::names::MAX_NAME_LEN)?;
    }
    Ok(())
}

/// Validates the request, then answers 200 with an event stream that lasts until the
/// client goes away, the session times out, or the server stops.
pub(crate) async fn start(
    ctx: &Ctx<'_>,
    input: StartInput,
    request_id: &str,
) -> Result<Response, ApiError> {
    let identifiers = input
        .log_group_identifiers
        .ok_or_else(|| missing("logGroupIdentifiers"))?;
    if identifiers.is_empty() || identifiers.len() > MAX_GROUPS {
        return Err(constraint(
            &format!("[{}]", identifiers.join(", ")),
            "logGroupIdentifiers",
            if identifiers.is_empty() {
                "Member must have length greater than or equal to 1"
            } else {
                "Member must have length less than or equal to 10"
            },
        ));
    }
    check_stream_list(&input.log_stream_names, "logStreamNames")?;
    check_stream_list(&input.log_stream_name_prefixes, "logStreamNamePrefixes")?;
    check_len(
        input.log_event_filter_pattern.as_deref(),
        "logEventFilterPattern",
        0,
        1024,
    )?;
    let filters_streams =
        input.log_stream_names.is_some() || input.log_stream_name_prefixes.is_some();
    if input.log_stream_names.is_some() && input.log_stream_name_prefixes.is_some() {
        return Err(ApiError::invalid_parameter(
            "Only one of logStreamNames or logStreamNamePrefixes can be provided.",
        ));
    }
    if filters_streams && identifiers.len() > 1 {
        return Err(ApiError::invalid_parameter(
            "logStreamNames and logStreamNamePrefixes can only be used with a single log group.",
        ));
    }
    let pattern = match input.log_event_filter_pattern.as_deref() {
        Some(text) => {
            let p = FilterPattern::parse(text)?;
            (!p.matches_all()).then_some(p)
        }
        None => None,
    };
    let mut groups = Vec::with_capacity(identifiers.len());
    for identifier in &identifiers {
        // Identifiers may be ARNs with the `:*` that DescribeLogGroups' `arn` carries.
        let bare = identifier.strip_suffix(":*").unwrap_or(identifier);
        let group = resolve_group(ctx, &None, &Some(bare.to_string()))?;
        ctx.authorize("StartLiveTail", &ctx.group_arn(&group.name))?;
        groups.push((group.id, identifier.clone()));
    }
    let mut start = serde_json::Map::new();
    start.insert("requestId".into(), json!(request_id));
    start.insert("sessionId".into(), json!(uuid::Uuid::new_v4().to_string()));
    start.insert("logGroupIdentifiers".into(), json!(identifiers));
    if let Some(names) = &input.log_stream_names {
        start.insert("logStreamNames".into(), json!(names));
    }
    if let Some(prefixes) = &input.log_stream_name_prefixes {
        start.insert("logStreamNamePrefixes".into(), json!(prefixes));
    }
    start.insert(
        "logEventFilterPattern".into(),
        json!(input.log_event_filter_pattern.clone().unwrap_or_default()),
    );
    let selection = Selection {
        groups,
        stream_names: input.log_stream_names,
        stream_prefixes: input.log_stream_name_prefixes,
        pattern,
    };
    let hub = &ctx.state.live;
    // Subscribing before the response is returned means an event put once the client has
    // the `sessionStart` is never missed.
    let events = hub.events.subscribe();
    let closing = hub.closing.subscribe();
    let (frames, body) = mpsc::channel::<Bytes>(BUFFERED_UPDATES);
    tokio::spawn(run_session(
        selection,
        Value::Object(start),
        events,
        closing,
        frames,
    ));
    let stream = futures::stream::unfold(body, |mut body| async move {
        body.recv()
            .await
            .map(|frame| (Ok::<_, Infallible>(frame), body))
    });
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, eventstream::CONTENT_TYPE)],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Writes the session's frames until the client leaves, the session times out, or the
/// server closes the hub.
async fn run_session(
    selection: Selection,
    start: Value,
    mut events: broadcast::Receiver<Arc<Committed>>,
    mut closing: watch::Receiver<bool>,
    frames: mpsc::Sender<Bytes>,
) {
    let opening = [
        eventstream::event("initial-response", b"{}"),
        eventstream::event("sessionStart", start.to_string().as_bytes()),
    ];
    for frame in opening {
        if frames.send(Bytes::from(frame)).await.is_err() {
            return;
        }
    }
    let deadline = tokio::time::Instant::now() + SESSION_LIMIT;
    let mut tick =
        tokio::time::interval_at(tokio::time::Instant::now() + UPDATE_EVERY, UPDATE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut results: Vec<Value> = Vec::new();
    let mut sampled = false;
    loop {
        tokio::select! {
            received = events.recv() => match received {
                Ok(batch) => collect(&selection, &batch, &mut results, &mut sampled),
                // A session too slow for the ingest rate loses the oldest batches, as AWS
                // drops the oldest updates of a slow consumer.
                Err(broadcast::error::RecvError::Lagged(_)) => sampled = true,
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = tick.tick() => {
                let update = json!({
                    "sessionMetadata": {"sampled": sampled},
                    "sessionResults": std::mem::take(&mut results),
                });
                sampled = false;
                let frame = eventstream::event("sessionUpdate", update.to_string().as_bytes());
                if frames.send(Bytes::from(frame)).await.is_err() {
                    return;
                }
            }
            _ = tokio::time::sleep_until(deadline) => {
                let frame = eventstream::exception(
                    "SessionTimeoutException",
                    br#"{"message":"Session timed out after 3 hours."}"#,
                );
                let _ = frames.send(Bytes::from(frame)).await;
                return;
            }
            _ = closing.changed() => return,
            _ = frames.closed() => return,
        }
    }
}

/// Adds a batch's matching events to the next update, keeping at most
/// [`MAX_EVENTS_PER_UPDATE`] (the first ones) and marking the update sampled past that.
fn collect(selection: &Selection, batch: &Committed, results: &mut Vec<Value>, sampled: &mut bool) {
    let Some(identifier) = selection.group(batch.group_id) else {
        return;
    };
    if !selection.stream_matches(&batch.stream) {
        return;
    }
    for e in &batch.events {
        if selection
            .pattern
            .as_ref()
            .is_some_and(|p| !p.matches(&e.message))
        {
            continue;
        }
        if results.len() >= MAX_EVENTS_PER_UPDATE {
            *sampled = true;
            return;
        }
        results.push(json!({
            "logStreamName": batch.stream,
            "logGroupIdentifier": identifier,
            "message": e.message,
            "timestamp": e.timestamp,
            "ingestionTime": batch.ingestion_time,
        }));
    }
}
