//! The engine of browser-automation-service: configuration, the Chromium pool, sessions and their
//! actions, the event bus and the document store. Transports (HTTP, MCP) are thin adapters over
//! [`Engine`].

#![warn(missing_docs)]

pub mod browser;
pub mod config;
pub mod error;
pub mod events;
pub mod files;
pub mod jobs;
pub mod metrics;
pub mod netguard;
pub mod queue;
pub mod render;
pub mod session;
pub mod store;
pub mod tenant;
pub mod vectors;

pub use config::{Config, LiveKitKeys, Viewport};
pub use error::{EngineError, ErrorClass, Result};
pub use tenant::TenantId;

use browser::{BrowserPool, PoolConfig};
use events::{EventBus, LocalBus, RedisBus};
use metrics::Metrics;
use queue::{JobQueue, LocalQueue, RedisQueue};
use serde::Serialize;
use session::{SessionDeps, SessionManager};
use std::sync::Arc;
use std::time::Duration;
use store::DocumentStore;

/// The running engine: every backend, wired once.
pub struct Engine {
    /// The configuration it was started with.
    pub config: Config,
    /// The Chromium pool.
    pub pool: Arc<BrowserPool>,
    /// Live sessions.
    pub sessions: Arc<SessionManager>,
    /// The event bus.
    pub events: Arc<dyn EventBus>,
    /// The document store.
    pub store: Arc<dyn DocumentStore>,
    /// The job queue.
    pub queue: Arc<dyn JobQueue>,
    /// Files (uploads, ingested documents, thumbnails).
    pub files: Arc<dyn files::FileStore>,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
}

/// The state of one dependency.
#[derive(Debug, Clone, Serialize)]
pub struct ComponentHealth {
    /// Which backend serves it.
    pub backend: String,
    /// Whether it works.
    pub ok: bool,
    /// What is wrong, if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The health of the engine.
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    /// `ok` or `degraded`.
    pub status: &'static str,
    /// The Chromium pool, as Chromium reports it.
    pub chromium: browser::PoolReport,
    /// Whether at least one browser is alive.
    pub chromium_ok: bool,
    /// The event bus.
    pub event_bus: ComponentHealth,
    /// The document store.
    pub store: ComponentHealth,
    /// The job queue.
    pub job_queue: ComponentHealth,
    /// The file store.
    pub files: ComponentHealth,
    /// Sessions holding a page.
    pub open_sessions: usize,
    /// Most sessions at once.
    pub max_sessions: usize,
}

impl Engine {
    /// Start every backend the configuration names (embedded ones otherwise), as the service
    /// that owns the browser sessions.
    pub async fn start(config: Config) -> Result<Arc<Self>> {
        Self::start_as(config, true).await
    }

    /// Start the engine of a job worker: like [`Engine::start`], but sessions stored by the
    /// service are left alone.
    pub async fn start_worker(config: Config) -> Result<Arc<Self>> {
        Self::start_as(config, false).await
    }

    async fn start_as(config: Config, owns_sessions: bool) -> Result<Arc<Self>> {
        let store = store::open(&config).await?;
        let files = files::open(&config).await?;
        let (events, queue): (Arc<dyn EventBus>, Arc<dyn JobQueue>) = match &config.redis_url {
            Some(url) => {
                let bus = RedisBus::connect(url).await?;
                let queue = RedisQueue::new(bus.connection(), config.jobs.claim_idle).await?;
                (Arc::new(bus), Arc::new(queue))
            }
            None => (Arc::new(LocalBus::new()), Arc::new(LocalQueue::new())),
        };
        let metrics = Arc::new(Metrics::default());
        let pool = BrowserPool::start(PoolConfig {
            executable: config.chromium_path.clone(),
            profile_root: config.data_dir.join("chromium"),
            max_browsers: config.max_browsers,
            sessions_per_browser: config.sessions_per_browser(),
            warm_browsers: 1,
            spare_pages: 2,
            health_interval: Duration::from_secs(5),
            health_timeout: Duration::from_secs(5),
        })
        .await?;
        let sessions = SessionManager::start(SessionDeps {
            pool: pool.clone(),
            bus: events.clone(),
            store: store.clone(),
            metrics: metrics.clone(),
            allowlist: config.allowlist.clone(),
            nav_timeout: config.navigation_timeout,
            max_sessions: config.max_sessions,
            idle_timeout: config.session_idle_timeout,
            owns_sessions,
            livekit_url: config.livekit_url.clone(),
            livekit_signs: config.livekit_keys.is_some(),
        })
        .await?;
        Ok(Arc::new(Self {
            config,
            pool,
            sessions,
            events,
            store,
            queue,
            files,
            metrics,
        }))
    }

    /// Check every dependency.
    pub async fn health(&self) -> Health {
        let bus = self.events.health().await;
        let store = self.store.health().await;
        let queue = self.queue.health().await;
        let files = self.files.health().await;
        let chromium = self.pool.report().await;
        let chromium_ok = self.pool.is_healthy();
        let ok = bus.is_ok() && store.is_ok() && queue.is_ok() && files.is_ok() && chromium_ok;
        Health {
            status: if ok { "ok" } else { "degraded" },
            chromium,
            chromium_ok,
            event_bus: ComponentHealth {
                backend: self.events.backend().into(),
                ok: bus.is_ok(),
                error: bus.err().map(|e| e.to_string()),
            },
            store: ComponentHealth {
                backend: self.store.backend().into(),
                ok: store.is_ok(),
                error: store.err().map(|e| e.to_string()),
            },
            job_queue: ComponentHealth {
                backend: self.queue.backend().into(),
                ok: queue.is_ok(),
                error: queue.err().map(|e| e.to_string()),
            },
            files: ComponentHealth {
                backend: self.files.backend().into(),
                ok: files.is_ok(),
                error: files.err().map(|e| e.to_string()),
            },
            open_sessions: self.sessions.open_count(),
            max_sessions: self.config.max_sessions,
        }
    }

    /// Render a URL in the pool (a fresh context, closed afterwards) and return the document.
    pub async fn render_page(&self, url: &url::Url) -> Result<render::Rendered> {
        render::render(
            &self.pool,
            url,
            &self.config.allowlist,
            self.config.navigation_timeout,
        )
        .await
    }

    /// Prometheus text for `/metrics`.
    pub fn render_metrics(&self) -> String {
        self.metrics.render(&[
            (
                "bas_sessions_open",
                "Sessions holding a browser page.",
                self.sessions.open_count() as f64,
            ),
            (
                "bas_browsers_alive",
                "Chromium processes alive.",
                self.pool.is_healthy() as u8 as f64,
            ),
        ])
    }

    /// Free every session (they stay recoverable after a restart) and close every browser;
    /// returns when every Chromium process is gone.
    pub async fn shutdown(&self) {
        self.sessions.suspend_all().await;
        self.pool.shutdown().await;
    }
}
