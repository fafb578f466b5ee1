//! The job queue: carries job ids to workers (the job itself lives in the store). In-process by
//! default; a Redis Streams consumer group when `REDIS_URL` is set, so workers on many machines
//! share the work. Delivery is at least once: a worker that dies holding a job loses it to
//! another worker once it stops sending keep-alives.

mod local;
mod redis_queue;

pub use local::LocalQueue;
pub use redis_queue::RedisQueue;

use crate::error::Result;
use futures::future::BoxFuture;
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
pub trait JobQueue: Send + Sync + 'static {
    /// Which backend this is (`in_process` or `redis`).
    fn backend(&self) -> &'static str;
    /// Add a job to the queue.
    fn enqueue<'a>(&'a self, job_id: &'a str) -> BoxFuture<'a, Result<()>>;
    /// The next job for `consumer`, waiting up to `wait`; a job whose worker stopped sending
    /// keep-alives comes first.
    fn next<'a>(
        &'a self,
        consumer: &'a str,
        wait: Duration,
    ) -> BoxFuture<'a, Result<Option<Delivery>>>;
    /// Tell the queue the worker is still on this job.
    fn keep_alive<'a>(
        &'a self,
        consumer: &'a str,
        delivery: &'a Delivery,
    ) -> BoxFuture<'a, Result<()>>;
    /// The job is done with (finished, paused, cancelled or failed for good).
    fn ack<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<()>>;
    /// Deliver the job again after `delay` (zero: as soon as a worker is free).
    fn retry_later<'a>(
        &'a self,
        delivery: &'a Delivery,
        delay: Duration,
    ) -> BoxFuture<'a, Result<()>>;
    /// Give up on the job: record it among the dead letters with the reason.
    fn dead_letter<'a>(
        &'a self,
        delivery: &'a Delivery,
        reason: &'a str,
    ) -> BoxFuture<'a, Result<()>>;
    /// Job ids given up on, with their reasons, newest last (at most `limit`).
    fn dead_letters(&self, limit: usize) -> BoxFuture<'_, Result<Vec<(String, String)>>>;
    /// Check that the queue works.
    fn health(&self) -> BoxFuture<'_, Result<()>>;
}
