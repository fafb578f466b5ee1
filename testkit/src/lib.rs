//! Test support shared by the crates' tests, in one place instead of files included by path:
//! free ports and fresh directories ([`dirs`]), the test servers (a Redis of the tests' own in
//! [`redis`], the MongoDB-compatible and S3-compatible servers in [`servers`]), fixture sites
//! served on 127.0.0.1 ([`sites`]), generated documents ([`documents`]), the MCP test driver
//! ([`mcp`]), process checks ([`procs`]) and waiting helpers ([`wait`]). Nothing here is a mock:
//! every server is the real program, started on a free port and stopped when dropped.

pub mod dirs;
pub mod dns;
pub mod documents;
pub mod mcp;
pub mod procs;
pub mod redis;
pub mod servers;
pub mod sites;
pub mod stats;
pub mod wait;
