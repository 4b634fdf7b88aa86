//! Tests of the Logs Insights parser through its public API.

mod errors;
mod examples;
mod roundtrip;

use query::insights::{
    BinaryOp, Expr, Function, ParseError, Period, PeriodUnit, Projection, Query, Regex, Span, parse,
};

/// Parses `text`, failing the test on an error, and checks that the printed form parses
/// back to the same tree and prints the same again.
fn parsed(text: &str) -> Query {
    let query = parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    let printed = query.to_string();
    let reparsed = parse(&printed).unwrap_or_else(|e| panic!("{printed:?} (from {text:?}): {e}"));
    assert_eq!(reparsed, query, "printed as {printed:?}");
    assert_eq!(reparsed.to_string(), printed);
    query
}

fn error(text: &str) -> ParseError {
    match parse(text) {
        Ok(query) => panic!("{text:?} parsed as {query:?}"),
        Err(e) => e,
    }
}

fn field(name: &str) -> Expr {
    Expr::field(name)
}

fn string(value: &str) -> Expr {
    Expr::String(value.into())
}

fn int(n: i64) -> Expr {
    Expr::Integer(n)
}

fn period(amount: u64, unit: PeriodUnit) -> Expr {
    Expr::Period(Period { amount, unit })
}

fn regex(pattern: &str, case_insensitive: bool) -> Regex {
    Regex {
        pattern: pattern.into(),
        case_insensitive,
    }
}

fn call(function: Function, args: Vec<Expr>) -> Expr {
    Expr::Call {
        function,
        args,
        span: Span::default(),
    }
}

fn binary(op: BinaryOp, lhs: Expr, rhs: Expr) -> Expr {
    Expr::Binary {
        op,
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
    }
}

fn plain(expr: Expr) -> Projection {
    Projection { expr, alias: None }
}

fn aliased(expr: Expr, alias: &str) -> Projection {
    Projection {
        expr,
        alias: Some(alias.into()),
    }
}
