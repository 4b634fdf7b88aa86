//! From tokens to a [`Query`]: recursive descent for commands, precedence climbing for
//! expressions, and AWS's placement rules.
//!
//! Precedence, loosest first: `or`; `and`; prefix `not`; comparisons (`=`, `!=`, `<`,
//! `<=`, `>`, `>=`, `like`, `not like`, `=~`, `in`, `not in`); `+ -`; `* / %`; prefix
//! `-`; `^` (right-associative, so `-2 ^ 2` is `-(2 ^ 2)`); postfix `[i]` and `.key`.

use super::ParseError;
use super::ast::{
    BinaryOp, Command, Expr, LikePattern, LogGroupClass, ParsePattern, Projection, Query, SortKey,
    SortOrder, Source, Span, UnaryOp,
};
use super::functions::Function;
use super::lexer::{Lexer, Mode, Tok, Token};

/// Deepest expression tree accepted. Queries are user input and every walk of the tree
/// recurses, so `a + a + … + a` must not build one that exhausts a stack later.
const MAX_DEPTH: usize = 256;

/// Deepest recursion of the parser itself: parentheses, calls, brackets and operands
/// of prefix and right-hand operators. Its frames are large in debug builds, so this is
/// lower than [`MAX_DEPTH`] and still far beyond real queries.
const MAX_NESTING: usize = 32;

/// Words that are never field names where a value is expected; such fields need
/// backticks.
const RESERVED: &[&str] = &[
    "and", "or", "not", "like", "in", "as", "by", "asc", "desc", "into",
];

/// Whether `word` can only be a keyword where a value is expected.
pub(crate) fn is_reserved(word: &str) -> bool {
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(word))
}

const COMMANDS: &str =
    "fields, display, filter, stats, sort, limit, parse, dedup, unnest or pattern";

/// Commands of AWS's current list that this engine does not run; named so that the error
/// says so instead of calling them unknown.
const UNSUPPORTED_COMMANDS: &[&str] = &[
    "addtotals",
    "anomaly",
    "filterIndex",
    "diff",
    "unmask",
    "lookup",
    "join",
    "autoregress",
    "logcompare",
    "filldown",
    "fillmissing",
    "cidrlookup",
    "outlier",
    "accum",
    "appendcols",
    "sessionize",
    "countFrequent",
    "relevantfields",
    "expand",
];

/// Longest piece of query text quoted in a message.
const MAX_QUOTE: usize = 40;

// Binding strength, loosest first; the printer parenthesizes by the same table.
const OR: u8 = 1;
const AND: u8 = 2;
pub(crate) const NOT: u8 = 3;
pub(crate) const COMPARISON: u8 = 4;
const ADDITIVE: u8 = 5;
const MULTIPLICATIVE: u8 = 6;
pub(crate) const NEGATION: u8 = 7;
pub(crate) const POWER: u8 = 8;

/// An operator that follows its left operand.
enum Infix {
    Binary(BinaryOp),
    Match,
    Like,
    In,
    /// `not`, which must go on with `like` or `in`.
    Not,
}

fn infix(tok: &Tok) -> Option<(Infix, u8)> {
    let binary = |op| Some((Infix::Binary(op), binary_precedence(op)));
    match tok {
        Tok::Eq => binary(BinaryOp::Eq),
        Tok::Ne => binary(BinaryOp::Ne),
        Tok::Lt => binary(BinaryOp::Lt),
        Tok::Le => binary(BinaryOp::Le),
        Tok::Gt => binary(BinaryOp::Gt),
        Tok::Ge => binary(BinaryOp::Ge),
        Tok::Plus => binary(BinaryOp::Add),
        Tok::Minus => binary(BinaryOp::Sub),
        Tok::Star => binary(BinaryOp::Mul),
        Tok::Slash => binary(BinaryOp::Div),
        Tok::Percent => binary(BinaryOp::Mod),
        Tok::Caret => binary(BinaryOp::Pow),
        Tok::Match => Some((Infix::Match, COMPARISON)),
        Tok::Word(w) => match w.to_ascii_lowercase().as_str() {
            "or" => binary(BinaryOp::Or),
            "and" => binary(BinaryOp::And),
            "like" => Some((Infix::Like, COMPARISON)),
            "in" => Some((Infix::In, COMPARISON)),
            "not" => Some((Infix::Not, COMPARISON)),
            _ => None,
        },
        _ => None,
    }
}

/// How tightly `op` binds.
pub(crate) fn binary_precedence(op: BinaryOp) -> u8 {
    match op {
        BinaryOp::Or => OR,
        BinaryOp::And => AND,
        BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
            COMPARISON
        }
        BinaryOp::Add | BinaryOp::Sub => ADDITIVE,
        BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod => MULTIPLICATIVE,
        BinaryOp::Pow => POWER,
    }
}

/// Parses a Logs Insights query, checking what can be checked without the data. The
/// error says what was expected and what was found, or which documented rule the query
/// breaks, and where.
pub fn parse(text: &str) -> Result<Query, ParseError> {
    Parser {
        lexer: Lexer::new(text),
        text,
        pos: 0,
        last_end: 0,
        depth: 0,
        nesting: 0,
    }
    .query()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CommandKind {
    Fields,
    Display,
    Filter,
    Stats,
    Sort,
    Limit,
    Parse,
    Dedup,
    Unnest,
    Pattern,
}

impl CommandKind {
    fn lookup(word: &str) -> Option<CommandKind> {
        Some(match word.to_ascii_lowercase().as_str() {
            "fields" => CommandKind::Fields,
            "display" => CommandKind::Display,
            "filter" | "where" => CommandKind::Filter,
            "stats" => CommandKind::Stats,
            "sort" => CommandKind::Sort,
            "limit" => CommandKind::Limit,
            "parse" => CommandKind::Parse,
            "dedup" => CommandKind::Dedup,
            "unnest" => CommandKind::Unnest,
            "pattern" => CommandKind::Pattern,
            _ => return None,
        })
    }
}

/// The documented rules on which command may follow which.
#[derive(Default)]
struct Placement {
    stats: usize,
    after_dedup: bool,
    /// The first `sort` or `limit`, which must not precede a second `stats`.
    sort_or_limit: Option<(Span, String)>,
}

impl Placement {
    fn admit(&mut self, kind: CommandKind, word: &str, span: Span) -> Result<(), (Span, String)> {
        if self.after_dedup && kind != CommandKind::Limit {
            return Err((
                span,
                format!("Only 'limit' may follow 'dedup', but found '{word}'"),
            ));
        }
        match kind {
            CommandKind::Stats => {
                self.stats += 1;
                if self.stats > 2 {
                    return Err((span, "A query can have at most two stats commands".into()));
                }
                if self.stats == 2
                    && let Some((at, earlier)) = self.sort_or_limit.take()
                {
                    return Err((
                        at,
                        format!("'{earlier}' must come after the second stats command"),
                    ));
                }
            }
            CommandKind::Sort | CommandKind::Limit if self.sort_or_limit.is_none() => {
                self.sort_or_limit = Some((span, word.to_string()));
            }
            CommandKind::Dedup => self.after_dedup = true,
            _ => {}
        }
        Ok(())
    }
}

#[derive(Clone, Copy, PartialEq)]
enum SourceKey {
    NamePrefix,
    AccountIdentifiers,
    Class,
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    text: &'a str,
    /// Where the next token is read from.
    pos: usize,
    /// End of the last token consumed, for spans of whole constructs.
    last_end: usize,
    /// Depth of the tree being built, an upper bound.
    depth: usize,
    /// Recursion of the parser.
    nesting: usize,
}

fn is_word(tok: &Tok, keyword: &str) -> bool {
    matches!(tok, Tok::Word(w) if w.eq_ignore_ascii_case(keyword))
}

fn binary(op: BinaryOp, lhs: Expr, rhs: Expr) -> Expr {
    Expr::Binary {
        op,
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
    }
}

fn arguments(n: usize) -> String {
    match n {
        0 => "no arguments".into(),
        1 => "1 argument".into(),
        n => format!("{n} arguments"),
    }
}

/// The fields `expr` reads, in written order.
fn field_names<'e>(expr: &'e Expr, names: &mut Vec<&'e str>) {
    if let Expr::Field { name, .. } = expr {
        names.push(name);
    }
    for child in expr.children() {
        field_names(child, names);
    }
}

/// The names of `(?<name>...)` and `(?P<name>...)` groups, in order.
fn named_groups(pattern: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_class = false;
    let mut chars = pattern.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '[' => in_class = true,
            ']' => in_class = false,
            '(' if !in_class => {
                let rest = &pattern[i + 1..];
                if let Some(after) = rest.strip_prefix("?P<").or_else(|| rest.strip_prefix("?<"))
                    && let Some(end) = after.find('>')
                {
                    let name = &after[..end];
                    // `(?<=` and `(?<!` are lookbehinds, not names.
                    if name.starts_with(|c: char| c.is_alphabetic() || c == '_')
                        && name.chars().all(|c| c.is_alphanumeric() || c == '_')
                    {
                        names.push(name.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    names
}

impl Parser<'_> {
    fn peek(&self, mode: Mode) -> Result<Token, ParseError> {
        self.lexer.token(self.pos, mode)
    }

    fn advance(&mut self, span: Span) {
        self.pos = span.end;
        self.last_end = span.end;
    }

    fn next(&mut self, mode: Mode) -> Result<Token, ParseError> {
        let token = self.peek(mode)?;
        self.advance(token.span);
        Ok(token)
    }

    /// Consumes the next token if it is `tok`.
    fn eat(&mut self, mode: Mode, tok: &Tok) -> Result<bool, ParseError> {
        let token = self.peek(mode)?;
        let found = token.tok == *tok;
        if found {
            self.advance(token.span);
        }
        Ok(found)
    }

    /// Consumes the next token if it is the keyword `keyword`.
    fn eat_word(&mut self, mode: Mode, keyword: &str) -> Result<bool, ParseError> {
        let token = self.peek(mode)?;
        let found = is_word(&token.tok, keyword);
        if found {
            self.advance(token.span);
        }
        Ok(found)
    }

    fn expect(&mut self, mode: Mode, tok: &Tok, what: &str) -> Result<Token, ParseError> {
        let token = self.peek(mode)?;
        if token.tok != *tok {
            return Err(self.expected(what, token.span));
        }
        self.advance(token.span);
        Ok(token)
    }

    fn error(&self, span: Span, message: impl Into<String>) -> ParseError {
        ParseError::new(self.text, span, message)
    }

    /// The text of `span` for a message, shortened if long.
    fn quote(&self, span: Span) -> String {
        let text = self.text.get(span.start..span.end).unwrap_or_default();
        let (text, more) = match text.char_indices().nth(MAX_QUOTE) {
            Some((cut, _)) => (&text[..cut], "…"),
            None => (text, ""),
        };
        // A string token brings its own quotes.
        if text.starts_with(['"', '\'']) {
            format!("{text}{more}")
        } else {
            format!("'{text}{more}'")
        }
    }

    fn expected(&self, what: &str, found: Span) -> ParseError {
        let found_text = if found.start == found.end {
            "end of query".to_string()
        } else {
            self.quote(found)
        };
        self.error(found, format!("Expected {what} but found {found_text}"))
    }

    /// Counts one more level of tree depth for a node about to wrap what was parsed; the
    /// caller restores `depth` when its whole subtree is done.
    fn enter(&mut self, at: Span) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(
                at,
                format!("Expected an expression nested at most {MAX_DEPTH} levels deep"),
            ));
        }
        Ok(())
    }

    /// Counts a level of recursion (and of depth) before parsing a subexpression; returns
    /// the counts for [`Parser::ascend`] to restore after it.
    fn descend(&mut self, at: Span) -> Result<(usize, usize), ParseError> {
        let saved = (self.depth, self.nesting);
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(self.error(
                at,
                format!(
                    "Expected parentheses, calls and operators nested at most {MAX_NESTING} \
                     levels deep"
                ),
            ));
        }
        self.enter(at)?;
        Ok(saved)
    }

    fn ascend(&mut self, (depth, nesting): (usize, usize)) {
        self.depth = depth;
        self.nesting = nesting;
    }

    fn query(&mut self) -> Result<Query, ParseError> {
        let mut source = None;
        let mut commands = Vec::new();
        let mut placement = Placement::default();
        let mut what = "a command";
        loop {
            let token = self.next(Mode::Operand)?;
            let Tok::Word(word) = &token.tok else {
                return Err(self.expected(what, token.span));
            };
            if word.eq_ignore_ascii_case("source") {
                if source.is_some() || !commands.is_empty() {
                    return Err(
                        self.error(token.span, "SOURCE must be the first command of a query")
                    );
                }
                source = Some(self.source()?);
            } else {
                let kind = self.command_kind(word, token.span)?;
                placement
                    .admit(kind, word, token.span)
                    .map_err(|(span, message)| self.error(span, message))?;
                commands.push(self.command(kind, word, placement.stats > 0)?);
            }
            let separator = self.next(Mode::Operator)?;
            match separator.tok {
                Tok::Pipe => what = "a command after '|'",
                Tok::End => return Ok(Query { source, commands }),
                _ => return Err(self.expected("'|' or end of query", separator.span)),
            }
        }
    }

    fn command_kind(&self, word: &str, span: Span) -> Result<CommandKind, ParseError> {
        if let Some(kind) = CommandKind::lookup(word) {
            return Ok(kind);
        }
        if let Some(known) = UNSUPPORTED_COMMANDS
            .iter()
            .find(|c| c.eq_ignore_ascii_case(word))
        {
            return Err(self.error(span, format!("The '{known}' command is not supported")));
        }
        Err(self.expected(&format!("a command ({COMMANDS})"), span))
    }

    /// The body of a command whose keyword, `word`, was consumed.
    fn command(
        &mut self,
        kind: CommandKind,
        word: &str,
        after_stats: bool,
    ) -> Result<Command, ParseError> {
        Ok(match kind {
            CommandKind::Fields => Command::Fields(self.plain_projections(word)?),
            CommandKind::Display => Command::Display(self.plain_projections(word)?),
            CommandKind::Filter => {
                let condition = self.expr(&format!("a condition after '{word}'"))?;
                self.check_aggregates(&condition, false)?;
                Command::Filter(condition)
            }
            CommandKind::Stats => self.stats(word)?,
            CommandKind::Sort => Command::Sort(self.sort_keys(word, after_stats)?),
            CommandKind::Limit => {
                let token = self.next(Mode::Operand)?;
                match token.tok {
                    Tok::Int(n) if n > 0 => Command::Limit(n),
                    _ => {
                        return Err(self.expected(
                            &format!("a positive whole number after '{word}'"),
                            token.span,
                        ));
                    }
                }
            }
            CommandKind::Parse => self.parse_command(word)?,
            CommandKind::Dedup => {
                let mut fields = Vec::new();
                let mut what = format!("a field name after '{word}'");
                loop {
                    let field = self.expr(&what)?;
                    self.check_aggregates(&field, false)?;
                    fields.push(field);
                    if !self.eat(Mode::Operator, &Tok::Comma)? {
                        break Command::Dedup(fields);
                    }
                    what = "a field name after ','".into();
                }
            }
            CommandKind::Unnest => {
                let field = self.postfix(&format!("a field name after '{word}'"))?;
                self.check_aggregates(&field, false)?;
                let token = self.peek(Mode::Operator)?;
                if !is_word(&token.tok, "into") {
                    return Err(self.expected("'into' after the field to unnest", token.span));
                }
                self.advance(token.span);
                let into = self.name("a field name after 'into'")?;
                Command::Unnest { field, into }
            }
            CommandKind::Pattern => {
                let expr = self.expr(&format!("a field name or expression after '{word}'"))?;
                self.check_aggregates(&expr, false)?;
                Command::Pattern(expr)
            }
        })
    }

    /// `expr [as name], ...`, each with the span it covers.
    fn projections(&mut self, first: String) -> Result<Vec<(Projection, Span)>, ParseError> {
        let mut projections = Vec::new();
        let mut what = first;
        loop {
            let start = self.peek(Mode::Operand)?.span.start;
            let expr = self.expr(&what)?;
            let alias = if self.eat_word(Mode::Operator, "as")? {
                Some(self.name("a name after 'as'")?)
            } else {
                None
            };
            let span = Span {
                start,
                end: self.last_end,
            };
            projections.push((Projection { expr, alias }, span));
            if !self.eat(Mode::Operator, &Tok::Comma)? {
                return Ok(projections);
            }
            what = "a field name or expression after ','".into();
        }
    }

    /// Projections of `fields`, `display` or `stats ... by`: no aggregates.
    fn plain_projections(&mut self, word: &str) -> Result<Vec<Projection>, ParseError> {
        let projections = self.projections(format!("a field name or expression after '{word}'"))?;
        projections
            .into_iter()
            .map(|(projection, _)| {
                self.check_aggregates(&projection.expr, false)?;
                Ok(projection)
            })
            .collect()
    }

    fn stats(&mut self, word: &str) -> Result<Command, ParseError> {
        let mut aggregations: Vec<Projection> = Vec::new();
        for (projection, span) in
            self.projections(format!("an aggregate function after '{word}'"))?
        {
            // AWS's own samples combine earlier results of the same stats without a new
            // aggregate: `max(a) as x, min(a) as y, x - y as range`.
            let combines_earlier = || {
                let mut fields = Vec::new();
                field_names(&projection.expr, &mut fields);
                !fields.is_empty()
                    && fields.iter().all(|name| {
                        aggregations
                            .iter()
                            .any(|earlier| earlier.alias.as_deref() == Some(*name))
                    })
            };
            if !self.check_aggregates(&projection.expr, true)? && !combines_earlier() {
                return Err(self.error(
                    span,
                    format!(
                        "Expected an aggregate function such as count(*), sum(x) or avg(x) in \
                         stats but found {}",
                        self.quote(span)
                    ),
                ));
            }
            aggregations.push(projection);
        }
        let by = if self.eat_word(Mode::Operator, "by")? {
            self.plain_projections("by")?
        } else {
            Vec::new()
        };
        Ok(Command::Stats { aggregations, by })
    }

    fn sort_keys(&mut self, word: &str, after_stats: bool) -> Result<Vec<SortKey>, ParseError> {
        let mut keys = Vec::new();
        let mut what = format!("a field name after '{word}'");
        loop {
            let expr = self.expr(&what)?;
            // After stats a key may name an aggregate as written there, e.g. `sort count(*)`.
            self.check_aggregates(&expr, after_stats)?;
            let order = if self.eat_word(Mode::Operator, "asc")? {
                Some(SortOrder::Ascending)
            } else if self.eat_word(Mode::Operator, "desc")? {
                Some(SortOrder::Descending)
            } else {
                None
            };
            keys.push(SortKey { expr, order });
            if !self.eat(Mode::Operator, &Tok::Comma)? {
                return Ok(keys);
            }
            what = "a field name after ','".into();
        }
    }

    fn parse_command(&mut self, word: &str) -> Result<Command, ParseError> {
        let first = self.peek(Mode::Operand)?;
        let source = if matches!(first.tok, Tok::Str(_) | Tok::Regex(_)) {
            Expr::field("@message")
        } else {
            let source = self.postfix(&format!("a field name or pattern after '{word}'"))?;
            self.check_aggregates(&source, false)?;
            source
        };
        let token = self.next(Mode::Operand)?;
        match token.tok {
            Tok::Str(glob) => {
                let stars = glob.matches('*').count();
                if stars == 0 {
                    return Err(self.expected("a pattern with at least one '*'", token.span));
                }
                let as_token = self.peek(Mode::Operator)?;
                if !is_word(&as_token.tok, "as") {
                    return Err(
                        self.expected("'as' and a name for each '*' of the pattern", as_token.span)
                    );
                }
                self.advance(as_token.span);
                let start = self.peek(Mode::Operand)?.span.start;
                let mut names = vec![self.name("a field name after 'as'")?];
                while self.eat(Mode::Operator, &Tok::Comma)? {
                    names.push(self.name("a field name after ','")?);
                }
                if names.len() != stars {
                    let span = Span {
                        start,
                        end: self.last_end,
                    };
                    return Err(self.error(
                        span,
                        format!(
                            "Expected {stars} names after 'as', one for each '*' of the \
                             pattern, but found {}",
                            names.len()
                        ),
                    ));
                }
                Ok(Command::Parse {
                    source,
                    pattern: ParsePattern::Glob(glob),
                    names,
                })
            }
            Tok::Regex(regex) => {
                let names = named_groups(&regex.pattern);
                if names.is_empty() {
                    return Err(self.expected(
                        "a regex with named groups such as (?<name>\\S+)",
                        token.span,
                    ));
                }
                let after = self.peek(Mode::Operator)?;
                if is_word(&after.tok, "as") {
                    return Err(self.error(
                        after.span,
                        "A parse regex names its fields with (?<name>...) groups, so it takes \
                         no 'as'",
                    ));
                }
                Ok(Command::Parse {
                    source,
                    pattern: ParsePattern::Regex(regex),
                    names,
                })
            }
            _ => Err(self.expected("a \"glob *\" or /regex/ pattern to parse with", token.span)),
        }
    }

    fn source(&mut self) -> Result<Source, ParseError> {
        let token = self.next(Mode::Operand)?;
        if !is_word(&token.tok, "logGroups") {
            return Err(self.expected("logGroups(...) after SOURCE", token.span));
        }
        self.expect(Mode::Operator, &Tok::LParen, "'(' after 'logGroups'")?;
        let mut source = Source::default();
        if self.eat(Mode::Operand, &Tok::RParen)? {
            return Ok(source);
        }
        let mut seen = Vec::new();
        loop {
            let key_token = self.next(Mode::Operand)?;
            let key = match &key_token.tok {
                Tok::Word(w) => match w.to_ascii_lowercase().as_str() {
                    "nameprefix" => Some(SourceKey::NamePrefix),
                    "accountidentifiers" => Some(SourceKey::AccountIdentifiers),
                    "class" | "loggroupclass" => Some(SourceKey::Class),
                    _ => None,
                },
                _ => None,
            };
            let Some(key) = key else {
                return Err(
                    self.expected("namePrefix, accountIdentifiers or class", key_token.span)
                );
            };
            let key_text = self.quote(key_token.span);
            if seen.contains(&key) {
                return Err(self.error(key_token.span, format!("{key_text} is given twice")));
            }
            seen.push(key);
            self.expect(
                Mode::Operator,
                &Tok::Colon,
                &format!("':' after {key_text}"),
            )?;
            let values = self.string_list(&format!("a [list] of strings after {key_text}"))?;
            match key {
                SourceKey::NamePrefix if values.len() > 5 => {
                    return Err(self.error(
                        key_token.span,
                        format!(
                            "Expected at most 5 name prefixes but found {}",
                            values.len()
                        ),
                    ));
                }
                SourceKey::NamePrefix => {
                    source.name_prefixes = values.into_iter().map(|(v, _)| v).collect();
                }
                SourceKey::AccountIdentifiers if values.len() > 20 => {
                    return Err(self.error(
                        key_token.span,
                        format!(
                            "Expected at most 20 account identifiers but found {}",
                            values.len()
                        ),
                    ));
                }
                SourceKey::AccountIdentifiers => {
                    source.account_identifiers = values.into_iter().map(|(v, _)| v).collect();
                }
                SourceKey::Class => {
                    for (value, span) in values {
                        source.classes.push(match value.to_ascii_uppercase().as_str() {
                            "STANDARD" => LogGroupClass::Standard,
                            "INFREQUENT_ACCESS" => LogGroupClass::InfrequentAccess,
                            _ => return Err(self.expected("STANDARD or INFREQUENT_ACCESS", span)),
                        });
                    }
                }
            }
            let separator = self.next(Mode::Operator)?;
            match separator.tok {
                Tok::Comma => {}
                Tok::RParen => return Ok(source),
                _ => return Err(self.expected("',' or ')'", separator.span)),
            }
        }
    }

    /// `["a", 'b']`, each string with its span.
    fn string_list(&mut self, what: &str) -> Result<Vec<(String, Span)>, ParseError> {
        self.expect(Mode::Operand, &Tok::LBracket, what)?;
        let mut values = Vec::new();
        if self.eat(Mode::Operand, &Tok::RBracket)? {
            return Ok(values);
        }
        loop {
            let token = self.next(Mode::Operand)?;
            let Tok::Str(value) = token.tok else {
                return Err(self.expected("a quoted string", token.span));
            };
            values.push((value, token.span));
            let separator = self.next(Mode::Operator)?;
            match separator.tok {
                Tok::Comma => {}
                Tok::RBracket => return Ok(values),
                _ => return Err(self.expected("',' or ']'", separator.span)),
            }
        }
    }

    /// A name after `as`, `into` or in a `parse` name list.
    fn name(&mut self, what: &str) -> Result<String, ParseError> {
        let token = self.peek(Mode::Operand)?;
        let name = match token.tok {
            Tok::Word(word) if !is_reserved(&word) => word,
            Tok::Name(segments) => segments.join("."),
            _ => return Err(self.expected(what, token.span)),
        };
        self.advance(token.span);
        Ok(name)
    }

    /// Checks where aggregate calls appear in `expr`: never one inside another, and none
    /// at all unless `allowed`. Returns whether there was one.
    fn check_aggregates(&self, expr: &Expr, allowed: bool) -> Result<bool, ParseError> {
        self.walk_aggregates(expr, allowed, None)
    }

    fn walk_aggregates(
        &self,
        expr: &Expr,
        allowed: bool,
        inside: Option<Function>,
    ) -> Result<bool, ParseError> {
        if let Expr::Call { function, span, .. } = expr
            && function.is_aggregate()
        {
            if let Some(outer) = inside {
                return Err(self.error(
                    *span,
                    format!(
                        "Aggregate function '{}' can't be used inside '{}'",
                        function.name(),
                        outer.name()
                    ),
                ));
            }
            if !allowed {
                return Err(self.error(
                    *span,
                    format!(
                        "Aggregate function '{}' can only be used in stats",
                        function.name()
                    ),
                ));
            }
            for child in expr.children() {
                self.walk_aggregates(child, allowed, Some(*function))?;
            }
            return Ok(true);
        }
        let mut found = false;
        for child in expr.children() {
            found |= self.walk_aggregates(child, allowed, inside)?;
        }
        Ok(found)
    }

    fn expr(&mut self, what: &str) -> Result<Expr, ParseError> {
        self.expr_from(0, what)
    }

    /// An expression whose operators all bind at least as tightly as `min` (precedence
    /// climbing: one function for every level keeps the stack shallow per nesting).
    fn expr_from(&mut self, min: u8, what: &str) -> Result<Expr, ParseError> {
        let depth = self.depth;
        let mut lhs = self.prefix(min, what)?;
        loop {
            let token = self.peek(Mode::Operator)?;
            let Some((infix, precedence)) = infix(&token.tok) else {
                break;
            };
            if precedence < min {
                break;
            }
            self.advance(token.span);
            self.enter(token.span)?;
            lhs = match infix {
                Infix::Binary(op) => {
                    // `^` is right-associative and its exponent may be negated: `2 ^ -1`.
                    let rhs_min = if op == BinaryOp::Pow {
                        NEGATION
                    } else {
                        precedence + 1
                    };
                    let what = format!("an expression after '{}'", op.symbol());
                    let saved = self.descend(token.span)?;
                    let rhs = self.expr_from(rhs_min, &what)?;
                    self.ascend(saved);
                    binary(op, lhs, rhs)
                }
                Infix::Match => {
                    let regex_token = self.next(Mode::Operand)?;
                    let Tok::Regex(regex) = regex_token.tok else {
                        return Err(self.expected("a /regex/ after '=~'", regex_token.span));
                    };
                    Expr::Matches {
                        expr: Box::new(lhs),
                        regex,
                    }
                }
                Infix::Like => self.like(lhs, false)?,
                Infix::In => self.in_list(lhs, false)?,
                Infix::Not => {
                    let keyword = self.next(Mode::Operator)?;
                    if is_word(&keyword.tok, "like") {
                        self.like(lhs, true)?
                    } else if is_word(&keyword.tok, "in") {
                        self.in_list(lhs, true)?
                    } else {
                        return Err(self.expected("'like' or 'in' after 'not'", keyword.span));
                    }
                }
            };
        }
        self.depth = depth;
        Ok(lhs)
    }

    /// A postfix expression, or one under prefix `-` or `not` where `min` allows it.
    fn prefix(&mut self, min: u8, what: &str) -> Result<Expr, ParseError> {
        let token = self.peek(Mode::Operand)?;
        let (op, precedence, symbol) = if token.tok == Tok::Minus && min <= NEGATION {
            (UnaryOp::Neg, NEGATION, "-")
        } else if is_word(&token.tok, "not") && min <= NOT {
            (UnaryOp::Not, NOT, "not")
        } else {
            return self.postfix(what);
        };
        self.advance(token.span);
        let saved = self.descend(token.span)?;
        let expr = self.expr_from(precedence, &format!("an expression after '{symbol}'"))?;
        self.ascend(saved);
        Ok(Expr::Unary {
            op,
            expr: Box::new(expr),
        })
    }

    /// After `like` or `not like`.
    fn like(&mut self, expr: Expr, negated: bool) -> Result<Expr, ParseError> {
        let token = self.next(Mode::Operand)?;
        let pattern = match token.tok {
            Tok::Str(text) => LikePattern::Text(text),
            Tok::Regex(regex) => LikePattern::Regex(regex),
            _ => {
                let keyword = if negated { "not like" } else { "like" };
                return Err(self.expected(
                    &format!("a \"string\" or /regex/ after '{keyword}'"),
                    token.span,
                ));
            }
        };
        Ok(Expr::Like {
            expr: Box::new(expr),
            pattern,
            negated,
        })
    }

    /// After `in` or `not in`.
    fn in_list(&mut self, expr: Expr, negated: bool) -> Result<Expr, ParseError> {
        let keyword = if negated { "not in" } else { "in" };
        let open = self.expect(
            Mode::Operand,
            &Tok::LBracket,
            &format!("'[' after '{keyword}'"),
        )?;
        let saved = self.descend(open.span)?;
        let mut list = Vec::new();
        if !self.eat(Mode::Operand, &Tok::RBracket)? {
            loop {
                list.push(self.expr("a value in the list")?);
                let separator = self.next(Mode::Operator)?;
                match separator.tok {
                    Tok::Comma => {}
                    Tok::RBracket => break,
                    _ => return Err(self.expected("',' or ']'", separator.span)),
                }
            }
        }
        self.ascend(saved);
        Ok(Expr::In {
            expr: Box::new(expr),
            list,
            negated,
        })
    }

    fn postfix(&mut self, what: &str) -> Result<Expr, ParseError> {
        let depth = self.depth;
        let mut expr = self.primary(what)?;
        loop {
            let Token { tok, span } = self.peek(Mode::Operator)?;
            match tok {
                Tok::LBracket => {
                    self.advance(span);
                    self.enter(span)?;
                    let saved = self.descend(span)?;
                    let index = self.expr("an index after '['")?;
                    self.expect(Mode::Operator, &Tok::RBracket, "']'")?;
                    self.ascend(saved);
                    expr = Expr::Index {
                        expr: Box::new(expr),
                        index: Box::new(index),
                    };
                }
                Tok::Member(keys) => {
                    self.advance(span);
                    for key in keys {
                        self.enter(span)?;
                        expr = Expr::Member {
                            expr: Box::new(expr),
                            key,
                        };
                    }
                }
                _ => break,
            }
        }
        self.depth = depth;
        Ok(expr)
    }

    fn primary(&mut self, what: &str) -> Result<Expr, ParseError> {
        let Token { tok, span } = self.peek(Mode::Operand)?;
        let expr = match tok {
            Tok::Int(n) => i64::try_from(n).map_or(Expr::Float(n as f64), Expr::Integer),
            Tok::Float(value) => Expr::Float(value),
            Tok::Str(value) => Expr::String(value),
            Tok::Period(period) => Expr::Period(period),
            Tok::Regex(regex) => Expr::Regex(regex),
            Tok::Name(segments) => Expr::Field {
                name: segments.join("."),
                span,
            },
            Tok::Word(word) if !is_reserved(&word) => {
                self.advance(span);
                if self.peek(Mode::Operator)?.tok == Tok::LParen {
                    return self.call(&word, span);
                }
                return Ok(Expr::Field { name: word, span });
            }
            Tok::LParen => {
                self.advance(span);
                let saved = self.descend(span)?;
                let expr = self.expr("an expression after '('")?;
                self.expect(Mode::Operator, &Tok::RParen, "')'")?;
                self.ascend(saved);
                return Ok(expr);
            }
            _ => return Err(self.expected(what, span)),
        };
        self.advance(span);
        Ok(expr)
    }

    /// A call whose name was consumed and whose `(` is next.
    fn call(&mut self, name: &str, name_span: Span) -> Result<Expr, ParseError> {
        let function = Function::lookup(name)
            .ok_or_else(|| self.error(name_span, format!("Unknown function '{name}'")))?;
        let open = self.next(Mode::Operator)?;
        let saved = self.descend(open.span)?;
        let mut args = Vec::new();
        let mut arg_spans = Vec::new();
        let first = self.peek(Mode::Operand)?;
        if first.tok == Tok::RParen {
            self.advance(first.span);
        } else if first.tok == Tok::Star && function == Function::Count {
            self.advance(first.span);
            args.push(Expr::Star);
            arg_spans.push(first.span);
            self.expect(Mode::Operator, &Tok::RParen, "')' after 'count(*'")?;
        } else {
            let what = format!("an argument to {}()", function.name());
            loop {
                let start = self.peek(Mode::Operand)?.span.start;
                args.push(self.expr(&what)?);
                arg_spans.push(Span {
                    start,
                    end: self.last_end,
                });
                let separator = self.next(Mode::Operator)?;
                match separator.tok {
                    Tok::Comma => {}
                    Tok::RParen => break,
                    _ => return Err(self.expected("',' or ')'", separator.span)),
                }
            }
        }
        self.ascend(saved);
        let span = Span {
            start: name_span.start,
            end: self.last_end,
        };
        self.check_call(function, &args, &arg_spans, span)?;
        Ok(Expr::Call {
            function,
            args,
            span,
        })
    }

    /// Arity, and the arguments that must be literals of a kind.
    fn check_call(
        &self,
        function: Function,
        args: &[Expr],
        arg_spans: &[Span],
        span: Span,
    ) -> Result<(), ParseError> {
        let (min, max, given) = (function.min_args(), function.max_args(), args.len());
        if given < min || max.is_some_and(|max| given > max) {
            let takes = match max {
                Some(max) if max == min => arguments(min),
                Some(max) if max == min + 1 => format!("{min} or {max} arguments"),
                Some(max) => format!("{min} to {max} arguments"),
                None => format!("at least {}", arguments(min)),
            };
            return Err(self.error(
                span,
                format!(
                    "Expected {takes} for {}() but found {given}",
                    function.name()
                ),
            ));
        }
        let (position, expectation) = match function {
            Function::Bin => (0, "a period such as 5m or 1h"),
            Function::DateFloor | Function::DateCeil => (1, "a period such as 5m or 1h"),
            Function::Pct => (1, "a percentile from 0 to 100"),
            _ => return Ok(()),
        };
        let valid = match args.get(position) {
            Some(Expr::Period(_)) => function != Function::Pct,
            Some(Expr::Integer(n)) => function == Function::Pct && (0..=100).contains(n),
            Some(Expr::Float(x)) => function == Function::Pct && (0.0..=100.0).contains(x),
            _ => false,
        };
        match arg_spans.get(position) {
            Some(&at) if !valid => Err(self.expected(
                &format!(
                    "{expectation} as argument {} of {}()",
                    position + 1,
                    function.name()
                ),
                at,
            )),
            _ => Ok(()),
        }
    }
}
