//! The worked examples of the reference (§3.2–§3.5), error messages, and a randomized
//! check that no input makes parsing or matching panic.

use std::collections::BTreeMap;

use super::*;

fn pattern(text: &str) -> FilterPattern {
    FilterPattern::parse(text).unwrap_or_else(|e| panic!("{text:?} failed to parse: {e}"))
}

fn error(text: &str) -> PatternError {
    match FilterPattern::parse(text) {
        Ok(p) => panic!("{text:?} parsed as {p:?}"),
        Err(e) => e,
    }
}

fn invalid_chars(chars: &str) -> PatternError {
    PatternError::InvalidCharacters(chars.to_owned())
}

fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

// §3.2 term patterns.

const LINES: [&str; 9] = [
    "[ERROR 400] BAD REQUEST",
    "[ERROR 401] UNAUTHORIZED REQUEST",
    "[ERROR 419] MISSING ARGUMENTS",
    "[ERROR 420] INVALID ARGUMENTS",
    "[ERROR 500] INTERNAL SERVER ERROR",
    "[SUCCESS 200] AUTHORIZED REQUEST",
    "[INFO] REQUEST FAILED",
    "[WARN] UNAUTHORIZED REQUEST",
    "[ERROR] 400 BAD REQUEST",
];

/// The 1-based numbers of the lines the pattern matches.
fn matching_lines(text: &str) -> Vec<usize> {
    let p = pattern(text);
    (1..=LINES.len())
        .filter(|&n| p.matches(LINES[n - 1]))
        .collect()
}

#[test]
fn term_examples() {
    assert_eq!(matching_lines("ERROR"), [1, 2, 3, 4, 5, 9]);
    assert_eq!(matching_lines("ERROR ARGUMENTS"), [3, 4]);
    assert_eq!(matching_lines("?ERROR ?ARGUMENTS"), [1, 2, 3, 4, 5, 9]);
    assert_eq!(matching_lines("\"INTERNAL SERVER ERROR\""), [5]);
    assert_eq!(matching_lines("ERROR -ARGUMENTS"), [1, 2, 5, 9]);
    assert_eq!(
        matching_lines("?ERROR ?ARGUMENTS REQUEST"),
        [1, 2, 6, 7, 8, 9]
    );
    assert_eq!(
        matching_lines("?ERROR ?ARGUMENTS REQUEST"),
        matching_lines("REQUEST")
    );
    assert_eq!(matching_lines("%AUTHORIZED%"), [2, 6, 8]);
}

#[test]
fn quoted_and_bare_terms_combine_as_substrings() {
    let p = pattern("\"[ERROR]\" Exception");
    assert!(
        p.matches("02 May 2014 00:34:16,142 [ERROR] Unhanded exception: InvalidQueryException")
    );
    assert!(!p.matches("02 May 2014 00:34:16,142 [ERROR] Terminating the application"));
    assert!(!pattern("exception").matches("EXCEPTION"));
}

#[test]
fn term_forms() {
    assert!(pattern("-ERROR").matches("all good"));
    assert!(!pattern("-ERROR").matches("an ERROR"));
    assert!(pattern("-\"BAD REQUEST\" ERROR").matches("[ERROR 419] MISSING ARGUMENTS"));
    assert!(!pattern("-\"BAD REQUEST\" ERROR").matches("[ERROR 400] BAD REQUEST"));
    assert!(pattern("?\"denied\" ?\"Failure\"").matches("Failure: x"));
    assert!(pattern(r#""say \"hi\"" "C:\\dir""#).matches(r#"they say "hi" in C:\dir"#));
    assert!(
        pattern("i-0abc123 java.lang.Error user@example.com /var/log a_b #1 k=v;")
            .matches("i-0abc123 java.lang.Error user@example.com /var/log a_b #1 k=v;")
    );
    assert!(pattern("\"a*b\"").matches("a*b") && !pattern("\"a*b\"").matches("axb"));
}

#[test]
fn blank_patterns_match_everything() {
    for text in ["", "   ", "\" \"", "\"\"", "  \" \"  "] {
        let p = pattern(text);
        assert!(p.matches_all(), "{text:?}");
        assert!(p.matches("anything") && p.matches(""));
        assert_eq!(p.extract("x"), Some(BTreeMap::new()));
    }
    assert!(!pattern("ERROR").matches_all());
    assert!(!pattern("[]").matches_all());
}

#[test]
fn term_errors() {
    assert_eq!(
        error("PlayerSpawnedInWorld (reason: JoinMultiplayer"),
        invalid_chars("(")
    );
    assert_eq!(error("?Status: timeout"), invalid_chars(":"));
    assert_eq!(error("retrievedReferences [ ]"), invalid_chars("["));
    assert_eq!(error("a,b"), invalid_chars(","));
    assert_eq!(error("ERROR*"), invalid_chars("*"));
    assert_eq!(error(r#"level\":\"error"#), invalid_chars("\\"));
    assert_eq!(error("`ERROR"), invalid_chars("`"));
    assert_eq!(error("ERROR “quoted”"), invalid_chars("“"));
    assert_eq!(error("\"a\":b"), invalid_chars(":"));
    assert_eq!(error("%foo"), invalid_chars("%"));
    assert_eq!(error("\"unterminated"), PatternError::Syntax);
    assert_eq!(error("\"a\"b"), PatternError::Syntax);
    assert_eq!(error("-"), PatternError::Syntax);
    assert_eq!(error("ERROR ? x"), PatternError::Syntax);
}

#[test]
fn error_messages_are_aws_messages() {
    assert_eq!(
        invalid_chars("(").to_string(),
        "Invalid character(s) in term '('"
    );
    assert_eq!(PatternError::Syntax.to_string(), "Invalid filter pattern");
    assert!(
        error("{ $.a[*].b[*] = 1 }")
            .to_string()
            .starts_with("Invalid filter pattern: ")
    );
}

// §3.6 standalone regex.

#[test]
fn standalone_regex() {
    let p = pattern("%^starting|^initializing|^shutting down%");
    assert!(p.matches("shutting down"));
    assert!(!p.matches("skipping initializing the cache"));
    assert!(pattern(r"%\x3A%").matches("a:b"));
    assert!(pattern("%10\\.10\\.0\\.1%").matches("from 10.10.0.1"));
    assert_eq!(pattern("%AUTH%").extract("AUTH"), Some(BTreeMap::new()));
    assert_eq!(pattern("%AUTH%").extract("auth"), None);
    assert_eq!(error("%something!%"), invalid_chars("!"));
    assert_eq!(error("%(ab)%"), invalid_chars("("));
    assert_eq!(error("%a%b%"), invalid_chars("%"));
    assert_eq!(error("%%"), PatternError::Syntax);
    assert_eq!(error("%[a%"), PatternError::Syntax);
}

// §3.3 JSON patterns.

const EVENT_A: &str = r#"{"eventType":"UpdateTrail","sourceIPAddress":"111.111.111.111","arrayKey":["value","another value"],"objectList":[{"name":"a","id":1},{"name":"b","id":2}],"SomeObject":null,"cluster.name":"c"}"#;

const EVENT_B: &str = r#"{"user":{"id":1,"email":"John.Stiles@example.com"},"users":[{"id":2,"email":"John.Doe@example.com"},{"id":3,"email":"Jane.Doe@example.com"}],"actions":["GET","PUT","DELETE"],"coordinates":[[0,1,2],[4,5,6],[7,8,9]]}"#;

#[test]
fn json_examples_on_event_a() {
    for text in [
        r#"{ $.eventType = "UpdateTrail" }"#,
        "{ $.sourceIPAddress != 123.123.* }",
        r#"{ $.arrayKey[0] = "value" }"#,
        "{ $.objectList[1].id = 2 }",
        "{ $.eventType = %Trail% }",
        "{ $.arrayKey[*] = %val.{2}% }",
        r"{ $.* = %111\.111\.111\.1[0-9]{1,2}% }",
        r#"{ $.['cluster.name'] = "c" }"#,
        "{ $.SomeObject IS NULL }",
        "{ $.SomeOtherObject NOT EXISTS }",
    ] {
        let p = pattern(text);
        assert!(p.matches(EVENT_A), "{text}");
        assert_eq!(p.extract(EVENT_A), Some(BTreeMap::new()), "{text}");
    }
}

#[test]
fn json_examples_on_event_b() {
    let expectations = [
        (
            r#"{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }"#,
            true,
        ),
        (
            r#"{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch" && $.actions[2] = "nonmatch" }"#,
            true,
        ),
        (
            r#"{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch") && $.actions[2] = "nonmatch" }"#,
            false,
        ),
        (
            r#"{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }"#,
            false,
        ),
    ];
    for (text, expected) in expectations {
        assert_eq!(pattern(text).matches(EVENT_B), expected, "{text}");
    }
}

#[test]
fn json_selectors() {
    let p = |text: &str| pattern(text).matches(EVENT_A) || pattern(text).matches(EVENT_B);
    assert!(p("{ $.coordinates[2][0] = 7 }"));
    assert!(p("{ $.objectList[*].name = \"b\" }"));
    assert!(p("{ $.users[*].id = 3 }"));
    assert!(p("{ $.user.* = 1 }"));
    assert!(p("{ $['cluster.name'] = c }"));
    assert!(!p("{ $.coordinates[3][0] = 7 }"));
    assert!(!p("{ $.arrayKey[0].x = 1 }"));
    assert!(pattern("{ $.eventType.x NOT EXISTS }").matches(EVENT_A));
    assert!(!pattern("{ $.SomeObject NOT EXISTS }").matches(EVENT_A));
    assert!(!pattern("{ $.objectList[*].name NOT EXISTS }").matches(EVENT_A));
    assert!(pattern("{ $.objectList[*].other NOT EXISTS }").matches(EVENT_A));
}

#[test]
fn json_objects_arrays_and_null_do_not_compare() {
    for text in [
        "{ $.user = * }",
        "{ $.actions != \"x\" }",
        "{ $.coordinates[0] = 0 }",
        "{ $.user IS NULL }",
    ] {
        assert!(!pattern(text).matches(EVENT_B), "{text}");
    }
    assert!(!pattern("{ $.SomeObject = * }").matches(EVENT_A));
    assert!(!pattern("{ $.SomeObject != x }").matches(EVENT_A));
}

#[test]
fn json_string_values() {
    let m = |text: &str| pattern(text).matches(EVENT_A);
    assert!(m(r#"{ $.eventType = "*" }"#));
    assert!(m("{ $.eventType = * }"));
    assert!(m("{ $.eventType = Update* }"));
    assert!(m("{ $.eventType = UpdateTrail }"));
    assert!(m(r#"{ $.eventType = "*Tr*l" }"#));
    assert!(!m(r#"{ $.eventType = "Update\*" }"#));
    assert!(!m("{ $.eventType = Update }"));
    assert!(!m("{ $.eventType != UpdateTrail }"));
    assert!(!m("{ $.sourceIPAddress != 111.111.* }"));
    assert!(m("{ $.eventType != %^Create% }"));
    assert!(!m("{ $.eventType != %Trail% }"));
    assert!(!m("{ $.eventType = \"updatetrail\" }"));
}

#[test]
fn json_numbers() {
    let event = r#"{"n":1500,"neg":-2,"small":0.001,"s":"10","big":2e3,"flag":true,"off":false,"text":"abc"}"#;
    let m = |text: &str| pattern(text).matches(event);
    assert!(m("{ $.n > 1000 }") && m("{ $.n >= 1500 }") && m("{ $.n <= 1.5e3 }"));
    assert!(!m("{ $.n < 1500 }") && !m("{ $.n > 1e+4 }"));
    assert!(m("{ $.neg = -2 }") && m("{ $.neg < -1 }") && m("{ $.neg != +2 }"));
    assert!(m("{ $.small = 1e-3 }") && m("{ $.small < 1E-2 }"));
    assert!(m("{ $.big = 2000 }") && m("{ $.n = 15* }"));
    assert!(m("{ $.s > 5 }") && m("{ $.s = 10.0 }"));
    assert!(!m("{ $.text > 5 }") && !m("{ $.text = 5 }") && m("{ $.text != 5 }"));
    assert!(m("{ $.flag IS TRUE }") && m("{ $.off IS FALSE }"));
    assert!(!m("{ $.flag IS FALSE }") && !m("{ $.n IS TRUE }") && !m("{ $.missing IS TRUE }"));
    assert!(m("{ $.flag = true }") && m("{ $.flag is true }"));
    assert!(!m("{ $.missing != 1 }") && !m("{ $.missing = * }"));
}

#[test]
fn json_patterns_need_json_events() {
    let p = pattern("{ $.a NOT EXISTS }");
    assert!(p.matches("{}"));
    assert!(p.matches("  \n{\"b\": 1}\n"));
    for message in [
        "",
        "plain text",
        "[1,2]",
        "{not json",
        "{\"a\":1} trailing",
        "\"{\"",
    ] {
        assert!(!p.matches(message), "{message:?}");
        assert_eq!(p.extract(message), None);
    }
}

#[test]
fn json_errors() {
    assert_eq!(
        error(r#"{ $.message = "error-response", $.path = "/authenticate" }"#),
        invalid_chars(",")
    );
    assert_eq!(error(r#"{ $."sc-status" = 5* }"#), invalid_chars("$.\""));
    assert_eq!(error(r#"{ $."detail-type" = "x" }"#), invalid_chars("$.\""));
    assert_eq!(error("{ $.a:b = 1 }"), invalid_chars("$.a:"));
    assert_eq!(error("{ $.a..b = 1 }"), invalid_chars("$.a.."));
    assert_eq!(error("{ $.a = b:c }"), invalid_chars(":"));
    assert_eq!(error("{ $.a = /x }"), invalid_chars("/"));
    for text in [
        "{}",
        "{ }",
        "{ $.a = 1",
        "{ $.a = 1 } x",
        "{ $.a == 1 }",
        "{ $.a = }",
        "{ $.a IS NOT NULL }",
        "{ $.a EXISTS }",
        "{ $.a IS }",
        "{ $.a }",
        "{ $ = 1 }",
        "{ a = 1 }",
        "{ $.a[x] = 1 }",
        "{ $.a[-1] = 1 }",
        "{ $.['unterminated = 1 }",
        "{ $.a = 1 & $.b = 2 }",
        "{ $.a = 1 && }",
        "{ ($.a = 1 }",
        "{ $.a > abc }",
        "{ $.a < \"5\" }",
        "{ $.a >= %5% }",
        "{ $.a = \"x }",
        "{ $.a = %x }",
    ] {
        assert_eq!(error(text), PatternError::Syntax, "{text}");
    }
}

#[test]
fn json_limits() {
    assert!(matches!(
        error("{ $.a[*].b[*] = 1 }"),
        PatternError::Limit(_)
    ));
    assert!(matches!(error("{ $.*.* = 1 }"), PatternError::Limit(_)));
    pattern("{ $.a[*] = 1 || $.b[*] = 1 || $.c.* = 1 }");
    assert!(matches!(
        error("{ $.a[*] = 1 || $.b[*] = 1 || $.c[*] = 1 || $.d.* = 1 }"),
        PatternError::Limit(_)
    ));
    pattern("{ $.a = %a% || $.b = %b% }");
    assert!(matches!(
        error("{ $.a = %a% || $.b = %b% || $.c = %c% }"),
        PatternError::Limit(_)
    ));
}

#[test]
fn deep_nesting_is_rejected_not_overflowed() {
    let deep = format!(
        "{{ {}$.a = 1{} }}",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    assert_eq!(error(&deep), PatternError::Syntax);
    let ok = format!("{{ {}$.a = 1{} }}", "(".repeat(30), ")".repeat(30));
    assert!(pattern(&ok).matches(r#"{"a":1}"#));
    let deep = format!("[{}w = 1{}]", "(".repeat(100_000), ")".repeat(100_000));
    assert_eq!(error(&deep), PatternError::Syntax);
}

// §3.4 space-delimited patterns.

const SAMPLE: [&str; 4] = [
    "INFO 09/25/2014 12:00:00 GET /service/resource/67 1200",
    "INFO 09/25/2014 12:00:01 POST /service/resource/67/part/111 1310",
    "WARNING 09/25/2014 12:00:02 Invalid user request",
    "ERROR 09/25/2014 12:00:02 Failed to process request",
];

/// The 0-based indexes of the sample lines the pattern matches.
fn matching_samples(text: &str) -> Vec<usize> {
    let p = pattern(text);
    (0..SAMPLE.len())
        .filter(|&i| p.matches(SAMPLE[i]))
        .collect()
}

#[test]
fn delimited_examples() {
    assert_eq!(matching_samples("[w1=ERROR, w2]"), [3]);
    assert_eq!(matching_samples("[w1=ERROR || w1=WARNING, w2]"), [2, 3]);
    assert_eq!(matching_samples("[w1!=ERROR && w1!=WARNING, w2]"), [0, 1]);
    assert_eq!(
        matching_samples(
            "[logLevel, date, time, method, url=%/service/resource/[0-9]+$%, response_time]"
        ),
        [0]
    );
    assert_eq!(
        matching_samples(
            "[logLevel, date, time, method, url=%/service/resource/[0-9]+/part/[0-9]+$%, response_time]"
        ),
        [1]
    );
}

#[test]
fn delimited_field_count() {
    // A single spec compares the whole line, which is why the doc asks for `w2`.
    assert_eq!(matching_samples("[w1=ERROR]"), Vec::<usize>::new());
    assert_eq!(
        pattern("[w1=ERROR, w2]").extract(SAMPLE[3]),
        Some(values(&[
            ("$w1", "ERROR"),
            ("$w2", "09/25/2014 12:00:02 Failed to process request")
        ]))
    );
    // Fewer fields than specs never match.
    assert!(!pattern("[a, b, c]").matches("one two"));
    assert!(pattern("[a, b, c]").matches("one two three"));
    assert!(!pattern("[..., a, b, c]").matches("one two"));
    assert!(!pattern("[a]").matches("   "));
    assert!(pattern("[a]").matches("one"));
}

const APACHE: &str =
    r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534"#;

#[test]
fn extracted_value_examples() {
    assert_eq!(
        pattern("[ip, identity, user_id, timestamp, request, status_code, size]").extract(APACHE),
        Some(values(&[
            ("$ip", "127.0.0.1"),
            ("$identity", "-"),
            ("$user_id", "frank"),
            ("$timestamp", "10/Oct/2000:13:25:15 -0700"),
            ("$request", "GET /apache_pb.gif HTTP/1.0"),
            ("$status_code", "200"),
            ("$size", "1534"),
        ]))
    );
    assert_eq!(
        pattern("[..., size]").extract(APACHE),
        Some(values(&[
            ("$1", "127.0.0.1"),
            ("$2", "-"),
            ("$3", "frank"),
            ("$4", "10/Oct/2000:13:25:15 -0700"),
            ("$5", "GET /apache_pb.gif HTTP/1.0"),
            ("$6", "200"),
            ("$size", "1534"),
        ]))
    );
    let all: Vec<(String, &str)> = [
        "127.0.0.1",
        "-",
        "frank",
        "10/Oct/2000:13:25:15 -0700",
        "GET /apache_pb.gif HTTP/1.0",
        "200",
        "1534",
    ]
    .iter()
    .enumerate()
    .map(|(i, v)| (format!("${}", i + 1), *v))
    .collect();
    let expected: BTreeMap<String, String> = all
        .iter()
        .map(|(k, v)| (k.clone(), (*v).to_owned()))
        .collect();
    assert_eq!(pattern("[]").extract(APACHE), Some(expected.clone()));
    assert_eq!(pattern("[...]").extract(APACHE), Some(expected));
    assert_eq!(
        pattern("\"[ERROR]\"").extract("[ERROR] x"),
        Some(BTreeMap::new())
    );
    assert_eq!(pattern("\"[ERROR]\"").extract("[INFO] x"), None);
}

#[test]
fn extraction_only_for_matching_events() {
    let events = [
        APACHE,
        r#"127.0.0.1 - bob [10/Oct/2000:13:25:16 -0700] "GET /missing.gif HTTP/1.0" 404 12"#,
        r#"127.0.0.1 - eve [10/Oct/2000:13:25:17 -0700] "GET /index.html HTTP/1.0" 200 2326"#,
    ];
    let p = pattern("[..., status_code=200, size]");
    let extracted: Vec<_> = events.iter().map(|e| p.extract(e)).collect();
    assert!(extracted[1].is_none());
    let third = extracted[2].as_ref().expect("status 200 matches");
    let keys: Vec<&str> = third.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["$1", "$2", "$3", "$4", "$5", "$size", "$status_code"]
    );
    assert_eq!(third["$size"], "2326");
    assert!(extracted[0].is_some());
}

#[test]
fn trailing_comma_adds_an_unnamed_field() {
    let event =
        r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534"#;
    let extracted = pattern("[..., request=*.html*, status_code=4*,]").extract(event);
    assert_eq!(
        extracted,
        Some(values(&[
            ("$1", "127.0.0.1"),
            ("$2", "-"),
            ("$3", "frank"),
            ("$4", "10/Oct/2000:13:25:15 -0700"),
            ("$request", "GET /index.html HTTP/1.0"),
            ("$status_code", "404"),
            ("$7", "1534"),
        ]))
    );
    assert_eq!(
        pattern("[a, , c]").extract("x y z"),
        Some(values(&[("$a", "x"), ("$2", "y"), ("$c", "z")]))
    );
}

#[test]
fn delimited_conditions() {
    let m = |text: &str, event: &str| pattern(text).matches(event);
    assert!(m(r"[ip=%127\.0\.0\.[1-9]%, ...]", APACHE));
    assert!(!m(r"[ip=%127\.0\.0\.[2-9]%, ...]", APACHE));
    assert!(m(
        "[..., request =*.gif*, status_code = 2*, bytes > 1000]",
        APACHE
    ));
    assert!(!m("[..., bytes > 2000]", APACHE));
    assert!(m(
        "[..., status_code = 404 || status_code = 200, bytes]",
        APACHE
    ));
    assert!(m(
        "[..., status_code != 404 && status_code >= 200, bytes <= 1534]",
        APACHE
    ));
    assert!(m("[ip, identity != 5, ...]", APACHE));
    assert!(!m("[ip, identity < 5, ...]", APACHE));
    assert!(m(r#"[ip, identity, user = "frank", ...]"#, APACHE));
    assert!(m(r#"[ip, identity, user = "fr*", ...]"#, APACHE));
    assert!(m("[ip, ..., size = 1.534e3]", APACHE));
    assert!(m(
        "[ip, ..., timestamp, request, status_code, size]",
        APACHE
    ));
    assert!(m("[(a = x || a = y) && a != z, b]", "y 1"));
    assert!(!m("[(a = x || a = y) && a != z, b]", "z 1"));
    assert!(m("[a, b = \"two words\"]", "one \"two words\""));
    assert!(m(
        "[a, b = \"unterminated rest\"]",
        "one \"unterminated rest"
    ));
    assert!(m("[a, b, c]", "one [two three]four"));
    assert!(m("[a=one,b=two]", "one\ttwo"));
}

#[test]
fn delimited_errors() {
    assert_eq!(error("[w1=“ERROR”, w2]"), invalid_chars("“"));
    assert_eq!(error("[a = b:c]"), invalid_chars(":"));
    assert_eq!(error("[a = $x]"), invalid_chars("$"));
    for text in [
        "[status_code = 4* && bytes > 1000]",
        "[a, ..., b, ...]",
        "[a, a]",
        "[a, b = 1, a = 2]",
        "[w1 > abc, w2]",
        "[w1 =, w2]",
        "[w1 == x]",
        "[a b]",
        "[a, b",
        "[a] x",
        "[1a]",
        "[a = \"x]",
        "[(a = 1]",
        "[a = 1 &&]",
        "[a && a = 1]",
    ] {
        assert_eq!(error(text), PatternError::Syntax, "{text}");
    }
    pattern("[a = %x%, b = %y%, c]");
    assert!(matches!(
        error("[a = %x%, b = %y%, c = %z%]"),
        PatternError::Limit(_)
    ));
}

#[test]
fn matches_agrees_with_extract() {
    let patterns = [
        "ERROR",
        "%REQ.EST%",
        "{ $.a = 1 }",
        "[a, b = 2*]",
        "[..., b > 1]",
        "[a, ..., c]",
        "[]",
    ];
    let events = [
        "ERROR REQUEST",
        "a 21",
        "a 0",
        "a",
        "",
        "{\"a\":1}",
        "x \"y z\" [w]",
        "1 2 3 4",
    ];
    for text in patterns {
        let p = pattern(text);
        for event in events {
            assert_eq!(
                p.matches(event),
                p.extract(event).is_some(),
                "{text} on {event:?}"
            );
        }
    }
}

#[test]
fn patterns_are_shareable() {
    fn assert_traits<T: Clone + std::fmt::Debug + Send + Sync>() {}
    assert_traits::<FilterPattern>();
}

/// A small xorshift generator, so the randomized test needs no dependency and repeats.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

impl Rng {
    fn selector(&mut self) -> String {
        let steps = [".a", ".b", "[0]", "[1]", "[*]", ".*", "['k.x']", ".c-d"];
        let mut selector = String::from("$");
        for _ in 0..=self.below(3) {
            selector.push_str(self.pick(&steps));
        }
        selector
    }

    fn value(&mut self) -> &'static str {
        self.pick(&[
            "\"x*y\"",
            "1",
            "-2.5e3",
            "%a.b%",
            "abc*",
            "\"a\"",
            "*",
            "true",
            "1e-3",
            "\"\\\"q\\\"\"",
        ])
    }

    fn json_expr(&mut self, depth: usize) -> String {
        match if depth > 3 { 0 } else { self.below(5) } {
            0 | 1 => {
                let selector = self.selector();
                let test = match self.below(7) {
                    0 => " IS NULL".to_owned(),
                    1 => " IS TRUE".to_owned(),
                    2 => " NOT EXISTS".to_owned(),
                    3 => format!(" > {}", self.pick(&["1", "-2.5e3", "0.5"])),
                    _ => format!(" {} {}", self.pick(&["=", "!="]), self.value()),
                };
                selector + &test
            }
            2 => format!(
                "{} && {}",
                self.json_expr(depth + 1),
                self.json_expr(depth + 1)
            ),
            3 => format!(
                "{} || {}",
                self.json_expr(depth + 1),
                self.json_expr(depth + 1)
            ),
            _ => format!("({})", self.json_expr(depth + 1)),
        }
    }

    fn delimited(&mut self) -> String {
        let specs: Vec<String> = (0..self.below(5))
            .enumerate()
            .map(|(i, _)| match self.below(6) {
                0 => String::new(),
                1 => "...".to_owned(),
                2 => format!("f{i}"),
                3 => format!(
                    "f{i} {} {}",
                    self.pick(&["=", "!=", ">", "<="]),
                    self.value()
                ),
                _ => format!("f{i} = {} || f{i} != {}", self.value(), self.value()),
            })
            .collect();
        format!("[{}]", specs.join(", "))
    }

    /// Deletes, duplicates or inserts characters, to reach the error paths near valid syntax.
    fn mutate(&mut self, text: &str) -> String {
        let mut chars: Vec<char> = text.chars().collect();
        for _ in 0..=self.below(3) {
            let at = self.below(chars.len() + 1);
            match self.below(3) {
                0 if at < chars.len() => {
                    chars.remove(at);
                }
                1 if at < chars.len() => chars.insert(at, chars[at]),
                _ => chars.insert(
                    at,
                    self.pick(&[
                        "(", ")", "\"", "%", "[", "]", "{", "}", ",", "*", "é", "\\", " ",
                    ])
                    .chars()
                    .next()
                    .unwrap_or(' '),
                ),
            }
        }
        chars.into_iter().collect()
    }

    fn json_message(&mut self, depth: usize) -> String {
        match if depth > 3 {
            self.below(5)
        } else {
            self.below(8)
        } {
            0 => "null".to_owned(),
            1 => self.pick(&["true", "false"]).to_owned(),
            2 => self
                .pick(&["1", "-2.5e3", "0.001", "1e400", "18446744073709551616"])
                .to_owned(),
            3 | 4 => self
                .pick(&["\"a\"", "\"xzzy\"", "\"value\"", "\"1\"", "\"\\u00e9\\\"\""])
                .to_owned(),
            5 | 6 => {
                let fields: Vec<String> = (0..self.below(4))
                    .map(|_| {
                        format!(
                            "{}:{}",
                            self.pick(&["\"a\"", "\"b\"", "\"k.x\"", "\"c-d\""]),
                            self.json_message(depth + 1)
                        )
                    })
                    .collect();
                format!("{{{}}}", fields.join(","))
            }
            _ => {
                let items: Vec<String> = (0..self.below(4))
                    .map(|_| self.json_message(depth + 1))
                    .collect();
                format!("[{}]", items.join(","))
            }
        }
    }

    fn message(&mut self) -> String {
        match self.below(3) {
            0 => self.json_message(0),
            1 => {
                let words = [
                    "x", "1", "abc", "\"a b\"", "[c d]", "-", "2e3", "\"open", "[open", "é", "\t",
                ];
                (0..self.below(8))
                    .map(|_| self.pick(&words))
                    .collect::<Vec<_>>()
                    .join(" ")
            }
            _ => {
                const PIECES: &[&str] = &[
                    "{", "}", "[", "]", "\"", ":", ",", " ", "\"a\"", "1", "null", "ERROR", "é",
                    "\\",
                ];
                (0..self.below(24)).map(|_| self.pick(PIECES)).collect()
            }
        }
    }
}

#[test]
fn random_input_never_panics() {
    const PIECES: &[&str] = &[
        "{",
        "}",
        "[",
        "]",
        "(",
        ")",
        "$.a",
        "[*]",
        "=",
        "!=",
        ">=",
        "&&",
        "||",
        "\"",
        "%",
        "%a.b%",
        "\\",
        "\\x41",
        "IS NULL",
        "NOT EXISTS",
        "...",
        ",",
        " ",
        "-",
        "?",
        "*",
        "1",
        "ERROR",
        "w1",
        "é",
        "“",
        "\t",
        "'",
        ":",
        "{,3}",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut parsed = [0usize; 5];
    let mut matched = 0;
    for round in 0..40_000 {
        let text = match round % 5 {
            0 => (0..rng.below(40))
                .map(|_| char::from_u32(rng.below(0x3000) as u32).unwrap_or('x'))
                .collect(),
            1 => (0..rng.below(16)).map(|_| rng.pick(PIECES)).collect(),
            2 => format!("{{ {} }}", rng.json_expr(0)),
            3 => rng.delimited(),
            _ => {
                let valid = if rng.below(2) == 0 {
                    format!("{{ {} }}", rng.json_expr(0))
                } else {
                    rng.delimited()
                };
                rng.mutate(&valid)
            }
        };
        let Ok(p) = FilterPattern::parse(&text) else {
            continue;
        };
        parsed[round % 5] += 1;
        for _ in 0..8 {
            let message = rng.message();
            let matches = p.matches(&message);
            assert_eq!(
                matches,
                p.extract(&message).is_some(),
                "{text:?} on {message:?}"
            );
            matched += usize::from(matches);
        }
    }
    // The generated patterns must mostly parse and sometimes match, or the test proves little.
    assert!(
        parsed[2..].iter().all(|&n| n > 500),
        "too few random patterns parsed: {parsed:?}"
    );
    assert!(matched > 10_000, "only {matched} random matches");
}
