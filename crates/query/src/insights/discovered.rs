//! Fields Insights discovers in well-known log formats without a `parse`: Lambda's
//! `START`/`END`/`REPORT` lines and VPC Flow Logs records (the default version-2 format,
//! and versions 3 to 5 with every field in AWS's documented order).
//! JSON messages (CloudTrail, Route 53 and application logs) are read by path in
//! `plan.rs`. Like those, each field here is computed only where a query names it.

use crate::table::MESSAGE;
use datafusion::functions::expr_fn as f;
use datafusion::logical_expr::{Case, Expr as DfExpr, ident, lit};

/// Lambda's report fields and the pattern each value follows in the platform lines.
/// Fields are tab-separated; some exports keep the tab escaped as `\t`, so both count.
const LAMBDA: [(&str, &str); 9] = [
    ("@type", r"^(START|END|REPORT) RequestId:"),
    ("@requestId", r"^(?:START|END|REPORT) RequestId: (\S+)"),
    ("@duration", r"(?:\t|\\t)Duration: ([0-9.]+) ms"),
    (
        "@billedDuration",
        r"(?:\t|\\t)Billed Duration: ([0-9.]+) ms",
    ),
    ("@memorySize", r"(?:\t|\\t)Memory Size: ([0-9]+) MB"),
    ("@maxMemoryUsed", r"(?:\t|\\t)Max Memory Used: ([0-9]+) MB"),
    ("@initDuration", r"(?:\t|\\t)Init Duration: ([0-9.]+) ms"),
    ("@xrayTraceId", r"XRAY TraceId: ([^\s]+)"),
    ("@xraySegmentId", r"SegmentId: ([^\s]+)"),
];

/// Flow-log layouts recognised without a format string: a line whose first field (the
/// version) is N and that has every field up to version N, in the documented order of
/// [`formats::vpc::FIELDS`] — the default format is version 2's.
const VPC_LAYOUTS: [u8; 4] = [2, 3, 4, 5];

/// The expression for a Lambda field, if `name` is one.
pub fn lambda_field(name: &str) -> Option<DfExpr> {
    let (_, pattern) = LAMBDA.iter().find(|(field, _)| *field == name)?;
    Some(first_capture(pattern))
}

/// The expression for a flow-log field, if `name` is one; `None` on lines in no layout
/// that has the field.
pub fn vpc_field(name: &str) -> Option<DfExpr> {
    let fields = &formats::vpc::FIELDS;
    let position = fields.iter().position(|field| field.name == name)?;
    let part = || f::split_part(ident(MESSAGE), lit(" "), lit(position as i64 + 1));
    let branches = VPC_LAYOUTS
        .iter()
        .filter(|&&version| version >= fields[position].version)
        .map(|&version| {
            let layout = layout_pattern(version);
            (
                Box::new(f::regexp_like(ident(MESSAGE), lit(layout), None)),
                Box::new(part()),
            )
        })
        .collect();
    Some(DfExpr::Case(Case::new(None, branches, None)))
}

/// A line in the layout of every field up to `version`: the version itself first, and
/// `action` and `logStatus` pinned to their values, so a custom layout of the same length
/// is not mistaken for it.
fn layout_pattern(version: u8) -> String {
    let fields = formats::vpc::FIELDS.iter().filter(|f| f.version <= version);
    let parts: Vec<String> = fields
        .map(|f| match f.name {
            "version" => version.to_string(),
            "action" => "(ACCEPT|REJECT|-)".to_string(),
            "logStatus" => "(OK|NODATA|SKIPDATA)".to_string(),
            _ => r"\S+".to_string(),
        })
        .collect();
    format!("^{}$", parts.join(" "))
}

fn first_capture(pattern: &str) -> DfExpr {
    datafusion::functions_nested::expr_fn::array_element(
        f::regexp_match(ident(MESSAGE), lit(pattern), None),
        lit(1i64),
    )
}
