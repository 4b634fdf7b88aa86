//! Threads of their own for running queries.
//!
//! A scan decodes Parquet inline, as DataFusion's operators expect: a partition's stream
//! does CPU work for a millisecond or two each time it is polled. Handing each file to
//! tokio's blocking pool instead cost a full-range query about a tenth of its time in
//! thread hand-offs; decoding on the server's own workers would hold up requests —
//! PutLogEvents above all — behind a long query. So a server runs its queries here.

use std::future::Future;
use std::sync::Arc;
use tokio::runtime::{Builder, Handle, Runtime};
use tokio::task::JoinHandle;

/// A runtime with a worker per core for query plans; cheap to clone.
#[derive(Clone)]
pub struct Executor {
    handle: Handle,
    _runtime: Arc<Owned>,
}

/// Shuts its runtime down without waiting: a runtime may not be dropped (which blocks)
/// on the async threads that usually hold the last clone.
struct Owned(Option<Runtime>);

impl Drop for Owned {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl Executor {
    /// Starts the threads.
    pub fn new() -> std::io::Result<Executor> {
        let runtime = Builder::new_multi_thread()
            .thread_name("query")
            .enable_all()
            .build()?;
        Ok(Executor {
            handle: runtime.handle().clone(),
            _runtime: Arc::new(Owned(Some(runtime))),
        })
    }

    /// Runs `future` on the query threads. Dropping the handle does not stop it; abort
    /// it for that.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }
}
