//! Golden tests of the Insights functions and operators: exact rows on a small fixed
//! store. Expected values are worked out by hand from the language reference (§6.4 of
//! the AWS formats notes), not taken from what the engine prints.

mod common;

use common::{new_group, row, rows_of};
use model::InputEvent;
use query::engine::QueryRequest;
use store::Store;

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    group: store::GroupRow,
}

/// Epoch ms of a UTC time written `YYYY-MM-DD HH:MM:SS.mmm`.
fn ms(text: &str) -> i64 {
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.3f")
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .and_utc()
        .timestamp_millis()
}

/// Every query runs over these ten years.
const START: &str = "2020-01-01 00:00:00.000";
const END: &str = "2030-01-01 00:00:00.000";

/// Numbers and words as text, as JSON logs carry them.
const NUMBERS: &str = r#"{"neg":"-3.5","pos":"2.1","sixteen":"16","big":"3000000000",
    "exact":"9007199254740993","frac":"3.7","word":"abc","sci":"1e3",
    "minint":"-2147483648","maxint":"2147483647","abovemax":"2147483648"}"#;

const TEXT: &str = r#"{"pad":"  hi there  ","ws":" \t hi \n","xy":"xyZxyfooxyxyZ",
    "doc":"xyZfooxyZ","mixed":"Hello World","e":"","blank":"   ","tabs":" \t\n ",
    "uni":"héllo","path":"/api/v1/users/42","abc":"abc"}"#;

/// The events of each stream: `(stream, time, message)`.
fn events() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        ("numbers", "2024-03-01 12:00:00.000", NUMBERS),
        ("text", "2024-03-01 12:00:00.000", TEXT),
        // Calendar edges: a leap day, month, quarter and year boundaries.
        ("dates", "2024-01-17 10:30:45.250", "a"),
        ("dates", "2024-02-29 23:59:59.999", "b"),
        ("dates", "2024-05-01 00:00:00.000", "c"),
        ("dates", "2024-10-01 00:00:00.000", "d"),
        ("dates", "2024-12-31 12:00:00.000", "e"),
        ("dates", "2025-01-01 00:00:00.000", "f"),
        // Within a day, on and around second, minute and hour edges. 2024-03-10 is a
        // Sunday, 2024-03-11 a Monday.
        ("clock", "2024-03-10 08:59:59.500", "g1"),
        ("clock", "2024-03-10 09:00:00.000", "g2"),
        ("clock", "2024-03-10 09:00:00.999", "g3"),
        ("clock", "2024-03-10 09:04:59.999", "g4"),
        ("clock", "2024-03-10 09:05:00.000", "g5"),
        ("clock", "2024-03-10 10:00:00.000", "g6"),
        ("clock", "2024-03-11 00:00:00.000", "g7"),
        (
            "people",
            "2024-03-02 00:00:01.000",
            r#"{"name":"ana","age":"34","nick":"A"}"#,
        ),
        (
            "people",
            "2024-03-02 00:00:02.000",
            r#"{"name":"bo","age":"17"}"#,
        ),
        ("people", "2024-03-02 00:00:03.000", r#"{"name":"cy"}"#),
        (
            "metrics",
            "2024-03-03 00:00:01.000",
            r#"{"k":"a","v":"110"}"#,
        ),
        ("metrics", "2024-03-03 00:00:02.000", r#"{"k":"a","v":"9"}"#),
        (
            "metrics",
            "2024-03-03 00:00:03.000",
            r#"{"k":"a","v":"40"}"#,
        ),
        ("metrics", "2024-03-03 00:00:04.000", r#"{"k":"b","v":"4"}"#),
        ("metrics", "2024-03-03 00:00:05.000", r#"{"k":"b","v":"8"}"#),
        ("metrics", "2024-03-03 00:00:06.000", r#"{"k":"b","v":"6"}"#),
        ("metrics", "2024-03-03 00:00:07.000", r#"{"k":"b","v":"4"}"#),
        ("metrics", "2024-03-03 00:00:08.000", r#"{"k":"b","v":"8"}"#),
        ("metrics", "2024-03-03 00:00:09.000", r#"{"k":"c","w":"x"}"#),
        (
            "ops",
            "2024-03-04 00:00:01.000",
            r#"{"code":"200","msg":"OK fine","user":"Ana"}"#,
        ),
        (
            "ops",
            "2024-03-04 00:00:02.000",
            r#"{"code":"404","msg":"Not Found","user":"bob"}"#,
        ),
        (
            "ops",
            "2024-03-04 00:00:03.000",
            r#"{"code":"500","msg":"Internal Exception raised","user":"cy"}"#,
        ),
        (
            "ops",
            "2024-03-04 00:00:04.000",
            r#"{"code":"201","msg":"created exception","user":"Dee"}"#,
        ),
    ]
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (store, group) = new_group(dir.path(), "fn");
    let id = group.id;
    let all = events();
    let mut names: Vec<&str> = all.iter().map(|(s, _, _)| *s).collect();
    names.dedup();
    for (i, name) in names.iter().enumerate() {
        store.catalog().create_stream(id, name, 0).unwrap();
        let stream = store.catalog().stream(id, name).unwrap();
        let batch = all
            .iter()
            .filter(|(s, _, _)| s == name)
            .map(|(_, t, m)| InputEvent {
                timestamp: ms(t),
                message: m.to_string(),
            })
            .collect();
        store.put_events(&group, &stream, batch).await.unwrap();
        // Some streams in a segment, the rest in the memtable: queries read both.
        if i == names.len() / 2 {
            store.flush().await.unwrap();
        }
    }
    Fixture {
        _dir: dir,
        store,
        group,
    }
}

fn request<'a>(f: &'a Fixture, text: &'a str) -> QueryRequest<'a> {
    QueryRequest {
        text,
        groups: std::slice::from_ref(&f.group),
        start_ms: ms(START),
        end_ms: ms(END),
        limit: 10_000,
    }
}

/// Runs `text` with both plans (see `common::both_plans`).
async fn rows(f: &Fixture, text: &str) -> Vec<Vec<(String, String)>> {
    rows_of(&f.store, request(f, text)).await
}

/// The one row of `stream`, showing `display`.
async fn one(f: &Fixture, stream: &str, display: &str) -> Vec<(String, String)> {
    let text = format!(r#"filter @logStream = "{stream}" | display {display}"#);
    let mut got = rows(f, &text).await;
    assert_eq!(got.len(), 1, "{text}: {got:?}");
    got.remove(0)
}

#[tokio::test]
async fn numeric_functions() {
    let f = fixture().await;
    let got = one(
        &f,
        "numbers",
        "abs(neg) as abs, abs(sixteen) as abs16, ceil(pos) as ceil, ceil(neg) as ceilneg,
         floor(pos) as floor, floor(neg) as floorneg, greatest(pos, sixteen, 4) as greatest,
         least(pos, sixteen, 4) as least, log(1) as log1, round(log(sixteen), 6) as log16,
         sqrt(sixteen) as sqrt, sqrt(2) as sqrt2, abs(word) as absword",
    )
    .await;
    assert_eq!(
        got,
        row(&[
            ("abs", "3.5"),
            ("abs16", "16"),
            ("ceil", "3"),
            ("ceilneg", "-3"),
            ("floor", "2"),
            ("floorneg", "-4"),
            ("greatest", "16"),
            ("least", "2.1"),
            ("log1", "0"),
            // ln 16 = 4 ln 2 = 2.7725887...
            ("log16", "2.772589"),
            ("sqrt", "4"),
            ("sqrt2", "1.4142135623730951"),
            // `absword`: not a number, so no value.
        ])
    );
}

#[tokio::test]
async fn conversions_to_numbers() {
    let f = fixture().await;
    let got = one(
        &f,
        "numbers",
        r#"toNumber("12.5") as num, toNumber(neg) as numneg, toNumber(word) as numword,
           toDouble(sci) as dbl, toDouble(sixteen) as dbl16,
           toInt(sixteen) as int, toInt(minint) as intmin, toInt(maxint) as intmax,
           toInt(abovemax) as intover, toInt(big) as intbig, toInt(frac) as intfrac,
           toInt(neg) as intneg, toInt(word) as intword,
           toLong(big) as long, toLong(exact) as longexact, toLong(frac) as longfrac,
           toLong(word) as longword"#,
    )
    .await;
    assert_eq!(
        got,
        row(&[
            ("num", "12.5"),
            ("numneg", "-3.5"),
            ("dbl", "1000"),
            ("dbl16", "16"),
            ("int", "16"),
            ("intmin", "-2147483648"),
            ("intmax", "2147483647"),
            // toInt is 32-bit: 2^31 and 3e9 do not fit, so no value.
            ("intfrac", "3"),
            ("intneg", "-3"),
            ("long", "3000000000"),
            // 2^53 + 1: exact, not rounded through a double.
            ("longexact", "9007199254740993"),
            ("longfrac", "3"),
        ])
    );
}

#[tokio::test]
async fn arithmetic_operators() {
    let f = fixture().await;
    let got = one(
        &f,
        "numbers",
        "2 ^ 3 as pow, 2 ^ 0.5 as root, 10 % 3 as mod, -7 % 3 as negmod, 7.5 % 2 as fmod,
         7 / 2 as div, 2 + 3 * 4 as prec, (2 + 3) * 4 as paren, sixteen - 20 as sub,
         -neg as negate, sixteen * pos as mul, word + 1 as wordplus",
    )
    .await;
    assert_eq!(
        got,
        row(&[
            ("pow", "8"),
            ("root", "1.4142135623730951"),
            ("mod", "1"),
            ("negmod", "-1"),
            ("fmod", "1.5"),
            ("div", "3.5"),
            ("prec", "14"),
            ("paren", "20"),
            ("sub", "-4"),
            ("negate", "3.5"),
            ("mul", "33.6"),
        ])
    );
}

#[tokio::test]
async fn datefloor_and_dateceil_on_calendar_periods() {
    let f = fixture().await;
    let got = rows(
        &f,
        r#"filter @logStream = "dates" | sort @timestamp asc
           | display @timestamp, datefloor(@timestamp, 1mo) as fmo,
             dateceil(@timestamp, 1mo) as cmo, datefloor(@timestamp, 1q) as fq,
             dateceil(@timestamp, 1q) as cq, datefloor(@timestamp, 1y) as fy,
             dateceil(@timestamp, 1y) as cy"#,
    )
    .await;
    let day = |d: &str| format!("{d} 00:00:00.000");
    let expect = |t: &str, fmo: &str, cmo: &str, fq: &str, cq: &str, fy: &str, cy: &str| {
        let cells = [fmo, cmo, fq, cq, fy, cy].map(day);
        row(&[
            ("@timestamp", t),
            ("fmo", &cells[0]),
            ("cmo", &cells[1]),
            ("fq", &cells[2]),
            ("cq", &cells[3]),
            ("fy", &cells[4]),
            ("cy", &cells[5]),
        ])
    };
    assert_eq!(
        got,
        vec![
            expect(
                "2024-01-17 10:30:45.250",
                "2024-01-01",
                "2024-02-01",
                "2024-01-01",
                "2024-04-01",
                "2024-01-01",
                "2025-01-01"
            ),
            // A leap day: the month after February 2024 starts on March 1st.
            expect(
                "2024-02-29 23:59:59.999",
                "2024-02-01",
                "2024-03-01",
                "2024-01-01",
                "2024-04-01",
                "2024-01-01",
                "2025-01-01"
            ),
            // On a month boundary: floor and ceiling are the time itself.
            expect(
                "2024-05-01 00:00:00.000",
                "2024-05-01",
                "2024-05-01",
                "2024-04-01",
                "2024-07-01",
                "2024-01-01",
                "2025-01-01"
            ),
            // On a quarter boundary.
            expect(
                "2024-10-01 00:00:00.000",
                "2024-10-01",
                "2024-10-01",
                "2024-10-01",
                "2024-10-01",
                "2024-01-01",
                "2025-01-01"
            ),
            expect(
                "2024-12-31 12:00:00.000",
                "2024-12-01",
                "2025-01-01",
                "2024-10-01",
                "2025-01-01",
                "2024-01-01",
                "2025-01-01"
            ),
            // On a year boundary, every period's.
            expect(
                "2025-01-01 00:00:00.000",
                "2025-01-01",
                "2025-01-01",
                "2025-01-01",
                "2025-01-01",
                "2025-01-01",
                "2025-01-01"
            ),
        ]
    );
}

#[tokio::test]
async fn datefloor_and_dateceil_on_fixed_periods() {
    let f = fixture().await;
    let got = rows(
        &f,
        r#"filter @logStream = "dates" and @message in ["a", "b", "f"] | sort @timestamp asc
           | display datefloor(@timestamp, 1s) as fs, dateceil(@timestamp, 1s) as cs,
             datefloor(@timestamp, 5m) as fm, dateceil(@timestamp, 5m) as cm,
             datefloor(@timestamp, 1h) as fh, dateceil(@timestamp, 1h) as ch,
             datefloor(@timestamp, 1d) as fd, dateceil(@timestamp, 1d) as cd,
             datefloor(@timestamp, 1w) as fw, dateceil(@timestamp, 1w) as cw"#,
    )
    .await;
    let expect = |cells: [&str; 10]| {
        let names = ["fs", "cs", "fm", "cm", "fh", "ch", "fd", "cd", "fw", "cw"];
        let pairs: Vec<(&str, &str)> = names.into_iter().zip(cells).collect();
        row(&pairs)
    };
    assert_eq!(
        got,
        vec![
            // Wednesday 2024-01-17 10:30:45.250; weeks start on Monday.
            expect([
                "2024-01-17 10:30:45.000",
                "2024-01-17 10:30:46.000",
                "2024-01-17 10:30:00.000",
                "2024-01-17 10:35:00.000",
                "2024-01-17 10:00:00.000",
                "2024-01-17 11:00:00.000",
                "2024-01-17 00:00:00.000",
                "2024-01-18 00:00:00.000",
                "2024-01-15 00:00:00.000",
                "2024-01-22 00:00:00.000",
            ]),
            // Thursday 2024-02-29 23:59:59.999: every ceiling is in March.
            expect([
                "2024-02-29 23:59:59.000",
                "2024-03-01 00:00:00.000",
                "2024-02-29 23:55:00.000",
                "2024-03-01 00:00:00.000",
                "2024-02-29 23:00:00.000",
                "2024-03-01 00:00:00.000",
                "2024-02-29 00:00:00.000",
                "2024-03-01 00:00:00.000",
                "2024-02-26 00:00:00.000",
                "2024-03-04 00:00:00.000",
            ]),
            // Wednesday 2025-01-01 00:00: on every boundary but the week's.
            expect([
                "2025-01-01 00:00:00.000",
                "2025-01-01 00:00:00.000",
                "2025-01-01 00:00:00.000",
                "2025-01-01 00:00:00.000",
                "2025-01-01 00:00:00.000",
                "2025-01-01 00:00:00.000",
                "2025-01-01 00:00:00.000",
                "2025-01-01 00:00:00.000",
                "2024-12-30 00:00:00.000",
                "2025-01-06 00:00:00.000",
            ]),
        ]
    );
}

/// `stats count(*) as n by bin(period)` over `stream`, as `(bin, n)` pairs in time order.
async fn bins(f: &Fixture, stream: &str, period: &str) -> Vec<(String, String)> {
    let text = format!(
        r#"filter @logStream = "{stream}" | stats count(*) as n by bin({period}) as t | sort t"#
    );
    rows(f, &text)
        .await
        .into_iter()
        .map(|r| match &r[..] {
            [(t, bin), (n, count)] if t == "t" && n == "n" => (bin.clone(), count.clone()),
            other => panic!("{text}: {other:?}"),
        })
        .collect()
}

fn counts(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(t, n)| (format!("{t}.000"), n.to_string()))
        .collect()
}

#[tokio::test]
async fn bin_boundaries_within_a_day() {
    let f = fixture().await;
    assert_eq!(
        bins(&f, "clock", "1s").await,
        counts(&[
            ("2024-03-10 08:59:59", "1"),
            ("2024-03-10 09:00:00", "2"),
            ("2024-03-10 09:04:59", "1"),
            ("2024-03-10 09:05:00", "1"),
            ("2024-03-10 10:00:00", "1"),
            ("2024-03-11 00:00:00", "1"),
        ])
    );
    assert_eq!(
        bins(&f, "clock", "5m").await,
        counts(&[
            ("2024-03-10 08:55:00", "1"),
            ("2024-03-10 09:00:00", "3"),
            ("2024-03-10 09:05:00", "1"),
            ("2024-03-10 10:00:00", "1"),
            ("2024-03-11 00:00:00", "1"),
        ])
    );
    // Seconds are capped at 60: `bin(300s)` makes one-minute bins.
    assert_eq!(
        bins(&f, "clock", "300s").await,
        counts(&[
            ("2024-03-10 08:59:00", "1"),
            ("2024-03-10 09:00:00", "2"),
            ("2024-03-10 09:04:00", "1"),
            ("2024-03-10 09:05:00", "1"),
            ("2024-03-10 10:00:00", "1"),
            ("2024-03-11 00:00:00", "1"),
        ])
    );
    assert_eq!(
        bins(&f, "clock", "1h").await,
        counts(&[
            ("2024-03-10 08:00:00", "1"),
            ("2024-03-10 09:00:00", "4"),
            ("2024-03-10 10:00:00", "1"),
            ("2024-03-11 00:00:00", "1"),
        ])
    );
    assert_eq!(
        bins(&f, "clock", "1d").await,
        counts(&[("2024-03-10 00:00:00", "6"), ("2024-03-11 00:00:00", "1")])
    );
    // Sunday the 10th is in the week of Monday the 4th; Monday the 11th starts one.
    assert_eq!(
        bins(&f, "clock", "1w").await,
        counts(&[("2024-03-04 00:00:00", "6"), ("2024-03-11 00:00:00", "1")])
    );
}

#[tokio::test]
async fn bin_boundaries_of_weeks_months_quarters_and_years() {
    let f = fixture().await;
    assert_eq!(
        bins(&f, "dates", "1w").await,
        counts(&[
            ("2024-01-15 00:00:00", "1"),
            ("2024-02-26 00:00:00", "1"),
            ("2024-04-29 00:00:00", "1"),
            ("2024-09-30 00:00:00", "1"),
            // Tuesday 2024-12-31 and Wednesday 2025-01-01 share a week.
            ("2024-12-30 00:00:00", "2"),
        ])
    );
    assert_eq!(
        bins(&f, "dates", "1mo").await,
        counts(&[
            ("2024-01-01 00:00:00", "1"),
            ("2024-02-01 00:00:00", "1"),
            ("2024-05-01 00:00:00", "1"),
            ("2024-10-01 00:00:00", "1"),
            ("2024-12-01 00:00:00", "1"),
            ("2025-01-01 00:00:00", "1"),
        ])
    );
    assert_eq!(
        bins(&f, "dates", "1q").await,
        counts(&[
            ("2024-01-01 00:00:00", "2"),
            ("2024-04-01 00:00:00", "1"),
            ("2024-10-01 00:00:00", "2"),
            ("2025-01-01 00:00:00", "1"),
        ])
    );
    assert_eq!(
        bins(&f, "dates", "1y").await,
        counts(&[("2024-01-01 00:00:00", "5"), ("2025-01-01 00:00:00", "1")])
    );
}

#[tokio::test]
async fn millisecond_conversions() {
    let f = fixture().await;
    let got = rows(
        &f,
        r#"filter @logStream = "dates" and @message in ["a", "f"] | sort @timestamp asc
           | display toMillis(@timestamp) as ms, fromMillis(toMillis(@timestamp)) as back,
             fromMillis(1700000000000) as t, fromMillis(0) as epoch, toMillis(fromMillis(86400000)) as day"#,
    )
    .await;
    // 2024-01-17 is 19739 days after the epoch: 19739 * 86400000 + 10:30:45.250.
    let a = (19_739i64 * 86_400_000 + (10 * 3600 + 30 * 60 + 45) * 1000 + 250).to_string();
    // 2025-01-01 is 20089 days after it.
    let f_ms = (20_089i64 * 86_400_000).to_string();
    let cells = |ms: &str, back: &str| {
        row(&[
            ("ms", ms),
            ("back", back),
            ("t", "2023-11-14 22:13:20.000"),
            ("epoch", "1970-01-01 00:00:00.000"),
            ("day", "86400000"),
        ])
    };
    assert_eq!(
        got,
        vec![
            cells(&a, "2024-01-17 10:30:45.250"),
            cells(&f_ms, "2025-01-01 00:00:00.000"),
        ]
    );
}

#[tokio::test]
async fn now_and_the_query_time_range() {
    let f = fixture().await;
    let before = model::time::now_ms() / 1000;
    let got = one(
        &f,
        "numbers",
        "now() as now, queryStartTime() as start, queryEndTime() as end,
         queryTimeRange() as range",
    )
    .await;
    let after = model::time::now_ms() / 1000;
    let now: i64 = got[0].1.parse().unwrap();
    assert_eq!(got[0].0, "now");
    // `now()` is the query's start in epoch seconds.
    assert!(
        before <= now && now <= after,
        "{before} <= {now} <= {after}"
    );
    // 2020-01-01 is 18262 days after the epoch, 2030-01-01 21915 days: ten years with
    // three leap days, 3653 days.
    assert_eq!(
        got[1..],
        row(&[
            ("start", "1577836800000"),
            ("end", "1893456000000"),
            ("range", "315619200000"),
        ])
    );
}

#[tokio::test]
async fn general_functions() {
    let f = fixture().await;
    let got = rows(
        &f,
        r#"filter @logStream = "people" | sort name
           | display name, coalesce(nick, age, "none") as c,
             case(age >= 18, "adult", age < 18, "minor", "unknown") as k,
             case(name = "bo", "it is bo") as nodefault,
             if(ispresent(nick), "has", "no") as i, if(age, age * 2, -1) as twice,
             messageSize(@message) as size, messageSize(name) as namesize"#,
    )
    .await;
    assert_eq!(
        got,
        vec![
            row(&[
                ("name", "ana"),
                ("c", "A"),
                ("k", "adult"),
                ("i", "has"),
                ("twice", "68"),
                // {"name":"ana","age":"34","nick":"A"}
                ("size", "36"),
                ("namesize", "3"),
            ]),
            row(&[
                ("name", "bo"),
                ("c", "17"),
                ("k", "minor"),
                ("nodefault", "it is bo"),
                ("i", "no"),
                ("twice", "34"),
                ("size", "24"),
                ("namesize", "2"),
            ]),
            row(&[
                ("name", "cy"),
                ("c", "none"),
                ("k", "unknown"),
                ("i", "no"),
                ("twice", "-1"),
                ("size", "13"),
                ("namesize", "2"),
            ]),
        ]
    );
}

#[tokio::test]
async fn emptiness_trimming_and_case() {
    let f = fixture().await;
    let got = one(
        &f,
        "text",
        r#"isempty(e) as e1, isempty(missing) as e2, isempty(blank) as e3, isempty(mixed) as e4,
           isblank(e) as b1, isblank(missing) as b2, isblank(blank) as b3, isblank(tabs) as b4,
           isblank(mixed) as b5,
           concat("[", ltrim(pad), "]") as l, concat("[", rtrim(pad), "]") as r,
           concat("[", trim(pad), "]") as t, concat("[", trim(ws), "]") as tws,
           trim(xy, "xyZ") as t2, ltrim(xy, "xyZ") as l2, rtrim(xy, "xyZ") as r2,
           tolower(mixed) as lower, toupper(mixed) as upper, toupper(uni) as upperuni"#,
    )
    .await;
    assert_eq!(
        got,
        row(&[
            ("e1", "1"),
            ("e2", "1"),
            ("e3", "0"),
            ("e4", "0"),
            ("b1", "1"),
            ("b2", "1"),
            ("b3", "1"),
            ("b4", "1"),
            ("b5", "0"),
            ("l", "[hi there  ]"),
            ("r", "[  hi there]"),
            ("t", "[hi there]"),
            ("tws", "[hi]"),
            // The documented example.
            ("t2", "foo"),
            ("l2", "fooxyxyZ"),
            ("r2", "xyZxyfoo"),
            ("lower", "hello world"),
            ("upper", "HELLO WORLD"),
            ("upperuni", "HÉLLO"),
        ])
    );
}

#[tokio::test]
async fn searching_and_rewriting_text() {
    let f = fixture().await;
    let got = one(
        &f,
        "text",
        r#"substr(doc, 3, 3) as s1, substr(mixed, 6) as s2, substr(mixed, 0, 5) as s3,
           replace(path, "/", "-") as rep, replace(mixed, "x", "y") as rep0,
           strcontains(mixed, "World") as c1, strcontains(mixed, "world") as c2,
           strcontains(mixed, "world", true) as c3, strcontains(mixed, "world", false) as c4,
           strcontains(mixed, "WORLD", 1) as c5, strcontains(mixed, "world", 0) as c6,
           strcontains(mixed, "World", false) as c7, strcontains(mixed, "planet", true) as c8,
           regexReplace(path, "[0-9]+", "N") as rr, regexReplace(path, "users/([0-9]+)", "u$1") as rr1,
           startsWith(path, "/api") as sw1, startsWith(path, "api") as sw2,
           endsWith(path, "42") as ew1, endsWith(path, "4") as ew2,
           strlen(uni) as len, messageSize(uni) as bytes, strlen(e) as len0, strlen(mixed) as len1,
           concat(mixed, "!", 7) as cat, concat(abc) as cat1"#,
    )
    .await;
    assert_eq!(
        got,
        row(&[
            // The documented example: 0-based start.
            ("s1", "foo"),
            ("s2", "World"),
            ("s3", "Hello"),
            ("rep", "-api-v1-users-42"),
            ("rep0", "Hello World"),
            ("c1", "1"),
            ("c2", "0"),
            ("c3", "1"),
            ("c4", "0"),
            ("c5", "1"),
            ("c6", "0"),
            ("c7", "1"),
            ("c8", "0"),
            ("rr", "/api/vN/users/N"),
            ("rr1", "/api/v1/u42"),
            ("sw1", "1"),
            ("sw2", "0"),
            ("ew1", "1"),
            ("ew2", "0"),
            // Code points, not bytes.
            ("len", "5"),
            ("bytes", "6"),
            ("len0", "0"),
            ("len1", "11"),
            ("cat", "Hello World!7"),
            ("cat1", "abc"),
        ])
    );
}

#[tokio::test]
async fn lists_are_null_for_string_and_number_functions() {
    let f = fixture().await;
    let got = one(
        &f,
        "text",
        r#"strlen(split(path, "/")) as len, toupper(split(path, "/")) as up,
           abs(split(path, "/")) as abs, jsonArraySize(split(path, "/")) as size,
           strlen(split(path, "/")[1]) as first"#,
    )
    .await;
    assert_eq!(got, row(&[("size", "5"), ("first", "3")]));
}

#[tokio::test]
async fn hashing() {
    let f = fixture().await;
    let got = one(
        &f,
        "text",
        "md5(abc) as md5, sha256(abc) as sha256, md5(e) as md5empty, sha256(e) as sha256empty",
    )
    .await;
    // The RFC 1321 and FIPS 180-2 test vectors.
    assert_eq!(
        got,
        row(&[
            ("md5", "900150983cd24fb0d6963f7d28e17f72"),
            (
                "sha256",
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
            ),
            ("md5empty", "d41d8cd98f00b204e9800998ecf8427e"),
            (
                "sha256empty",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            ),
        ])
    );
}

#[tokio::test]
async fn aggregates() {
    let f = fixture().await;
    let got = rows(
        &f,
        r#"filter @logStream = "metrics" and ispresent(v)
           | stats count(*) as n, count_distinct(v) as d, sum(v) as s, avg(v) as a,
             min(v) as lo, max(v) as hi, stddev(v) as sd, earliest(v) as first,
             latest(v) as last, sortsFirst(v) as sf, sortsLast(v) as sl by k
           | sort k"#,
    )
    .await;
    assert_eq!(
        got,
        vec![
            // 110, 9, 40 in time order: numbers, so 9 sorts first and 110 last.
            // Mean 53; squared deviations 3249 + 1936 + 169 = 5354.
            row(&[
                ("k", "a"),
                ("n", "3"),
                ("d", "3"),
                ("s", "159"),
                ("a", "53"),
                ("lo", "9"),
                ("hi", "110"),
                ("sd", &(5354f64 / 2.0).sqrt().to_string()),
                ("first", "110"),
                ("last", "40"),
                ("sf", "9"),
                ("sl", "110"),
            ]),
            // 4, 8, 6, 4, 8: mean 6, squared deviations 4 + 4 + 0 + 4 + 4 = 16, so the
            // sample standard deviation is sqrt(16 / 4) = 2.
            row(&[
                ("k", "b"),
                ("n", "5"),
                ("d", "3"),
                ("s", "30"),
                ("a", "6"),
                ("lo", "4"),
                ("hi", "8"),
                ("sd", "2"),
                ("first", "4"),
                ("last", "8"),
                ("sf", "4"),
                ("sl", "8"),
            ]),
        ]
    );
    // count(field) counts the events that have it; count_distinct the values.
    let got = rows(
        &f,
        r#"filter @logStream = "metrics" | stats count(*) as n, count() as n2, count(v) as nv,
           count_distinct(v) as dv, count_distinct(k) as dk"#,
    )
    .await;
    assert_eq!(
        got,
        vec![row(&[
            ("n", "9"),
            ("n2", "9"),
            ("nv", "8"),
            ("dv", "6"),
            ("dk", "3"),
        ])]
    );
    // Percentiles of 4, 4, 6, 8, 8 where nearest rank and interpolation agree.
    let got = rows(
        &f,
        r#"filter @logStream = "metrics" and k = "b"
           | stats pct(v, 0) as p0, pct(v, 25) as p25, pct(v, 50) as p50, pct(v, 75) as p75,
             pct(v, 100) as p100"#,
    )
    .await;
    assert_eq!(
        got,
        vec![row(&[
            ("p0", "4"),
            ("p25", "4"),
            ("p50", "6"),
            ("p75", "8"),
            ("p100", "8"),
        ])]
    );
}

#[tokio::test]
async fn functions_and_comparisons_of_aggregates() {
    let f = fixture().await;
    let got = rows(
        &f,
        r#"filter @logStream = "metrics" and ispresent(v)
           | stats round(avg(v), 2) as avg, concat(tolower("N="), count(*)) as label,
             count(*) > 1 as big, count(*) = 9 as nine, not (count(*) = 8) as not8,
             if(count(*) > 8, "many", "few") as m, -sum(v) as neg,
             sum(v) / count(*) * 2 as twice, max(@timestamp) as last,
             dateceil(max(@timestamp), 1h) as hour, toMillis(min(@timestamp)) as first"#,
    )
    .await;
    assert_eq!(
        got,
        vec![row(&[
            // (159 + 30) / 8 = 23.625.
            ("avg", "23.63"),
            ("label", "n=8"),
            ("big", "1"),
            ("nine", "0"),
            ("not8", "0"),
            ("m", "few"),
            ("neg", "-189"),
            ("twice", "47.25"),
            ("last", "2024-03-03 00:00:08.000"),
            ("hour", "2024-03-03 01:00:00.000"),
            // 2024-03-03 is day 19785 of the epoch; the first event is at 00:00:01.
            ("first", "1709424001000"),
        ])]
    );
    // The documented pattern: a second `stats` on the bins of the first. Every hour's
    // ceiling by day is the 11th, the midnight bin being on the boundary already.
    let by_day = |round: &str| {
        format!(
            r#"filter @logStream = "clock" | stats count(*) as n by bin(1h) as t
               | stats sum(n) as total, max(n) as peak by {round}(t, 1d) as day | sort day"#
        )
    };
    assert_eq!(
        rows(&f, &by_day("dateceil")).await,
        vec![row(&[
            ("day", "2024-03-11 00:00:00.000"),
            ("total", "7"),
            ("peak", "4"),
        ])]
    );
    assert_eq!(
        rows(&f, &by_day("datefloor")).await,
        vec![
            row(&[
                ("day", "2024-03-10 00:00:00.000"),
                ("total", "6"),
                ("peak", "4"),
            ]),
            row(&[
                ("day", "2024-03-11 00:00:00.000"),
                ("total", "1"),
                ("peak", "1"),
            ]),
        ]
    );
}

#[tokio::test]
async fn sorts_first_and_last_follow_sort_on_mixed_values() {
    let f = fixture().await;
    // `sort` puts numbers first, by value, then text; events without the value have
    // none to pick.
    let got = rows(
        &f,
        r#"filter @logStream in ["metrics", "ops"]
           | fields coalesce(v, user) as x | stats sortsFirst(x) as sf, sortsLast(x) as sl,
             sortsFirst(k) as kf, sortsLast(k) as kl"#,
    )
    .await;
    assert_eq!(
        got,
        vec![row(&[("sf", "4"), ("sl", "cy"), ("kf", "a"), ("kl", "c")])]
    );
    let got = rows(
        &f,
        r#"filter @logStream in ["metrics", "ops"] | fields coalesce(v, user) as x
           | filter ispresent(x) | sort x | display x"#,
    )
    .await;
    let sorted: Vec<_> = got.iter().map(|r| r[0].1.as_str()).collect();
    assert_eq!(
        sorted,
        [
            "4", "4", "6", "8", "8", "9", "40", "110", "Ana", "Dee", "bob", "cy"
        ]
    );
}

/// The `code` of each `ops` event `condition` keeps, in code order.
async fn codes(f: &Fixture, command: &str, condition: &str) -> Vec<String> {
    let text =
        format!(r#"filter @logStream = "ops" | {command} {condition} | sort code | display code"#);
    rows(f, &text)
        .await
        .into_iter()
        .map(|r| r[0].1.clone())
        .collect()
}

#[tokio::test]
async fn filter_operators() {
    let f = fixture().await;
    let cases: &[(&str, &[&str])] = &[
        (r"code =~ /^2\d\d$/", &["200", "201"]),
        ("code in [200, 404]", &["200", "404"]),
        (r#"user in ["Ana", "cy"]"#, &["200", "500"]),
        ("code not in [200, 404]", &["201", "500"]),
        // Complete, case-sensitive matches: "ana" is not "Ana".
        (r#"user not in ["ana", "bob", 1]"#, &["200", "201", "500"]),
        (r#"msg like "Found""#, &["404"]),
        (r#"msg not like "Found""#, &["200", "201", "500"]),
        ("msg like /Exception/", &["500"]),
        ("msg like /(?i)exception/", &["201", "500"]),
        ("msg not like /xception/", &["200", "404"]),
        ("msg =~ /(?i)^not/", &["404"]),
        ("code >= 404", &["404", "500"]),
        ("code != 200 and code < 500", &["201", "404"]),
        ("code = 200 or user = 'cy'", &["200", "500"]),
        ("not (code = 200)", &["201", "404", "500"]),
    ];
    for (condition, want) in cases {
        assert_eq!(codes(&f, "filter", condition).await, *want, "{condition}");
        // `where` is the same command.
        assert_eq!(codes(&f, "where", condition).await, *want, "{condition}");
    }
}
