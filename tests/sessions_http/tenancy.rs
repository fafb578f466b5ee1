//! One tenant's sessions are invisible to another.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_tenant_never_sees_another_tenants_session() {
    let site = site::start().await;
    let svc = Service::start(&[("API_KEYS", "key-a:org-a,key-b:org-b")]).await;
    let (status, body) = svc.call("list_browser_sessions", json!({})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("unauthorized")),
        "{body}"
    );
    // Health needs no key, but without one it tells the status alone.
    let (status, body) = svc.get("/health").await;
    assert_eq!(status, 200, "health needs no key");
    let anonymous: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(anonymous, json!({"status": "ok"}), "details need a key");
    let detailed: Value = common::http_client(Duration::from_secs(10))
        .get(format!("{}/health", svc.base))
        .bearer_auth("key-a")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(detailed["chromium"].is_object(), "{detailed}");

    let (status, body) = svc
        .call_as(
            Some("key-a"),
            "start_browser_session",
            json!({"room_name": "secret-room", "initial_url": site.url("/form")}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for tool in [
        "get_browser_context",
        "get_screen_content",
        "close_browser_session",
        "pause_browser_session",
    ] {
        let (status, body) = svc
            .call_as(Some("key-b"), tool, json!({"room_name": "secret-room"}))
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("session_not_found")),
            "{tool}: {body}"
        );
    }
    let (_, list) = svc
        .call_as(Some("key-b"), "list_browser_sessions", json!({}))
        .await;
    assert_eq!(list["sessions"], json!([]));
    let (_, list) = svc
        .call_as(Some("key-a"), "list_browser_sessions", json!({}))
        .await;
    assert_eq!(list["sessions"][0]["room_name"], "secret-room");
    // The other tenant cannot listen to the room's events either.
    let url = format!("ws://{}/mcp/events/secret-room?token=key-b", &svc.base[7..]);
    assert!(tokio_tungstenite::connect_async(url).await.is_err());
    let (status, _) = svc
        .call_as(Some("wrong"), "list_browser_sessions", json!({}))
        .await;
    assert_eq!(status, 401);

    // MCP over HTTP takes the same keys.
    let base = svc.base.clone();
    let mut mcp =
        tokio::task::spawn_blocking(move || common::McpClient::http(&base, Some("key-b")))
            .await
            .unwrap();
    assert_eq!(
        mcp.err_code("get_browser_context", json!({"room_name": "secret-room"})),
        "session_not_found"
    );
}

/// An event socket belongs to the session that was open when it connected: it closes when that
/// session ends, and the next session of the same name (another tenant's here) reaches it never.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_event_socket_ends_with_its_session_and_never_hears_the_next() {
    let site = site::start().await;
    let svc = Service::start(&[("API_KEYS", "key-a:org-a,key-b:org-b")]).await;
    let start = |key: &'static str| {
        svc.call_as(
            Some(key),
            "start_browser_session",
            json!({"room_name": "reused", "initial_url": site.url("/")}),
        )
    };
    assert_eq!(start("key-a").await.0, 200);
    let url = format!("ws://{}/mcp/events/reused?token=key-a", &svc.base[7..]);
    let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let (_, mut socket) = ws.split();
    let (status, _) = svc
        .call_as(
            Some("key-a"),
            "close_browser_session",
            json!({"room_name": "reused"}),
        )
        .await;
    assert_eq!(status, 200);
    // The socket ends with the session (after its last events).
    let mut seen = Vec::new();
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(msg) = socket.next().await {
            match msg {
                Ok(tokio_tungstenite::tungstenite::Message::Text(t)) => seen.push(t.to_string()),
                Ok(tokio_tungstenite::tungstenite::Message::Close(_)) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the socket outlived its session: {seen:?}");
    // The other tenant's session of the same name reaches nothing of the first tenant's.
    assert_eq!(start("key-b").await.0, 200, "the name is free again");
    let secret = site.url("/form?token=tenant-b-secret");
    let (status, _) = svc
        .call_as(
            Some("key-b"),
            "execute_action",
            json!({"room_name": "reused", "action": "navigate", "url": secret}),
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        !seen.iter().any(|e| e.contains("tenant-b-secret")),
        "{seen:?}"
    );
}

/// Open the tenant's room `same` on a page of the site.
async fn open_same(svc: &Service, site: &site::Site, key: &str, path: &str) -> (u16, Value) {
    svc.call_as(
        Some(key),
        "start_browser_session",
        json!({"room_name": "same", "initial_url": site.url(path)}),
    )
    .await
}

/// The tenant's room `same` as `get_browser_context` shows it.
async fn context_of_same(svc: &Service, key: &str) -> (u16, Value) {
    svc.call_as(
        Some(key),
        "get_browser_context",
        json!({"room_name": "same"}),
    )
    .await
}

/// Rooms are named per tenant: two tenants use the same room name at once, each sees only its
/// own, and after a restart neither can take the other's recoverable room.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_tenants_share_a_room_name_without_seeing_each_other_even_across_a_restart() {
    let site = site::start().await;
    let keys = [("API_KEYS", "key-a:org-a,key-b:org-b")];
    let mut svc = Service::start(&keys).await;
    assert_eq!(open_same(&svc, &site, "key-a", "/form").await.0, 200);
    let (status, body) = open_same(&svc, &site, "key-b", "/buttons").await;
    assert_eq!(status, 200, "the same name for another tenant: {body}");
    let (_, a) = context_of_same(&svc, "key-a").await;
    let (_, b) = context_of_same(&svc, "key-b").await;
    assert!(a["url"].as_str().unwrap().ends_with("/form"), "{a}");
    assert!(b["url"].as_str().unwrap().ends_with("/buttons"), "{b}");
    // Closing one tenant's room leaves the other's open.
    let (status, _) = svc
        .call_as(
            Some("key-b"),
            "close_browser_session",
            json!({"room_name": "same"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(context_of_same(&svc, "key-a").await.0, 200);

    // A restart: org-a's session is kept as a recoverable record of org-a's alone.
    let dir = svc.data_dir.clone();
    svc.stop();
    let svc = Service::start_in(dir, &keys).await;
    let (status, body) = open_same(&svc, &site, "key-b", "/long").await;
    assert_eq!(status, 200, "org-b opens its own room of that name: {body}");
    let (status, body) = svc
        .call_as(
            Some("key-a"),
            "recover_browser_session",
            json!({"room_name": "same"}),
        )
        .await;
    assert_eq!(status, 200, "org-a still recovers its own: {body}");
    let (_, a) = context_of_same(&svc, "key-a").await;
    assert!(a["url"].as_str().unwrap().ends_with("/form"), "{a}");
    let (_, b) = context_of_same(&svc, "key-b").await;
    assert!(b["url"].as_str().unwrap().ends_with("/long"), "{b}");
}
