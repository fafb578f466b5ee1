//! Crawl correctness on a site strict about its URLs: pages are fetched exactly as linked, a 404
//! is tried in its slash variant, canonical URLs and `Content-Location` store one page per
//! canonical URL, and `Retry-After` slows the host that sent it and no other.

use super::*;
use common::strict_site::{StrictSite, PAGES};

#[tokio::test(flavor = "multi_thread")]
async fn a_strict_site_is_crawled_as_linked_once_per_canonical_page() {
    let throttled = StrictSite::start(true).await;
    let other = StrictSite::start(false).await;
    let svc = Service::start(&[]).await;
    let start = |site: &StrictSite| json!({"start_url": site.url("/docs/"), "max_depth": 3, "render": "never"});
    let a = svc.start_job(start(&throttled)).await;
    let b = svc.start_job(start(&other)).await;
    for job in [&a, &b] {
        let done = svc
            .wait_job(job, Duration::from_secs(60), |v| {
                v["status"] != "queued" && v["status"] != "running"
            })
            .await;
        assert_eq!(done["status"], "completed", "{done}");
        assert_eq!(done["pages_failed"], 0, "{done}");
        // The printable and English introductions and the mirror are the same pages.
        assert_eq!(done["pages_completed"], PAGES.len() as u64, "{done}");
    }
    for (job, site) in [(&a, &throttled), (&b, &other)] {
        let pages = by_path(&svc.all_pages(job).await);
        let stored: BTreeSet<&str> = pages.keys().map(String::as_str).collect();
        assert_eq!(stored, PAGES.iter().copied().collect(), "{}", site.base);
        // The start URL as given; `/docs` (a 404 here) never asked for.
        assert_eq!(site.hits("/docs/").len(), 1);
        assert!(site.hits("/docs").is_empty());
        // Linked as `ref`, served at `ref/`: the 404 is tried in its variant, once each.
        assert_eq!(site.hits("/docs/ref").len(), 1);
        assert_eq!(site.hits("/docs/ref/").len(), 1);
        assert_eq!(pages["/docs/ref"]["title"], "Reference");
        // The page's metadata as it states it.
        let intro = &pages["/docs/intro"];
        assert_eq!(intro["canonical_url"], site.url("/docs/intro"), "{intro}");
        assert_eq!(intro["language"], "en");
        assert_eq!(intro["last_modified"], "2026-11-02T09:30:00Z");
        // Relative links of `guide/` resolve under it.
        assert_eq!(pages["/docs/guide/setup"]["title"], "Setup");
    }
    // 429 with `Retry-After: 2`: asked again two seconds later, not before.
    let limited = throttled.hits("/docs/limited");
    assert_eq!(limited.len(), 2, "{limited:?}");
    let waited = limited[1] - limited[0];
    assert!(waited >= Duration::from_millis(1900), "{waited:?}");
    // The other site was not held up: its whole crawl was over before the retry.
    let other_done = other.last_hit().unwrap();
    assert!(
        other_done < limited[1],
        "the other host waited for the throttled one"
    );
}
