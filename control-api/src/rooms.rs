//! Connection counts per room: event-stream clients counted here, video viewers by the live
//! video service.

use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What is connected to one room.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct RoomCounts {
    /// WebSocket event-stream clients.
    pub event_clients: usize,
    /// Live-video viewers.
    pub viewers: usize,
}

/// Which kind of connection.
#[derive(Debug, Clone, Copy)]
pub enum ConnectionKind {
    /// A WebSocket event-stream client.
    Events,
}

/// The key a tenant's room is counted under: two tenants' rooms of the same name are counted
/// apart.
pub fn key(tenant: &platform::TenantId, room: &str) -> String {
    format!("{tenant}\u{0}{room}")
}

/// Counts for every room with something connected, by [`key`].
#[derive(Default)]
pub struct Rooms {
    counts: Mutex<HashMap<String, RoomCounts>>,
}

/// Holds one connection's place in the count; dropping it (however the connection ends)
/// gives the place back.
pub struct ConnectionGuard {
    rooms: Arc<Rooms>,
    room: String,
    kind: ConnectionKind,
}

impl Rooms {
    /// Count a new connection to a room.
    pub fn connect(self: &Arc<Self>, room: &str, kind: ConnectionKind) -> ConnectionGuard {
        let mut map = self.counts.lock().expect("rooms lock");
        let c = map.entry(room.to_string()).or_default();
        match kind {
            ConnectionKind::Events => c.event_clients += 1,
        }
        ConnectionGuard {
            rooms: self.clone(),
            room: room.to_string(),
            kind,
        }
    }

    /// The counts for a room (zero when nothing is connected).
    pub fn counts(&self, room: &str) -> RoomCounts {
        self.counts
            .lock()
            .expect("rooms lock")
            .get(room)
            .copied()
            .unwrap_or_default()
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let mut map = self.rooms.counts.lock().expect("rooms lock");
        if let Some(c) = map.get_mut(&self.room) {
            match self.kind {
                ConnectionKind::Events => c.event_clients = c.event_clients.saturating_sub(1),
            }
            if *c == RoomCounts::default() {
                map.remove(&self.room);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_count_and_uncount() {
        let rooms = Arc::new(Rooms::default());
        let a = rooms.connect("r", ConnectionKind::Events);
        let b = rooms.connect("r", ConnectionKind::Events);
        assert_eq!(
            rooms.counts("r"),
            RoomCounts {
                event_clients: 2,
                viewers: 0
            }
        );
        drop(a);
        drop(b);
        assert_eq!(rooms.counts("r"), RoomCounts::default());
    }
}
