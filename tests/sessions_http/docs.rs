//! The OpenAPI document and the docs pages, served offline and rendered in Chromium.

use super::*;

/// The DOM of `url` after its scripts ran, as headless Chromium (Debian's, started here with the
/// service's own flags) serialises it.
fn rendered_dom(url: &str) -> String {
    let exe = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .unwrap_or("chromium");
    let profile = common::temp_dir("docs-dom");
    let out = std::process::Command::new(exe)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=10000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(url)
        .output()
        .expect("headless Chromium runs");
    let _ = std::fs::remove_dir_all(&profile);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Operations a docs page shows: its elements marked `data-method` and `data-path`.
fn shown_operations(dom: &str) -> std::collections::BTreeSet<(String, String)> {
    let doc = scraper::Html::parse_document(dom);
    let sel = scraper::Selector::parse("[data-method][data-path]").unwrap();
    doc.select(&sel)
        .map(|e| {
            let v = e.value();
            (
                v.attr("data-method").unwrap().to_string(),
                v.attr("data-path").unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn docs_pages_show_every_operation_in_a_real_browser() {
    let svc = Service::start(&[]).await;
    let (_, body) = svc.get("/openapi.json").await;
    let doc: Value = serde_json::from_str(&body).unwrap();
    let documented: std::collections::BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.clone(), path.clone()))
        })
        .collect();
    assert!(documented.len() >= 20, "{documented:?}");
    for page in ["/docs", "/redoc"] {
        let url = format!("{}{page}", svc.base);
        let dom = tokio::task::spawn_blocking(move || rendered_dom(&url))
            .await
            .unwrap();
        assert_eq!(
            shown_operations(&dom),
            documented,
            "{page} does not show exactly the documented operations"
        );
        if page == "/docs" {
            // Each body is editable as its type: a file picker for the multipart upload, the SDP
            // offer as text.
            let html = scraper::Html::parse_document(&dom);
            let upload = scraper::Selector::parse(
                r#"[data-path="/api/knowledge/ingest/upload"] input[type="file"]"#,
            )
            .unwrap();
            assert_eq!(
                html.select(&upload).count(),
                1,
                "no file picker for the upload"
            );
            let whep =
                scraper::Selector::parse(r#"[data-path="/rooms/{room_name}/whep"] textarea"#)
                    .unwrap();
            assert_eq!(html.select(&whep).count(), 1, "no SDP editor for WHEP");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn openapi_and_docs_pages_are_served_offline() {
    let svc = Service::start(&[]).await;
    let (status, body) = svc.get("/openapi.json").await;
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&body).unwrap();
    for path in [
        "/health",
        "/mcp/tools",
        "/mcp/tools/call",
        "/rooms/{room_name}/connections",
        "/mcp/events/{room_name}",
        "/api/knowledge/explore/start",
        "/api/knowledge/explore/status/{job_id}",
        "/api/knowledge/query",
        "/api/knowledge/search",
        "/api/knowledge/ingest/start",
        "/api/knowledge/ingest/upload",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    for schema in [
        "SearchRequest",
        "SearchAnswer",
        "SearchHit",
        "QueryRequest",
        "IngestStartRequest",
        "S3ReferenceBody",
        "UploadForm",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "{schema} missing from the OpenAPI document"
        );
    }
    for page in ["/docs", "/redoc"] {
        let (status, html) = svc.get(page).await;
        assert_eq!(status, 200);
        assert!(html.contains("/openapi.json"));
        // No external script or stylesheet: the pages work offline.
        assert!(
            !html.contains("src=\"http") && !html.contains("href=\"http"),
            "{page} loads something remote"
        );
    }
    let (status, tools) = svc.get("/mcp/tools").await;
    assert_eq!(status, 200);
    let tools: Value = serde_json::from_str(&tools).unwrap();
    assert!(tools["tools"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["name"] == "execute_action"));
    let (status, metrics) = svc.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(metrics.contains("bas_sessions_open"), "{metrics}");
}
