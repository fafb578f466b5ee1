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

/// A site for a job's renders: a page filled in from a `fetch` answered after 400 ms (longer
/// than the stillness window), a page with images and a web font, and a count of the requests
/// for those.
async fn render_site() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use axum::response::{Html, IntoResponse};
    use axum::routing::get;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let media = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = media.clone();
    let app = axum::Router::new()
        .route(
            "/fetched",
            get(|| async {
                Html(
                    r#"<!doctype html><title>Fetched</title><div id="app">Loading…</div>
                    <script>fetch("/data").then(r => r.text()).then(t => {
                      document.getElementById("app").innerHTML = "<p>" + t + "</p>";
                    });</script>"#,
                )
            }),
        )
        .route(
            "/data",
            get(|| async {
                tokio::time::sleep(std::time::Duration::from_millis(400)).await;
                "Answered after a while"
            }),
        )
        .route(
            "/pictures",
            get(|| async {
                Html(
                    r#"<!doctype html><title>Pictures</title>
                    <style>@font-face { font-family: F; src: url(/font.woff2); } p { font-family: F; }</style>
                    <p>Words beside pictures</p><img src="/a.png" alt="a"><img src="/b.png" alt="b">
                    <video src="/clip.mp4" autoplay muted></video>"#,
                )
            }),
        )
        .route(
            "/{file}",
            get(move |axum::extract::Path(file): axum::extract::Path<String>| {
                let counted = counted.clone();
                async move {
                    // (Chromium asks for /favicon.ico on its own; that is not the page's media.)
                    if file != "favicon.ico" {
                        counted.fetch_add(1, Ordering::SeqCst);
                    }
                    axum::http::StatusCode::NOT_FOUND.into_response()
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, media)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_jobs_renders_reuse_its_pages_skip_media_and_wait_for_fetches() {
    use platform::Renderer;
    let (base, media) = render_site().await;
    let data = common::temp_dir("render-scope");
    let engine = engine(&data).await;
    let scope = engine.scope();
    let fetched = url::Url::parse(&format!("{base}/fetched")).unwrap();
    let pictures = url::Url::parse(&format!("{base}/pictures")).unwrap();
    for _ in 0..3 {
        // The content a fetch brought, though the DOM was still for longer than the window.
        let page = scope.render(&fetched).await.unwrap();
        assert!(
            page.html.contains("<p>Answered after a while</p>"),
            "{}",
            page.html
        );
        let page = scope.render(&pictures).await.unwrap();
        assert!(page.html.contains("Words beside pictures"), "{}", page.html);
    }
    assert_eq!(
        media.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "images, video and fonts are never requested"
    );
    // One page (in one context) served all six renders, one after another.
    let report = engine.pool.report().await;
    let contexts: usize = report.browsers.iter().map(|b| b.contexts).sum();
    let spare: usize = report.browsers.iter().map(|b| b.spare_pages).sum();
    assert_eq!(contexts, spare + 1, "{report:?}");
    // A failed render gives its page up; the job's next render gets a fresh one.
    let hang = url::Url::parse(&site::start().await.url("/hang")).unwrap();
    assert_eq!(scope.render(&hang).await.unwrap_err().code(), "timeout");
    assert!(scope.render(&pictures).await.is_ok());
    // The job ends: its contexts are closed.
    drop(scope);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let report = engine.pool.report().await;
        if report.browsers.iter().all(|b| b.contexts <= b.spare_pages) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{report:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    engine.shutdown().await;
    assert!(common::processes_mentioning(data.to_str().unwrap()).is_empty());
}
