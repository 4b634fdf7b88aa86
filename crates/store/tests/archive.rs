//! The archive on real directories: Hive layout, the catalog swap, orphans, reopening.

mod common;

use common::{events as read_all, files_under, scope};
use model::{InputEvent, time};
use store::{LifecyclePolicy, NewGroup, Store, StoreOptions, Tier};

const GROUP: &str = "/aws/app#1";
const GROUP_DIR: &str = "account=123456789012/region=us-east-1/log_group=%2Faws%2Fapp%231";

#[tokio::test]
async fn archives_old_hours_in_hive_layout_and_reads_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreOptions::new(dir.path())).unwrap();
    let group_id = store
        .catalog()
        .create_group(&scope(), GROUP, 0, &NewGroup::default())
        .unwrap();
    let group = store.catalog().group(&scope(), GROUP).unwrap();
    let now = time::now_ms();
    // Midnight, so that the three hours after it share one date.
    let old = (now - 10 * time::DAY_MS).div_euclid(time::DAY_MS) * time::DAY_MS;
    for (name, offset) in [("a", 0), ("b", 7)] {
        store.catalog().create_stream(group_id, name, 0).unwrap();
        let stream = store.catalog().stream(group_id, name).unwrap();
        // Three old hours, two flushes each (so an hour has two segments), and one
        // recent event that must stay local.
        for flush in 0..2 {
            let events: Vec<InputEvent> = (0..3)
                .map(|h| InputEvent {
                    timestamp: old + h * time::HOUR_MS + offset + flush * 1000,
                    message: format!("{name} hour {h} flush {flush}"),
                })
                .collect();
            store.put_events(&group, &stream, events).await.unwrap();
            store.flush().await.unwrap();
        }
        let recent = vec![InputEvent {
            timestamp: now - 1000 + offset,
            message: format!("{name} recent"),
        }];
        store.put_events(&group, &stream, recent).await.unwrap();
    }
    store.flush().await.unwrap();
    let before = read_all(&store, group_id).await;
    assert_eq!(before.len(), 14);

    // No policy, no pass.
    assert!(store.run_archive(None).await.unwrap().files.is_empty());
    store
        .catalog()
        .put_lifecycle(
            group_id,
            &LifecyclePolicy {
                archive_after_days: 7,
                delete_after_days: None,
            },
        )
        .unwrap();
    // An upload of a pass that died before its commit.
    let orphan_dir = dir
        .path()
        .join("archive")
        .join(GROUP_DIR)
        .join("date=2000-01-01/hour=00");
    std::fs::create_dir_all(&orphan_dir).unwrap();
    std::fs::write(orphan_dir.join("0-dead.parquet"), b"not committed").unwrap();

    let report = store.run_archive(None).await.unwrap();
    assert_eq!(report.orphans_removed, 1);
    assert_eq!(report.files.len(), 3);
    assert!(report.files.iter().all(|h| h.segments == 4 && h.rows == 4));

    let archived = files_under(&dir.path().join("archive"));
    assert_eq!(archived.len(), 3, "{archived:?}");
    let date = time::to_datetime(old)
        .unwrap()
        .format("date=%Y-%m-%d")
        .to_string();
    for f in &archived {
        let rel = f
            .strip_prefix(dir.path().join("archive"))
            .unwrap()
            .to_str()
            .unwrap();
        assert!(
            rel.starts_with(&format!("{GROUP_DIR}/{date}/hour=")),
            "{rel}"
        );
        assert!(rel.ends_with(".parquet"));
    }
    // Only the recent hour's segments stay local.
    let local = store.catalog().tier_summary(group_id, Tier::Local).unwrap();
    assert_eq!(local.rows, 2);
    assert_eq!(
        files_under(&dir.path().join("segments")).len() as i64,
        local.files
    );
    assert_eq!(read_all(&store, group_id).await, before);

    // A second pass has nothing left to do.
    let again = store.run_archive(None).await.unwrap();
    assert!(again.files.is_empty() && again.orphans_removed == 0);

    store.shutdown().await.unwrap();
    drop(store);
    let store = Store::open(StoreOptions::new(dir.path())).unwrap();
    assert_eq!(read_all(&store, group_id).await, before);

    // Another location than the one the files were written to is refused.
    store.shutdown().await.unwrap();
    drop(store);
    let mut elsewhere = StoreOptions::new(dir.path());
    elsewhere.archive_location = Some(dir.path().join("other").display().to_string());
    assert!(Store::open(elsewhere).is_err());
    let store = Store::open(StoreOptions::new(dir.path())).unwrap();

    // Deleting after 9 days removes every archived object and keeps the recent events.
    store
        .catalog()
        .put_lifecycle(
            group_id,
            &LifecyclePolicy {
                archive_after_days: 7,
                delete_after_days: Some(9),
            },
        )
        .unwrap();
    assert_eq!(store.enforce_retention().await.unwrap(), 3);
    assert!(files_under(&dir.path().join("archive")).is_empty());
    let left: Vec<String> = read_all(&store, group_id)
        .await
        .into_iter()
        .map(|e| e.1)
        .collect();
    assert_eq!(left, vec!["a recent".to_string(), "b recent".to_string()]);
}

#[tokio::test]
async fn an_hour_larger_than_one_archived_file_becomes_several() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = StoreOptions::new(dir.path());
    // Every segment file is over this, so each becomes an archived file of its own.
    opts.archive_file_bytes = 1;
    let store = Store::open(opts).unwrap();
    let group_id = store
        .catalog()
        .create_group(&scope(), GROUP, 0, &NewGroup::default())
        .unwrap();
    let group = store.catalog().group(&scope(), GROUP).unwrap();
    store.catalog().create_stream(group_id, "s", 0).unwrap();
    let stream = store.catalog().stream(group_id, "s").unwrap();
    let hour = time::hour_floor(time::now_ms() - 10 * time::DAY_MS);
    for flush in 0..3 {
        let events = (0..5)
            .map(|i| InputEvent {
                timestamp: hour + i * 60_000 + flush,
                message: format!("flush {flush} event {i}"),
            })
            .collect();
        store.put_events(&group, &stream, events).await.unwrap();
        store.flush().await.unwrap();
    }
    let before = read_all(&store, group_id).await;
    assert_eq!(before.len(), 15);
    store
        .catalog()
        .put_lifecycle(
            group_id,
            &LifecyclePolicy {
                archive_after_days: 7,
                delete_after_days: None,
            },
        )
        .unwrap();

    let report = store.run_archive(None).await.unwrap();
    assert_eq!(report.files.len(), 3, "{report:?}");
    assert!(report.files.iter().all(|f| f.hour == hour && f.rows == 5));
    assert_eq!(files_under(&dir.path().join("archive")).len(), 3);
    assert!(files_under(&dir.path().join("segments")).is_empty());
    assert_eq!(read_all(&store, group_id).await, before);
}
