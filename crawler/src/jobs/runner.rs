//! One run of a crawl job: breadth-first over the frontier, a few pages at once, each page
//! stored once, the frontier checkpointed in the store so that the next run (after a pause, a
//! restart or a crashed worker) goes on where this one stopped.

mod links;
mod resync;

use super::pace::Pace;
use super::page::{is_site_down, Crawled, PageJob};
use super::politeness::{host_key, RetryBudget};
use super::run::{RunDeps, RunError, RunOutcome};
use super::{events, webhooks};
use crate::frontier::{Entry, Frontier, Offer, Scope};
use crate::robots::Robots;
use crate::sitemap;
use crate::urlnorm::normalize;
use platform::jobs::{JobRecord, JobStatus};
use platform::store::{JobUpdate, LinkQuery, PageChange, PageRecord};
use platform::telemetry::PageCrawled;
use platform::{Code, RenderScope};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use url::Url;

/// The user agent robots.txt rules are matched against.
pub const ROBOTS_AGENT: &str = "browser-automation-service";
/// How often a run looks at its job's status (pause, cancel) while pages are in flight.
const CONTROL_EVERY: Duration = Duration::from_millis(250);
/// Checkpoints (and progress events) at most this often.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);
/// How long a run interrupted by shutdown lets its pages in flight finish.
const DRAIN: Duration = Duration::from_secs(10);
/// Most sitemap documents read per job, and most URLs taken from them.
const SITEMAP_DOCS: usize = 10;
const SITEMAP_URLS: usize = 50_000;

struct Run<'a> {
    deps: &'a RunDeps,
    /// This run's renderer: its pages' contexts live as long as the run.
    renderer: Arc<dyn RenderScope>,
    job: JobRecord,
    run_id: String,
    start: Url,
    frontier: Frontier,
    crawl_delay: Option<Duration>,
    in_flight: HashMap<String, Entry>,
    reported_external: HashSet<String>,
    rejected: HashSet<String>,
    retries: RetryBudget,
    base_secs: f64,
    started: Instant,
    last_checkpoint: Instant,
}

/// Crawl a job that was moved to `running` with `run_id`, until it completes, is paused or
/// cancelled, the process shuts down, or it fails.
pub async fn run(
    deps: &RunDeps,
    job: JobRecord,
    run_id: String,
    shutdown: CancellationToken,
) -> Result<RunOutcome, RunError> {
    let start = Url::parse(&job.options.start_url).map_err(|e| RunError {
        permanent: false,
        code: Code::InvalidUrl,
        message: format!("{}: {e}", job.options.start_url),
    })?;
    let store = &deps.platform.store;
    let snapshot = store.load_frontier(&job.job_id).await?;
    let resumed = snapshot.is_some();
    let frontier = match snapshot.and_then(|s| serde_json::from_str::<Frontier>(&s).ok()) {
        Some(f) => f,
        None => Frontier::new(
            &start,
            Scope {
                max_pages: job.options.max_pages,
                max_depth: job.options.max_depth,
                include: job.options.include_patterns.clone(),
                exclude: job.options.exclude_patterns.clone(),
            },
        ),
    };
    let reported_external = store
        .list_links(
            &job.tenant_id,
            &LinkQuery {
                job_id: Some(job.job_id.clone()),
                external: Some(true),
                limit: 100_000,
                ..Default::default()
            },
        )
        .await?
        .items
        .into_iter()
        .map(|l| l.to_url)
        .collect();
    let mut run = Run {
        deps,
        renderer: deps.renderer.scope(),
        base_secs: job.run_secs,
        job,
        run_id,
        start,
        frontier,
        crawl_delay: None,
        in_flight: HashMap::new(),
        reported_external,
        rejected: HashSet::new(),
        retries: RetryBudget::default(),
        started: Instant::now(),
        last_checkpoint: Instant::now(),
    };
    run.read_robots_and_sitemaps(!resumed).await?;
    if !resumed {
        run.seed_from_previous().await?;
    }
    run.crawl(shutdown).await
}

impl Run<'_> {
    fn origin(&self, path: &str) -> Option<Url> {
        self.start.join(path).ok()
    }

    /// Apply robots.txt (every run: rules are not stored) and, on the first run, offer the pages
    /// the sitemaps list. A site that cannot be reached at all fails the run (it is retried).
    async fn read_robots_and_sitemaps(&mut self, first_run: bool) -> Result<(), RunError> {
        let mut sitemaps = Vec::new();
        if let Some(robots_url) = self.origin("/robots.txt") {
            match self.deps.fetcher.get(&robots_url).await {
                Ok(f) if f.status == 200 => {
                    let robots = Robots::parse(&f.text, ROBOTS_AGENT);
                    self.crawl_delay = robots.crawl_delay;
                    sitemaps.extend(robots.sitemaps.clone());
                    self.frontier.set_robots(robots);
                }
                Ok(_) => {}
                Err(e) if matches!(e.code(), Code::NetworkError | Code::Timeout) => {
                    return Err(RunError {
                        permanent: false,
                        code: Code::SiteUnreachable,
                        message: format!("{} cannot be reached: {e}", self.start),
                    });
                }
                Err(e) => tracing::debug!(error = %e, "robots.txt not read"),
            }
        }
        if !first_run {
            return Ok(());
        }
        if let Some(u) = self.origin("/sitemap.xml") {
            sitemaps.push(u.to_string());
        }
        let mut read = HashSet::new();
        let mut found = 0usize;
        while let Some(next) = sitemaps.pop() {
            if read.len() >= SITEMAP_DOCS || !read.insert(next.clone()) {
                continue;
            }
            let Ok(url) = Url::parse(&next) else { continue };
            if !crate::urlnorm::same_site(&self.start, &url) {
                continue;
            }
            let Ok(f) = self.deps.fetcher.get(&url).await else {
                continue;
            };
            if f.status != 200 {
                continue;
            }
            let map = sitemap::parse(&f.text, SITEMAP_URLS - found);
            sitemaps.extend(map.sitemaps);
            for page in map.pages {
                found += 1;
                if let Ok(u) = Url::parse(&page) {
                    self.offer(&u, 1);
                }
            }
        }
        Ok(())
    }

    /// Offer a URL to the frontier, counting what it rejects once per URL.
    fn offer(&mut self, url: &Url, depth: u32) -> Offer {
        let offer = self.frontier.offer(url, depth);
        if matches!(
            offer,
            Offer::TooDeep | Offer::Excluded | Offer::Disallowed | Offer::LimitReached
        ) && self.rejected.insert(normalize(url).to_string())
        {
            self.job.counters.pages_skipped += 1;
        }
        offer
    }

    /// Crawl until the frontier is empty, the owner pauses or cancels, the service shuts down
    /// (pages in flight get a moment to finish), or the run stalls.
    async fn crawl(&mut self, shutdown: CancellationToken) -> Result<RunOutcome, RunError> {
        let mut tasks: JoinSet<(Entry, Crawled)> = JoinSet::new();
        let mut pace = Pace::new(self.stall_limit());
        loop {
            if !self.in_flight.is_empty() && pace.last_progress.elapsed() > pace.stall_limit {
                tasks.abort_all();
                return Err(RunError {
                    permanent: false,
                    code: Code::Stalled,
                    message: format!(
                        "no page finished in {}s; the run was stopped",
                        pace.stall_limit.as_secs()
                    ),
                });
            }
            if pace.stop.is_none() {
                pace.stop = self.check_stop(&shutdown, &mut pace).await?;
                if pace.must_abort() {
                    tasks.abort_all();
                }
            }
            if pace.stop.is_none() {
                self.fill(&mut tasks).await?;
            }
            if self.in_flight.is_empty() {
                break;
            }
            let deadline = pace.drain_deadline;
            tokio::select! {
                joined = tasks.join_next() => self.joined(joined, &mut tasks, &mut pace).await?,
                _ = tokio::time::sleep(CONTROL_EVERY) => {},
                _ = shutdown.cancelled(), if pace.stop.is_none() => {},
                _ = async { tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)).await }, if deadline.is_some() => {
                    tasks.abort_all();
                    break;
                }
            }
            if pace.must_abort() {
                break;
            }
        }
        tasks.abort_all();
        self.conclude(pace.stop).await
    }

    /// How long a run may go without any page finishing: every page has its own deadline, so
    /// a run where none finishes for much longer than those deadlines (and the politeness
    /// waits) allow is stuck, and fails its attempt.
    fn stall_limit(&self) -> Duration {
        let concurrency = self.job.options.concurrency.max(1);
        self.deps.platform.config.navigation_timeout * 3
            + super::politeness::MAX_CRAWL_DELAY * concurrency as u32
            + crate::fetch::MAX_RETRY_AFTER
            + Duration::from_secs(60)
    }

    /// Whether the run must stop: the service shuts down (pages in flight may drain), or, looked
    /// up every [`CONTROL_EVERY`], the owner paused or cancelled or another run took over.
    async fn check_stop(
        &self,
        shutdown: &CancellationToken,
        pace: &mut Pace,
    ) -> Result<Option<RunOutcome>, RunError> {
        if shutdown.is_cancelled() {
            pace.drain_deadline = Some(tokio::time::Instant::now() + DRAIN);
            return Ok(Some(RunOutcome::Interrupted));
        }
        if pace.last_control.elapsed() >= CONTROL_EVERY {
            pace.last_control = Instant::now();
            return self.control().await;
        }
        Ok(None)
    }

    /// Start pages from the frontier until `concurrency` are in flight.
    async fn fill(&mut self, tasks: &mut JoinSet<(Entry, Crawled)>) -> Result<(), RunError> {
        let concurrency = self.job.options.concurrency.max(1);
        while self.in_flight.len() < concurrency {
            let Some(entry) = self.frontier.pop() else {
                break;
            };
            let store = &self.deps.platform.store;
            if store.has_page(&self.job.job_id, &entry.url).await? {
                // Stored by an earlier run after its last checkpoint: take its links from the
                // store instead of fetching it again.
                self.reoffer_stored_links(&entry).await?;
                continue;
            }
            self.spawn(tasks, entry);
        }
        Ok(())
    }

    /// A page task ended: finish its page.
    async fn joined(
        &mut self,
        joined: Option<Result<(Entry, Crawled), tokio::task::JoinError>>,
        tasks: &mut JoinSet<(Entry, Crawled)>,
        pace: &mut Pace,
    ) -> Result<(), RunError> {
        match joined {
            Some(Ok((entry, crawled))) => {
                pace.last_progress = Instant::now();
                if let Some(outcome) = self.finish_page(entry, crawled).await? {
                    tasks.abort_all();
                    self.in_flight.clear();
                    pace.stop = Some(outcome);
                }
            }
            Some(Err(e)) if e.is_cancelled() => {}
            Some(Err(e)) => {
                return Err(RunError {
                    permanent: false,
                    code: Code::Internal,
                    message: format!("page task failed: {e}"),
                })
            }
            None => self.in_flight.clear(),
        }
        Ok(())
    }

    /// Save where the run ended: pages still in flight (interrupted) go back to the head of the
    /// queue; a run that emptied its frontier completes.
    async fn conclude(&mut self, stop: Option<RunOutcome>) -> Result<RunOutcome, RunError> {
        match stop {
            Some(RunOutcome::Superseded) => Ok(RunOutcome::Superseded),
            Some(outcome) => {
                self.checkpoint(true).await?;
                Ok(outcome)
            }
            None => {
                self.in_flight.clear();
                self.job.current_url = None;
                self.checkpoint(true).await?;
                Ok(RunOutcome::Completed)
            }
        }
    }

    fn spawn(&mut self, tasks: &mut JoinSet<(Entry, Crawled)>, entry: Entry) {
        self.in_flight.insert(entry.url.clone(), entry.clone());
        self.job.current_url = Some(entry.url.clone());
        let renderer = self.renderer.clone();
        let fetcher = self.deps.fetcher.clone();
        let gate = self.deps.gate.clone();
        let global = self.deps.global.clone();
        let start = self.start.clone();
        let tenant = self.job.tenant_id.clone();
        let job_id = self.job.job_id.clone();
        let render = self.job.options.render;
        let delay = self.crawl_delay;
        let platform = self.deps.platform.clone();
        let resync_of = self.job.resync_of.clone();
        tasks.spawn(async move {
            let previous =
                resync::previous_page(&platform, &tenant, resync_of.as_deref(), &entry.url).await;
            let url = Url::parse(entry.fetch_url()).expect("frontier URLs parse");
            // The host first: a page waiting for its host (a crawl delay, a `Retry-After`)
            // holds none of the slots pages of other hosts need.
            let _host = gate.acquire(&host_key(&url), delay).await;
            let _global = global.acquire_owned().await.expect("never closed");
            let job = PageJob {
                renderer: renderer.as_ref(),
                fetcher: &fetcher,
                start: &start,
                tenant: &tenant,
                job_id: &job_id,
                render,
                resync: resync_of.is_some(),
            };
            let started = std::time::Instant::now();
            let crawled = job.crawl(&url, entry.depth, previous.as_ref()).await;
            platform.telemetry.record(PageCrawled {
                job_id: &job_id,
                url: &crawled.record.url,
                failed: crawled.record.error.as_ref().map(|e| e.code),
                elapsed: started.elapsed(),
            });
            (entry, crawled)
        });
    }

    /// Look at the job as stored: paused or cancelled by its owner, or taken over by another run.
    async fn control(&self) -> Result<Option<RunOutcome>, RunError> {
        let job = self
            .deps
            .platform
            .store
            .get_job(None, &self.job.job_id)
            .await?;
        Ok(match job {
            None => Some(RunOutcome::Cancelled),
            Some(j) if j.run_id.as_deref() != Some(&self.run_id) => Some(RunOutcome::Superseded),
            Some(j) => match j.status {
                JobStatus::Paused => Some(RunOutcome::Paused),
                JobStatus::Cancelled => Some(RunOutcome::Cancelled),
                JobStatus::Running => None,
                // Failed or completed behind our back: someone else decided.
                _ => Some(RunOutcome::Superseded),
            },
        })
    }

    /// Store a crawled page and its links, offer its links, count, report. Returns an outcome
    /// when the run must stop.
    async fn finish_page(
        &mut self,
        entry: Entry,
        crawled: Crawled,
    ) -> Result<Option<RunOutcome>, RunError> {
        self.in_flight.remove(&entry.url);
        if let Some(wait) = crawled.retry_after {
            if self.retries.take(&entry.url) {
                // The host asked for a pause: hold it (this job's other pages to it wait too,
                // other hosts go on) and try the page again.
                if let Ok(url) = Url::parse(entry.fetch_url()) {
                    self.deps.gate.hold(&host_key(&url), wait);
                }
                self.frontier.requeue(entry);
                return Ok(None);
            }
        }
        let Crawled {
            record,
            mut links,
            off_site,
            carried,
            ..
        } = crawled;
        self.check_site_up(&entry, &record)?;
        if record.url != entry.url && self.known_redirect(&record) {
            // A redirect to a page the crawl already has: nothing new.
            self.job.counters.pages_skipped += 1;
            return self.after_page().await;
        }
        if !self.deps.platform.store.put_page(record.clone()).await? {
            self.job.counters.pages_skipped += 1;
            return self.after_page().await;
        }
        if carried {
            links = self.carried_links(&record).await?;
        }
        let external = self
            .store_links(&record, &links, off_site, entry.depth)
            .await?;
        let bus = self.deps.platform.events.as_ref();
        for (to, text) in external {
            if self.reported_external.insert(to.clone()) {
                self.job.counters.external_links += 1;
                events::external_link(bus, &self.job, &record.url, &to, &text).await;
            }
        }
        if record.ok {
            self.settle_content(&record).await?;
        } else if record.change == Some(PageChange::Removed) {
            self.settle_removed(&record).await?;
        } else {
            self.job.counters.pages_failed += 1;
            events::page_error(bus, &self.job, &record).await;
        }
        events::page_completed(bus, &self.job, &record).await;
        webhooks::page_completed(&self.deps.platform, &self.job, &record).await;
        self.after_page().await
    }

    /// The start page failing to load at all, on the first run: the site is down, which is
    /// worth another attempt later rather than a job of one failed page.
    fn check_site_up(&mut self, entry: &Entry, record: &PageRecord) -> Result<(), RunError> {
        if entry.depth != 0
            || !is_site_down(record)
            || self.job.counters.pages_completed != 0
            || self.job.counters.pages_failed != 0
        {
            return Ok(());
        }
        let message = record
            .error
            .as_ref()
            .map(|e| e.message.clone())
            .unwrap_or_else(|| "the start page did not load".into());
        self.frontier.requeue(entry.clone());
        Err(RunError {
            permanent: false,
            code: Code::SiteUnreachable,
            message,
        })
    }

    /// Whether a redirected page landed on a page the crawl already has; otherwise its final
    /// URL is marked seen.
    fn known_redirect(&mut self, record: &PageRecord) -> bool {
        let final_url = Url::parse(&record.url).ok();
        if record.ok
            && final_url
                .as_ref()
                .is_some_and(|u| self.frontier.contains(u))
        {
            return true;
        }
        if let Some(u) = final_url {
            self.frontier.mark_seen(&u);
        }
        false
    }

    async fn after_page(&mut self) -> Result<Option<RunOutcome>, RunError> {
        let due = self.last_checkpoint.elapsed() >= CHECKPOINT_EVERY || self.in_flight.is_empty();
        if due && !self.checkpoint(false).await? {
            return Ok(Some(RunOutcome::Superseded));
        }
        Ok(None)
    }

    /// Store counters, progress and the frontier (with pages in flight put back at its head);
    /// false when another run has taken the job over.
    async fn checkpoint(&mut self, last: bool) -> Result<bool, RunError> {
        self.last_checkpoint = Instant::now();
        let mut snap = self.frontier.clone();
        for e in self.in_flight.values() {
            snap.requeue(e.clone());
        }
        self.job.counters.pages_queued = snap.queued() as u64;
        self.job.counters.pages_admitted = snap.admitted() as u64;
        self.job.run_secs = self.base_secs + self.started.elapsed().as_secs_f64();
        let frontier = serde_json::to_string(&snap).map_err(|e| RunError {
            permanent: false,
            code: Code::Internal,
            message: format!("frontier snapshot: {e}"),
        })?;
        let run_id = self.run_id.clone();
        let counters = self.job.counters.clone();
        let current = self.job.current_url.clone();
        let run_secs = self.job.run_secs;
        let update = self
            .deps
            .platform
            .update_job(
                &self.job.job_id,
                Some(frontier),
                Box::new(move |j| {
                    if j.run_id.as_deref() != Some(&run_id) {
                        return false;
                    }
                    j.counters = counters;
                    j.current_url = current;
                    j.run_secs = run_secs;
                    true
                }),
            )
            .await?;
        match update {
            JobUpdate::Updated(j) => {
                if !last || j.status == JobStatus::Running {
                    events::progress(self.deps.platform.events.as_ref(), &j).await;
                }
                self.job.status = j.status;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}
