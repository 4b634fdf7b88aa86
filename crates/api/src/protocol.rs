//! The AWS JSON 1.1 envelope: content type, request ids, error bodies.

use crate::error::ApiError;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// The content type of every JSON 1.1 response.
pub const JSON_CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// A request's id, shared by the response header and the handler (which logs it).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Gives each request an id and puts it on the response as `x-amzn-RequestId`.
pub async fn request_id(mut request: Request, next: Next) -> Response {
    let id = uuid::Uuid::new_v4().to_string();
    request.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    response
}

/// A 200 response with a JSON body.
pub fn json_ok(body: &Value) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, JSON_CONTENT_TYPE)],
        body.to_string(),
    )
        .into_response()
}

/// An error response in the JSON 1.1 shape.
pub fn json_error(error: &ApiError) -> Response {
    let mut response = (
        error.status,
        [(header::CONTENT_TYPE, JSON_CONTENT_TYPE)],
        error.body().to_string(),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(error.code) {
        response.headers_mut().insert("x-amzn-errortype", v);
    }
    response
}
