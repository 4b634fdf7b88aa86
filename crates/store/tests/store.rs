//! The store on a real directory: durability, replay, flushes, reads across segments.

use model::{InputEvent, Scope};
use std::io::Write;
use store::{Cursor, Direction, NewGroup, ReadRequest, Store, StoreOptions};

fn scope() -> Scope {
    Scope::new("123456789012", "us-east-1")
}

fn open(dir: &std::path::Path) -> Store {
    Store::open(StoreOptions::new(dir)).expect("open store")
}

async fn put(store: &Store, group: &str, stream: &str, events: &[(i64, &str)]) {
    let g = store.catalog().group(&scope(), group).unwrap();
    let s = store.catalog().stream(g.id, stream).unwrap();
    let events = events
        .iter()
        .map(|(t, m)| InputEvent {
            timestamp: *t,
            message: m.to_string(),
        })
        .collect();
    store.put_events(&g, &s, events).await.unwrap();
}

fn setup(store: &Store, group: &str, streams: &[&str]) -> i64 {
    let id = store
        .catalog()
        .create_group(&scope(), group, 0, &NewGroup::default())
        .unwrap();
    for s in streams {
        store.catalog().create_stream(id, s, 0).unwrap();
    }
    id
}

async fn read_all(store: &Store, group_id: i64, direction: Direction, limit: usize) -> Vec<String> {
    let streams = store.catalog().live_stream_ids(group_id).unwrap();
    let mut after = match direction {
        Direction::Forward => Cursor::START,
        Direction::Backward => Cursor::END,
    };
    let mut out = Vec::new();
    loop {
        let page = store
            .read(
                ReadRequest {
                    group_id,
                    streams: streams.clone(),
                    from: 0,
                    to: i64::MAX,
                    direction,
                    after,
                    pattern: None,
                    limit,
                    max_bytes: 1 << 20,
                },
                None,
            )
            .await
            .unwrap();
        if let Some(last) = page.events.last() {
            after = Cursor::of(last);
        }
        out.extend(page.events.iter().map(|e| e.message.clone()));
        if !page.more {
            return out;
        }
    }
}

const HOUR: i64 = 3_600_000;

#[tokio::test]
async fn unflushed_events_are_replayed_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let group_id;
    {
        let store = open(dir.path());
        group_id = setup(&store, "g", &["s"]);
        put(&store, "g", "s", &[(1000, "a"), (2000, "b")]).await;
        put(&store, "g", "s", &[(1500, "c")]).await;
        // Dropped without shutdown: nothing was flushed.
    }
    let store = open(dir.path());
    assert_eq!(
        read_all(&store, group_id, Direction::Forward, 10).await,
        ["a", "c", "b"]
    );
    // New writes continue the sequence, never reusing a number.
    put(&store, "g", "s", &[(1500, "d")]).await;
    assert_eq!(
        read_all(&store, group_id, Direction::Forward, 10).await,
        ["a", "c", "d", "b"]
    );
}

#[tokio::test]
async fn a_torn_wal_tail_is_cut_off_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let group_id;
    {
        let store = open(dir.path());
        group_id = setup(&store, "g", &["s"]);
        put(&store, "g", "s", &[(1000, "kept")]).await;
    }
    let wal = std::fs::read_dir(dir.path().join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .max()
        .unwrap();
    let before = std::fs::metadata(&wal).unwrap().len();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&wal)
        .unwrap()
        .write_all(&[0x40, 0, 0, 0, 1, 2, 3, 4, 5])
        .unwrap();
    let store = open(dir.path());
    assert_eq!(
        read_all(&store, group_id, Direction::Forward, 10).await,
        ["kept"]
    );
    assert_eq!(
        std::fs::metadata(&wal).unwrap().len(),
        before,
        "tail truncated"
    );
}

#[tokio::test]
async fn reads_merge_segments_and_memtables_in_order_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let group_id = setup(&store, "g", &["s1", "s2"]);
    // Three hours of data over two flushes, interleaved across streams.
    let mut expected = Vec::new();
    for round in 0..3 {
        for hour in 0..3 {
            let t = hour * HOUR + round * 10;
            let a = format!("h{hour}-r{round}-s1");
            let b = format!("h{hour}-r{round}-s2");
            put(&store, "g", "s1", &[(t, &a)]).await;
            put(&store, "g", "s2", &[(t + 1, &b)]).await;
            expected.push((t, a));
            expected.push((t + 1, b));
        }
        if round < 2 {
            store.flush().await.unwrap();
        }
    }
    expected.sort();
    let forward: Vec<String> = expected.iter().map(|(_, m)| m.clone()).collect();
    let mut backward = forward.clone();
    backward.reverse();
    for limit in [1, 4, 100] {
        assert_eq!(
            read_all(&store, group_id, Direction::Forward, limit).await,
            forward
        );
        assert_eq!(
            read_all(&store, group_id, Direction::Backward, limit).await,
            backward
        );
    }
    let segments = store.catalog().segments(group_id, 0, i64::MAX).unwrap();
    assert_eq!(segments.len(), 6, "two flushes × three hours");
    assert!(segments.iter().all(|s| s.rows == 2));

    // After a restart everything still reads the same.
    store.shutdown().await.unwrap();
    drop(store);
    let store = open(dir.path());
    assert_eq!(
        read_all(&store, group_id, Direction::Forward, 7).await,
        forward
    );
}

#[tokio::test]
async fn deleting_a_group_removes_its_segments_and_pending_events() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    setup(&store, "g", &["s"]);
    put(&store, "g", "s", &[(1000, "flushed")]).await;
    store.flush().await.unwrap();
    put(&store, "g", "s", &[(2000, "pending")]).await;
    store.delete_group(&scope(), "g").await.unwrap();
    let group_id = setup(&store, "g", &["s"]);
    assert!(
        read_all(&store, group_id, Direction::Forward, 10)
            .await
            .is_empty()
    );
    let parquet_files = walk(&dir.path().join("segments"));
    assert!(parquet_files.is_empty(), "{parquet_files:?}");
    // Nor do they come back from the WAL.
    drop(store);
    let store = open(dir.path());
    assert!(
        read_all(&store, group_id, Direction::Forward, 10)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn retention_deletes_wholly_expired_segments() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let group_id = setup(&store, "g", &["s"]);
    let now = model::time::now_ms();
    put(&store, "g", "s", &[(now - 10 * 86_400_000, "old")]).await;
    put(&store, "g", "s", &[(now, "new")]).await;
    store.flush().await.unwrap();
    assert_eq!(
        store
            .catalog()
            .segments(group_id, 0, i64::MAX)
            .unwrap()
            .len(),
        2
    );
    assert_eq!(store.enforce_retention().await.unwrap(), 0, "no policy yet");
    store.catalog().set_retention(group_id, Some(7)).unwrap();
    assert_eq!(store.enforce_retention().await.unwrap(), 1);
    assert_eq!(
        read_all(&store, group_id, Direction::Forward, 10).await,
        ["new"]
    );
    assert_eq!(walk(&dir.path().join("segments")).len(), 1);
}

#[tokio::test]
async fn a_second_store_cannot_open_the_same_directory() {
    let dir = tempfile::tempdir().unwrap();
    let _first = open(dir.path());
    match Store::open(StoreOptions::new(dir.path())) {
        Err(store::StoreError::Locked(_)) => {}
        other => panic!("expected Locked, got {:?}", other.map(|_| ())),
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test]
async fn segments_no_flush_committed_are_removed_on_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        setup(&store, "g", &["s"]);
        put(&store, "g", "s", &[(1000, "a")]).await;
        store.flush().await.unwrap();
    }
    let stray = dir
        .path()
        .join("segments/account=1/region=r/group=9/hour=x/stray.parquet");
    std::fs::create_dir_all(stray.parent().unwrap()).unwrap();
    std::fs::write(&stray, b"half a segment").unwrap();
    let store = open(dir.path());
    assert!(!stray.exists());
    let g = store.catalog().group(&scope(), "g").unwrap();
    assert_eq!(read_all(&store, g.id, Direction::Forward, 10).await, ["a"]);
}

#[tokio::test]
async fn import_manifest_matches_content_or_path_and_goes_with_its_group() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let id = setup(&store, "imported", &["s"]);
    let file = store::ImportedFile {
        sha256: "ab".repeat(32),
        path: "/logs/a.log.gz".into(),
        size: 10,
        modified: 1_000,
        stream: "s".into(),
        events: 3,
        imported_at: 2_000,
    };
    let catalog = store.catalog();
    assert_eq!(
        catalog
            .imported_file(id, None, &file.path, 10, 1_000)
            .unwrap(),
        None
    );
    catalog.record_imported_file(id, &file).unwrap();
    // Same path, size and time; or the same content under another name.
    assert_eq!(
        catalog
            .imported_file(id, None, &file.path, 10, 1_000)
            .unwrap(),
        Some(file.clone())
    );
    let copy = catalog
        .imported_file(id, Some(&file.sha256), "/elsewhere", 10, 5)
        .unwrap();
    assert_eq!(copy, Some(file.clone()));
    // A changed file is not the one imported.
    assert_eq!(
        catalog
            .imported_file(id, Some("00"), &file.path, 11, 1_000)
            .unwrap(),
        None
    );
    drop(store);
    let store = open(dir.path());
    assert!(
        store
            .catalog()
            .imported_file(id, Some(&file.sha256), "", 0, 0)
            .unwrap()
            .is_some()
    );
    store.delete_group(&scope(), "imported").await.unwrap();
    assert_eq!(
        store
            .catalog()
            .imported_file(id, Some(&file.sha256), "", 0, 0)
            .unwrap(),
        None
    );
}
