//! Running a query's work under a time limit that holds however long it goes without
//! yielding.

use std::future::Future;
use std::time::Duration;
use tokio::task::JoinError;

/// Runs `work` as a task of its own and waits for it at most `limit`: `None` when the
/// limit passed first. A timeout polled inside the work itself would fire only at its
/// next yield, which a plan crunching a few large batches may not reach for a long
/// while. The task is aborted on timeout, and when the caller is dropped (StopQuery
/// aborts the caller), so it stops at its next yield.
pub(crate) async fn within<T: Send + 'static>(
    limit: Duration,
    work: impl Future<Output = T> + Send + 'static,
) -> Option<Result<T, JoinError>> {
    let task = tokio::spawn(work);
    let _abort = AbortOnDrop(task.abort_handle());
    tokio::time::timeout(limit, task).await.ok()
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
