//! Every Redis key and channel of the cluster, in one place.

use platform::TenantId;

const PREFIX: &str = "bas:cluster";

/// The set of every registered worker id (dead ones stay until a control plane fails them).
pub fn workers() -> String {
    format!("{PREFIX}:workers")
}

/// A worker's registration (JSON [`crate::WorkerInfo`]); expires with its lease.
pub fn lease(worker: &str) -> String {
    format!("{PREFIX}:worker:{worker}")
}

/// The list of commands sent to a worker, oldest first.
pub fn commands(worker: &str) -> String {
    format!("{PREFIX}:commands:{worker}")
}

/// The sessions a worker holds: a set of [`member`]s.
pub fn held(worker: &str) -> String {
    format!("{PREFIX}:held:{worker}")
}

/// Which worker holds a tenant's room.
pub fn owner(tenant: &TenantId, room: &str) -> String {
    format!("{PREFIX}:owner:{}:{room}", tenant.as_str())
}

/// The rooms a tenant holds over the cluster (each counted while its [`owner`] key exists).
pub fn tenant_rooms(tenant: &TenantId) -> String {
    format!("{PREFIX}:rooms:{}", tenant.as_str())
}

/// Set once by the control plane that fails a dead worker's sessions.
pub fn lost(worker: &str) -> String {
    format!("{PREFIX}:lost:{worker}")
}

/// The pub/sub channel a control plane takes its answers on.
pub fn replies(control_plane: &str) -> String {
    format!("{PREFIX}:replies:{control_plane}")
}

/// An MCP session of streamable HTTP (its `initialize` parameters).
pub fn mcp_session(id: &str) -> String {
    format!("{PREFIX}:mcp:{id}")
}

/// A session as a member of a worker's [`held`] set: tenant and room, tab-separated (neither may
/// hold a tab).
pub fn member(tenant: &TenantId, room: &str) -> String {
    format!("{}\t{room}", tenant.as_str())
}

/// The tenant and room of a [`member`].
pub fn parse_member(m: &str) -> Option<(TenantId, String)> {
    let (t, r) = m.split_once('\t')?;
    Some((TenantId::new(t), r.to_string()))
}
