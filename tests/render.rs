//! Rendering pages in the pool, as a crawl's render mode does: content drawn by scripts after the
//! load is in the document, private targets are refused, and the page is closed afterwards.

mod common;

use browser::Engine;
use common::site;
use platform::Config;

async fn engine(data: &std::path::Path) -> std::sync::Arc<Engine> {
    let data = data.display().to_string();
    let config = Config::from_lookup(|k| match k {
        "DATA_DIR" => Some(data.clone()),
        "PRIVATE_NETWORK_ALLOWLIST" => Some("127.0.0.1".into()),
        "NAVIGATION_TIMEOUT_MS" => Some("5000".into()),
        _ => std::env::var(k)
            .ok()
            .filter(|_| k == "CHROMIUM_PATH" || k == "PATH"),
    })
    .unwrap();
    Engine::open(config).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn renders_script_drawn_content_and_closes_the_page() {
    let site = site::start().await;
    let data = common::temp_dir("render");
    let engine = engine(&data).await;

    let url = url::Url::parse(&site.url("/scripted")).unwrap();
    let page = engine.render_page(&url).await.unwrap();
    assert_eq!(page.final_url, url.as_str());
    assert_eq!(page.title, "Scripted");
    assert!(
        page.html.contains("<h1>Rendered by script</h1>"),
        "{}",
        page.html
    );
    assert!(!page.html.contains("Loading…"));

    let blocked = url::Url::parse(&site.url("/redirect-internal")).unwrap();
    assert_eq!(
        engine.render_page(&blocked).await.unwrap_err().code(),
        "blocked_url"
    );
    let hang = url::Url::parse(&site.url("/hang")).unwrap();
    assert_eq!(
        engine.render_page(&hang).await.unwrap_err().code(),
        "timeout"
    );

    // Every rendering context was closed: only the pool's spare pages remain.
    let report = engine.pool.report().await;
    for b in &report.browsers {
        assert_eq!(b.leased_sessions, 0, "{report:?}");
        assert!(b.contexts <= b.spare_pages + 1, "{report:?}");
    }
    engine.shutdown().await;
    assert!(common::processes_mentioning(data.to_str().unwrap()).is_empty());
}
