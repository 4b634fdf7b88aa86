//! CloudTrail Lake SQL end to end on a real store: the Lake's schema, naming and
//! functions, on handcrafted records with known values and on real CloudTrail logs.

use model::{InputEvent, Scope};
use query::lake::{LakeError, LakeResult, LakeSource, LakeTable, lake_tables, run_lake_sql};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use store::{GroupRow, NewGroup, Store, StoreOptions};

/// An event data store id, as users write it in FROM: unquoted.
const EDS: &str = "3b1c2d3e-aaaa-4bbb-8ccc-0123456789ab";

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    hand: GroupRow,
    /// The group of the real records, when the shared data is there.
    real: Option<(GroupRow, Vec<Value>)>,
}

fn millis(time: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(time)
        .unwrap()
        .timestamp_millis()
}

/// Handcrafted records, one JSON text each, with two that are not records at all.
fn handcrafted() -> Vec<String> {
    let records = [
        json!({
            "eventVersion": "1.08",
            "userIdentity": {"type": "IAMUser", "principalId": "AIDAALICE", "arn": "arn:aws:iam::111122223333:user/alice",
                             "accountId": "111122223333", "userName": "alice"},
            "eventTime": "2023-01-22T10:00:00Z", "eventSource": "s3.amazonaws.com", "eventName": "DeleteBucket",
            "awsRegion": "us-east-1", "sourceIPAddress": "192.0.2.1", "userAgent": "aws-cli/2",
            "requestParameters": {"bucketName": "b1"}, "responseElements": null,
            "requestID": "R1", "eventID": "e1", "readOnly": false,
            "resources": [{"accountId": "111122223333", "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::b1"}],
            "eventType": "AwsApiCall", "managementEvent": true, "recipientAccountId": "111122223333",
            "eventCategory": "Management",
            "tlsDetails": {"tlsVersion": "TLSv1.2", "cipherSuite": "ECDHE-RSA-AES128-GCM-SHA256",
                           "clientProvidedHostHeader": "s3.amazonaws.com"},
            "someFutureField": {"x": 1}
        }),
        json!({
            "eventVersion": "1.08",
            "userIdentity": {"type": "AssumedRole", "principalId": "principal_ID", "accountId": "111122223333",
                             "sessionContext": {"attributes": {"creationDate": "2023-01-22T11:00:00Z", "mfaAuthenticated": "false"},
                                                "sessionIssuer": {"type": "Role", "userName": "deployer"}}},
            "eventTime": "2023-01-22T12:00:00Z", "eventSource": "s3.amazonaws.com", "eventName": "CreateBucket",
            "awsRegion": "us-east-1", "requestParameters": {"bucketName": "b2"},
            "eventID": "e2", "readOnly": false, "managementEvent": true, "recipientAccountId": "444455556666",
            "tlsDetails": {"tlsVersion": "TLSv1.3"}
        }),
        json!({
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/carol", "accountId": "111122223333"},
            "eventTime": "2023-01-20T08:00:00Z", "eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin",
            "awsRegion": "us-west-2", "additionalEventData": {"MFAUsed": "No", "LoginTo": "https://console.aws.amazon.com",
                                                              "detail": {"a": 1}, "attempts": 3},
            "responseElements": {"ConsoleLogin": "Success"}, "eventID": "e3", "readOnly": false,
            "recipientAccountId": "111122223333"
        }),
        json!({
            "userIdentity": {"type": "IAMUser", "userName": "dave"},
            "eventTime": "2023-01-15T09:30:00Z", "eventSource": "cloudtrail.amazonaws.com", "eventName": "StartQuery",
            "awsRegion": "us-east-1", "requestParameters": {"queryStatement": "SELECT 1"},
            "responseElements": {"queryId": "q-1"}, "eventID": "e4", "readOnly": false,
            "tlsDetails": {"tlsVersion": "TLSv1.3"}
        }),
        // Keys in another case than CloudTrail's still land in their columns.
        json!({
            "userIdentity": {"type": "IAMUser", "UserName": "bob", "accountId": "111122223333"},
            "eventTime": "2023-01-22T23:59:59.500Z", "EventSource": "s3.amazonaws.com", "eventName": "DeleteBucket",
            "awsRegion": "eu-west-1", "errorCode": "AccessDenied", "errorMessage": "Access Denied",
            "eventID": "e5", "readOnly": "false", "recipientAccountId": "111122223333",
            "tlsDetails": {"tlsVersion": "TLSv1.2"}
        }),
        json!({
            "userIdentity": {"type": "IAMUser", "userName": "bob"},
            "eventTime": "2023-01-23T00:00:00Z", "eventSource": "s3.amazonaws.com", "eventName": "ListBuckets",
            "awsRegion": "us-east-1", "eventID": "e6", "readOnly": true
        }),
    ];
    let mut texts: Vec<String> = records.iter().map(Value::to_string).collect();
    texts.push("not json".into());
    texts.push("[1, 2]".into());
    texts
}

async fn put(store: &Store, scope: &Scope, name: &str, mut events: Vec<InputEvent>) -> GroupRow {
    let id = store
        .catalog()
        .create_group(scope, name, 0, &NewGroup::default())
        .unwrap();
    store.catalog().create_stream(id, "s", 0).unwrap();
    let group = store.catalog().group(scope, name).unwrap();
    let stream = store.catalog().stream(id, "s").unwrap();
    events.sort_by_key(|e| e.timestamp);
    // Half the events in a segment, half in the memtable: queries must see both.
    let rest = events.split_off(events.len() / 2);
    store.put_events(&group, &stream, events).await.unwrap();
    store.flush().await.unwrap();
    store.put_events(&group, &stream, rest).await.unwrap();
    group
}

/// The real CloudTrail records shipped in the shared data, if present.
fn real_records() -> Option<Vec<Value>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/cloudtrail");
    let mut files = Vec::new();
    let mut dirs = vec![root.join("AWSLogs")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).ok()?.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.to_string_lossy().ends_with(".json.gz") {
                files.push(path);
            }
        }
    }
    let mut records = Vec::new();
    for file in files {
        let reader = flate2::read::GzDecoder::new(std::fs::File::open(file).unwrap());
        let mut body: Value = serde_json::from_reader(reader).unwrap();
        if let Value::Array(r) = body["Records"].take() {
            records.extend(r);
        }
    }
    Some(records)
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreOptions::new(dir.path())).unwrap();
    let scope = Scope::new("111122223333", "us-east-1");
    let events = handcrafted()
        .into_iter()
        .map(|message| {
            let time = serde_json::from_str::<Value>(&message)
                .ok()
                .and_then(|v| v["eventTime"].as_str().map(millis))
                .unwrap_or(millis("2023-01-01T00:00:00Z"));
            InputEvent {
                timestamp: time,
                message,
            }
        })
        .collect();
    let hand = put(&store, &scope, "@cloudtrail/eds/hand", events).await;
    let real = match real_records() {
        Some(records) => {
            let events = records
                .iter()
                .map(|r| InputEvent {
                    timestamp: millis(r["eventTime"].as_str().unwrap()),
                    message: r.to_string(),
                })
                .collect();
            let group = put(&store, &scope, "@cloudtrail/eds/real", events).await;
            Some((group, records))
        }
        None => {
            println!("note: no shared CloudTrail data; real-record checks skipped");
            None
        }
    };
    Fixture {
        _dir: dir,
        store,
        hand,
        real,
    }
}

fn whole(group: &GroupRow) -> Vec<LakeSource> {
    vec![LakeSource {
        group_id: group.id,
        from_ms: i64::MIN,
        to_ms: i64::MAX,
        keep: None,
    }]
}

impl Fixture {
    /// The handcrafted records as the table named [`EDS`], and the real ones (if any) as
    /// `cloudtrail_logs`.
    fn tables(&self) -> Vec<(String, LakeTable)> {
        let mut tables = vec![(
            EDS.to_string(),
            LakeTable::new(&self.store, whole(&self.hand)),
        )];
        if let Some((group, _)) = &self.real {
            tables.push((
                "cloudtrail_logs".into(),
                LakeTable::new(&self.store, whole(group)),
            ));
        }
        tables
    }

    async fn run(&self, sql: &str) -> LakeResult {
        let sql = sql.replace("$EDS_ID", EDS);
        match run_lake_sql(&sql, self.tables()).await {
            Ok(r) => r,
            Err(e) => panic!("{sql}: {e}"),
        }
    }
}

/// Rows as plain strings (NULL as "-"), sorted when the query leaves the order open.
fn cells(result: &LakeResult, sort: bool) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = result
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| v.clone().unwrap_or_else(|| "-".into()))
                .collect()
        })
        .collect();
    if sort {
        rows.sort();
    }
    rows
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn documented_queries_give_the_lakes_rows_and_names() {
    let f = fixture().await;

    let r = f
        .run("SELECT eventName, eventSource, eventTime, userIdentity.userName FROM $EDS_ID WHERE eventName = 'DeleteBucket' LIMIT 100")
        .await;
    assert_eq!(
        r.columns,
        strings(&["eventName", "eventSource", "eventTime", "userName"])
    );
    assert_eq!(
        cells(&r, true),
        vec![
            strings(&[
                "DeleteBucket",
                "s3.amazonaws.com",
                "2023-01-22 10:00:00.000",
                "alice"
            ]),
            strings(&[
                "DeleteBucket",
                "s3.amazonaws.com",
                "2023-01-22 23:59:59.500",
                "bob"
            ]),
        ]
    );
    // Six records read, two lines that are no records left out.
    assert_eq!((r.events_scanned, r.events_skipped), (8, 2));
    assert!(r.bytes_scanned > 0);

    let r = f
        .run("SELECT eventName, eventSource, userIdentity.userName, errorCode FROM $EDS_ID WHERE errorCode IS NOT NULL LIMIT 100;")
        .await;
    assert_eq!(
        r.columns,
        strings(&["eventName", "eventSource", "userName", "errorCode"])
    );
    assert_eq!(
        cells(&r, true),
        vec![strings(&[
            "DeleteBucket",
            "s3.amazonaws.com",
            "bob",
            "AccessDenied"
        ])]
    );

    let r = f
        .run("SELECT userIdentity.principalid, eventName FROM $EDS_ID
WHERE userIdentity.principalid IS NOT NULL AND eventTime > '2023-01-22 00:00:00' AND eventTime < '2023-01-23 00:00:00' AND eventName='CreateBucket'")
        .await;
    assert_eq!(r.columns, strings(&["principalid", "eventName"]));
    assert_eq!(
        cells(&r, false),
        vec![strings(&["principal_ID", "CreateBucket"])]
    );

    let r = f
        .run("SELECT eventID, eventName, eventSource, eventTime FROM $EDS_ID
WHERE userIdentity.username = 'bob' AND eventTime > '2023-01-22 00:00:00' AND eventTime < '2023-01-23 00:00:00'")
        .await;
    assert_eq!(
        r.columns,
        strings(&["eventID", "eventName", "eventSource", "eventTime"])
    );
    assert_eq!(
        cells(&r, false),
        vec![strings(&[
            "e5",
            "DeleteBucket",
            "s3.amazonaws.com",
            "2023-01-22 23:59:59.500"
        ])]
    );
    // The time range narrowed the scan: only the three records of the 22nd were read.
    assert_eq!(r.events_scanned, 3);

    let r = f
        .run(
            "SELECT eventSource, eventName, COUNT(*) AS apiCount FROM $EDS_ID
WHERE eventTime > '2023-01-01 00:00:00' GROUP BY eventSource, eventName ORDER BY apiCount DESC",
        )
        .await;
    assert_eq!(
        r.columns,
        strings(&["eventSource", "eventName", "apiCount"])
    );
    let rows = cells(&r, false);
    assert_eq!(rows[0], strings(&["s3.amazonaws.com", "DeleteBucket", "2"]));
    let mut rest = rows[1..].to_vec();
    rest.sort();
    assert_eq!(
        rest,
        vec![
            strings(&["cloudtrail.amazonaws.com", "StartQuery", "1"]),
            strings(&["s3.amazonaws.com", "CreateBucket", "1"]),
            strings(&["s3.amazonaws.com", "ListBuckets", "1"]),
            strings(&["signin.amazonaws.com", "ConsoleLogin", "1"]),
        ]
    );

    let r = f
        .run(
            "SELECT eventTime, useridentity.arn, awsRegion FROM $EDS_ID
WHERE awsRegion in ('us-east-1', 'us-west-2') AND eventName = 'ConsoleLogin'",
        )
        .await;
    assert_eq!(r.columns, strings(&["eventTime", "arn", "awsRegion"]));
    assert_eq!(
        cells(&r, false),
        vec![strings(&[
            "2023-01-20 08:00:00.000",
            "arn:aws:iam::111122223333:user/carol",
            "us-west-2"
        ])]
    );

    let r = f
        .run("SELECT element_at(responseElements, 'queryId'), element_at(requestParameters, 'queryStatement') FROM $EDS_ID
WHERE eventName='StartQuery' AND eventSource = 'cloudtrail.amazonaws.com' AND responseElements IS NOT NULL
  AND eventTime > '2023-01-01 00:00:00' AND eventTime < '2023-02-01 00:00:00'")
        .await;
    assert_eq!(r.columns, strings(&["_col0", "_col1"]));
    assert_eq!(cells(&r, false), vec![strings(&["q-1", "SELECT 1"])]);

    let r = f
        .run("Select eventId, eventName from EDS1 UNION Select eventId, eventName from EDS2 UNION ALL Select eventId, eventName from EDS3 ORDER BY eventId LIMIT 10;"
            .replace("EDS1", EDS)
            .replace("EDS2", EDS)
            .replace("EDS3", EDS)
            .as_str())
        .await;
    assert_eq!(r.columns, strings(&["eventId", "eventName"]));
    let ids: Vec<String> = cells(&r, false).into_iter().map(|r| r[0].clone()).collect();
    assert_eq!(
        ids,
        strings(&["e1", "e1", "e2", "e2", "e3", "e3", "e4", "e4", "e5", "e5"])
    );

    // The join sample, with a real map column for its `edsA.map`.
    let r = f
        .run("SELECT edsA.eventName, edsB.eventName, element_at(edsA.requestParameters, 'bucketName') FROM eds1 as edsA LEFT JOIN eds2 as edsB
ON edsA.eventId = edsB.eventId WHERE edsA.eventtime <= '2023-01-21' ORDER BY edsB.eventName;"
            .replace("eds1", EDS)
            .replace("eds2", EDS)
            .as_str())
        .await;
    assert_eq!(r.columns, strings(&["eventName", "eventName", "_col2"]));
    assert_eq!(
        cells(&r, false),
        vec![
            strings(&["ConsoleLogin", "ConsoleLogin", "-"]),
            strings(&["StartQuery", "StartQuery", "-"]),
        ]
    );

    let r = f.run("SELECT COUNT(*) FROM $EDS_ID").await;
    assert_eq!(cells(&r, false), vec![strings(&["6"])]);
    assert_eq!(r.events_skipped, 2);

    let r = f
        .run("SELECT userIdentity.principalid, eventName, eventSource, userIdentity.accountId, recipientAccountId, requestParameters, eventTime FROM $EDS_ID WHERE eventTime > '2022-04-30 00:00:00' AND eventTime < '2024-06-01 00:00:00' AND userIdentity.accountId != recipientAccountId")
        .await;
    assert_eq!(
        r.columns,
        strings(&[
            "principalid",
            "eventName",
            "eventSource",
            "accountId",
            "recipientAccountId",
            "requestParameters",
            "eventTime"
        ])
    );
    assert_eq!(
        cells(&r, false),
        vec![strings(&[
            "principal_ID",
            "CreateBucket",
            "s3.amazonaws.com",
            "111122223333",
            "444455556666",
            "{bucketName=b2}",
            "2023-01-22 12:00:00.000"
        ])]
    );

    // Verbatim, the range is empty; then over a real range.
    let tls = "SELECT eventName, awsRegion, sourceIPAddress, recipientAccountId, tlsDetails.tlsversion FROM $EDS_ID WHERE eventTime > '2022-01-01 00:00:00' AND eventTime < '2022-01-01 00:00:00' AND tlsDetails.tlsversion != 'TLSv1.3'";
    let r = f.run(tls).await;
    assert!(r.rows.is_empty());
    assert_eq!(r.events_scanned, 0);
    let r2 = f.run(&tls.replace("< '2022-01-01", "< '2024-01-01")).await;
    assert_eq!(
        r2.columns,
        strings(&[
            "eventName",
            "awsRegion",
            "sourceIPAddress",
            "recipientAccountId",
            "tlsversion"
        ])
    );
    assert_eq!(
        cells(&r2, true),
        vec![
            strings(&["DeleteBucket", "eu-west-1", "-", "111122223333", "TLSv1.2"]),
            strings(&[
                "DeleteBucket",
                "us-east-1",
                "192.0.2.1",
                "111122223333",
                "TLSv1.2"
            ]),
        ]
    );
}

#[tokio::test]
async fn every_column_of_the_schema_is_decoded() {
    let f = fixture().await;
    let r = f
        .run("SELECT * FROM $EDS_ID WHERE eventsource = 'signin.amazonaws.com' AND eventname = 'ConsoleLogin' AND Element_at(additionaleventdata, 'MFAUsed') = 'No'")
        .await;
    assert_eq!(r.columns.len(), 33);
    assert_eq!(
        r.columns[..3],
        strings(&["eventversion", "useridentity", "eventtime"])
    );
    assert_eq!(r.rows.len(), 1);
    let row: BTreeMap<&str, Option<&str>> = r
        .columns
        .iter()
        .map(String::as_str)
        .zip(r.rows[0].iter().map(Option::as_deref))
        .collect();
    let raw = handcrafted().remove(2);
    let checksum = hex::encode(Sha256::digest(raw.as_bytes()));
    assert_eq!(row["eventjson"], Some(raw.as_str()));
    assert_eq!(row["eventjsonchecksum"], Some(checksum.as_str()));
    assert_eq!(row["eventversion"], None);
    assert_eq!(row["readonly"], Some("false"));
    assert_eq!(row["responseelements"], Some("{ConsoleLogin=Success}"));
    // Nested values of a map keep their JSON text.
    assert_eq!(
        row["additionaleventdata"],
        Some("{LoginTo=https://console.aws.amazon.com, MFAUsed=No, attempts=3, detail={\"a\":1}}")
    );

    let r = f
        .run(
            "SELECT useridentity, resources, readOnly, managementEvent, tlsDetails.cipherSuite,
                 element_at(additionalEventData, 'detail'), element_at(requestParameters, 'nope'),
                 element_at(resources, 1), userIdentity.sessionContext.attributes.creationDate,
                 userIdentity.sessionContext.sessionIssuer.userName AS issuer
              FROM $EDS_ID WHERE eventID IN ('e1', 'e2', 'e3') ORDER BY eventID",
        )
        .await;
    assert_eq!(
        r.columns,
        strings(&[
            "useridentity",
            "resources",
            "readOnly",
            "managementEvent",
            "cipherSuite",
            "_col5",
            "_col6",
            "_col7",
            "creationDate",
            "issuer"
        ])
    );
    let alice = "{type=IAMUser, principalid=AIDAALICE, arn=arn:aws:iam::111122223333:user/alice, \
        accountid=111122223333, accesskeyid=null, username=alice, sessioncontext=null, invokedby=null, \
        identityprovider=null}";
    assert_eq!(
        cells(&r, false),
        vec![
            strings(&[
                alice,
                "[{accountid=111122223333, type=AWS::S3::Bucket, arn=arn:aws:s3:::b1, arnprefix=null}]",
                "false",
                "true",
                "ECDHE-RSA-AES128-GCM-SHA256",
                "-",
                "-",
                "{accountid=111122223333, type=AWS::S3::Bucket, arn=arn:aws:s3:::b1, arnprefix=null}",
                "-",
                "-"
            ]),
            strings(&[
                "{type=AssumedRole, principalid=principal_ID, arn=null, accountid=111122223333, accesskeyid=null, \
                 username=null, sessioncontext={attributes={creationdate=2023-01-22 11:00:00.000, mfaauthenticated=false}, \
                 sessionissuer={type=Role, principalid=null, arn=null, accountid=null, username=deployer}, \
                 webidfederationdata=null, sourceidentity=null, ec2roledelivery=null, ec2issuedinvpc=null}, \
                 invokedby=null, identityprovider=null}",
                "-",
                "false",
                "true",
                "-",
                "-",
                "-",
                "-",
                "2023-01-22 11:00:00.000",
                "deployer"
            ]),
            strings(&[
                "{type=IAMUser, principalid=null, arn=arn:aws:iam::111122223333:user/carol, accountid=111122223333, \
                 accesskeyid=null, username=null, sessioncontext=null, invokedby=null, identityprovider=null}",
                "-",
                "false",
                "-",
                "-",
                "{\"a\":1}",
                "-",
                "-",
                "-",
                "-"
            ]),
        ]
    );
}

#[tokio::test]
async fn only_single_selects_run() {
    let f = fixture().await;
    for sql in [
        "INSERT INTO t VALUES (1)",
        "CREATE TABLE t (a INT)",
        "DROP TABLE cloudtrail_logs",
        "DELETE FROM cloudtrail_logs",
        "EXPLAIN SELECT 1",
        "SET x = 1",
        "SELECT * INTO copy FROM cloudtrail_logs",
    ] {
        let e = run_lake_sql(sql, f.tables()).await.unwrap_err();
        assert!(matches!(e, LakeError::NotSelect), "{sql}: {e:?}");
        assert_eq!(e.to_string(), "Only SELECT statements are allowed.");
        assert!(matches!(lake_tables(sql), Err(LakeError::NotSelect)));
    }
    let e = run_lake_sql(
        "SELECT eventName FROM t WHERE eventName = = 'x'",
        f.tables(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&e, LakeError::Syntax(m) if m.contains("Line: 1, Column:")),
        "{e:?}"
    );
    let e = run_lake_sql("SELECT * FROM nope", f.tables())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, LakeError::UnknownTable(t) if t == "nope"),
        "{e:?}"
    );
    let e = run_lake_sql(&format!("SELECT nocolumn FROM {EDS}"), f.tables())
        .await
        .unwrap_err();
    assert!(matches!(e, LakeError::Invalid(_)), "{e:?}");

    assert_eq!(
        lake_tables(&format!(
            "WITH x AS (SELECT * FROM {}) SELECT * FROM x JOIN Other ON true",
            EDS.to_uppercase()
        ))
        .unwrap(),
        strings(&[EDS, "other"])
    );
}

#[tokio::test]
async fn a_record_filter_and_sources_narrow_the_table() {
    let f = fixture().await;
    let keep: query::lake::RecordFilter = Arc::new(|r: &Value| r["eventName"] != "ConsoleLogin");
    let sources = vec![LakeSource {
        group_id: f.hand.id,
        from_ms: millis("2023-01-20T00:00:00Z"),
        to_ms: millis("2023-01-22T23:59:59.999Z"),
        keep: Some(keep),
    }];
    let table = LakeTable::new(&f.store, sources);
    let r = run_lake_sql(
        &format!("SELECT eventName, COUNT(*) FROM {EDS} GROUP BY eventName ORDER BY eventName"),
        vec![(EDS.to_string(), table)],
    )
    .await
    .unwrap();
    assert_eq!(r.columns, strings(&["eventName", "_col1"]));
    assert_eq!(
        cells(&r, false),
        vec![
            strings(&["CreateBucket", "1"]),
            strings(&["DeleteBucket", "2"])
        ]
    );
    // ConsoleLogin was read, and left out by the filter.
    assert_eq!(r.events_scanned, 4);
}

#[tokio::test]
async fn real_cloudtrail_records() {
    let f = fixture().await;
    let Some((_, records)) = &f.real else {
        return;
    };
    let text = |r: &Value, path: &[&str]| {
        let mut v = r;
        for key in path {
            v = &v[key];
        }
        v.as_str().unwrap_or("-").to_string()
    };

    let r = f
        .run("SELECT eventName, eventSource, userIdentity.userName, errorCode FROM cloudtrail_logs WHERE errorCode IS NOT NULL LIMIT 100;")
        .await;
    let failed: Vec<Vec<String>> = records
        .iter()
        .filter(|r| r["errorCode"].is_string())
        .map(|r| {
            vec![
                text(r, &["eventName"]),
                text(r, &["eventSource"]),
                text(r, &["userIdentity", "userName"]),
                text(r, &["errorCode"]),
            ]
        })
        .collect();
    assert!(failed.len() > 100);
    assert_eq!(r.rows.len(), 100);
    for row in cells(&r, false) {
        assert!(failed.contains(&row), "{row:?}");
    }

    let r = f
        .run(
            "SELECT eventSource, eventName, COUNT(*) AS apiCount FROM cloudtrail_logs
WHERE eventTime > '2023-01-01 00:00:00' GROUP BY eventSource, eventName ORDER BY apiCount DESC",
        )
        .await;
    let mut counts: BTreeMap<(String, String), u64> = BTreeMap::new();
    for record in records {
        *counts
            .entry((text(record, &["eventSource"]), text(record, &["eventName"])))
            .or_default() += 1;
    }
    let rows = cells(&r, false);
    let found: Vec<u64> = rows.iter().map(|r| r[2].parse().unwrap()).collect();
    assert!(found.windows(2).all(|w| w[0] >= w[1]), "sorted by count");
    let found: BTreeMap<(String, String), u64> = rows
        .iter()
        .map(|r| ((r[0].clone(), r[1].clone()), r[2].parse().unwrap()))
        .collect();
    assert_eq!(found, counts);
    assert_eq!(r.events_scanned, records.len() as u64);

    // A time range reads only the records inside it.
    let since = millis("2023-07-10T12:30:00Z");
    let inside = records
        .iter()
        .filter(|r| millis(r["eventTime"].as_str().unwrap()) >= since)
        .count();
    let r = f
        .run("SELECT COUNT(*) FROM cloudtrail_logs WHERE eventTime >= '2023-07-10 12:30:00'")
        .await;
    assert_eq!(cells(&r, false), vec![vec![inside.to_string()]]);
    assert_eq!(r.events_scanned, inside as u64);
    assert!(inside < records.len());

    let r = f
        .run("SELECT tlsDetails.tlsversion, COUNT(*) FROM cloudtrail_logs GROUP BY tlsDetails.tlsversion ORDER BY 2 DESC")
        .await;
    let mut versions: BTreeMap<String, u64> = BTreeMap::new();
    for record in records {
        *versions
            .entry(text(record, &["tlsDetails", "tlsVersion"]))
            .or_default() += 1;
    }
    let found: BTreeMap<String, u64> = cells(&r, false)
        .into_iter()
        .map(|r| (r[0].clone(), r[1].parse().unwrap()))
        .collect();
    assert_eq!(found, versions);
}
