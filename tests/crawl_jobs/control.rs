//! Typed errors for bad job requests; pause, resume, cancel, and going on after a restart.

use super::*;

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
