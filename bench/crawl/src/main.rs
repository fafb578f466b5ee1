//! Pages per second crawling a generated site of N pages (default 1000) served on 127.0.0.1:
//! the service's crawler in HTTP mode and in render mode (every page in Chromium), and the
//! `spider` crate over HTTP and in its Chrome mode, in the same run on the same site. Each figure
//! is the median of several runs.
//!
//! `cargo run --release --manifest-path bench/crawl/Cargo.toml -- [PAGES] [RUNS] [RENDER_RUNS]`
//!
//! Pages are embedded for search behind the crawl, as in the service: the HTTP figure is the
//! crawl's, with the embedding thread competing for the CPU.

use browser::Engine;
use crawler::jobs::StartRequest;
use platform::jobs::{JobStatus, RenderMode};
use platform::{Config, TenantId};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use testkit::sites::trap::{TrapOptions, TrapSite};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// One crawl by the service's crawler: pages completed and the seconds until the job completed;
/// with `until_searchable`, also the seconds from the start until every page was embedded and
/// searchable (`pages_indexed` reached the pages stored).
async fn ours(
    site: &TrapSite,
    pages: usize,
    render: RenderMode,
    concurrency: usize,
    until_searchable: bool,
) -> (usize, f64, Option<f64>) {
    let dir = std::env::temp_dir().join(format!("crawl-bench-{}-{:?}", std::process::id(), render));
    let _ = std::fs::remove_dir_all(&dir);
    let env: HashMap<&str, String> = HashMap::from([
        ("DATA_DIR", dir.display().to_string()),
        ("PRIVATE_NETWORK_ALLOWLIST", "127.0.0.1".into()),
        ("CRAWL_CONCURRENCY", concurrency.to_string()),
        ("CRAWL_PER_HOST", concurrency.to_string()),
        ("MAX_BROWSERS", "2".into()),
        ("MAX_SESSIONS", "8".into()),
        ("JOB_WORKERS", "1".into()),
        (
            "MODELS_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../models").into(),
        ),
    ]);
    let config = Config::from_lookup(|k| env.get(k).cloned()).expect("config");
    let platform = platform::Platform::open(config).await.expect("backends");
    let engine = Engine::start_worker(platform).await.expect("engine");
    // Pages are embedded for search behind the crawl, as in the service; the figure is the
    // crawl's (until the job completes), with the embedding thread competing for the CPU.
    let embedder = crawler::knowledge::Knowledge::load_model(&engine.platform.config)
        .expect("embedding model (./scripts/install-model.sh)");
    let knowledge = crawler::knowledge::Knowledge::start(&engine.platform, embedder, false)
        .await
        .expect("embedding model (./scripts/install-model.sh)");
    let jobs = crawler::Jobs::start(engine.platform.clone(), engine.clone(), knowledge)
        .await
        .expect("jobs");
    let tenant = TenantId::local();
    let started = Instant::now();
    let job = jobs
        .start_job(
            &tenant,
            StartRequest {
                start_url: site.url("/"),
                max_pages: Some(pages + 1),
                max_depth: Some(50),
                job_id: None,
                include_patterns: vec![],
                exclude_patterns: vec![],
                render,
                concurrency: Some(concurrency),
                webhook: None,
            },
        )
        .await
        .expect("start");
    let done = loop {
        let v = jobs.status(&tenant, &job.job_id).await.expect("status");
        if v.status.is_terminal() {
            break v;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(done.status, JobStatus::Completed, "{:?}", done.error);
    let mut searchable = None;
    while until_searchable {
        let v = jobs.status(&tenant, &job.job_id).await.expect("status");
        if v.pages_indexed.unwrap_or(0) >= v.pages_completed {
            searchable = Some(started.elapsed().as_secs_f64());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    jobs.shutdown().await;
    engine.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    (done.pages_completed as usize, secs, searchable)
}

/// spider with its default settings: over HTTP (`crawl_raw`, what `crawl` does without the
/// `chrome` feature) or rendering every page in its Chrome mode (`crawl`).
async fn spider_crawl(site: &TrapSite, pages: usize, chrome: bool) -> (usize, f64) {
    let mut website = spider::website::Website::new(&site.url("/"));
    website.with_limit((pages + 1) as u32);
    let started = Instant::now();
    if chrome {
        website.crawl().await;
    } else {
        website.crawl_raw().await;
    }
    let secs = started.elapsed().as_secs_f64();
    (website.get_links().len(), secs)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let pages: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let runs: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(3);
    let render_runs: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(1);
    let site = TrapSite::start(TrapOptions {
        generated: pages,
        ..Default::default()
    })
    .await;
    println!(
        "generated site: {pages} pages + root on {}; median of {runs} runs",
        site.base
    );
    println!(
        "{:<44} {:>7} {:>9} {:>10}",
        "crawler", "pages", "seconds", "pages/s"
    );
    let report = |name: &str, results: Vec<(usize, f64)>| {
        let n = results[0].0;
        let secs = median(results.iter().map(|r| r.1).collect());
        let rate = median(results.iter().map(|r| r.0 as f64 / r.1).collect());
        println!("{name:<44} {n:>7} {secs:>9.2} {rate:>10.1}");
        rate
    };
    let mut http = Vec::new();
    let mut render = Vec::new();
    let mut spider = Vec::new();
    for _ in 0..runs {
        let (n, secs, _) = ours(&site, pages, RenderMode::Never, 8, false).await;
        http.push((n, secs));
        // The embedding thread finishes the batch it had begun: let it, so spider runs on an
        // idle machine.
        tokio::time::sleep(Duration::from_secs(8)).await;
        spider.push(spider_crawl(&site, pages, false).await);
    }
    // Rendering is two orders of magnitude slower: one run (RENDER_RUNS) is enough.
    let mut spider_chrome = Vec::new();
    for _ in 0..render_runs {
        let (n, secs, _) = ours(&site, pages, RenderMode::Always, 4, false).await;
        render.push((n, secs));
        spider_chrome.push(spider_crawl(&site, pages, true).await);
    }
    let h = report("ours, HTTP (8 at once, store + extraction)", http);
    let s = report("spider 2.53.9 (default settings, links only)", spider);
    println!("ratio: HTTP / spider = {:.2}", h / s);
    if !render.is_empty() {
        let r = report("ours, render every page (4 at once, 2 browsers)", render);
        let c = report(
            "spider 2.53.9, Chrome mode (default settings)",
            spider_chrome,
        );
        println!("ratio: render / HTTP = {:.3}", r / h);
        println!("ratio: our render / spider's Chrome mode = {:.2}", r / c);
    }
    // From a crawl's start to every page searchable, on (at most) 1,000 of the site's pages.
    let most = pages.min(1000);
    let (n, crawled, searchable) = ours(&site, most, RenderMode::Never, 8, true).await;
    println!(
        "ours, HTTP, {n} pages: crawl done after {crawled:.2} s, every page searchable after {:.2} s",
        searchable.unwrap_or(f64::NAN)
    );
}
