//! Viewers of live video: pages in a real headless Chromium (an engine of the test's own)
//! that open the built-in viewer page and report what they decode.

use browser::session::StartOptions;
use browser::Engine;
use platform::{Config, TenantId, Viewport};
use serde_json::Value;
use std::sync::Arc;

/// Viewers: headless Chromium from the engine's own pool, in this test process.
pub struct Viewers {
    /// The viewers' engine.
    pub engine: Arc<Engine>,
}

impl Viewers {
    pub async fn start() -> Viewers {
        let dir = super::temp_dir("viewers");
        let d = dir.display().to_string();
        let config = Config::from_lookup(|k| match k {
            "DATA_DIR" => Some(d.clone()),
            "PRIVATE_NETWORK_ALLOWLIST" => Some("127.0.0.1".into()),
            "MAX_BROWSERS" => Some("1".into()),
            "SESSION_IDLE_TIMEOUT_SECS" => Some("0".into()),
            // The viewers' page is trusted: its WebRTC media is UDP, which the egress proxy
            // cannot carry.
            "PAGE_WEBRTC_UDP" => Some("true".into()),
            "REDIS_URL" | "MONGODB_URI" | "QDRANT_URL" | "API_KEYS" => None,
            _ => std::env::var(k).ok(),
        })
        .unwrap();
        Viewers {
            engine: Engine::open(config).await.unwrap(),
        }
    }

    /// Open the viewer page of `room` as viewer `name`.
    pub async fn open(&self, name: &str, url: &str) {
        self.engine
            .sessions
            .start_session(
                &TenantId::local(),
                name,
                StartOptions {
                    initial_url: Some(url.to_string()),
                    viewport: Some(Viewport {
                        width: 800,
                        height: 500,
                    }),
                    ..StartOptions::default()
                },
            )
            .await
            .unwrap();
    }

    /// The viewer page's `window.viewer` (state and inbound video statistics).
    pub async fn state(&self, name: &str) -> Value {
        let (lease, _, _) = self
            .engine
            .sessions
            .live_page(&TenantId::local(), name)
            .unwrap();
        lease
            .page()
            .evaluate("JSON.stringify(window.viewer || null)")
            .await
            .ok()
            .and_then(|v| v.into_value::<String>().ok())
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or(Value::Null)
    }

    pub async fn frames(&self, name: &str) -> (u64, Value) {
        let v = self.state(name).await;
        (v["stats"]["framesDecoded"].as_u64().unwrap_or(0), v)
    }

    pub async fn close(&self, name: &str) {
        let _ = self.engine.sessions.close(&TenantId::local(), name).await;
    }
}
