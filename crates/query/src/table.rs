//! Log groups as one DataFusion table for the duration of a query.
//!
//! A scan is a snapshot of the store: the segments overlapping the query's time range
//! and the unflushed rows, read newest first by a few partitions in parallel.
//! Segment row groups outside the range (or of streams a `@logStream` filter excludes)
//! are skipped by their statistics; only the columns the query uses are decoded;
//! deleted streams and out-of-range rows are dropped before DataFusion sees them; and
//! partitions a TopK threshold has overtaken are not read at all.

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Int64Array, RecordBatch, RecordBatchOptions, StringArray,
    TimestampMillisecondArray, UInt64Array,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{Column, ScalarValue};
use datafusion::config::ConfigOptions;
use datafusion::datasource::TableType;
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::expr::{BinaryExpr, InList};
use datafusion::logical_expr::{Expr, Operator, TableProviderFilterPushDown};
use datafusion::physical_expr::{EquivalenceProperties, Partitioning, PhysicalExpr, conjunction};
use datafusion::physical_optimizer::pruning::{PruningPredicateBuilder, PruningStatistics};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::filter_pushdown::{
    ChildPushdownResult, FilterPushdownPhase, FilterPushdownPropagation, PushedDown,
};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use futures::{StreamExt, TryStreamExt};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use store::{GroupRow, ReadPin, SegmentRow, Store, segment};

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

/// Partitions of a scan, each reading one file at a time, and so the most segment files
/// a scan holds in memory at once: two per core, so that while one waits for its next
/// file's bytes another decodes (four per core measured no faster).
static SEGMENT_READERS: LazyLock<usize> =
    LazyLock::new(|| 2 * std::thread::available_parallelism().map_or(2, |n| n.get()));

/// What a scan read, for GetQueryResults' statistics.
#[derive(Debug, Default)]
pub struct ScanCounters {
    /// Events read (inside the time range, in live streams).
    pub records: AtomicU64,
    /// Message bytes of those events.
    pub bytes: AtomicU64,
}

/// One group's part of a scan, shared by its partitions.
#[derive(Clone)]
struct GroupScan {
    store: Store,
    group_id: i64,
    log: Arc<str>,
    /// Ids of the streams the scan shows: the live ones, or those a stream-name filter
    /// names.
    live: HashSet<i64>,
    /// Live stream ids by name, to turn a stream-name filter into ids.
    names: HashMap<String, i64>,
    /// Whether `live` was narrowed by a filter, so row groups of other streams are
    /// worth skipping by their statistics.
    narrowed: bool,
    from: i64,
    to: i64,
    counters: Arc<ScanCounters>,
}

impl GroupScan {
    /// Turns a segment-schema batch (holding at least the segment columns `schema`
    /// needs) into a batch of `schema`, a projection of the table, keeping only
    /// visible rows.
    fn convert(
        &self,
        batch: &RecordBatch,
        schema: &SchemaRef,
    ) -> Result<RecordBatch, DataFusionError> {
        let batch = segment::visible(batch, self.from, self.to, &self.live)
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        let rows = batch.num_rows();
        self.counters
            .records
            .fetch_add(rows as u64, Ordering::Relaxed);
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
        let columns = schema
            .fields()
            .iter()
            .map(|field| -> Result<ArrayRef, DataFusionError> {
                Ok(match field.name().as_str() {
                    TIMESTAMP => millis("timestamp")?,
                    INGESTION_TIME => millis("ingestion_time")?,
                    LOG_STREAM => cast(&column("stream")?, &DataType::Utf8)?,
                    LOG => Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
                        &*self.log, rows,
                    ))),
                    MESSAGE => column("message")?,
                    SEQ => cast(&column("seq")?, &DataType::Int64)?,
                    GROUP_ID => Arc::new(Int64Array::from_value(self.group_id, rows)),
                    other => {
                        return Err(DataFusionError::Internal(format!(
                            "log tables have no column {other}"
                        )));
                    }
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RecordBatch::try_new_with_options(
            schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )?)
    }
}

/// The segment columns a projection of the table needs decoded (besides the time and
/// stream id, which every read decodes to find the visible rows).
fn segment_columns(schema: &Schema) -> Vec<&'static str> {
    schema
        .fields()
        .iter()
        .filter_map(|f| match f.name().as_str() {
            INGESTION_TIME => Some("ingestion_time"),
            LOG_STREAM => Some("stream"),
            MESSAGE => Some("message"),
            SEQ => Some("seq"),
            _ => None,
        })
        .collect()
}

/// Where a partition's rows come from.
#[derive(Clone)]
enum Source {
    /// One segment file, pinned: compaction or archiving may replace it meanwhile, but
    /// its file stays until the scan is done with it.
    Segment { file: SegmentRow, _pin: ReadPin },
    /// The group's unflushed rows.
    Memtable(RecordBatch),
}

/// One part of a scan: a segment file or a group's unflushed rows, with the range
/// of its event times, by which filters pushed into the scan may skip it.
#[derive(Clone)]
struct Part {
    scan: Arc<GroupScan>,
    source: Source,
    min_ts: i64,
    max_ts: i64,
}

/// Log groups as one table for the duration of a query: a snapshot of the store taken
/// when the table is made.
pub struct LogTable {
    groups: Vec<Arc<GroupScan>>,
    /// Every partition, newest first (see [`LogScanExec`]).
    parts: Vec<Part>,
}

impl LogTable {
    /// What the scan may read at most: its segment files' sizes and the memory of its
    /// unflushed rows. Before a single file is opened, this tells a small query (an hour
    /// of a month) from a large one.
    pub fn size_bytes(&self) -> u64 {
        self.parts
            .iter()
            .map(|part| match &part.source {
                Source::Segment { file, .. } => u64::try_from(file.bytes).unwrap_or(0),
                Source::Memtable(batch) => batch.get_array_memory_size() as u64,
            })
            .sum()
    }
}

impl fmt::Debug for LogTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LogTable({} partitions)", self.parts.len())
    }
}

/// The stream names a filter restricts `@logStream` to, when it is `@logStream = 'x'`,
/// `@logStream IN ('x', ...)`, or an `OR` of such (what DataFusion makes of a short `IN`
/// list).
fn stream_names(filter: &Expr) -> Option<Vec<String>> {
    let is_stream = |e: &Expr| matches!(e, Expr::Column(c) if c.name == LOG_STREAM);
    let text = |e: &Expr| match e {
        Expr::Literal(ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)), _) => {
            Some(s.clone())
        }
        _ => None,
    };
    match filter {
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Eq,
            right,
        }) => {
            if is_stream(left) {
                text(right).map(|s| vec![s])
            } else if is_stream(right) {
                text(left).map(|s| vec![s])
            } else {
                None
            }
        }
        Expr::InList(InList {
            expr,
            list,
            negated: false,
        }) if is_stream(expr) => list.iter().map(text).collect(),
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Or,
            right,
        }) => {
            let mut names = stream_names(left)?;
            names.extend(stream_names(right)?);
            Some(names)
        }
        _ => None,
    }
}

#[async_trait::async_trait]
impl TableProvider for LogTable {
    fn schema(&self) -> SchemaRef {
        SCHEMA.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    /// Stream-name filters skip other streams' row groups; DataFusion still applies
    /// them to the rows.
    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::error::Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| match stream_names(f) {
                Some(_) => TableProviderFilterPushDown::Inexact,
                None => TableProviderFilterPushDown::Unsupported,
            })
            .collect())
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        let schema = match projection {
            Some(p) => Arc::new(SCHEMA.project(p)?),
            None => SCHEMA.clone(),
        };
        // Every stream-name filter must hold, so the streams shown are those all name.
        let wanted: Option<HashSet<String>> = filters
            .iter()
            .filter_map(stream_names)
            .map(|names| names.into_iter().collect::<HashSet<_>>())
            .reduce(|a, b| a.intersection(&b).cloned().collect());
        let parts = match &wanted {
            None => self.parts.clone(),
            Some(names) => {
                let narrowed: HashMap<i64, Arc<GroupScan>> = self
                    .groups
                    .iter()
                    .map(|g| {
                        let live = g
                            .names
                            .iter()
                            .filter(|(name, _)| names.contains(*name))
                            .map(|(_, id)| *id)
                            .collect();
                        let scan = GroupScan {
                            live,
                            narrowed: true,
                            ..GroupScan::clone(g)
                        };
                        (g.group_id, Arc::new(scan))
                    })
                    .collect();
                self.parts
                    .iter()
                    .filter_map(|p| {
                        let scan = narrowed.get(&p.scan.group_id)?;
                        (!scan.live.is_empty()).then(|| Part {
                            scan: scan.clone(),
                            ..p.clone()
                        })
                    })
                    .collect()
            }
        };
        Ok(Arc::new(LogScanExec::new(schema, parts, None)))
    }
}

/// The scan of a [`LogTable`]: segment files and groups' unflushed rows, newest first,
/// read by [`SEGMENT_READERS`] partitions that each take the next unread file from one
/// shared queue when done with their last, decoding only the columns the query uses.
///
/// A shared queue, not files dealt to partitions up front: files differ in cost (a
/// group of short flow-log lines against one of long CloudTrail records), and with fixed
/// shares the last partitions went on decoding alone at the end of a full-range scan.
///
/// A few partitions, not one per file: a query over weeks opens a file per hour and
/// group, and every DataFusion partition costs tasks, wake-ups and operator state of
/// its own, which for small files outweighed reading them (latest-20 over 1 GB: 35 ms
/// with a partition per file, 13 ms like this). Filters DataFusion pushes down after
/// planning — chiefly the threshold of a `sort @timestamp desc | limit N` (its TopK),
/// which tightens as rows arrive — are checked against each file's time range just
/// before it is read: once the newest files have yielded N rows, older ones are skipped
/// unread. The filters are still applied above the scan; here they only skip.
struct LogScanExec {
    schema: SchemaRef,
    parts: Arc<[Part]>,
    /// Filters pushed down from above, in the scan's schema.
    pruning: Option<Arc<dyn PhysicalExpr>>,
    properties: Arc<PlanProperties>,
    /// The queue of the run under way, shared by the partitions' streams.
    queue: std::sync::Mutex<Queue>,
}

/// Where the partitions of one run of a scan stand.
#[derive(Default)]
struct Queue {
    /// Index of the next file to read.
    next: Arc<AtomicUsize>,
    /// Partitions started in this run. A run starts each once, so starting one again
    /// means the plan runs anew, from the first file.
    started: HashSet<usize>,
}

impl fmt::Debug for LogScanExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LogScanExec({} files)", self.parts.len())
    }
}

impl DisplayAs for LogScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let columns: Vec<&str> = self
            .schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        write!(
            f,
            "LogScanExec: files={}, columns=[{}]",
            self.parts.len(),
            columns.join(", ")
        )?;
        if let Some(p) = &self.pruning {
            write!(f, ", pruning={p}")?;
        }
        Ok(())
    }
}

impl LogScanExec {
    fn new(
        schema: SchemaRef,
        parts: impl Into<Arc<[Part]>>,
        pruning: Option<Arc<dyn PhysicalExpr>>,
    ) -> LogScanExec {
        let parts = parts.into();
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(parts.len().clamp(1, *SEGMENT_READERS)),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        LogScanExec {
            schema,
            parts,
            pruning,
            properties: Arc::new(properties),
            queue: Default::default(),
        }
    }
}

/// A partition's event-time range as pruning statistics of one container.
struct TimeRange {
    min: i64,
    max: i64,
}

impl PruningStatistics for TimeRange {
    fn min_values(&self, column: &Column) -> Option<ArrayRef> {
        (column.name == TIMESTAMP)
            .then(|| Arc::new(TimestampMillisecondArray::from(vec![self.min])) as ArrayRef)
    }

    fn max_values(&self, column: &Column) -> Option<ArrayRef> {
        (column.name == TIMESTAMP)
            .then(|| Arc::new(TimestampMillisecondArray::from(vec![self.max])) as ArrayRef)
    }

    fn num_containers(&self) -> usize {
        1
    }

    fn null_counts(&self, column: &Column) -> Option<ArrayRef> {
        (column.name == TIMESTAMP).then(|| Arc::new(UInt64Array::from(vec![0u64])) as ArrayRef)
    }

    fn row_counts(&self) -> Option<ArrayRef> {
        None
    }

    fn contained(&self, _column: &Column, _values: &HashSet<ScalarValue>) -> Option<BooleanArray> {
        None
    }
}

/// Whether `pruning` (as it stands now: dynamic filters change while the query runs)
/// may hold for a row of `schema` timed between `min` and `max`. When in doubt, yes.
fn may_match(
    pruning: Option<&Arc<dyn PhysicalExpr>>,
    schema: &SchemaRef,
    min: i64,
    max: i64,
) -> bool {
    let Some(predicate) = pruning else {
        return true;
    };
    let Some(pruner) = PruningPredicateBuilder::new()
        .with_file_schema(schema.clone())
        .build(predicate.clone())
    else {
        return true;
    };
    pruner
        .prune(&TimeRange { min, max })
        .ok()
        .and_then(|keep| keep.first().copied())
        .unwrap_or(true)
}

impl ExecutionPlan for LogScanExec {
    fn name(&self) -> &str {
        "LogScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> datafusion::error::Result<TreeNodeRecursion>,
    ) -> datafusion::error::Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        if children.is_empty() {
            Ok(self)
        } else {
            Err(DataFusionError::Internal(
                "a log scan has no children".into(),
            ))
        }
    }

    /// Takes the filters pushed down after planning (TopK thresholds among them) to
    /// skip partitions by time; leaves them to the operators above to apply.
    fn handle_child_pushdown_result(
        &self,
        phase: FilterPushdownPhase,
        child_pushdown_result: ChildPushdownResult,
        _config: &ConfigOptions,
    ) -> datafusion::error::Result<FilterPushdownPropagation<Arc<dyn ExecutionPlan>>> {
        let filters: Vec<Arc<dyn PhysicalExpr>> = child_pushdown_result
            .parent_filters
            .into_iter()
            .map(|f| f.filter)
            .collect();
        let unapplied = vec![PushedDown::No; filters.len()];
        // Before the post-optimization phase filters come from FilterExecs, which stay
        // anyway; only then do the dynamic ones arrive.
        if phase != FilterPushdownPhase::Post || filters.is_empty() {
            return Ok(FilterPushdownPropagation::with_parent_pushdown_result(
                unapplied,
            ));
        }
        let pruning = conjunction(self.pruning.iter().cloned().chain(filters));
        let updated: Arc<dyn ExecutionPlan> = Arc::new(LogScanExec::new(
            self.schema.clone(),
            self.parts.clone(),
            Some(pruning),
        ));
        Ok(
            FilterPushdownPropagation::with_parent_pushdown_result(unapplied)
                .with_updated_node(updated),
        )
    }

    fn execute(
        &self,
        partition: usize,
        _ctx: Arc<TaskContext>,
    ) -> datafusion::error::Result<SendableRecordBatchStream> {
        let schema = self.schema.clone();
        if partition >= self.properties.partitioning.partition_count() {
            return Err(DataFusionError::Internal(format!(
                "a log scan has no partition {partition}"
            )));
        }
        let queue = {
            let mut run = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            if !run.started.insert(partition) {
                *run = Queue::default();
                run.started.insert(partition);
            }
            run.next.clone()
        };
        let parts = self.parts.clone();
        let pruning = self.pruning.clone();
        let part_schema = schema.clone();
        // Lazily, one file after another: the next is taken (and checked against the
        // pushed-down filters) only when the previous one is done.
        let next_part = move || {
            let i = queue.fetch_add(1, Ordering::Relaxed);
            parts.get(i).cloned()
        };
        let stream = futures::stream::iter(std::iter::from_fn(next_part))
            .map(move |part| part_stream(part, part_schema.clone(), pruning.clone()))
            .flatten()
            .boxed();
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }
}

/// The batches of one part of a scan: a group's unflushed rows, or a segment file.
fn part_stream(
    part: Part,
    schema: SchemaRef,
    pruning: Option<Arc<dyn PhysicalExpr>>,
) -> futures::stream::BoxStream<'static, Result<RecordBatch, DataFusionError>> {
    {
        match part.source {
            Source::Memtable(batch) => {
                let converted = if may_match(pruning.as_ref(), &schema, part.min_ts, part.max_ts) {
                    let converted = part.scan.convert(&batch, &schema);
                    // Bytes scanned count the messages read whether or not the query
                    // projects them, as for segments (whose figure comes from metadata).
                    if converted.is_ok()
                        && let Some(m) = batch
                            .column_by_name("message")
                            .and_then(|m| m.as_any().downcast_ref::<StringArray>())
                    {
                        part.scan
                            .counters
                            .bytes
                            .fetch_add(m.values().len() as u64, Ordering::Relaxed);
                    }
                    Some(converted)
                } else {
                    None
                };
                futures::stream::iter(converted).boxed()
            }
            Source::Segment { file: segment, .. } => read_segment(
                part.scan,
                segment,
                schema,
                pruning,
                part.min_ts,
                part.max_ts,
            ),
        }
    }
}

/// Decodes one segment file batch by batch as the stream is polled, so a large segment
/// is never held decoded in memory at once.
fn read_segment(
    scan: Arc<GroupScan>,
    segment: SegmentRow,
    schema: SchemaRef,
    pruning: Option<Arc<dyn PhysicalExpr>>,
    min_ts: i64,
    max_ts: i64,
) -> futures::stream::BoxStream<'static, Result<RecordBatch, DataFusionError>> {
    type Batches = futures::stream::BoxStream<'static, Result<RecordBatch, DataFusionError>>;
    let opened = async move {
        // Checked only now, when the segment's turn has come: the newer segments read
        // meanwhile may have raised a TopK threshold past it.
        if !may_match(pruning.as_ref(), &schema, min_ts, max_ts) {
            return Ok(futures::stream::empty().boxed());
        }
        let data = match scan.store.local_segment_bytes(&segment) {
            Some(read) => read,
            None => scan.store.segment_bytes(&segment).await,
        }
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
        let columns = segment_columns(&schema);
        let streams = scan.narrowed.then_some(&scan.live);
        let reader = segment::reader(data, scan.from, scan.to, streams, Some(&columns))
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        scan.counters
            .bytes
            .fetch_add(reader.message_bytes, Ordering::Relaxed);
        let batches = reader.batches.map(move |batch| {
            batch
                .map_err(|e| DataFusionError::ArrowError(Box::new(e), None))
                .and_then(|b| scan.convert(&b, &schema))
        });
        Ok::<Batches, DataFusionError>(futures::stream::iter(batches).boxed())
    };
    futures::stream::once(opened).try_flatten().boxed()
}

/// A table over `groups` between `from` and `to` (epoch ms, inclusive), and the counters
/// its scan fills.
pub fn log_table(
    store: &Store,
    groups: &[GroupRow],
    from: i64,
    to: i64,
) -> Result<(LogTable, Arc<ScanCounters>), DataFusionError> {
    let counters = Arc::new(ScanCounters::default());
    let mut scans = Vec::new();
    let mut parts = Vec::new();
    let external = |e: store::StoreError| DataFusionError::External(Box::new(e));
    let mut seen = HashSet::new();
    // A group listed twice is one table's rows, not two copies of them.
    for group in groups.iter().filter(|g| seen.insert(g.id)) {
        let names: HashMap<String, i64> = store
            .catalog()
            .streams(group.id)
            .map_err(external)?
            .into_iter()
            .map(|s| (s.name, s.id))
            .collect();
        // Retention and the lifecycle policy's deletion age hide expired rows alike.
        let cutoff = store
            .visible_from(group, model::time::now_ms())
            .map_err(external)?;
        let scan = Arc::new(GroupScan {
            store: store.clone(),
            group_id: group.id,
            log: Arc::from(format!("{}:{}", group.scope.account, group.name)),
            live: names.values().copied().collect(),
            names,
            narrowed: false,
            from: cutoff.map_or(from, |c| from.max(c)),
            to,
            counters: counters.clone(),
        });
        let snapshot = store.snapshot(group.id, scan.from, to).map_err(external)?;
        for segment in snapshot.segments {
            parts.push(Part {
                scan: scan.clone(),
                min_ts: segment.min_ts,
                max_ts: segment.max_ts,
                source: Source::Segment {
                    file: segment,
                    _pin: snapshot.pin.clone(),
                },
            });
        }
        if snapshot.memtable.num_rows() > 0 {
            let (min_ts, max_ts) = time_range(&snapshot.memtable)?;
            parts.push(Part {
                scan: scan.clone(),
                source: Source::Memtable(snapshot.memtable),
                min_ts,
                max_ts,
            });
        }
        scans.push(scan);
    }
    parts.sort_by_key(|p| std::cmp::Reverse(p.max_ts));
    Ok((
        LogTable {
            groups: scans,
            parts,
        },
        counters,
    ))
}

/// The earliest and latest event time of a segment-schema batch.
fn time_range(batch: &RecordBatch) -> Result<(i64, i64), DataFusionError> {
    let times = batch
        .column_by_name("timestamp")
        .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
        .ok_or_else(|| DataFusionError::Internal("memtable batch has no timestamp".into()))?;
    let min = times.values().iter().copied().min().unwrap_or(i64::MIN);
    let max = times.values().iter().copied().max().unwrap_or(i64::MAX);
    Ok((min, max))
}
