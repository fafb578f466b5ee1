//! The embedded document store: one SQLite file under the data directory. Documents are kept as
//! JSON in the same shapes the MongoDB backend uses, with the tenant and key in columns.

use super::{
    collections, ChunkRecord, DocumentStore, JobChange, JobUpdate, LinkQuery, LinkRecord,
    PageQuery, PageRecord, Paged, SessionRecord, SessionStatus,
};
use crate::error::{EngineError, Result};
use crate::jobs::{JobRecord, JobStatus};
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
             CREATE INDEX IF NOT EXISTS {s}_tenant ON {s}(tenant_id, updated_at);
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
             CREATE VIRTUAL TABLE IF NOT EXISTS {e}_fts USING fts5(
                chunk_id UNINDEXED, tenant_id UNINDEXED, job_id UNINDEXED, site UNINDEXED,
                title, heading, text, tokenize = 'porter unicode61'
             );",
            s = collections::SESSIONS,
            e = collections::EMBEDDINGS,
            j = collections::JOBS,
            p = collections::PAGES,
            l = collections::LINKS,
        ))
        .map_err(store_err)?;
        // Pages stored before passages existed: add the column that says they are indexed.
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

    fn insert_job(&self, job: JobRecord) -> BoxFuture<'_, Result<()>> {
        Box::pin(self.insert_job_impl(job))
    }

    fn get_job<'a>(
        &'a self,
        tenant: Option<&'a TenantId>,
        job_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<JobRecord>>> {
        Box::pin(self.get_job_impl(tenant, job_id))
    }

    fn list_jobs<'a>(
        &'a self,
        tenant: Option<&'a TenantId>,
        statuses: &'a [JobStatus],
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<JobRecord>>> {
        Box::pin(self.list_jobs_impl(tenant, statuses, limit))
    }

    fn update_job<'a>(
        &'a self,
        job_id: &'a str,
        frontier: Option<String>,
        change: JobChange,
    ) -> BoxFuture<'a, Result<JobUpdate>> {
        Box::pin(self.update_job_impl(job_id, frontier, change))
    }

    fn load_frontier<'a>(&'a self, job_id: &'a str) -> BoxFuture<'a, Result<Option<String>>> {
        Box::pin(self.load_frontier_impl(job_id))
    }

    fn put_page(&self, page: PageRecord) -> BoxFuture<'_, Result<bool>> {
        Box::pin(self.put_page_impl(page))
    }

    fn has_page<'a>(&'a self, job_id: &'a str, url: &'a str) -> BoxFuture<'a, Result<bool>> {
        Box::pin(self.has_page_impl(job_id, url))
    }

    fn get_page<'a>(
        &'a self,
        tenant: &'a TenantId,
        job_id: Option<&'a str>,
        url: &'a str,
    ) -> BoxFuture<'a, Result<Option<PageRecord>>> {
        Box::pin(self.get_page_impl(tenant, job_id, url))
    }

    fn list_pages<'a>(
        &'a self,
        tenant: &'a TenantId,
        query: &'a PageQuery,
    ) -> BoxFuture<'a, Result<Paged<PageRecord>>> {
        Box::pin(self.list_pages_impl(tenant, query))
    }

    fn put_links(&self, links: Vec<LinkRecord>) -> BoxFuture<'_, Result<usize>> {
        Box::pin(self.put_links_impl(links))
    }

    fn list_links<'a>(
        &'a self,
        tenant: &'a TenantId,
        query: &'a LinkQuery,
    ) -> BoxFuture<'a, Result<Paged<LinkRecord>>> {
        Box::pin(self.list_links_impl(tenant, query))
    }

    fn replace_chunks<'a>(
        &'a self,
        tenant: &'a TenantId,
        job_id: &'a str,
        url: &'a str,
        chunks: Vec<ChunkRecord>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.replace_chunks_impl(tenant, job_id, url, chunks))
    }

    fn unindexed_pages(&self, limit: usize) -> BoxFuture<'_, Result<Vec<PageRecord>>> {
        Box::pin(self.unindexed_pages_impl(limit))
    }

    fn chunk_changes_since(
        &self,
        seq: u64,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<(u64, TenantId, String)>>> {
        Box::pin(self.chunk_changes_since_impl(seq, limit))
    }

    fn chunk_change_seq(&self) -> BoxFuture<'_, Result<u64>> {
        Box::pin(self.chunk_change_seq_impl())
    }

    fn page_chunks<'a>(
        &'a self,
        tenant: &'a TenantId,
        url: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ChunkRecord>>> {
        Box::pin(self.page_chunks_impl(tenant, url))
    }

    fn indexed_pages<'a>(&'a self, job_id: &'a str) -> BoxFuture<'a, Result<u64>> {
        Box::pin(self.indexed_pages_impl(job_id))
    }

    fn all_chunk_vectors(&self) -> BoxFuture<'_, Result<Vec<ChunkRecord>>> {
        Box::pin(self.all_chunk_vectors_impl())
    }

    fn get_chunks<'a>(
        &'a self,
        tenant: &'a TenantId,
        ids: Vec<String>,
    ) -> BoxFuture<'a, Result<Vec<ChunkRecord>>> {
        Box::pin(self.get_chunks_impl(tenant, ids))
    }

    fn keyword_search<'a>(
        &'a self,
        tenant: &'a TenantId,
        text: &'a str,
        job_id: Option<&'a str>,
        site: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<(String, f64)>>> {
        Box::pin(self.keyword_search_impl(tenant, text, job_id, site, limit))
    }

    fn chunk_models<'a>(
        &'a self,
        tenant: &'a TenantId,
    ) -> BoxFuture<'a, Result<Vec<(String, u32)>>> {
        Box::pin(self.chunk_models_impl(tenant))
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

#[cfg(test)]
mod knowledge_tests {
    use super::*;
    use crate::jobs::{JobOptions, RenderMode};
    use crate::store::{PageOutcome, Paged};

    fn opts() -> JobOptions {
        JobOptions {
            start_url: "https://example.com/".into(),
            max_pages: 10,
            max_depth: 2,
            include_patterns: vec![],
            exclude_patterns: vec![],
            render: RenderMode::Auto,
            concurrency: 2,
        }
    }

    fn page(job: &str, tenant: &str, url: &str, ok: bool, md: &str) -> PageRecord {
        PageRecord {
            tenant_id: TenantId::new(tenant),
            job_id: job.into(),
            url: url.into(),
            requested_url: None,
            depth: 0,
            ok,
            status_code: Some(200),
            content_type: Some("text/html".into()),
            encoding: Some("utf-8".into()),
            fetched_via: "http".into(),
            title: format!("Title of {url}"),
            description: None,
            headings: vec![],
            markdown: md.into(),
            code_blocks: vec![],
            word_count: 1,
            internal_links: 0,
            external_links: 0,
            error: None,
            fetched_at: 1.0,
        }
    }

    fn link(job: &str, from: &str, to: &str, external: bool) -> LinkRecord {
        LinkRecord {
            tenant_id: TenantId::new("org-a"),
            job_id: job.into(),
            from_url: from.into(),
            to_url: to.into(),
            text: String::new(),
            external,
        }
    }

    fn temp_store() -> (std::path::PathBuf, SqliteStore) {
        let dir = std::env::temp_dir().join(format!("bas-store-{}", uuid::Uuid::new_v4()));
        let path = dir.join("store.sqlite3");
        let s = SqliteStore::open(&path).unwrap();
        (dir, s)
    }

    #[tokio::test]
    async fn jobs_are_unique_tenant_scoped_and_changed_atomically() {
        let (dir, s) = temp_store();
        let a = TenantId::new("org-a");
        let b = TenantId::new("org-b");
        s.insert_job(JobRecord::new("j1".into(), a.clone(), opts()))
            .await
            .unwrap();
        let dup = s
            .insert_job(JobRecord::new("j1".into(), b.clone(), opts()))
            .await;
        assert_eq!(dup.unwrap_err().code(), "job_exists");
        assert!(s.get_job(Some(&b), "j1").await.unwrap().is_none());
        assert!(s.get_job(None, "j1").await.unwrap().is_some());
        let up = s
            .update_job(
                "j1",
                Some("{\"f\":1}".into()),
                Box::new(|j| {
                    j.set_status(JobStatus::Queued, None);
                    true
                }),
            )
            .await
            .unwrap();
        assert!(matches!(up, JobUpdate::Updated(ref j) if j.status == JobStatus::Queued));
        let declined = s
            .update_job("j1", Some("{\"f\":2}".into()), Box::new(|_| false))
            .await
            .unwrap();
        assert!(matches!(declined, JobUpdate::Unchanged(_)));
        assert_eq!(
            s.load_frontier("j1").await.unwrap().as_deref(),
            Some("{\"f\":1}")
        );
        assert_eq!(
            s.update_job("nope", None, Box::new(|_| true))
                .await
                .unwrap(),
            JobUpdate::Missing
        );
        assert_eq!(
            s.list_jobs(Some(&a), &[JobStatus::Queued], 10)
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            s.list_jobs(Some(&a), &[JobStatus::Running], 10)
                .await
                .unwrap()
                .len(),
            0
        );
        assert_eq!(s.list_jobs(Some(&b), &[], 10).await.unwrap().len(), 0);

        // Two handles on the file (as two processes would have) never lose an update.
        let other = SqliteStore::open(&dir.join("store.sqlite3")).unwrap();
        let bump = |st: SqliteStore| async move {
            for _ in 0..50 {
                st.update_job(
                    "j1",
                    None,
                    Box::new(|j| {
                        j.counters.pages_completed += 1;
                        true
                    }),
                )
                .await
                .unwrap();
            }
        };
        tokio::join!(bump(s.clone()), bump(other));
        let j = s.get_job(None, "j1").await.unwrap().unwrap();
        assert_eq!(j.counters.pages_completed, 100);
        std::fs::remove_dir_all(dir).ok();
    }

    #[tokio::test]
    async fn pages_and_links_are_stored_once_and_read_back_by_tenant() {
        let (dir, s) = temp_store();
        let a = TenantId::new("org-a");
        assert!(s
            .put_page(page(
                "j1",
                "org-a",
                "https://e.com/",
                true,
                "Hello widget world"
            ))
            .await
            .unwrap());
        assert!(
            !s.put_page(page("j1", "org-a", "https://e.com/", true, "again"))
                .await
                .unwrap(),
            "once per job and URL"
        );
        assert!(s
            .put_page(page("j2", "org-a", "https://e.com/", true, "newer crawl"))
            .await
            .unwrap());
        assert!(s
            .put_page(page("j1", "org-a", "https://e.com/404", false, ""))
            .await
            .unwrap());
        assert!(s
            .put_page(page("j3", "org-b", "https://e.com/", true, "Hello widget"))
            .await
            .unwrap());
        assert!(s.has_page("j1", "https://e.com/404").await.unwrap());
        assert!(!s.has_page("j1", "https://e.com/other").await.unwrap());
        let q = |job: Option<&str>, outcome, text: Option<&str>| PageQuery {
            job_id: job.map(str::to_string),
            outcome,
            text: text.map(str::to_string),
            limit: 10,
            ..Default::default()
        };
        let Paged { items, total } = s
            .list_pages(&a, &q(Some("j1"), PageOutcome::All, None))
            .await
            .unwrap();
        assert_eq!(total, 2);
        assert_eq!(
            items[0].markdown, "Hello widget world",
            "the first write stays"
        );
        assert_eq!(
            s.list_pages(&a, &q(Some("j1"), PageOutcome::Failed, None))
                .await
                .unwrap()
                .total,
            1
        );
        assert_eq!(
            s.list_pages(&a, &q(None, PageOutcome::Ok, Some("WIDGET")))
                .await
                .unwrap()
                .total,
            1
        );
        assert_eq!(
            s.list_pages(&a, &q(None, PageOutcome::Ok, Some("100%")))
                .await
                .unwrap()
                .total,
            0
        );
        let newest = s
            .get_page(&a, None, "https://e.com/")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(newest.job_id, "j2");
        assert!(s
            .get_page(&TenantId::new("org-c"), None, "https://e.com/")
            .await
            .unwrap()
            .is_none());

        let n = s
            .put_links(vec![
                link("j1", "https://e.com/", "https://e.com/a", false),
                link("j1", "https://e.com/", "https://x.org/", true),
                link("j1", "https://e.com/", "https://e.com/a", false),
            ])
            .await
            .unwrap();
        assert_eq!(n, 2);
        let ext = s
            .list_links(
                &a,
                &LinkQuery {
                    job_id: Some("j1".into()),
                    external: Some(true),
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(ext.total, 1);
        assert_eq!(ext.items[0].to_url, "https://x.org/");
        let none = s
            .list_links(
                &TenantId::new("org-b"),
                &LinkQuery {
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(none.total, 0);
        std::fs::remove_dir_all(dir).ok();
    }
}
