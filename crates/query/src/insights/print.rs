//! Canonical query text: lower-case keywords, `filter` for `where`, double-quoted strings,
//! the shortest period units, and parentheses only where precedence needs them. Printing
//! a parsed query and parsing the text again gives the same tree.
//!
//! A few trees the parser never builds print as text that parses to an equivalent but
//! different tree: negative number literals (which parse back as unary minus), names
//! containing a backtick, and regex patterns with `\` before `/` or at the very end, or
//! starting with `(?i)` while `case_insensitive` is false.

use std::fmt::{self, Display, Formatter, Write};

use super::ast::{
    BinaryOp, Command, Expr, LikePattern, ParsePattern, Period, Projection, Query, Regex,
    SortOrder, Source, UnaryOp,
};
use super::lexer::{is_name_char, is_name_start};
use super::parser::{COMPARISON, NEGATION, NOT, POWER, binary_precedence, is_reserved};

/// Postfix `[i]` and `.key`, tighter than any operator.
const POSTFIX: u8 = POWER + 1;
/// Literals, names and calls.
const ATOM: u8 = POSTFIX + 1;

fn precedence(expr: &Expr) -> u8 {
    match expr {
        Expr::Binary { op, .. } => binary_precedence(*op),
        Expr::Unary {
            op: UnaryOp::Not, ..
        } => NOT,
        Expr::Unary {
            op: UnaryOp::Neg, ..
        } => NEGATION,
        Expr::Like { .. } | Expr::Matches { .. } | Expr::In { .. } => COMPARISON,
        Expr::Index { .. } | Expr::Member { .. } => POSTFIX,
        _ => ATOM,
    }
}

/// A field or alias name, in backticks unless it lexes back as the same bare name.
fn write_name(f: &mut Formatter<'_>, name: &str) -> fmt::Result {
    let mut segments = name.split('.');
    let first_bare = segments
        .next()
        .is_some_and(|s| s.starts_with(is_name_start) && s.chars().all(is_name_char));
    let bare = first_bare
        && segments.all(|s| !s.is_empty() && s.chars().all(is_name_char))
        && (name.contains('.') || !is_reserved(name));
    if bare {
        f.write_str(name)
    } else {
        write!(f, "`{name}`")
    }
}

/// A map key after `.`: one segment, so a dot inside needs backticks.
fn write_key(f: &mut Formatter<'_>, key: &str) -> fmt::Result {
    if !key.is_empty() && key.chars().all(is_name_char) {
        f.write_str(key)
    } else {
        write!(f, "`{key}`")
    }
}

fn write_string(f: &mut Formatter<'_>, value: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in value.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

fn write_list<T>(
    f: &mut Formatter<'_>,
    items: &[T],
    mut write: impl FnMut(&mut Formatter<'_>, &T) -> fmt::Result,
) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write(f, item)?;
    }
    Ok(())
}

/// `expr`, parenthesized if it binds more loosely than `min`.
fn write_expr(f: &mut Formatter<'_>, expr: &Expr, min: u8) -> fmt::Result {
    if precedence(expr) < min {
        f.write_char('(')?;
        write_bare(f, expr)?;
        f.write_char(')')
    } else {
        write_bare(f, expr)
    }
}

fn write_bare(f: &mut Formatter<'_>, expr: &Expr) -> fmt::Result {
    match expr {
        Expr::Field { name, .. } => write_name(f, name),
        Expr::String(value) => write_string(f, value),
        Expr::Integer(n) => write!(f, "{n}"),
        // Debug is the shortest text that reads back as the same f64, and always has a
        // `.` or an exponent, so it lexes as a float again.
        Expr::Float(x) => write!(f, "{x:?}"),
        Expr::Period(period) => write!(f, "{period}"),
        Expr::Regex(regex) => write!(f, "{regex}"),
        Expr::Unary {
            op: UnaryOp::Neg,
            expr,
        } => {
            f.write_char('-')?;
            write_expr(f, expr, NEGATION)
        }
        Expr::Unary {
            op: UnaryOp::Not,
            expr,
        } => {
            f.write_str("not ")?;
            write_expr(f, expr, NOT)
        }
        Expr::Binary {
            op: BinaryOp::Pow,
            lhs,
            rhs,
        } => {
            write_expr(f, lhs, POSTFIX)?;
            f.write_str(" ^ ")?;
            write_expr(f, rhs, NEGATION)
        }
        Expr::Binary { op, lhs, rhs } => {
            let own = precedence(expr);
            write_expr(f, lhs, own)?;
            write!(f, " {} ", op.symbol())?;
            write_expr(f, rhs, own + 1)
        }
        Expr::Like {
            expr,
            pattern,
            negated,
        } => {
            write_expr(f, expr, COMPARISON)?;
            f.write_str(if *negated { " not like " } else { " like " })?;
            match pattern {
                LikePattern::Text(text) => write_string(f, text),
                LikePattern::Regex(regex) => write!(f, "{regex}"),
            }
        }
        Expr::Matches { expr, regex } => {
            write_expr(f, expr, COMPARISON)?;
            write!(f, " =~ {regex}")
        }
        Expr::In {
            expr,
            list,
            negated,
        } => {
            write_expr(f, expr, COMPARISON)?;
            f.write_str(if *negated { " not in [" } else { " in [" })?;
            write_list(f, list, |f, item| write_expr(f, item, 0))?;
            f.write_char(']')
        }
        Expr::Call { function, args, .. } => {
            write!(f, "{}(", function.name())?;
            write_list(f, args, |f, arg| write_expr(f, arg, 0))?;
            f.write_char(')')
        }
        Expr::Star => f.write_char('*'),
        Expr::Index { expr, index } => {
            write_expr(f, expr, POSTFIX)?;
            f.write_char('[')?;
            write_expr(f, index, 0)?;
            f.write_char(']')
        }
        Expr::Member { expr, key } => {
            // `a.b` would read back as one field named "a.b", and `5.5` as a number.
            if matches!(
                **expr,
                Expr::Call { .. } | Expr::Index { .. } | Expr::Member { .. }
            ) {
                write_bare(f, expr)?;
            } else {
                write_expr(f, expr, ATOM + 1)?;
            }
            f.write_char('.')?;
            write_key(f, key)
        }
    }
}

/// An expression printed as if it had to bind at least as tightly as the given level.
struct AtLeast<'a>(&'a Expr, u8);

impl Display for AtLeast<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_expr(f, self.0, self.1)
    }
}

/// The operand of `parse` or `unnest`: a postfix expression. For `parse` it must not
/// start with a string or regex, which would be taken for the pattern.
fn write_operand(f: &mut Formatter<'_>, expr: &Expr) -> fmt::Result {
    let text = AtLeast(expr, POSTFIX).to_string();
    if text.starts_with(['"', '/']) {
        write!(f, "({text})")
    } else {
        f.write_str(&text)
    }
}

fn write_projection(f: &mut Formatter<'_>, projection: &Projection) -> fmt::Result {
    write_expr(f, &projection.expr, 0)?;
    if let Some(alias) = &projection.alias {
        f.write_str(" as ")?;
        write_name(f, alias)?;
    }
    Ok(())
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_expr(f, self, 0)
    }
}

impl Display for Regex {
    /// `/pattern/`, with `(?i)` in front when case-insensitive and `/` escaped.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_char('/')?;
        if self.case_insensitive {
            f.write_str("(?i)")?;
        }
        let mut chars = self.pattern.chars();
        while let Some(c) = chars.next() {
            match c {
                // An escape pair is copied whole, so `\\` before a `/` stays a pair.
                '\\' => {
                    f.write_char('\\')?;
                    if let Some(escaped) = chars.next() {
                        f.write_char(escaped)?;
                    }
                }
                '/' => f.write_str("\\/")?,
                c => f.write_char(c)?,
            }
        }
        f.write_char('/')
    }
}

impl Display for Period {
    /// The amount and the shortest unit name, e.g. `5m`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.amount, self.unit.short_name())
    }
}

impl Display for Source {
    /// `SOURCE logGroups(...)` with the keys that have values.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("SOURCE logGroups(")?;
        let classes: Vec<&str> = self.classes.iter().map(|c| c.as_str()).collect();
        let keys = [
            (
                "namePrefix",
                self.name_prefixes.iter().map(String::as_str).collect(),
            ),
            (
                "accountIdentifiers",
                self.account_identifiers
                    .iter()
                    .map(String::as_str)
                    .collect(),
            ),
            ("class", classes),
        ];
        let mut first = true;
        for (key, values) in keys.iter().filter(|(_, values)| !values.is_empty()) {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{key}: [")?;
            write_list(f, values, |f, value| write_string(f, value))?;
            f.write_char(']')?;
        }
        f.write_char(')')
    }
}

impl Display for Command {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Command::Fields(projections) => {
                f.write_str("fields ")?;
                write_list(f, projections, write_projection)
            }
            Command::Display(projections) => {
                f.write_str("display ")?;
                write_list(f, projections, write_projection)
            }
            Command::Filter(condition) => write!(f, "filter {condition}"),
            Command::Stats { aggregations, by } => {
                f.write_str("stats ")?;
                write_list(f, aggregations, write_projection)?;
                if !by.is_empty() {
                    f.write_str(" by ")?;
                    write_list(f, by, write_projection)?;
                }
                Ok(())
            }
            Command::Sort(keys) => {
                f.write_str("sort ")?;
                write_list(f, keys, |f, key| {
                    write_expr(f, &key.expr, 0)?;
                    match key.order {
                        Some(SortOrder::Ascending) => f.write_str(" asc"),
                        Some(SortOrder::Descending) => f.write_str(" desc"),
                        None => Ok(()),
                    }
                })
            }
            Command::Limit(n) => write!(f, "limit {n}"),
            Command::Parse {
                source,
                pattern,
                names,
            } => {
                f.write_str("parse ")?;
                write_operand(f, source)?;
                f.write_char(' ')?;
                match pattern {
                    ParsePattern::Glob(glob) => {
                        write_string(f, glob)?;
                        f.write_str(" as ")?;
                        write_list(f, names, |f, name| write_name(f, name))
                    }
                    ParsePattern::Regex(regex) => write!(f, "{regex}"),
                }
            }
            Command::Dedup(fields) => {
                f.write_str("dedup ")?;
                write_list(f, fields, |f, field| write_expr(f, field, 0))
            }
            Command::Unnest { field, into } => {
                f.write_str("unnest ")?;
                write_operand(f, field)?;
                f.write_str(" into ")?;
                write_name(f, into)
            }
            Command::Pattern(expr) => write!(f, "pattern {expr}"),
        }
    }
}

impl Display for Query {
    /// The commands joined by ` | `, after `SOURCE` if any.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut separator = "";
        if let Some(source) = &self.source {
            write!(f, "{source}")?;
            separator = " | ";
        }
        for command in &self.commands {
            write!(f, "{separator}{command}")?;
            separator = " | ";
        }
        Ok(())
    }
}
