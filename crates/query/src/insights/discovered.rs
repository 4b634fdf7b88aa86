//! Fields Insights discovers in well-known log formats without a `parse`: Lambda's
//! `START`/`END`/`REPORT` lines and VPC Flow Logs records (default version-2 format).
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

/// The default (version 2) flow-log record, field by field, with Insights' names.
const VPC_FIELDS: [&str; 14] = [
    "version",
    "accountId",
    "interfaceId",
    "srcAddr",
    "dstAddr",
    "srcPort",
    "dstPort",
    "protocol",
    "packets",
    "bytes",
    "startTime",
    "endTime",
    "action",
    "logStatus",
];

/// A version-2 flow-log line: fourteen space-separated fields, the first `2`.
const VPC_RECORD: &str = r"^2( \S+){13}$";

/// The expression for a Lambda field, if `name` is one.
pub fn lambda_field(name: &str) -> Option<DfExpr> {
    let (_, pattern) = LAMBDA.iter().find(|(field, _)| *field == name)?;
    Some(first_capture(pattern))
}

/// The expression for a flow-log field, if `name` is one; `None` on other lines.
pub fn vpc_field(name: &str) -> Option<DfExpr> {
    let position = VPC_FIELDS.iter().position(|field| *field == name)?;
    let part = f::split_part(ident(MESSAGE), lit(" "), lit(position as i64 + 1));
    Some(DfExpr::Case(Case::new(
        None,
        vec![(
            Box::new(f::regexp_like(ident(MESSAGE), lit(VPC_RECORD), None)),
            Box::new(part),
        )],
        None,
    )))
}

fn first_capture(pattern: &str) -> DfExpr {
    datafusion::functions_nested::expr_fn::array_element(
        f::regexp_match(ident(MESSAGE), lit(pattern), None),
        lit(1i64),
    )
}
