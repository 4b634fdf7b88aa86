//! Discovered fields of AWS log formats, on the real samples in `../shared/data`.

use model::{InputEvent, Scope};
use query::engine::{Parallelism, QueryRequest, run, run_with};
use std::path::PathBuf;
use store::{NewGroup, Store, StoreOptions};

fn shared(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(path)
}

/// A store with one group holding `events` in one stream.
async fn group_of(dir: &std::path::Path, events: Vec<InputEvent>) -> (Store, store::GroupRow) {
    let store = Store::open(StoreOptions::new(dir)).unwrap();
    let scope = Scope::new("123456789012", "us-east-1");
    let id = store
        .catalog()
        .create_group(&scope, "g", 0, &NewGroup::default())
        .unwrap();
    store.catalog().create_stream(id, "s", 0).unwrap();
    let group = store.catalog().group(&scope, "g").unwrap();
    let stream = store.catalog().stream(id, "s").unwrap();
    store.put_events(&group, &stream, events).await.unwrap();
    (store, group)
}

/// Runs `text` over all of `group`, with both plans (see `Parallelism`), which must agree.
async fn query(store: &Store, group: &store::GroupRow, text: &str) -> Vec<Vec<(String, String)>> {
    let request = QueryRequest {
        text,
        groups: std::slice::from_ref(group),
        start_ms: 0,
        end_ms: i64::MAX / 2,
        limit: 10_000,
    };
    let small = run(store, request)
        .await
        .unwrap_or_else(|e| panic!("{text}: {e}"));
    let parallel = run_with(store, request, Parallelism::PerCore)
        .await
        .unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(small.rows, parallel.rows, "{text}: plans disagree");
    small
        .rows
        .into_iter()
        .map(|r| r.into_iter().filter(|(k, _)| k != "@ptr").collect())
        .collect()
}

fn values(rows: &[Vec<(String, String)>], field: &str) -> Vec<String> {
    rows.iter()
        .map(|r| {
            r.iter()
                .find(|(k, _)| k == field)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        })
        .collect()
}

/// The VPC sample's lines as events at their flows' start times, and the raw text.
fn vpc_events() -> (String, Vec<InputEvent>) {
    let text = std::fs::read_to_string(shared("vpcflow/raw.log")).unwrap();
    let mut events: Vec<InputEvent> = text
        .lines()
        .map(|line| {
            let start: i64 = line.split(' ').nth(10).unwrap().parse().unwrap();
            InputEvent {
                timestamp: start * 1000,
                message: line.to_string(),
            }
        })
        .collect();
    events.sort_by_key(|e| e.timestamp);
    (text, events)
}

#[tokio::test]
async fn lambda_report_fields() {
    let mut events = Vec::new();
    for name in [
        "cloudwatch_log_coldstart.json",
        "cloudwatch_log_lambda_invocation.json",
        "cloudwatch_log_timeout.json",
    ] {
        let text = std::fs::read_to_string(shared(&format!("lambda/{name}"))).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        for e in doc["logEvents"].as_array().unwrap() {
            events.push(InputEvent {
                timestamp: e["timestamp"].as_i64().unwrap(),
                message: e["message"].as_str().unwrap().to_string(),
            });
        }
    }
    events.sort_by_key(|e| e.timestamp);
    let dir = tempfile::tempdir().unwrap();
    let (store, group) = group_of(dir.path(), events).await;
    let rows = query(&store, &group, "filter @type = 'REPORT' | fields @duration, @maxMemoryUsed, @initDuration | sort @duration").await;
    assert_eq!(values(&rows, "@duration"), ["1.76", "619.31", "3003.16"]);
    assert_eq!(values(&rows, "@maxMemoryUsed"), ["48", "118", "48"]);
    assert_eq!(values(&rows, "@initDuration"), ["120.96", "", "127.02"]);
    let rows = query(&store, &group, "stats count(*) as n by @type | sort @type").await;
    assert_eq!(
        rows,
        vec![
            vec![
                ("@type".to_string(), "END".to_string()),
                ("n".to_string(), "3".to_string())
            ],
            vec![
                ("@type".to_string(), "REPORT".to_string()),
                ("n".to_string(), "3".to_string())
            ],
            vec![
                ("@type".to_string(), "START".to_string()),
                ("n".to_string(), "2".to_string())
            ],
            // Lines that are not platform lines have no @type; absent values sort last.
            vec![("n".to_string(), "18".to_string())],
        ]
    );
    let rows = query(&store, &group, "filter ispresent(@billedDuration) | stats max(@billedDuration) as billed, sum(@memorySize) as mem").await;
    assert_eq!(
        rows,
        vec![vec![
            ("billed".to_string(), "3000".to_string()),
            ("mem".to_string(), "384".to_string())
        ]]
    );
}

#[tokio::test]
async fn vpc_flow_log_fields() {
    let (text, events) = vpc_events();
    let dir = tempfile::tempdir().unwrap();
    let (store, group) = group_of(dir.path(), events).await;
    let rows = query(
        &store,
        &group,
        "stats count(*) as n by action | sort action",
    )
    .await;
    assert_eq!(values(&rows, "n"), ["404", "371"]);
    assert_eq!(values(&rows, "action"), ["-", "ACCEPT"]);
    let rows = query(&store, &group, "filter action = 'ACCEPT' | stats count(*) as flows, sum(bytes) as total by srcAddr | sort flows desc | limit 2").await;
    assert_eq!(values(&rows, "srcAddr"), ["10.255.2.231", "10.255.0.62"]);
    assert_eq!(values(&rows, "flows"), ["86", "65"]);
    let rows = query(
        &store,
        &group,
        "filter action = 'ACCEPT' | stats sum(bytes) as total",
    )
    .await;
    assert_eq!(values(&rows, "total"), ["4274520"]);
    let rows = query(&store, &group, "filter isIpv4InSubnet(srcAddr, '10.255.0.0/16') and logStatus = 'OK' | stats count(*) as n").await;
    let expected = text
        .lines()
        .filter(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            f[3].starts_with("10.255.") && f[13] == "OK"
        })
        .count();
    assert_eq!(values(&rows, "n"), [expected.to_string()]);
}

#[tokio::test]
async fn pattern_clusters_lines_that_differ_only_in_values() {
    let (_, events) = vpc_events();
    let dir = tempfile::tempdir().unwrap();
    let (store, group) = group_of(dir.path(), events).await;
    let rows = query(&store, &group, "pattern @message").await;
    assert_eq!(
        values(&rows, "@pattern"),
        [
            "<*> <*> eni-<*> - - - - - - - <*> <*> - NODATA",
            "<*> <*> eni-<*> <*> <*> <*> <*> <*> <*> <*> <*> <*> ACCEPT OK"
        ]
    );
    assert_eq!(values(&rows, "@sampleCount"), ["404", "371"]);
    assert_eq!(
        values(&rows, "@ratio"),
        [(404.0 / 775.0).to_string(), (371.0 / 775.0).to_string()]
    );
    assert_eq!(values(&rows, "@severityLabel"), ["UNKNOWN", "UNKNOWN"]);
    let rows = query(
        &store,
        &group,
        "filter action = 'ACCEPT' | pattern @message | limit 1",
    )
    .await;
    assert_eq!(values(&rows, "@ratio"), ["1"]);
}

/// Flow-log lines of versions 3 to 5 with every field in AWS's documented order: their
/// fields are discovered by the Insights names of `formats::vpc::FIELDS`; a custom order of
/// the same length is not mistaken for the documented one.
#[tokio::test]
async fn vpc_flow_log_v3_to_v5_fields() {
    let v2 =
        "2 123456789012 eni-a 10.0.0.1 10.0.0.2 1000 22 6 5 500 1600000000 1600000060 ACCEPT OK";
    let v3 = "3 123456789012 eni-b 10.0.0.3 10.0.0.4 1001 443 6 7 700 1600000001 1600000061 REJECT OK vpc-3 subnet-3 i-3 19 IPv4 10.0.0.3 10.0.0.4";
    let v4 = "4 123456789012 eni-c 10.0.0.5 10.0.0.6 1002 80 17 9 900 1600000002 1600000062 ACCEPT OK vpc-4 subnet-4 i-4 3 IPv6 - - us-east-1 use1-az4 wavelength wl-1";
    let v5 = "5 123456789012 eni-d 10.0.0.7 52.95.128.179 1003 443 6 11 1100 1600000003 1600000063 ACCEPT OK vpc-5 subnet-5 i-5 2 IPv4 10.0.0.7 52.95.128.179 us-west-2 usw2-az1 - - - S3 egress 8";
    // AWS's own custom-format example: 29 fields, version 5, in another order.
    let custom = "5 10.0.0.71 52.95.128.179 34210 80 6 1616729292 1616729349 IPv4 7 471 123456789012 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-0c50d5961bcb2d47b eni-1235b8ca123456789 ap-southeast-2 apse2-az3 - - ACCEPT 3 10.0.0.71 52.95.128.179 - S3 8 egress OK";
    let events = [v2, v3, v4, v5, custom]
        .iter()
        .enumerate()
        .map(|(i, line)| InputEvent {
            timestamp: 1_600_000_000_000 + i as i64,
            message: line.to_string(),
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let (store, group) = group_of(dir.path(), events).await;
    let rows = query(
        &store,
        &group,
        "fields version, interfaceId, vpcId, tcpFlags, type, azId, sublocationType, pktDstAwsService, flowDirection, trafficPath | sort @timestamp",
    )
    .await;
    let golden = [
        "2|eni-a||||||||",
        "3|eni-b|vpc-3|19|IPv4|||||",
        "4|eni-c|vpc-4|3|IPv6|use1-az4|wavelength|||",
        "5|eni-d|vpc-5|2|IPv4|usw2-az1|-|S3|egress|8",
        "|||||||||",
    ];
    let fields = [
        "version",
        "interfaceId",
        "vpcId",
        "tcpFlags",
        "type",
        "azId",
        "sublocationType",
        "pktDstAwsService",
        "flowDirection",
        "trafficPath",
    ];
    let got: Vec<String> = (0..rows.len())
        .map(|i| {
            fields
                .iter()
                .map(|f| values(&rows[i..=i], f).remove(0))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect();
    assert_eq!(got, golden);
    let rows = query(
        &store,
        &group,
        "filter ispresent(vpcId) | stats sum(bytes) as b, count(*) as n by flowDirection | sort n",
    )
    .await;
    assert_eq!(values(&rows, "b"), ["1100", "1600"]);
    assert_eq!(values(&rows, "flowDirection"), ["egress", ""]);
}
