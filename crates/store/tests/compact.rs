//! Compaction on a real directory: an hour flushed several times becomes one file, reads
//! answer the same, and a reader that listed the old files can still open them.

mod common;

use common::{events, files_under, scope};
use model::InputEvent;
use store::{NewGroup, Store, StoreOptions};

async fn put(store: &Store, batch: &[(i64, String)]) {
    let g = store.catalog().group(&scope(), "app").unwrap();
    let s = store.catalog().stream(g.id, "web").unwrap();
    let events = batch
        .iter()
        .map(|(t, m)| InputEvent {
            timestamp: *t,
            message: m.clone(),
        })
        .collect();
    store.put_events(&g, &s, events).await.unwrap();
}

async fn messages(store: &Store, group_id: i64) -> Vec<String> {
    events(store, group_id)
        .await
        .into_iter()
        .map(|(_, m)| m)
        .collect()
}

fn files(dir: &std::path::Path) -> usize {
    files_under(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .count()
}

#[tokio::test]
async fn an_hour_flushed_three_times_becomes_one_file_with_the_same_events() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(StoreOptions::new(tmp.path())).unwrap();
    let group = store
        .catalog()
        .create_group(&scope(), "app", 0, &NewGroup::default())
        .unwrap();
    store.catalog().create_stream(group, "web", 0).unwrap();
    // Three flushes into an hour that ended two hours ago, as a quiet group or a
    // backfill makes them.
    let hour = (model::time::now_ms() / 3_600_000 - 3) * 3_600_000;
    for flush in 0..3i64 {
        let events: Vec<(i64, String)> = (0..50)
            .map(|i| {
                (
                    hour + flush * 60_000 + i * 100,
                    format!("flush {flush} event {i}"),
                )
            })
            .collect();
        put(&store, &events).await;
        store.flush().await.unwrap();
    }
    let before = messages(&store, group).await;
    assert_eq!(before.len(), 150);
    assert_eq!(
        store
            .catalog()
            .segment_paths(store::Tier::Local)
            .unwrap()
            .len(),
        3
    );

    // A reader lists the three files just before compaction replaces them.
    let reader = store.snapshot(group, 0, i64::MAX).unwrap();
    assert_eq!(reader.segments.len(), 3);

    let report = store.compact().await.unwrap();
    assert_eq!((report.merged, report.written), (3, 1));
    assert_eq!(
        store
            .catalog()
            .segment_paths(store::Tier::Local)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(messages(&store, group).await, before);

    // The reader's files are still there for it...
    for s in &reader.segments {
        store.segment_bytes(s).await.unwrap();
    }
    store.enforce_retention().await.unwrap();
    assert_eq!(files(&tmp.path().join("segments")), 4);
    // ...and go once it is done.
    drop(reader);
    store.enforce_retention().await.unwrap();
    assert_eq!(files(&tmp.path().join("segments")), 1);

    // Nothing left to merge; the current hour is never touched.
    put(&store, &[(model::time::now_ms(), "now".to_string())]).await;
    store.flush().await.unwrap();
    put(&store, &[(model::time::now_ms(), "now again".to_string())]).await;
    store.flush().await.unwrap();
    assert_eq!(store.compact().await.unwrap().merged, 0);
    assert_eq!(messages(&store, group).await.len(), 152);

    // A restart keeps the compacted hour.
    store.shutdown().await.unwrap();
    drop(store);
    let store = Store::open(StoreOptions::new(tmp.path())).unwrap();
    assert_eq!(messages(&store, group).await.len(), 152);
}
