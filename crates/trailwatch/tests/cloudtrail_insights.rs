//! CloudTrail Insights against a real server with second-long intervals: a steady call
//! rate, then bursts of calls and of errors, each found as a Start/End pair by
//! LookupEvents (`EventCategory: insight`) and delivered under `CloudTrail-Insight/` to the
//! bucket of the trail that enables Insights — and only to that trail's.

mod common;

use aws_sdk_cloudtrail::types::{EventCategory, InsightSelector, InsightType};
use common::{Server, files_under, gunzip, wait_for};
use futures::future::join_all;
use serde_json::Value;
use std::time::{Duration, Instant};

async fn insight_events(ct: &aws_sdk_cloudtrail::Client) -> Vec<Value> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = ct
            .lookup_events()
            .event_category(EventCategory::Insight)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        out.extend(
            page.events()
                .iter()
                .map(|e| serde_json::from_str::<Value>(e.cloud_trail_event().unwrap()).unwrap()),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return out;
        }
    }
}

fn pair<'a>(events: &'a [Value], kind: &str, name: &str) -> Option<(&'a Value, &'a Value)> {
    let of = |state: &str| {
        events.iter().find(|e| {
            let d = &e["insightDetails"];
            d["insightType"] == kind && d["eventName"] == name && d["state"] == state
        })
    };
    Some((of("Start")?, of("End")?))
}

#[tokio::test]
async fn bursts_of_calls_and_errors_become_insights() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(
        tmp.path(),
        true,
        &[
            "--trail-delivery-secs",
            "1",
            "--insights-interval-secs",
            "1",
            "--insights-baseline-secs",
            "6",
        ],
    );
    let logs = server.client();
    let ct = server.cloudtrail();
    for (trail, bucket) in [("plain", "plain-bucket"), ("watch", "watch-bucket")] {
        ct.create_trail()
            .name(trail)
            .s3_bucket_name(bucket)
            .send()
            .await
            .unwrap();
        ct.start_logging().name(trail).send().await.unwrap();
    }
    ct.put_insight_selectors()
        .trail_name("watch")
        .insight_selectors(
            InsightSelector::builder()
                .insight_type(InsightType::ApiCallRateInsight)
                .build(),
        )
        .insight_selectors(
            InsightSelector::builder()
                .insight_type(InsightType::ApiErrorRateInsight)
                .build(),
        )
        .send()
        .await
        .unwrap();

    // A steady four calls a second, for longer than the baseline window.
    let mut n = 0;
    let steady_until = Instant::now() + Duration::from_secs(9);
    while Instant::now() < steady_until {
        logs.create_log_group()
            .log_group_name(format!("steady-{n}"))
            .send()
            .await
            .unwrap();
        n += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        insight_events(&ct).await.is_empty(),
        "a steady rate is usual"
    );

    // Bursts: 100 creates, 100 deletes, 60 failing reads (enough to stand out even when a
    // slow machine spreads them over a few intervals).
    join_all((0..100).map(|i| {
        logs.create_log_group()
            .log_group_name(format!("burst-{i}"))
            .send()
    }))
    .await
    .into_iter()
    .for_each(|r| {
        r.unwrap();
    });
    join_all((0..100).map(|i| {
        logs.delete_log_group()
            .log_group_name(format!("burst-{i}"))
            .send()
    }))
    .await
    .into_iter()
    .for_each(|r| {
        r.unwrap();
    });
    let failed =
        join_all((0..60).map(|_| logs.describe_log_streams().log_group_name("missing").send()))
            .await;
    assert!(failed.iter().all(|r| r.is_err()));

    let events = wait_for("Start and End of the three Insights", async || {
        let events = insight_events(&ct).await;
        let all = [
            ("ApiCallRateInsight", "CreateLogGroup"),
            ("ApiCallRateInsight", "DeleteLogGroup"),
            ("ApiErrorRateInsight", "DescribeLogStreams"),
        ]
        .iter()
        .all(|(kind, name)| pair(&events, kind, name).is_some());
        all.then_some(events)
    })
    .await;

    let (start, end) = pair(&events, "ApiCallRateInsight", "CreateLogGroup").unwrap();
    for e in [start, end] {
        assert_eq!(e["eventVersion"], "1.11");
        assert_eq!(e["eventType"], "AwsCloudTrailInsight");
        assert_eq!(e["eventCategory"], "Insight");
        assert_eq!(e["awsRegion"], "us-east-1");
        assert_eq!(e["recipientAccountId"], "123456789012");
        assert_eq!(e["insightDetails"]["eventSource"], "logs.amazonaws.com");
        assert!(e.get("userIdentity").is_none() && e.get("eventName").is_none());
        assert_eq!(e["eventID"].as_str().unwrap().len(), 36);
    }
    assert_eq!(start["sharedEventID"], end["sharedEventID"]);
    assert_ne!(start["eventID"], end["eventID"]);
    assert!(start["eventTime"].as_str() < end["eventTime"].as_str());
    let stats = &start["insightDetails"]["insightContext"]["statistics"];
    // About four calls a second of baseline, as calls per minute; the burst far above.
    let baseline = stats["baseline"]["average"].as_f64().unwrap();
    assert!(baseline > 60.0, "{stats}");
    assert!(
        stats["insight"]["average"].as_f64().unwrap() > 2.0 * baseline,
        "{stats}"
    );
    assert_eq!(stats["baselineDuration"], 1);
    let end_stats = &end["insightDetails"]["insightContext"]["statistics"];
    assert!(
        end_stats["insightDuration"].as_i64().unwrap() >= 1,
        "{end_stats}"
    );
    let attributions = start["insightDetails"]["insightContext"]["attributions"]
        .as_array()
        .unwrap();
    let names: Vec<&str> = attributions
        .iter()
        .map(|a| a["attribute"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["userIdentityArn", "userAgent", "errorCode"]);
    assert_eq!(
        attributions[0]["insight"][0]["value"],
        "arn:aws:iam::123456789012:root"
    );
    assert_eq!(attributions[2]["insight"][0]["value"], "null");

    let (errors, _) = pair(&events, "ApiErrorRateInsight", "DescribeLogStreams").unwrap();
    let error_codes = &errors["insightDetails"]["insightContext"]["attributions"][2];
    assert_eq!(error_codes["attribute"], "errorCode");
    assert_eq!(
        error_codes["insight"][0]["value"],
        "ResourceNotFoundException"
    );
    assert_eq!(
        errors["insightDetails"]["insightContext"]["statistics"]["baseline"]["average"],
        0.0
    );
    // Reads are not calls a call-rate Insight counts; steady creates are not unusual.
    assert!(pair(&events, "ApiCallRateInsight", "DescribeLogStreams").is_none());

    // Insights are not management events: a plain lookup does not return them.
    let plain = ct.lookup_events().send().await.unwrap();
    assert!(plain.events().iter().all(|e| {
        !e.cloud_trail_event()
            .unwrap()
            .contains("AwsCloudTrailInsight")
    }));

    // Delivered to the Insights trail's bucket under AWS's key layout, to no other.
    let insight_dir = |bucket: &str| {
        tmp.path()
            .join("buckets")
            .join(bucket)
            .join("AWSLogs/123456789012/CloudTrail-Insight/us-east-1")
    };
    let delivered = wait_for("the Insights events in the bucket", async || {
        let files = files_under(&insight_dir("watch-bucket"), ".json.gz");
        let records: Vec<Value> = files
            .iter()
            .flat_map(|f| {
                let doc: Value = serde_json::from_slice(&gunzip(f)).unwrap();
                doc["Records"].as_array().unwrap().clone()
            })
            .collect();
        let ids: Vec<&Value> = records.iter().map(|r| &r["eventID"]).collect();
        events
            .iter()
            .all(|e| ids.contains(&&e["eventID"]))
            .then_some(files)
    })
    .await;
    let name_re = |path: &std::path::Path| {
        let rel = path
            .strip_prefix(tmp.path().join("buckets/watch-bucket"))
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let parts: Vec<&str> = rel.split('/').collect();
        assert_eq!(parts.len(), 8, "{rel}");
        let (y, m, d) = (parts[4], parts[5], parts[6]);
        let file = parts[7];
        let prefix = format!("123456789012_CloudTrail-Insight_us-east-1_{y}{m}{d}T");
        assert!(file.starts_with(&prefix), "{rel}");
        let stem = file.strip_suffix(".json.gz").unwrap();
        let (stamp, unique) = stem[prefix.len() - 9..].split_once('Z').unwrap();
        assert_eq!(stamp.len(), 13, "{rel}");
        assert_eq!(unique.len(), 17, "_ and 16 characters: {rel}");
    };
    delivered.iter().for_each(|p| name_re(p));
    assert!(
        !tmp.path()
            .join("buckets/watch-bucket/AWSLogs/123456789012/CloudTrail-Digest")
            .exists()
    );
    assert!(files_under(&insight_dir("plain-bucket"), ".json.gz").is_empty());
    // The plain trail still got its management events.
    assert!(
        !files_under(
            &tmp.path()
                .join("buckets/plain-bucket/AWSLogs/123456789012/CloudTrail"),
            ".json.gz"
        )
        .is_empty()
    );
}
