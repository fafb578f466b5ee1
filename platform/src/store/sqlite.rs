//! The embedded document store: one SQLite file under the data directory. Documents are kept as
//! JSON in the same shapes the MongoDB backend uses, with the tenant and key in columns.

use super::{collections, DocumentStore, SessionRecord, SessionStatus};
use crate::error::{EngineError, Result};
use crate::store::SessionStore;
use crate::tenant::TenantId;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Documents in a SQLite file (WAL mode).
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

pub(super) fn store_err(e: impl std::fmt::Display) -> EngineError {
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
        // Several processes may open a new file at once (a control plane and its workers on one
        // data directory): the schema and its migrations run under the write lock, so each
        // checks what the previous one did. Two openers can still deadlock on their locks (one
        // switching to WAL while the other commits); SQLite then answers "locked" at once
        // rather than waiting, and the opening starts again.
        let mut attempt = 0;
        while let Err(e) = migrate(&conn) {
            attempt += 1;
            if attempt >= 50 || !e.to_string().contains("locked") {
                return Err(e);
            }
            std::thread::sleep(std::time::Duration::from_millis(20 + 10 * attempt));
        }
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Run blocking SQLite work off the async runtime.
    pub(super) async fn with<T: Send + 'static>(
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

    /// [`SqliteStore::with`] in an immediate transaction (the write lock taken at once, so two
    /// processes sharing the file serialise): committed when `f` succeeds, rolled back if not.
    pub(super) async fn with_tx<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T> {
        self.with(move |c| {
            c.execute_batch("BEGIN IMMEDIATE")?;
            let result = f(c);
            match &result {
                Ok(_) => c.execute_batch("COMMIT")?,
                Err(_) => {
                    let _ = c.execute_batch("ROLLBACK");
                }
            }
            result
        })
        .await
    }
}

/// The sessions table, keyed by (tenant, room name), and its index (created when missing).
fn sessions_table() -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {s} (
            room_name TEXT NOT NULL,
            tenant_id TEXT NOT NULL,
            status TEXT NOT NULL,
            updated_at REAL NOT NULL,
            doc TEXT NOT NULL,
            PRIMARY KEY (tenant_id, room_name)
         );
         CREATE INDEX IF NOT EXISTS {s}_tenant ON {s}(tenant_id, updated_at);",
        s = collections::SESSIONS
    )
}

/// The tables and indexes of the store (created when missing).
fn schema() -> String {
    format!(
        "{sessions}
             CREATE TABLE IF NOT EXISTS {j} (
                job_id TEXT PRIMARY KEY,
                tenant_id TEXT NOT NULL,
                status TEXT NOT NULL,
                created_at REAL NOT NULL,
                doc TEXT NOT NULL,
                frontier TEXT
             );
             CREATE INDEX IF NOT EXISTS {j}_tenant ON {j}(tenant_id, status, created_at);
             CREATE INDEX IF NOT EXISTS {j}_status ON {j}(status);
             CREATE TABLE IF NOT EXISTS {p} (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                job_id TEXT NOT NULL,
                tenant_id TEXT NOT NULL,
                url TEXT NOT NULL,
                ok INTEGER NOT NULL,
                fetched_at REAL NOT NULL,
                doc TEXT NOT NULL,
                UNIQUE(job_id, url)
             );
             CREATE INDEX IF NOT EXISTS {p}_tenant ON {p}(tenant_id, job_id, seq);
             CREATE INDEX IF NOT EXISTS {p}_url ON {p}(tenant_id, url);
             CREATE TABLE IF NOT EXISTS {l} (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                job_id TEXT NOT NULL,
                tenant_id TEXT NOT NULL,
                from_url TEXT NOT NULL,
                to_url TEXT NOT NULL,
                external INTEGER NOT NULL,
                doc TEXT NOT NULL,
                UNIQUE(job_id, from_url, to_url)
             );
             CREATE INDEX IF NOT EXISTS {l}_tenant ON {l}(tenant_id, job_id, external, seq);
             CREATE TABLE IF NOT EXISTS {e} (
                chunk_id TEXT PRIMARY KEY,
                tenant_id TEXT NOT NULL,
                job_id TEXT NOT NULL,
                url TEXT NOT NULL,
                site TEXT NOT NULL,
                model TEXT NOT NULL,
                dimension INTEGER NOT NULL,
                doc TEXT NOT NULL,
                vector BLOB NOT NULL
             );
             CREATE INDEX IF NOT EXISTS {e}_page ON {e}(tenant_id, url);
             CREATE INDEX IF NOT EXISTS {e}_job ON {e}(tenant_id, job_id);
             CREATE TABLE IF NOT EXISTS {e}_changes (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                tenant_id TEXT NOT NULL,
                url TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS {w} (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                delivery_id TEXT NOT NULL UNIQUE,
                job_id TEXT NOT NULL,
                status TEXT NOT NULL,
                next_attempt_at REAL NOT NULL,
                lease_until REAL NOT NULL,
                doc TEXT NOT NULL
             );
             CREATE INDEX IF NOT EXISTS {w}_due ON {w}(status, next_attempt_at);
             CREATE INDEX IF NOT EXISTS {w}_job ON {w}(job_id, seq);
             CREATE VIRTUAL TABLE IF NOT EXISTS {e}_fts USING fts5(
                chunk_id UNINDEXED, tenant_id UNINDEXED, job_id UNINDEXED, site UNINDEXED,
                title, heading, text, tokenize = 'porter unicode61'
             );",
        sessions = sessions_table(),
        e = collections::EMBEDDINGS,
        j = collections::JOBS,
        p = collections::PAGES,
        l = collections::LINKS,
        w = collections::WEBHOOKS,
    )
}

/// The connection's settings, then the schema and its migrations in one immediate transaction.
fn migrate(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "PRAGMA busy_timeout=5000; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    )
    .map_err(store_err)?;
    conn.execute_batch("BEGIN IMMEDIATE").map_err(store_err)?;
    let migrated = conn
        .execute_batch(&schema())
        .map_err(store_err)
        .and_then(|_| add_indexed_column(conn))
        .and_then(|_| key_sessions_by_tenant(conn));
    match migrated {
        Ok(()) => conn.execute_batch("COMMIT").map_err(store_err),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Sessions stored when a room name was one namespace for every tenant: key them by (tenant,
/// room name), so that two tenants' rooms of the same name are two records.
fn key_sessions_by_tenant(conn: &Connection) -> Result<()> {
    let pk: Vec<String> = conn
        .prepare(&format!("PRAGMA table_info({})", collections::SESSIONS))
        .and_then(|mut st| {
            let cols = st.query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, i64>(5)?)))?;
            Ok(cols
                .filter_map(|c| c.ok())
                .filter(|(_, pk)| *pk > 0)
                .map(|(name, _)| name)
                .collect())
        })
        .map_err(store_err)?;
    if pk != ["room_name"] {
        return Ok(());
    }
    // The old table's index goes with it (dropped), so the new one is created afresh.
    // (In the opening transaction.)
    conn.execute_batch(&format!(
        "ALTER TABLE {s} RENAME TO {s}_by_room;
         DROP INDEX IF EXISTS {s}_tenant;
         {table}
         INSERT INTO {s} SELECT room_name, tenant_id, status, updated_at, doc FROM {s}_by_room;
         DROP TABLE {s}_by_room;",
        s = collections::SESSIONS,
        table = sessions_table(),
    ))
    .map_err(store_err)
}

/// Pages stored before passages existed: add the column that says they are indexed.
fn add_indexed_column(conn: &Connection) -> Result<()> {
    let has_indexed: bool = conn
        .prepare(&format!("PRAGMA table_info({})", collections::PAGES))
        .and_then(|mut st| {
            let names = st.query_map([], |r| r.get::<_, String>(1))?;
            Ok(names.filter_map(|n| n.ok()).any(|n| n == "indexed"))
        })
        .map_err(store_err)?;
    if !has_indexed {
        conn.execute_batch(&format!(
            "ALTER TABLE {p} ADD COLUMN indexed INTEGER NOT NULL DEFAULT 0;
             CREATE INDEX IF NOT EXISTS {p}_unindexed ON {p}(ok, indexed);",
            p = collections::PAGES
        ))
        .map_err(store_err)?;
    }
    Ok(())
}

fn decode(doc: String) -> rusqlite::Result<SessionRecord> {
    serde_json::from_str(&doc).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

#[async_trait::async_trait]
impl DocumentStore for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn health(&self) -> Result<()> {
        self.with(|c| {
            c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                .map(|_| ())
        })
        .await
    }
}

#[async_trait::async_trait]
impl SessionStore for SqliteStore {
    async fn put_session(&self, record: SessionRecord) -> Result<()> {
        let doc = serde_json::to_string(&record).map_err(store_err)?;
        self.with(move |c| {
                c.execute(
                    &format!(
                        "INSERT INTO {} (room_name, tenant_id, status, updated_at, doc) VALUES (?1, ?2, ?3, ?4, ?5)
                         ON CONFLICT(tenant_id, room_name) DO UPDATE SET
                         status=excluded.status, updated_at=excluded.updated_at, doc=excluded.doc",
                        collections::SESSIONS
                    ),
                    params![
                        record.room_name,
                        record.tenant_id.as_str(),
                        record.status.as_str(),
                        record.updated_at,
                        doc
                    ],
                )
                .map(|_| ())
            })
            .await
    }

    async fn get_session(
        &self,
        tenant: &TenantId,
        room_name: &str,
    ) -> Result<Option<SessionRecord>> {
        let (tenant, room) = (tenant.as_str().to_string(), room_name.to_string());
        self.with(move |c| {
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
        })
        .await
    }

    async fn list_sessions(
        &self,
        tenant: &TenantId,
        status: Option<SessionStatus>,
    ) -> Result<Vec<SessionRecord>> {
        let tenant = tenant.as_str().to_string();
        let status = status.map(SessionStatus::as_str);
        self.with(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT doc FROM {} WHERE tenant_id = ?1 AND (?2 IS NULL OR status = ?2)
                 ORDER BY updated_at DESC LIMIT 1000",
                collections::SESSIONS
            ))?;
            let rows = stmt.query_map(params![tenant, status], |r| r.get::<_, String>(0))?;
            rows.map(|r| r.and_then(decode)).collect()
        })
        .await
    }

    async fn fail_open_sessions(&self, reason: &str) -> Result<usize> {
        let reason = reason.to_string();
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
                            "UPDATE {} SET status = 'failed', updated_at = ?2, doc = ?3 WHERE room_name = ?1 AND tenant_id = ?4",
                            collections::SESSIONS
                        ),
                        params![rec.room_name, now, doc, rec.tenant_id.as_str()],
                    )?;
                }
                Ok(docs.len())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_processes_may_open_a_new_store_at_once() {
        // Threads stand in for processes: each opens the file with its own connection.
        let dir = std::env::temp_dir().join(format!("bas-sqlite-open-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("store.db");
        let opened: Vec<_> = (0..8)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || SqliteStore::open(&path).map(|_| ()))
            })
            .map(|t| t.join().unwrap())
            .collect();
        let _ = std::fs::remove_dir_all(&dir);
        for r in opened {
            r.expect("each opener sees the schema the others made");
        }
    }
}
