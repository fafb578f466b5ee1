//! Passages: replaced per page, logged for the vector index, searched by tenant.

use super::*;

pub(super) async fn passages_are_replaced_logged_and_searched_by_tenant(b: Backend) {
    let s = &b.store;
    let a = TenantId::new("org-a");
    let url = "https://docs.e.com/setup";
    s.put_page(page("j1", "org-a", url, true, "Setup guide"))
        .await
        .unwrap();
    s.put_page(page("j1", "org-a", "https://docs.e.com/failed", false, ""))
        .await
        .unwrap();
    let waiting = s.unindexed_pages(10).await.unwrap();
    assert_eq!(
        waiting.len(),
        1,
        "only pages with content wait for passages"
    );
    assert_eq!(s.indexed_pages("j1").await.unwrap(), 0);
    let before = s.chunk_change_seq().await.unwrap();

    s.replace_chunks(
        &a,
        "j1",
        url,
        vec![
            chunk(
                "org-a",
                "j1",
                url,
                0,
                "Install the rotor widgets first.",
                [1.0, 0.0, 0.0],
            ),
            chunk(
                "org-a",
                "j1",
                url,
                1,
                "Then calibrate the flux sensor.",
                [0.0, 1.0, 0.0],
            ),
        ],
    )
    .await
    .unwrap();
    s.replace_chunks(
        &TenantId::new("org-b"),
        "j9",
        "https://docs.e.com/setup",
        vec![chunk(
            "org-b",
            "j9",
            url,
            0,
            "rotor rotor rotor",
            [1.0, 0.0, 0.0],
        )],
    )
    .await
    .unwrap();
    assert!(s.unindexed_pages(10).await.unwrap().is_empty());
    assert_eq!(s.indexed_pages("j1").await.unwrap(), 1);

    let stored = s.page_chunks(&a, url).await.unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(
        stored[1].vector,
        vec![0.0, 1.0, 0.0],
        "vectors round-trip exactly"
    );
    assert_eq!(stored[0].heading_path, ["Guide", "Setup"]);

    let changes = b.other.chunk_changes_since(before, 10).await.unwrap();
    assert_eq!(changes.len(), 2, "another process sees both replacements");
    assert_eq!(changes[0].1, a);
    assert_eq!(changes[0].2, url);
    assert!(changes[0].0 < changes[1].0);
    assert_eq!(s.chunk_change_seq().await.unwrap(), changes[1].0);

    let hits = s
        .keyword_search(&a, "How do I install a widget?", None, None, 10)
        .await
        .unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].0, "org-a|https://docs.e.com/setup|0");
    let flux = s
        .keyword_search(&a, "flux (sensor)", Some("j1"), None, 10)
        .await
        .unwrap();
    assert_eq!(flux[0].0, "org-a|https://docs.e.com/setup|1");
    assert!(s
        .keyword_search(&a, "flux", Some("other-job"), None, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .keyword_search(&a, "flux", None, Some("other.site"), 10)
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .keyword_search(&a, "? !", None, None, 10)
        .await
        .unwrap()
        .is_empty());

    let got = s
        .get_chunks(
            &a,
            vec![
                "org-a|https://docs.e.com/setup|1".into(),
                "org-b|https://docs.e.com/setup|0".into(),
            ],
        )
        .await
        .unwrap();
    assert_eq!(got.len(), 1, "another tenant's passage is not returned");
    assert_eq!(got[0].text, "Then calibrate the flux sensor.");
    assert_eq!(s.all_chunk_vectors().await.unwrap().len(), 3);
    assert_eq!(
        s.chunk_models(&a).await.unwrap(),
        vec![("mini".to_string(), 3)]
    );

    // Crawled again: the page's passages are replaced, not added to.
    s.replace_chunks(
        &a,
        "j1",
        url,
        vec![chunk("org-a", "j1", url, 0, "Rewritten.", [0.0, 0.0, 1.0])],
    )
    .await
    .unwrap();
    assert_eq!(s.page_chunks(&a, url).await.unwrap().len(), 1);
    assert!(s
        .keyword_search(&a, "flux", None, None, 10)
        .await
        .unwrap()
        .is_empty());
}
