//! One API call as a CloudTrail record (`reference/aws-formats.md` §1).
//!
//! The API layer describes each call as a [`Call`]; [`Call::to_record`] turns it into the
//! JSON record AWS would write, with AWS's classification of the call (read-only or not,
//! management or data event) and AWS's size limits on the free-form members.

use chrono::{DateTime, SecondsFormat, Utc};
use model::Scope;
use serde_json::{Map, Value, json};

/// The `eventVersion` Trailwatch writes: the current one.
pub const EVENT_VERSION: &str = "1.11";

/// `requestParameters` / `responseElements` larger than this are omitted, as AWS does.
const MAX_ELEMENTS_BYTES: usize = 100 * 1024;
/// `userAgent`, `errorCode` and `errorMessage` are cut to this many bytes.
const MAX_SHORT_FIELD_BYTES: usize = 1024;

/// Who made a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// The account itself (`--dev` callers act as root).
    Root {
        /// The account.
        account: String,
        /// The key the request was signed with, if any.
        access_key_id: Option<String>,
    },
    /// An IAM user.
    IamUser {
        /// The user's account.
        account: String,
        /// The user's name.
        user_name: String,
        /// The user's unique id (`AIDA...`).
        principal_id: String,
        /// The key the request was signed with.
        access_key_id: Option<String>,
    },
}

impl Identity {
    /// The `userIdentity` object.
    pub fn to_json(&self) -> Value {
        match self {
            Identity::Root {
                account,
                access_key_id,
            } => json!({
                "type": "Root",
                "principalId": account,
                "arn": format!("arn:aws:iam::{account}:root"),
                "accountId": account,
                "accessKeyId": access_key_id.as_deref().unwrap_or(""),
            }),
            Identity::IamUser {
                account,
                user_name,
                principal_id,
                access_key_id,
            } => json!({
                "type": "IAMUser",
                "principalId": principal_id,
                "arn": format!("arn:aws:iam::{account}:user/{user_name}"),
                "accountId": account,
                "accessKeyId": access_key_id.as_deref().unwrap_or(""),
                "userName": user_name,
            }),
        }
    }
}

/// A resource a call acted on (`resources[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// CloudFormation-style type, e.g. `AWS::Logs::LogGroup`.
    pub kind: &'static str,
    /// The resource's ARN.
    pub arn: String,
}

/// The TLS parameters of a call's connection (`tlsDetails`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsDetails {
    /// e.g. `TLSv1.3`.
    pub tls_version: String,
    /// e.g. `TLS_AES_128_GCM_SHA256`.
    pub cipher_suite: String,
    /// The `Host` header the client sent.
    pub client_provided_host_header: String,
}

/// Everything the record of one call says, as the API layer knows it.
#[derive(Debug, Clone)]
pub struct Call {
    /// Account and region the call acted in.
    pub scope: Scope,
    /// Who called.
    pub identity: Identity,
    /// `logs.amazonaws.com`, `cloudtrail.amazonaws.com` or `iam.amazonaws.com`.
    pub event_source: &'static str,
    /// The operation, e.g. `CreateLogGroup`.
    pub event_name: String,
    /// When the call completed, epoch milliseconds.
    pub time_ms: i64,
    /// The client's address.
    pub source_ip: String,
    /// The client's `User-Agent`.
    pub user_agent: Option<String>,
    /// The request's members (payloads removed by [`sanitize_request`]).
    pub request_parameters: Option<Value>,
    /// The response's members, for calls that change something.
    pub response_elements: Option<Value>,
    /// The error code and message, when the call failed.
    pub error: Option<(String, String)>,
    /// The request id sent back to the client.
    pub request_id: String,
    /// The resources the call named.
    pub resources: Vec<Resource>,
    /// Present when the call came over TLS.
    pub tls: Option<TlsDetails>,
}

impl Call {
    /// Whether AWS marks the call `readOnly`.
    pub fn read_only(&self) -> bool {
        is_read_only(self.event_source, &self.event_name)
    }

    /// `Management` or `Data`.
    pub fn category(&self) -> &'static str {
        if is_data_event(self.event_source, &self.event_name) {
            "Data"
        } else {
            "Management"
        }
    }

    /// The CloudTrail record, with a fresh `eventID`.
    pub fn to_record(&self) -> Value {
        let read_only = self.read_only();
        let category = self.category();
        let mut record = Map::new();
        record.insert("eventVersion".into(), EVENT_VERSION.into());
        record.insert("userIdentity".into(), self.identity.to_json());
        record.insert("eventTime".into(), event_time(self.time_ms).into());
        record.insert("eventSource".into(), self.event_source.into());
        record.insert("eventName".into(), self.event_name.clone().into());
        record.insert("awsRegion".into(), self.scope.region.clone().into());
        record.insert("sourceIPAddress".into(), self.source_ip.clone().into());
        if let Some(agent) = &self.user_agent {
            record.insert("userAgent".into(), truncate(agent).into());
        }
        if let Some((code, message)) = &self.error {
            record.insert("errorCode".into(), truncate(code).into());
            record.insert("errorMessage".into(), truncate(message).into());
        }
        let mut omitted = false;
        let request = bounded(self.request_parameters.clone(), &mut omitted);
        record.insert("requestParameters".into(), request);
        let response = if read_only || self.error.is_some() {
            Value::Null
        } else {
            bounded(self.response_elements.clone(), &mut omitted)
        };
        record.insert("responseElements".into(), response);
        record.insert("requestID".into(), self.request_id.clone().into());
        record.insert("eventID".into(), uuid::Uuid::new_v4().to_string().into());
        record.insert("readOnly".into(), read_only.into());
        if !self.resources.is_empty() {
            let resources = self
                .resources
                .iter()
                .map(|r| json!({"accountId": self.scope.account, "type": r.kind, "ARN": r.arn}))
                .collect();
            record.insert("resources".into(), Value::Array(resources));
        }
        record.insert("eventType".into(), "AwsApiCall".into());
        record.insert("managementEvent".into(), (category == "Management").into());
        record.insert(
            "recipientAccountId".into(),
            self.scope.account.clone().into(),
        );
        record.insert("eventCategory".into(), category.into());
        if let Some(tls) = &self.tls {
            record.insert(
                "tlsDetails".into(),
                json!({
                    "tlsVersion": tls.tls_version,
                    "cipherSuite": tls.cipher_suite,
                    "clientProvidedHostHeader": tls.client_provided_host_header,
                }),
            );
        }
        if omitted {
            record.insert("omitted".into(), true.into());
        }
        Value::Object(record)
    }
}

/// `eventTime`'s format: ISO 8601 in UTC, whole seconds, `Z`.
pub fn event_time(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Parses an `eventTime` (with or without fractional seconds) to epoch milliseconds.
pub fn parse_event_time(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Whether AWS records the operation with `readOnly: true`.
pub fn is_read_only(source: &str, op: &str) -> bool {
    const READ_PREFIXES: [&str; 7] = [
        "Describe", "Get", "List", "Lookup", "Filter", "Test", "Validate",
    ];
    if READ_PREFIXES.iter().any(|p| op.starts_with(p)) {
        return true;
    }
    match source {
        "logs.amazonaws.com" => matches!(op, "StartQuery" | "StopQuery" | "StartLiveTail"),
        "cloudtrail.amazonaws.com" => matches!(op, "StartQuery" | "CancelQuery"),
        _ => false,
    }
}

/// Whether the operation is a data event: the Logs calls that carry or return log
/// events themselves. Everything else is a management event.
pub fn is_data_event(source: &str, op: &str) -> bool {
    source == "logs.amazonaws.com"
        && matches!(
            op,
            "PutLogEvents" | "GetLogEvents" | "FilterLogEvents" | "GetLogRecord" | "StartLiveTail"
        )
}

/// Removes what a record must never hold from a request: the events that PutLogEvents
/// and the imports carry (the payload is the data, not the call).
pub fn sanitize_request(op: &str, mut request: Value) -> Value {
    if let Value::Object(members) = &mut request {
        match op {
            "PutLogEvents" | "ImportLogEvents" => {
                members.remove("logEvents");
            }
            "ImportAuditEvents" => {
                members.remove("Records");
            }
            _ => {}
        }
    }
    request
}

/// Removes secrets from a response before it is recorded.
pub fn sanitize_response(mut response: Value) -> Value {
    if let Some(key) = response.get_mut("accessKey").and_then(Value::as_object_mut) {
        key.remove("secretAccessKey");
    }
    response
}

fn bounded(value: Option<Value>, omitted: &mut bool) -> Value {
    match value {
        None => Value::Null,
        Some(Value::Object(m)) if m.is_empty() => Value::Null,
        Some(v) if v.to_string().len() > MAX_ELEMENTS_BYTES => {
            *omitted = true;
            Value::Null
        }
        Some(v) => v,
    }
}

fn truncate(text: &str) -> String {
    if text.len() <= MAX_SHORT_FIELD_BYTES {
        return text.to_string();
    }
    let mut end = MAX_SHORT_FIELD_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(op: &str) -> Call {
        Call {
            scope: Scope::new("123456789012", "eu-west-1"),
            identity: Identity::IamUser {
                account: "123456789012".into(),
                user_name: "alice".into(),
                principal_id: "AIDAEXAMPLE".into(),
                access_key_id: Some("AKIAEXAMPLE".into()),
            },
            event_source: "logs.amazonaws.com",
            event_name: op.into(),
            time_ms: 1_700_000_000_123,
            source_ip: "127.0.0.1".into(),
            user_agent: Some("aws-cli/2".into()),
            request_parameters: Some(json!({"logGroupName": "app"})),
            response_elements: None,
            error: None,
            request_id: "req-1".into(),
            resources: vec![Resource {
                kind: "AWS::Logs::LogGroup",
                arn: "arn:aws:logs:eu-west-1:123456789012:log-group:app".into(),
            }],
            tls: None,
        }
    }

    #[test]
    fn a_record_has_the_documented_fields() {
        let r = call("CreateLogGroup").to_record();
        assert_eq!(r["eventVersion"], "1.11");
        assert_eq!(r["eventTime"], "2023-11-14T22:13:20Z");
        assert_eq!(r["userIdentity"]["type"], "IAMUser");
        assert_eq!(
            r["userIdentity"]["arn"],
            "arn:aws:iam::123456789012:user/alice"
        );
        assert_eq!(r["readOnly"], false);
        assert_eq!(r["eventCategory"], "Management");
        assert_eq!(r["managementEvent"], true);
        assert_eq!(r["responseElements"], Value::Null);
        assert_eq!(
            r["resources"][0]["ARN"],
            "arn:aws:logs:eu-west-1:123456789012:log-group:app"
        );
        assert_eq!(r["eventID"].as_str().map(str::len), Some(36));
        assert!(r.get("errorCode").is_none());
    }

    #[test]
    fn log_event_calls_are_data_events_without_payloads() {
        let mut c = call("PutLogEvents");
        c.request_parameters = Some(sanitize_request(
            "PutLogEvents",
            json!({"logGroupName": "app", "logEvents": [{"timestamp": 1, "message": "secret"}]}),
        ));
        let r = c.to_record();
        assert_eq!(r["eventCategory"], "Data");
        assert_eq!(r["managementEvent"], false);
        assert!(!r.to_string().contains("secret"));
        assert_eq!(call("DescribeLogGroups").to_record()["readOnly"], true);
    }

    #[test]
    fn oversized_members_are_omitted() {
        let mut c = call("PutQueryDefinition");
        c.request_parameters = Some(json!({"queryString": "x".repeat(200 * 1024)}));
        let r = c.to_record();
        assert_eq!(r["requestParameters"], Value::Null);
        assert_eq!(r["omitted"], true);
    }

    #[test]
    fn event_times_round_trip() {
        assert_eq!(
            parse_event_time("2023-11-14T22:13:20Z"),
            Some(1_700_000_000_000)
        );
        assert_eq!(
            parse_event_time("2023-11-14T22:13:20.5Z"),
            Some(1_700_000_000_500)
        );
        assert_eq!(parse_event_time("yesterday"), None);
    }
}
