//! Event history: LookupEvents over an account and region's records
//! (`reference/aws-formats.md` §3).

use crate::AuditError;
use crate::history::{HISTORY_GROUP, History, LOOKUP_WINDOW_MS, Scan};
use crate::insights::INSIGHTS_GROUP;
use model::{Scope, time};
use serde_json::{Value, json};
use store::read::{Cursor, Direction};

/// The eight lookup attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupKey {
    /// `eventID`.
    EventId,
    /// `eventName`.
    EventName,
    /// `readOnly`, as `"true"` / `"false"`.
    ReadOnly,
    /// The user name (`root` for the account itself).
    Username,
    /// A resource's type.
    ResourceType,
    /// A resource's name.
    ResourceName,
    /// `eventSource`.
    EventSource,
    /// `userIdentity.accessKeyId`.
    AccessKeyId,
}

impl LookupKey {
    /// The key from its API name.
    pub fn parse(name: &str) -> Option<LookupKey> {
        Some(match name {
            "EventId" => LookupKey::EventId,
            "EventName" => LookupKey::EventName,
            "ReadOnly" => LookupKey::ReadOnly,
            "Username" => LookupKey::Username,
            "ResourceType" => LookupKey::ResourceType,
            "ResourceName" => LookupKey::ResourceName,
            "EventSource" => LookupKey::EventSource,
            "AccessKeyId" => LookupKey::AccessKeyId,
            _ => return None,
        })
    }

    /// Insights events can be looked up by these only.
    pub fn applies_to_insights(self) -> bool {
        matches!(
            self,
            LookupKey::EventId | LookupKey::EventName | LookupKey::EventSource
        )
    }
}

/// One LookupEvents request, validated.
#[derive(Debug, Clone)]
pub struct Lookup {
    /// The one attribute to match, if any.
    pub attribute: Option<(LookupKey, String)>,
    /// Inclusive bounds, epoch ms.
    pub start_ms: Option<i64>,
    /// Inclusive bounds, epoch ms.
    pub end_ms: Option<i64>,
    /// Insights events instead of management events.
    pub insights: bool,
    /// At most this many events.
    pub max_results: usize,
    /// Where the previous page stopped.
    pub after: Option<Cursor>,
}

/// One page of LookupEvents.
#[derive(Debug)]
pub struct LookupPage {
    /// The `Events` members, newest first.
    pub events: Vec<Value>,
    /// Where the next page starts, if there is one.
    pub next: Option<Cursor>,
}

/// The user name LookupEvents shows for a record.
pub fn username(record: &Value) -> Option<String> {
    let identity = record.get("userIdentity")?;
    if let Some(name) = identity.get("userName").and_then(Value::as_str) {
        return Some(name.to_string());
    }
    match identity.get("type").and_then(Value::as_str) {
        Some("Root") => Some("root".into()),
        _ => identity
            .get("principalId")
            .and_then(Value::as_str)
            .map(str::to_string),
    }
}

/// A record's resources as `(type, name)` pairs; the name is the last part of the ARN.
pub fn resources(record: &Value) -> Vec<(Option<String>, String)> {
    record
        .get("resources")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|r| {
                    let arn = r.get("ARN").or_else(|| r.get("arn"))?.as_str()?;
                    let kind = r.get("type").and_then(Value::as_str).map(str::to_string);
                    Some((kind, resource_name(arn).to_string()))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The name in an ARN: what follows the resource type (`log-group:app` → `app`,
/// `trail/main` → `main`).
pub fn resource_name(arn: &str) -> &str {
    let resource = arn.splitn(6, ':').nth(5).unwrap_or(arn);
    if let Some(rest) = resource.strip_prefix("log-group:") {
        return rest.split(":log-stream:").next().unwrap_or(rest);
    }
    resource
        .split_once('/')
        .map(|(_, name)| name)
        .or_else(|| resource.split_once(':').map(|(_, name)| name))
        .unwrap_or(resource)
}

fn matches(record: &Value, lookup: &Lookup) -> bool {
    let category = record.get("eventCategory").and_then(Value::as_str);
    if lookup.insights {
        if category != Some("Insight") {
            return false;
        }
    } else if category != Some("Management") {
        return false;
    }
    let Some((key, value)) = &lookup.attribute else {
        return true;
    };
    let field = |path: &[&str]| {
        path.iter()
            .try_fold(record, |v, k| v.get(*k))
            .and_then(Value::as_str)
            .is_some_and(|s| s == value)
    };
    let details = |name: &str| {
        record
            .get("insightDetails")
            .and_then(|d| d.get(name))
            .and_then(Value::as_str)
            .is_some_and(|s| s == value)
    };
    match key {
        LookupKey::EventId => field(&["eventID"]),
        LookupKey::EventName => field(&["eventName"]) || details("eventName"),
        LookupKey::EventSource => field(&["eventSource"]) || details("eventSource"),
        LookupKey::ReadOnly => record
            .get("readOnly")
            .and_then(Value::as_bool)
            .is_some_and(|b| b.to_string() == *value),
        LookupKey::Username => username(record).as_deref() == Some(value.as_str()),
        LookupKey::AccessKeyId => field(&["userIdentity", "accessKeyId"]),
        LookupKey::ResourceType => resources(record)
            .iter()
            .any(|(kind, _)| kind.as_deref() == Some(value.as_str())),
        LookupKey::ResourceName => resources(record).iter().any(|(_, name)| name == value),
    }
}

/// One `Events` member.
pub fn to_event(record: &Value) -> Value {
    let text = |k: &str| record.get(k).and_then(Value::as_str);
    let event_time = text("eventTime")
        .and_then(crate::record::parse_event_time)
        .unwrap_or(0);
    let mut event = json!({
        "EventId": text("eventID"),
        "EventName": text("eventName").or_else(|| {
            record.get("insightDetails").and_then(|d| d.get("eventName")).and_then(Value::as_str)
        }),
        "EventTime": event_time as f64 / 1000.0,
        "EventSource": text("eventSource").or_else(|| {
            record.get("insightDetails").and_then(|d| d.get("eventSource")).and_then(Value::as_str)
        }),
        "Resources": resources(record)
            .into_iter()
            .map(|(kind, name)| json!({"ResourceType": kind, "ResourceName": name}))
            .collect::<Vec<_>>(),
        "CloudTrailEvent": record.to_string(),
    });
    if let Some(read_only) = record.get("readOnly").and_then(Value::as_bool) {
        event["ReadOnly"] = read_only.to_string().into();
    }
    if let Some(key) = record
        .get("userIdentity")
        .and_then(|i| i.get("accessKeyId"))
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
    {
        event["AccessKeyId"] = key.into();
    }
    if let Some(name) = username(record) {
        event["Username"] = name.into();
    }
    if let Value::Object(m) = &mut event {
        m.retain(|_, v| !v.is_null());
    }
    event
}

/// Runs one LookupEvents page: newest first, inside the 90-day window.
pub async fn lookup(
    history: &History,
    scope: &Scope,
    request: &Lookup,
) -> Result<LookupPage, AuditError> {
    let now = time::now_ms();
    let from = request
        .start_ms
        .unwrap_or(i64::MIN)
        .max(now - LOOKUP_WINDOW_MS);
    let to = request.end_ms.unwrap_or(i64::MAX);
    if from > to {
        return Ok(LookupPage {
            events: Vec::new(),
            next: None,
        });
    }
    let (mut found, _) = history
        .scan(
            scope,
            Scan {
                group: if request.insights {
                    INSIGHTS_GROUP
                } else {
                    HISTORY_GROUP
                },
                range: (from, to),
                direction: Direction::Backward,
                after: request.after.unwrap_or(Cursor::END),
                limit: request.max_results + 1,
            },
            &|r, _| matches(r, request),
        )
        .await?;
    let next = if found.len() > request.max_results {
        found.truncate(request.max_results);
        found.last().map(|r| Cursor::of(&r.event))
    } else {
        None
    };
    Ok(LookupPage {
        events: found.iter().map(|r| to_event(&r.record)).collect(),
        next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_names_come_from_arns() {
        assert_eq!(
            resource_name("arn:aws:logs:us-east-1:123456789012:log-group:app/web"),
            "app/web"
        );
        assert_eq!(
            resource_name("arn:aws:cloudtrail:us-east-1:123456789012:trail/main"),
            "main"
        );
        assert_eq!(
            resource_name("arn:aws:iam::123456789012:user/alice"),
            "alice"
        );
    }

    #[test]
    fn root_is_looked_up_as_root() {
        let r = json!({"userIdentity": {"type": "Root", "principalId": "123456789012"}});
        assert_eq!(username(&r).as_deref(), Some("root"));
    }
}
