//! The embedded document store: one SQLite file under the data directory. Documents are kept as
//! JSON in the same shapes the MongoDB backend uses, with the tenant and key in columns.

use super::{collections, DocumentStore, SessionRecord, SessionStatus};
use crate::error::{EngineError, Result};
use crate::tenant::TenantId;
use futures::future::BoxFuture;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Documents in a SQLite file (WAL mode).
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

fn store_err(e: impl std::fmt::Display) -> EngineError {
    EngineError::Store(e.to_string())
}

impl SqliteStore {
    /// Open (creating if needed) the store file at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| EngineError::Store(format!("cannot create {}: {e}", dir.display())))?;
        }
        let conn = Connection::open(path)
            .map_err(|e| EngineError::Store(format!("cannot open {}: {e}", path.display())))?;
        conn.execute_batch(&format!(
            "PRAGMA journal_mode=WAL;
             PRAGMA synchronous=NORMAL;
             PRAGMA busy_timeout=5000;
             CREATE TABLE IF NOT EXISTS {s} (
                room_name TEXT PRIMARY KEY,
                tenant_id TEXT NOT NULL,
                status TEXT NOT NULL,
                updated_at REAL NOT NULL,
                doc TEXT NOT NULL
             );
             CREATE INDEX IF NOT EXISTS {s}_tenant ON {s}(tenant_id, updated_at);",
            s = collections::SESSIONS
        ))
        .map_err(store_err)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Run blocking SQLite work off the async runtime.
    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let guard = conn
                .lock()
                .map_err(|_| EngineError::Store("store lock poisoned".into()))?;
            f(&guard).map_err(store_err)
        })
        .await
        .map_err(store_err)?
    }
}

fn status_str(s: SessionStatus) -> &'static str {
    match s {
        SessionStatus::Active => "active",
        SessionStatus::Paused => "paused",
        SessionStatus::Failed => "failed",
        SessionStatus::Closed => "closed",
    }
}

fn decode(doc: String) -> rusqlite::Result<SessionRecord> {
    serde_json::from_str(&doc).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

impl DocumentStore for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn put_session(&self, record: SessionRecord) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let doc = serde_json::to_string(&record).map_err(store_err)?;
            self.with(move |c| {
                c.execute(
                    &format!(
                        "INSERT INTO {} (room_name, tenant_id, status, updated_at, doc) VALUES (?1, ?2, ?3, ?4, ?5)
                         ON CONFLICT(room_name) DO UPDATE SET tenant_id=excluded.tenant_id,
                         status=excluded.status, updated_at=excluded.updated_at, doc=excluded.doc",
                        collections::SESSIONS
                    ),
                    params![
                        record.room_name,
                        record.tenant_id.as_str(),
                        status_str(record.status),
                        record.updated_at,
                        doc
                    ],
                )
                .map(|_| ())
            })
            .await
        })
    }

    fn get_session<'a>(
        &'a self,
        tenant: &'a TenantId,
        room_name: &'a str,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>>> {
        let (tenant, room) = (tenant.as_str().to_string(), room_name.to_string());
        Box::pin(self.with(move |c| {
            c.query_row(
                &format!(
                    "SELECT doc FROM {} WHERE tenant_id = ?1 AND room_name = ?2",
                    collections::SESSIONS
                ),
                params![tenant, room],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .map(decode)
            .transpose()
        }))
    }

    fn list_sessions<'a>(
        &'a self,
        tenant: &'a TenantId,
        status: Option<SessionStatus>,
    ) -> BoxFuture<'a, Result<Vec<SessionRecord>>> {
        let tenant = tenant.as_str().to_string();
        let status = status.map(status_str);
        Box::pin(self.with(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT doc FROM {} WHERE tenant_id = ?1 AND (?2 IS NULL OR status = ?2)
                 ORDER BY updated_at DESC LIMIT 1000",
                collections::SESSIONS
            ))?;
            let rows = stmt.query_map(params![tenant, status], |r| r.get::<_, String>(0))?;
            rows.map(|r| r.and_then(decode)).collect()
        }))
    }

    fn fail_open_sessions<'a>(&'a self, reason: &'a str) -> BoxFuture<'a, Result<usize>> {
        let reason = reason.to_string();
        Box::pin(async move {
            self.with(move |c| {
                let mut stmt = c.prepare(&format!(
                    "SELECT doc FROM {} WHERE status IN ('active', 'paused')",
                    collections::SESSIONS
                ))?;
                let docs: Vec<SessionRecord> = stmt
                    .query_map([], |r| r.get::<_, String>(0))?
                    .map(|r| r.and_then(decode))
                    .collect::<rusqlite::Result<_>>()?;
                let now = super::now_secs();
                for mut rec in docs.iter().cloned() {
                    rec.status = SessionStatus::Failed;
                    rec.last_error = Some(reason.clone());
                    rec.updated_at = now;
                    let doc = serde_json::to_string(&rec)
                        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
                    c.execute(
                        &format!(
                            "UPDATE {} SET status = 'failed', updated_at = ?2, doc = ?3 WHERE room_name = ?1",
                            collections::SESSIONS
                        ),
                        params![rec.room_name, now, doc],
                    )?;
                }
                Ok(docs.len())
            })
            .await
        })
    }

    fn health(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(self.with(|c| {
            c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                .map(|_| ())
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Viewport;

    fn rec(room: &str, tenant: &str, status: SessionStatus) -> SessionRecord {
        SessionRecord {
            room_name: room.into(),
            tenant_id: TenantId::new(tenant),
            status,
            current_url: Some("https://example.com/".into()),
            viewport: Viewport::default(),
            fps: 10,
            last_error: None,
            created_at: 1.0,
            updated_at: super::super::now_secs(),
        }
    }

    #[tokio::test]
    async fn sessions_persist_across_reopen_and_stay_within_their_tenant() {
        let dir = std::env::temp_dir().join(format!("bas-store-{}", uuid::Uuid::new_v4()));
        let path = dir.join("store.sqlite3");
        {
            let s = SqliteStore::open(&path).unwrap();
            s.put_session(rec("r1", "org-a", SessionStatus::Active))
                .await
                .unwrap();
            s.put_session(rec("r2", "org-b", SessionStatus::Closed))
                .await
                .unwrap();
        }
        let s = SqliteStore::open(&path).unwrap();
        let a = TenantId::new("org-a");
        assert_eq!(
            s.get_session(&a, "r1").await.unwrap().unwrap().status,
            SessionStatus::Active
        );
        assert!(
            s.get_session(&a, "r2").await.unwrap().is_none(),
            "org-a must not see org-b's room"
        );
        assert_eq!(s.fail_open_sessions("service restarted").await.unwrap(), 1);
        let r1 = s.get_session(&a, "r1").await.unwrap().unwrap();
        assert_eq!(r1.status, SessionStatus::Failed);
        assert_eq!(r1.last_error.as_deref(), Some("service restarted"));
        assert_eq!(s.list_sessions(&a, None).await.unwrap().len(), 1);
        assert_eq!(
            s.list_sessions(&a, Some(SessionStatus::Closed))
                .await
                .unwrap()
                .len(),
            0
        );
        std::fs::remove_dir_all(dir).ok();
    }
}
