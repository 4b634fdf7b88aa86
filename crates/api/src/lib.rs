//! Trailwatch's HTTP front.
//!
//! Where a request goes: [`router`] sends `POST /` to [`handle`], which reads the body,
//! authenticates it ([`authn`]), and routes by protocol — AWS JSON 1.1 with
//! `X-Amz-Target: Logs_20140328.<Op>` to [`logs`], with
//! `X-Amz-Target: com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.<Op>` to
//! [`cloudtrail`], Trailwatch's own `Trailwatch_20261127.<Op>` (imports) to either, the
//! IAM query protocol (`Action=CreateUser&...`) to [`iam`]. Then the call is recorded as
//! a CloudTrail record (`recorder`, durable before the answer). Every library error
//! becomes an AWS error shape in [`error`], and every response carries
//! `x-amzn-RequestId`.

pub mod authn;
pub mod cloudtrail;
mod deadline;
pub mod error;
pub mod iam;
pub mod logs;
mod protocol;
mod recorder;
pub mod tls;

pub use error::ApiError;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::sync::Arc;
use store::Store;

/// Largest request body read. PutLogEvents carries at most 1 MiB of messages, but JSON
/// escaping can grow that several times; anything past this is refused unread.
pub const MAX_BODY_BYTES: usize = 8 << 20;

/// What every request handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The log store and its catalog.
    pub store: Store,
    /// `--dev`: no authentication, and `POST /_trailwatch/reset`.
    pub dev: bool,
    /// The account `--dev` requests act in.
    pub dev_account: Arc<str>,
    /// Logs Insights queries, running and finished.
    pub queries: Arc<logs::queries::QueryManager>,
    /// CloudTrail: the recorder of every call, trails, keys, event data stores.
    pub audit: audit::Audit,
    /// CloudTrail Lake queries, running and finished.
    pub lake: Arc<cloudtrail::lake::LakeQueries>,
    /// The threads Insights, SQL and Lake queries run on, apart from those serving
    /// requests.
    pub executor: query::Executor,
    /// Live-tail sessions, fed by every acknowledged PutLogEvents.
    pub live: logs::live_tail::LiveHub,
}

/// The HTTP routes.
pub fn router(state: AppState) -> Router {
    let mut router = Router::new()
        .route("/", post(handle))
        .route("/_trailwatch/health", get(health));
    if state.dev {
        router = router.route("/_trailwatch/reset", post(reset));
    }
    router
        .fallback(not_found)
        .with_state(state)
        .layer(axum::middleware::from_fn(protocol::request_id))
}

async fn health() -> &'static str {
    "ok\n"
}

async fn not_found() -> Response {
    protocol::json_error(&ApiError {
        status: StatusCode::NOT_FOUND,
        code: "UnknownOperationException",
        message: "Unknown path.".into(),
        extra: Default::default(),
    })
}

async fn reset(State(state): State<AppState>) -> Response {
    if let Err(e) = state.audit.reset() {
        return protocol::json_error(&ApiError::from(e));
    }
    match state.store.reset().await {
        Ok(()) => (StatusCode::OK, "reset\n").into_response(),
        Err(e) => protocol::json_error(&ApiError::from(e)),
    }
}

/// Which service a request is for, from its protocol and target.
enum Service<'a> {
    Iam,
    Logs(&'a str),
    CloudTrail(&'a str),
    Extension(&'a str),
    Unknown,
}

impl Service<'_> {
    fn of(headers: &HeaderMap) -> Service<'_> {
        if is_form(headers) {
            return Service::Iam;
        }
        let target = headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        // botocore sends CloudTrail's long target prefix, Smithy SDKs the short one.
        let target = target
            .strip_prefix(cloudtrail::TARGET_NAMESPACE)
            .unwrap_or(target);
        match target.split_once('.') {
            Some(("Logs_20140328", op)) => Service::Logs(op),
            Some((logs::EXTENSION_SERVICE, op)) => Service::Extension(op),
            Some((cloudtrail::TARGET_SERVICE, op)) => Service::CloudTrail(op),
            _ => Service::Unknown,
        }
    }
}

/// One AWS API request: read, authenticate, route, record, answer. The record is
/// durable before the answer leaves.
async fn handle(State(state): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let request_id = parts
        .extensions
        .get::<protocol::RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let service = Service::of(&parts.headers);
    let body = match read_body(body).await {
        Ok(body) => body,
        Err(e) if matches!(service, Service::Iam) => return iam::xml_error(&e, &request_id),
        Err(e) => return protocol::json_error(&e),
    };
    let recording = recorder::Recording::start(&parts, &request_id);
    let caller = match authn::authenticate(&state, &parts, &body).await {
        Ok(caller) => caller,
        Err(e) => {
            if let Some(claimed) = authn::claimed_caller(&state, &parts) {
                let (source, op, request) = recorder::describe(&service, &body);
                if let Some(source) = source {
                    let call = recording.call(&claimed, source, op, request, None, Some(&e));
                    if let Err(failure) = state.audit.record(&call).await {
                        tracing::error!(error = %failure, "cannot record a refused call");
                    }
                }
            }
            return match service {
                Service::Iam => iam::xml_error(&e, &request_id),
                _ => protocol::json_error(&e),
            };
        }
    };
    let (source, op, request) = recorder::describe(&service, &body);
    let (response, response_elements, error) = match service {
        Service::Iam => {
            let params = iam::params(&body);
            let (response, error) = iam::handle(&state, &caller, &params, &request_id).await;
            (response, None, error)
        }
        Service::Logs("StartLiveTail") => {
            match logs::start_live_tail(&state, &caller, &body, &request_id).await {
                Ok(stream) => (stream, None, None),
                Err(e) => (protocol::json_error(&e), None, Some(e)),
            }
        }
        Service::Logs(op) => render(logs::handle(&state, &caller, op, &body).await),
        Service::CloudTrail(op) => render(cloudtrail::handle(&state, &caller, op, &body).await),
        Service::Extension(op) => render(
            match cloudtrail::handle_extension(&state, &caller, op, &body).await {
                Some(result) => result,
                None => logs::handle_extension(&state, &caller, op, &body).await,
            },
        ),
        Service::Unknown => {
            let e = ApiError::client("UnknownOperationException", "");
            (protocol::json_error(&e), None, Some(e))
        }
    };
    if let Some(source) = source {
        let call = recording.call(
            &caller,
            source,
            op,
            request,
            response_elements,
            error.as_ref(),
        );
        if let Err(failure) = state.audit.record(&call).await {
            // An unrecorded call must not look like a recorded one.
            tracing::error!(error = %failure, "cannot record a call");
            let e = ApiError::unavailable("The service cannot process the request right now.");
            return match service {
                Service::Iam => iam::xml_error(&e, &request_id),
                _ => protocol::json_error(&e),
            };
        }
    }
    response
}

fn render(
    result: Result<serde_json::Value, ApiError>,
) -> (Response, Option<serde_json::Value>, Option<ApiError>) {
    match result {
        Ok(body) => (protocol::json_ok(&body), Some(body), None),
        Err(e) => (protocol::json_error(&e), None, Some(e)),
    }
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
        && !headers.contains_key("x-amz-target")
}

async fn read_body(body: Body) -> Result<bytes::Bytes, ApiError> {
    to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| ApiError {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        code: "SerializationException",
        message: format!("Request body exceeds the limit of {MAX_BODY_BYTES} bytes."),
        extra: Default::default(),
    })
}
