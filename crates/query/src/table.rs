//! Log groups as one DataFusion table for the duration of a query.
//!
//! A scan is a snapshot of the store: each segment overlapping the query's time range is
//! one partition (so segments decode in parallel), and the unflushed rows are one more.
//! Segment row groups outside the range are skipped by their statistics; deleted streams
//! and out-of-range rows are dropped before DataFusion sees them.

use datafusion::arrow::array::{
    Array, ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::streaming::StreamingTable;
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use futures::StreamExt;
use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use store::{GroupRow, SegmentRow, Store, segment};

/// System field: event time.
pub const TIMESTAMP: &str = "@timestamp";
/// System field: when the event was accepted.
pub const INGESTION_TIME: &str = "@ingestionTime";
/// System field: the stream's name.
pub const LOG_STREAM: &str = "@logStream";
/// System field: `account-id:log-group-name`.
pub const LOG: &str = "@log";
/// System field: the event text.
pub const MESSAGE: &str = "@message";
/// Hidden column: the event's sequence number, half of `@ptr`.
pub const SEQ: &str = "@seq";
/// Hidden column: the group's catalog id, the other half of `@ptr`.
pub const GROUP_ID: &str = "@groupId";

/// The columns every log-group table has.
pub static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let ts = DataType::Timestamp(TimeUnit::Millisecond, None);
    Arc::new(Schema::new(vec![
        Field::new(TIMESTAMP, ts.clone(), false),
        Field::new(INGESTION_TIME, ts, false),
        Field::new(LOG_STREAM, DataType::Utf8, false),
        Field::new(LOG, DataType::Utf8, false),
        Field::new(MESSAGE, DataType::Utf8, false),
        Field::new(SEQ, DataType::Int64, false),
        Field::new(GROUP_ID, DataType::Int64, false),
    ]))
});

/// Segment files one scan reads at a time: enough to keep both cores decoding.
const SEGMENT_READERS: usize = 4;

/// What a scan read, for GetQueryResults' statistics.
#[derive(Debug, Default)]
pub struct ScanCounters {
    /// Events read (inside the time range, in live streams).
    pub records: AtomicU64,
    /// Message bytes of those events.
    pub bytes: AtomicU64,
}

/// One group's part of a scan, shared by its partitions.
struct GroupScan {
    store: Store,
    group_id: i64,
    log: Arc<str>,
    live: HashSet<i64>,
    from: i64,
    to: i64,
    counters: Arc<ScanCounters>,
    /// Segments being read at once, shared by every group of the scan: DataFusion may
    /// poll all partitions together, and memory must not grow with the segment count.
    readers: Arc<tokio::sync::Semaphore>,
}

impl GroupScan {
    /// Turns a segment-schema batch into a table batch, keeping only visible rows.
    fn convert(&self, batch: &RecordBatch) -> Result<RecordBatch, DataFusionError> {
        let batch = segment::visible(batch, self.from, self.to, &self.live)
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .cloned()
                .ok_or_else(|| DataFusionError::Internal(format!("segment has no {name}")))
        };
        let millis = |name: &str| -> Result<ArrayRef, DataFusionError> {
            let values = column(name)?;
            let ints = values
                .as_any()
                .downcast_ref::<Int64Array>()
                .ok_or_else(|| DataFusionError::Internal(format!("{name} is not Int64")))?;
            Ok(Arc::new(TimestampMillisecondArray::new(
                ints.values().clone(),
                None,
            )))
        };
        let messages = column("message")?;
        let rows = batch.num_rows();
        if let Some(m) = messages.as_any().downcast_ref::<StringArray>() {
            self.counters
                .bytes
                .fetch_add(m.values().len() as u64, Ordering::Relaxed);
        }
        self.counters
            .records
            .fetch_add(rows as u64, Ordering::Relaxed);
        let columns: Vec<ArrayRef> = vec![
            millis("timestamp")?,
            millis("ingestion_time")?,
            cast(&column("stream")?, &DataType::Utf8)?,
            Arc::new(StringArray::from(vec![&*self.log; rows])),
            messages,
            cast(&column("seq")?, &DataType::Int64)?,
            Arc::new(Int64Array::from(vec![self.group_id; rows])),
        ];
        Ok(RecordBatch::try_new(SCHEMA.clone(), columns)?)
    }
}

/// The unflushed rows of one group.
struct MemPartition {
    scan: Arc<GroupScan>,
    batch: RecordBatch,
}

/// One segment file of one group.
struct SegmentPartition {
    scan: Arc<GroupScan>,
    segment: SegmentRow,
}

impl fmt::Debug for MemPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MemPartition(group {})", self.scan.group_id)
    }
}

impl fmt::Debug for SegmentPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SegmentPartition({})", self.segment.path)
    }
}

impl PartitionStream for MemPartition {
    fn schema(&self) -> &SchemaRef {
        &SCHEMA
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let converted = self.scan.convert(&self.batch);
        Box::pin(RecordBatchStreamAdapter::new(
            SCHEMA.clone(),
            futures::stream::once(async move { converted }),
        ))
    }
}

impl PartitionStream for SegmentPartition {
    fn schema(&self) -> &SchemaRef {
        &SCHEMA
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let scan = self.scan.clone();
        let segment = self.segment.clone();
        // Decoding runs on a blocking thread and hands batches over a short channel, so a
        // large segment is never held decoded in memory at once.
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<RecordBatch, DataFusionError>>(2);
        tokio::spawn(async move {
            let Ok(_reading) = scan.readers.clone().acquire_owned().await else {
                return;
            };
            let data = match scan.store.segment_bytes(&segment).await {
                Ok(d) => d,
                Err(e) => {
                    let _ = tx.send(Err(DataFusionError::External(Box::new(e)))).await;
                    return;
                }
            };
            let _ = tokio::task::spawn_blocking(move || {
                let reader = match segment::reader(data, scan.from, scan.to, None) {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = tx.blocking_send(Err(DataFusionError::External(Box::new(e))));
                        return;
                    }
                };
                for batch in reader {
                    let converted = batch
                        .map_err(|e| DataFusionError::ArrowError(Box::new(e), None))
                        .and_then(|b| scan.convert(&b));
                    if tx.blocking_send(converted).is_err() {
                        return;
                    }
                }
            })
            .await;
        });
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        Box::pin(RecordBatchStreamAdapter::new(
            SCHEMA.clone(),
            stream.boxed(),
        ))
    }
}

/// A table over `groups` between `from` and `to` (epoch ms, inclusive), and the counters
/// its scan fills.
pub fn log_table(
    store: &Store,
    groups: &[GroupRow],
    from: i64,
    to: i64,
) -> Result<(StreamingTable, Arc<ScanCounters>), DataFusionError> {
    let counters = Arc::new(ScanCounters::default());
    let readers = Arc::new(tokio::sync::Semaphore::new(SEGMENT_READERS));
    let mut partitions: Vec<Arc<dyn PartitionStream>> = Vec::new();
    let external = |e: store::StoreError| DataFusionError::External(Box::new(e));
    for group in groups {
        let live = store
            .catalog()
            .streams(group.id)
            .map_err(external)?
            .into_iter()
            .map(|s| s.id)
            .collect();
        let cutoff = group
            .retention_days
            .map(|d| model::time::now_ms() - i64::from(d) * model::time::DAY_MS);
        let scan = Arc::new(GroupScan {
            store: store.clone(),
            group_id: group.id,
            log: Arc::from(format!("{}:{}", group.scope.account, group.name)),
            live,
            from: cutoff.map_or(from, |c| from.max(c)),
            to,
            counters: counters.clone(),
            readers: readers.clone(),
        });
        let snapshot = store.snapshot(group.id, scan.from, to).map_err(external)?;
        for segment in snapshot.segments {
            partitions.push(Arc::new(SegmentPartition {
                scan: scan.clone(),
                segment,
            }));
        }
        partitions.push(Arc::new(MemPartition {
            scan,
            batch: snapshot.memtable,
        }));
    }
    Ok((
        StreamingTable::try_new(SCHEMA.clone(), partitions)?,
        counters,
    ))
}
