//! Pages and links: stored once, read back by tenant.

use super::*;

pub(super) async fn pages_and_links_are_stored_once_and_read_back_by_tenant(b: Backend) {
    let s = &b.store;
    let a = TenantId::new("org-a");
    assert!(s
        .put_page(page(
            "j1",
            "org-a",
            "https://e.com/",
            true,
            "Hello widget world"
        ))
        .await
        .unwrap());
    assert!(
        !b.other
            .put_page(page("j1", "org-a", "https://e.com/", true, "again"))
            .await
            .unwrap(),
        "once per job and URL"
    );
    assert!(s
        .put_page(page("j2", "org-a", "https://e.com/", true, "newer crawl"))
        .await
        .unwrap());
    assert!(s
        .put_page(page("j1", "org-a", "https://e.com/404", false, ""))
        .await
        .unwrap());
    assert!(s
        .put_page(page("j1", "org-a", "https://e.com/b", true, "Second page"))
        .await
        .unwrap());
    assert!(s
        .put_page(page("j3", "org-b", "https://e.com/", true, "Hello widget"))
        .await
        .unwrap());
    assert!(s.has_page("j1", "https://e.com/404").await.unwrap());
    assert!(!s.has_page("j1", "https://e.com/other").await.unwrap());
    let q = |job: Option<&str>, outcome, text: Option<&str>| PageQuery {
        job_id: job.map(str::to_string),
        outcome,
        text: text.map(str::to_string),
        limit: 10,
        ..Default::default()
    };
    let Paged { items, total } = s
        .list_pages(&a, &q(Some("j1"), PageOutcome::All, None))
        .await
        .unwrap();
    assert_eq!(total, 3);
    let urls: Vec<&str> = items.iter().map(|p| p.url.as_str()).collect();
    assert_eq!(
        urls,
        ["https://e.com/", "https://e.com/404", "https://e.com/b"],
        "crawl order"
    );
    assert_eq!(
        items[0].markdown, "Hello widget world",
        "the first write stays"
    );
    let second = s
        .list_pages(
            &a,
            &PageQuery {
                job_id: Some("j1".into()),
                offset: 1,
                limit: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (second.total, second.items[0].url.as_str()),
        (3, "https://e.com/404")
    );
    assert_eq!(
        s.list_pages(&a, &q(Some("j1"), PageOutcome::Failed, None))
            .await
            .unwrap()
            .total,
        1
    );
    assert_eq!(
        s.list_pages(&a, &q(None, PageOutcome::Ok, Some("WIDGET")))
            .await
            .unwrap()
            .total,
        1,
        "text matches ignore case and stay within the tenant"
    );
    assert_eq!(
        s.list_pages(&a, &q(None, PageOutcome::Ok, Some("100%")))
            .await
            .unwrap()
            .total,
        0,
        "text is matched literally"
    );
    let by_url = s
        .list_pages(
            &a,
            &PageQuery {
                url_contains: Some("/b".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(by_url.total, 1);
    let newest = s
        .get_page(&a, None, "https://e.com/")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(newest.job_id, "j2", "the newest crawl of a URL");
    let of_j1 = s
        .get_page(&a, Some("j1"), "https://e.com/")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(of_j1.markdown, "Hello widget world");
    // The page's metadata comes back as stored.
    assert_eq!(
        (
            of_j1.canonical_url.as_deref(),
            of_j1.language.as_deref(),
            of_j1.last_modified.as_deref()
        ),
        (
            Some("https://e.com/"),
            Some("en"),
            Some("2026-11-01T10:00:00Z")
        )
    );
    assert!(s
        .get_page(&TenantId::new("org-c"), None, "https://e.com/")
        .await
        .unwrap()
        .is_none());

    let n = s
        .put_links(vec![
            link("j1", "https://e.com/", "https://e.com/a", false),
            link("j1", "https://e.com/", "https://x.org/", true),
            link("j1", "https://e.com/", "https://e.com/a", false),
        ])
        .await
        .unwrap();
    assert_eq!(n, 2, "a link repeated in one batch is stored once");
    let again = b
        .other
        .put_links(vec![
            link("j1", "https://e.com/", "https://x.org/", true),
            link("j1", "https://e.com/b", "https://e.com/a", false),
        ])
        .await
        .unwrap();
    assert_eq!(again, 1, "a redelivered step stores only what is new");
    let ext = s
        .list_links(
            &a,
            &LinkQuery {
                job_id: Some("j1".into()),
                external: Some(true),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(ext.total, 1);
    assert_eq!(ext.items[0].to_url, "https://x.org/");
    let from_b = s
        .list_links(
            &a,
            &LinkQuery {
                from_url: Some("https://e.com/b".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(from_b.total, 1);
    let all = s
        .list_links(
            &a,
            &LinkQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let targets: Vec<&str> = all.items.iter().map(|l| l.to_url.as_str()).collect();
    assert_eq!(
        targets,
        ["https://e.com/a", "https://x.org/", "https://e.com/a"],
        "links in the order found"
    );
    let none = s
        .list_links(
            &TenantId::new("org-b"),
            &LinkQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(none.total, 0);
}
