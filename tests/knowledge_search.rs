//! Semantic knowledge end to end: a crawl of a local site whose pages each cover one topic is
//! chunked and embedded with the real all-MiniLM-L6-v2 model (from `./models`), then questions
//! worded differently from the pages find the page that answers them, over REST, MCP and the
//! command line. Also: re-crawls replace passages, a different model is refused, a missing
//! model stops the start-up with the path named, and passages stay with their tenant.

mod common;

use common::{base_env, temp_dir, topics_site, McpClient, Service, BIN};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Duration;

/// Questions and the page that answers them, sharing no content word (checked below).
const QUESTIONS: &[(&str, &str)] = &[
    (
        "When can young vegetable seedlings go out into the garden in spring?",
        "/garden/tomatoes",
    ),
    (
        "How can I cut what I owe each month on my home loan?",
        "/finance/mortgage",
    ),
    (
        "Can watching the sun disappear behind the moon hurt my eyes?",
        "/astronomy/eclipse",
    ),
    (
        "What is the method for a tangy country loaf leavened naturally?",
        "/kitchen/sourdough",
    ),
    (
        "I keep lying awake instead of dozing off; what routines would fix that?",
        "/health/sleep",
    ),
    (
        "How should I protect my photos and documents against losing them if my laptop breaks?",
        "/it/backups",
    ),
    (
        "What is the best way to get a young canine to obey commands?",
        "/pets/dog-training",
    ),
    (
        "How often should I inspect the rubber on my car's wheels and how much air do they need?",
        "/auto/tyres",
    ),
    (
        "How do I download a web address programmatically without it hanging indefinitely?",
        "/reference/http-client",
    ),
];

const STOP: &[&str] = &[
    "what", "when", "which", "where", "that", "this", "with", "from", "into", "your", "each",
    "have", "should", "would", "could", "about", "they", "them", "their", "there", "then", "than",
    "does", "much", "often", "without", "instead", "best", "keep", "make",
];

/// Lower-case content words, crudely stemmed (plural and verb endings dropped).
fn content_words(text: &str) -> HashSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| w.len() >= 4 && !STOP.contains(&w.as_str()))
        .map(|w| {
            for suffix in ["ing", "ed", "es", "s"] {
                if let Some(stem) = w.strip_suffix(suffix) {
                    if stem.len() >= 3 {
                        return stem.to_string();
                    }
                }
            }
            w
        })
        .collect()
}

/// Crawl the topics site and wait until every stored page is searchable.
async fn crawl_topics(svc: &Service, base: &str) -> String {
    let job_id = svc
        .start_job(json!({"start_url": format!("{base}/"), "max_pages": 30}))
        .await;
    let done = svc.wait_indexed(&job_id, Duration::from_secs(120)).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(
        done["pages_completed"].as_u64(),
        Some(topics_site::TOPICS.len() as u64 + 1),
        "{done}"
    );
    // Embedding shows in /metrics: passages and batch latency.
    assert!(
        svc.metric("bas_passages_embedded_total").await
            >= done["pages_completed"].as_f64().unwrap()
    );
    assert!(svc.metric("bas_embed_batch_duration_seconds_count").await >= 1.0);
    job_id
}

async fn search(svc: &Service, body: Value) -> Value {
    let (status, v) = svc.post_json("/api/knowledge/search", body.clone()).await;
    assert_eq!(status, 200, "search {body}: {v}");
    v
}

fn urls(answer: &Value) -> Vec<String> {
    answer["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["url"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn paraphrased_questions_find_the_page_that_answers_them() {
    let base = topics_site::start().await;
    let svc = Service::start(&[]).await;
    let job_id = crawl_topics(&svc, &base).await;

    // The questions really are paraphrases: no content word in common with their page.
    let pages = svc.all_pages(&job_id).await;
    for (question, path) in QUESTIONS {
        let page = pages
            .iter()
            .find(|p| p["url"] == format!("{base}{path}"))
            .unwrap_or_else(|| panic!("{path} stored"));
        let text = format!("{} {}", page["title"], page["markdown"]);
        let shared: Vec<String> = content_words(question)
            .intersection(&content_words(&text))
            .cloned()
            .collect();
        assert!(
            shared.is_empty(),
            "{question:?} shares {shared:?} with {path}"
        );
    }

    for (question, path) in QUESTIONS {
        let answer = search(&svc, json!({"query": question, "top_k": 3})).await;
        assert_eq!(answer["mode"], "semantic");
        assert_eq!(answer["model"], "all-MiniLM-L6-v2");
        let found = urls(&answer);
        assert!(
            found.contains(&format!("{base}{path}")),
            "{question:?} should find {path} in the top 3, got {found:?}"
        );
        for hit in answer["hits"].as_array().unwrap() {
            let score = hit["score"].as_f64().unwrap();
            assert!((-1.0..=1.0).contains(&score), "{hit}");
            assert!(!hit["text"].as_str().unwrap().is_empty(), "{hit}");
            assert_eq!(hit["job_id"], job_id.as_str());
            // The heading path starts with the page title and names the passage's section.
            let path: Vec<&str> = hit["heading_path"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h.as_str().unwrap())
                .collect();
            assert_eq!(path.first().copied(), hit["title"].as_str(), "{hit}");
        }
        let scores: Vec<f64> = answer["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["score"].as_f64().unwrap())
            .collect();
        assert!(
            scores.windows(2).all(|w| w[0] >= w[1]),
            "best first: {scores:?}"
        );
    }

    // A passage keeps its section: the safe-viewing advice is under "Safe viewing".
    let answer = search(
        &svc,
        json!({"query": "Can watching the sun disappear behind the moon hurt my eyes?", "top_k": 1}),
    )
    .await;
    assert_eq!(
        answer["hits"][0]["heading_path"],
        json!(["Solar eclipses", "Safe viewing"]),
        "{answer}"
    );
    // Code blocks stay whole in their passage.
    let answer = search(
        &svc,
        json!({"query": "reuse one client with a connection pool", "top_k": 1}),
    )
    .await;
    let text = answer["hits"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("```rust")
            && text.contains("let client = reqwest::Client::new();")
            && text.contains(".text().await?;"),
        "{text}"
    );

    // Hybrid: a rare exact keyword ranks its page first.
    let answer = search(&svc, json!({"query": "potash", "top_k": 3, "hybrid": true})).await;
    assert_eq!(answer["mode"], "hybrid");
    assert_eq!(
        urls(&answer)[0],
        format!("{base}/garden/tomatoes"),
        "{answer}"
    );

    // Filters: another site has nothing; this job has everything; top_k is honoured.
    let answer = search(&svc, json!({"query": "sleep", "site": "docs.example.org"})).await;
    assert_eq!(answer["hits"], json!([]));
    let answer = search(
        &svc,
        json!({"query": "sleep", "site": "127.0.0.1", "job_id": job_id, "top_k": 7}),
    )
    .await;
    assert_eq!(urls(&answer).len(), 7, "{answer}");

    // Bad input: typed errors.
    for (body, status, code) in [
        (json!({"query": "  "}), 400, "invalid_request"),
        (json!({"query": "x", "top_k": 0}), 400, "invalid_request"),
        (json!({"query": "x", "top_k": 51}), 400, "invalid_request"),
        (
            json!({"query": "x", "job_id": "no-such-job"}),
            404,
            "job_not_found",
        ),
        (json!({"query": "x", "colour": "red"}), 400, "bad_request"),
    ] {
        let (s, v) = svc.post_json("/api/knowledge/search", body.clone()).await;
        assert_eq!((s, v["code"].as_str()), (status, Some(code)), "{body}: {v}");
    }

    // MCP: query_knowledge with a question searches, from the reference client.
    let base_url = svc.base.clone();
    let question = QUESTIONS[1].0.to_string();
    let structured = tokio::task::spawn_blocking(move || {
        let mut mcp = McpClient::http(&base_url, None);
        let found = mcp.ok("query_knowledge", json!({"query": question, "top_k": 3}));
        let code = mcp.err_code("query_knowledge", json!({"query": "x", "top_k": 0}));
        (found, code)
    })
    .await
    .unwrap();
    assert_eq!(structured.0["kind"], "search");
    assert!(
        urls(&structured.0).contains(&format!("{base}/finance/mortgage")),
        "{}",
        structured.0
    );
    assert_eq!(structured.1, "invalid_request");

    // The command line, on the same store.
    let out = std::process::Command::new(BIN)
        .args(["query", QUESTIONS[0].0, "--top-k", "3", "--json"])
        .envs(base_env(&svc.data_dir, 0))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        urls(&cli).contains(&format!("{base}/garden/tomatoes")),
        "{cli}"
    );
}

fn passages_per_url(data_dir: &std::path::Path) -> Vec<(String, String, i64)> {
    let db = rusqlite::Connection::open(data_dir.join("store.sqlite3")).unwrap();
    let mut stmt = db
        .prepare(
            "SELECT url, job_id, COUNT(*) FROM brwsr_auto_svc_embeddings GROUP BY url, job_id ORDER BY url",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recrawl_replaces_passages_and_another_model_is_refused() {
    let base = topics_site::start().await;
    let dir = temp_dir("kb-recrawl");
    let mut svc = Service::start_in(dir.clone(), &[]).await;
    let first = crawl_topics(&svc, &base).await;
    let before = passages_per_url(&dir);
    assert_eq!(before.len(), topics_site::TOPICS.len() + 1, "{before:?}");
    let second = crawl_topics(&svc, &base).await;
    let after = passages_per_url(&dir);
    // Same pages, same number of passages each, now all from the second crawl.
    assert_eq!(after.len(), before.len(), "{after:?}");
    for ((url_a, job_a, n_a), (url_b, job_b, n_b)) in before.iter().zip(&after) {
        assert_eq!((url_a, n_a), (url_b, n_b));
        assert_eq!(job_a, &first);
        assert_eq!(job_b, &second);
    }
    let answer = search(&svc, json!({"query": QUESTIONS[2].0, "top_k": 5})).await;
    let found = urls(&answer);
    let distinct: HashSet<&String> = found.iter().collect();
    assert!(
        found
            .iter()
            .filter(|u| u.ends_with("/astronomy/eclipse"))
            .count()
            <= 2,
        "no duplicated passages after a re-crawl: {found:?}"
    );
    assert!(distinct.len() >= 3, "{found:?}");
    // The keyword side follows the re-crawl too, and is rebuilt from the store at a restart.
    potash_ranks_tomatoes_first(&svc, &base, &second).await;
    svc.stop();
    let mut svc = Service::start_in(dir.clone(), &[]).await;
    potash_ranks_tomatoes_first(&svc, &base, &second).await;
    svc.stop();

    // The stored vectors now claim another model: searching is refused, not answered wrongly.
    let db = rusqlite::Connection::open(dir.join("store.sqlite3")).unwrap();
    db.execute(
        "UPDATE brwsr_auto_svc_embeddings SET model = 'text-embedding-3-small', dimension = 1536",
        [],
    )
    .unwrap();
    drop(db);
    let svc = Service::start_in(dir, &[]).await;
    let (status, v) = svc
        .post_json("/api/knowledge/search", json!({"query": "tyres"}))
        .await;
    assert_eq!(status, 409, "{v}");
    assert_eq!(v["code"], "embedding_model_mismatch");
    let detail = v["detail"].as_str().unwrap_or_default().to_string()
        + v["error"].as_str().unwrap_or_default();
    assert!(
        detail.contains("text-embedding-3-small") && detail.contains("all-MiniLM-L6-v2"),
        "{v}"
    );
    // The service keeps serving.
    assert_eq!(svc.health().await["store"]["ok"], true);
}

/// Hybrid search for a rare word: its page first, each passage once, all from the latest crawl.
async fn potash_ranks_tomatoes_first(svc: &Service, base: &str, job: &str) {
    let answer = search(svc, json!({"query": "potash", "top_k": 5, "hybrid": true})).await;
    assert_eq!(
        urls(&answer)[0],
        format!("{base}/garden/tomatoes"),
        "{answer}"
    );
    let hits = answer["hits"].as_array().unwrap();
    let ids: HashSet<&str> = hits
        .iter()
        .map(|h| h["chunk_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), hits.len(), "no passage twice: {answer}");
    assert!(hits.iter().all(|h| h["job_id"] == job), "{answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn passages_stay_with_their_tenant() {
    let base = topics_site::start().await;
    let svc = Service::start(&[("API_KEYS", "ka:org-a,kb:org-b")]).await;
    let a = Service::with_key(svc, "ka");
    crawl_topics(&a, &base).await;
    let (_, found) = a
        .call_as(
            Some("ka"),
            "query_knowledge",
            json!({"query": QUESTIONS[4].0}),
        )
        .await;
    assert!(!found["hits"].as_array().unwrap().is_empty(), "{found}");
    let (status, other) = a
        .call_as(
            Some("kb"),
            "query_knowledge",
            json!({"query": QUESTIONS[4].0}),
        )
        .await;
    assert_eq!(status, 200, "{other}");
    assert_eq!(
        other["hits"],
        json!([]),
        "org-b sees none of org-a's passages"
    );
}

#[test]
fn a_missing_or_broken_model_stops_start_up_naming_the_path() {
    let models = temp_dir("no-model");
    let data = temp_dir("no-model-data");
    let run = |models: &std::path::Path| {
        let mut env = base_env(&data, common::free_port());
        env.retain(|(k, _)| k != "MODELS_DIR");
        env.push(("MODELS_DIR".into(), models.display().to_string()));
        let out = std::process::Command::new(BIN)
            .arg("serve")
            .envs(env)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, stderr) = run(&models);
    assert_eq!(code, Some(1), "{stderr}");
    let expected = models.join("all-MiniLM-L6-v2").join("config.json");
    assert!(
        stderr.contains(&expected.display().to_string()) && stderr.contains("missing"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    // Broken weights: named too.
    let dir = models.join("all-MiniLM-L6-v2");
    std::fs::create_dir_all(&dir).unwrap();
    let real = concat!(env!("CARGO_MANIFEST_DIR"), "/models/all-MiniLM-L6-v2");
    for f in ["config.json", "tokenizer.json"] {
        std::fs::copy(format!("{real}/{f}"), dir.join(f)).unwrap();
    }
    std::fs::write(dir.join("model.safetensors"), b"not a safetensors file").unwrap();
    let (code, stderr) = run(&models);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&dir.join("model.safetensors").display().to_string()),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
