//! `trailwatch tail GROUP`: prints a group's recent events like `aws logs tail` (CLI v2),
//! and with `--follow` goes on printing new ones from a StartLiveTail session.

use crate::client::{Client, ConnectArgs};
use agent::client::{json_headers, service_error};
use anyhow::{Context, bail};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::{Args, ValueEnum};
use model::eventstream::Decoder;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::io::Write;

/// How each event is printed.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// `<timestamp ISO 8601> <stream> <message>`.
    Detailed,
    /// `<timestamp> <message>`.
    Short,
    /// Like detailed, with JSON messages pretty-printed.
    Json,
}

/// Options of `trailwatch tail`.
#[derive(Args)]
pub struct TailArgs {
    /// Log group name or ARN.
    group: String,
    /// Keep printing new events (a StartLiveTail session) until interrupted.
    #[arg(long)]
    follow: bool,
    /// Start this far back (`30s`, `10m`, `2h`, `1d`, `1w`) or at an ISO 8601 time.
    #[arg(long, default_value = "10m")]
    since: String,
    /// Only events matching this filter pattern (which may start with `-`).
    #[arg(long, allow_hyphen_values = true)]
    filter_pattern: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Detailed)]
    format: Format,
    /// Only these streams.
    #[arg(long, num_args = 1.., conflicts_with = "log_stream_name_prefix")]
    log_stream_names: Vec<String>,
    /// Only streams whose names start with this.
    #[arg(long)]
    log_stream_name_prefix: Option<String>,
    #[command(flatten)]
    connect: ConnectArgs,
}

/// Prints the events since `--since`, then, with `--follow`, new ones as they arrive.
pub async fn run(args: TailArgs) -> anyhow::Result<()> {
    let client = Client::new(&args.connect)?;
    let start = parse_since(&args.since, Utc::now())?;
    // The live session opens first, so nothing falls between history and live events;
    // events both read as history and received live are printed once.
    let live = if args.follow {
        Some(start_live_tail(&client, &args).await?)
    } else {
        None
    };
    let mut seen = HashSet::new();
    let mut out = std::io::stdout().lock();
    let mut token: Option<String> = None;
    loop {
        let mut input = json!({
            "logGroupIdentifier": args.group,
            "startTime": start,
            "interleaved": true,
        });
        if let Some(p) = &args.filter_pattern {
            input["filterPattern"] = json!(p);
        }
        if !args.log_stream_names.is_empty() {
            input["logStreamNames"] = json!(args.log_stream_names);
        }
        if let Some(p) = &args.log_stream_name_prefix {
            input["logStreamNamePrefix"] = json!(p);
        }
        if let Some(t) = &token {
            input["nextToken"] = json!(t);
        }
        let page = client.signed().logs("FilterLogEvents", &input).await?;
        for e in page["events"].as_array().into_iter().flatten() {
            if live.is_some() {
                seen.insert(key(e));
            }
            writeln!(out, "{}", render(args.format, e))?;
        }
        match page["nextToken"].as_str() {
            Some(t) if Some(t) != token.as_deref() => token = Some(t.to_string()),
            _ => break,
        }
    }
    out.flush()?;
    drop(out);
    if let Some(response) = live {
        follow(response, args.format, seen).await?;
    }
    Ok(())
}

fn key(e: &Value) -> (String, i64, String) {
    (
        e["logStreamName"].as_str().unwrap_or_default().to_string(),
        e["timestamp"].as_i64().unwrap_or_default(),
        e["message"].as_str().unwrap_or_default().to_string(),
    )
}

async fn start_live_tail(client: &Client, args: &TailArgs) -> anyhow::Result<reqwest::Response> {
    let identifier = group_arn(client, &args.group).await?;
    let mut input = json!({ "logGroupIdentifiers": [identifier] });
    if let Some(p) = &args.filter_pattern {
        input["logEventFilterPattern"] = json!(p);
    }
    if !args.log_stream_names.is_empty() {
        input["logStreamNames"] = json!(args.log_stream_names);
    }
    if let Some(p) = &args.log_stream_name_prefix {
        input["logStreamNamePrefixes"] = json!([p]);
    }
    let response = client
        .signed()
        .send(
            "logs",
            json_headers("Logs_20140328.StartLiveTail"),
            input.to_string().into_bytes(),
            "stream-",
        )
        .await?;
    let status = response.status().as_u16();
    if status >= 300 {
        let text = response.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        return Err(service_error(status, &body).into());
    }
    Ok(response)
}

/// StartLiveTail takes ARNs (AWS documents names as unsupported there).
async fn group_arn(client: &Client, group: &str) -> anyhow::Result<String> {
    if group.starts_with("arn:") {
        return Ok(group.trim_end_matches(":*").to_string());
    }
    let page = client
        .signed()
        .logs("DescribeLogGroups", &json!({"logGroupNamePrefix": group}))
        .await?;
    page["logGroups"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|g| g["logGroupName"] == group)
        .and_then(|g| g["logGroupArn"].as_str())
        .map(str::to_string)
        .with_context(|| format!("ResourceNotFoundException: log group {group} does not exist"))
}

async fn follow(
    mut response: reqwest::Response,
    format: Format,
    mut seen: HashSet<(String, i64, String)>,
) -> anyhow::Result<()> {
    let mut decoder = Decoder::default();
    while let Some(chunk) = response.chunk().await? {
        decoder.push(&chunk);
        while let Some(message) = decoder.next_message()? {
            let payload: Value = serde_json::from_slice(&message.payload).unwrap_or(Value::Null);
            match (
                message.header(":message-type"),
                message.header(":event-type"),
            ) {
                (Some("event"), Some("sessionUpdate")) => {
                    let mut out = std::io::stdout().lock();
                    for e in payload["sessionResults"].as_array().into_iter().flatten() {
                        if !seen.is_empty() && seen.remove(&key(e)) {
                            continue;
                        }
                        writeln!(out, "{}", render(format, e))?;
                    }
                    out.flush()?;
                }
                (Some("event"), _) => {}
                (kind, _) => {
                    let code = message
                        .header(":exception-type")
                        .or(message.header(":error-code"))
                        .unwrap_or(kind.unwrap_or("error"));
                    let text = payload["message"]
                        .as_str()
                        .or(message.header(":error-message"))
                        .unwrap_or("");
                    bail!("{code}: {text}");
                }
            }
        }
    }
    Ok(())
}

/// One event as `aws logs tail` prints it.
pub fn render(format: Format, event: &Value) -> String {
    let ms = event["timestamp"].as_i64().unwrap_or_default();
    let time = model::time::to_datetime(ms).unwrap_or_default();
    let stream = event["logStreamName"].as_str().unwrap_or_default();
    let message = event["message"].as_str().unwrap_or_default();
    match format {
        Format::Detailed => format!("{} {stream} {message}", iso(time)),
        Format::Short => format!("{} {message}", time.format("%Y-%m-%dT%H:%M:%S")),
        Format::Json => format!("{} {stream} {}", iso(time), pretty_json(message)),
    }
}

/// Python's `datetime.isoformat()` of a UTC time, as the aws CLI prints it: microseconds
/// only when there are some.
fn iso(time: DateTime<Utc>) -> String {
    let fraction = if time.timestamp_subsec_micros() == 0 {
        SecondsFormat::Secs
    } else {
        SecondsFormat::Micros
    };
    time.to_rfc3339_opts(fraction, false)
}

/// A JSON message re-indented by four spaces as Python's `json.dumps(indent=4)` does,
/// keys in their original order; anything else unchanged.
pub fn pretty_json(message: &str) -> String {
    if serde_json::from_str::<serde::de::IgnoredAny>(message).is_err() {
        return message.to_string();
    }
    let mut out = String::with_capacity(message.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = message.trim().chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"    ".repeat(depth));
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                while chars.peek().is_some_and(|n| n.is_whitespace()) {
                    chars.next();
                }
                if matches!(chars.peek(), Some('}' | ']')) {
                    if let Some(close) = chars.next() {
                        out.push(close);
                    }
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

/// `--since`: a relative span back from `now` or an ISO 8601 time; epoch milliseconds.
pub(crate) fn parse_since(text: &str, now: DateTime<Utc>) -> anyhow::Result<i64> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp_millis());
    }
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (n, unit) = text.split_at(split);
    let n: i64 = n.parse().with_context(|| {
        format!("--since {text:?}: expected e.g. 10m, 2h, 1d or an ISO 8601 time")
    })?;
    let unit_ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => bail!("--since {text:?}: the unit must be s, m, h, d or w"),
    };
    Ok(now.timestamp_millis() - n * unit_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_match_aws_logs_tail() {
        let e = json!({"timestamp": 1_700_000_000_123i64, "logStreamName": "s", "message": "{\"a\":[1,{}],\"b\":\"x,y\"}"});
        assert_eq!(
            render(Format::Short, &e),
            "2023-11-14T22:13:20 {\"a\":[1,{}],\"b\":\"x,y\"}"
        );
        assert!(render(Format::Detailed, &e).starts_with("2023-11-14T22:13:20.123000+00:00 s {"));
        assert_eq!(
            pretty_json("{\"a\":[1,{}],\"b\":\"x,y\"}"),
            "{\n    \"a\": [\n        1,\n        {}\n    ],\n    \"b\": \"x,y\"\n}"
        );
        assert_eq!(pretty_json("not json"), "not json");
        let whole =
            json!({"timestamp": 1_700_000_000_000i64, "logStreamName": "s", "message": "m"});
        assert_eq!(
            render(Format::Detailed, &whole),
            "2023-11-14T22:13:20+00:00 s m"
        );
    }

    #[test]
    fn since_takes_spans_and_times() {
        let now = DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            parse_since("10m", now).unwrap(),
            now.timestamp_millis() - 600_000
        );
        assert_eq!(
            parse_since("2023-12-31T00:00:00Z", now).unwrap(),
            now.timestamp_millis() - 86_400_000
        );
        assert!(parse_since("10x", now).is_err());
    }
}
