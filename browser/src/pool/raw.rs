//! A second, minimal DevTools connection to a page, used for `Page.navigate`.
//!
//! chromiumoxide queues every `Page.navigate` behind the previous one until that one finishes
//! loading, so a single page that never loads would block every later navigation of the session
//! for the whole request timeout. Chromium itself handles a new navigation at any time (the old
//! one is aborted), so navigation commands go over this direct connection instead, and their
//! answers (`errorText` included) come back as Chromium sends them.

use futures::{SinkExt, StreamExt};
use platform::error::{EngineError, Result};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A raw CDP connection to one target.
pub struct RawCdp {
    ws: tokio::sync::Mutex<WebSocketStream<MaybeTlsStream<TcpStream>>>,
    next_id: AtomicU64,
}

impl RawCdp {
    /// Connect to a target's DevTools WebSocket.
    pub async fn connect(url: &str) -> Result<Self> {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .map_err(|e| EngineError::BrowserUnavailable(format!("DevTools connection: {e}")))?;
        Ok(Self {
            ws: tokio::sync::Mutex::new(ws),
            next_id: AtomicU64::new(1),
        })
    }

    /// Send one command and wait for its answer. Answers to earlier, abandoned commands are
    /// skipped. No domain is enabled on this connection, so no events arrive on it.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value> {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let mut ws = self.ws.lock().await;
        let msg = json!({"id": id, "method": method, "params": params}).to_string();
        ws.send(Message::Text(msg.into()))
            .await
            .map_err(|e| EngineError::BrowserUnavailable(format!("DevTools send: {e}")))?;
        while let Some(msg) = ws.next().await {
            let msg =
                msg.map_err(|e| EngineError::BrowserUnavailable(format!("DevTools read: {e}")))?;
            let Message::Text(text) = msg else { continue };
            let v: Value = serde_json::from_str(&text)
                .map_err(|e| EngineError::Browser(format!("bad DevTools message: {e}")))?;
            if v.get("id").and_then(Value::as_u64) != Some(id) {
                continue;
            }
            if let Some(err) = v.get("error") {
                return Err(EngineError::Browser(
                    err.get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("CDP error")
                        .to_string(),
                ));
            }
            return Ok(v.get("result").cloned().unwrap_or(Value::Null));
        }
        Err(EngineError::BrowserUnavailable(
            "the DevTools connection closed".into(),
        ))
    }
}
