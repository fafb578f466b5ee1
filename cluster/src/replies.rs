//! A control plane's answers: one pub/sub channel of its own, on which workers publish the
//! [`Reply`] to each command it sent; each waiting call is woken by its correlation id.

use crate::keys;
use crate::wire::Reply;
use futures::StreamExt;
use platform::error::{EngineError, Result};
use platform::events::redis_bus::open_subscription;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

type Waiters = Arc<Mutex<HashMap<String, oneshot::Sender<Result<Reply>>>>>;

/// The answers channel of one control plane.
pub struct Replies {
    channel: String,
    waiting: Waiters,
    task: tokio::task::JoinHandle<()>,
}

impl Replies {
    /// Subscribe to `control_plane`'s channel; returns once the subscription is live.
    pub async fn start(client: redis::Client, control_plane: &str) -> Result<Self> {
        let channel = keys::replies(control_plane);
        let first = open_subscription(&client, &channel).await?;
        let waiting: Waiters = Arc::default();
        let task = tokio::spawn(listen(client, channel.clone(), first, waiting.clone()));
        Ok(Self {
            channel,
            waiting,
            task,
        })
    }

    /// The channel workers answer on.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// Wait for the answer to command `id` (call before sending it).
    pub fn expect(&self, id: &str) -> oneshot::Receiver<Result<Reply>> {
        let (tx, rx) = oneshot::channel();
        self.lock().insert(id.to_string(), tx);
        rx
    }

    /// Stop waiting for command `id`.
    pub fn forget(&self, id: &str) {
        self.lock().remove(id);
    }

    /// Calls waiting for an answer.
    pub fn in_flight(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, oneshot::Sender<Result<Reply>>>> {
        self.waiting.lock().expect("replies lock")
    }
}

impl Drop for Replies {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Deliver answers; when the subscription drops (Redis restarted), every waiting call fails at
/// once with a typed error (its answer could be lost), and the subscription is opened again.
async fn listen(
    client: redis::Client,
    channel: String,
    first: redis::aio::PubSubStream,
    waiting: Waiters,
) {
    let mut stream = Some(first);
    loop {
        if let Some(s) = stream.as_mut() {
            while let Some(msg) = s.next().await {
                let Ok(payload) = msg.get_payload::<String>() else {
                    continue;
                };
                let Ok(reply) = serde_json::from_str::<Reply>(&payload) else {
                    tracing::warn!("ignoring a malformed answer");
                    continue;
                };
                let tx = waiting.lock().expect("replies lock").remove(&reply.id);
                if let Some(tx) = tx {
                    let _ = tx.send(Ok(reply));
                }
            }
            tracing::warn!(%channel, "lost the answers channel (Redis went away); failing the calls in flight");
            let lost: Vec<_> = waiting.lock().expect("replies lock").drain().collect();
            for (_, tx) in lost {
                let _ = tx.send(Err(EngineError::EventBus(
                    "the connection to Redis dropped while the call was in flight; its outcome is unknown, retry it".into(),
                )));
            }
        }
        let mut delay = Duration::from_millis(100);
        stream = loop {
            match open_subscription(&client, &channel).await {
                Ok(s) => break Some(s),
                Err(_) => {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(2));
                }
            }
        };
    }
}
