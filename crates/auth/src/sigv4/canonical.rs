//! The pieces of SigV4 that signer and verifier must compute byte for byte alike:
//! canonical URI, query and headers, the payload line, the string to sign and the
//! signing key (reference §4.1–§4.3).

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The only algorithm SigV4 defines.
pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The fixed last element of every credential scope.
pub(crate) const TERMINATOR: &str = "aws4_request";
/// The payload line a client uses when it chose not to hash the body.
pub(crate) const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// `YYYYMMDDTHHMMSSZ`, the only timestamp form that goes into a string to sign.
pub(crate) const BASIC_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// Lower-case hex SHA-256 of `data`.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// `kSigning` of §4.3: the key derived from the secret for one day, region and service.
pub(crate) fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    hmac_sha256(&k_service, TERMINATOR.as_bytes())
}

/// Lower-case hex signature of `string_to_sign` under `key`.
pub(crate) fn signature(key: &[u8; 32], string_to_sign: &str) -> String {
    hex::encode(hmac_sha256(key, string_to_sign.as_bytes()))
}

/// The credential scope `<date>/<region>/<service>/aws4_request`.
pub(crate) fn scope(date: &str, region: &str, service: &str) -> String {
    format!("{date}/{region}/{service}/{TERMINATOR}")
}

/// The string to sign of §4.2.
pub(crate) fn string_to_sign(timestamp: &str, scope: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{timestamp}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// Everything that goes into a canonical request, borrowed from the request at hand.
pub(crate) struct CanonicalInput<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a [(String, String)],
    /// The `SignedHeaders` value exactly as the client sent it.
    pub signed_headers: &'a str,
    pub payload_hash: &'a str,
    /// Presigned requests carry their own signature in the query; it is not signed.
    pub skip_signature_param: bool,
}

/// The canonical request of §4.1.
pub(crate) fn canonical_request(input: &CanonicalInput<'_>) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(&input.method.to_ascii_uppercase());
    out.push('\n');
    out.push_str(&canonical_uri(input.path));
    out.push('\n');
    out.push_str(&canonical_query(input.query, input.skip_signature_param));
    out.push('\n');
    for name in input.signed_headers.split(';') {
        let name = name.to_ascii_lowercase();
        out.push_str(&name);
        out.push(':');
        out.push_str(&header_value(input.headers, &name));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(input.signed_headers);
    out.push('\n');
    out.push_str(input.payload_hash);
    out
}

/// The payload line: the client's `X-Amz-Content-SHA256` claim when it made one
/// (botocore uses it verbatim), otherwise the hash of the body.
pub(crate) fn payload_hash(headers: &[(String, String)], body: &[u8]) -> String {
    match first_header(headers, "x-amz-content-sha256") {
        Some(claimed) => claimed.trim().to_string(),
        None => sha256_hex(body),
    }
}

/// The first value of header `name` (case-insensitive).
pub(crate) fn first_header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// All values of header `name`, each trimmed with inner whitespace runs folded to one
/// space, joined with `,` in arrival order — botocore's `' '.join(value.split())`.
fn header_value(headers: &[(String, String)], name: &str) -> String {
    let mut out = String::new();
    let mut first = true;
    for (_, value) in headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)) {
        if !first {
            out.push(',');
        }
        first = false;
        let mut words = value.split_whitespace();
        if let Some(word) = words.next() {
            out.push_str(word);
            for word in words {
                out.push(' ');
                out.push_str(word);
            }
        }
    }
    out
}

/// The canonical URI for services other than S3: dot segments and empty segments
/// removed, then the already percent-encoded path encoded once more, as botocore
/// (`quote(normalize_url_path(path), safe='/~')`) and the Rust SDK's double-encoding
/// mode both do.
pub(crate) fn canonical_uri(raw_path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in raw_path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut normalized = String::with_capacity(raw_path.len() + 1);
    normalized.push('/');
    normalized.push_str(&segments.join("/"));
    if raw_path.ends_with('/') && !normalized.ends_with('/') {
        normalized.push('/');
    }
    let mut out = String::with_capacity(normalized.len());
    for &byte in normalized.as_bytes() {
        if byte == b'/' {
            out.push('/');
        } else {
            push_encoded(&mut out, byte);
        }
    }
    out
}

/// The canonical query string: every pair decoded and re-encoded with SigV4's rules,
/// sorted by name then value. A `+` is read as a space, as form decoding (and the Rust
/// SDK's signer) reads it.
pub(crate) fn canonical_query(raw_query: &str, skip_signature_param: bool) -> String {
    let mut pairs: Vec<(String, String)> = query_pairs(raw_query)
        .filter(|(name, _)| !(skip_signature_param && name.as_slice() == b"X-Amz-Signature"))
        .map(|(name, value)| (encode(&name), encode(&value)))
        .collect();
    pairs.sort();
    let mut out = String::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// The decoded `(name, value)` pairs of a raw query string, in order; a pair without
/// `=` has an empty value.
pub(crate) fn query_pairs(raw_query: &str) -> impl Iterator<Item = (Vec<u8>, Vec<u8>)> + '_ {
    raw_query
        .split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
            (decode(name), decode(value))
        })
}

/// The decoded value of query parameter `name` (case-sensitive, as AWS's are).
pub(crate) fn query_param(raw_query: &str, name: &str) -> Option<String> {
    query_pairs(raw_query)
        .find(|(n, _)| n.as_slice() == name.as_bytes())
        .map(|(_, v)| String::from_utf8_lossy(&v).into_owned())
}

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~')
}

fn push_encoded(out: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    if is_unreserved(byte) {
        out.push(char::from(byte));
    } else {
        out.push('%');
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
}

/// SigV4's URI encoding: everything but `A–Z a–z 0–9 - _ . ~` as `%XX`, hex upper case.
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &byte in bytes {
        push_encoded(&mut out, byte);
    }
    out
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes `s`, reading `+` as a space; a malformed escape stays as it is.
fn decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let escaped = bytes
                    .get(i + 1)
                    .and_then(|&h| hex_value(h))
                    .zip(bytes.get(i + 2).and_then(|&l| hex_value(l)));
                if let Some((high, low)) = escaped {
                    out.push(high << 4 | low);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_is_normalized_and_encoded_twice() {
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/"), "/");
        assert_eq!(canonical_uri("/a/./b/../c"), "/a/c");
        assert_eq!(canonical_uri("//a//b//"), "/a/b/");
        assert_eq!(canonical_uri("/../.."), "/");
        assert_eq!(canonical_uri("/example%20space/"), "/example%2520space/");
        assert_eq!(canonical_uri("/a~b_c-d.e"), "/a~b_c-d.e");
        assert_eq!(canonical_uri("/a%2Fb"), "/a%252Fb");
        assert_eq!(canonical_uri("/ü"), "/%C3%BC");
    }

    #[test]
    fn query_is_decoded_reencoded_and_sorted() {
        assert_eq!(canonical_query("", false), "");
        assert_eq!(canonical_query("b=2&a=1&a=0", false), "a=0&a=1&b=2");
        assert_eq!(canonical_query("flag&x=", false), "flag=&x=");
        assert_eq!(canonical_query("k=a+b%20c", false), "k=a%20b%20c");
        assert_eq!(canonical_query("k=%2f%7e*", false), "k=%2F~%2A");
        assert_eq!(canonical_query("k=100%", false), "k=100%25");
        assert_eq!(
            canonical_query("X-Amz-Signature=abc&Z=1", true),
            "Z=1",
            "the presigned signature is left out"
        );
        assert_eq!(
            canonical_query("X-Amz-Signature=abc", false),
            "X-Amz-Signature=abc"
        );
        // Sorting is by encoded name: '%' sorts before letters.
        assert_eq!(canonical_query("a=1&%20=2", false), "%20=2&a=1");
    }

    #[test]
    fn header_values_are_folded_and_joined() {
        let headers = vec![
            ("My-Header".to_string(), "  a   b \t c ".to_string()),
            ("my-header".to_string(), "second".to_string()),
            ("Empty".to_string(), "   ".to_string()),
        ];
        assert_eq!(header_value(&headers, "my-header"), "a b c,second");
        assert_eq!(header_value(&headers, "empty"), "");
        assert_eq!(header_value(&headers, "absent"), "");
    }

    #[test]
    fn payload_hash_prefers_the_claimed_hash() {
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(payload_hash(&[], b""), empty);
        let claimed = vec![(
            "X-Amz-Content-SHA256".to_string(),
            UNSIGNED_PAYLOAD.to_string(),
        )];
        assert_eq!(payload_hash(&claimed, b"body"), UNSIGNED_PAYLOAD);
    }

    #[test]
    fn intermediate_keys_of_vector_a() {
        let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), b"20150830");
        let k_region = hmac_sha256(&k_date, b"us-east-1");
        assert_eq!(
            hex::encode(k_region),
            "f33d5808504bf34812e5fade63308b424b244c59189be2a591dd2282c7cb563f"
        );
        let k_service = hmac_sha256(&k_region, b"service");
        assert_eq!(
            hex::encode(k_service),
            "f7fd819348e53789a8474fb1aebea778f5af85c40612e0f064eecd5642c81bc1"
        );
        assert_eq!(
            hex::encode(signing_key(secret, "20150830", "us-east-1", "service")),
            "938127b5336810ddb6a5d6af445fcac9e371f9ed418ed386b022aed82901be75"
        );
    }
}
