//! AWS error shapes, and the one place where every library error becomes one.
//!
//! The JSON protocol puts the bare shape name in `__type` and the text in `message`
//! (botocore reads only the body; Go reads `X-Amzn-ErrorType` first, so we send both).

use axum::http::StatusCode;
use serde_json::{Map, Value};
use store::StoreError;

/// An error as the client will see it.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status: 400 for client faults, 500/503 for server faults.
    pub status: StatusCode,
    /// AWS error code, e.g. `ResourceNotFoundException`.
    pub code: &'static str,
    /// Human-readable text, AWS's exact wording where known.
    pub message: String,
    /// Extra members some shapes carry (`resourceName`, `queryCompileError`).
    pub extra: Map<String, Value>,
}

impl ApiError {
    /// A 400 error with `code` and `message`.
    pub fn client(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
            extra: Map::new(),
        }
    }

    /// `InvalidParameterException`, Logs' answer to every field constraint.
    pub fn invalid_parameter(message: impl Into<String>) -> ApiError {
        Self::client("InvalidParameterException", message)
    }

    /// `ResourceNotFoundException`.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        Self::client("ResourceNotFoundException", message)
    }

    /// `SerializationException` for bodies that are not the JSON the operation takes.
    pub fn serialization(message: impl Into<String>) -> ApiError {
        Self::client("SerializationException", message)
    }

    /// `ServiceUnavailableException`: our fault; the request may be retried.
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "ServiceUnavailableException",
            message: message.into(),
            extra: Map::new(),
        }
    }

    /// Adds an extra member to the error body.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> ApiError {
        self.extra.insert(key.to_string(), value.into());
        self
    }

    /// The JSON body: `{"__type": code, "message": text, ...extra}`.
    pub fn body(&self) -> Value {
        let mut body = self.extra.clone();
        body.insert("__type".into(), Value::String(self.code.into()));
        body.insert("message".into(), Value::String(self.message.clone()));
        Value::Object(body)
    }
}

/// The standard AWS validation sentence for one failed constraint.
pub fn constraint(value: &str, member: &str, rule: &str) -> ApiError {
    ApiError::invalid_parameter(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {rule}"
    ))
}

/// The validation sentence for a required member that is missing.
pub fn missing(member: &str) -> ApiError {
    ApiError::invalid_parameter(format!(
        "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
    ))
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::GroupNotFound | StoreError::StreamNotFound => {
                ApiError::not_found(e.to_string())
            }
            StoreError::GroupExists | StoreError::StreamExists => {
                ApiError::client("ResourceAlreadyExistsException", e.to_string())
            }
            StoreError::InvalidToken => ApiError::invalid_parameter(e.to_string()),
            StoreError::TooManyTags { ref resource } => {
                let resource = resource.clone();
                ApiError::client("TooManyTagsException", e.to_string())
                    .with("resourceName", resource)
            }
            StoreError::UserNotFound(_) => ApiError::client("NoSuchEntity", e.to_string()),
            StoreError::UserExists(_) => ApiError::client("EntityAlreadyExists", e.to_string()),
            StoreError::ShuttingDown => ApiError::unavailable("The service is shutting down."),
            other => {
                // Disk, catalog and segment failures are ours, not the caller's: log the
                // detail, answer with a retryable fault that leaks no paths.
                tracing::error!(error = %other, "storage failure");
                ApiError::unavailable("The service cannot process the request right now.")
            }
        }
    }
}

impl From<model::NameError> for ApiError {
    fn from(e: model::NameError) -> ApiError {
        ApiError::invalid_parameter(e.to_string())
    }
}

impl From<pattern::PatternError> for ApiError {
    fn from(e: pattern::PatternError) -> ApiError {
        ApiError::invalid_parameter(e.to_string())
    }
}

impl From<auth::AuthError> for ApiError {
    fn from(e: auth::AuthError) -> ApiError {
        // Logs answers signature, key and permission failures with 400, not 403
        // (reference/logs-api.md §1.3, recorded against AWS).
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: e.aws_type(),
            message: e.to_string(),
            extra: Map::new(),
        }
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(e: serde_json::Error) -> ApiError {
        ApiError::serialization(e.to_string())
    }
}
