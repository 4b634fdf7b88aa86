//! The agent's configuration, read from either of AWS's two formats:
//!
//! - the awslogs agent's INI file: `[general]` with `state_file`, then one section per
//!   file with `file`, `log_group_name`, `log_stream_name`, `datetime_format`, …;
//! - the CloudWatch agent's JSON: `logs.logs_collected.files.collect_list[]` with
//!   `file_path`, `log_group_name`, `log_stream_name`, `timestamp_format`, ….
//!
//! Defaults are the awslogs agent's documented ones. Options the agents have and
//! Trailwatch ignores (`logging_config_file`, `file_fingerprint_lines`, …) are accepted.

use crate::Error;
use crate::host::HostInfo;
use crate::timestamp::{DatetimeFormat, Zone};
use model::limits::{MAX_BATCH_BYTES, MAX_BATCH_EVENTS};
use model::{LogGroupName, LogStreamName};
use regex::Regex;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `buffer_duration`'s default and minimum.
pub const DEFAULT_BUFFER: Duration = Duration::from_millis(5000);
/// The awslogs agent's default `multi_line_start_pattern`: a line that does not begin
/// with white space starts a new event.
pub const DEFAULT_MULTI_LINE_START: &str = r"^[^\s]";
/// Where the state file goes when the configuration names none.
pub const DEFAULT_STATE_FILE: &str = "trailwatch-agent.state";

/// Where reading a file seen for the first time starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitialPosition {
    /// From its first byte (the default).
    StartOfFile,
    /// Only what is written after the agent first sees it.
    EndOfFile,
}

/// How a file's bytes become text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8; invalid sequences become U+FFFD.
    Utf8,
    /// ISO 8859-1 (`latin_1`), which maps every byte to a character.
    Latin1,
}

impl Encoding {
    /// Decodes one line.
    pub fn decode(self, bytes: &[u8]) -> String {
        match self {
            Encoding::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
            Encoding::Latin1 => bytes.iter().map(|&b| char::from(b)).collect(),
        }
    }
}

/// What starts a new event in a file whose events may span lines.
#[derive(Debug, Clone)]
pub enum EventStart {
    /// A line matching this regular expression (anchored at the line start, as the
    /// Python agent's `re.match` is).
    Pattern(Regex),
    /// A line holding a time in the `datetime_format` (`{datetime_format}`).
    Datetime(DatetimeFormat),
}

impl EventStart {
    /// Whether `line` begins a new event.
    pub fn is_start(&self, line: &str) -> bool {
        match self {
            EventStart::Pattern(re) => re.is_match(line),
            EventStart::Datetime(format) => format.is_match(line),
        }
    }
}

/// One file (or glob of files) to ship to one stream.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// The section name (INI) or `file_path` (JSON): the key of its checkpoint.
    pub name: String,
    /// Path or glob; of the files matching it, the newest by modification time is read.
    pub file: String,
    /// Destination group.
    pub group: LogGroupName,
    /// Destination stream, with `{instance_id}`, `{hostname}`, `{ip_address}` replaced.
    pub stream: LogStreamName,
    /// How event times are read from lines; `None` means the time each line is read.
    pub datetime: Option<DatetimeFormat>,
    /// What starts an event.
    pub event_start: EventStart,
    /// Where a first read of a file starts.
    pub initial_position: InitialPosition,
    /// The file's text encoding.
    pub encoding: Encoding,
    /// Longest an event waits before it is sent.
    pub buffer_duration: Duration,
    /// Most events per PutLogEvents.
    pub batch_count: usize,
    /// Most bytes per PutLogEvents (messages plus 26 per event).
    pub batch_size: usize,
}

/// A whole agent configuration.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// Where checkpoints are kept.
    pub state_file: PathBuf,
    /// The files to ship.
    pub sources: Vec<SourceConfig>,
}

/// The raw settings of one source, before defaults and validation.
type Section = BTreeMap<String, String>;

impl AgentConfig {
    /// Reads a configuration file: JSON when it starts with `{`, INI otherwise.
    pub fn load(path: &Path, host: &HostInfo) -> Result<AgentConfig, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if text.trim_start().starts_with('{') {
            AgentConfig::from_json(&text, host)
        } else {
            AgentConfig::from_ini(&text, host)
        }
    }

    /// Parses the awslogs agent's INI format.
    pub fn from_ini(text: &str, host: &HostInfo) -> Result<AgentConfig, Error> {
        let sections = parse_ini(text)?;
        let mut state_file = PathBuf::from(DEFAULT_STATE_FILE);
        let mut sources = Vec::new();
        for (name, section) in sections {
            if name == "general" {
                if let Some(path) = section.get("state_file") {
                    state_file = PathBuf::from(path);
                }
                continue;
            }
            sources.push(source(&name, &section, host)?);
        }
        finish(state_file, sources)
    }

    /// Parses the CloudWatch agent's JSON format (`logs.logs_collected.files`).
    pub fn from_json(text: &str, host: &HostInfo) -> Result<AgentConfig, Error> {
        let root: Value =
            serde_json::from_str(text).map_err(|e| Error::Config(format!("invalid JSON: {e}")))?;
        let logs = &root["logs"];
        let list = logs["logs_collected"]["files"]["collect_list"]
            .as_array()
            .ok_or_else(|| {
                Error::Config("no logs.logs_collected.files.collect_list array".into())
            })?;
        let flush_secs = logs["force_flush_interval"].as_u64();
        let state_file = root["agent"]["state_file"]
            .as_str()
            .or_else(|| logs["state_file"].as_str())
            .map_or_else(|| PathBuf::from(DEFAULT_STATE_FILE), PathBuf::from);
        let mut sources = Vec::new();
        for entry in list {
            let get = |key: &str| match &entry[key] {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            };
            let file = get("file_path")
                .ok_or_else(|| Error::Config("a collect_list entry has no file_path".into()))?;
            let mut section = Section::new();
            section.insert("file".into(), file.clone());
            for (json_key, ini_key) in [
                ("log_group_name", "log_group_name"),
                ("log_stream_name", "log_stream_name"),
                ("timestamp_format", "datetime_format"),
                ("timezone", "time_zone"),
                ("multi_line_start_pattern", "multi_line_start_pattern"),
                ("encoding", "encoding"),
                ("initial_position", "initial_position"),
            ] {
                if let Some(v) = get(json_key) {
                    // `{timestamp_format}` is the JSON agent's name for `{datetime_format}`.
                    let v = v.replace("{timestamp_format}", "{datetime_format}");
                    section.insert(ini_key.into(), v);
                }
            }
            section
                .entry("log_stream_name".into())
                .or_insert_with(|| "{instance_id}".into());
            if let Some(secs) = flush_secs {
                section.insert("buffer_duration".into(), (secs * 1000).to_string());
            }
            sources.push(source(&file, &section, host)?);
        }
        finish(state_file, sources)
    }
}

fn finish(state_file: PathBuf, sources: Vec<SourceConfig>) -> Result<AgentConfig, Error> {
    if sources.is_empty() {
        return Err(Error::Config("the configuration names no log file".into()));
    }
    Ok(AgentConfig {
        state_file,
        sources,
    })
}

/// A tiny INI reader: `[section]`, `key = value` or `key: value`, `#`/`;` comments.
fn parse_ini(text: &str) -> Result<Vec<(String, Section)>, Error> {
    let mut sections: Vec<(String, Section)> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = name.trim().to_string();
            if sections.iter().any(|(s, _)| *s == name) {
                return Err(Error::Config(format!(
                    "line {}: section [{name}] appears twice",
                    n + 1
                )));
            }
            sections.push((name, Section::new()));
            continue;
        }
        let split = line.find(['=', ':']).ok_or_else(|| {
            Error::Config(format!(
                "line {}: expected `key = value`, got {line:?}",
                n + 1
            ))
        })?;
        let (key, value) = (line[..split].trim(), line[split + 1..].trim());
        let (_, section) = sections.last_mut().ok_or_else(|| {
            Error::Config(format!("line {}: `{key}` is outside any [section]", n + 1))
        })?;
        section.insert(key.to_ascii_lowercase(), value.to_string());
    }
    Ok(sections)
}

fn number(section: &Section, key: &str, default: usize, max: usize) -> Result<usize, Error> {
    match section.get(key) {
        None => Ok(default),
        Some(v) => {
            let n: usize = v
                .parse()
                .map_err(|_| Error::Config(format!("{key} = {v:?} is not a number")))?;
            if n == 0 || n > max {
                return Err(Error::Config(format!("{key} must be between 1 and {max}")));
            }
            Ok(n)
        }
    }
}

fn source(name: &str, section: &Section, host: &HostInfo) -> Result<SourceConfig, Error> {
    let required = |key: &str| {
        section
            .get(key)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Error::Config(format!("[{name}] has no {key}")))
    };
    let file = required("file")?.clone();
    let group = LogGroupName::parse(required("log_group_name")?, "log_group_name")
        .map_err(|e| Error::Config(format!("[{name}] {e}")))?;
    let stream_text = host.expand(required("log_stream_name")?);
    let stream = LogStreamName::parse(&stream_text, "log_stream_name")
        .map_err(|e| Error::Config(format!("[{name}] {e}")))?;
    let zone = match section.get("time_zone").map(|z| z.to_ascii_uppercase()) {
        None => Zone::Local,
        Some(z) if z == "LOCAL" => Zone::Local,
        Some(z) if z == "UTC" => Zone::Utc,
        Some(z) => {
            return Err(Error::Config(format!(
                "[{name}] time_zone {z:?}: LOCAL or UTC"
            )));
        }
    };
    let datetime = section
        .get("datetime_format")
        .filter(|f| !f.is_empty())
        .map(|f| DatetimeFormat::new(f, zone))
        .transpose()?;
    let event_start = match section.get("multi_line_start_pattern").map(String::as_str) {
        Some("{datetime_format}") => EventStart::Datetime(datetime.clone().ok_or_else(|| {
            Error::Config(format!(
                "[{name}] multi_line_start_pattern {{datetime_format}} needs a datetime_format"
            ))
        })?),
        Some(p) if !p.is_empty() => EventStart::Pattern(anchored(name, p)?),
        _ => EventStart::Pattern(anchored(name, DEFAULT_MULTI_LINE_START)?),
    };
    let initial_position = match section.get("initial_position").map(String::as_str) {
        None | Some("start_of_file") => InitialPosition::StartOfFile,
        Some("end_of_file") => InitialPosition::EndOfFile,
        Some(other) => {
            return Err(Error::Config(format!(
                "[{name}] initial_position {other:?}: start_of_file or end_of_file"
            )));
        }
    };
    let encoding = match section
        .get("encoding")
        .map(|e| e.to_ascii_lowercase().replace('-', "_"))
        .as_deref()
    {
        None | Some("utf_8" | "utf8" | "ascii") => Encoding::Utf8,
        Some("latin_1" | "latin1" | "iso8859_1" | "iso_8859_1") => Encoding::Latin1,
        Some(other) => {
            return Err(Error::Config(format!(
                "[{name}] encoding {other:?} is not supported (utf_8, ascii, latin_1)"
            )));
        }
    };
    let buffer_ms = number(
        section,
        "buffer_duration",
        DEFAULT_BUFFER.as_millis() as usize,
        usize::MAX,
    )?;
    Ok(SourceConfig {
        name: name.to_string(),
        file,
        group,
        stream,
        datetime,
        event_start,
        initial_position,
        encoding,
        buffer_duration: Duration::from_millis(buffer_ms as u64),
        batch_count: number(section, "batch_count", MAX_BATCH_EVENTS, MAX_BATCH_EVENTS)?,
        batch_size: number(section, "batch_size", MAX_BATCH_BYTES, MAX_BATCH_BYTES)?,
    })
}

fn anchored(name: &str, pattern: &str) -> Result<Regex, Error> {
    Regex::new(&format!("^(?:{pattern})")).map_err(|e| {
        Error::Config(format!(
            "[{name}] multi_line_start_pattern {pattern:?}: {e}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> HostInfo {
        HostInfo {
            instance_id: "i-0123".into(),
            hostname: "web1".into(),
            ip_address: "10.0.0.5".into(),
        }
    }

    #[test]
    fn the_awslogs_example_works_verbatim_with_documented_defaults() {
        let config = AgentConfig::from_ini(
            "[/var/log/webapp.log]\nlog_group_name = ApplicationLogs_Group\nlog_stream_name = {instance_id}\nfile = /var/log/webapp.log\n",
            &host(),
        )
        .unwrap();
        let s = &config.sources[0];
        assert_eq!(s.name, "/var/log/webapp.log");
        assert_eq!(s.group.as_str(), "ApplicationLogs_Group");
        assert_eq!(s.stream.as_str(), "i-0123");
        assert_eq!(s.buffer_duration, Duration::from_millis(5000));
        assert_eq!((s.batch_count, s.batch_size), (10_000, 1_048_576));
        assert_eq!(s.initial_position, InitialPosition::StartOfFile);
        assert!(s.event_start.is_start("x") && !s.event_start.is_start("  at x"));
        assert_eq!(config.state_file, PathBuf::from(DEFAULT_STATE_FILE));
    }

    #[test]
    fn every_awslogs_option_is_read() {
        let config = AgentConfig::from_ini(
            "# comment\n[general]\nstate_file = /tmp/s\n\n[app]\nfile = /l/*.log\nlog_group_name = g\nlog_stream_name = {hostname}-{ip_address}\n\
             datetime_format = %Y-%m-%d %H:%M:%S\ntime_zone = UTC\ninitial_position = end_of_file\n\
             multi_line_start_pattern = {datetime_format}\nencoding = latin_1\nbuffer_duration = 2000\nbatch_count = 10\nbatch_size = 500\n",
            &host(),
        )
        .unwrap();
        let s = &config.sources[0];
        assert_eq!(config.state_file, PathBuf::from("/tmp/s"));
        assert_eq!(s.stream.as_str(), "web1-10.0.0.5");
        assert_eq!(s.initial_position, InitialPosition::EndOfFile);
        assert!(s.event_start.is_start("2024-01-01 00:00:00 x"));
        assert!(!s.event_start.is_start("Traceback:"));
        assert_eq!(s.encoding, Encoding::Latin1);
        assert_eq!((s.batch_count, s.batch_size), (10, 500));
        assert_eq!(s.buffer_duration, Duration::from_millis(2000));
    }

    #[test]
    fn the_cloudwatch_agent_json_is_read() {
        let config = AgentConfig::from_json(
            r#"{"logs":{"force_flush_interval":2,"logs_collected":{"files":{"collect_list":[
                {"file_path":"/l/a.log","log_group_name":"g","timestamp_format":"%H:%M:%S %y %b %d",
                 "timezone":"UTC","multi_line_start_pattern":"{timestamp_format}"}]}}}}"#,
            &host(),
        )
        .unwrap();
        let s = &config.sources[0];
        assert_eq!(s.file, "/l/a.log");
        assert_eq!(s.stream.as_str(), "i-0123");
        assert_eq!(s.buffer_duration, Duration::from_secs(2));
        assert!(matches!(s.event_start, EventStart::Datetime(_)));
    }

    #[test]
    fn mistakes_are_reported() {
        for bad in [
            "[a]\nfile = x\nlog_stream_name = s\n",
            "[a]\nfile = x\nlog_group_name = bad name!\nlog_stream_name = s\n",
            "[a]\nfile = x\nlog_group_name = g\nlog_stream_name = s\nbatch_count = 20000\n",
            "[a]\nfile = x\nlog_group_name = g\nlog_stream_name = s\nmulti_line_start_pattern = {datetime_format}\n",
            "key = outside\n",
            "[general]\nstate_file = x\n",
        ] {
            assert!(AgentConfig::from_ini(bad, &host()).is_err(), "{bad}");
        }
    }
}
