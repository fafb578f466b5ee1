//! One behavioural suite for every document store: each check runs against the embedded SQLite
//! store and against a real MongoDB-compatible server (SecantusDB, started here on a free port),
//! so the two backends cannot drift apart.

use testkit::servers;

use platform::jobs::{JobOptions, JobRecord, JobStatus, RenderMode};
use platform::store::{
    ChunkRecord, DocumentStore, JobUpdate, LinkQuery, LinkRecord, MongoStore, PageOutcome,
    PageQuery, PageRecord, Paged, SessionRecord, SessionStatus, SessionStore, SqliteStore,
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
        headings: vec![],
        markdown: md.into(),
        code_blocks: vec![],
        word_count: 1,
        internal_links: 0,
        external_links: 0,
        error: None,
        files: Vec::new(),
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

async fn sessions_are_tenant_scoped_and_failed_after_a_restart(b: Backend) {
    let s = &b.store;
    let a = TenantId::new("org-a");
    s.put_session(session("r1", "org-a", SessionStatus::Active, 10.0))
        .await
        .unwrap();
    s.put_session(session("r3", "org-a", SessionStatus::Closed, 20.0))
        .await
        .unwrap();
    s.put_session(session("r2", "org-b", SessionStatus::Paused, 5.0))
        .await
        .unwrap();
    assert_eq!(
        s.get_session(&a, "r1").await.unwrap().unwrap().status,
        SessionStatus::Active
    );
    assert!(
        s.get_session(&a, "r2").await.unwrap().is_none(),
        "org-a must not see org-b's room"
    );
    let rooms: Vec<String> = s
        .list_sessions(&a, None)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.room_name)
        .collect();
    assert_eq!(rooms, ["r3", "r1"], "newest first, own rooms only");
    // Replacing a record keeps one record per room.
    s.put_session(session("r1", "org-a", SessionStatus::Paused, 30.0))
        .await
        .unwrap();
    assert_eq!(s.list_sessions(&a, None).await.unwrap().len(), 2);
    assert_eq!(
        b.other
            .fail_open_sessions("service restarted")
            .await
            .unwrap(),
        2,
        "the paused sessions of both tenants"
    );
    let r1 = s.get_session(&a, "r1").await.unwrap().unwrap();
    assert_eq!(r1.status, SessionStatus::Failed);
    assert_eq!(r1.last_error.as_deref(), Some("service restarted"));
    assert_eq!(
        s.list_sessions(&a, Some(SessionStatus::Closed))
            .await
            .unwrap()
            .len(),
        1
    );
    s.health().await.unwrap();
}

async fn jobs_are_unique_tenant_scoped_and_changed_atomically(b: Backend) {
    let s = &b.store;
    let a = TenantId::new("org-a");
    let t = TenantId::new("org-b");
    s.insert_job(JobRecord::new("j1".into(), a.clone(), opts()))
        .await
        .unwrap();
    let dup = s
        .insert_job(JobRecord::new("j1".into(), t.clone(), opts()))
        .await;
    assert_eq!(dup.unwrap_err().code(), "job_exists");
    assert!(s.get_job(Some(&t), "j1").await.unwrap().is_none());
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
        Some("{\"f\":1}"),
        "a declined change stores no frontier"
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
    assert!(s
        .list_jobs(Some(&a), &[JobStatus::Running], 10)
        .await
        .unwrap()
        .is_empty());
    assert!(s.list_jobs(Some(&t), &[], 10).await.unwrap().is_empty());
    let mut later = JobRecord::new("j2".into(), a.clone(), opts());
    later.created_at += 5.0;
    s.insert_job(later).await.unwrap();
    let ids: Vec<String> = s
        .list_jobs(Some(&a), &[], 10)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.job_id)
        .collect();
    assert_eq!(ids, ["j2", "j1"], "newest first");

    // Two handles (as two processes) never lose an update, and every status entry is appended
    // exactly once.
    let bump = |st: Arc<dyn DocumentStore>, tag: &'static str| async move {
        for i in 0..25 {
            st.update_job(
                "j1",
                None,
                Box::new(move |j| {
                    j.counters.pages_completed += 1;
                    j.set_status(JobStatus::Running, Some(format!("{tag}-{i}")));
                    true
                }),
            )
            .await
            .unwrap();
        }
    };
    tokio::join!(bump(s.clone(), "a"), bump(b.other.clone(), "b"));
    let j = s.get_job(None, "j1").await.unwrap().unwrap();
    assert_eq!(j.counters.pages_completed, 50);
    let mut reasons: Vec<String> = j
        .status_history
        .iter()
        .filter_map(|e| e.reason.clone())
        .collect();
    reasons.sort();
    let mut expected: Vec<String> = (0..25)
        .flat_map(|i| [format!("a-{i}"), format!("b-{i}")])
        .collect();
    expected.sort();
    assert_eq!(
        reasons, expected,
        "every status entry appended exactly once"
    );
    assert_eq!(
        s.load_frontier("j1").await.unwrap().as_deref(),
        Some("{\"f\":1}"),
        "changes without a frontier keep the stored one"
    );
}

async fn pages_and_links_are_stored_once_and_read_back_by_tenant(b: Backend) {
    let s = &b.store;
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
        !b.other
            .put_page(page("j1", "org-a", "https://e.com/", true, "again"))
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
        .put_page(page("j1", "org-a", "https://e.com/b", true, "Second page"))
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
    assert_eq!(total, 3);
    let urls: Vec<&str> = items.iter().map(|p| p.url.as_str()).collect();
    assert_eq!(
        urls,
        ["https://e.com/", "https://e.com/404", "https://e.com/b"],
        "crawl order"
    );
    assert_eq!(
        items[0].markdown, "Hello widget world",
        "the first write stays"
    );
    let second = s
        .list_pages(
            &a,
            &PageQuery {
                job_id: Some("j1".into()),
                offset: 1,
                limit: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (second.total, second.items[0].url.as_str()),
        (3, "https://e.com/404")
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
        1,
        "text matches ignore case and stay within the tenant"
    );
    assert_eq!(
        s.list_pages(&a, &q(None, PageOutcome::Ok, Some("100%")))
            .await
            .unwrap()
            .total,
        0,
        "text is matched literally"
    );
    let by_url = s
        .list_pages(
            &a,
            &PageQuery {
                url_contains: Some("/b".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(by_url.total, 1);
    let newest = s
        .get_page(&a, None, "https://e.com/")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(newest.job_id, "j2", "the newest crawl of a URL");
    let of_j1 = s
        .get_page(&a, Some("j1"), "https://e.com/")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(of_j1.markdown, "Hello widget world");
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
    assert_eq!(n, 2, "a link repeated in one batch is stored once");
    let again = b
        .other
        .put_links(vec![
            link("j1", "https://e.com/", "https://x.org/", true),
            link("j1", "https://e.com/b", "https://e.com/a", false),
        ])
        .await
        .unwrap();
    assert_eq!(again, 1, "a redelivered step stores only what is new");
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
    let from_b = s
        .list_links(
            &a,
            &LinkQuery {
                from_url: Some("https://e.com/b".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(from_b.total, 1);
    let all = s
        .list_links(
            &a,
            &LinkQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let targets: Vec<&str> = all.items.iter().map(|l| l.to_url.as_str()).collect();
    assert_eq!(
        targets,
        ["https://e.com/a", "https://x.org/", "https://e.com/a"],
        "links in the order found"
    );
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
}

async fn passages_are_replaced_logged_and_searched_by_tenant(b: Backend) {
    let s = &b.store;
    let a = TenantId::new("org-a");
    let url = "https://docs.e.com/setup";
    s.put_page(page("j1", "org-a", url, true, "Setup guide"))
        .await
        .unwrap();
    s.put_page(page("j1", "org-a", "https://docs.e.com/failed", false, ""))
        .await
        .unwrap();
    let waiting = s.unindexed_pages(10).await.unwrap();
    assert_eq!(
        waiting.len(),
        1,
        "only pages with content wait for passages"
    );
    assert_eq!(s.indexed_pages("j1").await.unwrap(), 0);
    let before = s.chunk_change_seq().await.unwrap();

    s.replace_chunks(
        &a,
        "j1",
        url,
        vec![
            chunk(
                "org-a",
                "j1",
                url,
                0,
                "Install the rotor widgets first.",
                [1.0, 0.0, 0.0],
            ),
            chunk(
                "org-a",
                "j1",
                url,
                1,
                "Then calibrate the flux sensor.",
                [0.0, 1.0, 0.0],
            ),
        ],
    )
    .await
    .unwrap();
    s.replace_chunks(
        &TenantId::new("org-b"),
        "j9",
        "https://docs.e.com/setup",
        vec![chunk(
            "org-b",
            "j9",
            url,
            0,
            "rotor rotor rotor",
            [1.0, 0.0, 0.0],
        )],
    )
    .await
    .unwrap();
    assert!(s.unindexed_pages(10).await.unwrap().is_empty());
    assert_eq!(s.indexed_pages("j1").await.unwrap(), 1);

    let stored = s.page_chunks(&a, url).await.unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(
        stored[1].vector,
        vec![0.0, 1.0, 0.0],
        "vectors round-trip exactly"
    );
    assert_eq!(stored[0].heading_path, ["Guide", "Setup"]);

    let changes = b.other.chunk_changes_since(before, 10).await.unwrap();
    assert_eq!(changes.len(), 2, "another process sees both replacements");
    assert_eq!(changes[0].1, a);
    assert_eq!(changes[0].2, url);
    assert!(changes[0].0 < changes[1].0);
    assert_eq!(s.chunk_change_seq().await.unwrap(), changes[1].0);

    let hits = s
        .keyword_search(&a, "How do I install a widget?", None, None, 10)
        .await
        .unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].0, "org-a|https://docs.e.com/setup|0");
    let flux = s
        .keyword_search(&a, "flux (sensor)", Some("j1"), None, 10)
        .await
        .unwrap();
    assert_eq!(flux[0].0, "org-a|https://docs.e.com/setup|1");
    assert!(s
        .keyword_search(&a, "flux", Some("other-job"), None, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .keyword_search(&a, "flux", None, Some("other.site"), 10)
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .keyword_search(&a, "? !", None, None, 10)
        .await
        .unwrap()
        .is_empty());

    let got = s
        .get_chunks(
            &a,
            vec![
                "org-a|https://docs.e.com/setup|1".into(),
                "org-b|https://docs.e.com/setup|0".into(),
            ],
        )
        .await
        .unwrap();
    assert_eq!(got.len(), 1, "another tenant's passage is not returned");
    assert_eq!(got[0].text, "Then calibrate the flux sensor.");
    assert_eq!(s.all_chunk_vectors().await.unwrap().len(), 3);
    assert_eq!(
        s.chunk_models(&a).await.unwrap(),
        vec![("mini".to_string(), 3)]
    );

    // Crawled again: the page's passages are replaced, not added to.
    s.replace_chunks(
        &a,
        "j1",
        url,
        vec![chunk("org-a", "j1", url, 0, "Rewritten.", [0.0, 0.0, 1.0])],
    )
    .await
    .unwrap();
    assert_eq!(s.page_chunks(&a, url).await.unwrap().len(), 1);
    assert!(s
        .keyword_search(&a, "flux", None, None, 10)
        .await
        .unwrap()
        .is_empty());
}

macro_rules! both {
    ($check:ident) => {
        mod $check {
            #[tokio::test]
            async fn sqlite() {
                super::$check(super::sqlite()).await;
            }
            #[tokio::test]
            async fn mongodb() {
                super::$check(super::mongo().await).await;
            }
        }
    };
}

both!(sessions_are_tenant_scoped_and_failed_after_a_restart);
both!(jobs_are_unique_tenant_scoped_and_changed_atomically);
both!(pages_and_links_are_stored_once_and_read_back_by_tenant);
both!(passages_are_replaced_logged_and_searched_by_tenant);

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
