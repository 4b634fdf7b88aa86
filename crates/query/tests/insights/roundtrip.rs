//! Printing and parsing agree on random trees, and no input makes the parser panic.
//!
//! A small seeded generator stands in for a property-testing crate: failures name the
//! seed, and the same seed gives the same case on every machine.

use query::insights::{
    BinaryOp, Command, Expr, Function, LikePattern, LogGroupClass, ParsePattern, Period,
    PeriodUnit, Projection, Query, Regex, SortKey, SortOrder, Source, Span, UnaryOp, parse,
};

/// xorshift64*: tiny, and enough to cover the grammar.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn range(&mut self, low: usize, high: usize) -> usize {
        low + self.below(high - low + 1)
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }

    fn text(&mut self, pieces: &[&str], max: usize) -> String {
        (0..self.range(0, max)).map(|_| self.pick(pieces)).collect()
    }
}

const NAME_PIECES: &[&str] = &[
    "a", "Z", "_", "@", "0", "9", ".", "-", " ", "é", "和", "|", "#", "\"", "'", "/", "\\",
];

fn name(rng: &mut Rng) -> String {
    if rng.chance(60) {
        return rng
            .pick(&[
                "a",
                "@message",
                "@timestamp",
                "userIdentity.userName",
                "items.0.id",
                "foo-bar",
                "by",
                "NOT",
                "and.or",
                "@@example.com",
                "with space",
                "x..y",
                "trailing.",
                "1st",
                "count",
                "bin",
            ])
            .to_string();
    }
    let mut name = rng.text(NAME_PIECES, 6);
    if name.is_empty() {
        name.push('n');
    }
    name
}

fn field(rng: &mut Rng) -> Expr {
    Expr::Field {
        name: name(rng),
        span: Span::default(),
    }
}

fn string(rng: &mut Rng) -> String {
    rng.text(
        &[
            "a", " ", "*", "\"", "'", "\\", "\\d", "\n", "\t", "\r", "é", "💡", "#", "|", "/", "`",
        ],
        8,
    )
}

/// A regex the parser could have produced: backslashes only in escape pairs, never `\/`,
/// no leading `(?i)` in the pattern itself.
fn regex(rng: &mut Rng) -> Regex {
    Regex {
        pattern: rng.text(
            &[
                "a", "\\d", "\\\\", "\\.", "/", ".", "*", "+", "(x)", "[^/]", "é", " ", "#", "\n",
                "|", "\"",
            ],
            6,
        ),
        case_insensitive: rng.chance(30),
    }
}

fn period(rng: &mut Rng) -> Period {
    Period {
        amount: rng.pick(&[1, 5, 60, 300, 1000, u64::MAX]),
        unit: rng.pick(&[
            PeriodUnit::Millisecond,
            PeriodUnit::Second,
            PeriodUnit::Minute,
            PeriodUnit::Hour,
            PeriodUnit::Day,
            PeriodUnit::Week,
            PeriodUnit::Month,
            PeriodUnit::Quarter,
            PeriodUnit::Year,
        ]),
    }
}

fn leaf(rng: &mut Rng) -> Expr {
    match rng.below(7) {
        0 | 1 => field(rng),
        2 => Expr::String(string(rng)),
        3 => Expr::Integer(rng.pick(&[0, 1, 42, 1024, i64::MAX])),
        4 => Expr::Float(rng.pick(&[0.0, 0.5, 1.5e-7, 3.25, 1e20, 123456.0, f64::MAX])),
        5 => Expr::Period(period(rng)),
        _ => Expr::Regex(regex(rng)),
    }
}

fn boxed(expr: Expr) -> Box<Expr> {
    Box::new(expr)
}

fn scalar_functions() -> Vec<Function> {
    Function::ALL
        .iter()
        .copied()
        .filter(|f| !f.is_aggregate())
        .collect()
}

/// A call of a scalar function with a valid number of arguments.
fn scalar_call(rng: &mut Rng, depth: usize) -> Expr {
    let function = rng.pick(&scalar_functions());
    let max = function.max_args().unwrap_or(function.min_args() + 3);
    let count = rng.range(function.min_args(), max.min(function.min_args() + 3));
    let mut args: Vec<Expr> = (0..count).map(|_| expr(rng, depth - 1)).collect();
    match function {
        Function::Bin => args[0] = Expr::Period(period(rng)),
        Function::DateFloor | Function::DateCeil => args[1] = Expr::Period(period(rng)),
        _ => {}
    }
    Expr::Call {
        function,
        args,
        span: Span::default(),
    }
}

/// Any expression without aggregates, at most `depth` deep.
fn expr(rng: &mut Rng, depth: usize) -> Expr {
    if depth == 0 || rng.chance(25) {
        return leaf(rng);
    }
    let below = depth - 1;
    match rng.below(10) {
        0 => Expr::Unary {
            op: rng.pick(&[UnaryOp::Neg, UnaryOp::Not]),
            expr: boxed(expr(rng, below)),
        },
        1 | 2 => Expr::Binary {
            op: rng.pick(&[
                BinaryOp::Or,
                BinaryOp::And,
                BinaryOp::Eq,
                BinaryOp::Ne,
                BinaryOp::Lt,
                BinaryOp::Le,
                BinaryOp::Gt,
                BinaryOp::Ge,
                BinaryOp::Add,
                BinaryOp::Sub,
                BinaryOp::Mul,
                BinaryOp::Div,
                BinaryOp::Mod,
                BinaryOp::Pow,
            ]),
            lhs: boxed(expr(rng, below)),
            rhs: boxed(expr(rng, below)),
        },
        3 => Expr::Like {
            expr: boxed(expr(rng, below)),
            pattern: if rng.chance(50) {
                LikePattern::Text(string(rng))
            } else {
                LikePattern::Regex(regex(rng))
            },
            negated: rng.chance(50),
        },
        4 => Expr::Matches {
            expr: boxed(expr(rng, below)),
            regex: regex(rng),
        },
        5 => Expr::In {
            expr: boxed(expr(rng, below)),
            list: (0..rng.range(0, 3)).map(|_| expr(rng, below)).collect(),
            negated: rng.chance(50),
        },
        6 | 7 => scalar_call(rng, depth),
        8 => Expr::Index {
            expr: boxed(expr(rng, below)),
            index: boxed(expr(rng, below)),
        },
        _ => Expr::Member {
            expr: boxed(expr(rng, below)),
            key: name(rng),
        },
    }
}

fn aggregate_call(rng: &mut Rng) -> Expr {
    let aggregates: Vec<Function> = Function::ALL
        .iter()
        .copied()
        .filter(|f| f.is_aggregate())
        .collect();
    let function = rng.pick(&aggregates);
    let args = match function {
        Function::Count => match rng.below(3) {
            0 => vec![],
            1 => vec![Expr::Star],
            _ => vec![expr(rng, 2)],
        },
        Function::Pct => vec![expr(rng, 2), Expr::Integer(rng.range(0, 100) as i64)],
        _ => vec![expr(rng, 2)],
    };
    Expr::Call {
        function,
        args,
        span: Span::default(),
    }
}

fn aggregation(rng: &mut Rng) -> Expr {
    match rng.below(4) {
        0 => Expr::Binary {
            op: rng.pick(&[BinaryOp::Div, BinaryOp::Sub, BinaryOp::Pow]),
            lhs: boxed(aggregate_call(rng)),
            rhs: boxed(expr(rng, 1)),
        },
        1 => Expr::Call {
            function: Function::Round,
            args: vec![aggregate_call(rng), Expr::Integer(2)],
            span: Span::default(),
        },
        _ => aggregate_call(rng),
    }
}

fn projections(rng: &mut Rng, mut make: impl FnMut(&mut Rng) -> Expr) -> Vec<Projection> {
    (0..rng.range(1, 3))
        .map(|_| Projection {
            expr: make(rng),
            alias: rng.chance(40).then(|| name(rng)),
        })
        .collect()
}

fn command(rng: &mut Rng, kind: usize) -> Command {
    match kind {
        0 => Command::Fields(projections(rng, |rng| expr(rng, 3))),
        1 => Command::Display(projections(rng, |rng| expr(rng, 2))),
        2 => Command::Filter(expr(rng, 4)),
        3 => Command::Stats {
            aggregations: projections(rng, aggregation),
            by: if rng.chance(70) {
                projections(rng, |rng| expr(rng, 2))
            } else {
                Vec::new()
            },
        },
        4 => Command::Sort(
            (0..rng.range(1, 3))
                .map(|_| SortKey {
                    expr: expr(rng, 2),
                    order: rng.pick(&[
                        None,
                        Some(SortOrder::Ascending),
                        Some(SortOrder::Descending),
                    ]),
                })
                .collect(),
        ),
        5 => Command::Limit(rng.pick(&[1, 20, 10_000, u64::MAX])),
        6 => {
            let source = if rng.chance(50) {
                Expr::field("@message")
            } else {
                expr(rng, 2)
            };
            if rng.chance(50) {
                let names: Vec<String> = (0..rng.range(1, 3)).map(|_| name(rng)).collect();
                let mut glob = String::new();
                for _ in &names {
                    glob.push_str(&string(rng).replace('*', ""));
                    glob.push('*');
                }
                Command::Parse {
                    source,
                    pattern: ParsePattern::Glob(glob),
                    names,
                }
            } else {
                let names: Vec<String> = (0..rng.range(1, 3))
                    .map(|i| format!("{}{i}", rng.pick(&["g", "_x", "Name"])))
                    .collect();
                let pattern = names
                    .iter()
                    .map(|n| format!("(?<{n}>\\S+)"))
                    .collect::<Vec<_>>()
                    .join(rng.pick(&[" ", "/", "\\s*"]));
                Command::Parse {
                    source,
                    pattern: ParsePattern::Regex(Regex {
                        pattern,
                        case_insensitive: rng.chance(30),
                    }),
                    names,
                }
            }
        }
        7 => Command::Dedup((0..rng.range(1, 3)).map(|_| expr(rng, 1)).collect()),
        8 => Command::Unnest {
            field: expr(rng, 2),
            into: name(rng),
        },
        _ => Command::Pattern(expr(rng, 2)),
    }
}

/// A valid query: at most two stats, no sort or limit before a second stats, only limit
/// after dedup.
fn query(rng: &mut Rng) -> Query {
    let source = rng.chance(20).then(|| Source {
        name_prefixes: (0..rng.range(0, 5)).map(|_| string(rng)).collect(),
        account_identifiers: (0..rng.range(0, 3)).map(|_| string(rng)).collect(),
        classes: (0..rng.range(0, 2))
            .map(|_| rng.pick(&[LogGroupClass::Standard, LogGroupClass::InfrequentAccess]))
            .collect(),
    });
    let mut commands = Vec::new();
    let (mut stats, mut sorted, mut deduped) = (0, false, false);
    for _ in 0..rng.range(1, 6) {
        let kind = if deduped { 5 } else { rng.below(10) };
        let kind = match kind {
            3 if stats == 2 || (stats == 1 && sorted) => 2,
            k => k,
        };
        stats += usize::from(kind == 3);
        sorted |= kind == 4 || kind == 5;
        deduped |= kind == 7;
        commands.push(command(rng, kind));
    }
    Query { source, commands }
}

#[test]
fn printed_random_queries_parse_back_the_same() {
    for seed in 0..3000 {
        let query = query(&mut Rng::new(seed));
        let text = query.to_string();
        match parse(&text) {
            Ok(parsed) => assert_eq!(parsed, query, "seed {seed}: {text}"),
            Err(e) => panic!("seed {seed}: {text}\n{e}"),
        }
    }
}

/// Whatever parses must also print and parse back the same.
fn check_no_panic(text: &str) {
    if let Ok(query) = parse(text) {
        let printed = query.to_string();
        match parse(&printed) {
            Ok(again) => assert_eq!(again, query, "{text:?} printed as {printed:?}"),
            Err(e) => panic!("{text:?} printed as {printed:?}: {e}"),
        }
    }
}

#[test]
fn random_text_never_panics() {
    const PIECES: &[&str] = &[
        "fields",
        "filter",
        "stats",
        "sort",
        "limit",
        "parse",
        "dedup",
        "unnest",
        "pattern",
        "display",
        "where",
        "SOURCE",
        "logGroups",
        "namePrefix",
        "class",
        "count(*)",
        "by",
        "as",
        "into",
        "not",
        "like",
        "in",
        "and",
        "or",
        "asc",
        "desc",
        "bin(",
        "5m",
        "300s",
        "1.5e",
        "1e999",
        "0",
        "42",
        "@message",
        "a.b",
        ".",
        "`",
        "`x`",
        "\"",
        "'",
        "/",
        "\\",
        "#",
        "\n",
        " ",
        " ",
        " ",
        "|",
        "(",
        ")",
        "[",
        "]",
        ",",
        ":",
        "=",
        "=~",
        "!=",
        "<=",
        "*",
        "-",
        "+",
        "^",
        "%",
        "é",
        "💡",
        "(?<n>",
        "(?i)",
        "abs(",
        "pct(",
        "sum(",
        "!",
        "~",
        "{",
    ];
    for seed in 0..20_000 {
        let mut rng = Rng::new(seed);
        check_no_panic(&rng.text(PIECES, 20));
    }
}

#[test]
fn mutated_queries_never_panic() {
    const VALID: &[&str] = &[
        "fields @timestamp, @message | filter @message like /ERROR/ | sort @timestamp desc | limit 20",
        "parse @message \"user=*, method:*, latency := *\" as @user, @method, @latency | stats avg(@latency) by @method, @user",
        "SOURCE logGroups(namePrefix: ['app', 'web']) | filter level = 'ERROR' and x not in [1, \"a\"]",
        "fields jsonParse(@message) as j | unnest j.events[0].`a.b` into e | display e.name",
        "stats sum(x) / 1024 as mb by bin(5m) as t | stats max(mb) by dateceil(t, 10m) | sort t",
        "parse @message /(?<level>\\S+)\\s+(?<rest>.*)/ | dedup level | limit 5",
    ];
    const INSERTS: &[&str] = &["(", ")", "\"", "/", "`", "|", "#", "\n", "-", "é", "[", "0"];
    for seed in 0..5000 {
        let mut rng = Rng::new(seed);
        let mut chars: Vec<char> = rng.pick(VALID).chars().collect();
        for _ in 0..rng.range(1, 4) {
            let at = rng.below(chars.len() + 1);
            if rng.chance(50) && at < chars.len() {
                chars.remove(at);
            } else {
                let insert = rng.pick(INSERTS);
                chars.splice(at..at, insert.chars());
            }
        }
        check_no_panic(&chars.into_iter().collect::<String>());
    }
}
