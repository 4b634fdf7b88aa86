//! AWS log file formats, for importing them and querying them with SQL and Insights.
//!
//! Each format parses a file (plain or gzipped, found by walking paths and `AWSLogs/`
//! trees) into records with a typed schema that keeps AWS's field names. A malformed line
//! is an [`Error::Malformed`] naming its file and line: never fatal, never dropped
//! silently. The crate does no storage and no querying; `query` and the binary build on it.

pub mod alb;
pub mod cloudtrail;
mod error;
pub mod events;
pub mod lambda;
mod plain;
pub mod route53;
pub mod s3;
mod schema;
pub mod vpc;
pub mod walk;

pub use error::Error;
pub use plain::{JsonParser, TextParser};
pub use schema::{Field, FieldType, Line, LineParser, LineReader, Record, Value, rfc3339_ms};

use std::path::Path;

/// The formats Trailwatch reads, named as its commands name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CloudTrail record files (`{"Records":[...]}`), read by [`cloudtrail`].
    CloudTrail,
    /// VPC Flow Logs, read by [`vpc::VpcParser`].
    VpcFlow,
    /// S3 server access logs, read by [`s3::S3Parser`].
    S3Access,
    /// Application Load Balancer access logs, read by [`alb::AlbParser`].
    Alb,
    /// Route 53 Resolver query logs, read by [`route53::Route53Parser`].
    Route53Resolver,
    /// Lambda function logs, read by [`lambda::LambdaParser`].
    Lambda,
    /// JSON objects one per line.
    Json,
    /// Plain text lines.
    Text,
}

impl Format {
    /// Every format, in the order help texts list them.
    pub const ALL: [Format; 8] = [
        Format::CloudTrail,
        Format::VpcFlow,
        Format::S3Access,
        Format::Alb,
        Format::Route53Resolver,
        Format::Lambda,
        Format::Json,
        Format::Text,
    ];

    /// The format's name in commands and catalogs (`vpc-flow`).
    pub fn name(self) -> &'static str {
        match self {
            Format::CloudTrail => "cloudtrail",
            Format::VpcFlow => "vpc-flow",
            Format::S3Access => "s3-access",
            Format::Alb => "alb",
            Format::Route53Resolver => "route53-resolver",
            Format::Lambda => "lambda",
            Format::Json => "json",
            Format::Text => "text",
        }
    }

    /// The format a name (or its short form: `vpc`, `s3`, `route53`) stands for.
    pub fn from_name(name: &str) -> Option<Format> {
        let short = match name {
            "vpc" => Format::VpcFlow,
            "s3" => Format::S3Access,
            "route53" => Format::Route53Resolver,
            _ => return Format::ALL.into_iter().find(|f| f.name() == name),
        };
        Some(short)
    }

    /// Whether a file met while walking a directory belongs to this format: CloudTrail
    /// takes its record files only; line formats take every file that is not hidden,
    /// since AWS names S3 access log objects without an extension.
    pub fn wants(self, path: &Path) -> bool {
        match self {
            Format::CloudTrail => cloudtrail::is_log_file(path),
            _ => path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| !n.starts_with('.')),
        }
    }

    /// A parser for the format's lines; `None` for CloudTrail, whose files hold JSON
    /// documents rather than lines.
    pub fn line_parser(self) -> Option<Box<dyn LineParser>> {
        Some(match self {
            Format::CloudTrail => return None,
            Format::VpcFlow => Box::new(vpc::VpcParser::default()),
            Format::S3Access => Box::new(s3::S3Parser),
            Format::Alb => Box::new(alb::AlbParser),
            Format::Route53Resolver => Box::new(route53::Route53Parser),
            Format::Lambda => Box::new(lambda::LambdaParser),
            Format::Json => Box::new(JsonParser),
            Format::Text => Box::new(TextParser),
        })
    }
}
