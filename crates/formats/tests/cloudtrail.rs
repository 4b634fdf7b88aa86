//! CloudTrail files in every shape real exports take, on the real samples and on small
//! files written here for the edge cases.

mod common;

use formats::Error;
use formats::cloudtrail::{self, Records};
use formats::walk::ByteCounter;
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;

fn read_str(text: &str) -> Vec<Result<Value, Error>> {
    Records::new(text.as_bytes(), PathBuf::from("t.json")).collect()
}

fn read_paths(paths: &[PathBuf]) -> (usize, Vec<Value>, Vec<Error>) {
    let files = cloudtrail::files(paths).unwrap();
    let counter = ByteCounter::default();
    let (mut ok, mut bad) = (Vec::new(), Vec::new());
    for file in &files {
        for item in cloudtrail::open(&file.path, &counter).unwrap() {
            match item {
                Ok(record) => ok.push(record),
                Err(e) => bad.push(e),
            }
        }
    }
    assert_eq!(counter.get(), files.iter().map(|f| f.size).sum::<u64>());
    (files.len(), ok, bad)
}

#[test]
fn awslogs_tree_of_gzipped_record_files() {
    let Some(root) = common::shared("cloudtrail/AWSLogs") else {
        return;
    };
    let (files, records, errors) = read_paths(&[root]);
    assert_eq!(files, 55);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(records.len(), 2900);
    let mut versions: Vec<&str> = records
        .iter()
        .map(|r| r["eventVersion"].as_str().unwrap())
        .collect();
    versions.sort();
    versions.dedup();
    assert_eq!(versions, ["1.08", "1.09"]);
    assert!(
        records
            .iter()
            .all(|r| cloudtrail::event_time_ms(r).is_some())
    );
}

#[test]
fn records_document_bare_arrays_and_one_per_line() {
    let Some(samples) = common::shared("cloudtrail/samples") else {
        return;
    };
    let (_, lake, errors) = read_paths(&[samples.join("opensearch-catalog")]);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(lake.len(), 840);
    let (files, stratus, errors) = read_paths(&[samples.join("stratus-red-team")]);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!((files, stratus.len()), (35, 310));
    let (_, shipped, errors) = read_paths(&[samples.join("otrf-security-datasets")]);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(shipped.len(), 103);
    // The shipper moved eventTime to @timestamp.
    assert!(
        shipped
            .iter()
            .all(|r| cloudtrail::event_time_ms(r).is_some())
    );
}

#[test]
fn every_event_version_and_unknown_fields_pass_through() {
    let text = r#"{"Records":[
        {"eventVersion":"1.0","eventTime":"2014-01-01T00:00:00Z","eventName":"A"},
        {"eventVersion":"1.11","eventTime":"2026-05-21T17:55:00Z","eventName":"B",
         "eventContext":{"tagContext":{}},"someFutureField":[1,{"x":"]}\"["}]}
    ]}"#;
    let records: Vec<Value> = read_str(text).into_iter().map(Result::unwrap).collect();
    assert_eq!(records.len(), 2);
    assert_eq!(records[1]["someFutureField"][1]["x"], "]}\"[");
    assert_eq!(
        cloudtrail::event_time_ms(&records[0]),
        Some(1_388_534_400_000)
    );
}

#[test]
fn a_malformed_record_is_reported_with_its_line_and_reading_goes_on() {
    let text = "{\"Records\":[\n{\"eventName\":\"A\"},\n{\"eventName\":tru},\n\"text\",\n{\"eventName\":\"C\"}\n]}";
    let items = read_str(text);
    assert_eq!(items.len(), 4);
    assert_eq!(items[0].as_ref().unwrap()["eventName"], "A");
    match &items[1] {
        Err(Error::Malformed { line, path, .. }) => {
            assert_eq!((*line, path.to_str()), (3, Some("t.json")));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(items[2], Err(Error::Malformed { line: 4, .. })));
    assert_eq!(items[3].as_ref().unwrap()["eventName"], "C");
}

#[test]
fn one_record_per_line_with_a_bad_line() {
    let items = read_str("{\"a\":1}\n\n{\"b\":2}\nnot json\n{\"Records\":[{\"c\":3}]}\n");
    let lines: Vec<String> = items
        .iter()
        .map(|i| match i {
            Ok(v) => v.to_string(),
            Err(Error::Malformed { line, .. }) => format!("bad@{line}"),
            Err(e) => panic!("{e}"),
        })
        .collect();
    // "not json" is two bare words: each is refused, on line 4.
    assert_eq!(
        lines,
        ["{\"a\":1}", "{\"b\":2}", "bad@4", "bad@4", "{\"c\":3}"]
    );
}

#[test]
fn a_truncated_file_ends_with_an_error_not_silence() {
    let items = read_str("{\"Records\":[{\"a\":1},{\"b\":");
    assert_eq!(items.len(), 2);
    assert!(items[0].is_ok());
    assert!(matches!(items[1], Err(Error::Malformed { line: 1, .. })));
    let items = read_str("{\"Records\":[{\"a\":1}");
    assert!(matches!(items.last(), Some(Err(Error::Malformed { .. }))));
}

#[test]
fn digest_files_are_skipped_under_directories_and_gzip_is_told_by_content() {
    let dir = tempfile::tempdir().unwrap();
    let trail = dir.path().join("AWSLogs/1/CloudTrail/us-east-1/2024/01/02");
    let digest = dir
        .path()
        .join("AWSLogs/1/CloudTrail-Digest/us-east-1/2024/01/02");
    std::fs::create_dir_all(&trail).unwrap();
    std::fs::create_dir_all(&digest).unwrap();
    let gz = |path: PathBuf, text: &str| {
        let mut e = flate2::write::GzEncoder::new(
            std::fs::File::create(path).unwrap(),
            flate2::Compression::fast(),
        );
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap();
    };
    gz(trail.join("b.json.gz"), r#"{"Records":[{"n":2}]}"#);
    std::fs::write(trail.join("a.json"), r#"{"Records":[{"n":1}]}"#).unwrap();
    // A gzip file without the .gz name still reads, when named explicitly.
    gz(dir.path().join("renamed.json"), r#"[{"n":3}]"#);
    std::fs::write(trail.join("notes.txt"), "x").unwrap();
    gz(digest.join("d.json.gz"), r#"{"digestEndTime":"x"}"#);

    let files = cloudtrail::files(&[dir.path().join("AWSLogs")]).unwrap();
    let names: Vec<_> = files
        .iter()
        .map(|f| f.path.file_name().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["a.json", "b.json.gz"]);
    let (_, records, errors) =
        read_paths(&[dir.path().join("AWSLogs"), dir.path().join("renamed.json")]);
    assert!(errors.is_empty());
    let n: Vec<i64> = records.iter().map(|r| r["n"].as_i64().unwrap()).collect();
    assert_eq!(n, [1, 2, 3]);
}

#[test]
fn a_missing_path_is_an_io_error_naming_it() {
    let err = cloudtrail::files(&[PathBuf::from("/nonexistent/AWSLogs")]).unwrap_err();
    assert!(
        err.to_string().starts_with("/nonexistent/AWSLogs: "),
        "{err}"
    );
    assert!(!err.is_malformed());
}

#[test]
fn raw_records_keep_key_order_without_formatting() {
    let text = "[\n  {\n    \"z\": \"a b\",\n    \"a\": [1, 2]\n  },\n  {\"m\":\"\\\" ]\"}\n]";
    let mut records = Records::new(text.as_bytes(), PathBuf::from("t.json"));
    let first = records.next_record().unwrap().unwrap();
    assert_eq!(
        (first.line, first.json.as_str()),
        (2, r#"{"z":"a b","a":[1,2]}"#)
    );
    let second = records.next_record().unwrap().unwrap();
    assert_eq!((second.line, second.json.as_str()), (6, r#"{"m":"\" ]"}"#));
    assert_eq!(second.value["m"], "\" ]");
    assert!(records.next_record().is_none());
}
