//! Turns one handled request into the [`audit::record::Call`] its CloudTrail record is
//! made from: who, what, from where, with which parameters and which result.

use crate::Service;
use crate::authn::Caller;
use crate::error::ApiError;
use crate::tls::TlsPeer;
use audit::record::{Call, Identity, Resource, TlsDetails, sanitize_request, sanitize_response};
use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use serde_json::Value;
use std::net::SocketAddr;

/// What is known about a request before it is handled.
pub struct Recording {
    source_ip: String,
    user_agent: Option<String>,
    request_id: String,
    tls: Option<TlsDetails>,
}

impl Recording {
    /// Notes the client's address and agent.
    pub fn start(parts: &Parts, request_id: &str) -> Recording {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let tls_peer = parts.extensions.get::<ConnectInfo<TlsPeer>>();
        let source_ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0)
            .or_else(|| tls_peer.map(|p| p.0.addr))
            .map(|addr| addr.ip().to_string())
            .unwrap_or_else(|| "127.0.0.1".into());
        let tls = tls_peer.map(|p| TlsDetails {
            tls_version: p.0.tls_version.clone(),
            cipher_suite: p.0.cipher_suite.clone(),
            client_provided_host_header: header("host").unwrap_or_default(),
        });
        Recording {
            source_ip,
            user_agent: header("user-agent"),
            request_id: request_id.to_string(),
            tls,
        }
    }

    /// The call to record.
    pub fn call(
        &self,
        caller: &Caller,
        event_source: &'static str,
        event_name: String,
        request: Option<Value>,
        response: Option<Value>,
        error: Option<&ApiError>,
    ) -> Call {
        let identity = if caller.policies.is_none() {
            Identity::Root {
                account: caller.scope.account.clone(),
                access_key_id: caller.access_key_id.clone(),
            }
        } else {
            Identity::IamUser {
                account: caller.scope.account.clone(),
                user_name: caller.user_name.clone(),
                principal_id: caller.principal_id.clone(),
                access_key_id: caller.access_key_id.clone(),
            }
        };
        let resources = request
            .as_ref()
            .map(|r| resources(caller, event_source, &event_name, r))
            .unwrap_or_default();
        Call {
            scope: caller.scope.clone(),
            identity,
            event_source,
            event_name,
            time_ms: model::time::now_ms(),
            source_ip: self.source_ip.clone(),
            user_agent: self.user_agent.clone(),
            request_parameters: request,
            response_elements: response.map(sanitize_response),
            error: error.map(|e| (e.code.to_string(), e.message.clone())),
            request_id: self.request_id.clone(),
            resources,
            tls: self.tls.clone(),
        }
    }
}

/// The event source, operation name and recordable parameters of a request; no source
/// for requests that name no known service (they are not calls of anything).
pub fn describe(
    service: &Service<'_>,
    body: &[u8],
) -> (Option<&'static str>, String, Option<Value>) {
    let json = || serde_json::from_slice::<Value>(body).ok();
    match service {
        Service::Iam => {
            let params = crate::iam::params(body);
            let action = params.get("Action").cloned().unwrap_or_default();
            (
                Some("iam.amazonaws.com"),
                action,
                Some(crate::iam::recorded_parameters(&params)),
            )
        }
        Service::Logs(op) => (
            Some("logs.amazonaws.com"),
            op.to_string(),
            json().map(|v| sanitize_request(op, v)),
        ),
        Service::CloudTrail(op) => (Some("cloudtrail.amazonaws.com"), op.to_string(), json()),
        Service::Extension(op) => {
            let source = if *op == "ImportAuditEvents" {
                "cloudtrail.amazonaws.com"
            } else {
                "logs.amazonaws.com"
            };
            (
                Some(source),
                op.to_string(),
                json().map(|v| sanitize_request(op, v)),
            )
        }
        Service::Unknown => (None, String::new(), None),
    }
}

/// The resources a request names.
fn resources(caller: &Caller, source: &str, op: &str, request: &Value) -> Vec<Resource> {
    let scope = &caller.scope;
    let text = |k: &str| request.get(k).and_then(Value::as_str);
    let mut out = Vec::new();
    match source {
        "logs.amazonaws.com" => {
            let group = text("logGroupName").map(str::to_string).or_else(|| {
                text("logGroupIdentifier").map(|id| {
                    model::parse_log_group_arn(id).map_or(id.to_string(), |(_, name)| name)
                })
            });
            if let Some(group) = group {
                out.push(Resource {
                    kind: "AWS::Logs::LogGroup",
                    arn: scope.log_group_arn(&group),
                });
            } else if let Some(arn) = text("resourceArn") {
                out.push(Resource {
                    kind: "AWS::Logs::LogGroup",
                    arn: arn.to_string(),
                });
            }
        }
        "cloudtrail.amazonaws.com" => {
            let trail = match op {
                "CreateTrail" | "UpdateTrail" | "DeleteTrail" | "GetTrail" | "GetTrailStatus"
                | "StartLogging" | "StopLogging" => text("Name"),
                _ => text("TrailName"),
            };
            if let Some(name) = trail {
                let arn = if name.starts_with("arn:") {
                    name.to_string()
                } else {
                    audit::trail::trail_arn(&scope.region, &scope.account, name)
                };
                out.push(Resource {
                    kind: "AWS::CloudTrail::Trail",
                    arn,
                });
            }
            if let Some(eds) = text("EventDataStore") {
                out.push(Resource {
                    kind: "AWS::CloudTrail::EventDataStore",
                    arn: eds.to_string(),
                });
            }
        }
        "iam.amazonaws.com" => {
            if let Some(user) = text("userName") {
                out.push(Resource {
                    kind: "AWS::IAM::User",
                    arn: format!("arn:aws:iam::{}:user/{user}", scope.account),
                });
            }
        }
        _ => {}
    }
    out
}
