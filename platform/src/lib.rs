//! The platform of browser-automation-service: configuration, errors and their codes, tenancy,
//! records, and one trait per backend with its implementations (documents on SQLite or MongoDB,
//! files in a directory or on S3, the job queue and the event bus in-process or on Redis, vectors
//! exact or in Qdrant), plus the network policy. [`Platform`] opens the configured backends once;
//! the browser, crawler and streaming crates build on it.

pub mod clock;
pub mod code;
pub mod config;
pub mod egress;
pub mod error;
pub mod events;
pub mod files;
pub mod jobs;
pub mod media;
pub mod netguard;
pub mod open;
pub mod queue;
pub mod render;
pub mod store;
pub mod telemetry;
pub mod tenant;
pub mod vectors;
pub mod viewport;
pub mod webhooks;

pub use code::Code;
pub use config::{Config, LiveKitKeys, Viewport};
pub use error::{EngineError, Result};
pub use render::{RenderScope, Rendered, Renderer};
pub use tenant::TenantId;

use events::{EventBus, LocalBus, RedisBus};
use queue::{JobQueue, LocalQueue, RedisQueue};
use serde::Serialize;
use std::sync::Arc;
use store::DocumentStore;
use telemetry::Telemetry;

/// The configured backends, opened once and shared by every part of the service.
pub struct Platform {
    /// The configuration they were opened with.
    pub config: Config,
    /// The event bus.
    pub events: Arc<dyn EventBus>,
    /// The document store.
    pub store: Arc<dyn DocumentStore>,
    /// The job queue.
    pub queue: Arc<dyn JobQueue>,
    /// Files (uploads, ingested documents, thumbnails).
    pub files: Arc<dyn files::FileStore>,
    /// Typed telemetry: log lines and the series of `/metrics`.
    pub telemetry: Arc<Telemetry>,
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

impl ComponentHealth {
    fn of(backend: &str, state: Result<()>) -> Self {
        Self {
            backend: backend.into(),
            ok: state.is_ok(),
            error: state.err().map(|e| e.to_string()),
        }
    }
}

/// The health of the backends.
#[derive(Debug, Clone, Serialize)]
pub struct BackendsHealth {
    /// The event bus.
    pub event_bus: ComponentHealth,
    /// The document store.
    pub store: ComponentHealth,
    /// The job queue.
    pub job_queue: ComponentHealth,
    /// The file store.
    pub files: ComponentHealth,
}

impl BackendsHealth {
    /// Whether every backend works.
    pub fn ok(&self) -> bool {
        self.event_bus.ok && self.store.ok && self.job_queue.ok && self.files.ok
    }
}

impl Platform {
    /// Open every backend the configuration names (embedded ones otherwise).
    pub async fn open(config: Config) -> Result<Arc<Self>> {
        let store = open::documents(&config).await?;
        let files = open::files(&config).await?;
        let (events, queue): (Arc<dyn EventBus>, Arc<dyn JobQueue>) = match &config.redis_url {
            Some(url) => {
                let bus = RedisBus::connect(url).await?;
                let queue = RedisQueue::new(bus.connection(), config.jobs.claim_idle).await?;
                (Arc::new(bus), Arc::new(queue))
            }
            None => (Arc::new(LocalBus::new()), Arc::new(LocalQueue::new())),
        };
        Ok(Arc::new(Self {
            config,
            events,
            store,
            queue,
            files,
            telemetry: Arc::new(Telemetry::new()),
        }))
    }

    /// Apply `change` to a job atomically (see [`store::JobStore::update_job`]) and record the
    /// status change it made, if any.
    pub async fn update_job(
        &self,
        job_id: &str,
        frontier: Option<String>,
        change: store::JobChange,
    ) -> Result<store::JobUpdate> {
        let before = Arc::new(std::sync::Mutex::new(None));
        let seen = before.clone();
        let observed: store::JobChange = Box::new(move |job: &mut jobs::JobRecord| {
            *seen.lock().expect("job status lock") = Some(job.status);
            change(job)
        });
        let update = self.store.update_job(job_id, frontier, observed).await?;
        if let store::JobUpdate::Updated(job) = &update {
            let from = *before.lock().expect("job status lock");
            if let Some(from) = from.filter(|f| *f != job.status) {
                self.telemetry.record(telemetry::JobStateChanged {
                    job_id,
                    from,
                    to: job.status,
                });
            }
        }
        Ok(update)
    }

    /// Check every backend.
    pub async fn health(&self) -> BackendsHealth {
        BackendsHealth {
            event_bus: ComponentHealth::of(self.events.backend(), self.events.health().await),
            store: ComponentHealth::of(self.store.backend(), self.store.health().await),
            job_queue: ComponentHealth::of(self.queue.backend(), self.queue.health().await),
            files: ComponentHealth::of(self.files.backend(), self.files.health().await),
        }
    }
}
