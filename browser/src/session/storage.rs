//! A session's cookies and local storage: snapshotted on the engine worker holding it, stored
//! with the session record, and put back when the session is recovered or moved to another
//! worker, so that an agent that had logged in stays logged in.

use super::*;
use chromiumoxide::cdp::browser_protocol::page::{
    RemoveScriptToEvaluateOnNewDocumentParams, ScriptIdentifier,
};

/// Reads the page's origin and its local storage (`null` where storage is denied).
const READ_LOCAL_STORAGE: &str = "(() => { try { return {origin: location.origin, \
     items: Object.entries(localStorage)}; } catch (e) { return null; } })()";

/// A cookie as Chromium reports it, turned into what `Network.setCookies` takes: a session
/// cookie (`session: true`) gets no expiry, and the fields only a reader sees are left out.
fn cookie_param(c: &Value) -> Option<Value> {
    let mut p = serde_json::Map::new();
    for k in [
        "name", "value", "domain", "path", "secure", "httpOnly", "sameSite",
    ] {
        if let Some(v) = c.get(k) {
            p.insert(k.into(), v.clone());
        }
    }
    if c.get("session") != Some(&Value::Bool(true)) {
        if let Some(e) = c
            .get("expires")
            .and_then(Value::as_f64)
            .filter(|e| *e > 0.0)
        {
            p.insert("expires".into(), e.into());
        }
    }
    p.contains_key("name").then_some(Value::Object(p))
}

/// The script that puts `items` back into the local storage of `origin` as its first document
/// starts, before the page's own scripts run.
fn seed_script(origin: &str, items: &Value) -> String {
    format!(
        "(() => {{ if (location.origin !== {o}) return; try {{ for (const [k, v] of {i}) \
         localStorage.setItem(k, v); }} catch (e) {{}} }})()",
        o = Value::from(origin),
        i = items
    )
}

impl SessionManager {
    /// Read the session's cookies (all of its browser context's) and its page's local storage;
    /// when they differ from the last snapshot, keep them with the session and store it.
    /// Returns whether they changed.
    pub async fn snapshot_storage(&self, tenant: &TenantId, room: &str) -> Result<bool> {
        let s = self.get(tenant, room)?;
        let lease = s.page_lease()?;
        let raw = lease.raw().await?;
        let cookies = raw.call("Network.getAllCookies", json!({})).await?;
        let cookies: Vec<Value> = cookies["cookies"]
            .as_array()
            .map(|a| a.iter().filter_map(cookie_param).collect())
            .unwrap_or_default();
        let local: Value = driver::eval(lease.page(), READ_LOCAL_STORAGE)
            .await
            .unwrap_or(Value::Null);
        let snapshot = json!({"cookies": cookies, "local_storage": local});
        let changed = {
            let mut i = s.lock();
            let changed = i.storage.as_ref() != Some(&snapshot);
            if changed {
                i.storage = Some(snapshot);
            }
            changed
        };
        if changed {
            self.persist(&s).await;
        }
        Ok(changed)
    }

    /// Put a snapshot back into a session that has just got its page, before its URL is loaded:
    /// cookies at once, local storage as the first document of its origin starts. Returns the
    /// seeding script to remove once that document has loaded ([`Self::unseed`]).
    pub(super) async fn restore_storage(
        &self,
        s: &Arc<Session>,
        snapshot: &Value,
    ) -> Result<Option<ScriptIdentifier>> {
        let lease = s.page_lease()?;
        if let Some(cookies) = snapshot["cookies"].as_array().filter(|c| !c.is_empty()) {
            lease
                .raw()
                .await?
                .call("Network.setCookies", json!({"cookies": cookies}))
                .await?;
        }
        s.lock().storage = Some(snapshot.clone());
        let local = &snapshot["local_storage"];
        let (Some(origin), Some(items)) = (
            local["origin"].as_str(),
            local["items"].as_array().filter(|i| !i.is_empty()),
        ) else {
            return Ok(None);
        };
        // On the page's own DevTools session: only a session with the Page domain enabled runs
        // scripts on new documents.
        let script = seed_script(origin, &Value::Array(items.clone()));
        let id = lease.page().evaluate_on_new_document(script).await.cdp()?;
        Ok(Some(id))
    }

    /// [`Self::restore_storage`] when there is a snapshot; a failure is logged, not fatal (the
    /// session is open, only its state is missing).
    pub(super) async fn restore_snapshot(
        &self,
        s: &Arc<Session>,
        snapshot: Option<&Value>,
    ) -> Option<ScriptIdentifier> {
        match self.restore_storage(s, snapshot?).await {
            Ok(id) => id,
            Err(e) => {
                tracing::warn!(parent: &s.span, error = %e, "cookies and storage not restored");
                None
            }
        }
    }

    /// Stop seeding local storage: later documents see what the page itself keeps.
    pub(super) async fn unseed(&self, s: &Arc<Session>, script: Option<ScriptIdentifier>) {
        let (Some(id), Ok(lease)) = (script, s.page_lease()) else {
            return;
        };
        let remove = RemoveScriptToEvaluateOnNewDocumentParams::new(id);
        if let Err(e) = lease.page().execute(remove).await {
            tracing::debug!(parent: &s.span, error = %e, "seeding script not removed");
        }
    }

    /// The sessions holding a page, as (tenant, room name).
    pub fn held(&self) -> Vec<(TenantId, String)> {
        self.all()
            .into_iter()
            .filter(|s| s.is_open())
            .map(|s| (s.tenant.clone(), s.room_name.clone()))
            .collect()
    }

    /// Let another process take a session over: snapshot its cookies and storage, store it as it
    /// is (open, with its URL), and free its page here without recording it closed. The other
    /// process then recovers it from the store.
    pub async fn hand_over(&self, tenant: &TenantId, room: &str) -> Result<()> {
        if let Err(e) = self.snapshot_storage(tenant, room).await {
            tracing::warn!(room, error = %e, "cookies and storage not snapshotted before the move");
        }
        let s = self.get(tenant, room)?;
        let _op = s.op.lock().await;
        self.persist(&s).await;
        self.discard(&s).await;
        tracing::info!(parent: &s.span, "session handed over");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_cookie_comes_back_without_an_expiry_and_a_persistent_one_with_it() {
        let session = json!({"name": "sid", "value": "1", "domain": "a.test", "path": "/",
            "expires": -1, "session": true, "size": 4, "httpOnly": true});
        let p = cookie_param(&session).unwrap();
        assert_eq!(p.get("expires"), None);
        assert_eq!(p["httpOnly"], true);
        assert_eq!(p.get("size"), None);
        let kept = json!({"name": "pref", "value": "x", "expires": 1.9e9, "session": false});
        assert_eq!(cookie_param(&kept).unwrap()["expires"], 1.9e9);
    }

    #[test]
    fn the_seed_script_quotes_the_origin_and_items_as_json() {
        let s = seed_script("http://a.test:80", &json!([["k", "v\"'"]]));
        assert!(s.contains("\"http://a.test:80\""), "{s}");
        assert!(s.contains(r#"[["k","v\"'"]]"#), "{s}");
    }
}
