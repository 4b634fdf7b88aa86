//! Discovered fields of AWS log formats, on the real samples in `../shared/data`.

mod common;

use common::{group_of, rows_of};
use model::InputEvent;
use query::engine::QueryRequest;
use std::path::PathBuf;
use store::Store;

fn shared(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(path)
}

/// Runs `text` over all of `group` with both plans (see `common::both_plans`).
async fn query(store: &Store, group: &store::GroupRow, text: &str) -> Vec<Vec<(String, String)>> {
    let request = QueryRequest {
        text,
        groups: std::slice::from_ref(group),
        start_ms: 0,
        end_ms: i64::MAX / 2,
        limit: 10_000,
    };
    rows_of(store, request).await
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

/// Each row's values of `fields`, joined by `|` (an absent value is empty).
fn table(rows: &[Vec<(String, String)>], fields: &[&str]) -> Vec<String> {
    (0..rows.len())
        .map(|i| {
            fields
                .iter()
                .map(|f| values(&rows[i..=i], f).remove(0))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

/// Events of `lines`, a millisecond apart in the order given.
fn events_of(lines: &[&str]) -> Vec<InputEvent> {
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| InputEvent {
            timestamp: 1_600_000_000_000 + i as i64,
            message: line.to_string(),
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
    // Request ids end at the line's end or tab, escaped (`\\n`, `\\t`) or not; only the
    // invocation sample was traced by X-Ray.
    let rows = query(
        &store,
        &group,
        "filter ispresent(@type) | fields @type, @requestId, @xrayTraceId, @xraySegmentId | sort @timestamp, @type",
    )
    .await;
    assert_eq!(
        table(
            &rows,
            &["@type", "@requestId", "@xrayTraceId", "@xraySegmentId"]
        ),
        [
            "END|f08bb4c8-d6b2-4f05-ac17-af7e2ba005fb||",
            "REPORT|f08bb4c8-d6b2-4f05-ac17-af7e2ba005fb|1-5e61292c-cc1229a4dfbeae1043928548|07a85e713f6302b2",
            "START|db275f87-a934-471a-8980-b63bf4dc1beb||",
            "END|db275f87-a934-471a-8980-b63bf4dc1beb||",
            "REPORT|db275f87-a934-471a-8980-b63bf4dc1beb||",
            "START|7c9567b5-107b-4a6c-8798-0157ac21db52||",
            "END|7c9567b5-107b-4a6c-8798-0157ac21db52||",
            "REPORT|7c9567b5-107b-4a6c-8798-0157ac21db52||",
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
    let events = events_of(&[v2, v3, v4, v5, custom]);
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
    assert_eq!(table(&rows, &fields), golden);
    let rows = query(
        &store,
        &group,
        "filter ispresent(vpcId) | stats sum(bytes) as b, count(*) as n by flowDirection | sort n",
    )
    .await;
    assert_eq!(values(&rows, "b"), ["1100", "1600"]);
    assert_eq!(values(&rows, "flowDirection"), ["egress", ""]);
}

/// Route 53 public DNS query log lines (AWS's example in the Route 53 guide, "Query log
/// example"): their ten values are discovered by the CloudWatch Logs names. A Resolver
/// query log (JSON, AWS's example) is read as JSON; a flow-log line keeps its own
/// `version` and `protocol`; lines that only look alike are no query logs.
#[tokio::test]
async fn route53_query_log_fields() {
    let documented = [
        "1.0 2017-12-13T08:16:02.130Z Z123412341234 example.com A NOERROR UDP FRA6 192.168.1.1 -",
        "1.0 2017-12-13T08:15:50.235Z Z123412341234 example.com AAAA NOERROR TCP IAD12 192.168.3.1 192.168.222.0/24",
        "1.0 2017-12-13T08:16:03.983Z Z123412341234 example.com ANY NOERROR UDP FRA6 2001:db8::1234 2001:db8:abcd::/48",
        "1.0 2017-12-13T08:15:50.342Z Z123412341234 bad.example.com A NXDOMAIN UDP IAD12 192.168.3.1 192.168.111.0/24",
        "1.0 2017-12-13T08:16:05.744Z Z123412341234 txt.example.com TXT NOERROR UDP JFK5 192.168.1.2 -",
    ];
    let resolver = r#"{"srcaddr": "4.5.64.102", "vpc_id": "vpc-7example", "answers": [{"Rdata": "203.0.113.9", "Type": "PTR", "Class": "IN"}], "firewall_rule_group_id": "rslvr-frg-01234567890abcdef", "firewall_rule_action": "BLOCK", "query_name": "15.3.4.32.in-addr.arpa.", "firewall_domain_list_id": "rslvr-fdl-01234567890abcdef", "query_class": "IN", "srcids": {"instance": "i-0d15cd0d3example"}, "rcode": "NOERROR", "query_type": "PTR", "transport": "UDP", "version": "1.100000", "account_id": "111122223333", "srcport": "56067", "query_timestamp": "2021-02-04T17:51:55Z", "region": "us-east-1"}"#;
    let flow = "2 123456789010 eni-abc123de 192.0.2.0 192.0.2.24 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK";
    let other_protocol =
        "1.0 2017-12-13T08:16:02.130Z Z123412341234 example.com A NOERROR QUIC FRA6 192.168.1.1 -";
    let one_more_value = "1.0 2017-12-13T08:16:02.130Z Z123412341234 example.com A NOERROR UDP FRA6 192.168.1.1 - extra";
    let no_time = "1.0 yesterday Z123412341234 example.com A NOERROR UDP FRA6 192.168.1.1 -";
    let mut lines: Vec<&str> = documented.to_vec();
    lines.extend([resolver, flow, other_protocol, one_more_value, no_time]);
    let dir = tempfile::tempdir().unwrap();
    let (store, group) = group_of(dir.path(), events_of(&lines)).await;
    let names = [
        "version",
        "queryTimestamp",
        "hostZoneId",
        "queryName",
        "queryType",
        "responseCode",
        "protocol",
        "edgeLocation",
        "resolverIp",
        "ednsClientSubnet",
    ];
    let rows = query(
        &store,
        &group,
        &format!("fields {} | sort @timestamp", names.join(", ")),
    )
    .await;
    assert_eq!(
        table(&rows, &names),
        [
            "1.0|2017-12-13T08:16:02.130Z|Z123412341234|example.com|A|NOERROR|UDP|FRA6|192.168.1.1|-",
            "1.0|2017-12-13T08:15:50.235Z|Z123412341234|example.com|AAAA|NOERROR|TCP|IAD12|192.168.3.1|192.168.222.0/24",
            "1.0|2017-12-13T08:16:03.983Z|Z123412341234|example.com|ANY|NOERROR|UDP|FRA6|2001:db8::1234|2001:db8:abcd::/48",
            "1.0|2017-12-13T08:15:50.342Z|Z123412341234|bad.example.com|A|NXDOMAIN|UDP|IAD12|192.168.3.1|192.168.111.0/24",
            "1.0|2017-12-13T08:16:05.744Z|Z123412341234|txt.example.com|TXT|NOERROR|UDP|JFK5|192.168.1.2|-",
            "1.100000|||||||||",
            "2||||||6|||",
            "|||||||||",
            "|||||||||",
            "|||||||||",
        ]
    );
    let rows = query(
        &store,
        &group,
        "filter ispresent(queryName) | stats count(*) as n by edgeLocation | sort edgeLocation",
    )
    .await;
    assert_eq!(
        table(&rows, &["edgeLocation", "n"]),
        ["FRA6|2", "IAD12|2", "JFK5|1"]
    );
    let rows = query(
        &store,
        &group,
        "filter responseCode = 'NXDOMAIN' or rcode = 'NOERROR' | fields queryName, query_name, srcids.instance | sort @timestamp",
    )
    .await;
    assert_eq!(
        table(&rows, &["queryName", "query_name", "srcids.instance"]),
        [
            "bad.example.com||",
            "|15.3.4.32.in-addr.arpa.|i-0d15cd0d3example"
        ]
    );
    let rows = query(
        &store,
        &group,
        "filter isIpv4InSubnet(resolverIp, '192.168.0.0/16') | stats count(*) as n by protocol | sort protocol",
    )
    .await;
    assert_eq!(table(&rows, &["protocol", "n"]), ["TCP|1", "UDP|3"]);
}

/// CloudTrail records (stratus-red-team's EC2 user-data run): array elements are
/// discovered by their index, as in the guide's
/// `requestParameters.instancesSet.items.0.instanceId`.
#[tokio::test]
async fn cloudtrail_array_elements_by_index() {
    let text = std::fs::read_to_string(shared(
        "cloudtrail/samples/stratus-red-team/aws.execution.ec2-user-data.json",
    ))
    .unwrap();
    let records: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let mut events: Vec<InputEvent> = records
        .iter()
        .map(|r| InputEvent {
            timestamp: chrono::DateTime::parse_from_rfc3339(r["eventTime"].as_str().unwrap())
                .unwrap()
                .timestamp_millis(),
            message: r.to_string(),
        })
        .collect();
    events.sort_by_key(|e| e.timestamp);
    let dir = tempfile::tempdir().unwrap();
    let (store, group) = group_of(dir.path(), events).await;
    let rows = query(
        &store,
        &group,
        "filter eventName != 'DescribeInstances' | fields eventName, requestParameters.instancesSet.items.0.instanceId, responseElements.instancesSet.items.0.currentState.name, requestParameters.instancesSet.items.1.instanceId, requestParameters.instanceId | sort @timestamp",
    )
    .await;
    assert_eq!(
        table(
            &rows,
            &[
                "eventName",
                "requestParameters.instancesSet.items.0.instanceId",
                "responseElements.instancesSet.items.0.currentState.name",
                "requestParameters.instancesSet.items.1.instanceId",
                "requestParameters.instanceId",
            ]
        ),
        [
            "StopInstances|i-DDd6c7B0e18F0E35f|stopping||",
            "ModifyInstanceAttribute||||i-DDd6c7B0e18F0E35f",
            "StartInstances|i-DDd6c7B0e18F0E35f|pending||",
        ]
    );
    let rows = query(
        &store,
        &group,
        "stats count(*) as n by requestParameters.instancesSet.items.0.instanceId as id | sort n desc",
    )
    .await;
    assert_eq!(table(&rows, &["id", "n"]), ["i-DDd6c7B0e18F0E35f|34", "|1"]);
}

/// `@ingestionTime` is when the store took the events: one put, one time, between the
/// clock readings around it, printed like `@timestamp`.
#[tokio::test]
async fn ingestion_time_in_results() {
    let (_, events) = vpc_events();
    let dir = tempfile::tempdir().unwrap();
    let before = chrono::Utc::now().timestamp_millis();
    let (store, group) = group_of(dir.path(), events).await;
    let after = chrono::Utc::now().timestamp_millis();
    let rows = query(&store, &group, "stats count(*) as n by @ingestionTime").await;
    assert_eq!(values(&rows, "n"), ["775"]);
    let printed = values(&rows, "@ingestionTime").remove(0);
    let at = chrono::NaiveDateTime::parse_from_str(&printed, "%Y-%m-%d %H:%M:%S%.3f")
        .unwrap_or_else(|e| panic!("{printed}: {e}"))
        .and_utc()
        .timestamp_millis();
    assert!(
        (before..=after).contains(&at),
        "{before} <= {at} <= {after}"
    );
    let rows = query(
        &store,
        &group,
        "fields @timestamp, @ingestionTime | sort @timestamp | limit 1",
    )
    .await;
    assert_eq!(
        rows,
        vec![vec![
            (
                "@timestamp".to_string(),
                "2023-03-21 09:04:42.000".to_string()
            ),
            ("@ingestionTime".to_string(), printed),
        ]]
    );
}

/// JSON keys as Insights names them: one that starts with `@` takes one more `@`
/// (aws-formats.md §6.1), and one that holds dots is flattened as it is, as the guide's
/// `@entity.Attributes.EC2.InstanceId` is; backticks only quote.
#[tokio::test]
async fn json_keys_with_at_signs_and_dots() {
    let lines = [
        r#"{"@level":"WARN","@@odd":1,"k.dot":2,"k":{"x.y":{"z":3},"@w":4},"n":{"dot":5}}"#,
        r#"{"k":{"dot":6},"@level":"INFO"}"#,
    ];
    let dir = tempfile::tempdir().unwrap();
    let (store, group) = group_of(dir.path(), events_of(&lines)).await;
    let names = [
        "@@level", "@level", "@@@odd", "@@odd", "k.dot", "k.x.y.z", "k.@w", "n.dot",
    ];
    let rows = query(
        &store,
        &group,
        &format!("fields {} | sort @timestamp", names.join(", ")),
    )
    .await;
    assert_eq!(table(&rows, &names), ["WARN||1||2|3|4|5", "INFO||||6|||"]);
    let rows = query(
        &store,
        &group,
        "filter @@level = 'WARN' | fields `k.dot` as a, `k`.`x.y`.z as b, k.`x.y`.z as c",
    )
    .await;
    assert_eq!(table(&rows, &["a", "b", "c"]), ["2|3|3"]);
    let rows = query(
        &store,
        &group,
        "stats count(*) as n by @@level | sort @@level",
    )
    .await;
    assert_eq!(table(&rows, &["@@level", "n"]), ["INFO|1", "WARN|1"]);
}
