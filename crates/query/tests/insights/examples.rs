//! The documented examples and typical queries, most with their exact trees.

use query::insights::{
    BinaryOp, Command, Expr, Function, LikePattern, LogGroupClass, ParsePattern, Period,
    PeriodUnit, Query, SortKey, SortOrder, Source, UnaryOp,
};

use super::{aliased, binary, call, field, int, parsed, period, plain, regex, string};

fn commands(text: &str) -> Vec<Command> {
    let query = parsed(text);
    assert_eq!(query.source, None);
    query.commands
}

#[test]
fn documented_fields_examples() {
    assert_eq!(
        commands("fields `foo-bar`, action, abs(f3-f4)"),
        vec![Command::Fields(vec![
            plain(field("foo-bar")),
            plain(field("action")),
            plain(call(
                Function::Abs,
                vec![binary(BinaryOp::Sub, field("f3"), field("f4"))]
            )),
        ])]
    );
    assert_eq!(
        commands("fields concat(Operation, '-', StatusCode) as opStatus"),
        vec![Command::Fields(vec![aliased(
            call(
                Function::Concat,
                vec![field("Operation"), string("-"), field("StatusCode")]
            ),
            "opStatus"
        )])]
    );
    assert_eq!(
        commands("fields ispresent(resolverArn) as isRes"),
        vec![Command::Fields(vec![aliased(
            call(Function::IsPresent, vec![field("resolverArn")]),
            "isRes"
        )])]
    );
}

#[test]
fn documented_display_example() {
    assert_eq!(
        commands(
            "fields @message | parse @message \"[*] *\" as loggingType, loggingMessage | filter \
             loggingType = \"ERROR\" | display loggingMessage"
        ),
        vec![
            Command::Fields(vec![plain(field("@message"))]),
            Command::Parse {
                source: field("@message"),
                pattern: ParsePattern::Glob("[*] *".into()),
                names: vec!["loggingType".into(), "loggingMessage".into()],
            },
            Command::Filter(binary(BinaryOp::Eq, field("loggingType"), string("ERROR"))),
            Command::Display(vec![plain(field("loggingMessage"))]),
        ]
    );
}

#[test]
fn documented_filter_examples() {
    assert_eq!(
        commands("filter statusCode in [300,400,500]"),
        vec![Command::Filter(Expr::In {
            expr: Box::new(field("statusCode")),
            list: vec![int(300), int(400), int(500)],
            negated: false,
        })]
    );
    assert_eq!(
        commands(r#"filter Type not in ["foo","bar",1]"#),
        vec![Command::Filter(Expr::In {
            expr: Box::new(field("Type")),
            list: vec![string("foo"), string("bar"), int(1)],
            negated: true,
        })]
    );
    assert_eq!(
        commands("filter f1 like /(?i)Exception/"),
        vec![Command::Filter(Expr::Like {
            expr: Box::new(field("f1")),
            pattern: LikePattern::Regex(regex("Exception", true)),
            negated: false,
        })]
    );
    assert_eq!(
        commands(r"filter statusCode like /2\d\d/"),
        vec![Command::Filter(Expr::Like {
            expr: Box::new(field("statusCode")),
            pattern: LikePattern::Regex(regex(r"2\d\d", false)),
            negated: false,
        })]
    );
    assert_eq!(
        commands("filter @message not like /Exception/"),
        vec![Command::Filter(Expr::Like {
            expr: Box::new(field("@message")),
            pattern: LikePattern::Regex(regex("Exception", false)),
            negated: true,
        })]
    );
    assert_eq!(
        commands("filter @message like \"ERROR\""),
        vec![Command::Filter(Expr::Like {
            expr: Box::new(field("@message")),
            pattern: LikePattern::Text("ERROR".into()),
            negated: false,
        })]
    );
    assert_eq!(
        commands("filter @message =~ /time(out)?/"),
        vec![Command::Filter(Expr::Matches {
            expr: Box::new(field("@message")),
            regex: regex("time(out)?", false),
        })]
    );
}

#[test]
fn documented_two_stats_example() {
    let text = "FIELDS strlen(@message) AS message_length
| STATS sum(message_length) / 1024 / 1024 AS logs_mb BY BIN(5m) as @t
| STATS max(logs_mb) AS peak_ingest_mb, min(logs_mb) AS min_ingest_mb, avg(logs_mb) AS avg_ingest_mb BY dateceil(@t, 10m)";
    let mb = binary(
        BinaryOp::Div,
        binary(
            BinaryOp::Div,
            call(Function::Sum, vec![field("message_length")]),
            int(1024),
        ),
        int(1024),
    );
    assert_eq!(
        commands(text),
        vec![
            Command::Fields(vec![aliased(
                call(Function::Strlen, vec![field("@message")]),
                "message_length"
            )]),
            Command::Stats {
                aggregations: vec![aliased(mb, "logs_mb")],
                by: vec![aliased(
                    call(Function::Bin, vec![period(5, PeriodUnit::Minute)]),
                    "@t"
                )],
            },
            Command::Stats {
                aggregations: vec![
                    aliased(
                        call(Function::Max, vec![field("logs_mb")]),
                        "peak_ingest_mb"
                    ),
                    aliased(call(Function::Min, vec![field("logs_mb")]), "min_ingest_mb"),
                    aliased(call(Function::Avg, vec![field("logs_mb")]), "avg_ingest_mb"),
                ],
                by: vec![plain(call(
                    Function::DateCeil,
                    vec![field("@t"), period(10, PeriodUnit::Minute)]
                ))],
            },
        ]
    );
}

#[test]
fn documented_sort_and_limit_examples() {
    assert_eq!(
        commands("sort f1 desc | sort @timestamp asc | sort eventSource, eventName, awsRegion"),
        vec![
            Command::Sort(vec![SortKey {
                expr: field("f1"),
                order: Some(SortOrder::Descending),
            }]),
            Command::Sort(vec![SortKey {
                expr: field("@timestamp"),
                order: Some(SortOrder::Ascending),
            }]),
            Command::Sort(
                ["eventSource", "eventName", "awsRegion"]
                    .into_iter()
                    .map(|name| SortKey {
                        expr: field(name),
                        order: None,
                    })
                    .collect()
            ),
        ]
    );
    assert_eq!(commands("limit 25"), vec![Command::Limit(25)]);
    parsed(
        "stats sum(packets) as packetsTransferred by srcAddr, dstAddr | sort packetsTransferred \
         desc | limit 15",
    );
}

#[test]
fn documented_parse_examples() {
    assert_eq!(
        commands(r#"parse @message "[*] * The error was: *" as level, config, exception"#),
        vec![Command::Parse {
            source: field("@message"),
            pattern: ParsePattern::Glob("[*] * The error was: *".into()),
            names: vec!["level".into(), "config".into(), "exception".into()],
        }]
    );
    assert_eq!(
        commands(
            r"parse @message /\[(?<level>\S+)\]\s+(?<config>\{.*\})\s+The error was: (?<exception>\S+)/"
        ),
        vec![Command::Parse {
            source: field("@message"),
            pattern: ParsePattern::Regex(regex(
                r"\[(?<level>\S+)\]\s+(?<config>\{.*\})\s+The error was: (?<exception>\S+)",
                false
            )),
            names: vec!["level".into(), "config".into(), "exception".into()],
        }]
    );
    // The source is optional and defaults to @message.
    let commands = commands(
        r#"parse '* - * [*] "* * *" * *' as host, identity, dateTimeString, httpVerb, url, protocol, statusCode, bytes"#,
    );
    let [Command::Parse { source, names, .. }] = commands.as_slice() else {
        panic!("{commands:?}");
    };
    assert_eq!(*source, field("@message"));
    assert_eq!(names.len(), 8);
}

#[test]
fn documented_sample_with_parse_and_stats() {
    assert_eq!(
        commands(
            r#"parse @message "user=*, method:*, latency := *" as @user, @method, @latency | stats avg(@latency) by @method, @user"#
        ),
        vec![
            Command::Parse {
                source: field("@message"),
                pattern: ParsePattern::Glob("user=*, method:*, latency := *".into()),
                names: vec!["@user".into(), "@method".into(), "@latency".into()],
            },
            Command::Stats {
                aggregations: vec![plain(call(Function::Avg, vec![field("@latency")]))],
                by: vec![plain(field("@method")), plain(field("@user"))],
            },
        ]
    );
}

#[test]
fn documented_dedup_unnest_pattern_examples() {
    assert_eq!(
        commands("dedup server, severity | limit 5"),
        vec![
            Command::Dedup(vec![field("server"), field("severity")]),
            Command::Limit(5)
        ]
    );
    assert_eq!(
        commands("dedup userIdentity.arn"),
        vec![Command::Dedup(vec![field("userIdentity.arn")])]
    );
    assert_eq!(
        commands(
            "fields jsonParse(@message) as json_message | unnest json_message.events into event \
             | display event.name"
        ),
        vec![
            Command::Fields(vec![aliased(
                call(Function::JsonParse, vec![field("@message")]),
                "json_message"
            )]),
            Command::Unnest {
                field: field("json_message.events"),
                into: "event".into(),
            },
            Command::Display(vec![plain(field("event.name"))]),
        ]
    );
    assert_eq!(
        commands("fields @timestamp, @message | pattern @message"),
        vec![
            Command::Fields(vec![plain(field("@timestamp")), plain(field("@message"))]),
            Command::Pattern(field("@message")),
        ]
    );
}

#[test]
fn documented_source_examples() {
    let source = |text: &str| {
        let query = parsed(text);
        assert!(query.commands.is_empty());
        query.source.unwrap_or_else(|| panic!("{text}: no source"))
    };
    assert_eq!(source("SOURCE logGroups()"), Source::default());
    assert_eq!(
        source("SOURCE logGroups(accountIdentifiers:['111122223333'])"),
        Source {
            account_identifiers: vec!["111122223333".into()],
            ..Source::default()
        }
    );
    assert_eq!(
        source("SOURCE logGroups(namePrefix: ['namePrefix1', 'namePrefix2'])"),
        Source {
            name_prefixes: vec!["namePrefix1".into(), "namePrefix2".into()],
            ..Source::default()
        }
    );
    assert_eq!(
        source("SOURCE logGroups(class: ['INFREQUENT_ACCESS'])"),
        Source {
            classes: vec![LogGroupClass::InfrequentAccess],
            ..Source::default()
        }
    );
    assert_eq!(
        source(
            "SOURCE logGroups(accountIdentifiers:['111122223333'], namePrefix: ['namePrefix1', \
             'namePrefix2'])"
        ),
        Source {
            name_prefixes: vec!["namePrefix1".into(), "namePrefix2".into()],
            account_identifiers: vec!["111122223333".into()],
            classes: Vec::new(),
        }
    );
    assert_eq!(
        parsed("SOURCE logGroups(namePrefix: ['app', 'web']) | filter level = 'ERROR'"),
        Query {
            source: Some(Source {
                name_prefixes: vec!["app".into(), "web".into()],
                ..Source::default()
            }),
            commands: vec![Command::Filter(binary(
                BinaryOp::Eq,
                field("level"),
                string("ERROR")
            ))],
        }
    );
}

#[test]
fn documented_operator_and_function_examples() {
    assert_eq!(
        commands("filter toMillis(@timestamp) >= (now() * 1000 - 7200000)"),
        vec![Command::Filter(binary(
            BinaryOp::Ge,
            call(Function::ToMillis, vec![field("@timestamp")]),
            binary(
                BinaryOp::Sub,
                binary(BinaryOp::Mul, call(Function::Now, vec![]), int(1000)),
                int(7_200_000)
            )
        ))]
    );
    assert_eq!(
        commands("fields json_message.users[1].action, map.`special.char`, 2 ^ 3, 10 % 3"),
        vec![Command::Fields(vec![
            plain(Expr::Member {
                expr: Box::new(Expr::Index {
                    expr: Box::new(field("json_message.users")),
                    index: Box::new(int(1)),
                }),
                key: "action".into(),
            }),
            plain(field("map.special.char")),
            plain(binary(BinaryOp::Pow, int(2), int(3))),
            plain(binary(BinaryOp::Mod, int(10), int(3))),
        ])]
    );
    for text in [
        r#"fields trim("xyZxyfooxyxyZ","xyZ"), substr("xyZfooxyZ",3,3)"#,
        r#"fields strcontains(@message, "err", 1), replace(@message, "a", "b")"#,
        r#"fields regexReplace(@message, "\d+", "N"), split(path, "/")[0]"#,
        "fields haversine(lat1, lon1, lat2, lon2), round(x, 2), toInt(\"42\")",
        r#"fields parseDate(d, "yyyy-MM-dd", "UTC"), formatDate(@timestamp, "%Y"), strftime(@timestamp, "%H")"#,
        r#"fields case(status >= 500, "5xx", status >= 400, "4xx", "ok") as class, if(x > 1, "a", "b")"#,
        "fields queryStartTime(), queryEndTime(), queryTimeRange(), messageSize(@message)",
        r#"filter jsonArrayContains(tags, "prod") and jsonArraySize(tags) > 1"#,
        "filter isPrivateIP(srcAddr) or isPublicIP(srcAddr) or isReservedIP(srcAddr)",
        "fields ipv4ToNumber(srcAddr), isValidIpV4(srcAddr), isIpv6InSubnet(srcAddr, \"::1/128\")",
        "fields md5(@message), sha256(@message), base64encode(x), urldecode(u), hexToDec(h), decToHex(255)",
        "fields datefloor(@timestamp, 1h), fromMillis(1700000000000), greatest(a, b, c), least(a, b)",
        "fields isempty(a), isblank(b), toupper(c), tolower(d), ltrim(e), rtrim(f, \"x\")",
        "fields coalesce(a, b, 'none'), isNumeric(x), toNumber(x), toLong(x), toDouble(x), log(x), sqrt(x)",
        "fields startsWith(a, \"x\"), endsWith(a, \"y\"), urlencode(u), base64decode(b), hexToAscii(h)",
        "fields jsonStringify(m), isValidIp(a), isValidIpV6(a), isIpv4InSubnet(a, \"10.0.0.0/8\"), ceil(x), floor(y)",
    ] {
        parsed(text);
    }
}

#[test]
fn typical_queries() {
    assert_eq!(
        commands(
            "fields @timestamp, @message | filter @message like /ERROR/ | sort @timestamp desc | \
             limit 20"
        ),
        vec![
            Command::Fields(vec![plain(field("@timestamp")), plain(field("@message"))]),
            Command::Filter(Expr::Like {
                expr: Box::new(field("@message")),
                pattern: LikePattern::Regex(regex("ERROR", false)),
                negated: false,
            }),
            Command::Sort(vec![SortKey {
                expr: field("@timestamp"),
                order: Some(SortOrder::Descending),
            }]),
            Command::Limit(20),
        ]
    );
    assert_eq!(
        commands("stats count(*) by bin(5m)"),
        vec![Command::Stats {
            aggregations: vec![plain(call(Function::Count, vec![Expr::Star]))],
            by: vec![plain(call(
                Function::Bin,
                vec![period(5, PeriodUnit::Minute)]
            ))],
        }]
    );
    assert_eq!(
        commands(r#"filter isIpInSubnet(srcAddr, "10.0.0.0/8")"#),
        vec![Command::Filter(call(
            Function::IsIpInSubnet,
            vec![field("srcAddr"), string("10.0.0.0/8")]
        ))]
    );
    assert_eq!(
        commands("stats pct(@duration, 95), max(@maxMemoryUsed) by bin(1h)"),
        vec![Command::Stats {
            aggregations: vec![
                plain(call(Function::Pct, vec![field("@duration"), int(95)])),
                plain(call(Function::Max, vec![field("@maxMemoryUsed")])),
            ],
            by: vec![plain(call(
                Function::Bin,
                vec![period(1, PeriodUnit::Hour)]
            ))],
        }]
    );
    assert_eq!(
        commands("fields jsonParse(@message) as j | unnest j.events into e | display e.name"),
        vec![
            Command::Fields(vec![aliased(
                call(Function::JsonParse, vec![field("@message")]),
                "j"
            )]),
            Command::Unnest {
                field: field("j.events"),
                into: "e".into(),
            },
            Command::Display(vec![plain(field("e.name"))]),
        ]
    );
    assert_eq!(
        commands("pattern @message"),
        vec![Command::Pattern(field("@message"))]
    );
    assert_eq!(
        commands("where not ispresent(x) and y != 'a' or -z ^ 2 < 3"),
        vec![Command::Filter(binary(
            BinaryOp::Or,
            binary(
                BinaryOp::And,
                Expr::Unary {
                    op: UnaryOp::Not,
                    expr: Box::new(call(Function::IsPresent, vec![field("x")])),
                },
                binary(BinaryOp::Ne, field("y"), string("a")),
            ),
            binary(
                BinaryOp::Lt,
                Expr::Unary {
                    op: UnaryOp::Neg,
                    expr: Box::new(binary(BinaryOp::Pow, field("z"), int(2))),
                },
                int(3),
            ),
        ))]
    );
    for text in [
        "filter @type = \"REPORT\" | stats max(@memorySize / 1000 / 1000) as provisonedMemoryMB, \
         min(@maxMemoryUsed / 1000 / 1000) as smallestMemoryRequestMB, avg(@maxMemoryUsed / 1000 \
         / 1000) as avgMemoryUsedMB, max(@maxMemoryUsed / 1000 / 1000) as maxMemoryUsedMB, \
         provisonedMemoryMB - maxMemoryUsedMB as overProvisionedMB",
        "stats sum(bytes) as bytesTransferred by srcAddr, dstAddr | sort bytesTransferred desc | limit 10",
        "filter action=\"REJECT\" | stats count(*) as numRejections by srcAddr | sort numRejections desc | limit 20",
        "fields @timestamp, @message | filter @message like /Exception/ | stats count(*) as exceptionCount by bin(1h) | sort exceptionCount desc",
        "filter eventSource = 's3.amazonaws.com' and eventName in ['DeleteBucket', 'PutBucketPolicy'] | fields userIdentity.arn, requestParameters.bucketName",
        "fields requestParameters.items.0.id as id | filter ispresent(id)",
        "stats count_distinct(userIdentity.userName), earliest(@timestamp), latest(@timestamp), sortsFirst(a), sortsLast(b), stddev(x), sum(x)",
        "stats count() as n, count(errorCode) as errors by eventSource | stats avg(n) as avgCount",
        "stats latest(@message) as last by @logStream | sort @logStream | limit 100",
        "stats count(*) by bin(30sec), bin(2days), bin(1week), bin(3months), bin(1qtr), bin(1yr), bin(500ms)",
        "stats avg(x) by bin(1h) | sort avg(x) desc",
        "filter @message like 'it\\'s' or @message like \"tab\\there\"",
        "fields @timestamp, @message # trailing comment\n# a whole-line comment\n| limit 5",
        "Fields @timestamp | FILTER a In [1] AND NOT b LIKE \"x\" | SORT @timestamp DESC | LIMIT 3",
        "filter x.`weird key`.y = 1 and `@@example.com` = 2",
        "fields -1.5e3 + 2E-2 - 0.5, `desc`, `by` as `as`",
        "parse @message /(?P<a>\\w+) (?<b>[^/]+)/ | display a, b",
        "parse jsonParse(@message).detail \"*:*\" as k, v",
        "filter (@message like /\\/api\\/v1/)",
        "display @message | filter a / b > 2 | fields a / b / 2, x/y",
    ] {
        parsed(text);
    }
}

#[test]
fn unit_names_and_bin_caps() {
    for (text, amount, unit) in [
        ("bin(1millisecond)", 1, PeriodUnit::Millisecond),
        ("bin(2msecs)", 2, PeriodUnit::Millisecond),
        ("bin(3seconds)", 3, PeriodUnit::Second),
        ("bin(4mins)", 4, PeriodUnit::Minute),
        ("bin(5minutes)", 5, PeriodUnit::Minute),
        ("bin(6hrs)", 6, PeriodUnit::Hour),
        ("bin(7hours)", 7, PeriodUnit::Hour),
        ("bin(1d)", 1, PeriodUnit::Day),
        ("bin(2w)", 2, PeriodUnit::Week),
        ("bin(1mon)", 1, PeriodUnit::Month),
        ("bin(1quarters)", 1, PeriodUnit::Quarter),
        ("bin(1years)", 1, PeriodUnit::Year),
    ] {
        let commands = commands(&format!("stats count(*) by {text}"));
        let [Command::Stats { by, .. }] = commands.as_slice() else {
            panic!("{commands:?}");
        };
        assert_eq!(
            by[0].expr,
            call(Function::Bin, vec![period(amount, unit)]),
            "{text}"
        );
    }
    let capped = |amount, unit| Period { amount, unit }.capped_for_bin();
    assert_eq!(
        capped(300, PeriodUnit::Second),
        Period {
            amount: 60,
            unit: PeriodUnit::Second
        }
    );
    assert_eq!(capped(90, PeriodUnit::Minute).amount, 60);
    assert_eq!(capped(48, PeriodUnit::Hour).amount, 24);
    assert_eq!(capped(5000, PeriodUnit::Millisecond).amount, 1000);
    assert_eq!(capped(59, PeriodUnit::Second).amount, 59);
    assert_eq!(capped(400, PeriodUnit::Day).amount, 400);
}

#[test]
fn spans_locate_fields_and_calls() {
    let text = "fields a,\n  strlen(`b-c`)";
    let query = parsed(text);
    let [Command::Fields(projections)] = query.commands.as_slice() else {
        panic!("{query:?}");
    };
    let Expr::Call { span, args, .. } = &projections[1].expr else {
        panic!("{projections:?}");
    };
    assert_eq!(&text[span.start..span.end], "strlen(`b-c`)");
    let Expr::Field { span, name } = &args[0] else {
        panic!("{args:?}");
    };
    assert_eq!(
        (name.as_str(), &text[span.start..span.end]),
        ("b-c", "`b-c`")
    );
}

#[test]
fn printing_is_canonical() {
    let print = |text: &str| parsed(text).to_string();
    assert_eq!(
        print("FIELDS @timestamp AS t | WHERE a = 1 # comment\n| STATS COUNT(*) BY BIN(300sec)"),
        "fields @timestamp as t | filter a = 1 | stats count(*) by bin(300s)"
    );
    assert_eq!(
        print("fields (a + b) * c, a + (b * c), (a - b) - c, a - (b - c), (2 ^ 3) ^ 4, -(2 ^ 2)"),
        "fields (a + b) * c, a + b * c, a - b - c, a - (b - c), (2 ^ 3) ^ 4, -2 ^ 2"
    );
    assert_eq!(
        print("filter not (a and b) or (c or d) and e"),
        "filter not (a and b) or (c or d) and e"
    );
    assert_eq!(
        print("SOURCE logGroups(class: ['standard'], namePrefix: ['a']) | parse 'x*' as `y z`"),
        "SOURCE logGroups(namePrefix: [\"a\"], class: [\"STANDARD\"]) | parse @message \"x*\" as `y z`"
    );
    assert_eq!(
        print(r"filter @message like /a\/b/ and x =~ /(?i)c/"),
        r"filter @message like /a\/b/ and x =~ /(?i)c/"
    );
}
