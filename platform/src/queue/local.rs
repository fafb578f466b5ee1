//! The in-process queue. It holds only ids: jobs are persisted in the store, and the service
//! puts every unfinished job back in the queue when it starts.

use super::{Delivery, JobQueue};
use crate::error::Result;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

#[derive(Default)]
struct Shared {
    queue: Mutex<VecDeque<String>>,
    dead: Mutex<Vec<(String, String)>>,
    notify: Notify,
}

impl Shared {
    fn push(&self, job_id: String) {
        let mut q = self.queue.lock().expect("queue lock");
        if !q.contains(&job_id) {
            q.push_back(job_id);
        }
        drop(q);
        self.notify.notify_one();
    }
}

/// Job ids in memory, handed out in order.
#[derive(Clone, Default)]
pub struct LocalQueue {
    shared: Arc<Shared>,
}

impl LocalQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Jobs waiting.
    pub fn len(&self) -> usize {
        self.shared.queue.lock().expect("queue lock").len()
    }

    /// Whether no job is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait::async_trait]
impl JobQueue for LocalQueue {
    fn backend(&self) -> &'static str {
        "in_process"
    }

    async fn enqueue(&self, job_id: &str) -> Result<()> {
        self.shared.push(job_id.to_string());
        Ok(())
    }

    async fn next(&self, _consumer: &str, wait: Duration) -> Result<Option<Delivery>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let notified = self.shared.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(job_id) = self.shared.queue.lock().expect("queue lock").pop_front() {
                return Ok(Some(Delivery {
                    token: job_id.clone(),
                    job_id,
                    reclaimed: false,
                }));
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Ok(None);
            }
        }
    }

    async fn keep_alive(&self, _: &str, _: &Delivery) -> Result<()> {
        Ok(())
    }

    async fn ack(&self, _: &Delivery) -> Result<()> {
        Ok(())
    }

    async fn retry_later(&self, delivery: &Delivery, delay: Duration) -> Result<()> {
        let shared = self.shared.clone();
        let job_id = delivery.job_id.clone();
        if delay.is_zero() {
            shared.push(job_id);
        } else {
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                shared.push(job_id);
            });
        }
        Ok(())
    }

    async fn dead_letter(&self, delivery: &Delivery, reason: &str) -> Result<()> {
        self.shared
            .dead
            .lock()
            .expect("dead letters lock")
            .push((delivery.job_id.clone(), reason.to_string()));
        Ok(())
    }

    async fn dead_letters(&self, limit: usize) -> Result<Vec<(String, String)>> {
        let dead = self.shared.dead.lock().expect("dead letters lock");
        let out = dead[dead.len().saturating_sub(limit)..].to_vec();
        Ok(out)
    }

    async fn health(&self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hands_out_in_order_once_and_retries_after_the_delay() {
        let q = LocalQueue::new();
        q.enqueue("a").await.unwrap();
        q.enqueue("b").await.unwrap();
        q.enqueue("a").await.unwrap(); // already waiting: not twice
        let a = q.next("w", Duration::ZERO).await.unwrap().unwrap();
        assert_eq!(a.job_id, "a");
        assert_eq!(
            q.next("w", Duration::ZERO).await.unwrap().unwrap().job_id,
            "b"
        );
        assert!(q
            .next("w", Duration::from_millis(20))
            .await
            .unwrap()
            .is_none());
        q.retry_later(&a, Duration::from_millis(50)).await.unwrap();
        assert!(q.next("w", Duration::ZERO).await.unwrap().is_none());
        let again = q.next("w", Duration::from_secs(2)).await.unwrap();
        assert_eq!(again.map(|d| d.job_id).as_deref(), Some("a"));
        q.dead_letter(&a, "gave up").await.unwrap();
        assert_eq!(
            q.dead_letters(10).await.unwrap(),
            vec![("a".to_string(), "gave up".to_string())]
        );
    }

    #[tokio::test]
    async fn a_waiting_worker_wakes_when_a_job_arrives() {
        let q = LocalQueue::new();
        let q2 = q.clone();
        let waiter = tokio::spawn(async move { q2.next("w", Duration::from_secs(5)).await });
        tokio::time::sleep(Duration::from_millis(30)).await;
        q.enqueue("late").await.unwrap();
        let got = waiter.await.unwrap().unwrap().unwrap();
        assert_eq!(got.job_id, "late");
    }
}
