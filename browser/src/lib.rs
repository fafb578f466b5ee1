//! Browsers of browser-automation-service: the supervised Chromium pool, sessions (one incognito
//! context per room) and their actions, what an agent reads of the screen, and rendering one URL
//! for the crawler ([`platform::Renderer`]). Transports (HTTP, MCP) are thin adapters over
//! [`Engine`].

pub mod cdp;
pub mod pool;
pub mod render;
pub mod session;

use platform::{BackendsHealth, Config, Platform, Rendered, Renderer, Result};
use pool::{BrowserPool, PoolConfig};
use serde::Serialize;
use session::{SessionDeps, SessionManager};
use std::sync::Arc;
use std::time::Duration;

/// The running engine: the backends, the Chromium pool and the sessions on it.
pub struct Engine {
    /// The backends everything shares.
    pub platform: Arc<Platform>,
    /// The Chromium pool.
    pub pool: Arc<BrowserPool>,
    /// Live sessions.
    pub sessions: Arc<SessionManager>,
}

/// The health of the engine.
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    /// `ok` or `degraded`.
    pub status: &'static str,
    /// The Chromium pool, as Chromium reports it.
    pub chromium: pool::PoolReport,
    /// Whether at least one browser is alive.
    pub chromium_ok: bool,
    /// The backends.
    #[serde(flatten)]
    pub backends: BackendsHealth,
    /// Sessions holding a page.
    pub open_sessions: usize,
    /// Most sessions at once.
    pub max_sessions: usize,
}

impl Engine {
    /// Start the Chromium pool and the sessions on the given backends, as the service that owns
    /// the browser sessions.
    pub async fn start(platform: Arc<Platform>) -> Result<Arc<Self>> {
        Self::start_as(platform, true).await
    }

    /// Open the configured backends and start on them, owning the sessions: what a test or a
    /// benchmark needs in one call.
    pub async fn open(config: Config) -> Result<Arc<Self>> {
        Self::start(Platform::open(config).await?).await
    }

    /// Start the engine of a job worker: like [`Engine::start`], but sessions stored by the
    /// service are left alone.
    pub async fn start_worker(platform: Arc<Platform>) -> Result<Arc<Self>> {
        Self::start_as(platform, false).await
    }

    async fn start_as(platform: Arc<Platform>, owns_sessions: bool) -> Result<Arc<Self>> {
        let config = &platform.config;
        let pool = BrowserPool::start(PoolConfig {
            executable: config.chromium_path.clone(),
            profile_root: config.data_dir.join("chromium"),
            max_browsers: config.max_browsers,
            sessions_per_browser: config.sessions_per_browser(),
            warm_browsers: 1,
            spare_pages: 2,
            health_interval: Duration::from_secs(5),
            health_timeout: Duration::from_secs(5),
            network: config.network.clone(),
            webrtc_udp: config.page_webrtc_udp,
        })
        .await?;
        let sessions = SessionManager::start(SessionDeps {
            pool: pool.clone(),
            bus: platform.events.clone(),
            store: platform.store.clone(),
            telemetry: platform.telemetry.clone(),
            network: config.network.clone(),
            nav_timeout: config.navigation_timeout,
            max_sessions: config.max_sessions,
            tenant_max_sessions: config.tenant_max_sessions,
            idle_timeout: config.session_idle_timeout,
            owns_sessions,
        })
        .await?;
        Ok(Arc::new(Self {
            platform,
            pool,
            sessions,
        }))
    }

    /// The configuration the engine runs with.
    pub fn config(&self) -> &Config {
        &self.platform.config
    }

    /// Check every dependency.
    pub async fn health(&self) -> Health {
        let backends = self.platform.health().await;
        let chromium = self.pool.report().await;
        let chromium_ok = self.pool.is_healthy();
        let ok = backends.ok() && chromium_ok;
        Health {
            status: if ok { "ok" } else { "degraded" },
            chromium,
            chromium_ok,
            backends,
            open_sessions: self.sessions.open_count(),
            max_sessions: self.config().max_sessions,
        }
    }

    /// Render a URL in the pool (a fresh context, closed afterwards) and return the document.
    pub async fn render_page(&self, url: &url::Url) -> Result<Rendered> {
        let config = self.config();
        render::render(&self.pool, url, &config.network, config.navigation_timeout).await
    }

    /// `/metrics` in the OpenMetrics text format (`platform::telemetry::CONTENT_TYPE`).
    pub fn render_metrics(&self) -> String {
        self.platform
            .telemetry
            .render(self.sessions.open_count(), self.pool.is_healthy())
    }

    /// Free every session (they stay recoverable after a restart) and close every browser;
    /// returns when every Chromium process is gone.
    pub async fn shutdown(&self) {
        self.sessions.suspend_all().await;
        self.pool.shutdown().await;
    }
}

impl Renderer for Engine {
    fn scope(&self) -> Arc<dyn platform::RenderScope> {
        let config = self.config();
        Arc::new(render::JobRenderer::new(
            self.pool.clone(),
            config.network.clone(),
            config.navigation_timeout,
        ))
    }
}
