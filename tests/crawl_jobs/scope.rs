//! A crawl of the trap site stores exactly the pages in scope, with their links and texts.

use super::*;

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

    // Nothing fetched twice, nothing out of scope fetched at all. Pages are fetched as first
    // linked (the search page with its query in the link's order) and stored normalised.
    for path in ok.iter().chain(failed.keys()) {
        let fetched = match *path {
            "/search?page=2&q=rust" => "/search?q=rust&page=2",
            p => p,
        };
        assert_eq!(site.http_hits(fetched), 1, "HTTP fetches of {fetched}");
    }
    // A 404 is tried once in its slash variant.
    assert_eq!(site.http_hits("/missing/"), 1);
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
        "/search?page=2&q=rust",
    ] {
        assert_eq!(site.all_hits(never), 0, "{never} must not be fetched");
    }
    // Crawl-delay 0.05: the crawler's own page requests (redirect hops and the slash variant
    // of a 404, which are part of fetching one page, aside) are spaced.
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
                "/missing/",
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
