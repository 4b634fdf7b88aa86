//! Insights queries end to end on a real store: exact rows for each command.

use model::{InputEvent, Scope};
use query::engine::{QueryRequest, run};
use store::{NewGroup, Store, StoreOptions};

const T0: i64 = 1_700_000_000_000; // 2023-11-14 22:13:20 UTC

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    group: store::GroupRow,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreOptions::new(dir.path())).unwrap();
    let scope = Scope::new("123456789012", "us-east-1");
    let id = store
        .catalog()
        .create_group(&scope, "app", 0, &NewGroup::default())
        .unwrap();
    for s in ["web", "db"] {
        store.catalog().create_stream(id, s, 0).unwrap();
    }
    let group = store.catalog().group(&scope, "app").unwrap();
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

async fn rows(f: &Fixture, text: &str) -> Vec<Vec<(String, String)>> {
    let out = run(
        &f.store,
        QueryRequest {
            text,
            groups: std::slice::from_ref(&f.group),
            start_ms: T0,
            end_ms: T0 + 3_600_000,
            limit: 10_000,
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{text}: {e}"));
    out.rows
        .into_iter()
        .map(|r| r.into_iter().filter(|(k, _)| k != "@ptr").collect())
        .collect()
}

fn row(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
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
