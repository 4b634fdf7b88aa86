//! Insights queries end to end on a real store: exact rows for each command.

mod common;

use common::{both_plans, group_of, new_group, row, rows_of};
use model::InputEvent;
use query::engine::{QueryRequest, run};
use store::Store;

const T0: i64 = 1_700_000_000_000; // 2023-11-14 22:13:20 UTC

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    group: store::GroupRow,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (store, group) = new_group(dir.path(), "app");
    let id = group.id;
    for s in ["web", "db"] {
        store.catalog().create_stream(id, s, 0).unwrap();
    }
    let web = store.catalog().stream(id, "web").unwrap();
    let db = store.catalog().stream(id, "db").unwrap();
    let lines = [
        (
            0,
            r#"{"level":"INFO","latency":20,"user":"ana","path":"/a"}"#,
        ),
        (
            60_000,
            r#"{"level":"ERROR","latency":250,"user":"bo","path":"/b"}"#,
        ),
        (
            120_000,
            r#"{"level":"INFO","latency":40,"user":"ana","path":"/a"}"#,
        ),
        (
            360_000,
            r#"{"level":"ERROR","latency":500,"user":"ana","path":"/c"}"#,
        ),
    ];
    let events: Vec<_> = lines
        .iter()
        .map(|(t, m)| InputEvent {
            timestamp: T0 + t,
            message: m.to_string(),
        })
        .collect();
    store
        .put_events(&group, &web, events[..2].to_vec())
        .await
        .unwrap();
    // Half the data in a segment, half in the memtable: queries must see both.
    store.flush().await.unwrap();
    store
        .put_events(&group, &web, events[2..].to_vec())
        .await
        .unwrap();
    store
        .put_events(
            &group,
            &db,
            vec![InputEvent {
                timestamp: T0 + 30_000,
                message: "user=cy, method:GET, latency := 7".into(),
            }],
        )
        .await
        .unwrap();
    Fixture {
        _dir: dir,
        store,
        group,
    }
}

/// Runs `text` over the fixture's hour with both plans (see `common::both_plans`).
async fn output(f: &Fixture, text: &str) -> query::engine::QueryOutput {
    both_plans(&f.store, hour_of(f, text)).await
}

async fn rows(f: &Fixture, text: &str) -> Vec<Vec<(String, String)>> {
    rows_of(&f.store, hour_of(f, text)).await
}

fn hour_of<'a>(f: &'a Fixture, text: &'a str) -> QueryRequest<'a> {
    QueryRequest {
        text,
        groups: std::slice::from_ref(&f.group),
        start_ms: T0,
        end_ms: T0 + 3_600_000,
        limit: 10_000,
    }
}

#[tokio::test]
async fn filter_on_discovered_json_fields_newest_first() {
    let f = fixture().await;
    let got = rows(
        &f,
        "fields @timestamp, user, latency | filter level = 'ERROR' and latency > 100",
    )
    .await;
    assert_eq!(
        got,
        vec![
            row(&[
                ("@timestamp", "2023-11-14 22:19:20.000"),
                ("user", "ana"),
                ("latency", "500")
            ]),
            row(&[
                ("@timestamp", "2023-11-14 22:14:20.000"),
                ("user", "bo"),
                ("latency", "250")
            ]),
        ]
    );
}

#[tokio::test]
async fn stats_by_bin_and_by_field() {
    let f = fixture().await;
    let got = rows(&f, "filter ispresent(level) | stats count(*) as n, avg(latency) as avg by bin(5m) | sort bin(5m)").await;
    assert_eq!(
        got,
        vec![
            row(&[
                ("bin(5m)", "2023-11-14 22:10:00.000"),
                ("n", "2"),
                ("avg", "135")
            ]),
            row(&[
                ("bin(5m)", "2023-11-14 22:15:00.000"),
                ("n", "2"),
                ("avg", "270")
            ]),
        ]
    );
    let got = rows(
        &f,
        "stats count(*) as n, max(latency) as worst by user | sort n desc, user",
    )
    .await;
    assert_eq!(
        got,
        vec![
            row(&[("user", "ana"), ("n", "3"), ("worst", "500")]),
            row(&[("user", "bo"), ("n", "1"), ("worst", "250")]),
            row(&[("n", "1")]),
        ]
    );
}

#[tokio::test]
async fn parse_glob_and_regex() {
    let f = fixture().await;
    let got = rows(&f, r#"filter @logStream = "db" | parse @message "user=*, method:*, latency := *" as u, m, l | display u, m, l"#).await;
    assert_eq!(got, vec![row(&[("u", "cy"), ("m", "GET"), ("l", "7")])]);
    let got = rows(&f, r#"parse @message /"path":"(?<p>[^"]+)"/ | filter ispresent(p) | stats count(*) as c by p | sort p"#).await;
    assert_eq!(
        got,
        vec![
            row(&[("p", "/a"), ("c", "2")]),
            row(&[("p", "/b"), ("c", "1")]),
            row(&[("p", "/c"), ("c", "1")])
        ]
    );
}

#[tokio::test]
async fn like_in_limit_dedup_and_sort() {
    let f = fixture().await;
    let got = rows(
        &f,
        "fields user | filter @message like /(?i)error/ | limit 1",
    )
    .await;
    assert_eq!(got, vec![row(&[("user", "ana")])]);
    let got = rows(
        &f,
        "fields path | filter path in ['/a', '/c'] and path not like 'c' | sort @timestamp asc",
    )
    .await;
    assert_eq!(got, vec![row(&[("path", "/a")]), row(&[("path", "/a")])]);
    let got = rows(
        &f,
        "fields user | filter ispresent(user) | sort user | dedup user",
    )
    .await;
    assert_eq!(got, vec![row(&[("user", "ana")]), row(&[("user", "bo")])]);
    let got = rows(&f, "fields toupper(user) as u, strlen(path) as n, concat(user, '@', path) as c | filter latency = 20").await;
    assert_eq!(got, vec![row(&[("u", "ANA"), ("n", "2"), ("c", "ana@/a")])]);
}

#[tokio::test]
async fn malformed_queries_say_where() {
    let f = fixture().await;
    let err = run(
        &f.store,
        QueryRequest {
            text: "fields @message | stats",
            groups: std::slice::from_ref(&f.group),
            start_ms: T0,
            end_ms: T0,
            limit: 10,
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, query::engine::QueryError::Malformed(_)),
        "{err}"
    );
    assert!(err.to_string().contains("line 1"), "{err}");
}

/// A group `net` with VPC flow log lines (stream `vpc`), JSON events (`json`) and one
/// event for the string, date and geography functions (`misc`).
async fn net_fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (store, group) = new_group(dir.path(), "net");
    let id = group.id;
    let streams: [(&str, &[(i64, &str)]); 3] = [
        (
            "vpc",
            &[
                (
                    0,
                    "2 123456789012 eni-1 10.0.1.5 8.8.8.8 49152 443 6 10 840 1700000000 1700000060 ACCEPT OK",
                ),
                (
                    60_000,
                    "2 123456789012 eni-1 203.0.113.12 10.0.1.5 20641 22 6 20 4249 1700000060 1700000120 REJECT OK",
                ),
                (
                    120_000,
                    "2 123456789012 eni-1 2606:4700::1111 fd00::1 5000 53 17 1 80 1700000120 1700000180 ACCEPT OK",
                ),
                (
                    180_000,
                    "2 123456789012 eni-1 - - - - - - - 1700000180 1700000240 - NODATA",
                ),
            ],
        ),
        (
            "json",
            &[
                (
                    300_000,
                    r#"{"user": {"name": "ana", "roles": [{"role": "admin"}, {"role": "dev"}], "special.key": "dotted"}, "tags": ["web", "prod"], "events": [{"name": "exception"}, {"name": "user action"}]}"#,
                ),
                (
                    360_000,
                    r#"{"user": {"name": "bo", "roles": []}, "tags": ["dev"], "events": {"name": "single"}}"#,
                ),
                (
                    420_000,
                    r#"{"user": {"name": "cy"}, "tags": "solo", "events": []}"#,
                ),
            ],
        ),
        (
            "misc",
            &[(
                480_000,
                r#"{"q": "a b&c=d", "enc": "a%20b+c", "b64": "aGVsbG8=", "bad64": "@@", "hex": "4869", "num": "12.5", "word": "abc", "csv": "x,y,,z", "ts": "14/Nov/2023:17:13:20 -0500", "code": "ff", "n": 255, "lat1": 48.8566, "lon1": 2.3522, "lat2": 51.5074, "lon2": -0.1278}"#,
            )],
        ),
    ];
    for (name, lines) in streams {
        store.catalog().create_stream(id, name, 0).unwrap();
        let stream = store.catalog().stream(id, name).unwrap();
        let events = lines
            .iter()
            .map(|(t, m)| InputEvent {
                timestamp: T0 + t,
                message: m.to_string(),
            })
            .collect();
        store.put_events(&group, &stream, events).await.unwrap();
    }
    Fixture {
        _dir: dir,
        store,
        group,
    }
}

const VPC: &str = r#"filter @logStream = "vpc" | parse @message "* * * * * * * * * * * * * *" as version, accountId, interfaceId, srcAddr, dstAddr, srcPort, dstPort, protocol, packets, bytes, startTime, endTime, action, logStatus"#;

#[tokio::test]
async fn ip_functions_on_vpc_flow_logs() {
    let f = net_fixture().await;
    let got = rows(
        &f,
        &format!(
            "{VPC} | fields srcAddr, isValidIp(srcAddr) as ip, isValidIpV4(srcAddr) as v4, \
             isValidIpV6(srcAddr) as v6, isPrivateIP(srcAddr) as private, \
             isPublicIP(srcAddr) as public, isReservedIP(dstAddr) as reserved, \
             ipv4ToNumber(srcAddr) as n | sort @timestamp asc"
        ),
    )
    .await;
    assert_eq!(
        got,
        vec![
            row(&[
                ("srcAddr", "10.0.1.5"),
                ("ip", "1"),
                ("v4", "1"),
                ("v6", "0"),
                ("private", "1"),
                ("public", "0"),
                ("reserved", "0"),
                ("n", "167772421"),
            ]),
            // 203.0.113.0/24 is for documentation, so neither private nor public.
            row(&[
                ("srcAddr", "203.0.113.12"),
                ("ip", "1"),
                ("v4", "1"),
                ("v6", "0"),
                ("private", "0"),
                ("public", "0"),
                ("reserved", "1"),
                ("n", "3405803788"),
            ]),
            row(&[
                ("srcAddr", "2606:4700::1111"),
                ("ip", "1"),
                ("v4", "0"),
                ("v6", "1"),
                ("private", "0"),
                ("public", "1"),
                ("reserved", "1"),
            ]),
            row(&[
                ("srcAddr", "-"),
                ("ip", "0"),
                ("v4", "0"),
                ("v6", "0"),
                ("private", "0"),
                ("public", "0"),
                ("reserved", "0"),
            ]),
        ]
    );
}

#[tokio::test]
async fn subnet_filters() {
    let f = net_fixture().await;
    let got = rows(
        &f,
        &format!(
            r#"{VPC} | filter isIpInSubnet(srcAddr, "10.0.0.0/8") or isIpInSubnet(dstAddr, "10.0.0.0/8") | display srcAddr, dstAddr, action"#
        ),
    )
    .await;
    assert_eq!(
        got,
        vec![
            row(&[
                ("srcAddr", "203.0.113.12"),
                ("dstAddr", "10.0.1.5"),
                ("action", "REJECT")
            ]),
            row(&[
                ("srcAddr", "10.0.1.5"),
                ("dstAddr", "8.8.8.8"),
                ("action", "ACCEPT")
            ]),
        ]
    );
    let got = rows(
        &f,
        &format!(
            r#"{VPC} | stats sum(isIpv4InSubnet(srcAddr, "203.0.113.0/24")) as v4, sum(isIpv6InSubnet(srcAddr, "2606:4700::/32")) as v6, sum(isIpv4InSubnet(srcAddr, "2606:4700::/32")) as mixed, sum(isIpInSubnet(srcAddr, "0.0.0.0/0")) as any4"#
        ),
    )
    .await;
    assert_eq!(
        got,
        vec![row(&[
            ("v4", "1"),
            ("v6", "1"),
            ("mixed", "0"),
            ("any4", "2")
        ])]
    );
}

#[tokio::test]
async fn map_and_list_access() {
    let f = net_fixture().await;
    let got = rows(
        &f,
        r#"filter @logStream = "json" | fields jsonParse(@message) as j
           | display j.user.name, j.user.roles[0].role as role, j.tags[1] as second,
             j.user.`special.key` as special, jsonParse(@message).tags[0] as first,
             j.user.roles as roles
           | sort @timestamp asc"#,
    )
    .await;
    assert_eq!(
        got,
        vec![
            row(&[
                ("j.user.name", "ana"),
                ("role", "admin"),
                ("second", "prod"),
                ("special", "dotted"),
                ("first", "web"),
                ("roles", r#"[{"role":"admin"},{"role":"dev"}]"#),
            ]),
            row(&[("j.user.name", "bo"), ("first", "dev"), ("roles", "[]")]),
            // `tags` is a string here: indexing it gives nothing.
            row(&[("j.user.name", "cy")]),
        ]
    );
    // A map shows as compact JSON with its keys in their original order.
    let got = rows(
        &f,
        r#"filter @logStream = "json" and @message like "cy" | fields jsonParse(@message) as j | display j"#,
    )
    .await;
    assert_eq!(
        got,
        vec![row(&[(
            "j",
            r#"{"user":{"name":"cy"},"tags":"solo","events":[]}"#
        )])]
    );
}

#[tokio::test]
async fn json_functions() {
    let f = net_fixture().await;
    let got = rows(
        &f,
        r#"filter @logStream = "json" | fields jsonParse(@message) as j
           | display jsonStringify(j.user) as user, jsonArraySize(j.tags) as size,
             jsonArrayContains(j.tags, "prod") as prod, jsonArrayContains(j.tags, "Prod") as Prod,
             jsonArrayContains(@logStream, "json") as invalid
           | sort @timestamp asc"#,
    )
    .await;
    assert_eq!(
        got,
        vec![
            row(&[
                (
                    "user",
                    r#"{"name":"ana","roles":[{"role":"admin"},{"role":"dev"}],"special.key":"dotted"}"#
                ),
                ("size", "2"),
                ("prod", "1"),
                ("Prod", "0"),
                ("invalid", "0"),
            ]),
            row(&[
                ("user", r#"{"name":"bo","roles":[]}"#),
                ("size", "1"),
                ("prod", "0"),
                ("Prod", "0"),
                ("invalid", "0"),
            ]),
            row(&[
                ("user", r#"{"name":"cy"}"#),
                ("prod", "0"),
                ("Prod", "0"),
                ("invalid", "0"),
            ]),
        ]
    );
}

#[tokio::test]
async fn unnest_lists_maps_and_splits() {
    let f = net_fixture().await;
    // The documented example: newest event first, each one's elements in list order; a
    // map counts as a list of one, and an empty list yields no row.
    let got = rows(
        &f,
        r#"filter @logStream = "json" | fields jsonParse(@message) as json_message
           | unnest json_message.events into event | display event.name"#,
    )
    .await;
    assert_eq!(
        got,
        vec![
            row(&[("event.name", "single")]),
            row(&[("event.name", "exception")]),
            row(&[("event.name", "user action")]),
        ]
    );
    // A sort before `unnest` holds after it, elements still in list order.
    let got = rows(
        &f,
        r#"filter @logStream = "json" | fields jsonParse(@message) as json_message
           | sort @timestamp asc | unnest json_message.events into event
           | display event.name"#,
    )
    .await;
    assert_eq!(
        got,
        vec![
            row(&[("event.name", "exception")]),
            row(&[("event.name", "user action")]),
            row(&[("event.name", "single")]),
        ]
    );
    let got = rows(
        &f,
        r#"filter @logStream = "json" | fields jsonParse(@message) as js
           | unnest js.tags into tag | stats count(*) as n by tag | sort tag"#,
    )
    .await;
    assert_eq!(
        got,
        vec![
            row(&[("tag", "dev"), ("n", "1")]),
            row(&[("tag", "prod"), ("n", "1")]),
            row(&[("tag", "solo"), ("n", "1")]),
            row(&[("tag", "web"), ("n", "1")]),
        ]
    );
    let got = rows(
        &f,
        r#"filter @logStream = "json" | fields jsonParse(@message) as js
           | unnest js.user.roles into r | filter r.role = "dev" | display js.user.name, r"#,
    )
    .await;
    assert_eq!(
        got,
        vec![row(&[("js.user.name", "ana"), ("r", r#"{"role":"dev"}"#)])]
    );
    let got = rows(
        &f,
        &format!(r#"{VPC} | filter action = "ACCEPT" | unnest split(dstAddr, ":") into part | display part"#),
    )
    .await;
    assert_eq!(
        got,
        vec![
            row(&[("part", "fd00")]),
            row(&[("part", "")]),
            row(&[("part", "1")]),
            row(&[("part", "8.8.8.8")]),
        ]
    );
}

#[tokio::test]
async fn string_functions() {
    let f = net_fixture().await;
    let got = rows(
        &f,
        r#"filter @logStream = "misc"
           | display isNumeric(num) as a, isNumeric(word) as b, urlencode(q) as ue,
             urldecode(enc) as ud, base64encode(word) as be, base64decode(b64) as bd,
             base64decode(bad64) as bad, hexToAscii(hex) as ha, hexToDec(code) as hd,
             decToHex(n) as dh, split(csv, ",") as parts, split(csv, ",")[3] as last,
             jsonArraySize(split(csv, ",")) as count"#,
    )
    .await;
    assert_eq!(
        got,
        vec![row(&[
            ("a", "1"),
            ("b", "0"),
            ("ue", "a%20b%26c%3Dd"),
            ("ud", "a b c"),
            ("be", "YWJj"),
            ("bd", "hello"),
            ("ha", "Hi"),
            ("hd", "255"),
            ("dh", "0xff"),
            ("parts", "[x, y, , z]"),
            ("last", "z"),
            ("count", "4"),
        ])]
    );
}

#[tokio::test]
async fn date_and_geography_functions() {
    let f = net_fixture().await;
    let got = rows(
        &f,
        r#"filter @logStream = "misc"
           | fields parseDate(ts, "dd/MMM/yyyy:HH:mm:ss Z") as ms
           | display ms, fromMillis(ms) as t,
             formatDate(@timestamp, "%Y-%m-%dT%H:%M:%S%.3f%:z", "Asia/Tokyo") as tokyo,
             strftime(@timestamp, "%d/%m/%Y %H:%M") as utc,
             round(haversine(lat1, lon1, lat2, lon2), 1) as km"#,
    )
    .await;
    assert_eq!(
        got,
        vec![row(&[
            ("ms", "1700000000000"),
            ("t", "2023-11-14 22:13:20.000"),
            ("tokyo", "2023-11-15T07:21:20.000+09:00"),
            ("utc", "14/11/2023 22:21"),
            ("km", "343.6"),
        ])]
    );
    for bad in [
        r#"fields parseDate(ts, "yyyy VV")"#,
        r#"fields parseDate(ts, "yyyy", "Mars/Base")"#,
        r#"fields formatDate(@timestamp, "%Q")"#,
        r#"fields parseDate(ts, ts)"#,
    ] {
        let err = run(
            &f.store,
            QueryRequest {
                text: bad,
                groups: std::slice::from_ref(&f.group),
                start_ms: T0,
                end_ms: T0 + 3_600_000,
                limit: 10,
            },
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, query::engine::QueryError::Malformed(_)),
            "{bad}: {err}"
        );
    }
    // Found by planning, before any data is read: what StartQuery refuses.
    for bad in [
        r#"fields parseDate(ts, "yyyy VV")"#,
        r#"fields formatDate(@timestamp, "%Q")"#,
        r#"parse @message /(?<a>[/ as x"#,
        "parse @message /(?<a>[a-z/",
        "stats count(*) by bin(2mo)",
    ] {
        let Err(err) = query::engine::prepare(bad, 0, 0, 1) else {
            panic!("{bad}: accepted");
        };
        assert!(
            matches!(err, query::engine::QueryError::Malformed(_)),
            "{bad}: {err}"
        );
    }
    assert!(query::engine::prepare("stats count(*) by bin(1mo)", 0, 0, 1).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_segments_are_read_a_few_at_a_time_without_stalling() {
    // 40 segments of 50 events: ten times the readers a scan may use at once.
    let f = segments_fixture(50).await;
    for text in [
        "stats count(*) as c, sum(n) as s",
        "fields n | sort n desc | limit 3",
        "fields n | limit 5",
        "stats count(*) as c by bin(10m) as t | sort c desc, t desc | limit 1",
    ] {
        let got = tokio::time::timeout(std::time::Duration::from_secs(30), rows(&f, text))
            .await
            .unwrap_or_else(|_| panic!("{text} stalled"));
        assert!(!got.is_empty(), "{text}");
        if text.starts_with("stats count(*) as c, sum") {
            assert_eq!(got, vec![row(&[("c", "2000"), ("s", "1999000")])]);
        }
        if text.starts_with("fields n | sort") {
            let n: Vec<_> = got.iter().map(|r| r[0].1.clone()).collect();
            assert_eq!(n, ["1999", "1998", "1997"]);
        }
    }
}

/// Events per file for the early-stop test: more than the rows an operator collects
/// before passing a batch on (half of DataFusion's 8,192), as in real hour files.
const PER_SEGMENT: i64 = 4_000;

/// A group of 40 one-minute segments of `per_segment` events each (`n` counts up with
/// time).
async fn segments_fixture(per_segment: i64) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (store, group) = new_group(dir.path(), "many");
    let id = group.id;
    store.catalog().create_stream(id, "s", 0).unwrap();
    let stream = store.catalog().stream(id, "s").unwrap();
    for flush in 0..40i64 {
        let events = (0..per_segment)
            .map(|i| InputEvent {
                timestamp: T0 + flush * 60_000 + i,
                message: format!(r#"{{"n":{}}}"#, flush * per_segment + i),
            })
            .collect();
        store.put_events(&group, &stream, events).await.unwrap();
        store.flush().await.unwrap();
    }
    Fixture {
        _dir: dir,
        store,
        group,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latest_events_stop_reading_once_older_segments_cannot_enter() {
    let f = segments_fixture(PER_SEGMENT).await;
    for text in [
        "fields n | limit 5",
        "fields n | sort @timestamp desc | limit 5",
    ] {
        let out = output(&f, text).await;
        let n: Vec<_> = out
            .rows
            .iter()
            .filter_map(|r| r.iter().find(|(k, _)| k == "n").map(|(_, v)| v.clone()))
            .collect();
        assert_eq!(
            n,
            ["159999", "159998", "159997", "159996", "159995"],
            "{text}"
        );
        // The newest segments fill the five rows; most of the 40 are never read.
        assert!(
            out.records_scanned < 80_000,
            "{text}: scanned {}",
            out.records_scanned
        );
    }
    // Oldest first, the threshold skips the newer segments instead.
    let out = output(&f, "fields n | sort @timestamp asc | limit 5").await;
    let n: Vec<_> = out
        .rows
        .iter()
        .filter_map(|r| r.iter().find(|(k, _)| k == "n").map(|(_, v)| v.clone()))
        .collect();
    assert_eq!(n, ["0", "1", "2", "3", "4"]);
    // With stats, everything is read.
    let out = output(&f, "stats count(*) as c").await;
    assert_eq!(out.rows, vec![row(&[("c", "160000")])]);
    assert_eq!(out.records_scanned, 160_000);
    assert!(
        out.bytes_scanned > 0,
        "bytes are counted without decoding text"
    );
}

#[tokio::test]
async fn stream_filters_skip_other_streams() {
    let f = fixture().await;
    for text in [
        r#"filter @logStream = "db" | fields @logStream, @message"#,
        r#"filter @logStream in ["db", "nope"] | fields @logStream, @message"#,
    ] {
        let out = output(&f, text).await;
        let got: Vec<Vec<(String, String)>> = out
            .rows
            .into_iter()
            .map(|r| r.into_iter().filter(|(k, _)| k != "@ptr").collect())
            .collect();
        assert_eq!(
            got,
            vec![row(&[
                ("@logStream", "db"),
                ("@message", "user=cy, method:GET, latency := 7")
            ])],
            "{text}"
        );
        assert_eq!(out.records_scanned, 1, "{text}: web's events are not read");
    }
    let got = rows(&f, r#"filter @logStream = "web" | stats count(*) as c"#).await;
    assert_eq!(got, vec![row(&[("c", "4")])]);
    let got = rows(
        &f,
        r#"filter @logStream = "web" and @logStream = "db" | stats count(*) as c"#,
    )
    .await;
    assert_eq!(got, vec![row(&[("c", "0")])]);
}

#[tokio::test]
async fn a_scan_reads_each_file_once_however_its_partitions_are_run() {
    use datafusion::physical_plan::{ExecutionPlanProperties, common::collect};
    let f = fixture().await;
    let (table, _) =
        query::table::log_table(&f.store, std::slice::from_ref(&f.group), T0, T0 + 3_600_000)
            .unwrap();
    let ctx = datafusion::prelude::SessionContext::new();
    ctx.register_table("logs", std::sync::Arc::new(table))
        .unwrap();
    let plan = ctx
        .sql(r#"SELECT "@message" FROM logs"#)
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap();
    let partitions = plan.output_partitioning().partition_count();
    assert!(partitions > 1, "a segment and the memtable: {partitions}");
    // Each partition drained before the next starts, then the whole plan once more: the
    // partitions share one queue of files per run, and a second run starts it afresh.
    for run in 0..2 {
        let mut rows = 0;
        for p in 0..partitions {
            let batches = collect(plan.execute(p, ctx.task_ctx()).unwrap())
                .await
                .unwrap();
            rows += batches.iter().map(|b| b.num_rows()).sum::<usize>();
        }
        assert_eq!(rows, 5, "run {run}");
    }
}

#[tokio::test]
async fn text_equality_filters_keep_escaped_values_and_negations() {
    let dir = tempfile::tempdir().unwrap();
    let messages = [
        r#"{"level":"ERROR","n":1}"#,
        // The value escaped: the text "ERROR" is nowhere in the message.
        r#"{"level":"ERR\u004fR","n":2}"#,
        // The text is there, in another member.
        r#"{"level":"INFO","note":"ERROR","n":3}"#,
        r#"{"note":"no level","n":4}"#,
        "2 123456789010 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1 2 REJECT OK",
    ];
    let events = messages
        .iter()
        .enumerate()
        .map(|(i, m)| InputEvent {
            timestamp: T0 + i as i64,
            message: m.to_string(),
        })
        .collect();
    let (store, group) = group_of(dir.path(), events).await;
    let f = Fixture {
        _dir: dir,
        store,
        group,
    };
    let ns = |rows: Vec<Vec<(String, String)>>| -> Vec<String> {
        rows.into_iter()
            .map(|r| r.into_iter().map(|(_, v)| v).collect::<Vec<_>>().join(","))
            .collect()
    };
    let got = rows(&f, r#"filter level = "ERROR" | fields n | sort n"#).await;
    assert_eq!(ns(got), ["1", "2"]);
    let got = rows(&f, r#"filter "ERROR" = level and n > 1 | fields n"#).await;
    assert_eq!(ns(got), ["2"]);
    // Under `not` and `or` no shortcut applies: a missing level is not "ERROR" either.
    let got = rows(&f, r#"filter not (level = "ERROR") | fields n | sort n"#).await;
    assert_eq!(ns(got), ["3"]);
    let got = rows(&f, r#"filter level = "ERROR" or n = 4 | fields n | sort n"#).await;
    assert_eq!(ns(got), ["1", "2", "4"]);
    // A flow-log field compares as its text on the line.
    let got = rows(&f, r#"filter action = "REJECT" | fields srcAddr"#).await;
    assert_eq!(ns(got), ["10.0.0.1"]);
}
