//! Marks connected video links `lost` when their technician's page stopped posting, counts
//! the venues of deadlines that have passed in the overview, and deletes unfinished uploads.
//! Any number of server instances may run it: the store's conditional UPDATE records each loss once.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use huichang_store::Store;

/// Sweeps every few seconds (a third of the timeout, at most 5 s) until `shutdown` resolves.
pub async fn run(store: Arc<dyn Store>, timeout: Duration, shutdown: impl Future<Output = ()>) {
    let every = (timeout / 3).clamp(Duration::from_millis(200), Duration::from_secs(5));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        match store.sweep_video_links(huichang_core::video::lost_before(Utc::now(), timeout)).await {
            Ok(0) => {}
            Ok(lost) => tracing::info!(lost, "video links lost"),
            Err(error) => tracing::warn!(%error, "video-link sweep failed; trying again"),
        }
        // A deadline passing makes venues overdue with no write to count them: counted here.
        if let Err(error) = store.count_passed_deadlines(Utc::now()).await {
            tracing::warn!(%error, "counting passed deadlines failed; trying again");
        }
        // An upload not named by a submission within the hour was refused, cut off or killed.
        match store.sweep_blobs(Utc::now() - chrono::Duration::hours(1)).await {
            Ok(0) => {}
            Ok(swept) => tracing::info!(swept, "unfinished uploads deleted"),
            Err(error) => tracing::warn!(%error, "sweeping unfinished uploads failed; trying again"),
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = &mut shutdown => return,
        }
    }
}
