//! The CloudWatch Logs Insights query language: `fields @timestamp, @message | filter
//! @message like /ERROR/ | sort @timestamp desc | limit 20`.
//!
//! [`parse`] turns query text into a [`Query`] or a [`ParseError`]; `Display` on a
//! [`Query`] prints canonical text that parses back to the same tree. Besides syntax the
//! parser checks what needs no knowledge of the data: function names and arities,
//! aggregates only in `stats`, at most two `stats`, `sort`/`limit` after the second
//! `stats`, only `limit` after `dedup`, `SOURCE` first, `bin` taking a period.

mod ast;
mod discovered;
mod functions;
mod lexer;
mod matched;
mod parser;
pub mod plan;
mod print;
mod udf;

pub use ast::{
    BinaryOp, Command, Expr, LikePattern, LogGroupClass, ParsePattern, Period, PeriodUnit,
    Projection, Query, Regex, SortKey, SortOrder, Source, Span, UnaryOp,
};
pub use functions::Function;
pub use parser::parse;

/// Why a query was rejected, located in the query text. The API returns it as
/// `MalformedQueryException` with `queryCompileError { location { startCharOffset,
/// endCharOffset }, message }`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at line {line}, column {column}")]
pub struct ParseError {
    /// What was expected and what was found, or which rule was broken.
    pub message: String,
    /// 1-based line of `start`.
    pub line: usize,
    /// 1-based column of `start`, in characters.
    pub column: usize,
    /// Character (not byte) offset where the problem starts.
    pub start: usize,
    /// Character offset just past the problem; equal to `start` at the end of the query.
    pub end: usize,
}

impl ParseError {
    /// An error about `span` of `text` (byte offsets, as in the tree), converted to
    /// characters, lines and columns. The planner uses it for errors it finds later, so
    /// that they read like the parser's.
    pub fn new(text: &str, span: Span, message: impl Into<String>) -> ParseError {
        let (mut line, mut column, mut start, mut end) = (1, 1, 0, 0);
        for (offset, c) in text.char_indices() {
            if offset < span.start {
                start += 1;
                if c == '\n' {
                    line += 1;
                    column = 1;
                } else {
                    column += 1;
                }
            }
            if offset < span.end.max(span.start) {
                end += 1;
            }
        }
        ParseError {
            message: message.into(),
            line,
            column,
            start,
            end,
        }
    }
}
