//! The Insights functions DataFusion has no equivalent for, as scalar UDFs: IP addresses,
//! some string functions, JSON, `parseDate`/`formatDate` and `haversine`.
//!
//! User data is arbitrary, so nothing here fails on a value: an address, base64 text,
//! JSON or date that does not parse gives `NULL`, and the predicates give 0. Predicates
//! return `Int64` 1/0 like the planner's other boolean-like functions.
//!
//! Maps and lists from `jsonParse` are carried as compact JSON text (keys in their
//! original order); the planner reads members and elements out of that text, and
//! [`Op::JsonElements`] turns it into a list for `unnest`. `split` makes a real
//! `List<Utf8>`.
//!
//! Choices where AWS documents nothing:
//! - `isPrivateIP`: RFC 1918 (`10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`) and the
//!   IPv6 unique local block `fc00::/7`.
//! - `isReservedIP`: the blocks of the IANA IPv4 and IPv6 special-purpose address
//!   registries (which include the private ones), plus multicast (`224.0.0.0/4`,
//!   `ff00::/8`) and `240.0.0.0/4`; the list is `RESERVED_V4` and `RESERVED_V6` below.
//! - `isPublicIP`: a valid address that is neither private nor reserved.
//! - These three judge an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) by its IPv4
//!   address. The subnet tests do not: an address and a CIDR of different families never
//!   match. A CIDR without `/n` is a single address; host bits after the prefix are
//!   ignored.
//! - `urlencode` keeps RFC 3986's unreserved characters and percent-encodes every other
//!   UTF-8 byte (a space becomes `%20`); `urldecode` also reads `+` as a space, as query
//!   strings write it, and leaves malformed `%` escapes as they are.
//! - `base64encode`/`base64decode` use the standard alphabet; decoding accepts text with
//!   or without padding and gives `NULL` unless the bytes are UTF-8.
//! - `split` cuts at every occurrence of the delimiter, taken literally, keeping empty
//!   parts; an empty delimiter splits into characters.
//! - `hexToAscii` and `hexToDec` accept an optional `0x`; `hexToDec` gives `NULL` past
//!   the signed 64-bit range. `decToHex` writes lowercase digits and negative numbers in
//!   two's complement (`-1` is `0xffffffffffffffff`); a fraction gives `NULL`.
//! - `isNumeric` accepts decimal numbers with an optional sign, fraction and exponent,
//!   without surrounding spaces.
//! - `jsonArrayContains` matches a string element by its exact text and a number also by
//!   value (`5` matches `5.0`); `jsonArraySize` is `NULL` for anything but an array.
//! - `haversine` uses a mean Earth radius of 6371 km.
//! - `parseDate` supports the Java pattern letters listed at
//!   [`java_pattern_to_strftime`]; without an offset in the text, the time is read in the
//!   zone argument (UTC by default). Zones are `UTC`, offsets such as `+05:30`, or IANA
//!   names such as `Europe/Paris`.

use chrono::format::{Item, Parsed, StrftimeItems};
use chrono::{DateTime, FixedOffset, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Int64Array, ListArray, ListBuilder, StringArray,
    StringBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
    expr::ScalarFunction,
};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

/// A function computed here, row by row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// The `pattern` command's cluster key: the message with its variable parts as `<*>`.
    LogPattern,
    /// The `pattern` command's `@severityLabel`: the first log level word in a message.
    Severity,
    /// `isValidIp(s)`: 1 for an IPv4 or IPv6 address.
    IsValidIp,
    /// `isValidIpV4(s)`.
    IsValidIpV4,
    /// `isValidIpV6(s)`.
    IsValidIpV6,
    /// `isIpInSubnet(ip, cidr)`, either family.
    IsIpInSubnet,
    /// `isIpv4InSubnet(ip, cidr)`: both IPv4.
    IsIpv4InSubnet,
    /// `isIpv6InSubnet(ip, cidr)`: both IPv6.
    IsIpv6InSubnet,
    /// `ipv4ToNumber(s)`: the address as an unsigned 32-bit number.
    Ipv4ToNumber,
    /// `isPrivateIP(s)`.
    IsPrivateIp,
    /// `isPublicIP(s)`.
    IsPublicIp,
    /// `isReservedIP(s)`.
    IsReservedIp,
    /// `isNumeric(s)`.
    IsNumeric,
    /// `urlencode(s)`.
    UrlEncode,
    /// `urldecode(s)`.
    UrlDecode,
    /// `base64encode(s)`.
    Base64Encode,
    /// `base64decode(s)`.
    Base64Decode,
    /// `split(s, delimiter)`: a `List<Utf8>`.
    Split,
    /// `hexToAscii(s)`.
    HexToAscii,
    /// `hexToDec(s)`.
    HexToDec,
    /// `decToHex(n)`.
    DecToHex,
    /// `jsonParse(s)`: compact JSON text of a map or list, `NULL` otherwise.
    JsonParse,
    /// `jsonStringify(json)`: compact JSON text of a map or list, `NULL` otherwise.
    JsonStringify,
    /// `jsonArraySize(json)`.
    JsonArraySize,
    /// `jsonArrayContains(json, value)`.
    JsonArrayContains,
    /// The items `unnest` makes of a value: a JSON array's elements as text (strings
    /// unquoted, maps and lists as compact JSON), any other value alone.
    JsonElements,
    /// A `List<Utf8>` (from `split`) as a JSON array of strings, for the JSON functions.
    ListToJson,
    /// `parseDate(text, strftime format, zone)`: epoch ms. The planner converts the
    /// Java pattern; a `NULL` zone is UTC.
    ParseDate,
    /// `formatDate(epoch ms, strftime format, zone)`.
    FormatDate,
    /// `haversine(lat1, lon1, lat2, lon2)`: kilometres.
    Haversine,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::IsValidIp => "insights_is_valid_ip",
            Op::IsValidIpV4 => "insights_is_valid_ipv4",
            Op::IsValidIpV6 => "insights_is_valid_ipv6",
            Op::IsIpInSubnet => "insights_is_ip_in_subnet",
            Op::IsIpv4InSubnet => "insights_is_ipv4_in_subnet",
            Op::IsIpv6InSubnet => "insights_is_ipv6_in_subnet",
            Op::Ipv4ToNumber => "insights_ipv4_to_number",
            Op::IsPrivateIp => "insights_is_private_ip",
            Op::IsPublicIp => "insights_is_public_ip",
            Op::IsReservedIp => "insights_is_reserved_ip",
            Op::IsNumeric => "insights_is_numeric",
            Op::UrlEncode => "insights_urlencode",
            Op::UrlDecode => "insights_urldecode",
            Op::Base64Encode => "insights_base64encode",
            Op::Base64Decode => "insights_base64decode",
            Op::Split => "insights_split",
            Op::HexToAscii => "insights_hex_to_ascii",
            Op::HexToDec => "insights_hex_to_dec",
            Op::DecToHex => "insights_dec_to_hex",
            Op::JsonParse => "insights_json_parse",
            Op::JsonStringify => "insights_json_stringify",
            Op::JsonArraySize => "insights_json_array_size",
            Op::JsonArrayContains => "insights_json_array_contains",
            Op::JsonElements => "insights_json_elements",
            Op::ListToJson => "insights_list_to_json",
            Op::ParseDate => "insights_parse_date",
            Op::FormatDate => "insights_format_date",
            Op::Haversine => "insights_haversine",
            Op::LogPattern => "insights_log_pattern",
            Op::Severity => "insights_severity",
        }
    }

    fn inputs(self) -> Vec<DataType> {
        use DataType::{Float64, Utf8};
        match self {
            Op::IsIpInSubnet
            | Op::IsIpv4InSubnet
            | Op::IsIpv6InSubnet
            | Op::Split
            | Op::JsonArrayContains => vec![Utf8, Utf8],
            Op::DecToHex => vec![Float64],
            Op::ListToJson => vec![text_list()],
            Op::ParseDate => vec![Utf8, Utf8, Utf8],
            Op::FormatDate => vec![Float64, Utf8, Utf8],
            Op::Haversine => vec![Float64; 4],
            _ => vec![Utf8],
        }
    }

    fn output(self) -> DataType {
        match self {
            Op::IsValidIp
            | Op::IsValidIpV4
            | Op::IsValidIpV6
            | Op::IsIpInSubnet
            | Op::IsIpv4InSubnet
            | Op::IsIpv6InSubnet
            | Op::Ipv4ToNumber
            | Op::IsPrivateIp
            | Op::IsPublicIp
            | Op::IsReservedIp
            | Op::IsNumeric
            | Op::HexToDec
            | Op::JsonArraySize
            | Op::JsonArrayContains
            | Op::ParseDate => DataType::Int64,
            Op::Split | Op::JsonElements => text_list(),
            Op::Haversine => DataType::Float64,
            _ => DataType::Utf8,
        }
    }

    fn eval(self, a: &[ArrayRef]) -> Result<ArrayRef> {
        Ok(match self {
            Op::LogPattern => strings(&text(a, 0)?, |s| Some(log_pattern(s))),
            Op::Severity => strings(&text(a, 0)?, |s| Some(severity(s).to_string())),
            Op::IsValidIp => flag(&text(a, 0)?, |s| ip(s).is_some()),
            Op::IsValidIpV4 => flag(&text(a, 0)?, |s| s.parse::<Ipv4Addr>().is_ok()),
            Op::IsValidIpV6 => flag(&text(a, 0)?, |s| s.parse::<Ipv6Addr>().is_ok()),
            Op::IsIpInSubnet => flag2(&text(a, 0)?, &text(a, 1)?, |i, c| in_subnet(i, c, None)),
            Op::IsIpv4InSubnet => {
                flag2(&text(a, 0)?, &text(a, 1)?, |i, c| in_subnet(i, c, Some(4)))
            }
            Op::IsIpv6InSubnet => {
                flag2(&text(a, 0)?, &text(a, 1)?, |i, c| in_subnet(i, c, Some(6)))
            }
            Op::Ipv4ToNumber => ints(&text(a, 0)?, |s| {
                s.parse::<Ipv4Addr>().ok().map(|v| i64::from(v.to_bits()))
            }),
            Op::IsPrivateIp => flag(&text(a, 0)?, |s| ip(s).is_some_and(is_private)),
            Op::IsPublicIp => flag(&text(a, 0)?, |s| {
                ip(s).is_some_and(|v| !is_private(v) && !is_reserved(v))
            }),
            Op::IsReservedIp => flag(&text(a, 0)?, |s| ip(s).is_some_and(is_reserved)),
            Op::IsNumeric => flag(&text(a, 0)?, is_numeric),
            Op::UrlEncode => strings(&text(a, 0)?, |s| Some(url_encode(s))),
            Op::UrlDecode => strings(&text(a, 0)?, url_decode),
            Op::Base64Encode => strings(&text(a, 0)?, |s| Some(base64_encode(s))),
            Op::Base64Decode => strings(&text(a, 0)?, base64_decode),
            Op::Split => split(&text(a, 0)?, &text(a, 1)?),
            Op::HexToAscii => strings(&text(a, 0)?, hex_to_ascii),
            Op::HexToDec => ints(&text(a, 0)?, hex_to_dec),
            Op::DecToHex => Arc::new(
                number(a, 0)?
                    .iter()
                    .map(|x| x.and_then(dec_to_hex))
                    .collect::<StringArray>(),
            ),
            Op::JsonParse | Op::JsonStringify => strings(&text(a, 0)?, json_container),
            Op::JsonArraySize => ints(&text(a, 0)?, json_array_size),
            Op::JsonArrayContains => flag2(&text(a, 0)?, &text(a, 1)?, json_array_contains),
            Op::JsonElements => json_elements(&text(a, 0)?),
            Op::ListToJson => list_to_json(a)?,
            Op::ParseDate => parse_dates(&text(a, 0)?, &text(a, 1)?, &text(a, 2)?),
            Op::FormatDate => format_dates(&number(a, 0)?, &text(a, 1)?, &text(a, 2)?),
            Op::Haversine => {
                let (lat1, lon1, lat2, lon2) =
                    (number(a, 0)?, number(a, 1)?, number(a, 2)?, number(a, 3)?);
                Arc::new(
                    (0..lat1.len())
                        .map(|i| {
                            let v = |x: &Float64Array| (!x.is_null(i)).then(|| x.value(i));
                            Some(haversine(v(&lat1)?, v(&lon1)?, v(&lat2)?, v(&lon2)?))
                        })
                        .collect::<Float64Array>(),
                )
            }
        })
    }
}

/// A message's pattern: every word that holds a digit (numbers, ids, times, addresses)
/// becomes `<*>`, and runs like `<*>.<*>.<*>.<*>` or `<*>-<*>` fold into one `<*>`, so
/// lines that differ only in their values share a pattern.
pub fn log_pattern(message: &str) -> String {
    let mut tokens: Vec<String> = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, tokens: &mut Vec<String>| {
        if !word.is_empty() {
            if word.chars().any(|c| c.is_ascii_digit()) {
                tokens.push("<*>".into());
            } else {
                tokens.push(std::mem::take(word));
            }
            word.clear();
        }
    };
    for c in message.trim_end().chars() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut tokens);
            tokens.push(c.to_string());
        }
    }
    flush(&mut word, &mut tokens);
    let mut out: Vec<String> = Vec::with_capacity(tokens.len());
    for token in tokens {
        // `<*>` SEP `<*>` with SEP one of . : - / folds into the first `<*>`.
        let len = out.len();
        if token == "<*>"
            && len >= 2
            && out[len - 2] == "<*>"
            && matches!(out[len - 1].as_str(), "." | ":" | "-" | "/")
        {
            out.pop();
            continue;
        }
        out.push(token);
    }
    out.concat()
}

/// The first log-level word of a message, as `pattern` labels clusters.
pub fn severity(message: &str) -> &'static str {
    for word in message.split(|c: char| !c.is_ascii_alphabetic()).take(64) {
        match word.to_ascii_uppercase().as_str() {
            "ERROR" | "ERR" | "FATAL" | "CRITICAL" | "SEVERE" => return "ERROR",
            "WARN" | "WARNING" => return "WARN",
            "INFO" | "NOTICE" => return "INFO",
            "DEBUG" => return "DEBUG",
            "TRACE" => return "TRACE",
            _ => {}
        }
    }
    "UNKNOWN"
}

/// The type of `split`'s result and of what `unnest` flattens.
fn text_list() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)))
}

/// A call of `op` on `args`, which must have the types the op takes (text or `Float64`).
pub fn call(op: Op, args: Vec<Expr>) -> Expr {
    let udf = Udf {
        op,
        signature: Signature::exact(op.inputs(), Volatility::Immutable),
    };
    Expr::ScalarFunction(ScalarFunction::new_udf(
        Arc::new(ScalarUDF::new_from_impl(udf)),
        args,
    ))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Udf {
    op: Op,
    signature: Signature,
}

impl ScalarUDFImpl for Udf {
    fn name(&self) -> &str {
        self.op.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(self.op.output())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let all_scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let out = self.op.eval(&arrays)?;
        // All-literal calls (constant folding) are computed once, on one-row arrays.
        Ok(if all_scalar {
            ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?)
        } else {
            ColumnarValue::Array(out)
        })
    }
}

fn arg(a: &[ArrayRef], i: usize, to: &DataType) -> Result<ArrayRef> {
    let Some(array) = a.get(i) else {
        return exec_err!("missing argument {}", i + 1);
    };
    Ok(datafusion::arrow::compute::cast(array, to)?)
}

fn text(a: &[ArrayRef], i: usize) -> Result<StringArray> {
    Ok(arg(a, i, &DataType::Utf8)?.as_string::<i32>().clone())
}

fn number(a: &[ArrayRef], i: usize) -> Result<Float64Array> {
    Ok(arg(a, i, &DataType::Float64)?
        .as_primitive::<datafusion::arrow::datatypes::Float64Type>()
        .clone())
}

/// 1/0 for each row; a missing value is 0.
fn flag(s: &StringArray, f: impl Fn(&str) -> bool) -> ArrayRef {
    Arc::new(
        s.iter()
            .map(|v| Some(i64::from(v.is_some_and(&f))))
            .collect::<Int64Array>(),
    )
}

fn flag2(a: &StringArray, b: &StringArray, f: impl Fn(&str, &str) -> bool) -> ArrayRef {
    Arc::new(
        a.iter()
            .zip(b.iter())
            .map(|(x, y)| Some(i64::from(matches!((x, y), (Some(x), Some(y)) if f(x, y)))))
            .collect::<Int64Array>(),
    )
}

fn strings(s: &StringArray, f: impl Fn(&str) -> Option<String>) -> ArrayRef {
    Arc::new(s.iter().map(|v| v.and_then(&f)).collect::<StringArray>())
}

fn ints(s: &StringArray, f: impl Fn(&str) -> Option<i64>) -> ArrayRef {
    Arc::new(s.iter().map(|v| v.and_then(&f)).collect::<Int64Array>())
}

// IP addresses.

fn ip(s: &str) -> Option<IpAddr> {
    s.parse().ok()
}

/// A network as its first address's bits, widened to 128, and its prefix length.
type Block = (u128, u8);

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> Block {
    (u32::from_be_bytes([a, b, c, d]) as u128, len)
}

const fn v6(first: u16, second: u16, third: u16, len: u8) -> Block {
    (
        ((first as u128) << 112) | ((second as u128) << 96) | ((third as u128) << 80),
        len,
    )
}

/// RFC 1918.
const PRIVATE_V4: &[Block] = &[
    v4(10, 0, 0, 0, 8),
    v4(172, 16, 0, 0, 12),
    v4(192, 168, 0, 0, 16),
];

/// Unique local addresses (RFC 4193).
const PRIVATE_V6: &[Block] = &[v6(0xfc00, 0, 0, 7)];

/// The IANA IPv4 special-purpose registry, multicast and the former class E.
const RESERVED_V4: &[Block] = &[
    v4(0, 0, 0, 0, 8),       // "this network"
    v4(10, 0, 0, 0, 8),      // private use
    v4(100, 64, 0, 0, 10),   // shared address space (carrier-grade NAT)
    v4(127, 0, 0, 0, 8),     // loopback
    v4(169, 254, 0, 0, 16),  // link local
    v4(172, 16, 0, 0, 12),   // private use
    v4(192, 0, 0, 0, 24),    // IETF protocol assignments
    v4(192, 0, 2, 0, 24),    // documentation (TEST-NET-1)
    v4(192, 31, 196, 0, 24), // AS112-v4
    v4(192, 52, 193, 0, 24), // AMT
    v4(192, 88, 99, 0, 24),  // deprecated 6to4 relay anycast
    v4(192, 168, 0, 0, 16),  // private use
    v4(192, 175, 48, 0, 24), // direct delegation AS112
    v4(198, 18, 0, 0, 15),   // benchmarking
    v4(198, 51, 100, 0, 24), // documentation (TEST-NET-2)
    v4(203, 0, 113, 0, 24),  // documentation (TEST-NET-3)
    v4(224, 0, 0, 0, 4),     // multicast
    v4(240, 0, 0, 0, 4),     // reserved, with the limited broadcast address
];

/// The IANA IPv6 special-purpose registry and multicast.
const RESERVED_V6: &[Block] = &[
    (0, 128),                     // unspecified ::
    (1, 128),                     // loopback ::1
    v6(0x64, 0xff9b, 0, 96),      // IPv4/IPv6 translation
    v6(0x64, 0xff9b, 1, 48),      // local-use IPv4/IPv6 translation
    v6(0x100, 0, 0, 64),          // discard only
    v6(0x2001, 0, 0, 23),         // IETF protocol assignments (Teredo, benchmarking, ...)
    v6(0x2001, 0xdb8, 0, 32),     // documentation
    v6(0x2002, 0, 0, 16),         // 6to4
    v6(0x2620, 0x4f, 0x8000, 48), // direct delegation AS112
    v6(0x3fff, 0, 0, 20),         // documentation
    v6(0x5f00, 0, 0, 16),         // segment routing SIDs
    v6(0xfc00, 0, 0, 7),          // unique local
    v6(0xfe80, 0, 0, 10),         // link-local unicast
    v6(0xff00, 0, 0, 8),          // multicast
];

fn same_prefix(a: u128, b: u128, len: u8, width: u8) -> bool {
    len == 0 || (a >> (width - len)) == (b >> (width - len))
}

/// An address as bits and width, IPv4-mapped IPv6 addresses taken as IPv4.
fn unmapped(ip: IpAddr) -> (u128, u8) {
    match ip {
        IpAddr::V4(a) => (u128::from(a.to_bits()), 32),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(a) => (u128::from(a.to_bits()), 32),
            None => (a.to_bits(), 128),
        },
    }
}

fn in_blocks(ip: IpAddr, v4_blocks: &[Block], v6_blocks: &[Block]) -> bool {
    let (bits, width) = unmapped(ip);
    let blocks = if width == 32 { v4_blocks } else { v6_blocks };
    blocks
        .iter()
        .any(|&(net, len)| same_prefix(net, bits, len, width))
}

fn is_private(ip: IpAddr) -> bool {
    in_blocks(ip, PRIVATE_V4, PRIVATE_V6)
}

fn is_reserved(ip: IpAddr) -> bool {
    in_blocks(ip, RESERVED_V4, RESERVED_V6)
}

/// Whether `addr` lies in `cidr`; `family` 4 or 6 requires both to be of it.
fn in_subnet(addr: &str, cidr: &str, family: Option<u8>) -> bool {
    let (Some(addr), Some((net, len))) = (ip(addr), parse_cidr(cidr)) else {
        return false;
    };
    let bits = |a: IpAddr| match a {
        IpAddr::V4(a) => (u128::from(a.to_bits()), 32u8),
        IpAddr::V6(a) => (a.to_bits(), 128u8),
    };
    let ((a, width), (n, net_width)) = (bits(addr), bits(net));
    let wanted = match family {
        Some(4) => 32,
        Some(_) => 128,
        None => net_width,
    };
    width == net_width && width == wanted && same_prefix(a, n, len, width)
}

fn parse_cidr(cidr: &str) -> Option<(IpAddr, u8)> {
    let (addr, len) = match cidr.split_once('/') {
        Some((addr, len)) if !len.is_empty() && len.bytes().all(|b| b.is_ascii_digit()) => {
            (ip(addr)?, Some(len.parse::<u8>().ok()?))
        }
        Some(_) => return None,
        None => (ip(cidr)?, None),
    };
    let width = if addr.is_ipv4() { 32 } else { 128 };
    let len = len.unwrap_or(width);
    (len <= width).then_some((addr, len))
}

// Strings.

fn is_numeric(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'))
        && s.parse::<f64>().is_ok()
}

/// Everything but RFC 3986's unreserved characters.
const URL_RESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn url_encode(s: &str) -> String {
    utf8_percent_encode(s, URL_RESERVED).to_string()
}

fn url_decode(s: &str) -> Option<String> {
    let spaced = s.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

fn base64_encode(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn base64_decode(s: &str) -> Option<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT
        .decode(s)
        .ok()?;
    String::from_utf8(bytes).ok()
}

fn split(s: &StringArray, delimiters: &StringArray) -> ArrayRef {
    let mut out = ListBuilder::new(StringBuilder::new());
    for (s, d) in s.iter().zip(delimiters.iter()) {
        let (Some(s), Some(d)) = (s, d) else {
            out.append(false);
            continue;
        };
        if d.is_empty() {
            for c in s.chars() {
                out.values().append_value(c.to_string());
            }
        } else {
            for part in s.split(d) {
                out.values().append_value(part);
            }
        }
        out.append(true);
    }
    Arc::new(out.finish())
}

fn strip_0x(s: &str) -> &str {
    s.strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s)
}

fn hex_to_ascii(s: &str) -> Option<String> {
    let digits = strip_0x(s).as_bytes();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    let bytes = digits
        .chunks(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).ok()?;
            if !pair.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            u8::from_str_radix(pair, 16).ok()
        })
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

fn hex_to_dec(s: &str) -> Option<i64> {
    let digits = strip_0x(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    i64::from_str_radix(digits, 16).ok()
}

fn dec_to_hex(x: f64) -> Option<String> {
    // i64::MIN is exactly representable; i64::MAX is not, and rounds up out of range.
    let in_range = (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&x);
    (in_range && x.fract() == 0.0).then(|| format!("0x{:x}", x as i64))
}

// JSON.

/// `json` without whitespace between tokens; `json` must be valid.
fn minify(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_ascii_whitespace() {
            out.push(c);
        }
    }
    out
}

/// The elements of a valid JSON array, each as its own text.
fn array_elements(array: &str) -> Vec<&str> {
    let inner = array.trim();
    let inner = &inner[1..inner.len() - 1];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    let (mut in_string, mut escaped) = (false, false);
    for (i, c) in inner.char_indices() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '[' | '{' => depth += 1,
            ']' | '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(inner[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    let last = inner[start..].trim();
    if !last.is_empty() {
        parts.push(last);
    }
    parts
}

/// An element as a field shows it: strings unquoted, maps and lists as compact JSON,
/// `null` missing.
fn element_text(element: &str) -> Option<String> {
    match element.as_bytes().first() {
        Some(b'"') => serde_json::from_str::<String>(element).ok(),
        Some(b'{' | b'[') => Some(minify(element)),
        _ if element == "null" => None,
        _ => Some(element.to_string()),
    }
}

fn parse_json(s: &str) -> Option<serde_json::Value> {
    serde_json::from_str(s).ok()
}

fn json_container(s: &str) -> Option<String> {
    parse_json(s)
        .filter(|v| v.is_object() || v.is_array())
        .map(|_| minify(s.trim()))
}

fn json_array_size(s: &str) -> Option<i64> {
    match parse_json(s)? {
        serde_json::Value::Array(items) => i64::try_from(items.len()).ok(),
        _ => None,
    }
}

fn json_array_contains(s: &str, value: &str) -> bool {
    let Some(serde_json::Value::Array(items)) = parse_json(s) else {
        return false;
    };
    items.iter().any(|item| match item {
        serde_json::Value::String(t) => t == value,
        serde_json::Value::Number(n) => {
            n.to_string() == value
                || matches!((n.as_f64(), value.parse::<f64>()), (Some(a), Ok(b)) if a == b)
        }
        serde_json::Value::Bool(b) => b.to_string() == value,
        _ => false,
    })
}

fn json_elements(s: &StringArray) -> ArrayRef {
    let mut out = ListBuilder::new(StringBuilder::new());
    for v in s.iter() {
        let Some(v) = v else {
            out.append(false);
            continue;
        };
        match parse_json(v) {
            Some(serde_json::Value::Array(_)) => {
                for element in array_elements(v) {
                    out.values().append_option(element_text(element));
                }
            }
            _ => out.values().append_value(v),
        }
        out.append(true);
    }
    Arc::new(out.finish())
}

fn list_to_json(a: &[ArrayRef]) -> Result<ArrayRef> {
    let lists = arg(a, 0, &text_list())?;
    let lists: &ListArray = lists.as_list::<i32>();
    let mut out = StringBuilder::new();
    for list in lists.iter() {
        match list {
            Some(items) => {
                let items = datafusion::arrow::compute::cast(&items, &DataType::Utf8)?;
                let items: Vec<Option<&str>> = items.as_string::<i32>().iter().collect();
                out.append_option(serde_json::to_string(&items).ok());
            }
            None => out.append_null(),
        }
    }
    Ok(Arc::new(out.finish()))
}

// Dates.

/// A time zone argument: `UTC`, a fixed offset such as `+05:30`, or an IANA name.
#[derive(Debug, Clone, Copy)]
pub enum Zone {
    /// A fixed offset from UTC.
    Fixed(FixedOffset),
    /// A zone of the IANA database, with its daylight saving rules.
    Named(Tz),
}

impl Zone {
    /// Reads a zone argument; `None` when it names no zone.
    pub fn parse(s: &str) -> Option<Zone> {
        let s = s.trim();
        if ["utc", "gmt", "z"]
            .iter()
            .any(|u| s.eq_ignore_ascii_case(u))
        {
            return Some(Zone::utc());
        }
        if let Some(rest) = s.strip_prefix('+').or_else(|| s.strip_prefix('-')) {
            let digits: String = rest.chars().filter(|c| *c != ':').collect();
            if !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let (hours, minutes) = match digits.len() {
                1 | 2 => (digits.parse::<i32>().ok()?, 0),
                4 => (
                    digits[..2].parse::<i32>().ok()?,
                    digits[2..].parse::<i32>().ok()?,
                ),
                _ => return None,
            };
            if minutes >= 60 {
                return None;
            }
            let seconds = (hours * 60 + minutes) * 60;
            let seconds = if s.starts_with('-') {
                -seconds
            } else {
                seconds
            };
            return FixedOffset::east_opt(seconds).map(Zone::Fixed);
        }
        s.parse::<Tz>().ok().map(Zone::Named)
    }

    fn utc() -> Zone {
        Zone::Fixed(Utc.fix())
    }

    /// The UTC time of a wall-clock time here; the earlier one when a clock change
    /// makes it ambiguous, `None` when it falls in a gap.
    fn to_utc(self, local: &NaiveDateTime) -> Option<NaiveDateTime> {
        match self {
            Zone::Fixed(z) => z
                .from_local_datetime(local)
                .earliest()
                .map(|t| t.naive_utc()),
            Zone::Named(z) => z
                .from_local_datetime(local)
                .earliest()
                .map(|t| t.naive_utc()),
        }
    }

    fn format(self, utc: DateTime<Utc>, items: &[Item<'_>]) -> Option<String> {
        let mut out = String::new();
        // Writing, unlike `to_string`, reports a format that cannot be applied instead
        // of panicking.
        let written = match self {
            Zone::Fixed(z) => write!(
                out,
                "{}",
                utc.with_timezone(&z).format_with_items(items.iter())
            ),
            Zone::Named(z) => write!(
                out,
                "{}",
                utc.with_timezone(&z).format_with_items(items.iter())
            ),
        };
        written.ok().map(|()| out)
    }
}

/// Converts a Java `DateTimeFormatter` pattern to a chrono format. Supported letters:
/// `y`/`u` (year; two letters for two digits), `M`/`MM` (month number), `MMM`/`MMMM`
/// (month name), `d`, `D` (day of year), `H`, `h` (12-hour, with `a`), `m`, `s`,
/// `SSS`/`SSSSSS`/`SSSSSSSSS` (fraction), `E`–`EEE`/`EEEE` (weekday name), `X`
/// (offset or `Z`), `x` and `Z` (numeric offset); text in single quotes, and any
/// other non-letter, is literal. Other letters (zone names among them) are refused.
pub fn java_pattern_to_strftime(pattern: &str) -> std::result::Result<String, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let literal = |out: &mut String, c: char| {
        if c == '%' {
            out.push_str("%%");
        } else {
            out.push(c);
        }
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            if chars.get(i + 1) == Some(&'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            let mut j = i + 1;
            loop {
                match chars.get(j) {
                    None => return Err("The date pattern has an unclosed quote".into()),
                    Some('\'') if chars.get(j + 1) == Some(&'\'') => {
                        out.push('\'');
                        j += 2;
                    }
                    Some('\'') => break,
                    Some(&q) => {
                        literal(&mut out, q);
                        j += 1;
                    }
                }
            }
            i = j + 1;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            literal(&mut out, c);
            i += 1;
            continue;
        }
        let mut n = 1;
        while chars.get(i + n) == Some(&c) {
            n += 1;
        }
        let spec = match (c, n) {
            ('y' | 'u', 2) => "%y",
            ('y' | 'u', _) => "%Y",
            ('M', 1 | 2) => "%m",
            ('M', 3) => "%b",
            ('M', 4) => "%B",
            ('d', 1 | 2) => "%d",
            ('D', 1..=3) => "%j",
            ('H', 1 | 2) => "%H",
            ('h', 1 | 2) => "%I",
            ('m', 1 | 2) => "%M",
            ('s', 1 | 2) => "%S",
            ('S', 3) => "%3f",
            ('S', 6) => "%6f",
            ('S', 9) => "%9f",
            ('a', 1) => "%p",
            ('E', 1..=3) => "%a",
            ('E', 4) => "%A",
            ('X', 1..=3) => "%#z",
            ('x' | 'Z', 1..=3) => "%z",
            _ => {
                let letters: String = std::iter::repeat_n(c, n).collect();
                return Err(format!(
                    "The date pattern letters '{letters}' are not supported"
                ));
            }
        };
        out.push_str(spec);
        i += n;
    }
    Ok(out)
}

/// Checks a strftime format, so that a bad one is refused when the query is planned.
pub fn check_strftime(format: &str) -> std::result::Result<(), String> {
    StrftimeItems::new(format)
        .parse()
        .map(|_| ())
        .map_err(|_| format!("Invalid date format '{format}'"))
}

/// Remembers the last value computed for a key, as formats and zones rarely vary by row.
struct Memo<'a, T> {
    key: Option<&'a str>,
    value: Option<T>,
}

impl<'a, T> Memo<'a, T> {
    fn new() -> Self {
        Memo {
            key: None,
            value: None,
        }
    }

    fn get(&mut self, key: &'a str, make: impl FnOnce(&'a str) -> Option<T>) -> Option<&T> {
        if self.key != Some(key) {
            self.value = make(key);
            self.key = Some(key);
        }
        self.value.as_ref()
    }
}

fn zone_at<'a>(zones: &'a StringArray, i: usize, memo: &mut Memo<'a, Zone>) -> Option<Zone> {
    if zones.is_null(i) {
        return Some(Zone::utc());
    }
    memo.get(zones.value(i), Zone::parse).copied()
}

fn parse_dates(text: &StringArray, formats: &StringArray, zones: &StringArray) -> ArrayRef {
    let (mut items, mut zone) = (Memo::new(), Memo::new());
    Arc::new(
        (0..text.len())
            .map(|i| {
                if text.is_null(i) || formats.is_null(i) {
                    return None;
                }
                let zone = zone_at(zones, i, &mut zone)?;
                let items = items.get(formats.value(i), |f| StrftimeItems::new(f).parse().ok())?;
                parse_date(text.value(i), items, zone)
            })
            .collect::<Int64Array>(),
    )
}

fn parse_date(text: &str, items: &[Item<'_>], zone: Zone) -> Option<i64> {
    let mut parsed = Parsed::new();
    chrono::format::parse(&mut parsed, text, items.iter()).ok()?;
    // A pattern without a time means midnight, and one without minutes the full hour.
    if parsed.hour_div_12().is_none() && parsed.hour_mod_12().is_none() {
        parsed.set_hour(0).ok()?;
    }
    if parsed.minute().is_none() {
        parsed.set_minute(0).ok()?;
    }
    let local = parsed
        .to_naive_date()
        .ok()?
        .and_time(parsed.to_naive_time().ok()?);
    let utc = match parsed.offset() {
        Some(offset) => FixedOffset::east_opt(offset)?
            .from_local_datetime(&local)
            .single()?
            .naive_utc(),
        None => zone.to_utc(&local)?,
    };
    Some(utc.and_utc().timestamp_millis())
}

fn format_dates(ms: &Float64Array, formats: &StringArray, zones: &StringArray) -> ArrayRef {
    let (mut items, mut zone) = (Memo::new(), Memo::new());
    Arc::new(
        (0..ms.len())
            .map(|i| {
                if ms.is_null(i) || formats.is_null(i) {
                    return None;
                }
                let x = ms.value(i);
                let utc =
                    DateTime::<Utc>::from_timestamp_millis(x.is_finite().then_some(x as i64)?)?;
                let zone = zone_at(zones, i, &mut zone)?;
                let items = items.get(formats.value(i), |f| StrftimeItems::new(f).parse().ok())?;
                zone.format(utc, items)
            })
            .collect::<StringArray>(),
    )
}

// Geography.

fn haversine(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    const EARTH_RADIUS_KM: f64 = 6371.0;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let (dp, dl) = ((lat2 - lat1).to_radians(), (lon2 - lon1).to_radians());
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {

    #[test]
    fn patterns_mask_values_and_fold_addresses() {
        assert_eq!(
            log_pattern("user 42 logged in from 10.0.0.7 at 2024-01-02T03:04:05Z\n"),
            "user <*> logged in from <*> at <*>"
        );
        assert_eq!(
            log_pattern(r#"{"level":"ERROR","ms":250}"#),
            r#"{"level":"ERROR","ms":<*>}"#
        );
        assert_eq!(log_pattern(""), "");
        assert_eq!(severity("2024 [WARN] disk 91% full"), "WARN");
        assert_eq!(severity(r#"{"level":"error"}"#), "ERROR");
        assert_eq!(severity("all good"), "UNKNOWN");
    }

    use super::*;

    fn run(op: Op, args: Vec<ArrayRef>) -> ArrayRef {
        op.eval(&args).unwrap()
    }

    fn texts(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(values.iter().copied().collect::<StringArray>())
    }

    fn same(value: &str, rows: usize) -> ArrayRef {
        texts(&vec![Some(value); rows])
    }

    fn int_column(a: &ArrayRef) -> Vec<Option<i64>> {
        a.as_primitive::<datafusion::arrow::datatypes::Int64Type>()
            .iter()
            .collect()
    }

    fn text_column(a: &ArrayRef) -> Vec<Option<String>> {
        a.as_string::<i32>()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect()
    }

    fn flags(op: Op, values: &[Option<&str>]) -> Vec<Option<i64>> {
        int_column(&run(op, vec![texts(values)]))
    }

    fn flags2(op: Op, values: &[Option<&str>], second: &str) -> Vec<Option<i64>> {
        int_column(&run(op, vec![texts(values), same(second, values.len())]))
    }

    fn mapped(op: Op, values: &[Option<&str>]) -> Vec<Option<String>> {
        text_column(&run(op, vec![texts(values)]))
    }

    #[test]
    fn valid_ips() {
        let input = [
            Some("10.0.0.1"),
            Some("2001:db8::1"),
            Some("::ffff:1.2.3.4"),
            Some("256.1.1.1"),
            Some("01.2.3.4"),
            Some("fe80::1%eth0"),
            Some(""),
            None,
        ];
        assert_eq!(
            flags(Op::IsValidIp, &input),
            [1, 1, 1, 0, 0, 0, 0, 0].map(Some)
        );
        assert_eq!(
            flags(Op::IsValidIpV4, &input),
            [1, 0, 0, 0, 0, 0, 0, 0].map(Some)
        );
        assert_eq!(
            flags(Op::IsValidIpV6, &input),
            [0, 1, 1, 0, 0, 0, 0, 0].map(Some)
        );
    }

    #[test]
    fn subnets() {
        let input = [
            Some("10.1.2.3"),
            Some("11.0.0.1"),
            Some("2001:db8::5"),
            Some("::ffff:10.0.0.1"),
            Some("bad"),
            None,
        ];
        assert_eq!(
            flags2(Op::IsIpInSubnet, &input, "10.0.0.0/8"),
            [1, 0, 0, 0, 0, 0].map(Some)
        );
        assert_eq!(
            flags2(Op::IsIpInSubnet, &input, "2001:db8::/32"),
            [0, 0, 1, 0, 0, 0].map(Some)
        );
        assert_eq!(
            flags2(Op::IsIpv4InSubnet, &input, "10.0.0.0/8"),
            [1, 0, 0, 0, 0, 0].map(Some)
        );
        assert_eq!(
            flags2(Op::IsIpv4InSubnet, &input, "2001:db8::/32"),
            [0; 6].map(Some)
        );
        assert_eq!(
            flags2(Op::IsIpv6InSubnet, &input, "2001:db8::/32"),
            [0, 0, 1, 0, 0, 0].map(Some)
        );
        assert_eq!(
            flags2(Op::IsIpv6InSubnet, &input, "10.0.0.0/8"),
            [0; 6].map(Some)
        );
        // Host bits, a bare address, /0, and CIDRs that do not parse.
        assert_eq!(
            flags2(Op::IsIpInSubnet, &input, "10.9.9.9/8"),
            [1, 0, 0, 0, 0, 0].map(Some)
        );
        assert_eq!(
            flags2(Op::IsIpInSubnet, &input, "10.1.2.3"),
            [1, 0, 0, 0, 0, 0].map(Some)
        );
        assert_eq!(
            flags2(Op::IsIpInSubnet, &input, "0.0.0.0/0"),
            [1, 1, 0, 0, 0, 0].map(Some)
        );
        for bad in ["10.0.0.0/33", "10.0.0.0/", "10.0.0.0/+8", "x/8", ""] {
            assert_eq!(flags2(Op::IsIpInSubnet, &input, bad), [0; 6].map(Some));
        }
    }

    #[test]
    fn ipv4_numbers() {
        let got = int_column(&run(
            Op::Ipv4ToNumber,
            vec![texts(&[
                Some("0.0.0.0"),
                Some("10.0.0.1"),
                Some("255.255.255.255"),
                Some("::1"),
                Some("1.2.3"),
                None,
            ])],
        ));
        assert_eq!(
            got,
            [
                Some(0),
                Some(167_772_161),
                Some(4_294_967_295),
                None,
                None,
                None
            ]
        );
    }

    #[test]
    fn private_public_reserved() {
        let input = [
            Some("10.0.0.1"),
            Some("172.31.255.255"),
            Some("172.32.0.1"),
            Some("192.168.1.1"),
            Some("8.8.8.8"),
            Some("127.0.0.1"),
            Some("100.64.0.1"),
            Some("224.0.0.1"),
            Some("255.255.255.255"),
            Some("203.0.113.9"),
            Some("fd12::1"),
            Some("fe80::1"),
            Some("2001:db8::1"),
            Some("2606:4700::1111"),
            Some("::1"),
            Some("::ffff:192.168.0.1"),
            Some("::ffff:1.1.1.1"),
            Some("nope"),
            None,
        ];
        assert_eq!(
            flags(Op::IsPrivateIp, &input),
            [1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0].map(Some)
        );
        assert_eq!(
            flags(Op::IsReservedIp, &input),
            [1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0, 0, 0].map(Some)
        );
        assert_eq!(
            flags(Op::IsPublicIp, &input),
            [0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0].map(Some)
        );
    }

    #[test]
    fn numeric_text() {
        let input = [
            Some("12"),
            Some("-1.5"),
            Some("+3e2"),
            Some(".5"),
            Some("1e"),
            Some("NaN"),
            Some("inf"),
            Some(" 1"),
            Some("0x1f"),
            Some(""),
            None,
        ];
        assert_eq!(
            flags(Op::IsNumeric, &input),
            [1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0].map(Some)
        );
    }

    #[test]
    fn url_coding() {
        assert_eq!(
            mapped(Op::UrlEncode, &[Some("a b&c=d/é~_.-"), Some(""), None]),
            [
                Some("a%20b%26c%3Dd%2F%C3%A9~_.-".into()),
                Some("".into()),
                None
            ]
        );
        assert_eq!(
            mapped(
                Op::UrlDecode,
                &[
                    Some("a%20b+c%2B%C3%A9"),
                    Some("100%"),
                    Some("%zz"),
                    Some("%FF"),
                    None
                ]
            ),
            [
                Some("a b c+é".into()),
                Some("100%".into()),
                Some("%zz".into()),
                None,
                None
            ]
        );
    }

    #[test]
    fn base64_coding() {
        assert_eq!(
            mapped(Op::Base64Encode, &[Some("hello"), Some(""), None]),
            [Some("aGVsbG8=".into()), Some("".into()), None]
        );
        assert_eq!(
            mapped(
                Op::Base64Decode,
                &[
                    Some("aGVsbG8="),
                    Some("aGVsbG8"),
                    Some("not base64!"),
                    Some("/w=="),
                    None
                ]
            ),
            [Some("hello".into()), Some("hello".into()), None, None, None]
        );
    }

    fn lists(a: &ArrayRef) -> Vec<Option<Vec<Option<String>>>> {
        a.as_list::<i32>()
            .iter()
            .map(|l| l.map(|items| text_column(&items)))
            .collect()
    }

    #[test]
    fn splitting() {
        let got = run(
            Op::Split,
            vec![
                texts(&[Some("a,b,,c"), Some("abc"), Some(""), None, Some("x")]),
                texts(&[Some(","), Some(""), Some(","), Some(","), None]),
            ],
        );
        assert_eq!(
            lists(&got),
            [
                Some(vec![
                    Some("a".into()),
                    Some("b".into()),
                    Some("".into()),
                    Some("c".into())
                ]),
                Some(vec![Some("a".into()), Some("b".into()), Some("c".into())]),
                Some(vec![Some("".into())]),
                None,
                None,
            ]
        );
    }

    #[test]
    fn hex() {
        assert_eq!(
            mapped(
                Op::HexToAscii,
                &[
                    Some("68656c6c6f"),
                    Some("0x4869"),
                    Some("686"),
                    Some("zz"),
                    Some("ff")
                ]
            ),
            [Some("hello".into()), Some("Hi".into()), None, None, None]
        );
        assert_eq!(
            int_column(&run(
                Op::HexToDec,
                vec![texts(&[
                    Some("ff"),
                    Some("0xFF"),
                    Some("7fffffffffffffff"),
                    Some("8000000000000000"),
                    Some("+1"),
                    Some("0x"),
                    Some("g"),
                ])]
            )),
            [Some(255), Some(255), Some(i64::MAX), None, None, None, None]
        );
        let numbers: ArrayRef = Arc::new(Float64Array::from(vec![
            Some(255.0),
            Some(0.0),
            Some(-1.0),
            Some(1.5),
            Some(f64::NAN),
            Some(1e19),
            None,
        ]));
        assert_eq!(
            text_column(&run(Op::DecToHex, vec![numbers])),
            [
                Some("0xff".into()),
                Some("0x0".into()),
                Some("0xffffffffffffffff".into()),
                None,
                None,
                None,
                None
            ]
        );
    }

    #[test]
    fn json_parse_and_stringify() {
        let deep = "[".repeat(1000) + &"]".repeat(1000);
        let input = [
            Some(r#" { "b" : 1, "a" : [1, "x y", {"c": null}] } "#),
            Some("[1, 2]"),
            Some(r#""just a string""#),
            Some("42"),
            Some("{bad"),
            Some(deep.as_str()),
            None,
        ];
        let want = [
            Some(r#"{"b":1,"a":[1,"x y",{"c":null}]}"#.to_string()),
            Some("[1,2]".into()),
            None,
            None,
            None,
            None,
            None,
        ];
        assert_eq!(mapped(Op::JsonParse, &input), want);
        assert_eq!(mapped(Op::JsonStringify, &input), want);
    }

    #[test]
    fn json_arrays() {
        let input = [
            Some(r#"["a", "B", 5, true, null, {"a": 1}]"#),
            Some("[]"),
            Some(r#"{"a": 1}"#),
            Some("not json"),
            None,
        ];
        assert_eq!(
            int_column(&run(Op::JsonArraySize, vec![texts(&input)])),
            [Some(6), Some(0), None, None, None]
        );
        let contains = |value: &str| flags2(Op::JsonArrayContains, &input, value);
        assert_eq!(contains("a"), [1, 0, 0, 0, 0].map(Some));
        assert_eq!(contains("b"), [0; 5].map(Some));
        assert_eq!(contains("5.0"), [1, 0, 0, 0, 0].map(Some));
        assert_eq!(contains("true"), [1, 0, 0, 0, 0].map(Some));
        assert_eq!(contains("null"), [0; 5].map(Some));
    }

    #[test]
    fn elements_for_unnest() {
        let got = run(
            Op::JsonElements,
            vec![texts(&[
                Some(r#"[{"n": "x,y"}, "s\"q", 3, null, [1, [2]]]"#),
                Some("[]"),
                Some(r#"{"a": 1}"#),
                Some("plain"),
                None,
            ])],
        );
        assert_eq!(
            lists(&got),
            [
                Some(vec![
                    Some(r#"{"n":"x,y"}"#.into()),
                    Some("s\"q".into()),
                    Some("3".into()),
                    None,
                    Some("[1,[2]]".into()),
                ]),
                Some(vec![]),
                Some(vec![Some(r#"{"a": 1}"#.into())]),
                Some(vec![Some("plain".into())]),
                None,
            ]
        );
    }

    #[test]
    fn lists_as_json() {
        let parts = run(
            Op::Split,
            vec![texts(&[Some("a,\"b\""), None]), same(",", 2)],
        );
        assert_eq!(
            text_column(&run(Op::ListToJson, vec![parts])),
            [Some(r#"["a","\"b\""]"#.into()), None]
        );
    }

    #[test]
    fn java_patterns() {
        let ok = |p: &str| java_pattern_to_strftime(p).unwrap();
        assert_eq!(ok("yyyy-MM-dd'T'HH:mm:ss.SSSX"), "%Y-%m-%dT%H:%M:%S.%3f%#z");
        assert_eq!(ok("dd/MMM/yyyy:HH:mm:ss Z"), "%d/%b/%Y:%H:%M:%S %z");
        assert_eq!(ok("EEE, d MMMM yy h:mm a"), "%a, %d %B %y %I:%M %p");
        assert_eq!(ok("'it''s' 100% D"), "it's 100%% %j");
        assert!(java_pattern_to_strftime("yyyy 'open").is_err());
        assert!(java_pattern_to_strftime("yyyy VV").is_err());
        assert!(java_pattern_to_strftime("SS").is_err());
        assert!(check_strftime("%Y-%m-%d").is_ok());
        assert!(check_strftime("%Q").is_err());
    }

    fn parse(text: &str, pattern: &str, zone: Option<&str>) -> Option<i64> {
        let format = java_pattern_to_strftime(pattern).unwrap();
        let got = run(
            Op::ParseDate,
            vec![texts(&[Some(text)]), same(&format, 1), texts(&[zone])],
        );
        int_column(&got)[0]
    }

    #[test]
    fn parse_dates_to_epoch_ms() {
        const T: i64 = 1_700_000_000_000; // 2023-11-14 22:13:20 UTC
        let iso = "yyyy-MM-dd'T'HH:mm:ss.SSSX";
        assert_eq!(parse("2023-11-14T22:13:20.000Z", iso, None), Some(T));
        assert_eq!(
            parse("2023-11-14T23:13:20.250+01:00", iso, None),
            Some(T + 250)
        );
        assert_eq!(
            parse("14/Nov/2023:17:13:20 -0500", "dd/MMM/yyyy:HH:mm:ss Z", None),
            Some(T)
        );
        let plain = "yyyy-MM-dd HH:mm:ss";
        assert_eq!(parse("2023-11-14 22:13:20", plain, None), Some(T));
        assert_eq!(
            parse("2023-11-14 23:13:20", plain, Some("Europe/Paris")),
            Some(T)
        );
        assert_eq!(parse("2023-11-15 03:43:20", plain, Some("+05:30")), Some(T));
        assert_eq!(
            parse("2023-11-14", "yyyy-MM-dd", None),
            Some(T - 80_000_000)
        );
        assert_eq!(
            parse("2023-11-14 10 PM", "yyyy-MM-dd h a", None),
            Some(T - 800_000)
        );
        assert_eq!(parse("2023-11-14 22:13:20", plain, Some("Mars/Base")), None);
        assert_eq!(parse("yesterday", plain, None), None);
        assert_eq!(parse("2023-02-30 00:00:00", plain, None), None);
        // A spring-forward gap has no such local time.
        assert_eq!(
            parse("2023-03-26 02:30:00", plain, Some("Europe/Paris")),
            None
        );
    }

    fn format(ms: Option<f64>, format: &str, zone: Option<&str>) -> Option<String> {
        let got = run(
            Op::FormatDate,
            vec![
                Arc::new(Float64Array::from(vec![ms])),
                same(format, 1),
                texts(&[zone]),
            ],
        );
        text_column(&got).remove(0)
    }

    #[test]
    fn format_dates_from_epoch_ms() {
        let t = Some(1_700_000_000_123.0);
        assert_eq!(
            format(t, "%Y-%m-%d %H:%M:%S%.3f", None).as_deref(),
            Some("2023-11-14 22:13:20.123")
        );
        assert_eq!(
            format(t, "%H:%M %Z", Some("America/New_York")).as_deref(),
            Some("17:13 EST")
        );
        assert_eq!(
            format(t, "%H:%M %:z", Some("-03:00")).as_deref(),
            Some("19:13 -03:00")
        );
        assert_eq!(format(t, "%Q", None), None);
        assert_eq!(format(t, "%Y", Some("nowhere")), None);
        assert_eq!(format(Some(f64::INFINITY), "%Y", None), None);
        assert_eq!(format(None, "%Y", None), None);
    }

    #[test]
    fn zones() {
        assert!(Zone::parse("UTC").is_some());
        assert!(Zone::parse("Asia/Tokyo").is_some());
        assert!(Zone::parse("+0530").is_some());
        assert!(Zone::parse("-8").is_some());
        assert!(Zone::parse("+05:60").is_none());
        assert!(Zone::parse("+99").is_none());
        assert!(Zone::parse("+1:2:3").is_none());
        assert!(Zone::parse("Nowhere/Town").is_none());
    }

    #[test]
    fn haversine_km() {
        let column = |x: f64| -> ArrayRef { Arc::new(Float64Array::from(vec![Some(x), None])) };
        // Paris to London.
        let got = run(
            Op::Haversine,
            vec![
                column(48.8566),
                column(2.3522),
                column(51.5074),
                column(-0.1278),
            ],
        );
        let got = got.as_primitive::<datafusion::arrow::datatypes::Float64Type>();
        assert!((got.value(0) - 343.5).abs() < 0.5, "{}", got.value(0));
        assert!(got.is_null(1));
        assert_eq!(haversine(1.0, 2.0, 1.0, 2.0), 0.0);
        assert!((haversine(0.0, 0.0, 0.0, 180.0) - std::f64::consts::PI * 6371.0).abs() < 1e-6);
    }

    #[test]
    fn literal_calls_fold_to_scalars() {
        let udf = ScalarUDF::new_from_impl(Udf {
            op: Op::IsValidIp,
            signature: Signature::exact(Op::IsValidIp.inputs(), Volatility::Immutable),
        });
        let args = ScalarFunctionArgs {
            args: vec![ColumnarValue::Scalar(ScalarValue::Utf8(Some(
                "1.2.3.4".into(),
            )))],
            arg_fields: vec![Arc::new(Field::new("a", DataType::Utf8, true))],
            number_rows: 3,
            return_field: Arc::new(Field::new("r", DataType::Int64, true)),
            config_options: Arc::default(),
        };
        match udf.invoke_with_args(args).unwrap() {
            ColumnarValue::Scalar(v) => assert_eq!(v, ScalarValue::Int64(Some(1))),
            other => panic!("{other:?}"),
        }
    }
}
