//! The line formats on the real samples in `shared/data` and on lines written here for
//! the edge cases AWS documents.

mod common;

use formats::walk::{self, ByteCounter};
use formats::{Error, Field, FieldType, Format, LineParser, LineReader, Record, Value};
use std::borrow::Cow;
use std::path::Path;

/// Every line of `path` read as `format`: the records' (line, timestamp) and the errors.
fn read(format: Format, path: &Path) -> (Vec<(u64, Option<i64>)>, Vec<Error>) {
    let reader = walk::open(path, &ByteCounter::default()).unwrap();
    let mut lines = LineReader::new(reader, format.line_parser().unwrap(), path);
    let (mut ok, mut bad) = (Vec::new(), Vec::new());
    while let Some(line) = lines.next_line() {
        match line {
            Ok(line) => {
                if let Some(record) = line.record {
                    ok.push((line.number, record.timestamp_ms));
                }
            }
            Err(e) => bad.push(e),
        }
    }
    (ok, bad)
}

fn parse_one(format: Format, line: &str) -> Result<Option<Record<'_>>, String> {
    format.line_parser().unwrap().parse(line)
}

/// The value of field `name` in `record`, by the parser's schema.
fn get<'r>(schema: &[Field], record: &'r Record, name: &str) -> &'r Value<'r> {
    let i = schema
        .iter()
        .position(|f| f.name == name)
        .unwrap_or_else(|| panic!("{name}"));
    &record.values[i]
}

fn s(text: &str) -> Value<'_> {
    Value::Str(Cow::Borrowed(text))
}

#[test]
fn vpc_samples_with_and_without_header() {
    let Some(dir) = common::shared("vpcflow") else {
        return;
    };
    let (records, errors) = read(Format::VpcFlow, &dir.join("raw.log"));
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(records.len(), 775);
    assert!(
        records
            .iter()
            .all(|(_, t)| t.is_some_and(|t| t > 1_600_000_000_000))
    );
    let (records, errors) = read(Format::VpcFlow, &dir.join("vpcflow.log"));
    assert!(errors.is_empty(), "{errors:?}");
    // The header line is no record: data starts on line 2.
    assert_eq!(records.len(), 17);
    assert_eq!(records[0], (2, Some(1_651_646_498_000)));
}

#[test]
fn vpc_custom_v5_format_and_a_header_that_reorders_fields() {
    use formats::vpc::VpcParser;
    let format = "${version} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${start} ${end} ${type} ${packets} ${bytes} ${account-id} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${region} ${az-id} ${sublocation-type} ${sublocation-id} ${action} ${tcp-flags} ${pkt-srcaddr} ${pkt-dstaddr} ${pkt-src-aws-service} ${pkt-dst-aws-service} ${traffic-path} ${flow-direction} ${log-status}";
    let mut parser = VpcParser::from_format(format).unwrap();
    let line = "5 10.0.0.71 52.95.128.179 34210 80 6 1616729292 1616729349 IPv4 7 471 123456789012 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-0c50d5961bcb2d47b eni-1235b8ca123456789 ap-southeast-2 apse2-az3 - - ACCEPT 3 10.0.0.71 52.95.128.179 - S3 8 egress OK";
    let record = parser.parse(line).unwrap().unwrap();
    let schema = parser.schema().to_vec();
    assert_eq!(record.timestamp_ms, Some(1_616_729_292_000));
    assert_eq!(get(&schema, &record, "pktDstAwsService"), &s("S3"));
    assert_eq!(get(&schema, &record, "pktSrcAwsService"), &Value::Null);
    assert_eq!(get(&schema, &record, "trafficPath"), &Value::Int(8));
    assert_eq!(get(&schema, &record, "tcpFlags"), &Value::Int(3));
    assert_eq!(get(&schema, &record, "flowDirection"), &s("egress"));
    assert_eq!(get(&schema, &record, "sublocationType"), &Value::Null);
    // Fields newer than this crate knows keep their own (camel-cased) names, as text.
    let parser = VpcParser::from_format("${version} ${ecs-cluster-name} ${start}").unwrap();
    assert_eq!(parser.schema()[1].name, "ecsClusterName");
    assert!(VpcParser::from_format("version start").is_err());

    let mut parser = VpcParser::default();
    assert_eq!(
        parser.parse("version start srcaddr ecs-task-id").unwrap(),
        None
    );
    let record = parser.parse("3 1616729292 10.0.0.1 abc").unwrap().unwrap();
    assert_eq!(record.timestamp_ms, Some(1_616_729_292_000));
    assert_eq!(parser.schema()[2].name, "srcAddr");
}

#[test]
fn vpc_nodata_and_malformed_lines() {
    let nodata =
        "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA";
    let record = parse_one(Format::VpcFlow, nodata).unwrap().unwrap();
    assert_eq!(record.values[3], Value::Null);
    assert_eq!(record.values[13], s("NODATA"));
    let err = parse_one(Format::VpcFlow, "2 123 eni-1 1.2.3.4").unwrap_err();
    assert!(err.contains("4 fields where the format has 14"), "{err}");
    let err = parse_one(Format::VpcFlow, &nodata.replace("1431280876", "soon")).unwrap_err();
    assert!(err.contains("startTime"), "{err}");
}

/// Flow-log lines built from random values read back to the same values.
#[test]
fn vpc_round_trip_property() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..2_000 {
        let fields: Vec<String> = (0..14)
            .map(|i| match (i, next() % 5) {
                (3..=9, 0) => "-".to_string(),
                (0, _) => "2".to_string(),
                (5..=11, _) => (next() % 4_000_000_000).to_string(),
                (_, _) => format!("x{}", next() % 1000),
            })
            .collect();
        let line = fields.join(" ");
        let record = parse_one(Format::VpcFlow, &line).unwrap().unwrap();
        for (token, value) in fields.iter().zip(&record.values) {
            let back = match value {
                Value::Null => "-".to_string(),
                Value::Int(n) => n.to_string(),
                Value::Str(t) => t.to_string(),
                other => panic!("{other:?}"),
            };
            assert_eq!(&back, token, "{line}");
        }
        assert_eq!(
            record.timestamp_ms,
            Some(fields[10].parse::<i64>().unwrap() * 1000)
        );
    }
}

#[test]
fn s3_access_samples_and_the_documented_example() {
    let Some(dir) = common::shared("s3access") else {
        return;
    };
    for (name, count) in [("raw.log", 18), ("s3.log", 6)] {
        let (records, errors) = read(Format::S3Access, &dir.join(name));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(records.len(), count, "{name}");
    }
    let example = r#"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be DOC-EXAMPLE-BUCKET1 [06/Feb/2019:00:00:38 +0000] 192.0.2.3 79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be 3E57427F3EXAMPLE REST.GET.VERSIONING - "GET /DOC-EXAMPLE-BUCKET1?versioning HTTP/1.1" 200 - 113 - 7 - "-" "S3Console/0.4" - s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader DOC-EXAMPLE-BUCKET1.s3.us-west-1.amazonaws.com TLSV1.2 arn:aws:s3:us-west-1:123456789012:accesspoint/example-AP Yes"#;
    let schema = &formats::s3::FIELDS;
    let record = parse_one(Format::S3Access, example).unwrap().unwrap();
    assert_eq!(record.timestamp_ms, Some(1_549_411_238_000));
    assert_eq!(
        get(schema, &record, "request_uri"),
        &s("GET /DOC-EXAMPLE-BUCKET1?versioning HTTP/1.1")
    );
    assert_eq!(get(schema, &record, "httpstatus"), &Value::Int(200));
    assert_eq!(get(schema, &record, "bytessent"), &Value::Int(113));
    assert_eq!(get(schema, &record, "objectsize"), &Value::Null);
    assert_eq!(get(schema, &record, "referrer"), &Value::Null);
    assert_eq!(get(schema, &record, "useragent"), &s("S3Console/0.4"));
    assert_eq!(get(schema, &record, "aclrequired"), &s("Yes"));
    // A field AWS appends later is tolerated; a time in another zone is converted.
    let later = format!("{} us-west-1", example.replace("+0000", "+0100"));
    let record = parse_one(Format::S3Access, &later).unwrap().unwrap();
    assert_eq!(record.timestamp_ms, Some(1_549_411_238_000 - 3_600_000));
    let err = parse_one(
        Format::S3Access,
        &example.replace("[06/Feb/2019", "[06/Fob/2019"),
    )
    .unwrap_err();
    assert!(err.contains("requestdatetime"), "{err}");
    let err = parse_one(
        Format::S3Access,
        &example.replace("\"S3Console/0.4\" - ", "\"S3Console/0.4 - "),
    )
    .unwrap_err();
    assert!(err.contains("unterminated"), "{err}");
}

#[test]
fn alb_sample() {
    let Some(path) = common::shared("alb/raw.log") else {
        return;
    };
    let (records, errors) = read(Format::Alb, &path);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(records.len(), 63);
    let text = std::fs::read_to_string(&path).unwrap();
    let first = text.lines().next().unwrap();
    let schema = &formats::alb::FIELDS;
    let record = parse_one(Format::Alb, first).unwrap().unwrap();
    assert_eq!(record.timestamp_ms, Some(1_656_996_470_273));
    assert_eq!(get(schema, &record, "client_ip"), &s("20.78.123.34"));
    assert_eq!(get(schema, &record, "client_port"), &Value::Int(65301));
    assert_eq!(get(schema, &record, "request_verb"), &s("GET"));
    assert_eq!(get(schema, &record, "request_proto"), &s("HTTP/1.1"));
    assert_eq!(get(schema, &record, "elb_status_code"), &Value::Int(404));
    assert_eq!(
        get(schema, &record, "target_processing_time"),
        &Value::Float(0.0)
    );
    assert_eq!(get(schema, &record, "actions_executed"), &s("forward"));
    assert_eq!(
        get(schema, &record, "target_port_list"),
        &s("192.168.84.111:80")
    );
    assert_eq!(get(schema, &record, "conn_trace_id"), &Value::Null);
}

#[test]
fn route53_resolver_query_log() {
    let line = r#"{"version":"1.100000","account_id":"123456789012","region":"us-east-1","vpc_id":"vpc-0123","query_timestamp":"2021-02-04T17:51:55Z","query_name":"example.com.","query_type":"A","query_class":"IN","rcode":"NOERROR","answers":[{"Rdata":"93.184.216.34","Type":"A","Class":"IN"}],"srcaddr":"10.0.0.5","srcport":"49809","transport":"UDP","srcids":{"instance":"i-0123"},"new_field":1}"#;
    let record = parse_one(Format::Route53Resolver, line).unwrap().unwrap();
    let schema = &formats::route53::FIELDS;
    assert_eq!(record.timestamp_ms, Some(1_612_461_115_000));
    assert_eq!(get(schema, &record, "srcport"), &Value::Int(49809));
    assert_eq!(get(schema, &record, "query_name"), &s("example.com."));
    assert!(
        matches!(get(schema, &record, "answers"), Value::Json(a) if a[0]["Rdata"] == "93.184.216.34")
    );
    assert_eq!(get(schema, &record, "firewall_rule_action"), &Value::Null);
    assert!(parse_one(Format::Route53Resolver, "{\"query_name\":\"x\"}").is_err());
    assert!(parse_one(Format::Route53Resolver, "[1]").is_err());
}

#[test]
fn lambda_platform_and_runtime_lines() {
    let Some(dir) = common::shared("lambda") else {
        return;
    };
    let schema = &formats::lambda::FIELDS;
    let mut reports = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let payload: serde_json::Value =
            serde_json::from_slice(&std::fs::read(entry.unwrap().path()).unwrap()).unwrap();
        for event in payload["logEvents"].as_array().unwrap() {
            let message = event["message"].as_str().unwrap();
            let record = parse_one(Format::Lambda, message).unwrap().unwrap();
            if message.starts_with("REPORT") {
                reports += 1;
                assert!(matches!(get(schema, &record, "@duration"), Value::Float(d) if *d > 0.0));
                assert!(matches!(
                    get(schema, &record, "@memorySize"),
                    Value::Int(128..)
                ));
                let id = get(schema, &record, "@requestId");
                assert!(matches!(id, Value::Str(id) if id.len() == 36), "{id:?}");
            }
        }
    }
    assert_eq!(reports, 3);
    let report = "REPORT RequestId: 8f5e7a2b-1c3d-4e5f-8a9b-0c1d2e3f4a5b\tDuration: 102.25 ms\tBilled Duration: 103 ms\tMemory Size: 128 MB\tMax Memory Used: 70 MB\tInit Duration: 150.05 ms\t\nXRAY TraceId: 1-5e1b4151-5ac6c58f5b5daa6532e4ca9b\tSegmentId: 07ecc2a2b8e3b3b5\tSampled: true";
    let record = parse_one(Format::Lambda, report).unwrap().unwrap();
    assert_eq!(record.timestamp_ms, None);
    assert_eq!(get(schema, &record, "@type"), &s("REPORT"));
    assert_eq!(
        get(schema, &record, "@billedDuration"),
        &Value::Float(103.0)
    );
    assert_eq!(get(schema, &record, "@maxMemoryUsed"), &Value::Int(70));
    assert_eq!(get(schema, &record, "@initDuration"), &Value::Float(150.05));
    assert_eq!(
        get(schema, &record, "@xrayTraceId"),
        &s("1-5e1b4151-5ac6c58f5b5daa6532e4ca9b")
    );
    assert_eq!(
        get(schema, &record, "@xraySegmentId"),
        &s("07ecc2a2b8e3b3b5")
    );
    let node = "2024-01-02T03:04:05.678Z\tabc-123\tINFO\thello\tworld";
    let record = parse_one(Format::Lambda, node).unwrap().unwrap();
    assert_eq!(record.timestamp_ms, Some(1_704_164_645_678));
    assert_eq!(get(schema, &record, "level"), &s("INFO"));
    assert_eq!(get(schema, &record, "message"), &s("hello\tworld"));
    let python = "[ERROR]\t2024-01-02T03:04:05.678Z\tabc-123\tboom";
    let record = parse_one(Format::Lambda, python).unwrap().unwrap();
    assert_eq!(
        (
            get(schema, &record, "level"),
            get(schema, &record, "@requestId")
        ),
        (&s("ERROR"), &s("abc-123"))
    );
    let plain = parse_one(Format::Lambda, "just text").unwrap().unwrap();
    assert_eq!(get(schema, &plain, "message"), &s("just text"));
}

#[test]
fn json_and_text_lines() {
    let record = parse_one(
        Format::Json,
        r#"{"level":"info","timestamp":"2024-01-02T03:04:05Z"}"#,
    )
    .unwrap()
    .unwrap();
    assert_eq!(record.timestamp_ms, Some(1_704_164_645_000));
    let record = parse_one(Format::Json, r#"{"ts":1704164645123}"#)
        .unwrap()
        .unwrap();
    assert_eq!(record.timestamp_ms, Some(1_704_164_645_123));
    assert!(parse_one(Format::Json, "not json").is_err());
    let record = parse_one(Format::Text, "2024-01-02T03:04:05Z started")
        .unwrap()
        .unwrap();
    assert_eq!(record.timestamp_ms, Some(1_704_164_645_000));
    assert_eq!(
        parse_one(Format::Text, "no time here")
            .unwrap()
            .unwrap()
            .timestamp_ms,
        None
    );
}

#[test]
fn malformed_lines_carry_file_and_line_and_reading_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flows.log.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::fast(),
    );
    let good = "2 1 eni-1 - - - - - - - 1431280876 1431280934 - NODATA";
    let mut bytes = format!("{good}\r\n\ngarbage\n{good}\n").into_bytes();
    bytes.extend_from_slice(b"\xff\n");
    std::io::Write::write_all(&mut gz, &bytes).unwrap();
    gz.finish().unwrap();
    let (records, errors) = read(Format::VpcFlow, &path);
    assert_eq!(records.iter().map(|r| r.0).collect::<Vec<_>>(), [1, 4]);
    let places: Vec<String> = errors
        .iter()
        .map(|e| match e {
            Error::Malformed { path, line, .. } => {
                format!("{}:{line}", path.file_name().unwrap().to_string_lossy())
            }
            other => panic!("{other}"),
        })
        .collect();
    assert_eq!(places, ["flows.log.gz:3", "flows.log.gz:5"]);
}

#[test]
fn format_names_and_schemas() {
    for format in Format::ALL {
        assert_eq!(Format::from_name(format.name()), Some(format));
    }
    assert_eq!(Format::from_name("vpc"), Some(Format::VpcFlow));
    assert_eq!(Format::from_name("nope"), None);
    assert!(Format::CloudTrail.line_parser().is_none());
    let vpc = Format::VpcFlow.line_parser().unwrap();
    assert_eq!(vpc.schema().len(), 14);
    assert_eq!(vpc.schema()[10], Field::new("startTime", FieldType::Int));
    assert!(Format::S3Access.wants(Path::new("logs/2023-01-31-09-25-21-ABCDEF")));
    assert!(!Format::S3Access.wants(Path::new("logs/.hidden")));
}
