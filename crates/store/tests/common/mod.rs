//! What the store's tests share: the scope they write in, reading a group back, and
//! listing the files a directory holds.
#![allow(dead_code)]

use model::Scope;
use std::path::{Path, PathBuf};
use store::{Cursor, Direction, ReadRequest, Store};

/// The account and region every test writes in.
pub fn scope() -> Scope {
    Scope::new("123456789012", "us-east-1")
}

/// Every file under `dir`, sorted; none if it does not exist.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A group's events (up to 10,000), oldest first, as (timestamp, message).
pub async fn events(store: &Store, group_id: i64) -> Vec<(i64, String)> {
    let streams = store.catalog().live_stream_ids(group_id).unwrap();
    let page = store
        .read(
            ReadRequest {
                group_id,
                streams,
                from: 0,
                to: i64::MAX,
                direction: Direction::Forward,
                after: Cursor::START,
                pattern: None,
                limit: 10_000,
                max_bytes: 64 << 20,
            },
            None,
        )
        .await
        .unwrap();
    page.events
        .into_iter()
        .map(|e| (e.timestamp, e.message))
        .collect()
}
