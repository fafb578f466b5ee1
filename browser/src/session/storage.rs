//! A session's cookies and local storage: snapshotted on the engine worker holding it, stored
//! with the session record, and put back when the session is recovered or moved to another
//! worker, so that an agent that had logged in stays logged in.

use super::*;
use chromiumoxide::cdp::browser_protocol::dom_storage::{
    EnableParams as EnableDomStorage, EventDomStorageItemAdded, EventDomStorageItemRemoved,
    EventDomStorageItemUpdated, EventDomStorageItemsCleared,
};
use chromiumoxide::cdp::browser_protocol::page::{
    RemoveScriptToEvaluateOnNewDocumentParams, ScriptIdentifier,
};
use futures::stream::BoxStream;
use futures::FutureExt;

/// Whether a page's local storage changed since a snapshot last read it: Chromium's `DOMStorage`
/// events for the page (each says whether it was local storage), and the origin that was read.
/// Reading the storage runs a script in the page (about 1 ms of a snapshot's 1.5); most actions
/// change none of it.
pub(super) struct LocalChanges {
    /// One item per change Chromium reported: `true` for local storage.
    events: BoxStream<'static, bool>,
    /// The origin whose storage the last snapshot read.
    read_origin: Option<String>,
}

impl LocalChanges {
    /// Start following the page's storage changes (before the first read, so none is missed).
    async fn follow(page: &chromiumoxide::Page) -> Result<Self> {
        let events = futures::stream::select_all([
            reports::<EventDomStorageItemAdded>(page, |e| e.storage_id.is_local_storage).await?,
            reports::<EventDomStorageItemRemoved>(page, |e| e.storage_id.is_local_storage).await?,
            reports::<EventDomStorageItemUpdated>(page, |e| e.storage_id.is_local_storage).await?,
            reports::<EventDomStorageItemsCleared>(page, |e| e.storage_id.is_local_storage).await?,
        ])
        .boxed();
        page.execute(EnableDomStorage::default()).await.cdp()?;
        Ok(Self {
            events,
            read_origin: None,
        })
    }

    /// Whether `origin`'s local storage must be read again: another origin than last time, or a
    /// change reported since. Takes every report already delivered, without waiting: Chromium
    /// sends a change on the page's DevTools session before its answer to any later command
    /// there, so a write made by an action is delivered by the time the action has answered.
    fn stale(&mut self, origin: &str) -> bool {
        let mut changed = false;
        while let Some(Some(local)) = self.events.next().now_or_never() {
            changed |= local;
        }
        changed || self.read_origin.as_deref() != Some(origin)
    }
}

/// One kind of the page's storage changes, each as whether it was local storage.
async fn reports<T>(
    page: &chromiumoxide::Page,
    local: fn(&T) -> bool,
) -> Result<BoxStream<'static, bool>>
where
    T: chromiumoxide::cdp::IntoEventKind + Unpin + Send + Sync + 'static,
{
    let events = page.event_listener::<T>().await.cdp()?;
    Ok(events.map(move |e| local(&e)).boxed())
}

/// The origin of a URL as `location.origin` gives it (`null` for `about:blank` and the like).
fn origin_of(url: Option<&str>) -> String {
    url.and_then(|u| url::Url::parse(u).ok())
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|| "null".into())
}

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
        let followed = s.lock().local_changes.take();
        let mut changes = match followed {
            Some(c) => c,
            None => LocalChanges::follow(lease.page()).await?,
        };
        let origin = origin_of(s.lock().url.as_deref());
        // The storage as last read, unless it may have changed since.
        let kept = match changes.stale(&origin) {
            true => None,
            false => s
                .lock()
                .storage
                .as_ref()
                .map(|v| v["local_storage"].clone()),
        };
        let raw = lease.raw().await?;
        let read_local = async {
            if let Some(v) = kept {
                return v;
            }
            // A read that failed (the page was navigating) is tried again next time.
            changes.read_origin = None;
            match driver::eval::<Value>(lease.page(), READ_LOCAL_STORAGE).await {
                Ok(v) => {
                    let read = v["origin"].as_str().unwrap_or(&origin).to_string();
                    changes.read_origin = Some(read);
                    v
                }
                Err(_) => Value::Null,
            }
        };
        let cookies = raw.call("Network.getAllCookies", json!({}));
        let (cookies, local) = tokio::join!(cookies, read_local);
        {
            // Kept for the next snapshot while the session still has this page.
            let mut i = s.lock();
            if i.lease.as_ref().is_some_and(|l| Arc::ptr_eq(l, &lease)) {
                i.local_changes = Some(changes);
            }
        }
        let cookies: Vec<Value> = cookies?["cookies"]
            .as_array()
            .map(|a| a.iter().filter_map(cookie_param).collect())
            .unwrap_or_default();
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
    fn an_origin_is_written_as_location_origin_writes_it() {
        assert_eq!(
            origin_of(Some("http://127.0.0.1:8080/login?x=1")),
            "http://127.0.0.1:8080"
        );
        assert_eq!(origin_of(Some("https://a.test/")), "https://a.test");
        assert_eq!(origin_of(Some("about:blank")), "null");
        assert_eq!(origin_of(None), "null");
    }

    #[test]
    fn the_seed_script_quotes_the_origin_and_items_as_json() {
        let s = seed_script("http://a.test:80", &json!([["k", "v\"'"]]));
        assert!(s.contains("\"http://a.test:80\""), "{s}");
        assert!(s.contains(r#"[["k","v\"'"]]"#), "{s}");
    }
}
