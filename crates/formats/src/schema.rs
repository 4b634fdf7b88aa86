//! What every line format shares: its schema, the values a line parses into, and the
//! reader that feeds a file's lines to a parser with their line numbers.

use crate::Error;
use std::borrow::Cow;
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// The type of one field, as SQL tables and Insights see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Text.
    String,
    /// A 64-bit signed integer.
    Int,
    /// A 64-bit float.
    Float,
    /// A point in time, in epoch milliseconds.
    Timestamp,
    /// Nested JSON (arrays and objects).
    Json,
}

/// One named, typed field of a format's records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The field's name, as AWS (or Athena's documented table) spells it.
    pub name: Cow<'static, str>,
    /// Its type.
    pub ty: FieldType,
}

impl Field {
    /// A field with a fixed name.
    pub const fn new(name: &'static str, ty: FieldType) -> Self {
        Field {
            name: Cow::Borrowed(name),
            ty,
        }
    }
}

/// One field's value in a parsed line; `Null` where AWS wrote `-` or left it out.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// Not applicable or absent.
    Null,
    /// Text, borrowed from the line where it could be.
    Str(Cow<'a, str>),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// Epoch milliseconds.
    Timestamp(i64),
    /// Nested JSON.
    Json(serde_json::Value),
}

/// One parsed line: its values in schema order and the time it happened, when it says.
#[derive(Debug, Clone, PartialEq)]
pub struct Record<'a> {
    /// Epoch milliseconds of the event, `None` for lines that carry no time.
    pub timestamp_ms: Option<i64>,
    /// One value per schema field.
    pub values: Vec<Value<'a>>,
}

/// A format whose files hold one record per line.
pub trait LineParser: Send {
    /// The fields of this format's records, in the order of [`Record::values`].
    fn schema(&self) -> &[Field];

    /// Parses one line (without its line break); `Ok(None)` for a line holding no record,
    /// such as a header; `Err` says why the line is malformed.
    fn parse<'a>(&mut self, line: &'a str) -> Result<Option<Record<'a>>, String>;
}

/// One line of a file with its 1-based number and what it parsed to.
#[derive(Debug)]
pub struct Line<'a> {
    /// Where it is in its file.
    pub number: u64,
    /// The line as it is in the file, without its line break.
    pub text: &'a str,
    /// Its record; `None` for a line holding no record (a header).
    pub record: Option<Record<'a>>,
}

/// Reads a file line by line through a [`LineParser`]; blank lines are skipped.
pub struct LineReader<R, P> {
    reader: R,
    parser: P,
    path: PathBuf,
    number: u64,
    buf: Vec<u8>,
}

impl<R: BufRead, P: LineParser> LineReader<R, P> {
    /// Lines of `reader`, parsed by `parser`; `path` names the file in errors.
    pub fn new(reader: R, parser: P, path: &Path) -> Self {
        LineReader {
            reader,
            parser,
            path: path.to_path_buf(),
            number: 0,
            buf: Vec::new(),
        }
    }

    /// The parser, with whatever it learned from the file (a flow-log header).
    pub fn parser(&self) -> &P {
        &self.parser
    }

    /// The next line, `None` at the end of the file. An [`Error::Malformed`] line is
    /// skipped past, so calling again goes on; after an [`Error::Io`] the file is done.
    pub fn next_line(&mut self) -> Option<Result<Line<'_>, Error>> {
        loop {
            self.buf.clear();
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(source) => {
                    return Some(Err(Error::Io {
                        path: self.path.clone(),
                        source,
                    }));
                }
            }
            self.number += 1;
            let mut end = self.buf.len();
            while end > 0 && matches!(self.buf[end - 1], b'\n' | b'\r') {
                end -= 1;
            }
            if self.buf[..end].iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let malformed = |reason: String| Error::Malformed {
                path: self.path.clone(),
                line: self.number,
                reason,
            };
            let text = match std::str::from_utf8(&self.buf[..end]) {
                Ok(text) => text,
                Err(e) => return Some(Err(malformed(format!("not UTF-8: {e}")))),
            };
            return Some(match self.parser.parse(text) {
                Ok(record) => Ok(Line {
                    number: self.number,
                    text,
                    record,
                }),
                Err(reason) => Err(malformed(reason)),
            });
        }
    }
}

/// `-` (AWS's "not applicable") as null, anything else as text.
pub(crate) fn text(token: &str) -> Value<'_> {
    if token == "-" {
        Value::Null
    } else {
        Value::Str(Cow::Borrowed(token))
    }
}

/// `token` as a value of type `ty`; `-` is null; `name` says which field in errors.
pub(crate) fn typed<'a>(token: &'a str, ty: FieldType, name: &str) -> Result<Value<'a>, String> {
    if token == "-" {
        return Ok(Value::Null);
    }
    let bad = || format!("{name}: `{token}` is not {ty:?}");
    Ok(match ty {
        FieldType::String | FieldType::Json => Value::Str(Cow::Borrowed(token)),
        FieldType::Int => Value::Int(token.parse().map_err(|_| bad())?),
        FieldType::Float => Value::Float(token.parse().map_err(|_| bad())?),
        FieldType::Timestamp => Value::Timestamp(rfc3339_ms(token).ok_or_else(bad)?),
    })
}

/// An ISO-8601 / RFC 3339 time (`2023-07-10T12:00:00Z`, fractions allowed) in epoch ms.
pub fn rfc3339_ms(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Splits a space-separated access-log line into fields: a field in double quotes
/// (backslash escapes allowed) or in square brackets may hold spaces, and comes back
/// without its delimiters.
pub(crate) fn split_fields(line: &str) -> Result<Vec<&str>, String> {
    let bytes = line.as_bytes();
    let mut fields = Vec::with_capacity(32);
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' => i += 1,
            open @ (b'"' | b'[') => {
                let close = if open == b'"' { b'"' } else { b']' };
                let start = i + 1;
                let mut j = start;
                while j < bytes.len() && bytes[j] != close {
                    j += if bytes[j] == b'\\' && open == b'"' {
                        2
                    } else {
                        1
                    };
                }
                if j >= bytes.len() {
                    return Err(format!(
                        "unterminated `{}` field at column {}",
                        open as char,
                        i + 1
                    ));
                }
                fields.push(&line[start..j]);
                i = j + 1;
            }
            _ => {
                let start = i;
                while i < bytes.len() && bytes[i] != b' ' {
                    i += 1;
                }
                fields.push(&line[start..i]);
            }
        }
    }
    Ok(fields)
}

impl<P: LineParser + ?Sized> LineParser for Box<P> {
    fn schema(&self) -> &[Field] {
        (**self).schema()
    }

    fn parse<'a>(&mut self, line: &'a str) -> Result<Option<Record<'a>>, String> {
        (**self).parse(line)
    }
}
