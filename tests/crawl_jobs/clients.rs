//! Jobs seen by their tenant alone, driven over MCP and by the `crawl` command.

use super::*;

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

    // Job ids are each tenant's own names: org-b may name a job as org-a did (no 409 telling it
    // that org-a has one), and each sees its own job under that name.
    let b = Service::with_key(a, "kb");
    let (s, b_job) = b
        .post_json(
            "/api/knowledge/explore/start",
            json!({"start_url": site.url("/docs/intro"), "max_depth": 0, "job_id": job_id}),
        )
        .await;
    assert_eq!(
        (s, b_job["job_id"].as_str()),
        (202, Some(job_id.as_str())),
        "{b_job}"
    );
    b.wait_job(&job_id, Duration::from_secs(30), |v| {
        v["status"] == "completed"
    })
    .await;
    for (key, title) in [("ka", "Guide"), ("kb", "Introduction")] {
        let (s, r) = b
            .call_as(
                Some(key),
                "get_knowledge_results",
                json!({"job_id": job_id}),
            )
            .await;
        assert_eq!(
            (s, r["job_id"].as_str()),
            (200, Some(job_id.as_str())),
            "{r}"
        );
        let pages = r["pages"].as_array().unwrap();
        assert_eq!(pages.len(), 1, "{key}: {r}");
        assert_eq!(pages[0]["title"], title, "{key}: {r}");
        assert_eq!(pages[0]["job_id"], job_id, "{key}: {r}");
        let (_, q) = b
            .call_as(Some(key), "query_knowledge", json!({"job_id": job_id}))
            .await;
        assert_eq!(q["total"], 1, "{key}: {q}");
        assert_eq!(q["pages"][0]["job_id"], job_id, "{key}: {q}");
    }
    // Within one tenant a name is still taken once.
    let a = Service::with_key(b, "ka");
    let (s, again) = a
        .post_json(
            "/api/knowledge/explore/start",
            json!({"start_url": site.url("/docs/intro"), "job_id": job_id}),
        )
        .await;
    assert_eq!(
        (s, again["code"].as_str()),
        (409, Some("job_exists")),
        "{again}"
    );
    assert!(
        again["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("'{job_id}'")),
        "the error names the job as its tenant knows it: {again}"
    );
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

/// `TENANT_MAX_JOBS`: one tenant's jobs beyond its share wait queued while another tenant's job
/// runs beside them; all finish.
#[tokio::test(flavor = "multi_thread")]
async fn a_tenants_jobs_beyond_its_share_wait_while_others_run() {
    let site = TrapSite::start(TrapOptions {
        slow_chain: 8,
        slow_chain_delay: Duration::from_millis(250),
        ..Default::default()
    })
    .await;
    let svc = Service::start(&[
        ("API_KEYS", "ka:org-a,kb:org-b"),
        ("TENANT_MAX_JOBS", "1"),
        ("JOB_WORKERS", "3"),
    ])
    .await;
    let a = Service::with_key(svc, "ka");
    let body = json!({"start_url": site.url("/"), "max_pages": 6});
    let a1 = a.start_job(body.clone()).await;
    let a2 = a.start_job(body.clone()).await;
    let (status, b1) = a
        .call_as(Some("kb"), "start_knowledge_exploration", body.clone())
        .await;
    assert_eq!(status, 200, "{b1}");
    let b1 = b1["job_id"].as_str().unwrap().to_string();
    let status_of = |key: &'static str, id: String| {
        let a = &a;
        async move {
            let (_, v) = a
                .call_as(Some(key), "get_exploration_status", json!({"job_id": id}))
                .await;
            v["status"].as_str().unwrap_or_default().to_string()
        }
    };
    let (mut both_a_running, mut b_beside_a_waiting) = (false, false);
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let s1 = status_of("ka", a1.clone()).await;
        let s2 = status_of("ka", a2.clone()).await;
        let sb = status_of("kb", b1.clone()).await;
        both_a_running |= s1 == "running" && s2 == "running";
        b_beside_a_waiting |= sb == "running"
            && ((s1 == "running" && s2 == "queued") || (s2 == "running" && s1 == "queued"));
        if [&s1, &s2, &sb].iter().all(|s| *s == "completed") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "jobs did not finish: {s1} {s2} {sb}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        !both_a_running,
        "org-a ran two jobs at once with TENANT_MAX_JOBS=1"
    );
    assert!(
        b_beside_a_waiting,
        "org-b's job ran while org-a's second waited"
    );
}
