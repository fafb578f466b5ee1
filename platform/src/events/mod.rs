//! Real-time events: one typed enum of kinds, serialized as `{type, data, timestamp}`, published
//! on named channels of an event bus (in-process by default, Redis pub/sub when configured).

mod local;
pub mod redis_bus;

pub use local::LocalBus;
pub use redis_bus::RedisBus;

use crate::error::Result;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::{SystemTime, UNIX_EPOCH};

/// Every kind of event the service publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The main frame of a session navigated to a new URL.
    PageNavigation,
    /// A page finished loading (the load event fired).
    PageLoadComplete,
    /// An action finished successfully.
    ActionCompleted,
    /// An action failed.
    ActionError,
    /// The document changed after an action.
    DomChange,
    /// The browser behind a session crashed, hung or was lost.
    BrowserError,
    /// The screen content of a session was read.
    ScreenContentUpdate,
    /// A session started presenting.
    PresentationStarted,
    /// A session was paused.
    PresentationPaused,
    /// A session was resumed.
    PresentationResumed,
    /// An action is waiting for an earlier action on the same session.
    ActionQueued,
    /// An action started running.
    ActionProcessing,
    /// An exploration job made progress.
    ExplorationProgress,
    /// An exploration job stored a page.
    PageCompleted,
    /// An exploration job found a link to another site.
    ExternalLinkDetected,
    /// An exploration job hit an error.
    ExplorationError,
}

/// One event as it travels on the bus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// What happened.
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// Details, specific to the kind.
    pub data: Value,
    /// Seconds since the Unix epoch, with millisecond precision.
    pub timestamp: f64,
}

impl Event {
    /// A new event stamped with the current time.
    pub fn new(kind: EventKind, data: Value) -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as f64
            / 1000.0;
        Self {
            kind,
            data,
            timestamp: now,
        }
    }
}

/// The channel carrying a session's browser events: `browser:events:{room_name}` for the
/// single local tenant (no `API_KEYS`), `browser:events:{tenant}:{room_name}` for a tenant of
/// an API key, so that two tenants' rooms of the same name never share a channel.
pub fn room_channel(tenant: &crate::TenantId, room_name: &str) -> String {
    if tenant.is_local() {
        format!("browser:events:{room_name}")
    } else {
        format!("browser:events:{tenant}:{room_name}")
    }
}

/// A publish/subscribe event bus.
#[async_trait::async_trait]
pub trait EventBus: Send + Sync + 'static {
    /// Which backend this is (`in_process` or `redis`).
    fn backend(&self) -> &'static str;
    /// Publish one event on a channel. Delivery is best effort: nobody listening is not an error.
    /// A process's events leave in the order it published them; a bus may send them after this
    /// returns (see [`EventBus::flush`]).
    async fn publish(&self, channel: &str, event: &Event) -> Result<()>;
    /// Wait until every event published before this call has left the process (at shutdown).
    async fn flush(&self) {}
    /// Subscribe to a channel; the stream ends when the bus shuts down.
    async fn subscribe(&self, channel: &str) -> Result<BoxStream<'static, Event>>;
    /// Check that the bus works.
    async fn health(&self) -> Result<()>;
}

/// Publish and log, never fail: an event that cannot be delivered must not fail the action
/// that produced it.
pub async fn emit(bus: &dyn EventBus, channel: &str, kind: EventKind, data: Value) {
    let event = Event::new(kind, data);
    if let Err(e) = bus.publish(channel, &event).await {
        tracing::warn!(channel, error = %e, "event not published");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_channels_carry_the_tenant_when_there_are_several() {
        assert_eq!(
            room_channel(&crate::TenantId::local(), "demo"),
            "browser:events:demo"
        );
        assert_eq!(
            room_channel(&crate::TenantId::new("org-a"), "demo"),
            "browser:events:org-a:demo"
        );
    }
}
