//! `trailwatch serve --tls-cert --tls-key`: the official SDK calls over HTTPS, trusting a
//! certificate made for the test, and each call's record carries `tlsDetails`; calls
//! over plain HTTP carry none, and a client that does not trust the certificate fails.

mod common;

use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use aws_sdk_cloudwatchlogs::config::SharedHttpClient;
use aws_sdk_cloudwatchlogs::config::{Credentials, Region};
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use common::Server;
use serde_json::Value;

/// An HTTPS client that trusts only `ca_pem`.
fn https_trusting(ca_pem: &str) -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .tls_context(
            TlsContext::builder()
                .with_trust_store(TrustStore::empty().with_pem_certificate(ca_pem.as_bytes()))
                .build()
                .unwrap(),
        )
        .build_https()
}

fn logs_client(endpoint: &str, http: Option<SharedHttpClient>) -> aws_sdk_cloudwatchlogs::Client {
    let mut config = aws_sdk_cloudwatchlogs::Config::builder()
        .behavior_version_latest()
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            None,
            None,
            "test",
        ))
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled());
    if let Some(http) = http {
        config = config.http_client(http);
    }
    aws_sdk_cloudwatchlogs::Client::from_conf(config.build())
}

async fn created_records(ct: &aws_sdk_cloudtrail::Client) -> Vec<Value> {
    ct.lookup_events()
        .lookup_attributes(
            LookupAttribute::builder()
                .attribute_key(LookupAttributeKey::EventName)
                .attribute_value("CreateLogGroup")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .events()
        .iter()
        .map(|e| serde_json::from_str(e.cloud_trail_event().unwrap()).unwrap())
        .collect()
}

#[tokio::test]
async fn calls_over_https_are_recorded_with_tls_details() {
    let certs = tempfile::tempdir().unwrap();
    let generated =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    let cert_pem = generated.cert.pem();
    let (cert_path, key_path) = (certs.path().join("cert.pem"), certs.path().join("key.pem"));
    std::fs::write(&cert_path, &cert_pem).unwrap();
    std::fs::write(&key_path, generated.key_pair.serialize_pem()).unwrap();

    let data = tempfile::tempdir().unwrap();
    let server = Server::start(
        data.path(),
        true,
        &[
            "--tls-cert",
            cert_path.to_str().unwrap(),
            "--tls-key",
            key_path.to_str().unwrap(),
        ],
    );
    let port = server
        .endpoint
        .strip_prefix("https://127.0.0.1:")
        .expect("the server says it serves HTTPS");
    let endpoint = format!("https://localhost:{port}");
    let logs = logs_client(&endpoint, Some(https_trusting(&cert_pem)));
    logs.create_log_group()
        .log_group_name("over-tls")
        .send()
        .await
        .unwrap();

    // A client with the system's roots does not trust the certificate.
    let untrusting = logs_client(&endpoint, None);
    assert!(
        untrusting
            .create_log_group()
            .log_group_name("never")
            .send()
            .await
            .is_err()
    );
    // Plain HTTP on the HTTPS port gets no answer.
    let plain = logs_client(&format!("http://localhost:{port}"), None);
    assert!(plain.describe_log_groups().send().await.is_err());

    let ct_config = aws_sdk_cloudtrail::Config::builder()
        .behavior_version_latest()
        .endpoint_url(&endpoint)
        .region(aws_sdk_cloudtrail::config::Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            None,
            None,
            "test",
        ))
        .http_client(https_trusting(&cert_pem))
        .build();
    let ct = aws_sdk_cloudtrail::Client::from_conf(ct_config);
    let records = created_records(&ct).await;
    assert_eq!(records.len(), 1, "{records:?}");
    let tls = &records[0]["tlsDetails"];
    assert_eq!(tls["tlsVersion"], "TLSv1.3", "{tls}");
    let suite = tls["cipherSuite"].as_str().unwrap();
    assert!(
        [
            "TLS_AES_128_GCM_SHA256",
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256"
        ]
        .contains(&suite),
        "{tls}"
    );
    assert_eq!(tls["clientProvidedHostHeader"], format!("localhost:{port}"));
    assert_eq!(records[0]["sourceIPAddress"], "127.0.0.1");

    // Over plain HTTP, no tlsDetails at all.
    let plain_dir = tempfile::tempdir().unwrap();
    let plain_server = Server::dev(&plain_dir);
    plain_server
        .client()
        .create_log_group()
        .log_group_name("over-http")
        .send()
        .await
        .unwrap();
    let records = created_records(&plain_server.cloudtrail()).await;
    assert_eq!(records.len(), 1);
    assert!(records[0].get("tlsDetails").is_none(), "{}", records[0]);
}
