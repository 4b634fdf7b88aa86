use super::canonical::encode;
use super::*;

const ID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const LOGS_HOST: &str = "logs.us-east-1.amazonaws.com";
const BODY_B: &[u8] = br#"{"logGroupName": "my-group"}"#;

fn at(basic: &str) -> DateTime<Utc> {
    NaiveDateTime::parse_from_str(basic, BASIC_FORMAT)
        .unwrap()
        .and_utc()
}

fn five_minutes() -> Duration {
    Duration::minutes(5)
}

fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

fn post<'a>(headers: &'a [(String, String)], body: &'a [u8]) -> SignedRequest<'a> {
    SignedRequest {
        method: "POST",
        path: "/",
        query: "",
        headers,
        body,
    }
}

fn parse_at(req: &SignedRequest<'_>, now: &str) -> Result<Claims, AuthError> {
    parse(req, at(now), five_minutes())
}

fn creds(token: Option<&str>) -> Credentials {
    Credentials {
        access_key_id: ID.to_string(),
        secret_access_key: SECRET.to_string(),
        session_token: token.map(str::to_string),
    }
}

/// Vector (b)'s request with `authorization` as its `Authorization` header.
fn logs_request(authorization: &str) -> Vec<(String, String)> {
    headers(&[
        ("X-Amz-Target", "Logs_20140328.CreateLogGroup"),
        ("Content-Type", "application/x-amz-json-1.1"),
        ("Host", LOGS_HOST),
        ("X-Amz-Date", "20150830T123600Z"),
        ("Authorization", authorization),
    ])
}

const AUTH_B: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/logs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=221d669b4c70e05bce7aeadb23227709e46ffc015fbfcb79ac73c8b82233127b";

const CANONICAL_B: &str = "POST\n/\n\ncontent-type:application/x-amz-json-1.1\nhost:logs.us-east-1.amazonaws.com\nx-amz-date:20150830T123600Z\nx-amz-target:Logs_20140328.CreateLogGroup\n\ncontent-type;host;x-amz-date;x-amz-target\nf635f7e278d7800aef2276923e8db0fbf68f11dd8f257adc166fff32286d0959";

const STRING_TO_SIGN_B: &str = "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/logs/aws4_request\nce7e9c203258020c9bcd9bb0c5ca6ec4f8fb7790cbd379f6dfbd51f26e6a864d";

/// The header form with the given authorization header and date, for the parse checks.
fn with_auth(authorization: &str, date: &str) -> Vec<(String, String)> {
    headers(&[
        ("Host", LOGS_HOST),
        ("X-Amz-Date", date),
        ("Authorization", authorization),
    ])
}

fn parse_error(authorization: &str, date: &str, now: &str) -> AuthError {
    let h = with_auth(authorization, date);
    parse_at(&post(&h, b""), now).unwrap_err()
}

// ---- §4.9 test vectors ----

#[test]
fn vector_a_post_x_www_form_urlencoded() {
    let h = headers(&[
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Host", "example.amazonaws.com"),
        ("X-Amz-Date", "20150830T123600Z"),
        (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
        ),
    ]);
    let req = post(&h, b"Param1=value1");
    let claims = parse_at(&req, "20150830T123600Z").unwrap();
    assert_eq!(claims.access_key_id, ID);
    assert_eq!(claims.date, "20150830");
    assert_eq!(claims.region, "us-east-1");
    assert_eq!(claims.service, "service");
    assert_eq!(claims.session_token, None);
    assert_eq!(claims.form, AuthForm::Header);
    assert_eq!(claims.request_time, at("20150830T123600Z"));
    verify(&req, &claims, SECRET).unwrap();

    let Err(AuthError::SignatureMismatch {
        canonical_request,
        string_to_sign,
    }) = verify(&req, &claims, "wrong")
    else {
        panic!("a wrong secret must not verify");
    };
    assert_eq!(
        canonical_request,
        "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"
    );
    assert_eq!(
        string_to_sign,
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281"
    );
}

#[test]
fn vector_b_logs_request_as_botocore_signs_it() {
    let h = logs_request(AUTH_B);
    let req = post(&h, BODY_B);
    let claims = parse_at(&req, "20150830T123600Z").unwrap();
    assert_eq!(claims.service, "logs");
    verify(&req, &claims, SECRET).unwrap();
    assert_eq!(
        hex::encode(signing_key(SECRET, "20150830", "us-east-1", "logs")),
        "e331900b4b6563bb0198f704189816ba9712a0a77fbd01a6d6c3a2550a853794"
    );
}

#[test]
fn vector_b_reproduced_by_sign() {
    let mut req = RequestToSign {
        method: "POST",
        host: LOGS_HOST,
        path: "/",
        query: "",
        headers: headers(&[
            ("X-Amz-Target", "Logs_20140328.CreateLogGroup"),
            ("Content-Type", "application/x-amz-json-1.1"),
            ("User-Agent", "Botocore/1.44.8"),
        ]),
        body: BODY_B,
    };
    sign(
        &mut req,
        &creds(None),
        "us-east-1",
        "logs",
        at("20150830T123600Z"),
    );
    assert_eq!(first_header(&req.headers, "authorization"), Some(AUTH_B));
    assert_eq!(first_header(&req.headers, "host"), Some(LOGS_HOST));
    assert_eq!(
        first_header(&req.headers, "x-amz-date"),
        Some("20150830T123600Z")
    );
    assert_eq!(first_header(&req.headers, "x-amz-security-token"), None);
}

#[test]
fn mismatch_message_is_aws_text_with_canonical_strings() {
    let h = logs_request(AUTH_B);
    let req = post(&h, BODY_B);
    let claims = parse_at(&req, "20150830T123600Z").unwrap();
    let err = verify(&req, &claims, "not-the-secret").unwrap_err();
    assert_eq!(err.aws_type(), "InvalidSignatureException");
    assert_eq!(
        err.to_string(),
        format!(
            "The request signature we calculated does not match the signature you provided. \
             Check your AWS Secret Access Key and signing method. Consult the service \
             documentation for details.\n\nThe Canonical String for this request should have \
             been\n'{CANONICAL_B}'\n\nThe String-to-Sign should have been\n'{STRING_TO_SIGN_B}'\n"
        )
    );
}

// ---- signing and verifying together ----

fn signed(
    path: &'static str,
    query: &'static str,
    extra: &[(&str, &str)],
    body: &'static [u8],
    token: Option<&str>,
) -> Vec<(String, String)> {
    let mut h = headers(&[
        ("Content-Type", "application/x-amz-json-1.1"),
        ("X-Amz-Target", "Logs_20140328.PutLogEvents"),
    ]);
    h.extend(headers(extra));
    let mut req = RequestToSign {
        method: "POST",
        host: "localhost:4566",
        path,
        query,
        headers: h,
        body,
    };
    sign(
        &mut req,
        &creds(token),
        "eu-west-1",
        "logs",
        at("20260101T000000Z"),
    );
    req.headers
}

fn check(
    path: &str,
    query: &str,
    h: &[(String, String)],
    body: &[u8],
) -> Result<Claims, AuthError> {
    let req = SignedRequest {
        method: "POST",
        path,
        query,
        headers: h,
        body,
    };
    let claims = parse(&req, at("20260101T000100Z"), five_minutes())?;
    verify(&req, &claims, SECRET)?;
    Ok(claims)
}

#[test]
fn round_trip_with_session_token_path_and_query() {
    let h = signed(
        "/a%20b/./c",
        "z=1&a=x%2By",
        &[],
        b"{}",
        Some("FQoGZXIvYXdz=="),
    );
    assert_eq!(
        first_header(&h, "x-amz-security-token"),
        Some("FQoGZXIvYXdz==")
    );
    assert!(
        first_header(&h, "authorization").unwrap().contains(
            "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target,"
        )
    );
    let claims = check("/a%20b/./c", "z=1&a=x%2By", &h, b"{}").unwrap();
    assert_eq!(claims.session_token.as_deref(), Some("FQoGZXIvYXdz=="));
    assert_eq!(claims.region, "eu-west-1");
    // The same path written differently normalizes to the same canonical URI.
    check("/a%20b/c", "a=x%2By&z=1", &h, b"{}").unwrap();
}

#[test]
fn tampering_is_detected() {
    let h = signed("/", "", &[], b"{\"a\":1}", None);
    check("/", "", &h, b"{\"a\":1}").unwrap();
    let body = check("/", "", &h, b"{\"a\":2}").unwrap_err();
    assert!(matches!(body, AuthError::SignatureMismatch { .. }));

    let mut target = h.clone();
    for (name, value) in &mut target {
        if name == "X-Amz-Target" {
            *value = "Logs_20140328.DeleteLogGroup".to_string();
        }
    }
    assert!(matches!(
        check("/", "", &target, b"{\"a\":1}"),
        Err(AuthError::SignatureMismatch { .. })
    ));
    assert!(matches!(
        check("/", "x=1", &h, b"{\"a\":1}"),
        Err(AuthError::SignatureMismatch { .. })
    ));
    assert!(matches!(
        check("/other", "", &h, b"{\"a\":1}"),
        Err(AuthError::SignatureMismatch { .. })
    ));
}

#[test]
fn unsigned_headers_case_and_whitespace_do_not_matter() {
    let h = signed("/", "", &[], b"{}", None);
    let mut changed: Vec<(String, String)> = h
        .into_iter()
        .map(|(name, value)| {
            if name == "Content-Type" {
                ("CONTENT-TYPE".to_string(), format!("  {value}   "))
            } else {
                (name, value)
            }
        })
        .collect();
    changed.push(("User-Agent".to_string(), "anything".to_string()));
    changed.push((
        "amz-sdk-request".to_string(),
        "attempt=2; max=3".to_string(),
    ));
    check("/", "", &changed, b"{}").unwrap();
}

#[test]
fn repeated_headers_are_joined_in_arrival_order() {
    let h = signed("/", "", &[("X-Amz-Target", "second")], b"{}", None);
    check("/", "", &h, b"{}").unwrap();
    let claims = parse(&post(&h, b"{}"), at("20260101T000000Z"), five_minutes()).unwrap();
    let Err(AuthError::SignatureMismatch {
        canonical_request, ..
    }) = verify(&post(&h, b"{}"), &claims, "wrong")
    else {
        panic!("a wrong secret must not verify");
    };
    assert!(canonical_request.contains("\nx-amz-target:Logs_20140328.PutLogEvents,second\n"));
    let swapped: Vec<(String, String)> = h
        .iter()
        .map(|(n, v)| match v.as_str() {
            "second" => (n.clone(), "Logs_20140328.PutLogEvents".to_string()),
            "Logs_20140328.PutLogEvents" => (n.clone(), "second".to_string()),
            _ => (n.clone(), v.clone()),
        })
        .collect();
    assert!(matches!(
        check("/", "", &swapped, b"{}"),
        Err(AuthError::SignatureMismatch { .. })
    ));
}

#[test]
fn signing_again_replaces_the_old_signature() {
    let mut req = RequestToSign {
        method: "POST",
        host: LOGS_HOST,
        path: "/",
        query: "",
        headers: headers(&[("Content-Type", "application/x-amz-json-1.1")]),
        body: b"{}",
    };
    sign(
        &mut req,
        &creds(Some("t1")),
        "us-east-1",
        "logs",
        at("20260101T000000Z"),
    );
    sign(
        &mut req,
        &creds(Some("t2")),
        "us-east-1",
        "logs",
        at("20260101T000100Z"),
    );
    for name in [
        "authorization",
        "x-amz-date",
        "x-amz-security-token",
        "host",
    ] {
        let count = req
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .count();
        assert_eq!(count, 1, "{name}");
    }
    assert_eq!(
        first_header(&req.headers, "x-amz-security-token"),
        Some("t2")
    );
    let claims = parse(
        &post(&req.headers, b"{}"),
        at("20260101T000100Z"),
        five_minutes(),
    )
    .unwrap();
    verify(&post(&req.headers, b"{}"), &claims, SECRET).unwrap();
}

#[test]
fn existing_host_header_is_kept() {
    let h = signed("/", "", &[("host", "127.0.0.1:9999")], b"{}", None);
    assert_eq!(first_header(&h, "host"), Some("127.0.0.1:9999"));
    assert_eq!(
        h.iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("host"))
            .count(),
        1
    );
    check("/", "", &h, b"{}").unwrap();
}

#[test]
fn content_sha256_header() {
    // UNSIGNED-PAYLOAD leaves the body out of the signature.
    let h = signed(
        "/",
        "",
        &[("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD")],
        b"{}",
        None,
    );
    assert!(
        first_header(&h, "authorization")
            .unwrap()
            .contains("x-amz-content-sha256")
    );
    check("/", "", &h, b"{}").unwrap();
    check("/", "", &h, b"{\"other\":1}").unwrap();

    // A real hash is the payload line, and must be the body's.
    let hash = sha256_hex(b"{}");
    let h = headers(&[("x-amz-content-sha256", hash.as_str())]);
    let mut req = RequestToSign {
        method: "POST",
        host: LOGS_HOST,
        path: "/",
        query: "",
        headers: h,
        body: b"{}",
    };
    sign(
        &mut req,
        &creds(None),
        "eu-west-1",
        "logs",
        at("20260101T000000Z"),
    );
    check("/", "", &req.headers, b"{}").unwrap();
    let err = check("/", "", &req.headers, b"{\"x\":1}").unwrap_err();
    assert_eq!(err, AuthError::ContentSha256Mismatch);
    assert_eq!(err.aws_type(), "InvalidSignatureException");
}

#[test]
fn date_header_fallback() {
    let h = headers(&[
        ("Host", LOGS_HOST),
        ("Date", "Sun, 30 Aug 2015 12:36:00 GMT"),
    ]);
    let canonical = canonical_request(&CanonicalInput {
        method: "POST",
        path: "/",
        query: "",
        headers: &h,
        signed_headers: "date;host",
        payload_hash: &sha256_hex(b""),
        skip_signature_param: false,
    });
    let sts = string_to_sign(
        "20150830T123600Z",
        &scope("20150830", "us-east-1", "logs"),
        &canonical,
    );
    let sig = signature(&signing_key(SECRET, "20150830", "us-east-1", "logs"), &sts);
    let mut h = h;
    h.push((
        "Authorization".to_string(),
        format!(
            "AWS4-HMAC-SHA256 Credential={ID}/20150830/us-east-1/logs/aws4_request, SignedHeaders=date;host, Signature={sig}"
        ),
    ));
    let req = post(&h, b"");
    let claims = parse_at(&req, "20150830T123700Z").unwrap();
    assert_eq!(claims.request_time, at("20150830T123600Z"));
    verify(&req, &claims, SECRET).unwrap();

    // X-Amz-Date wins when both are present.
    h.push(("X-Amz-Date".to_string(), "20150830T120000Z".to_string()));
    assert!(matches!(
        parse_at(&post(&h, b""), "20150830T123700Z"),
        Err(AuthError::SignatureExpired { .. })
    ));
}

#[test]
fn authorization_separators_are_forgiving() {
    let compact = AUTH_B.replace(", ", ",");
    let h = logs_request(&compact);
    let req = post(&h, BODY_B);
    let claims = parse_at(&req, "20150830T123600Z").unwrap();
    verify(&req, &claims, SECRET).unwrap();
    let h = logs_request(&format!("  {AUTH_B}  "));
    parse_at(&post(&h, BODY_B), "20150830T123600Z").unwrap();
}

// ---- §4.7 checks, one by one ----

#[test]
fn row1_both_forms() {
    let h = logs_request(AUTH_B);
    let req = SignedRequest {
        query: "X-Amz-Algorithm=AWS4-HMAC-SHA256",
        ..post(&h, BODY_B)
    };
    let err = parse_at(&req, "20150830T123600Z").unwrap_err();
    assert_eq!(err, AuthError::BothAuthForms);
    assert_eq!(err.aws_type(), "InvalidSignatureException");
    assert_eq!(
        err.to_string(),
        "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."
    );
}

#[test]
fn row2_missing_authentication_token() {
    let h = headers(&[("Host", LOGS_HOST), ("X-Amz-Date", "20150830T123600Z")]);
    let err = parse_at(&post(&h, b""), "20150830T123600Z").unwrap_err();
    assert_eq!(err, AuthError::MissingAuthenticationToken);
    assert_eq!(err.aws_type(), "MissingAuthenticationTokenException");
    assert_eq!(err.to_string(), "Request is missing Authentication Token");
    for other in ["Basic dXNlcjpwYXNz", "AWS AKID:sig", ""] {
        assert_eq!(
            parse_error(other, "20150830T123600Z", "20150830T123600Z"),
            AuthError::MissingAuthenticationToken,
            "{other}"
        );
    }
    // Other query parameters are not authentication.
    let req = SignedRequest {
        query: "X-Amz-Credential=x",
        ..post(&h, b"")
    };
    assert_eq!(
        parse_at(&req, "20150830T123600Z").unwrap_err(),
        AuthError::MissingAuthenticationToken
    );
}

#[test]
fn row3_incomplete_header() {
    let h = headers(&[
        ("Host", LOGS_HOST),
        ("Authorization", "AWS4-HMAC-SHA256 SignedHeaders=host"),
    ]);
    let err = parse_at(&post(&h, b""), "20150830T123600Z").unwrap_err();
    assert_eq!(err.aws_type(), "IncompleteSignatureException");
    assert_eq!(
        err.to_string(),
        "Authorization header requires 'Credential' parameter. \
         Authorization header requires 'Signature' parameter. \
         Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. \
         Authorization=AWS4-HMAC-SHA256 SignedHeaders=host"
    );
    let err = parse_error(
        "AWS4-HMAC-SHA256 Credential=a/b/c/d/e, Signature=",
        "20150830T123600Z",
        "20150830T123600Z",
    );
    assert_eq!(
        err.to_string(),
        "Authorization header requires 'Signature' parameter. \
         Authorization header requires 'SignedHeaders' parameter. \
         Authorization=AWS4-HMAC-SHA256 Credential=a/b/c/d/e, Signature="
    );
}

#[test]
fn row3_incomplete_query() {
    let h = headers(&[("Host", LOGS_HOST)]);
    let req = SignedRequest {
        method: "GET",
        query: "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20150830T123600Z&X-Amz-Signature=",
        ..post(&h, b"")
    };
    let err = parse_at(&req, "20150830T123600Z").unwrap_err();
    assert_eq!(err.aws_type(), "IncompleteSignatureException");
    assert_eq!(
        err.to_string(),
        "AWS query-string parameters must include 'X-Amz-Credential'. \
         AWS query-string parameters must include 'X-Amz-Signature'. \
         AWS query-string parameters must include 'X-Amz-SignedHeaders'. \
         Re-examine the query-string parameters."
    );
}

#[test]
fn row4_date_format() {
    let auth = AUTH_B;
    for bad in [
        "2015-08-30T12:36:00Z",
        "20150830T123600",
        "20151330T123600Z",
        "2015083OT123600Z",
        "Sun, 30 Aug 2015 12:36:00 GMT",
    ] {
        let err = parse_error(auth, bad, "20150830T123600Z");
        assert_eq!(err.aws_type(), "IncompleteSignatureException");
        assert_eq!(
            err.to_string(),
            format!(
                "Date must be in ISO-8601 'basic format'. Got '{bad}'. See http://en.wikipedia.org/wiki/ISO_8601"
            )
        );
    }
    let h = headers(&[
        ("Host", LOGS_HOST),
        ("Date", "yesterday"),
        ("Authorization", AUTH_B),
    ]);
    assert_eq!(
        parse_at(&post(&h, b""), "20150830T123600Z")
            .unwrap_err()
            .to_string(),
        "Date must be in ISO-8601 'basic format'. Got 'yesterday'. See http://en.wikipedia.org/wiki/ISO_8601"
    );
}

#[test]
fn row5_signature_expired() {
    // The message AWS Logs returned (reference §4.8).
    let auth = AUTH_B.replace("20150830", "20160504");
    let err = parse_error(&auth, "20160504T004903Z", "20160504T005633Z");
    assert_eq!(err.aws_type(), "InvalidSignatureException");
    assert_eq!(
        err.to_string(),
        "Signature expired: 20160504T004903Z is now earlier than 20160504T005133Z \
         (20160504T005633Z - 5 min.)"
    );
    // Exactly at the limit is still accepted.
    let h = with_auth(&auth, "20160504T004903Z");
    assert!(parse_at(&post(&h, b""), "20160504T005403Z").is_ok());
    assert!(matches!(
        parse_at(&post(&h, b""), "20160504T005404Z"),
        Err(AuthError::SignatureExpired { .. })
    ));
}

#[test]
fn row5_signature_not_yet_current() {
    let err = parse_error(AUTH_B, "20150830T124200Z", "20150830T123600Z");
    assert_eq!(err.aws_type(), "InvalidSignatureException");
    assert_eq!(
        err.to_string(),
        "Signature not yet current: 20150830T124200Z is still later than 20150830T124100Z \
         (20150830T123600Z + 5 min.)"
    );
    let h = with_auth(AUTH_B, "20150830T124100Z");
    assert!(parse_at(&post(&h, b""), "20150830T123600Z").is_ok());
}

#[test]
fn row5_skew_window_is_the_callers() {
    let h = with_auth(AUTH_B, "20150830T123600Z");
    let err = parse(
        &post(&h, b""),
        at("20150830T130000Z"),
        Duration::minutes(15),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Signature expired: 20150830T123600Z is now earlier than 20150830T124500Z \
         (20150830T130000Z - 15 min.)"
    );
}

#[test]
fn row6_host_must_be_signed() {
    let auth = AUTH_B.replace(
        "content-type;host;x-amz-date;x-amz-target",
        "content-type;x-amz-date",
    );
    let err = parse_error(&auth, "20150830T123600Z", "20150830T123600Z");
    assert_eq!(err, AuthError::HostNotSigned);
    assert_eq!(err.aws_type(), "InvalidSignatureException");
    assert_eq!(
        err.to_string(),
        "'Host' must be a 'SignedHeader' in the AWS Authorization."
    );
    // The check ignores case.
    let auth = AUTH_B.replace("content-type;host;", "content-type;HOST;");
    assert!(
        parse_at(
            &post(&with_auth(&auth, "20150830T123600Z"), b""),
            "20150830T123600Z"
        )
        .is_ok()
    );
}

#[test]
fn row7_algorithm() {
    let auth = AUTH_B.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512");
    let err = parse_error(&auth, "20150830T123600Z", "20150830T123600Z");
    assert_eq!(err.aws_type(), "IncompleteSignatureException");
    assert_eq!(
        err.to_string(),
        "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now). "
    );
}

#[test]
fn row8_credential_shape() {
    let auth = AUTH_B.replace("/logs/aws4_request", "/logs");
    let err = parse_error(&auth, "20150830T123600Z", "20150830T123600Z");
    assert_eq!(err.aws_type(), "IncompleteSignatureException");
    assert_eq!(
        err.to_string(),
        "Credential must have exactly 5 slash-delimited elements, e.g. \
         keyid/date/region/service/term, got 'AKIDEXAMPLE/20150830/us-east-1/logs'"
    );
    let auth = AUTH_B.replace("/aws4_request", "/aws4_request/extra");
    assert!(matches!(
        parse_error(&auth, "20150830T123600Z", "20150830T123600Z"),
        AuthError::IncompleteSignature(_)
    ));
    // Trailing slashes are ignored.
    let auth = AUTH_B.replace("/aws4_request", "/aws4_request//");
    let claims = parse_at(
        &post(&with_auth(&auth, "20150830T123600Z"), b""),
        "20150830T123600Z",
    )
    .unwrap();
    assert_eq!(claims.service, "logs");
}

#[test]
fn row9_scope() {
    let auth = AUTH_B.replace(
        "AKIDEXAMPLE/20150830/us-east-1/logs/aws4_request",
        "AKIDEXAMPLE/20150831/US-EAST-1/logs/aws4_requests",
    );
    let err = parse_error(&auth, "20150830T123600Z", "20150830T123600Z");
    assert_eq!(err.aws_type(), "InvalidSignatureException");
    assert_eq!(
        err.to_string(),
        "Credential should be scoped to a valid region, not 'US-EAST-1'. \
         Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4_requests'. \
         Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from \
         HTTP: '20150831' != '20150830', from '20150830T123600Z'."
    );
    let auth = AUTH_B.replace("/us-east-1/", "//");
    assert_eq!(
        parse_error(&auth, "20150830T123600Z", "20150830T123600Z").to_string(),
        "Credential should be scoped to a valid region, not ''. "
    );
    // Any service and any region-like name pass; the caller decides about them.
    let auth = AUTH_B.replace("/us-east-1/logs/", "/local-1/cloudtrail/");
    let claims = parse_at(
        &post(&with_auth(&auth, "20150830T123600Z"), b""),
        "20150830T123600Z",
    )
    .unwrap();
    assert_eq!(
        (claims.region.as_str(), claims.service.as_str()),
        ("local-1", "cloudtrail")
    );
}

#[test]
fn checks_run_in_aws_order() {
    // Everything wrong at once: the date format is reported first...
    let all_wrong = "AWS4-HMAC-SHA1 Credential=a/b, SignedHeaders=x, Signature=00";
    assert!(matches!(
        parse_error(all_wrong, "garbage", "20150830T123600Z"),
        AuthError::IncompleteSignature(m) if m.starts_with("Date must be")
    ));
    // ...then clock skew...
    assert!(matches!(
        parse_error(all_wrong, "20150830T100000Z", "20150830T123600Z"),
        AuthError::SignatureExpired { .. }
    ));
    // ...then host...
    assert_eq!(
        parse_error(all_wrong, "20150830T123600Z", "20150830T123600Z"),
        AuthError::HostNotSigned
    );
    // ...then the algorithm...
    let signed_host = "AWS4-HMAC-SHA1 Credential=a/b, SignedHeaders=host, Signature=00";
    assert!(matches!(
        parse_error(signed_host, "20150830T123600Z", "20150830T123600Z"),
        AuthError::IncompleteSignature(m) if m.starts_with("Unsupported AWS 'algorithm'")
    ));
    // ...then the credential shape.
    let good_alg = "AWS4-HMAC-SHA256 Credential=a/b, SignedHeaders=host, Signature=00";
    assert!(matches!(
        parse_error(good_alg, "20150830T123600Z", "20150830T123600Z"),
        AuthError::IncompleteSignature(m) if m.starts_with("Credential must have")
    ));
}

#[test]
fn session_token_from_header() {
    let mut h = logs_request(AUTH_B);
    h.push(("X-Amz-Security-Token".to_string(), "tok".to_string()));
    let claims = parse_at(&post(&h, BODY_B), "20150830T123600Z").unwrap();
    assert_eq!(claims.session_token.as_deref(), Some("tok"));
}

// ---- presigned form ----

/// A presigned GET for `host` at `date`, with the given extra parameters before
/// signing.
fn presigned(date: &str, params: &str, token: Option<&str>) -> String {
    let day = &date[..8];
    let mut query = format!(
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={ID}%2F{day}%2Fus-east-1%2Flogs%2Faws4_request\
         &X-Amz-Date={date}&X-Amz-SignedHeaders=host{params}"
    );
    if let Some(token) = token {
        query.push_str(&format!(
            "&X-Amz-Security-Token={}",
            encode(token.as_bytes())
        ));
    }
    let h = headers(&[("Host", LOGS_HOST)]);
    let canonical = canonical_request(&CanonicalInput {
        method: "GET",
        path: "/",
        query: &query,
        headers: &h,
        signed_headers: "host",
        payload_hash: &sha256_hex(b""),
        skip_signature_param: true,
    });
    let sts = string_to_sign(date, &scope(day, "us-east-1", "logs"), &canonical);
    let sig = signature(&signing_key(SECRET, day, "us-east-1", "logs"), &sts);
    format!("{query}&X-Amz-Signature={sig}")
}

fn presigned_check(query: &str, now: &str) -> Result<Claims, AuthError> {
    let h = headers(&[("Host", LOGS_HOST), ("User-Agent", "curl")]);
    let req = SignedRequest {
        method: "GET",
        path: "/",
        query,
        headers: &h,
        body: b"",
    };
    let claims = parse_at(&req, now)?;
    verify(&req, &claims, SECRET)?;
    Ok(claims)
}

#[test]
fn presigned_success() {
    let query = presigned("20150830T123600Z", "&X-Amz-Expires=3600", Some("tok/+="));
    let claims = presigned_check(&query, "20150830T130000Z").unwrap();
    assert_eq!(claims.form, AuthForm::Query);
    assert_eq!(claims.session_token.as_deref(), Some("tok/+="));
    assert_eq!(claims.access_key_id, ID);
    // Still valid at the last second of its lifetime.
    presigned_check(&query, "20150830T133600Z").unwrap();
}

#[test]
fn presigned_expiry() {
    let query = presigned("20150830T123600Z", "&X-Amz-Expires=3600", None);
    let err = presigned_check(&query, "20150830T133601Z").unwrap_err();
    assert_eq!(err.aws_type(), "InvalidSignatureException");
    assert_eq!(
        err.to_string(),
        "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z \
         (20150830T133601Z - 3600 sec.)"
    );
    // Without X-Amz-Expires the ordinary clock skew applies.
    let query = presigned("20150830T123600Z", "", None);
    presigned_check(&query, "20150830T124000Z").unwrap();
    assert!(matches!(
        presigned_check(&query, "20150830T124200Z"),
        Err(AuthError::SignatureExpired { .. })
    ));
    // A date in the future is refused whatever the lifetime.
    let query = presigned("20150830T130000Z", "&X-Amz-Expires=3600", None);
    assert!(matches!(
        presigned_check(&query, "20150830T123600Z"),
        Err(AuthError::SignatureNotYetCurrent { .. })
    ));
}

#[test]
fn presigned_expires_must_be_valid() {
    for (value, message) in [
        ("abc", "X-Amz-Expires should be a number"),
        ("", "X-Amz-Expires should be a number"),
        ("-5", "X-Amz-Expires must be non-negative"),
        (
            "604801",
            "X-Amz-Expires must be less than a week (in seconds) that is 604800",
        ),
        (
            "99999999999999999999",
            "X-Amz-Expires must be less than a week (in seconds) that is 604800",
        ),
    ] {
        let query = presigned("20150830T123600Z", &format!("&X-Amz-Expires={value}"), None);
        let err = presigned_check(&query, "20150830T123600Z").unwrap_err();
        assert_eq!(err.aws_type(), "IncompleteSignatureException", "{value}");
        assert_eq!(err.to_string(), message, "{value}");
    }
    let query = presigned("20150830T123600Z", "&X-Amz-Expires=604800", None);
    presigned_check(&query, "20150906T123600Z").unwrap();
}

#[test]
fn presigned_tampering_is_detected() {
    let query = presigned("20150830T123600Z", "&X-Amz-Expires=60&Action=Get", None);
    presigned_check(&query, "20150830T123600Z").unwrap();
    let changed = query.replace("Action=Get", "Action=Delete");
    assert!(matches!(
        presigned_check(&changed, "20150830T123600Z"),
        Err(AuthError::SignatureMismatch { .. })
    ));
    let longer = query.replace("X-Amz-Expires=60", "X-Amz-Expires=600");
    assert!(matches!(
        presigned_check(&longer, "20150830T123600Z"),
        Err(AuthError::SignatureMismatch { .. })
    ));
}

#[test]
fn presigned_checks_share_the_header_rules() {
    let query = presigned("20150830T123600Z", "", None)
        .replace("SignedHeaders=host", "SignedHeaders=x-amz-date");
    assert_eq!(
        presigned_check(&query, "20150830T123600Z").unwrap_err(),
        AuthError::HostNotSigned
    );
    let query = presigned("20150830T123600Z", "", None)
        .replace("X-Amz-Date=20150830T123600Z", "X-Amz-Date=now");
    assert!(matches!(
        presigned_check(&query, "20150830T123600Z"),
        Err(AuthError::IncompleteSignature(m)) if m.starts_with("Date must be")
    ));
}

// ---- requests signed by botocore 1.43 itself (SigV4Auth and SigV4QueryAuth) ----

#[test]
fn botocore_header_form_with_path_query_and_token() {
    let h = headers(&[
        ("Content-Type", "application/x-amz-json-1.1"),
        ("X-Amz-Target", "Logs_20140328.PutLogEvents"),
        ("X-Amz-Date", "20261127T105442Z"),
        ("X-Amz-Security-Token", "tok/en+="),
        (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261127/eu-west-1/logs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature=51b0c88eeb808db5e8c241bedbb8ed1c9db150a02cde549b3d36bf59628ecc37",
        ),
        ("Host", "localhost:4566"),
    ]);
    let req = SignedRequest {
        method: "POST",
        path: "/a%20b/c%2Fd/",
        query: "z=1&a=x%2By&e=",
        headers: &h,
        body: br#"{"k": "v"}"#,
    };
    let claims = parse_at(&req, "20261127T105442Z").unwrap();
    assert_eq!(claims.session_token.as_deref(), Some("tok/en+="));
    verify(&req, &claims, SECRET).unwrap();

    let mut ours = RequestToSign {
        method: "POST",
        host: "localhost:4566",
        path: req.path,
        query: req.query,
        headers: headers(&[
            ("Content-Type", "application/x-amz-json-1.1"),
            ("X-Amz-Target", "Logs_20140328.PutLogEvents"),
        ]),
        body: req.body,
    };
    sign(
        &mut ours,
        &creds(Some("tok/en+=")),
        "eu-west-1",
        "logs",
        at("20261127T105442Z"),
    );
    assert_eq!(
        first_header(&ours.headers, "authorization"),
        first_header(&h, "authorization")
    );
}

#[test]
fn botocore_presigned_url() {
    let query = "Action=Get&x=a%20b&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20261127%2Fus-east-1%2Flogs%2Faws4_request&X-Amz-Date=20261127T105442Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Security-Token=tok%2Fen%2B%3D&X-Amz-Signature=f7332825aa5c588d722dba5614956c773908a492f5e986bb064374a9e7918811";
    let claims = presigned_check(query, "20261127T110000Z").unwrap();
    assert_eq!(claims.session_token.as_deref(), Some("tok/en+="));
    assert!(matches!(
        presigned_check(query, "20261127T111000Z"),
        Err(AuthError::PresignedExpired { .. })
    ));
}
