//! IAM-style identity policies: which actions a key may perform on which resources.
//!
//! Documents are standard IAM JSON (`{"Version":"2012-10-17","Statement":[...]}`) with
//! `Effect`, `Action` and `Resource`; evaluation follows IAM: an explicit `Deny` wins,
//! then any `Allow`, and anything not allowed is denied. Elements that would narrow an
//! `Allow` (`Condition`, `NotAction`, `NotResource`) are refused rather than ignored,
//! so a document never grants more than it says.

use serde_json::{Map, Value, json};

/// Whether a statement grants or refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Grants the actions on the resources.
    Allow,
    /// Refuses them, whatever any `Allow` says.
    Deny,
}

/// One statement of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Allow or deny.
    pub effect: Effect,
    /// Action patterns such as `logs:*` or `logs:Get*`; `*` and `?` are wildcards and
    /// case is ignored.
    pub actions: Vec<String>,
    /// Resource ARN patterns or `*`; `*` and `?` are wildcards, case matters.
    pub resources: Vec<String>,
}

/// An identity policy: a list of statements.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policy {
    /// The statements, in document order.
    pub statements: Vec<Statement>,
}

/// The outcome of evaluating policies for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Some statement allows it and none denies it.
    Allow,
    /// A `Deny` statement matches.
    ExplicitDeny,
    /// No statement allows it.
    ImplicitDeny,
}

/// A policy document IAM would refuse (`MalformedPolicyDocument`); `Display` is the
/// message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PolicyError(String);

impl PolicyError {
    /// The error code IAM returns for a bad document.
    pub fn aws_type(&self) -> &'static str {
        "MalformedPolicyDocument"
    }
}

const SYNTAX: &str = "Syntax errors in policy.";

fn malformed<T>(message: impl Into<String>) -> Result<T, PolicyError> {
    Err(PolicyError(message.into()))
}

impl Policy {
    /// One statement allowing every action on every resource, for administrators.
    pub fn allow_all() -> Policy {
        Policy {
            statements: vec![Statement {
                effect: Effect::Allow,
                actions: vec!["*".to_string()],
                resources: vec!["*".to_string()],
            }],
        }
    }

    /// Parses an IAM JSON policy document. `Statement` may be one object or a list;
    /// `Action` and `Resource` a string or a list of strings.
    pub fn parse(document: &str) -> Result<Policy, PolicyError> {
        let Ok(Value::Object(root)) = serde_json::from_str::<Value>(document) else {
            return malformed(SYNTAX);
        };
        for (key, value) in &root {
            match key.as_str() {
                "Version" if matches!(value.as_str(), Some("2012-10-17" | "2008-10-17")) => {}
                "Id" if value.is_string() => {}
                "Statement" => {}
                _ => return malformed(SYNTAX),
            }
        }
        let statements = match root.get("Statement") {
            Some(Value::Array(items)) => items.iter().map(parse_statement).collect(),
            Some(single @ Value::Object(_)) => parse_statement(single).map(|s| vec![s]),
            _ => malformed(SYNTAX),
        }?;
        Ok(Policy { statements })
    }

    /// The policy as an IAM JSON document, which [`Policy::parse`] reads back.
    pub fn to_document(&self) -> String {
        let effect = |e: Effect| match e {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        };
        let statements: Vec<Value> = self
            .statements
            .iter()
            .map(|s| {
                json!({
                    "Effect": effect(s.effect),
                    "Action": s.actions,
                    "Resource": s.resources,
                })
            })
            .collect();
        json!({ "Version": "2012-10-17", "Statement": statements }).to_string()
    }
}

fn parse_statement(value: &Value) -> Result<Statement, PolicyError> {
    let Value::Object(statement) = value else {
        return malformed(SYNTAX);
    };
    for key in statement.keys() {
        match key.as_str() {
            "Sid" | "Effect" | "Action" | "Resource" => {}
            "Principal" | "NotPrincipal" => {
                return malformed("Policy document should not specify a principal.");
            }
            "Condition" | "NotAction" | "NotResource" => {
                return malformed(format!("Unsupported policy element: {key}"));
            }
            _ => return malformed(SYNTAX),
        }
    }
    let effect = match statement.get("Effect") {
        None => return malformed("Missing required field Effect"),
        Some(Value::String(e)) if e == "Allow" => Effect::Allow,
        Some(Value::String(e)) if e == "Deny" => Effect::Deny,
        Some(_) => return malformed(SYNTAX),
    };
    let actions = string_list(statement, "Action")?;
    if actions.is_empty() {
        return malformed("Policy statement must contain actions.");
    }
    if !actions.iter().all(|a| is_action_pattern(a)) {
        return malformed(
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
        );
    }
    let resources = string_list(statement, "Resource")?;
    if resources.is_empty() {
        return malformed("Policy statement must contain resources.");
    }
    if let Some(bad) = resources
        .iter()
        .find(|r| r.as_str() != "*" && !r.starts_with("arn:"))
    {
        return malformed(format!("Resource {bad} must be in ARN format or \"*\"."));
    }
    Ok(Statement {
        effect,
        actions,
        resources,
    })
}

/// `*`, or `vendor:name` with a non-empty vendor.
fn is_action_pattern(action: &str) -> bool {
    action == "*"
        || action
            .split_once(':')
            .is_some_and(|(vendor, name)| !vendor.is_empty() && !name.is_empty())
}

/// A member that may be one string or a list of strings; absent reads as empty.
fn string_list(statement: &Map<String, Value>, key: &str) -> Result<Vec<String>, PolicyError> {
    match statement.get(key) {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                _ => malformed(SYNTAX),
            })
            .collect(),
        Some(_) => malformed(SYNTAX),
    }
}

impl Statement {
    fn matches(&self, action: &str, resource: &str) -> bool {
        let action = action.to_lowercase();
        self.actions
            .iter()
            .any(|pattern| glob(&pattern.to_lowercase(), &action))
            && self
                .resources
                .iter()
                .any(|pattern| resource_matches(pattern, resource))
    }
}

/// IAM's verdict for `action` (e.g. `logs:PutLogEvents`) on `resource` (an ARN) under
/// all of an identity's policies.
pub fn evaluate(policies: &[Policy], action: &str, resource: &str) -> Decision {
    let mut allowed = false;
    for statement in policies.iter().flat_map(|p| &p.statements) {
        if statement.matches(action, resource) {
            match statement.effect {
                Effect::Deny => return Decision::ExplicitDeny,
                Effect::Allow => allowed = true,
            }
        }
    }
    if allowed {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    }
}

/// Whether the policies allow `action` on `resource`: explicit deny wins, default deny.
pub fn is_allowed(policies: &[Policy], action: &str, resource: &str) -> bool {
    evaluate(policies, action, resource) == Decision::Allow
}

/// IAM matches an ARN component by component, so a wildcard in the region or account
/// cannot swallow the colons that separate them; the last component (the resource
/// part, which may itself hold colons) matches as a whole.
fn resource_matches(pattern: &str, resource: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let pattern_parts: Vec<&str> = pattern.splitn(6, ':').collect();
    let resource_parts: Vec<&str> = resource.splitn(6, ':').collect();
    pattern_parts.len() == resource_parts.len()
        && pattern_parts
            .iter()
            .zip(&resource_parts)
            .all(|(p, r)| glob(p, r))
}

/// Whether `text` matches `pattern`, where `*` is any run of characters (even none) and
/// `?` exactly one.
fn glob(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    // Where the last `*` was and how much text it has taken, to backtrack to.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const GROUP: &str = "arn:aws:logs:us-east-1:123456789012:log-group:app-web";
    const STREAM: &str = "arn:aws:logs:us-east-1:123456789012:log-group:app-web:log-stream:i-1";

    fn policy(doc: &str) -> Policy {
        Policy::parse(doc).unwrap()
    }

    fn error(doc: &str) -> String {
        Policy::parse(doc).unwrap_err().to_string()
    }

    #[test]
    fn glob_semantics() {
        assert!(glob("*", ""));
        assert!(glob("*", "anything"));
        assert!(glob("a*c", "abbbc"));
        assert!(glob("a*c", "ac"));
        assert!(!glob("a*c", "acb"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "ac"));
        assert!(glob("*b*b*", "abxxbyy"));
        assert!(!glob("*b*b*", "abxx"));
        assert!(glob("ü?", "üx"));
        assert!(glob("", ""));
        assert!(!glob("", "a"));
        assert!(glob("a**", "a"));
    }

    #[test]
    fn parses_string_and_list_forms() {
        let p = policy(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"logs:*","Resource":"*"}}"#,
        );
        assert_eq!(
            p.statements,
            vec![Statement {
                effect: Effect::Allow,
                actions: vec!["logs:*".into()],
                resources: vec!["*".into()],
            }]
        );
        let p = policy(
            r#"{"Statement":[
                {"Sid":"w","Effect":"Allow","Action":["logs:PutLogEvents","logs:CreateLogStream"],
                 "Resource":["arn:aws:logs:*:*:log-group:app-*"]},
                {"Effect":"Deny","Action":"logs:DeleteLogGroup","Resource":"*"}]}"#,
        );
        assert_eq!(p.statements.len(), 2);
        assert_eq!(p.statements[1].effect, Effect::Deny);
        assert_eq!(Policy::parse(&p.to_document()).unwrap(), p);
        assert_eq!(
            Policy::parse(&Policy::allow_all().to_document()).unwrap(),
            Policy::allow_all()
        );
    }

    #[test]
    fn malformed_documents() {
        assert_eq!(error("not json"), "Syntax errors in policy.");
        assert_eq!(error("[]"), "Syntax errors in policy.");
        assert_eq!(
            error(r#"{"Version":"2012-10-17"}"#),
            "Syntax errors in policy."
        );
        assert_eq!(
            error(r#"{"Version":"2020-01-01","Statement":[]}"#),
            "Syntax errors in policy."
        );
        assert_eq!(
            error(r#"{"Statement":[],"Extra":1}"#),
            "Syntax errors in policy."
        );
        assert_eq!(error(r#"{"Statement":["x"]}"#), "Syntax errors in policy.");
        assert_eq!(
            error(r#"{"Statement":{"Action":"logs:*","Resource":"*"}}"#),
            "Missing required field Effect"
        );
        assert_eq!(
            error(r#"{"Statement":{"Effect":"allow","Action":"logs:*","Resource":"*"}}"#),
            "Syntax errors in policy."
        );
        assert_eq!(
            error(r#"{"Statement":{"Effect":"Allow","Resource":"*"}}"#),
            "Policy statement must contain actions."
        );
        assert_eq!(
            error(r#"{"Statement":{"Effect":"Allow","Action":"logs:*"}}"#),
            "Policy statement must contain resources."
        );
        assert_eq!(
            error(r#"{"Statement":{"Effect":"Allow","Action":"PutLogEvents","Resource":"*"}}"#),
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
        );
        assert_eq!(
            error(r#"{"Statement":{"Effect":"Allow","Action":"logs:*","Resource":"log-group"}}"#),
            "Resource log-group must be in ARN format or \"*\"."
        );
        assert_eq!(
            error(r#"{"Statement":{"Effect":"Allow","Action":["logs:*",1],"Resource":"*"}}"#),
            "Syntax errors in policy."
        );
        assert_eq!(
            error(
                r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"*"}}"#
            ),
            "Policy document should not specify a principal."
        );
        assert_eq!(
            error(
                r#"{"Statement":{"Effect":"Allow","Action":"logs:*","Resource":"*","Condition":{}}}"#
            ),
            "Unsupported policy element: Condition"
        );
        let err = Policy::parse("{").unwrap_err();
        assert_eq!(err.aws_type(), "MalformedPolicyDocument");
    }

    #[test]
    fn default_deny() {
        assert!(!is_allowed(&[], "logs:PutLogEvents", GROUP));
        assert_eq!(
            evaluate(&[Policy::default()], "logs:PutLogEvents", GROUP),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn actions_match_case_insensitively_with_wildcards() {
        let p = [policy(
            r#"{"Statement":{"Effect":"Allow","Action":["logs:Get*","logs:Describe?ogGroups"],"Resource":"*"}}"#,
        )];
        assert!(is_allowed(&p, "logs:GetLogEvents", GROUP));
        assert!(is_allowed(&p, "LOGS:getlogevents", GROUP));
        assert!(is_allowed(&p, "logs:DescribeLogGroups", GROUP));
        assert!(!is_allowed(&p, "logs:DescribeLogStreams", GROUP));
        assert!(!is_allowed(&p, "logs:PutLogEvents", GROUP));
        assert!(!is_allowed(&p, "cloudtrail:GetTrail", GROUP));
        let all = [Policy::allow_all()];
        assert!(is_allowed(
            &all,
            "cloudtrail:LookupEvents",
            "arn:aws:cloudtrail:x:1:trail/t"
        ));
    }

    #[test]
    fn resources_match_by_component_and_case() {
        let p = [policy(
            r#"{"Statement":{"Effect":"Allow","Action":"logs:*",
                "Resource":"arn:aws:logs:*:123456789012:log-group:app-*"}}"#,
        )];
        assert!(is_allowed(&p, "logs:PutLogEvents", GROUP));
        assert!(is_allowed(&p, "logs:PutLogEvents", STREAM));
        assert!(!is_allowed(
            &p,
            "logs:PutLogEvents",
            "arn:aws:logs:us-east-1:123456789012:log-group:APP-web"
        ));
        assert!(!is_allowed(
            &p,
            "logs:PutLogEvents",
            "arn:aws:logs:us-east-1:999999999999:log-group:app-web"
        ));
        // A region wildcard cannot reach across the account component.
        let q = [policy(
            r#"{"Statement":{"Effect":"Allow","Action":"logs:*",
                "Resource":"arn:aws:logs:*:log-group:app-web"}}"#,
        )];
        assert!(!is_allowed(&q, "logs:PutLogEvents", GROUP));
    }

    #[test]
    fn explicit_deny_wins_across_policies() {
        let allow = policy(r#"{"Statement":{"Effect":"Allow","Action":"logs:*","Resource":"*"}}"#);
        let deny = policy(
            r#"{"Statement":{"Effect":"Deny","Action":"logs:Delete*",
                "Resource":"arn:aws:logs:*:*:log-group:app-*"}}"#,
        );
        let both = [allow.clone(), deny.clone()];
        assert_eq!(
            evaluate(&both, "logs:DeleteLogGroup", GROUP),
            Decision::ExplicitDeny
        );
        assert!(!is_allowed(&both, "logs:DeleteLogGroup", GROUP));
        assert!(is_allowed(&both, "logs:PutLogEvents", GROUP));
        assert!(is_allowed(
            &both,
            "logs:DeleteLogGroup",
            "arn:aws:logs:us-east-1:123456789012:log-group:other"
        ));
        // A deny alone still does not allow what it does not match.
        assert_eq!(
            evaluate(&[deny], "logs:PutLogEvents", GROUP),
            Decision::ImplicitDeny
        );
        // Order does not matter.
        assert_eq!(
            evaluate(&[both[1].clone(), allow], "logs:DeleteLogGroup", GROUP),
            Decision::ExplicitDeny
        );
    }
}
