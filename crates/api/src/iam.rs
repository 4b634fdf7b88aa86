//! The IAM query protocol (`Action=CreateUser&Version=2010-05-08`, XML answers), for the
//! users, access keys and inline policies that decide who may call Trailwatch.
//!
//! `trailwatch iam ...` and `aws iam ... --endpoint-url` both speak it.

use crate::AppState;
use crate::authn::Caller;
use crate::error::ApiError;
use auth::Policy;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use store::iam::{AccessKey, User};

const XMLNS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

/// One IAM request's form parameters.
pub fn params(body: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// The request parameters a CloudTrail record shows for an IAM action: every form
/// parameter but `Action` and `Version`, named in lower camel case as AWS records them.
pub fn recorded_parameters(params: &HashMap<String, String>) -> serde_json::Value {
    params
        .iter()
        .filter(|(k, _)| k.as_str() != "Action" && k.as_str() != "Version")
        .map(|(k, v)| (lower_first(k), serde_json::Value::String(v.clone())))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Runs one IAM action and renders it; the error, if any, is returned for the record.
pub async fn handle(
    state: &AppState,
    caller: &Caller,
    params: &HashMap<String, String>,
    request_id: &str,
) -> (Response, Option<ApiError>) {
    let action = params.get("Action").map(String::as_str).unwrap_or("");
    match run(state, caller, action, params) {
        Ok(result) => {
            let body = format!(
                "<{action}Response xmlns=\"{XMLNS}\">{result}<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{action}Response>"
            );
            (
                (StatusCode::OK, [(header::CONTENT_TYPE, "text/xml")], body).into_response(),
                None,
            )
        }
        Err(e) => (xml_error(&e, request_id), Some(iam_error(&e))),
    }
}

/// IAM's own names and statuses for the failures the JSON services name differently.
fn iam_error(error: &ApiError) -> ApiError {
    let (status, code, message) = match error.code {
        "AccessDeniedException" => (StatusCode::FORBIDDEN, "AccessDenied", error.message.clone()),
        "UnrecognizedClientException" => (
            StatusCode::FORBIDDEN,
            "InvalidClientTokenId",
            "The security token included in the request is invalid".to_string(),
        ),
        "InvalidSignatureException" => (
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            error.message.clone(),
        ),
        "MissingAuthenticationTokenException" => (
            StatusCode::FORBIDDEN,
            "MissingAuthenticationToken",
            error.message.clone(),
        ),
        "IncompleteSignatureException" => (
            StatusCode::BAD_REQUEST,
            "IncompleteSignature",
            error.message.clone(),
        ),
        _ => return error.clone(),
    };
    status_error(status, code, message)
}

/// An error in the query protocol's XML shape.
pub fn xml_error(error: &ApiError, request_id: &str) -> Response {
    let error = &iam_error(error);
    let kind = if error.status.is_server_error() {
        "Receiver"
    } else {
        "Sender"
    };
    let body = format!(
        "<ErrorResponse xmlns=\"{XMLNS}\"><Error><Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
        escape(error.code),
        escape(&error.message)
    );
    (error.status, [(header::CONTENT_TYPE, "text/xml")], body).into_response()
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn status_error(status: StatusCode, code: &'static str, message: String) -> ApiError {
    ApiError {
        status,
        code,
        message,
        extra: Default::default(),
    }
}

fn param<'a>(params: &'a HashMap<String, String>, name: &str) -> Result<&'a str, ApiError> {
    params.get(name).map(String::as_str).ok_or_else(|| {
        ApiError::client(
            "ValidationError",
            format!("1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null", lower_first(name)),
        )
    })
}

fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}

fn valid_user_name(name: &str) -> Result<(), ApiError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(ApiError::client(
            "ValidationError",
            format!(
                "1 validation error detected: Value '{name}' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
            ),
        ))
    }
}

fn iso(ms: i64) -> String {
    model::time::to_datetime(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

fn user_xml(user: &User) -> String {
    format!(
        "<User><Path>/</Path><UserName>{}</UserName><UserId>{}</UserId><Arn>{}</Arn><CreateDate>{}</CreateDate></User>",
        escape(&user.name),
        escape(&user.user_id),
        escape(&user.arn()),
        iso(user.creation_time)
    )
}

/// The user an action names, defaulting to the caller as IAM does.
fn target_user<'a>(caller: &'a Caller, params: &'a HashMap<String, String>) -> &'a str {
    params
        .get("UserName")
        .map(String::as_str)
        .unwrap_or(&caller.user_name)
}

fn run(
    state: &AppState,
    caller: &Caller,
    action: &str,
    params: &HashMap<String, String>,
) -> Result<String, ApiError> {
    let catalog = state.store.catalog();
    let account = caller.scope.account.as_str();
    let user_arn = |name: &str| format!("arn:aws:iam::{account}:user/{name}");
    match action {
        "CreateUser" => {
            let name = param(params, "UserName")?;
            valid_user_name(name)?;
            caller.authorize("iam:CreateUser", &user_arn(name))?;
            let user = User {
                account: account.to_string(),
                name: name.to_string(),
                user_id: new_id("AIDA"),
                creation_time: model::time::now_ms(),
            };
            catalog.create_user(&user).map_err(conflict)?;
            Ok(format!(
                "<CreateUserResult>{}</CreateUserResult>",
                user_xml(&user)
            ))
        }
        "GetUser" => {
            let name = target_user(caller, params);
            caller.authorize("iam:GetUser", &user_arn(name))?;
            let user = catalog.user(account, name).map_err(conflict)?;
            Ok(format!(
                "<GetUserResult>{}</GetUserResult>",
                user_xml(&user)
            ))
        }
        "ListUsers" => {
            caller.authorize("iam:ListUsers", &user_arn("*"))?;
            let users: String = catalog
                .users(account)?
                .iter()
                .map(|u| {
                    format!(
                        "<member>{}</member>",
                        user_xml(u)
                            .trim_start_matches("<User>")
                            .trim_end_matches("</User>")
                    )
                })
                .collect();
            Ok(format!(
                "<ListUsersResult><Users>{users}</Users><IsTruncated>false</IsTruncated></ListUsersResult>"
            ))
        }
        "CreateAccessKey" => {
            let name = target_user(caller, params);
            caller.authorize("iam:CreateAccessKey", &user_arn(name))?;
            let creds = auth::credentials::generate();
            let key = AccessKey {
                access_key_id: creds.access_key_id,
                secret: creds.secret_access_key,
                account: account.to_string(),
                user_name: name.to_string(),
                status: "Active".into(),
                creation_time: model::time::now_ms(),
            };
            catalog.create_access_key(&key).map_err(conflict)?;
            Ok(format!(
                "<CreateAccessKeyResult><AccessKey><UserName>{}</UserName><AccessKeyId>{}</AccessKeyId><Status>Active</Status><SecretAccessKey>{}</SecretAccessKey><CreateDate>{}</CreateDate></AccessKey></CreateAccessKeyResult>",
                escape(&key.user_name),
                key.access_key_id,
                escape(&key.secret),
                iso(key.creation_time)
            ))
        }
        "PutUserPolicy" => {
            let name = param(params, "UserName")?;
            let policy_name = param(params, "PolicyName")?;
            let document = param(params, "PolicyDocument")?;
            caller.authorize("iam:PutUserPolicy", &user_arn(name))?;
            Policy::parse(document).map_err(|e| ApiError::client(e.aws_type(), e.to_string()))?;
            catalog
                .put_user_policy(account, name, policy_name, document)
                .map_err(conflict)?;
            Ok(String::new())
        }
        "" => Err(ApiError::client("MissingAction", "Missing Action")),
        _ => Err(ApiError::client(
            "InvalidAction",
            format!("Could not find operation {action} for version 2010-05-08"),
        )),
    }
}

/// IAM answers name conflicts with 409 and missing entities with 404.
fn conflict(e: store::StoreError) -> ApiError {
    let error = ApiError::from(e);
    match error.code {
        "EntityAlreadyExists" => status_error(StatusCode::CONFLICT, error.code, error.message),
        "NoSuchEntity" => status_error(StatusCode::NOT_FOUND, error.code, error.message),
        _ => error,
    }
}

/// An IAM-style id: a four-letter prefix and 17 characters of base32.
fn new_id(prefix: &str) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut rng = rand::rng();
    let tail: String = (0..17)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}{tail}")
}
