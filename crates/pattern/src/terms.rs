//! Term (unstructured) patterns: `ERROR`, `"INTERNAL SERVER ERROR"`, `-ARGUMENTS`,
//! `?ERROR ?WARN`, matched as case-sensitive substrings.

use memchr::memmem::Finder;

use crate::PatternError;
use crate::cursor::{Cursor, unescape};

/// Terms with their substring finders built once, so matching an event allocates nothing.
#[derive(Clone, Debug)]
pub(crate) struct TermPattern {
    include: Vec<Finder<'static>>,
    exclude: Vec<Finder<'static>>,
    /// `?` terms, kept only when there are no include or exclude terms: AWS ignores them
    /// otherwise (`?ERROR ?ARGUMENTS REQUEST` behaves as `REQUEST`).
    any: Vec<Finder<'static>>,
}

impl TermPattern {
    /// Parses a term pattern; `None` when no term constrains anything (`" "`), which
    /// matches every event.
    pub(crate) fn parse(text: &str) -> Result<Option<Self>, PatternError> {
        let mut pattern = TermPattern {
            include: Vec::new(),
            exclude: Vec::new(),
            any: Vec::new(),
        };
        // Terms report their own invalid characters, so no syntax set is needed.
        let mut cur = Cursor::new(text, "");
        loop {
            cur.skip_ws();
            if cur.at_end() {
                break;
            }
            let list = if cur.eat("-") {
                &mut pattern.exclude
            } else if cur.eat("?") {
                &mut pattern.any
            } else {
                &mut pattern.include
            };
            let term = read_term(&mut cur)?;
            // A blank phrase constrains nothing: the doc's match-everything pattern is `" "`.
            if !term.trim().is_empty() {
                list.push(Finder::new(term.as_bytes()).into_owned());
            }
        }
        if !pattern.include.is_empty() || !pattern.exclude.is_empty() {
            pattern.any.clear();
        }
        let constrains =
            !(pattern.include.is_empty() && pattern.exclude.is_empty() && pattern.any.is_empty());
        Ok(constrains.then_some(pattern))
    }

    /// Whether the message contains every include term, no exclude term, and (when there
    /// are `?` terms) at least one of those.
    pub(crate) fn matches(&self, message: &str) -> bool {
        let haystack = message.as_bytes();
        let found = |finder: &Finder<'_>| finder.find(haystack).is_some();
        self.include.iter().all(found)
            && !self.exclude.iter().any(found)
            && (self.any.is_empty() || self.any.iter().any(found))
    }
}

/// Reads one quoted phrase or bare term after its optional `-`/`?` prefix.
fn read_term(cur: &mut Cursor<'_>) -> Result<String, PatternError> {
    if !cur.eat("\"") {
        let term = cur.take_while(|c| !c.is_whitespace());
        if term.is_empty() {
            return Err(PatternError::Syntax);
        }
        if let Some(bad) = term.chars().find(|&c| !is_term_char(c)) {
            return Err(PatternError::InvalidCharacters(bad.to_string()));
        }
        return Ok(term.to_owned());
    }
    let phrase = unescape(cur.quoted_raw()?);
    match cur.peek() {
        Some(c) if is_term_char(c) => Err(PatternError::Syntax),
        Some(c) if !c.is_whitespace() => Err(PatternError::InvalidCharacters(c.to_string())),
        _ => Ok(phrase),
    }
}

/// Characters allowed in an unquoted term. The doc asks for quotes around anything not
/// alphanumeric; AWS is known to reject `( [ : , * \` and backtick, and these few symbols
/// (those it allows in regexes, plus `.`) are accepted so identifiers like `i-0abc` and
/// `java.lang.Error` work unquoted.
fn is_term_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_#=@/;-.".contains(c)
}
