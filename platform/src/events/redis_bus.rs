//! The Redis pub/sub event bus: every process on every machine sees every event.
//!
//! Publishing goes through an outbox: [`RedisBus::publish`] queues the event and returns, and one
//! task sends the queue in order, as pipelines of `PUBLISH`, over one shared, self-reconnecting
//! connection. So an action never waits for Redis to say its events were sent (three round trips
//! a click), a Redis that is down or slow costs an action nothing, and a burst of events (a crawl's
//! pages) goes out in a few round trips. Each subscription holds its own pub/sub connection and
//! re-subscribes after Redis restarts.

use super::{Event, EventBus};
use crate::error::{EngineError, Result};
use futures::stream::BoxStream;
use futures::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Events waiting to be sent at most; past it, a publish is refused (and logged by its caller).
const OUTBOX: usize = 65_536;
/// Events sent in one pipeline at most.
const BATCH: usize = 256;

/// What the outbox carries.
enum Outgoing {
    /// A payload for a channel.
    Event(String, String),
    /// Answered once everything queued before it was sent.
    Flush(oneshot::Sender<()>),
}

/// Events over Redis pub/sub.
#[derive(Clone)]
pub struct RedisBus {
    client: redis::Client,
    conn: ConnectionManager,
    outbox: mpsc::Sender<Outgoing>,
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
        let (outbox, queued) = mpsc::channel(OUTBOX);
        tokio::spawn(send_outbox(conn.clone(), queued));
        Ok(Self {
            client,
            conn,
            outbox,
        })
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
        self.outbox
            .try_send(Outgoing::Event(channel.to_string(), payload))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => EngineError::EventBus(format!(
                    "{OUTBOX} events are waiting for Redis already; this one is dropped"
                )),
                mpsc::error::TrySendError::Closed(_) => {
                    EngineError::EventBus("the event sender has stopped".into())
                }
            })
    }

    async fn flush(&self) {
        let (done, sent) = oneshot::channel();
        if self.outbox.send(Outgoing::Flush(done)).await.is_ok() {
            // Bounded: a Redis that is gone must not hold the shutdown.
            let _ = tokio::time::timeout(Duration::from_secs(5), sent).await;
        }
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

/// Send the outbox in order: whatever is queued goes in one pipeline (up to [`BATCH`]). A
/// pipeline Redis refuses is logged and dropped, as a lost pub/sub message would be; the
/// connection reconnects by itself for the next one.
async fn send_outbox(mut conn: ConnectionManager, mut queued: mpsc::Receiver<Outgoing>) {
    let mut batch = Vec::with_capacity(BATCH);
    while queued.recv_many(&mut batch, BATCH).await > 0 {
        let mut pipe = redis::pipe();
        let mut events = 0;
        let mut flushed = Vec::new();
        for item in batch.drain(..) {
            match item {
                Outgoing::Event(channel, payload) => {
                    pipe.cmd("PUBLISH").arg(channel).arg(payload).ignore();
                    events += 1;
                }
                Outgoing::Flush(done) => flushed.push(done),
            }
        }
        if events > 0 {
            if let Err(e) = pipe.query_async::<()>(&mut conn).await {
                tracing::warn!(events, error = %redact(&e), "events not published");
            }
        }
        for done in flushed {
            let _ = done.send(());
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
