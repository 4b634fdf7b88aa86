//! The CloudWatch Logs service (`Logs_20140328.*`): one function per operation.
//!
//! Each operation parses its typed input, validates it with AWS's constraint messages,
//! authorizes the caller on the resource it touches, and calls the store.

mod archive;
mod events;
mod groups;
mod import;
pub mod live_tail;
pub mod queries;
mod streams;
mod tags;

use crate::AppState;
use crate::authn::Caller;
use crate::error::{ApiError, constraint, missing};
use model::{LogGroupName, LogStreamName, Scope};
use serde::de::DeserializeOwned;
use serde_json::Value;
use store::GroupRow;

/// What an operation needs about its request.
pub(crate) struct Ctx<'a> {
    pub state: &'a AppState,
    pub caller: &'a Caller,
}

impl Ctx<'_> {
    /// The account and region acted in.
    pub fn scope(&self) -> &Scope {
        &self.caller.scope
    }

    /// Authorizes `logs:<action>` on a resource ARN.
    pub fn authorize(&self, action: &str, resource: &str) -> Result<(), ApiError> {
        self.caller.authorize(&format!("logs:{action}"), resource)
    }

    /// The ARN of a group in the caller's scope.
    pub fn group_arn(&self, name: &str) -> String {
        self.scope().log_group_arn(name)
    }
}

/// The target prefix of Trailwatch's own Logs operations (`import`'s), beside AWS's.
pub const EXTENSION_SERVICE: &str = "Trailwatch_20261127";

/// Runs one of Trailwatch's own Logs operations (`Trailwatch_20261127.<Op>`, the
/// imports').
pub async fn handle_extension(
    state: &AppState,
    caller: &Caller,
    op: &str,
    body: &[u8],
) -> Result<Value, ApiError> {
    let ctx = Ctx { state, caller };
    if archive::OPERATIONS.contains(&op) {
        return archive::handle(&ctx, op, body).await;
    }
    import::handle(&ctx, op, body).await
}

/// Runs one Logs operation.
pub async fn handle(
    state: &AppState,
    caller: &Caller,
    op: &str,
    body: &[u8],
) -> Result<Value, ApiError> {
    let ctx = Ctx { state, caller };
    {
        match op {
            "CreateLogGroup" => groups::create(&ctx, parse(body)?).await,
            "DeleteLogGroup" => groups::delete(&ctx, parse(body)?).await,
            "DescribeLogGroups" => groups::describe(&ctx, parse(body)?).await,
            "ListLogGroups" => groups::list(&ctx, parse(body)?).await,
            "PutRetentionPolicy" => groups::put_retention(&ctx, parse(body)?).await,
            "DeleteRetentionPolicy" => groups::delete_retention(&ctx, parse(body)?).await,
            "CreateLogStream" => streams::create(&ctx, parse(body)?).await,
            "DeleteLogStream" => streams::delete(&ctx, parse(body)?).await,
            "DescribeLogStreams" => streams::describe(&ctx, parse(body)?).await,
            "PutLogEvents" => events::put(&ctx, parse(body)?).await,
            "GetLogEvents" => events::get(&ctx, parse(body)?).await,
            "FilterLogEvents" => events::filter(&ctx, parse(body)?).await,
            "TagResource" => tags::tag_resource(&ctx, parse(body)?).await,
            "UntagResource" => tags::untag_resource(&ctx, parse(body)?).await,
            "ListTagsForResource" => tags::list_for_resource(&ctx, parse(body)?).await,
            "TagLogGroup" => tags::tag_log_group(&ctx, parse(body)?).await,
            "UntagLogGroup" => tags::untag_log_group(&ctx, parse(body)?).await,
            "ListTagsLogGroup" => tags::list_log_group(&ctx, parse(body)?).await,
            "StartQuery" => queries::start(&ctx, parse(body)?).await,
            "GetQueryResults" => queries::get_results(&ctx, parse(body)?).await,
            "StopQuery" => queries::stop(&ctx, parse(body)?).await,
            "DescribeQueries" => queries::describe(&ctx, parse(body)?).await,
            "GetLogRecord" => queries::get_log_record(&ctx, parse(body)?).await,
            "PutQueryDefinition" => queries::put_definition(&ctx, parse(body)?).await,
            "DescribeQueryDefinitions" => queries::describe_definitions(&ctx, parse(body)?).await,
            "DeleteQueryDefinition" => queries::delete_definition(&ctx, parse(body)?).await,
            _ => Err(ApiError::client("UnknownOperationException", "")),
        }
    }
}

/// Starts a live-tail session: its success is an event stream, not a JSON document.
pub async fn start_live_tail(
    state: &AppState,
    caller: &Caller,
    body: &[u8],
    request_id: &str,
) -> Result<axum::response::Response, ApiError> {
    let ctx = Ctx { state, caller };
    live_tail::start(&ctx, parse(body)?, request_id).await
}

/// Parses an operation's input; an empty body counts as `{}`, as Smithy requires.
pub(crate) fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| ApiError::serialization(e.to_string()))
}

/// A required member.
pub(crate) fn required<'a, T>(value: &'a Option<T>, member: &str) -> Result<&'a T, ApiError> {
    value.as_ref().ok_or_else(|| missing(member))
}

/// A group name member, validated.
pub(crate) fn group_name(
    value: &Option<String>,
    member: &'static str,
) -> Result<LogGroupName, ApiError> {
    Ok(LogGroupName::parse(required(value, member)?, member)?)
}

/// A stream name member, validated.
pub(crate) fn stream_name(
    value: &Option<String>,
    member: &'static str,
) -> Result<LogStreamName, ApiError> {
    Ok(LogStreamName::parse(required(value, member)?, member)?)
}

/// Checks an optional integer member against an inclusive range.
pub(crate) fn check_range(
    value: Option<i64>,
    member: &str,
    min: i64,
    max: i64,
) -> Result<(), ApiError> {
    match value {
        Some(v) if v < min => Err(constraint(
            &v.to_string(),
            member,
            &format!("Member must have value greater than or equal to {min}"),
        )),
        Some(v) if v > max => Err(constraint(
            &v.to_string(),
            member,
            &format!("Member must have value less than or equal to {max}"),
        )),
        _ => Ok(()),
    }
}

/// Checks a string member's length.
pub(crate) fn check_len(
    value: Option<&str>,
    member: &str,
    min: usize,
    max: usize,
) -> Result<(), ApiError> {
    let Some(v) = value else { return Ok(()) };
    let len = v.chars().count();
    if len < min {
        return Err(constraint(
            v,
            member,
            &format!("Member must have length greater than or equal to {min}"),
        ));
    }
    if len > max {
        return Err(constraint(
            v,
            member,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    Ok(())
}

/// Checks an enum member.
pub(crate) fn check_enum(
    value: Option<&str>,
    member: &str,
    allowed: &[&str],
) -> Result<(), ApiError> {
    match value {
        Some(v) if !allowed.contains(&v) => Err(constraint(
            v,
            member,
            &format!(
                "Member must satisfy enum value set: [{}]",
                allowed.join(", ")
            ),
        )),
        _ => Ok(()),
    }
}

/// Resolves `logGroupName` / `logGroupIdentifier` (a name or an ARN) to a group of the
/// caller's scope. Exactly one must be given.
pub(crate) fn resolve_group(
    ctx: &Ctx<'_>,
    name: &Option<String>,
    identifier: &Option<String>,
) -> Result<GroupRow, ApiError> {
    let name = match (name, identifier) {
        (Some(_), Some(_)) => {
            return Err(ApiError::client(
                "ValidationException",
                "LogGroup name and LogGroup ARN are mutually exclusive parameters.",
            ));
        }
        (Some(n), None) => LogGroupName::parse(n, "logGroupName")?.to_string(),
        (None, Some(id)) => {
            check_len(Some(id), "logGroupIdentifier", 1, 2048)?;
            if id.starts_with("arn:") {
                match model::parse_log_group_arn(id) {
                    Some((scope, name)) if &scope == ctx.scope() => name,
                    _ => {
                        return Err(ApiError::not_found(
                            "The specified log group does not exist.",
                        ));
                    }
                }
            } else {
                LogGroupName::parse(id, "logGroupIdentifier")?.to_string()
            }
        }
        (None, None) => {
            return Err(ApiError::invalid_parameter(
                "Either logGroupName or logGroupIdentifier must be specified.",
            ));
        }
    };
    Ok(ctx.state.store.catalog().group(ctx.scope(), &name)?)
}

/// `{}`: the body of operations with no output.
pub(crate) fn empty() -> Value {
    Value::Object(Default::default())
}
