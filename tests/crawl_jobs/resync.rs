//! Resync with change detection: a site is crawled, then two of its pages change, one is removed
//! and one is added; the resync asks for every page conditionally, is sent in full only what
//! changed (the server's own log says so), and search follows: the new text is found, the removed
//! page is not, unchanged pages keep their passages under the resync.

use super::*;
use common::changing_site::{ChangingSite, Validator};

fn list(paths: &[&str]) -> String {
    let items: String = paths
        .iter()
        .map(|p| format!("<li><a href=\"{p}\">Page {p}</a></li>"))
        .collect();
    format!("<ul>{items}</ul>")
}

fn build(site: &ChangingSite) {
    let home = "<p>The home of the observatory handbook, with one page per instrument.</p>";
    site.set(
        "/",
        "Home",
        &format!("{home}{}", list(&["/a", "/b", "/c", "/d", "/f"])),
        Validator::ETag,
    );
    site.set(
        "/a",
        "Telescopes",
        "<p>Refracting telescopes bend starlight through lenses of polished glass.</p>",
        Validator::ETag,
    );
    site.set(
        "/b",
        "Mirrors",
        "<p>Reflecting telescopes gather light with a curved primary mirror of silvered glass.</p>",
        Validator::LastModified,
    );
    site.set(
        "/c",
        "Mounts",
        "<p>An equatorial mount follows the stars as the earth turns beneath them.</p>",
        Validator::ETag,
    );
    site.set(
        "/d",
        "Comets",
        "<p>Halley's comet returns every seventy-six years trailing its glowing tail of ice.</p>",
        Validator::ETag,
    );
    site.set(
        "/f",
        "Filters",
        "<p>Narrowband filters isolate the hydrogen-alpha emission line of nebulae.</p>",
        Validator::None,
    );
}

fn change(site: &ChangingSite) {
    let home = "<p>The home of the observatory handbook, revised for the new season.</p>";
    site.set(
        "/",
        "Home",
        &format!("{home}{}", list(&["/a", "/b", "/c", "/e", "/f"])),
        Validator::ETag,
    );
    site.set(
        "/b",
        "Mirrors",
        "<p>Modern observatories build segmented mirrors from hexagonal beryllium tiles.</p>",
        Validator::LastModified,
    );
    site.remove("/d");
    site.set(
        "/e",
        "Quasars",
        "<p>Quasars are luminous galactic nuclei powered by supermassive black holes.</p>",
        Validator::ETag,
    );
}

async fn search(svc: &Service, query: &str) -> Vec<Value> {
    let (status, v) = svc
        .post_json(
            "/api/knowledge/search",
            json!({"query": query, "top_k": 10}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    v["hits"].as_array().unwrap().clone()
}

fn path_of_hit(hit: &Value) -> String {
    path_of(hit["url"].as_str().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resync_reads_again_only_what_changed_and_search_follows() {
    let site = ChangingSite::start().await;
    build(&site);
    let svc = Service::start(&[]).await;
    let body = json!({"start_url": site.url("/"), "max_depth": 2, "render": "never"});
    let first = svc.start_job(body).await;
    let done = svc.wait_indexed(&first, Duration::from_secs(90)).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["pages_completed"], 6, "{done}");
    assert!(
        done.get("pages_new").is_none(),
        "a first crawl is no resync: {done}"
    );

    change(&site);
    site.clear_log();
    // Over MCP's tool path; the REST route takes the same body.
    let (status, started) = svc
        .call("resync_exploration", json!({"job_id": first}))
        .await;
    assert_eq!(status, 200, "{started}");
    let resync = started["job_id"].as_str().unwrap().to_string();
    assert_ne!(resync, first);
    assert_eq!(started["resync_of"], first.as_str());
    let done = svc.wait_indexed(&resync, Duration::from_secs(90)).await;
    assert_eq!(done["status"], "completed", "{done}");
    let counts: Vec<_> = [
        "pages_unchanged",
        "pages_changed",
        "pages_new",
        "pages_removed",
        "pages_failed",
    ]
    .iter()
    .map(|k| done[k].as_u64().unwrap())
    .collect();
    // a, c, f the same; the home page and b changed; e new; d gone.
    assert_eq!(counts, [3, 2, 1, 1, 0], "{done}");

    // Sent in full: exactly what changed. Pages with validators that did not change were
    // answered 304; a page with none (f) can only be read and compared.
    for p in ["/a", "/c"] {
        assert_eq!(site.answered(p), [304], "{p}");
    }
    for p in ["/", "/b", "/e", "/f"] {
        assert_eq!(site.answered(p), [200], "{p}");
    }
    assert_eq!(site.answered("/d").first(), Some(&404));

    let pages = by_path(&svc.all_pages(&resync).await);
    let changes: BTreeMap<&str, &str> = pages
        .iter()
        .map(|(p, v)| (p.as_str(), v["change"].as_str().unwrap_or("-")))
        .collect();
    let expected: BTreeMap<&str, &str> = [
        ("/", "changed"),
        ("/a", "unchanged"),
        ("/b", "changed"),
        ("/c", "unchanged"),
        ("/d", "removed"),
        ("/e", "new"),
        ("/f", "unchanged"),
    ]
    .into();
    assert_eq!(changes, expected);
    assert!(pages["/a"]["markdown"]
        .as_str()
        .unwrap()
        .contains("polished glass"));

    // Search follows the site: the new page is found, the removed one is not, the changed
    // one by its new text, and unchanged pages' passages now belong to the resync.
    let hits = search(&svc, "luminous quasars and supermassive black holes").await;
    assert_eq!(path_of_hit(&hits[0]), "/e", "{hits:?}");
    let hits = search(&svc, "Halley's comet glowing tail every seventy-six years").await;
    assert!(hits.iter().all(|h| path_of_hit(h) != "/d"), "{hits:?}");
    let hits = search(&svc, "segmented beryllium mirror tiles").await;
    assert_eq!(path_of_hit(&hits[0]), "/b", "{hits:?}");
    let hits = search(&svc, "refracting telescope lenses of polished glass").await;
    assert_eq!(path_of_hit(&hits[0]), "/a", "{hits:?}");
    assert_eq!(hits[0]["job_id"], resync.as_str(), "{hits:?}");

    // The source's history: both syncs, newest first.
    let start = site.url("/").replace(':', "%3A").replace('/', "%2F");
    let (status, list) = svc
        .get_json(&format!("/api/knowledge/explore/jobs?start_url={start}"))
        .await;
    assert_eq!(status, 200, "{list}");
    let ids: Vec<_> = list["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["job_id"].clone())
        .collect();
    assert_eq!(ids, [json!(resync), json!(first)]);

    // A job that is not the caller's, or not finished, is not resynced.
    let (status, v) = svc
        .post_json(
            "/api/knowledge/explore/resync",
            json!({"job_id": "no-such-job"}),
        )
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (404, Some("job_not_found")),
        "{v}"
    );
    let running = svc
        .start_job(json!({"start_url": site.url("/"), "render": "never"}))
        .await;
    svc.post_json("/api/knowledge/explore/pause", json!({"job_id": running}))
        .await;
    let (status, v) = svc
        .post_json("/api/knowledge/explore/resync", json!({"job_id": running}))
        .await;
    assert_eq!(status, 409, "{v}");
}
