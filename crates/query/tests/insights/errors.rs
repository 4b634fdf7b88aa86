//! Malformed queries: the message, and where it points.

use super::error;

/// Checks the whole `Display` text, which ends with the line and column.
fn rejects(text: &str, expected: &str) {
    assert_eq!(error(text).to_string(), expected, "for {text:?}");
}

#[test]
fn unclosed_string() {
    rejects(
        "filter @message like \"abc",
        "Expected \" to close the string but found end of query at line 1, column 22",
    );
    rejects(
        "fields `foo-bar",
        "Expected '`' to close the quoted name but found end of query at line 1, column 8",
    );
    rejects(
        "filter @message like /abc",
        "Expected '/' to close the regex but found end of query at line 1, column 22",
    );
}

#[test]
fn missing_by_expression() {
    rejects(
        "stats count(*) by | sort x",
        "Expected a field name or expression after 'by' but found '|' at line 1, column 19",
    );
}

#[test]
fn unknown_and_unsupported_commands() {
    rejects(
        "fields a | frobnicate b",
        "Expected a command (fields, display, filter, stats, sort, limit, parse, dedup, unnest \
         or pattern) but found 'frobnicate' at line 1, column 12",
    );
    rejects(
        "fields @timestamp, @message | pattern @message | anomaly",
        "The 'anomaly' command is not supported at line 1, column 50",
    );
    rejects(
        "",
        "Expected a command but found end of query at line 1, column 1",
    );
}

#[test]
fn unknown_function_and_arity() {
    rejects(
        "fields foo(@message)",
        "Unknown function 'foo' at line 1, column 8",
    );
    rejects(
        "fields abs(1, 2)",
        "Expected 1 argument for abs() but found 2 at line 1, column 8",
    );
    rejects(
        "fields substr(x)",
        "Expected 2 or 3 arguments for substr() but found 1 at line 1, column 8",
    );
    rejects(
        "fields concat()",
        "Expected at least 1 argument for concat() but found 0 at line 1, column 8",
    );
    rejects(
        "stats count(*) by bin(@timestamp)",
        "Expected a period such as 5m or 1h as argument 1 of bin() but found '@timestamp' at \
         line 1, column 23",
    );
    rejects(
        "stats pct(x, 150)",
        "Expected a percentile from 0 to 100 as argument 2 of pct() but found '150' at line 1, \
         column 14",
    );
    rejects(
        "stats count(*) by bin(5x)",
        "Expected a number or a period such as 5m or 1h but found '5x' at line 1, column 23",
    );
}

#[test]
fn limit_needs_a_positive_number() {
    rejects(
        "limit abc",
        "Expected a positive whole number after 'limit' but found 'abc' at line 1, column 7",
    );
    rejects(
        "limit 0",
        "Expected a positive whole number after 'limit' but found '0' at line 1, column 7",
    );
}

#[test]
fn command_placement() {
    rejects(
        "stats count(*) as c by x | stats sum(c) as s | stats max(s)",
        "A query can have at most two stats commands at line 1, column 48",
    );
    rejects(
        "stats count(*) as c by x | sort c | stats sum(c)",
        "'sort' must come after the second stats command at line 1, column 28",
    );
    rejects(
        "dedup a | sort a",
        "Only 'limit' may follow 'dedup', but found 'sort' at line 1, column 11",
    );
    rejects(
        "fields a | SOURCE logGroups()",
        "SOURCE must be the first command of a query at line 1, column 12",
    );
}

#[test]
fn trailing_pipe() {
    rejects(
        "fields a |",
        "Expected a command after '|' but found end of query at line 1, column 11",
    );
}

#[test]
fn aggregates_only_in_stats() {
    rejects(
        "filter count(*) > 5",
        "Aggregate function 'count' can only be used in stats at line 1, column 8",
    );
    rejects(
        "stats strlen(@message)",
        "Expected an aggregate function such as count(*), sum(x) or avg(x) in stats but found \
         'strlen(@message)' at line 1, column 7",
    );
    rejects(
        "stats sum(max(x))",
        "Aggregate function 'max' can't be used inside 'sum' at line 1, column 11",
    );
    rejects(
        "stats count(*) by max(x)",
        "Aggregate function 'max' can only be used in stats at line 1, column 19",
    );
}

#[test]
fn unbalanced_parentheses() {
    rejects(
        "filter (a = 1",
        "Expected ')' but found end of query at line 1, column 14",
    );
    rejects(
        "filter a = 1)",
        "Expected '|' or end of query but found ')' at line 1, column 13",
    );
}

#[test]
fn error_on_a_later_line() {
    rejects(
        "fields @timestamp\n| filter x = 1\n| stats avg(x) by",
        "Expected a field name or expression after 'by' but found end of query at line 3, \
         column 18",
    );
    rejects(
        "fields @timestamp # the time\n# then\n| filter x not y",
        "Expected 'like' or 'in' after 'not' but found 'y' at line 3, column 16",
    );
}

#[test]
fn parse_patterns() {
    rejects(
        "parse @message \"[*] *\" as a",
        "Expected 2 names after 'as', one for each '*' of the pattern, but found 1 at line 1, \
         column 27",
    );
    rejects(
        "parse @message \"[*] *\"",
        "Expected 'as' and a name for each '*' of the pattern but found end of query at line 1, \
         column 23",
    );
    rejects(
        "parse @message /(\\d+)/",
        "Expected a regex with named groups such as (?<name>\\S+) but found '/(\\d+)/' at line 1, \
         column 16",
    );
    rejects(
        "parse @message /(?<n>\\d+)/ as n",
        "A parse regex names its fields with (?<name>...) groups, so it takes no 'as' at line 1, \
         column 28",
    );
}

#[test]
fn misplaced_tokens() {
    rejects(
        "filter a = = 1",
        "Expected an expression after '=' but found '=' at line 1, column 12",
    );
    rejects(
        "filter a like b",
        "Expected a \"string\" or /regex/ after 'like' but found 'b' at line 1, column 15",
    );
    rejects(
        "fields a as by",
        "Expected a name after 'as' but found 'by' at line 1, column 13",
    );
    rejects(
        "fields count(x, *)",
        "Expected an argument to count() but found '*' at line 1, column 17",
    );
    rejects(
        "fields a ! b",
        "Unexpected character '!' at line 1, column 10",
    );
    rejects(
        "SOURCE logGroups(namePrefix: ['a','b','c','d','e','f'])",
        "Expected at most 5 name prefixes but found 6 at line 1, column 18",
    );
    rejects(
        "SOURCE logGroups(class: ['COLD'])",
        "Expected STANDARD or INFREQUENT_ACCESS but found 'COLD' at line 1, column 26",
    );
    rejects(
        "SOURCE '/aws/lambda/f' | fields a",
        "Expected logGroups(...) after SOURCE but found '/aws/lambda/f' at line 1, column 8",
    );
}

#[test]
fn offsets_count_characters() {
    let e = error("filter x = \"héllo\" |");
    assert_eq!((e.line, e.column, e.start, e.end), (1, 21, 20, 20));
    let e = error("fields a\n| filter é(x)");
    assert_eq!((e.line, e.column, e.start, e.end), (2, 10, 18, 19));
    assert_eq!(e.message, "Unknown function 'é'");
    let e = error("filter (a = 1");
    assert_eq!((e.start, e.end), (13, 13));
}

#[test]
fn nesting_is_bounded() {
    for text in [
        "(".repeat(10_000),
        format!("filter {}", "(".repeat(10_000)),
        format!("filter {}1", "-".repeat(10_000)),
        format!("filter {}", "not ".repeat(10_000)),
        format!("filter {}1", "a + ".repeat(5_000)),
        format!("filter a{}", "[0]".repeat(5_000)),
        format!("fields abs({}1{}", "abs(".repeat(5_000), ")".repeat(5_001)),
    ] {
        let e = error(&text);
        assert!(
            e.message.contains("nested") || e.message.starts_with("Expected a command"),
            "{}",
            e.message
        );
    }
}
