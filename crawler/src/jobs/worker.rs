//! Workers: take a job id from the queue, claim the job in the store, run it with keep-alives,
//! and settle it: acknowledged when it completes, is paused or cancelled; back in the queue when
//! the process shuts down; retried after a delay when a run fails, and failed (with its reason,
//! in the dead letters) after the last attempt. A job delivered twice runs once: the claim in
//! the store decides.

use super::run::{RunError, RunOutcome};
use super::runner;
use super::{events, webhooks, Jobs};
use platform::jobs::{JobError, JobRecord, JobStatus};
use platform::queue::Delivery;
use platform::store::{now_secs, JobUpdate};
use platform::telemetry::{QueueDepth, QueueEvent, QueueOp};
use platform::webhooks::WebhookEvent;
use platform::{Code, TenantId};
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// How long one wait for the queue lasts before the worker looks at shutdown again.
const POLL: Duration = Duration::from_secs(1);

/// Record what a worker did with the queue.
fn queue_event(jobs: &Jobs, d: &Delivery, op: QueueOp) {
    jobs.platform.telemetry.record(QueueEvent {
        job_id: &d.job_id,
        op,
    });
}

/// One worker: runs jobs one at a time until shutdown.
pub(super) async fn work(jobs: Arc<Jobs>, index: usize) {
    let consumer = format!("{}-{index}", jobs.consumer_prefix);
    let queue = jobs.platform.queue.clone();
    loop {
        let next = tokio::select! {
            biased;
            _ = jobs.shutdown.cancelled() => return,
            n = queue.next(&consumer, POLL) => n,
        };
        match next {
            Ok(Some(d)) if jobs.shutdown.is_cancelled() => {
                // Taken just as the process stops: straight back to the queue.
                settle(queue.retry_later(&d, Duration::ZERO).await);
                return;
            }
            Ok(Some(d)) => {
                let op = if d.reclaimed {
                    QueueOp::Reclaim
                } else {
                    QueueOp::Claim
                };
                queue_event(&jobs, &d, op);
                let span = tracing::info_span!("job", job_id = %d.job_id, worker = %consumer);
                handle(&jobs, &consumer, d).instrument(span).await;
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "job queue unavailable; retrying");
                tokio::select! {
                    _ = jobs.shutdown.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
}

enum Claim {
    Run(JobRecord),
    GaveUp(JobRecord),
    /// Another worker has it and is alive (a duplicate delivery).
    Busy,
    /// Another worker seems to have it; look again later.
    Later,
    /// Nothing to do (finished, paused, cancelled, unknown).
    Done,
}

async fn claim(jobs: &Jobs, consumer: &str, d: &Delivery, run_id: &str) -> platform::Result<Claim> {
    let cfg = &jobs.platform.config.jobs;
    let lease = cfg.claim_idle.as_secs_f64() / 2.0;
    let max_attempts = cfg.max_attempts;
    let (consumer_c, run_c, reclaimed) = (consumer.to_string(), run_id.to_string(), d.reclaimed);
    let update = jobs
        .platform
        .update_job(
            &d.job_id,
            None,
            Box::new(move |j| {
                let stale = now_secs() - j.updated_at > lease;
                match j.status {
                    JobStatus::Queued => {}
                    JobStatus::Running if stale => {}
                    _ => return false,
                }
                if j.attempts >= max_attempts {
                    let why = j
                        .error
                        .as_ref()
                        .map(|e| e.message.clone())
                        .unwrap_or_else(|| "its worker stopped answering".into());
                    j.error = Some(JobError {
                        code: Code::AttemptsExhausted,
                        message: format!("gave up after {} attempts: {why}", j.attempts),
                    });
                    j.run_id = None;
                    j.set_status(
                        JobStatus::Failed,
                        Some(format!("gave up after {} attempts", j.attempts)),
                    );
                    return true;
                }
                let reason = (j.status == JobStatus::Running || reclaimed)
                    .then(|| "taken over from a worker that stopped answering".to_string());
                j.attempts += 1;
                j.run_id = Some(run_c);
                j.worker = Some(consumer_c);
                j.set_status(JobStatus::Running, reason);
                true
            }),
        )
        .await?;
    Ok(match update {
        JobUpdate::Updated(j) if j.status == JobStatus::Running => Claim::Run(j),
        JobUpdate::Updated(j) => Claim::GaveUp(j),
        JobUpdate::Unchanged(j) if j.status == JobStatus::Running => {
            if d.reclaimed {
                Claim::Later
            } else {
                Claim::Busy
            }
        }
        JobUpdate::Unchanged(_) | JobUpdate::Missing => Claim::Done,
    })
}

async fn handle(jobs: &Arc<Jobs>, consumer: &str, d: Delivery) {
    let run_id = uuid::Uuid::new_v4().to_string();
    let Some(job) = take(jobs, consumer, &d, &run_id).await else {
        return;
    };
    tracing::info!(attempt = job.attempts, "job running");
    events::progress(jobs.platform.events.as_ref(), &job).await;
    webhooks::job_event(&jobs.platform, &job, WebhookEvent::JobStarted).await;
    let attempted = Attempted {
        tenant: job.tenant_id.clone(),
        attempts: job.attempts,
    };
    let keep_alive = tokio::spawn(keep_alive(
        jobs.clone(),
        consumer.to_string(),
        d.clone(),
        run_id.clone(),
    ));
    let result = run(jobs, job, &run_id).await;
    keep_alive.abort();
    let queue = &jobs.platform.queue;
    match result {
        Ok(RunOutcome::Completed) => {
            completed(jobs, &d, &run_id).await;
            settle(queue.ack(&d).await);
        }
        Ok(RunOutcome::Paused) | Ok(RunOutcome::Cancelled) | Ok(RunOutcome::Superseded) => {
            settle(queue.ack(&d).await);
        }
        Ok(RunOutcome::Interrupted) => {
            finish(jobs, &d.job_id, &run_id, |j| {
                j.attempts = j.attempts.saturating_sub(1);
                j.set_status(JobStatus::Queued, Some("interrupted by a shutdown".into()));
            })
            .await;
            settle(queue.retry_later(&d, Duration::ZERO).await);
        }
        Err(e) => attempt_failed(jobs, &d, &run_id, attempted, e).await,
    }
}

/// How long a job whose tenant runs its most jobs waits before it is looked at again.
const TENANT_WAIT: Duration = Duration::from_secs(1);

/// Whether the delivered (queued) job's tenant already runs `TENANT_MAX_JOBS` jobs. Counted from
/// the store, so over all workers; the workers of one process decide one at a time (see
/// `Jobs::claiming`), but two processes deciding at the same instant may each start one.
async fn tenant_at_limit(jobs: &Jobs, d: &Delivery) -> bool {
    let store = &jobs.platform.store;
    let Ok(Some(job)) = store.get_job(None, &d.job_id).await else {
        return false;
    };
    if job.status != JobStatus::Queued {
        return false; // a takeover or a finished job: decided by the claim
    }
    let limit = jobs.platform.config.jobs.tenant_max_running;
    match store
        .list_jobs(Some(&job.tenant_id), &[JobStatus::Running], limit)
        .await
    {
        Ok(running) => running.len() >= limit,
        Err(_) => false,
    }
}

/// Claim the delivered job for this run; `None` when there is nothing to run (the delivery is
/// settled here: acknowledged, retried later, or dead-lettered).
async fn take(jobs: &Arc<Jobs>, consumer: &str, d: &Delivery, run_id: &str) -> Option<JobRecord> {
    let queue = &jobs.platform.queue;
    let _deciding = jobs.claiming.lock().await;
    if tenant_at_limit(jobs, d).await {
        // The tenant runs its most jobs at once: this one waits, queued, without an attempt.
        settle(queue.retry_later(d, TENANT_WAIT).await);
        return None;
    }
    match claim(jobs, consumer, d, run_id).await {
        Ok(Claim::Run(j)) => Some(j),
        Ok(Claim::GaveUp(j)) => {
            webhooks::job_event(&jobs.platform, &j, WebhookEvent::JobFailed).await;
            let reason = j.error.map(|e| e.message).unwrap_or_default();
            tracing::warn!(%reason, "job failed for good");
            settle(queue.dead_letter(d, &reason).await);
            queue_event(jobs, d, QueueOp::DeadLetter);
            events::job_error(
                jobs.platform.events.as_ref(),
                &j.tenant_id,
                &d.job_id,
                Code::AttemptsExhausted,
                &reason,
                true,
            )
            .await;
            None
        }
        Ok(Claim::Busy) | Ok(Claim::Done) => {
            settle(queue.ack(d).await);
            None
        }
        Ok(Claim::Later) => {
            let later = jobs.platform.config.jobs.claim_idle / 2;
            settle(queue.retry_later(d, later).await);
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "job could not be claimed; back to the queue");
            settle(queue.retry_later(d, Duration::from_secs(1)).await);
            None
        }
    }
}

/// Run the job by its kind (a crawl, or a file ingestion); a panic fails the attempt, not the
/// worker.
async fn run(jobs: &Arc<Jobs>, job: JobRecord, run_id: &str) -> Result<RunOutcome, RunError> {
    let deps = jobs.deps.clone();
    let shutdown = jobs.shutdown.clone();
    let rid = run_id.to_string();
    tokio::spawn(async move {
        if job.kind == crate::ingest::KIND {
            crate::ingest::run(&deps, job, rid, shutdown).await
        } else {
            runner::run(&deps, job, rid, shutdown).await
        }
    })
    .await
    .unwrap_or_else(|e| {
        Err(RunError {
            permanent: false,
            code: Code::Internal,
            message: format!("the run stopped unexpectedly: {e}"),
        })
    })
}

/// Mark the job completed.
async fn completed(jobs: &Arc<Jobs>, d: &Delivery, run_id: &str) {
    let done = finish(jobs, &d.job_id, run_id, |j| {
        j.set_status(JobStatus::Completed, None);
        j.current_url = None;
        j.error = None;
    })
    .await;
    if let Some(j) = done {
        tracing::info!(
            pages = j.counters.pages_completed,
            failed = j.counters.pages_failed,
            "job completed"
        );
        events::progress(jobs.platform.events.as_ref(), &j).await;
        webhooks::job_event(&jobs.platform, &j, WebhookEvent::JobCompleted).await;
    }
}

/// Whose job an attempt was, and which attempt.
struct Attempted {
    tenant: platform::TenantId,
    attempts: u32,
}

/// An attempt failed: the job waits for its next attempt (after a doubling delay) or fails for
/// good (its last attempt, or a failure another attempt would repeat).
async fn attempt_failed(jobs: &Arc<Jobs>, d: &Delivery, run_id: &str, job: Attempted, e: RunError) {
    let Attempted { tenant, attempts } = job;
    let queue = &jobs.platform.queue;
    let max = jobs.platform.config.jobs.max_attempts;
    let last = attempts >= max || e.permanent;
    let delay =
        jobs.platform.config.jobs.retry_delay * 2u32.saturating_pow(attempts.saturating_sub(1));
    let err = JobError {
        code: e.code,
        message: e.message.clone(),
    };
    let permanent = e.permanent;
    let settled = finish(jobs, &d.job_id, run_id, move |j| {
        j.error = Some(err);
        let reason = if permanent {
            "failed; not retried: another attempt would fail the same way".to_string()
        } else if last {
            format!("attempt {attempts} of {max} failed")
        } else {
            format!(
                "attempt {attempts} of {max} failed; retrying in {}s",
                delay.as_secs_f64()
            )
        };
        let status = if last {
            JobStatus::Failed
        } else {
            JobStatus::Queued
        };
        j.set_status(status, Some(reason));
    })
    .await;
    tracing::warn!(code = %e.code, error = %e.message, attempt = attempts, "job attempt failed");
    events::job_error(
        jobs.platform.events.as_ref(),
        &tenant,
        &d.job_id,
        e.code,
        &e.message,
        last,
    )
    .await;
    if let Some(j) = settled.as_ref().filter(|_| last) {
        webhooks::job_event(&jobs.platform, j, WebhookEvent::JobFailed).await;
    }
    if settled.is_none() {
        settle(queue.ack(d).await);
    } else if last {
        let reason = format!("{}: {}", e.code, e.message);
        settle(queue.dead_letter(d, &reason).await);
        queue_event(jobs, d, QueueOp::DeadLetter);
    } else {
        settle(queue.retry_later(d, delay).await);
        queue_event(jobs, d, QueueOp::Retry);
    }
}

/// Change a job at the end of a run, if the run still owns it (and it is still running).
async fn finish(
    jobs: &Jobs,
    job_id: &str,
    run_id: &str,
    change: impl FnOnce(&mut JobRecord) + Send + 'static,
) -> Option<JobRecord> {
    let run_id = run_id.to_string();
    let r = jobs
        .platform
        .update_job(
            job_id,
            None,
            Box::new(move |j| {
                if j.run_id.as_deref() != Some(&run_id) || j.status != JobStatus::Running {
                    return false;
                }
                change(j);
                j.run_id = None;
                true
            }),
        )
        .await;
    match r {
        Ok(JobUpdate::Updated(j)) => Some(j),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(error = %e, "job could not be settled");
            None
        }
    }
}

fn settle(r: platform::Result<()>) {
    if let Err(e) = r {
        tracing::warn!(error = %e, "job queue did not take the update; the job will be delivered again");
    }
}

/// While a run lasts: tell the queue and the store the worker is alive, four times per claim
/// timeout, so no other worker takes the job over.
async fn keep_alive(jobs: Arc<Jobs>, consumer: String, d: Delivery, run_id: String) {
    let every = (jobs.platform.config.jobs.claim_idle / 4).max(Duration::from_millis(50));
    loop {
        tokio::time::sleep(every).await;
        if let Err(e) = jobs.platform.queue.keep_alive(&consumer, &d).await {
            tracing::warn!(error = %e, "keep-alive not sent");
        }
        let rid = run_id.clone();
        let _ = jobs
            .platform
            .update_job(
                &d.job_id,
                None,
                Box::new(move |j| j.run_id.as_deref() == Some(&rid)),
            )
            .await;
    }
}

/// Fail a queued job no worker could take (`no_worker`), once however many processes watch.
async fn fail_for_no_worker(jobs: &Arc<Jobs>, job_id: &str, tenant: &TenantId, waited: f64) {
    let msg = format!(
        "no worker asked for a job in {waited:.0}s; start a `worker` (or give this process JOB_WORKERS) and resume the job"
    );
    let m = msg.clone();
    let failed = jobs
        .platform
        .update_job(
            job_id,
            None,
            Box::new(move |j| {
                if j.status != JobStatus::Queued {
                    return false;
                }
                j.error = Some(JobError {
                    code: Code::NoWorker,
                    message: m,
                });
                j.set_status(JobStatus::Failed, Some("no worker".into()));
                true
            }),
        )
        .await;
    if let Ok(JobUpdate::Updated(j)) = failed {
        tracing::warn!(job_id, "{msg}");
        events::job_error(
            jobs.platform.events.as_ref(),
            tenant,
            job_id,
            Code::NoWorker,
            &msg,
            true,
        )
        .await;
        webhooks::job_event(&jobs.platform, &j, WebhookEvent::JobFailed).await;
    }
}

/// Report jobs that wait too long for a worker (fail them when no worker is seen at all), and
/// queue again jobs the queue could not take when they were started (they stayed `pending`).
pub(super) async fn watch_queue(jobs: Arc<Jobs>) {
    let stale_after = jobs.platform.config.jobs.stale_after;
    let every = (stale_after / 2).clamp(Duration::from_millis(200), Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = jobs.shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let store = &jobs.platform.store;
        let waiting = match store
            .list_jobs(None, &[JobStatus::Queued, JobStatus::Pending], 1000)
            .await
        {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(error = %e, "queue watcher cannot read jobs");
                continue;
            }
        };
        jobs.platform.telemetry.record(QueueDepth {
            waiting: waiting.len(),
            unclaimed: waiting.iter().filter(|j| j.stale_reported).count(),
        });
        let now = now_secs();
        for job in waiting {
            if job.status == JobStatus::Pending {
                if now - job.updated_at > 5.0 && jobs.queue(&job.job_id).await.is_ok() {
                    tracing::info!(job_id = %job.job_id, "job queued after the queue came back");
                }
                continue;
            }
            let waited = now - job.queued_at.unwrap_or(job.created_at);
            if job.stale_reported || waited < stale_after.as_secs_f64() {
                continue;
            }
            // No worker asked for a job or kept one all that time: none will take this one.
            // (Busy workers are seen through their keep-alives, every quarter of the claim time.)
            let window = stale_after.max(jobs.platform.config.jobs.claim_idle);
            if let Ok(Some(0)) = jobs.platform.queue.workers_seen(window).await {
                fail_for_no_worker(&jobs, &job.job_id, &job.tenant_id, waited).await;
                continue;
            }
            let marked = jobs
                .platform
                .update_job(
                    &job.job_id,
                    None,
                    Box::new(|j| {
                        if j.status != JobStatus::Queued || j.stale_reported {
                            return false;
                        }
                        j.stale_reported = true;
                        true
                    }),
                )
                .await;
            if matches!(marked, Ok(JobUpdate::Updated(_))) {
                let msg = format!("waiting {waited:.0}s for a worker; is any worker running?");
                tracing::warn!(job_id = %job.job_id, "{msg}");
                events::job_error(
                    jobs.platform.events.as_ref(),
                    &job.tenant_id,
                    &job.job_id,
                    Code::JobUnclaimed,
                    &msg,
                    false,
                )
                .await;
            }
        }
    }
}
