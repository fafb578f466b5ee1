//! Exploration events: progress and finished pages per job, external links and errors for every
//! job, on the event bus (Redis pub/sub when configured).

use super::view::JobView;
use platform::events::{emit, EventBus, EventKind};
use platform::jobs::JobRecord;
use platform::store::PageRecord;
use platform::tenant::public_job_id;
use platform::{Code, TenantId};
use serde_json::json;

/// `exploration:{rest}` for the single local tenant (no `API_KEYS`), as the seed names them;
/// `exploration:{tenant}:{rest}` for a tenant of an API key, so no tenant hears another's jobs.
fn scoped(tenant: &TenantId, rest: &str) -> String {
    if tenant.is_local() {
        format!("exploration:{rest}")
    } else {
        format!("exploration:{tenant}:{rest}")
    }
}

/// The channel of a job's progress (`exploration:{job_id}:progress`).
pub fn progress_channel(tenant: &TenantId, job_id: &str) -> String {
    scoped(tenant, &format!("{job_id}:progress"))
}

/// The channel of a job's finished pages (`exploration:{job_id}:page_completed`).
pub fn page_channel(tenant: &TenantId, job_id: &str) -> String {
    scoped(tenant, &format!("{job_id}:page_completed"))
}

/// The channel of external links found by every job of a tenant
/// (`exploration:external_links`).
pub fn external_links_channel(tenant: &TenantId) -> String {
    scoped(tenant, "external_links")
}

/// The channel of errors of every job of a tenant (`exploration:errors`).
pub fn errors_channel(tenant: &TenantId) -> String {
    scoped(tenant, "errors")
}

/// The job's status, counters and progress.
pub async fn progress(bus: &dyn EventBus, job: &JobRecord) {
    let view = serde_json::to_value(JobView::from_record(job, false)).unwrap_or_default();
    emit(
        bus,
        &progress_channel(&job.tenant_id, public_job_id(&job.job_id)),
        EventKind::ExplorationProgress,
        view,
    )
    .await;
}

/// A page was stored (with its content, or with the reason it has none).
pub async fn page_completed(bus: &dyn EventBus, job: &JobRecord, page: &PageRecord) {
    emit(
        bus,
        &page_channel(&job.tenant_id, public_job_id(&job.job_id)),
        EventKind::PageCompleted,
        json!({
            "job_id": public_job_id(&job.job_id),
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
        &external_links_channel(&job.tenant_id),
        EventKind::ExternalLinkDetected,
        json!({ "job_id": public_job_id(&job.job_id), "from_url": from_url, "url": url, "text": text }),
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
        &errors_channel(&job.tenant_id),
        EventKind::ExplorationError,
        json!({ "job_id": public_job_id(&job.job_id), "url": page.url, "code": code, "message": message, "fatal": false }),
    )
    .await;
}

/// Something went wrong with the job as a whole (an attempt failed, it gave up, it waits too
/// long for a worker). `job_id` is the stored key or the public id.
pub async fn job_error(
    bus: &dyn EventBus,
    tenant: &TenantId,
    job_id: &str,
    code: Code,
    message: &str,
    fatal: bool,
) {
    emit(
        bus,
        &errors_channel(tenant),
        EventKind::ExplorationError,
        json!({ "job_id": public_job_id(job_id), "url": null, "code": code, "message": message, "fatal": fatal }),
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_keep_the_seed_names_locally_and_carry_the_tenant_otherwise() {
        let local = TenantId::local();
        assert_eq!(progress_channel(&local, "j1"), "exploration:j1:progress");
        assert_eq!(page_channel(&local, "j1"), "exploration:j1:page_completed");
        assert_eq!(external_links_channel(&local), "exploration:external_links");
        assert_eq!(errors_channel(&local), "exploration:errors");
        let a = TenantId::new("org-a");
        assert_eq!(progress_channel(&a, "j1"), "exploration:org-a:j1:progress");
        assert_eq!(errors_channel(&a), "exploration:org-a:errors");
    }
}
