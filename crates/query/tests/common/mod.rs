//! What the engine's tests share: running a query with both plans, and rows to compare.
#![allow(dead_code)]

use query::engine::{Parallelism, QueryOutput, QueryRequest, run, run_with};
use store::Store;

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
