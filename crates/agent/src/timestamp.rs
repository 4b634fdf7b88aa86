//! Event times read from log lines with an awslogs `datetime_format` (Python strftime
//! directives such as `%Y-%m-%d %H:%M:%S`, or the CloudWatch agent's `timestamp_format`).
//!
//! The format becomes a regular expression that finds the time anywhere in a line (the
//! agents search, they do not anchor), and the captured fields become a time in the
//! configured zone. `%f` is a fraction of a second as in Python (`5` is 500 ms), and a
//! format without a year takes the current one, as syslog's `%b %d %H:%M:%S` needs.

use crate::Error;
use chrono::{Datelike, FixedOffset, Local, NaiveDate, TimeZone, Utc};
use regex::Regex;

/// Which zone times without an explicit offset are in (`time_zone`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// The host's local time zone (the agents' default).
    Local,
    /// UTC.
    Utc,
}

/// A compiled `datetime_format`.
#[derive(Debug, Clone)]
pub struct DatetimeFormat {
    regex: Regex,
    fields: Vec<Field>,
    zone: Zone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Year4,
    Year2,
    Month,
    MonthName,
    Day,
    Hour24,
    Hour12,
    Minute,
    Second,
    Fraction,
    AmPm,
    Offset,
    Ignored,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

impl DatetimeFormat {
    /// Compiles a strftime-style format; unknown directives are an error.
    pub fn new(format: &str, zone: Zone) -> Result<DatetimeFormat, Error> {
        let mut pattern = String::new();
        let mut fields = Vec::new();
        let expanded = format
            .replace("%T", "%H:%M:%S")
            .replace("%F", "%Y-%m-%d")
            .replace("%D", "%m/%d/%y")
            .replace("%R", "%H:%M");
        let mut chars = expanded.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                if c.is_whitespace() {
                    pattern.push_str(r"\s+");
                } else {
                    pattern.push_str(&regex::escape(&c.to_string()));
                }
                continue;
            }
            let directive = chars.next().unwrap_or('%');
            let (re, field) = match directive {
                'Y' => (r"\d{4}", Field::Year4),
                'y' => (r"\d{2}", Field::Year2),
                'm' => (r"\d{1,2}", Field::Month),
                'b' | 'h' | 'B' => (r"[A-Za-z]{3,9}", Field::MonthName),
                'd' => (r"\d{1,2}", Field::Day),
                'e' => (r" ?\d{1,2}", Field::Day),
                'H' => (r"\d{1,2}", Field::Hour24),
                'I' => (r"\d{1,2}", Field::Hour12),
                'M' => (r"\d{2}", Field::Minute),
                'S' => (r"\d{2}", Field::Second),
                'f' => (r"\d{1,9}", Field::Fraction),
                'p' => (r"[AaPp][Mm]", Field::AmPm),
                'z' => (r"Z|[+-]\d{2}:?\d{2}", Field::Offset),
                'a' | 'A' => (r"[A-Za-z]{3,9}", Field::Ignored),
                'Z' => (r"[A-Za-z]{1,5}", Field::Ignored),
                'j' => (r"\d{1,3}", Field::Ignored),
                '%' => {
                    pattern.push('%');
                    continue;
                }
                other => {
                    return Err(Error::Config(format!(
                        "datetime_format {format:?}: unsupported directive %{other}"
                    )));
                }
            };
            pattern.push('(');
            pattern.push_str(re);
            pattern.push(')');
            fields.push(field);
        }
        let regex = Regex::new(&pattern)
            .map_err(|e| Error::Config(format!("datetime_format {format:?}: {e}")))?;
        Ok(DatetimeFormat {
            regex,
            fields,
            zone,
        })
    }

    /// Whether the line holds a time in this format (what `{datetime_format}` as a
    /// multi-line start pattern asks).
    pub fn is_match(&self, line: &str) -> bool {
        self.parse(line).is_some()
    }

    /// The first time in this format found in the line, epoch milliseconds.
    pub fn parse(&self, line: &str) -> Option<i64> {
        let caps = self.regex.captures(line)?;
        let now = Local::now();
        let (mut year, mut month, mut day) = (now.year(), 1u32, 1u32);
        let (mut hour, mut minute, mut second, mut nanos) = (0u32, 0u32, 0u32, 0u32);
        let mut pm: Option<bool> = None;
        let mut offset: Option<FixedOffset> = None;
        let mut has_date = false;
        for (i, field) in self.fields.iter().enumerate() {
            let text = caps.get(i + 1)?.as_str().trim();
            let number = || text.parse::<u32>().ok();
            match field {
                Field::Year4 => year = text.parse().ok()?,
                Field::Year2 => year = 2000 + text.parse::<i32>().ok()?,
                Field::Month => {
                    month = number()?;
                    has_date = true;
                }
                Field::MonthName => {
                    let lower = text.to_ascii_lowercase();
                    month = MONTHS.iter().position(|m| lower.starts_with(m))? as u32 + 1;
                    has_date = true;
                }
                Field::Day => {
                    day = number()?;
                    has_date = true;
                }
                Field::Hour24 | Field::Hour12 => hour = number()?,
                Field::Minute => minute = number()?,
                Field::Second => second = number()?,
                Field::Fraction => {
                    // Digits of a fraction: pad or cut to nanoseconds.
                    let digits: String =
                        text.chars().chain(std::iter::repeat('0')).take(9).collect();
                    nanos = digits.parse().ok()?;
                }
                Field::AmPm => pm = Some(text.eq_ignore_ascii_case("pm")),
                Field::Offset => offset = parse_offset(text),
                Field::Ignored => {}
            }
        }
        match pm {
            Some(true) if hour < 12 => hour += 12,
            Some(false) if hour == 12 => hour = 0,
            _ => {}
        }
        let date = if has_date {
            NaiveDate::from_ymd_opt(year, month, day)?
        } else {
            now.date_naive()
        };
        let naive = date.and_hms_nano_opt(hour, minute, second, nanos)?;
        let ms = match (offset, self.zone) {
            (Some(off), _) => off.from_local_datetime(&naive).single()?.timestamp_millis(),
            (None, Zone::Utc) => Utc.from_utc_datetime(&naive).timestamp_millis(),
            (None, Zone::Local) => Local
                .from_local_datetime(&naive)
                .earliest()?
                .timestamp_millis(),
        };
        Some(ms)
    }
}

fn parse_offset(text: &str) -> Option<FixedOffset> {
    if text == "Z" {
        return FixedOffset::east_opt(0);
    }
    let sign = if text.starts_with('-') { -1 } else { 1 };
    let digits: String = text[1..].chars().filter(char::is_ascii_digit).collect();
    let hours: i32 = digits.get(..2)?.parse().ok()?;
    let minutes: i32 = digits.get(2..4)?.parse().ok()?;
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(format: &str, line: &str) -> Option<i64> {
        DatetimeFormat::new(format, Zone::Utc).unwrap().parse(line)
    }

    #[test]
    fn finds_the_time_anywhere_in_the_line() {
        assert_eq!(
            utc("%Y-%m-%d %H:%M:%S", "[INFO] 2024-03-05 07:08:09 started"),
            Some(1_709_622_489_000)
        );
        assert_eq!(
            utc("%Y-%m-%dT%H:%M:%S.%f%z", "2024-03-05T07:08:09.25+01:00 x"),
            Some(1_709_618_889_250)
        );
        assert_eq!(
            utc(
                "%d/%b/%Y:%H:%M:%S %z",
                r#"1.2.3.4 - - [05/Mar/2024:07:08:09 +0000] "GET /""#
            ),
            Some(1_709_622_489_000)
        );
        assert_eq!(utc("%Y-%m-%d %H:%M:%S", "no time here"), None);
        assert_eq!(
            utc("%I:%M %p %Y-%m-%d", "12:30 AM 2024-01-01"),
            Some(1_704_069_000_000)
        );
    }

    #[test]
    fn syslog_without_a_year_takes_this_year() {
        let ms = utc("%b %d %H:%M:%S", "Mar  5 07:08:09 host sshd[1]: ok").unwrap();
        let t = Utc.timestamp_millis_opt(ms).unwrap();
        assert_eq!((t.month(), t.day(), t.year()), (3, 5, Local::now().year()));
    }

    #[test]
    fn unknown_directives_are_refused() {
        assert!(DatetimeFormat::new("%Q", Zone::Utc).is_err());
    }
}
