//! What the engine's tests share: running a query with both plans, and rows to compare.
#![allow(dead_code)]

use model::{InputEvent, Scope};
use query::engine::{Parallelism, QueryOutput, QueryRequest, run, run_with};
use store::{NewGroup, Store, StoreOptions};

/// Runs `request` planned both ways — one partition, as small scans are, and one per
/// core, as large ones are — checks that they agree, and returns the answer.
pub async fn both_plans(store: &Store, request: QueryRequest<'_>) -> QueryOutput {
    let text = request.text;
    let small = run(store, request)
        .await
        .unwrap_or_else(|e| panic!("{text}: {e}"));
    let parallel = run_with(store, request, Parallelism::PerCore)
        .await
        .unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(small.rows, parallel.rows, "{text}: plans disagree");
    small
}

/// The rows of `request` (see [`both_plans`]) without `@ptr`, whose values depend on
/// ingest order.
pub async fn rows_of(store: &Store, request: QueryRequest<'_>) -> Vec<Vec<(String, String)>> {
    both_plans(store, request)
        .await
        .rows
        .into_iter()
        .map(|r| r.into_iter().filter(|(k, _)| k != "@ptr").collect())
        .collect()
}

/// A row as the engine returns it, from `(field, value)` pairs.
pub fn row(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A store in `dir` with one empty group named `name`.
pub fn new_group(dir: &std::path::Path, name: &str) -> (Store, store::GroupRow) {
    let store = Store::open(StoreOptions::new(dir)).unwrap();
    let scope = Scope::new("123456789012", "us-east-1");
    store
        .catalog()
        .create_group(&scope, name, 0, &NewGroup::default())
        .unwrap();
    let group = store.catalog().group(&scope, name).unwrap();
    (store, group)
}

/// A store with one group `g` holding `events` in one stream `s`.
pub async fn group_of(dir: &std::path::Path, events: Vec<InputEvent>) -> (Store, store::GroupRow) {
    let (store, group) = new_group(dir, "g");
    store.catalog().create_stream(group.id, "s", 0).unwrap();
    let stream = store.catalog().stream(group.id, "s").unwrap();
    store.put_events(&group, &stream, events).await.unwrap();
    (store, group)
}
