//! The Chromium pool: a few browser processes, each hosting many sessions in their own incognito
//! contexts. A supervisor watches every browser; one that crashes or stops answering is killed
//! (with its whole process group), its sessions are told, and a replacement is started.

mod lease;
mod opening;
pub mod process;
pub mod raw;

pub use lease::PageLease;

use chromiumoxide::cdp::browser_protocol::browser::CloseParams;
use chromiumoxide::cdp::browser_protocol::target::{GetBrowserContextsParams, GetTargetsParams};
use chromiumoxide::handler::HandlerConfig;
use chromiumoxide::Browser;
use futures::StreamExt;
use opening::{open_page, prepare, OpenedPage};
use platform::egress::{self, Egress, EgressPort};
use platform::error::{EngineError, Result};
use platform::netguard::NetPolicy;
use process::ChromiumProcess;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

/// The longest a spare page's opening waits for sessions' first documents to load (see
/// [`BrowserPool::first_load`]).
pub const TOP_UP_HOLD: Duration = Duration::from_secs(2);

/// How the pool is sized and where its browsers live.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// The Chromium executable.
    pub executable: PathBuf,
    /// Profile directories are created under this directory.
    pub profile_root: PathBuf,
    /// Most browser processes at once.
    pub max_browsers: usize,
    /// Most sessions one browser hosts.
    pub sessions_per_browser: usize,
    /// Browsers kept started and ready even when idle.
    pub warm_browsers: usize,
    /// Blank pages (each in its own fresh incognito context) kept ready per browser.
    pub spare_pages: usize,
    /// How often each browser is asked whether it is alive.
    pub health_interval: Duration,
    /// How long a browser may take to answer before it counts as hung.
    pub health_timeout: Duration,
    /// What pages may reach, enforced by the egress proxy every browser sends its traffic
    /// through.
    pub network: NetPolicy,
    /// Whether pages may use WebRTC over UDP outside the proxy.
    pub webrtc_udp: bool,
}

/// A browser that died, and why.
#[derive(Debug, Clone)]
pub struct BrowserDeath {
    /// The pool's id for the browser.
    pub browser_id: u64,
    /// What happened.
    pub reason: String,
}

/// One browser process in the pool.
pub struct BrowserSlot {
    id: u64,
    pid: u32,
    ws_url: String,
    browser: Browser,
    process: tokio::sync::Mutex<ChromiumProcess>,
    alive: AtomicBool,
    leased: AtomicUsize,
    /// Incognito contexts with a blank page, opened ahead of demand so a session starts without
    /// waiting for Chromium to create and initialise a target.
    spares: Mutex<Vec<OpenedPage>>,
    /// The egress proxy listener the browser as a whole was started with.
    _proxy: EgressPort,
    /// The DevTools port, protected from pages while the browser lives.
    devtools_port: Option<u16>,
    replenishing: AtomicBool,
    handler: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl BrowserSlot {
    /// The pool's id for this browser.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Whether the browser is believed alive.
    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::SeqCst)
    }

    /// The chromiumoxide handle.
    pub fn browser(&self) -> &Browser {
        &self.browser
    }

    /// The DevTools WebSocket URL of one of this browser's targets.
    pub fn target_ws_url(&self, target_id: &str) -> String {
        match self.ws_url.find("/devtools/browser/") {
            Some(i) => format!("{}/devtools/page/{target_id}", &self.ws_url[..i]),
            None => self.ws_url.clone(),
        }
    }
}

/// What one browser reports about itself, counted by Chromium, not by the pool.
#[derive(Debug, Clone, Serialize)]
pub struct BrowserReport {
    /// The pool's id.
    pub id: u64,
    /// Operating-system process id.
    pub pid: u32,
    /// Sessions the pool has placed on it.
    pub leased_sessions: usize,
    /// Incognito contexts Chromium reports.
    pub contexts: usize,
    /// Page targets in those contexts Chromium reports.
    pub pages: usize,
    /// Of those, blank pages kept ready for the next sessions (one context each).
    pub spare_pages: usize,
}

/// The pool's state, for health and for leak checks.
#[derive(Debug, Clone, Serialize)]
pub struct PoolReport {
    /// Browsers running.
    pub browsers: Vec<BrowserReport>,
    /// Browsers replaced after a crash or hang since start.
    pub replaced: u64,
}

struct PoolState {
    slots: Vec<Arc<BrowserSlot>>,
}

/// The pool of Chromium processes.
pub struct BrowserPool {
    cfg: PoolConfig,
    state: Mutex<PoolState>,
    launch_lock: tokio::sync::Mutex<()>,
    next_id: AtomicU64,
    replaced: AtomicU64,
    closed: AtomicBool,
    deaths: broadcast::Sender<BrowserDeath>,
    dead_tx: mpsc::UnboundedSender<BrowserDeath>,
    egress: Arc<Egress>,
    /// Sessions whose first document is loading ([`FirstLoad`]).
    first_loads: AtomicUsize,
}

/// Held while a session's first document loads: no spare page is opened meanwhile (on two
/// cores, opening one beside the load takes a third of the start's time), for at most
/// [`TOP_UP_HOLD`].
pub struct FirstLoad(std::sync::Weak<BrowserPool>);

impl Drop for FirstLoad {
    fn drop(&mut self) {
        if let Some(pool) = self.0.upgrade() {
            pool.first_loads.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl BrowserPool {
    /// Create the pool and start its supervisor and warm browsers.
    pub async fn start(cfg: PoolConfig) -> Result<Arc<Self>> {
        if !cfg.executable.exists() {
            return Err(EngineError::Config(format!(
                "CHROMIUM_PATH: {} does not exist",
                cfg.executable.display()
            )));
        }
        process::clean_stale_profiles(&cfg.profile_root);
        if process::running_as_root() {
            tracing::warn!("running as root: Chromium's sandbox is off (--no-sandbox); run the service as a non-root user to keep it on");
        } else {
            tracing::info!("Chromium's sandbox is on");
        }
        let (dead_tx, dead_rx) = mpsc::unbounded_channel();
        let egress = Egress::new(cfg.network.clone());
        let pool = Arc::new(Self {
            cfg,
            egress,
            state: Mutex::new(PoolState { slots: Vec::new() }),
            launch_lock: tokio::sync::Mutex::new(()),
            next_id: AtomicU64::new(1),
            replaced: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            first_loads: AtomicUsize::new(0),
            deaths: broadcast::channel(64).0,
            dead_tx,
        });
        for _ in 0..pool.cfg.warm_browsers.min(pool.cfg.max_browsers) {
            pool.launch().await?;
        }
        tokio::spawn(supervise(Arc::downgrade(&pool), dead_rx));
        Ok(pool)
    }

    /// The egress proxy every page's traffic goes through (to protect more of the service's
    /// own ports, such as the API's).
    pub fn egress(&self) -> &Arc<Egress> {
        &self.egress
    }

    /// Deaths of browsers, for the session manager.
    pub fn deaths(&self) -> broadcast::Receiver<BrowserDeath> {
        self.deaths.subscribe()
    }

    /// Most sessions the pool can host at once.
    pub fn capacity(&self) -> usize {
        self.cfg.max_browsers * self.cfg.sessions_per_browser
    }

    fn slots(&self) -> Vec<Arc<BrowserSlot>> {
        self.state.lock().expect("pool lock").slots.clone()
    }

    /// Start one more browser and add it to the pool.
    async fn launch(self: &Arc<Self>) -> Result<Arc<BrowserSlot>> {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let profile = self
            .cfg
            .profile_root
            .join(format!("browser-{}-{id}", std::process::id()));
        let proxy = self.egress.listen().await?;
        let proc = ChromiumProcess::launch(
            &self.cfg.executable,
            profile,
            &egress::chromium_flags(&proxy, self.cfg.webrtc_udp),
            Duration::from_secs(30),
        )
        .await?;
        let devtools_port = url::Url::parse(&proc.ws_url).ok().and_then(|u| u.port());
        if let Some(port) = devtools_port {
            self.egress.protect_port(port);
        }
        let handler_cfg = HandlerConfig {
            viewport: None,
            request_timeout: Duration::from_secs(60),
            ..HandlerConfig::default()
        };
        let (browser, mut handler) =
            match Browser::connect_with_config(proc.ws_url.clone(), handler_cfg).await {
                Ok(b) => b,
                Err(e) => {
                    let mut proc = proc;
                    proc.stop().await;
                    return Err(EngineError::BrowserUnavailable(format!(
                        "cannot connect to Chromium: {e}"
                    )));
                }
            };
        let pid = proc.pid;
        let ws_url = proc.ws_url.clone();
        let dead_tx = self.dead_tx.clone();
        let handler_task = tokio::spawn(async move {
            while let Some(event) = handler.next().await {
                if let Err(e) = event {
                    // Chromium sends a few events the CDP crate cannot parse; they are harmless.
                    tracing::trace!(browser_id = id, error = %e, "CDP handler message ignored");
                }
            }
            let _ = dead_tx.send(BrowserDeath {
                browser_id: id,
                reason: "the connection to Chromium closed".into(),
            });
        });
        let slot = Arc::new(BrowserSlot {
            id,
            pid,
            ws_url,
            browser,
            process: tokio::sync::Mutex::new(proc),
            alive: AtomicBool::new(true),
            leased: AtomicUsize::new(0),
            spares: Mutex::new(Vec::new()),
            _proxy: proxy,
            devtools_port,
            replenishing: AtomicBool::new(false),
            handler: Mutex::new(Some(handler_task)),
        });
        tracing::info!(browser_id = id, pid, "Chromium started");
        self.state
            .lock()
            .expect("pool lock")
            .slots
            .push(slot.clone());
        // Spare pages from the start, so even the first session does not wait for one.
        self.replenish(&slot);
        Ok(slot)
    }

    /// Reserve room for one session on the least-loaded live browser, starting a browser if
    /// all are full and the pool may grow.
    async fn reserve(self: &Arc<Self>) -> Result<Arc<BrowserSlot>> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(EngineError::BrowserUnavailable(
                "the pool is shutting down".into(),
            ));
        }
        if let Some(slot) = self.try_reserve() {
            return Ok(slot);
        }
        let _guard = self.launch_lock.lock().await;
        if let Some(slot) = self.try_reserve() {
            return Ok(slot);
        }
        if self.slots().len() >= self.cfg.max_browsers {
            return Err(EngineError::SessionLimit(self.capacity()));
        }
        let slot = self.launch().await?;
        slot.leased.fetch_add(1, Ordering::SeqCst);
        Ok(slot)
    }

    fn try_reserve(&self) -> Option<Arc<BrowserSlot>> {
        let state = self.state.lock().expect("pool lock");
        let slot = state
            .slots
            .iter()
            .filter(|s| {
                s.is_alive() && s.leased.load(Ordering::SeqCst) < self.cfg.sessions_per_browser
            })
            .min_by_key(|s| s.leased.load(Ordering::SeqCst))?
            .clone();
        slot.leased.fetch_add(1, Ordering::SeqCst);
        Some(slot)
    }

    /// Open a fresh incognito context with one blank page in it.
    pub async fn acquire(self: &Arc<Self>) -> Result<PageLease> {
        let mut last_err = None;
        for _ in 0..2 {
            let slot = self.reserve().await?;
            let spare = slot.spares.lock().expect("spares lock").pop();
            self.replenish(&slot);
            if let Some(opened) = spare {
                return Ok(PageLease::new(slot, opened));
            }
            match open_page(&slot, &self.egress).await {
                Ok(opened) => return Ok(PageLease::new(slot, opened)),
                Err(e) => {
                    slot.leased.fetch_sub(1, Ordering::SeqCst);
                    tracing::warn!(browser_id = slot.id, error = %e, "could not open a page");
                    if slot.is_alive() {
                        // Ask the supervisor to check it; a page that cannot open is a bad sign.
                        if tokio::time::timeout(self.cfg.health_timeout, slot.browser.version())
                            .await
                            .map(|r| r.is_err())
                            .unwrap_or(true)
                        {
                            self.report_dead(slot.id, "it failed to open a page and to answer");
                        } else {
                            return Err(e);
                        }
                    }
                    last_err = Some(e);
                }
            }
        }
        Err(last_err.unwrap_or_else(|| EngineError::BrowserUnavailable("no browser".into())))
    }

    /// A session's first document is about to load: spare pages wait until it has (see
    /// [`FirstLoad`]).
    pub fn first_load(self: &Arc<Self>) -> FirstLoad {
        self.first_loads.fetch_add(1, Ordering::SeqCst);
        FirstLoad(Arc::downgrade(self))
    }

    /// Wait until no session's first document is loading, or [`TOP_UP_HOLD`] passed.
    async fn quiet(&self) {
        let since = std::time::Instant::now();
        while self.first_loads.load(Ordering::SeqCst) > 0 && since.elapsed() < TOP_UP_HOLD {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Top up a browser's spare pages in the background (one replenisher per browser at a time),
    /// each once no session's first document is loading.
    fn replenish(self: &Arc<Self>, slot: &Arc<BrowserSlot>) {
        if self.cfg.spare_pages == 0 || slot.replenishing.swap(true, Ordering::SeqCst) {
            return;
        }
        let (pool, slot) = (Arc::downgrade(self), slot.clone());
        tokio::spawn(async move {
            loop {
                let Some(p) = pool.upgrade() else { break };
                p.quiet().await;
                let want = slot.spares.lock().expect("spares lock").len() < p.cfg.spare_pages;
                if !want || !slot.is_alive() || p.closed.load(Ordering::SeqCst) {
                    break;
                }
                let egress = p.egress.clone();
                drop(p);
                match open_page(&slot, &egress).await {
                    Ok(mut spare) => {
                        spare.prepared = prepare(&slot, &spare.page).await;
                        slot.spares.lock().expect("spares lock").push(spare)
                    }
                    Err(e) => {
                        tracing::warn!(browser_id = slot.id, error = %e, "could not open a spare page");
                        break;
                    }
                }
            }
            slot.replenishing.store(false, Ordering::SeqCst);
        });
    }

    /// Mark a browser dead (the supervisor kills and replaces it).
    pub fn report_dead(&self, browser_id: u64, reason: &str) {
        let _ = self.dead_tx.send(BrowserDeath {
            browser_id,
            reason: reason.to_string(),
        });
    }

    /// Kill a browser process by the pool's id, as a crash would (for tests and operators).
    pub fn kill_browser(&self, browser_id: u64) -> bool {
        match self.slots().into_iter().find(|s| s.id == browser_id) {
            Some(slot) => {
                process::kill_group(slot.pid);
                true
            }
            None => false,
        }
    }

    /// What every browser reports: contexts and pages as Chromium counts them.
    pub async fn report(&self) -> PoolReport {
        let mut browsers = Vec::new();
        for slot in self.slots().into_iter().filter(|s| s.is_alive()) {
            let t = Duration::from_secs(3);
            let contexts: Vec<_> =
                tokio::time::timeout(t, slot.browser.execute(GetBrowserContextsParams::default()))
                    .await
                    .ok()
                    .and_then(|r| r.ok())
                    .map(|r| r.result.browser_context_ids.clone())
                    .unwrap_or_default();
            // Pages in the contexts the pool created; Chromium's own first tab lives in the
            // default context, which `getBrowserContexts` does not list.
            let pages = tokio::time::timeout(t, slot.browser.execute(GetTargetsParams::default()))
                .await
                .ok()
                .and_then(|r| r.ok())
                .map(|r| {
                    r.result
                        .target_infos
                        .iter()
                        .filter(|t| t.r#type == "page")
                        .filter(|t| {
                            t.browser_context_id
                                .as_ref()
                                .is_some_and(|c| contexts.contains(c))
                        })
                        .count()
                })
                .unwrap_or(0);
            let contexts = contexts.len();
            browsers.push(BrowserReport {
                id: slot.id,
                pid: slot.pid,
                leased_sessions: slot.leased.load(Ordering::SeqCst),
                contexts,
                pages,
                spare_pages: slot.spares.lock().expect("spares lock").len(),
            });
        }
        PoolReport {
            browsers,
            replaced: self.replaced.load(Ordering::SeqCst),
        }
    }

    /// Whether at least one browser is alive.
    pub fn is_healthy(&self) -> bool {
        self.slots().iter().any(|s| s.is_alive())
    }

    /// Close every browser and wait for every process to be gone.
    pub async fn shutdown(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let slots = std::mem::take(&mut self.state.lock().expect("pool lock").slots);
        for slot in slots {
            slot.alive.store(false, Ordering::SeqCst);
            stop_slot(&slot, &self.egress).await;
        }
    }
}

async fn stop_slot(slot: &BrowserSlot, egress: &Egress) {
    let _ = tokio::time::timeout(
        Duration::from_secs(3),
        slot.browser.execute(CloseParams::default()),
    )
    .await;
    let mut proc = slot.process.lock().await;
    let _ = tokio::time::timeout(Duration::from_secs(3), proc.child.wait()).await;
    proc.stop().await;
    if let Some(task) = slot.handler.lock().expect("handler lock").take() {
        task.abort();
    }
    if let Some(port) = slot.devtools_port {
        egress.release_port(port);
    }
    tracing::info!(browser_id = slot.id, pid = slot.pid, "Chromium stopped");
}

/// Watch every browser: reap the dead, kill the hung, keep the warm ones warm.
async fn supervise(
    pool: std::sync::Weak<BrowserPool>,
    mut dead_rx: mpsc::UnboundedReceiver<BrowserDeath>,
) {
    let interval = match pool.upgrade() {
        Some(p) => p.cfg.health_interval,
        None => return,
    };
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let death = tokio::select! {
            d = dead_rx.recv() => match d { Some(d) => Some(d), None => return },
            _ = tick.tick() => None,
        };
        let Some(pool) = pool.upgrade() else { return };
        if pool.closed.load(Ordering::SeqCst) {
            return;
        }
        let mut dead = Vec::new();
        if let Some(d) = death {
            dead.push(d);
        } else {
            for slot in pool.slots() {
                let exited = slot.process.lock().await.has_exited();
                let answered = !exited
                    && matches!(
                        tokio::time::timeout(pool.cfg.health_timeout, slot.browser.version()).await,
                        Ok(Ok(_))
                    );
                if !answered {
                    dead.push(BrowserDeath {
                        browser_id: slot.id,
                        reason: if exited {
                            "the Chromium process exited".into()
                        } else {
                            format!(
                                "Chromium did not answer within {:?}",
                                pool.cfg.health_timeout
                            )
                        },
                    });
                }
            }
        }
        for d in dead {
            let slot = {
                let mut state = pool.state.lock().expect("pool lock");
                let pos = state.slots.iter().position(|s| s.id == d.browser_id);
                pos.map(|p| state.slots.remove(p))
            };
            let Some(slot) = slot else { continue };
            slot.alive.store(false, Ordering::SeqCst);
            tracing::error!(browser_id = d.browser_id, reason = %d.reason, "browser lost; replacing it");
            let _ = pool.deaths.send(d);
            stop_slot(&slot, &pool.egress).await;
            pool.replaced.fetch_add(1, Ordering::SeqCst);
        }
        let alive = pool.slots().len();
        if alive < pool.cfg.warm_browsers.min(pool.cfg.max_browsers)
            && !pool.closed.load(Ordering::SeqCst)
        {
            let _guard = pool.launch_lock.lock().await;
            if pool.slots().len() < pool.cfg.warm_browsers {
                if let Err(e) = pool.launch().await {
                    tracing::error!(error = %e, "could not start a replacement browser");
                }
            }
        }
    }
}
