//! The whole service on the production document store: a crawl of the trap site with MongoDB
//! (a real MongoDB-compatible server, SecantusDB) as the source of truth, read back after the
//! service restarts, with its passages searchable again from what MongoDB holds.

mod common;
use testkit::servers;

use common::trap_site::{TrapOptions, TrapSite};
use common::Service;
use serde_json::json;
use servers::MongoServer;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn a_crawl_on_mongodb_survives_a_restart_of_the_service() {
    let mongo = MongoServer::start();
    let uri = mongo.uri();
    let site = TrapSite::start(TrapOptions::default()).await;
    let data = common::temp_dir("mongo-service");
    let env = [
        ("MONGODB_URI", uri.as_str()),
        ("NAVIGATION_TIMEOUT_MS", "2500"),
    ];
    let mut svc = Service::start_in(data.clone(), &env).await;
    assert_eq!(svc.health().await["store"]["backend"], "mongodb");
    let job = svc
        .start_job(json!({"start_url": site.url("/"), "max_pages": 30, "max_depth": 3, "job_id": "mongo-1"}))
        .await;
    let done = svc.wait_indexed(&job, Duration::from_secs(120)).await;
    assert_eq!(done["status"], "completed", "{done}");
    let pages = svc.all_pages(&job).await;
    assert!(pages.len() >= 5, "{}", pages.len());
    let (status, links) = svc
        .post_json(
            "/api/knowledge/query",
            json!({"kind": "links", "job_id": job, "external": true}),
        )
        .await;
    assert_eq!(status, 200, "{links}");
    let external = links["total"].as_u64().unwrap();
    assert!(external >= 1, "{links}");
    svc.stop();

    // A new process on the same database: nothing lost, search works from what MongoDB holds.
    let svc = Service::start_in(common::temp_dir("mongo-service-2"), &env).await;
    let again = svc.job(&job).await;
    assert_eq!(again["status"], "completed");
    assert_eq!(again["pages_completed"], done["pages_completed"]);
    assert_eq!(again["pages_indexed"], done["pages_indexed"]);
    let history = again["status_history"].as_array().unwrap();
    let completed = history
        .iter()
        .filter(|e| e["status"] == "completed")
        .count();
    assert_eq!(
        completed, 1,
        "status entries are never duplicated: {history:?}"
    );
    assert_eq!(svc.all_pages(&job).await.len(), pages.len());
    let (_, links2) = svc
        .post_json(
            "/api/knowledge/query",
            json!({"kind": "links", "job_id": job, "external": true}),
        )
        .await;
    assert_eq!(links2["total"].as_u64(), Some(external));
    let (status, found) = svc
        .post_json(
            "/api/knowledge/search",
            json!({"query": "guide", "job_id": job, "top_k": 3}),
        )
        .await;
    assert_eq!(status, 200, "{found}");
    assert!(!found["hits"].as_array().unwrap().is_empty(), "{found}");
    drop(mongo);
}
