//! SigV4, IAM policies and the JSON 1.1 envelope, against the real server.

mod common;

use common::{Server, client_with, error_of, iam};
use std::time::{Duration, SystemTime};

#[derive(Debug)]
struct ShiftedClock(Duration, bool);

impl aws_smithy_async::time::TimeSource for ShiftedClock {
    fn now(&self) -> SystemTime {
        if self.1 {
            SystemTime::now() + self.0
        } else {
            SystemTime::now() - self.0
        }
    }
}

fn skewed_client(server: &Server, shift: Duration, ahead: bool) -> aws_sdk_cloudwatchlogs::Client {
    let (id, secret) = server.admin_credentials();
    let config = aws_sdk_cloudwatchlogs::Config::builder()
        .behavior_version_latest()
        .endpoint_url(&server.endpoint)
        .region(aws_sdk_cloudwatchlogs::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_cloudwatchlogs::config::Credentials::new(
            id, secret, None, None, "t",
        ))
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
        .time_source(ShiftedClock(shift, ahead))
        .build();
    aws_sdk_cloudwatchlogs::Client::from_conf(config)
}

#[tokio::test]
async fn signatures_are_verified() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), false, &[]);
    let admin = server.client();
    admin
        .create_log_group()
        .log_group_name("g")
        .send()
        .await
        .unwrap();

    let stranger = client_with(
        &server.endpoint,
        "us-east-1",
        "AKIAUNKNOWNKEY000000",
        "whatever",
    );
    let (code, msg) = error_of(stranger.describe_log_groups().send().await);
    assert_eq!(code, "UnrecognizedClientException");
    assert_eq!(
        msg,
        "The security token included in the request is invalid."
    );

    let (id, _) = server.admin_credentials();
    let forger = client_with(&server.endpoint, "us-east-1", &id, "not-the-secret");
    let (code, msg) = error_of(forger.describe_log_groups().send().await);
    assert_eq!(code, "InvalidSignatureException");
    assert!(
        msg.starts_with(
            "The request signature we calculated does not match the signature you provided."
        ),
        "{msg}"
    );

    let late = skewed_client(&server, Duration::from_secs(600), false);
    let (code, msg) = error_of(late.describe_log_groups().send().await);
    assert_eq!(code, "InvalidSignatureException");
    assert!(
        msg.starts_with("Signature expired: ") && msg.ends_with(" - 5 min.)"),
        "{msg}"
    );
    let early = skewed_client(&server, Duration::from_secs(600), true);
    let (code, msg) = error_of(early.describe_log_groups().send().await);
    assert_eq!(code, "InvalidSignatureException");
    assert!(
        msg.starts_with("Signature not yet current: ") && msg.ends_with(" + 5 min.)"),
        "{msg}"
    );
    // Within the allowed skew it works.
    let slightly = skewed_client(&server, Duration::from_secs(120), false);
    slightly.describe_log_groups().send().await.unwrap();

    let unsigned = reqwest::Client::new()
        .post(&server.endpoint)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", "Logs_20140328.DescribeLogGroups")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 400);
    let body: serde_json::Value = serde_json::from_str(&unsigned.text().await.unwrap()).unwrap();
    assert_eq!(body["__type"], "MissingAuthenticationTokenException");
    assert_eq!(body["message"], "Request is missing Authentication Token");
}

#[tokio::test]
async fn iam_policies_decide_what_a_user_may_do() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), false, &[]);
    server
        .client()
        .create_log_group()
        .log_group_name("shared")
        .send()
        .await
        .unwrap();

    let user: serde_json::Value =
        serde_json::from_str(&iam(&server, &["create-user", "reader"])).unwrap();
    assert!(user["Arn"].as_str().unwrap().ends_with(":user/reader"));
    let key: serde_json::Value = serde_json::from_str(&iam(
        &server,
        &["create-access-key", "--user-name", "reader"],
    ))
    .unwrap();
    let id = key["AccessKeyId"].as_str().unwrap();
    let secret = key["SecretAccessKey"].as_str().unwrap();
    assert!(id.starts_with("AKIA") && id.len() == 20);
    let reader = client_with(&server.endpoint, "us-east-1", id, secret);

    // No policy yet: everything is denied.
    let (code, msg) = error_of(reader.describe_log_groups().send().await);
    assert_eq!(code, "AccessDeniedException");
    assert!(
        msg.contains(":user/reader is not authorized to perform: logs:DescribeLogGroups"),
        "{msg}"
    );

    iam(
        &server,
        &[
            "put-user-policy",
            "--user-name",
            "reader",
            "--policy-name",
            "read",
            "--policy-document",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:Describe*","logs:FilterLogEvents"],"Resource":"*"}]}"#,
        ],
    );
    let groups = reader.describe_log_groups().send().await.unwrap();
    assert_eq!(groups.log_groups().len(), 1);
    let (code, msg) = error_of(
        reader
            .create_log_group()
            .log_group_name("mine")
            .send()
            .await,
    );
    assert_eq!(code, "AccessDeniedException");
    assert!(
        msg.contains(
            "is not authorized to perform: logs:CreateLogGroup on resource: arn:aws:logs:us-east-1:"
        ),
        "{msg}"
    );
    let users = iam(&server, &["list-users"]);
    assert!(
        users.contains("reader") && users.contains("admin"),
        "{users}"
    );
}

#[tokio::test]
async fn the_json_envelope_errors_like_aws() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::dev(&tmp);
    let http = reqwest::Client::new();
    let call = |target: &str, body: Vec<u8>| {
        http.post(&server.endpoint)
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", target)
            .body(body)
            .send()
    };
    let response = call("Logs_20140328.DescribeLogGroups", b"{".to_vec())
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.headers().contains_key("x-amzn-requestid"));
    assert_eq!(
        response.headers()["content-type"],
        "application/x-amz-json-1.1"
    );
    let body: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(body["__type"], "SerializationException");

    let response = call(
        "Logs_20140328.CreateLogGroup",
        b"{\"logGroupName\": \"\xff\xfe\"}".to_vec(),
    )
    .await
    .unwrap();
    let body: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(body["__type"], "SerializationException", "invalid UTF-8");

    let response = call("Logs_20140328.NoSuchThing", b"{}".to_vec())
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(body["__type"], "UnknownOperationException");

    let response = call("Logs_20140328.CreateLogGroup", b"{}".to_vec())
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(body["__type"], "InvalidParameterException");
    assert_eq!(
        body["message"],
        "1 validation error detected: Value null at 'logGroupName' failed to satisfy constraint: Member must not be null"
    );

    let huge = vec![b' '; 9 << 20];
    let response = call("Logs_20140328.PutLogEvents", huge).await.unwrap();
    assert_eq!(response.status(), 413);

    // The server is still healthy after all of that (on a new connection: the refused
    // upload's connection is closed without reading the rest of its body).
    let http = reqwest::Client::new();
    let health = http
        .get(format!("{}/_trailwatch/health", server.endpoint))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    // --dev can wipe everything.
    let c = server.client();
    c.create_log_group()
        .log_group_name("g")
        .send()
        .await
        .unwrap();
    let reset = http
        .post(format!("{}/_trailwatch/reset", server.endpoint))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    assert!(
        c.describe_log_groups()
            .send()
            .await
            .unwrap()
            .log_groups()
            .is_empty()
    );
}
