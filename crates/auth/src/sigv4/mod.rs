//! AWS Signature Version 4: verifying what clients send ([`parse`] then [`verify`]) and
//! signing what our own clients send ([`sign`]).
//!
//! Verification is split in two because the server must look the access key up between
//! the steps: [`parse`] runs every check that needs no secret, in the order AWS's
//! front end runs them (reference §4.7 rows 1–9), and [`verify`] recomputes the
//! signature with the secret the caller found for [`Claims::access_key_id`].

mod canonical;
mod error;
#[cfg(test)]
mod tests;

pub use error::AuthError;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use subtle::ConstantTimeEq;

use crate::credentials::Credentials;
use canonical::{
    ALGORITHM, BASIC_FORMAT, CanonicalInput, TERMINATOR, UNSIGNED_PAYLOAD, canonical_request,
    first_header, payload_hash, query_param, scope, sha256_hex, signature, signing_key,
    string_to_sign,
};

/// What the verifier needs from an HTTP request.
///
/// Under HTTP/2 there is no `Host` header; the caller must then put the `:authority`
/// value into `headers` as `host`, since clients sign it under that name.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// The HTTP method, e.g. `POST`.
    pub method: &'a str,
    /// The path as received, still percent-encoded.
    pub path: &'a str,
    /// The raw query string without the `?`; empty when there is none.
    pub query: &'a str,
    /// Every header, names in any case, in arrival order; repeated names repeat.
    pub headers: &'a [(String, String)],
    /// The raw body.
    pub body: &'a [u8],
}

/// Where a request carried its signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthForm {
    /// An `Authorization` header (CloudTrail's `AuthHeader`).
    Header,
    /// Presigned `X-Amz-*` query parameters (CloudTrail's `QueryString`).
    Query,
}

/// The parsed, not yet verified, claims of a request: who says they signed it and for
/// which scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// The access key id of the credential scope.
    pub access_key_id: String,
    /// The scope's date, `YYYYMMDD`.
    pub date: String,
    /// The scope's region.
    pub region: String,
    /// The scope's service; the caller checks it is its own.
    pub service: String,
    /// `X-Amz-Security-Token`, from the header or the presigned query.
    pub session_token: Option<String>,
    /// The request's signing time (`X-Amz-Date`, else `Date`).
    pub request_time: DateTime<Utc>,
    /// Header or presigned form.
    pub form: AuthForm,
    /// `request_time` as `YYYYMMDDTHHMMSSZ`, the form that went into the string to sign.
    timestamp: String,
    /// The `SignedHeaders` value as sent.
    signed_headers: String,
    /// The signature as sent.
    signature: String,
}

/// The authentication parameters of either form, before any of them is checked.
struct RawAuth {
    form: AuthForm,
    algorithm: String,
    credential: String,
    signed_headers: String,
    signature: String,
    /// The value the request time comes from.
    date: String,
    /// Whether `date` came from the `Date` header, which may hold an HTTP date.
    date_from_http_header: bool,
    /// `X-Amz-Expires` of a presigned request.
    expires: Option<String>,
    session_token: Option<String>,
}

/// The longest `X-Amz-Expires` SigV4 allows: one week.
const MAX_EXPIRES_SECONDS: u32 = 604_800;

/// Parses a request's SigV4 authentication and runs every check that needs no secret:
/// both forms at once, no authentication, missing parts, date format, clock skew (and
/// `X-Amz-Expires` for presigned requests), `host` signed, algorithm, credential shape
/// and scope (reference §4.7 rows 1–9, in that order).
///
/// The region must be lower-case letters, digits and `-`; the service is not checked.
pub fn parse(
    req: &SignedRequest<'_>,
    now: DateTime<Utc>,
    max_skew: Duration,
) -> Result<Claims, AuthError> {
    let authorization = first_header(req.headers, "authorization");
    let query_auth = query_param(req.query, "X-Amz-Algorithm").is_some();
    let raw = match authorization {
        Some(_) if query_auth => return Err(AuthError::BothAuthForms),
        Some(value) => header_auth(value, req.headers)?,
        None if query_auth => query_auth_params(req.query)?,
        None => return Err(AuthError::MissingAuthenticationToken),
    };

    let request_time = parse_request_time(&raw.date, raw.date_from_http_header)?;
    let expires = raw.expires.as_deref().map(parse_expires).transpose()?;
    check_clock(request_time, now, max_skew, expires)?;

    if !raw
        .signed_headers
        .split(';')
        .any(|name| name.eq_ignore_ascii_case("host"))
    {
        return Err(AuthError::HostNotSigned);
    }
    if raw.algorithm != ALGORITHM {
        return Err(AuthError::IncompleteSignature(format!(
            "Unsupported AWS 'algorithm': '{}' (only {ALGORITHM} for now). ",
            raw.algorithm
        )));
    }

    // AWS ignores trailing slashes when counting the elements.
    let elements: Vec<&str> = raw.credential.trim_end_matches('/').split('/').collect();
    let [access_key_id, date, region, service, terminator] = elements[..] else {
        return Err(AuthError::IncompleteSignature(format!(
            "Credential must have exactly 5 slash-delimited elements, \
             e.g. keyid/date/region/service/term, got '{}'",
            raw.credential
        )));
    };

    let timestamp = request_time.format(BASIC_FORMAT).to_string();
    let request_date = request_time.format("%Y%m%d").to_string();
    let mut faults = String::new();
    if !is_region_like(region) {
        faults.push_str(&format!(
            "Credential should be scoped to a valid region, not '{region}'. "
        ));
    }
    if terminator != TERMINATOR {
        faults.push_str(&format!(
            "Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{terminator}'. "
        ));
    }
    if date != request_date {
        faults.push_str(&format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date \
             from HTTP: '{date}' != '{request_date}', from '{timestamp}'."
        ));
    }
    if !faults.is_empty() {
        return Err(AuthError::InvalidScope(faults));
    }

    Ok(Claims {
        access_key_id: access_key_id.to_string(),
        date: date.to_string(),
        region: region.to_string(),
        service: service.to_string(),
        session_token: raw.session_token,
        request_time,
        form: raw.form,
        timestamp,
        signed_headers: raw.signed_headers,
        signature: raw.signature,
    })
}

/// Recomputes the signature of `req` with `secret_access_key` and compares it, in
/// constant time, with the one in `claims` (which [`parse`] took from the same
/// request). A correctly signed `X-Amz-Content-SHA256` must also be the body's hash,
/// unless it is `UNSIGNED-PAYLOAD`.
pub fn verify(
    req: &SignedRequest<'_>,
    claims: &Claims,
    secret_access_key: &str,
) -> Result<(), AuthError> {
    let payload = payload_hash(req.headers, req.body);
    let canonical_request = canonical_request(&CanonicalInput {
        method: req.method,
        path: req.path,
        query: req.query,
        headers: req.headers,
        signed_headers: &claims.signed_headers,
        payload_hash: &payload,
        skip_signature_param: claims.form == AuthForm::Query,
    });
    let string_to_sign = string_to_sign(
        &claims.timestamp,
        &scope(&claims.date, &claims.region, &claims.service),
        &canonical_request,
    );
    let key = signing_key(
        secret_access_key,
        &claims.date,
        &claims.region,
        &claims.service,
    );
    let expected = signature(&key, &string_to_sign);
    if !bool::from(expected.as_bytes().ct_eq(claims.signature.as_bytes())) {
        return Err(AuthError::SignatureMismatch {
            canonical_request,
            string_to_sign,
        });
    }
    if first_header(req.headers, "x-amz-content-sha256").is_some()
        && payload != UNSIGNED_PAYLOAD
        && !payload.eq_ignore_ascii_case(&sha256_hex(req.body))
    {
        return Err(AuthError::ContentSha256Mismatch);
    }
    Ok(())
}

/// A request about to be sent by one of our own clients; [`sign`] adds to `headers`.
#[derive(Debug, Clone)]
pub struct RequestToSign<'a> {
    /// The HTTP method, e.g. `POST`.
    pub method: &'a str,
    /// `host[:port]` as it will appear in the `Host` header.
    pub host: &'a str,
    /// The path, already percent-encoded as it will be sent.
    pub path: &'a str,
    /// The query string as it will be sent, without `?`.
    pub query: &'a str,
    /// The headers to send; [`sign`] appends its own.
    pub headers: Vec<(String, String)>,
    /// The body to send.
    pub body: &'a [u8],
}

/// The headers [`sign`] signs when present — botocore's choice for a JSON request
/// (reference §1.1), plus `x-amz-content-sha256` because it replaces the body hash.
const HEADERS_TO_SIGN: [&str; 6] = [
    "content-type",
    "host",
    "x-amz-content-sha256",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-target",
];

/// Signs `req` in the header form, as botocore does: sets `X-Amz-Date`, `Host` (from
/// `req.host`, unless a `Host` header is already there), `X-Amz-Security-Token` when
/// `creds` has a session token, and `Authorization`. Signing again replaces the
/// previous date, token and signature, so a retry can be re-signed in place.
pub fn sign(
    req: &mut RequestToSign<'_>,
    creds: &Credentials,
    region: &str,
    service: &str,
    now: DateTime<Utc>,
) {
    req.headers.retain(|(name, _)| {
        !["authorization", "x-amz-date", "x-amz-security-token"]
            .iter()
            .any(|replaced| name.eq_ignore_ascii_case(replaced))
    });
    let timestamp = now.format(BASIC_FORMAT).to_string();
    let date = now.format("%Y%m%d").to_string();
    if first_header(&req.headers, "host").is_none() {
        req.headers.push(("Host".to_string(), req.host.to_string()));
    }
    req.headers
        .push(("X-Amz-Date".to_string(), timestamp.clone()));
    if let Some(token) = &creds.session_token {
        req.headers
            .push(("X-Amz-Security-Token".to_string(), token.clone()));
    }

    let mut names: Vec<String> = req
        .headers
        .iter()
        .map(|(name, _)| name.to_ascii_lowercase())
        .filter(|name| HEADERS_TO_SIGN.contains(&name.as_str()))
        .collect();
    names.sort();
    names.dedup();
    let signed_headers = names.join(";");

    let payload = payload_hash(&req.headers, req.body);
    let canonical_request = canonical_request(&CanonicalInput {
        method: req.method,
        path: req.path,
        query: req.query,
        headers: &req.headers,
        signed_headers: &signed_headers,
        payload_hash: &payload,
        skip_signature_param: false,
    });
    let scope = scope(&date, region, service);
    let string_to_sign = string_to_sign(&timestamp, &scope, &canonical_request);
    let key = signing_key(&creds.secret_access_key, &date, region, service);
    let signature = signature(&key, &string_to_sign);
    req.headers.push((
        "Authorization".to_string(),
        format!(
            "{ALGORITHM} Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            creds.access_key_id
        ),
    ));
}

/// The parameters of an `Authorization` header, or the §4.4 message naming what is
/// missing.
fn header_auth(value: &str, headers: &[(String, String)]) -> Result<RawAuth, AuthError> {
    let trimmed = value.trim();
    if !trimmed.starts_with("AWS4-") {
        return Err(AuthError::MissingAuthenticationToken);
    }
    // AWS splits on commas and spaces alike, so `,` without a space is accepted.
    let mut tokens = trimmed.split([',', ' ']).filter(|token| !token.is_empty());
    let algorithm = tokens.next().unwrap_or_default().to_string();
    let (mut credential, mut signed_headers, mut signature) = ("", "", "");
    for token in tokens {
        match token.split_once('=') {
            Some(("Credential", v)) => credential = v,
            Some(("SignedHeaders", v)) => signed_headers = v,
            Some(("Signature", v)) => signature = v,
            _ => {}
        }
    }
    // X-Amz-Date takes precedence over Date, which only an HTTP date may fill.
    let date_source = first_header(headers, "x-amz-date")
        .filter(|v| !v.is_empty())
        .map(|v| (v, false))
        .or_else(|| {
            first_header(headers, "date")
                .filter(|v| !v.is_empty())
                .map(|v| (v, true))
        });

    let mut missing = String::new();
    for (name, found) in [
        ("Credential", credential),
        ("Signature", signature),
        ("SignedHeaders", signed_headers),
    ] {
        if found.is_empty() {
            missing.push_str(&format!(
                "Authorization header requires '{name}' parameter. "
            ));
        }
    }
    if date_source.is_none() {
        missing.push_str(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ",
        );
    }
    if !missing.is_empty() {
        return Err(AuthError::IncompleteSignature(format!(
            "{missing}Authorization={value}"
        )));
    }

    let (date, date_from_http_header) = date_source.unwrap_or_default();
    Ok(RawAuth {
        form: AuthForm::Header,
        algorithm,
        credential: credential.to_string(),
        signed_headers: signed_headers.to_string(),
        signature: signature.to_string(),
        date: date.to_string(),
        date_from_http_header,
        expires: None,
        session_token: first_header(headers, "x-amz-security-token").map(str::to_string),
    })
}

/// The `X-Amz-*` parameters of a presigned request, or the message naming what is
/// missing.
fn query_auth_params(query: &str) -> Result<RawAuth, AuthError> {
    let names = [
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Signature",
        "X-Amz-SignedHeaders",
        "X-Amz-Date",
    ];
    let [algorithm, credential, signature, signed_headers, date] =
        names.map(|name| query_param(query, name).filter(|v| !v.is_empty()));
    let mut missing = String::new();
    for (name, found) in
        names
            .iter()
            .zip([&algorithm, &credential, &signature, &signed_headers, &date])
    {
        if found.is_none() {
            missing.push_str(&format!(
                "AWS query-string parameters must include '{name}'. "
            ));
        }
    }
    let (Some(algorithm), Some(credential), Some(signature), Some(signed_headers), Some(date)) =
        (algorithm, credential, signature, signed_headers, date)
    else {
        return Err(AuthError::IncompleteSignature(format!(
            "{missing}Re-examine the query-string parameters."
        )));
    };
    Ok(RawAuth {
        form: AuthForm::Query,
        algorithm,
        credential,
        signed_headers,
        signature,
        date,
        date_from_http_header: false,
        expires: query_param(query, "X-Amz-Expires"),
        session_token: query_param(query, "X-Amz-Security-Token"),
    })
}

/// The request time from `X-Amz-Date` (basic format only) or from `Date`, which may
/// also be an HTTP date such as `Sun, 30 Aug 2015 12:36:00 GMT`.
fn parse_request_time(value: &str, http_date_allowed: bool) -> Result<DateTime<Utc>, AuthError> {
    let basic = value.len() == 16
        && value.bytes().enumerate().all(|(i, b)| match i {
            8 => b == b'T',
            15 => b == b'Z',
            _ => b.is_ascii_digit(),
        });
    let parsed = if basic {
        NaiveDateTime::parse_from_str(value, BASIC_FORMAT)
            .ok()
            .map(|t| t.and_utc())
    } else if http_date_allowed {
        DateTime::parse_from_rfc2822(value)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    } else {
        None
    };
    parsed.ok_or_else(|| {
        AuthError::IncompleteSignature(format!(
            "Date must be in ISO-8601 'basic format'. Got '{value}'. \
             See http://en.wikipedia.org/wiki/ISO_8601"
        ))
    })
}

/// `X-Amz-Expires` in seconds; the texts are S3's, the one service recorded checking it.
fn parse_expires(value: &str) -> Result<u32, AuthError> {
    let invalid = |message: &str| Err(AuthError::IncompleteSignature(message.to_string()));
    let digits = value.strip_prefix('-').unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return invalid("X-Amz-Expires should be a number");
    }
    if value.starts_with('-') {
        return invalid("X-Amz-Expires must be non-negative");
    }
    match value.parse::<u32>() {
        Ok(seconds) if seconds <= MAX_EXPIRES_SECONDS => Ok(seconds),
        _ => invalid("X-Amz-Expires must be less than a week (in seconds) that is 604800"),
    }
}

/// Rejects a request time outside `now ± max_skew`; a presigned request with
/// `X-Amz-Expires` may instead be used until that many seconds after its time.
fn check_clock(
    request_time: DateTime<Utc>,
    now: DateTime<Utc>,
    max_skew: Duration,
    expires: Option<u32>,
) -> Result<(), AuthError> {
    let basic = |t: DateTime<Utc>| t.format(BASIC_FORMAT).to_string();
    let minutes = max_skew.num_minutes();
    if request_time > now + max_skew {
        return Err(AuthError::SignatureNotYetCurrent {
            request_time: basic(request_time),
            latest: basic(now + max_skew),
            now: basic(now),
            minutes,
        });
    }
    match expires {
        Some(seconds) => {
            let lifetime = Duration::seconds(i64::from(seconds));
            // Arithmetic stays on the server's clock, never on the client's date.
            if now - lifetime > request_time {
                return Err(AuthError::PresignedExpired {
                    request_time: basic(request_time),
                    earliest: basic(now - lifetime),
                    now: basic(now),
                    expires_seconds: seconds,
                });
            }
        }
        None if request_time < now - max_skew => {
            return Err(AuthError::SignatureExpired {
                request_time: basic(request_time),
                earliest: basic(now - max_skew),
                now: basic(now),
                minutes,
            });
        }
        None => {}
    }
    Ok(())
}

/// A plausible region name: non-empty, lower-case letters, digits and `-`.
fn is_region_like(region: &str) -> bool {
    !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}
