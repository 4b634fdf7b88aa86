//! Parquet segments: one file per log group and hour per flush, sorted by stream and
//! time, zstd.
//!
//! Columns: `stream_id` (Int64), `stream` (Utf8, dictionary-encoded), `timestamp`,
//! `ingestion_time` (Int64 epoch ms), `seq` (UInt64), `message` (Utf8). Row groups carry
//! min/max statistics on `timestamp`, so a time range skips what it cannot match.

use crate::error::Result;
use crate::memtable::Row;
use arrow_array::{
    Array, ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray, UInt64Array,
    builder::{Int64Builder, StringBuilder, StringDictionaryBuilder, UInt64Builder},
    types::Int32Type,
};
use arrow_buffer::BooleanBuffer;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use bytes::Bytes;
use parquet::arrow::arrow_reader::{
    ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder, RowSelection, RowSelector,
};
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::statistics::Statistics;
use parquet::schema::types::ColumnPath;
use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

/// Rows per Parquet row group: small enough for time pruning, large enough to compress.
const ROW_GROUP_ROWS: usize = 64 * 1024;

/// The segment schema.
pub static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new("stream_id", DataType::Int64, false),
        Field::new(
            "stream",
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            false,
        ),
        Field::new("timestamp", DataType::Int64, false),
        Field::new("ingestion_time", DataType::Int64, false),
        Field::new("seq", DataType::UInt64, false),
        Field::new("message", DataType::Utf8, false),
    ]))
});

/// Rows as one Arrow batch of the segment schema.
pub fn to_batch(rows: &[&Row]) -> Result<RecordBatch> {
    let mut stream_id = Int64Builder::with_capacity(rows.len());
    let mut stream = StringDictionaryBuilder::<Int32Type>::new();
    let mut timestamp = Int64Builder::with_capacity(rows.len());
    let mut ingestion = Int64Builder::with_capacity(rows.len());
    let mut seq = UInt64Builder::with_capacity(rows.len());
    let mut message =
        StringBuilder::with_capacity(rows.len(), rows.iter().map(|r| r.message.len()).sum());
    for r in rows {
        stream_id.append_value(r.stream_id);
        stream.append_value(&*r.stream);
        timestamp.append_value(r.timestamp);
        ingestion.append_value(r.ingestion);
        seq.append_value(r.seq);
        message.append_value(&r.message);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(stream_id.finish()),
        Arc::new(stream.finish()),
        Arc::new(timestamp.finish()),
        Arc::new(ingestion.finish()),
        Arc::new(seq.finish()),
        Arc::new(message.finish()),
    ];
    Ok(RecordBatch::try_new(SCHEMA.clone(), columns)?)
}

/// Encodes rows (already in file order) as a Parquet file.
pub fn encode(rows: &[&Row], zstd_level: i32) -> Result<Vec<u8>> {
    let batch = to_batch(rows)?;
    // Messages are mostly distinct, so a dictionary only costs; the integer columns rise
    // steadily, which delta encoding turns into a few bits per row before zstd runs.
    let mut props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(zstd_level)?))
        .set_dictionary_enabled(false)
        .set_column_dictionary_enabled(ColumnPath::from("stream"), true);
    for column in ["stream_id", "timestamp", "ingestion_time", "seq"] {
        props = props.set_column_encoding(ColumnPath::from(column), Encoding::DELTA_BINARY_PACKED);
    }
    // Only the text is worth zstd. Delta-packed integers and dictionary keys shrink by a
    // few bytes a row at most, while the reader makes a zstd context pair (hundreds of
    // KiB, zeroed) for every compressed column chunk it opens: on hour files of a
    // thousand events that cost a query more than decompressing the text.
    for column in ["stream_id", "stream", "timestamp", "ingestion_time", "seq"] {
        props = props.set_column_compression(ColumnPath::from(column), Compression::UNCOMPRESSED);
    }

    let props = props
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_data_page_size_limit(1 << 20)
        .build();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, SCHEMA.clone(), Some(props))?;
    writer.write(&batch)?;
    writer.close()?;
    Ok(out)
}

/// One event read back from a segment, borrowed from its batch.
pub struct SegmentRow<'a> {
    /// Catalog id of the stream.
    pub stream_id: i64,
    /// Stream name.
    pub stream: &'a str,
    /// Event time.
    pub timestamp: i64,
    /// Ingestion time.
    pub ingestion: i64,
    /// Sequence number.
    pub seq: u64,
    /// Text.
    pub message: &'a str,
}

/// What [`reader`] hands back: the batches, and the size of the text they cover.
pub struct SegmentReader {
    /// Batches of the selected row groups, with the requested columns only.
    pub batches: ParquetRecordBatchReader,
    /// Uncompressed bytes of the `message` column in the selected row groups, so a scan
    /// that does not decode the text can still say how much it covered.
    pub message_bytes: u64,
}

/// Batches of a segment file, skipping row groups whose `timestamp` statistics lie wholly
/// outside `[from, to]` or, when `streams` is given, whose `stream_id` range holds none of
/// them (rows are sorted by stream, so a one-stream read skips most of a file); rows of
/// the row groups read still need filtering. `columns` names the segment columns to
/// decode (all of them when `None`): the text is most of a file, and a query that only
/// counts events never needs it. `timestamp` and `stream_id` are always decoded, since
/// [`visible`] needs them.
pub fn reader(
    data: Bytes,
    from: i64,
    to: i64,
    streams: Option<&HashSet<i64>>,
    columns: Option<&[&str]>,
) -> Result<SegmentReader> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(data)?;
    let column = |name: &str| {
        builder
            .parquet_schema()
            .columns()
            .iter()
            .position(|c| c.name() == name)
    };
    let (ts_index, stream_index, message_index) =
        (column("timestamp"), column("stream_id"), column("message"));
    let range = |rg: &parquet::file::metadata::RowGroupMetaData, index: Option<usize>| match index
        .and_then(|i| rg.column(i).statistics())
    {
        Some(Statistics::Int64(s)) => s.min_opt().copied().zip(s.max_opt().copied()),
        _ => None,
    };
    let mut selectors = Vec::new();
    let mut message_bytes = 0u64;
    for rg in builder.metadata().row_groups() {
        let rows = rg.num_rows() as usize;
        let in_time = range(rg, ts_index).is_none_or(|(min, max)| max >= from && min <= to);
        let has_stream = match (streams, range(rg, stream_index)) {
            (Some(ids), Some((min, max))) => ids.iter().any(|id| (min..=max).contains(id)),
            _ => true,
        };
        selectors.push(if in_time && has_stream {
            if let Some(i) = message_index {
                message_bytes += u64::try_from(rg.column(i).uncompressed_size()).unwrap_or(0);
            }
            RowSelector::select(rows)
        } else {
            RowSelector::skip(rows)
        });
    }
    let mask = match columns {
        None => ProjectionMask::all(),
        Some(names) => {
            let wanted = ["timestamp", "stream_id"].iter().chain(names);
            let leaves: Vec<usize> = wanted.filter_map(|name| column(name)).collect();
            ProjectionMask::leaves(builder.parquet_schema(), leaves)
        }
    };
    let batches = builder
        .with_row_selection(RowSelection::from(selectors))
        .with_projection(mask)
        .with_batch_size(8192)
        .build()?;
    Ok(SegmentReader {
        batches,
        message_bytes,
    })
}

/// Keeps the rows of a segment-schema batch that lie in `[from, to]` and belong to one of
/// `streams`: what a scan may see of it.
pub fn visible(
    batch: &RecordBatch,
    from: i64,
    to: i64,
    streams: &HashSet<i64>,
) -> Result<RecordBatch> {
    let corrupt = || crate::error::StoreError::Corrupt("segment column has the wrong type".into());
    let ts = batch
        .column_by_name("timestamp")
        .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
        .ok_or_else(corrupt)?;
    let sid = batch
        .column_by_name("stream_id")
        .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
        .ok_or_else(corrupt)?;
    // Rows come in runs of one stream, so the set is asked once per run, not per row.
    let (ts, sid) = (ts.values(), sid.values());
    let mut run: Option<(i64, bool)> = None;
    let mask = BooleanArray::new(
        BooleanBuffer::collect_bool(ts.len(), |i| {
            let live = match run {
                Some((id, live)) if id == sid[i] => live,
                _ => {
                    let live = streams.contains(&sid[i]);
                    run = Some((sid[i], live));
                    live
                }
            };
            live && ts[i] >= from && ts[i] <= to
        }),
        None,
    );
    // Most batches of a scan are wholly visible: hand them on without a copy.
    if mask.true_count() == batch.num_rows() {
        return Ok(batch.clone());
    }
    Ok(arrow_select::filter::filter_record_batch(batch, &mask)?)
}

/// Calls `visit` for each row of the segment whose timestamp is in `[from, to]`, skipping
/// row groups whose statistics rule them out (time, and the streams wanted).
pub fn scan(
    data: Bytes,
    from: i64,
    to: i64,
    streams: &HashSet<i64>,
    mut visit: impl FnMut(SegmentRow<'_>),
) -> Result<()> {
    for batch in reader(data, from, to, Some(streams), None)?.batches {
        let batch = batch?;
        let col = |name: &str| batch.column_by_name(name).cloned();
        let (Some(sid), Some(st), Some(ts), Some(ing), Some(sq), Some(msg)) = (
            col("stream_id"),
            col("stream"),
            col("timestamp"),
            col("ingestion_time"),
            col("seq"),
            col("message"),
        ) else {
            return Err(crate::error::StoreError::Corrupt(
                "segment is missing a column".into(),
            ));
        };
        let corrupt =
            || crate::error::StoreError::Corrupt("segment column has the wrong type".into());
        let sid = sid
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(corrupt)?;
        let ts = ts
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(corrupt)?;
        let ing = ing
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(corrupt)?;
        let sq = sq
            .as_any()
            .downcast_ref::<UInt64Array>()
            .ok_or_else(corrupt)?;
        let msg = msg
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(corrupt)?;
        let st = arrow_array::cast::AsArray::as_dictionary_opt::<Int32Type>(st.as_ref())
            .ok_or_else(corrupt)?;
        let st_values = st
            .values()
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(corrupt)?;
        for i in 0..batch.num_rows() {
            let t = ts.value(i);
            if t < from || t > to {
                continue;
            }
            let key = st.keys().value(i) as usize;
            visit(SegmentRow {
                stream_id: sid.value(i),
                stream: if key < st_values.len() {
                    st_values.value(key)
                } else {
                    ""
                },
                timestamp: t,
                ingestion: ing.value(i),
                seq: sq.value(i),
                message: msg.value(i),
            });
        }
    }
    Ok(())
}
