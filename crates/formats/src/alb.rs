//! Application Load Balancer access logs: space-separated fields, several double-quoted,
//! `-` for null, the time as ISO 8601 with microseconds. `client:port` and `target:port`
//! are split as Athena's documented table splits them; trailing fields AWS adds later are
//! tolerated.

use crate::schema::{Field, FieldType, LineParser, Record, Value, split_fields, text, typed};

/// The fields in order, named as Athena's documented ALB table names them.
pub static FIELDS: [Field; 34] = {
    use FieldType::{Float, Int, String, Timestamp};
    [
        Field::new("type", String),
        Field::new("time", Timestamp),
        Field::new("elb", String),
        Field::new("client_ip", String),
        Field::new("client_port", Int),
        Field::new("target_ip", String),
        Field::new("target_port", Int),
        Field::new("request_processing_time", Float),
        Field::new("target_processing_time", Float),
        Field::new("response_processing_time", Float),
        Field::new("elb_status_code", Int),
        Field::new("target_status_code", String),
        Field::new("received_bytes", Int),
        Field::new("sent_bytes", Int),
        Field::new("request_verb", String),
        Field::new("request_url", String),
        Field::new("request_proto", String),
        Field::new("user_agent", String),
        Field::new("ssl_cipher", String),
        Field::new("ssl_protocol", String),
        Field::new("target_group_arn", String),
        Field::new("trace_id", String),
        Field::new("domain_name", String),
        Field::new("chosen_cert_arn", String),
        Field::new("matched_rule_priority", String),
        Field::new("request_creation_time", Timestamp),
        Field::new("actions_executed", String),
        Field::new("redirect_url", String),
        Field::new("lambda_error_reason", String),
        Field::new("target_port_list", String),
        Field::new("target_status_code_list", String),
        Field::new("classification", String),
        Field::new("classification_reason", String),
        Field::new("conn_trace_id", String),
    ]
};

/// Fields up to `request_creation_time` are in every record since 2018.
const REQUIRED: usize = 22;

/// The ALB access log parser.
#[derive(Debug, Clone, Copy, Default)]
pub struct AlbParser;

impl LineParser for AlbParser {
    fn schema(&self) -> &[Field] {
        &FIELDS
    }

    fn parse<'a>(&mut self, line: &'a str) -> Result<Option<Record<'a>>, String> {
        let tokens = split_fields(line)?;
        if tokens.len() < REQUIRED {
            return Err(format!(
                "{} fields, at least {REQUIRED} expected",
                tokens.len()
            ));
        }
        // The log's fields, with `ip:port` pairs and the request line split into the
        // table's columns.
        let mut columns: Vec<&str> = Vec::with_capacity(FIELDS.len());
        columns.extend(&tokens[..3]);
        for endpoint in &tokens[3..5] {
            let (ip, port) = endpoint.rsplit_once(':').unwrap_or((endpoint, "-"));
            columns.extend([ip, port]);
        }
        columns.extend(&tokens[5..12]);
        let mut request = tokens[12].splitn(3, ' ');
        for _ in 0..3 {
            columns.push(request.next().unwrap_or("-"));
        }
        columns.extend(&tokens[13..]);
        let mut values = Vec::with_capacity(FIELDS.len());
        for (field, token) in FIELDS
            .iter()
            .zip(columns.iter().chain(std::iter::repeat(&"-")))
        {
            values.push(match field.ty {
                FieldType::String => text(token),
                ty => typed(token, ty, &field.name)?,
            });
        }
        let timestamp_ms = match values[1] {
            Value::Timestamp(ms) => Some(ms),
            _ => None,
        };
        Ok(Some(Record {
            timestamp_ms,
            values,
        }))
    }
}
