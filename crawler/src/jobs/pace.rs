//! The pace of a crawl run's loop: why it stops, when it last looked at the stored job, how
//! long pages in flight may still drain, and when a page last finished.

use super::run::RunOutcome;
use std::time::{Duration, Instant};

/// Where the crawl loop is: why it stops (once decided), when it last looked at the stored
/// job, how long pages in flight may still drain, and when a page last finished.
pub(super) struct Pace {
    pub(super) stop: Option<RunOutcome>,
    pub(super) last_control: Instant,
    pub(super) drain_deadline: Option<tokio::time::Instant>,
    pub(super) last_progress: Instant,
    pub(super) stall_limit: Duration,
}

impl Pace {
    pub(super) fn new(stall_limit: Duration) -> Self {
        Self {
            stop: None,
            last_control: Instant::now(),
            drain_deadline: None,
            last_progress: Instant::now(),
            stall_limit,
        }
    }

    /// Whether pages in flight are abandoned at once (cancelled, or another run took over).
    pub(super) fn must_abort(&self) -> bool {
        matches!(
            self.stop,
            Some(RunOutcome::Cancelled) | Some(RunOutcome::Superseded)
        )
    }
}
