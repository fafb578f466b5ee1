//! The job queue: carries job ids to workers (the job itself lives in the store). In-process by
//! default; a Redis Streams consumer group when `REDIS_URL` is set, so workers on many machines
//! share the work. Delivery is at least once: a worker that dies holding a job loses it to
//! another worker once it stops sending keep-alives.

mod local;
mod redis_queue;

pub use local::LocalQueue;
pub use redis_queue::RedisQueue;

use crate::error::Result;
use std::time::Duration;

/// A job handed to one worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The job to run.
    pub job_id: String,
    /// The queue's own handle for this delivery (a stream entry id in Redis).
    pub token: String,
    /// Whether it was taken over from a worker that stopped answering.
    pub reclaimed: bool,
}

/// A durable queue of job ids.
#[async_trait::async_trait]
pub trait JobQueue: Send + Sync + 'static {
    /// Which backend this is (`in_process` or `redis`).
    fn backend(&self) -> &'static str;
    /// Add a job to the queue.
    async fn enqueue(&self, job_id: &str) -> Result<()>;
    /// The next job for `consumer`, waiting up to `wait`; a job whose worker stopped sending
    /// keep-alives comes first.
    async fn next(&self, consumer: &str, wait: Duration) -> Result<Option<Delivery>>;
    /// Tell the queue the worker is still on this job.
    async fn keep_alive(&self, consumer: &str, delivery: &Delivery) -> Result<()>;
    /// The job is done with (finished, paused, cancelled or failed for good).
    async fn ack(&self, delivery: &Delivery) -> Result<()>;
    /// Deliver the job again after `delay` (zero: as soon as a worker is free).
    async fn retry_later(&self, delivery: &Delivery, delay: Duration) -> Result<()>;
    /// Give up on the job: record it among the dead letters with the reason.
    async fn dead_letter(&self, delivery: &Delivery, reason: &str) -> Result<()>;
    /// Job ids given up on, with their reasons, newest last (at most `limit`).
    async fn dead_letters(&self, limit: usize) -> Result<Vec<(String, String)>>;
    /// Check that the queue works.
    async fn health(&self) -> Result<()>;
    /// How many workers took or kept a job, or asked for one, within `within`: `None` when the
    /// queue cannot tell (the in-process queue, whose workers are this process's).
    async fn workers_seen(&self, _within: Duration) -> Result<Option<usize>> {
        Ok(None)
    }
}
