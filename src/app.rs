//! The application object: everything one command of the binary runs, started in dependency
//! order and stopped in the reverse order, written once for `serve`, `mcp`, `worker`, `crawl` and
//! `query`.

use anyhow::Context;
use browser::Engine;
use crawler::knowledge::Knowledge;
use crawler::Jobs;
use mcp_server::Services;
use platform::{Config, Platform};
use std::sync::Arc;
use streaming::LiveVideo;

/// What a command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The control API and an engine that owns the browser sessions, with live video (`serve`).
    Serve,
    /// MCP over stdio with an engine that owns the sessions, with live video (`mcp`).
    Mcp,
    /// A job worker: jobs from the queue, rendering in its own pool; stored sessions are left to
    /// the service (`worker`, `crawl`).
    Worker,
    /// Search only: the backends and the model, no browser and no job worker (`query`).
    Query,
}

/// The running parts of the service.
pub struct App {
    /// The backends.
    pub platform: Arc<Platform>,
    /// The model and the vector index.
    pub knowledge: Arc<Knowledge>,
    /// The Chromium pool and sessions (not for `query`).
    engine: Option<Arc<Engine>>,
    /// The job service (not for `query`).
    jobs: Option<Arc<Jobs>>,
    /// Live video (`serve` and `mcp`).
    live: Option<Arc<LiveVideo>>,
}

impl App {
    /// Start what `role` needs. The model is loaded first, so that a bad set-up fails before any
    /// browser starts; a part that fails to start stops the parts started before it.
    pub async fn start(config: Config, role: Role) -> anyhow::Result<Self> {
        let embedder = Knowledge::load_model(&config)?;
        let platform = Platform::open(config)
            .await
            .context("opening the backends")?;
        let engine = match role {
            Role::Query => None,
            Role::Serve | Role::Mcp => Some(Engine::start(platform.clone()).await),
            Role::Worker => Some(Engine::start_worker(platform.clone()).await),
        }
        .transpose()
        .context("starting the engine")?;
        let mut app = Self {
            knowledge: match Knowledge::start(&platform, embedder, role != Role::Query).await {
                Ok(k) => k,
                Err(e) => {
                    if let Some(engine) = &engine {
                        engine.shutdown().await;
                    }
                    return Err(e).context("loading the embedding model");
                }
            },
            platform,
            engine,
            jobs: None,
            live: None,
        };
        if let Some(engine) = app.engine.clone() {
            match Jobs::start(app.platform.clone(), engine.clone(), app.knowledge.clone()).await {
                Ok(jobs) => app.jobs = Some(jobs),
                Err(e) => {
                    app.shutdown().await;
                    return Err(e).context("starting the job service");
                }
            }
            if matches!(role, Role::Serve | Role::Mcp) {
                // Sessions are published to LiveKit however they were started (HTTP or stdio).
                app.live = Some(LiveVideo::start(engine));
            }
        }
        Ok(app)
    }

    /// The engine and the job service, as the tools take them (`None` for `query`).
    pub fn services(&self) -> Option<Arc<Services>> {
        Some(Arc::new(Services {
            engine: self.engine.clone()?,
            jobs: self.jobs.clone()?,
        }))
    }

    /// The job service (`None` for `query`).
    pub fn jobs(&self) -> Option<&Arc<Jobs>> {
        self.jobs.as_ref()
    }

    /// Live video (`serve` and `mcp`).
    pub fn live(&self) -> Option<&Arc<LiveVideo>> {
        self.live.as_ref()
    }

    /// Stop everything, in the reverse order of the start: live video (viewers and publishers),
    /// then the jobs (runs in progress go back to the queue), then indexing, then the sessions
    /// (kept recoverable) and every Chromium process.
    pub async fn shutdown(&self) {
        if let Some(live) = &self.live {
            live.shutdown().await;
        }
        if let Some(jobs) = &self.jobs {
            jobs.shutdown().await;
        }
        self.knowledge.shutdown();
        if let Some(engine) = &self.engine {
            engine.shutdown().await;
        }
    }
}
