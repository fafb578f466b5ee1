//! The Qdrant vector index against a real Qdrant server. No Qdrant can be installed on the
//! project's machines, so this test is ignored by default and needs `QDRANT_URL`:
//!
//! `QDRANT_URL=http://127.0.0.1:6333 cargo nextest run -p engine --run-ignored all qdrant`

use platform::vectors::{QdrantIndex, VectorFilter, VectorIndex, VectorPoint};
use platform::TenantId;

fn point(id: u128, tenant: &str, job: &str, url: &str, v: [f32; 4]) -> VectorPoint {
    VectorPoint {
        chunk_id: uuid::Uuid::from_u128(id).to_string(),
        tenant_id: TenantId::new(tenant),
        job_id: job.into(),
        site: "docs.test".into(),
        url: url.into(),
        heading_path: vec!["Page".into()],
        vector: v.to_vec(),
    }
}

#[tokio::test]
#[ignore = "needs a Qdrant server: set QDRANT_URL"]
async fn qdrant_search_end_to_end() {
    let url = std::env::var("QDRANT_URL").expect("QDRANT_URL");
    let model = format!("bas-test-{}", std::process::id());
    let q = QdrantIndex::connect(&url, std::env::var("QDRANT_API_KEY").ok(), &model, 4)
        .await
        .unwrap();
    q.health().await.unwrap();
    let a = TenantId::new("org-a");
    let b = TenantId::new("org-b");
    q.replace_page(
        &a,
        "https://docs.test/1",
        vec![
            point(
                1,
                "org-a",
                "j1",
                "https://docs.test/1",
                [1.0, 0.0, 0.0, 0.0],
            ),
            point(
                2,
                "org-a",
                "j1",
                "https://docs.test/1",
                [0.0, 1.0, 0.0, 0.0],
            ),
        ],
    )
    .await
    .unwrap();
    q.replace_page(
        &b,
        "https://docs.test/1",
        vec![point(
            3,
            "org-b",
            "j2",
            "https://docs.test/1",
            [1.0, 0.0, 0.0, 0.0],
        )],
    )
    .await
    .unwrap();
    let hits = q
        .search(&a, &[0.9, 0.1, 0.0, 0.0], &VectorFilter::default(), 5)
        .await
        .unwrap();
    assert_eq!(hits.len(), 2, "org-b's point is not org-a's: {hits:?}");
    assert_eq!(hits[0].0, uuid::Uuid::from_u128(1).to_string());
    // A re-crawl replaces the page's points.
    q.replace_page(
        &a,
        "https://docs.test/1",
        vec![point(
            4,
            "org-a",
            "j1",
            "https://docs.test/1",
            [0.0, 0.0, 1.0, 0.0],
        )],
    )
    .await
    .unwrap();
    let hits = q
        .search(&a, &[1.0, 0.0, 0.0, 0.0], &VectorFilter::default(), 5)
        .await
        .unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    let none = q
        .search(
            &a,
            &[1.0, 0.0, 0.0, 0.0],
            &VectorFilter {
                job_id: Some("other".into()),
                site: None,
            },
            5,
        )
        .await
        .unwrap();
    assert!(none.is_empty());
}

/// A scripted peer speaking Qdrant's REST protocol, **not a Qdrant server**: it records each
/// request and answers with fixed JSON, so that what the index sends (collection creation, the
/// tenant filter on every call, delete-then-upsert) and how it reads answers can be checked here.
mod scripted_peer {
    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::{HeaderMap, Method, StatusCode, Uri};
    use axum::Router;
    use serde_json::{json, Value};
    use std::sync::{Arc, Mutex};

    /// A request the peer received: method, path and query, API key, body.
    pub type Seen = (String, String, Option<String>, Value);

    #[derive(Clone, Default)]
    struct Peer {
        seen: Arc<Mutex<Vec<Seen>>>,
    }

    async fn answer(
        State(p): State<Peer>,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> (StatusCode, String) {
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let key = headers
            .get("api-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let path = uri.path_and_query().unwrap().to_string();
        p.seen
            .lock()
            .unwrap()
            .push((method.to_string(), path.clone(), key, body));
        let created = p
            .seen
            .lock()
            .unwrap()
            .iter()
            .any(|s| s.0 == "PUT" && !s.1.contains("/points") && !s.1.contains("/index"));
        let reply = if method == Method::GET && !created {
            (
                StatusCode::NOT_FOUND,
                json!({"status": {"error": "Not found: Collection"}}),
            )
        } else if path.ends_with("/points/search") {
            (
                StatusCode::OK,
                json!({"result": [
                    {"id": "a", "score": 0.91, "payload": {"chunk_id": "00000000-0000-0000-0000-000000000001"}},
                    {"id": "b", "score": 0.42, "payload": {"chunk_id": "00000000-0000-0000-0000-000000000002"}}
                ], "status": "ok"}),
            )
        } else if path.ends_with("/points/count") {
            (
                StatusCode::OK,
                json!({"result": {"count": 7}, "status": "ok"}),
            )
        } else if path.contains("fail") {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"status": {"error": "boom"}}),
            )
        } else {
            (StatusCode::OK, json!({"result": true, "status": "ok"}))
        };
        (reply.0, reply.1.to_string())
    }

    /// Start the peer; returns its URL and what it has seen.
    pub async fn start() -> (String, Arc<Mutex<Vec<Seen>>>) {
        let peer = Peer::default();
        let seen = peer.seen.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new().fallback(answer).with_state(peer);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (url, seen)
    }
}

#[tokio::test]
async fn qdrant_requests_against_a_scripted_peer() {
    let (url, seen) = scripted_peer::start().await;
    let q = QdrantIndex::connect(&url, Some("secret-key".into()), "all-MiniLM-L6-v2", 4)
        .await
        .unwrap();
    let log = seen.lock().unwrap().clone();
    let coll = "/collections/brwsr_auto_svc_all-MiniLM-L6-v2";
    // Absent collection: created with the model's dimension and cosine distance, then indexed
    // on every field a search filters on. Every call carries the API key.
    assert_eq!((log[0].0.as_str(), log[0].1.as_str()), ("GET", coll));
    assert_eq!((log[1].0.as_str(), log[1].1.as_str()), ("PUT", coll));
    assert_eq!(
        log[1].3,
        serde_json::json!({"vectors": {"size": 4, "distance": "Cosine"}})
    );
    let fields: Vec<&str> = log[2..]
        .iter()
        .map(|s| s.3["field_name"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["tenant_id", "job_id", "site", "url"]);
    assert!(log.iter().all(|s| s.2.as_deref() == Some("secret-key")));

    let a = TenantId::new("org-a");
    seen.lock().unwrap().clear();
    q.replace_page(
        &a,
        "https://docs.test/1",
        vec![point(
            1,
            "org-a",
            "j1",
            "https://docs.test/1",
            [1.0, 0.0, 0.0, 0.0],
        )],
    )
    .await
    .unwrap();
    let log = seen.lock().unwrap().clone();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[0].1, format!("{coll}/points/delete?wait=true"));
    assert_eq!(
        log[0].3["filter"]["must"],
        serde_json::json!([
            {"key": "tenant_id", "match": {"value": "org-a"}},
            {"key": "url", "match": {"value": "https://docs.test/1"}}
        ])
    );
    assert_eq!(
        (log[1].0.as_str(), log[1].1.clone()),
        ("PUT", format!("{coll}/points?wait=true"))
    );
    assert_eq!(log[1].3["points"][0]["payload"]["job_id"], "j1");

    seen.lock().unwrap().clear();
    let hits = q
        .search(
            &a,
            &[1.0, 0.0, 0.0, 0.0],
            &VectorFilter {
                job_id: Some("j1".into()),
                site: None,
            },
            2,
        )
        .await
        .unwrap();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].0, "00000000-0000-0000-0000-000000000001");
    assert!((hits[0].1 - 0.91).abs() < 1e-6);
    let log = seen.lock().unwrap().clone();
    assert_eq!(log[0].3["limit"], 2);
    assert_eq!(log[0].3["filter"]["must"][0]["match"]["value"], "org-a");
    assert_eq!(log[0].3["filter"]["must"][1]["match"]["value"], "j1");
    assert_eq!(q.count().await.unwrap(), 7);

    // A failing server is a store error that names Qdrant's answer, never the API key.
    let bad = QdrantIndex::connect(&format!("{url}/fail"), Some("secret-key".into()), "m", 4).await;
    let e = bad.err().expect("a 500 is an error").to_string();
    assert!(e.contains("qdrant") && !e.contains("secret-key"), "{e}");
}
