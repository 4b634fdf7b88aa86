//! CloudTrail through the official AWS SDK for Rust against a real server: every call
//! recorded, LookupEvents, trails delivering files and signed digests, public keys.

mod common;

use aws_sdk_cloudtrail::primitives::DateTime;
use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use common::{Server, files_under, gunzip, now_ms, wait_for};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn ct_error<E, R>(
    result: Result<impl std::fmt::Debug, aws_sdk_cloudtrail::error::SdkError<E, R>>,
) -> (String, String)
where
    E: aws_sdk_cloudtrail::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    use aws_sdk_cloudtrail::error::ProvideErrorMetadata;
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => (
            e.code().unwrap_or("<no code>").to_string(),
            e.message().unwrap_or("").to_string(),
        ),
    }
}

async fn lookup(server: &Server, key: LookupAttributeKey, value: &str) -> Vec<Value> {
    let out = server
        .cloudtrail()
        .lookup_events()
        .lookup_attributes(
            LookupAttribute::builder()
                .attribute_key(key)
                .attribute_value(value)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    out.events()
        .iter()
        .map(|e| serde_json::from_str(e.cloud_trail_event().unwrap()).unwrap())
        .collect()
}

#[tokio::test]
async fn every_call_is_recorded_and_looked_up() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::dev(&tmp);
    let logs = server.client();
    logs.create_log_group()
        .log_group_name("audited")
        .send()
        .await
        .unwrap();
    logs.create_log_stream()
        .log_group_name("audited")
        .log_stream_name("s")
        .send()
        .await
        .unwrap();
    logs.put_log_events()
        .log_group_name("audited")
        .log_stream_name("s")
        .log_events(
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp(now_ms())
                .message("a secret payload")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let failed = logs
        .create_log_group()
        .log_group_name("audited")
        .send()
        .await;
    assert!(failed.is_err());

    let created = lookup(&server, LookupAttributeKey::EventName, "CreateLogGroup").await;
    assert_eq!(created.len(), 2, "{created:?}");
    // Newest first: the failed attempt, then the success.
    assert_eq!(created[0]["errorCode"], "ResourceAlreadyExistsException");
    let ok = &created[1];
    assert_eq!(ok["eventSource"], "logs.amazonaws.com");
    assert_eq!(ok["eventVersion"], "1.11");
    assert_eq!(ok["awsRegion"], "us-east-1");
    assert_eq!(ok["sourceIPAddress"], "127.0.0.1");
    assert_eq!(ok["requestParameters"]["logGroupName"], "audited");
    assert_eq!(ok["readOnly"], false);
    assert_eq!(ok["eventCategory"], "Management");
    assert_eq!(ok["userIdentity"]["type"], "Root");
    assert_eq!(ok["recipientAccountId"], "123456789012");
    assert!(ok["userAgent"].as_str().unwrap().contains("aws-sdk-rust"));
    assert!(ok.get("errorCode").is_none());
    assert_eq!(ok["eventID"].as_str().unwrap().len(), 36);

    // Data events (PutLogEvents) are not in the event history, and no payload is recorded.
    assert!(
        lookup(&server, LookupAttributeKey::EventName, "PutLogEvents")
            .await
            .is_empty()
    );
    let by_resource = lookup(&server, LookupAttributeKey::ResourceName, "audited").await;
    assert_eq!(
        by_resource.len(),
        3,
        "create x2 + create stream: {by_resource:?}"
    );
    let by_type = lookup(
        &server,
        LookupAttributeKey::ResourceType,
        "AWS::Logs::LogGroup",
    )
    .await;
    assert_eq!(by_type.len(), 3);
    assert!(
        lookup(&server, LookupAttributeKey::Username, "root")
            .await
            .len()
            >= 3
    );
    assert_eq!(
        lookup(&server, LookupAttributeKey::ReadOnly, "false")
            .await
            .len(),
        3
    );
    assert_eq!(
        lookup(
            &server,
            LookupAttributeKey::EventSource,
            "logs.amazonaws.com"
        )
        .await
        .len(),
        3
    );
    let id = ok["eventID"].as_str().unwrap();
    let by_id = lookup(&server, LookupAttributeKey::EventId, id).await;
    assert_eq!(by_id.len(), 1);
    assert_eq!(by_id[0], *ok);
}

#[tokio::test]
async fn lookup_pages_newest_first_with_inclusive_bounds() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::dev(&tmp);
    let logs = server.client();
    let start = now_ms();
    for i in 0..5 {
        logs.create_log_group()
            .log_group_name(format!("g{i}"))
            .send()
            .await
            .unwrap();
    }
    let ct = server.cloudtrail();
    let attr = LookupAttribute::builder()
        .attribute_key(LookupAttributeKey::EventName)
        .attribute_value("CreateLogGroup")
        .build()
        .unwrap();
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = ct
            .lookup_events()
            .lookup_attributes(attr.clone())
            .max_results(2)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        assert!(page.events().len() <= 2);
        for e in page.events() {
            let r: Value = serde_json::from_str(e.cloud_trail_event().unwrap()).unwrap();
            names.push(
                r["requestParameters"]["logGroupName"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
            assert_eq!(e.read_only(), Some("false"));
            assert_eq!(e.username(), Some("root"));
            assert_eq!(
                e.resources()[0].resource_name(),
                Some(names.last().unwrap().as_str())
            );
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(names, ["g4", "g3", "g2", "g1", "g0"]);
    // A window that ends before the calls holds none of them.
    let before = ct
        .lookup_events()
        .lookup_attributes(attr.clone())
        .end_time(DateTime::from_millis(start - 1000))
        .send()
        .await
        .unwrap();
    assert!(before.events().is_empty());
    let (code, _) = ct_error(
        ct.lookup_events()
            .start_time(DateTime::from_millis(start + 10_000))
            .end_time(DateTime::from_millis(start))
            .send()
            .await,
    );
    assert_eq!(code, "InvalidTimeRangeException");
    let (code, _) = ct_error(ct.lookup_events().max_results(51).send().await);
    assert_eq!(code, "InvalidMaxResultsException");
    let (code, _) = ct_error(ct.lookup_events().next_token("bogus").send().await);
    assert_eq!(code, "InvalidNextTokenException");
}

#[tokio::test]
async fn denied_and_badly_signed_calls_are_recorded_against_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), false, &[]);
    let (admin_id, secret) = server.admin_credentials();
    let bad = common::client_with(&server.endpoint, "us-east-1", &admin_id, "wrong-secret");
    assert!(bad.describe_log_groups().send().await.is_err());
    server
        .client()
        .create_log_group()
        .log_group_name("x")
        .send()
        .await
        .unwrap();
    let _ = secret;
    let records = lookup(&server, LookupAttributeKey::AccessKeyId, &admin_id).await;
    let refused = records
        .iter()
        .find(|r| r["eventName"] == "DescribeLogGroups")
        .expect("the refused call is recorded");
    assert_eq!(refused["errorCode"], "InvalidSignatureException");
    assert_eq!(refused["userIdentity"]["type"], "IAMUser");
    assert_eq!(refused["userIdentity"]["userName"], "admin");
    assert!(
        refused["userIdentity"]["principalId"]
            .as_str()
            .unwrap()
            .starts_with("AIDA")
    );
    assert!(records.iter().any(|r| r["eventName"] == "CreateLogGroup"));
    let by_user = lookup(&server, LookupAttributeKey::Username, "admin").await;
    assert!(by_user.len() >= 2);
}

#[tokio::test]
async fn a_logging_trail_delivers_files_digests_and_log_group_events() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(
        tmp.path(),
        true,
        &["--trail-delivery-secs", "1", "--digest-interval-secs", "2"],
    );
    let logs = server.client();
    logs.create_log_group()
        .log_group_name("trail-target")
        .send()
        .await
        .unwrap();
    let ct = server.cloudtrail();
    let group_arn = "arn:aws:logs:us-east-1:123456789012:log-group:trail-target:*";
    let created = ct
        .create_trail()
        .name("main")
        .s3_bucket_name("audit-bucket")
        .s3_key_prefix("pfx")
        .enable_log_file_validation(true)
        .cloud_watch_logs_log_group_arn(group_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        created.trail_arn(),
        Some("arn:aws:cloudtrail:us-east-1:123456789012:trail/main")
    );
    assert_eq!(created.log_file_validation_enabled(), Some(true));
    ct.start_logging().name("main").send().await.unwrap();
    logs.create_log_group()
        .log_group_name("after-start")
        .send()
        .await
        .unwrap();

    let bucket = tmp.path().join("buckets/audit-bucket");
    let logs_dir = bucket.join("pfx/AWSLogs/123456789012/CloudTrail/us-east-1");
    let delivered = wait_for("a log file with CreateLogGroup", async || {
        let records: Vec<Value> = files_under(&logs_dir, ".json.gz")
            .iter()
            .flat_map(|f| {
                let doc: Value = serde_json::from_slice(&gunzip(f)).unwrap();
                doc["Records"].as_array().unwrap().clone()
            })
            .collect();
        records
            .iter()
            .any(|r| r["requestParameters"]["logGroupName"] == "after-start")
            .then_some(records)
    })
    .await;
    assert!(delivered.iter().all(|r| r["eventCategory"] == "Management"));
    let name = files_under(&logs_dir, ".json.gz")[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    assert!(
        name.starts_with("123456789012_CloudTrail_us-east-1_"),
        "{name}"
    );
    assert_eq!(
        name.len(),
        "123456789012_CloudTrail_us-east-1_20260101T0000Z_".len() + 16 + 8
    );

    // The same records reach the log group, where Insights and FilterLogEvents see them.
    let in_group = wait_for("records in the log group", async || {
        let out = logs
            .filter_log_events()
            .log_group_name("trail-target")
            .filter_pattern("{ $.eventName = \"CreateLogGroup\" }")
            .send()
            .await
            .unwrap();
        (!out.events().is_empty()).then(|| out.events().to_vec())
    })
    .await;
    assert_eq!(
        in_group[0].log_stream_name(),
        Some("123456789012_CloudTrail_us-east-1")
    );
    // Insights finds the record by its discovered fields.
    let query_id = logs
        .start_query()
        .log_group_name("trail-target")
        .start_time(now_ms() / 1000 - 600)
        .end_time(now_ms() / 1000 + 60)
        .query_string(
            "filter eventName = \"CreateLogGroup\" and requestParameters.logGroupName = \"after-start\" \
             | stats count(*) as n by userIdentity.type",
        )
        .send()
        .await
        .unwrap()
        .query_id()
        .unwrap()
        .to_string();
    let rows = wait_for("the Insights query", async || {
        let r = logs
            .get_query_results()
            .query_id(&query_id)
            .send()
            .await
            .unwrap();
        (r.status().map(|s| s.as_str()) == Some("Complete")).then(|| r.results().to_vec())
    })
    .await;
    assert_eq!(rows.len(), 1);
    let cell = |name: &str| {
        rows[0]
            .iter()
            .find(|c| c.field() == Some(name))
            .and_then(|c| c.value())
            .map(str::to_string)
    };
    assert_eq!(cell("n").as_deref(), Some("1"));
    assert_eq!(cell("userIdentity.type").as_deref(), Some("Root"));

    let digest_dir = bucket.join("pfx/AWSLogs/123456789012/CloudTrail-Digest/us-east-1");
    let digests = wait_for("two digests", async || {
        let d = files_under(&digest_dir, ".json.gz");
        (d.len() >= 2).then_some(d)
    })
    .await;
    let status = ct.get_trail_status().name("main").send().await.unwrap();
    assert_eq!(status.is_logging(), Some(true));
    assert!(status.latest_delivery_time().is_some());
    assert!(status.latest_digest_delivery_time().is_some());

    // Every digest verifies with the published key, and they chain.
    let keys = ct.list_public_keys().send().await.unwrap();
    let key = &keys.public_key_list()[0];
    let public = audit::keys::public_key_from_der(key.value().unwrap().as_ref()).unwrap();
    let mut previous_signature: Option<String> = None;
    for (i, path) in digests.iter().enumerate() {
        let body = gunzip(path);
        let digest: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            digest["digestPublicKeyFingerprint"],
            key.fingerprint().unwrap()
        );
        let meta: Value = serde_json::from_slice(
            &std::fs::read(format!("{}.metadata.json", path.display())).unwrap(),
        )
        .unwrap();
        assert_eq!(meta["signature-algorithm"], "SHA256withRSA");
        let signature = meta["signature"].as_str().unwrap();
        use sha2::Digest as _;
        let to_sign = audit::layout::string_to_sign(
            digest["digestEndTime"].as_str().unwrap(),
            digest["digestS3Bucket"].as_str().unwrap(),
            digest["digestS3Object"].as_str().unwrap(),
            &hex::encode(sha2::Sha256::digest(&body)),
            digest["previousDigestSignature"].as_str(),
        );
        assert!(audit::keys::verify_hex(
            &public,
            to_sign.as_bytes(),
            signature
        ));
        if i == 0 {
            assert_eq!(digest["previousDigestSignature"], Value::Null);
        } else {
            assert_eq!(
                digest["previousDigestSignature"].as_str(),
                previous_signature.as_deref()
            );
        }
        for file in digest["logFiles"].as_array().unwrap() {
            let path = bucket.join(file["s3Object"].as_str().unwrap());
            assert_eq!(
                hex::encode(sha2::Sha256::digest(gunzip(&path))),
                file["hashValue"].as_str().unwrap()
            );
        }
        previous_signature = Some(signature.to_string());
    }

    ct.stop_logging().name("main").send().await.unwrap();
    let before = files_under(&digest_dir, ".json.gz").len();
    wait_for("the final digest", async || {
        (files_under(&digest_dir, ".json.gz").len() > before).then_some(())
    })
    .await;
    let status = ct.get_trail_status().name("main").send().await.unwrap();
    assert_eq!(status.is_logging(), Some(false));
    assert!(status.stop_logging_time().is_some());
}

#[tokio::test]
async fn trail_management_and_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::dev(&tmp);
    let ct = server.cloudtrail();
    let (code, message) = ct_error(ct.get_trail().name("nope").send().await);
    assert_eq!(code, "TrailNotFoundException");
    assert_eq!(message, "Unknown trail: nope for the user: 123456789012");
    let (code, _) = ct_error(
        ct.create_trail()
            .name("ab")
            .s3_bucket_name("bucket-1")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidTrailNameException");
    let (code, _) = ct_error(
        ct.create_trail()
            .name("good")
            .s3_bucket_name("Bad_Bucket")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidS3BucketNameException");
    let (code, _) = ct_error(
        ct.create_trail()
            .name("good")
            .s3_bucket_name("bucket-1")
            .cloud_watch_logs_log_group_arn(
                "arn:aws:logs:us-east-1:123456789012:log-group:missing:*",
            )
            .send()
            .await,
    );
    assert_eq!(code, "InvalidCloudWatchLogsLogGroupArnException");
    ct.create_trail()
        .name("good")
        .s3_bucket_name("bucket-1")
        .is_multi_region_trail(true)
        .tags_list(
            aws_sdk_cloudtrail::types::Tag::builder()
                .key("team")
                .value("sec")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let (code, _) = ct_error(
        ct.create_trail()
            .name("good")
            .s3_bucket_name("bucket-1")
            .send()
            .await,
    );
    assert_eq!(code, "TrailAlreadyExistsException");

    let described = ct.describe_trails().send().await.unwrap();
    assert_eq!(described.trail_list().len(), 1);
    let t = &described.trail_list()[0];
    assert_eq!(t.home_region(), Some("us-east-1"));
    assert_eq!(t.is_multi_region_trail(), Some(true));
    assert_eq!(t.has_custom_event_selectors(), Some(false));
    let listed = ct.list_trails().send().await.unwrap();
    assert_eq!(listed.trails()[0].name(), Some("good"));

    let updated = ct
        .update_trail()
        .name("good")
        .s3_key_prefix("p")
        .send()
        .await
        .unwrap();
    assert_eq!(updated.s3_key_prefix(), Some("p"));

    let selectors = ct
        .get_event_selectors()
        .trail_name("good")
        .send()
        .await
        .unwrap();
    assert_eq!(
        selectors.event_selectors()[0].include_management_events(),
        Some(true)
    );
    ct.put_event_selectors()
        .trail_name("good")
        .event_selectors(
            aws_sdk_cloudtrail::types::EventSelector::builder()
                .read_write_type(aws_sdk_cloudtrail::types::ReadWriteType::WriteOnly)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let selectors = ct
        .get_event_selectors()
        .trail_name("good")
        .send()
        .await
        .unwrap();
    assert_eq!(
        selectors.event_selectors()[0].read_write_type(),
        Some(&aws_sdk_cloudtrail::types::ReadWriteType::WriteOnly)
    );
    let (code, _) = ct_error(ct.get_insight_selectors().trail_name("good").send().await);
    assert_eq!(code, "InsightNotEnabledException");
    ct.put_insight_selectors()
        .trail_name("good")
        .insight_selectors(
            aws_sdk_cloudtrail::types::InsightSelector::builder()
                .insight_type(aws_sdk_cloudtrail::types::InsightType::ApiCallRateInsight)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let insights = ct
        .get_insight_selectors()
        .trail_name("good")
        .send()
        .await
        .unwrap();
    assert_eq!(insights.insight_selectors().len(), 1);

    let arn = "arn:aws:cloudtrail:us-east-1:123456789012:trail/good";
    ct.add_tags()
        .resource_id(arn)
        .tags_list(
            aws_sdk_cloudtrail::types::Tag::builder()
                .key("env")
                .value("prod")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    ct.remove_tags()
        .resource_id(arn)
        .tags_list(
            aws_sdk_cloudtrail::types::Tag::builder()
                .key("team")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let tags = ct.list_tags().resource_id_list(arn).send().await.unwrap();
    let list = tags.resource_tag_list()[0].tags_list();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].key(), "env");

    ct.delete_trail().name("good").send().await.unwrap();
    assert!(
        ct.describe_trails()
            .send()
            .await
            .unwrap()
            .trail_list()
            .is_empty()
    );
    // Trail management is itself recorded.
    let records = lookup(&server, LookupAttributeKey::ResourceName, "good").await;
    assert!(
        records
            .iter()
            .any(|r| r["eventName"] == "DeleteTrail"
                && r["eventSource"] == "cloudtrail.amazonaws.com")
    );
}

async fn lake_rows(ct: &aws_sdk_cloudtrail::Client, statement: &str) -> Vec<Vec<(String, String)>> {
    let id = ct
        .start_query()
        .query_statement(statement)
        .send()
        .await
        .unwrap()
        .query_id()
        .unwrap()
        .to_string();
    let results = wait_for("the Lake query", async || {
        let r = ct.get_query_results().query_id(&id).send().await.unwrap();
        match r.query_status().map(|s| s.as_str()) {
            Some("QUEUED" | "RUNNING") => None,
            Some("FINISHED") => Some(r),
            other => panic!("query ended {other:?}: {:?}", r.error_message()),
        }
    })
    .await;
    results
        .query_result_rows()
        .iter()
        .map(|row| {
            row.iter()
                .flat_map(|cell| cell.iter().map(|(k, v)| (k.clone(), v.clone())))
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn event_data_stores_answer_lake_sql() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::dev(&tmp);
    let ct = server.cloudtrail();
    let created = ct
        .create_event_data_store()
        .name("cloudtrail_logs")
        .retention_period(90)
        .send()
        .await
        .unwrap();
    let arn = created.event_data_store_arn().unwrap().to_string();
    let id = arn.rsplit('/').next().unwrap().to_string();
    assert_eq!(created.status().map(|s| s.as_str()), Some("ENABLED"));
    assert_eq!(created.retention_period(), Some(90));
    assert_eq!(created.termination_protection_enabled(), Some(true));
    let (code, _) = ct_error(
        ct.create_event_data_store()
            .name("cloudtrail_logs")
            .send()
            .await,
    );
    assert_eq!(code, "EventDataStoreAlreadyExistsException");

    let logs = server.client();
    logs.create_log_group()
        .log_group_name("lake-a")
        .send()
        .await
        .unwrap();
    assert!(
        logs.delete_log_group()
            .log_group_name("lake-missing")
            .send()
            .await
            .is_err()
    );

    let rows = lake_rows(
        &ct,
        &format!(
            "SELECT eventName, eventSource, eventTime, userIdentity.userName FROM {id} WHERE eventName = 'CreateLogGroup' LIMIT 100"
        ),
    )
    .await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        rows[0][0],
        ("eventName".to_string(), "CreateLogGroup".to_string())
    );
    assert_eq!(
        rows[0][1],
        ("eventSource".to_string(), "logs.amazonaws.com".to_string())
    );
    assert_eq!(rows[0][2].0, "eventTime");
    assert_eq!(rows[0][2].1.len(), "2026-11-27 10:00:00.000".len());

    let rows = lake_rows(
        &ct,
        "SELECT eventName, eventSource, userIdentity.userName, errorCode FROM cloudtrail_logs WHERE errorCode IS NOT NULL LIMIT 100;",
    )
    .await;
    let mut failures: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r[0].1.as_str(), r.last().unwrap().1.as_str()))
        .collect();
    failures.sort();
    assert_eq!(
        failures,
        [
            (
                "CreateEventDataStore",
                "EventDataStoreAlreadyExistsException"
            ),
            ("DeleteLogGroup", "ResourceNotFoundException")
        ]
    );

    let counted = lake_rows(
        &ct,
        &format!("SELECT eventSource, COUNT(*) AS apiCount FROM {id} GROUP BY eventSource ORDER BY apiCount DESC"),
    )
    .await;
    assert!(
        counted
            .iter()
            .any(|r| r[0].1 == "logs.amazonaws.com" && r[1].1 == "2"),
        "{counted:?}"
    );

    let (code, _) = ct_error(
        ct.start_query()
            .query_statement(format!("DROP TABLE {id}"))
            .send()
            .await,
    );
    assert_eq!(code, "InvalidQueryStatementException");
    let (code, _) = ct_error(
        ct.start_query()
            .query_statement("SELECT * FROM nothere")
            .send()
            .await,
    );
    assert_eq!(code, "EventDataStoreNotFoundException");

    let listed = ct.list_event_data_stores().send().await.unwrap();
    assert_eq!(listed.event_data_stores().len(), 1);
    let got = ct
        .get_event_data_store()
        .event_data_store(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(got.name(), Some("cloudtrail_logs"));
    let (code, _) = ct_error(
        ct.delete_event_data_store()
            .event_data_store(&arn)
            .send()
            .await,
    );
    assert_eq!(code, "EventDataStoreTerminationProtectedException");
    ct.update_event_data_store()
        .event_data_store(&arn)
        .termination_protection_enabled(false)
        .send()
        .await
        .unwrap();
    ct.delete_event_data_store()
        .event_data_store(&arn)
        .send()
        .await
        .unwrap();
    let (code, _) = ct_error(
        ct.get_event_data_store()
            .event_data_store(&arn)
            .send()
            .await,
    );
    assert_eq!(code, "EventDataStoreNotFoundException");
}

/// The real CloudTrail files shipped with the reference data, when present.
fn shared_cloudtrail() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/cloudtrail/AWSLogs");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipping: no {} (the shared reference data)", dir.display());
        None
    }
}

fn import_cli(server: &Server, tree: &Path, eds: &str) -> Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .args(["import", "cloudtrail"])
        .arg(tree)
        .args(["--event-data-store", eds, "--endpoint", &server.endpoint])
        .args(["--region", "us-east-1", "--output", "json"])
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn exported_cloudtrail_files_import_into_a_store_once() {
    let Some(tree) = shared_cloudtrail() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::dev(&tmp);
    let ct = server.cloudtrail();
    let created = ct
        .create_event_data_store()
        .name("imported")
        .send()
        .await
        .unwrap();
    let arn = created.event_data_store_arn().unwrap().to_string();
    let first = import_cli(&server, &tree, "imported");
    let added = first["added"].as_u64().unwrap();
    assert!(added > 1000, "{first}");
    assert_eq!(first["malformed"].as_array().map(Vec::len), Some(0));
    // Idempotent on eventID: a second run adds nothing.
    let again = import_cli(&server, &tree, &arn);
    assert_eq!(again["added"], 0, "{again}");
    assert_eq!(
        again["duplicates"].as_u64(),
        Some(first["records"].as_u64().unwrap() - first["invalid"].as_u64().unwrap())
    );

    let id = arn.rsplit('/').next().unwrap();
    // Every imported record is there once (the store also holds this account's own calls
    // since its creation, recipientAccountId 123456789012).
    let imported = lake_rows(
        &ct,
        &format!("SELECT COUNT(*) AS n, COUNT(DISTINCT eventID) AS ids FROM {id} WHERE recipientAccountId = '123837392027'"),
    )
    .await;
    assert_eq!(imported[0][0].1, added.to_string());
    assert_eq!(imported[0][1].1, added.to_string());
    let errors = lake_rows(
        &ct,
        "SELECT eventName, eventSource, userIdentity.userName, errorCode FROM imported WHERE errorCode IS NOT NULL LIMIT 100;",
    )
    .await;
    assert!(!errors.is_empty());
    assert!(
        errors
            .iter()
            .all(|r| r.iter().any(|(k, v)| k == "errorCode" && !v.is_empty()))
    );
}
