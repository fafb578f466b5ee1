//! Many engine workers behind control planes, as real processes on one machine sharing a real
//! Redis (a `redis-server` of the tests' own) and one data directory (the embedded store):
//! placement spread over workers, calls routed through any control plane (REST and MCP over
//! streamable HTTP with no sticky routing), two control planes racing for one room, tenant
//! isolation on the routed path, a worker killed with SIGKILL (its sessions fail within 10 s and
//! recover elsewhere with their URL and login cookie), a drain under steady traffic with no
//! failed action (a paused session stays paused, a recording records on), a Redis restart,
//! recordings through a control plane, and a tenant's session limit over the whole cluster.

#[path = "../common/mod.rs"]
mod common;

mod drain;
mod failover;
mod harness;
mod placement;
mod recordings;
mod redis_restart;
mod video;
