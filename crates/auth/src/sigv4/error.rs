//! Why a request was not let in, worded as AWS words it (reference §1.5, §4.4–§4.8).

/// A failed authentication or authorization check.
///
/// `Display` is AWS's message text and [`AuthError::aws_type`] its `__type`; AWS sends
/// every one of these with HTTP status 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The request carries both an `Authorization` header and `X-Amz-Algorithm` in its
    /// query (§4.7 row 1).
    #[error(
        "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."
    )]
    BothAuthForms,

    /// No SigV4 authentication at all (§4.7 row 2).
    #[error("Request is missing Authentication Token")]
    MissingAuthenticationToken,

    /// Malformed authentication parameters: missing parts, a bad date, an unsupported
    /// algorithm, a misshapen credential or `X-Amz-Expires` (§4.7 rows 3, 4, 7, 8).
    /// The text is AWS's and already complete.
    #[error("{0}")]
    IncompleteSignature(String),

    /// The request's date is older than the allowed clock skew (§4.8).
    #[error(
        "Signature expired: {request_time} is now earlier than {earliest} ({now} - {minutes} min.)"
    )]
    SignatureExpired {
        /// The request's date, `YYYYMMDDTHHMMSSZ`.
        request_time: String,
        /// Server time minus the allowed skew.
        earliest: String,
        /// Server time.
        now: String,
        /// The allowed skew in whole minutes.
        minutes: i64,
    },

    /// The request's date is further in the future than the allowed clock skew (§4.8).
    #[error(
        "Signature not yet current: {request_time} is still later than {latest} ({now} + {minutes} min.)"
    )]
    SignatureNotYetCurrent {
        /// The request's date, `YYYYMMDDTHHMMSSZ`.
        request_time: String,
        /// Server time plus the allowed skew.
        latest: String,
        /// Server time.
        now: String,
        /// The allowed skew in whole minutes.
        minutes: i64,
    },

    /// A presigned request used after `X-Amz-Date + X-Amz-Expires`. AWS's text for a
    /// non-S3 service was not recorded; this one follows the clock-skew message.
    #[error(
        "Signature expired: {request_time} is now earlier than {earliest} ({now} - {expires_seconds} sec.)"
    )]
    PresignedExpired {
        /// The request's `X-Amz-Date`.
        request_time: String,
        /// Server time minus `X-Amz-Expires`.
        earliest: String,
        /// Server time.
        now: String,
        /// The request's `X-Amz-Expires`.
        expires_seconds: u32,
    },

    /// `host` is not among the signed headers (§4.7 row 6).
    #[error("'Host' must be a 'SignedHeader' in the AWS Authorization.")]
    HostNotSigned,

    /// The credential scope names a bad region or terminator, or a date other than the
    /// request's (§4.7 row 9). The text is AWS's, one sentence per fault.
    #[error("{0}")]
    InvalidScope(String),

    /// The signature does not match (§4.7 row 11). AWS shows the canonical request and
    /// string to sign it computed so the client can find its mistake.
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\nThe Canonical String for this request should have been\n'{canonical_request}'\n\nThe String-to-Sign should have been\n'{string_to_sign}'\n"
    )]
    SignatureMismatch {
        /// The canonical request the server computed.
        canonical_request: String,
        /// The string to sign the server computed.
        string_to_sign: String,
    },

    /// A correctly signed `X-Amz-Content-SHA256` that is not the hash of the body that
    /// arrived: the body was changed on the way. The text is S3's, the only service
    /// recorded checking this.
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    ContentSha256Mismatch,

    /// The access key id is unknown (§4.7 row 10).
    #[error("The security token included in the request is invalid.")]
    UnrecognizedClient,

    /// The session token does not belong to the access key (§4.7 row 12); AWS's text has
    /// no final period here.
    #[error("The security token included in the request is invalid")]
    InvalidSessionToken,

    /// The identity's policies do not allow the action on the resource.
    #[error(
        "User: {principal_arn} is not authorized to perform: {action} on resource: {resource} {}",
        denial_reason(*.explicit_deny, .action)
    )]
    AccessDenied {
        /// ARN of the caller, e.g. `arn:aws:iam::123456789012:user/alice`.
        principal_arn: String,
        /// The action, e.g. `logs:PutLogEvents`.
        action: String,
        /// ARN of the resource acted on.
        resource: String,
        /// Whether a `Deny` statement matched, rather than no `Allow` statement.
        explicit_deny: bool,
    },
}

/// The tail AWS appends to an access-denied message to say which kind of denial it was.
fn denial_reason(explicit_deny: bool, action: &str) -> String {
    if explicit_deny {
        "with an explicit deny in an identity-based policy".to_string()
    } else {
        format!("because no identity-based policy allows the {action} action")
    }
}

impl AuthError {
    /// The `__type` AWS returns for this error.
    pub fn aws_type(&self) -> &'static str {
        match self {
            AuthError::BothAuthForms
            | AuthError::SignatureExpired { .. }
            | AuthError::SignatureNotYetCurrent { .. }
            | AuthError::PresignedExpired { .. }
            | AuthError::HostNotSigned
            | AuthError::InvalidScope(_)
            | AuthError::SignatureMismatch { .. }
            | AuthError::ContentSha256Mismatch => "InvalidSignatureException",
            AuthError::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            AuthError::IncompleteSignature(_) => "IncompleteSignatureException",
            AuthError::UnrecognizedClient | AuthError::InvalidSessionToken => {
                "UnrecognizedClientException"
            }
            AuthError::AccessDenied { .. } => "AccessDeniedException",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_denied_wording() {
        let denied = |explicit_deny| AuthError::AccessDenied {
            principal_arn: "arn:aws:iam::123456789012:user/alice".into(),
            action: "logs:CreateLogGroup".into(),
            resource: "arn:aws:logs:us-east-1:123456789012:log-group:g".into(),
            explicit_deny,
        };
        let implicit = denied(false);
        assert_eq!(
            implicit.to_string(),
            "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: \
             logs:CreateLogGroup on resource: arn:aws:logs:us-east-1:123456789012:log-group:g \
             because no identity-based policy allows the logs:CreateLogGroup action"
        );
        assert_eq!(implicit.aws_type(), "AccessDeniedException");
        let explicit = denied(true);
        assert!(
            explicit
                .to_string()
                .ends_with("log-group:g with an explicit deny in an identity-based policy")
        );
    }

    #[test]
    fn token_messages_differ_by_the_period() {
        assert_eq!(
            AuthError::UnrecognizedClient.to_string(),
            "The security token included in the request is invalid."
        );
        assert_eq!(
            AuthError::InvalidSessionToken.to_string(),
            "The security token included in the request is invalid"
        );
        assert_eq!(
            AuthError::InvalidSessionToken.aws_type(),
            "UnrecognizedClientException"
        );
    }
}
