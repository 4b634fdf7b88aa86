//! Trailwatch's HTTP front.
//!
//! Where a request goes: [`router`] sends `POST /` to [`handle`], which reads the body,
//! authenticates it ([`authn`]), and routes by protocol — AWS JSON 1.1 with
//! `X-Amz-Target: Logs_20140328.<Op>` (and Trailwatch's own `Trailwatch_20261127.<Op>`
//! for imports) to [`logs`], the IAM query protocol
//! (`Action=CreateUser&...`) to [`iam`]. Every library error becomes an AWS error shape
//! in [`error`], and every response carries `x-amzn-RequestId`.

pub mod authn;
pub mod error;
pub mod iam;
pub mod logs;
mod protocol;

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
    match state.store.reset().await {
        Ok(()) => (StatusCode::OK, "reset\n").into_response(),
        Err(e) => protocol::json_error(&ApiError::from(e)),
    }
}

/// One AWS API request: read, authenticate, route.
async fn handle(State(state): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let request_id = parts
        .extensions
        .get::<protocol::RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let is_query_protocol = is_form(&parts.headers);
    let authenticated = match read_body(body).await {
        Ok(body) => authn::authenticate(&state, &parts, &body)
            .await
            .map(|caller| (body, caller)),
        Err(e) => Err(e),
    };
    let (body, caller) = match authenticated {
        Ok(v) => v,
        Err(e) if is_query_protocol => return iam::xml_error(&e, &request_id),
        Err(e) => return protocol::json_error(&e),
    };
    if is_query_protocol {
        return iam::handle(&state, &caller, &body, &request_id).await;
    }
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match target.split_once('.') {
        Some((service @ ("Logs_20140328" | logs::EXTENSION_SERVICE), op)) => {
            logs::handle(&state, &caller, service, op, &body).await
        }
        _ => protocol::json_error(&ApiError::client("UnknownOperationException", "")),
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
