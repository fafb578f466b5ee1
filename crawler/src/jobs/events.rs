//! Exploration events: progress and finished pages per job, external links and errors for every
//! job, on the event bus (Redis pub/sub when configured).

use super::view::JobView;
use platform::events::{emit, EventBus, EventKind};
use platform::jobs::JobRecord;
use platform::store::PageRecord;
use platform::Code;
use serde_json::json;

/// The channel of a job's progress.
pub fn progress_channel(job_id: &str) -> String {
    format!("exploration:{job_id}:progress")
}

/// The channel of a job's finished pages.
pub fn page_channel(job_id: &str) -> String {
    format!("exploration:{job_id}:page_completed")
}

/// The channel of external links found by every job.
pub const EXTERNAL_LINKS: &str = "exploration:external_links";
/// The channel of errors of every job.
pub const ERRORS: &str = "exploration:errors";

/// The job's status, counters and progress.
pub async fn progress(bus: &dyn EventBus, job: &JobRecord) {
    let view = serde_json::to_value(JobView::from_record(job, false)).unwrap_or_default();
    emit(
        bus,
        &progress_channel(&job.job_id),
        EventKind::ExplorationProgress,
        view,
    )
    .await;
}

/// A page was stored (with its content, or with the reason it has none).
pub async fn page_completed(bus: &dyn EventBus, job: &JobRecord, page: &PageRecord) {
    emit(
        bus,
        &page_channel(&job.job_id),
        EventKind::PageCompleted,
        json!({
            "job_id": job.job_id,
            "url": page.url,
            "ok": page.ok,
            "title": page.title,
            "status_code": page.status_code,
            "depth": page.depth,
            "word_count": page.word_count,
            "fetched_via": page.fetched_via,
            "error": page.error,
        }),
    )
    .await;
}

/// A link to another site was found (reported once per job and target).
pub async fn external_link(
    bus: &dyn EventBus,
    job: &JobRecord,
    from_url: &str,
    url: &str,
    text: &str,
) {
    emit(
        bus,
        EXTERNAL_LINKS,
        EventKind::ExternalLinkDetected,
        json!({ "job_id": job.job_id, "from_url": from_url, "url": url, "text": text }),
    )
    .await;
}

/// A page could not be stored with content.
pub async fn page_error(bus: &dyn EventBus, job: &JobRecord, page: &PageRecord) {
    let (code, message) = page
        .error
        .as_ref()
        .map(|e| (e.code, e.message.as_str()))
        .unwrap_or((Code::Unknown, ""));
    emit(
        bus,
        ERRORS,
        EventKind::ExplorationError,
        json!({ "job_id": job.job_id, "url": page.url, "code": code, "message": message, "fatal": false }),
    )
    .await;
}

/// Something went wrong with the job as a whole (an attempt failed, it gave up, it waits too
/// long for a worker).
pub async fn job_error(bus: &dyn EventBus, job_id: &str, code: Code, message: &str, fatal: bool) {
    emit(
        bus,
        ERRORS,
        EventKind::ExplorationError,
        json!({ "job_id": job_id, "url": null, "code": code, "message": message, "fatal": fatal }),
    )
    .await;
}
