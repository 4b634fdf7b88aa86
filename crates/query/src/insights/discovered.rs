//! Fields Insights discovers in well-known log formats without a `parse`: Lambda's
//! `START`/`END`/`REPORT` lines, VPC Flow Logs records (the default version-2 format,
//! and versions 3 to 5 with every field in AWS's documented order) and Route 53 public
//! DNS query log lines.
//! JSON messages (CloudTrail, Route 53 Resolver query logs and application logs) are read
//! by path in `plan.rs`. Like those, each field here is computed only where a query names
//! it, and only on lines in a layout that has it.

use crate::table::MESSAGE;
use datafusion::functions::expr_fn as f;
use datafusion::logical_expr::{Case, Expr as DfExpr, ident, lit};

/// Lambda's report fields and the pattern each value follows in the platform lines.
/// Fields are tab-separated; some exports keep the tab and the closing newline escaped
/// (`\t`, `\n`), so both tabs count, and values stop at a backslash.
const LAMBDA: [(&str, &str); 9] = [
    ("@type", r"^(START|END|REPORT) RequestId:"),
    ("@requestId", r"^(?:START|END|REPORT) RequestId: ([^\s\\]+)"),
    ("@duration", r"(?:\t|\\t)Duration: ([0-9.]+) ms"),
    (
        "@billedDuration",
        r"(?:\t|\\t)Billed Duration: ([0-9.]+) ms",
    ),
    ("@memorySize", r"(?:\t|\\t)Memory Size: ([0-9]+) MB"),
    ("@maxMemoryUsed", r"(?:\t|\\t)Max Memory Used: ([0-9]+) MB"),
    ("@initDuration", r"(?:\t|\\t)Init Duration: ([0-9.]+) ms"),
    ("@xrayTraceId", r"XRAY TraceId: ([^\s\\]+)"),
    ("@xraySegmentId", r"SegmentId: ([^\s\\]+)"),
];

/// Flow-log layouts recognised without a format string: a line whose first field (the
/// version) is N and that has every field up to version N, in the documented order of
/// [`formats::vpc::FIELDS`] — the default format is version 2's.
const VPC_LAYOUTS: [u8; 4] = [2, 3, 4, 5];

/// The values of a Route 53 public DNS query log line, in order, by their Insights names.
/// The names are those of the discovered-field list for Route 53 (aws-formats.md §6.5,
/// from the CloudWatch Logs guide, which spells the zone `hostZoneId`). That list leaves
/// out the last value, the EDNS client subnet, which is named here as CloudWatch Logs'
/// `parseRoute53` transformer names it; the transformer uses the list's names for the
/// other nine. The order is that of the Route 53 guide's "Values that appear in DNS query
/// logs".
const ROUTE53_FIELDS: [&str; 10] = [
    "version",
    "queryTimestamp",
    "hostZoneId",
    "queryName",
    "queryType",
    "responseCode",
    "protocol",
    "edgeLocation",
    "resolverIp",
    "ednsClientSubnet",
];

/// The expression for a Lambda field, if `name` is one.
pub fn lambda_field(name: &str) -> Option<DfExpr> {
    let (_, pattern) = LAMBDA.iter().find(|(field, _)| *field == name)?;
    Some(first_capture(pattern))
}

/// The expression for a field of a space-separated line format (VPC Flow Logs, Route 53
/// query logs), if `name` is one; `None` on lines in no layout that has the field. Both
/// formats have a `version` and a `protocol`: each line reads them in its own layout.
pub fn line_field(name: &str) -> Option<DfExpr> {
    let branches: Vec<_> = vpc_layouts(name)
        .chain(route53_layout(name))
        .map(|(layout, position)| {
            let part = f::split_part(ident(MESSAGE), lit(" "), lit(position as i64 + 1));
            (
                Box::new(f::regexp_like(ident(MESSAGE), lit(layout), None)),
                Box::new(part),
            )
        })
        .collect();
    (!branches.is_empty()).then(|| DfExpr::Case(Case::new(None, branches, None)))
}

/// The flattened JSON key a discovered field `name` reads, if any. Insights shows a key
/// that starts with `@` with one more `@` (`@@level` for `"@level"`, aws-formats.md §6.1)
/// so that it never passes for a system or generated field: a name with one `@` is no key.
pub fn json_key(name: &str) -> Option<&str> {
    match name.strip_prefix('@') {
        None => Some(name),
        Some(rest) if rest.starts_with('@') => Some(rest),
        Some(_) => None,
    }
}

/// The flow-log layouts that have the field `name`, and its position in them.
fn vpc_layouts(name: &str) -> impl Iterator<Item = (String, usize)> {
    let fields = &formats::vpc::FIELDS;
    let found = fields.iter().position(|field| field.name == name);
    found.into_iter().flat_map(move |position| {
        VPC_LAYOUTS
            .iter()
            .filter(move |&&version| version >= fields[position].version)
            .map(move |&version| (vpc_layout(version), position))
    })
}

/// A line in the layout of every field up to `version`: the version itself first, and
/// `action` and `logStatus` pinned to their values, so a custom layout of the same length
/// is not mistaken for it.
fn vpc_layout(version: u8) -> String {
    let fields = formats::vpc::FIELDS.iter().filter(|f| f.version <= version);
    line_pattern(fields.map(|f| f.name), |name| match name {
        "version" => Some(version.to_string()),
        "action" => Some("(ACCEPT|REJECT|-)".to_string()),
        "logStatus" => Some("(OK|NODATA|SKIPDATA)".to_string()),
        _ => None,
    })
}

/// The Route 53 query-log layout and the position of `name` in it, if it has the field.
/// The version (`1.0` in AWS's examples; a flow log's is a whole number), the ISO 8601 UTC
/// time and the protocol (`TCP` or `UDP`) are pinned, so that other ten-value lines are
/// not mistaken for query logs.
fn route53_layout(name: &str) -> Option<(String, usize)> {
    let position = ROUTE53_FIELDS.iter().position(|field| *field == name)?;
    let layout = line_pattern(ROUTE53_FIELDS.into_iter(), |name| match name {
        "version" => Some(r"[0-9]+\.[0-9]+".to_string()),
        "queryTimestamp" => {
            Some(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z".to_string())
        }
        "protocol" => Some("(TCP|UDP)".to_string()),
        _ => None,
    });
    Some((layout, position))
}

/// A whole line of the space-separated values `names`, each any non-blank text unless
/// `pinned` gives its pattern.
fn line_pattern<'a>(
    names: impl Iterator<Item = &'a str>,
    pinned: impl Fn(&str) -> Option<String>,
) -> String {
    let parts: Vec<String> = names
        .map(|name| pinned(name).unwrap_or_else(|| r"\S+".to_string()))
        .collect();
    format!("^{}$", parts.join(" "))
}

fn first_capture(pattern: &str) -> DfExpr {
    datafusion::functions_nested::expr_fn::array_element(
        f::regexp_match(ident(MESSAGE), lit(pattern), None),
        lit(1i64),
    )
}
