//! Who is calling: SigV4 verification against the catalog's keys, and IAM-style
//! authorization of each action on each resource.

use crate::AppState;
use crate::error::ApiError;
use auth::policy::{Decision, Policy, evaluate};
use auth::sigv4::{self, AuthError, SignedRequest};
use axum::http::request::Parts;
use model::Scope;

/// Logs' allowed clock skew (reference/logs-api.md §4.8).
const MAX_SKEW_MINUTES: i64 = 5;

/// The authenticated caller of one request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Account and region the request acts in (the region from the credential scope).
    pub scope: Scope,
    /// `arn:aws:iam::<account>:user/<name>`.
    pub arn: String,
    /// The IAM user name.
    pub user_name: String,
    /// The user's unique id (`AIDA...`), or the account id for root.
    pub principal_id: String,
    /// The access key the request was signed with, when there was one.
    pub access_key_id: Option<String>,
    /// The user's policies; `None` means everything is allowed (`--dev`).
    pub policies: Option<Vec<Policy>>,
}

impl Caller {
    /// Refuses `action` on `resource` unless the caller's policies allow it.
    pub fn authorize(&self, action: &str, resource: &str) -> Result<(), ApiError> {
        let Some(policies) = &self.policies else {
            return Ok(());
        };
        match evaluate(policies, action, resource) {
            Decision::Allow => Ok(()),
            decision => Err(AuthError::AccessDenied {
                principal_arn: self.arn.clone(),
                action: action.to_string(),
                resource: resource.to_string(),
                explicit_deny: decision == Decision::ExplicitDeny,
            }
            .into()),
        }
    }
}

/// Verifies the request's signature (or, with `--dev`, only reads its region) and loads
/// the caller's identity and policies.
pub async fn authenticate(
    state: &AppState,
    parts: &Parts,
    body: &[u8],
) -> Result<Caller, ApiError> {
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    if state.dev {
        let region = credential_region(&headers).unwrap_or_else(|| model::DEFAULT_REGION.into());
        let account = state.dev_account.to_string();
        return Ok(Caller {
            arn: format!("arn:aws:iam::{account}:root"),
            principal_id: account.clone(),
            scope: Scope::new(account, region),
            user_name: "root".into(),
            access_key_id: None,
            policies: None,
        });
    }
    let request = SignedRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &headers,
        body,
    };
    let claims = sigv4::parse(
        &request,
        chrono::Utc::now(),
        chrono::Duration::minutes(MAX_SKEW_MINUTES),
    )?;
    let key = state
        .store
        .catalog()
        .access_key(&claims.access_key_id)?
        .filter(|k| k.status == "Active")
        .ok_or(AuthError::UnrecognizedClient)?;
    sigv4::verify(&request, &claims, &key.secret)?;
    let mut policies = Vec::new();
    for (name, document) in state
        .store
        .catalog()
        .user_policies(&key.account, &key.user_name)?
    {
        match Policy::parse(&document) {
            Ok(p) => policies.push(p),
            Err(e) => tracing::warn!(policy = %name, error = %e, "ignoring an unreadable policy"),
        }
    }
    let principal_id = state
        .store
        .catalog()
        .user(&key.account, &key.user_name)
        .map(|u| u.user_id)
        .unwrap_or_default();
    Ok(Caller {
        principal_id,
        arn: format!("arn:aws:iam::{}:user/{}", key.account, key.user_name),
        scope: Scope::new(key.account, claims.region),
        user_name: key.user_name,
        access_key_id: Some(key.access_key_id),
        policies: Some(policies),
    })
}

/// The region of an `Authorization` header's credential scope, without verifying anything.
fn credential_region(headers: &[(String, String)]) -> Option<String> {
    let region = credential_scope(headers)?.split('/').nth(2)?;
    (!region.is_empty()).then(|| region.to_string())
}

/// `AKID/date/region/service/aws4_request` from an `Authorization` header.
fn credential_scope(headers: &[(String, String)]) -> Option<&str> {
    let auth = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))?;
    let credential = auth.1.split("Credential=").nth(1)?;
    credential.split([',', ' ']).next()
}

/// For a request that failed authentication: the caller its access key names, when the
/// key exists, so the failure can still be recorded against that identity.
pub fn claimed_caller(state: &AppState, parts: &Parts) -> Option<Caller> {
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let scope = credential_scope(&headers)?;
    let mut fields = scope.split('/');
    let key_id = fields.next()?;
    let region = fields.nth(1).filter(|r| !r.is_empty())?;
    let key = state.store.catalog().access_key(key_id).ok()??;
    let principal_id = state
        .store
        .catalog()
        .user(&key.account, &key.user_name)
        .map(|u| u.user_id)
        .unwrap_or_default();
    Some(Caller {
        principal_id,
        arn: format!("arn:aws:iam::{}:user/{}", key.account, key.user_name),
        scope: Scope::new(key.account, region),
        user_name: key.user_name,
        access_key_id: Some(key.access_key_id),
        policies: Some(Vec::new()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_region_comes_from_the_credential_scope() {
        let headers = vec![(
            "Authorization".to_string(),
            "AWS4-HMAC-SHA256 Credential=AK/20260101/eu-west-3/logs/aws4_request, SignedHeaders=host, Signature=x".to_string(),
        )];
        assert_eq!(credential_region(&headers).as_deref(), Some("eu-west-3"));
        assert_eq!(credential_region(&[]), None);
    }
}
