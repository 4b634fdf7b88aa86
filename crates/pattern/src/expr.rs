//! Boolean combinations with `&&`, `||` and parentheses, shared by JSON patterns and
//! space-delimited field specs; `&&` binds tighter than `||`.

use crate::PatternError;
use crate::cursor::{Cursor, MAX_DEPTH};

/// A condition tree over leaves of type `L`.
#[derive(Clone, Debug)]
pub(crate) enum Expr<L> {
    Leaf(L),
    And(Vec<Expr<L>>),
    Or(Vec<Expr<L>>),
}

impl<L> Expr<L> {
    /// Evaluates with short-circuiting, asking `test` about each leaf it reaches.
    pub(crate) fn eval<F: FnMut(&L) -> bool>(&self, test: &mut F) -> bool {
        match self {
            Expr::Leaf(leaf) => test(leaf),
            Expr::And(items) => items.iter().all(|e| e.eval(test)),
            Expr::Or(items) => items.iter().any(|e| e.eval(test)),
        }
    }
}

/// Parses an expression at the cursor, reading leaves with `leaf`. It stops before the
/// first token that cannot continue the expression; the caller checks what follows.
pub(crate) fn parse<'a, L, F>(cur: &mut Cursor<'a>, leaf: &mut F) -> Result<Expr<L>, PatternError>
where
    F: FnMut(&mut Cursor<'a>) -> Result<L, PatternError>,
{
    parse_or(cur, leaf, 0)
}

fn parse_or<'a, L, F>(
    cur: &mut Cursor<'a>,
    leaf: &mut F,
    depth: usize,
) -> Result<Expr<L>, PatternError>
where
    F: FnMut(&mut Cursor<'a>) -> Result<L, PatternError>,
{
    let mut items = vec![parse_and(cur, leaf, depth)?];
    loop {
        cur.skip_ws();
        if !cur.eat("||") {
            break;
        }
        items.push(parse_and(cur, leaf, depth)?);
    }
    Ok(flatten(items, Expr::Or))
}

fn parse_and<'a, L, F>(
    cur: &mut Cursor<'a>,
    leaf: &mut F,
    depth: usize,
) -> Result<Expr<L>, PatternError>
where
    F: FnMut(&mut Cursor<'a>) -> Result<L, PatternError>,
{
    let mut items = vec![parse_primary(cur, leaf, depth)?];
    loop {
        cur.skip_ws();
        if !cur.eat("&&") {
            break;
        }
        items.push(parse_primary(cur, leaf, depth)?);
    }
    Ok(flatten(items, Expr::And))
}

fn parse_primary<'a, L, F>(
    cur: &mut Cursor<'a>,
    leaf: &mut F,
    depth: usize,
) -> Result<Expr<L>, PatternError>
where
    F: FnMut(&mut Cursor<'a>) -> Result<L, PatternError>,
{
    cur.skip_ws();
    if !cur.eat("(") {
        return Ok(Expr::Leaf(leaf(cur)?));
    }
    if depth >= MAX_DEPTH {
        return Err(PatternError::Syntax);
    }
    let inner = parse_or(cur, leaf, depth + 1)?;
    cur.skip_ws();
    if !cur.eat(")") {
        return Err(cur.unexpected());
    }
    Ok(inner)
}

fn flatten<L>(mut items: Vec<Expr<L>>, combine: fn(Vec<Expr<L>>) -> Expr<L>) -> Expr<L> {
    if items.len() == 1
        && let Some(only) = items.pop()
    {
        return only;
    }
    combine(items)
}
