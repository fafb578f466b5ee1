//! Sessions over the plain-HTTP control API: typed errors for bad input, no leaks after many
//! sessions, recovery after a browser crash and after a service crash, tenant isolation, and the
//! WebSocket event stream.

mod common;

use common::{eventually, processes_mentioning, site, Service};
use futures::StreamExt;
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_input_gets_a_typed_error_and_the_service_keeps_serving() {
    let site = site::start().await;
    let svc = Service::start(&[("NAVIGATION_TIMEOUT_MS", "3000")]).await;
    let room = "errors";
    svc.ok(
        "start_browser_session",
        json!({"room_name": room, "initial_url": site.url("/buttons")}),
    )
    .await;

    let closed_port = common::free_port();
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"name": "get_browser_context", "arguments": {"room_name": "ghost"}}),
            404,
            "session_not_found",
        ),
        (
            json!({"name": "execute_action", "arguments": {"room_name": room, "action": "teleport"}}),
            400,
            "invalid_arguments",
        ),
        (
            json!({"name": "execute_action", "arguments": {"room_name": room, "action": "click"}}),
            400,
            "invalid_request",
        ),
        (
            json!({"name": "execute_action", "arguments": {"room_name": room, "action": "click", "selector": "#nothing-here"}}),
            404,
            "element_not_found",
        ),
        (
            json!({"name": "execute_action", "arguments": {"room_name": room, "action": "click", "selector": "!!"}}),
            400,
            "invalid_request",
        ),
        (
            json!({"name": "execute_action", "arguments": {"room_name": room, "action": "click", "ref": "e9999"}}),
            404,
            "element_not_found",
        ),
        (
            json!({"name": "execute_action", "arguments": {"room_name": room, "action": "navigate", "url": "not a url"}}),
            400,
            "invalid_url",
        ),
        (
            json!({"name": "execute_action", "arguments": {"room_name": room, "action": "navigate", "url": "file:///etc/passwd"}}),
            400,
            "invalid_url",
        ),
        (
            json!({"name": "execute_action", "arguments": {"room_name": room, "action": "navigate", "url": format!("http://127.0.0.1:{closed_port}/")}}),
            502,
            "navigation_failed",
        ),
        (
            json!({"name": "execute_action", "arguments": {"room_name": room, "action": "navigate", "url": "http://169.254.169.254/latest/meta-data/"}}),
            403,
            "blocked_url",
        ),
        (
            json!({"name": "execute_action", "arguments": {"room_name": room, "action": "navigate", "url": "http://[::1]:9/"}}),
            403,
            "blocked_url",
        ),
        (
            json!({"name": "execute_action", "arguments": {"room_name": room, "action": "navigate", "url": site.url("/redirect-internal")}}),
            403,
            "blocked_url",
        ),
        (
            json!({"name": "execute_action", "arguments": {"room_name": room, "action": "navigate", "url": "http://no-such-host.invalid/"}}),
            502,
            "navigation_failed",
        ),
        (
            json!({"name": "execute_action", "arguments": {"room_name": room, "action": "navigate", "url": site.url("/hang")}}),
            504,
            "timeout",
        ),
        (
            json!({"name": "execute_action", "arguments": {"room_name": room, "action": "send_keys", "keys": "Hyper+Q"}}),
            400,
            "invalid_request",
        ),
        (
            json!({"name": "execute_action", "arguments": {"room_name": room, "action": "wait", "selector": "#never", "timeout_ms": 300}}),
            504,
            "timeout",
        ),
        (
            json!({"name": "start_browser_session", "arguments": {"room_name": room}}),
            409,
            "session_exists",
        ),
        (
            json!({"name": "start_browser_session", "arguments": {"room_name": "bad room name!"}}),
            400,
            "invalid_request",
        ),
        (
            json!({"name": "start_browser_session", "arguments": {"room_name": "x", "initial_url": "http://10.0.0.8/"}}),
            403,
            "blocked_url",
        ),
        (
            json!({"name": "no_such_tool", "arguments": {}}),
            404,
            "unknown_tool",
        ),
    ];
    for (body, status, code) in cases {
        let (got_status, got) = svc
            .call(body["name"].as_str().unwrap(), body["arguments"].clone())
            .await;
        assert_eq!(
            (got_status, got["code"].as_str().unwrap_or("")),
            (status, code),
            "{body} -> {got}"
        );
        assert!(
            got["error"].is_string() && got["detail"].is_string(),
            "{got}"
        );
    }
    // A link into a private network is refused when clicked, not only when typed as a URL; the
    // page's blocked image before it does not confuse the report.
    svc.ok(
        "execute_action",
        json!({"room_name": room, "action": "navigate", "url": site.url("/internal-link")}),
    )
    .await;
    let (status, body) = svc
        .call(
            "execute_action",
            json!({"room_name": room, "action": "click", "selector": "#in"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("blocked_url")),
        "{body}"
    );

    // A malformed body is a typed 400 too, and unknown routes a typed 404.
    let client = common::http_client(Duration::from_secs(30));
    let r = client
        .post(format!("{}/mcp/tools/call", svc.base))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "bad_request");
    let (status, body) = svc.get("/nope").await;
    assert_eq!(status, 404, "{body}");

    // Nothing above hurt the session or the service: the page still works.
    let r = svc
        .ok(
            "execute_action",
            json!({"room_name": room, "action": "navigate", "url": site.url("/form")}),
        )
        .await;
    assert_eq!(r["page"]["title"], "Sign up");
    let h = svc.health().await;
    assert_eq!(h["status"], "ok", "{h}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_sessions_open_and_close_without_leaving_pages_contexts_or_processes() {
    let site = site::start().await;
    let mut svc = Service::start(&[("MAX_BROWSERS", "2"), ("MAX_SESSIONS", "10")]).await;
    for batch in 0..10 {
        let rooms: Vec<String> = (0..5).map(|i| format!("leak-{batch}-{i}")).collect();
        let starts = rooms.iter().map(|r| {
            svc.call(
                "start_browser_session",
                json!({"room_name": r, "initial_url": site.url("/")}),
            )
        });
        for (status, body) in futures::future::join_all(starts).await {
            assert_eq!(status, 200, "{body}");
        }
        let closes = rooms
            .iter()
            .map(|r| svc.call("close_browser_session", json!({"room_name": r})));
        for (status, body) in futures::future::join_all(closes).await {
            assert_eq!(status, 200, "{body}");
        }
    }
    // Chromium itself reports no context and no page left from the 50 sessions: only the blank
    // pages each browser keeps ready (one fresh context each, at most 2), once refilling settles.
    let h = eventually(10, "the pool to settle", || async {
        let h = svc.health().await;
        let settled = h["chromium"]["browsers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| {
                let spares = b["spare_pages"].as_u64().unwrap();
                spares <= 2
                    && b["leased_sessions"] == 0
                    && b["contexts"].as_u64() == Some(spares)
                    && b["pages"].as_u64() == Some(spares)
            });
        (settled && h["open_sessions"] == 0).then_some(h)
    })
    .await;
    assert!(
        !h["chromium"]["browsers"].as_array().unwrap().is_empty(),
        "{h}"
    );
    // The session limit is enforced, with a typed error.
    for i in 0..10 {
        svc.ok(
            "start_browser_session",
            json!({"room_name": format!("cap-{i}")}),
        )
        .await;
    }
    let (status, body) = svc
        .call("start_browser_session", json!({"room_name": "cap-10"}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("session_limit")),
        "{body}"
    );

    // After a graceful stop, no Chromium process (nor crash handler, nor zygote) survives.
    let data = svc.data_dir.clone();
    let status = svc.stop();
    assert!(status.success(), "service exit: {status:?}\n{}", svc.log());
    let left = processes_mentioning(data.to_str().unwrap());
    assert!(left.is_empty(), "processes left behind: {left:#?}");
    assert!(
        !data
            .join("chromium")
            .read_dir()
            .map(|mut d| d.next().is_some())
            .unwrap_or(false),
        "profiles left behind"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crashed_browser_is_replaced_and_its_session_recovers() {
    let site = site::start().await;
    let svc = Service::start(&[]).await;
    let room = "crashy";
    svc.ok(
        "start_browser_session",
        json!({"room_name": room, "initial_url": site.url("/form")}),
    )
    .await;
    let (ws, _) = tokio_tungstenite::connect_async(format!(
        "ws://127.0.0.1:{}/mcp/events/{room}",
        &svc.base[17..]
    ))
    .await
    .unwrap();
    let (_, mut events) = ws.split();

    let h = svc.health().await;
    let pid = h["chromium"]["browsers"][0]["pid"].as_u64().unwrap() as i32;
    // SAFETY: kill(2) on the Chromium the service started for this test.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
    // The session reports the crash as a typed error, and a browser_error event arrives.
    let err = eventually(20, "session_failed", || async {
        let (status, body) = svc
            .call("get_browser_context", json!({"room_name": room}))
            .await;
        (status == 409 && body["code"] == "session_failed").then_some(body)
    })
    .await;
    assert!(err["detail"].as_str().unwrap().contains("recover"), "{err}");
    let ev = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(msg)) = events.next().await {
            let v: Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
            if v["type"] == "browser_error" {
                return v;
            }
        }
        panic!("event stream ended");
    })
    .await
    .expect("browser_error event");
    assert_eq!(ev["data"]["room_name"], room);
    assert_eq!(ev["data"]["recoverable"], true);

    // A replacement browser is started, and recovery reopens the last page.
    let info = svc
        .ok("recover_browser_session", json!({"room_name": room}))
        .await;
    assert_eq!(info["status"], "active");
    assert_eq!(info["restored_url"], site.url("/form"), "{info}");
    let ctx = svc
        .ok("get_browser_context", json!({"room_name": room}))
        .await;
    assert_eq!(ctx["title"], "Sign up");
    let h = svc.health().await;
    assert!(h["chromium"]["replaced"].as_u64().unwrap() >= 1, "{h}");
    assert!(
        processes_mentioning(&format!("browser-{}-1", svc.pid())).is_empty(),
        "the dead browser left processes"
    );
    let r = svc
        .ok(
            "execute_action",
            json!({"room_name": room, "action": "type", "selector": "#name", "text": "again"}),
        )
        .await;
    assert_eq!(r["success"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sessions_survive_a_service_crash_or_restart_as_recoverable_records() {
    let site = site::start().await;
    let data = common::temp_dir("restart");
    let mut svc = Service::start_in(data.clone(), &[]).await;
    svc.ok(
        "start_browser_session",
        json!({"room_name": "phoenix", "initial_url": site.url("/buttons")}),
    )
    .await;
    let old_pid = svc.pid();
    svc.crash();
    // Chromium dies with the service (parent-death signal), even though nobody cleaned up.
    eventually(10, "orphaned Chromium to exit", || async {
        processes_mentioning(&format!("browser-{old_pid}-"))
            .is_empty()
            .then_some(())
    })
    .await;
    let mut svc = Service::start_in(data.clone(), &[]).await;
    let (status, body) = svc
        .call("get_browser_context", json!({"room_name": "phoenix"}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("session_not_found")),
        "{body}"
    );
    let info = svc
        .ok("recover_browser_session", json!({"room_name": "phoenix"}))
        .await;
    assert_eq!(info["restored_url"], site.url("/buttons"), "{info}");
    let ctx = svc
        .ok("get_browser_context", json!({"room_name": "phoenix"}))
        .await;
    assert_eq!(ctx["title"], "Buttons");

    // A graceful stop (a deploy) leaves open sessions recoverable too; closed ones stay closed.
    svc.ok(
        "execute_action",
        json!({"room_name": "phoenix", "action": "navigate", "url": site.url("/form")}),
    )
    .await;
    svc.ok("start_browser_session", json!({"room_name": "gone"}))
        .await;
    svc.ok("close_browser_session", json!({"room_name": "gone"}))
        .await;
    assert!(svc.stop().success());
    let svc = Service::start_in(data, &[]).await;
    let info = svc
        .ok("recover_browser_session", json!({"room_name": "phoenix"}))
        .await;
    assert_eq!(info["restored_url"], site.url("/form"), "{info}");
    let (status, body) = svc
        .call("recover_browser_session", json!({"room_name": "gone"}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("session_not_found")),
        "{body}"
    );
}

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
    let (status, _) = svc.get("/health").await;
    assert_eq!(status, 200, "health needs no key");

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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_action_emits_its_events_on_the_room_websocket() {
    let site = site::start().await;
    let svc = Service::start(&[]).await;
    let room = "events-room";
    svc.ok("start_browser_session", json!({"room_name": room}))
        .await;
    let (ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/mcp/events/{room}", &svc.base[7..]))
            .await
            .unwrap();
    let (_, mut stream) = ws.split();
    let (_, conns) = svc.get(&format!("/rooms/{room}/connections")).await;
    let conns: Value = serde_json::from_str(&conns).unwrap();
    assert_eq!(conns["connections"], 1, "{conns}");

    svc.ok(
        "execute_action",
        json!({"room_name": room, "action": "navigate", "url": site.url("/buttons")}),
    )
    .await;
    // Two actions at once: the second waits its turn and says so.
    let (a, b) = tokio::join!(
        svc.call(
            "execute_action",
            json!({"room_name": room, "action": "wait", "timeout_ms": 700})
        ),
        async {
            tokio::time::sleep(Duration::from_millis(150)).await;
            svc.call(
                "execute_action",
                json!({"room_name": room, "action": "click", "selector": "#inc"}),
            )
            .await
        }
    );
    assert_eq!((a.0, b.0), (200, 200), "{a:?} {b:?}");
    let _ = svc
        .call(
            "execute_action",
            json!({"room_name": room, "action": "click", "selector": "#absent"}),
        )
        .await;

    let mut seen: Vec<Value> = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(msg)) = stream.next().await {
            let v: Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
            let done = v["type"] == "action_error";
            seen.push(v);
            if done {
                break;
            }
        }
    })
    .await;
    let kinds: Vec<&str> = seen.iter().map(|v| v["type"].as_str().unwrap()).collect();
    for k in [
        "action_processing",
        "page_navigation",
        "page_load_complete",
        "action_completed",
        "action_queued",
        "dom_change",
        "action_error",
    ] {
        assert!(kinds.contains(&k), "no {k} in {kinds:?}");
    }
    for v in &seen {
        assert!(v["timestamp"].as_f64().unwrap() > 1.7e9, "{v}");
        assert_eq!(v["data"]["room_name"], room, "{v}");
    }
    let nav = seen
        .iter()
        .find(|v| v["type"] == "page_navigation")
        .unwrap();
    assert_eq!(nav["data"]["url"], site.url("/buttons"));
    let err = seen.iter().find(|v| v["type"] == "action_error").unwrap();
    assert_eq!(err["data"]["error"]["code"], "element_not_found");
    // The queued click ran after the wait: its processing event follows the wait's completion.
    let pos = |pred: &dyn Fn(&Value) -> bool| seen.iter().position(pred).unwrap();
    let wait_done = pos(&|v| v["type"] == "action_completed" && v["data"]["action"] == "wait");
    let click_start = pos(&|v| v["type"] == "action_processing" && v["data"]["action"] == "click");
    assert!(wait_done < click_start, "{kinds:?}");
    // The same actions in /metrics: by kind and outcome, with their latency.
    assert_eq!(
        svc.metric("bas_actions_total{action=\"click\",outcome=\"ok\"}")
            .await,
        1.0
    );
    assert_eq!(
        svc.metric("bas_actions_total{action=\"click\",outcome=\"error\"}")
            .await,
        1.0
    );
    assert_eq!(
        svc.metric("bas_action_duration_seconds_count{action=\"click\"}")
            .await,
        2.0
    );

    drop(stream);
    eventually(5, "the connection count to drop", || async {
        let (_, c) = svc.get(&format!("/rooms/{room}/connections")).await;
        (serde_json::from_str::<Value>(&c).unwrap()["connections"] == 0).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn screen_content_stays_small_on_a_huge_page() {
    let site = site::start().await;
    let svc = Service::start(&[]).await;
    svc.ok(
        "start_browser_session",
        json!({"room_name": "big", "initial_url": site.url("/big")}),
    )
    .await;
    let screen = svc
        .ok("get_screen_content", json!({"room_name": "big"}))
        .await;
    let size = screen.to_string().len();
    assert!(size < 20_000, "screen content is {size} bytes");
    assert_eq!(screen["elements"].as_array().unwrap().len(), 60);
    assert!(screen["truncated"]["elements_omitted"].as_u64().unwrap() > 2900);
    assert_eq!(screen["truncated"]["text"], true);
    let screen = svc
        .ok(
            "get_screen_content",
            json!({"room_name": "big", "max_elements": 5, "max_text_chars": 200}),
        )
        .await;
    assert_eq!(screen["elements"].as_array().unwrap().len(), 5);
    assert!(screen["text"].as_str().unwrap().chars().count() <= 200);
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hung_browser_is_detected_killed_and_replaced() {
    let site = site::start().await;
    let svc = Service::start(&[]).await;
    svc.ok(
        "start_browser_session",
        json!({"room_name": "frozen", "initial_url": site.url("/")}),
    )
    .await;
    let h = svc.health().await;
    let pid = h["chromium"]["browsers"][0]["pid"].as_u64().unwrap() as i32;
    // Freeze the whole browser: it is alive but answers nothing, as a hung Chromium would.
    // SAFETY: kill(2) on the Chromium process group this test's service started.
    unsafe {
        libc::kill(-pid, libc::SIGSTOP);
    }
    let err = eventually(30, "the hung browser to be declared dead", || async {
        let (status, body) = svc
            .call("get_browser_context", json!({"room_name": "frozen"}))
            .await;
        (status == 409 && body["code"] == "session_failed").then_some(body)
    })
    .await;
    assert!(
        err["detail"].as_str().unwrap().contains("did not answer"),
        "{err}"
    );
    // The frozen process group was killed, not left stopped, and a new browser serves.
    eventually(10, "the frozen browser to be gone", || async {
        (!std::path::Path::new(&format!("/proc/{pid}")).exists()).then_some(())
    })
    .await;
    let info = svc
        .ok("recover_browser_session", json!({"room_name": "frozen"}))
        .await;
    assert_eq!(info["restored_url"], site.url("/"));
    assert_ne!(
        svc.health().await["chromium"]["browsers"][0]["pid"]
            .as_u64()
            .unwrap() as i32,
        pid
    );
}
