//! The Redis pub/sub event bus: every process on every machine sees every event.
//!
//! Publishing goes through one shared, self-reconnecting connection. Each subscription holds its
//! own pub/sub connection and re-subscribes after Redis restarts.

use super::{Event, EventBus};
use crate::error::{EngineError, Result};
use futures::stream::BoxStream;
use futures::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::time::Duration;

/// Events over Redis pub/sub.
#[derive(Clone)]
pub struct RedisBus {
    client: redis::Client,
    conn: ConnectionManager,
}

impl RedisBus {
    /// Connect to Redis. Fails when Redis cannot be reached at start.
    pub async fn connect(url: &str) -> Result<Self> {
        let client =
            redis::Client::open(url).map_err(|e| EngineError::Config(format!("REDIS_URL: {e}")))?;
        let cfg = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(3)))
            .set_response_timeout(Some(Duration::from_secs(3)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(2));
        let conn = ConnectionManager::new_with_config(client.clone(), cfg)
            .await
            .map_err(|e| {
                EngineError::EventBus(format!("cannot connect to Redis: {}", redact(&e)))
            })?;
        Ok(Self { client, conn })
    }

    /// The shared connection, for other Redis users in the process.
    pub fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }
}

/// Redis errors can echo the connection URL; keep credentials out of messages.
pub fn redact(e: &redis::RedisError) -> String {
    let s = e.to_string();
    match (s.find("://"), s.find('@')) {
        (Some(a), Some(b)) if b > a => format!("{}://***{}", &s[..a], &s[b..]),
        _ => s,
    }
}

#[async_trait::async_trait]
impl EventBus for RedisBus {
    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn publish(&self, channel: &str, event: &Event) -> Result<()> {
        let payload =
            serde_json::to_string(event).map_err(|e| EngineError::EventBus(e.to_string()))?;
        let mut conn = self.conn.clone();
        let _: i64 = redis::cmd("PUBLISH")
            .arg(channel)
            .arg(payload)
            .query_async(&mut conn)
            .await
            .map_err(|e| EngineError::EventBus(redact(&e)))?;
        Ok(())
    }

    async fn subscribe(&self, channel: &str) -> Result<BoxStream<'static, Event>> {
        let client = self.client.clone();
        let channel = channel.to_string();
        // Subscribe once now, so that a caller knows the subscription is live when this returns.
        let first = open_subscription(&client, &channel).await?;
        let stream = futures::stream::unfold(
            (client, channel, Some(first)),
            |(client, channel, mut current)| async move {
                loop {
                    if let Some(stream) = current.as_mut() {
                        match stream.next().await {
                            Some(msg) => {
                                let Ok(payload) = msg.get_payload::<String>() else {
                                    continue;
                                };
                                match serde_json::from_str::<Event>(&payload) {
                                    Ok(ev) => return Some((ev, (client, channel, current))),
                                    Err(e) => {
                                        tracing::warn!(%channel, error = %e, "ignoring malformed event");
                                        continue;
                                    }
                                }
                            }
                            None => {
                                tracing::warn!(%channel, "Redis subscription lost; re-subscribing");
                            }
                        }
                    }
                    let mut delay = Duration::from_millis(100);
                    loop {
                        match open_subscription(&client, &channel).await {
                            Ok(s) => {
                                current = Some(s);
                                break;
                            }
                            Err(_) => {
                                tokio::time::sleep(delay).await;
                                delay = (delay * 2).min(Duration::from_secs(5));
                            }
                        }
                    }
                }
            },
        );
        Ok(stream.boxed())
    }

    async fn health(&self) -> Result<()> {
        let mut conn = self.conn.clone();
        let pong: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(|e| EngineError::EventBus(redact(&e)))?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(EngineError::EventBus(format!(
                "unexpected PING answer {pong}"
            )))
        }
    }
}

/// A pub/sub connection subscribed to `channel`, as a stream of its messages (it ends when the
/// connection drops).
pub async fn open_subscription(
    client: &redis::Client,
    channel: &str,
) -> Result<redis::aio::PubSubStream> {
    let mut pubsub = tokio::time::timeout(Duration::from_secs(3), client.get_async_pubsub())
        .await
        .map_err(|_| EngineError::EventBus("timed out connecting to Redis".into()))?
        .map_err(|e| EngineError::EventBus(redact(&e)))?;
    pubsub
        .subscribe(channel)
        .await
        .map_err(|e| EngineError::EventBus(redact(&e)))?;
    Ok(pubsub.into_on_message())
}
