//! What a run of a job needs and how it ends, shared by the crawl runner (`runner.rs`) and file
//! ingestion (`crate::ingest`); the worker picks one by the job's kind.

use super::politeness::HostGate;
use crate::fetch::Fetcher;
use platform::{Code, EngineError, Platform, Renderer};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// What every run of the process shares.
pub struct RunDeps {
    /// The backends.
    pub platform: Arc<Platform>,
    /// Renders pages that need scripts.
    pub renderer: Arc<dyn Renderer>,
    /// The HTTP fetcher.
    pub fetcher: Fetcher,
    /// Per-host limits.
    pub gate: Arc<HostGate>,
    /// Pages fetched at once over all jobs.
    pub global: Arc<Semaphore>,
    /// Passages and embeddings of stored pages.
    pub knowledge: Arc<crate::knowledge::Knowledge>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum RunOutcome {
    /// Every page in scope was crawled.
    Completed,
    /// Its owner paused it.
    Paused,
    /// Its owner cancelled it.
    Cancelled,
    /// The process is shutting down; the job goes back to the queue.
    Interrupted,
    /// Another run took the job over; this one stopped writing.
    Superseded,
}

/// Why a run failed (the job may get another attempt, unless the failure is permanent).
#[derive(Debug, Clone, PartialEq)]
pub struct RunError {
    /// Another attempt would fail the same way (a malformed file, an expired URL): the job
    /// fails now.
    pub permanent: bool,
    /// A stable code.
    pub code: Code,
    /// What went wrong.
    pub message: String,
}

impl From<EngineError> for RunError {
    fn from(e: EngineError) -> Self {
        Self {
            permanent: false,
            code: e.code(),
            message: e.to_string(),
        }
    }
}
