//! A minimal MCP client over streamable HTTP (raw JSON-RPC over `reqwest`, no SDK): enough for
//! `initialize` and `tools/call`, timed by the benchmarks, and able to send each request to
//! another server as a client behind a balancer without sticky routing does.

use serde_json::{json, Value};
use std::time::Duration;

/// A minimal MCP client over streamable HTTP that may send each request to a different
/// control plane, as a client behind a load balancer without sticky routing does.
pub struct McpOverHttp {
    http: reqwest::Client,
    session: Option<String>,
    next_id: u64,
    key: Option<String>,
}

impl McpOverHttp {
    /// A client authenticating with `key` (none: a service without API keys).
    pub fn new(key: Option<&str>) -> Self {
        Self {
            http: super::http_client(Duration::from_secs(60)),
            session: None,
            next_id: 1,
            key: key.map(str::to_string),
        }
    }

    async fn post(&mut self, base: &str, body: Value) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{base}/mcp"))
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-06-18")
            .json(&body);
        if let Some(s) = &self.session {
            req = req.header("mcp-session-id", s);
        }
        if let Some(k) = &self.key {
            req = req.bearer_auth(k);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        if let Some(s) = r.headers().get("mcp-session-id") {
            self.session = Some(s.to_str().unwrap().to_string());
        }
        let text = r.text().await.unwrap();
        // An SSE answer carries the JSON-RPC message on its `data:` lines.
        let json = text
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .find_map(|d| serde_json::from_str::<Value>(d).ok())
            .or_else(|| serde_json::from_str(&text).ok())
            .unwrap_or(Value::Null);
        (status, json)
    }

    /// `initialize` and `notifications/initialized` on `base`.
    pub async fn initialize(&mut self, base: &str) {
        let (status, v) = self
            .post(
                base,
                json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                    "protocolVersion": "2025-06-18", "capabilities": {},
                    "clientInfo": {"name": "cluster-test", "version": "1"}}}),
            )
            .await;
        assert_eq!(status, 200, "initialize: {v}");
        assert!(self.session.is_some(), "no MCP session id");
        let (status, _) = self
            .post(
                base,
                json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            )
            .await;
        assert!(status == 202 || status == 200, "initialized: {status}");
    }

    /// `tools/call` on `base`: the JSON-RPC result.
    pub async fn call(&mut self, base: &str, name: &str, args: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let (status, v) = self
            .post(
                base,
                json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                       "params": {"name": name, "arguments": args}}),
            )
            .await;
        assert_eq!(status, 200, "{name} on {base}: {v}");
        assert_eq!(v["id"], id, "{v}");
        assert!(v.get("error").is_none(), "{name} on {base}: {v}");
        v["result"].clone()
    }

    /// A call that must succeed: its structured content.
    pub async fn ok(&mut self, base: &str, name: &str, args: Value) -> Value {
        let r = self.call(base, name, args.clone()).await;
        assert_ne!(r["isError"], true, "{name}({args}) on {base}: {r}");
        r["structuredContent"].clone()
    }
}
