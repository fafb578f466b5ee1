//! Knowledge-exploration jobs end to end: the service binary (embedded store, in-process queue,
//! real Chromium for script-rendered pages) crawls a trap site served on 127.0.0.1; REST, MCP
//! (the Python `mcp` client) and the `crawl` command drive it.

mod common;

use common::trap_site::{TrapOptions, TrapSite};
use common::{McpClient, Service};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

fn path_of(url: &str) -> String {
    let u = url::Url::parse(url).unwrap();
    match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    }
}

fn by_path(pages: &[Value]) -> BTreeMap<String, Value> {
    let mut m = BTreeMap::new();
    for p in pages {
        let path = path_of(p["url"].as_str().unwrap());
        assert!(
            m.insert(path.clone(), p.clone()).is_none(),
            "{path} stored twice"
        );
    }
    m
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crawl_of_the_trap_site_stores_exactly_the_pages_in_scope() {
    let site = TrapSite::start(TrapOptions::default()).await;
    let svc = Service::start(&[("NAVIGATION_TIMEOUT_MS", "2500")]).await;
    let job_id = svc
        .start_job(json!({"start_url": site.url("/"), "max_pages": 100, "max_depth": 3, "job_id": "trap-1"}))
        .await;
    assert_eq!(job_id, "trap-1");
    let done = svc
        .wait_job(&job_id, Duration::from_secs(90), |v| {
            v["status"] != "queued" && v["status"] != "running"
        })
        .await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["progress"], 100.0);

    let pages = by_path(&svc.all_pages(&job_id).await);
    let ok: BTreeSet<&str> = [
        "/",
        "/docs/intro",
        "/docs/guide",
        "/search?page=2&q=rust",
        "/orphan",
        "/app",
        "/docs/from-script",
        "/docs/moved",
        "/chain/1",
        "/chain/2",
        "/chain/3",
        "/latin1",
    ]
    .into();
    let failed: BTreeMap<&str, &str> = [
        ("/loop-a", "redirect_loop"),
        ("/slow", "timeout"),
        ("/broken", "http_500"),
        ("/missing", "http_404"),
        ("/manual.pdf", "unsupported_content_type"),
    ]
    .into();
    let stored: BTreeSet<&str> = pages.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = ok.iter().chain(failed.keys()).copied().collect();
    assert_eq!(stored, expected, "stored pages differ");
    for path in &ok {
        assert_eq!(pages[*path]["ok"], true, "{path}: {}", pages[*path]);
    }
    for (path, code) in &failed {
        let p = &pages[*path];
        assert_eq!(p["ok"], false, "{path}");
        assert_eq!(p["error"]["code"], *code, "{path}: {p}");
    }
    assert_eq!(done["pages_completed"], ok.len() as u64);
    assert_eq!(done["pages_failed"], failed.len() as u64);
    assert_eq!(done["external_links"], 2, "{done}");

    // The crawl's telemetry, scraped from /metrics: pages by outcome, their latency, the job's
    // status changes and the queue.
    let ok_pages = svc.metric("bas_pages_crawled_total{outcome=\"ok\"}").await;
    assert!(ok_pages >= ok.len() as f64, "{ok_pages}");
    for code in failed.values() {
        let series = format!("bas_pages_crawled_total{{outcome=\"{code}\"}}");
        assert!(svc.metric(&series).await >= 1.0, "{series}");
    }
    assert!(svc.metric("bas_page_crawl_duration_seconds_count").await >= stored.len() as f64);
    for status in ["running", "completed"] {
        let series = format!("bas_job_transitions_total{{status=\"{status}\"}}");
        assert_eq!(svc.metric(&series).await, 1.0, "{series}");
    }
    assert_eq!(
        svc.metric("bas_queue_operations_total{op=\"claim\"}").await,
        1.0
    );

    // What the pages hold: main content as Markdown, without navigation or footer.
    let intro = &pages["/docs/intro"];
    let md = intro["markdown"].as_str().unwrap();
    assert!(md.contains("frobnicates its inputs"), "{md}");
    assert!(
        !md.contains("Copyright") && !md.contains("Site navigation menu"),
        "{md}"
    );
    assert_eq!(intro["title"], "Introduction");
    assert_eq!(intro["description"], "Introduction page");
    assert_eq!(intro["code_blocks"][0]["language"], "rust");
    assert!(intro["code_blocks"][0]["code"]
        .as_str()
        .unwrap()
        .contains("println!(\"frobnicate\")"));
    let headings: Vec<&str> = intro["headings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["text"].as_str().unwrap())
        .collect();
    assert_eq!(headings, ["Introduction", "Install"]);
    assert_eq!(intro["fetched_via"], "http");
    let latin = &pages["/latin1"];
    assert!(
        latin["markdown"]
            .as_str()
            .unwrap()
            .contains("Café crème brûlée, señor Müller"),
        "{latin}"
    );
    let app = &pages["/app"];
    assert_eq!(app["fetched_via"], "browser", "{app}");
    assert!(
        app["markdown"].as_str().unwrap().contains("forty-two"),
        "{app}"
    );
    assert_eq!(pages["/docs/from-script"]["depth"], 2);
    let moved = &pages["/docs/moved"];
    assert!(
        moved["requested_url"].as_str().unwrap().ends_with("/old"),
        "{moved}"
    );
    assert_eq!(pages["/orphan"]["depth"], 1);
    assert_eq!(pages["/chain/3"]["depth"], 3);

    // Nothing fetched twice, nothing out of scope fetched at all.
    for path in ok.iter().chain(failed.keys()) {
        assert_eq!(site.http_hits(path), 1, "HTTP fetches of {path}");
    }
    assert_eq!(site.all_hits("/app"), 2, "fetched once, then rendered once");
    assert_eq!(
        site.http_hits("/old"),
        1,
        "/docs/moved is reached through the redirect chain only"
    );
    for never in [
        "/private/secret",
        "/private/in-sitemap",
        "/chain/4",
        "/docs/intro/",
        "/docs/intro?utm_source=newsletter",
        "/docs/guide?utm_campaign=z",
        "/search?q=rust&page=2",
    ] {
        assert_eq!(site.all_hits(never), 0, "{never} must not be fetched");
    }
    // Crawl-delay 0.05: the crawler's own page requests (redirect hops aside) are spaced.
    let hits: Vec<_> = site
        .hits()
        .into_iter()
        .filter(|h| h.agent.starts_with("browser-automation-service"))
        .filter(|h| {
            ![
                "/robots.txt",
                "/sitemap.xml",
                "/older",
                "/docs/moved",
                "/loop-b",
            ]
            .contains(&h.path.as_str())
        })
        .collect();
    // Each request leaves 50 ms after the previous one. Arrival times at the site jitter (a
    // late arrival shortens the next gap), so single gaps are only checked to be clearly
    // sequential (without the delay they arrive together, within a millisecond or two), and the
    // delay itself on the median gap and on the whole span.
    let mut gaps: Vec<Duration> = hits
        .windows(2)
        .map(|w| w[1].at.duration_since(w[0].at))
        .collect();
    for (w, gap) in hits.windows(2).zip(&gaps) {
        assert!(
            *gap >= Duration::from_millis(15),
            "{} then {} after {gap:?}",
            w[0].path,
            w[1].path
        );
    }
    gaps.sort();
    let median = gaps[gaps.len() / 2];
    assert!(
        median >= Duration::from_millis(45),
        "median gap {median:?}: {gaps:?}"
    );
    let span = hits.last().unwrap().at.duration_since(hits[0].at);
    assert!(
        span >= Duration::from_millis(50 * (hits.len() as u64 - 1) - 20),
        "{} requests in {span:?}",
        hits.len()
    );

    // Links and queries over what was stored.
    let (status, ext) = svc
        .post_json(
            "/api/knowledge/query",
            json!({"kind": "links", "job_id": job_id, "external": true}),
        )
        .await;
    assert_eq!(status, 200, "{ext}");
    let targets: BTreeSet<&str> = ext["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["to_url"].as_str().unwrap())
        .collect();
    assert_eq!(
        targets,
        BTreeSet::from(["https://external.example/page", "http://other.test/x"])
    );
    let (_, found) = svc
        .post_json(
            "/api/knowledge/query",
            json!({"kind": "pages", "text": "FROBNICATES"}),
        )
        .await;
    assert_eq!(found["total"], 1, "{found}");
    assert!(found["pages"][0]["snippet"]
        .as_str()
        .unwrap()
        .contains("frobnicates"));
    let (status, one) = svc
        .post_json(
            "/api/knowledge/query",
            json!({"kind": "page", "url": site.url("/docs/intro/#install")}),
        )
        .await;
    assert_eq!(status, 200, "a URL variant finds the page: {one}");
    assert_eq!(one["page"]["title"], "Introduction");
    let (_, map) = svc
        .post_json(
            "/api/knowledge/query",
            json!({"kind": "site_map", "job_id": job_id}),
        )
        .await;
    let outline = map["outline"].as_str().unwrap();
    assert!(
        outline.contains("- /docs/intro (Introduction)"),
        "{outline}"
    );
    assert_eq!(map["total"], ok.len() as u64);
    let (_, paged) = svc
        .get_json(&format!(
            "/api/knowledge/explore/results/{job_id}?limit=5&outcome=failed"
        ))
        .await;
    assert_eq!(paged["total"], failed.len() as u64);
    assert_eq!(paged["pages"].as_array().unwrap().len(), 5);
    assert!(paged["next_offset"].is_null());
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_job_requests_get_typed_errors_and_pause_resume_cancel_work() {
    let site = TrapSite::start(TrapOptions {
        slow_chain: 30,
        slow_chain_delay: Duration::from_millis(200),
        ..Default::default()
    })
    .await;
    let svc = Service::start(&[]).await;
    let start = "/api/knowledge/explore/start";
    for (body, status, code) in [
        (json!({"start_url": "not a url"}), 400, "invalid_url"),
        (json!({"start_url": "ftp://127.0.0.1/"}), 400, "invalid_url"),
        (json!({"start_url": "http://10.1.2.3/"}), 403, "blocked_url"),
        (
            json!({"start_url": "http://no-such-host.invalid/"}),
            502,
            "navigation_failed",
        ),
        (
            json!({"start_url": site.url("/"), "max_pages": 0}),
            400,
            "invalid_request",
        ),
        (
            json!({"start_url": site.url("/"), "max_depth": 999}),
            400,
            "invalid_request",
        ),
        (
            json!({"start_url": site.url("/"), "job_id": "has space"}),
            400,
            "invalid_request",
        ),
        (
            json!({"start_url": site.url("/"), "include_patterns": ["docs"]}),
            400,
            "invalid_request",
        ),
        (json!({"max_pages": 3}), 400, "bad_request"),
    ] {
        let (s, v) = svc.post_json(start, body.clone()).await;
        assert_eq!(
            (s, v["code"].as_str().unwrap_or("")),
            (status, code),
            "{body}: {v}"
        );
        assert!(v["detail"].as_str().is_some_and(|d| !d.is_empty()), "{v}");
    }
    for path in [
        "/api/knowledge/explore/status/nope",
        "/api/knowledge/explore/results/nope",
    ] {
        let (s, v) = svc.get_json(path).await;
        assert_eq!(
            (s, v["code"].as_str().unwrap()),
            (404, "job_not_found"),
            "{path}"
        );
    }
    let (s, v) = svc
        .get_json("/api/knowledge/explore/jobs?status=bogus")
        .await;
    assert_eq!(
        (s, v["code"].as_str().unwrap()),
        (400, "invalid_request"),
        "{v}"
    );
    let (s, v) = svc
        .get_json("/api/knowledge/explore/results/nope?limit=lots")
        .await;
    assert_eq!(
        (s, v["code"].as_str().unwrap()),
        (400, "bad_request"),
        "{v}"
    );
    let (s, v) = svc
        .post_json("/api/knowledge/explore/pause", json!({"job_id": "nope"}))
        .await;
    assert_eq!((s, v["code"].as_str().unwrap()), (404, "job_not_found"));
    let (s, v) = svc
        .post_json("/api/knowledge/query", json!({"kind": "page"}))
        .await;
    assert_eq!(
        (s, v["code"].as_str().unwrap()),
        (400, "invalid_request"),
        "{v}"
    );
    let (s, v) = svc
        .post_json(
            "/api/knowledge/query",
            json!({"kind": "page", "url": "http://x.test/none"}),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str().unwrap()),
        (404, "page_not_found"),
        "{v}"
    );

    // A slow job: pause keeps its place, resume goes on, cancel ends it.
    let body = json!({"start_url": site.url("/"), "max_pages": 100, "max_depth": 50, "job_id": "slow-1", "concurrency": 1});
    svc.start_job(body.clone()).await;
    let (s, v) = svc.post_json(start, body).await;
    assert_eq!((s, v["code"].as_str().unwrap()), (409, "job_exists"));
    svc.wait_job("slow-1", Duration::from_secs(30), |v| {
        v["pages_completed"].as_u64() >= Some(3)
    })
    .await;
    let (s, v) = svc
        .post_json("/api/knowledge/explore/pause", json!({"job_id": "slow-1"}))
        .await;
    assert_eq!((s, v["status"].as_str().unwrap()), (200, "paused"), "{v}");
    tokio::time::sleep(Duration::from_millis(700)).await;
    let held = svc.job("slow-1").await["pages_completed"].as_u64().unwrap();
    let hits_held = site.hits().len();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        svc.job("slow-1").await["pages_completed"].as_u64().unwrap(),
        held,
        "paused jobs fetch nothing"
    );
    assert_eq!(site.hits().len(), hits_held);
    let (_, listed) = svc
        .get_json("/api/knowledge/explore/jobs?status=paused")
        .await;
    assert_eq!(listed["jobs"][0]["job_id"], "slow-1", "{listed}");
    let (s, v) = svc
        .post_json("/api/knowledge/explore/resume", json!({"job_id": "slow-1"}))
        .await;
    assert_eq!(s, 200, "{v}");
    svc.wait_job("slow-1", Duration::from_secs(30), |v| {
        v["pages_completed"].as_u64() >= Some(held + 2)
    })
    .await;
    let (s, v) = svc
        .post_json("/api/knowledge/explore/cancel", json!({"job_id": "slow-1"}))
        .await;
    assert_eq!(
        (s, v["status"].as_str().unwrap()),
        (200, "cancelled"),
        "{v}"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    let after = site.hits().len();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        site.hits().len(),
        after,
        "a cancelled job fetches nothing more"
    );
    for verb in ["resume", "pause"] {
        let (s, v) = svc
            .post_json(
                &format!("/api/knowledge/explore/{verb}"),
                json!({"job_id": "slow-1"}),
            )
            .await;
        assert_eq!(
            (s, v["code"].as_str().unwrap()),
            (409, "invalid_job_state"),
            "{verb}: {v}"
        );
    }
    let status = svc.job("slow-1").await;
    let history: Vec<&str> = status["status_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        history,
        [
            "pending",
            "queued",
            "running",
            "paused",
            "pending",
            "queued",
            "running",
            "cancelled"
        ]
    );
    // Every page fetched once, across the pause.
    for n in 1..=30 {
        assert!(
            site.http_hits(&format!("/slow-chain/{n}")) <= 1,
            "/slow-chain/{n} fetched twice"
        );
    }
    assert!(svc.health().await["job_queue"]["ok"].as_bool().unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_goes_on_after_a_restart_and_fetches_no_page_twice() {
    let site = TrapSite::start(TrapOptions {
        slow_chain: 12,
        slow_chain_delay: Duration::from_millis(250),
        ..Default::default()
    })
    .await;
    let mut svc = Service::start(&[]).await;
    let job_id = svc
        .start_job(json!({"start_url": site.url("/"), "max_depth": 20, "concurrency": 2}))
        .await;
    svc.wait_job(&job_id, Duration::from_secs(30), |v| {
        v["pages_completed"].as_u64() >= Some(4)
    })
    .await;
    assert!(svc.stop().success(), "graceful stop:\n{}", svc.log());
    let data = svc.data_dir.clone();
    let svc = Service::start_in(data, &[]).await;
    let done = svc
        .wait_job(&job_id, Duration::from_secs(60), |v| {
            v["status"] == "completed"
        })
        .await;
    assert_eq!(done["pages_completed"], 13, "{done}");
    assert_eq!(
        done["attempts"], 1,
        "a shutdown is not a failed attempt: {done}"
    );
    for n in 1..=12 {
        assert_eq!(
            site.http_hits(&format!("/slow-chain/{n}")),
            1,
            "/slow-chain/{n}"
        );
    }
    assert_eq!(site.http_hits("/"), 1);
    let reasons: Vec<&str> = done["status_history"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["reason"].as_str())
        .collect();
    assert!(
        reasons.contains(&"interrupted by a shutdown"),
        "{reasons:?}"
    );
    assert!(reasons.contains(&"resumed after a restart"), "{reasons:?}");
    assert_eq!(svc.all_pages(&job_id).await.len(), 13);
}

#[tokio::test(flavor = "multi_thread")]
async fn jobs_belong_to_their_tenant() {
    let site = TrapSite::start(TrapOptions::default()).await;
    let svc = Service::start(&[("API_KEYS", "ka:org-a,kb:org-b")]).await;
    let a = Service::with_key(svc, "ka");
    let job_id = a
        .start_job(json!({"start_url": site.url("/docs/guide"), "max_depth": 0}))
        .await;
    a.wait_job(&job_id, Duration::from_secs(30), |v| {
        v["status"] == "completed"
    })
    .await;
    // org-b sees nothing of it: 404, not 403.
    for (name, args) in [
        ("get_exploration_status", json!({"job_id": job_id})),
        ("pause_exploration", json!({"job_id": job_id})),
        ("cancel_exploration", json!({"job_id": job_id})),
        ("get_knowledge_results", json!({"job_id": job_id})),
        ("query_knowledge", json!({"job_id": job_id})),
    ] {
        let (s, v) = a.call_as(Some("kb"), name, args).await;
        assert_eq!(
            (s, v["code"].as_str().unwrap()),
            (404, "job_not_found"),
            "{name}: {v}"
        );
    }
    let (_, list) = a.call_as(Some("kb"), "list_explorations", json!({})).await;
    assert_eq!(list["jobs"], json!([]));
    let (_, pages) = a
        .call_as(Some("kb"), "query_knowledge", json!({"kind": "pages"}))
        .await;
    assert_eq!(pages["total"], 0, "{pages}");
    let (_, pages) = a
        .call_as(Some("ka"), "query_knowledge", json!({"kind": "pages"}))
        .await;
    assert_eq!(pages["total"], 1, "{pages}");
}

#[tokio::test(flavor = "multi_thread")]
async fn mcp_clients_run_and_read_explorations() {
    let site = TrapSite::start(TrapOptions::default()).await;
    let svc = Service::start(&[]).await;
    let base = svc.base.clone();
    let url = site.url("/docs/intro");
    let result = tokio::task::spawn_blocking(move || {
        let mut mcp = McpClient::http(&base, None);
        let names: Vec<String> = mcp
            .list_tools()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect();
        for n in [
            "start_knowledge_exploration",
            "get_exploration_status",
            "pause_exploration",
            "resume_exploration",
            "cancel_exploration",
            "get_knowledge_results",
            "query_knowledge",
        ] {
            assert!(names.iter().any(|x| x == n), "{n} missing");
        }
        let started = mcp.ok(
            "start_knowledge_exploration",
            json!({"start_url": url, "max_depth": 1}),
        );
        let job_id = started["job_id"].as_str().unwrap().to_string();
        assert_eq!(started["status"], "queued");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let s = mcp.ok("get_exploration_status", json!({"job_id": job_id}));
            if s["status"] == "completed" {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{s}");
            std::thread::sleep(Duration::from_millis(100));
        }
        let results = mcp.ok(
            "get_knowledge_results",
            json!({"job_id": job_id, "max_chars": 40}),
        );
        let pages = results["pages"].as_array().unwrap();
        assert!(!pages.is_empty() && pages.len() <= 5, "{results}");
        let intro = pages
            .iter()
            .find(|p| p["title"] == "Introduction")
            .expect("intro page");
        assert_eq!(intro["markdown_truncated"], true);
        assert!(intro["markdown"].as_str().unwrap().chars().count() <= 40);
        let q = mcp.ok(
            "query_knowledge",
            json!({"kind": "site_map", "job_id": job_id}),
        );
        assert!(
            q["outline"].as_str().unwrap().contains("/docs/guide"),
            "{q}"
        );
        (
            mcp.err_code("get_exploration_status", json!({"job_id": "missing"})),
            mcp.err_code(
                "start_knowledge_exploration",
                json!({"start_url": "http://10.0.0.1/"}),
            ),
            mcp.err_code("query_knowledge", json!({"kind": "everything"})),
        )
    })
    .await
    .unwrap();
    assert_eq!(
        result,
        (
            "job_not_found".into(),
            "blocked_url".into(),
            "invalid_arguments".into()
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_crawl_command_prints_a_summary() {
    let site = TrapSite::start(TrapOptions::default()).await;
    let dir = common::temp_dir("crawl-cli");
    let url = site.url("/");
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = std::process::Command::new(common::BIN);
        cmd.args(["crawl", &url, "--max-depth", "1", "--render", "never"]);
        for (k, v) in common::base_env(&dir, common::free_port()) {
            cmd.env(k, v);
        }
        cmd.env("NAVIGATION_TIMEOUT_MS", "1500")
            .env_remove("REDIS_URL");
        cmd.output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("status     completed"), "{stdout}");
    // Depth 1: the home page, the pages it links to with content (intro, search, app without
    // rendering, old -> moved, chain/1, latin1), and the orphan from the sitemap.
    assert!(stdout.contains("stored     8 pages"), "{stdout}");
    assert!(stdout.contains("failed     5 pages"), "{stdout}");
    assert!(stdout.contains("/broken  http_500"), "{stdout}");

    let bad = std::process::Command::new(common::BIN)
        .args(["crawl", "http://10.9.9.9/"])
        .env("DATA_DIR", common::temp_dir("crawl-cli-bad"))
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("blocked target"), "{err}");
}
