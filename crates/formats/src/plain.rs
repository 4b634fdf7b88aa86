//! Lines in no AWS format: JSON objects one per line, and plain text. Their time is read
//! where they state one, else the importer supplies it.

use crate::schema::{Field, LineParser, Record, rfc3339_ms};

/// Keys a JSON log line commonly keeps its time under, tried in this order.
const TIME_KEYS: [&str; 5] = ["timestamp", "@timestamp", "time", "eventTime", "ts"];

/// JSON objects, one per line; fields are whatever each line holds (no fixed schema).
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonParser;

impl LineParser for JsonParser {
    fn schema(&self) -> &[Field] {
        &[]
    }

    fn parse<'a>(&mut self, line: &'a str) -> Result<Option<Record<'a>>, String> {
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
        let object = value
            .as_object()
            .ok_or("a JSON log line must be an object")?;
        let timestamp_ms = TIME_KEYS.iter().find_map(|key| match object.get(*key)? {
            serde_json::Value::String(s) => rfc3339_ms(s),
            // Numbers are epoch milliseconds, as CloudWatch Logs' own timestamps are.
            serde_json::Value::Number(n) => n.as_i64(),
            _ => None,
        });
        Ok(Some(Record {
            timestamp_ms,
            values: Vec::new(),
        }))
    }
}

/// Plain text lines; a line starting with an RFC 3339 time (then a space or tab) has it.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextParser;

impl LineParser for TextParser {
    fn schema(&self) -> &[Field] {
        &[]
    }

    fn parse<'a>(&mut self, line: &'a str) -> Result<Option<Record<'a>>, String> {
        let first = line.split([' ', '\t']).next().unwrap_or_default();
        Ok(Some(Record {
            timestamp_ms: rfc3339_ms(first),
            values: Vec::new(),
        }))
    }
}
