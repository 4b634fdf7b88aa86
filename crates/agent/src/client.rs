//! SigV4-signed calls to a CloudWatch Logs endpoint (Trailwatch or AWS), in AWS's JSON 1.1
//! protocol; the binary's client commands use the same signing path.

use auth::credentials::Credentials;
use auth::sigv4::{RequestToSign, sign};
use serde_json::Value;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The request never got an answer (connection refused, reset, timed out).
    #[error("cannot reach {endpoint}: {source}")]
    Network {
        /// The endpoint called.
        endpoint: String,
        /// What the HTTP client saw.
        source: reqwest::Error,
    },
    /// The service answered with an error.
    #[error("{code}: {message}")]
    Service {
        /// HTTP status.
        status: u16,
        /// AWS error code (`__type` without a namespace).
        code: String,
        /// AWS error message.
        message: String,
    },
    /// The endpoint URL cannot be called.
    #[error("invalid endpoint {0}")]
    Endpoint(String),
}

impl CallError {
    /// The AWS error code, when the service answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            CallError::Service { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether trying again later can succeed: network errors, throttling and server
    /// faults. Everything else needs a change before it can work.
    pub fn is_transient(&self) -> bool {
        match self {
            CallError::Network { .. } => true,
            CallError::Service { status, code, .. } => {
                *status >= 500
                    || *status == 429
                    || matches!(
                        code.as_str(),
                        "ThrottlingException" | "ServiceUnavailableException" | "RequestTimeout"
                    )
            }
            CallError::Endpoint(_) => false,
        }
    }
}

/// A signed-request client for one endpoint, region and set of credentials.
#[derive(Clone)]
pub struct SignedClient {
    http: reqwest::Client,
    endpoint: reqwest::Url,
    creds: Credentials,
    region: String,
}

impl SignedClient {
    /// A client for `endpoint` (e.g. `http://127.0.0.1:4587`).
    pub fn new(
        endpoint: &str,
        region: &str,
        creds: Credentials,
    ) -> Result<SignedClient, CallError> {
        let endpoint =
            reqwest::Url::parse(endpoint).map_err(|_| CallError::Endpoint(endpoint.to_string()))?;
        if endpoint.host_str().is_none() {
            return Err(CallError::Endpoint(endpoint.to_string()));
        }
        Ok(SignedClient {
            http: reqwest::Client::new(),
            endpoint,
            creds,
            region: region.to_string(),
        })
    }

    /// Signs and sends `POST /` with `body` for `service`. `host_prefix` is an
    /// operation's endpoint prefix (StartLiveTail's `stream-`), applied only to AWS's own
    /// host names, since a custom endpoint's `stream-<host>` rarely resolves.
    pub async fn send(
        &self,
        service: &str,
        mut headers: Vec<(String, String)>,
        body: Vec<u8>,
        host_prefix: &str,
    ) -> Result<reqwest::Response, CallError> {
        let mut url = self.endpoint.clone();
        let base = url.host_str().unwrap_or_default().to_string();
        if !host_prefix.is_empty() && base.ends_with(".amazonaws.com") {
            url.set_host(Some(&format!("{host_prefix}{base}")))
                .map_err(|_| CallError::Endpoint(url.to_string()))?;
        }
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => return Err(CallError::Endpoint(url.to_string())),
        };
        headers.push(("Content-Length".into(), body.len().to_string()));
        let mut request = RequestToSign {
            method: "POST",
            host: &host,
            path: "/",
            query: "",
            headers,
            body: &body,
        };
        sign(
            &mut request,
            &self.creds,
            &self.region,
            service,
            chrono::Utc::now(),
        );
        let mut builder = self.http.post(url.clone());
        for (k, v) in &request.headers {
            if !k.eq_ignore_ascii_case("host") && !k.eq_ignore_ascii_case("content-length") {
                builder = builder.header(k, v);
            }
        }
        builder
            .body(body)
            .send()
            .await
            .map_err(|source| CallError::Network {
                endpoint: self.endpoint.to_string(),
                source,
            })
    }

    /// Calls a CloudWatch Logs operation (`op` like `PutLogEvents`); returns its output.
    pub async fn logs(&self, op: &str, input: &Value) -> Result<Value, CallError> {
        self.logs_body(op, input.to_string().into_bytes()).await
    }

    /// Like [`SignedClient::logs`], with the input already serialized.
    pub async fn logs_body(&self, op: &str, body: Vec<u8>) -> Result<Value, CallError> {
        self.call("logs", &format!("Logs_20140328.{op}"), body)
            .await
    }

    /// Calls a JSON 1.1 operation (`target` like `Logs_20140328.StartQuery`) of `service`.
    pub async fn json(
        &self,
        service: &str,
        target: &str,
        input: &Value,
    ) -> Result<Value, CallError> {
        self.call(service, target, input.to_string().into_bytes())
            .await
    }

    async fn call(&self, service: &str, target: &str, body: Vec<u8>) -> Result<Value, CallError> {
        let response = self.send(service, json_headers(target), body, "").await?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|source| CallError::Network {
            endpoint: self.endpoint.to_string(),
            source,
        })?;
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status >= 300 {
            return Err(service_error(status, &body));
        }
        Ok(body)
    }
}

/// The headers of a JSON 1.1 request.
pub fn json_headers(target: &str) -> Vec<(String, String)> {
    vec![
        ("Content-Type".into(), "application/x-amz-json-1.1".into()),
        ("X-Amz-Target".into(), target.into()),
    ]
}

/// The error in a JSON 1.1 error body (`__type` may carry a `namespace#` prefix).
pub fn service_error(status: u16, body: &Value) -> CallError {
    let code = body["__type"].as_str().unwrap_or("UnknownError");
    let code = code.rsplit('#').next().unwrap_or(code).to_string();
    let message = body["message"]
        .as_str()
        .or_else(|| body["Message"].as_str())
        .unwrap_or("")
        .to_string();
    CallError::Service {
        status,
        code,
        message,
    }
}
