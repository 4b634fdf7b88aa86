//! External tables over files: CloudTrail trees (the real sample), JSON with Hive-style
//! partitions, kept in the catalog and pruned by partition predicates.

use model::Scope;
use query::engine::{QueryError, check_sql, create_external_table, run_sql};
use std::path::{Path, PathBuf};
use store::{Store, StoreOptions};

fn scope() -> Scope {
    Scope::new("123456789012", "us-east-1")
}

async fn sql(store: &Store, text: &str) -> Result<Vec<Vec<(String, String)>>, QueryError> {
    let tables = check_sql(store, &scope(), text)?;
    Ok(run_sql(store, &tables, text, 0, i64::MAX / 2, 10_000)
        .await?
        .rows)
}

/// A copy of the real `AWSLogs/` sample, or `None` without it.
fn trail_tree(dir: &Path) -> Option<PathBuf> {
    let sample =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/cloudtrail/AWSLogs");
    if !sample.is_dir() {
        eprintln!(
            "note: {} is absent; skipping the real-sample test",
            sample.display()
        );
        return None;
    }
    let root = dir.join("AWSLogs");
    for file in formats::cloudtrail::files(std::slice::from_ref(&sample)).unwrap() {
        let to = root.join(file.path.strip_prefix(&sample).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&file.path, to).unwrap();
    }
    Some(root)
}

#[tokio::test]
async fn the_lake_query_runs_verbatim_on_a_cloudtrail_tree() {
    let dir = tempfile::tempdir().unwrap();
    let Some(root) = trail_tree(dir.path()) else {
        return;
    };
    let store = Store::open(StoreOptions::new(dir.path().join("data"))).unwrap();
    let ddl = format!(
        "CREATE EXTERNAL TABLE cloudtrail_logs STORED AS CLOUDTRAIL LOCATION '{}'",
        root.display()
    );
    let table = create_external_table(&store, &scope(), &ddl)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (table.name.as_str(), table.format.as_str()),
        ("cloudtrail_logs", "CLOUDTRAIL")
    );
    // Not a statement of that kind: nothing is defined.
    assert!(
        create_external_table(&store, &scope(), "SELECT 1")
            .await
            .unwrap()
            .is_none()
    );

    let rows = sql(
        &store,
        "SELECT eventName, eventSource, userIdentity.userName, errorCode FROM cloudtrail_logs WHERE errorCode IS NOT NULL LIMIT 100;",
    )
    .await
    .unwrap();
    assert_eq!(rows.len(), 100);
    for row in &rows {
        let names: Vec<&str> = row.iter().map(|(k, _)| k.as_str()).collect();
        assert!(
            names.starts_with(&["eventName", "eventSource"]),
            "{names:?}"
        );
        assert!(names.contains(&"errorCode"), "{names:?}");
    }
    assert!(
        rows.iter()
            .any(|r| r.iter().any(|(k, v)| k == "userName" && !v.is_empty()))
    );

    // A broken file for another day: the day's predicate prunes it; without it, it is read.
    let broken = root.join("218007301253/CloudTrail/us-east-1/2023/07/11/broken.json.gz");
    std::fs::create_dir_all(broken.parent().unwrap()).unwrap();
    std::fs::write(broken, b"\x1f\x8b not really gzip").unwrap();
    let count = sql(
        &store,
        "SELECT count(*) AS n FROM cloudtrail_logs WHERE year = '2023' AND day = '10'",
    )
    .await
    .unwrap();
    assert_eq!(count, [vec![("n".to_string(), "2900".to_string())]]);
    assert!(
        sql(&store, "SELECT count(*) FROM cloudtrail_logs")
            .await
            .is_err()
    );
    let errors = sql(
        &store,
        "SELECT errorCode, count(*) AS n FROM cloudtrail_logs WHERE day = '10' AND errorCode = 'AccessDenied' GROUP BY errorCode",
    )
    .await
    .unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");

    // The definition outlives the process.
    drop(store);
    let store = Store::open(StoreOptions::new(dir.path().join("data"))).unwrap();
    let rows = sql(
        &store,
        "SELECT DISTINCT account, region FROM cloudtrail_logs WHERE month = '07' AND day = '10'",
    )
    .await
    .unwrap();
    assert_eq!(
        rows,
        [vec![
            ("account".to_string(), "218007301253".to_string()),
            ("region".to_string(), "us-east-1".to_string())
        ]]
    );
}

#[tokio::test]
async fn json_tables_with_hive_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("events");
    for (day, lines) in [
        ("01", "{\"a\":1,\"b\":\"x\"}\n{\"a\":2,\"b\":\"y\"}\n"),
        ("02", "{\"a\":3,\"b\":\"z\"}\n"),
    ] {
        let file = data.join(format!("year=2024/day={day}/part.json"));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, lines).unwrap();
    }
    let store = Store::open(StoreOptions::new(dir.path().join("data"))).unwrap();
    let ddl = format!(
        "CREATE EXTERNAL TABLE events STORED AS JSON PARTITIONED BY (year, day) LOCATION '{}/'",
        data.display()
    );
    create_external_table(&store, &scope(), &ddl)
        .await
        .unwrap()
        .unwrap();
    let rows = sql(
        &store,
        "SELECT day, sum(a) AS total FROM events WHERE year = '2024' GROUP BY day ORDER BY day",
    )
    .await
    .unwrap();
    assert_eq!(
        rows,
        [
            vec![
                ("day".to_string(), "01".to_string()),
                ("total".to_string(), "3".to_string())
            ],
            vec![
                ("day".to_string(), "02".to_string()),
                ("total".to_string(), "3".to_string())
            ],
        ]
    );
    let bad = create_external_table(
        &store,
        &scope(),
        "CREATE EXTERNAL TABLE x STORED AS AVRO LOCATION '/tmp'",
    )
    .await;
    assert!(matches!(bad, Err(QueryError::Malformed(_))), "{bad:?}");
    assert!(matches!(
        sql(&store, "SELECT * FROM nowhere").await,
        Err(QueryError::UnknownGroup(_))
    ));
}

#[tokio::test]
async fn line_formats_as_tables_with_awslogs_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let day = |d: &str| {
        dir.path().join(format!(
            "AWSLogs/123456789012/vpcflowlogs/us-east-1/2021/03/{d}"
        ))
    };
    for d in ["25", "26"] {
        std::fs::create_dir_all(day(d)).unwrap();
    }
    // The S3 header names a layout in its own order; the table maps fields by name.
    std::fs::write(
        day("25").join("a.log"),
        "version start account-id action bytes\n2 1616630400 123456789012 ACCEPT 100\n2 1616630460 123456789012 REJECT -\nnot a record\n",
    )
    .unwrap();
    std::fs::write(
        day("26").join("b.log"),
        "2 123456789012 eni-1 10.0.0.1 10.0.0.2 1000 22 6 5 500 1616716800 1616716860 ACCEPT OK\n",
    )
    .unwrap();
    let store = Store::open(StoreOptions::new(dir.path().join("data"))).unwrap();
    let ddl = format!(
        "CREATE EXTERNAL TABLE flows STORED AS VPC_FLOW LOCATION '{}'",
        dir.path().join("AWSLogs").display()
    );
    create_external_table(&store, &scope(), &ddl)
        .await
        .unwrap()
        .unwrap();
    let rows = sql(
        &store,
        "SELECT day, action, sum(bytes) AS b, count(*) AS n, min(startTime) AS s FROM flows GROUP BY day, action ORDER BY day, action",
    )
    .await
    .unwrap();
    let flat: Vec<String> = rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect();
    assert_eq!(
        flat,
        [
            "25|ACCEPT|100|1|1616630400",
            "25|REJECT|1|1616630460",
            "26|ACCEPT|500|1|1616716800"
        ]
    );
    let rows = sql(
        &store,
        "SELECT count(*) AS n FROM flows WHERE day = '26' AND region = 'us-east-1'",
    )
    .await
    .unwrap();
    assert_eq!(rows, [vec![("n".to_string(), "1".to_string())]]);

    // A custom layout in OPTIONS; columns come from it.
    let custom = dir.path().join("custom");
    std::fs::create_dir_all(&custom).unwrap();
    std::fs::write(custom.join("c.log"), "5 vpc-1 S3 1616716800\n").unwrap();
    let ddl = format!(
        "CREATE EXTERNAL TABLE custom STORED AS VPC_FLOW LOCATION '{}' OPTIONS ('format' '${{version}} ${{vpc-id}} ${{pkt-dst-aws-service}} ${{start}}')",
        custom.display()
    );
    create_external_table(&store, &scope(), &ddl)
        .await
        .unwrap()
        .unwrap();
    let rows = sql(&store, "SELECT vpcId, pktDstAwsService FROM custom")
        .await
        .unwrap();
    assert_eq!(
        rows,
        [vec![
            ("vpcId".to_string(), "vpc-1".to_string()),
            ("pktDstAwsService".to_string(), "S3".to_string())
        ]]
    );

    let Some(s3) =
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/s3access"))
            .filter(|p| p.is_dir())
    else {
        return;
    };
    let ddl = format!(
        "CREATE EXTERNAL TABLE s3 STORED AS S3_ACCESS LOCATION '{}'",
        s3.display()
    );
    create_external_table(&store, &scope(), &ddl)
        .await
        .unwrap()
        .unwrap();
    let rows = sql(&store, "SELECT count(*) AS n, max(httpstatus) AS s, min(requestdatetime) AS t FROM s3 WHERE operation = 'REST.PUT.OBJECT'").await.unwrap();
    assert_eq!(
        rows,
        [vec![
            ("n".to_string(), "24".to_string()),
            ("s".to_string(), "200".to_string()),
            ("t".to_string(), "2021-12-13 09:29:20.000".to_string())
        ]]
    );
}

#[tokio::test]
async fn crawling_infers_nested_types_widened_across_files_and_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("people");
    let write = |part: &str, text: &str| {
        let file = data.join(part);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    };
    write(
        "year=2024/month=01/a.json",
        "{\"id\":1,\"actor\":{\"name\":\"a\",\"tags\":[\"x\"]},\"score\":1}\n{\"id\":2,\"actor\":{\"name\":\"b\"},\"score\":2}\n",
    );
    write(
        "year=2024/month=02/b.json",
        "{\"id\":3,\"actor\":{\"name\":\"c\",\"age\":30},\"score\":2.5,\"extra\":\"new\"}\n",
    );
    let store = Store::open(StoreOptions::new(dir.path().join("data"))).unwrap();
    let (statement, columns) = query::engine::crawl(&store, &scope(), &data, "people")
        .await
        .unwrap();
    assert!(
        statement.contains("STORED AS JSON PARTITIONED BY (year, month)"),
        "{statement}"
    );
    let types: Vec<String> = columns.iter().map(|(n, t)| format!("{n}: {t}")).collect();
    assert!(types.contains(&"score: Float64".to_string()), "{types:?}");
    assert!(
        types.iter().any(|t| t.starts_with("actor: Struct(")
            && t.contains("List(")
            && t.contains("\"age\": Int64")),
        "{types:?}"
    );
    assert!(
        types.contains(&"month: Utf8View".to_string())
            || types.contains(&"month: Utf8".to_string()),
        "{types:?}"
    );
    let rows = sql(
        &store,
        "SELECT id, actor.name, score FROM people WHERE month = '02'",
    )
    .await
    .unwrap();
    let flat: Vec<&str> = rows[0].iter().map(|(_, v)| v.as_str()).collect();
    assert_eq!(flat, ["3", "c", "2.5"]);

    // A CloudTrail tree is recognised by its `Records` documents.
    let Some(root) = trail_tree(dir.path()) else {
        return;
    };
    let (statement, columns) = query::engine::crawl(&store, &scope(), &root, "trail")
        .await
        .unwrap();
    assert!(statement.contains("STORED AS CLOUDTRAIL"), "{statement}");
    assert!(columns.iter().any(|(n, _)| n == "useridentity"));
}
