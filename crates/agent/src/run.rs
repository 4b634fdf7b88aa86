//! The agent's loops: one per configured file, and one for a stream of lines (`exec`).
//!
//! A file's loop reads, assembles events and fills a batch; when the batch is full or its
//! oldest event has waited `buffer_duration`, it is sent, and its checkpoint is recorded
//! once it is acknowledged. The next batch is assembled meanwhile, but is not sent before
//! that acknowledgement, so while the server is away at most one more batch is read
//! (backpressure), and a restart re-sends at most the one unacknowledged batch.

use crate::Error;
use crate::checkpoint::StateFile;
use crate::client::SignedClient;
use crate::config::{EventStart, SourceConfig};
use crate::shipper::{Batch, Shipper, fit_message};
use crate::tailer::{FileRef, Tailer};
use crate::timestamp::DatetimeFormat;
use model::InputEvent;
use model::limits::{MAX_BATCH_BYTES, MAX_BATCH_EVENTS};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// How often an idle file is looked at again.
const POLL: Duration = Duration::from_millis(200);
/// Bytes read from a file per pass.
const READ_CHUNK: usize = 1 << 20;
/// An event whose lines stopped coming this long ago is complete, even though no line
/// has started the next one yet.
const EVENT_IDLE: Duration = Duration::from_millis(1000);
/// Once asked to stop, how long a batch that cannot be delivered is still retried.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Ships every configured source until `stop` turns true, then delivers what was read
/// and returns. Each source is independent; the first to fail ends the agent.
pub async fn run_agent(
    sources: Vec<SourceConfig>,
    client: SignedClient,
    state: Arc<StateFile>,
    stop: watch::Receiver<bool>,
) -> Result<(), Error> {
    let mut tasks = tokio::task::JoinSet::new();
    for source in sources {
        tasks.spawn(run_source(
            source,
            client.clone(),
            state.clone(),
            stop.clone(),
        ));
    }
    while let Some(done) = tasks.join_next().await {
        done.map_err(|e| Error::Task(e.to_string()))??;
    }
    Ok(())
}

/// An event being assembled from one or more lines.
struct Pending {
    text: String,
    timestamp: i64,
    file: Arc<FileRef>,
    end: u64,
    first_read: Instant,
    last_read: Instant,
}

/// Turns lines into events for one file source.
struct Assembler {
    start: EventStart,
    datetime: Option<DatetimeFormat>,
    pending: Option<Pending>,
    last_timestamp: Option<i64>,
}

impl Assembler {
    /// Adds a line; returns the event it completes, if it starts a new one.
    fn push(&mut self, line: String, file: &Arc<FileRef>, end: u64) -> Option<Pending> {
        let now = Instant::now();
        if let Some(p) = self.pending.as_mut()
            && !self.start.is_start(&line)
        {
            // Continuation lines past the event limit are dropped with the cut.
            if p.text.len() <= crate::shipper::MAX_EVENT_BYTES {
                p.text.push('\n');
                p.text.push_str(&line);
            }
            p.end = end;
            p.last_read = now;
            return None;
        }
        // A line without a readable time takes the previous event's, as awslogs does.
        let timestamp = self
            .datetime
            .as_ref()
            .and_then(|f| f.parse(&line))
            .or(self.last_timestamp.filter(|_| self.datetime.is_some()))
            .unwrap_or_else(model::time::now_ms);
        self.last_timestamp = Some(timestamp);
        self.pending.replace(Pending {
            text: line,
            timestamp,
            file: file.clone(),
            end,
            first_read: now,
            last_read: now,
        })
    }
}

/// A batch sent and not yet acknowledged, with where its last event ends.
type InFlight = (
    tokio::task::JoinHandle<Result<(), crate::shipper::ShipError>>,
    Option<(Arc<FileRef>, u64)>,
);

struct SourceRun {
    name: String,
    shipper: Arc<Shipper>,
    /// At most one batch is unacknowledged; the next is assembled meanwhile.
    in_flight: Option<InFlight>,
    state: Arc<StateFile>,
    batch: Batch,
    /// Where the last event in the batch ends.
    batch_end: Option<(Arc<FileRef>, u64)>,
    buffer: Duration,
    stop: watch::Receiver<bool>,
    /// Stopping with a batch undelivered: nothing more is shipped or recorded.
    abandoned: bool,
}

impl SourceRun {
    /// Adds a complete event, shipping the batch first when the event does not fit or
    /// comes from another file (a batch never spans files, so one checkpoint covers it).
    async fn add(&mut self, event: Pending) -> Result<(), Error> {
        if event.text.is_empty() {
            return Ok(());
        }
        let input = InputEvent {
            timestamp: event.timestamp,
            message: fit_message(event.text),
        };
        let other_file = self
            .batch_end
            .as_ref()
            .is_some_and(|(f, _)| (f.dev, f.ino) != (event.file.dev, event.file.ino));
        if !self.batch.fits(&input) || other_file {
            self.ship().await?;
        }
        self.batch.push(input, event.first_read);
        self.batch_end = Some((event.file, event.end));
        Ok(())
    }

    /// Sends the batch once the previous one is acknowledged, so reading and assembling
    /// the next batch overlaps the wait while at most one batch is unacknowledged.
    async fn ship(&mut self) -> Result<(), Error> {
        if self.batch.is_empty() || self.abandoned {
            return Ok(());
        }
        self.settle().await?;
        if self.abandoned {
            return Ok(());
        }
        let events = self.batch.take();
        let shipper = self.shipper.clone();
        let put = tokio::spawn(async move { shipper.put(&events).await });
        self.in_flight = Some((put, self.batch_end.take()));
        Ok(())
    }

    /// Waits for the batch in flight, then records its checkpoint. Once the agent is
    /// stopping, a batch still undelivered after [`STOP_GRACE`] is abandoned: its lines
    /// are read again on the next start, since the checkpoint stays before them.
    async fn settle(&mut self) -> Result<(), Error> {
        let Some((mut put, end)) = self.in_flight.take() else {
            return Ok(());
        };
        let mut stop = self.stop.clone();
        let grace_over = async move {
            while !*stop.borrow() {
                if stop.changed().await.is_err() {
                    break;
                }
            }
            tokio::time::sleep(STOP_GRACE).await;
        };
        tokio::select! {
            delivered = &mut put => delivered.map_err(|e| Error::Task(e.to_string()))??,
            () = grace_over => {
                put.abort();
                tracing::warn!(source = %self.name, "stopping with a batch undelivered; it is sent again after a restart");
                self.abandoned = true;
                return Ok(());
            }
        }
        if let Some((file, end)) = end {
            self.state.save(&self.name, file.at(end))?;
        }
        Ok(())
    }

    /// Whether the batch in flight has its answer (so settling it does not wait).
    fn answered(&self) -> bool {
        self.in_flight
            .as_ref()
            .is_some_and(|(put, _)| put.is_finished())
    }
}

async fn run_source(
    source: SourceConfig,
    client: SignedClient,
    state: Arc<StateFile>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), Error> {
    let mut tailer = Tailer::new(
        &source.file,
        source.initial_position,
        state.get(&source.name),
    );
    let mut assembler = Assembler {
        start: source.event_start.clone(),
        datetime: source.datetime.clone(),
        pending: None,
        last_timestamp: None,
    };
    let mut run = SourceRun {
        name: source.name.clone(),
        shipper: Arc::new(Shipper::new(
            client,
            source.group.clone(),
            source.stream.clone(),
        )),
        in_flight: None,
        state,
        batch: Batch::new(source.batch_count, source.batch_size),
        batch_end: None,
        buffer: source.buffer_duration,
        stop: stop.clone(),
        abandoned: false,
    };
    tracing::info!(source = %source.name, file = %source.file, group = %source.group.as_str(), stream = %source.stream.as_str(), "shipping");
    loop {
        let stopping = *stop.borrow();
        let chunk = tailer.poll(READ_CHUNK).map_err(|e| Error::Io {
            path: source.file.clone().into(),
            source: e,
        })?;
        let read_something = chunk.is_some();
        if let Some(chunk) = chunk {
            for (bytes, end) in chunk.lines {
                let line = source.encoding.decode(&bytes);
                if let Some(done) = assembler.push(line, &chunk.file, end) {
                    run.add(done).await?;
                }
            }
            if chunk.left_file
                && let Some(done) = assembler.pending.take()
            {
                run.add(done).await?;
            }
        }
        // An event is complete when no line has continued it for a while, or when it
        // has waited as long as a batch may.
        let complete = assembler.pending.as_ref().is_some_and(|p| {
            (!read_something && p.last_read.elapsed() >= EVENT_IDLE)
                || p.first_read.elapsed() >= run.buffer
        });
        if (stopping || complete)
            && let Some(done) = assembler.pending.take()
        {
            run.add(done).await?;
        }
        if stopping || run.batch.age() >= run.buffer {
            run.ship().await?;
        }
        if stopping || run.answered() {
            run.settle().await?;
        }
        if stopping || run.abandoned {
            return Ok(());
        }
        if !read_something {
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

/// Ships lines from `lines` (one event each, timed when received) to one stream, until
/// the sender side closes; then delivers the rest and returns.
pub async fn ship_lines(
    mut lines: mpsc::Receiver<String>,
    shipper: Shipper,
    buffer: Duration,
) -> Result<(), Error> {
    let mut batch = Batch::new(MAX_BATCH_EVENTS, MAX_BATCH_BYTES);
    loop {
        let wait = buffer.saturating_sub(batch.age());
        let line = if batch.is_empty() {
            lines.recv().await
        } else {
            match tokio::time::timeout(wait, lines.recv()).await {
                Ok(line) => line,
                Err(_) => {
                    shipper.put(&batch.take()).await?;
                    continue;
                }
            }
        };
        let Some(line) = line else { break };
        if line.is_empty() {
            continue;
        }
        let event = InputEvent {
            timestamp: model::time::now_ms(),
            message: fit_message(line),
        };
        if !batch.fits(&event) {
            shipper.put(&batch.take()).await?;
        }
        batch.push(event, Instant::now());
    }
    if !batch.is_empty() {
        shipper.put(&batch.take()).await?;
    }
    Ok(())
}
