//! JSON patterns: `{ $.eventType = "UpdateTrail" && ($.n > 5 || $.tags[*] = %prod% ) }`.

use serde_json::Value;

use crate::cursor::Cursor;
use crate::expr::{self, Expr};
use crate::value::{Comparison, Scalar};
use crate::{MAX_REGEXES, PatternError};

/// Wildcards allowed in one selector, and in the whole pattern.
const MAX_SELECTOR_WILDCARDS: usize = 1;
const MAX_PATTERN_WILDCARDS: usize = 3;

/// A parsed JSON pattern.
#[derive(Clone, Debug)]
pub(crate) struct JsonPattern {
    expr: Expr<Condition>,
}

/// One condition on the value(s) a selector picks out.
#[derive(Clone, Debug)]
struct Condition {
    selector: Vec<Step>,
    test: Test,
}

#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
    /// `*`: any array element or object field.
    Wildcard,
}

#[derive(Clone, Debug)]
enum Test {
    Compare(Comparison),
    IsNull,
    IsBool(bool),
    NotExists,
}

impl JsonPattern {
    /// Parses a pattern that starts with `{`.
    pub(crate) fn parse(text: &str) -> Result<Self, PatternError> {
        let mut cur = Cursor::new(text, "_.*+-\"'$%&|()<=>![]{}");
        if !cur.eat("{") {
            return Err(PatternError::Syntax);
        }
        let mut regexes = 0;
        let mut wildcards = 0;
        let expr = expr::parse(&mut cur, &mut |cur: &mut Cursor<'_>| {
            let condition = parse_condition(cur, &mut regexes)?;
            wildcards += condition
                .selector
                .iter()
                .filter(|s| matches!(s, Step::Wildcard))
                .count();
            Ok(condition)
        })?;
        cur.skip_ws();
        if !cur.eat("}") {
            return Err(cur.unexpected());
        }
        cur.skip_ws();
        if !cur.at_end() {
            return Err(cur.unexpected());
        }
        if regexes > MAX_REGEXES {
            return Err(PatternError::Limit(
                "a JSON pattern can contain at most 2 regular expressions",
            ));
        }
        if wildcards > MAX_PATTERN_WILDCARDS {
            return Err(PatternError::Limit(
                "a JSON pattern can contain at most 3 wildcard selectors",
            ));
        }
        Ok(JsonPattern { expr })
    }

    /// Whether the message is a JSON object satisfying the pattern.
    pub(crate) fn matches(&self, message: &str) -> bool {
        // Most events in a mixed log group are not JSON: skip the parser for them.
        if !message.trim_start().starts_with('{') {
            return false;
        }
        let Ok(root) = serde_json::from_str::<Value>(message) else {
            return false;
        };
        self.expr
            .eval(&mut |condition: &Condition| condition.test(&root))
    }
}

impl Condition {
    fn test(&self, root: &Value) -> bool {
        let any = |accept: &dyn Fn(&Value) -> bool| any_selected(root, &self.selector, accept);
        match &self.test {
            Test::NotExists => !any(&|_| true),
            Test::IsNull => any(&Value::is_null),
            Test::IsBool(expected) => any(&|v| v.as_bool() == Some(*expected)),
            // Objects, arrays and null are not values a comparison can match.
            Test::Compare(comparison) => any(&|v| match v {
                Value::String(s) => comparison.test(Scalar::Text(s)),
                Value::Number(n) => comparison.test(Scalar::Number(n)),
                Value::Bool(b) => comparison.test(Scalar::Bool(*b)),
                _ => false,
            }),
        }
    }
}

/// Whether any value the selector picks out is accepted.
fn any_selected(value: &Value, steps: &[Step], accept: &dyn Fn(&Value) -> bool) -> bool {
    let Some((step, rest)) = steps.split_first() else {
        return accept(value);
    };
    match (step, value) {
        (Step::Key(key), Value::Object(map)) => {
            map.get(key).is_some_and(|v| any_selected(v, rest, accept))
        }
        (Step::Index(i), Value::Array(items)) => {
            items.get(*i).is_some_and(|v| any_selected(v, rest, accept))
        }
        (Step::Wildcard, Value::Array(items)) => {
            items.iter().any(|v| any_selected(v, rest, accept))
        }
        (Step::Wildcard, Value::Object(map)) => map.values().any(|v| any_selected(v, rest, accept)),
        _ => false,
    }
}

/// Parses `selector op value`, `selector IS NULL|TRUE|FALSE` or `selector NOT EXISTS`.
fn parse_condition(cur: &mut Cursor<'_>, regexes: &mut usize) -> Result<Condition, PatternError> {
    cur.skip_ws();
    if cur.peek() != Some('$') {
        return Err(cur.unexpected());
    }
    let selector = parse_selector(cur)?;
    cur.skip_ws();
    if matches!(cur.peek(), Some('=' | '!' | '<' | '>')) {
        let comparison = Comparison::parse(cur, regexes)?;
        return Ok(Condition {
            selector,
            test: Test::Compare(comparison),
        });
    }
    let mut word = || {
        cur.skip_ws();
        cur.take_while(|c| c.is_ascii_alphabetic())
            .to_ascii_uppercase()
    };
    let test = match (word().as_str(), word().as_str()) {
        ("IS", "NULL") => Test::IsNull,
        ("IS", "TRUE") => Test::IsBool(true),
        ("IS", "FALSE") => Test::IsBool(false),
        ("NOT", "EXISTS") => Test::NotExists,
        ("", _) => return Err(cur.unexpected()),
        _ => return Err(PatternError::Syntax),
    };
    Ok(Condition { selector, test })
}

/// Parses `$.a.b[0]['key.with.dots'].*` at the `$`.
fn parse_selector(cur: &mut Cursor<'_>) -> Result<Vec<Step>, PatternError> {
    let start = cur.pos();
    cur.bump();
    let mut steps = Vec::new();
    loop {
        match cur.peek() {
            Some('.') => {
                cur.bump();
                if cur.eat("*") {
                    steps.push(Step::Wildcard);
                } else if cur.peek() != Some('[') {
                    let name =
                        cur.take_while(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                    if name.is_empty() {
                        return Err(bad_selector(cur, start));
                    }
                    steps.push(Step::Key(name.to_owned()));
                }
            }
            Some('[') => {
                cur.bump();
                steps.push(parse_bracket(cur)?);
            }
            None => break,
            Some(c) if c.is_whitespace() || "=!<>)&|}".contains(c) => break,
            Some(_) => return Err(bad_selector(cur, start)),
        }
    }
    let wildcards = steps.iter().filter(|s| matches!(s, Step::Wildcard)).count();
    if wildcards > MAX_SELECTOR_WILDCARDS {
        return Err(PatternError::Limit(
            "a selector can contain at most one wildcard",
        ));
    }
    if steps.is_empty() {
        return Err(PatternError::Syntax);
    }
    Ok(steps)
}

/// Parses `*]`, `n]` or `'key']` after a `[`.
fn parse_bracket(cur: &mut Cursor<'_>) -> Result<Step, PatternError> {
    let step = if cur.eat("*") {
        Step::Wildcard
    } else if cur.eat("'") {
        let key = cur.take_while(|c| c != '\'');
        if !cur.eat("'") {
            return Err(PatternError::Syntax);
        }
        Step::Key(key.to_owned())
    } else {
        let digits = cur.take_while(|c| c.is_ascii_digit());
        Step::Index(digits.parse().map_err(|_| PatternError::Syntax)?)
    };
    if !cur.eat("]") {
        return Err(PatternError::Syntax);
    }
    Ok(step)
}

/// AWS names the selector up to the offending character: `{ $."sc-status" = 5* }` is
/// rejected with `Invalid character(s) in term '$."'`.
fn bad_selector(cur: &mut Cursor<'_>, start: usize) -> PatternError {
    match cur.bump() {
        Some(c) if !c.is_whitespace() && !"=!<>)&|}".contains(c) => {
            PatternError::InvalidCharacters(cur.since(start).to_owned())
        }
        _ => PatternError::Syntax,
    }
}
