//! CloudTrail log files, read record by record without holding a whole file in memory.
//!
//! A file may be in any of the shapes real exports take: AWS's own `{"Records":[...]}`
//! document (what a trail delivers, gzipped, under `AWSLogs/`), a bare JSON array of
//! records, or records one per line (or simply concatenated) as log shippers store them.
//! Records are kept as raw JSON values: every eventVersion from 1.0 to 1.11 and any field
//! AWS adds later passes through untouched. A record that is not valid JSON is reported
//! with its file and line and reading goes on; only an I/O error ends a file.

use crate::Error;
use crate::walk::{self, ByteCounter, InputFile};
use serde_json::Value;
use std::io::{self, BufRead};
use std::path::{Path, PathBuf};

/// Whether a file found under a directory is a CloudTrail record file: `.json` or
/// `.json.gz`, and not a digest file (those share the extension but hold no records).
pub fn is_log_file(path: &Path) -> bool {
    walk::has_extension(path, &["json"])
        && !path.components().any(|c| {
            c.as_os_str()
                .to_string_lossy()
                .contains("CloudTrail-Digest")
        })
}

/// The CloudTrail files named by `paths` (files, directories, `AWSLogs/` trees), sorted.
pub fn files(paths: &[PathBuf]) -> Result<Vec<InputFile>, Error> {
    walk::expand(paths, is_log_file)
}

/// Opens `file` and returns its records; raw bytes read are added to `counter`.
pub fn open(file: &Path, counter: &ByteCounter) -> Result<Records<Box<dyn BufRead + Send>>, Error> {
    Ok(Records::new(walk::open(file, counter)?, file.to_path_buf()))
}

/// `eventTime` of a record in epoch milliseconds; shippers that moved it to `@timestamp`
/// are read too.
pub fn event_time_ms(record: &Value) -> Option<i64> {
    ["eventTime", "@timestamp"].iter().find_map(|key| {
        let text = record.get(*key)?.as_str()?;
        chrono::DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.timestamp_millis())
    })
}

/// One record with where it was and its own text.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRecord {
    /// The 1-based line where the record starts in its file.
    pub line: u64,
    /// The record's JSON text as in the file, keys in their order, formatting removed.
    pub json: String,
    /// The record parsed; always a JSON object.
    pub value: Value,
}

/// The records of one CloudTrail file, in file order: each `Ok` is a JSON object, each
/// `Err` a record that was refused ([`Error::Malformed`], reading goes on) or an I/O
/// error (the last item).
pub struct Records<R> {
    input: Scanner<R>,
    path: PathBuf,
    /// Inside an array of records; `true` when it is the `Records` member of a document.
    array: Option<bool>,
    buf: Vec<u8>,
    done: bool,
}

impl<R: BufRead> Records<R> {
    /// Records read from `reader`; `path` names it in errors.
    pub fn new(reader: R, path: PathBuf) -> Self {
        Records {
            input: Scanner { reader, line: 1 },
            path,
            array: None,
            buf: Vec::new(),
            done: false,
        }
    }

    fn malformed(&self, line: u64, reason: impl Into<String>) -> Error {
        Error::Malformed {
            path: self.path.clone(),
            line,
            reason: reason.into(),
        }
    }

    /// The next item, or `None` at a clean end of input.
    fn step(&mut self) -> io::Result<Option<Result<RawRecord, Error>>> {
        loop {
            let Some(byte) = self.input.skip_whitespace()? else {
                return Ok(match self.array {
                    Some(_) => {
                        self.done = true;
                        Some(Err(self.malformed(
                            self.input.line,
                            "unexpected end of file inside an array of records",
                        )))
                    }
                    None => None,
                });
            };
            let line = self.input.line;
            match (self.array, byte) {
                (Some(wrapped), b']') => {
                    self.input.bump();
                    self.array = None;
                    if wrapped {
                        // The rest of the `{"Records":[...]}` document: other members, if
                        // any, are not records.
                        self.buf.clear();
                        if !self.input.scan(&mut self.buf, 1)? {
                            self.done = true;
                            return Ok(Some(Err(self.malformed(
                                line,
                                "unexpected end of file in the Records document",
                            ))));
                        }
                    }
                }
                (Some(_), b',') => self.input.bump(),
                (None, b'[') => {
                    self.input.bump();
                    self.array = Some(false);
                }
                (None, b'{') => {
                    self.buf.clear();
                    if self.records_member()? {
                        self.array = Some(true);
                        continue;
                    }
                    return self.finish_value(line, 1).map(Some);
                }
                (_, b'}' | b']' | b',') => {
                    self.input.bump();
                    return Ok(Some(Err(
                        self.malformed(line, format!("unexpected `{}`", byte as char))
                    )));
                }
                _ => {
                    self.buf.clear();
                    return self.finish_value(line, 0).map(Some);
                }
            }
        }
    }

    /// Reads the start of an object into `buf`; true (and `buf` dropped) when its first
    /// member is the `Records` array, whose `[` is then consumed.
    fn records_member(&mut self) -> io::Result<bool> {
        self.input.bump();
        self.buf.push(b'{');
        if self.input.skip_whitespace()? != Some(b'"') {
            return Ok(false);
        }
        let key_start = self.buf.len();
        self.input.scan(&mut self.buf, 0)?;
        let is_records = &self.buf[key_start..] == b"\"Records\"";
        if self.input.skip_whitespace()? != Some(b':') {
            return Ok(false);
        }
        self.input.bump();
        self.buf.push(b':');
        let next = self.input.skip_whitespace()?;
        if is_records && next == Some(b'[') {
            self.input.bump();
            return Ok(true);
        }
        Ok(false)
    }

    /// Scans the rest of a value begun in `buf` at `depth` and parses it as one record.
    fn finish_value(&mut self, line: u64, depth: usize) -> io::Result<Result<RawRecord, Error>> {
        if !self.input.scan(&mut self.buf, depth)? {
            self.done = true;
            return Ok(Err(
                self.malformed(line, "unexpected end of file inside a record")
            ));
        }
        if self.buf.is_empty() {
            // A byte that starts no value; skip it so reading moves on.
            self.input.bump();
            return Ok(Err(self.malformed(line, "unexpected character")));
        }
        Ok(match serde_json::from_slice::<Value>(&self.buf) {
            Ok(value @ Value::Object(_)) => Ok(RawRecord {
                line,
                // serde_json has just checked the bytes are UTF-8.
                json: String::from_utf8_lossy(&self.buf).into_owned(),
                value,
            }),
            Ok(_) => Err(self.malformed(line, "a CloudTrail record must be a JSON object")),
            Err(e) => Err(self.malformed(line, format!("invalid JSON: {e}"))),
        })
    }
}

impl<R: BufRead> Records<R> {
    /// The next record with its line and text; `None` at the end of the file.
    pub fn next_record(&mut self) -> Option<Result<RawRecord, Error>> {
        if self.done {
            return None;
        }
        match self.step() {
            Ok(item) => item,
            Err(source) => {
                self.done = true;
                Some(Err(Error::Io {
                    path: self.path.clone(),
                    source,
                }))
            }
        }
    }
}

impl<R: BufRead> Iterator for Records<R> {
    type Item = Result<Value, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record().map(|r| r.map(|r| r.value))
    }
}

/// A byte reader that finds the extent of JSON values without parsing them, counting lines.
struct Scanner<R> {
    reader: R,
    line: u64,
}

impl<R: BufRead> Scanner<R> {
    /// Consumes one byte already seen through `skip_whitespace`.
    fn bump(&mut self) {
        self.reader.consume(1);
    }

    /// Skips whitespace (and a byte-order mark); returns the next byte without
    /// consuming it.
    fn skip_whitespace(&mut self) -> io::Result<Option<u8>> {
        loop {
            let chunk = self.reader.fill_buf()?;
            let Some(first) = chunk.first().copied() else {
                return Ok(None);
            };
            if !matches!(first, b' ' | b'\t' | b'\r' | b'\n' | 0xEF | 0xBB | 0xBF) {
                return Ok(Some(first));
            }
            if first == b'\n' {
                self.line += 1;
            }
            self.reader.consume(1);
        }
    }

    /// Copies bytes into `buf` up to the end of the value being read at `depth` (0: a
    /// whole value from its first byte; 1: the rest of an object or array already opened).
    /// Returns false when the input ends first.
    fn scan(&mut self, buf: &mut Vec<u8>, mut depth: usize) -> io::Result<bool> {
        let mut in_string = false;
        let mut escaped = false;
        loop {
            let chunk = self.reader.fill_buf()?;
            if chunk.is_empty() {
                return Ok(depth == 0 && !in_string);
            }
            let mut end = None;
            let mut copied = 0;
            for (i, &b) in chunk.iter().enumerate() {
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_string = false;
                        if depth == 0 {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    continue;
                }
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' if depth == 0 => {
                        end = Some(i);
                        break;
                    }
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    b',' | b' ' | b'\t' | b'\r' | b'\n' if depth == 0 => {
                        end = Some(i);
                        break;
                    }
                    b' ' | b'\t' | b'\r' | b'\n' => {
                        // Formatting between tokens is dropped, so a record's text is
                        // compact whatever the file's layout, in its own key order.
                        buf.extend_from_slice(&chunk[copied..i]);
                        copied = i + 1;
                    }
                    _ => {}
                }
            }
            let taken = end.unwrap_or(chunk.len());
            buf.extend_from_slice(&chunk[copied.min(taken)..taken]);
            let lines = chunk[..taken].iter().filter(|&&b| b == b'\n').count() as u64;
            self.reader.consume(taken);
            self.line += lines;
            if end.is_some() {
                return Ok(true);
            }
        }
    }
}
