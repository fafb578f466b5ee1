//! Crawl jobs over a real Redis (a redis-server of the tests' own): exploration events on their
//! channels, the Redis Streams queue shared by several worker processes, a worker killed
//! mid-job, retries with a delay and dead letters, a job no worker takes (failed with `no_worker`,
//! once) and one waiting behind busy workers (reported).

mod common;

use common::trap_site::{TrapOptions, TrapSite};
use common::{RedisServer, Service, Worker};
use futures::StreamExt;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Events = Arc<Mutex<Vec<(String, Value)>>>;

/// Collect every message on `exploration:*`.
async fn collect(url: &str) -> Events {
    collect_matching(url, "exploration:*").await
}

/// Collect every message on channels matching `pattern`.
async fn collect_matching(url: &str, pattern: &str) -> Events {
    let client = redis::Client::open(url).unwrap();
    let mut pubsub = client.get_async_pubsub().await.unwrap();
    pubsub.psubscribe(pattern).await.unwrap();
    let events: Events = Arc::default();
    let sink = events.clone();
    tokio::spawn(async move {
        let mut stream = pubsub.into_on_message();
        while let Some(msg) = stream.next().await {
            let v: Value = serde_json::from_str(&msg.get_payload::<String>().unwrap()).unwrap();
            sink.lock()
                .unwrap()
                .push((msg.get_channel_name().to_string(), v));
        }
    });
    events
}

async fn wait_for(
    events: &Events,
    what: &str,
    limit: Duration,
    f: impl Fn(&str, &Value) -> bool,
) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        if let Some((_, v)) = events.lock().unwrap().iter().find(|(c, v)| f(c, v)) {
            return v.clone();
        }
        assert!(Instant::now() < deadline, "no event: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exploration_events_arrive_on_their_redis_channels() {
    let site = TrapSite::start(TrapOptions::default()).await;
    let redis_server = RedisServer::start();
    let url = redis_server.url();
    let events = collect(&url).await;
    let svc = Service::start(&[
        ("REDIS_URL", url.as_str()),
        ("NAVIGATION_TIMEOUT_MS", "1500"),
    ])
    .await;
    assert_eq!(svc.health().await["job_queue"]["backend"], "redis");
    let job_id = svc
        .start_job(json!({"start_url": site.url("/"), "max_depth": 1, "job_id": "ev-1", "render": "never"}))
        .await;
    let done = svc
        .wait_job(&job_id, Duration::from_secs(60), |v| {
            v["status"] == "completed"
        })
        .await;

    let progress = format!("exploration:{job_id}:progress");
    let pages = format!("exploration:{job_id}:page_completed");
    let last = wait_for(&events, "final progress", Duration::from_secs(5), |c, v| {
        c == progress && v["type"] == "exploration_progress" && v["data"]["status"] == "completed"
    })
    .await;
    assert_eq!(last["data"]["pages_completed"], done["pages_completed"]);
    assert!(last["timestamp"].as_f64().is_some());
    let intro = wait_for(&events, "intro page", Duration::from_secs(5), |c, v| {
        c == pages
            && v["type"] == "page_completed"
            && v["data"]["url"]
                .as_str()
                .is_some_and(|u| u.ends_with("/docs/intro"))
    })
    .await;
    assert_eq!(intro["data"]["ok"], true);
    assert_eq!(intro["data"]["title"], "Introduction");
    let got = events.lock().unwrap().clone();
    let completed: HashSet<String> = got
        .iter()
        .filter(|(c, _)| *c == pages)
        .map(|(_, v)| v["data"]["url"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        completed.len() as u64,
        done["pages_completed"].as_u64().unwrap() + done["pages_failed"].as_u64().unwrap(),
        "one page_completed event per stored page"
    );
    let external: Vec<&Value> = got
        .iter()
        .filter(|(c, _)| c == "exploration:external_links")
        .map(|(_, v)| v)
        .collect();
    let targets: HashSet<&str> = external
        .iter()
        .map(|v| v["data"]["url"].as_str().unwrap())
        .collect();
    assert_eq!(
        targets,
        HashSet::from(["https://external.example/page", "http://other.test/x"])
    );
    assert_eq!(
        external.len(),
        2,
        "each external link reported once per job"
    );
    assert!(external
        .iter()
        .all(|v| v["type"] == "external_link_detected" && v["data"]["job_id"] == "ev-1"));
    let errors: HashSet<&str> = got
        .iter()
        .filter(|(c, v)| c == "exploration:errors" && v["data"]["job_id"] == "ev-1")
        .map(|(_, v)| v["data"]["code"].as_str().unwrap())
        .collect();
    for code in [
        "http_404",
        "http_500",
        "redirect_loop",
        "timeout",
        "unsupported_content_type",
    ] {
        assert!(errors.contains(code), "{code} not reported: {errors:?}");
    }
}

/// With API keys, every channel carries the tenant: a job's and a session's events reach
/// `exploration:{tenant}:…` and `browser:events:{tenant}:…`, never the single-tenant names.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_api_keys_event_channels_carry_the_tenant() {
    let site = TrapSite::start(TrapOptions::default()).await;
    let redis_server = RedisServer::start();
    let url = redis_server.url();
    let events = collect_matching(&url, "*").await;
    let svc = Service::start(&[("REDIS_URL", url.as_str()), ("API_KEYS", "ka:org-a")])
        .await
        .with_key("ka");
    let job_id = svc
        .start_job(json!({"start_url": site.url("/docs/intro"), "max_depth": 1, "job_id": "ev-t", "render": "never"}))
        .await;
    svc.wait_job(&job_id, Duration::from_secs(60), |v| {
        v["status"] == "completed"
    })
    .await;
    wait_for(
        &events,
        "tenant progress",
        Duration::from_secs(5),
        |c, v| c == "exploration:org-a:ev-t:progress" && v["data"]["status"] == "completed",
    )
    .await;
    wait_for(
        &events,
        "tenant external link",
        Duration::from_secs(5),
        |c, _| c == "exploration:org-a:external_links",
    )
    .await;
    let (status, body) = svc
        .call(
            "start_browser_session",
            json!({"room_name": "tenant-room", "initial_url": site.url("/docs/guide")}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    wait_for(
        &events,
        "tenant room event",
        Duration::from_secs(10),
        |c, _| c == "browser:events:org-a:tenant-room",
    )
    .await;
    let channels: HashSet<String> = events
        .lock()
        .unwrap()
        .iter()
        .map(|(c, _)| c.clone())
        .collect();
    for plain in [
        "exploration:ev-t:progress",
        "exploration:ev-t:page_completed",
        "exploration:external_links",
        "exploration:errors",
        "browser:events:tenant-room",
    ] {
        assert!(
            !channels.contains(plain),
            "{plain} carries a tenant's events: {channels:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_killed_mid_job_leaves_it_to_another_that_stores_no_page_twice() {
    let site = TrapSite::start(TrapOptions {
        slow_chain: 16,
        slow_chain_delay: Duration::from_millis(200),
        ..Default::default()
    })
    .await;
    let redis_server = RedisServer::start();
    let url = redis_server.url();
    let env = [
        ("REDIS_URL", url.as_str()),
        ("JOB_CLAIM_IDLE_MS", "1500"),
        ("JOB_WORKERS", "1"),
    ];
    // The API process runs no jobs; two worker processes share the queue and the store.
    let mut api_env = env.to_vec();
    api_env[2] = ("JOB_WORKERS", "0");
    let svc = Service::start(&api_env).await;
    let mut w1 = Worker::start(&svc.data_dir, "1", &env);
    let mut w2 = Worker::start(&svc.data_dir, "2", &env);
    let job_id = svc
        .start_job(json!({"start_url": site.url("/"), "max_depth": 30, "concurrency": 2}))
        .await;
    let running = svc
        .wait_job(&job_id, Duration::from_secs(60), |v| {
            v["pages_completed"].as_u64() >= Some(4)
        })
        .await;
    // Which worker has it? Its consumer name carries its pid.
    let owner = running["worker"].as_str().unwrap().to_string();
    let (victim, survivor) = if owner.contains(&format!("-{}-", w1.pid())) {
        (&mut w1, &w2)
    } else {
        assert!(owner.contains(&format!("-{}-", w2.pid())), "{owner}");
        (&mut w2, &w1)
    };
    victim.crash();
    let done = svc
        .wait_job(&job_id, Duration::from_secs(60), |v| {
            v["status"] == "completed"
        })
        .await;
    assert!(running["pages_completed"].as_u64().unwrap() < 17);
    assert_eq!(done["pages_completed"], 17, "{done}\n{}", survivor.log());
    assert_eq!(done["attempts"], 2, "{done}");
    let reasons: Vec<&str> = done["status_history"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["reason"].as_str())
        .collect();
    assert!(
        reasons.contains(&"taken over from a worker that stopped answering"),
        "{reasons:?}"
    );
    // Every page stored once; at most the pages in flight when the worker died fetched again.
    let pages = svc.all_pages(&job_id).await;
    let urls: HashSet<&str> = pages.iter().map(|p| p["url"].as_str().unwrap()).collect();
    assert_eq!(urls.len(), pages.len(), "a page stored twice");
    assert_eq!(pages.len(), 17);
    let refetched: usize = (1..=16)
        .map(|n| {
            site.http_hits(&format!("/slow-chain/{n}"))
                .saturating_sub(1)
        })
        .sum();
    assert!(refetched <= 2, "{refetched} pages fetched again");
    for n in 1..=16 {
        assert!(site.http_hits(&format!("/slow-chain/{n}")) >= 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_whose_site_is_down_is_retried_then_fails_into_the_dead_letters() {
    let redis_server = RedisServer::start();
    let url = redis_server.url();
    let events = collect(&url).await;
    let svc = Service::start(&[
        ("REDIS_URL", url.as_str()),
        ("JOB_RETRY_DELAY_MS", "300"),
        ("NAVIGATION_TIMEOUT_MS", "1500"),
    ])
    .await;
    // Nothing listens on this port.
    let dead = format!("http://127.0.0.1:{}/", common::free_port());
    let job_id = svc
        .start_job(json!({"start_url": dead, "job_id": "down-1"}))
        .await;
    let done = svc
        .wait_job(&job_id, Duration::from_secs(30), |v| {
            v["status"] == "failed"
        })
        .await;
    assert_eq!(done["attempts"], 3, "{done}");
    assert_eq!(done["error"]["code"], "site_unreachable", "{done}");
    let history: Vec<&str> = done["status_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        history,
        ["pending", "queued", "running", "queued", "running", "queued", "running", "failed"]
    );
    let fatal = wait_for(&events, "fatal error", Duration::from_secs(5), |c, v| {
        c == "exploration:errors" && v["data"]["job_id"] == "down-1" && v["data"]["fatal"] == true
    })
    .await;
    assert_eq!(fatal["type"], "exploration_error");
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let dead_letters: redis::Value = redis::cmd("XRANGE")
        .arg("bas:jobs:dead")
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    let text = format!("{dead_letters:?}");
    assert!(
        text.contains("down-1") && text.contains("site_unreachable"),
        "{text}"
    );
    // The retries waited: the attempts are spread over at least 300 + 600 ms.
    let at = |i: usize| done["status_history"][i]["at"].as_f64().unwrap();
    assert!(at(7) - at(2) >= 0.9, "{done}");
    // Retrying a failed job by hand starts it over.
    let (s, v) = svc
        .post_json("/api/knowledge/explore/resume", json!({"job_id": "down-1"}))
        .await;
    assert_eq!((s, v["status"].as_str().unwrap()), (200, "queued"), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_no_worker_takes_fails_with_no_worker_once_and_runs_when_resumed() {
    let site = TrapSite::start(TrapOptions::default()).await;
    let redis_server = RedisServer::start();
    let url = redis_server.url();
    let events = collect(&url).await;
    let extra = [
        ("REDIS_URL", url.as_str()),
        ("JOB_WORKERS", "0"),
        ("JOB_STALE_SECS", "1"),
    ];
    // Two processes watch the queue; the job is failed once.
    let svc = Service::start(&extra).await;
    let _other = Service::start_in(svc.data_dir.clone(), &extra).await;
    let job_id = svc
        .start_job(json!({"start_url": site.url("/docs/guide"), "max_depth": 1}))
        .await;
    let failed = svc
        .wait_job(&job_id, Duration::from_secs(15), |v| {
            v["status"] == "failed"
        })
        .await;
    assert_eq!(failed["error"]["code"], "no_worker", "{failed}");
    let told = wait_for(
        &events,
        "no_worker event",
        Duration::from_secs(5),
        |c, v| {
            c == "exploration:errors"
                && v["data"]["code"] == "no_worker"
                && v["data"]["job_id"] == job_id.as_str()
        },
    )
    .await;
    assert!(
        told["data"]["message"].as_str().unwrap().contains("worker"),
        "{told}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let n = events
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, v)| v["data"]["code"] == "no_worker")
        .count();
    assert_eq!(n, 1, "failed more than once");
    // With a worker running, resuming the job runs it to the end.
    let w = Worker::start(&svc.data_dir, "late", &[("REDIS_URL", url.as_str())]);
    common::eventually(60, "the worker takes jobs", || async {
        w.log().contains("taking crawl jobs").then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, v) = svc
        .post_json("/api/knowledge/explore/resume", json!({"job_id": job_id}))
        .await;
    assert!(status < 300, "{status} {v}");
    svc.wait_job(&job_id, Duration::from_secs(60), |v| {
        v["status"] == "completed"
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_that_waits_behind_busy_workers_is_reported_not_failed() {
    let site = TrapSite::start(TrapOptions {
        slow_chain: 40,
        slow_chain_delay: Duration::from_millis(300),
        generated: 0,
    })
    .await;
    let redis_server = RedisServer::start();
    let url = redis_server.url();
    let events = collect(&url).await;
    let svc = Service::start(&[
        ("REDIS_URL", url.as_str()),
        ("JOB_WORKERS", "1"),
        ("JOB_STALE_SECS", "1"),
    ])
    .await;
    // The one worker is busy with a slow crawl; the second job waits behind it.
    let slow = svc
        .start_job(
            json!({"start_url": site.url("/"), "max_depth": 50, "max_pages": 40, "concurrency": 1}),
        )
        .await;
    svc.wait_job(&slow, Duration::from_secs(20), |v| v["status"] == "running")
        .await;
    let waiting = svc
        .start_job(json!({"start_url": site.url("/docs/guide"), "max_depth": 1}))
        .await;
    wait_for(&events, "unclaimed job", Duration::from_secs(10), |c, v| {
        c == "exploration:errors"
            && v["data"]["code"] == "job_unclaimed"
            && v["data"]["job_id"] == waiting.as_str()
    })
    .await;
    let status = svc.job(&waiting).await;
    assert_eq!(status["status"], "queued", "{status}");
    common::eventually(15, "queue depth in /metrics", || async {
        (svc.metric("bas_jobs_waiting").await >= 1.0
            && svc.metric("bas_jobs_unclaimed").await == 1.0)
            .then_some(())
    })
    .await;
    let (status, v) = svc
        .post_json("/api/knowledge/explore/cancel", json!({"job_id": slow}))
        .await;
    assert!(status < 300, "{status} {v}");
    svc.wait_job(&waiting, Duration::from_secs(60), |v| {
        v["status"] == "completed"
    })
    .await;
}

/// Pages a `worker` process crawls and embeds are found by a search on the API process, whose
/// in-memory vector index follows the passages other processes store.
#[tokio::test(flavor = "multi_thread")]
async fn passages_embedded_by_a_worker_are_searchable_from_the_api_process() {
    let base = common::topics_site::start().await;
    let redis_server = RedisServer::start();
    let url = redis_server.url();
    let svc = Service::start(&[("REDIS_URL", url.as_str()), ("JOB_WORKERS", "0")]).await;
    // Searched before anything is crawled: the index starts empty and must catch up later.
    let (status, before) = svc
        .post_json(
            "/api/knowledge/search",
            json!({"query": "tyre tread depth"}),
        )
        .await;
    assert_eq!(
        (status, before["hits"].clone()),
        (200, json!([])),
        "{before}"
    );
    let _w = Worker::start(&svc.data_dir, "kb", &[("REDIS_URL", url.as_str())]);
    let job_id = svc
        .start_job(json!({"start_url": format!("{base}/"), "max_pages": 30}))
        .await;
    let done = svc.wait_indexed(&job_id, Duration::from_secs(120)).await;
    assert_eq!(done["status"], "completed", "{done}");
    let (status, found) = svc
        .post_json(
            "/api/knowledge/search",
            json!({"query": "How much air should the wheels of my car have?", "top_k": 3}),
        )
        .await;
    assert_eq!(status, 200, "{found}");
    let urls: Vec<&str> = found["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["url"].as_str().unwrap())
        .collect();
    assert!(
        urls.contains(&format!("{base}/auto/tyres").as_str()),
        "{found}"
    );
    assert!(found["hits"]
        .as_array()
        .unwrap()
        .iter()
        .all(|h| h["job_id"] == job_id.as_str()));
}
