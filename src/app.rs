//! The application object: everything one command of the binary runs, started in dependency
//! order and stopped in the reverse order, written once for `serve`, `serve --no-engine`, `mcp`,
//! `worker`, `crawl` and `query`.

use anyhow::Context;
use browser::session::SessionService;
use browser::Engine;
use cluster::video::{WhepAnswer, WorkerVideo};
use cluster::{RoutedSessions, Worker};
use crawler::knowledge::Knowledge;
use crawler::Jobs;
use mcp_server::Services;
use platform::render::RenderFuture;
use platform::{Config, EngineError, Platform, RenderScope, Renderer, TenantId};
use std::sync::Arc;
use streaming::LiveVideo;

/// What a command runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// The control API and an engine that owns the browser sessions, with live video (`serve`).
    Serve,
    /// A control plane: the control API and MCP, sessions routed to engine workers over Redis,
    /// jobs queued for them; no browser (`serve --no-engine`).
    ControlPlane {
        /// Its id in the cluster (the channel its answers come on).
        id: String,
    },
    /// MCP over stdio with an engine that owns the sessions, with live video (`mcp`).
    Mcp,
    /// An engine worker: jobs from the queue, and with `cluster`, live sessions (with live
    /// video) routed to it by control planes (`worker`).
    Worker {
        /// Its id and WebRTC address in the cluster.
        cluster: Option<(String, String)>,
    },
    /// Jobs in the foreground; stored sessions are left to the service (`crawl`).
    Crawl,
    /// Search only: the backends and the model, no browser and no job worker (`query`).
    Query,
}

/// The running parts of the service.
pub struct App {
    /// The backends.
    pub platform: Arc<Platform>,
    /// The model and the vector index.
    pub knowledge: Arc<Knowledge>,
    /// The Chromium pool and sessions (not for `query` or a control plane).
    engine: Option<Arc<Engine>>,
    /// Sessions routed to engine workers (a control plane).
    routed: Option<Arc<RoutedSessions>>,
    /// This process as an engine worker of a cluster.
    worker: Option<Arc<Worker>>,
    /// The job service (not for `query`).
    jobs: Option<Arc<Jobs>>,
    /// Live video (`serve`, `mcp`, a cluster worker).
    live: Option<Arc<LiveVideo>>,
}

/// The renderer of a control plane, which runs no job: any render is refused.
struct NoRenderer;

impl Renderer for NoRenderer {
    fn scope(&self) -> Arc<dyn RenderScope> {
        Arc::new(NoRenderer)
    }
}

impl RenderScope for NoRenderer {
    fn render<'a>(&'a self, _url: &'a url::Url) -> RenderFuture<'a> {
        Box::pin(async {
            Err(EngineError::NotServedHere(
                "a control plane renders no page; engine workers do".into(),
            ))
        })
    }
}

/// A worker's live video, for viewers joining through a control plane.
struct LiveCalls(Arc<LiveVideo>);

/// A live-video error as it crosses to the control plane: its code and message.
fn crossing(e: streaming::StreamError) -> EngineError {
    EngineError::Remote {
        code: e.code(),
        message: e.to_string(),
    }
}

#[async_trait::async_trait]
impl WorkerVideo for LiveCalls {
    async fn offer(
        &self,
        tenant: &TenantId,
        room: &str,
        sdp: String,
    ) -> platform::Result<WhepAnswer> {
        let a = self.0.offer(tenant, room, sdp).await.map_err(crossing)?;
        Ok(WhepAnswer {
            id: a.id,
            sdp: a.sdp,
        })
    }

    async fn close(&self, tenant: &TenantId, room: &str, viewer: &str) -> platform::Result<()> {
        self.0
            .close_viewer(tenant, room, viewer)
            .await
            .map_err(crossing)
    }
}

impl App {
    /// Start what `role` needs. The model is loaded first, so that a bad set-up fails before any
    /// browser starts; a part that fails to start stops the parts started before it.
    pub async fn start(mut config: Config, role: Role) -> anyhow::Result<Self> {
        if matches!(role, Role::ControlPlane { .. }) {
            config.jobs.workers = 0;
        }
        let embedder = Knowledge::load_model(&config)?;
        let platform = Platform::open(config)
            .await
            .context("opening the backends")?;
        let engine = match &role {
            Role::Query | Role::ControlPlane { .. } => None,
            Role::Serve | Role::Mcp => Some(Engine::start(platform.clone()).await),
            Role::Worker { .. } | Role::Crawl => Some(Engine::start_worker(platform.clone()).await),
        }
        .transpose()
        .context("starting the engine")?;
        let indexes = matches!(
            role,
            Role::Serve | Role::Mcp | Role::Worker { .. } | Role::Crawl
        );
        let mut app = Self {
            knowledge: match Knowledge::start(&platform, embedder, indexes).await {
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
            routed: None,
            worker: None,
            jobs: None,
            live: None,
        };
        if let Err(e) = app.start_services(&role).await {
            app.shutdown().await;
            return Err(e);
        }
        Ok(app)
    }

    /// The job service, live video and the cluster's part, by role.
    async fn start_services(&mut self, role: &Role) -> anyhow::Result<()> {
        let redis = self.platform.config.redis_url.clone();
        if let Role::ControlPlane { id } = role {
            let url = redis.context("a control plane routes sessions over Redis: set REDIS_URL")?;
            let archive = Arc::new(streaming::recording::store::Archive {
                files: self.platform.files.clone(),
                scratch: self.platform.config.data_dir.join("recordings"),
            });
            self.routed = Some(
                RoutedSessions::start(self.platform.clone(), &url, id, archive)
                    .await
                    .context("joining the cluster")?,
            );
            let renderer: Arc<dyn Renderer> = Arc::new(NoRenderer);
            self.jobs = Some(
                Jobs::start(self.platform.clone(), renderer, self.knowledge.clone())
                    .await
                    .context("starting the job service")?,
            );
            return Ok(());
        }
        let Some(engine) = self.engine.clone() else {
            return Ok(());
        };
        self.jobs = Some(
            Jobs::start(
                self.platform.clone(),
                engine.clone(),
                self.knowledge.clone(),
            )
            .await
            .context("starting the job service")?,
        );
        let cluster = match role {
            Role::Worker { cluster } => cluster.clone(),
            _ => None,
        };
        if matches!(role, Role::Serve | Role::Mcp) || cluster.is_some() {
            // Sessions are published to LiveKit however they were started (HTTP, stdio, routed).
            self.live = Some(LiveVideo::start(engine.clone()));
        }
        if let Some((id, address)) = cluster {
            let url = redis.context("`worker` takes commands from Redis: set REDIS_URL")?;
            let video = self.live.clone().map(|live| {
                let v: Arc<dyn WorkerVideo> = Arc::new(LiveCalls(live));
                v
            });
            self.worker = Some(
                Worker::start(engine, video, &url, &id, &address)
                    .await
                    .context("joining the cluster")?,
            );
        }
        Ok(())
    }

    /// The sessions and the job service, as the tools take them (`None` for `query`).
    pub fn services(&self) -> Option<Arc<Services>> {
        let jobs = self.jobs.clone()?;
        let sessions: Arc<dyn SessionService> = match (&self.routed, &self.engine) {
            (Some(routed), _) => routed.clone(),
            (None, Some(engine)) => engine.sessions.clone(),
            (None, None) => return None,
        };
        let mcp_sessions = self.routed.as_ref().map(|r| {
            let store: Arc<dyn mcp_server::tools::McpSessionStore> = r.mcp_sessions();
            store
        });
        Some(Arc::new(Services {
            sessions,
            engine: self.engine.clone(),
            jobs,
            platform: self.platform.clone(),
            mcp_sessions,
        }))
    }

    /// The job service (`None` for `query`).
    pub fn jobs(&self) -> Option<&Arc<Jobs>> {
        self.jobs.as_ref()
    }

    /// Live video (`serve`, `mcp`, a cluster worker).
    pub fn live(&self) -> Option<&Arc<LiveVideo>> {
        self.live.as_ref()
    }

    /// This process as an engine worker of a cluster.
    pub fn worker(&self) -> Option<&Arc<Worker>> {
        self.worker.as_ref()
    }

    /// Stop everything, in the reverse order of the start: the cluster worker (its sessions
    /// handed over when `drain`), live video (viewers and publishers), then the jobs (runs in
    /// progress go back to the queue), then indexing, then the sessions (kept recoverable) and
    /// every Chromium process, then the events still waiting to be sent.
    pub async fn shutdown(&self) {
        if let Some(worker) = &self.worker {
            worker.stop().await;
        }
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
        // The last events (sessions stored failed, jobs handed back) leave before the process.
        self.platform.events.flush().await;
    }
}
