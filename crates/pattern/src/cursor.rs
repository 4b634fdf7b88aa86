//! A cursor over pattern text, shared by the JSON and space-delimited parsers.

use crate::PatternError;

/// Deepest parenthesis nesting accepted: patterns are user input, and recursion on
/// `((((…` must not be able to exhaust the stack.
pub(crate) const MAX_DEPTH: usize = 64;

/// Position in the pattern text, with the small lexing steps every form needs.
pub(crate) struct Cursor<'a> {
    text: &'a str,
    pos: usize,
    /// Punctuation the form's own syntax uses; any other is an invalid character.
    syntax: &'static str,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(text: &'a str, syntax: &'static str) -> Self {
        Cursor {
            text,
            pos: 0,
            syntax,
        }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn set_pos(&mut self, pos: usize) {
        self.pos = pos;
    }

    /// The pattern text from `start` up to the cursor.
    pub(crate) fn since(&self, start: usize) -> &'a str {
        &self.text[start..self.pos]
    }

    pub(crate) fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    pub(crate) fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    /// Consumes `s` if the text continues with it.
    pub(crate) fn eat(&mut self, s: &str) -> bool {
        let found = self.text[self.pos..].starts_with(s);
        if found {
            self.pos += s.len();
        }
        found
    }

    pub(crate) fn skip_ws(&mut self) {
        self.take_while(char::is_whitespace);
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos == self.text.len()
    }

    pub(crate) fn take_while(&mut self, accept: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&accept) {
            self.bump();
        }
        self.since(start)
    }

    /// After an opening `"`: the text up to the closing quote with its backslash escapes
    /// left in, since terms and values unescape differently (`\*` matters only to values).
    pub(crate) fn quoted_raw(&mut self) -> Result<&'a str, PatternError> {
        let start = self.pos;
        loop {
            match self.bump() {
                None => return Err(PatternError::Syntax),
                Some('"') => return Ok(&self.text[start..self.pos - 1]),
                Some('\\') => {
                    self.bump();
                }
                Some(_) => {}
            }
        }
    }

    /// After an opening `%`: the regex up to the closing `%`, which cannot occur inside
    /// because `%` is not an allowed regex character.
    pub(crate) fn regex_body(&mut self) -> Result<&'a str, PatternError> {
        let start = self.pos;
        let body = self.take_while(|c| c != '%');
        if self.bump().is_none() {
            self.pos = start;
            return Err(PatternError::Syntax);
        }
        Ok(body)
    }

    /// The error for an unexpected character at the cursor. AWS names characters that
    /// have no place in the syntax at all (`Invalid character(s) in term ','`), and
    /// gives the generic message for misplaced syntax.
    pub(crate) fn unexpected(&self) -> PatternError {
        match self.peek() {
            Some(c)
                if !(c.is_ascii_alphanumeric() || c.is_whitespace() || self.syntax.contains(c)) =>
            {
                PatternError::InvalidCharacters(c.to_string())
            }
            _ => PatternError::Syntax,
        }
    }
}

/// Undoes backslash escapes in a quoted string: `\c` stands for `c`.
pub(crate) fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        out.push(if c == '\\' {
            chars.next().unwrap_or('\\')
        } else {
            c
        });
    }
    out
}
