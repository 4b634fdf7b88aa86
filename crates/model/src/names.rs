//! Log group and stream names, validated by AWS's rules at the edge so the store can trust them.

use std::fmt;
use thiserror::Error;

/// Why a name was refused; `Display` is AWS's `InvalidParameterException` message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NameError {
    /// AWS answers over-long group or stream names with one shared sentence.
    #[error("Invalid LogGroup or LogStream, both must have length less than or equal to 512.")]
    TooLong,
    /// A name that breaks the member's regular expression.
    #[error(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: {pattern}"
    )]
    Pattern {
        /// The offending value.
        value: String,
        /// The request member it was sent in.
        member: &'static str,
        /// The constraint, as AWS's model writes it.
        pattern: &'static str,
    },
    /// An empty name.
    #[error(
        "1 validation error detected: Value '' at '{member}' failed to satisfy constraint: Member must have length greater than or equal to 1"
    )]
    Empty {
        /// The request member it was sent in.
        member: &'static str,
    },
}

/// The longest group or stream name AWS accepts.
pub const MAX_NAME_LEN: usize = 512;

/// A log group name: 1–512 characters of `[.\-_/#A-Za-z0-9]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LogGroupName(String);

impl LogGroupName {
    /// The regular expression of AWS's `LogGroupName` shape.
    pub const PATTERN: &'static str = "[\\.\\-_/#A-Za-z0-9]+";

    /// Validates `value` as the request member `member` (named in the error message).
    pub fn parse(value: &str, member: &'static str) -> Result<Self, NameError> {
        check_length(value, member)?;
        if !value.chars().all(is_group_char) {
            return Err(NameError::Pattern {
                value: value.to_string(),
                member,
                pattern: Self::PATTERN,
            });
        }
        Ok(LogGroupName(value.to_string()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A log stream name: 1–512 characters, none of them `:` or `*`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LogStreamName(String);

impl LogStreamName {
    /// The regular expression of AWS's `LogStreamName` shape.
    pub const PATTERN: &'static str = "[^:*]*";

    /// Validates `value` as the request member `member` (named in the error message).
    pub fn parse(value: &str, member: &'static str) -> Result<Self, NameError> {
        check_length(value, member)?;
        if value.contains([':', '*']) {
            return Err(NameError::Pattern {
                value: value.to_string(),
                member,
                pattern: Self::PATTERN,
            });
        }
        Ok(LogStreamName(value.to_string()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether `c` may appear in a log group name.
pub fn is_group_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '#')
}

fn check_length(value: &str, member: &'static str) -> Result<(), NameError> {
    if value.is_empty() {
        return Err(NameError::Empty { member });
    }
    if value.chars().count() > MAX_NAME_LEN {
        return Err(NameError::TooLong);
    }
    Ok(())
}

impl fmt::Display for LogGroupName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for LogStreamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names_follow_aws_rules() {
        assert!(LogGroupName::parse("/aws/lambda/my-fn_1.#", "logGroupName").is_ok());
        assert_eq!(
            LogGroupName::parse(&"a".repeat(513), "logGroupName"),
            Err(NameError::TooLong)
        );
        assert!(LogGroupName::parse(&"a".repeat(512), "logGroupName").is_ok());
        let err = LogGroupName::parse("bad name", "logGroupName").unwrap_err();
        assert!(err.to_string().contains("at 'logGroupName'"));
        assert!(LogGroupName::parse("", "logGroupName").is_err());
    }

    #[test]
    fn stream_names_refuse_colon_and_star() {
        assert!(LogStreamName::parse("2024/01/01/[$LATEST]abc def", "logStreamName").is_ok());
        assert!(LogStreamName::parse("a:b", "logStreamName").is_err());
        assert!(LogStreamName::parse("a*", "logStreamName").is_err());
    }
}
