//! VPC Flow Logs: the default version-2 record, the fields added in versions 3 to 5, and
//! any custom `${field} ...` format. Fields are space-separated, `-` is null, and files
//! delivered to S3 begin with a header line naming the fields, which sets the layout.

use crate::schema::{Field, FieldType, LineParser, Record, Value, typed};
use std::borrow::Cow;

/// One flow-log field: its name in format strings and headers, its Insights name, its
/// type, and the format version that introduced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VpcField {
    /// As in `${srcaddr}` and in the S3 header line.
    pub token: &'static str,
    /// As Insights names the discovered field (`srcAddr`).
    pub name: &'static str,
    /// Its type.
    pub ty: FieldType,
    /// The flow-log format version that introduced it.
    pub version: u8,
}

const fn field(token: &'static str, name: &'static str, ty: FieldType, version: u8) -> VpcField {
    VpcField {
        token,
        name,
        ty,
        version,
    }
}

/// Every documented field, versions 2 to 5, in AWS's documented order: the default
/// format is the first fourteen, and "all fields" formats follow this order.
pub const FIELDS: [VpcField; 29] = {
    use FieldType::{Int, String};
    [
        field("version", "version", Int, 2),
        field("account-id", "accountId", String, 2),
        field("interface-id", "interfaceId", String, 2),
        field("srcaddr", "srcAddr", String, 2),
        field("dstaddr", "dstAddr", String, 2),
        field("srcport", "srcPort", Int, 2),
        field("dstport", "dstPort", Int, 2),
        field("protocol", "protocol", Int, 2),
        field("packets", "packets", Int, 2),
        field("bytes", "bytes", Int, 2),
        field("start", "startTime", Int, 2),
        field("end", "endTime", Int, 2),
        field("action", "action", String, 2),
        field("log-status", "logStatus", String, 2),
        field("vpc-id", "vpcId", String, 3),
        field("subnet-id", "subnetId", String, 3),
        field("instance-id", "instanceId", String, 3),
        field("tcp-flags", "tcpFlags", Int, 3),
        field("type", "type", String, 3),
        field("pkt-srcaddr", "pktSrcAddr", String, 3),
        field("pkt-dstaddr", "pktDstAddr", String, 3),
        field("region", "region", String, 4),
        field("az-id", "azId", String, 4),
        field("sublocation-type", "sublocationType", String, 4),
        field("sublocation-id", "sublocationId", String, 4),
        field("pkt-src-aws-service", "pktSrcAwsService", String, 5),
        field("pkt-dst-aws-service", "pktDstAwsService", String, 5),
        field("flow-direction", "flowDirection", String, 5),
        field("traffic-path", "trafficPath", Int, 5),
    ]
};

/// How many of [`FIELDS`] the default (version 2) format has.
pub const DEFAULT_FIELDS: usize = 14;

/// The default format string, as AWS documents it.
pub const DEFAULT_FORMAT: &str = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}";

/// The documented field named `token`, if any.
pub fn by_token(token: &str) -> Option<&'static VpcField> {
    FIELDS.iter().find(|f| f.token == token)
}

/// A flow-log parser for one layout: the default, a custom format string, or the header
/// line of an S3-delivered file (which replaces the layout it was built with).
#[derive(Debug, Clone)]
pub struct VpcParser {
    schema: Vec<Field>,
    start: Option<usize>,
    seen_record: bool,
}

impl Default for VpcParser {
    fn default() -> Self {
        Self::with_tokens(FIELDS[..DEFAULT_FIELDS].iter().map(|f| f.token))
    }
}

impl VpcParser {
    /// A parser for a custom format such as `${version} ${vpc-id} ${srcaddr}`; fields this
    /// crate does not know (newer versions) are kept as text under their own name.
    pub fn from_format(format: &str) -> Result<Self, String> {
        let mut tokens = Vec::new();
        for word in format.split_whitespace() {
            let token = word
                .strip_prefix("${")
                .and_then(|w| w.strip_suffix('}'))
                .ok_or_else(|| format!("`{word}` is not a `${{field}}` reference"))?;
            tokens.push(token);
        }
        if tokens.is_empty() {
            return Err("the format names no field".into());
        }
        Ok(Self::with_tokens(tokens.into_iter()))
    }

    fn with_tokens<'t>(tokens: impl Iterator<Item = &'t str>) -> Self {
        let schema: Vec<Field> = tokens
            .map(|token| match by_token(token) {
                Some(known) => Field::new(known.name, known.ty),
                None => Field {
                    name: Cow::Owned(camel_case(token)),
                    ty: FieldType::String,
                },
            })
            .collect();
        let start = schema.iter().position(|f| f.name == "startTime");
        VpcParser {
            schema,
            start,
            seen_record: false,
        }
    }

    /// Whether `line` is a header: every word a field name, starting with a known one.
    fn is_header(line: &str) -> bool {
        let mut words = line.split(' ');
        words.next().is_some_and(|w| by_token(w).is_some())
            && words
                .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'))
    }
}

impl LineParser for VpcParser {
    fn schema(&self) -> &[Field] {
        &self.schema
    }

    fn parse<'a>(&mut self, line: &'a str) -> Result<Option<Record<'a>>, String> {
        if !self.seen_record && Self::is_header(line) {
            *self = Self::with_tokens(line.split(' '));
            return Ok(None);
        }
        self.seen_record = true;
        let tokens: Vec<&str> = line.split(' ').collect();
        if tokens.len() != self.schema.len() {
            return Err(format!(
                "{} fields where the format has {}",
                tokens.len(),
                self.schema.len()
            ));
        }
        let values = tokens
            .iter()
            .zip(&self.schema)
            .map(|(token, field)| typed(token, field.ty, &field.name))
            .collect::<Result<Vec<Value>, String>>()?;
        let timestamp_ms = self.start.and_then(|i| match values[i] {
            Value::Int(seconds) => seconds.checked_mul(1000),
            _ => None,
        });
        Ok(Some(Record {
            timestamp_ms,
            values,
        }))
    }
}

/// `ecs-cluster-name` as `ecsClusterName`, the way Insights names flow-log fields.
fn camel_case(token: &str) -> String {
    let mut out = String::with_capacity(token.len());
    let mut upper = false;
    for c in token.chars() {
        if c == '-' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insights_names_follow_the_tokens() {
        for f in FIELDS
            .iter()
            .filter(|f| f.token != "start" && f.token != "end")
        {
            assert_eq!(
                camel_case(f.token).to_lowercase(),
                f.name.to_lowercase(),
                "{}",
                f.token
            );
        }
    }

    #[test]
    fn default_format_string_is_the_first_fourteen_fields() {
        let parser = VpcParser::from_format(DEFAULT_FORMAT).unwrap();
        assert_eq!(parser.schema, VpcParser::default().schema);
    }
}
