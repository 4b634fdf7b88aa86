//! Tokens, read one at a time on the parser's request.
//!
//! `/` starts a regex where an operand is expected (`like /x/`, `=~ /x/`, `parse @message
//! /x/`) and divides where an operator is expected, and `.` after an operand begins a map
//! key; only the parser knows which position it is in, so it passes a [`Mode`] with each
//! request instead of the lexer guessing from the previous token.

use super::ParseError;
use super::ast::{Period, PeriodUnit, Regex, Span};

/// What the parser expects next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A value or command: `/` begins a regex.
    Operand,
    /// Something after a value: `/` divides, `.key` accesses a map.
    Operator,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// One bare name segment: a keyword or a name, the parser decides.
    Word(String),
    /// A dotted path or a backticked name, never a keyword.
    Name(Vec<String>),
    /// `.key` or `.a.b` after an operand.
    Member(Vec<String>),
    Str(String),
    Int(u64),
    Float(f64),
    Period(Period),
    Regex(Regex),
    Pipe,
    Comma,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Colon,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Caret,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Match,
    End,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) span: Span,
}

/// Characters that may begin a bare name. Field names need backticks for anything else
/// but alphanumerics, `_`, `@` and the `.` between segments.
pub(crate) fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == '@'
}

/// Characters that may continue a bare name, or begin a segment after a `.`
/// (`items.0.id`).
pub(crate) fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '@'
}

pub(crate) struct Lexer<'a> {
    text: &'a str,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(text: &'a str) -> Lexer<'a> {
        Lexer { text }
    }

    fn char_at(&self, pos: usize) -> Option<char> {
        self.text.get(pos..).and_then(|rest| rest.chars().next())
    }

    fn error(&self, start: usize, end: usize, message: impl Into<String>) -> ParseError {
        ParseError::new(self.text, Span { start, end }, message)
    }

    /// Skips whitespace and `#` comments, which run to the end of the line.
    fn skip_trivia(&self, mut pos: usize) -> usize {
        while let Some(c) = self.char_at(pos) {
            if c == '#' {
                pos = self.text[pos..]
                    .find('\n')
                    .map_or(self.text.len(), |n| pos + n);
            } else if c.is_whitespace() {
                pos += c.len_utf8();
            } else {
                break;
            }
        }
        pos
    }

    /// The token at or after byte `pos`.
    pub(crate) fn token(&self, pos: usize, mode: Mode) -> Result<Token, ParseError> {
        let start = self.skip_trivia(pos);
        let Some(c) = self.char_at(start) else {
            return Ok(Token {
                tok: Tok::End,
                span: Span { start, end: start },
            });
        };
        let next = self.char_at(start + c.len_utf8());
        let simple = |tok, len| Ok((tok, start + len));
        let (tok, end) = match c {
            '|' => simple(Tok::Pipe, 1),
            ',' => simple(Tok::Comma, 1),
            '(' => simple(Tok::LParen, 1),
            ')' => simple(Tok::RParen, 1),
            '[' => simple(Tok::LBracket, 1),
            ']' => simple(Tok::RBracket, 1),
            ':' => simple(Tok::Colon, 1),
            '+' => simple(Tok::Plus, 1),
            '-' => simple(Tok::Minus, 1),
            '*' => simple(Tok::Star, 1),
            '%' => simple(Tok::Percent, 1),
            '^' => simple(Tok::Caret, 1),
            '=' if next == Some('~') => simple(Tok::Match, 2),
            '=' => simple(Tok::Eq, 1),
            '!' if next == Some('=') => simple(Tok::Ne, 2),
            '<' if next == Some('=') => simple(Tok::Le, 2),
            '<' => simple(Tok::Lt, 1),
            '>' if next == Some('=') => simple(Tok::Ge, 2),
            '>' => simple(Tok::Gt, 1),
            '/' if mode == Mode::Operator => simple(Tok::Slash, 1),
            '/' => self.regex(start),
            '"' | '\'' => self.string(start, c),
            '.' if mode == Mode::Operator && next.is_some_and(|n| is_name_char(n) || n == '`') => {
                let (segments, _, end) = self.path(start + 1)?;
                Ok((Tok::Member(segments), end))
            }
            '`' => self.name(start),
            c if is_name_start(c) => self.name(start),
            c if c.is_ascii_digit() => self.number(start),
            c => Err(self.error(
                start,
                start + c.len_utf8(),
                format!("Unexpected character '{c}'"),
            )),
        }?;
        Ok(Token {
            tok,
            span: Span { start, end },
        })
    }

    fn name(&self, start: usize) -> Result<(Tok, usize), ParseError> {
        let (segments, bare, end) = self.path(start)?;
        let tok = if bare {
            Tok::Word(segments.concat())
        } else {
            Tok::Name(segments)
        };
        Ok((tok, end))
    }

    /// Segments separated by `.`, each bare or backticked. Returns them, whether there
    /// was exactly one bare segment, and the end offset.
    fn path(&self, mut pos: usize) -> Result<(Vec<String>, bool, usize), ParseError> {
        let mut segments = Vec::new();
        let mut bare = true;
        loop {
            if self.char_at(pos) == Some('`') {
                let open = pos;
                pos += 1;
                let len = self.text[pos..].find('`').ok_or_else(|| {
                    self.error(
                        open,
                        self.text.len(),
                        "Expected '`' to close the quoted name but found end of query",
                    )
                })?;
                if len == 0 {
                    return Err(self.error(
                        open,
                        pos + 1,
                        "Expected a name between the backticks but found '``'",
                    ));
                }
                segments.push(self.text[pos..pos + len].to_string());
                pos += len + 1;
                bare = false;
            } else {
                let len = self.text[pos..]
                    .find(|c: char| !is_name_char(c))
                    .unwrap_or(self.text.len() - pos);
                segments.push(self.text[pos..pos + len].to_string());
                pos += len;
            }
            let continues = self.char_at(pos) == Some('.')
                && self
                    .char_at(pos + 1)
                    .is_some_and(|n| is_name_char(n) || n == '`');
            if !continues {
                break;
            }
            pos += 1;
            bare = false;
        }
        Ok((segments, bare, pos))
    }

    fn string(&self, start: usize, quote: char) -> Result<(Tok, usize), ParseError> {
        let unclosed = || {
            self.error(
                start,
                self.text.len(),
                format!("Expected {quote} to close the string but found end of query"),
            )
        };
        let mut value = String::new();
        let mut chars = self.text[start + 1..].char_indices();
        loop {
            let (i, c) = chars.next().ok_or_else(unclosed)?;
            match c {
                '\\' => {
                    let (_, escaped) = chars.next().ok_or_else(unclosed)?;
                    match escaped {
                        'n' => value.push('\n'),
                        't' => value.push('\t'),
                        'r' => value.push('\r'),
                        '\\' | '"' | '\'' => value.push(escaped),
                        // Kept whole, so `"\d+"` reaches regexReplace as written.
                        other => {
                            value.push('\\');
                            value.push(other);
                        }
                    }
                }
                c if c == quote => return Ok((Tok::Str(value), start + 1 + i + 1)),
                c => value.push(c),
            }
        }
    }

    fn regex(&self, start: usize) -> Result<(Tok, usize), ParseError> {
        let unclosed = || {
            self.error(
                start,
                self.text.len(),
                "Expected '/' to close the regex but found end of query",
            )
        };
        let mut pattern = String::new();
        let mut chars = self.text[start + 1..].char_indices();
        // As in JavaScript, `/` inside a character class does not end the literal:
        // `/[^/]+/`.
        let mut in_class = false;
        let end = loop {
            let (i, c) = chars.next().ok_or_else(unclosed)?;
            match c {
                '\\' => match chars.next().ok_or_else(unclosed)? {
                    (_, '/') => pattern.push('/'),
                    (_, other) => {
                        pattern.push('\\');
                        pattern.push(other);
                    }
                },
                '/' if !in_class => break start + 1 + i + 1,
                c => {
                    in_class = match c {
                        '[' => true,
                        ']' => false,
                        _ => in_class,
                    };
                    pattern.push(c);
                }
            }
        };
        let regex = match pattern.strip_prefix("(?i)") {
            Some(rest) => Regex {
                pattern: rest.to_string(),
                case_insensitive: true,
            },
            None => Regex {
                pattern,
                case_insensitive: false,
            },
        };
        Ok((Tok::Regex(regex), end))
    }

    /// An integer, a float (`1.5`, `2e-3`) or a period (`5m`, `30sec`, `2days`): a
    /// number directly followed by name characters must be a period.
    fn number(&self, start: usize) -> Result<(Tok, usize), ParseError> {
        let bytes = self.text.as_bytes();
        let digits_from = |mut pos: usize| {
            while bytes.get(pos).is_some_and(u8::is_ascii_digit) {
                pos += 1;
            }
            pos
        };
        let mut pos = digits_from(start);
        let mut float = false;
        if bytes.get(pos) == Some(&b'.') && bytes.get(pos + 1).is_some_and(u8::is_ascii_digit) {
            pos = digits_from(pos + 1);
            float = true;
        }
        if matches!(bytes.get(pos), Some(b'e' | b'E')) {
            let sign = usize::from(matches!(bytes.get(pos + 1), Some(b'+' | b'-')));
            if bytes.get(pos + 1 + sign).is_some_and(u8::is_ascii_digit) {
                pos = digits_from(pos + 1 + sign);
                float = true;
            }
        }
        let number = &self.text[start..pos];
        let suffix_len = self.text[pos..]
            .find(|c: char| !is_name_char(c))
            .unwrap_or(self.text.len() - pos);
        let end = pos + suffix_len;
        if suffix_len > 0 {
            let suffix = &self.text[pos..end];
            let unit = PeriodUnit::from_name(suffix).filter(|_| !float);
            let amount = number.parse::<u64>().ok().filter(|&n| n > 0);
            return match (unit, amount) {
                (Some(unit), Some(amount)) => Ok((Tok::Period(Period { amount, unit }), end)),
                _ => Err(self.error(
                    start,
                    end,
                    format!(
                        "Expected a number or a period such as 5m or 1h but found '{}'",
                        &self.text[start..end]
                    ),
                )),
            };
        }
        if !float && let Ok(n) = number.parse::<u64>() {
            return Ok((Tok::Int(n), end));
        }
        match number.parse::<f64>() {
            Ok(value) if value.is_finite() => Ok((Tok::Float(value), end)),
            _ => Err(self.error(
                start,
                end,
                format!("Expected a number but found '{number}', which is out of range"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Lexer, Mode, Tok};
    use crate::insights::ast::{Period, PeriodUnit, Regex};

    fn lex(text: &str, mode: Mode) -> Tok {
        match Lexer::new(text).token(0, mode) {
            Ok(token) => token.tok,
            Err(e) => panic!("{text}: {e}"),
        }
    }

    #[test]
    fn slash_depends_on_mode() {
        assert_eq!(lex("/ 2", Mode::Operator), Tok::Slash);
        assert_eq!(
            lex(r"/a\/b\d/", Mode::Operand),
            Tok::Regex(Regex {
                pattern: r"a/b\d".into(),
                case_insensitive: false
            })
        );
        assert_eq!(
            lex("/[^/]+/ / 2", Mode::Operand),
            Tok::Regex(Regex {
                pattern: "[^/]+".into(),
                case_insensitive: false
            })
        );
        assert_eq!(
            lex("/(?i)err/", Mode::Operand),
            Tok::Regex(Regex {
                pattern: "err".into(),
                case_insensitive: true
            })
        );
    }

    #[test]
    fn names_and_paths() {
        assert_eq!(
            lex("  # c\n@timestamp", Mode::Operand),
            Tok::Word("@timestamp".into())
        );
        assert_eq!(
            lex("requestParameters.items.0.id", Mode::Operand),
            Tok::Name(vec![
                "requestParameters".into(),
                "items".into(),
                "0".into(),
                "id".into()
            ])
        );
        assert_eq!(
            lex("map.`special.char`", Mode::Operand),
            Tok::Name(vec!["map".into(), "special.char".into()])
        );
        assert_eq!(lex("`by`", Mode::Operand), Tok::Name(vec!["by".into()]));
        assert_eq!(
            lex(".action.`x`", Mode::Operator),
            Tok::Member(vec!["action".into(), "x".into()])
        );
    }

    #[test]
    fn numbers_and_periods() {
        assert_eq!(lex("42", Mode::Operand), Tok::Int(42));
        assert_eq!(lex("1.5", Mode::Operand), Tok::Float(1.5));
        assert_eq!(lex("2E-3", Mode::Operand), Tok::Float(0.002));
        assert_eq!(lex("99999999999999999999", Mode::Operand), Tok::Float(1e20));
        for (text, amount, unit) in [
            ("5m", 5, PeriodUnit::Minute),
            ("300s", 300, PeriodUnit::Second),
            ("30secs", 30, PeriodUnit::Second),
            ("2days", 2, PeriodUnit::Day),
            ("1HR", 1, PeriodUnit::Hour),
            ("3mo", 3, PeriodUnit::Month),
            ("10ms", 10, PeriodUnit::Millisecond),
        ] {
            assert_eq!(
                lex(text, Mode::Operand),
                Tok::Period(Period { amount, unit })
            );
        }
        for bad in ["5x", "1.5m", "0m", "5hs", "1e400"] {
            assert!(Lexer::new(bad).token(0, Mode::Operand).is_err(), "{bad}");
        }
    }

    #[test]
    fn strings_resolve_escapes() {
        assert_eq!(
            lex(r#""a\"b\\c\n\d""#, Mode::Operand),
            Tok::Str("a\"b\\c\n\\d".into())
        );
        assert_eq!(lex(r"'it\'s'", Mode::Operand), Tok::Str("it's".into()));
    }
}
