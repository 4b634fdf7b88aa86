//! The `op value` half of a JSON or space-delimited condition, and how it compares with
//! what the event holds.

use std::borrow::Cow;

use regex::Regex;

use crate::cursor::Cursor;
use crate::{PatternError, aws_regex};

/// A value taken from the event: a space-delimited field, or a JSON scalar.
#[derive(Clone, Copy)]
pub(crate) enum Scalar<'a> {
    Text(&'a str),
    Number(&'a serde_json::Number),
    Bool(bool),
}

impl<'a> Scalar<'a> {
    fn text(self) -> Cow<'a, str> {
        match self {
            Scalar::Text(text) => Cow::Borrowed(text),
            Scalar::Number(n) => Cow::Owned(n.to_string()),
            Scalar::Bool(b) => Cow::Borrowed(if b { "true" } else { "false" }),
        }
    }

    fn number(self) -> Option<f64> {
        match self {
            Scalar::Text(text) => parse_number(text),
            Scalar::Number(n) => n.as_f64(),
            Scalar::Bool(_) => None,
        }
    }
}

/// One comparison such as `= "UpdateTrail"`, `!= 123.123.*`, `= %Trail%` or `>= 1e3`.
#[derive(Clone, Debug)]
pub(crate) enum Comparison {
    /// `=` (or `!=` when `negate`) against text.
    Text { negate: bool, matcher: TextMatcher },
    /// A comparison with a number literal.
    Number {
        op: NumOp,
        value: f64,
        literal: String,
    },
}

/// How a text value is matched: the whole value for exact and wildcard values, any part
/// of it for a regex (the doc's `%val.{2}%` matches `"value"`).
#[derive(Clone, Debug)]
pub(crate) enum TextMatcher {
    Exact(String),
    Glob(Glob),
    Regex(Regex),
}

/// Numeric comparison operators.
#[derive(Clone, Copy, Debug)]
pub(crate) enum NumOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Comparison {
    /// Parses `op value` at the cursor, counting a regex value into `regexes` for the
    /// per-pattern quota.
    pub(crate) fn parse(cur: &mut Cursor<'_>, regexes: &mut usize) -> Result<Self, PatternError> {
        cur.skip_ws();
        let op = [
            ("!=", NumOp::Ne),
            ("<=", NumOp::Le),
            (">=", NumOp::Ge),
            ("=", NumOp::Eq),
            ("<", NumOp::Lt),
            (">", NumOp::Gt),
        ]
        .into_iter()
        .find_map(|(text, op)| cur.eat(text).then_some(op))
        .ok_or_else(|| cur.unexpected())?;
        cur.skip_ws();
        let matcher = if cur.eat("\"") {
            TextMatcher::from_quoted(cur.quoted_raw()?)
        } else if cur.eat("%") {
            *regexes += 1;
            TextMatcher::Regex(aws_regex::compile(cur.regex_body()?)?)
        } else {
            let bare = cur.take_while(is_value_char);
            if bare.is_empty() {
                return Err(cur.unexpected());
            }
            match parse_number(bare) {
                Some(value) => {
                    return Ok(Comparison::Number {
                        op,
                        value,
                        literal: bare.to_owned(),
                    });
                }
                None => TextMatcher::from_bare(bare),
            }
        };
        match op {
            NumOp::Eq => Ok(Comparison::Text {
                negate: false,
                matcher,
            }),
            NumOp::Ne => Ok(Comparison::Text {
                negate: true,
                matcher,
            }),
            // Ordering needs a number on the right: `status > abc` has no meaning.
            _ => Err(PatternError::Syntax),
        }
    }

    /// Whether the event's value satisfies the comparison.
    pub(crate) fn test(&self, scalar: Scalar<'_>) -> bool {
        match self {
            Comparison::Text { negate, matcher } => matcher.is_match(&scalar.text()) != *negate,
            Comparison::Number { op, value, literal } => match scalar.number() {
                Some(n) => match op {
                    NumOp::Eq => n == *value,
                    NumOp::Ne => n != *value,
                    NumOp::Lt => n < *value,
                    NumOp::Le => n <= *value,
                    NumOp::Gt => n > *value,
                    NumOp::Ge => n >= *value,
                },
                // A value that is not a number still compares as text under `=` and `!=`,
                // so `status != 200` holds for a `-` placeholder.
                None => match op {
                    NumOp::Eq => scalar.text() == literal.as_str(),
                    NumOp::Ne => scalar.text() != literal.as_str(),
                    _ => false,
                },
            },
        }
    }
}

impl TextMatcher {
    /// A double-quoted value: `*` is a wildcard unless escaped as `\*`.
    fn from_quoted(raw: &str) -> Self {
        let mut parts = vec![String::new()];
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            match c {
                '*' => parts.push(String::new()),
                '\\' => push_char(&mut parts, chars.next().unwrap_or('\\')),
                _ => push_char(&mut parts, c),
            }
        }
        Self::from_parts(parts)
    }

    /// An unquoted value, which has no escapes.
    fn from_bare(bare: &str) -> Self {
        Self::from_parts(bare.split('*').map(str::to_owned).collect())
    }

    /// The literal pieces around the wildcards: one piece means no wildcard.
    fn from_parts(mut parts: Vec<String>) -> Self {
        if parts.len() == 1
            && let Some(only) = parts.pop()
        {
            return TextMatcher::Exact(only);
        }
        TextMatcher::Glob(Glob { parts })
    }

    fn is_match(&self, text: &str) -> bool {
        match self {
            TextMatcher::Exact(exact) => text == exact,
            TextMatcher::Glob(glob) => glob.is_match(text),
            TextMatcher::Regex(regex) => regex.is_match(text),
        }
    }
}

fn push_char(parts: &mut [String], c: char) {
    if let Some(last) = parts.last_mut() {
        last.push(c);
    }
}

/// A value with `*` wildcards, kept as the literal pieces between them (at least two).
#[derive(Clone, Debug)]
pub(crate) struct Glob {
    parts: Vec<String>,
}

impl Glob {
    fn is_match(&self, text: &str) -> bool {
        let Some((first, rest)) = self.parts.split_first() else {
            return false;
        };
        let Some((last, middle)) = rest.split_last() else {
            return text == first;
        };
        let Some(text) = text.strip_prefix(first.as_str()) else {
            return false;
        };
        let Some(mut text) = text.strip_suffix(last.as_str()) else {
            return false;
        };
        for part in middle {
            match text.find(part.as_str()) {
                Some(at) => text = &text[at + part.len()..],
                None => return false,
            }
        }
        true
    }
}

/// Characters allowed in an unquoted value: the doc's letters, digits and `_`, plus what
/// its own unquoted examples use (`123.123.*`, `-1`, `1e+3`).
fn is_value_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_.*+-".contains(c)
}

/// Parses a decimal number with optional sign, fraction and exponent (`-5`, `1.5`,
/// `1e-3`). Stricter than `str::parse`, which would also take `inf` or `NaN`.
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    let bytes = text.as_bytes();
    let digits_from = |mut i: usize| {
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    let mut i = usize::from(matches!(bytes.first(), Some(b'+' | b'-')));
    let int_end = digits_from(i);
    let mut mantissa_digits = int_end - i;
    i = int_end;
    if bytes.get(i) == Some(&b'.') {
        let frac_end = digits_from(i + 1);
        mantissa_digits += frac_end - i - 1;
        i = frac_end;
    }
    if mantissa_digits == 0 {
        return None;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_end = digits_from(i);
        if exp_end == i {
            return None;
        }
        i = exp_end;
    }
    if i != bytes.len() {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_the_documented_forms() {
        assert_eq!(parse_number("200"), Some(200.0));
        assert_eq!(parse_number("+3"), Some(3.0));
        assert_eq!(parse_number("-1.5"), Some(-1.5));
        assert_eq!(parse_number("1e-3"), Some(0.001));
        assert_eq!(parse_number("1E+3"), Some(1000.0));
        assert_eq!(parse_number(".5"), Some(0.5));
        for text in [
            "", "-", ".", "1e", "1e+", "inf", "NaN", "1.2.3", "12a", "0x10", "5*",
        ] {
            assert_eq!(parse_number(text), None, "{text}");
        }
    }

    #[test]
    fn globs_match_whole_values() {
        let glob = |text: &str| match TextMatcher::from_bare(text) {
            TextMatcher::Glob(glob) => glob,
            other => panic!("not a glob: {other:?}"),
        };
        assert!(glob("123.123.*").is_match("123.123.1.1"));
        assert!(!glob("123.123.*").is_match("111.123.123.1"));
        assert!(glob("*.html*").is_match("GET /index.html HTTP/1.0"));
        assert!(!glob("*.html*").is_match("GET /index.htm"));
        assert!(glob("4*").is_match("404"));
        assert!(glob("*").is_match(""));
        assert!(glob("a*b*c").is_match("abc"));
        assert!(glob("a*b*c").is_match("a-b-b-c"));
        assert!(!glob("ab*ba").is_match("aba"));
    }

    #[test]
    fn quoted_values_keep_escaped_stars_literal() {
        assert!(matches!(
            TextMatcher::from_quoted(r#"a\*b \"q\""#),
            TextMatcher::Exact(ref s) if s == r#"a*b "q""#
        ));
        assert!(matches!(
            TextMatcher::from_quoted("*"),
            TextMatcher::Glob(_)
        ));
    }
}
