//! Space-delimited patterns: `[ip, user, ..., status_code = 4*, bytes > 1000]`.
//!
//! The event is split on whitespace; text in `"…"` or `[…]` is one field, without the
//! quotes or brackets. Each spec in the pattern names a field and may put conditions on
//! it (`w1=ERROR || w1=WARNING`); `...` stands for any number of fields, and an empty
//! spec (`[a, , b]` or a trailing comma) is an unnamed field.
//!
//! **Field count.** With an ellipsis, the event needs at least as many fields as there
//! are specs, and the ellipsis covers the rest. Without one, the event needs at least as
//! many fields as specs, and the last spec takes the rest of the line as written. That is
//! what the doc's examples require: `[w1=ERROR, w2]` matches
//! `ERROR 09/25/2014 12:00:02 Failed to process request` (six fields), and the doc's note
//! that the trailing `w2` must be given follows from it, since `[w1=ERROR]` would compare
//! the whole line with `ERROR`.

use std::collections::BTreeMap;

use crate::cursor::Cursor;
use crate::expr::{self, Expr};
use crate::value::{Comparison, Scalar};
use crate::{MAX_REGEXES, PatternError};

/// A parsed space-delimited pattern.
#[derive(Clone, Debug)]
pub(crate) struct DelimitedPattern {
    /// Specs before the ellipsis, or all of them when there is none.
    head: Vec<Spec>,
    /// Specs after the ellipsis; `None` when there is no ellipsis.
    tail: Option<Vec<Spec>>,
}

/// One field of the pattern.
#[derive(Clone, Debug)]
struct Spec {
    name: Option<String>,
    condition: Option<Expr<Comparison>>,
}

impl Spec {
    fn accepts(&self, value: &str) -> bool {
        self.condition.as_ref().is_none_or(|condition| {
            condition.eval(&mut |c: &Comparison| c.test(Scalar::Text(value)))
        })
    }
}

/// An event field bound to its place in the pattern.
struct Binding<'p, 'm> {
    /// 1-based position in the event.
    position: usize,
    /// The spec it falls under; `None` inside the ellipsis.
    spec: Option<&'p Spec>,
    value: &'m str,
}

impl DelimitedPattern {
    /// Parses a pattern that starts with `[`.
    pub(crate) fn parse(text: &str) -> Result<Self, PatternError> {
        let mut cur = Cursor::new(text, "_.*+-\"%&|()<=>![],");
        if !cur.eat("[") {
            return Err(PatternError::Syntax);
        }
        let mut head = Vec::new();
        let mut tail: Option<Vec<Spec>> = None;
        let mut regexes = 0;
        cur.skip_ws();
        if cur.eat("]") {
            // `[]` extracts every field by position, like `[...]`.
            tail = Some(Vec::new());
        } else {
            loop {
                cur.skip_ws();
                if cur.eat("...") {
                    if tail.is_some() {
                        return Err(PatternError::Syntax);
                    }
                    tail = Some(Vec::new());
                } else {
                    let spec = if matches!(cur.peek(), Some(',' | ']')) {
                        Spec {
                            name: None,
                            condition: None,
                        }
                    } else {
                        parse_spec(&mut cur, &mut regexes)?
                    };
                    let taken = head
                        .iter()
                        .chain(tail.iter().flatten())
                        .any(|s: &Spec| s.name.is_some() && s.name == spec.name);
                    if taken {
                        return Err(PatternError::Syntax);
                    }
                    tail.as_mut().unwrap_or(&mut head).push(spec);
                }
                cur.skip_ws();
                if cur.eat("]") {
                    break;
                }
                if !cur.eat(",") {
                    return Err(cur.unexpected());
                }
            }
        }
        cur.skip_ws();
        if !cur.at_end() {
            return Err(cur.unexpected());
        }
        if regexes > MAX_REGEXES {
            return Err(PatternError::Limit(
                "a space-delimited pattern can contain at most 2 regular expressions",
            ));
        }
        Ok(DelimitedPattern { head, tail })
    }

    /// Whether the message's fields satisfy every spec.
    pub(crate) fn matches(&self, message: &str) -> bool {
        self.bind(message, |b| b.spec.is_none_or(|spec| spec.accepts(b.value)))
    }

    /// The extracted values of a matching message: `$name` for named fields, `$N` for the
    /// others.
    pub(crate) fn extract(&self, message: &str) -> Option<BTreeMap<String, String>> {
        let mut values = BTreeMap::new();
        let matched = self.bind(message, |b| {
            let key = match b.spec.and_then(|spec| spec.name.as_deref()) {
                Some(name) => format!("${name}"),
                None => format!("${}", b.position),
            };
            values.insert(key, b.value.to_owned());
            b.spec.is_none_or(|spec| spec.accepts(b.value))
        });
        matched.then_some(values)
    }

    /// Pairs the message's fields with the specs, calling `visit` on each until it returns
    /// false. True when every field was visited and accepted, and the field count fits.
    fn bind<'m>(&self, message: &'m str, mut visit: impl FnMut(Binding<'_, 'm>) -> bool) -> bool {
        let Some(tail) = &self.tail else {
            let mut fields = Fields::new(message);
            for (i, spec) in self.head.iter().enumerate() {
                let Some(field) = fields.next() else {
                    return false;
                };
                let last = i + 1 == self.head.len();
                let value = if last && fields.clone().next().is_some() {
                    message[field.start..].trim_end_matches(|c: char| c.is_ascii_whitespace())
                } else {
                    field.value
                };
                if !visit(Binding {
                    position: i + 1,
                    spec: Some(spec),
                    value,
                }) {
                    return false;
                }
            }
            return true;
        };
        let count = Fields::new(message).count();
        let Some(covered) = count.checked_sub(self.head.len() + tail.len()) else {
            return false;
        };
        let specs = self
            .head
            .iter()
            .map(Some)
            .chain((0..covered).map(|_| None))
            .chain(tail.iter().map(Some));
        Fields::new(message)
            .zip(specs)
            .enumerate()
            .all(|(i, (field, spec))| {
                visit(Binding {
                    position: i + 1,
                    spec,
                    value: field.value,
                })
            })
    }
}

/// Parses a field spec: a name alone, or conditions on one field joined by `&&`/`||`.
fn parse_spec(cur: &mut Cursor<'_>, regexes: &mut usize) -> Result<Spec, PatternError> {
    let start = cur.pos();
    let name = field_name(cur);
    cur.skip_ws();
    if !name.is_empty() && matches!(cur.peek(), Some(',' | ']')) {
        return Ok(Spec {
            name: Some(name.to_owned()),
            condition: None,
        });
    }
    cur.set_pos(start);
    let mut field: Option<&str> = None;
    let condition = expr::parse(cur, &mut |cur: &mut Cursor<'_>| {
        cur.skip_ws();
        let name = field_name(cur);
        if name.is_empty() {
            return Err(cur.unexpected());
        }
        // A condition on another field inside this spec, such as
        // `status_code = 4* && bytes > 1000`, is an error in AWS too.
        if *field.get_or_insert(name) != name {
            return Err(PatternError::Syntax);
        }
        Comparison::parse(cur, regexes)
    })?;
    Ok(Spec {
        name: field.map(str::to_owned),
        condition: Some(condition),
    })
}

/// A field name: a letter or `_`, then letters, digits, `_` and `-`.
fn field_name<'a>(cur: &mut Cursor<'a>) -> &'a str {
    if !cur
        .peek()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
    {
        return "";
    }
    cur.take_while(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// One field of an event.
struct Field<'m> {
    /// Byte offset where the field starts, at its opening quote or bracket if any.
    start: usize,
    value: &'m str,
}

/// The fields of an event, split without allocating.
#[derive(Clone)]
struct Fields<'m> {
    message: &'m str,
    pos: usize,
}

impl<'m> Fields<'m> {
    fn new(message: &'m str) -> Self {
        Fields { message, pos: 0 }
    }
}

impl<'m> Iterator for Fields<'m> {
    type Item = Field<'m>;

    fn next(&mut self) -> Option<Field<'m>> {
        let bytes = self.message.as_bytes();
        while bytes.get(self.pos).is_some_and(u8::is_ascii_whitespace) {
            self.pos += 1;
        }
        let start = self.pos;
        let close = match bytes.get(start)? {
            b'"' => Some(b'"'),
            b'[' => Some(b']'),
            _ => None,
        };
        let value = match close {
            Some(close) => {
                let from = start + 1;
                let end = memchr::memchr(close, &bytes[from..]).map_or(bytes.len(), |i| from + i);
                self.pos = (end + 1).min(bytes.len());
                &self.message[from..end]
            }
            None => {
                let end = bytes[start..]
                    .iter()
                    .position(u8::is_ascii_whitespace)
                    .map_or(bytes.len(), |i| start + i);
                self.pos = end;
                &self.message[start..end]
            }
        };
        Some(Field { start, value })
    }
}
