//! The restricted regex dialect of filter patterns (`%…%`), checked against the documented
//! character set and translated to the `regex` crate's syntax.
//!
//! The translation keeps AWS's meaning where the crates differ: `\d \w \s` are ASCII-only,
//! `{,n}` means `{0,n}`, `\xhh` is one ASCII character, and `[` inside a class is a plain
//! character rather than a nested class.

use regex::Regex;

use crate::PatternError;

/// Compiles the text between the `%` signs.
pub(crate) fn compile(body: &str) -> Result<Regex, PatternError> {
    if let Some(bad) = body.chars().find(|&c| !is_allowed(c)) {
        return Err(PatternError::InvalidCharacters(bad.to_string()));
    }
    if body.is_empty() {
        return Err(PatternError::Syntax);
    }
    Regex::new(&translate(body)?).map_err(|_| PatternError::Syntax)
}

/// Letters, digits, space, the documented symbols (`:` included, as AWS accepts it in
/// practice) and the documented operators. `(`, `)` and non-ASCII are not among them.
fn is_allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || " _#=@/;,-:^$?[]{}|\\*+.".contains(c)
}

fn translate(body: &str) -> Result<String, PatternError> {
    let mut out = String::with_capacity(body.len() * 2);
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str(&escape(&mut chars, false)?),
            '[' => translate_class(&mut chars, &mut out)?,
            '{' => translate_repeat(&mut chars, &mut out)?,
            // A brace or bracket that closes nothing is literal, as in Java.
            '}' | ']' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    Ok(out)
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// Translates the escape after a `\`; `in_class` selects the bracket-less form of the
/// class shorthands.
fn escape(chars: &mut Chars<'_>, in_class: bool) -> Result<String, PatternError> {
    let c = chars.next().ok_or(PatternError::Syntax)?;
    let class = |name: &str| {
        if in_class {
            format!("[:{name}:]")
        } else {
            format!("[[:{name}:]]")
        }
    };
    Ok(match c {
        'd' => class("digit"),
        'D' => class("^digit"),
        'w' => class("word"),
        'W' => class("^word"),
        's' => class("space"),
        'S' => class("^space"),
        't' | 'n' | 'r' => format!("\\{c}"),
        'x' => {
            let hex: String = [chars.next(), chars.next()].into_iter().flatten().collect();
            match u8::from_str_radix(&hex, 16) {
                Ok(code)
                    if hex.len() == 2
                        && hex.bytes().all(|b| b.is_ascii_hexdigit())
                        && code.is_ascii() =>
                {
                    format!("\\x{{{hex}}}")
                }
                _ => return Err(PatternError::Syntax),
            }
        }
        c if c.is_ascii_alphanumeric() => return Err(PatternError::Syntax),
        ' ' => " ".to_owned(),
        c => format!("\\{c}"),
    })
}

/// Translates a character class; the opening `[` is already consumed.
fn translate_class(chars: &mut Chars<'_>, out: &mut String) -> Result<(), PatternError> {
    out.push('[');
    if chars.next_if_eq(&'^').is_some() {
        out.push('^');
    }
    let mut items = 0;
    loop {
        let c = chars.next().ok_or(PatternError::Syntax)?;
        match c {
            // `]` right after the opening bracket is a member, as in POSIX.
            ']' if items > 0 => break,
            '\\' => out.push_str(&escape(chars, true)?),
            // A range dash only between two members; elsewhere a literal dash, so that the
            // `regex` crate's `--` set difference never appears.
            '-' if items > 0 && chars.peek().is_some_and(|&next| next != ']') => out.push('-'),
            c if c.is_ascii_alphanumeric() || c == ' ' => out.push(c),
            c => {
                out.push('\\');
                out.push(c);
            }
        }
        items += 1;
    }
    out.push(']');
    Ok(())
}

/// Translates a bounded repeat; the opening `{` is already consumed.
fn translate_repeat(chars: &mut Chars<'_>, out: &mut String) -> Result<(), PatternError> {
    let mut inside = String::new();
    loop {
        match chars.next() {
            Some('}') => break,
            Some(c) if c.is_ascii_digit() || c == ',' => inside.push(c),
            _ => return Err(PatternError::Syntax),
        }
    }
    let (min, max) = match inside.split_once(',') {
        Some((min, max)) => (min, Some(max)),
        None => (inside.as_str(), None),
    };
    let valid = |s: &str| !s.is_empty() && s.len() <= 4;
    let repeat = match max {
        None if valid(min) => format!("{{{min}}}"),
        Some("") if valid(min) => format!("{{{min},}}"),
        Some(max) if valid(max) && (min.is_empty() || valid(min)) => {
            let min = if min.is_empty() { "0" } else { min };
            format!("{{{min},{max}}}")
        }
        _ => return Err(PatternError::Syntax),
    };
    out.push_str(&repeat);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(body: &str) -> Regex {
        compile(body).unwrap_or_else(|e| panic!("{body}: {e}"))
    }

    fn invalid_chars(body: &str) -> String {
        match compile(body) {
            Err(PatternError::InvalidCharacters(chars)) => chars,
            other => panic!("{body}: {other:?}"),
        }
    }

    #[test]
    fn documented_operators() {
        assert!(re("^[hc]at").is_match("hat trick"));
        assert!(!re("^[hc]at").is_match("that"));
        assert!(re("[hc]at$").is_match("a cat"));
        assert!(!re("[hc]at$").is_match("cats"));
        assert!(re("colou?r").is_match("color") && re("colou?r").is_match("colour"));
        assert!(re("[abcx-z]").is_match("y") && !re("[abcx-z]").is_match("w"));
        assert!(re("[^c]").is_match("a") && !re("^[^c]$").is_match("c"));
        assert!(re("^a{3,5}$").is_match("aaaa") && !re("^a{3,5}$").is_match("aa"));
        assert!(re("^a{,2}$").is_match("") && !re("^a{,2}$").is_match("aaa"));
        assert!(re("^a{2,}$").is_match("aaaaa") && !re("^a{2,}$").is_match("a"));
        assert!(re("^a{2}$").is_match("aa"));
        assert!(re("gra|ey").is_match("grass") && re("gra|ey").is_match("hey"));
        let anchored = re("^starting|^initializing|^shutting down");
        assert!(anchored.is_match("shutting down"));
        assert!(!anchored.is_match("skipping initializing the cache"));
        assert!(re(r"\[.\]").is_match("[7]"));
        assert!(
            re(r"10\.10\.0\.1").is_match("10.10.0.1") && !re(r"10\.10\.0\.1").is_match("10x10x0x1")
        );
        assert!(re("ab*c").is_match("ac") && re("ab*c").is_match("abbbc"));
        assert!(re("ab+c").is_match("abc") && !re("ab+c").is_match("ac"));
        assert!(re(".at").is_match(" at"));
        assert!(re("AUTHORIZED").is_match("[ERROR 401] UNAUTHORIZED REQUEST"));
    }

    #[test]
    fn shorthand_classes_are_ascii() {
        assert!(re(r"^\d$").is_match("7") && !re(r"^\d$").is_match("٣"));
        assert!(re(r"^\D$").is_match("x") && !re(r"^\D$").is_match("7"));
        assert!(re(r"^\w+$").is_match("a_Z9") && !re(r"^\w$").is_match("é"));
        assert!(re(r"^\W$").is_match("-"));
        assert!(re(r"a\sb").is_match("a\tb") && re(r"a\sb").is_match("a\nb"));
        assert!(re(r"^\S+$").is_match("ab") && !re(r"\S").is_match(" \t"));
        assert!(re(r"^[\d-]+$").is_match("12-3") && !re(r"^[\w]$").is_match("-"));
    }

    #[test]
    fn hex_escapes_reach_disallowed_characters() {
        assert!(re(r"\x3A").is_match("a:b"));
        assert!(re(r"\x28\x29").is_match("f()"));
        assert!(re(r"[\x28]").is_match("("));
        for bad in [r"\x", r"\x4", r"\xZZ", r"\x80", r"\q", "a\\"] {
            assert_eq!(compile(bad).err(), Some(PatternError::Syntax), "{bad}");
        }
    }

    #[test]
    fn class_members_are_literal() {
        assert!(re("[[]").is_match("["));
        assert!(re("[]a]").is_match("]"));
        assert!(re("[a-]").is_match("-") && re("[-a]").is_match("-"));
        assert!(re("^[.*+?|{}$^]+$").is_match(".*+?|{}$^"));
        assert!(re("a]b}").is_match("a]b}"));
        assert!(re("[ :]").is_match(":"));
    }

    #[test]
    fn allowed_symbols() {
        assert!(re("_#=@/;,-:").is_match("x_#=@/;,-:y"));
        assert!(
            re(r"Task timed out after|^REPORT\s.+\sStatus: timeout")
                .is_match("REPORT a Status: timeout")
        );
    }

    #[test]
    fn disallowed_characters_are_named() {
        assert_eq!(invalid_chars("something!"), "!");
        assert_eq!(invalid_chars("(a|b)"), "(");
        assert_eq!(invalid_chars(r"\(x"), "(");
        assert_eq!(invalid_chars("a)"), ")");
        assert_eq!(invalid_chars("café"), "é");
        assert_eq!(invalid_chars("a%b"), "%");
        assert_eq!(invalid_chars("tab\there"), "\t");
    }

    #[test]
    fn malformed_regexes_are_invalid_patterns() {
        for bad in ["", "*a", "a{", "a{x}", "a{,}", "[abc", "a{3,1}", "a{99999}"] {
            assert_eq!(compile(bad).err(), Some(PatternError::Syntax), "{bad:?}");
        }
    }
}
