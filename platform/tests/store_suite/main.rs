//! One behavioural suite for every document store: each check runs against the embedded SQLite
//! store and against a real MongoDB-compatible server (SecantusDB, started here on a free port),
//! so the two backends cannot drift apart.

mod jobs;
mod pages;
mod passages;
mod sessions;
mod webhooks;

use testkit::servers;

use platform::jobs::{JobOptions, JobRecord, JobStatus, RenderMode};
use platform::store::{
    ChunkRecord, DocumentStore, JobUpdate, LinkQuery, LinkRecord, MongoStore, PageChange,
    PageOutcome, PageQuery, PageRecord, Paged, SessionRecord, SessionStatus, SessionStore,
    SqliteStore, Validators,
};
use platform::TenantId;
use servers::MongoServer;
use std::sync::Arc;

/// A store under test and a second, independent handle on the same data (as a second process
/// would have), kept alive with whatever backs them.
struct Backend {
    store: Arc<dyn DocumentStore>,
    other: Arc<dyn DocumentStore>,
    _server: Option<MongoServer>,
    dir: Option<std::path::PathBuf>,
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Some(d) = &self.dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

fn sqlite() -> Backend {
    let dir = std::env::temp_dir().join(format!("bas-store-{}", uuid::Uuid::new_v4()));
    let path = dir.join("store.sqlite3");
    Backend {
        store: Arc::new(SqliteStore::open(&path).unwrap()),
        other: Arc::new(SqliteStore::open(&path).unwrap()),
        _server: None,
        dir: Some(dir),
    }
}

async fn mongo() -> Backend {
    let server = MongoServer::start();
    let store = MongoStore::connect(&server.uri(), "bas_suite")
        .await
        .unwrap();
    let other = MongoStore::connect(&server.uri(), "bas_suite")
        .await
        .unwrap();
    Backend {
        store: Arc::new(store),
        other: Arc::new(other),
        _server: Some(server),
        dir: None,
    }
}

fn session(room: &str, tenant: &str, status: SessionStatus, at: f64) -> SessionRecord {
    SessionRecord {
        room_name: room.into(),
        tenant_id: TenantId::new(tenant),
        status,
        current_url: Some("https://example.com/".into()),
        viewport: Default::default(),
        fps: 10,
        last_error: None,
        storage: None,
        record: false,
        livekit_url: None,
        created_at: 1.0,
        updated_at: at,
    }
}

fn opts() -> JobOptions {
    JobOptions {
        start_url: "https://example.com/".into(),
        max_pages: 10,
        max_depth: 2,
        include_patterns: vec![],
        exclude_patterns: vec![],
        render: RenderMode::Auto,
        concurrency: 2,
        file: None,
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
        canonical_url: Some(url.into()),
        language: Some("en".into()),
        last_modified: Some("2026-11-01T10:00:00Z".into()),
        headings: vec![],
        markdown: md.into(),
        code_blocks: vec![],
        word_count: 1,
        internal_links: 0,
        external_links: 0,
        error: None,
        files: Vec::new(),
        validators: Validators {
            etag: Some(format!("\"{}\"", md.len())),
            http_last_modified: Some("Sun, 01 Nov 2026 10:00:00 GMT".into()),
            body_hash: Some("ab12".into()),
        },
        change: ok.then_some(PageChange::New),
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

fn chunk(tenant: &str, job: &str, url: &str, index: u32, text: &str, v: [f32; 3]) -> ChunkRecord {
    ChunkRecord {
        chunk_id: format!("{tenant}|{url}|{index}"),
        tenant_id: TenantId::new(tenant),
        job_id: job.into(),
        url: url.into(),
        site: url::Url::parse(url).unwrap().host_str().unwrap().into(),
        title: "Guide".into(),
        heading_path: vec!["Guide".into(), "Setup".into()],
        index,
        text: text.into(),
        model: "mini".into(),
        dimension: 3,
        vector: v.to_vec(),
        updated_at: 1.0,
    }
}

/// One check, run against each backend.
macro_rules! both {
    ($module:ident :: $check:ident) => {
        mod $check {
            #[tokio::test]
            async fn sqlite() {
                super::$module::$check(super::sqlite()).await;
            }
            #[tokio::test]
            async fn mongodb() {
                super::$module::$check(super::mongo().await).await;
            }
        }
    };
}

both!(sessions::sessions_are_tenant_scoped_and_failed_after_a_restart);
both!(jobs::jobs_are_unique_tenant_scoped_and_changed_atomically);
both!(pages::pages_and_links_are_stored_once_and_read_back_by_tenant);
both!(passages::passages_are_replaced_logged_and_searched_by_tenant);
both!(webhooks::deliveries_are_stored_once_and_sent_by_one_sender_at_a_time);
both!(jobs::the_syncs_of_a_source_are_listed_newest_first);

#[tokio::test]
async fn mongodb_refuses_a_bad_uri_without_echoing_its_password() {
    let err = MongoStore::connect(
        "mongodb://admin:hunter2-secret@127.0.0.1:1/?serverSelectionTimeoutMS=300",
        "x",
    )
    .await
    .err()
    .expect("nothing listens on port 1");
    assert_eq!(err.code(), "store_error");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[tokio::test]
async fn sqlite_data_survives_reopening() {
    let dir = std::env::temp_dir().join(format!("bas-store-{}", uuid::Uuid::new_v4()));
    let path = dir.join("store.sqlite3");
    {
        let s = SqliteStore::open(&path).unwrap();
        s.put_session(session("r1", "org-a", SessionStatus::Active, 1.0))
            .await
            .unwrap();
    }
    let s = SqliteStore::open(&path).unwrap();
    assert!(s
        .get_session(&TenantId::new("org-a"), "r1")
        .await
        .unwrap()
        .is_some());
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn sqlite_sessions_keyed_by_room_alone_are_migrated_to_tenant_keys() {
    let dir = std::env::temp_dir().join(format!("bas-store-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("store.sqlite3");
    {
        // The table as an earlier version wrote it: one record per room name.
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(&format!(
            "CREATE TABLE {s} (room_name TEXT PRIMARY KEY, tenant_id TEXT NOT NULL,
             status TEXT NOT NULL, updated_at REAL NOT NULL, doc TEXT NOT NULL);",
            s = platform::store::collections::SESSIONS
        ))
        .unwrap();
        let old = session("kept", "org-a", SessionStatus::Paused, 3.0);
        c.execute(
            &format!(
                "INSERT INTO {} VALUES ('kept', 'org-a', 'paused', 3.0, ?1)",
                platform::store::collections::SESSIONS
            ),
            [serde_json::to_string(&old).unwrap()],
        )
        .unwrap();
    }
    let s = SqliteStore::open(&path).unwrap();
    let a = TenantId::new("org-a");
    assert_eq!(
        s.get_session(&a, "kept").await.unwrap().unwrap().status,
        SessionStatus::Paused,
        "the old record survives the migration"
    );
    s.put_session(session("kept", "org-b", SessionStatus::Active, 4.0))
        .await
        .unwrap();
    assert_eq!(
        s.get_session(&a, "kept").await.unwrap().unwrap().status,
        SessionStatus::Paused,
        "another tenant's room of the same name is another record"
    );
    std::fs::remove_dir_all(dir).ok();
}
