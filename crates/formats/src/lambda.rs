//! Lambda function log lines: the platform's `START`, `END` and `REPORT` lines, and the
//! runtimes' own lines (`2024-01-02T03:04:05.678Z<TAB>request-id<TAB>INFO<TAB>message`).
//! Fields are tab-separated; exports that keep the tab escaped as `\t` are read too.

use crate::schema::{Field, FieldType, LineParser, Record, Value, rfc3339_ms};
use std::borrow::Cow;

/// The fields, named as Insights discovers them in Lambda logs.
pub static FIELDS: [Field; 11] = {
    use FieldType::{Float, Int, String};
    [
        Field::new("@type", String),
        Field::new("@requestId", String),
        Field::new("@duration", Float),
        Field::new("@billedDuration", Float),
        Field::new("@memorySize", Int),
        Field::new("@maxMemoryUsed", Int),
        Field::new("@initDuration", Float),
        Field::new("@xrayTraceId", String),
        Field::new("@xraySegmentId", String),
        Field::new("level", String),
        Field::new("message", String),
    ]
};

/// `REPORT` line labels and the schema position each fills.
const REPORT: [(&str, usize); 7] = [
    ("Duration: ", 2),
    ("Billed Duration: ", 3),
    ("Memory Size: ", 4),
    ("Max Memory Used: ", 5),
    ("Init Duration: ", 6),
    ("XRAY TraceId: ", 7),
    ("SegmentId: ", 8),
];

/// The Lambda line parser; every line is a record, platform lines carry no time.
#[derive(Debug, Clone, Copy, Default)]
pub struct LambdaParser;

impl LineParser for LambdaParser {
    fn schema(&self) -> &[Field] {
        &FIELDS
    }

    fn parse<'a>(&mut self, line: &'a str) -> Result<Option<Record<'a>>, String> {
        let mut values = vec![Value::Null; FIELDS.len()];
        let mut timestamp_ms = None;
        let platform = ["START", "END", "REPORT"].into_iter().find(|kind| {
            line.strip_prefix(kind)
                .is_some_and(|rest| rest.starts_with(" RequestId: "))
        });
        if let Some(kind) = platform {
            values[0] = Value::Str(Cow::Borrowed(kind));
            let rest = &line[kind.len() + " RequestId: ".len()..];
            let id = split_tabs(rest).next().unwrap_or_default();
            let id = id.split(' ').next().unwrap_or_default();
            values[1] = Value::Str(Cow::Borrowed(id.trim_end_matches("\\n")));
            for part in split_tabs(rest).skip(1) {
                let part = part.trim();
                for (label, at) in REPORT {
                    // `XRAY TraceId: a SegmentId: b` holds two labels in one field.
                    let Some(pos) = part.find(label) else {
                        continue;
                    };
                    let value = part[pos + label.len()..]
                        .split(' ')
                        .next()
                        .unwrap_or_default();
                    if FIELDS[at].ty == FieldType::String {
                        values[at] = Value::Str(Cow::Borrowed(value));
                        continue;
                    }
                    let number = value
                        .parse::<f64>()
                        .map_err(|_| format!("{}: `{value}` is not a number", FIELDS[at].name))?;
                    values[at] = if FIELDS[at].ty == FieldType::Int {
                        Value::Int(number as i64)
                    } else {
                        Value::Float(number)
                    };
                }
            }
        } else {
            // Node.js and others: `time<TAB>id<TAB>LEVEL<TAB>message`; Python: `[LEVEL]<TAB>time<TAB>id<TAB>message`.
            let mut parts = split_tabs(line);
            let first = parts.next().unwrap_or_default();
            let bracketed = first.strip_prefix('[').and_then(|l| l.strip_suffix(']'));
            let time = match bracketed {
                Some(_) => parts.next().unwrap_or_default(),
                None => first,
            };
            match rfc3339_ms(time) {
                Some(ms) => {
                    timestamp_ms = Some(ms);
                    values[1] = Value::Str(Cow::Borrowed(parts.next().unwrap_or_default()));
                    let level = match bracketed {
                        Some(level) => level,
                        None => parts.next().unwrap_or_default(),
                    };
                    values[9] = Value::Str(Cow::Borrowed(level));
                    values[10] = Value::Str(Cow::Borrowed(parts.remainder()));
                }
                None => values[10] = Value::Str(Cow::Borrowed(line)),
            }
        }
        Ok(Some(Record {
            timestamp_ms,
            values,
        }))
    }
}

/// Splits at tabs, real or written as `\t`; the rest after the parts taken is kept.
fn split_tabs(text: &str) -> TabSplit<'_> {
    TabSplit { rest: Some(text) }
}

struct TabSplit<'a> {
    rest: Option<&'a str>,
}

impl<'a> TabSplit<'a> {
    fn remainder(&self) -> &'a str {
        self.rest.unwrap_or_default()
    }
}

impl<'a> Iterator for TabSplit<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let text = self.rest?;
        let real = text.find('\t').map(|i| (i, 1));
        let escaped = text.find("\\t").map(|i| (i, 2));
        let cut = match (real, escaped) {
            (Some(a), Some(b)) => Some(if a.0 < b.0 { a } else { b }),
            (a, b) => a.or(b),
        };
        match cut {
            Some((at, width)) => {
                self.rest = Some(&text[at + width..]);
                Some(&text[..at])
            }
            None => {
                self.rest = None;
                Some(text)
            }
        }
    }
}
