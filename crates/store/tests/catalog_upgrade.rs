//! A catalog written by an older Trailwatch opens and reads as it did.

mod common;

use common::scope;
use store::Catalog;

#[test]
fn query_definitions_saved_before_languages_and_parameters_read_as_insights_queries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.sqlite");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE query_definitions (
                 id TEXT PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL,
                 name TEXT NOT NULL, query_string TEXT NOT NULL,
                 log_group_names TEXT NOT NULL, last_modified INTEGER NOT NULL);
             INSERT INTO query_definitions VALUES
                 ('d1', '123456789012', 'us-east-1', 'errors', 'filter level = \"ERROR\"', 'app', 7);",
        )
        .unwrap();
    }
    let catalog = Catalog::open(&path).unwrap();
    let defs = catalog.query_definitions(&scope(), "").unwrap();
    assert_eq!(defs.len(), 1);
    assert_eq!(defs[0].query_language, "CWLI");
    assert!(defs[0].parameters.is_empty());
    assert_eq!(defs[0].log_group_names, ["app"]);
}
