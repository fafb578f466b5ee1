//! Knowledge-exploration jobs: start, watch, pause, resume, cancel, read results, query what was
//! found. The REST API, the MCP tools and the `crawl` command all go through [`Jobs`]. Jobs are
//! run by workers taking job ids from the platform's queue ([`worker`]); each run crawls with
//! [`runner`].

pub mod events;
mod pace;
pub mod page;
pub mod politeness;
mod query;
pub mod run;
pub mod runner;
pub mod view;
pub mod webhooks;
mod worker;

pub use view::*;

use crate::fetch::{FetchConfig, Fetcher};
use platform::jobs::{JobOptions, JobRecord, JobStatus};
use platform::netguard;
use platform::store::{JobUpdate, PageQuery, PageRecord};
use platform::tenant::public_job_id;
use platform::{EngineError, Platform, Renderer, Result, TenantId};
use politeness::HostGate;
use run::RunDeps;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The job service of one process: its API, and its workers.
pub struct Jobs {
    platform: Arc<Platform>,
    deps: Arc<RunDeps>,
    shutdown: CancellationToken,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    consumer_prefix: String,
    /// Held by a worker of this process from its tenant-limit check to its claim, so two of
    /// them never both see a tenant under `TENANT_MAX_JOBS` and both start a job.
    claiming: tokio::sync::Mutex<()>,
}

fn valid_job_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

fn bounded<T: PartialOrd + Copy + std::fmt::Display>(
    name: &str,
    value: Option<T>,
    default: T,
    min: T,
    max: T,
) -> Result<T> {
    let v = value.unwrap_or(default);
    if v < min || v > max {
        return Err(EngineError::InvalidRequest(format!(
            "`{name}` must be between {min} and {max}, not {v}"
        )));
    }
    Ok(v)
}

fn snippet(page: &PageRecord, text: Option<&str>) -> String {
    const LEN: usize = 300;
    let md = &page.markdown;
    let at = text
        .and_then(|t| {
            md.to_ascii_lowercase()
                .find(&t.to_ascii_lowercase())
                .map(|i| i.saturating_sub(80))
        })
        .unwrap_or(0);
    let mut start = at.min(md.len());
    while !md.is_char_boundary(start) {
        start -= 1;
    }
    let mut s: String = md[start..].chars().take(LEN).collect();
    if md[start..].chars().nth(LEN).is_some() {
        s.push('…');
    }
    s
}

impl Jobs {
    /// The job service on the backends, rendering with `renderer`; starts `config.jobs.workers`
    /// workers and, with the in-process queue, puts every unfinished job back in the queue.
    pub async fn start(
        platform: Arc<Platform>,
        renderer: Arc<dyn Renderer>,
        knowledge: Arc<crate::knowledge::Knowledge>,
    ) -> Result<Arc<Self>> {
        let cfg = &platform.config;
        let fetcher = Fetcher::new(FetchConfig {
            timeout: cfg.navigation_timeout,
            network: cfg.network.clone(),
            ..FetchConfig::default()
        })
        .map_err(|e| EngineError::Config(format!("HTTP client: {e}")))?;
        let deps = Arc::new(RunDeps {
            platform: platform.clone(),
            renderer,
            fetcher,
            gate: Arc::new(HostGate::new(cfg.jobs.per_host)),
            global: Arc::new(Semaphore::new(cfg.jobs.crawl_concurrency)),
            knowledge,
        });
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "host".into());
        let jobs = Arc::new(Self {
            platform: platform.clone(),
            deps,
            shutdown: CancellationToken::new(),
            tasks: Mutex::new(Vec::new()),
            consumer_prefix: format!("{host}-{}", std::process::id()),
            claiming: tokio::sync::Mutex::new(()),
        });
        if platform.queue.backend() == "in_process" {
            jobs.requeue_unfinished().await?;
        }
        let n = platform.config.jobs.workers;
        for i in 0..n {
            let handle = tokio::spawn(worker::work(jobs.clone(), i));
            jobs.tasks.lock().expect("tasks lock").push(handle);
        }
        let handle = tokio::spawn(worker::watch_queue(jobs.clone()));
        jobs.tasks.lock().expect("tasks lock").push(handle);
        let sender = Fetcher::new(FetchConfig {
            timeout: webhooks::send::TIMEOUT,
            network: cfg.network.clone(),
            ..FetchConfig::default()
        })
        .map_err(|e| EngineError::Config(format!("HTTP client: {e}")))?;
        let handle = tokio::spawn(webhooks::send::send_loop(
            platform.clone(),
            sender,
            jobs.shutdown.clone(),
        ));
        jobs.tasks.lock().expect("tasks lock").push(handle);
        Ok(jobs)
    }

    /// Put jobs that were queued or running when the process stopped back in the queue.
    async fn requeue_unfinished(&self) -> Result<()> {
        let store = &self.platform.store;
        let open = store
            .list_jobs(
                None,
                &[JobStatus::Pending, JobStatus::Queued, JobStatus::Running],
                100_000,
            )
            .await?;
        for job in open.into_iter().rev() {
            let was_running = job.status == JobStatus::Running;
            self.platform
                .update_job(
                    &job.job_id,
                    None,
                    Box::new(move |j| {
                        if j.status.is_terminal() || j.status == JobStatus::Paused {
                            return false;
                        }
                        if was_running {
                            // Stopped mid-run: not counted as a failed attempt.
                            j.attempts = j.attempts.saturating_sub(1);
                            j.run_id = None;
                        }
                        j.set_status(JobStatus::Queued, Some("resumed after a restart".into()));
                        true
                    }),
                )
                .await?;
            self.platform.queue.enqueue(&job.job_id).await?;
            tracing::info!(job_id = %job.job_id, "job resumed after a restart");
        }
        Ok(())
    }

    /// The caller's job by the id the caller knows it by (its record's `job_id` is the stored
    /// key, see [`TenantId::job_key`]). Another tenant's job of the same name is not found.
    async fn owned(&self, tenant: &TenantId, job_id: &str) -> Result<JobRecord> {
        let store = &self.platform.store;
        if let Some(job) = store.get_job(Some(tenant), &tenant.job_key(job_id)).await? {
            return Ok(job);
        }
        // Jobs stored before ids were per tenant keep their bare id (still the tenant's own).
        if !tenant.is_local() && valid_job_id(job_id) {
            if let Some(job) = store.get_job(Some(tenant), job_id).await? {
                return Ok(job);
            }
        }
        Err(EngineError::JobNotFound(job_id.to_string()))
    }

    /// Start a job: validate, store, queue. Answers with the job in `queued`.
    pub async fn start_job(&self, tenant: &TenantId, req: StartRequest) -> Result<JobView> {
        let url = netguard::parse_target(&req.start_url)?;
        if url.scheme() == "about" {
            return Err(EngineError::InvalidUrl(
                "`start_url` must be an http or https URL".into(),
            ));
        }
        netguard::check_url(&url, &self.platform.config.network).await?;
        let max_pages = bounded(
            "max_pages",
            req.max_pages,
            DEFAULT_MAX_PAGES,
            1,
            MAX_MAX_PAGES,
        )?;
        let max_depth = bounded(
            "max_depth",
            req.max_depth,
            DEFAULT_MAX_DEPTH,
            0,
            MAX_MAX_DEPTH,
        )?;
        let concurrency = bounded(
            "concurrency",
            req.concurrency,
            DEFAULT_CONCURRENCY,
            1,
            MAX_CONCURRENCY,
        )?;
        let job_id = self.new_job_id(req.job_id)?;
        let webhook = webhooks::check(req.webhook, &self.platform.config.network).await?;
        for p in req.include_patterns.iter().chain(&req.exclude_patterns) {
            if !p.starts_with('/') && !p.starts_with('*') {
                return Err(EngineError::InvalidRequest(format!(
                    "path pattern {p:?} must start with `/` or `*`"
                )));
            }
        }
        // Fetched as given (a server may answer `/docs/` and not `/docs`); only what counts as
        // seen is normalised.
        let mut start_url = url.clone();
        start_url.set_fragment(None);
        let options = JobOptions {
            start_url: start_url.to_string(),
            max_pages,
            max_depth,
            include_patterns: req.include_patterns,
            exclude_patterns: req.exclude_patterns,
            render: req.render,
            concurrency,
            file: None,
        };
        let mut job = JobRecord::new(tenant.job_key(&job_id), tenant.clone(), options);
        job.webhook = webhook;
        let queued = self.create(job).await?;
        tracing::info!(job_id = %job_id, start_url = %queued.options.start_url, "job queued");
        Ok(JobView::from_record(&queued, false))
    }

    /// Resync an exploration: a new job over the same site and options, comparing each page
    /// with the one the job named stored (see `runner::resync`). The job resynced must have
    /// finished; the new one records it as `resync_of`.
    pub async fn resync(&self, tenant: &TenantId, req: ResyncRequest) -> Result<JobView> {
        let previous = self.owned(tenant, &req.job_id).await?;
        if previous.kind != "exploration" {
            return Err(EngineError::InvalidRequest(format!(
                "job '{}' is a file ingestion; only explorations are resynced",
                req.job_id
            )));
        }
        if !previous.status.is_terminal() {
            return Err(EngineError::JobState(format!(
                "cannot resync job '{}': it is {}; resync it once it has finished",
                req.job_id,
                previous.status.as_str()
            )));
        }
        let url = netguard::parse_target(&previous.options.start_url)?;
        netguard::check_url(&url, &self.platform.config.network).await?;
        let webhook = match req.webhook {
            Some(w) => webhooks::check(Some(w), &self.platform.config.network).await?,
            None => previous.webhook.clone(),
        };
        let job_id = self.new_job_id(req.new_job_id)?;
        let mut job = JobRecord::new(
            tenant.job_key(&job_id),
            tenant.clone(),
            previous.options.clone(),
        );
        job.resync_of = Some(previous.job_id.clone());
        job.webhook = webhook;
        let queued = self.create(job).await?;
        tracing::info!(job_id = %job_id, resync_of = %req.job_id, "resync queued");
        Ok(JobView::from_record(&queued, false))
    }

    /// Store a new job (its `job_id` the tenant's key) and queue it. A job of that id is
    /// `JobExists`, named by the id its tenant knows it by.
    pub(crate) async fn create(&self, job: JobRecord) -> Result<JobRecord> {
        let key = job.job_id.clone();
        let span =
            tracing::info_span!("job", job_id = %public_job_id(&key), tenant = %job.tenant_id);
        let _g = span.enter();
        self.platform
            .store
            .insert_job(job)
            .await
            .map_err(|e| match e {
                EngineError::JobExists(_) => EngineError::JobExists(public_job_id(&key).into()),
                e => e,
            })?;
        self.queue(&key).await
    }

    /// The backends the jobs run on.
    pub(crate) fn platform(&self) -> &Arc<Platform> {
        &self.platform
    }

    /// A job id as asked (checked), or a new one: the id the caller knows the job by; it is
    /// stored under the tenant's [`TenantId::job_key`].
    pub(crate) fn new_job_id(&self, asked: Option<String>) -> Result<String> {
        match asked {
            Some(id) if valid_job_id(&id) => Ok(id),
            Some(id) => Err(EngineError::InvalidRequest(format!(
                "`job_id` {id:?} must be 1-128 of letters, digits, `-_.:`"
            ))),
            None => Ok(uuid::Uuid::new_v4().to_string()),
        }
    }

    /// Move a job to `queued` and hand it to the queue. A job the queue cannot take stays
    /// `pending` and is queued again by the queue watcher.
    pub(crate) async fn queue(&self, job_id: &str) -> Result<JobRecord> {
        let job = match self
            .platform
            .update_job(
                job_id,
                None,
                Box::new(|j| {
                    j.set_status(JobStatus::Queued, None);
                    true
                }),
            )
            .await?
        {
            JobUpdate::Updated(j) => j,
            _ => return Err(EngineError::JobNotFound(job_id.to_string())),
        };
        if let Err(e) = self.platform.queue.enqueue(job_id).await {
            self.platform
                .update_job(
                    job_id,
                    None,
                    Box::new(|j| {
                        j.set_status(
                            JobStatus::Pending,
                            Some("the job queue is unavailable".into()),
                        );
                        true
                    }),
                )
                .await?;
            return Err(e);
        }
        Ok(job)
    }

    /// A job's status, progress and counters.
    pub async fn status(&self, tenant: &TenantId, job_id: &str) -> Result<JobView> {
        let job = self.owned(tenant, job_id).await?;
        let mut view = JobView::from_record(&job, true);
        view.pages_indexed = Some(self.platform.store.indexed_pages(&job.job_id).await?);
        view.webhook = webhooks::view(&self.platform, &job).await?;
        Ok(view)
    }

    /// Apply a status change the owner asked for.
    async fn change(
        &self,
        tenant: &TenantId,
        job_id: &str,
        verb: &'static str,
        change: fn(&mut JobRecord) -> std::result::Result<bool, String>,
    ) -> Result<(JobRecord, bool)> {
        let key = self.owned(tenant, job_id).await?.job_id;
        let refused: Arc<Mutex<Option<String>>> = Arc::default();
        let r = refused.clone();
        let update = self
            .platform
            .update_job(
                &key,
                None,
                Box::new(move |j| match change(j) {
                    Ok(changed) => changed,
                    Err(why) => {
                        *r.lock().expect("lock") = Some(why);
                        false
                    }
                }),
            )
            .await?;
        if let Some(why) = refused.lock().expect("lock").take() {
            return Err(EngineError::JobState(format!(
                "cannot {verb} job '{job_id}': {why}"
            )));
        }
        match update {
            JobUpdate::Updated(j) => Ok((j, true)),
            JobUpdate::Unchanged(j) => Ok((j, false)),
            JobUpdate::Missing => Err(EngineError::JobNotFound(job_id.to_string())),
        }
    }

    /// Pause a queued or running job; it keeps its place and resumes where it was.
    pub async fn pause(&self, tenant: &TenantId, job_id: &str) -> Result<JobView> {
        let (job, _) = self
            .change(tenant, job_id, "pause", |j| match j.status {
                JobStatus::Paused => Ok(false),
                s if s.is_terminal() => Err(format!("it is {}", s.as_str())),
                _ => {
                    j.set_status(JobStatus::Paused, None);
                    Ok(true)
                }
            })
            .await?;
        events::progress(self.platform.events.as_ref(), &job).await;
        Ok(JobView::from_record(&job, false))
    }

    /// Resume a paused job (or retry a failed one) where it stopped.
    pub async fn resume(&self, tenant: &TenantId, job_id: &str) -> Result<JobView> {
        let (job, changed) = self
            .change(tenant, job_id, "resume", |j| match j.status {
                JobStatus::Paused => {
                    j.set_status(JobStatus::Pending, Some("resumed".into()));
                    Ok(true)
                }
                JobStatus::Failed => {
                    j.attempts = 0;
                    j.error = None;
                    j.finished_at = None;
                    j.set_status(JobStatus::Pending, Some("retried".into()));
                    Ok(true)
                }
                JobStatus::Queued | JobStatus::Running | JobStatus::Pending => Ok(false),
                s => Err(format!("it is {}", s.as_str())),
            })
            .await?;
        if !changed {
            return Ok(JobView::from_record(&job, false));
        }
        let job = self.queue(&job.job_id).await?;
        Ok(JobView::from_record(&job, false))
    }

    /// Cancel a job for good; pages stored so far stay.
    pub async fn cancel(&self, tenant: &TenantId, job_id: &str) -> Result<JobView> {
        let (job, _) = self
            .change(tenant, job_id, "cancel", |j| match j.status {
                JobStatus::Cancelled => Ok(false),
                s if s.is_terminal() => Err(format!("it is {}", s.as_str())),
                _ => {
                    j.set_status(JobStatus::Cancelled, None);
                    Ok(true)
                }
            })
            .await?;
        events::progress(self.platform.events.as_ref(), &job).await;
        Ok(JobView::from_record(&job, false))
    }

    /// The caller's jobs, newest first.
    pub async fn list(&self, tenant: &TenantId, req: ListRequest) -> Result<JobList> {
        let statuses = match req.status.as_deref() {
            None | Some("") | Some("all") => Vec::new(),
            Some(s) => vec![JobStatus::parse(s).ok_or_else(|| {
                EngineError::InvalidRequest(format!(
                    "`status` must be one of pending, queued, running, paused, completed, failed, cancelled; not {s:?}"
                ))
            })?],
        };
        let limit = bounded("limit", req.limit, 50, 1, 500)?;
        let store = &self.platform.store;
        let jobs = match req.start_url.as_deref() {
            None => store.list_jobs(Some(tenant), &statuses, limit).await?,
            Some(u) => {
                // As `start_job` keeps it (parsed, fragment dropped); anything else matches as
                // given, which no job has.
                let key = netguard::parse_target(u)
                    .map(|mut url| {
                        url.set_fragment(None);
                        url.to_string()
                    })
                    .unwrap_or_else(|_| u.to_string());
                let mut syncs = store.list_jobs_from(tenant, &key, limit).await?;
                syncs.retain(|j| statuses.is_empty() || statuses.contains(&j.status));
                syncs
            }
        };
        Ok(JobList {
            jobs: jobs
                .iter()
                .map(|j| JobView::from_record(j, false))
                .collect(),
        })
    }

    /// One page of a job's stored pages.
    pub async fn results(
        &self,
        tenant: &TenantId,
        job_id: &str,
        req: ResultsRequest,
    ) -> Result<ResultsPage> {
        let job = self.owned(tenant, job_id).await?;
        let limit = bounded("limit", req.limit, 20, 1, 100)?;
        let offset = req.offset.unwrap_or(0);
        let max_chars = bounded("max_chars", req.max_chars, 20_000, 0, 1_000_000)?;
        let pages = self
            .platform
            .store
            .list_pages(
                tenant,
                &PageQuery {
                    job_id: Some(job.job_id.clone()),
                    outcome: req.outcome.unwrap_or_default(),
                    offset,
                    limit,
                    ..Default::default()
                },
            )
            .await?;
        let next = offset + pages.items.len() as u64;
        Ok(ResultsPage {
            job_id: public_job_id(&job.job_id).to_string(),
            status: job.status,
            total: pages.total,
            offset,
            limit,
            next_offset: (next < pages.total).then_some(next),
            pages: pages
                .items
                .into_iter()
                .map(|p| PageView::new(p, max_chars))
                .collect(),
        })
    }

    /// Semantic search over the caller's knowledge (a job it names must be its own).
    pub async fn search(
        &self,
        tenant: &TenantId,
        mut req: crate::knowledge::SearchRequest,
    ) -> Result<crate::knowledge::SearchAnswer> {
        if let Some(job_id) = &req.job_id {
            req.job_id = Some(self.owned(tenant, job_id).await?.job_id);
        }
        self.deps.knowledge.search(tenant, req).await
    }

    /// The knowledge service (passages, embeddings, search).
    pub fn knowledge(&self) -> &Arc<crate::knowledge::Knowledge> {
        &self.deps.knowledge
    }

    /// Stop the workers: runs in progress checkpoint and go back to the queue (their pages in
    /// flight get a few seconds to finish); indexing stops too (pages not embedded yet are embedded
    /// at the next start).
    pub async fn shutdown(&self) {
        self.shutdown.cancel();
        let tasks: Vec<_> = self.tasks.lock().expect("tasks lock").drain(..).collect();
        for t in tasks {
            let _ = t.await;
        }
        self.deps.knowledge.shutdown();
    }
}
