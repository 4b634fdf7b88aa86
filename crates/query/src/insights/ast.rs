//! The parsed form of a query.

use super::functions::Function;

/// A byte range `start..end` of the query text.
///
/// `==` ignores spans (any two are equal), so that trees compare by meaning: the planner
/// matches a sort key against a stats group written elsewhere in the query, and tests
/// compare trees built by hand. Compare the fields when the location itself matters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset just past the last byte.
    pub end: usize,
}

impl PartialEq for Span {
    fn eq(&self, _: &Span) -> bool {
        true
    }
}

impl Eq for Span {}

/// A whole query: an optional `SOURCE` and the commands in pipe order.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The log groups named by a leading `SOURCE logGroups(...)`, if any.
    pub source: Option<Source>,
    /// The commands after `SOURCE`, in order.
    pub commands: Vec<Command>,
}

/// `SOURCE logGroups(namePrefix: [...], accountIdentifiers: [...], class: [...])`.
/// An empty list means the key was not given.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Source {
    /// Log group name prefixes (at most 5).
    pub name_prefixes: Vec<String>,
    /// Account ids to search from a monitoring account (at most 20).
    pub account_identifiers: Vec<String>,
    /// Log group classes, from `class` or its synonym `logGroupClass`.
    pub classes: Vec<LogGroupClass>,
}

/// A log group class selectable in `SOURCE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogGroupClass {
    /// `STANDARD`, the default.
    Standard,
    /// `INFREQUENT_ACCESS`.
    InfrequentAccess,
}

impl LogGroupClass {
    /// The name as written in queries and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            LogGroupClass::Standard => "STANDARD",
            LogGroupClass::InfrequentAccess => "INFREQUENT_ACCESS",
        }
    }
}

/// One command of the pipeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `fields a, f(b) as c`: adds or selects fields.
    Fields(Vec<Projection>),
    /// `display a, b`: the fields shown; only the last `display` counts.
    Display(Vec<Projection>),
    /// `filter cond`, also written `where cond`.
    Filter(Expr),
    /// `stats agg [as x], ... [by expr [as y], ...]`.
    Stats {
        /// Expressions each containing at least one aggregate function.
        aggregations: Vec<Projection>,
        /// Group keys; empty for one group over all events.
        by: Vec<Projection>,
    },
    /// `sort a desc, b`.
    Sort(Vec<SortKey>),
    /// `limit n`, n at least 1.
    Limit(u64),
    /// `parse [source] "glob*" as a` or `parse [source] /(?<a>re)/`.
    Parse {
        /// The text parsed; `@message` when the query names none.
        source: Expr,
        /// The glob or regex.
        pattern: ParsePattern,
        /// The fields created: the `as` names of a glob (one per `*`) or the named
        /// groups of a regex, in order.
        names: Vec<String>,
    },
    /// `dedup a, b`: the first row of each distinct combination.
    Dedup(Vec<Expr>),
    /// `unnest list into item`.
    Unnest {
        /// The list to flatten.
        field: Expr,
        /// The field each element goes into.
        into: String,
    },
    /// `pattern expr`: clusters the values into patterns.
    Pattern(Expr),
}

/// An expression with an optional `as` name.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    /// The value.
    pub expr: Expr,
    /// The name given with `as`.
    pub alias: Option<String>,
}

/// One key of `sort`.
#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    /// The value sorted on.
    pub expr: Expr,
    /// `asc` or `desc` as written; `None` when neither was, which leaves the default to
    /// the planner (AWS documents none).
    pub order: Option<SortOrder>,
}

/// A sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    /// `asc`.
    Ascending,
    /// `desc`.
    Descending,
}

/// The pattern of a `parse` command.
#[derive(Debug, Clone, PartialEq)]
pub enum ParsePattern {
    /// A string where each `*` captures text.
    Glob(String),
    /// A regex whose named groups become fields.
    Regex(Regex),
}

/// A regex literal `/.../`.
#[derive(Debug, Clone, PartialEq)]
pub struct Regex {
    /// The pattern as the regex engine sees it: `\/` in the query is stored as `/`, and
    /// a leading `(?i)` is moved to `case_insensitive`. Other escapes are kept as written.
    pub pattern: String,
    /// Whether the literal began with `(?i)`.
    pub case_insensitive: bool,
}

/// A time period literal such as `5m` or `1hour`, used by `bin`, `datefloor` and
/// `dateceil`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// The number written, at least 1.
    pub amount: u64,
    /// The unit written.
    pub unit: PeriodUnit,
}

impl Period {
    /// The period `bin()` actually groups by. AWS caps milliseconds at 1000, seconds and
    /// minutes at 60 and hours at 24, so `bin(300s)` makes 60-second bins, not 5-minute
    /// ones (the documented advice is to write `bin(5m)`). Other units are not capped.
    pub fn capped_for_bin(self) -> Period {
        let cap = match self.unit {
            PeriodUnit::Millisecond => 1000,
            PeriodUnit::Second | PeriodUnit::Minute => 60,
            PeriodUnit::Hour => 24,
            _ => u64::MAX,
        };
        Period {
            amount: self.amount.min(cap),
            unit: self.unit,
        }
    }
}

/// The unit of a [`Period`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodUnit {
    /// `ms`, `msec`, `millisecond`.
    Millisecond,
    /// `s`, `sec`, `second`.
    Second,
    /// `m`, `min`, `minute`.
    Minute,
    /// `h`, `hr`, `hour`.
    Hour,
    /// `d`, `day`.
    Day,
    /// `w`, `week`.
    Week,
    /// `mo`, `mon`, `month`.
    Month,
    /// `q`, `qtr`, `quarter`.
    Quarter,
    /// `y`, `yr`, `year`.
    Year,
}

impl PeriodUnit {
    /// Reads a unit name (case-insensitive). Each multi-letter name may take a plural
    /// `s` (`hrs`, `days`); the one-letter ones may not, or `ms` would be ambiguous.
    pub fn from_name(name: &str) -> Option<PeriodUnit> {
        let lower = name.to_ascii_lowercase();
        let unit = |n: &str| match n {
            "ms" | "msec" | "millisecond" => Some(PeriodUnit::Millisecond),
            "s" | "sec" | "second" => Some(PeriodUnit::Second),
            "m" | "min" | "minute" => Some(PeriodUnit::Minute),
            "h" | "hr" | "hour" => Some(PeriodUnit::Hour),
            "d" | "day" => Some(PeriodUnit::Day),
            "w" | "week" => Some(PeriodUnit::Week),
            "mo" | "mon" | "month" => Some(PeriodUnit::Month),
            "q" | "qtr" | "quarter" => Some(PeriodUnit::Quarter),
            "y" | "yr" | "year" => Some(PeriodUnit::Year),
            _ => None,
        };
        unit(&lower).or_else(|| {
            lower
                .strip_suffix('s')
                .filter(|singular| singular.len() > 1)
                .and_then(unit)
        })
    }

    /// The shortest name, used when printing.
    pub fn short_name(self) -> &'static str {
        match self {
            PeriodUnit::Millisecond => "ms",
            PeriodUnit::Second => "s",
            PeriodUnit::Minute => "m",
            PeriodUnit::Hour => "h",
            PeriodUnit::Day => "d",
            PeriodUnit::Week => "w",
            PeriodUnit::Month => "mo",
            PeriodUnit::Quarter => "q",
            PeriodUnit::Year => "y",
        }
    }
}

/// An expression.
///
/// The parser never makes negative numbers: `-5` is `Unary { Neg, Integer(5) }`, which
/// keeps `-2 ^ 2` equal to `-(2 ^ 2)` and lets the planner fold constants.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A field, by its full name: `@message`, `userIdentity.userName`, `` `foo-bar` ``
    /// (stored as `foo-bar`). Dotted paths are kept whole because discovered JSON fields
    /// are named that way; backticks only quote.
    Field {
        /// The name without backticks.
        name: String,
        /// Where it was written.
        span: Span,
    },
    /// A string literal, escapes resolved.
    String(String),
    /// A whole-number literal.
    Integer(i64),
    /// A literal with a fraction or exponent, or too large for `i64`.
    Float(f64),
    /// A period literal such as `5m`.
    Period(Period),
    /// A regex literal.
    Regex(Regex),
    /// `-x` or `not x`.
    Unary {
        /// The operator.
        op: UnaryOp,
        /// The operand.
        expr: Box<Expr>,
    },
    /// Arithmetic, comparison, `and`, `or`.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// The left operand.
        lhs: Box<Expr>,
        /// The right operand.
        rhs: Box<Expr>,
    },
    /// `x like "text"`, `x like /re/`, `x not like ...`.
    Like {
        /// The value tested.
        expr: Box<Expr>,
        /// What it must contain or match.
        pattern: LikePattern,
        /// `not like`.
        negated: bool,
    },
    /// `x =~ /re/`.
    Matches {
        /// The value tested.
        expr: Box<Expr>,
        /// The regex it must match.
        regex: Regex,
    },
    /// `x in [a, b]`, `x not in [a, b]`: whole-value membership.
    In {
        /// The value tested.
        expr: Box<Expr>,
        /// The candidates.
        list: Vec<Expr>,
        /// `not in`.
        negated: bool,
    },
    /// A function call, the function resolved and its arity checked.
    Call {
        /// The function called.
        function: Function,
        /// The arguments; `count(*)` has the single argument [`Expr::Star`].
        args: Vec<Expr>,
        /// From the function name to the closing parenthesis.
        span: Span,
    },
    /// The `*` of `count(*)`; nowhere else.
    Star,
    /// `list[index]`.
    Index {
        /// The list.
        expr: Box<Expr>,
        /// The position.
        index: Box<Expr>,
    },
    /// `value.key` where `value` is not a plain field, e.g. `users[1].action` or
    /// `jsonParse(m).a`. On a plain field the key is part of the field's name instead.
    Member {
        /// The map.
        expr: Box<Expr>,
        /// The key, without backticks.
        key: String,
    },
}

impl Expr {
    /// A field reference with no source location, e.g. the default `@message` of `parse`.
    pub fn field(name: impl Into<String>) -> Expr {
        Expr::Field {
            name: name.into(),
            span: Span::default(),
        }
    }

    /// The direct subexpressions, in written order.
    pub fn children(&self) -> Vec<&Expr> {
        match self {
            Expr::Field { .. }
            | Expr::String(_)
            | Expr::Integer(_)
            | Expr::Float(_)
            | Expr::Period(_)
            | Expr::Regex(_)
            | Expr::Star => Vec::new(),
            Expr::Unary { expr, .. }
            | Expr::Like { expr, .. }
            | Expr::Matches { expr, .. }
            | Expr::Member { expr, .. } => vec![expr],
            Expr::Binary { lhs, rhs, .. } => vec![lhs, rhs],
            Expr::Index { expr, index } => vec![expr, index],
            Expr::In { expr, list, .. } => std::iter::once(&**expr).chain(list).collect(),
            Expr::Call { args, .. } => args.iter().collect(),
        }
    }
}

/// A prefix operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-`.
    Neg,
    /// `not`.
    Not,
}

/// An infix operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// `or`.
    Or,
    /// `and`.
    And,
    /// `=`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
    /// `%`.
    Mod,
    /// `^`, right-associative.
    Pow,
}

impl BinaryOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "=",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Pow => "^",
        }
    }
}

/// The right side of `like`.
#[derive(Debug, Clone, PartialEq)]
pub enum LikePattern {
    /// `like "text"`: contains the text.
    Text(String),
    /// `like /re/`: matches the regex somewhere.
    Regex(Regex),
}
