//! Amazon S3 server access logs: space-separated fields, some double-quoted, the time in
//! brackets (`[06/Feb/2019:00:00:38 +0000]`), `-` for null. AWS appends new fields at the
//! end over time, so trailing fields this parser does not know are tolerated.

use crate::schema::{Field, FieldType, LineParser, Record, Value, split_fields, text, typed};

/// The documented fields in order, named as Athena's documented table names them.
pub static FIELDS: [Field; 26] = {
    use FieldType::{Int, String, Timestamp};
    [
        Field::new("bucketowner", String),
        Field::new("bucket", String),
        Field::new("requestdatetime", Timestamp),
        Field::new("remoteip", String),
        Field::new("requester", String),
        Field::new("requestid", String),
        Field::new("operation", String),
        Field::new("key", String),
        Field::new("request_uri", String),
        Field::new("httpstatus", Int),
        Field::new("errorcode", String),
        Field::new("bytessent", Int),
        Field::new("objectsize", Int),
        Field::new("totaltime", Int),
        Field::new("turnaroundtime", Int),
        Field::new("referrer", String),
        Field::new("useragent", String),
        Field::new("versionid", String),
        Field::new("hostid", String),
        Field::new("sigv", String),
        Field::new("ciphersuite", String),
        Field::new("authtype", String),
        Field::new("endpoint", String),
        Field::new("tlsversion", String),
        Field::new("accesspointarn", String),
        Field::new("aclrequired", String),
    ]
};

/// Fields every record has, up to the request ID and its operation; older records stop
/// after the user agent or later, so only these are required.
const REQUIRED: usize = 17;

/// The S3 server access log parser.
#[derive(Debug, Clone, Copy, Default)]
pub struct S3Parser;

impl LineParser for S3Parser {
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
        let time = s3_time_ms(tokens[2]).ok_or_else(|| {
            format!(
                "requestdatetime: `{}` is not `dd/Mon/yyyy:HH:MM:SS +zzzz`",
                tokens[2]
            )
        })?;
        let mut values = Vec::with_capacity(FIELDS.len());
        for (i, field) in FIELDS.iter().enumerate() {
            values.push(match tokens.get(i) {
                None => Value::Null,
                Some(_) if i == 2 => Value::Timestamp(time),
                Some(token) if field.ty == FieldType::String => text(token),
                Some(token) => typed(token, field.ty, &field.name)?,
            });
        }
        Ok(Some(Record {
            timestamp_ms: Some(time),
            values,
        }))
    }
}

/// The bracketed access-log time, `06/Feb/2019:00:00:38 +0000`, in epoch milliseconds.
pub(crate) fn s3_time_ms(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_str(text, "%d/%b/%Y:%H:%M:%S %z")
        .ok()
        .map(|t| t.timestamp_millis())
}
