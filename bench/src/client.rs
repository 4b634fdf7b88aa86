//! A minimal CloudWatch Logs client: SigV4-signed AWS JSON 1.1 calls over HTTP.

use anyhow::{Context, bail};
use auth::Credentials;
use auth::sigv4::{RequestToSign, sign};
use bytes::Bytes;

/// The region every call is signed for.
pub const REGION: &str = "us-east-1";
const SERVICE: &str = "logs";

/// A body ready to send, with its SHA-256 computed ahead of time.
#[derive(Clone)]
pub struct Body {
    /// The JSON.
    pub bytes: Bytes,
    /// Lowercase hex SHA-256 of `bytes`, sent as `X-Amz-Content-Sha256`.
    pub sha256: String,
}

impl Body {
    /// Wraps a JSON body and hashes it.
    pub fn new(bytes: Vec<u8>) -> Body {
        use sha2::Digest;
        let sha256 = hex::encode(sha2::Sha256::digest(&bytes));
        Body {
            bytes: Bytes::from(bytes),
            sha256,
        }
    }
}

/// Calls one server with one key.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    host: String,
    url: String,
    creds: Credentials,
}

impl Client {
    /// A client of `http://addr/`.
    pub fn new(addr: &str, creds: Credentials) -> anyhow::Result<Client> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(1024)
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Client {
            http,
            host: addr.to_string(),
            url: format!("http://{addr}/"),
            creds,
        })
    }

    /// Calls `Logs_20140328.<op>`; returns the response JSON, or an error carrying the
    /// status and body when the call did not succeed.
    pub async fn call(&self, op: &str, body: &Body) -> anyhow::Result<serde_json::Value> {
        self.call_service(SERVICE, &format!("Logs_20140328.{op}"), body)
            .await
    }

    /// Calls one of Trailwatch's own operations (`Trailwatch_20261127.<op>`).
    pub async fn extension(&self, op: &str, body: &Body) -> anyhow::Result<serde_json::Value> {
        self.call_service(SERVICE, &format!("Trailwatch_20261127.{op}"), body)
            .await
    }

    /// Calls a CloudTrail operation with a small JSON body.
    pub async fn cloudtrail(
        &self,
        op: &str,
        body: &serde_json::Value,
    ) -> anyhow::Result<serde_json::Value> {
        let target = format!("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.{op}");
        let body = Body::new(body.to_string().into_bytes());
        self.call_service("cloudtrail", &target, &body).await
    }

    /// Calls the operation `target` (an `X-Amz-Target`) of `service`.
    async fn call_service(
        &self,
        service: &str,
        target: &str,
        body: &Body,
    ) -> anyhow::Result<serde_json::Value> {
        let op = target.rsplit('.').next().unwrap_or(target);
        let target = target.to_string();
        let mut req = RequestToSign {
            method: "POST",
            host: &self.host,
            path: "/",
            query: "",
            headers: vec![
                (
                    "Content-Type".to_string(),
                    "application/x-amz-json-1.1".to_string(),
                ),
                ("X-Amz-Target".to_string(), target),
                ("X-Amz-Content-Sha256".to_string(), body.sha256.clone()),
            ],
            body: &body.bytes,
        };
        sign(&mut req, &self.creds, REGION, service, chrono::Utc::now());
        let mut builder = self.http.post(&self.url);
        for (name, value) in &req.headers {
            // reqwest derives Host from the URL; it is the same value.
            if !name.eq_ignore_ascii_case("host") {
                builder = builder.header(name.as_str(), value.as_str());
            }
        }
        let response = builder
            .body(body.bytes.clone())
            .send()
            .await
            .with_context(|| format!("{op}: request failed"))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .with_context(|| format!("{op}: cannot read the response"))?;
        if !status.is_success() {
            bail!("{op}: HTTP {status}: {}", String::from_utf8_lossy(&bytes));
        }
        serde_json::from_slice(&bytes).with_context(|| format!("{op}: response is not JSON"))
    }

    /// Calls `op` with a small JSON body, hashed on the spot.
    pub async fn call_json(
        &self,
        op: &str,
        body: &serde_json::Value,
    ) -> anyhow::Result<serde_json::Value> {
        self.call(op, &Body::new(body.to_string().into_bytes()))
            .await
    }
}
