//! The in-process event bus: one broadcast channel per bus channel name.

use super::{Event, EventBus};
use crate::error::Result;
use futures::stream::BoxStream;
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::broadcast;

/// Events published in this process reach subscribers in this process.
#[derive(Default)]
pub struct LocalBus {
    channels: Mutex<HashMap<String, broadcast::Sender<Event>>>,
}

impl LocalBus {
    /// A new, empty bus.
    pub fn new() -> Self {
        Self::default()
    }

    fn sender(&self, channel: &str) -> broadcast::Sender<Event> {
        let mut map = self.channels.lock().expect("event bus lock");
        // Drop channels nobody listens to any more, so the map does not grow without bound.
        map.retain(|_, tx| tx.receiver_count() > 0);
        map.entry(channel.to_string())
            .or_insert_with(|| broadcast::channel(1024).0)
            .clone()
    }
}

#[async_trait::async_trait]
impl EventBus for LocalBus {
    fn backend(&self) -> &'static str {
        "in_process"
    }

    async fn publish(&self, channel: &str, event: &Event) -> Result<()> {
        let tx = self
            .channels
            .lock()
            .expect("event bus lock")
            .get(channel)
            .cloned();
        if let Some(tx) = tx {
            let _ = tx.send(event.clone());
        }
        Ok(())
    }

    async fn subscribe(&self, channel: &str) -> Result<BoxStream<'static, Event>> {
        let rx = self.sender(channel).subscribe();
        let stream = tokio_stream_from(rx);
        Ok(stream)
    }

    async fn health(&self) -> Result<()> {
        Ok(())
    }
}

fn tokio_stream_from(rx: broadcast::Receiver<Event>) -> BoxStream<'static, Event> {
    futures::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(ev) => return Some((ev, rx)),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(skipped = n, "slow event subscriber skipped events");
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventKind;

    #[tokio::test]
    async fn subscribers_get_only_their_channel() {
        let bus = LocalBus::new();
        let mut a = bus.subscribe("browser:events:a").await.unwrap();
        let mut b = bus.subscribe("browser:events:b").await.unwrap();
        let ev = Event::new(EventKind::ActionCompleted, serde_json::json!({"n": 1}));
        bus.publish("browser:events:a", &ev).await.unwrap();
        let ev2 = Event::new(EventKind::ActionError, serde_json::json!({"n": 2}));
        bus.publish("browser:events:b", &ev2).await.unwrap();
        assert_eq!(a.next().await.unwrap(), ev);
        assert_eq!(b.next().await.unwrap(), ev2);
    }
}
