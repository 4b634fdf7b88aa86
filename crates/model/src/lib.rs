//! Types every Trailwatch crate shares.
//!
//! Nothing here does I/O. It names the things the rest of the system talks about — the
//! account and region that own state, AWS resource names and their validation rules,
//! ARNs, log events and epoch-millisecond time — so that `store`, `api` and the binary
//! agree on them without depending on each other.

pub mod eventstream;
pub mod limits;
pub mod names;
pub mod time;

pub use names::{LogGroupName, LogStreamName, NameError};

use serde::{Deserialize, Serialize};

/// Who owns a piece of state: every log group, stream and key lives in one account and
/// one region, as in AWS.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Scope {
    /// Twelve-digit AWS account id.
    pub account: String,
    /// Region name taken from the request's SigV4 credential scope, e.g. `us-east-1`.
    pub region: String,
}

impl Scope {
    /// A scope for `account` in `region`.
    pub fn new(account: impl Into<String>, region: impl Into<String>) -> Self {
        Scope {
            account: account.into(),
            region: region.into(),
        }
    }

    /// `arn:aws:logs:<region>:<account>:log-group:<name>` — the form AWS calls `logGroupArn`
    /// and accepts in `logGroupIdentifier` and the tagging APIs.
    pub fn log_group_arn(&self, group: &str) -> String {
        format!(
            "arn:aws:logs:{}:{}:log-group:{}",
            self.region, self.account, group
        )
    }

    /// The ARN of a log stream.
    pub fn log_stream_arn(&self, group: &str, stream: &str) -> String {
        format!("{}:log-stream:{}", self.log_group_arn(group), stream)
    }
}

/// Log groups whose names start with this hold Trailwatch's own records (CloudTrail
/// event history, event data stores). No user can name a group so, and the Logs API
/// never lists them.
pub const INTERNAL_GROUP_PREFIX: char = '@';

/// The account `--dev` mode serves, as AWS's documentation examples do.
pub const DEV_ACCOUNT: &str = "123456789012";

/// The region used when a request names none.
pub const DEFAULT_REGION: &str = "us-east-1";

/// One log event as a client sends it (`InputLogEvent`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputEvent {
    /// Event time, epoch milliseconds.
    pub timestamp: i64,
    /// The event text.
    pub message: String,
}

/// One stored log event, as the store returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Name of the stream the event was put to.
    pub stream: String,
    /// Event time, epoch milliseconds.
    pub timestamp: i64,
    /// When the server accepted the event, epoch milliseconds.
    pub ingestion_time: i64,
    /// Server-wide ingest sequence number; unique, increasing in acknowledgement order.
    pub seq: u64,
    /// The event text.
    pub message: String,
}

/// The allowed `retentionInDays` values (AWS's `Days` shape).
pub const RETENTION_DAYS: [i32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// Parses an ARN of a log group (with or without the trailing `:*`) into its scope and name.
pub fn parse_log_group_arn(arn: &str) -> Option<(Scope, String)> {
    let rest = arn.strip_prefix("arn:")?;
    let mut parts = rest.splitn(6, ':');
    let _partition = parts.next()?;
    if parts.next()? != "logs" {
        return None;
    }
    let region = parts.next()?;
    let account = parts.next()?;
    let resource = parts.next()?;
    let name_and_rest = parts.next()?;
    if resource != "log-group" {
        return None;
    }
    let name = name_and_rest.strip_suffix(":*").unwrap_or(name_and_rest);
    if name.is_empty() || name.contains(':') {
        return None;
    }
    Some((Scope::new(account, region), name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_round_trip() {
        let scope = Scope::new("123456789012", "eu-west-1");
        let arn = scope.log_group_arn("/aws/lambda/f");
        assert_eq!(
            arn,
            "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/f"
        );
        assert_eq!(
            parse_log_group_arn(&arn),
            Some((scope.clone(), "/aws/lambda/f".to_string()))
        );
        assert_eq!(
            parse_log_group_arn(&format!("{arn}:*")),
            Some((scope, "/aws/lambda/f".to_string()))
        );
        assert_eq!(parse_log_group_arn("arn:aws:s3:::bucket"), None);
        assert_eq!(
            parse_log_group_arn("arn:aws:logs:r:1:log-group:g:log-stream:s"),
            None
        );
    }
}
