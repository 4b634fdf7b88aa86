//! Route 53 Resolver query logs: one JSON object per line, with AWS's snake_case field
//! names; the time is `query_timestamp`.

use crate::schema::{Field, FieldType, LineParser, Record, Value, rfc3339_ms};
use std::borrow::Cow;

/// The documented fields of a resolver query log record.
pub static FIELDS: [Field; 17] = {
    use FieldType::{Int, Json, String, Timestamp};
    [
        Field::new("version", String),
        Field::new("account_id", String),
        Field::new("region", String),
        Field::new("vpc_id", String),
        Field::new("query_timestamp", Timestamp),
        Field::new("query_name", String),
        Field::new("query_type", String),
        Field::new("query_class", String),
        Field::new("rcode", String),
        Field::new("answers", Json),
        Field::new("srcaddr", String),
        Field::new("srcport", Int),
        Field::new("transport", String),
        Field::new("srcids", Json),
        Field::new("firewall_rule_action", String),
        Field::new("firewall_rule_group_id", String),
        Field::new("firewall_domain_list_id", String),
    ]
};

/// The Route 53 Resolver query log parser.
#[derive(Debug, Clone, Copy, Default)]
pub struct Route53Parser;

impl LineParser for Route53Parser {
    fn schema(&self) -> &[Field] {
        &FIELDS
    }

    fn parse<'a>(&mut self, line: &'a str) -> Result<Option<Record<'a>>, String> {
        let serde_json::Value::Object(mut object) =
            serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?
        else {
            return Err("a resolver query log record must be a JSON object".into());
        };
        let mut timestamp_ms = None;
        let mut values = Vec::with_capacity(FIELDS.len());
        for field in &FIELDS {
            let value = object.remove(field.name.as_ref());
            values.push(match (field.ty, value) {
                (_, None | Some(serde_json::Value::Null)) => Value::Null,
                (FieldType::Timestamp, Some(serde_json::Value::String(s))) => {
                    let ms = rfc3339_ms(&s)
                        .ok_or_else(|| format!("{}: `{s}` is not a time", field.name))?;
                    timestamp_ms = Some(ms);
                    Value::Timestamp(ms)
                }
                (FieldType::Int, Some(v)) => {
                    // srcport comes as a string in AWS's examples, as a number elsewhere.
                    let n = v
                        .as_i64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()));
                    Value::Int(n.ok_or_else(|| format!("{}: {v} is not an integer", field.name))?)
                }
                (FieldType::Json, Some(v)) => Value::Json(v),
                (_, Some(serde_json::Value::String(s))) => Value::Str(Cow::Owned(s)),
                (_, Some(v)) => Value::Str(Cow::Owned(v.to_string())),
            });
        }
        if timestamp_ms.is_none() {
            return Err("no query_timestamp".into());
        }
        Ok(Some(Record {
            timestamp_ms,
            values,
        }))
    }
}
