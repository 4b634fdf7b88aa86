//! Threads of their own for running queries.
//!
//! A scan decodes Parquet inline, as DataFusion's operators expect: a partition's stream
//! does CPU work for a millisecond or two each time it is polled. Handing each file to
//! tokio's blocking pool instead cost a full-range query about a tenth of its time in
//! thread hand-offs; decoding on the server's own workers would hold up requests —
//! PutLogEvents above all — behind a long query. So a server runs its queries here, on
//! threads of a lower priority, so that a request that wakes while every core runs a
//! query gets one at once.

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

/// Lowers the calling thread's priority by [`QUERY_NICE`]: on a machine whose cores all
/// run queries, a request's thread (a PutLogEvents waiting for its fsync, a poll) still
/// gets a core as soon as it wakes, instead of waiting out a query's time slice.
fn yield_to_requests() {
    // Linux keeps a nice value per thread, so this lowers only the query thread.
    #[cfg(target_os = "linux")]
    {
        // SAFETY: a system call that changes only the calling thread's nice value.
        if unsafe { libc::nice(QUERY_NICE) } == -1 {
            tracing::debug!(error = %std::io::Error::last_os_error(), "cannot lower a query thread's priority");
        }
    }
}

/// How much nicer query threads are than the rest of the server (see
/// [`yield_to_requests`]). Measured on 2 cores, a PutLogEvents made while full-range
/// queries ran back to back: p90 round trip 4.0–5.7 ms before, 2.1–3.6 ms after.
#[cfg(target_os = "linux")]
const QUERY_NICE: libc::c_int = 10;

impl Executor {
    /// Starts the threads.
    pub fn new() -> std::io::Result<Executor> {
        let runtime = Builder::new_multi_thread()
            .thread_name("query")
            .on_thread_start(yield_to_requests)
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

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The calling thread's niceness.
    fn niceness() -> libc::c_int {
        // SAFETY: reads the calling thread's own priority.
        unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
    }

    #[tokio::test]
    async fn query_threads_run_below_the_request_threads() {
        let executor = Executor::new().unwrap();
        let on_query_thread = executor.spawn(async { niceness() }).await.unwrap();
        assert_eq!(on_query_thread, niceness() + QUERY_NICE);
    }
}
