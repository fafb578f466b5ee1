//! Sessions over the plain-HTTP control API: typed errors for bad input, no leaks after many
//! sessions, recovery after a browser crash and after a service crash, tenant isolation, and the
//! WebSocket event stream.

#[path = "../common/mod.rs"]
mod common;

mod docs;
mod egress;
mod errors;
mod events;
mod lifecycle;
mod limits;
mod origins;
mod tenancy;

use common::{eventually, processes_mentioning, site, Service};
use futures::StreamExt;
use serde_json::{json, Value};
use std::time::Duration;
