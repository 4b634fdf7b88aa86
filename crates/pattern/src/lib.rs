//! CloudWatch Logs filter patterns, as used by FilterLogEvents, metric and subscription
//! filters, TestMetricFilter and Live Tail.
//!
//! A pattern is parsed once into a [`FilterPattern`] and then tested against many event
//! messages. All four forms are supported: terms (`ERROR -DEBUG`, `"exact phrase"`,
//! `?A ?B`), a regex (`%…%`), JSON (`{ $.a.b = "x" && $.n > 5 }`) and space-delimited
//! (`[ip, user, ..., status = 4*, bytes]`), with AWS's error messages for invalid ones.

mod aws_regex;
mod cursor;
mod delimited;
mod expr;
mod json;
mod terms;
mod value;

use std::collections::BTreeMap;

use regex::Regex;

use delimited::DelimitedPattern;
use json::JsonPattern;
use terms::TermPattern;

/// Regexes allowed in one JSON or space-delimited pattern.
const MAX_REGEXES: usize = 2;

/// Why a filter pattern was rejected. `Display` gives the message AWS returns with
/// `InvalidParameterException`.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum PatternError {
    /// Characters the syntax does not allow where they appear, such as an unquoted `(`
    /// in a term or `!` in a regex.
    #[error("Invalid character(s) in term '{0}'")]
    InvalidCharacters(String),
    /// Any other malformed pattern; AWS gives no detail.
    #[error("Invalid filter pattern")]
    Syntax,
    /// A documented quota exceeded (regexes or wildcards per pattern), with which one.
    #[error("Invalid filter pattern: {0}")]
    Limit(&'static str),
}

/// A parsed filter pattern, ready to test against many events.
#[derive(Clone, Debug)]
pub struct FilterPattern {
    kind: Kind,
}

#[derive(Clone, Debug)]
enum Kind {
    All,
    Terms(TermPattern),
    Regex(Regex),
    Json(JsonPattern),
    Delimited(DelimitedPattern),
}

impl FilterPattern {
    /// Parses pattern text; the form is chosen by its first character (`{`, `[`, `%`, or
    /// anything else for terms). Blank text matches every event.
    pub fn parse(text: &str) -> Result<FilterPattern, PatternError> {
        let text = text.trim();
        let kind = if text.is_empty() {
            Kind::All
        } else if text.starts_with('{') {
            Kind::Json(JsonPattern::parse(text)?)
        } else if text.starts_with('[') {
            Kind::Delimited(DelimitedPattern::parse(text)?)
        } else if let Some(body) = text
            .strip_prefix('%')
            .and_then(|rest| rest.strip_suffix('%'))
        {
            Kind::Regex(aws_regex::compile(body)?)
        } else {
            TermPattern::parse(text)?.map_or(Kind::All, Kind::Terms)
        };
        Ok(FilterPattern { kind })
    }

    /// Whether the event message matches.
    pub fn matches(&self, message: &str) -> bool {
        match &self.kind {
            Kind::All => true,
            Kind::Terms(terms) => terms.matches(message),
            Kind::Regex(regex) => regex.is_match(message),
            Kind::Json(json) => json.matches(message),
            Kind::Delimited(delimited) => delimited.matches(message),
        }
    }

    /// For TestMetricFilter: None when no match; Some(map) of extracted values when it matches
    /// (empty map for term/regex/JSON patterns, `$name`/`$N` for space-delimited).
    pub fn extract(&self, message: &str) -> Option<BTreeMap<String, String>> {
        match &self.kind {
            Kind::Delimited(delimited) => delimited.extract(message),
            _ => self.matches(message).then(BTreeMap::new),
        }
    }

    /// True when the pattern matches everything (empty or blank), so callers can skip matching.
    pub fn matches_all(&self) -> bool {
        matches!(self.kind, Kind::All)
    }
}

#[cfg(test)]
mod tests;
