//! The CloudTrail service (`com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.*`):
//! event history, trails, public keys and CloudTrail Lake. Each operation parses its
//! input, validates it with AWS's messages, authorizes `cloudtrail:<Op>` and calls
//! [`audit`].

pub mod lake;
mod trails;

use crate::AppState;
use crate::authn::Caller;
use crate::error::ApiError;
use crate::logs::parse;
use audit::AuditError;
use audit::lookup::{Lookup, LookupKey};
use serde::Deserialize;
use serde_json::{Value, json};
use store::read::Cursor;

/// The namespace botocore puts before CloudTrail's targets
/// (`com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.<Op>`).
pub const TARGET_NAMESPACE: &str = "com.amazonaws.cloudtrail.v20131101.";
/// The service part of a CloudTrail target (`CloudTrail_20131101.<Op>`).
pub const TARGET_SERVICE: &str = "CloudTrail_20131101";

/// What an operation needs about its request.
pub(crate) struct Ctx<'a> {
    pub state: &'a AppState,
    pub caller: &'a Caller,
}

impl Ctx<'_> {
    /// Authorizes `cloudtrail:<action>` on a resource ARN.
    pub fn authorize(&self, action: &str, resource: &str) -> Result<(), ApiError> {
        self.caller
            .authorize(&format!("cloudtrail:{action}"), resource)
    }

    /// The caller's account.
    pub fn account(&self) -> &str {
        &self.caller.scope.account
    }

    /// The caller's region.
    pub fn region(&self) -> &str {
        &self.caller.scope.region
    }
}

/// Runs one CloudTrail operation.
pub async fn handle(
    state: &AppState,
    caller: &Caller,
    op: &str,
    body: &[u8],
) -> Result<Value, ApiError> {
    let ctx = Ctx { state, caller };
    match op {
        "LookupEvents" => lookup_events(&ctx, parse(body)?).await,
        "ListPublicKeys" => list_public_keys(&ctx, parse(body)?),
        "CreateTrail" => trails::create(&ctx, parse(body)?),
        "UpdateTrail" => trails::update(&ctx, parse(body)?),
        "GetTrail" => trails::get(&ctx, parse(body)?),
        "DescribeTrails" => trails::describe(&ctx, parse(body)?),
        "ListTrails" => trails::list(&ctx, parse(body)?),
        "DeleteTrail" => trails::delete(&ctx, parse(body)?),
        "StartLogging" => trails::start_logging(&ctx, parse(body)?).await,
        "StopLogging" => trails::stop_logging(&ctx, parse(body)?).await,
        "GetTrailStatus" => trails::status(&ctx, parse(body)?),
        "PutEventSelectors" => trails::put_event_selectors(&ctx, parse(body)?),
        "GetEventSelectors" => trails::get_event_selectors(&ctx, parse(body)?),
        "PutInsightSelectors" => trails::put_insight_selectors(&ctx, parse(body)?),
        "GetInsightSelectors" => trails::get_insight_selectors(&ctx, parse(body)?),
        "AddTags" => trails::add_tags(&ctx, parse(body)?),
        "RemoveTags" => trails::remove_tags(&ctx, parse(body)?),
        "ListTags" => trails::list_tags(&ctx, parse(body)?),
        "CreateEventDataStore" => lake::create(&ctx, parse(body)?),
        "GetEventDataStore" => lake::get(&ctx, parse(body)?),
        "ListEventDataStores" => lake::list(&ctx, parse(body)?),
        "UpdateEventDataStore" => lake::update(&ctx, parse(body)?),
        "DeleteEventDataStore" => lake::delete(&ctx, parse(body)?),
        "StartQuery" => lake::start_query(&ctx, parse(body)?),
        "GetQueryResults" => lake::get_query_results(&ctx, parse(body)?),
        "DescribeQuery" => lake::describe_query(&ctx, parse(body)?),
        "ListQueries" => lake::list_queries(&ctx, parse(body)?),
        "CancelQuery" => lake::cancel_query(&ctx, parse(body)?),
        _ => Err(ApiError::client("UnknownOperationException", "")),
    }
}

/// Runs one of Trailwatch's own CloudTrail operations (`Trailwatch_20261127.<Op>`);
/// `None` when the operation is not one of them.
pub async fn handle_extension(
    state: &AppState,
    caller: &Caller,
    op: &str,
    body: &[u8],
) -> Option<Result<Value, ApiError>> {
    let ctx = Ctx { state, caller };
    match op {
        "ImportAuditEvents" => Some(match parse(body) {
            Ok(input) => lake::import_events(&ctx, input).await,
            Err(e) => Err(e),
        }),
        _ => None,
    }
}

impl From<AuditError> for ApiError {
    fn from(e: AuditError) -> ApiError {
        match e {
            AuditError::Store(e) => e.into(),
            AuditError::BucketNotFound(bucket) => ApiError::client(
                "S3BucketDoesNotExistException",
                format!("S3 bucket does not exist: {bucket}"),
            ),
            other => {
                tracing::error!(error = %other, "audit failure");
                ApiError::unavailable("The service cannot process the request right now.")
            }
        }
    }
}

/// Epoch seconds as the JSON protocol sends timestamps.
pub(crate) fn seconds(ms: i64) -> Value {
    json!(ms as f64 / 1000.0)
}

/// A `Date` member (epoch seconds, possibly fractional) as epoch ms.
pub(crate) fn millis(value: Option<f64>) -> Option<i64> {
    value.map(|s| (s * 1000.0).round() as i64)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LookupEventsInput {
    lookup_attributes: Option<Vec<LookupAttribute>>,
    start_time: Option<f64>,
    end_time: Option<f64>,
    event_category: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LookupAttribute {
    attribute_key: Option<String>,
    attribute_value: Option<String>,
}

const LOOKUP_TOKEN_PREFIX: &str = "lookup";

async fn lookup_events(ctx: &Ctx<'_>, input: LookupEventsInput) -> Result<Value, ApiError> {
    ctx.authorize("LookupEvents", "*")?;
    let insights = match input.event_category.as_deref() {
        None => false,
        Some("insight") => true,
        Some(_) => {
            return Err(ApiError::client(
                "InvalidEventCategoryException",
                "Event category is not valid. Valid value is insight.",
            ));
        }
    };
    let attributes = input.lookup_attributes.unwrap_or_default();
    if attributes.len() > 1 {
        return Err(ApiError::client(
            "InvalidLookupAttributesException",
            "You cannot specify more than one lookup attribute.",
        ));
    }
    let attribute = match attributes.into_iter().next() {
        None => None,
        Some(a) => {
            let key = a.attribute_key.as_deref().and_then(LookupKey::parse).ok_or_else(|| {
                ApiError::client(
                    "InvalidLookupAttributesException",
                    "Lookup attribute key must be one of: EventId, EventName, ReadOnly, Username, ResourceType, ResourceName, EventSource, AccessKeyId.",
                )
            })?;
            let value = a.attribute_value.unwrap_or_default();
            if value.is_empty() || value.chars().count() > 2000 {
                return Err(ApiError::client(
                    "InvalidLookupAttributesException",
                    "Lookup attribute value must have length between 1 and 2000.",
                ));
            }
            if insights && !key.applies_to_insights() {
                return Err(ApiError::client(
                    "InvalidLookupAttributesException",
                    "For Insights events, you can only look up by EventId, EventName or EventSource.",
                ));
            }
            Some((key, value))
        }
    };
    let max_results = match input.max_results {
        None => 50,
        Some(n) if (1..=50).contains(&n) => n as usize,
        Some(_) => {
            return Err(ApiError::client(
                "InvalidMaxResultsException",
                "Value for parameter MaxResults is not valid. It must be between 1 and 50.",
            ));
        }
    };
    let (start_ms, end_ms) = (millis(input.start_time), millis(input.end_time));
    if let (Some(s), Some(e)) = (start_ms, end_ms)
        && s > e
    {
        return Err(ApiError::client(
            "InvalidTimeRangeException",
            "Start time must be less than or equal to end time.",
        ));
    }
    let after =
        match input.next_token.as_deref() {
            None => None,
            Some(t) => Some(Cursor::from_token(t, LOOKUP_TOKEN_PREFIX).ok_or_else(|| {
                ApiError::client("InvalidNextTokenException", "Invalid NextToken.")
            })?),
        };
    let page = audit::lookup::lookup(
        ctx.state.audit.history(),
        &ctx.caller.scope,
        &Lookup {
            attribute,
            start_ms,
            end_ms,
            insights,
            max_results,
            after,
        },
    )
    .await?;
    let mut out = json!({ "Events": page.events });
    if let Some(next) = page.next {
        out["NextToken"] = next.to_token(LOOKUP_TOKEN_PREFIX).into();
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListPublicKeysInput {
    start_time: Option<f64>,
    end_time: Option<f64>,
}

fn list_public_keys(ctx: &Ctx<'_>, input: ListPublicKeysInput) -> Result<Value, ApiError> {
    use base64::Engine as _;
    ctx.authorize("ListPublicKeys", "*")?;
    let catalog = ctx.state.audit.catalog();
    // A region signs with a key from its first digest on; make it now if asked first.
    audit::keys::signing_key(catalog, ctx.region())?;
    let start = millis(input.start_time).unwrap_or(i64::MIN);
    let end = millis(input.end_time).unwrap_or(i64::MAX);
    let keys: Vec<_> = catalog
        .keys()?
        .into_iter()
        .filter(|k| k.region == ctx.region())
        .collect();
    let mut list = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        // A key is valid until the next one of its region takes over; the newest has no end.
        let valid_to = keys.get(i + 1).map(|n| n.valid_from_ms);
        if key.valid_from_ms > end || valid_to.is_some_and(|t| t < start) {
            continue;
        }
        let mut entry = json!({
            "Value": base64::engine::general_purpose::STANDARD.encode(&key.public_der),
            "ValidityStartTime": seconds(key.valid_from_ms),
            "Fingerprint": key.fingerprint,
        });
        entry["ValidityEndTime"] =
            seconds(valid_to.unwrap_or(key.valid_from_ms + 10 * 365 * 86_400_000));
        list.push(entry);
    }
    Ok(json!({ "PublicKeyList": list }))
}
