//! Knowledge-exploration jobs end to end: the service binary (embedded store, in-process queue,
//! real Chromium for script-rendered pages) crawls a trap site served on 127.0.0.1; REST, MCP
//! (the Python `mcp` client) and the `crawl` command drive it.

#[path = "../common/mod.rs"]
mod common;

mod clients;
mod control;
mod correctness;
mod resync;
mod scope;
mod webhooks;

use common::trap_site::{TrapOptions, TrapSite};
use common::{McpClient, Service};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

fn path_of(url: &str) -> String {
    let u = url::Url::parse(url).unwrap();
    match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    }
}

fn by_path(pages: &[Value]) -> BTreeMap<String, Value> {
    let mut m = BTreeMap::new();
    for p in pages {
        let path = path_of(p["url"].as_str().unwrap());
        assert!(
            m.insert(path.clone(), p.clone()).is_none(),
            "{path} stored twice"
        );
    }
    m
}
