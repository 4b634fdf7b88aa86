//! The CloudWatch Logs API through the official AWS SDK for Rust, against the real server.
#![allow(deprecated)] // the old tagging APIs, `interleaved` and stream `storedBytes` are still served

mod common;

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::types::{InputLogEvent, OrderBy};
use common::{Server, error_of, now_ms};
use std::collections::HashMap;

fn event(timestamp: i64, message: &str) -> InputLogEvent {
    InputLogEvent::builder()
        .timestamp(timestamp)
        .message(message)
        .build()
        .expect("event")
}

async fn group_and_stream(client: &Client, group: &str, stream: &str) {
    client
        .create_log_group()
        .log_group_name(group)
        .send()
        .await
        .expect("create group");
    client
        .create_log_stream()
        .log_group_name(group)
        .log_stream_name(stream)
        .send()
        .await
        .expect("create stream");
}

async fn put(client: &Client, group: &str, stream: &str, events: Vec<InputLogEvent>) {
    client
        .put_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .set_log_events(Some(events))
        .send()
        .await
        .expect("put");
}

#[tokio::test]
async fn log_groups_are_created_described_and_deleted() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::dev(&tmp);
    let c = server.client();
    for name in ["app/b", "app/a", "web", "/aws/lambda/f"] {
        c.create_log_group()
            .log_group_name(name)
            .send()
            .await
            .unwrap();
    }
    let (code, msg) = error_of(c.create_log_group().log_group_name("web").send().await);
    assert_eq!(code, "ResourceAlreadyExistsException");
    assert_eq!(msg, "The specified log group already exists");

    let all = c.describe_log_groups().send().await.unwrap();
    let names: Vec<_> = all
        .log_groups()
        .iter()
        .map(|g| g.log_group_name().unwrap())
        .collect();
    assert_eq!(names, ["/aws/lambda/f", "app/a", "app/b", "web"]);
    let g = &all.log_groups()[1];
    assert_eq!(
        g.arn(),
        Some("arn:aws:logs:us-east-1:123456789012:log-group:app/a:*")
    );
    assert_eq!(
        g.log_group_arn(),
        Some("arn:aws:logs:us-east-1:123456789012:log-group:app/a")
    );
    assert_eq!(g.stored_bytes(), Some(0));
    assert_eq!(g.retention_in_days(), None);
    assert!(g.creation_time().unwrap() > now_ms() - 60_000);
    assert!(all.next_token().is_none());

    let prefixed = c
        .describe_log_groups()
        .log_group_name_prefix("app/")
        .send()
        .await
        .unwrap();
    assert_eq!(prefixed.log_groups().len(), 2);
    let pattern = c
        .describe_log_groups()
        .log_group_name_pattern("pp/")
        .send()
        .await
        .unwrap();
    assert_eq!(pattern.log_groups().len(), 2);
    let (code, msg) = error_of(
        c.describe_log_groups()
            .log_group_name_prefix("a")
            .log_group_name_pattern("b")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterException");
    assert_eq!(
        msg,
        "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters."
    );

    // Paging one at a time visits every group once, in order, and then stops.
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = c
            .describe_log_groups()
            .limit(1)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        seen.extend(
            page.log_groups()
                .iter()
                .map(|g| g.log_group_name().unwrap().to_string()),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen, ["/aws/lambda/f", "app/a", "app/b", "web"]);
    let (code, msg) = error_of(c.describe_log_groups().limit(51).send().await);
    assert_eq!(code, "InvalidParameterException");
    assert_eq!(
        msg,
        "1 validation error detected: Value '51' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50"
    );

    let listed = c
        .list_log_groups()
        .log_group_name_pattern("^app")
        .send()
        .await
        .unwrap();
    let names: Vec<_> = listed
        .log_groups()
        .iter()
        .map(|g| g.log_group_name().unwrap())
        .collect();
    assert_eq!(names, ["app/a", "app/b"]);

    c.delete_log_group()
        .log_group_name("web")
        .send()
        .await
        .unwrap();
    let (code, msg) = error_of(c.delete_log_group().log_group_name("web").send().await);
    assert_eq!(code, "ResourceNotFoundException");
    assert_eq!(msg, "The specified log group does not exist.");
}

#[tokio::test]
async fn group_names_are_validated_as_aws_does() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::dev(&tmp);
    let c = server.client();
    let (code, msg) = error_of(
        c.create_log_group()
            .log_group_name("x".repeat(513))
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterException");
    assert_eq!(
        msg,
        "Invalid LogGroup or LogStream, both must have length less than or equal to 512."
    );
    let (code, msg) = error_of(
        c.create_log_group()
            .log_group_name("bad name!")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterException");
    assert!(
        msg.contains("at 'logGroupName' failed to satisfy constraint"),
        "{msg}"
    );
    c.create_log_group()
        .log_group_name("x".repeat(512))
        .send()
        .await
        .unwrap();
    let (code, _) = error_of(
        c.create_log_stream()
            .log_group_name("nope")
            .log_stream_name("s")
            .send()
            .await,
    );
    assert_eq!(code, "ResourceNotFoundException");
    let (code, _) = error_of(
        c.create_log_group()
            .log_group_name("g")
            .log_group_class("FANCY".parse().unwrap())
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterException");
}

#[tokio::test]
async fn streams_are_described_in_name_or_event_time_order() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::dev(&tmp);
    let c = server.client();
    group_and_stream(&c, "g", "b-stream").await;
    for s in ["a-stream", "c-stream"] {
        c.create_log_stream()
            .log_group_name("g")
            .log_stream_name(s)
            .send()
            .await
            .unwrap();
    }
    let (code, msg) = error_of(
        c.create_log_stream()
            .log_group_name("g")
            .log_stream_name("a-stream")
            .send()
            .await,
    );
    assert_eq!(code, "ResourceAlreadyExistsException");
    assert_eq!(msg, "The specified log stream already exists");
    let now = now_ms();
    put(&c, "g", "c-stream", vec![event(now - 3000, "old")]).await;
    put(
        &c,
        "g",
        "a-stream",
        vec![event(now - 1000, "new"), event(now - 500, "newer")],
    )
    .await;

    let by_name = c
        .describe_log_streams()
        .log_group_name("g")
        .send()
        .await
        .unwrap();
    let names: Vec<_> = by_name
        .log_streams()
        .iter()
        .map(|s| s.log_stream_name().unwrap())
        .collect();
    assert_eq!(names, ["a-stream", "b-stream", "c-stream"]);
    let a = &by_name.log_streams()[0];
    assert_eq!(a.first_event_timestamp(), Some(now - 1000));
    assert_eq!(a.last_event_timestamp(), Some(now - 500));
    assert!(a.last_ingestion_time().unwrap() >= now);
    assert_eq!(
        a.arn(),
        Some("arn:aws:logs:us-east-1:123456789012:log-group:g:log-stream:a-stream")
    );
    let b = &by_name.log_streams()[1];
    assert_eq!(b.first_event_timestamp(), None);
    assert_eq!(b.stored_bytes(), Some(0));

    let by_time = c
        .describe_log_streams()
        .log_group_identifier("arn:aws:logs:us-east-1:123456789012:log-group:g")
        .order_by(OrderBy::LastEventTime)
        .descending(true)
        .send()
        .await
        .unwrap();
    let names: Vec<_> = by_time
        .log_streams()
        .iter()
        .map(|s| s.log_stream_name().unwrap())
        .collect();
    assert_eq!(names, ["a-stream", "c-stream", "b-stream"]);

    let (code, msg) = error_of(
        c.describe_log_streams()
            .log_group_name("g")
            .order_by(OrderBy::LastEventTime)
            .log_stream_name_prefix("a")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterException");
    assert_eq!(
        msg,
        "Cannot order by LastEventTime with a logStreamNamePrefix."
    );
    let (code, msg) = error_of(
        c.describe_log_streams()
            .log_group_name("g")
            .log_group_identifier("g")
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert_eq!(
        msg,
        "LogGroup name and LogGroup ARN are mutually exclusive parameters."
    );

    let paged = c
        .describe_log_streams()
        .log_group_name("g")
        .limit(2)
        .send()
        .await
        .unwrap();
    assert_eq!(paged.log_streams().len(), 2);
    let rest = c
        .describe_log_streams()
        .log_group_name("g")
        .limit(2)
        .next_token(paged.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.log_streams()[0].log_stream_name(), Some("c-stream"));
    assert!(rest.next_token().is_none());

    c.delete_log_stream()
        .log_group_name("g")
        .log_stream_name("a-stream")
        .send()
        .await
        .unwrap();
    let (code, msg) = error_of(
        c.get_log_events()
            .log_group_name("g")
            .log_stream_name("a-stream")
            .send()
            .await,
    );
    assert_eq!(code, "ResourceNotFoundException");
    assert_eq!(msg, "The specified log stream does not exist.");
    // A stream re-created under the same name starts empty.
    c.create_log_stream()
        .log_group_name("g")
        .log_stream_name("a-stream")
        .send()
        .await
        .unwrap();
    let events = c
        .get_log_events()
        .log_group_name("g")
        .log_stream_name("a-stream")
        .send()
        .await
        .unwrap();
    assert!(events.events().is_empty());
}

#[tokio::test]
async fn put_log_events_enforces_aws_limits() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::dev(&tmp);
    let c = server.client();
    group_and_stream(&c, "g", "s").await;
    let now = now_ms();
    let send = |events: Vec<InputLogEvent>| {
        c.put_log_events()
            .log_group_name("g")
            .log_stream_name("s")
            .set_log_events(Some(events))
            .send()
    };

    let (code, msg) = error_of(send(vec![event(now, "b"), event(now - 1, "a")]).await);
    assert_eq!(code, "InvalidParameterException");
    assert_eq!(
        msg,
        "Log events in a single PutLogEvents request must be in chronological order."
    );

    let (code, msg) = error_of(send(vec![event(now - 25 * 3_600_000, "a"), event(now, "b")]).await);
    assert_eq!(code, "InvalidParameterException");
    assert_eq!(
        msg,
        "The batch of log events in a single PutLogEvents request cannot span more than 24 hours."
    );

    let many: Vec<_> = (0..10_001).map(|i| event(now, &format!("m{i}"))).collect();
    let (code, msg) = error_of(send(many).await);
    assert_eq!(code, "InvalidParameterException");
    assert!(
        msg.contains("Member must have length less than or equal to 10000"),
        "{msg}"
    );

    // 1,048,576 bytes counting 26 per event: exactly at the limit passes, one more fails.
    let body = 1_048_576 - 2 * 26;
    let half = "x".repeat(body / 2);
    send(vec![event(now, &half), event(now, &half)])
        .await
        .expect("batch at the limit");
    let (code, msg) =
        error_of(send(vec![event(now, &half), event(now, &format!("{half}y"))]).await);
    assert_eq!(code, "InvalidParameterException");
    assert_eq!(
        msg,
        "Upload too large: 1048577 bytes exceeds limit of 1048576"
    );

    let (code, _) = error_of(send(vec![]).await);
    assert_eq!(code, "InvalidParameterException");

    let (code, msg) = error_of(
        c.put_log_events()
            .log_group_name("g")
            .log_stream_name("missing")
            .log_events(event(now, "a"))
            .send()
            .await,
    );
    assert_eq!(code, "ResourceNotFoundException");
    assert_eq!(msg, "The specified log stream does not exist.");
    let (code, msg) = error_of(
        c.put_log_events()
            .log_group_name("missing")
            .log_stream_name("s")
            .log_events(event(now, "a"))
            .send()
            .await,
    );
    assert_eq!(code, "ResourceNotFoundException");
    assert_eq!(msg, "The specified log group does not exist.");

    // Too old and too new events are rejected one by one; the rest are kept.
    let day = 86_400_000;
    let out = c
        .put_log_events()
        .log_group_name("g")
        .log_stream_name("s")
        .sequence_token("ignored")
        .set_log_events(Some(vec![
            event(now + 3 * 3_600_000 - day + 1, "kept-1"),
            event(now + 3 * 3_600_000 - day + 2, "kept-2"),
            event(now + 3 * 3_600_000, "too-new"),
        ]))
        .send()
        .await
        .unwrap();
    assert!(out.next_sequence_token().is_some());
    let info = out.rejected_log_events_info().expect("rejections");
    assert_eq!(info.too_new_log_event_start_index(), Some(2));
    assert_eq!(info.too_old_log_event_end_index(), None);
    let out = send(vec![
        event(now - 15 * day, "too-old"),
        event(now - 15 * day + 1, "too-old-2"),
    ])
    .await
    .unwrap();
    assert_eq!(
        out.rejected_log_events_info()
            .unwrap()
            .too_old_log_event_end_index(),
        Some(2)
    );

    c.put_retention_policy()
        .log_group_name("g")
        .retention_in_days(1)
        .send()
        .await
        .unwrap();
    let out = send(vec![
        event(now - day - 60_000, "expired"),
        event(now - 60_000, "fresh"),
    ])
    .await
    .unwrap();
    assert_eq!(
        out.rejected_log_events_info()
            .unwrap()
            .expired_log_event_end_index(),
        Some(1)
    );

    // The two halves fill a 1 MiB page on their own, so read every page.
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = c
            .get_log_events()
            .log_group_name("g")
            .log_stream_name("s")
            .start_from_head(true)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        all.extend(
            page.events()
                .iter()
                .map(|e| e.message().unwrap().to_string()),
        );
        let next = page.next_forward_token().map(str::to_string);
        if next == token {
            break;
        }
        token = next;
    }
    assert_eq!(all.len(), 5, "two halves, kept-1, kept-2, fresh");
    let texts: Vec<_> = all
        .iter()
        .map(String::as_str)
        .filter(|m| m.len() < 100)
        .collect();
    assert_eq!(texts, ["kept-1", "kept-2", "fresh"]);
}

#[tokio::test]
async fn get_log_events_pages_both_ways_and_repeats_tokens_at_the_end() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::dev(&tmp);
    let c = server.client();
    group_and_stream(&c, "g", "s").await;
    let base = now_ms() - 100_000;
    let events: Vec<_> = (0..25)
        .map(|i| event(base + i * 1000, &format!("e{i:02}")))
        .collect();
    put(&c, "g", "s", events).await;
    let get = || c.get_log_events().log_group_name("g").log_stream_name("s");

    // Default: the newest page, oldest first inside it.
    let newest = get().limit(10).send().await.unwrap();
    let texts: Vec<_> = newest
        .events()
        .iter()
        .map(|e| e.message().unwrap())
        .collect();
    assert_eq!(texts.first(), Some(&"e15"));
    assert_eq!(texts.last(), Some(&"e24"));
    let older = get()
        .limit(10)
        .next_token(newest.next_backward_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(older.events()[0].message(), Some("e05"));

    // Forward from the head until the token comes back unchanged.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = get()
            .start_from_head(true)
            .limit(7)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        seen.extend(
            page.events()
                .iter()
                .map(|e| e.message().unwrap().to_string()),
        );
        let next = page.next_forward_token().unwrap().to_string();
        if token.as_deref() == Some(next.as_str()) {
            assert!(page.events().is_empty());
            break;
        }
        token = Some(next);
    }
    assert_eq!(seen.len(), 25);
    assert_eq!(seen[0], "e00");
    assert_eq!(seen[24], "e24");

    // startTime inclusive, endTime exclusive.
    let window = get()
        .start_from_head(true)
        .start_time(base + 5000)
        .end_time(base + 8000)
        .send()
        .await
        .unwrap();
    let texts: Vec<_> = window
        .events()
        .iter()
        .map(|e| e.message().unwrap())
        .collect();
    assert_eq!(texts, ["e05", "e06", "e07"]);

    let (code, msg) = error_of(get().next_token("garbage").send().await);
    assert_eq!(code, "InvalidParameterException");
    assert_eq!(msg, "The specified nextToken is invalid.");
    let (code, msg) = error_of(get().limit(10_001).send().await);
    assert_eq!(code, "InvalidParameterException");
    assert_eq!(
        msg,
        "1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000"
    );
    let (code, msg) = error_of(
        c.get_log_events()
            .log_group_name("none")
            .log_stream_name("s")
            .send()
            .await,
    );
    assert_eq!(code, "ResourceNotFoundException");
    assert_eq!(msg, "The specified log group does not exist.");
}

#[tokio::test]
async fn filter_log_events_matches_every_pattern_kind_and_pages() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::dev(&tmp);
    let c = server.client();
    group_and_stream(&c, "g", "web-1").await;
    c.create_log_stream()
        .log_group_name("g")
        .log_stream_name("web-2")
        .send()
        .await
        .unwrap();
    c.create_log_stream()
        .log_group_name("g")
        .log_stream_name("db")
        .send()
        .await
        .unwrap();
    let t = now_ms() - 60_000;
    put(
        &c,
        "g",
        "web-1",
        vec![
            event(t, "[ERROR 400] BAD REQUEST"),
            event(t + 2, "[ERROR 500] INTERNAL SERVER ERROR"),
            event(t + 4, r#"{"level":"ERROR","latency":250,"user":{"id":7}}"#),
        ],
    )
    .await;
    put(
        &c,
        "g",
        "web-2",
        vec![
            event(t + 1, "[SUCCESS 200] AUTHORIZED REQUEST"),
            event(t + 3, r#"{"level":"INFO","latency":20,"user":null}"#),
            event(
                t + 5,
                r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /a.gif HTTP/1.0" 503 1534"#,
            ),
        ],
    )
    .await;
    put(
        &c,
        "g",
        "db",
        vec![event(t + 6, "[WARN] UNAUTHORIZED REQUEST")],
    )
    .await;

    let matches = |pattern: &'static str| {
        let c = c.clone();
        async move {
            c.filter_log_events()
                .log_group_name("g")
                .filter_pattern(pattern)
                .send()
                .await
                .unwrap()
                .events()
                .iter()
                .map(|e| e.message().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(matches("ERROR").await.len(), 3);
    assert_eq!(
        matches("\"INTERNAL SERVER ERROR\"").await,
        ["[ERROR 500] INTERNAL SERVER ERROR"]
    );
    assert_eq!(
        matches("ERROR -INTERNAL -level").await,
        ["[ERROR 400] BAD REQUEST"]
    );
    assert_eq!(matches("?SUCCESS ?WARN").await.len(), 2);
    assert_eq!(matches("%AUTHORIZED%").await.len(), 2);
    assert_eq!(
        matches("{ $.level = \"ERROR\" && $.latency > 100 }").await,
        [r#"{"level":"ERROR","latency":250,"user":{"id":7}}"#]
    );
    assert_eq!(matches("{ $.level = \"IN*\" }").await.len(), 1);
    assert_eq!(matches("{ $.user IS NULL }").await.len(), 1);
    assert_eq!(matches("{ $.missing NOT EXISTS }").await.len(), 2);
    assert_eq!(
        matches("[ip, id, user, ts, request, status = 5*, bytes]").await,
        [r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /a.gif HTTP/1.0" 503 1534"#]
    );
    assert_eq!(matches("[..., status = 503, bytes > 1000]").await.len(), 1);
    assert_eq!(matches("").await.len(), 7);

    let (code, msg) = error_of(
        c.filter_log_events()
            .log_group_name("g")
            .filter_pattern("(oops")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterException");
    assert_eq!(msg, "Invalid character(s) in term '('");

    // Streams by name and by prefix; both at once is refused.
    let by_names = c
        .filter_log_events()
        .log_group_name("g")
        .log_stream_names("db")
        .log_stream_names("web-2")
        .send()
        .await
        .unwrap();
    assert_eq!(by_names.events().len(), 4);
    let by_prefix = c
        .filter_log_events()
        .log_group_name("g")
        .log_stream_name_prefix("web")
        .send()
        .await
        .unwrap();
    assert_eq!(by_prefix.events().len(), 6);
    assert!(by_prefix.searched_log_streams().is_empty());
    let (code, _) = error_of(
        c.filter_log_events()
            .log_group_name("g")
            .log_stream_names("db")
            .log_stream_name_prefix("web")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterException");

    // Interleaved by time across streams, inclusive bounds, and paging by nextToken.
    let all = c
        .filter_log_events()
        .log_group_name("g")
        .start_time(t + 1)
        .end_time(t + 5)
        .interleaved(true)
        .send()
        .await
        .unwrap();
    let times: Vec<_> = all
        .events()
        .iter()
        .map(|e| e.timestamp().unwrap() - t)
        .collect();
    assert_eq!(times, [1, 2, 3, 4, 5]);
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = c
            .filter_log_events()
            .log_group_name("g")
            .limit(2)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        seen.extend(
            page.events()
                .iter()
                .map(|e| e.event_id().unwrap().to_string()),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 7);
    let unique: std::collections::HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), 7);
    // Newest first on request.
    let newest = c
        .filter_log_events()
        .log_group_name("g")
        .start_from_head(false)
        .limit(1)
        .send()
        .await
        .unwrap();
    assert_eq!(newest.events()[0].timestamp(), Some(t + 6));
}

#[tokio::test]
async fn retention_is_validated_reported_and_hides_old_events() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::dev(&tmp);
    let c = server.client();
    group_and_stream(&c, "g", "s").await;
    let day = 86_400_000;
    let now = now_ms();
    put(&c, "g", "s", vec![event(now - 4 * day, "four days old")]).await;
    put(&c, "g", "s", vec![event(now - 3 * day + 60_000, "three")]).await;
    put(&c, "g", "s", vec![event(now, "today")]).await;

    let (code, msg) = error_of(
        c.put_retention_policy()
            .log_group_name("g")
            .retention_in_days(2)
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterException");
    assert!(
        msg.starts_with("1 validation error detected: Value '2' at 'retentionInDays'"),
        "{msg}"
    );
    let (code, _) = error_of(
        c.put_retention_policy()
            .log_group_name("none")
            .retention_in_days(3)
            .send()
            .await,
    );
    assert_eq!(code, "ResourceNotFoundException");

    c.put_retention_policy()
        .log_group_name("g")
        .retention_in_days(3)
        .send()
        .await
        .unwrap();
    let g = c.describe_log_groups().send().await.unwrap();
    assert_eq!(g.log_groups()[0].retention_in_days(), Some(3));
    let visible = c
        .filter_log_events()
        .log_group_name("g")
        .send()
        .await
        .unwrap();
    let texts: Vec<_> = visible
        .events()
        .iter()
        .map(|e| e.message().unwrap())
        .collect();
    assert_eq!(texts, ["three", "today"]);

    c.delete_retention_policy()
        .log_group_name("g")
        .send()
        .await
        .unwrap();
    let g = c.describe_log_groups().send().await.unwrap();
    assert_eq!(g.log_groups()[0].retention_in_days(), None);
    let visible = c
        .filter_log_events()
        .log_group_name("g")
        .send()
        .await
        .unwrap();
    assert_eq!(visible.events().len(), 3);
}

#[tokio::test]
async fn tags_are_one_set_for_both_apis() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::dev(&tmp);
    let c = server.client();
    c.create_log_group()
        .log_group_name("g")
        .tags("team", "audit")
        .send()
        .await
        .unwrap();
    let arn = "arn:aws:logs:us-east-1:123456789012:log-group:g";
    c.tag_resource()
        .resource_arn(arn)
        .tags("env", "prod")
        .send()
        .await
        .unwrap();
    c.tag_log_group()
        .log_group_name("g")
        .tags("team", "sec")
        .send()
        .await
        .unwrap();
    let tags = c
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .unwrap();
    let expected: HashMap<String, String> = [
        ("env".to_string(), "prod".to_string()),
        ("team".to_string(), "sec".to_string()),
    ]
    .into();
    assert_eq!(tags.tags(), Some(&expected));
    c.untag_resource()
        .resource_arn(arn)
        .tag_keys("env")
        .send()
        .await
        .unwrap();
    #[allow(deprecated)]
    let old = c
        .list_tags_log_group()
        .log_group_name("g")
        .send()
        .await
        .unwrap();
    assert_eq!(old.tags().unwrap().len(), 1);
    #[allow(deprecated)]
    c.untag_log_group()
        .log_group_name("g")
        .tags("team")
        .send()
        .await
        .unwrap();
    let tags = c
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .unwrap();
    assert!(tags.tags().unwrap().is_empty());

    let mut too_many = c.tag_resource().resource_arn(arn);
    for i in 0..50 {
        too_many = too_many.tags(format!("k{i}"), "v");
    }
    too_many.send().await.unwrap();
    let (code, _) = error_of(
        c.tag_resource()
            .resource_arn(arn)
            .tags("one-more", "v")
            .send()
            .await,
    );
    assert_eq!(code, "TooManyTagsException");
    let (code, _) = error_of(
        c.list_tags_for_resource()
            .resource_arn("arn:aws:logs:us-east-1:123456789012:log-group:none")
            .send()
            .await,
    );
    assert_eq!(code, "ResourceNotFoundException");
}

#[tokio::test]
async fn state_is_partitioned_by_region() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::dev(&tmp);
    let east = server.client_in("us-east-1");
    let west = server.client_in("eu-west-1");
    east.create_log_group()
        .log_group_name("g")
        .send()
        .await
        .unwrap();
    west.create_log_group()
        .log_group_name("g")
        .send()
        .await
        .unwrap();
    west.create_log_group()
        .log_group_name("only-west")
        .send()
        .await
        .unwrap();
    let e = east.describe_log_groups().send().await.unwrap();
    let w = west.describe_log_groups().send().await.unwrap();
    assert_eq!(e.log_groups().len(), 1);
    assert_eq!(w.log_groups().len(), 2);
    assert_eq!(
        w.log_groups()[0].log_group_arn(),
        Some("arn:aws:logs:eu-west-1:123456789012:log-group:g")
    );
}

#[tokio::test]
async fn events_survive_a_restart_and_the_data_dir_is_locked() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), true, &[]);
    let c = server.client();
    group_and_stream(&c, "g", "s").await;
    let now = now_ms();
    put(
        &c,
        "g",
        "s",
        (0..100).map(|i| event(now + i, &format!("m{i}"))).collect(),
    )
    .await;

    // A second server on the same directory refuses to start.
    let second = std::process::Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .args(["serve", "--dev", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("in use by another Trailwatch process")
    );

    assert!(server.terminate().success(), "SIGTERM exits 0");
    let segments = walk(&tmp.path().join("segments"));
    assert!(
        segments.iter().any(|p| p.ends_with(".parquet")),
        "flushed on shutdown: {segments:?}"
    );

    let server = Server::start(tmp.path(), true, &[]);
    let c = server.client();
    put(&c, "g", "s", vec![event(now + 100, "after restart")]).await;
    let all = c
        .filter_log_events()
        .log_group_name("g")
        .send()
        .await
        .unwrap();
    assert_eq!(all.events().len(), 101);
    assert_eq!(all.events()[100].message(), Some("after restart"));
    let g = c.describe_log_groups().send().await.unwrap();
    assert!(g.log_groups()[0].stored_bytes().unwrap() > 0);
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    out
}
